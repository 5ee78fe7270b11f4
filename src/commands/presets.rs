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
            let mut out = String::from("experiments (groklab train preset NAME):\n");
            for (name, _) in presets::PRESETS {
                let c = presets::load(name)?;
                let what = reproduces(&c.reproduces);
                out += &format!("  {name:<36} {what}{}\n", c.description);
            }
            out += "sweeps (groklab sweep preset NAME):\n";
            for (name, _) in sweeps::SWEEPS {
                let s = sweeps::load(name)?;
                let what = reproduces(&s.reproduces);
                out += &format!("  {name:<36} {what}{} runs: {}\n", s.len(), s.description);
            }
            print_all(&out)
        }
        [show, name] if show == "show" => {
            let text = presets::text(name)
                .or_else(|| sweeps::text(name))
                .ok_or_else(|| presets::unknown(name))?;
            print_all(text)
        }
        _ => Err(CliError::Input("usage: groklab presets [show NAME]".into())),
    }
}

/// "[paper, figure] " before a description, for presets that reproduce one.
fn reproduces(what: &str) -> String {
    if what.is_empty() {
        String::new()
    } else {
        format!("[{what}] ")
    }
}

/// Writes `text` to stdout; a reader that closed the pipe early (`groklab presets | head`) ends
/// the listing quietly, as ripgrep does, instead of a panic.
fn print_all(text: &str) -> Result<(), CliError> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError::Work(format!("writing to stdout: {e}")))
        }
        _ => Ok(()),
    }
}
