//! `--task classify`: sequence classification (many-to-one). `rnn train --task classify` fits
//! a model to `--inputs X.npy [N, T, I]` and `--labels y.npy [N]`, holding out a stratified test
//! split that it scores after training; `rnn evaluate` scores a classify model on new data.

use std::path::Path;

use anyhow::{Context, Result, bail};
use ndarray::{Array1, Array3, Axis};
use rnn::data::{Dataset, Targets};
use rnn::loss::Loss;
use rnn::model_file::{self, LoadOptions, LoadedModel};
use rnn::tasks::classify::{self, ClassifySettings, Metrics};
use rnn::train::TensorBoard;
use rnn::{Float, Model};

use super::args::Dtype;
use super::args::evaluate::Args as EvalArgs;
use super::args::train::Args;
use super::common::{print_result, print_stdout, read_inputs};
use super::fit::{fit, trainer};
use super::limits;

/// The inputs and labels of one `.npy` pair, checked against each other.
pub(super) struct Labelled<F> {
    pub x: Array3<F>,
    pub y: Array1<usize>,
}

/// Reads `[N, T, I]` inputs and `[N]` labels; every problem names its file.
pub(super) fn read_labelled<F: Float>(inputs: &Path, labels: &Path) -> Result<Labelled<F>> {
    let x = read_inputs::<F>(inputs)?;
    if x.shape()[0] == 0 || x.shape()[1] == 0 {
        bail!("{}: no sequences to classify (shape {:?})", inputs.display(), x.shape());
    }
    let y = classify::read_labels(labels)?;
    if y.len() != x.shape()[0] {
        bail!("{}: {} labels for {} input sequences in {}", labels.display(), y.len(), x.shape()[0], inputs.display());
    }
    Ok(Labelled { x, y })
}

/// `rnn train --task classify`.
pub fn train(args: &Args, tensorboard: Option<TensorBoard>) -> Result<()> {
    match args.model.dtype {
        Dtype::F32 => train_as::<f32>(args, tensorboard),
        Dtype::F64 => train_as::<f64>(args, tensorboard),
    }
}

