//! The fast path (`Model<f64>`: batched GEMMs, packed and threaded kernels, workspaces) against
//! the plain per-step reference `rnn::nn::reference`, on every output and every gradient.
//!
//! Compared: `y`, `h_n`, `c_n` of `forward_train_states` (same dropout seed, so the same
//! masks), and for the loss `L = Σ R ⊙ y + Σ S ⊙ h_n + Σ U ⊙ c_n` every parameter gradient
//! (by name), dL/dx, dL/dh0 and dL/dc0 from all three backward passes: `backward_states` (keeps
//! the trace, takes `U`), `backward` and `backward_owned` (consumes the trace; neither takes
//! `U`, so they are compared with the reference at `U = 0`; `backward_owned` with and without
//! the input gradient); and the gradient's norm at every step that `backward_flow` and
//! `backward_owned_flow` record. Agreement means `|fast - ref| / max(1, |ref|) <= 1e-12` for every entry.
//!
//! Configurations: a seeded grid covering every cell (Elman tanh/relu/sigmoid, LSTM, LSTM with
//! `proj_size`, GRU, IndRNN relu/tanh/sigmoid) × 1-3 layers × uni/bidirectional, three times each with the other axes
//! drawn at random (bias, dropout, head on every step / last step / none, batch 1-10, seq_len
//! 1-5, hidden 1-64, input width random or equal to hidden, h0/c0 absent, zero or random,
//! residual connections or not);
//! plus fixed large cases (hidden 512, batch 8) where the per-step products run on the packed,
//! threaded GEMM path (the IndRNN's input projection too), mid-size deep bidirectional ones, and
//! residual stacks of every cell (every layer residual, 3-4 layers); and every cell on one-hot
//! inputs (a character model's), whose input projection and `dW_ih` take their own path.

use ndarray::{Array3, ArrayViewD};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rnn::nn::flow::GradFlow;
use rnn::nn::reference;
use rnn::{Cell, Init, Model, ModelConfig, ModelGrads, Nonlinearity, Readout, RnnConfig};

const TOL: f64 = 1e-12;

#[derive(Clone, Copy, Debug)]
struct Spec {
    cell: Cell,
    act: Nonlinearity,
    proj: usize,
    layers: usize,
    bidirectional: bool,
    bias: bool,
    dropout: f64,
    head: Option<Readout>,
    batch: usize,
    seq_len: usize,
    hidden: usize,
    input: usize,
    /// 0: no h0/c0 given, 1: zeros given, 2: random
    init: u8,
    input_grad: bool,
    /// Residual connections (a layer adds its input to its output where the widths match).
    residual: bool,
    /// One-hot inputs (a character model's): the products with them take their own path.
    one_hot: bool,
    seed: u64,
}

/// The nine cells the grid runs.
const CELLS: [(Cell, Nonlinearity, bool); 9] = [
    (Cell::Rnn, Nonlinearity::Tanh, false),
    (Cell::Rnn, Nonlinearity::Relu, false),
    (Cell::Rnn, Nonlinearity::Sigmoid, false),
    (Cell::Lstm, Nonlinearity::Tanh, false),
    (Cell::Lstm, Nonlinearity::Tanh, true),
    (Cell::Gru, Nonlinearity::Tanh, false),
    (Cell::IndRnn, Nonlinearity::Relu, false),
    (Cell::IndRnn, Nonlinearity::Tanh, false),
    (Cell::IndRnn, Nonlinearity::Sigmoid, false),
];

fn random_spec((cell, act, proj): (Cell, Nonlinearity, bool), layers: usize, bidirectional: bool, seed: u64) -> Spec {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let hidden = rng.random_range(if proj { 2..=64 } else { 1..=64 });
    Spec {
        cell,
        act,
        proj: if proj { rng.random_range(1..hidden) } else { 0 },
        layers,
        bidirectional,
        bias: rng.random_bool(0.75),
        dropout: if rng.random_bool(0.5) { 0.3 } else { 0.0 },
        head: [None, Some(Readout::EveryStep), Some(Readout::LastStep)][rng.random_range(0..3)],
        batch: rng.random_range(1..=10),
        seq_len: rng.random_range(1..=5),
        hidden,
        input: if rng.random_bool(0.25) { hidden } else { rng.random_range(1..=6) },
        init: rng.random_range(0..3),
        input_grad: rng.random_bool(0.5),
        residual: rng.random_bool(0.4),
        one_hot: false,
        seed,
    }
}

