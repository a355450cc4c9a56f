//! One layer in one direction, whatever its cell: its parameters ([`LayerParams`], PyTorch's
//! names and shapes), what its forward pass hands its backward pass, and the recurrent weight as
//! the per-step products read it (`Recurrent`, packed once per sequence when that pays).
//!
//! Each cell's forward and backward passes are in `elman.rs`, `lstm.rs`, `gru.rs` and
//! `indrnn.rs`.
//!
//! # Example
//! ```
//! use rnn::{Cell, Init, LayerParams};
//! let p = LayerParams::<f32>::init(Cell::Lstm, 3, 4, None, true, Init::PyTorch, &mut rand::rng());
//! let names: Vec<&str> = p.tensors().into_iter().map(|(n, _)| n).collect();
//! assert_eq!(names, ["weight_ih", "weight_hh", "bias_ih", "bias_hh"]); // PyTorch's order
//! assert_eq!(p.weight_ih.dim(), (16, 3)); // gates i, f, g, o stacked
//! ```

use crate::kernels::{Epilogue, Mat, PackedRef, gemm_then};
use ndarray::{
    Array1, Array2, ArrayView2, ArrayView3, ArrayViewD, ArrayViewMut2, ArrayViewMut3, ArrayViewMutD, Axis, s,
};
use rand::Rng;

use crate::nn::cell::Cell;
use crate::nn::init::{self, Init};
use crate::{Error, Float, Nonlinearity, Result};

/// The parameters of one layer in one direction, with PyTorch's names and shapes.
///
/// For a cell with `G` gates ([`Cell::gates`]: 1 Elman, 4 LSTM, 3 GRU) the shapes are
/// `W_ih [G*H, input_size]`, `W_hh [G*H, S]`, `b_ih`, `b_hh` `[G*H]`, with `S` the width of
/// the state the layer outputs: `hidden_size`, or an LSTM's `proj_size`. An IndRNN layer's
/// recurrent weight is the vector `u` `[H]` in [`LayerParams::weight_hh_diag`] (the diagonal
/// of an Elman `W_hh`), its `weight_hh` empty (`[0, H]`). The same type holds their gradients
/// (see [`LayerParams::zeros_like`]).
///
/// # Example
/// ```
/// use rnn::{Cell, Init, LayerParams};
/// let p = LayerParams::<f32>::init(Cell::Gru, 3, 4, None, true, Init::PyTorch, &mut rand::rng());
/// assert_eq!((p.input_size(), p.hidden_size(), p.state_size()), (3, 4, 4));
/// assert_eq!(p.weight_ih.dim(), (12, 3)); // 3 gate blocks r, z, n
/// let shapes: Vec<(&str, Vec<usize>)> = p.tensors().into_iter().map(|(n, t)| (n, t.shape().to_vec())).collect();
/// assert_eq!(shapes[1], ("weight_hh", vec![12, 4]));
/// let mut g = p.zeros_like();
/// assert!(g.tensors_mut().iter().all(|(_, t)| t.iter().all(|v| *v == 0.0)));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LayerParams<F = f32> {
    /// `W_ih`, shape `[hidden_size, input_size]` (PyTorch `weight_ih_l{k}`).
    pub weight_ih: Array2<F>,
    /// `W_hh`, shape `[hidden_size, hidden_size]` (PyTorch `weight_hh_l{k}`); `[0, H]` for an
    /// IndRNN layer, whose recurrent weight is [`LayerParams::weight_hh_diag`].
    pub weight_hh: Array2<F>,
    /// An IndRNN layer's element-wise recurrent weight `u`, shape `[hidden_size]`, saved as
    /// `weight_hh_l{k}` (a vector, as the reference PyTorch IndRNN modules name it); `None` for
    /// the other cells.
    pub weight_hh_diag: Option<Array1<F>>,
    /// `b_ih`, shape `[hidden_size]`, absent when the layer has no bias.
    pub bias_ih: Option<Array1<F>>,
    /// `b_hh`, shape `[hidden_size]`, absent when the layer has no bias.
    pub bias_hh: Option<Array1<F>>,
    /// `W_hr`, shape `[proj_size, hidden_size]` (PyTorch `weight_hr_l{k}`): an LSTM's
    /// projection of its hidden state, `h_t = W_hr (o ⊙ tanh c_t)`; absent without `proj_size`.
    pub weight_hr: Option<Array2<F>>,
}

