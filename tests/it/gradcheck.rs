//! Finite-difference gradient checks in f64 of every parameter, the input, h0 and (LSTM) c0,
//! over two grids of configurations.
//!
//! Elman (144 configurations): 1-3 layers × tanh/relu/sigmoid × bias on/off ×
//! uni/bidirectional × batch 1/3 × seq_len 1/4, with the head off, on every step, or on the
//! last step (rotating), and dropout between layers in half of the deep configurations.
//!
//! Gated (99 configurations): LSTM, LSTM with proj_size (hidden 4, proj 3 or 2) and GRU ×
//! 1-2 layers × bias on/off × uni/bidirectional × (batch, seq_len) in (1, 4), (3, 1), (3, 4),
//! (2, 3), with the head rotating through off / every step / last step, input width 3 or 4
//! (= hidden) and, in half of the 2-layer configurations, dropout 0.3; plus one 3-layer
//! bidirectional configuration with dropout and a head per cell (batch 2, seq_len 3). The LSTM runs from a random
//! c0 and its loss has a c_n term, checking `weight_hr` and dL/dc0 too.
//!
//! IndRNN (99 configurations): relu/tanh/sigmoid × 1-2 layers × bias on/off ×
//! uni/bidirectional × (batch, seq_len) in (1, 4), (3, 1), (3, 4), (2, 3), the head, input width
//! and dropout rotating as in the gated grid; plus one 3-layer bidirectional configuration with
//! dropout and a head per activation. Every entry of `weight_ih`, the recurrent vector `u`
//! (`weight_hh`), both biases, the head, the input and h0.
//!
//! Residual (84 configurations): Elman tanh/relu, LSTM, LSTM with proj_size 3, GRU, IndRNN
//! relu/tanh × 1-3 layers × uni/bidirectional × input width 3 or the output width (so the first
//! layer is residual too), with residual connections on; head, dropout, bias and sizes rotating.
//!
//! The loss is a fixed random projection of everything the model returns,
//! `L = Σ R ⊙ y + Σ S ⊙ h_n (+ Σ U ⊙ c_n)`, so every gradient path is exercised. Numerical
//! derivatives use the five-point central stencil; the relative error
//! `|a - n| / max(|a|, |n|, 1e-8)` must stay below 1e-6 for every entry (or, for gradients near
//! zero, the absolute error below 1e-9, the f64 rounding floor of the stencil).

use ndarray::{Array3, ArrayViewD};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rnn::{Cell, Init, Model, ModelConfig, ModelGrads, Nonlinearity, Readout, RnnConfig};

const REL_TOL: f64 = 1e-6;
/// Entries whose gradient is near zero are judged by absolute error: below this the difference
/// is the f64 rounding of the stencil (≈ 1e-16 · |L| / h), not the gradient.
const ABS_FLOOR: f64 = 1e-9;

#[derive(Clone, Copy, Debug)]
struct Case {
    cell: Cell,
    /// LSTM only: 0 or the projection's width
    proj: usize,
    layers: usize,
    act: Nonlinearity,
    bias: bool,
    bidirectional: bool,
    batch: usize,
    seq_len: usize,
    head: Option<Readout>,
    dropout: f64,
    /// 3, or 4 (= the hidden size: the first layer's input gradient then reuses dA's buffer)
    input_size: usize,
    /// Residual connections between layers (where a layer's input is as wide as its output).
    residual: bool,
}

fn grid() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut i = 0usize;
    for layers in 1..=3 {
        for act in [Nonlinearity::Tanh, Nonlinearity::Relu, Nonlinearity::Sigmoid] {
            for bias in [true, false] {
                for bidirectional in [false, true] {
                    for batch in [1, 3] {
                        for seq_len in [1, 4] {
                            let head = [None, Some(Readout::EveryStep), Some(Readout::LastStep)][i % 3];
                            let dropout = if layers > 1 && i.is_multiple_of(2) { 0.3 } else { 0.0 };
                            let input_size = if i % 4 == 1 { 4 } else { 3 };
                            let case = Case {
                                cell: Cell::Rnn,
                                proj: 0,
                                layers,
                                act,
                                bias,
                                bidirectional,
                                batch,
                                seq_len,
                                head,
                                dropout,
                                input_size,
                                residual: false,
                            };
                            cases.push(case);
                            i += 1;
                        }
                    }
                }
            }
        }
    }
    cases
}