fn uniform(shape: (usize, usize, usize), rng: &mut ChaCha8Rng) -> Array3<f64> {
    Array3::from_shape_simple_fn(shape, || rng.random_range(-1.0..1.0))
}

/// The worst scaled difference seen and the entries compared.
#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    entries: usize,
    worst: f64,
}

impl Stats {
    fn merge(self, o: Stats) -> Stats {
        Stats { entries: self.entries + o.entries, worst: self.worst.max(o.worst) }
    }

    /// Compares `fast` with `reference` entry by entry.
    fn compare(&mut self, what: &str, spec: &Spec, fast: ArrayViewD<'_, f64>, reference: ArrayViewD<'_, f64>) {
        assert_eq!(fast.shape(), reference.shape(), "{what}: shapes differ in {spec:?}");
        for (k, (&a, &b)) in fast.iter().zip(reference.iter()).enumerate() {
            let e = (a - b).abs() / b.abs().max(1.0);
            assert!(e <= TOL, "{what}[{k}]: fast {a:e} vs reference {b:e} (scaled diff {e:e}) in {spec:?}");
            self.worst = self.worst.max(e);
        }
        self.entries += fast.len();
    }

    /// Compares every gradient of `fast` with `reference` (`input` only when `fast` has it).
    fn flow(&mut self, what: &str, spec: &Spec, fast: &GradFlow, reference: &GradFlow) {
        self.compare(&format!("{what}: ‖dL/dh_t‖"), spec, fast.h.view().into_dyn(), reference.h.view().into_dyn());
        assert_eq!(fast.c.is_some(), reference.c.is_some(), "{what}: cell-state norms in one only, {spec:?}");
        if let (Some(a), Some(b)) = (&fast.c, &reference.c) {
            self.compare(&format!("{what}: ‖dL/dc_t‖"), spec, a.view().into_dyn(), b.view().into_dyn());
        }
    }

    fn grads(&mut self, what: &str, spec: &Spec, model: &Model<f64>, fast: &ModelGrads<f64>, r: &reference::Grads) {
        let named = fast.named_tensors(model.rnn.config());
        let names: Vec<&str> = named.iter().map(|(n, _)| n.as_str()).collect();
        let want: Vec<&str> = r.params.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, want, "{what}: parameter names in {spec:?}");
        for ((name, a), (_, b)) in named.iter().zip(&r.params) {
            self.compare(&format!("{what}: {name}"), spec, a.view(), b.view());
        }
        if let Some(input) = fast.input() {
            self.compare(&format!("{what}: input"), spec, input.into_dyn(), r.input.view().into_dyn());
        }
        self.compare(&format!("{what}: h0"), spec, fast.h0().into_dyn(), r.h0.view().into_dyn());
        match (fast.c0(), &r.c0) {
            (Some(a), Some(b)) => self.compare(&format!("{what}: c0"), spec, a.into_dyn(), b.view().into_dyn()),
            (None, None) => {}
            _ => panic!("{what}: c0 present in one of the two only, {spec:?}"),
        }
    }
}

