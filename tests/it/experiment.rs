//! The experiments' library: the data generators (adding, copy, pixel digits), the model names,
//! and small runs that train every model under the step budget and score it.

use rnn::data::Targets;
use rnn::tasks::experiment::{
    self, ADDING_BASELINE, COPY_SYMBOLS, Experiment, ModelSpec, Options, Quiet, Score, Task, Variant, adding_problem,
    copy_baseline, copy_memory, pixel_digits,
};
use rnn::{Cell, Init, Nonlinearity};

#[test]
fn adding_targets_are_the_sum_of_exactly_two_marked_values_one_per_half() {
    let data = adding_problem(200, 21, 3).unwrap();
    let (x, Targets::Values(y)) = (data.inputs(), data.targets()) else { panic!("regression targets") };
    assert_eq!((x.shape(), y.shape()), (&[200, 21, 2][..], &[200, 1, 1][..]));
    for i in 0..200 {
        let marked: Vec<usize> = (0..21).filter(|&t| x[[i, t, 1]] != 0.0).collect();
        assert_eq!(marked.len(), 2, "sequence {i}: exactly two markers");
        assert!(marked[0] < 10 && marked[1] >= 10, "one marker in each half: {marked:?}");
        assert!((0..21).all(|t| x[[i, t, 1]] == 0.0 || x[[i, t, 1]] == 1.0));
        assert!((0..21).all(|t| (0.0..1.0).contains(&x[[i, t, 0]])));
        assert_eq!(y[[i, 0, 0]], x[[i, marked[0], 0]] + x[[i, marked[1], 0]]);
    }
    // seeded: the same seed gives the same data, another seed other data
    assert_eq!(adding_problem(5, 21, 3).unwrap().inputs(), data.subset(&[0, 1, 2, 3, 4]).inputs());
    assert_ne!(adding_problem(5, 21, 4).unwrap().inputs(), data.subset(&[0, 1, 2, 3, 4]).inputs());
    assert!(adding_problem(5, 1, 0).is_err());
    // the baseline: predicting 1 scores the variance of the sum, 1/6
    let mse: f64 = y.iter().map(|&v| (f64::from(v) - 1.0).powi(2)).sum::<f64>() / 200.0;
    assert!((mse - ADDING_BASELINE).abs() < 0.04, "{mse}");
}

#[test]
fn copy_task_layout_and_baseline() {
    let delay = 7;
    let data = copy_memory(30, delay, 1).unwrap();
    let steps = delay + 20;
    let (x, Targets::Classes(y)) = (data.inputs(), data.targets()) else { panic!("class targets") };
    assert_eq!((x.shape(), y.shape()), (&[30, steps, COPY_SYMBOLS][..], &[30, steps][..]));
    for i in 0..30 {
        let symbol = |t: usize| (0..COPY_SYMBOLS).position(|s| x[[i, t, s]] == 1.0).expect("one-hot");
        for t in 0..steps {
            assert_eq!(x.slice(ndarray::s![i, t, ..]).sum(), 1.0, "one symbol per step");
            match t {
                0..10 => assert!((1..=8).contains(&symbol(t))),
                _ if t == delay + 9 => assert_eq!(symbol(t), 9, "the delimiter"),
                _ => assert_eq!(symbol(t), 0, "blank at step {t}"),
            }
            let want = if t >= delay + 10 { symbol(t - delay - 10) } else { 0 };
            assert_eq!(y[[i, t]], want, "target of step {t}");
        }
    }
    assert!((copy_baseline(delay) - 10.0 * 8f64.ln() / 27.0).abs() < 1e-15);
    assert!((copy_baseline(100) - 10.0 * 8f64.ln() / 120.0).abs() < 1e-15);
    assert!(copy_memory(3, 0, 0).is_err());
}

