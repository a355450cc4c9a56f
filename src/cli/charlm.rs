//! `--task charlm`: train a character-level language model on a UTF-8 text, score it in bits per
//! character against the unigram baseline (`rnn evaluate`), and sample from it (`rnn generate`).
//!
//! The text is read as characters (not bytes), its distinct characters are the vocabulary (stored
//! in the model), and each is fed one-hot. Training is stateful truncated BPTT: the first
//! `1 - --val-split` of the text is cut into `--batch-size` parallel streams, each read in order
//! in chunks of `--tbptt` characters with the state carried from chunk to chunk through the epoch;
//! the last `--val-split` is held out and scored as one stream.

use std::io::Write;

use anyhow::{Context, Result, anyhow, bail};
use rnn::model_file::{self, LoadOptions, LoadedModel};
use rnn::tasks::charlm::{
    CharLmTask, Generator, Sampling, StreamLayout, Vocab, bits_per_char, describe_unknown, read_text, split_tail,
    unigram_bits_per_char,
};
use rnn::train::TensorBoard;
use rnn::{Float, Model};

use super::args::Dtype;
use super::args::charlm::GenerateArgs;
use super::args::evaluate::Args as EvalArgs;
use super::args::train::Args;
use super::common::{plural, print_result, print_stdout, thousands};
use super::fit::{fit, trainer};
use super::limits;

/// The longest sample printed after training.
const MAX_SAMPLE: usize = 1_000_000;

/// The sampling temperature of the sample printed after training.
const SAMPLE_TEMPERATURE: f64 = 0.8;

/// `rnn train --task charlm`.
pub fn train(args: &Args, tensorboard: Option<TensorBoard>) -> Result<()> {
    match args.model.dtype {
        Dtype::F32 => train_as::<f32>(args, tensorboard),
        Dtype::F64 => train_as::<f64>(args, tensorboard),
    }
}

/// Refuses the shared flags that make no sense for a character model.
fn check_flags(args: &Args) -> Result<()> {
    let d = &args.data;
    // printed at the end as one string: refused now rather than after training
    if args.charlm.sample > MAX_SAMPLE {
        bail!(
            "--sample must be at most {MAX_SAMPLE} characters (rnn generate streams longer texts), got {}",
            args.charlm.sample
        );
    }
    for (flag, given) in [
        ("--inputs", d.inputs.is_some()),
        ("--targets", d.targets.is_some()),
        ("--labels", d.labels.is_some()),
        ("--mask", d.mask.is_some()),
        ("--val-inputs", d.val_inputs.is_some()),
    ] {
        if given {
            bail!("--task charlm reads a text file (--data FILE.txt); {flag} does not apply");
        }
    }
    if args.model.bidirectional {
        bail!(
            "--task charlm cannot be --bidirectional: the reverse direction would read the characters the model must \
             predict, and a generator has no future to read"
        );
    }
    Ok(())
}

