//! The recurrent cell a layer runs (PyTorch's `RNNBase.mode`) and the element-wise gate math of
//! the gated cells, shared by the sequence forward pass and the one-step [`crate::Stepper`].
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::{Cell, Init, Model, ModelConfig, RnnConfig};
//! let cell: Cell = "gru".parse()?; // as on the command line
//! let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4).with_cell(cell), output_size: None }, Init::PyTorch, 0)?;
//! let (y, _) = model.forward(Array3::zeros((5, 1, 2)).view(), None)?;
//! assert_eq!(y.dim(), (5, 1, 4));
//! # Ok::<(), rnn::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::compute::pool;
use crate::{Error, Float, Nonlinearity};

/// Which recurrence a layer computes.
///
/// | cell | gates `G` | state | equations (PyTorch's) |
/// |---|---|---|---|
/// | `Rnn` | 1 | `h` | `h' = act(W_ih x + b_ih + W_hh h + b_hh)` |
/// | `Lstm` | 4 (i, f, g, o) | `h`, `c` | `c' = f ⊙ c + i ⊙ g`, `h' = o ⊙ tanh(c')` (then `W_hr` with `proj_size`) |
/// | `Gru` | 3 (r, z, n) | `h` | `n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))`, `h' = (1 - z) ⊙ n + z ⊙ h` |
/// | `IndRnn` | 1 | `h` | `h' = act(W_ih x + b_ih + u ⊙ h + b_hh)` (Li et al. 2018) |
///
/// `W_ih` is `[G * hidden_size, input]` and `W_hh` `[G * hidden_size, hidden_size]` (or
/// `[G * hidden_size, proj_size]`), the gates stacked in the order above, as in PyTorch. The
/// IndRNN's recurrent weight is the vector `u` `[hidden_size]` (each unit sees only its own
/// previous state), stored as `weight_hh` like the reference PyTorch IndRNN modules store it.
///
/// # Example
/// ```
/// use rnn::{Cell, Init, Rnn, RnnConfig};
/// let gru = Rnn::<f32>::new(RnnConfig::new(3, 4).with_cell("gru".parse::<Cell>()?), Init::PyTorch, 0)?;
/// assert_eq!(gru.layers()[0].weight_hh.dim(), (3 * 4, 4)); // 3 gate blocks
/// assert_eq!(Cell::Lstm.to_string(), "lstm");
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Cell {
    /// The Elman cell (`torch.nn.RNN`), its activation given by [`Nonlinearity`].
    #[default]
    Rnn,
    /// Long short-term memory (`torch.nn.LSTM`).
    Lstm,
    /// Gated recurrent unit (`torch.nn.GRU`).
    Gru,
    /// The independently recurrent cell (IndRNN, Li et al. 2018): an Elman cell whose recurrent
    /// weight is diagonal, its activation given by [`Nonlinearity`] (relu by default, as in the
    /// paper). PyTorch has no module for it.
    IndRnn,
}

impl Cell {
    /// The number of gate blocks stacked in `W_ih` and `W_hh`.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// assert_eq!((Cell::Rnn.gates(), Cell::Gru.gates(), Cell::Lstm.gates()), (1, 3, 4));
    /// let lstm = Rnn::<f32>::new(RnnConfig::new(2, 4).with_cell(Cell::Lstm), Init::PyTorch, 0)?;
    /// assert_eq!(lstm.layers()[0].weight_ih.dim(), (Cell::Lstm.gates() * 4, 2));
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn gates(self) -> usize {
        match self {
            Cell::Rnn | Cell::IndRnn => 1,
            Cell::Lstm => 4,
            Cell::Gru => 3,
        }
    }

