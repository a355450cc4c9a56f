//! How much memory a model needs, estimated from its configuration before anything is allocated,
//! so that a size no machine can hold is refused with a message instead of an aborted
//! allocation; and how much memory the machine has ([`total_memory`]).
//!
//! Every count is done in `u64` with checked arithmetic: sizes whose product overflows are an
//! [`Error::Config`], never a panic or a wrapped-around small number.

use serde::Serialize;

use crate::{Cell, Error, ModelConfig, Result};

/// The most layers a model may stack ([`crate::RnnConfig::validate`] refuses more): far past
/// any trainable depth, low enough that a typo cannot keep the program busy for hours.
pub const MAX_LAYERS: usize = 1024;

/// Bytes a command uses whatever the sizes: matrix-product buffers, the loss plot's bitmap.
const FIXED: u64 = 8 << 20;

/// What a command will do with a model, in the sizes that decide its memory.
///
/// | Name | Meaning |
/// |---|---|
/// | `batch_size` | sequences processed at once (a training batch or the forward input's batch) |
/// | `seq_len` | steps kept for one backward pass (the truncated-BPTT chunk when there is one) or run forward |
/// | `optimizer_slots` | tensors of the optimizer's state per parameter tensor (Adam 2, SGD with momentum 1) |
/// | `training` | whether gradients, optimizer state and a backward pass are needed |
/// | `data_bytes` | bytes of the dataset held in memory (inputs, targets, copies for splits) |
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    /// Sequences processed at once.
    pub batch_size: usize,
    /// Steps of one forward (and backward) pass.
    pub seq_len: usize,
    /// The optimizer's state tensors per parameter (0 when not training).
    pub optimizer_slots: usize,
    /// Whether a backward pass, gradients and optimizer state are needed.
    pub training: bool,
    /// Bytes of data held in memory besides the model.
    pub data_bytes: u64,
}

/// An estimate of the peak memory of a command, in bytes, by what holds it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct MemoryEstimate {
    /// The parameters and the copies made of them: the packed weights the kernels read, the best
    /// epoch's weights and the serialised file when training or saving.
    pub parameters: u64,
    /// The parameter gradients.
    pub gradients: u64,
    /// The optimizer's state.
    pub optimizer: u64,
    /// The forward pass's trace of one batch and the backward pass's working arrays.
    pub activations: u64,
    /// The dataset.
    pub data: u64,
    /// What does not grow with the sizes: the kernels' buffers, the plots drawn while training.
    pub fixed: u64,
}

impl MemoryEstimate {
    /// The sum of the parts.
    ///
    /// # Errors
    /// [`Error::Config`] when the sum overflows `u64`.
    pub fn total(&self) -> Result<u64> {
        sum(&[self.parameters, self.gradients, self.optimizer, self.activations, self.data, self.fixed])
    }

    /// `parameters 1.2 GB, gradients 400 MB, ...`: the parts that are not zero.
    pub fn describe(&self) -> String {
        let parts = [
            ("parameters", self.parameters),
            ("gradients", self.gradients),
            ("optimizer state", self.optimizer),
            ("activations", self.activations),
            ("data", self.data),
            ("fixed", self.fixed),
        ];
        let parts: Vec<String> =
            parts.iter().filter(|(_, b)| *b > 0).map(|(n, b)| format!("{n} {}", format_bytes(*b))).collect();
        parts.join(", ")
    }
}

fn overflow() -> Error {
    Error::Config("the sizes asked for need more memory than 64 bits can count".into())
}

/// The product of `factors`, or [`Error::Config`] on overflow.
fn product(factors: &[u64]) -> Result<u64> {
    factors.iter().try_fold(1u64, |acc, &f| acc.checked_mul(f)).ok_or_else(overflow)
}

/// The sum of `terms`, or [`Error::Config`] on overflow.
fn sum(terms: &[u64]) -> Result<u64> {
    terms.iter().try_fold(0u64, |acc, &t| acc.checked_add(t)).ok_or_else(overflow)
}