/// The gated grid of the header comment.
fn gated_grid() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut i = 0usize;
    let sizes = [(1, 4), (3, 1), (3, 4), (2, 3)];
    for (cell, proj) in [(Cell::Lstm, 0), (Cell::Lstm, 3), (Cell::Gru, 0)] {
        for layers in 1..=2 {
            for bias in [true, false] {
                for bidirectional in [false, true] {
                    for (batch, seq_len) in sizes {
                        // the rotating axes, shifted by one per configuration so that they do not
                        // follow the sizes
                        let j = i + i / 4;
                        let head = [None, Some(Readout::EveryStep), Some(Readout::LastStep)][i % 3];
                        let dropout = if layers > 1 && j.is_multiple_of(2) { 0.3 } else { 0.0 };
                        let input_size = if j % 4 == 1 { 4 } else { 3 };
                        // proj 3 or 2: the second also makes W_hh narrower than the input
                        let proj = if proj > 0 && i.is_multiple_of(3) { 2 } else { proj };
                        let act = Nonlinearity::Tanh;
                        let case = Case {
                            cell,
                            proj,
                            layers,
                            act,
                            bias,
                            bidirectional,
                            batch,
                            seq_len,
                            head,
                            dropout,
                            input_size,
                            residual: false,
                        };
                        cases.push(case);
                        i += 1;
                    }
                }
            }
        }
        // one deep configuration per cell: 3 layers, bidirectional, dropout, a head
        let case = Case {
            cell,
            proj,
            layers: 3,
            act: Nonlinearity::Tanh,
            bias: true,
            bidirectional: true,
            batch: 2,
            seq_len: 3,
            head: Some(Readout::EveryStep),
            dropout: 0.3,
            input_size: 3,
            residual: false,
        };
        cases.push(case);
    }
    cases
}

/// The IndRNN grid of the header comment.
fn indrnn_grid() -> Vec<Case> {
    let mut cases = Vec::new();
    let mut i = 0usize;
    let sizes = [(1, 4), (3, 1), (3, 4), (2, 3)];
    for act in [Nonlinearity::Relu, Nonlinearity::Tanh, Nonlinearity::Sigmoid] {
        for layers in 1..=2 {
            for bias in [true, false] {
                for bidirectional in [false, true] {
                    for (batch, seq_len) in sizes {
                        let j = i + i / 4;
                        let head = [None, Some(Readout::EveryStep), Some(Readout::LastStep)][i % 3];
                        let dropout = if layers > 1 && j.is_multiple_of(2) { 0.3 } else { 0.0 };
                        let input_size = if j % 4 == 1 { 4 } else { 3 };
                        let cell = Cell::IndRnn;
                        let case = Case {
                            cell,
                            proj: 0,
                            layers,
                            act,
                            bias,
                            bidirectional,
                            batch,
                            seq_len,
                            head,
                            dropout,
                            input_size,
                            residual: false,
                        };
                        cases.push(case);
                        i += 1;
                    }
                }
            }
        }
        let case = Case {
            cell: Cell::IndRnn,
            proj: 0,
            layers: 3,
            act,
            bias: true,
            bidirectional: true,
            batch: 2,
            seq_len: 3,
            head: Some(Readout::EveryStep),
            dropout: 0.3,
            input_size: 3,
            residual: false,
        };
        cases.push(case);
    }
    cases
}