    /// The name on the command line: `rnn`, `lstm`, `gru`, `indrnn`.
    ///
    /// # Example
    /// ```
    /// use rnn::Cell;
    /// assert_eq!(Cell::IndRnn.name(), "indrnn");
    /// assert_eq!(Cell::IndRnn.name().parse::<Cell>()?, Cell::IndRnn);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Cell::Rnn => "rnn",
            Cell::Lstm => "lstm",
            Cell::Gru => "gru",
            Cell::IndRnn => "indrnn",
        }
    }

    /// Whether the cell's recurrence takes a [`Nonlinearity`] (the Elman cell and the IndRNN;
    /// the gated cells' activations are fixed).
    ///
    /// # Example
    /// ```
    /// use rnn::Cell;
    /// assert!(Cell::Rnn.has_nonlinearity() && Cell::IndRnn.has_nonlinearity());
    /// assert!(!Cell::Lstm.has_nonlinearity()); // sigmoid gates and tanh, fixed
    /// ```
    pub fn has_nonlinearity(self) -> bool {
        matches!(self, Cell::Rnn | Cell::IndRnn)
    }

    /// The activation a cell gets when none is asked for: tanh (PyTorch's `nn.RNN` default),
    /// relu for the IndRNN (the paper's).
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Nonlinearity, RnnConfig};
    /// assert_eq!(Cell::Rnn.default_nonlinearity(), Nonlinearity::Tanh);
    /// assert_eq!(Cell::IndRnn.default_nonlinearity(), Nonlinearity::Relu);
    /// // a configuration built for a cell starts from that cell's default
    /// assert_eq!(RnnConfig::new(1, 4).with_cell(Cell::IndRnn).nonlinearity, Nonlinearity::Relu);
    /// ```
    pub fn default_nonlinearity(self) -> Nonlinearity {
        match self {
            Cell::IndRnn => Nonlinearity::Relu,
            _ => Nonlinearity::Tanh,
        }
    }

    /// PyTorch's `mode` string (`RNN_TANH`, `RNN_RELU`, `LSTM`, `GRU`; `RNN_SIGMOID` for the
    /// sigmoid Elman cell, which PyTorch lacks, and `INDRNN` for the IndRNN, whose activation
    /// the model file's `nonlinearity` key holds).
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Nonlinearity};
    /// assert_eq!(Cell::Rnn.mode(Nonlinearity::Relu), "RNN_RELU");
    /// assert_eq!(Cell::Lstm.mode(Nonlinearity::Tanh), "LSTM");
    /// assert_eq!(Cell::from_mode("RNN_RELU")?, (Cell::Rnn, Some(Nonlinearity::Relu)));
    /// assert_eq!((Cell::Gru.gates(), Cell::Gru.name(), Cell::Gru.has_nonlinearity()), (3, "gru", false));
    /// assert_eq!(Cell::IndRnn.default_nonlinearity(), Nonlinearity::Relu);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn mode(self, nonlinearity: Nonlinearity) -> &'static str {
        match (self, nonlinearity) {
            (Cell::Rnn, Nonlinearity::Tanh) => "RNN_TANH",
            (Cell::Rnn, Nonlinearity::Relu) => "RNN_RELU",
            (Cell::Rnn, Nonlinearity::Sigmoid) => "RNN_SIGMOID",
            (Cell::Lstm, _) => "LSTM",
            (Cell::Gru, _) => "GRU",
            (Cell::IndRnn, _) => "INDRNN",
        }
    }

    /// Parses a `mode` string: the cell and, for the Elman cell, its activation.
    ///
    /// # Errors
    /// [`Error::Config`] for an unknown mode.
    ///
    /// # Example
    /// ```
    /// use rnn::Cell;
    /// assert_eq!(Cell::from_mode("GRU")?, (Cell::Gru, None));
    /// assert!(Cell::from_mode("TRANSFORMER").is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn from_mode(mode: &str) -> crate::Result<(Cell, Option<Nonlinearity>)> {
        Ok(match mode {
            "RNN_TANH" => (Cell::Rnn, Some(Nonlinearity::Tanh)),
            "RNN_RELU" => (Cell::Rnn, Some(Nonlinearity::Relu)),
            "RNN_SIGMOID" => (Cell::Rnn, Some(Nonlinearity::Sigmoid)),
            "LSTM" => (Cell::Lstm, None),
            "GRU" => (Cell::Gru, None),
            "INDRNN" => (Cell::IndRnn, None),
            other => {
                return Err(Error::Config(format!(
                    "unknown mode `{other}` (expected RNN_TANH, RNN_RELU, RNN_SIGMOID, LSTM, GRU or INDRNN)"
                )));
            }
        })
    }
}

