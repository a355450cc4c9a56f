//! Backpropagation through time through an IndRNN stack, in the memory the forward pass left:
//! each direction's `dA` overwrites its own hidden states, the top layer's upstream gradient is
//! formed step by step from the head's, and a layer whose input is as wide as its state writes
//! its input gradient over its `dA`, which becomes the upstream gradient of the layer below.

use ndarray::{Array2, Array3, ArrayView3, Axis, s};

use super::backward::OutputGrad;
use super::{Rnn, RnnGrads, RnnTrace};
use crate::nn::flow::GradFlow;
use crate::nn::indrnn;
use crate::nn::layer::{InputGrad, LayerGradsOut, LayerParams, Recurrence, Upstream};
use crate::{Error, Float, Result};

impl<F: Float> Rnn<F> {
    /// The backward pass of an IndRNN stack.
    ///
    /// `states` are the hidden states taken out of the trace, per layer and direction (empty,
    /// or `None` entries, where they stay in it: those are copied). Layer `l - 1`'s states,
    /// when layer `l` reads them as its input (one direction, no dropout), serve as that input
    /// until layer `l` is done, then as layer `l - 1`'s `dA`; so a unidirectional stack
    /// allocates no `[seq_len, batch, hidden_size]` array but the first layer's input gradient
    /// (when it is wanted and the input is narrower or wider than the state).
    pub(super) fn backward_indrnn(
        &self,
        trace: &RnnTrace<'_, F>,
        mut states: Vec<Option<Array3<F>>>,
        d_output: OutputGrad<'_, F>,
        d_hn: ArrayView3<'_, F>,
        input_grad: bool,
        mut flow: Option<&mut GradFlow>,
    ) -> Result<RnnGrads<F>> {
        let c = &self.config;
        let (dirs, hidden) = (c.num_directions(), c.hidden_size);
        let (seq_len, batch, _) = trace.x.dim();
        states.resize_with(c.num_layers * dirs, || None);
        let mut grads: Vec<LayerParams<F>> = self.layers.iter().map(LayerParams::zeros_like).collect();
        let mut dh0 = Array3::zeros(trace.h0.raw_dim());
        // the gradient arriving at the top layer: through the head, step by step (the head's
        // columns of each direction), or the dense gradient of the output
        let (mut d_above, mut head) = (None, None);
        match d_output {
            // a residual stack needs the top layer's output gradient whole, for the layer below
            OutputGrad::Head { dz, weight, first } if !c.has_residual() => head = Some((dz, weight, first)),
            dense => d_above = Some(dense.into_dense((seq_len, batch, c.output_width()))?),
        }
        for l in (0..c.num_layers).rev() {
            let in_size = c.layer_input_size(l);
            let skip_input = l == 0 && !input_grad;
            // the input gradient goes over dA when it has dA's shape and one direction writes it
            let over_da = dirs == 1 && in_size == hidden && !skip_input;
            let mut d_in = (!skip_input && !over_da).then(|| Array2::zeros((seq_len * batch, in_size)));
            let (below, here) = states.split_at_mut(l * dirs);
            // layer l's input: the states of the layer below, taken out of the trace or not
            let x = match below.last() {
                Some(Some(h)) if trace.outputs[l - 1].is_none() => h.view(),
                _ => trace.layer_input(l),
            };
            let mut over = None;
            let head_cols = |d: usize| s![.., d * hidden..(d + 1) * hidden];
            for (d, own) in here.iter_mut().take(dirs).enumerate() {
                let i = l * dirs + d;
                let cols = s![.., .., d * hidden..(d + 1) * hidden];
                let d_hs = match (&d_above, &head) {
                    (Some(a), _) => Upstream::Given(a.slice(cols)),
                    (None, Some((dz, weight, first))) => {
                        Upstream::Head { dz: dz.view(), weight: weight.slice(head_cols(d)), first: *first }
                    }
                    (None, None) => unreachable!("the top layer has a gradient from above"),
                };
                let dx = match &mut d_in {
                    _ if skip_input => InputGrad::Skip,
                    None => InputGrad::OverDa,
                    Some(d_in) if d > 0 => InputGrad::Add(d_in.view_mut()),
                    Some(d_in) => InputGrad::Write(d_in.view_mut()),
                };
                // dA over the states: the trace's own when it was given up, else a copy
                let mut buf = own.take().unwrap_or_else(|| trace.hs[i].clone());
                let out = LayerGradsOut {
                    params: &mut grads[i],
                    dx,
                    dh0: dh0.index_axis_mut(Axis(0), i),
                    da: buf.view_mut(),
                    norms: flow.as_deref_mut().map(|f| f.slot(i)),
                };
                let rec = Recurrence { nonlinearity: c.nonlinearity, reverse: d == 1 };
                let (h0, d_hn) = (trace.h0.index_axis(Axis(0), i), d_hn.index_axis(Axis(0), i));
                indrnn::backward(&self.layers[i], rec, x, h0, d_hs, d_hn, out)?;
                over = Some(buf);
            }
            let mut d_in =
                match (d_in, over) {
                    (None, _) if skip_input => None,
                    // the input gradient, written over the (only) direction's dA
                    (None, over) => over,
                    (Some(d_in), _) => Some(d_in.into_shape_with_order((seq_len, batch, in_size)).map_err(|_| {
                        Error::shape("grad of layer input", "standard layout", &[seq_len, batch, in_size])
                    })?),
                };
            // a residual layer's output is h_t + input_t: its output gradient reaches the input
            // unchanged too
            if let (true, Some(d_in), Some(d_out)) = (c.residual_at(l), &mut d_in, &d_above) {
                *d_in += d_out;
            }
            d_above = d_in;
            // through the dropout of the layer below: the same mask
            if let (Some(d), Some(Some(m))) = (&mut d_above, l.checked_sub(1).map(|k| &trace.masks[k])) {
                *d *= m;
            }
        }
        Ok(RnnGrads { layers: grads, input: d_above, h0: dh0, c0: None })
    }
}
