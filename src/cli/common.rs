//! Helpers every command shares: writing to stdout, number formatting, reading `.npy` arrays.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result, bail};
use ndarray::{Array3, ArrayD, Ix3};
use rnn::Float;
use rnn::io::npy;

/// Writes `text` to stdout, reporting failure (other than a closed pipe) as an error.
pub fn print_stdout(text: &str) -> Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush()).context("<stdout>")
}

/// Prints a run's results (`text`, ending in a newline): on stdout, so that `rnn train ... >
/// results.txt` keeps them while progress stays on the terminal; on stderr when stdout carries
/// JSON lines (`json`), which it must not interleave with.
pub fn print_result(text: &str, json: bool) -> Result<()> {
    if json {
        eprint!("{text}");
        Ok(())
    } else {
        print_stdout(text)
    }
}

/// `1234567` → `1,234,567`.
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 layer`, `2 layers`.
pub fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

/// Whether notes on stderr are silenced (`--quiet`); one switch for the process, as ripgrep's
/// `messages` module keeps its own.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Silences (or not) [`note`] for the rest of the process.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Prints a note on stderr, unless `--quiet` silenced notes.
pub fn note(text: &str) {
    if !QUIET.load(Ordering::Relaxed) {
        eprintln!("{text}");
    }
}

/// For an input of `shape` that is not 3-D: when it is 2-D, the common slip of one feature per
/// step saved without its axis, how to add it; else nothing.
pub fn feature_axis_hint(shape: &[usize]) -> String {
    match shape {
        [a, b] => format!(" (one feature per step: save it as [{a}, {b}, 1], e.g. x[..., None] in NumPy)"),
        _ => String::new(),
    }
}

/// Reads `[N, T, I]` finite inputs in `F` (batch-first, as every task reads them).
pub fn read_inputs<F: Float>(inputs: &Path) -> Result<Array3<F>> {
    let x = read_float::<F>(inputs)?;
    if x.ndim() != 3 {
        bail!(
            "{}: expected [N, T, input_size], got shape {:?}{}",
            inputs.display(),
            x.shape(),
            feature_axis_hint(x.shape())
        );
    }
    x.into_dimensionality::<Ix3>().with_context(|| inputs.display().to_string())
}

/// Says on stderr how a task read its inputs `[N, T, I]` (once the data is known to be good, so
/// a failure stays one line).
pub fn note_layout(inputs: &Path, (n, t, i): (usize, usize, usize)) {
    note(&format!(
        "{}: read as [N {n}, T {t}, input_size {i}] (batch-first: one sequence per row; `rnn forward` \
         reads [seq_len, batch, input_size] unless given --batch-first)",
        inputs.display()
    ));
}

/// Reads a float32 or float64 `.npy` array as `F`, refusing NaN and infinite values (naming the
/// first one's index).
pub fn read_float<F: Float>(path: &Path) -> Result<ArrayD<F>> {
    let a = npy::read(path)?.into_float::<F>();
    npy::check_finite(path, &a)?;
    Ok(a)
}

/// Says on stderr, for a model file that does not name its activation (a bare PyTorch
/// state_dict), which one was assumed and how to choose the other: with `--nonlinearity` when
/// the command has the flag, else with `rnn forward`.
pub fn warn_assumed<F>(path: &Path, loaded: &rnn::model_file::LoadedModel<F>, has_flag: bool) {
    let Some(act) = loaded.assumed_nonlinearity else { return };
    let other = match act {
        rnn::Nonlinearity::Tanh => "relu",
        _ => "tanh",
    };
    let how = if has_flag {
        format!("if it is not, give --nonlinearity {other}")
    } else {
        format!("this command cannot be told otherwise (rnn forward and rnn inspect take --nonlinearity {other})")
    };
    eprintln!(
        "rnn: warning: {}: the file does not say its activation (no `rnn.config` metadata): assumed {act}; {how}",
        path.display()
    );
}

/// Applies the gate-bias initialisations asked for (`--forget-bias`, `--chrono`) to a fresh
/// model; `seed` draws chrono's biases.
///
/// # Errors
/// When the model's cell has no such gate (an Elman model, or `--forget-bias` on a GRU).
pub fn gate_init<F: rnn::Float>(
    model: &mut rnn::Model<F>,
    flags: &super::args::RecurrenceArgs,
    seed: u64,
) -> anyhow::Result<()> {
    let (forget_bias, chrono) = (flags.forget_bias, flags.chrono);
    if let Some(t_max) = chrono {
        use rand::SeedableRng;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed ^ 0xC4_0A0);
        model.rnn.chrono_init(t_max, &mut rng).map_err(|e| anyhow::anyhow!("--chrono: {e}"))?;
    }
    if let Some(b) = forget_bias {
        model.rnn.set_forget_bias(b).map_err(|e| anyhow::anyhow!("--forget-bias: {e}"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(plural(1, "layer"), "1 layer");
        assert_eq!(plural(3, "output"), "3 outputs");
    }
}