impl fmt::Display for Cell {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Cell {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s.to_ascii_lowercase().as_str() {
            "rnn" | "elman" => Ok(Cell::Rnn),
            "lstm" => Ok(Cell::Lstm),
            "gru" => Ok(Cell::Gru),
            "indrnn" => Ok(Cell::IndRnn),
            other => Err(Error::Config(format!("unknown cell `{other}` (expected rnn, lstm, gru or indrnn)"))),
        }
    }
}

/// One LSTM step's element-wise part, for every row of a batch.
///
/// On entry `gates` holds the pre-activations `[batch, 4H]` (`x W_ihᵀ + b_ih + h W_hhᵀ +
/// b_hh`, blocks i, f, g, o); on return the activated gates. Writes `c = f ⊙ c_prev + i ⊙ g`
/// and `m = o ⊙ tanh(c)` (the hidden state before any projection), `[batch, H]` each.
pub(crate) fn lstm_gates<F: Float>(gates: &mut [F], c_prev: &[F], c: &mut [F], m: &mut [F], hidden: usize) {
    let rows = gates.chunks_exact_mut(4 * hidden).zip(c_prev.chunks_exact(hidden));
    for ((g, cp), (c, m)) in rows.zip(c.chunks_exact_mut(hidden).zip(m.chunks_exact_mut(hidden))) {
        // i, f = σ(·); g = tanh(·); o = σ(·)
        Nonlinearity::Sigmoid.apply_slice(&mut g[..2 * hidden]);
        Nonlinearity::Tanh.apply_slice(&mut g[2 * hidden..3 * hidden]);
        Nonlinearity::Sigmoid.apply_slice(&mut g[3 * hidden..]);
        let (i, rest) = g.split_at(hidden);
        let (f, rest) = rest.split_at(hidden);
        let (gg, o) = rest.split_at(hidden);
        // c = f ⊙ c_prev + i ⊙ g
        for j in 0..hidden {
            c[j] = f[j] * cp[j] + i[j] * gg[j];
        }
        // m = o ⊙ tanh(c)
        m.copy_from_slice(c);
        Nonlinearity::Tanh.apply_slice(m);
        m.iter_mut().zip(o).for_each(|(m, &o)| *m = o * *m);
    }
}

/// [`lstm_gates`], its rows shared across the pool when there are enough of them (the same
/// arithmetic per row either way, so the same results bit for bit).
pub(crate) fn lstm_gates_shared<F: Float>(gates: &mut [F], c_prev: &[F], c: &mut [F], m: &mut [F], hidden: usize) {
    match pool::rows_per_part(c_prev.len() / hidden.max(1), hidden) {
        None => lstm_gates(gates, c_prev, c, m, hidden),
        Some(per) => {
            let cost = c.len() * GATE_COST;
            let parts = gates.chunks_mut(per * 4 * hidden).zip(c_prev.chunks(per * hidden));
            let parts = parts.zip(c.chunks_mut(per * hidden).zip(m.chunks_mut(per * hidden)));
            pool::run_each(parts, cost, &|((g, cp), (c, m))| lstm_gates(g, cp, c, m, hidden));
        }
    }
}

