#!/usr/bin/env python3
"""Check that a groklab transformer checkpoint loads into TransformerLens and computes the same thing.

groklab's transformer (`model.kind = "transformer"`) stores its parameters in
`checkpoint.safetensors` under TransformerLens's names and shapes (embed.W_E, pos_embed.W_pos,
blocks.{l}.attn.W_Q/W_K/W_V/W_O/b_*, blocks.{l}.ln1/ln2, blocks.{l}.mlp.W_in/b_in/W_out/b_out,
ln_final, unembed.W_U/b_U). For each run directory this script:

1. reads the run's resolved config (the checkpoint's "config" metadata, else config.toml) and
   refuses what TransformerLens cannot express: norm = "post", tied = true, readout = "concat",
   dense (one-hot/two-hot) inputs;
2. builds a `HookedTransformerConfig` with the same shape: n_ctx = number of tokens of the
   format ("a b =" -> [a, b, V], "a op b =" -> [a, V, b, V+1], "a b" -> [a, b], where V = p for
   `modular` and n! for `permutation`), d_vocab = V + 1 / V + 2 / V, d_vocab_out = V, act_fn
   relu/gelu (exact erf GELU, as groklab), normalization_type "LN" (eps 1e-5) or None,
   attn_only = (d_mlp == 0), attention_dir causal or bidirectional, default_prepend_bos = False;
   pos = "none" is a zero (and absent from the checkpoint) W_pos;
3. fills every TransformerLens parameter with NaN, loads the checkpoint with
   `load_state_dict(strict=False)` (TL's own buffers `mask`/`IGNORE` are not in it), and fails
   if a checkpoint tensor was not taken (unexpected key or shape), if a loaded tensor differs
   from the file, or if a TL parameter is still NaN (not in the checkpoint: it is printed);
4. runs the model on every equation of `split.csv` (logits at the last position) and compares
   train/val mean cross-entropy against the `label` column and argmax accuracy with the last
   row of `metrics.csv` (which is at the checkpoint's step). It prints a table of groklab vs
   TransformerLens values and |differences|; a run fails if a loss differs by more than
   --loss-tol (1e-4) or an accuracy differs (a different number of correct samples).
   groklab writes no logits, so the loss is the comparison (no max |logit| difference);
5. runs `model.run_with_cache` on a few samples and prints the shapes of
   `blocks.0.attn.hook_pattern` and `blocks.0.hook_resid_post`, and the largest attention
   weight from a query to a later key (0 when causal; fails if a causal model attends forward).

With one layer and the last-position readout, the causal mask cannot change the loss (the last
query sees every key either way), so a 1-layer causal and bidirectional run give the same numbers;
the attention-to-later-keys line is what shows attention_dir took effect there.

Exit status: 0 when every run directory passes, 1 otherwise (2 for bad arguments).

Setup (CPU torch is enough). TransformerLens 4.x removed `HookedTransformer`, so pin < 4:

    pip install "transformer_lens<4"

Run, e.g. on groklab run directories (written by `groklab run` with a transformer config):

    python3 bench/transformerlens_check.py RUN_DIR [RUN_DIR ...]
    python3 bench/transformerlens_check.py --dtype f64 runs/modadd-quick

Options: --dtype f32|f64|auto (auto = the run's train.dtype), --loss-tol, --threads (default 1),
--cache-samples (default 4).
"""
import argparse
import csv
import json
import math
import os
import struct
import sys
import tomllib

import torch
import torch.nn.functional as F


def refuse(msg):
    raise ValueError(msg)


# ---------------------------------------------------------------- reading the run directory


def read_safetensors(path):
    """(tensors by name, metadata) with the `safetensors` package, else by parsing the file."""
    try:
        from safetensors import safe_open
    except ImportError:
        safe_open = None
    if safe_open is not None:
        with safe_open(path, "pt") as f:
            return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})
    dtypes = {"F32": torch.float32, "F64": torch.float64, "F16": torch.float16,
              "BF16": torch.bfloat16, "I64": torch.int64, "I32": torch.int32}
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    meta = header.pop("__metadata__", {}) or {}
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        dt = dtypes[info["dtype"]]
        buf = bytearray(data[base + start:base + end])
        t = torch.frombuffer(buf, dtype=dt) if buf else torch.empty(0, dtype=dt)
        tensors[name] = t.reshape(info["shape"]).clone()
    return tensors, meta