#[test]
fn pixel_digits_are_64_steps_and_permuted_with_a_fixed_order() {
    let (train, test) = pixel_digits(None).unwrap();
    let (ptrain, ptest) = pixel_digits(Some(5)).unwrap();
    assert_eq!((train.len() + test.len(), train.seq_len(), train.input_size()), (1797, 64, 1));
    assert_eq!((ptrain.len(), ptest.len()), (train.len(), test.len()));
    assert_eq!(ptrain.targets(), train.targets());
    // the same pixels in another order
    let (a, b) = (train.inputs(), ptrain.inputs());
    assert_ne!(a, b);
    for i in 0..train.len() {
        let sorted = |v: ndarray::ArrayView1<'_, f32>| {
            let mut v = v.to_vec();
            v.sort_by(f32::total_cmp);
            v
        };
        let (pa, pb) = (a.slice(ndarray::s![i, .., 0]), b.slice(ndarray::s![i, .., 0]));
        assert_eq!(sorted(pa), sorted(pb), "image {i}");
    }
    // a fixed order: seeded
    assert_eq!(pixel_digits(Some(5)).unwrap().0.inputs(), b);
}

#[test]
fn model_names_parse_with_their_variants() {
    let parse = |s: &str| s.parse::<ModelSpec>();
    assert_eq!(parse("lstm").unwrap(), ModelSpec::plain(Cell::Lstm));
    assert_eq!(parse("LSTM:forget-bias").unwrap().variant, Variant::ForgetBias);
    assert_eq!(parse("irnn").unwrap(), parse("rnn:irnn").unwrap());
    assert_eq!(parse("rnn:orthogonal").unwrap().variant, Variant::Orthogonal);
    assert_eq!(parse("gru:chrono").unwrap().cell, Cell::Gru);
    for spec in ModelSpec::default_list() {
        assert_eq!(parse(&spec.to_string()).unwrap(), spec, "{spec} round-trips");
    }
    for bad in ["foo", "gru:forget-bias", "lstm:orthogonal", "indrnn:chrono", "rnn:", ""] {
        let err = parse(bad).unwrap_err().to_string();
        assert!(err.contains("unknown model") && err.contains("lstm:forget-bias"), "{bad}: {err}");
    }
    let list = ModelSpec::parse_list("rnn, lstm:forget-bias,gru").unwrap();
    assert_eq!(list.len(), 3);
    let err = ModelSpec::parse_list("rnn,foo").unwrap_err().to_string();
    assert!(err.contains("`foo`") && !err.contains('\n'), "{err}");
    assert!(ModelSpec::parse_list(" , ").is_err());

    // the hyper-parameters follow the literature
    let h = |s: &str| parse(s).unwrap().hyper(100, 64, 50, None, None);
    let irnn = h("irnn");
    assert_eq!(
        (irnn.init, irnn.nonlinearity, irnn.lr, irnn.clip_norm),
        (Init::Identity, Some(Nonlinearity::Relu), 1e-4, Some(1.0))
    );
    let ind = h("indrnn");
    assert_eq!((ind.num_layers, ind.nonlinearity), (2, Some(Nonlinearity::Relu)));
    assert!((ind.recurrent_max.unwrap() - 2f64.powf(0.01)).abs() < 1e-15);
    assert_eq!((h("rnn:orthogonal").init, h("rnn:orthogonal").clip_norm), (Init::Orthogonal, Some(1.0)));
    assert_eq!(h("lstm:forget-bias").forget_bias, Some(1.0));
    assert_eq!(h("lstm").num_layers, 1);
    assert_eq!(parse("lstm").unwrap().hyper(100, 64, 50, Some(3), Some(0.01)).num_layers, 3);
}

fn tiny(experiment: Experiment, models: &str, steps: usize) -> Options {
    Options {
        experiment,
        length: if experiment.task() == Task::PixelDigits { None } else { Some(8) },
        models: ModelSpec::parse_list(models).unwrap(),
        steps: Some(steps),
        hidden: 8,
        batch_size: 4,
        test_size: 20,
        lag_batch: 4,
        curve_points: 3,
        ..Options::default()
    }
}