fn train_as<F: Float>(args: &Args, tensorboard: Option<TensorBoard>) -> Result<()> {
    check_flags(args)?;
    let Some(path) = &args.data.data else {
        bail!("--task charlm needs --data FILE.txt (a UTF-8 text)");
    };
    let quiet = args.output.quiet;
    let text = read_text(path)?;
    let n = text.chars().count();
    if n < 2 {
        bail!("{}: the text has {n} character(s); a character model needs at least 2", path.display());
    }
    // resuming keeps the checkpoint's vocabulary (the classes its weights mean)
    let vocab = match &args.output.resume {
        Some(ckpt) => task_of(ckpt, &model_file::load::<F>(ckpt, &LoadOptions::default())?.metadata)?.vocab,
        None => Vocab::from_text(&text)?,
    };
    let v = vocab.len();
    let ids = vocab.encode_file(path, &text)?;
    let frac = args.data.val_split;
    let (head, tail) = split_tail(&ids, frac).with_context(|| format!("{}: --val-split {frac}", path.display()))?;
    let config = args.training.config(Some(rnn::loss::Loss::CrossEntropy))?;
    let chunk = config.tbptt.unwrap_or(head.len());
    let layout = StreamLayout::new(head.len(), config.batch_size, chunk)?;
    let val_layout = match tail.len() {
        0 | 1 => None,
        m => Some(StreamLayout::new(m, config.batch_size, chunk)?),
    };
    let val_bytes = val_layout.as_ref().map_or(Ok(0), |l| l.dataset_bytes(v, size_of::<F>()))?;
    let data_bytes = layout.dataset_bytes(v, size_of::<F>())?.saturating_add(val_bytes);
    let model = args.model.config(v, v);
    limits::check_training::<F>(&args.limits, &model, &config, layout.chunk_len, layout.rows(), data_bytes)?;
    let train = layout.dataset::<F>(head, v)?;
    let val = val_layout.map(|l| l.dataset::<F>(tail, v)).transpose()?;
    if !quiet {
        eprintln!(
            "text: {}, {} characters, a vocabulary of {v}; training on the first {} as {} of {} of {} \
             ({} used), holding out the last {} (losses below are nats per character)",
            path.display(),
            thousands(n),
            thousands(head.len()),
            plural(layout.streams, "stream"),
            plural(layout.chunks, "chunk"),
            plural(layout.chunk_len, "character"),
            thousands(layout.used()),
            thousands(tail.len()),
        );
    }
    let meta = CharLmTask { vocab: vocab.clone(), held_out: frac }.to_metadata();
    let mut trainer = trainer::<F>(args, config, v, v, meta)?;
    let report = fit(&mut trainer, &train, val.as_ref(), args, tensorboard)?;
    if quiet {
        return Ok(());
    }
    let json = args.output.json;
    let run: Vec<_> = report.history.iter().filter(|r| r.seconds > 0.0).collect();
    if !run.is_empty() {
        let per_sec = run.iter().map(|r| r.sequences_per_sec).sum::<f64>() / run.len() as f64;
        let speed = thousands((per_sec * layout.chunk_len as f64) as usize);
        print_result(&format!("speed:           {speed} characters/s (training)\n"), json)?;
    }
    // the written model (the best epoch's weights), scored as `rnn evaluate` does
    let out = &args.output.out;
    let loaded = model_file::load::<f64>(out, &LoadOptions::default())?;
    if tail.len() >= 2 {
        let score = bits_per_char(&loaded.model, tail)?;
        let unigram = unigram_bits_per_char(head, &tail[1..], v);
        print_result(
            &format!(
                "held-out text:   {:.4} bits/char (unigram baseline {unigram:.4}) on the last {} characters, one stream\n",
                score.bpc,
                thousands(tail.len())
            ),
            json,
        )?;
    }
    if args.charlm.sample > 0 {
        let seed = args.training.seed;
        let sample = sample(&loaded.model, &vocab, args.charlm.sample, seed)?;
        print_result(
            &format!(
                "sample (rnn generate --model {} --length {} --temperature {SAMPLE_TEMPERATURE} --seed {seed}):\n{sample}\n",
                out.display(),
                args.charlm.sample
            ),
            json,
        )?;
    }
    Ok(())
}

/// `length` characters from an empty prime, as `rnn generate` makes them.
fn sample(model: &Model<f64>, vocab: &Vocab, length: usize, seed: u64) -> Result<String> {
    let mut generator =
        Generator::new(model, vocab, "", Sampling { temperature: SAMPLE_TEMPERATURE, top_k: None, seed })?;
    Ok((0..length).map(|_| generator.next_char()).collect::<rnn::Result<String>>()?)
}

/// The character-model settings in a model file's metadata, or an error naming the file.
pub(super) fn task_of(
    path: &std::path::Path,
    metadata: &std::collections::HashMap<String, String>,
) -> Result<CharLmTask> {
    CharLmTask::from_metadata(metadata).map_err(|e| {
        let msg = e.to_string();
        anyhow!("{}: {}", path.display(), msg.strip_prefix("invalid configuration: ").unwrap_or(&msg))
    })
}

