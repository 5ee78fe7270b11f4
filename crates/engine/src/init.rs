//! Initialisers shared by models and by tasks that draw random networks (a teacher): PyTorch's
//! `nn.Linear` default and the Gaussian of Levi et al. Every draw comes from a seeded ChaCha stream
//! passed in, never from a global generator.

use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// How a dense layer's weights start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Init {
    /// Weights N(0, 1 / (2 d_in d_out)) per layer (variance), as Levi et al.; biases zero.
    Levi,
    /// PyTorch's nn.Linear default: U(-1/sqrt(d_in), 1/sqrt(d_in)) for weights and biases.
    Pytorch,
}

/// Uniform draws in [-a, a], the PyTorch default for `nn.Linear` with a = 1/sqrt(fan_in).
pub fn uniform(rng: &mut ChaCha8Rng, n: usize, a: f64) -> Vec<f64> {
    use rand::RngExt;
    (0..n)
        .map(|_| {
            if a > 0.0 {
                rng.random_range(-a..a)
            } else {
                0.0
            }
        })
        .collect()
}

/// One standard normal draw.
pub fn normal(r: &mut ChaCha8Rng) -> f64 {
    StandardNormal.sample(r)
}

/// Weights of a layer d_in -> d_out (row-major [d_in, d_out]) and its bias if asked for.
/// Levi: N(0, variance 1 / (2 d_in d_out)) times `scale`, zero bias. PyTorch: U(-a, a) with
/// a = 1/sqrt(d_in) for weights (times `scale`) and biases.
pub fn layer(
    r: &mut ChaCha8Rng,
    init: Init,
    d_in: usize,
    d_out: usize,
    scale: f64,
    bias: bool,
) -> (Vec<f64>, Option<Vec<f64>>) {
    match init {
        Init::Levi => {
            let sd = scale / (2.0 * d_in as f64 * d_out as f64).sqrt();
            let w = (0..d_in * d_out).map(|_| sd * normal(r)).collect();
            (w, bias.then(|| vec![0.0; d_out]))
        }
        Init::Pytorch => {
            let a = 1.0 / (d_in as f64).sqrt();
            let w = uniform(r, d_in * d_out, a)
                .into_iter()
                .map(|x| scale * x)
                .collect();
            (w, bias.then(|| uniform(r, d_out, a)))
        }
    }
}

/// How one parameter starts when `[model.init]` names it: `{ normal = sd }`, `{ uniform = a }`
/// (U(-a, a)), `{ constant = x }` or `"pytorch"` (what PyTorch's own module for that parameter
/// starts from: `nn.Embedding` N(0, 1), `nn.Linear` U(±1/sqrt(fan_in)) for weight and bias,
/// `nn.LayerNorm` 1 and 0).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Rule {
    Normal(f64),
    Uniform(f64),
    Constant(f64),
    Pytorch,
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let (key, x) = match *self {
            Rule::Pytorch => return s.serialize_str("pytorch"),
            Rule::Normal(x) => ("normal", x),
            Rule::Uniform(x) => ("uniform", x),
            Rule::Constant(x) => ("constant", x),
        };
        let mut m = s.serialize_map(Some(1))?;
        m.serialize_entry(key, &x)?;
        m.end()
    }
}

/// `[model.init]`: parameter-name patterns (segments separated by dots, `*` matching one whole
/// segment, as `blocks.*.attn.W_Q`) and their rules, in the order given; the first match wins.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rules(pub Vec<(String, Rule)>);