fn run(spec: Spec) -> Stats {
    let config = RnnConfig::new(spec.input, spec.hidden)
        .with_cell(spec.cell)
        .with_nonlinearity(spec.act)
        .with_proj_size(spec.proj)
        .with_num_layers(spec.layers)
        .with_bidirectional(spec.bidirectional)
        .with_bias(spec.bias)
        .with_dropout(spec.dropout)
        .with_residual(spec.residual);
    let (n, state, hidden) = (spec.layers * config.num_directions(), config.state_size(), spec.hidden);
    let model_config = ModelConfig { rnn: config, output_size: spec.head.map(|_| 3) };
    let model = Model::<f64>::new(model_config, Init::PyTorch, spec.seed).unwrap();
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed ^ 0x5eed);
    let mut x = uniform((spec.seq_len, spec.batch, spec.input), &mut rng);
    if spec.one_hot {
        let classes = spec.input;
        x.rows_mut().into_iter().for_each(|mut row| {
            let hot = rng.random_range(0..classes);
            row.iter_mut().enumerate().for_each(|(k, v)| *v = if k == hot { 1.0 } else { 0.0 });
        });
    }
    let (h0, c0) = (uniform((n, spec.batch, state), &mut rng), uniform((n, spec.batch, hidden), &mut rng));
    let (h0, c0) = match spec.init {
        0 => (None, None),
        1 => (Some(Array3::zeros(h0.raw_dim())), Some(Array3::zeros(c0.raw_dim()))),
        _ => (Some(h0), Some(c0)),
    };
    let lstm = spec.cell == Cell::Lstm;
    let c0 = c0.filter(|_| lstm);
    let readout = spec.head.unwrap_or_default();
    let dropout_seed = spec.seed.wrapping_add(77);

    // forward, both ways, the dropout masks drawn from the same seed
    let fwd = |x, h0: &Option<Array3<f64>>, c0: &Option<Array3<f64>>| {
        let mut drop = ChaCha8Rng::seed_from_u64(dropout_seed);
        model
            .forward_train_states(x, h0.as_ref().map(|h| h.view()), c0.as_ref().map(|c| c.view()), readout, &mut drop)
            .unwrap()
    };
    let trace = fwd(x.view(), &h0, &c0);
    let mut drop = ChaCha8Rng::seed_from_u64(dropout_seed);
    let refr = reference::forward(
        &model,
        x.view(),
        h0.as_ref().map(|h| h.view()),
        c0.as_ref().map(|c| c.view()),
        readout,
        &mut drop,
    );
    let mut stats = Stats::default();
    stats.compare("y", &spec, trace.y().into_dyn(), refr.y.view().into_dyn());
    stats.compare("h_n", &spec, trace.h_n().into_dyn(), refr.h_n.view().into_dyn());
    match (trace.c_n(), &refr.c_n) {
        (Some(a), Some(b)) => stats.compare("c_n", &spec, a.into_dyn(), b.view().into_dyn()),
        (None, None) => {}
        _ => panic!("c_n present in one of the two only, {spec:?}"),
    }

    // the loss weights
    let r = uniform(refr.y.dim(), &mut rng);
    let s = uniform(refr.h_n.dim(), &mut rng);
    let u = refr.c_n.as_ref().map(|c| uniform(c.dim(), &mut rng));
    let want = refr.backward(r.view(), s.view(), u.as_ref().map(|u| u.view()));
    // backward and backward_owned take no dL/dc_n: the reference at U = 0
    let want_no_u = if lstm { refr.backward(r.view(), s.view(), None) } else { want.clone() };

    let g = model.backward_states(&trace, r.view(), Some(s.view()), u.as_ref().map(|u| u.view())).unwrap();
    stats.grads("backward_states", &spec, &model, &g, &want);
    assert!(g.input().is_some());
    let g = model.backward(&trace, r.view(), Some(s.view())).unwrap();
    stats.grads("backward", &spec, &model, &g, &want_no_u);
    // the gradient's norm at every step: recorded by backward_flow (dL/dh_n = 0) and by
    // backward_owned_flow (the training step's pass)
    let want_flow = refr.backward(r.view(), Array3::zeros(refr.h_n.raw_dim()).view(), None).flow;
    let mut flow = GradFlow::new(model.rnn.config(), spec.seq_len);
    let g = model.backward_flow(&trace, r.view(), &mut flow).unwrap();
    stats.flow("backward_flow", &spec, &flow, &want_flow);
    assert!(g.input().is_some());
    // the training step's pass without the norms (which need the whole batch at every step,
    // so only this one reaches the per-thread row parts of a layer whose states are given up)
    let g =
        model.backward_owned_flow(fwd(x.view(), &h0, &c0), r.view(), Some(s.view()), spec.input_grad, None).unwrap();
    stats.grads("backward_owned (no norms)", &spec, &model, &g, &want_no_u);
    let mut flow = GradFlow::new(model.rnn.config(), spec.seq_len);
    let g = model.backward_owned_flow(trace, r.view(), Some(s.view()), spec.input_grad, Some(&mut flow)).unwrap();
    assert_eq!(g.input().is_some(), spec.input_grad, "{spec:?}");
    stats.grads("backward_owned", &spec, &model, &g, &want_no_u);
    stats.flow("backward_owned_flow", &spec, &flow, &want_no_u.flow);
    stats
}

