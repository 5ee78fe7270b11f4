//! `groklab presets [show NAME]`: the experiment presets (`groklab train preset NAME`) and the
//! sweep presets (`groklab sweep preset NAME`).

use super::CliError;
use groklab_engine::presets;
use groklab_sweep::presets as sweeps;

#[derive(clap::Args)]
pub struct Args {
    /// `show NAME` prints one preset as TOML that `groklab train` (or `groklab sweep`) accepts
    /// back from a file.
    #[arg(value_name = "show NAME", num_args = 0..=2)]
    words: Vec<String>,
}

pub fn run(a: Args) -> Result<(), CliError> {
    match a.words.as_slice() {
        [] => {
            println!("experiments (groklab train preset NAME):");
            for (name, _) in presets::PRESETS {
                let c = presets::load(name)?;
                println!("  {name:<36} {}", c.description);
            }
            println!("sweeps (groklab sweep preset NAME):");
            for (name, _) in sweeps::SWEEPS {
                let s = sweeps::load(name)?;
                println!("  {name:<36} {} runs: {}", s.len(), s.description);
            }
            Ok(())
        }
        [show, name] if show == "show" => {
            let text = presets::text(name)
                .or_else(|| sweeps::text(name))
                .ok_or_else(|| presets::unknown(name))?;
            print!("{text}");
            Ok(())
        }
        _ => Err(CliError::Input("usage: groklab presets [show NAME]".into())),
    }
}