impl serde::Serialize for Rules {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

const RULES: &str = "{ normal = SD }, { uniform = A }, { constant = X } or \"pytorch\"";

impl Rules {
    /// Reads the table `init` of a model's settings (absent: no rules).
    pub fn read(r: &mut crate::reader::Reader) -> Result<Rules, crate::reader::ConfigError> {
        use toml::Value;
        let (path, entries) = r.table("init")?.entries();
        let mut rules = Vec::new();
        for (pattern, v) in entries {
            let bad = || crate::reader::ConfigError::Invalid {
                key: format!("{path}.\"{pattern}\""),
                value: crate::reader::show(&v),
                allowed: RULES.into(),
            };
            let rule = match &v {
                Value::String(s) if s == "pytorch" => Rule::Pytorch,
                Value::Table(t) if t.len() == 1 => {
                    let (k, x) = t.iter().next().expect("one entry");
                    let x = match x {
                        Value::Float(x) => *x,
                        Value::Integer(i) => *i as f64,
                        _ => return Err(bad()),
                    };
                    match k.as_str() {
                        "normal" if x >= 0.0 && x.is_finite() => Rule::Normal(x),
                        "uniform" if x >= 0.0 && x.is_finite() => Rule::Uniform(x),
                        "constant" if x.is_finite() => Rule::Constant(x),
                        _ => return Err(bad()),
                    }
                }
                _ => return Err(bad()),
            };
            rules.push((pattern, rule));
        }
        Ok(Rules(rules))
    }

    /// The rule for parameter `name`, if a pattern matches it.
    pub fn find(&self, name: &str) -> Option<Rule> {
        self.0
            .iter()
            .find(|(p, _)| matches(p, name))
            .map(|(_, r)| *r)
    }

    /// Refuses a pattern that matches none of `names`, naming the parameters there are.
    pub fn check(&self, names: &[&str]) -> Result<(), crate::reader::ConfigError> {
        match self
            .0
            .iter()
            .find(|(p, _)| !names.iter().any(|n| matches(p, n)))
        {
            None => Ok(()),
            Some((p, r)) => Err(crate::reader::ConfigError::Invalid {
                key: format!("model.init.\"{p}\""),
                value: toml::Value::try_from(r)
                    .map(|v| crate::reader::show(&v))
                    .unwrap_or_default(),
                allowed: format!(
                    "a pattern naming parameters of this model (`*` for one segment): {}",
                    names.join(", ")
                ),
            }),
        }
    }
}

/// Whether `pattern` (dot-separated, `*` for one segment) names `name`.
fn matches(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<&str>, Vec<&str>) = (pattern.split('.').collect(), name.split('.').collect());
    p.len() == n.len() && p.iter().zip(&n).all(|(a, b)| *a == "*" || a == b)
}

/// `n` values of `rule`; `pytorch` is the model's PyTorch default for the parameter, drawn by the
/// caller.
pub fn draw(
    rng: &mut ChaCha8Rng,
    rule: Rule,
    n: usize,
    pytorch: impl FnOnce(&mut ChaCha8Rng) -> Vec<f64>,
) -> Vec<f64> {
    match rule {
        Rule::Normal(sd) => (0..n).map(|_| sd * normal(rng)).collect(),
        Rule::Uniform(a) => uniform(rng, n, a),
        Rule::Constant(x) => vec![x; n],
        Rule::Pytorch => pytorch(rng),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_whole_segments() {
        assert!(matches("blocks.*.attn.W_Q", "blocks.3.attn.W_Q"));
        assert!(!matches("blocks.*.attn.W_Q", "blocks.3.attn.W_QK"));
        assert!(!matches("blocks.*", "blocks.3.attn.W_Q"));
        assert!(matches("embed.W_E", "embed.W_E"));
        let rules = Rules(vec![
            ("blocks.0.mlp.W_in".into(), Rule::Constant(2.0)),
            ("blocks.*.mlp.W_in".into(), Rule::Normal(1.0)),
        ]);
        assert_eq!(rules.find("blocks.0.mlp.W_in"), Some(Rule::Constant(2.0)));
        assert_eq!(rules.find("blocks.1.mlp.W_in"), Some(Rule::Normal(1.0)));
        assert_eq!(rules.find("unembed.W_U"), None);
        let e = rules.check(&["blocks.1.mlp.W_in"]).unwrap_err().to_string();
        assert!(
            e.contains("blocks.0.mlp.W_in") && e.contains("constant"),
            "{e}"
        );
    }
}