/// The residual grid of the header comment: every layer whose input is as wide as its output
/// adds that input.
fn residual_grid() -> Vec<Case> {
    let cells = [
        (Cell::Rnn, Nonlinearity::Tanh, 0),
        (Cell::Rnn, Nonlinearity::Relu, 0),
        (Cell::Lstm, Nonlinearity::Tanh, 0),
        (Cell::Lstm, Nonlinearity::Tanh, 3),
        (Cell::Gru, Nonlinearity::Tanh, 0),
        (Cell::IndRnn, Nonlinearity::Relu, 0),
        (Cell::IndRnn, Nonlinearity::Tanh, 0),
    ];
    let mut cases = Vec::new();
    let mut i = 0usize;
    for (cell, act, proj) in cells {
        for layers in 1..=3 {
            for bidirectional in [false, true] {
                // the first layer residual too when its input is as wide as its output
                let width = (if proj > 0 { proj } else { 4 }) * if bidirectional { 2 } else { 1 };
                for input_size in [3, width] {
                    let (batch, seq_len) = [(2, 3), (3, 4), (1, 4)][i % 3];
                    let case = Case {
                        cell,
                        proj,
                        layers,
                        act,
                        bias: i % 5 != 2,
                        bidirectional,
                        batch,
                        seq_len,
                        head: [None, Some(Readout::EveryStep), Some(Readout::LastStep)][i % 3],
                        dropout: if layers > 1 && i % 4 < 2 { 0.3 } else { 0.0 },
                        input_size,
                        residual: true,
                    };
                    cases.push(case);
                    i += 1;
                }
            }
        }
    }
    cases
}

struct Problem {
    model: Model<f64>,
    readout: Readout,
    x: Array3<f64>,
    h0: Array3<f64>,
    /// An LSTM's c0, else `None`.
    c0: Option<Array3<f64>>,
    r: Array3<f64>,
    s: Array3<f64>,
    /// The weight of c_n in the loss (LSTM).
    u: Option<Array3<f64>>,
    dropout_seed: u64,
}

fn normal3(shape: (usize, usize, usize), rng: &mut ChaCha8Rng) -> Array3<f64> {
    // a sum of uniforms: a smooth, normal-ish spread without another dependency
    Array3::from_shape_simple_fn(shape, || (0..3).map(|_| rng.random::<f64>() - 0.5).sum::<f64>())
}

impl Problem {
    fn new(c: Case, seed: u64) -> Self {
        let (input_size, hidden, out) = (c.input_size, 4, 2);
        let rnn = RnnConfig::new(input_size, hidden)
            .with_cell(c.cell)
            .with_proj_size(c.proj)
            .with_num_layers(c.layers)
            .with_nonlinearity(c.act)
            .with_bias(c.bias)
            .with_bidirectional(c.bidirectional)
            .with_dropout(c.dropout)
            .with_residual(c.residual);
        let config = ModelConfig { rnn: rnn.clone(), output_size: c.head.map(|_| out) };
        // scale weights up so that tanh/sigmoid are exercised off their linear range
        let mut model = Model::<f64>::new(config, Init::GlorotUniform, seed).unwrap();
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xabcdef);
        for (_, mut t) in model.named_tensors_mut() {
            t.mapv_inplace(|v| v + 0.2 * (rng.random::<f64>() - 0.5));
        }
        let (dirs, state) = (rnn.num_directions(), rnn.state_size());
        let n = c.layers * dirs;
        let x = normal3((c.seq_len, c.batch, input_size), &mut rng);
        let h0 = normal3((n, c.batch, state), &mut rng);
        let steps = if c.head == Some(Readout::LastStep) { 1 } else { c.seq_len };
        let width = if c.head.is_some() { out } else { dirs * state };
        let r = normal3((steps, c.batch, width), &mut rng);
        let s = normal3((n, c.batch, state), &mut rng);
        let lstm = c.cell == Cell::Lstm;
        let c0 = lstm.then(|| normal3((n, c.batch, hidden), &mut rng));
        let u = lstm.then(|| normal3((n, c.batch, hidden), &mut rng));
        Problem { model, readout: c.head.unwrap_or_default(), x, h0, c0, r, s, u, dropout_seed: seed + 99 }
    }

    /// L = Σ R ⊙ y + Σ S ⊙ h_n + Σ U ⊙ c_n, with the same dropout masks on every call.
    fn loss(&self, model: &Model<f64>, x: &Array3<f64>, h0: &Array3<f64>, c0: Option<&Array3<f64>>) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(self.dropout_seed);
        let c0 = c0.map(|c| c.view());
        let trace = model.forward_train_states(x.view(), Some(h0.view()), c0, self.readout, &mut rng).unwrap();
        let cell = match (trace.c_n(), &self.u) {
            (Some(c_n), Some(u)) => (&c_n * u).sum(),
            _ => 0.0,
        };
        (&trace.y() * &self.r).sum() + (&trace.h_n() * &self.s).sum() + cell
    }
}

