//! How saturated each layer's activations and gates are along a trajectory: a saturated tanh or
//! sigmoid has a derivative near 0 and passes almost no gradient back; a dead ReLU unit passes
//! none at all.
//!
//! Measured per layer and direction over the first `min(B, max_batch)` sequences and every
//! step, on the plain reference's forward pass from zero initial states without dropout
//! (`jacobian::with_eval_run`). A "unit-step" is one unit at one step of one sequence.
//!
//! | cell | name | fraction of |
//! |---|---|---|
//! | Elman tanh | `tanh \|h\|>0.99` | unit-steps with `\|h\| > 0.99` |
//! | Elman sigmoid | `sigmoid h<0.01 or h>0.99` | unit-steps with `h < 0.01` or `h > 0.99` |
//! | Elman relu | `dead relu units` | units whose `h` is 0 at every step of every sequence |
//! | Elman relu | `relu h=0` | unit-steps with `h = 0` |
//! | LSTM | `gate i`, `gate f`, `gate o` | unit-steps whose gate is `< 0.01` or `> 0.99` |
//! | LSTM | `candidate \|g\|>0.99` | unit-steps with `\|g\| > 0.99` |
//! | LSTM | `tanh \|c\|>0.99` | unit-steps with `\|tanh c\| > 0.99` |
//! | GRU | `gate r`, `gate z` | unit-steps whose gate is `< 0.01` or `> 0.99` |
//! | GRU | `candidate \|n\|>0.99` | unit-steps with `\|n\| > 0.99` |
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::diagnose::saturation::saturation;
//! use rnn::{Init, Model, ModelConfig, RnnConfig};
//! let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: None }, Init::PyTorch, 0)?;
//! let x = Array3::<f64>::from_elem((5, 2, 1), 100.0); // huge inputs drive tanh to ±1
//! let sat = saturation(&model, x.view(), 2)?;
//! assert_eq!(sat[0].fractions[0].0, "tanh |h|>0.99");
//! assert!(sat[0].fractions[0].1 > 0.5);
//! # Ok::<(), rnn::Error>(())
//! ```

use ndarray::ArrayView3;
use serde::Serialize;

use super::jacobian::with_eval_run;
use crate::nn::reference::{Forward, StepsRef};
use crate::{Cell, Model, Nonlinearity, Result};

/// A tanh output counts as saturated beyond this magnitude, a sigmoid output beyond it or below
/// `1 - SATURATED`.
pub const SATURATED: f64 = 0.99;

/// The saturation of one layer-direction: named fractions in `[0, 1]`.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::diagnose::saturation::{SATURATED, saturation};
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: None }, Init::PyTorch, 0)?;
/// // inputs far outside the tanh's linear range saturate it
/// let x = Array3::<f64>::from_elem((5, 2, 1), 1e3);
/// let s = saturation(&model, x.view(), 2)?;
/// assert_eq!(s.len(), 1);
/// assert!(SATURATED < 1.0);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Saturation {
    /// The layer, from 0 at the bottom.
    pub layer: usize,
    /// The direction: 0 forward, 1 reverse.
    pub direction: usize,
    /// `(name, fraction)` pairs, in the order of the module's table (e.g.
    /// `("tanh |h|>0.99", 0.12)`, `("gate f", 0.3)`, `("dead relu units", 0.0)`).
    pub fractions: Vec<(String, f64)>,
}

/// Counts of saturated unit-steps, and of all unit-steps.
#[derive(Default)]
struct Count {
    hits: usize,
    total: usize,
}

impl Count {
    /// Counts the values of `v` for which `hit` holds.
    fn add(&mut self, v: &[f64], hit: impl Fn(f64) -> bool) {
        self.hits += v.iter().filter(|&&x| hit(x)).count();
        self.total += v.len();
    }
    fn fraction(&self) -> f64 {
        if self.total == 0 { 0.0 } else { self.hits as f64 / self.total as f64 }
    }
}

/// `|v| > 0.99` (a saturated tanh).
fn tanh_saturated(v: f64) -> bool {
    v.abs() > SATURATED
}

/// `v < 0.01` or `v > 0.99` (a saturated sigmoid).
fn sigmoid_saturated(v: f64) -> bool {
    !(1.0 - SATURATED..=SATURATED).contains(&v)
}

