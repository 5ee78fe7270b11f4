//! Every phase diagram and parameter sweep of the papers as a named sweep preset embedded in the
//! binary. `groklab sweep show NAME` prints one; the text is a valid sweep file (its `base` names
//! an experiment preset).

use crate::definition::Sweep;
use crate::error::SweepError;
use groklab_engine::ConfigError;

/// (name, TOML text) of every sweep preset, in listing order.
pub const SWEEPS: &[(&str, &str)] = &[
    (
        "liu2022-phase-regression",
        include_str!("../presets/liu2022-phase-regression.toml"),
    ),
    (
        "liu2022-phase-regression-quick",
        include_str!("../presets/liu2022-phase-regression-quick.toml"),
    ),
    (
        "liu2022-phase-regression-3seeds",
        include_str!("../presets/liu2022-phase-regression-3seeds.toml"),
    ),
    (
        "liu2022-phase-regression-long",
        include_str!("../presets/liu2022-phase-regression-long.toml"),
    ),
    (
        "liu2022-phase-classification",
        include_str!("../presets/liu2022-phase-classification.toml"),
    ),
    (
        "liu2022-phase-classification-quick",
        include_str!("../presets/liu2022-phase-classification-quick.toml"),
    ),
    (
        "liu2022-phase-classification-long",
        include_str!("../presets/liu2022-phase-classification-long.toml"),
    ),
    (
        "liu2022-phase-emb-dec",
        include_str!("../presets/liu2022-phase-emb-dec.toml"),
    ),
    (
        "liu2022-phase-emb-dec-quick",
        include_str!("../presets/liu2022-phase-emb-dec-quick.toml"),
    ),
    (
        "liu2022-phase-emb-dec-long",
        include_str!("../presets/liu2022-phase-emb-dec-long.toml"),
    ),
    (
        "liu2022-fraction",
        include_str!("../presets/liu2022-fraction.toml"),
    ),
    (
        "levi2023-lambda",
        include_str!("../presets/levi2023-lambda.toml"),
    ),
    (
        "levi2023-lambda-dout",
        include_str!("../presets/levi2023-lambda-dout.toml"),
    ),
    (
        "merrill2023-wd",
        include_str!("../presets/merrill2023-wd.toml"),
    ),
    (
        "merrill2023-phase",
        include_str!("../presets/merrill2023-phase.toml"),
    ),
    (
        "liu2022-s3-wd",
        include_str!("../presets/liu2022-s3-wd.toml"),
    ),
    (
        "liu2022-s3-phase",
        include_str!("../presets/liu2022-s3-phase.toml"),
    ),
    (
        "liu2022-s3-phase-quick",
        include_str!("../presets/liu2022-s3-phase-quick.toml"),
    ),
    (
        "liu2022-transformer-phase",
        include_str!("../presets/liu2022-transformer-phase.toml"),
    ),
    (
        "liu2022-transformer-phase-quick",
        include_str!("../presets/liu2022-transformer-phase-quick.toml"),
    ),
    (
        "liu2022-transformer-wd-curve",
        include_str!("../presets/liu2022-transformer-wd-curve.toml"),
    ),
    (
        "liu2022-transformer-dropout-curve",
        include_str!("../presets/liu2022-transformer-dropout-curve.toml"),
    ),
    (
        "liu2022-transformer-lr-curve",
        include_str!("../presets/liu2022-transformer-lr-curve.toml"),
    ),
];

pub fn text(name: &str) -> Option<&'static str> {
    SWEEPS.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

pub fn unknown(name: &str) -> ConfigError {
    let known: Vec<String> = SWEEPS.iter().map(|(n, _)| n.to_string()).collect();
    ConfigError::UnknownPreset {
        name: name.to_string(),
        suggestion: groklab_engine::reader::nearest(name, &known),
        known,
    }
}

/// A sweep preset, read.
pub fn load(name: &str) -> Result<Sweep, SweepError> {
    let t = text(name).ok_or_else(|| unknown(name))?;
    Sweep::from_toml(
        t,
        &format!("sweep preset {name}"),
        std::path::Path::new("."),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every sweep preset reads, names itself, and every one of its runs validates.
    #[test]
    fn every_sweep_preset_expands_into_valid_runs() {
        for (name, _) in SWEEPS {
            let s = load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(&s.name, name);
            assert!(!s.description.is_empty(), "{name}");
            let runs = s.expand().unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(runs.len(), s.len());
        }
        assert_eq!(load("liu2022-phase-regression").unwrap().len(), 176);
        assert_eq!(load("liu2022-phase-emb-dec").unwrap().len(), 169);
        assert_eq!(load("liu2022-fraction").unwrap().len(), 45);
    }
}
