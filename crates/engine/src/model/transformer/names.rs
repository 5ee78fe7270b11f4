//! Every parameter's name and shape, made once when the model is built: the specs (and so the
//! checkpoints' order), the burn forward pass and the kernel all read them from here.

use super::{Norm, Pos, Readout, TransformerConfig};

use crate::params::ParamSpec;

/// A LayerNorm's weight and bias.
pub struct LnNames {
    pub w: String,
    pub b: String,
}

/// One attention layer's projections: W_Q, W_K, W_V [n_heads, d_model, d_head], W_O
/// [n_heads, d_head, d_model], and (unless `attn_bias = false`) b_Q, b_K, b_V [n_heads, d_head],
/// b_O [d_model].
pub struct AttnNames {
    pub w_q: String,
    pub w_k: String,
    pub w_v: String,
    pub w_o: String,
    pub b_q: Option<String>,
    pub b_k: Option<String>,
    pub b_v: Option<String>,
    pub b_o: Option<String>,
}

/// One MLP: W_in [d_model, d_mlp], W_out [d_mlp, d_model], and (unless `mlp_bias = false`) b_in,
/// b_out.
pub struct MlpNames {
    pub w_in: String,
    pub b_in: Option<String>,
    pub w_out: String,
    pub b_out: Option<String>,
}

/// One block: LayerNorm 1 (before attention with pre-LN, after its residual sum with post-LN),
/// attention, LayerNorm 2 and the MLP (both absent in attention-only models).
pub struct BlockNames {
    pub ln1: Option<LnNames>,
    pub attn: AttnNames,
    pub ln2: Option<LnNames>,
    pub mlp: Option<MlpNames>,
}

/// The names of a whole transformer, in TransformerLens's words.
pub struct Names {
    /// `embed.W_E` [d_vocab, d_model].
    pub w_e: String,
    /// `pos_embed.W_pos` [n_ctx, d_model], with learned positions.
    pub w_pos: Option<String>,
    pub blocks: Vec<BlockNames>,
    /// Before the unembedding (`ln_final`).
    pub ln_final: Option<LnNames>,
    /// `unembed.W_U` [d_read, d_vocab_out]; None when tied to W_E.
    pub w_u: Option<String>,
    /// `unembed.b_U` [d_vocab_out], unless `unembed_bias = false`.
    pub b_u: Option<String>,
}

impl Names {
    pub fn new(c: &TransformerConfig) -> Names {
        let ln = |name: &str| {
            (c.norm != Norm::None).then(|| LnNames {
                w: format!("{name}.w"),
                b: format!("{name}.b"),
            })
        };
        let blocks = (0..c.n_layers)
            .map(|l| {
                let a = format!("blocks.{l}.attn");
                let m = format!("blocks.{l}.mlp");
                let ab = |n: &str| c.attn_bias.then(|| format!("{a}.{n}"));
                let mb = |n: &str| c.mlp_bias.then(|| format!("{m}.{n}"));
                BlockNames {
                    ln1: ln(&format!("blocks.{l}.ln1")),
                    attn: AttnNames {
                        w_q: format!("{a}.W_Q"),
                        w_k: format!("{a}.W_K"),
                        w_v: format!("{a}.W_V"),
                        w_o: format!("{a}.W_O"),
                        b_q: ab("b_Q"),
                        b_k: ab("b_K"),
                        b_v: ab("b_V"),
                        b_o: ab("b_O"),
                    },
                    ln2: if c.d_mlp > 0 {
                        ln(&format!("blocks.{l}.ln2"))
                    } else {
                        None
                    },
                    mlp: (c.d_mlp > 0).then(|| MlpNames {
                        w_in: format!("{m}.W_in"),
                        b_in: mb("b_in"),
                        w_out: format!("{m}.W_out"),
                        b_out: mb("b_out"),
                    }),
                }
            })
            .collect();
        Names {
            w_e: "embed.W_E".into(),
            w_pos: (c.pos == Pos::Learned).then(|| "pos_embed.W_pos".into()),
            blocks,
            ln_final: if c.ln_final { ln("ln_final") } else { None },
            w_u: (!c.tied).then(|| "unembed.W_U".into()),
            b_u: c.unembed_bias.then(|| "unembed.b_U".into()),
        }
    }

    /// Every parameter with its shape, in the fixed order of checkpoints and of the optimiser.
    pub fn specs(
        &self,
        c: &TransformerConfig,
        vocab: usize,
        positions: usize,
        classes: usize,
    ) -> Vec<ParamSpec> {
        let (d, h, dh) = (c.d_model, c.n_heads, c.d_head);
        let mut specs = vec![ParamSpec::new(&self.w_e, &[vocab, d])];
        if let Some(w) = &self.w_pos {
            specs.push(ParamSpec::new(w, &[positions, d]));
        }
        let ln = |specs: &mut Vec<ParamSpec>, ln: &Option<LnNames>| {
            if let Some(n) = ln {
                specs.push(ParamSpec::new(&n.w, &[d]));
                specs.push(ParamSpec::new(&n.b, &[d]));
            }
        };
        for block in &self.blocks {
            let a = &block.attn;
            ln(&mut specs, &block.ln1);
            for w in [&a.w_q, &a.w_k, &a.w_v] {
                specs.push(ParamSpec::new(w, &[h, d, dh]));
            }
            specs.push(ParamSpec::new(&a.w_o, &[h, dh, d]));
            for b in [&a.b_q, &a.b_k, &a.b_v].into_iter().flatten() {
                specs.push(ParamSpec::new(b, &[h, dh]));
            }
            if let Some(b) = &a.b_o {
                specs.push(ParamSpec::new(b, &[d]));
            }
            ln(&mut specs, &block.ln2);
            if let Some(m) = &block.mlp {
                specs.push(ParamSpec::new(&m.w_in, &[d, c.d_mlp]));
                if let Some(b) = &m.b_in {
                    specs.push(ParamSpec::new(b, &[c.d_mlp]));
                }
                specs.push(ParamSpec::new(&m.w_out, &[c.d_mlp, d]));
                if let Some(b) = &m.b_out {
                    specs.push(ParamSpec::new(b, &[d]));
                }
            }
        }
        ln(&mut specs, &self.ln_final);
        let d_read = match c.readout {
            Readout::Last => d,
            Readout::Concat => positions * d,
        };
        if let Some(w) = &self.w_u {
            specs.push(ParamSpec::new(w, &[d_read, classes]));
        }
        if let Some(b) = &self.b_u {
            specs.push(ParamSpec::new(b, &[classes]));
        }
        specs
    }
}