/// The saturation of every layer-direction (`l * D + d` order) of `model` over the first
/// `min(B, max_batch)` sequences of `x [T, B, input_size]` and all their steps, from zero
/// initial states, without dropout. The fractions are named as in the module's table.
///
/// # Errors
/// [`crate::Error::Shape`] when `x` is not `[T ≥ 1, B ≥ 1, input_size]`;
/// [`crate::Error::Config`] when `max_batch` is 0.
///
/// # Example
/// ```
/// use ndarray::Array3;
/// use rnn::diagnose::saturation::saturation;
/// use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};
///
/// let rnn = RnnConfig::new(3, 8).with_cell(Cell::Gru).with_num_layers(2);
/// let model = Model::<f64>::new(ModelConfig { rnn, output_size: None }, Init::PyTorch, 0)?;
/// let x = Array3::<f64>::ones((6, 4, 3)); // [seq_len, batch, input_size]
/// let sat = saturation(&model, x.view(), 4)?;
/// assert_eq!(sat.len(), 2);
/// let names: Vec<&str> = sat[0].fractions.iter().map(|(n, _)| n.as_str()).collect();
/// assert_eq!(names, ["gate r", "gate z", "candidate |n|>0.99"]);
/// assert!(sat[1].fractions.iter().all(|&(_, f)| (0.0..=1.0).contains(&f)));
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn saturation(model: &Model<f64>, x: ArrayView3<'_, f64>, max_batch: usize) -> Result<Vec<Saturation>> {
    with_eval_run(model, x, max_batch, saturation_of)
}

/// The saturation of every layer-direction over every sequence of a reference forward pass (as
/// [`saturation`], for a pass already run, e.g. in [`with_eval_run`]).
#[doc(hidden)] // not API: takes the test oracle's forward pass (`nn::reference`, hidden)
pub fn saturation_of(run: &Forward<'_>) -> Vec<Saturation> {
    let c = run.model().rnn.config();
    let (n, batch, _) = run.h0().dim();
    let dirs = c.num_directions();
    (0..n)
        .map(|i| {
            let fractions = match c.cell {
                Cell::Rnn | Cell::IndRnn => elman(run, i, batch, c.nonlinearity, c.hidden_size),
                Cell::Lstm => lstm(run, i, batch),
                Cell::Gru => gru(run, i, batch),
            };
            Saturation { layer: i / dirs, direction: i % dirs, fractions }
        })
        .collect()
}

/// The Elman cell's fractions for layer-direction `i`.
fn elman(run: &Forward<'_>, i: usize, batch: usize, act: Nonlinearity, hidden: usize) -> Vec<(String, f64)> {
    let mut count = Count::default();
    // alive[u]: unit u was non-zero at some step of some sequence
    let mut alive = vec![false; hidden];
    for b in 0..batch {
        let (StepsRef::Elman(steps) | StepsRef::IndRnn(steps)) = run.steps(i, b) else { continue };
        for st in steps {
            match act {
                Nonlinearity::Tanh => count.add(&st.h, tanh_saturated),
                Nonlinearity::Sigmoid => count.add(&st.h, sigmoid_saturated),
                Nonlinearity::Relu => {
                    count.add(&st.h, |v| v == 0.0);
                    alive.iter_mut().zip(&st.h).for_each(|(a, &v)| *a |= v != 0.0);
                }
            }
        }
    }
    match act {
        Nonlinearity::Tanh => vec![("tanh |h|>0.99".into(), count.fraction())],
        Nonlinearity::Sigmoid => vec![("sigmoid h<0.01 or h>0.99".into(), count.fraction())],
        Nonlinearity::Relu => {
            let dead = alive.iter().filter(|&&a| !a).count() as f64 / hidden as f64;
            vec![("dead relu units".into(), dead), ("relu h=0".into(), count.fraction())]
        }
    }
}