def read_config(run_dir, meta):
    """The resolved config: the checkpoint's metadata, else config.toml (warn when they differ)."""
    path = os.path.join(run_dir, "config.toml")
    from_file = None
    if os.path.exists(path):
        with open(path, "rb") as f:
            from_file = tomllib.load(f)
    if "config" in meta:
        cfg = tomllib.loads(meta["config"])
        if from_file is not None and from_file != cfg:
            print("  warning: config.toml differs from the checkpoint's metadata; using the metadata")
        return cfg
    if from_file is None:
        refuse("no config in the checkpoint's metadata and no config.toml")
    return from_file


def read_split(run_dir):
    with open(os.path.join(run_dir, "split.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        refuse("split.csv is empty")
    return rows


def read_last_metrics(run_dir):
    with open(os.path.join(run_dir, "metrics.csv"), newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        refuse("metrics.csv has no rows")
    return rows[-1]


# ---------------------------------------------------------------- config -> TransformerLens


def task_tokens(task):
    """(V, number of classes, d_vocab, function (a, b) -> token list) for the task's format."""
    kind = task.get("kind")
    if kind == "modular":
        v = int(task["p"])
        default_format = "a op b ="
    elif kind == "permutation":
        v = math.factorial(int(task["n"]))
        default_format = "a op b ="
    else:
        refuse(f"task kind {kind!r}: only 'modular' and 'permutation' are token tasks")
    fmt = task.get("format", default_format)
    if fmt == "a op b =":
        return v, v + 2, lambda a, b: [a, v, b, v + 1]
    if fmt == "a b =":
        return v, v + 1, lambda a, b: [a, b, v]
    if fmt == "a b":
        return v, v, lambda a, b: [a, b]
    refuse(f"task format {fmt!r} is a dense input, not tokens: no TransformerLens equivalent")


def tl_config(cfg, dtype):
    from transformer_lens import HookedTransformerConfig

    m = cfg.get("model", {})
    if m.get("kind") != "transformer":
        refuse(f"model kind {m.get('kind')!r} is not 'transformer'")
    norm = m.get("norm", "none")
    if norm == "post":
        refuse("norm = 'post': TransformerLens has no post-LayerNorm block")
    if norm not in ("pre", "none"):
        refuse(f"unknown norm {norm!r}")
    if m.get("tied", False):
        refuse("tied = true: TransformerLens's unembedding is its own W_U, not W_E transposed")
    if m.get("readout", "last") != "last":
        refuse(f"readout = {m.get('readout')!r}: only 'last' matches TransformerLens's logits")
    pos = m.get("pos", "learned")
    if pos not in ("learned", "none"):
        refuse(f"unknown pos {pos!r}")
    act = m.get("act_fn", "relu")
    if act not in ("relu", "gelu"):  # groklab's gelu is the exact erf GELU = TL "gelu"
        refuse(f"unknown act_fn {act!r}")
    v, d_vocab, tokens = task_tokens(cfg.get("task", {}))
    n_ctx = len(tokens(0, 0))
    d_mlp = int(m.get("d_mlp", 0))
    tl = HookedTransformerConfig(
        n_layers=int(m["n_layers"]),
        d_model=int(m["d_model"]),
        n_ctx=n_ctx,
        d_head=int(m["d_head"]),
        n_heads=int(m["n_heads"]),
        d_mlp=d_mlp if d_mlp > 0 else None,
        d_vocab=d_vocab,
        d_vocab_out=v,
        act_fn=act,
        normalization_type="LN" if norm == "pre" else None,
        eps=1e-5,
        attn_only=d_mlp == 0,
        positional_embedding_type="standard",
        attention_dir="causal" if m.get("causal", True) else "bidirectional",
        default_prepend_bos=False,
        use_attn_scale=True,  # scores / sqrt(d_head), as groklab
        dtype=dtype,
        device="cpu",
        seed=0,
    )
    return tl, tokens, pos


# ---------------------------------------------------------------- loading


def load_into(model, tensors, pos, dtype):
    """Load the checkpoint; a list of problems (empty when every tensor went to its place)."""
    problems = []
    params = dict(model.named_parameters())
    with torch.no_grad():
        for p in params.values():
            p.fill_(float("nan"))
    sd = {k: t.to(dtype) for k, t in tensors.items()}
    if pos == "none":
        if "pos_embed.W_pos" in sd:
            problems.append("pos = 'none' but the checkpoint has pos_embed.W_pos")
        sd["pos_embed.W_pos"] = torch.zeros_like(params["pos_embed.W_pos"])
    want = model.state_dict()
    for k, t in sd.items():
        if k in want and tuple(want[k].shape) != tuple(t.shape):
            problems.append(f"shape of {k}: checkpoint {tuple(t.shape)}, TransformerLens "
                            f"{tuple(want[k].shape)}")
    if problems:
        return problems
    result = model.load_state_dict(sd, strict=False)
    for k in result.unexpected_keys:
        problems.append(f"checkpoint tensor {k} has no place in the TransformerLens model")
    missing_params = [k for k in result.missing_keys if k in params]
    missing_buffers = [k for k in result.missing_keys if k not in params]
    if missing_buffers:
        print(f"  TL buffers not in the checkpoint (expected: masks): {len(missing_buffers)} "
              f"({', '.join(sorted(set(k.split('.')[-1] for k in missing_buffers)))})")
    for k in missing_params:
        print(f"  TL parameter not in the checkpoint: {k} {tuple(params[k].shape)}")
        problems.append(f"TL parameter {k} not in the checkpoint")
    after = model.state_dict()
    for k, t in sd.items():
        if k in after and not torch.equal(after[k], t):
            problems.append(f"{k} differs from the checkpoint after loading")
    for k, p in model.named_parameters():
        if torch.isnan(p).any() and k not in missing_params:
            problems.append(f"TL parameter {k} still holds NaN (uninitialised) after loading")
    return problems


# ---------------------------------------------------------------- evaluation


@torch.no_grad()
def evaluate(model, toks, labels, chunk=4096):
    """(mean cross-entropy, accuracy, number correct) of the last-position logits."""
    n = toks.shape[0]
    if n == 0:
        return float("nan"), float("nan"), 0
    loss_sum, correct = 0.0, 0
    for i in range(0, n, chunk):
        logits = model(toks[i:i + chunk], return_type="logits")[:, -1, :]
        y = labels[i:i + chunk]
        loss_sum += F.cross_entropy(logits.double(), y, reduction="sum").item()
        correct += (logits.argmax(-1) == y).sum().item()
    return loss_sum / n, correct / n, correct


def metric(row, key):
    s = (row.get(key) or "").strip()
    return float(s) if s else float("nan")


def check_run(run_dir, args):
    from transformer_lens import HookedTransformer

    print(f"== {run_dir}")
    ckpt = os.path.join(run_dir, "checkpoint.safetensors")
    tensors, meta = read_safetensors(ckpt)
    cfg = read_config(run_dir, meta)
    if args.dtype == "auto":
        dtype = torch.float64 if cfg.get("train", {}).get("dtype", "f32") == "f64" else torch.float32
    else:
        dtype = torch.float64 if args.dtype == "f64" else torch.float32
    tl_cfg, tokens, pos = tl_config(cfg, dtype)
    m = cfg["model"]
    print(f"  {cfg.get('name', '?')}: task {cfg['task'].get('kind')} {cfg['task'].get('op')} "
          f"format {cfg['task'].get('format')!r}; {tl_cfg.n_layers} layer(s), d_model "
          f"{tl_cfg.d_model}, {tl_cfg.n_heads} heads x {tl_cfg.d_head}, d_mlp {m.get('d_mlp')}, "
          f"norm {m.get('norm')}, pos {pos}, {tl_cfg.attention_dir}, act {tl_cfg.act_fn}; "
          f"n_ctx {tl_cfg.n_ctx}, d_vocab {tl_cfg.d_vocab}, d_vocab_out {tl_cfg.d_vocab_out}; "
          f"{dtype}")
    model = HookedTransformer(tl_cfg)
    model.eval()
    ok = True
    problems = load_into(model, tensors, pos, dtype)
    n_params = sum(p.numel() for p in model.parameters())
    print(f"  loaded {len(tensors)} checkpoint tensors into {len(dict(model.named_parameters()))} "
          f"TL parameters ({n_params} numbers)")
    for p in problems:
        print(f"  FAIL load: {p}")
    if problems:
        return False

    rows = read_split(run_dir)
    toks = torch.tensor([tokens(int(r["a"]), int(r["b"])) for r in rows], dtype=torch.long)
    labels = torch.tensor([int(r["label"]) for r in rows], dtype=torch.long)
    answers = torch.tensor([int(r["answer"]) for r in rows], dtype=torch.long)
    train = torch.tensor([r["train"].strip() == "1" for r in rows])
    if int(toks.max()) >= tl_cfg.d_vocab or int(labels.max()) >= tl_cfg.d_vocab_out:
        print("  FAIL: split.csv has a token or label outside the vocabulary")
        return False
    if not torch.equal(labels, answers):
        print(f"  note: {(labels != answers).sum().item()} labels differ from the true answer "
              f"(label noise); loss and accuracy are against the label, as groklab's")

    last = read_last_metrics(run_dir)
    step = meta.get("step")
    if step is not None and str(last.get("step", "")).strip() != str(step).strip():
        print(f"  warning: the last metrics row is step {last.get('step')}, the checkpoint is "
              f"step {step}: the comparison is not at the same parameters")

    res = {}
    for name, mask in (("train", train), ("val", ~train)):
        loss, acc, correct = evaluate(model, toks[mask], labels[mask])
        res[name] = (loss, acc, correct, int(mask.sum()))

    print(f"  step {last.get('step')} (checkpoint step {step}); "
          f"{res['train'][3]} train, {res['val'][3]} val equations")
    print(f"  {'metric':<11} {'groklab':>20} {'TransformerLens':>20} {'|diff|':>11}  ")
    for split in ("train", "val"):
        loss, acc, correct, n = res[split]
        g_loss, g_acc = metric(last, f"{split}_loss"), metric(last, f"{split}_acc")
        d_loss = abs(g_loss - loss)
        bad_loss = not (d_loss <= args.loss_tol) if n else False
        print(f"  {split + '_loss':<11} {g_loss:>20.12g} {loss:>20.12g} {d_loss:>11.3e}  "
              f"{'FAIL' if bad_loss else 'ok'}")
        d_acc = abs(g_acc - acc)
        # equal when both are the same count of correct samples out of n
        bad_acc = (round(g_acc * n) != correct or d_acc > 0.5 / n) if n else False
        print(f"  {split + '_acc':<11} {g_acc:>20.12g} {acc:>20.12g} {d_acc:>11.3e}  "
              f"{'FAIL' if bad_acc else 'ok'} ({correct}/{n} correct in TL, "
              f"{round(g_acc * n) if n else 0}/{n} in groklab)")
        ok = ok and not bad_loss and not bad_acc
    print("  max |logit| difference: n/a (groklab writes no logits; the losses are the check)")

    k = min(args.cache_samples, toks.shape[0])
    with torch.no_grad():
        logits, cache = model.run_with_cache(toks[:k])
    pattern = cache["blocks.0.attn.hook_pattern"]
    resid = cache["blocks.0.hook_resid_post"]
    forward = torch.triu(torch.ones(tl_cfg.n_ctx, tl_cfg.n_ctx, dtype=torch.bool), diagonal=1)
    max_forward = pattern[..., forward].max().item() if forward.any() else 0.0
    print(f"  run_with_cache on {k} samples: logits {tuple(logits.shape)}, "
          f"blocks.0.attn.hook_pattern {tuple(pattern.shape)}, blocks.0.hook_resid_post "
          f"{tuple(resid.shape)}, {len(cache)} hooks cached; max attention to a later key "
          f"{max_forward:.3g}")
    if tl_cfg.attention_dir == "causal" and max_forward > 0:
        print("  FAIL: a causal model attends to a later position")
        ok = False
    print(f"  {'PASS' if ok else 'FAIL'} {run_dir}")
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    ap.add_argument("--dtype", choices=("auto", "f32", "f64"), default="auto",
                    help="TransformerLens's dtype (auto: the run's train.dtype)")
    ap.add_argument("--loss-tol", type=float, default=1e-4)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache-samples", type=int, default=4)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    try:
        import transformer_lens  # noqa: F401
        from transformer_lens import HookedTransformer  # noqa: F401
    except ImportError as e:
        print(f"cannot import HookedTransformer from transformer_lens ({e});\n"
              f"install with: pip install \"transformer_lens<4\"", file=sys.stderr)
        return 1
    results = {}
    for d in args.run_dirs:
        try:
            results[d] = check_run(d, args)
        except (ValueError, KeyError, OSError) as e:
            print(f"  FAIL {d}: {type(e).__name__}: {e}")
            results[d] = False
    print("== summary")
    for d, ok in results.items():
        print(f"  {'PASS' if ok else 'FAIL'} {d}")
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
