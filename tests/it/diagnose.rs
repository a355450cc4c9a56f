//! `rnn::diagnose::jacobian` against central finite differences: for every layer, direction,
//! sequence and step of a trajectory, the analytic step Jacobian `∂s_t/∂s_{t-1}` equals the
//! one measured by perturbing each entry of `s_{t-1}` by ±1e-6 and re-running that ONE step
//! with the reference's cell (`reference::{elman, lstm, gru}::forward` over a one-step
//! sequence), entry by entry to 1e-7, and the batch means of the norms agree to 1e-7 relative.
//! Cells: Elman tanh, relu and sigmoid, LSTM with and without `proj_size`, GRU; one and two
//! layers, both directions, with and without dropout in the configuration (which must be off).

use ndarray::{Array2, Array3, s};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rnn::diagnose::jacobian::{step_jacobian, step_jacobian_norms, with_eval_run};
use rnn::diagnose::spectral::largest_singular_value;
use rnn::nn::reference::{self, Forward, StepsRef};
use rnn::{Cell, Init, Model, ModelConfig, Nonlinearity, RnnConfig};

const EPS: f64 = 1e-6;
const TOL: f64 = 1e-7;

/// The state after one step of layer-direction `i` from `(h_prev, c_prev)` with input `x`:
/// `h`, or `(h, c)` for an LSTM.
fn one_step(model: &Model<f64>, i: usize, x: &[f64], h_prev: &[f64], c_prev: &[f64]) -> Vec<f64> {
    let c = model.rnn.config();
    let p = &model.rnn.layers()[i];
    let xs = [x.to_vec()];
    match c.cell {
        Cell::Rnn => reference::elman::forward(p, c.nonlinearity, &xs, h_prev).remove(0).h,
        Cell::Lstm => {
            let st = reference::lstm::forward(p, &xs, h_prev, c_prev).remove(0);
            [st.h, st.c].concat()
        }
        Cell::Gru => reference::gru::forward(p, &xs, h_prev).remove(0).h,
        Cell::IndRnn => reference::indrnn::forward(p, c.nonlinearity, &xs, h_prev).remove(0).h,
        other => panic!("no reference step for {other}"),
    }
}

/// `∂s_t/∂s_{t-1}` by central differences of one reference step, at layer-direction `i`,
/// batch row `b`, time step `t` of `run`.
fn numeric_jacobian(run: &Forward<'_>, i: usize, b: usize, t: usize) -> Array2<f64> {
    let model = run.model();
    let c = model.rnn.config();
    let (dirs, seq_len) = (c.num_directions(), run.layer_input(0).shape()[0]);
    let k = if i % dirs == 1 { seq_len - 1 - t } else { t };
    let x = run.layer_input(i / dirs).slice(s![t, b, ..]).to_vec();
    // the state before the step: the run's initial state, or the one the step before left
    let (mut h, mut cc) = (run.h0().slice(s![i, b, ..]).to_vec(), Vec::new());
    if let Some(c0) = run.c0() {
        cc = c0.slice(s![i, b, ..]).to_vec();
    }
    if k > 0 {
        match run.steps(i, b) {
            StepsRef::Elman(st) | StepsRef::IndRnn(st) => h.clone_from(&st[k - 1].h),
            StepsRef::Gru(st) => h.clone_from(&st[k - 1].h),
            StepsRef::Lstm(st) => (h, cc) = (st[k - 1].h.clone(), st[k - 1].c.clone()),
        }
    }
    let prev = [h.clone(), cc.clone()].concat();
    let width = prev.len();
    let mut j = Array2::zeros((width, width));
    for col in 0..width {
        let at = |delta: f64| {
            let mut p = prev.clone();
            p[col] += delta;
            one_step(model, i, &x, &p[..h.len()], &p[h.len()..])
        };
        let (plus, minus) = (at(EPS), at(-EPS));
        for r in 0..width {
            j[[r, col]] = (plus[r] - minus[r]) / (2.0 * EPS);
        }
    }
    j
}

/// A model with its recurrent weights scaled by `gain` (to leave the linear regime).
fn model(rnn: RnnConfig, gain: f64, seed: u64) -> Model<f64> {
    let mut m = Model::<f64>::new(ModelConfig { rnn, output_size: Some(2) }, Init::PyTorch, seed).expect("valid");
    for p in m.rnn.layers_mut() {
        p.weight_hh *= gain;
    }
    m
}

/// Checks every Jacobian of `model` over `x` against finite differences; returns the largest
/// entry error and the largest relative error of the norms' batch means.
fn check(name: &str, model: &Model<f64>, x: &Array3<f64>, max_batch: usize) -> (f64, f64) {
    let norms = step_jacobian_norms(model, x.view(), max_batch).expect("valid input");
    let (seq_len, batch) = (x.shape()[0], x.shape()[1].min(max_batch));
    let (worst_entry, fd_norms) = with_eval_run(model, x.view(), max_batch, |run| {
        let n = run.h0().shape()[0];
        let mut fd_norms = Array2::<f64>::zeros((n, seq_len));
        let mut worst = 0.0f64;
        for i in 0..n {
            for b in 0..batch {
                for t in 0..seq_len {
                    let analytic = step_jacobian(run, i, b, t).expect("in range");
                    let numeric = numeric_jacobian(run, i, b, t);
                    assert_eq!(analytic.dim(), numeric.dim(), "{name}");
                    for (a, n) in analytic.iter().zip(&numeric) {
                        let err = (a - n).abs();
                        assert!(err <= TOL, "{name}: layer-direction {i}, row {b}, step {t}: {a} vs {n}");
                        worst = worst.max(err);
                    }
                    fd_norms[[i, t]] += largest_singular_value(numeric.view()) / batch as f64;
                }
            }
        }
        (worst, fd_norms)
    })
    .expect("valid input");
    assert_eq!(norms.dim(), fd_norms.dim());
    let mut worst_norm = 0.0f64;
    for (a, n) in norms.iter().zip(&fd_norms) {
        let rel = (a - n).abs() / n.abs().max(1e-8);
        assert!(rel <= TOL, "{name}: norm {a} vs {n}");
        worst_norm = worst_norm.max(rel);
    }
    println!("{name}: max |J - J_fd| = {worst_entry:.2e}, max norm rel. error = {worst_norm:.2e}");
    (worst_entry, worst_norm)
}