/// How one direction runs: its activation and whether time runs backwards.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Recurrence {
    /// The activation of the recurrence.
    pub nonlinearity: Nonlinearity,
    /// `true` for the reverse-time direction of a bidirectional layer.
    pub reverse: bool,
}

impl Recurrence {
    /// The time index processed at position `step` (0 = first processed).
    #[inline]
    pub(crate) fn time(self, step: usize, seq_len: usize) -> usize {
        time(self.reverse, step, seq_len)
    }
}

/// The time index processed at position `step` (0 = first processed) of a direction that runs
/// backwards in time when `reverse`.
#[inline]
pub(crate) fn time(reverse: bool, step: usize, seq_len: usize) -> usize {
    if reverse { seq_len - 1 - step } else { step }
}

/// What the forward pass of one direction read and wrote: all that BPTT needs.
#[doc(hidden)]
#[derive(Clone, Copy, Debug)]
pub struct Tape<'a, F> {
    /// The layer's input `[seq_len, batch, input_size]`.
    pub x: ArrayView3<'a, F>,
    /// The initial state `[batch, hidden_size]`.
    pub h0: ArrayView2<'a, F>,
    /// The hidden states the forward pass wrote, `[seq_len, batch, hidden_size]`, in time order.
    pub hs: ArrayView3<'a, F>,
}

/// Where the gradient w.r.t. a direction's hidden states comes from.
#[doc(hidden)]
#[derive(Debug)]
pub enum Upstream<'a, F> {
    /// A separate array `[seq_len, batch, hidden_size]` (any strides), e.g. a column slice of a
    /// bidirectional output's gradient.
    Given(ArrayView3<'a, F>),
    /// Already in the `da` scratch of [`LayerGradsOut`]: each step's `dA_t` overwrites the
    /// gradient it was computed from, so the backward needs no buffer of its own.
    InDa,
    /// Through a linear head `z = h Vᵀ + c` read on the steps from `first` on:
    /// `dL/dH_t = dZ_t V`, computed step by step, so no `[seq_len, batch, hidden_size]` array
    /// holds it. `dz` is `[(seq_len - first) * batch, out]`, `weight` (`V`) `[out, hidden_size]`,
    /// both standard layout.
    Head {
        /// dL/dz of the steps read, step-major.
        dz: ArrayView2<'a, F>,
        /// The head's weight `V`.
        weight: ArrayView2<'a, F>,
        /// The first step the head read (`seq_len - 1` for a many-to-one model).
        first: usize,
    },
}

/// Where the backward pass of one direction writes the gradient of its input.
#[doc(hidden)]
#[derive(Debug)]
pub enum InputGrad<'a, F> {
    /// Not wanted.
    Skip,
    /// Written into this `[seq_len * batch, input_size]` array.
    Write(ArrayViewMut2<'a, F>),
    /// Added to it (the second direction of a bidirectional layer).
    Add(ArrayViewMut2<'a, F>),
    /// Written over the `da` scratch, block of rows by block of rows, once the weight gradients
    /// are done with it: for a layer whose input is as wide as its state (`input_size ==
    /// hidden_size`), so one buffer carries the gradient down the whole stack.
    OverDa,
}

/// Where the backward pass of one direction writes.
#[doc(hidden)]
#[derive(Debug)]
pub struct LayerGradsOut<'a, 'g, F> {
    /// The parameter gradients (overwritten).
    pub params: &'g mut LayerParams<F>,
    /// The gradient of the input.
    pub dx: InputGrad<'a, F>,
    /// The gradient of `h0`, `[batch, hidden_size]` (overwritten; also the carry through time).
    pub dh0: ArrayViewMut2<'a, F>,
    /// Scratch for `dA = dL/d(pre-activation)`, `[seq_len, batch, hidden_size]`, standard
    /// layout.
    pub da: ArrayViewMut3<'a, F>,
    /// Where to record the gradient's norm at every step, if anywhere (diagnostics).
    pub norms: Option<StepNorms<'a>>,
}

/// The norms of the gradient one direction's BPTT records as it goes (see
/// [`crate::nn::flow::GradFlow`]), one entry per time step (in time order, whichever the
/// direction): the batch mean of `‖dL/dh_t‖₂`, each sequence's norm taken over its units, and for
/// an LSTM that of `‖dL/dc_t‖₂` (the whole gradient of `c_t`: through later steps and through
/// `h_t`). Recording computes one norm per row of a `[batch, H]` array per step and allocates
/// nothing; without it the backward pass does no extra work.
#[doc(hidden)]
#[derive(Debug)]
pub struct StepNorms<'a> {
    /// `[seq_len]`: the state's gradient.
    pub h: &'a mut [f64],
    /// `[seq_len]`: an LSTM's cell-state gradient (`None` for the other cells, or not wanted).
    pub c: Option<&'a mut [f64]>,
}

