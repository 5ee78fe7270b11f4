//! Every experiment of the papers as a named TOML preset embedded in the binary (data, not code).
//! `groklab presets show NAME` prints one; the text is a valid config file.

use crate::config::Config;
use crate::reader::ConfigError;

/// (name, TOML text) of every embedded preset, in listing order.
pub const PRESETS: &[(&str, &str)] = &[
    ("liu2022-toy", include_str!("../presets/liu2022-toy.toml")),
    (
        "liu2022-toy-classification",
        include_str!("../presets/liu2022-toy-classification.toml"),
    ),
    (
        "levi2023-fig1-lambda0.1",
        include_str!("../presets/levi2023-fig1-lambda0.1.toml"),
    ),
    (
        "levi2023-fig1-lambda0.9",
        include_str!("../presets/levi2023-fig1-lambda0.9.toml"),
    ),
    (
        "levi2023-fig1-lambda1.5",
        include_str!("../presets/levi2023-fig1-lambda1.5.toml"),
    ),
    (
        "levi2023-fig2-dout50",
        include_str!("../presets/levi2023-fig2-dout50.toml"),
    ),
    (
        "levi2023-fig2-dout700",
        include_str!("../presets/levi2023-fig2-dout700.toml"),
    ),
    (
        "levi2023-fig3-gamma1e-5",
        include_str!("../presets/levi2023-fig3-gamma1e-5.toml"),
    ),
    (
        "levi2023-fig3-gamma1e-3",
        include_str!("../presets/levi2023-fig3-gamma1e-3.toml"),
    ),
    (
        "levi2023-fig3-gamma1e-2",
        include_str!("../presets/levi2023-fig3-gamma1e-2.toml"),
    ),
    (
        "levi2023-fig5-linear",
        include_str!("../presets/levi2023-fig5-linear.toml"),
    ),
    (
        "levi2023-fig5-tanh",
        include_str!("../presets/levi2023-fig5-tanh.toml"),
    ),
    (
        "merrill2023-parity",
        include_str!("../presets/merrill2023-parity.toml"),
    ),
    (
        "merrill2023-parity-wd0.001",
        include_str!("../presets/merrill2023-parity-wd0.001.toml"),
    ),
    (
        "merrill2023-parity-k4",
        include_str!("../presets/merrill2023-parity-k4.toml"),
    ),
    (
        "barak2022-online",
        include_str!("../presets/barak2022-online.toml"),
    ),
    ("modadd-quick", include_str!("../presets/modadd-quick.toml")),
    (
        "nanda2023-add113",
        include_str!("../presets/nanda2023-add113.toml"),
    ),
    (
        "power2022-div97",
        include_str!("../presets/power2022-div97.toml"),
    ),
    (
        "power2022-fig1",
        include_str!("../presets/power2022-fig1.toml"),
    ),
    ("power2022-s5", include_str!("../presets/power2022-s5.toml")),
    ("grokfast-ema", include_str!("../presets/grokfast-ema.toml")),
    (
        "grokfast-ema-baseline",
        include_str!("../presets/grokfast-ema-baseline.toml"),
    ),
    ("grokfast-ma", include_str!("../presets/grokfast-ma.toml")),
    (
        "grokfast-ma-baseline",
        include_str!("../presets/grokfast-ma-baseline.toml"),
    ),
    (
        "grokfast-ema-fair-baseline",
        include_str!("../presets/grokfast-ema-fair-baseline.toml"),
    ),
    (
        "grokfast-ma-fair-baseline",
        include_str!("../presets/grokfast-ma-fair-baseline.toml"),
    ),
    (
        "prieto2025-stablemax",
        include_str!("../presets/prieto2025-stablemax.toml"),
    ),
    (
        "prieto2025-stablemax-mul",
        include_str!("../presets/prieto2025-stablemax-mul.toml"),
    ),
    (
        "liu2022-transformer-add53",
        include_str!("../presets/liu2022-transformer-add53.toml"),
    ),
    ("liu2022-s3", include_str!("../presets/liu2022-s3.toml")),
];

/// The TOML text of a preset.
pub fn text(name: &str) -> Option<&'static str> {
    PRESETS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

/// Names of all presets.
pub fn names() -> Vec<&'static str> {
    PRESETS.iter().map(|(n, _)| *n).collect()
}

/// Error for an unknown preset name, with the closest known name.
pub fn unknown(name: &str) -> ConfigError {
    let known: Vec<String> = names().iter().map(|s| s.to_string()).collect();
    ConfigError::UnknownPreset {
        name: name.to_string(),
        suggestion: crate::reader::nearest(name, &known),
        known,
    }
}

/// A preset's parsed config.
pub fn load(name: &str) -> Result<Config, ConfigError> {
    let t = text(name).ok_or_else(|| unknown(name))?;
    Config::from_toml(t, &format!("preset {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_validates_and_round_trips() {
        for (name, text) in PRESETS {
            let c = Config::from_toml(text, name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(
                &c.name, name,
                "a preset's name key must match its registry name"
            );
            assert!(!c.description.is_empty(), "{name} needs a description");
            let back = Config::from_toml(&c.to_toml(), "round trip").unwrap();
            assert_eq!(c, back, "{name} does not survive serialisation");
        }
    }

    #[test]
    fn unknown_preset_suggests() {
        let e = load("liu2022-tyo").unwrap_err().to_string();
        assert!(e.contains("did you mean `liu2022-toy`"), "{e}");
    }
}
