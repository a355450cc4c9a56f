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
    match kind.as_deref() {
        Some("forecast") => super::forecast::evaluate(args, &loaded),
        Some("charlm") => super::charlm::evaluate(args, &loaded),
        Some("classify") => super::classify::evaluate(args, &loaded),
        _ => super::sequence::evaluate(args, &loaded),
    }
}
