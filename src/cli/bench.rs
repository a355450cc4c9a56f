//! `rnn bench`: training-step, forward and streaming-step speed at the sizes, next to
//! the GEMM rate this process reaches, so the fraction of peak is visible, and the peak heap
//! memory of a training step against what it must hold.

use std::time::Duration;

use anyhow::Result;
use rnn::bench::{self, BenchShape, SHAPES, TrainBench};
use rnn::nn::memory::{self, Workload};

use super::args::bench::Args;
use super::common::print_stdout;

/// Runs `rnn bench`.
pub fn run(args: &Args) -> Result<()> {
    for shape in SHAPES {
        let rnn = rnn::RnnConfig::new(shape.input_size, shape.hidden_size)
            .with_cell(args.cell)
            .with_num_layers(shape.num_layers);
        let model = rnn::ModelConfig { rnn, output_size: Some(1) };
        let work = Workload {
            batch_size: shape.batch,
            seq_len: shape.seq_len,
            optimizer_slots: 2,
            training: true,
            data_bytes: 0,
        };
        super::limits::check(&args.limits, memory::estimate(&model, &work, 4), "")?;
    }
    let threads = rnn::pool::threads();
    if args.stream_only {
        return stream(args, threads);
    }
    let min_time = Duration::from_secs_f64(args.min_time.max(0.01));
    let gemm = bench::gemm_gflops();
    if !args.json {
        print_stdout(&format!(
            "{} cell, threads {threads}, {}; f32 GEMM 1024x1024x1024 (fastest in this process): {gemm:.1} GFLOP/s\n{:>6} {:>5} {:>5} {:>3}  {:>12} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8} {:>12} {:>10} {:>10}\n",
            args.cell,
            rnn::threads::instruction_set(),
            "H",
            "B",
            "T",
            "L",
            "train seq/s",
            "step ms",
            "GFLOP/s",
            "of GEMM",
            "fwd ms",
            "GFLOP/s",
            "of GEMM",
            "Model fwd ms",
            "peak MB",
            "of needed"
        ))?;
    }
    for shape in SHAPES {
        let r = measure(shape, args.cell, min_time)?;
        let gflops = shape.train_flops(args.cell) / r.train / 1e9;
        let fwd_gflops = shape.forward_flops(args.cell) / r.fwd / 1e9;
        if args.json {
            let j = serde_json::json!({
                "peer": "rnn", "cell": args.cell.name(),
                "hidden_size": shape.hidden_size, "batch": shape.batch, "seq_len": shape.seq_len,
                "num_layers": shape.num_layers, "input_size": shape.input_size, "threads": threads,
                "isa": rnn::threads::instruction_set(),
                "train_seq_per_s": shape.batch as f64 / r.train, "train_step_ms": r.train * 1e3,
                "forward_ms": r.fwd * 1e3, "forward_model_ms": r.fwd_model * 1e3,
                "train_gflops": gflops, "forward_gflops": fwd_gflops, "gemm_gflops": gemm,
                "peak_mb": r.peak as f64 / 1e6, "required_mb": r.required as f64 / 1e6,
            });
            print_stdout(&format!("{j}\n"))?;
        } else {
            print_stdout(&format!(
                "{:>6} {:>5} {:>5} {:>3}  {:>12.1} {:>10.3} {:>10.1} {:>7.0}% {:>10.3} {:>10.1} {:>7.0}% {:>12.3} {:>10.1} {:>9.2}x\n",
                shape.hidden_size,
                shape.batch,
                shape.seq_len,
                shape.num_layers,
                shape.batch as f64 / r.train,
                r.train * 1e3,
                gflops,
                100.0 * gflops / gemm,
                r.fwd * 1e3,
                fwd_gflops,
                100.0 * fwd_gflops / gemm,
                r.fwd_model * 1e3,
                r.peak as f64 / 1e6,
                r.peak as f64 / r.required as f64
            ))?;
        }
    }
    stream(args, threads)
}

/// Times and prints the streaming step.
fn stream(args: &Args, threads: usize) -> Result<()> {
    let us = bench::stream_step_us(args.cell, 128, 32)?;
    if args.json {
        let j = serde_json::json!({"peer": "rnn", "cell": args.cell.name(), "stream_step_us": us, "hidden_size": 128, "input_size": 32, "threads": threads, "isa": rnn::threads::instruction_set()});
        print_stdout(&format!("{j}\n"))
    } else {
        print_stdout(&format!("streaming step, H=128, input 32, batch 1: {us:.3} us\n"))
    }
}

/// What [`measure`] measured for one shape.
struct Measured {
    /// Median seconds of a training step.
    train: f64,
    /// Median seconds of an inference forward by a [`rnn::Predictor`].
    fwd: f64,
    /// Median seconds of an inference forward by `Model::forward`.
    fwd_model: f64,
    /// Peak heap bytes of a training step.
    peak: usize,
    /// Bytes a training step must hold.
    required: usize,
}

/// Times a training step and the inference forwards of `shape`, and the peak heap of a step.
///
/// The peak counts everything the step holds (model, optimizer state, data, the forward's
/// trace, gradients, scratch) from the heap in use before the bench was built; the warm-up steps
/// have already grown the kernels' per-thread packing buffers.
fn measure(shape: BenchShape, cell: rnn::Cell, min_time: Duration) -> Result<Measured> {
    let base = super::peak::live();
    let mut b = TrainBench::<f32>::new(shape, cell, 0)?;
    let mut err = None;
    let train = bench::median_secs(
        || {
            if let Err(e) = b.train_step() {
                err = Some(e);
            }
        },
        3,
        5,
        10_000,
        min_time,
    );
    super::peak::reset_peak();
    b.train_step()?;
    let peak = super::peak::peak().saturating_sub(base);
    // inference as a server runs it: the weights packed once, by a `Predictor`
    let predictor = b.predictor();
    let fwd = bench::median_secs(
        || {
            let _ = std::hint::black_box(b.predict(&predictor));
        },
        2,
        5,
        10_000,
        min_time,
    );
    // and a one-off `Model::forward`, which packs them in the call
    let fwd_model = bench::median_secs(
        || {
            let _ = std::hint::black_box(b.forward());
        },
        2,
        5,
        10_000,
        min_time,
    );
    match err {
        Some(e) => Err(e.into()),
        None => Ok(Measured { train, fwd, fwd_model, peak, required: b.required_bytes() }),
    }
}