#[test]
fn fast_path_matches_the_reference_on_a_seeded_grid() {
    let mut stats = Stats::default();
    let mut cases = 0;
    for (c, &cell) in CELLS.iter().enumerate() {
        let mut per_cell = Stats::default();
        for layers in 1..=3 {
            for bidirectional in [false, true] {
                for rep in 0..3u64 {
                    let seed = 1000 * c as u64 + 100 * layers as u64 + 10 * u64::from(bidirectional) + rep;
                    per_cell = per_cell.merge(run(random_spec(cell, layers, bidirectional, seed)));
                    cases += 1;
                }
            }
        }
        let (name, act, proj) = cell;
        eprintln!("  {name} {act}{}: worst scaled difference {:.2e}", if proj { " proj" } else { "" }, per_cell.worst);
        stats = stats.merge(per_cell);
    }
    eprintln!("{cases} configurations, {} entries: worst scaled difference {:.2e}", stats.entries, stats.worst);
}

#[test]
fn fast_path_matches_the_reference_on_large_and_deep_cases() {
    let base = Spec {
        cell: Cell::Rnn,
        act: Nonlinearity::Tanh,
        proj: 0,
        layers: 1,
        bidirectional: false,
        bias: true,
        dropout: 0.0,
        head: None,
        batch: 8,
        seq_len: 3,
        hidden: 512,
        input: 5,
        init: 2,
        input_grad: true,
        residual: false,
        one_hot: false,
        seed: 7,
    };
    let gru = Spec { cell: Cell::Gru, ..base };
    let lstm = Spec { cell: Cell::Lstm, ..base };
    let indrnn = Spec { cell: Cell::IndRnn, act: Nonlinearity::Relu, ..base };
    let cases = [
        // hidden 512, batch 8: W_hh packed, the per-step products on the packed GEMM, threaded
        base,
        Spec { act: Nonlinearity::Relu, head: Some(Readout::EveryStep), input: 512, seed: 8, ..base },
        Spec { act: Nonlinearity::Sigmoid, bidirectional: true, head: Some(Readout::LastStep), seed: 9, ..base },
        Spec { head: Some(Readout::LastStep), input_grad: false, init: 0, seed: 10, ..lstm },
        Spec { proj: 100, bidirectional: true, seed: 11, ..lstm },
        Spec { hidden: 600, proj: 512, head: Some(Readout::EveryStep), seed: 12, ..lstm },
        Spec { bidirectional: true, head: Some(Readout::EveryStep), seed: 13, ..gru },
        Spec { bias: false, input_grad: false, seed: 14, ..gru },
        // mid-size, deep, bidirectional, dropout, batch above 8
        Spec { layers: 3, hidden: 96, batch: 9, seq_len: 5, dropout: 0.25, bidirectional: true, seed: 15, ..base },
        Spec { layers: 2, hidden: 130, batch: 11, seq_len: 4, dropout: 0.4, bidirectional: true, seed: 16, ..lstm },
        Spec { layers: 2, hidden: 128, proj: 40, batch: 8, seq_len: 4, dropout: 0.2, seed: 17, ..lstm },
        Spec { layers: 3, hidden: 160, batch: 8, seq_len: 4, dropout: 0.3, head: Some(Readout::LastStep), ..gru },
        // batches of 16 and more with a small W_hh: on two threads or more, each thread carries
        // its own rows through every step (uneven parts: 9 + 8), LSTM and GRU
        Spec {
            layers: 2,
            hidden: 64,
            batch: 17,
            seq_len: 5,
            dropout: 0.2,
            bidirectional: true,
            head: Some(Readout::EveryStep),
            seed: 28,
            ..lstm
        },
        Spec { hidden: 48, batch: 16, seq_len: 6, head: Some(Readout::LastStep), init: 0, seed: 29, ..lstm },
        Spec {
            layers: 2,
            hidden: 40,
            batch: 17,
            seq_len: 5,
            dropout: 0.2,
            bidirectional: true,
            head: Some(Readout::EveryStep),
            seed: 30,
            ..gru
        },
        Spec { hidden: 32, batch: 16, seq_len: 6, bias: false, init: 0, seed: 31, ..gru },
        // the same for the Elman layer: a unidirectional stack (its top layer's states in dA,
        // dW_hh summed per part in chunks of 3 steps; the layer below's gradient from above in
        // dA), bidirectional (reverse), and one layer without a head
        Spec {
            layers: 2,
            hidden: 64,
            input: 64,
            batch: 17,
            seq_len: 20,
            dropout: 0.2,
            head: Some(Readout::EveryStep),
            seed: 32,
            ..base
        },
        Spec {
            act: Nonlinearity::Relu,
            layers: 2,
            hidden: 48,
            batch: 16,
            seq_len: 7,
            bidirectional: true,
            head: Some(Readout::LastStep),
            seed: 33,
            ..base
        },
        Spec { act: Nonlinearity::Sigmoid, hidden: 40, batch: 16, seq_len: 13, bias: false, init: 0, seed: 34, ..base },
        Spec { head: Some(Readout::EveryStep), input: 512, seed: 18, ..indrnn },
        Spec { act: Nonlinearity::Tanh, bidirectional: true, bias: false, input_grad: false, seed: 19, ..indrnn },
        Spec { layers: 3, hidden: 96, batch: 9, seq_len: 5, dropout: 0.25, bidirectional: true, seed: 20, ..indrnn },
        Spec {
            layers: 2,
            hidden: 64,
            batch: 8,
            seq_len: 5,
            head: Some(Readout::LastStep),
            init: 0,
            seed: 21,
            ..indrnn
        },
        // residual stacks: every layer residual (input = hidden), deep, with dropout, each cell
        Spec { layers: 4, input: 512, head: Some(Readout::EveryStep), residual: true, seed: 22, ..base },
        Spec { layers: 3, hidden: 96, input: 96, batch: 9, dropout: 0.2, residual: true, seed: 23, ..base },
        Spec {
            layers: 3,
            hidden: 64,
            bidirectional: true,
            head: Some(Readout::LastStep),
            residual: true,
            seed: 24,
            ..lstm
        },
        Spec { layers: 3, hidden: 130, input: 130, dropout: 0.3, residual: true, seed: 25, ..gru },
        Spec { layers: 4, hidden: 96, input: 96, head: Some(Readout::EveryStep), residual: true, seed: 26, ..indrnn },
        Spec { layers: 3, hidden: 64, bidirectional: true, input_grad: false, residual: true, seed: 27, ..indrnn },
    ];
    let mut stats = Stats::default();
    let mut per_cell: Vec<(Cell, Stats)> = Vec::new();
    for spec in cases {
        let s = run(spec);
        match per_cell.iter_mut().find(|(c, _)| *c == spec.cell) {
            Some((_, cell)) => *cell = cell.merge(s),
            None => per_cell.push((spec.cell, s)),
        }
        stats = stats.merge(s);
    }
    for (cell, s) in per_cell {
        eprintln!("  {cell}: worst scaled difference {:.2e}", s.worst);
    }
    eprintln!(
        "{} large/deep configurations, {} entries: worst scaled difference {:.2e}",
        cases.len(),
        stats.entries,
        stats.worst
    );
}

#[test]
fn fast_path_matches_the_reference_on_one_hot_inputs() {
    let mut stats = Stats::default();
    for (c, &cell) in CELLS.iter().enumerate() {
        for (layers, bidirectional) in [(1, false), (2, true)] {
            let seed = 9000 + 10 * c as u64 + layers as u64;
            let spec = random_spec(cell, layers, bidirectional, seed);
            // a vocabulary of 7 read by 6 streams over 5 steps, and a larger one
            stats = stats.merge(run(Spec { one_hot: true, input: 7, batch: 6, seq_len: 5, ..spec }));
            stats = stats.merge(run(Spec { one_hot: true, input: 75, batch: 17, seq_len: 3, hidden: 64, ..spec }));
        }
    }
    eprintln!("one-hot inputs, {} entries: worst scaled difference {:.2e}", stats.entries, stats.worst);
}