fn train_as<F: Float>(args: &Args, tensorboard: Option<TensorBoard>) -> Result<()> {
    let (d, c) = (&args.data, &args.classify);
    let (Some(inputs), Some(labels)) = (&d.inputs, &d.labels) else {
        bail!("--task classify needs --inputs X.npy [N, T, I] and --labels y.npy [N]");
    };
    if d.targets.is_some() {
        bail!("--task classify takes class --labels, not --targets");
    }
    if d.mask.is_some() {
        bail!("--mask is not supported with --task classify (every sequence is read at its last step)");
    }
    if !(0.0..1.0).contains(&c.test_split) {
        bail!("--test-split must be in [0, 1), got {}", c.test_split);
    }
    if !(0.0..1.0).contains(&d.val_split) {
        bail!("--val-split must be in [0, 1), got {}", d.val_split);
    }
    let config = args.training.config(Some(Loss::CrossEntropy))?;
    let data = read_labelled::<F>(inputs, labels)?;
    let labels_all = data.y.as_slice().context("labels")?;
    let seed = args.training.seed;

    // test split, then validation from the rest (or the given validation files)
    let (rest, test_rows) = classify::stratified_split(labels_all, c.test_split, seed)?;
    let (train_rows, val_rows) = match &d.val_inputs {
        Some(_) => (rest, Vec::new()),
        None => {
            let rest_labels: Vec<usize> = rest.iter().map(|&r| labels_all[r]).collect();
            let (k, v) = classify::stratified_split(&rest_labels, d.val_split, seed.wrapping_add(1))?;
            (k.iter().map(|&i| rest[i]).collect(), v.iter().map(|&i| rest[i]).collect::<Vec<_>>())
        }
    };
    let max_label = labels_all.iter().copied().max().unwrap_or(0);
    if let Some(names) = &c.class_names
        && names.len() <= max_label
    {
        bail!("{}: labels go up to {max_label} but --class-names names {} classes", labels.display(), names.len());
    }
    let classes = c.class_names.as_ref().map_or(0, Vec::len).max(max_label + 1);
    check_classes(labels, &classify::class_counts(labels_all, classes))?;
    let train_labels: Vec<usize> = train_rows.iter().map(|&r| labels_all[r]).collect();
    let settings = ClassifySettings::new(&train_labels, c.class_names.clone())?;
    let num_classes = settings.num_classes;
    let subset = |rows: &[usize]| -> Result<Dataset<F>> {
        let x = data.x.select(Axis(0), rows);
        let y = data.y.select(Axis(0), rows).insert_axis(Axis(1));
        Dataset::new(x, Targets::Classes(y), None).with_context(|| inputs.display().to_string())
    };
    let train = subset(&train_rows)?;
    let val = match (&d.val_inputs, &d.val_targets) {
        (Some(vi), Some(vl)) => {
            let v = read_labelled::<F>(vi, vl)?;
            check_labels(&v.y, num_classes, vl)?;
            Some(
                Dataset::new(v.x, Targets::Classes(v.y.insert_axis(Axis(1))), None)
                    .with_context(|| vi.display().to_string())?,
            )
        }
        _ if val_rows.is_empty() => None,
        _ => Some(subset(&val_rows)?),
    };
    if let (Some(v), Some(vi)) = (&val, &d.val_inputs)
        && v.input_size() != train.input_size()
    {
        bail!(
            "{}: {} features per step but the training inputs {} have {}",
            vi.display(),
            v.input_size(),
            inputs.display(),
            train.input_size()
        );
    }
    if !args.output.quiet {
        let absent: Vec<String> =
            settings.train_counts.iter().enumerate().filter(|(_, k)| **k == 0).map(|(c, _)| settings.name(c)).collect();
        let split = if test_rows.is_empty() && d.val_inputs.is_some() {
            String::new()
        } else {
            format!(" (stratified split of the {} in {}, seed {seed})", data.y.len(), inputs.display())
        };
        eprintln!(
            "{num_classes} classes; {} train, {} validation{}, {} test sequences{split}",
            train_rows.len(),
            val.as_ref().map_or(0, Dataset::len),
            if d.val_inputs.is_some() { " (--val-inputs)" } else { "" },
            test_rows.len(),
        );
        if !absent.is_empty() {
            eprintln!("note: no training sequence of class {}", absent.join(", "));
        }
    }

    let data_bytes = limits::dataset_bytes(&train) + val.as_ref().map_or(0, limits::dataset_bytes);
    let model = args.model.config(train.input_size(), num_classes);
    limits::check_training::<F>(&args.limits, &model, &config, train.seq_len(), train.len(), data_bytes)?;
    let mut trainer = trainer::<F>(args, config, train.input_size(), num_classes, settings.to_metadata())?;
    fit(&mut trainer, &train, val.as_ref(), args, tensorboard)?;

    if test_rows.is_empty() {
        if !args.output.quiet {
            eprintln!(
                "no test split (--test-split 0): score the model with `rnn evaluate --model {} --inputs X.npy --labels y.npy`",
                args.output.out.display()
            );
        }
        return Ok(());
    }
    // score the written model (the best epoch's weights) on the held-out test split
    let model = model_file::load::<F>(&args.output.out, &LoadOptions::default())?.model;
    let test_x = data.x.select(Axis(0), &test_rows);
    let test_y: Vec<usize> = test_rows.iter().map(|&r| labels_all[r]).collect();
    let scores = Scores::compute(&model, &test_x, &test_y, &settings)?;
    if args.output.json {
        let line = serde_json::to_string(&TestJson { test: scores.json(&settings) })?;
        print_stdout(&format!("{line}\n"))?;
    }
    if !args.output.quiet {
        let table = scores.table(&format!("held-out test split ({} sequences)", test_y.len()), &settings);
        print_result(&table, args.output.json)?;
    }
    Ok(())
}

/// Refuses labels of a single class; warns of each class in `0..C` with no example.
fn check_classes(path: &Path, counts: &[usize]) -> Result<()> {
    let present: Vec<usize> = (0..counts.len()).filter(|&c| counts[c] > 0).collect();
    if let [only] = present[..] {
        bail!(
            "{}: all {} labels are class {only}: a classifier needs examples of at least two classes",
            path.display(),
            counts[only]
        );
    }
    let absent: Vec<String> = (0..counts.len()).filter(|&c| counts[c] == 0).map(|c| c.to_string()).collect();
    if !absent.is_empty() {
        eprintln!(
            "rnn: warning: {}: no example of class {} (classes run 0..{}): the model gets an output for each, never \
             trained to fire",
            path.display(),
            absent.join(", "),
            counts.len() - 1
        );
    }
    Ok(())
}

/// Labels must be classes the model has.
fn check_labels(labels: &Array1<usize>, num_classes: usize, path: &Path) -> Result<()> {
    if let Some((i, c)) = labels.iter().enumerate().find(|(_, c)| **c >= num_classes) {
        bail!(
            "{}: label {c} at index {i} is out of range: the model has {num_classes} classes (0..{})",
            path.display(),
            num_classes - 1
        );
    }
    Ok(())
}

/// The JSON of [`Scores`] (a struct, so the keys keep this order).
#[derive(serde::Serialize)]
struct ScoresJson {
    model: ModelJson,
    majority: MajorityJson,
    sequences: usize,
    classes: usize,
    /// `[true class][predicted class]`
    confusion: Vec<Vec<usize>>,
    per_class: Vec<ClassJson>,
}

/// The last line of `rnn train --task classify --json`: `{"test":{"model":..,...}}`.
#[derive(serde::Serialize)]
struct TestJson {
    test: ScoresJson,
}

#[derive(serde::Serialize)]
struct ModelJson {
    accuracy: f64,
    correct: usize,
}

#[derive(serde::Serialize)]
struct MajorityJson {
    accuracy: f64,
    class: usize,
}