#[test]
fn a_tiny_run_respects_the_step_budget_and_records_the_curve() {
    let options = tiny(Experiment::Task(Task::Adding), "rnn,lstm:forget-bias,indrnn,irnn", 7);
    let r = experiment::run(&options, &mut Quiet).unwrap();
    assert_eq!((r.seq_len, r.baseline, r.metric.as_str()), (8, ADDING_BASELINE, "MSE"));
    let names: Vec<&str> = r.models.iter().map(|m| m.cell.as_str()).collect();
    assert_eq!(names, ["rnn", "lstm:forget-bias", "indrnn", "rnn:irnn"]);
    for m in &r.models {
        assert_eq!(m.steps, 7, "{}: the budget", m.model);
        // before training, then every ceil(7 / 3) = 3 steps and at the end
        let steps: Vec<usize> = m.curve.iter().map(|p| p.step).collect();
        assert_eq!(steps, [0, 3, 6, 7], "{}", m.model);
        assert!(matches!(m.score, Score::Mse { test_mse } if test_mse.is_finite() && test_mse > 0.0));
        assert_eq!(m.score.loss(), m.curve.last().unwrap().test_loss);
        assert!(m.parameters > 0 && m.seconds > 0.0 && m.diverged.is_none());
        assert_eq!(m.grad_norm_by_lag.len(), m.hyper.num_layers);
        assert_eq!(m.grad_norm_by_lag[0].len(), 8, "{}: lags 0..8 from the last step", m.model);
        assert!(m.grad_norm_by_lag[0].iter().all(|v| v.is_finite()));
        let json = serde_json::to_value(m).unwrap();
        assert!(json["test_mse"].is_f64() && json["hyper"]["lr"].is_f64(), "{json}");
    }
    // the same seed gives the same run
    let again = experiment::run(&options, &mut Quiet).unwrap();
    assert_eq!(again.models[1].score, r.models[1].score);
}

#[test]
fn classification_tasks_report_loss_and_accuracy() {
    let r = experiment::run(&tiny(Experiment::Task(Task::Copy), "gru", 2), &mut Quiet).unwrap();
    assert_eq!((r.seq_len, r.baseline), (28, copy_baseline(8)));
    let m = &r.models[0];
    assert!(matches!(m.score, Score::CrossEntropy { test_loss, test_accuracy }
        if test_loss.is_finite() && (0.0..=1.0).contains(&test_accuracy)));
    assert_eq!(m.grad_norm_by_lag[0].len(), 25, "4 end points reach back 24 steps");
    let json = serde_json::to_value(m).unwrap();
    assert!(json["test_loss"].is_f64() && json["test_accuracy"].is_f64() && json.get("test_mse").is_none());

    let mut options = tiny(Experiment::Task(Task::PixelDigits), "rnn", 2);
    options.permuted = true;
    let r = experiment::run(&options, &mut Quiet).unwrap();
    assert_eq!((r.seq_len, r.models[0].steps), (64, 2));
    assert!((r.baseline - 10f64.ln()).abs() < 1e-12);
}

#[test]
fn the_depth_study_stacks_plain_and_residual_layers() {
    let mut options = tiny(Experiment::Depth(Task::Adding), "rnn", 1);
    options.layers = Some(4);
    let r = experiment::run(&options, &mut Quiet).unwrap();
    let shapes: Vec<(usize, bool)> = r.models.iter().map(|m| (m.hyper.num_layers, m.hyper.residual)).collect();
    assert_eq!(shapes, [(1, false), (2, false), (2, true), (4, false), (4, true)]);
    assert_eq!(r.models[4].model, "rnn 4 layers residual");
    assert_eq!(r.models[4].grad_norm_by_lag.len(), 4);
    assert_eq!("depth".parse::<Experiment>().unwrap(), Experiment::Depth(Task::Adding));
}

#[test]
fn bad_options_are_refused() {
    let base = tiny(Experiment::Task(Task::Adding), "rnn", 1);
    for bad in [
        Options { steps: Some(0), ..base.clone() },
        Options { length: Some(1), ..base.clone() },
        Options { permuted: true, ..base.clone() },
        Options { lr: Some(-1.0), ..base.clone() },
        Options { experiment: Experiment::Task(Task::PixelDigits), ..base.clone() },
    ] {
        let err = experiment::run(&bad, &mut Quiet).unwrap_err();
        assert!(matches!(err, rnn::Error::Config(_)), "{err}");
    }
    assert!("sorting".parse::<Experiment>().is_err());
}