/// The LSTM's fractions for layer-direction `i`.
fn lstm(run: &Forward<'_>, i: usize, batch: usize) -> Vec<(String, f64)> {
    let mut counts: [Count; 5] = Default::default();
    for b in 0..batch {
        let StepsRef::Lstm(steps) = run.steps(i, b) else { continue };
        for st in steps {
            counts[0].add(&st.i, sigmoid_saturated);
            counts[1].add(&st.f, sigmoid_saturated);
            counts[2].add(&st.o, sigmoid_saturated);
            counts[3].add(&st.g, tanh_saturated);
            counts[4].add(&st.c, |c| tanh_saturated(c.tanh()));
        }
    }
    let names = ["gate i", "gate f", "gate o", "candidate |g|>0.99", "tanh |c|>0.99"];
    names.iter().zip(&counts).map(|(name, c)| (name.to_string(), c.fraction())).collect()
}

/// The GRU's fractions for layer-direction `i`.
fn gru(run: &Forward<'_>, i: usize, batch: usize) -> Vec<(String, f64)> {
    let mut counts: [Count; 3] = Default::default();
    for b in 0..batch {
        let StepsRef::Gru(steps) = run.steps(i, b) else { continue };
        for st in steps {
            counts[0].add(&st.r, sigmoid_saturated);
            counts[1].add(&st.z, sigmoid_saturated);
            counts[2].add(&st.n, tanh_saturated);
        }
    }
    let names = ["gate r", "gate z", "candidate |n|>0.99"];
    names.iter().zip(&counts).map(|(name, c)| (name.to_string(), c.fraction())).collect()
}

#[cfg(test)]
mod tests {
    use ndarray::{Array1, Array3};

    use super::*;
    use crate::{Error, Init, ModelConfig, RnnConfig};

    fn model(rnn: RnnConfig) -> Model<f64> {
        Model::<f64>::new(ModelConfig { rnn, output_size: None }, Init::PyTorch, 7).unwrap()
    }

    /// Inputs of magnitude about 1 with both signs.
    fn input(seq_len: usize, batch: usize, width: usize) -> Array3<f64> {
        Array3::from_shape_fn((seq_len, batch, width), |(t, b, k)| 0.5 + ((t * 13 + b * 7 + k * 3) as f64).sin())
    }

    /// Scales `W_ih`, `W_hh` and both biases of every layer-direction.
    fn scale(m: &mut Model<f64>, w_ih: f64, w_hh: f64, bias: f64) {
        for p in m.rnn.layers_mut() {
            p.weight_ih *= w_ih;
            p.weight_hh *= w_hh;
            for b in [&mut p.bias_ih, &mut p.bias_hh].into_iter().flatten() {
                *b *= bias;
            }
        }
    }

    fn fractions(s: &Saturation) -> Vec<f64> {
        s.fractions.iter().map(|&(_, f)| f).collect()
    }

    #[test]
    fn huge_input_weights_saturate_tanh_and_sigmoid() {
        for act in [Nonlinearity::Tanh, Nonlinearity::Sigmoid] {
            let mut m = model(RnnConfig::new(3, 6).with_nonlinearity(act).with_bidirectional(true));
            // x = 1 and W_ih = ±1e4: |a| ≥ 1e4 minus what W_hh h and the biases add
            for p in m.rnn.layers_mut() {
                p.weight_ih.mapv_inplace(|w| 1e4 * w.signum());
            }
            let x = Array3::from_elem((5, 3, 3), 1.0);
            for s in saturation(&m, x.view(), 8).unwrap() {
                assert_eq!(fractions(&s), [1.0], "{act:?}");
            }
        }
    }

    #[test]
    fn zero_weights_saturate_nothing() {
        for cell in [Cell::Rnn, Cell::Lstm, Cell::Gru] {
            let mut m = model(RnnConfig::new(3, 5).with_cell(cell).with_num_layers(2));
            scale(&mut m, 0.0, 0.0, 0.0);
            let sat = saturation(&m, input(4, 2, 3).view(), 8).unwrap();
            assert_eq!(sat.len(), 2);
            for s in sat {
                assert!(fractions(&s).iter().all(|&f| f == 0.0), "{cell}: {s:?}");
            }
        }
    }