/// The number of parameters of a model, counted without overflow.
///
/// # Errors
/// [`Error::Config`] when the count overflows `u64`.
///
/// # Example
/// ```
/// use rnn::{ModelConfig, RnnConfig, nn::memory};
/// let config = ModelConfig { rnn: RnnConfig::new(3, 8), output_size: Some(2) };
/// // W_ih 8x3, W_hh 8x8, two biases of 8, head 2x8 + 2
/// assert_eq!(memory::parameter_count(&config)?, 24 + 64 + 16 + 18);
/// let huge = ModelConfig { rnn: RnnConfig::new(3, usize::MAX), output_size: None };
/// assert!(memory::parameter_count(&huge).is_err());
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn parameter_count(config: &ModelConfig) -> Result<u64> {
    let c = &config.rnn;
    let h = c.hidden_size as u64;
    let g = product(&[c.cell.gates() as u64, h])?;
    let state = c.state_size() as u64;
    let dirs = c.num_directions() as u64;
    let out_width = product(&[dirs, state])?;
    let mut total = 0u64;
    for layer in 0..c.num_layers.min(2) {
        let input = if layer == 0 { c.input_size as u64 } else { out_width };
        let w_hh = if c.cell == Cell::IndRnn { h } else { product(&[g, state])? };
        let bias = if c.bias { product(&[2, g])? } else { 0 };
        let w_hr = if c.proj_size > 0 { product(&[state, h])? } else { 0 };
        let one = sum(&[product(&[g, input])?, w_hh, bias, w_hr])?;
        // layers past the second are all alike
        let copies = if layer == 0 { 1 } else { (c.num_layers - 1) as u64 };
        total = sum(&[total, product(&[dirs, copies, one])?])?;
    }
    let head = match config.output_size {
        Some(o) => product(&[o as u64, sum(&[out_width, 1])?])?,
        None => 0,
    };
    sum(&[total, head])
}

/// Estimates the peak memory of running (`work.training`: training) `config` in floats of
/// `float_bytes` bytes, before anything is allocated. It is meant to be an upper bound within
/// about twice the real peak (checked against a counting allocator in `tests/memory.rs`).
///
/// # Errors
/// [`Error::Config`] when a count overflows `u64`.
///
/// # Example
/// ```
/// use rnn::{ModelConfig, RnnConfig, nn::memory::{self, Workload}};
/// let config = ModelConfig { rnn: RnnConfig::new(1, 100_000), output_size: Some(1) };
/// let work = Workload { batch_size: 32, seq_len: 50, optimizer_slots: 2, training: true, data_bytes: 0 };
/// // 10^10 recurrent weights in f32: 40 GB, then gradients, Adam's moments, ...
/// assert!(memory::estimate(&config, &work, 4)?.total()? > 200_000_000_000);
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn estimate(config: &ModelConfig, work: &Workload, float_bytes: usize) -> Result<MemoryEstimate> {
    let c = &config.rnn;
    let f = float_bytes as u64;
    let params = parameter_count(config)?;
    let slots = work.optimizer_slots as u64;
    // the parameters, the packed copy the kernels read; when training also the best epoch's
    // weights and a checkpoint's serialised bytes (the parameters and the optimizer's state,
    // copied once into raw bytes and once into the file's buffer)
    let copies = if work.training { sum(&[3, product(&[2, sum(&[1, slots])?])?])? } else { 4 };
    let parameters = product(&[params, f, copies])?;
    let gradients = if work.training { product(&[params, f])? } else { 0 };
    let optimizer = product(&[params, f, slots])?;

    // per step and sequence, what the forward pass keeps of every layer and direction
    let (h, state) = (c.hidden_size as u64, c.state_size() as u64);
    let dirs = c.num_directions() as u64;
    let out_width = product(&[dirs, state])?;
    let gated = match c.cell {
        Cell::Lstm | Cell::Gru => product(&[c.cell.gates() as u64 + 1, h])?,
        Cell::Rnn | Cell::IndRnn => 0,
    };
    let per_direction = sum(&[state, gated])?;
    // a layer's concatenated, residual or dropped-out output, and its dropout mask
    let extra_output = if dirs > 1 || c.dropout > 0.0 || c.residual { product(&[2, out_width])? } else { 0 };
    let per_layer = sum(&[product(&[dirs, per_direction])?, extra_output])?;
    let layers = product(&[c.num_layers as u64, per_layer])?;
    let head = config.output_size.unwrap_or(0) as u64;
    let widest = (c.input_size as u64).max(out_width).max(head);
    // the backward pass works in the trace's memory, plus the gradients of a layer's input and
    // output (the forward pass without a trace: a layer's input and output)
    let backward = product(&[2, widest])?;
    let per_step = sum(&[layers, backward, product(&[2, head])?, c.input_size as u64])?;
    let activations = product(&[per_step, work.seq_len as u64, work.batch_size as u64, f])?;
    Ok(MemoryEstimate { parameters, gradients, optimizer, activations, data: work.data_bytes, fixed: FIXED })
}

