#!/usr/bin/env python3
"""PyTorch reference for groklab's decoder-only transformer on binary operations mod p
(`model.kind = "transformer"`, the `nanda2023-add113` / `modadd-quick` presets): Nanda et al.'s
one-layer TransformerLens model on "a b =" (x, y, '=' token p; vocab p+1) or "a op b ="
(x, p, y, p+1; vocab p+2), learned positions, causal mask (-1e5 added before the softmax, scale
1/sqrt(d_head)), ReLU MLP, norm "none" or "pre" (LayerNorm eps 1e-5 before attention, MLP and the
unembedding), untied unembedding W_U [d_model, p] + b_U applied at the last position only,
cross-entropy there (float32). Init as groklab / Nanda et al.: every matrix N(0, 1/fan_in)
(W_E, W_pos, W_Q, W_K, W_V, W_in: d_model; W_O: n_heads*d_head; W_out: d_mlp; W_U: d_vocab),
biases 0, LayerNorm weights 1. Split: a random permutation of all equations (torch.Generator
seeded by --seed), the first round(frac*N) train, the rest validation. Full batch by default,
AdamW(lr 1e-3, betas (0.9, 0.98), weight_decay 1.0, eps 1e-8) on every parameter, optional linear
warmup and Grokfast-EMA gradient filter. Written by hand: no TransformerLens.

Q, K and V are one fused [d_model, 3*n_heads*d_head] parameter (and b_QKV [3*n_heads*d_head]);
AdamW, weight decay and Grokfast are elementwise, so this is the same optimisation as separate
W_Q/W_K/W_V [n_heads, d_model, d_head] tensors (views with those shapes: `Model.W_Q` etc.).

    # speed: N timed steps per round after 3 warm-up steps, R rounds; JSON on the last line
    python3 bench/pytorch/modular_transformer.py --mode speed --steps 100 --rounds 5
    # grokking run: evaluate every E steps, stop at validation accuracy >= 0.99
    python3 bench/pytorch/modular_transformer.py --mode grok --steps 50000 --eval-every 100
    # a small config that groks in seconds
    python3 bench/pytorch/modular_transformer.py --mode grok --p 23 --frac 0.5 \\
        --d-model 64 --d-mlp 256 --steps 3000 --eval-every 100

Defaults: p=113, op x+y, frac 0.3, format "a b =", d_model 128, 4 heads, d_mlp 512, 1 layer,
norm none, full batch, 2 threads, seed 0. Progress goes to stderr, the JSON result to stdout.
"""
import argparse
import json
import math
import statistics
import sys
import time

import torch
import torch.nn.functional as F

OPS = ("x+y", "x-y", "x*y", "x/y")
FORMATS = ("a b =", "a op b =")


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", choices=("speed", "grok"), default="speed")
    ap.add_argument("--steps", type=int, default=None,
                    help="speed: timed steps per round (default 100); grok: max steps (default 50000)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--eval-every", type=int, default=100)
    ap.add_argument("--p", type=int, default=113)
    ap.add_argument("--frac", type=float, default=0.3)
    ap.add_argument("--op", choices=OPS, default="x+y")
    ap.add_argument("--format", choices=FORMATS, default="a b =")
    ap.add_argument("--d-model", type=int, default=128)
    ap.add_argument("--n-heads", type=int, default=4)
    ap.add_argument("--d-mlp", type=int, default=512)
    ap.add_argument("--n-layers", type=int, default=1)
    ap.add_argument("--norm", choices=("none", "pre"), default="none")
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--wd", type=float, default=1.0)
    ap.add_argument("--beta2", type=float, default=0.98)
    ap.add_argument("--warmup", type=int, default=0, help="linear warmup steps (0: none)")
    ap.add_argument("--batch", type=int, default=0, help="minibatch size (0: full batch)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--no-stop", action="store_true",
                    help="grok mode: run all --steps instead of stopping at 99%% validation accuracy")
    ap.add_argument("--grokfast-alpha", type=float, default=0.98)
    ap.add_argument("--grokfast-lambda", type=float, default=0.0, help="> 0 turns Grokfast-EMA on")
    a = ap.parse_args()
    if a.steps is None:
        a.steps = 100 if a.mode == "speed" else 50000
    if a.d_model % a.n_heads:
        ap.error("--d-model must be a multiple of --n-heads")
    if a.op == "x/y" and any(a.p % d == 0 for d in range(2, int(math.isqrt(a.p)) + 1)):
        ap.error("--op x/y needs a prime --p")
    return a