    #[test]
    fn relu_with_negative_bias_is_all_dead() {
        let mut m = model(RnnConfig::new(3, 5).with_nonlinearity(Nonlinearity::Relu));
        scale(&mut m, 0.0, 0.0, 0.0);
        m.rnn.layers_mut()[0].bias_hh = Some(Array1::from_elem(5, -1.0));
        let s = &saturation(&m, input(4, 3, 3).view(), 8).unwrap()[0];
        assert_eq!(s.fractions, [("dead relu units".to_string(), 1.0), ("relu h=0".to_string(), 1.0)]);
        // positive bias on units 0 and 1 only: 3 of 5 dead
        m.rnn.layers_mut()[0].bias_hh = Some(Array1::from(vec![1.0, 1.0, -1.0, -1.0, -1.0]));
        let s = &saturation(&m, input(4, 3, 3).view(), 8).unwrap()[0];
        assert_eq!(fractions(s), [0.6, 0.6]);
    }

    #[test]
    fn gates_saturate_by_their_biases() {
        // LSTM, H = 4: zero weights; biases put i at σ(10), f at σ(-10), g at tanh(0.1), o at σ(0):
        // c_t = i g + f c_{t-1} stays near 0.1, so only i and f saturate
        let mut m = model(RnnConfig::new(2, 4).with_cell(Cell::Lstm));
        scale(&mut m, 0.0, 0.0, 0.0);
        let bias: Vec<f64> = [10.0, -10.0, 0.1, 0.0].iter().flat_map(|&v| [v; 4]).collect();
        m.rnn.layers_mut()[0].bias_ih = Some(Array1::from(bias));
        let s = &saturation(&m, input(3, 2, 2).view(), 8).unwrap()[0];
        assert_eq!(fractions(s), [1.0, 1.0, 0.0, 0.0, 0.0]);
        // g at tanh(10): the candidate and then tanh c saturate too (c ≈ 1 from the first step)
        let bias: Vec<f64> = [10.0, -10.0, 10.0, 0.0].iter().flat_map(|&v| [v; 4]).collect();
        m.rnn.layers_mut()[0].bias_ih = Some(Array1::from(bias));
        let s = &saturation(&m, input(3, 2, 2).view(), 8).unwrap()[0];
        // |tanh c| = tanh(σ(10) tanh(10)) ≈ 0.76: not saturated
        assert_eq!(fractions(s), [1.0, 1.0, 0.0, 1.0, 0.0]);
        // GRU, H = 4: zero weights; r at σ(-20), z at σ(0.5), n at tanh(5) on half the units
        let mut m = model(RnnConfig::new(2, 4).with_cell(Cell::Gru));
        scale(&mut m, 0.0, 0.0, 0.0);
        let bias: Vec<f64> =
            [[-20.0; 4], [0.5; 4], [5.0, 5.0, 0.0, 0.0]].iter().flat_map(|v| v.iter().copied()).collect();
        m.rnn.layers_mut()[0].bias_ih = Some(Array1::from(bias));
        let s = &saturation(&m, input(3, 2, 2).view(), 8).unwrap()[0];
        assert_eq!(fractions(s), [1.0, 0.0, 0.5]);
        assert_eq!(s.fractions[2].0, "candidate |n|>0.99");
    }

    #[test]
    fn lstm_cell_state_saturates() {
        // i = σ(20), f = σ(20), g = tanh(20): c grows by about 1 a step, tanh c > 0.99 from c = 2.65
        let mut m = model(RnnConfig::new(2, 3).with_cell(Cell::Lstm).with_proj_size(2));
        scale(&mut m, 0.0, 0.0, 0.0);
        m.rnn.layers_mut()[0].bias_ih = Some(Array1::from_elem(12, 20.0));
        let s = &saturation(&m, input(6, 1, 2).view(), 8).unwrap()[0];
        // c_t ≈ t + 1: steps 2, 3, 4, 5 of 6 are saturated
        assert_eq!(fractions(s), [1.0, 1.0, 1.0, 1.0, 2.0 / 3.0]);
    }

    #[test]
    fn bad_input_is_an_error_value() {
        let m = model(RnnConfig::new(3, 5));
        assert!(matches!(saturation(&m, input(2, 2, 4).view(), 8), Err(Error::Shape { .. })));
        assert!(matches!(saturation(&m, input(2, 2, 3).view(), 0), Err(Error::Config(_))));
    }
}
