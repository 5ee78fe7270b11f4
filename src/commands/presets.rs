//! `groklab presets [show NAME]`.

use super::CliError;
use groklab_engine::presets;

#[derive(clap::Args)]
pub struct Args {
    /// `show NAME` prints one preset as TOML that `groklab train` accepts back from a file.
    #[arg(value_name = "show NAME", num_args = 0..=2)]
    words: Vec<String>,
}

pub fn run(a: Args) -> Result<(), CliError> {
    match a.words.as_slice() {
        [] => {
            for (name, _) in presets::PRESETS {
                let c = presets::load(name)?;
                println!("{name:<32} {}", c.description);
            }
            Ok(())
        }
        [show, name] if show == "show" => {
            let text = presets::text(name).ok_or_else(|| presets::unknown(name))?;
            print!("{text}");
            Ok(())
        }
        _ => Err(CliError::Input("usage: groklab presets [show NAME]".into())),
    }
}