def make_data(a):
    """All equations as tokens [N, n_ctx] and labels [N], split by a seeded permutation."""
    p = a.p
    y0 = 1 if a.op == "x/y" else 0
    xs = torch.arange(p).repeat_interleave(p - y0)
    ys = torch.arange(y0, p).repeat(p)
    if a.op == "x+y":
        c = (xs + ys) % p
    elif a.op == "x-y":
        c = (xs - ys) % p
    elif a.op == "x*y":
        c = (xs * ys) % p
    else:
        inv = torch.tensor([pow(int(y), p - 2, p) for y in ys])
        c = (xs * inv) % p
    n = xs.numel()
    if a.format == "a b =":
        tokens = torch.stack([xs, ys, torch.full_like(xs, p)], dim=1)
        d_vocab = p + 1
    else:
        tokens = torch.stack([xs, torch.full_like(xs, p), ys, torch.full_like(xs, p + 1)], dim=1)
        d_vocab = p + 2
    g = torch.Generator().manual_seed(a.seed)
    perm = torch.randperm(n, generator=g)
    n_train = int(round(a.frac * n))
    tr, va = perm[:n_train], perm[n_train:]
    return tokens[tr], c[tr], tokens[va], c[va], d_vocab


class Model(torch.nn.Module):
    def __init__(self, d_vocab, d_out, n_ctx, d_model, n_heads, d_mlp, n_layers, norm):
        super().__init__()
        self.h, self.dh, self.norm = n_heads, d_model // n_heads, norm
        hd = n_heads * self.dh

        def normal(shape, fan_in):
            return torch.nn.Parameter(torch.randn(*shape) / math.sqrt(fan_in))

        def zeros(*shape):
            return torch.nn.Parameter(torch.zeros(*shape))

        self.W_E = normal((d_vocab, d_model), d_model)
        self.W_pos = normal((n_ctx, d_model), d_model)
        self.blocks = torch.nn.ModuleList()
        for _ in range(n_layers):
            b = torch.nn.Module()
            # columns: (q|k|v) major, then head, then d_head
            b.W_QKV = normal((d_model, 3 * hd), d_model)
            b.b_QKV = zeros(3 * hd)
            b.W_O = normal((hd, d_model), hd)  # [n_heads * d_head, d_model], heads major
            b.b_O = zeros(d_model)
            b.W_in = normal((d_model, d_mlp), d_model)
            b.b_in = zeros(d_mlp)
            b.W_out = normal((d_mlp, d_model), d_mlp)
            b.b_out = zeros(d_model)
            if norm == "pre":
                b.ln1 = torch.nn.LayerNorm(d_model, eps=1e-5)
                b.ln2 = torch.nn.LayerNorm(d_model, eps=1e-5)
            self.blocks.append(b)
        self.ln_final = torch.nn.LayerNorm(d_model, eps=1e-5) if norm == "pre" else None
        self.W_U = normal((d_model, d_out), d_vocab)
        self.b_U = zeros(d_out)
        mask = torch.triu(torch.full((n_ctx, n_ctx), -1e5), diagonal=1)  # key > query masked
        self.register_buffer("mask", mask, persistent=False)
        self.scale = 1.0 / math.sqrt(self.dh)

    def W_Q(self, l=0):
        """TransformerLens view of layer l's W_Q: [n_heads, d_model, d_head]."""
        return self.blocks[l].W_QKV[:, : self.h * self.dh].reshape(-1, self.h, self.dh).transpose(0, 1)

    def forward(self, tokens):
        bsz, n = tokens.shape
        h, dh = self.h, self.dh
        x = self.W_E[tokens] + self.W_pos[:n]  # [B, n, d]
        for b in self.blocks:
            a_in = b.ln1(x) if self.norm == "pre" else x
            qkv = torch.addmm(b.b_QKV, a_in.reshape(bsz * n, -1), b.W_QKV)
            qkv = qkv.view(bsz, n, 3, h, dh).permute(2, 0, 3, 1, 4)  # [3, B, H, n, dh]
            q, k, v = qkv[0], qkv[1], qkv[2]
            scores = torch.matmul(q, k.transpose(-1, -2)) * self.scale + self.mask[:n, :n]
            pattern = torch.softmax(scores, dim=-1)  # [B, H, n(query), n(key)]
            z = torch.matmul(pattern, v).transpose(1, 2).reshape(bsz * n, h * dh)
            x = x + torch.addmm(b.b_O, z, b.W_O).view(bsz, n, -1)
            m_in = b.ln2(x) if self.norm == "pre" else x
            pre = torch.addmm(b.b_in, m_in.reshape(bsz * n, -1), b.W_in)
            x = x + torch.addmm(b.b_out, torch.relu(pre), b.W_out).view(bsz, n, -1)
        last = x[:, -1]  # [B, d]
        if self.ln_final is not None:
            last = self.ln_final(last)
        return torch.addmm(self.b_U, last, self.W_U)  # [B, p]


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    x_tr, y_tr, x_va, y_va, d_vocab = make_data(a)
    n_ctx = x_tr.shape[1]
    model = Model(d_vocab, a.p, n_ctx, a.d_model, a.n_heads, a.d_mlp, a.n_layers, a.norm)
    params = list(model.parameters())
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, a.beta2), eps=1e-8, weight_decay=a.wd)
    sched = (torch.optim.lr_scheduler.LambdaLR(opt, lambda t: min(1.0, (t + 1) / a.warmup))
             if a.warmup > 0 else None)
    grokfast = a.grokfast_lambda > 0
    ema = [None] * len(params)
    n_train = x_tr.shape[0]
    batch = a.batch if 0 < a.batch < n_train else 0
    order, cursor = None, n_train  # minibatch permutation state

    setup = {
        "p": a.p, "op": a.op, "format": a.format, "frac": a.frac, "n_train": n_train,
        "n_val": x_va.shape[0], "d_vocab": d_vocab, "d_model": a.d_model, "n_heads": a.n_heads,
        "d_mlp": a.d_mlp, "n_layers": a.n_layers, "norm": a.norm, "batch": batch or n_train,
        "lr": a.lr, "wd": a.wd, "beta2": a.beta2, "warmup": a.warmup, "seed": a.seed,
        "threads": a.threads, "grokfast_alpha": a.grokfast_alpha if grokfast else None,
        "grokfast_lambda": a.grokfast_lambda if grokfast else None,
        "n_params": sum(t.numel() for t in params), "torch": torch.__version__,
    }
    print(f"setup: {json.dumps(setup)}", file=sys.stderr)

    def step():
        nonlocal order, cursor
        if batch:
            if cursor + batch > n_train:  # new epoch (a short tail is dropped)
                order, cursor = torch.randperm(n_train), 0
            idx = order[cursor:cursor + batch]
            cursor += batch
            xb, yb = x_tr[idx], y_tr[idx]
        else:
            xb, yb = x_tr, y_tr
        loss = F.cross_entropy(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grokfast:
            with torch.no_grad():
                for i, t in enumerate(params):
                    if ema[i] is None:
                        ema[i] = t.grad.detach().clone()
                    else:
                        ema[i].mul_(a.grokfast_alpha).add_(t.grad, alpha=1 - a.grokfast_alpha)
                    t.grad.add_(ema[i], alpha=a.grokfast_lambda)
        opt.step()
        if sched is not None:
            sched.step()
        return loss

    @torch.no_grad()
    def accuracy(xs, ys):
        if xs.shape[0] == 0:
            return float("nan")
        return (model(xs).argmax(dim=-1) == ys).float().mean().item()

    if a.mode == "speed":
        for _ in range(3):
            step()
        rounds = []
        for r in range(a.rounds):
            t0 = time.perf_counter()
            for _ in range(a.steps):
                loss = step()
            loss = loss.item()
            dt = time.perf_counter() - t0
            rounds.append(a.steps / dt)
            print(f"round {r}: {rounds[-1]:.1f} steps/s (loss {loss:.4f})", file=sys.stderr)
        print(json.dumps({"steps_per_s_median": statistics.median(rounds), "rounds": rounds,
                          "setup": setup}))
        return

    res = {"step_train_99": None, "step_val_95": None, "step_val_99": None}
    t0 = time.perf_counter()
    s, tr_acc, va_acc = 0, float("nan"), float("nan")
    while True:
        if s % a.eval_every == 0 or s == a.steps:
            tr_acc, va_acc = accuracy(x_tr, y_tr), accuracy(x_va, y_va)
            if res["step_train_99"] is None and tr_acc >= 0.99:
                res["step_train_99"] = s
            if res["step_val_95"] is None and va_acc >= 0.95:
                res["step_val_95"] = s
            if res["step_val_99"] is None and va_acc >= 0.99:
                res["step_val_99"] = s
            print(f"step {s}: train acc {tr_acc:.4f}, val acc {va_acc:.4f} "
                  f"({time.perf_counter() - t0:.1f} s)", file=sys.stderr)
            if (res["step_val_99"] is not None and not a.no_stop) or s == a.steps:
                break
        step()
        s += 1
    res.update({"wall_s": time.perf_counter() - t0, "final_train_acc": tr_acc,
                "final_val_acc": va_acc, "steps": s, "setup": setup})
    print(json.dumps(res))


if __name__ == "__main__":
    main()