/// [`gru_gates`], its rows shared across the pool when there are enough of them (the same
/// arithmetic per row either way, so the same results bit for bit).
pub(crate) fn gru_gates_shared<F: Float>(
    px: &mut [F],
    ah: &[F],
    hn: &mut [F],
    h_prev: &[F],
    h: &mut [F],
    hidden: usize,
) {
    match pool::rows_per_part(h_prev.len() / hidden.max(1), hidden) {
        None => gru_gates(px, ah, hn, h_prev, h, hidden),
        Some(per) => {
            let (cost, rows, g) = (h.len() * GATE_COST, per * hidden, per * 3 * hidden);
            let parts = px.chunks_mut(g).zip(ah.chunks(g));
            let parts = parts.zip(hn.chunks_mut(rows).zip(h_prev.chunks(rows)).zip(h.chunks_mut(rows)));
            pool::run_each(parts, cost, &|((px, ah), ((hn, hp), h))| gru_gates(px, ah, hn, hp, h, hidden));
        }
    }
}

/// The cost the pool's books are told per unit of a gated cell's element-wise step (their
/// multiply-add count is what they weigh products by; a unit's activations are worth about this
/// many).
pub(crate) const GATE_COST: usize = 16;

/// One GRU step's element-wise part, for every row of a batch.
///
/// On entry `px` holds `x W_ihᵀ + b_ih` `[batch, 3H]` and `ah` holds `h_prev W_hhᵀ + b_hh`
/// `[batch, 3H]` (blocks r, z, n); on return `px` holds the activated `r, z, n`, `hn` the
/// recurrent part of the candidate `W_hn h_prev + b_hn` `[batch, H]` (kept for the backward
/// pass) and `h` the new state `(1 - z) ⊙ n + z ⊙ h_prev`, computed as PyTorch does:
/// `n + z ⊙ (h_prev - n)`.
pub(crate) fn gru_gates<F: Float>(px: &mut [F], ah: &[F], hn: &mut [F], h_prev: &[F], h: &mut [F], hidden: usize) {
    let rows = px.chunks_exact_mut(3 * hidden).zip(ah.chunks_exact(3 * hidden));
    let states = hn.chunks_exact_mut(hidden).zip(h_prev.chunks_exact(hidden)).zip(h.chunks_exact_mut(hidden));
    for ((g, a), ((hn, hp), h)) in rows.zip(states) {
        // r, z = σ(x-side + h-side)
        g[..2 * hidden].iter_mut().zip(&a[..2 * hidden]).for_each(|(g, &a)| *g += a);
        Nonlinearity::Sigmoid.apply_slice(&mut g[..2 * hidden]);
        // n = tanh(x-side + r ⊙ h-side)
        hn.copy_from_slice(&a[2 * hidden..]);
        let (rz, n) = g.split_at_mut(2 * hidden);
        for j in 0..hidden {
            n[j] += rz[j] * hn[j];
        }
        Nonlinearity::Tanh.apply_slice(n);
        // h = n + z ⊙ (h_prev - n)
        let z = &rz[hidden..];
        for j in 0..hidden {
            h[j] = n[j] + z[j] * (hp[j] - n[j]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_round_trip() {
        for (cell, act) in [
            (Cell::Rnn, Nonlinearity::Tanh),
            (Cell::Rnn, Nonlinearity::Relu),
            (Cell::Rnn, Nonlinearity::Sigmoid),
            (Cell::Lstm, Nonlinearity::Tanh),
            (Cell::Gru, Nonlinearity::Tanh),
            (Cell::IndRnn, Nonlinearity::Relu),
        ] {
            let (c, a) = Cell::from_mode(cell.mode(act)).unwrap();
            assert_eq!(c, cell);
            if cell == Cell::Rnn {
                assert_eq!(a, Some(act));
            }
        }
        assert!(Cell::from_mode("LSTMX").is_err());
        assert_eq!("GRU".parse::<Cell>().unwrap(), Cell::Gru);
        assert_eq!("IndRNN".parse::<Cell>().unwrap(), Cell::IndRnn);
        assert_eq!(Cell::IndRnn.default_nonlinearity(), Nonlinearity::Relu);
    }
}
