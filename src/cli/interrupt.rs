//! Ctrl-C and SIGTERM during `rnn train`: the first raises the flag every trainer polls (the
//! batch under way is finished, the best model so far and the last checkpoint are written, the
//! command to resume is printed, exit status 130); a second ends the process at once (exit
//! status 130; every file already written is whole, writes being atomic).

use std::ffi::OsString;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

/// The exit status of a run ended by an interruption (128 + SIGINT, as shells report it).
pub const EXIT_STATUS: u8 = 130;

/// The flag trainers made by the CLI stop on.
pub fn flag() -> Arc<AtomicBool> {
    static FLAG: OnceLock<Arc<AtomicBool>> = OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false))).clone()
}

/// Whether an interruption was asked for.
pub fn requested() -> bool {
    flag().load(Ordering::SeqCst)
}

/// Installs the handler of SIGINT, SIGTERM and SIGHUP. Without one (a handler already set, which
/// only a second call could do) the signals keep their default action.
pub fn install() {
    static SIGNALS: AtomicUsize = AtomicUsize::new(0);
    let stop = flag();
    let installed = ctrlc::set_handler(move || {
        if SIGNALS.fetch_add(1, Ordering::SeqCst) == 0 {
            stop.store(true, Ordering::SeqCst);
            eprintln!("\nrnn: interrupted: finishing the current batch, then saving (interrupt again to quit at once)");
        } else {
            eprintln!("\nrnn: interrupted twice: quitting now (the files already written are whole)");
            std::process::exit(i32::from(EXIT_STATUS));
        }
    });
    if let Err(e) = installed {
        eprintln!("rnn: warning: cannot handle Ctrl-C ({e}); an interruption will lose the epoch under way");
    }
}

/// The error a command ends with after an interruption was handled (the report is printed
/// already); `main` exits with [`EXIT_STATUS`] and prints nothing more.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// This process's command line with `--resume CKPT` in place of any `--resume` given, quoted
/// for a POSIX shell.
pub fn resume_command(checkpoint: &Path) -> String {
    resume_args(std::env::args_os(), checkpoint)
        .iter()
        .map(|a| shell_quote(&a.to_string_lossy()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// `args` without `--resume X` / `--resume=X`, with `--resume CKPT` appended.
fn resume_args(args: impl IntoIterator<Item = OsString>, checkpoint: &Path) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut skip_next = false;
    for a in args {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        if a == "--resume" {
            skip_next = true;
        } else if !a.to_string_lossy().starts_with("--resume=") {
            out.push(a);
        }
    }
    out.push("--resume".into());
    out.push(checkpoint.as_os_str().to_owned());
    out
}

/// `a b` → `'a b'`; words of safe characters stay as they are.
fn shell_quote(word: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
    if !word.is_empty() && word.chars().all(safe) {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_replaces_an_earlier_resume_and_quotes() {
        let args = ["rnn", "train", "--resume", "old.ckpt", "--out", "my model.safetensors", "--resume=x"];
        let got = resume_args(args.map(OsString::from), Path::new("my model.last.safetensors"));
        let got: Vec<String> = got.iter().map(|a| shell_quote(&a.to_string_lossy())).collect();
        assert_eq!(got.join(" "), "rnn train --out 'my model.safetensors' --resume 'my model.last.safetensors'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
    }
}