/// Five-point central difference of `f` at 0: `f'(0)` with error O(h⁴).
fn stencil(h: f64, f: impl Fn(f64) -> f64) -> f64 {
    (-f(2.0 * h) + 8.0 * f(h) - 8.0 * f(-h) + f(-2.0 * h)) / (12.0 * h)
}

fn rel_err(a: f64, n: f64) -> f64 {
    (a - n).abs() / a.abs().max(n.abs()).max(1e-8)
}

/// What a check saw: entries compared, the worst relative error among entries whose gradient
/// is above the rounding floor, and how many were at the floor.
#[derive(Clone, Copy, Debug, Default)]
struct Stats {
    entries: usize,
    worst_rel: f64,
    near_zero: usize,
}

impl Stats {
    fn merge(self, o: Stats) -> Stats {
        Stats {
            entries: self.entries + o.entries,
            worst_rel: self.worst_rel.max(o.worst_rel),
            near_zero: self.near_zero + o.near_zero,
        }
    }
}

/// Compares every analytic entry with the numeric derivative `numeric(i)`.
fn check(what: &str, case: &Case, analytic: ndarray::ArrayViewD<'_, f64>, numeric: impl Fn(usize) -> f64) -> Stats {
    let mut stats = Stats::default();
    for (i, &a) in analytic.iter().enumerate() {
        let n = numeric(i);
        let e = rel_err(a, n);
        assert!(
            e < REL_TOL || (a - n).abs() < ABS_FLOOR,
            "{case:?}: {what}[{i}] analytic {a:e} vs numeric {n:e} (rel {e:e})"
        );
        stats.entries += 1;
        if a.abs().max(n.abs()) < 1e4 * ABS_FLOOR {
            stats.near_zero += 1;
        } else {
            stats.worst_rel = stats.worst_rel.max(e);
        }
    }
    stats
}

fn with_entry(a: &Array3<f64>, i: usize, d: f64) -> Array3<f64> {
    let mut a = a.clone();
    a.as_slice_mut().expect("standard layout")[i] += d;
    a
}

fn run_case(c: Case, seed: u64) -> Stats {
    let p = Problem::new(c, seed);
    // relu's kink: a smaller step keeps the stencil on one side of it (and on one linear piece
    // the loss is a polynomial of degree <= seq_len in any one entry, which the stencil
    // differentiates exactly)
    let h = if c.act == Nonlinearity::Relu { 1e-5 } else { 1e-4 };
    let mut rng = ChaCha8Rng::seed_from_u64(p.dropout_seed);
    let c0 = p.c0.as_ref().map(|c| c.view());
    let trace = p.model.forward_train_states(p.x.view(), Some(p.h0.view()), c0, p.readout, &mut rng).unwrap();
    let u = p.u.as_ref().map(|u| u.view());
    let grads = p.model.backward_states(&trace, p.r.view(), Some(p.s.view()), u).unwrap();
    // the backward pass that works in the trace's memory computes the same numbers (both
    // without the c_n term: backward_owned takes no dL/dc_n)
    let kept = p.model.backward(&trace, p.r.view(), Some(p.s.view())).unwrap();
    let consumed = p.model.backward_owned(trace, p.r.view(), Some(p.s.view()), true).unwrap();
    same_gradients(&p.model, &kept, &consumed, &c);
    let mut worst = Stats::default();
    let c0 = p.c0.as_ref();

    // every parameter, by name
    let named = grads.named_tensors(p.model.rnn.config());
    assert_eq!(named.len(), p.model.named_tensors().len());
    for (k, (name, analytic)) in named.into_iter().enumerate() {
        assert_eq!(name, p.model.named_tensors()[k].0);
        let loss_at = |i: usize, d: f64| {
            let mut m = p.model.clone();
            m.named_tensors_mut()[k].1.as_slice_mut().expect("contiguous")[i] += d;
            p.loss(&m, &p.x, &p.h0, c0)
        };
        worst = worst.merge(check(&name, &c, analytic, |i| stencil(h, |d| loss_at(i, d))));
    }
    // the input, h0 and c0
    worst = worst.merge(check("input", &c, grads.input().expect("input gradient").into_dyn(), |i| {
        stencil(h, |d| p.loss(&p.model, &with_entry(&p.x, i, d), &p.h0, c0))
    }));
    worst = worst.merge(check("h0", &c, grads.h0().into_dyn(), |i| {
        stencil(h, |d| p.loss(&p.model, &p.x, &with_entry(&p.h0, i, d), c0))
    }));
    match (grads.c0(), c0) {
        (Some(analytic), Some(c0)) => {
            worst = worst.merge(check("c0", &c, analytic.into_dyn(), |i| {
                stencil(h, |d| p.loss(&p.model, &p.x, &p.h0, Some(&with_entry(c0, i, d))))
            }));
        }
        (None, None) => {}
        _ => panic!("{c:?}: c0 and its gradient disagree"),
    }
    worst
}

