//! The memory check every command makes before it allocates by the sizes it was given: the
//! library's estimate ([`rnn::nn::memory`]) against `--max-memory`, refused in one line that
//! gives the estimate and names the flags to change.

use anyhow::{Result, bail};
use rnn::data::{Dataset, Targets};
use rnn::nn::memory::{self, MemoryEstimate, Workload, format_bytes};
use rnn::optim::OptimizerConfig;
use rnn::train::TrainConfig;
use rnn::{Float, ModelConfig};

use super::args::limits::LimitArgs;

/// The share of the machine's memory a command may use unless `--max-memory` says otherwise.
const DEFAULT_SHARE: f64 = 0.8;

/// The limit in bytes and how it was set, e.g. `(19.2e9, "80% of the RAM")`.
pub fn limit(args: &LimitArgs) -> (u64, String) {
    match args.max_memory {
        Some(bytes) => (bytes, String::new()),
        None => match memory::total_memory() {
            Some(total) => ((total as f64 * DEFAULT_SHARE) as u64, " (80% of the RAM)".to_string()),
            None => (u64::MAX, String::new()),
        },
    }
}

/// Refuses `estimate` when it is over the limit or could not be counted; `flags` names the
/// sizes the user can lower (`--hidden, --layers`), empty when there are none.
///
/// # Errors
/// One line: `refused: this needs about 41.6 GB (parameters ..., ...) but --max-memory is
/// 19.2 GB (80% of the RAM); lower --hidden, ... or raise --max-memory`.
pub fn check(args: &LimitArgs, estimate: rnn::Result<MemoryEstimate>, flags: &str) -> Result<()> {
    let counted = estimate.and_then(|e| Ok((e.total()?, e)));
    let (total, estimate) = match counted {
        Ok(v) => v,
        Err(rnn::Error::Config(msg)) if flags.is_empty() => bail!("refused: {msg}"),
        Err(rnn::Error::Config(msg)) => bail!("refused: {msg}; lower {flags}"),
        Err(e) => return Err(e.into()),
    };
    let (limit, how) = limit(args);
    if total > limit {
        let lower = if flags.is_empty() { String::new() } else { format!("lower {flags} or ") };
        bail!(
            "refused: this needs about {} ({}) but --max-memory is {}{how}; {lower}raise --max-memory",
            format_bytes(total),
            estimate.describe(),
            format_bytes(limit)
        );
    }
    Ok(())
}

/// The optimizer's state tensors per parameter.
pub fn optimizer_slots(config: &OptimizerConfig) -> usize {
    config.state_slots()
}

/// The bytes a dataset holds.
pub fn dataset_bytes<F: Float>(data: &Dataset<F>) -> u64 {
    let targets = match data.targets() {
        Targets::Values(v) => v.len() * size_of::<F>(),
        Targets::Classes(c) => c.len() * std::mem::size_of::<usize>(),
    };
    (data.inputs().len() * size_of::<F>() + targets) as u64
}

/// Checks training `model` with `config` on sequences of `seq_len` steps (`sequences` of them)
/// and `data_bytes` of data in floats `F`.
///
/// # Errors
/// As [`check`].
pub fn check_training<F: Float>(
    args: &LimitArgs,
    model: &ModelConfig,
    config: &TrainConfig,
    seq_len: usize,
    sequences: usize,
    data_bytes: u64,
) -> Result<()> {
    let work = Workload {
        batch_size: config.batch_size.min(sequences.max(1)),
        seq_len: config.tbptt.unwrap_or(seq_len).min(seq_len),
        optimizer_slots: optimizer_slots(&config.optimizer),
        training: true,
        data_bytes,
    };
    check(args, memory::estimate(model, &work, size_of::<F>()), "--hidden, --layers, --batch-size or --tbptt")
}
