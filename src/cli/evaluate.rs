//! `rnn evaluate`: score a trained model on data against honest baselines; what it reports
//! depends on the task the model was trained for (its `rnn.task` metadata).

use anyhow::{Result, bail};
use rnn::model_file::{self, LoadOptions};

use super::args::evaluate::Args;

/// Runs `rnn evaluate`.
pub fn run(args: &Args) -> Result<()> {
    let loaded = model_file::load::<f64>(&args.model, &LoadOptions::default())?;
    super::common::warn_assumed(&args.model, &loaded, false);
    let kind = rnn::tasks::kind(&loaded.metadata);
    let given = args.forecast.given();
    if kind.as_deref() != Some("forecast") && !given.is_empty() {
        bail!("{}: {} apply to forecasting models, and this is not one", args.model.display(), given.join(", "));
    }
    // each task reads its own files: one given for another task's model is refused, not ignored
    let (what, usage, takes): (&str, &str, &[&str]) = match kind.as_deref() {
        Some("forecast") => ("a forecasting", "--data FILE.csv", &["--data"]),
        Some("charlm") => ("a character", "--data FILE.txt", &["--data"]),
        Some("classify") => ("a classify", "--inputs X.npy --labels y.npy", &["--inputs", "--labels"]),
        _ => ("a sequence", "--inputs X.npy --targets Y.npy", &["--inputs", "--targets"]),
    };
    let f = &args.files;
    let files = [
        ("--data", f.data.is_some()),
        ("--inputs", f.inputs.is_some()),
        ("--targets", f.targets.is_some()),
        ("--labels", f.labels.is_some()),
    ];
    if let Some((flag, _)) = files.iter().find(|(flag, typed)| *typed && !takes.contains(flag)) {
        bail!("{}: {what} model is evaluated with {usage}; {flag} does not apply", args.model.display());
    }
    match kind.as_deref() {
        Some("forecast") => super::forecast::evaluate(args, &loaded),
        Some("charlm") => super::charlm::evaluate(args, &loaded),
        Some("classify") => super::classify::evaluate(args, &loaded),
        _ => super::sequence::evaluate(args, &loaded),
    }
}