/// The memory this process may use: the machine's `MemTotal` (from `/proc/meminfo`), or the
/// cgroup's limit (`memory.max`, v2, or `memory.limit_in_bytes`, v1) when that is lower.
/// `None` where neither can be read (not Linux).
pub fn total_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok().and_then(|s| mem_total(&s));
    let cgroup = ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .find_map(|s| s.trim().parse::<u64>().ok());
    match (meminfo, cgroup) {
        (Some(m), Some(c)) => Some(m.min(c)),
        (m, c) => m.or(c),
    }
}

/// `MemTotal` in bytes from the text of `/proc/meminfo`.
fn mem_total(meminfo: &str) -> Option<u64> {
    let line = meminfo.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kib.checked_mul(1024)
}

/// `512 B`, `1.5 KB`, `40.0 GB`: decimal units, as `--max-memory` reads them.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KB", "MB", "GB", "TB", "PB", "EB"];
    if bytes < 1000 {
        return format!("{bytes} B");
    }
    let mut value = bytes as f64 / 1000.0;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// Parses a size: a number of bytes with an optional unit `K`, `M`, `G`, `T` (powers of 1000;
/// `KiB`, `MiB`, `GiB`, `TiB` for powers of 1024), `B` optional: `4G`, `512M`, `1.5GB`, `2GiB`.
///
/// # Errors
/// [`Error::Config`] for anything else, or a size past `u64`.
///
/// # Example
/// ```
/// use rnn::nn::memory::parse_size;
/// assert_eq!(parse_size("4G")?, 4_000_000_000);
/// assert_eq!(parse_size("512MiB")?, 512 << 20);
/// assert!(parse_size("lots").is_err());
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn parse_size(text: &str) -> Result<u64> {
    let bad = || Error::Config(format!("`{text}` is not a size (e.g. 4G, 512M, 2GiB, 1000000)"));
    let t = text.trim();
    let split = t.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| bad())?;
    let scale: f64 = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 1.0,
        "K" | "KB" => 1e3,
        "M" | "MB" => 1e6,
        "G" | "GB" => 1e9,
        "T" | "TB" => 1e12,
        "KI" | "KIB" => 1024.0,
        "MI" | "MIB" => 1024f64.powi(2),
        "GI" | "GIB" => 1024f64.powi(3),
        "TI" | "TIB" => 1024f64.powi(4),
        _ => return Err(bad()),
    };
    let bytes = value * scale;
    if !bytes.is_finite() || bytes >= u64::MAX as f64 {
        return Err(bad());
    }
    Ok(bytes.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Init, Model, RnnConfig};

    #[test]
    fn parameter_count_matches_the_models_for_every_cell() {
        for cell in [Cell::Rnn, Cell::Lstm, Cell::Gru, Cell::IndRnn] {
            for (layers, bidirectional, bias) in [(1, false, true), (3, true, false), (2, false, true)] {
                let mut rnn = RnnConfig::new(3, 6)
                    .with_cell(cell)
                    .with_num_layers(layers)
                    .with_bidirectional(bidirectional)
                    .with_bias(bias);
                if cell == Cell::Lstm && layers == 2 {
                    rnn = rnn.with_proj_size(4);
                }
                let config = ModelConfig { rnn, output_size: Some(2) };
                let model = Model::<f32>::new(config.clone(), Init::PyTorch, 0).unwrap();
                assert_eq!(parameter_count(&config).unwrap(), model.num_params() as u64, "{config:?}");
            }
        }
    }

    #[test]
    fn overflowing_sizes_are_errors() {
        let work =
            Workload { batch_size: usize::MAX, seq_len: usize::MAX, optimizer_slots: 2, training: true, data_bytes: 0 };
        let config = ModelConfig { rnn: RnnConfig::new(3, 4), output_size: Some(1) };
        assert!(estimate(&config, &work, 4).is_err());
        let config = ModelConfig { rnn: RnnConfig::new(3, 1 << 40).with_num_layers(1 << 20), output_size: None };
        assert!(parameter_count(&config).is_err());
        let full = MemoryEstimate { parameters: u64::MAX, data: 1, ..Default::default() };
        assert!(full.total().is_err());
    }

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("4G").unwrap(), 4_000_000_000);
        assert_eq!(parse_size("1.5gb").unwrap(), 1_500_000_000);
        assert_eq!(parse_size("2GiB").unwrap(), 2 << 30);
        assert_eq!(parse_size("123").unwrap(), 123);
        for bad in ["", "G", "4X", "-1G", "1e400", "99999999999999999999T"] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
        assert_eq!(format_bytes(999), "999 B");
        assert_eq!(format_bytes(40_000_000_000), "40.0 GB");
        assert_eq!(mem_total("MemFree: 1 kB\nMemTotal:  2048 kB\n"), Some(2 << 20));
        assert!(total_memory().is_none_or(|m| m > 0));
    }
}