#[derive(serde::Serialize)]
struct ClassJson {
    class: usize,
    name: String,
    precision: Option<f64>,
    recall: Option<f64>,
    support: usize,
}

/// A model's scores on labelled data, with the majority baseline.
struct Scores {
    metrics: Metrics,
    majority: f64,
}

impl Scores {
    fn compute<F: Float>(
        model: &Model<F>,
        x: &Array3<F>,
        labels: &[usize],
        settings: &ClassifySettings,
    ) -> Result<Self> {
        let predicted = classify::predict(model, x.view())?;
        let metrics = Metrics::new(labels, &predicted, settings.num_classes)?;
        Ok(Scores { metrics, majority: classify::constant_accuracy(labels, settings.majority_class) })
    }

    /// `{"model":{"accuracy":..},"majority":{"accuracy":..}, ...}`, in that key order.
    fn json(&self, settings: &ClassifySettings) -> ScoresJson {
        let m = &self.metrics;
        ScoresJson {
            model: ModelJson { accuracy: m.accuracy(), correct: m.correct() },
            majority: MajorityJson { accuracy: self.majority, class: settings.majority_class },
            sequences: m.total(),
            classes: m.num_classes(),
            confusion: m.confusion.rows().into_iter().map(|r| r.to_vec()).collect(),
            per_class: (0..m.num_classes())
                .map(|c| ClassJson {
                    class: c,
                    name: settings.name(c),
                    precision: m.precision(c),
                    recall: m.recall(c),
                    support: m.support(c),
                })
                .collect(),
        }
    }

    /// Accuracy against the majority baseline, the confusion matrix and per-class scores.
    fn table(&self, title: &str, settings: &ClassifySettings) -> String {
        let m = &self.metrics;
        let pct = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{:.1}%", v * 100.0));
        let mut out = format!(
            "{title}\n  accuracy  model {:.2}% ({}/{})   majority class {} {:.2}%\n",
            m.accuracy() * 100.0,
            m.correct(),
            m.total(),
            settings.name(settings.majority_class),
            self.majority * 100.0
        );
        let names: Vec<String> = (0..m.num_classes()).map(|c| settings.name(c)).collect();
        let label_w = names.iter().map(String::len).max().unwrap_or(1).max(4);
        let cell_w = m.confusion.iter().map(|v| v.to_string().len()).max().unwrap_or(1).max(3);
        let cols: Vec<String> = (0..m.num_classes()).map(|c| format!("{c:>cell_w$}")).collect();
        out.push_str(&format!(
            "  confusion (rows: true class, columns: predicted)\n  {:>label_w$}  {}\n",
            "",
            cols.join(" ")
        ));
        for (c, name) in names.iter().enumerate() {
            let row: Vec<String> = m.confusion.row(c).iter().map(|v| format!("{v:>cell_w$}")).collect();
            out.push_str(&format!("  {name:>label_w$}  {}\n", row.join(" ")));
        }
        out.push_str(&format!("  {:>label_w$}  {:>9} {:>9} {:>8}\n", "", "precision", "recall", "support"));
        for (c, name) in names.iter().enumerate() {
            out.push_str(&format!(
                "  {name:>label_w$}  {:>9} {:>9} {:>8}\n",
                pct(m.precision(c)),
                pct(m.recall(c)),
                m.support(c)
            ));
        }
        out
    }
}

/// `rnn evaluate` on a classify model: accuracy against the training majority class, the
/// confusion matrix and per-class precision/recall on `--inputs`/`--labels`.
pub fn evaluate(args: &EvalArgs, loaded: &LoadedModel<f64>) -> Result<()> {
    let (Some(inputs), Some(labels)) = (&args.files.inputs, &args.files.labels) else {
        bail!("{}: a classify model is evaluated with --inputs X.npy --labels y.npy", args.model.display());
    };
    let settings = ClassifySettings::from_metadata(&loaded.metadata, &args.model)?;
    let model = &loaded.model;
    if model.config().output_size != Some(settings.num_classes) {
        bail!(
            "{}: the model has {} outputs but its task metadata says {} classes",
            args.model.display(),
            model.config().output_size.unwrap_or(0),
            settings.num_classes
        );
    }
    let data = read_labelled::<f64>(inputs, labels)?;
    let input_size = model.rnn.config().input_size;
    if data.x.shape()[2] != input_size {
        bail!(
            "{}: input has {} features per step but the model expects {input_size}",
            inputs.display(),
            data.x.shape()[2]
        );
    }
    check_labels(&data.y, settings.num_classes, labels)?;
    let scores = Scores::compute(model, &data.x, data.y.as_slice().context("labels")?, &settings)?;
    if args.json {
        print_stdout(&format!("{}\n", serde_json::to_string(&scores.json(&settings))?))
    } else {
        print_stdout(&scores.table(
            &format!("{} on {} ({} sequences)", args.model.display(), inputs.display(), data.y.len()),
            &settings,
        ))
    }
}