/// The batch mean of the Euclidean norms of the rows (`width` wide) of `g`.
pub(crate) fn mean_row_norm<F: Float>(g: &[F], width: usize) -> f64 {
    let rows = g.len() / width.max(1);
    if rows == 0 {
        return 0.0;
    }
    // per row, 8 independent lanes (so the sum vectorises), then their total
    let row_norm = |r: &[F]| {
        let mut lanes = [0.0f64; 8];
        let mut chunks = r.chunks_exact(8);
        for c in &mut chunks {
            for (l, &v) in lanes.iter_mut().zip(c) {
                let v = v.to_f64_lossless();
                *l += v * v;
            }
        }
        let tail: f64 = chunks.remainder().iter().map(|&v| v.to_f64_lossless() * v.to_f64_lossless()).sum();
        (lanes.iter().sum::<f64>() + tail).sqrt()
    };
    g.chunks_exact(width).map(row_norm).sum::<f64>() / rows as f64
}

impl<F: Float> LayerParams<F> {
    /// Fresh parameters for a layer of `cell` reading `input_size` features into `hidden_size`
    /// units, its state `proj_size` wide when that is given (LSTM only).
    ///
    /// [`Init::PyTorch`] draws every tensor from `U(-1/√H, 1/√H)` as PyTorch does;
    /// [`Init::GlorotUniform`] and [`Init::Orthogonal`] draw `W_ih` per gate block from Glorot's
    /// uniform and `W_hh` per gate block orthogonal (Keras' `recurrent_initializer`), with zero
    /// biases; [`Init::Identity`] sets each gate block of `W_hh` to the identity (IRNN for the
    /// Elman cell). Tensors are drawn in `state_dict` order.
    ///
    /// An IndRNN's `u` is drawn from `U(0, 1)` under every scheme but [`Init::Identity`], which
    /// sets it to ones (the IRNN's identity, diagonal); [`crate::Rnn::new`] then clamps it to
    /// `±recurrent_max`. Its `W_ih` and biases follow the scheme as an Elman layer's do.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, LayerParams};
    /// let lstm = LayerParams::<f64>::init(Cell::Lstm, 3, 8, Some(4), false, Init::Orthogonal, &mut rand::rng());
    /// assert_eq!((lstm.state_size(), lstm.weight_hh.dim()), (4, (32, 4)));
    /// assert!(lstm.bias_ih.is_none() && lstm.weight_hr.is_some());
    /// let irnn = LayerParams::<f64>::init(Cell::Rnn, 2, 3, None, true, Init::Identity, &mut rand::rng());
    /// assert_eq!(irnn.weight_hh, ndarray::Array2::<f64>::eye(3));
    /// ```
    pub fn init<R: Rng + ?Sized>(
        cell: Cell,
        input_size: usize,
        hidden_size: usize,
        proj_size: Option<usize>,
        bias: bool,
        scheme: Init,
        rng: &mut R,
    ) -> Self {
        let k = 1.0 / (hidden_size as f64).sqrt();
        let rows = cell.gates() * hidden_size;
        let state = proj_size.unwrap_or(hidden_size);
        // one gate block after the other, stacked as PyTorch stacks them
        let blocks = |rng: &mut R, f: &mut dyn FnMut(&mut R) -> Array2<F>| -> Array2<F> {
            let parts: Vec<Array2<F>> = (0..cell.gates()).map(|_| f(rng)).collect();
            let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
            ndarray::concatenate(Axis(0), &views).expect("blocks of equal width")
        };
        let weight_ih = match scheme {
            Init::PyTorch | Init::Identity => init::uniform2(rows, input_size, k, rng),
            Init::GlorotUniform | Init::Orthogonal => blocks(rng, &mut |r| {
                init::uniform2(hidden_size, input_size, init::glorot_bound(input_size, hidden_size), r)
            }),
        };
        if cell == Cell::IndRnn {
            // u: U(0, 1), or ones for the identity scheme
            let u = match scheme {
                Init::Identity => Array1::ones(hidden_size),
                _ => init::uniform1::<F, R>(hidden_size, 0.5, rng).mapv(|v| v + F::of(0.5)),
            };
            let (bias_ih, bias_hh) = match (bias, scheme) {
                (false, _) => (None, None),
                (true, Init::PyTorch) => (Some(init::uniform1(rows, k, rng)), Some(init::uniform1(rows, k, rng))),
                (true, _) => (Some(Array1::zeros(rows)), Some(Array1::zeros(rows))),
            };
            let weight_hh = Array2::zeros((0, hidden_size));
            return LayerParams { weight_ih, weight_hh, weight_hh_diag: Some(u), bias_ih, bias_hh, weight_hr: None };
        }
        let weight_hh = match scheme {
            Init::PyTorch => init::uniform2(rows, state, k, rng),
            Init::GlorotUniform => {
                blocks(rng, &mut |r| init::uniform2(hidden_size, state, init::glorot_bound(state, hidden_size), r))
            }
            Init::Orthogonal => blocks(rng, &mut |r| init::orthogonal_rect(hidden_size, state, r)),
            Init::Identity => blocks(rng, &mut |_| Array2::eye(hidden_size).slice_move(s![.., ..state])),
        };
        let (bias_ih, bias_hh) = match (bias, scheme) {
            (false, _) => (None, None),
            (true, Init::PyTorch) => (Some(init::uniform1(rows, k, rng)), Some(init::uniform1(rows, k, rng))),
            (true, _) => (Some(Array1::zeros(rows)), Some(Array1::zeros(rows))),
        };
        let weight_hr = proj_size.map(|p| match scheme {
            Init::PyTorch | Init::Identity => init::uniform2(p, hidden_size, k, rng),
            Init::GlorotUniform => init::uniform2(p, hidden_size, init::glorot_bound(hidden_size, p), rng),
            Init::Orthogonal => init::orthogonal_rect(p, hidden_size, rng),
        });
        LayerParams { weight_ih, weight_hh, weight_hh_diag: None, bias_ih, bias_hh, weight_hr }
    }