/// `rnn evaluate` on a charlm model: bits per character on the held-out tail of `--data`
/// (the fraction the model was trained with), against the unigram baseline of the text before it.
pub fn evaluate(args: &EvalArgs, loaded: &LoadedModel<f64>) -> Result<()> {
    let task = task_of(&args.model, &loaded.metadata)?;
    let Some(path) = &args.files.data else {
        bail!("{}: a character model is evaluated with --data FILE.txt", args.model.display());
    };
    if task.held_out == 0.0 {
        bail!(
            "{}: the model was trained without a held-out tail (--val-split 0), so there is none to score",
            args.model.display()
        );
    }
    let text = read_text(path)?;
    let ids = task.vocab.encode_file(path, &text)?;
    let (head, tail) = split_tail(&ids, task.held_out).with_context(|| path.display().to_string())?;
    if tail.len() < 2 {
        bail!(
            "{}: the held-out tail ({} of {} characters) is too short to score",
            path.display(),
            tail.len(),
            ids.len()
        );
    }
    let score = bits_per_char(&loaded.model, tail).with_context(|| args.model.display().to_string())?;
    let unigram = unigram_bits_per_char(head, &tail[1..], task.vocab.len());
    if args.json {
        let j = serde_json::json!({
            "model": {"bpc": score.bpc, "accuracy": score.accuracy},
            "unigram": {"bpc": unigram},
            "characters": tail.len(),
            "held_out": task.held_out,
        });
        print_stdout(&format!("{j}\n"))
    } else {
        print_stdout(&format!(
            "{}: the last {} characters ({}%), one stream\n{:<8} {:>10} {:>9}\n{:<8} {:>10.4} {:>8.2}%\n{:<8} {:>10.4}\n",
            path.display(),
            thousands(tail.len()),
            (task.held_out * 1000.0).round() / 10.0,
            "",
            "bits/char",
            "accuracy",
            "model",
            score.bpc,
            score.accuracy * 100.0,
            "unigram",
            unigram
        ))
    }
}

/// `rnn generate`: streams the prime and `--length` sampled characters to stdout.
pub fn generate(args: &GenerateArgs) -> Result<()> {
    if !(args.temperature.is_finite() && args.temperature >= 0.0) {
        bail!("--temperature must be 0 or more (0 takes the most likely character), got {}", args.temperature);
    }
    if args.top_k == Some(0) {
        bail!("--top-k must be at least 1 (1 takes the most likely character)");
    }
    let loaded = model_file::load::<f64>(&args.model, &LoadOptions::default())?;
    let task = task_of(&args.model, &loaded.metadata)?;
    let prime = args.prime.as_deref().unwrap_or("");
    let unknown = task.vocab.unknown(prime);
    if !unknown.is_empty() {
        bail!(
            "{}: --prime has {} character{} outside the model's vocabulary of {}: {}",
            args.model.display(),
            unknown.len(),
            if unknown.len() == 1 { "" } else { "s" },
            task.vocab.len(),
            describe_unknown(&unknown)
        );
    }
    let sampling = Sampling { temperature: args.temperature, top_k: args.top_k, seed: args.seed };
    let mut generator = Generator::new(&loaded.model, &task.vocab, prime, sampling)
        .with_context(|| args.model.display().to_string())?;
    let mut out = std::io::stdout().lock();
    let mut emit = |s: &str| out.write_all(s.as_bytes()).and_then(|()| out.flush()).context("<stdout>");
    emit(prime)?;
    let mut last = prime.chars().last();
    let mut buf = [0u8; 4];
    for _ in 0..args.length {
        let c = generator.next_char()?;
        emit(c.encode_utf8(&mut buf))?;
        last = Some(c);
    }
    if last.is_some_and(|c| c != '\n') {
        emit("\n")?;
    }
    Ok(())
}