fn input(seq_len: usize, batch: usize, width: usize, seed: u64) -> Array3<f64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    Array3::from_shape_fn((seq_len, batch, width), |_| rng.random_range(-1.5..1.5))
}

#[test]
fn jacobians_equal_finite_differences_for_every_cell() {
    let elman = |act| RnnConfig::new(3, 5).with_nonlinearity(act);
    let cases = [
        ("Elman tanh", elman(Nonlinearity::Tanh), 2.0),
        ("Elman relu, bidirectional", elman(Nonlinearity::Relu).with_bidirectional(true), 1.5),
        ("Elman sigmoid, 2 layers", elman(Nonlinearity::Sigmoid).with_num_layers(2), 3.0),
        (
            "Elman tanh, 2 layers, bidirectional",
            elman(Nonlinearity::Tanh).with_num_layers(2).with_bidirectional(true),
            2.0,
        ),
        ("LSTM", RnnConfig::new(3, 4).with_cell(Cell::Lstm), 2.0),
        (
            "LSTM, 2 layers, bidirectional",
            RnnConfig::new(3, 4).with_cell(Cell::Lstm).with_num_layers(2).with_bidirectional(true),
            2.0,
        ),
        ("LSTM proj 2, 2 layers", RnnConfig::new(3, 4).with_cell(Cell::Lstm).with_proj_size(2).with_num_layers(2), 2.0),
        (
            "LSTM proj 3, bidirectional, no bias",
            RnnConfig::new(3, 5).with_cell(Cell::Lstm).with_proj_size(3).with_bidirectional(true).with_bias(false),
            2.0,
        ),
        ("GRU", RnnConfig::new(3, 5).with_cell(Cell::Gru), 2.0),
        (
            "IndRNN tanh, 2 layers, bidirectional",
            RnnConfig::new(3, 4)
                .with_cell(Cell::IndRnn)
                .with_nonlinearity(Nonlinearity::Tanh)
                .with_num_layers(2)
                .with_bidirectional(true),
            2.0,
        ),
        (
            "GRU, 2 layers, bidirectional",
            RnnConfig::new(3, 4).with_cell(Cell::Gru).with_num_layers(2).with_bidirectional(true),
            2.0,
        ),
        (
            "GRU, 2 layers, dropout 0.5 (off)",
            RnnConfig::new(3, 4).with_cell(Cell::Gru).with_num_layers(2).with_dropout(0.5),
            2.0,
        ),
        (
            "LSTM, 2 layers, dropout 0.5 (off)",
            RnnConfig::new(3, 4).with_cell(Cell::Lstm).with_num_layers(2).with_dropout(0.5),
            2.0,
        ),
    ];
    let (mut entry, mut norm) = (0.0f64, 0.0f64);
    for (seed, (name, rnn, gain)) in cases.into_iter().enumerate() {
        let x = input(4, 3, 3, seed as u64);
        let (e, n) = check(name, &model(rnn, gain, seed as u64), &x, 2);
        (entry, norm) = (entry.max(e), norm.max(n));
    }
    println!("all cells: max |J - J_fd| = {entry:.2e}, max norm rel. error = {norm:.2e}");
}

#[test]
fn reverse_direction_reads_time_backwards() {
    // the reverse direction of a bidirectional layer on x is the forward direction on x reversed
    let rnn = RnnConfig::new(2, 4).with_cell(Cell::Gru).with_bidirectional(true);
    let bi = model(rnn.clone(), 2.0, 11);
    let mut fwd = model(rnn.with_bidirectional(false), 1.0, 11);
    fwd.rnn.layers_mut()[0] = bi.rnn.layers()[1].clone();
    let x = input(5, 2, 2, 3);
    let reversed = x.slice(s![..;-1, .., ..]).to_owned();
    let a = step_jacobian_norms(&bi, x.view(), 2).expect("valid");
    let b = step_jacobian_norms(&fwd, reversed.view(), 2).expect("valid");
    for t in 0..5 {
        assert!((a[[1, t]] - b[[0, 4 - t]]).abs() < 1e-12, "step {t}");
    }
}

#[test]
fn irnn_with_positive_activations_has_jacobian_norm_one() {
    let rnn = RnnConfig::new(3, 6).with_nonlinearity(Nonlinearity::Relu).with_num_layers(2);
    let mut m = Model::<f64>::new(ModelConfig { rnn, output_size: None }, Init::Identity, 0).expect("valid");
    // positive input weights and inputs: every pre-activation is positive, so relu' = 1, J = W_hh = I
    for p in m.rnn.layers_mut() {
        p.weight_ih.mapv_inplace(|w| w.abs() + 0.01);
    }
    let x = input(6, 3, 3, 1).mapv(f64::abs);
    let norms = step_jacobian_norms(&m, x.view(), 3).expect("valid");
    assert_eq!(norms.dim(), (2, 6));
    assert!(norms.iter().all(|&n| (n - 1.0).abs() < 1e-12), "{norms}");
}
