//! The whole model, plainly: layers and directions stacked as PyTorch stacks them, inverted
//! dropout between layers, and the optional linear head, forward and backward.
//!
//! Layer `l` reads layer `l - 1`'s output `[T, B, D * S]` (the directions' states
//! concatenated on the feature axis, forward first; plus that layer's own input when it is
//! residual), times the dropout mask below the top layer. Direction `d` of layer `l` is entry
//! `l * D + d` of the parameters, `h0`, `h_n`, `c0`
//! and `c_n`; the reverse direction runs from `t = T - 1` down to 0. The head reads the top
//! layer's output on every step or only the last ([`Readout`]): `y = W_o h + b_o`.

use ndarray::{Array1, Array2, Array3, ArrayD, ArrayView1, ArrayView3, s};
use rand::Rng;

use super::{add_into, add_outer, affine, elman, gru, indrnn, lstm, transposed_times};
use crate::nn::flow::GradFlow;
use crate::{Cell, LayerParams, Model, Readout};

/// One direction's steps over one batch row, as its cell keeps them.
#[derive(Clone, Debug)]
enum Tape {
    Elman(Vec<elman::Step>),
    Lstm(Vec<lstm::Step>),
    Gru(Vec<gru::Step>),
    IndRnn(Vec<elman::Step>),
}

impl Tape {
    /// The state after the `k`-th processed step.
    fn h(&self, k: usize) -> &[f64] {
        match self {
            Tape::Elman(s) | Tape::IndRnn(s) => &s[k].h,
            Tape::Lstm(s) => &s[k].h,
            Tape::Gru(s) => &s[k].h,
        }
    }
}

/// A forward pass, with what [`Forward::backward`] needs.
#[derive(Clone, Debug)]
pub struct Forward<'m> {
    model: &'m Model<f64>,
    first: usize,
    h0: Array3<f64>,
    c0: Option<Array3<f64>>,
    /// Each layer's input as that layer saw it (layer 0's is `x`).
    inputs: Vec<Array3<f64>>,
    /// Each layer's dropout mask (`None` for the top layer or without dropout).
    masks: Vec<Option<Array3<f64>>>,
    /// Per layer and direction, per batch row.
    tapes: Vec<Vec<Tape>>,
    /// The top layer's output `[T, B, D * S]`.
    top: Array3<f64>,
    /// The model's output: the head's `[steps, B, out]` or the top layer's `[steps, B, D * S]`,
    /// `steps` being `T` or 1 ([`Readout::LastStep`]).
    pub y: Array3<f64>,
    /// The final states `[L * D, B, S]`.
    pub h_n: Array3<f64>,
    /// An LSTM's final cell states `[L * D, B, H]`.
    pub c_n: Option<Array3<f64>>,
}

/// The gradients of `L = Σ R ⊙ y + Σ S ⊙ h_n + Σ U ⊙ c_n`.
#[derive(Clone, Debug)]
pub struct Grads {
    /// Every parameter's gradient by model-file name (`rnn.weight_ih_l0`, ...,
    /// `rnn.weight_hr_l1_reverse`, `head.weight`, `head.bias`), in `state_dict` order.
    pub params: Vec<(String, ArrayD<f64>)>,
    /// dL/dx `[T, B, input_size]`.
    pub input: Array3<f64>,
    /// dL/dh0 `[L * D, B, S]`.
    pub h0: Array3<f64>,
    /// dL/dc0 `[L * D, B, H]` of an LSTM.
    pub c0: Option<Array3<f64>>,
    /// The batch means of `‖dL/dh_t‖₂` (and `‖dL/dc_t‖₂`) by direction and time step.
    pub flow: GradFlow,
}

/// The time steps in the order a direction processes them.
fn order(seq_len: usize, reverse: bool) -> Vec<usize> {
    if reverse { (0..seq_len).rev().collect() } else { (0..seq_len).collect() }
}