    /// All-zero parameters of the same shapes (a gradient buffer).
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, LayerParams};
    /// let p = LayerParams::<f32>::init(Cell::Rnn, 2, 4, None, true, Init::PyTorch, &mut rand::rng());
    /// let grads = p.zeros_like();
    /// assert_eq!(grads.weight_hh.dim(), (4, 4));
    /// assert!(grads.tensors().iter().all(|(_, t)| t.iter().all(|v| *v == 0.0)));
    /// ```
    pub fn zeros_like(&self) -> Self {
        LayerParams {
            weight_ih: Array2::zeros(self.weight_ih.raw_dim()),
            weight_hh: Array2::zeros(self.weight_hh.raw_dim()),
            weight_hh_diag: self.weight_hh_diag.as_ref().map(|u| Array1::zeros(u.len())),
            bias_ih: self.bias_ih.as_ref().map(|b| Array1::zeros(b.len())),
            bias_hh: self.bias_hh.as_ref().map(|b| Array1::zeros(b.len())),
            weight_hr: self.weight_hr.as_ref().map(|w| Array2::zeros(w.raw_dim())),
        }
    }

    /// `input_size`, the width of `W_ih`.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, LayerParams};
    /// let p = LayerParams::<f32>::init(Cell::Gru, 3, 4, None, true, Init::PyTorch, &mut rand::rng());
    /// assert_eq!(p.input_size(), 3);
    /// ```
    pub fn input_size(&self) -> usize {
        self.weight_ih.ncols()
    }

    /// `hidden_size`: the width of `W_hr` with a projection, else of `W_hh` (the length of
    /// `u` for an IndRNN).
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, LayerParams};
    /// let lstm = LayerParams::<f32>::init(Cell::Lstm, 3, 8, Some(2), true, Init::PyTorch, &mut rand::rng());
    /// assert_eq!(lstm.hidden_size(), 8); // not the projection's 2
    /// let indrnn = LayerParams::<f32>::init(Cell::IndRnn, 3, 5, None, true, Init::PyTorch, &mut rand::rng());
    /// assert_eq!(indrnn.hidden_size(), 5);
    /// ```
    pub fn hidden_size(&self) -> usize {
        self.weight_hr.as_ref().map_or(self.state_size(), |w| w.ncols())
    }

    /// The width of the state the layer outputs: `proj_size` with a projection, else
    /// `hidden_size`.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, LayerParams};
    /// let lstm = LayerParams::<f32>::init(Cell::Lstm, 3, 8, Some(2), true, Init::PyTorch, &mut rand::rng());
    /// assert_eq!(lstm.state_size(), 2); // h_t = W_hr (o ⊙ tanh c_t)
    /// let gru = LayerParams::<f32>::init(Cell::Gru, 3, 8, None, true, Init::PyTorch, &mut rand::rng());
    /// assert_eq!(gru.state_size(), 8);
    /// ```
    pub fn state_size(&self) -> usize {
        self.weight_hh_diag.as_ref().map_or(self.weight_hh.ncols(), |u| u.len())
    }

    /// The tensors in PyTorch's order with their name stems (`weight_ih`, `weight_hh`,
    /// `bias_ih`, `bias_hh`, `weight_hr`); an IndRNN's `weight_hh` is its vector `u`.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, LayerParams};
    /// let p = LayerParams::<f32>::init(Cell::IndRnn, 2, 4, None, true, Init::PyTorch, &mut rand::rng());
    /// let shapes: Vec<(&str, Vec<usize>)> = p.tensors().into_iter().map(|(n, t)| (n, t.shape().to_vec())).collect();
    /// assert_eq!(shapes, [("weight_ih", vec![4, 2]), ("weight_hh", vec![4]), ("bias_ih", vec![4]), ("bias_hh", vec![4])]);
    /// ```
    pub fn tensors(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        let w_hh = match &self.weight_hh_diag {
            Some(u) => u.view().into_dyn(),
            None => self.weight_hh.view().into_dyn(),
        };
        let mut out = vec![("weight_ih", self.weight_ih.view().into_dyn()), ("weight_hh", w_hh)];
        if let (Some(bi), Some(bh)) = (&self.bias_ih, &self.bias_hh) {
            out.push(("bias_ih", bi.view().into_dyn()));
            out.push(("bias_hh", bh.view().into_dyn()));
        }
        if let Some(w) = &self.weight_hr {
            out.push(("weight_hr", w.view().into_dyn()));
        }
        out
    }

    /// Mutable views of [`LayerParams::tensors`], same order.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, LayerParams};
    /// let mut p = LayerParams::<f32>::init(Cell::Rnn, 2, 4, None, true, Init::PyTorch, &mut rand::rng());
    /// for (name, mut t) in p.tensors_mut() {
    ///     if name.starts_with("bias") {
    ///         t.fill(0.0); // zero biases, PyTorch's `nn.init.zeros_`
    ///     }
    /// }
    /// assert!(p.bias_ih.iter().chain(p.bias_hh.iter()).flatten().all(|b| *b == 0.0));
    /// ```
    pub fn tensors_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        let w_hh = match &mut self.weight_hh_diag {
            Some(u) => u.view_mut().into_dyn(),
            None => self.weight_hh.view_mut().into_dyn(),
        };
        let mut out = vec![("weight_ih", self.weight_ih.view_mut().into_dyn()), ("weight_hh", w_hh)];
        if let (Some(bi), Some(bh)) = (&mut self.bias_ih, &mut self.bias_hh) {
            out.push(("bias_ih", bi.view_mut().into_dyn()));
            out.push(("bias_hh", bh.view_mut().into_dyn()));
        }
        if let Some(w) = &mut self.weight_hr {
            out.push(("weight_hr", w.view_mut().into_dyn()));
        }
        out
    }

    pub(crate) fn check(&self, x: &ArrayView3<'_, F>, h0: &ArrayView2<'_, F>, hs: &[usize]) -> Result<()> {
        let (t, b, i) = x.dim();
        let h = self.hidden_size();
        if i != self.input_size() {
            return Err(Error::shape("layer input", format!("[seq_len, batch, {}]", self.input_size()), x.shape()));
        }
        if h0.shape() != [b, h] {
            return Err(Error::shape("h0", format!("[{b}, {h}]"), h0.shape()));
        }
        if hs != [t, b, h] {
            return Err(Error::shape("hidden states", format!("[{t}, {b}, {h}]"), hs));
        }
        Ok(())
    }
}