/// `a` and `b` agree to 1e-12 (relative to each tensor's largest entry), every tensor.
fn same_gradients(model: &Model<f64>, a: &ModelGrads<f64>, b: &ModelGrads<f64>, c: &Case) {
    let config = model.rnn.config();
    let mut pairs: Vec<(String, ArrayViewD<'_, f64>, ArrayViewD<'_, f64>)> = a
        .named_tensors(config)
        .into_iter()
        .zip(b.named_tensors(config))
        .map(|((name, x), (_, y))| (name, x, y))
        .collect();
    pairs.push(("input".into(), a.input().unwrap().into_dyn(), b.input().unwrap().into_dyn()));
    pairs.push(("h0".into(), a.h0().into_dyn(), b.h0().into_dyn()));
    if let (Some(x), Some(y)) = (a.c0(), b.c0()) {
        pairs.push(("c0".into(), x.into_dyn(), y.into_dyn()));
    }
    for (name, x, y) in pairs {
        assert_eq!(x.shape(), y.shape(), "{name} {c:?}");
        let scale = x.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
        let diff = x.iter().zip(y.iter()).fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
        assert!(diff <= 1e-12 * scale, "{name}: the two backward passes differ by {diff:e} in {c:?}");
    }
}

/// Checks every configuration of `cases` (there must be `count`), seeding case `i` with
/// `seed + i`, and reports the worst error.
fn check_grid(what: &str, cases: Vec<Case>, count: usize, seed: u64) {
    assert_eq!(cases.len(), count);
    let mut s = Stats::default();
    for (i, c) in cases.iter().enumerate() {
        s = s.merge(run_case(*c, seed + i as u64));
    }
    eprintln!(
        "{count} {what}, {} entries: worst relative error {:.2e} over entries with |grad| >= 1e-5; {} entries below",
        s.entries, s.worst_rel, s.near_zero
    );
    assert!(s.near_zero * 4 < s.entries, "too many vanishing gradients: the check would prove little");
}

#[test]
fn every_gradient_of_every_configuration_matches_finite_differences() {
    check_grid("configurations", grid(), 144, 1000);
}

#[test]
fn every_gradient_of_every_gated_configuration_matches_finite_differences() {
    check_grid("gated configurations", gated_grid(), 99, 5000);
}

#[test]
fn every_gradient_of_every_residual_configuration_matches_finite_differences() {
    check_grid("residual configurations", residual_grid(), 84, 13000);
}

#[test]
fn every_gradient_of_every_indrnn_configuration_matches_finite_differences() {
    check_grid("IndRNN configurations", indrnn_grid(), 99, 9000);
}