/// Row `[t, b, ..]` of a `[T, B, W]` array.
fn row(a: &Array3<f64>, t: usize, b: usize) -> Vec<f64> {
    a.slice(s![t, b, ..]).to_vec()
}

/// The inverted-dropout mask, drawn exactly as [`crate::Rnn::forward_train`] draws it: one
/// `rng.random::<f64>()` per entry in row-major order; the entry is 0 when the draw is below
/// `p`, else `1 / (1 - p)`.
fn dropout_mask<R: Rng + ?Sized>(p: f64, shape: (usize, usize, usize), rng: &mut R) -> Array3<f64> {
    let mut mask = Array3::zeros(shape);
    for m in mask.iter_mut() {
        *m = if rng.random::<f64>() < p { 0.0 } else { 1.0 / (1.0 - p) };
    }
    mask
}

/// Runs `model` over `x [T, B, input_size]` from `h0 [L * D, B, S]` and, for an LSTM,
/// `c0 [L * D, B, H]` (zeros when `None`), in training mode: with the model's dropout, its
/// masks drawn from `rng` as [`Model::forward_train_states`] draws them (so the same seed gives
/// the same masks). The head reads the steps `readout` names.
///
/// # Panics
/// When a shape disagrees with the model.
pub fn forward<'m, R: Rng + ?Sized>(
    model: &'m Model<f64>,
    x: ArrayView3<'_, f64>,
    h0: Option<ArrayView3<'_, f64>>,
    c0: Option<ArrayView3<'_, f64>>,
    readout: Readout,
    rng: &mut R,
) -> Forward<'m> {
    let c = model.rnn.config();
    let (seq_len, batch, _) = x.dim();
    let (dirs, hidden, state) = (c.num_directions(), c.hidden_size, c.state_size());
    let n = c.num_layers * dirs;
    assert_eq!(x.shape()[2], c.input_size, "input width");
    let h0 = h0.map_or_else(|| Array3::zeros((n, batch, state)), |h| h.to_owned());
    assert_eq!(h0.dim(), (n, batch, state), "h0");
    let lstm = c.cell == Cell::Lstm;
    let c0 = lstm.then(|| c0.map_or_else(|| Array3::zeros((n, batch, hidden)), |v| v.to_owned()));
    assert!(c0.as_ref().is_none_or(|c0| c0.dim() == (n, batch, hidden)), "c0");
    let mut h_n = Array3::zeros((n, batch, state));
    let mut c_n = lstm.then(|| Array3::zeros((n, batch, hidden)));
    let (mut inputs, mut masks, mut tapes) = (Vec::new(), Vec::new(), Vec::new());
    let mut input = x.to_owned();
    for l in 0..c.num_layers {
        let mut out = Array3::zeros((seq_len, batch, dirs * state));
        for d in 0..dirs {
            let i = l * dirs + d;
            let p = &model.rnn.layers()[i];
            let times = order(seq_len, d == 1);
            let mut rows = Vec::with_capacity(batch);
            for b in 0..batch {
                let xs: Vec<Vec<f64>> = times.iter().map(|&t| row(&input, t, b)).collect();
                let h0 = row(&h0, i, b);
                let tape = match (c.cell, &c0) {
                    (Cell::Rnn, _) => Tape::Elman(elman::forward(p, c.nonlinearity, &xs, &h0)),
                    (Cell::Lstm, Some(c0)) => Tape::Lstm(lstm::forward(p, &xs, &h0, &row(c0, i, b))),
                    (Cell::Lstm, None) => unreachable!("an LSTM has c0"),
                    (Cell::Gru, _) => Tape::Gru(gru::forward(p, &xs, &h0)),
                    (Cell::IndRnn, _) => Tape::IndRnn(indrnn::forward(p, c.nonlinearity, &xs, &h0)),
                };
                // the states go to the output at their own time, this direction's columns
                for (k, &t) in times.iter().enumerate() {
                    out.slice_mut(s![t, b, d * state..(d + 1) * state]).assign(&ArrayView1::from(tape.h(k)));
                }
                // h_n, c_n: the state after the last processed step
                h_n.slice_mut(s![i, b, ..]).assign(&ArrayView1::from(tape.h(seq_len - 1)));
                if let (Some(c_n), Tape::Lstm(steps)) = (&mut c_n, &tape) {
                    c_n.slice_mut(s![i, b, ..]).assign(&ArrayView1::from(&steps[seq_len - 1].c));
                }
                rows.push(tape);
            }
            tapes.push(rows);
        }
        // a residual layer (its input as wide as its output) adds its input: h_t + x_t
        if c.residual_at(l) {
            out += &input;
        }
        inputs.push(input);
        // dropout on every layer's output but the top one's
        let mask = (l + 1 < c.num_layers && c.dropout > 0.0).then(|| dropout_mask(c.dropout, out.dim(), rng));
        if let Some(m) = &mask {
            out *= m;
        }
        masks.push(mask);
        input = out;
    }
    let top = input;
    let first = match readout {
        Readout::EveryStep => 0,
        Readout::LastStep => seq_len - 1,
    };
    let y = match &model.head {
        None => top.slice(s![first.., .., ..]).to_owned(),
        Some(head) => {
            let mut y = Array3::zeros((seq_len - first, batch, head.out_features()));
            for (k, t) in (first..seq_len).enumerate() {
                for b in 0..batch {
                    // y = W_o h + b_o
                    let z = affine(&head.weight, head.bias.as_ref(), &row(&top, t, b));
                    y.slice_mut(s![k, b, ..]).assign(&Array1::from(z));
                }
            }
            y
        }
    };
    Forward { model, first, h0, c0, inputs, masks, tapes, top, y, h_n, c_n }
}