/// The recurrent weight as the per-step products read it: the `[K, N]` right-hand operand
/// (`W_hhᵀ` forward, `W_hh` backward), packed into contiguous column panels when the products
/// run on the packed path (batches of 8 and more; then no step copies it again) or it stops
/// fitting in cache, else row-major and 64-byte aligned.
pub(crate) enum Recurrent<'w, F: Float> {
    Packed(crate::kernels::Packed<F>),
    /// Packed into borrowed memory.
    PackedIn(crate::kernels::PackedRef<'w, F>),
    Plain(crate::kernels::Aligned<F>, usize, usize),
    /// Read where it is (already row-major).
    InPlace(&'w [F], usize, usize),
}

/// From this many columns on, the per-step products read a packed `W_hh` whatever the batch.
const PACK_FROM_HIDDEN: usize = 512;

impl<'w, F: Float> Recurrent<'w, F> {
    /// `b` is the logical `[K, N]` right-hand operand of products with `batch` rows; a packed
    /// copy goes into `storage` (`K * N` elements) when one is given, so it takes no memory of
    /// its own (4 MB at H = 1024), unless `packed` already holds one.
    pub(crate) fn new(
        b: ArrayView2<'w, F>,
        batch: usize,
        storage: Option<&'w mut [F]>,
        packed: Option<PackedRef<'w, F>>,
    ) -> Self {
        let (k, n) = b.dim();
        if k.max(n) >= PACK_FROM_HIDDEN || crate::kernels::packed_path::<F>(batch, k, n) {
            match (packed, storage) {
                (Some(p), _) if p.rows() == k && p.cols() == n => Recurrent::PackedIn(p),
                (_, Some(out)) if out.len() >= k * n => Recurrent::PackedIn(crate::kernels::pack_into(b, out)),
                _ => Recurrent::Packed(crate::kernels::Packed::pack(b)),
            }
        } else if let Some(b) = b.to_slice() {
            Recurrent::InPlace(b, k, n)
        } else {
            let mut buf = crate::kernels::Aligned::zeros(k * n);
            if b.t().as_slice().is_some() {
                // the transpose of a row-major array: the cache-blocked transpose
                crate::kernels::transpose_into(b.t(), buf.as_mut_slice());
            } else {
                for (dst, row) in buf.as_mut_slice().chunks_exact_mut(n).zip(b.rows()) {
                    dst.iter_mut().zip(row.iter()).for_each(|(d, &v)| *d = v);
                }
            }
            Recurrent::Plain(buf, k, n)
        }
    }

    /// `c (+)= a · B` for one step (`a` `[batch, K]`, `c` `[batch, N]`), then `post` on `c`.
    pub(crate) fn product(&self, a: Mat<'_, F>, c: &mut [F], accumulate: bool, post: Epilogue<'_, F>) {
        match self {
            Recurrent::Packed(p) => crate::kernels::gemm_packed(a, p.view(), c, p.view().cols(), accumulate, post),
            Recurrent::PackedIn(p) => crate::kernels::gemm_packed(a, *p, c, p.cols(), accumulate, post),
            Recurrent::Plain(buf, k, n) => gemm_then(a, Mat::new(buf.as_slice(), *k, *n), c, *n, accumulate, post),
            Recurrent::InPlace(b, k, n) => gemm_then(a, Mat::new(b, *k, *n), c, *n, accumulate, post),
        }
    }
}