/// One direction's steps over one batch row, in the order the direction processed them (time
/// step `t` is entry `t` forward, entry `T - 1 - t` in the reverse direction): what
/// [`Forward::steps`] lends out.
#[derive(Clone, Copy, Debug)]
pub enum StepsRef<'a> {
    /// An Elman layer's steps (`a`, `h`).
    Elman(&'a [elman::Step]),
    /// An LSTM layer's steps (`i`, `f`, `g`, `o`, `c`, `m`, `h`).
    Lstm(&'a [lstm::Step]),
    /// A GRU layer's steps (`r`, `z`, `n`, `ah_n`, `h`).
    Gru(&'a [gru::Step]),
    /// An IndRNN layer's steps (`a`, `h`, as an Elman layer's).
    IndRnn(&'a [elman::Step]),
}

impl<'m> Forward<'m> {
    /// The model this pass ran.
    pub fn model(&self) -> &'m Model<f64> {
        self.model
    }

    /// The initial hidden states `[L * D, B, S]` the pass started from (zeros when none were
    /// given).
    pub fn h0(&self) -> &Array3<f64> {
        &self.h0
    }

    /// An LSTM's initial cell states `[L * D, B, H]` (`None` for the other cells).
    pub fn c0(&self) -> Option<&Array3<f64>> {
        self.c0.as_ref()
    }

    /// Layer `l`'s input `[T, B, width]` as that layer saw it: `x` for layer 0, the layer
    /// below's output times its dropout mask above it.
    ///
    /// # Panics
    /// When `l >= num_layers`.
    pub fn layer_input(&self, l: usize) -> &Array3<f64> {
        &self.inputs[l]
    }

    /// The stored steps of layer-direction `i` (`l * D + d`) over batch row `b`, in processing
    /// order.
    ///
    /// # Panics
    /// When `i >= L * D` or `b >= B`.
    pub fn steps(&self, i: usize, b: usize) -> StepsRef<'_> {
        match &self.tapes[i][b] {
            Tape::Elman(s) => StepsRef::Elman(s),
            Tape::Lstm(s) => StepsRef::Lstm(s),
            Tape::Gru(s) => StepsRef::Gru(s),
            Tape::IndRnn(s) => StepsRef::IndRnn(s),
        }
    }
}

impl Forward<'_> {
    /// The gradients of `L = Σ R ⊙ y + Σ S ⊙ h_n + Σ U ⊙ c_n`, given `r` (the shape of
    /// [`Forward::y`]), `s` (that of `h_n`) and, for an LSTM, `u` (that of `c_n`; zero when
    /// `None`).
    ///
    /// # Panics
    /// When a shape disagrees with the forward pass.
    pub fn backward(&self, r: ArrayView3<'_, f64>, s: ArrayView3<'_, f64>, u: Option<ArrayView3<'_, f64>>) -> Grads {
        let model = self.model;
        let c = model.rnn.config();
        let (seq_len, batch, _) = self.top.dim();
        let (dirs, state) = (c.num_directions(), c.state_size());
        assert_eq!(r.shape(), self.y.shape(), "R has the shape of y");
        assert_eq!(s.shape(), self.h_n.shape(), "S has the shape of h_n");
        let u = match (&self.c_n, u) {
            (Some(c_n), None) => Some(Array3::zeros(c_n.raw_dim())),
            (Some(c_n), Some(u)) if u.shape() == c_n.shape() => Some(u.to_owned()),
            (None, None) => None,
            (_, u) => panic!("U has the shape of c_n: {:?} vs {:?}", u.map(|u| u.dim()), self.c_n),
        };
        // dL/d(top output), on the steps read: R, or through the head y = W_o h + b_o
        // (dW_o += R hᵀ, db_o += R, dh = W_oᵀ R)
        let mut d_out = Array3::zeros(self.top.raw_dim());
        let mut head_grads =
            model.head.as_ref().map(|h| (Array2::zeros(h.weight.raw_dim()), Array1::zeros(h.out_features())));
        for (k, t) in (self.first..seq_len).enumerate() {
            for b in 0..batch {
                let rk = r.slice(s![k, b, ..]).to_vec();
                let dh = match (&model.head, &mut head_grads) {
                    (Some(head), Some((dw, db))) => {
                        add_outer(dw, &rk, &row(&self.top, t, b));
                        add_into(db.as_slice_mut().expect("contiguous"), &rk);
                        transposed_times(&head.weight, &rk)
                    }
                    _ => rk,
                };
                d_out.slice_mut(s![t, b, ..]).assign(&Array1::from(dh));
            }
        }
        let mut grads: Vec<LayerParams<f64>> = model.rnn.layers().iter().map(LayerParams::zeros_like).collect();
        let mut dh0 = Array3::zeros(self.h0.raw_dim());
        let mut dc0 = self.c0.as_ref().map(|c0| Array3::zeros(c0.raw_dim()));
        let mut flow = GradFlow::new(c, seq_len);
        for l in (0..c.num_layers).rev() {
            // d_out is dL/d(layer l's output as the layer above saw it): through its dropout mask
            if let Some(m) = &self.masks[l] {
                d_out *= m;
            }
            let input = &self.inputs[l];
            let mut d_in = Array3::zeros(input.raw_dim());
            for d in 0..dirs {
                let i = l * dirs + d;
                let p = &model.rnn.layers()[i];
                let times = order(seq_len, d == 1);
                for b in 0..batch {
                    let xs: Vec<Vec<f64>> = times.iter().map(|&t| row(input, t, b)).collect();
                    // dL/dh_k from above: this direction's columns of d_out, in processing order
                    let dhs: Vec<Vec<f64>> =
                        times.iter().map(|&t| d_out.slice(s![t, b, d * state..(d + 1) * state]).to_vec()).collect();
                    let (h0, dh_last) = (row(&self.h0, i, b), s.slice(s![i, b, ..]).to_vec());
                    // the whole dL/dh_k (and dL/dc_k) of each step, for the gradient flow
                    let mut seen = vec![(Vec::new(), Vec::new()); seq_len];
                    let mut seen_h = vec![Vec::new(); seq_len];
                    let (dxs, dh0_b) = match (&self.tapes[i][b], &self.c0, &u, &mut dc0) {
                        (Tape::Elman(steps), ..) => elman::backward(
                            p,
                            c.nonlinearity,
                            &xs,
                            &h0,
                            steps,
                            &dhs,
                            &dh_last,
                            &mut grads[i],
                            &mut seen_h,
                        ),
                        (Tape::Lstm(steps), Some(c0), Some(u), Some(dc0)) => {
                            let (c0, dc_last) = (row(c0, i, b), row(u, i, b));
                            let (dxs, dh0_b, dc0_b) = lstm::backward(
                                p,
                                &xs,
                                &h0,
                                &c0,
                                steps,
                                &dhs,
                                &dh_last,
                                &dc_last,
                                &mut grads[i],
                                &mut seen,
                            );
                            dc0.slice_mut(s![i, b, ..]).assign(&Array1::from(dc0_b));
                            (dxs, dh0_b)
                        }
                        (Tape::Lstm(_), ..) => unreachable!("an LSTM has c0, c_n and their gradients"),
                        (Tape::Gru(steps), ..) => {
                            gru::backward(p, &xs, &h0, steps, &dhs, &dh_last, &mut grads[i], &mut seen_h)
                        }
                        (Tape::IndRnn(steps), ..) => indrnn::backward(
                            p,
                            c.nonlinearity,
                            &xs,
                            &h0,
                            steps,
                            &dhs,
                            &dh_last,
                            &mut grads[i],
                            &mut seen_h,
                        ),
                    };
                    // the batch means of the norms, by time step
                    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt() / batch as f64;
                    for (k, &t) in times.iter().enumerate() {
                        match &mut flow.c {
                            Some(fc) => {
                                flow.h[[i, t]] += norm(&seen[k].0);
                                fc[[i, t]] += norm(&seen[k].1);
                            }
                            None => flow.h[[i, t]] += norm(&seen_h[k]),
                        }
                    }
                    dh0.slice_mut(s![i, b, ..]).assign(&Array1::from(dh0_b));
                    // dL/d(layer input): both directions' shares added
                    for (k, &t) in times.iter().enumerate() {
                        let mut d_in_t = d_in.slice_mut(s![t, b, ..]);
                        d_in_t += &ArrayView1::from(&dxs[k]);
                    }
                }
            }
            // a residual layer's output h_t + x_t: its gradient reaches x_t unchanged too
            if c.residual_at(l) {
                d_in += &d_out;
            }
            d_out = d_in;
        }
        let mut params = Vec::new();
        for (i, g) in grads.into_iter().enumerate() {
            let name = |stem: &str| format!("rnn.{stem}_l{}{}", i / dirs, if i % dirs == 1 { "_reverse" } else { "" });
            params.push((name("weight_ih"), g.weight_ih.into_dyn()));
            // an IndRNN's recurrent weight is its vector u
            let w_hh = g.weight_hh_diag.map_or_else(|| g.weight_hh.into_dyn(), |u| u.into_dyn());
            params.push((name("weight_hh"), w_hh));
            if let (Some(bi), Some(bh)) = (g.bias_ih, g.bias_hh) {
                params.push((name("bias_ih"), bi.into_dyn()));
                params.push((name("bias_hh"), bh.into_dyn()));
            }
            if let Some(w) = g.weight_hr {
                params.push((name("weight_hr"), w.into_dyn()));
            }
        }
        if let (Some(head), Some((dw, db))) = (&model.head, head_grads) {
            params.push(("head.weight".into(), dw.into_dyn()));
            if head.bias.is_some() {
                params.push(("head.bias".into(), db.into_dyn()));
            }
        }
        Grads { params, input: d_out, h0: dh0, c0: dc0, flow }
    }
}
