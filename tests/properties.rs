//! Property tests: invariants of the recurrence that hold for any configuration and data.

use ndarray::{Array3, Axis, concatenate, s};
use proptest::prelude::*;
use rnn::layer::LayerParams;
use rnn::model_file::{self, LoadOptions};
use rnn::{Init, Model, ModelConfig, Nonlinearity, Readout, Rnn, RnnConfig};

fn act() -> impl Strategy<Value = Nonlinearity> {
    prop_oneof![Just(Nonlinearity::Tanh), Just(Nonlinearity::Relu), Just(Nonlinearity::Sigmoid)]
}

/// A configuration plus data sizes and a seed.
fn setup() -> impl Strategy<Value = (RnnConfig, usize, usize, u64)> {
    (1usize..4, 1usize..6, 1usize..4, act(), any::<bool>(), any::<bool>(), 1usize..6, 1usize..4, any::<u64>()).prop_map(
        |(input, hidden, layers, act, bias, bidir, seq_len, batch, seed)| {
            let config = RnnConfig::new(input, hidden)
                .with_num_layers(layers)
                .with_nonlinearity(act)
                .with_bias(bias)
                .with_bidirectional(bidir);
            (config, seq_len, batch, seed)
        },
    )
}

fn data(shape: (usize, usize, usize), seed: u64) -> Array3<f64> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    Array3::from_shape_simple_fn(shape, || rng.random::<f64>() * 2.0 - 1.0)
}

fn close(a: &Array3<f64>, b: &Array3<f64>, tol: f64) -> bool {
    a.shape() == b.shape() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Sequences in a batch do not see each other.
    #[test]
    fn batch_rows_are_independent((config, seq_len, batch, seed) in setup()) {
        let rnn = Rnn::<f64>::new(config.clone(), Init::PyTorch, seed).unwrap();
        let x = data((seq_len, batch, config.input_size), seed ^ 1);
        let h0 = data((config.num_layers * config.num_directions(), batch, config.hidden_size), seed ^ 2);
        let (out, hn) = rnn.forward(x.view(), Some(h0.view())).unwrap();
        for b in 0..batch {
            let (o1, h1) = rnn.forward(x.slice(s![.., b..b + 1, ..]), Some(h0.slice(s![.., b..b + 1, ..]))).unwrap();
            prop_assert!(close(&o1, &out.slice(s![.., b..b + 1, ..]).to_owned(), 1e-12));
            prop_assert!(close(&h1, &hn.slice(s![.., b..b + 1, ..]).to_owned(), 1e-12));
        }
    }

    /// Running a sequence in two chunks, carrying the state, equals running it whole
    /// (unidirectional: the carry that truncated BPTT and streaming rely on).
    #[test]
    fn state_carries_across_chunks((config, seq_len, batch, seed) in setup(), cut in 0usize..6) {
        let config = config.with_bidirectional(false);
        let rnn = Rnn::<f64>::new(config.clone(), Init::PyTorch, seed).unwrap();
        let seq_len = seq_len + 1;
        let cut = 1 + cut % (seq_len - 1).max(1);
        prop_assume!(cut < seq_len);
        let x = data((seq_len, batch, config.input_size), seed ^ 3);
        let (whole, hn) = rnn.forward(x.view(), None).unwrap();
        let (a, ha) = rnn.forward(x.slice(s![..cut, .., ..]), None).unwrap();
        let (b, hb) = rnn.forward(x.slice(s![cut.., .., ..]), Some(ha.view())).unwrap();
        prop_assert!(close(&concatenate(Axis(0), &[a.view(), b.view()]).unwrap(), &whole, 1e-12));
        prop_assert!(close(&hb, &hn, 1e-12));
    }

    /// The reverse direction of a bidirectional layer is the forward recurrence on the
    /// time-reversed input, read back in reverse; h_n holds each direction's last state.
    #[test]
    fn reverse_direction_is_forward_on_reversed_time((config, seq_len, batch, seed) in setup()) {
        let config = config.with_num_layers(1).with_bidirectional(true);
        let h = config.hidden_size;
        let bi = Rnn::<f64>::new(config.clone(), Init::PyTorch, seed).unwrap();
        let uni_cfg = config.clone().with_bidirectional(false);
        let rev_params: Vec<LayerParams<f64>> = vec![bi.layers()[1].clone()];
        let uni = Rnn::from_parts(uni_cfg, rev_params).unwrap();
        let x = data((seq_len, batch, config.input_size), seed ^ 4);
        let (out, hn) = bi.forward(x.view(), None).unwrap();
        let x_rev = x.slice(s![..;-1, .., ..]).to_owned();
        let (out_rev, hn_rev) = uni.forward(x_rev.view(), None).unwrap();
        prop_assert!(close(&out.slice(s![.., .., h..]).to_owned(), &out_rev.slice(s![..;-1, .., ..]).to_owned(), 1e-12));
        prop_assert!(close(&hn.slice(s![1..2, .., ..]).to_owned(), &hn_rev, 1e-12));
        prop_assert!(close(&hn.slice(s![0..1, .., ..]).to_owned(), &out.slice(s![seq_len - 1.., .., ..h]).to_owned(), 1e-12));
    }

    /// Backward is linear in the incoming gradient.
    #[test]
    fn backward_is_linear_in_the_output_gradient((config, seq_len, batch, seed) in setup()) {
        let rnn = Rnn::<f64>::new(config.clone(), Init::PyTorch, seed).unwrap();
        let x = data((seq_len, batch, config.input_size), seed ^ 5);
        let trace = rnn.forward_trace(x.view(), None).unwrap();
        let d1 = data(trace.output().dim(), seed ^ 6);
        let d2 = data(trace.output().dim(), seed ^ 7);
        let g1 = rnn.backward(&trace, d1.view(), None).unwrap();
        let g2 = rnn.backward(&trace, d2.view(), None).unwrap();
        let g12 = rnn.backward(&trace, (&d1 + &d2).view(), None).unwrap();
        let input = |g: &rnn::RnnGrads<f64>| g.input.clone().expect("input gradient");
        prop_assert!(close(&(&input(&g1) + &input(&g2)), &input(&g12), 1e-10));
        for ((a, b), c) in g1.layers.iter().zip(&g2.layers).zip(&g12.layers) {
            let sum = &a.weight_hh + &b.weight_hh;
            prop_assert!(sum.iter().zip(&c.weight_hh).all(|(p, q)| (p - q).abs() < 1e-10));
        }
    }

    /// A saved model reads back bit-identical in its own dtype and computes the same outputs.
    #[test]
    fn model_file_round_trips((config, seq_len, batch, seed) in setup(), head in proptest::option::of(1usize..4)) {
        let model = Model::<f64>::new(ModelConfig { rnn: config.clone(), output_size: head }, Init::Orthogonal, seed).unwrap();
        let bytes = model_file::to_bytes(&model, &Default::default()).unwrap();
        let back = model_file::from_bytes::<f64>(&bytes, "<memory>".as_ref(), &LoadOptions::default()).unwrap();
        prop_assert_eq!(&back.model, &model);
        let x = data((seq_len, batch, config.input_size), seed ^ 8);
        let (y, _) = model.forward(x.view(), None).unwrap();
        let (y2, _) = back.model.forward(x.view(), None).unwrap();
        prop_assert_eq!(y, y2);
    }

    /// f32 and f64 agree to f32 precision on the same parameters.
    #[test]
    fn f32_agrees_with_f64((config, seq_len, batch, seed) in setup()) {
        let m64 = Model::<f64>::new(ModelConfig { rnn: config.clone(), output_size: Some(2) }, Init::PyTorch, seed).unwrap();
        let bytes = model_file::to_bytes(&m64, &Default::default()).unwrap();
        let m32 = model_file::from_bytes::<f32>(&bytes, "<memory>".as_ref(), &LoadOptions::default()).unwrap().model;
        let x = data((seq_len, batch, config.input_size), seed ^ 9);
        let (y64, _) = m64.forward(x.view(), None).unwrap();
        let (y32, _) = m32.forward(x.mapv(|v| v as f32).view(), None).unwrap();
        prop_assert!(close(&y32.mapv(|v| v as f64), &y64, 1e-5));
    }
}

/// Dropout is active only in training, is seeded, and scales kept units by 1 / (1 - p).
#[test]
fn dropout_only_in_training_and_seeded() {
    use rand::SeedableRng;
    let config = RnnConfig::new(3, 16).with_num_layers(2).with_dropout(0.5);
    let model = Model::<f64>::new(ModelConfig { rnn: config, output_size: None }, Init::PyTorch, 1).unwrap();
    let x = data((5, 4, 3), 11);
    let (eval, _) = model.forward(x.view(), None).unwrap();
    let trace_no_drop = model.rnn.forward_trace(x.view(), None).unwrap();
    assert!(close(&eval, &trace_no_drop.output().to_owned(), 0.0));
    let run = |seed: u64| {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        model.forward_train(x.view(), None, Readout::EveryStep, &mut rng).unwrap().y().to_owned()
    };
    assert_eq!(run(5), run(5));
    assert_ne!(run(5), run(6));
    assert!(!close(&run(5), &eval, 1e-6), "dropout changed nothing");
    // with p = 0 training equals evaluation
    let mut m0 = model.clone();
    m0.rnn.set_dropout(0.0).unwrap();
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
    let t0 = m0.forward_train(x.view(), None, Readout::EveryStep, &mut rng).unwrap();
    assert!(close(&t0.y().to_owned(), &eval, 0.0));
}

/// The same seed gives the same parameters; every init scheme gives its documented structure.
#[test]
fn init_schemes_are_seeded_and_shaped() {
    let c = RnnConfig::new(4, 6).with_num_layers(2);
    for init in [Init::PyTorch, Init::GlorotUniform, Init::Orthogonal, Init::Identity] {
        let a = Rnn::<f32>::new(c.clone(), init, 9).unwrap();
        assert_eq!(a, Rnn::<f32>::new(c.clone(), init, 9).unwrap(), "{init}");
        let w = a.layers()[1].weight_hh.mapv(|v| v as f64);
        match init {
            Init::PyTorch => {
                assert_ne!(a, Rnn::<f32>::new(c.clone(), init, 10).unwrap());
                let k = 1.0 / 6f64.sqrt();
                assert!(a.named_tensors().iter().all(|(_, t)| t.iter().all(|v| (*v as f64).abs() <= k)));
            }
            Init::GlorotUniform => assert!(w.iter().all(|v| v.abs() <= (6.0f64 / 12.0).sqrt() + 1e-7)),
            Init::Orthogonal => {
                let eye = w.t().dot(&w);
                assert!(eye.indexed_iter().all(|((i, j), v)| (v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-5));
            }
            Init::Identity => assert_eq!(w, ndarray::Array2::<f64>::eye(6)),
            other => panic!("no structure checked for {other}"),
        }
        if init != Init::PyTorch {
            assert!(a.layers()[0].bias_ih.as_ref().unwrap().iter().all(|v| *v == 0.0));
        }
    }
}

/// Wrong shapes are errors, not panics.
#[test]
fn shape_errors_are_values() {
    let rnn = Rnn::<f32>::new(RnnConfig::new(3, 4).with_num_layers(2), Init::PyTorch, 0).unwrap();
    let x = Array3::<f32>::zeros((5, 2, 7));
    let err = rnn.forward(x.view(), None).unwrap_err().to_string();
    assert!(err.contains("input") && err.contains("[5, 2, 7]"), "{err}");
    let x = Array3::<f32>::zeros((5, 2, 3));
    let h0 = Array3::<f32>::zeros((1, 2, 4));
    let err = rnn.forward(x.view(), Some(h0.view())).unwrap_err().to_string();
    assert!(err.contains("h0"), "{err}");
    let empty = Array3::<f32>::zeros((0, 2, 3));
    assert!(rnn.forward(empty.view(), None).is_err());
    let trace = rnn.forward_trace(x.view(), None).unwrap();
    let bad = Array3::<f32>::zeros((5, 2, 5));
    assert!(rnn.backward(&trace, bad.view(), None).is_err());
    assert!(RnnConfig::new(3, 0).validate().is_err());
    assert!(RnnConfig::new(3, 4).with_dropout(1.0).validate().is_err());
}

/// Regression: model files with several metadata keys came out in hash order, so the same model
/// gave different bytes from run to run.
#[test]
fn model_file_bytes_are_deterministic() {
    let model =
        Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 3), output_size: Some(1) }, Init::PyTorch, 0).unwrap();
    let meta: std::collections::HashMap<String, String> =
        (0..8).map(|i| (format!("key{i}"), format!("value {i}"))).collect();
    let first = model_file::to_bytes(&model, &meta).unwrap();
    for _ in 0..5 {
        let meta: std::collections::HashMap<String, String> = meta.clone().into_iter().collect();
        assert_eq!(model_file::to_bytes(&model, &meta).unwrap(), first);
    }
    let back = model_file::from_bytes::<f32>(&first, "<memory>".as_ref(), &LoadOptions::default()).unwrap();
    assert_eq!(back.metadata["key3"], "value 3");
}

/// At H >= 512 the per-step products read a packed W_hh (contiguous column panels): the
/// forward pass equals a naive recurrence and sampled gradient entries equal finite
/// differences.
#[test]
fn large_hidden_sizes_take_the_packed_path_correctly() {
    let (input, hidden, steps, batch) = (4, 520, 3, 2);
    let rnn = Rnn::<f64>::new(RnnConfig::new(input, hidden), Init::PyTorch, 5).unwrap();
    let x = data((steps, batch, input), 21);
    let (out, _) = rnn.forward(x.view(), None).unwrap();
    let p = &rnn.layers()[0];
    let mut h = ndarray::Array2::<f64>::zeros((batch, hidden));
    for t in 0..steps {
        let bias = p.bias_ih.as_ref().unwrap() + p.bias_hh.as_ref().unwrap();
        h = (x.index_axis(Axis(0), t).dot(&p.weight_ih.t()) + h.dot(&p.weight_hh.t()) + &bias).mapv(f64::tanh);
        let diff = (&h - &out.index_axis(Axis(0), t)).mapv(f64::abs).fold(0.0f64, |m, &v| m.max(v));
        assert!(diff < 1e-12, "step {t}: {diff}");
    }
    let r = data(out.dim(), 22);
    let loss = |m: &Rnn<f64>| (&m.forward(x.view(), None).unwrap().0 * &r).sum();
    let trace = rnn.forward_trace(x.view(), None).unwrap();
    let grads = rnn.backward(&trace, r.view(), None).unwrap();
    for (i, j) in [(0, 0), (7, 300), (519, 519), (260, 3)] {
        let eps = 1e-5;
        let mut plus = rnn.clone();
        plus.layers_mut()[0].weight_hh[[i, j]] += eps;
        let mut minus = rnn.clone();
        minus.layers_mut()[0].weight_hh[[i, j]] -= eps;
        let numeric = (loss(&plus) - loss(&minus)) / (2.0 * eps);
        let analytic = grads.layers[0].weight_hh[[i, j]];
        assert!((numeric - analytic).abs() < 1e-7 * (1.0 + analytic.abs()), "dW_hh[{i},{j}]: {analytic} vs {numeric}");
    }
}

/// Batches of 8 and more take the packed (Goto) path: the forward reads a packed `W_hhᵀ`, and
/// when `T·B < H` the backward steps read `W_hh` in place; a two-layer stack runs its backward
/// in one buffer (dA over the state gradient, the input gradient over dA). In f64: sampled
/// gradient entries of both layers equal finite differences; in f32 (the AVX-512 kernels where
/// the CPU has them): every gradient equals the f64 one to float precision.
#[test]
fn batched_products_on_the_packed_and_direct_paths_are_correct() {
    let (input, hidden, steps, batch) = (6, 160, 3, 10);
    let config = RnnConfig::new(input, hidden).with_num_layers(2);
    let rnn = Rnn::<f64>::new(config.clone(), Init::PyTorch, 8).unwrap();
    let x = data((steps, batch, input), 31);
    let r = data((steps, batch, hidden), 32);
    let loss = |m: &Rnn<f64>| (&m.forward(x.view(), None).unwrap().0 * &r).sum();
    let trace = rnn.forward_trace(x.view(), None).unwrap();
    let grads = rnn.backward(&trace, r.view(), None).unwrap();
    let eps = 1e-5;
    for (layer, i, j) in [(0, 0, 0), (0, 150, 7), (1, 3, 159), (1, 80, 80)] {
        let mut plus = rnn.clone();
        plus.layers_mut()[layer].weight_hh[[i, j]] += eps;
        let mut minus = rnn.clone();
        minus.layers_mut()[layer].weight_hh[[i, j]] -= eps;
        let numeric = (loss(&plus) - loss(&minus)) / (2.0 * eps);
        let analytic = grads.layers[layer].weight_hh[[i, j]];
        assert!((numeric - analytic).abs() < 1e-7 * (1.0 + analytic.abs()), "layer {layer} dW_hh[{i},{j}]");
    }
    for (t, b, k) in [(0, 0, 0), (2, 9, 5), (1, 4, 3)] {
        let mut xp = x.clone();
        xp[[t, b, k]] += eps;
        let mut xm = x.clone();
        xm[[t, b, k]] -= eps;
        let lp = (&rnn.forward(xp.view(), None).unwrap().0 * &r).sum();
        let lm = (&rnn.forward(xm.view(), None).unwrap().0 * &r).sum();
        let numeric = (lp - lm) / (2.0 * eps);
        let analytic = grads.input.as_ref().expect("input gradient")[[t, b, k]];
        assert!((numeric - analytic).abs() < 1e-7 * (1.0 + analytic.abs()), "dx[{t},{b},{k}]");
    }

    let rnn32 = Rnn::<f32>::new(config, Init::PyTorch, 8).unwrap();
    let x32 = x.mapv(|v| v as f32);
    let trace32 = rnn32.forward_trace(x32.view(), None).unwrap();
    let grads32 = rnn32.backward(&trace32, r.mapv(|v| v as f32).view(), None).unwrap();
    for (l, (g64, g32)) in grads.layers.iter().zip(&grads32.layers).enumerate() {
        for ((name, a), (_, b)) in g64.tensors().into_iter().zip(g32.tensors()) {
            let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let worst = a.iter().zip(b.iter()).fold(0.0f64, |m, (p, q)| m.max((p - *q as f64).abs()));
            assert!(worst < 1e-4 * (1.0 + scale), "layer {l} {name}: {worst} (scale {scale})");
        }
    }
}

/// The backward pass that writes `dA` over the hidden states (summing `dW_hh` chunk by chunk,
/// with `dL/dH_t` from the head computed step by step) equals the one with a separate `dA`
/// buffer and the head's gradient given in full: both directions, many-to-many and
/// many-to-one heads, square and narrow inputs (`W_hh` packed into the gradient of `W_ih`, or
/// into its own array), the packed product path (batch 9, H = 160) and the direct one, and
/// chunks that do not divide the sequence (37 steps in chunks of 5).
#[test]
fn backward_over_the_states_equals_backward_with_a_buffer() {
    use ndarray::Array2;
    use rnn::layer::{InputGrad, LayerGradsOut, Recurrence, Tape, Upstream};
    let (steps, batch, out) = (37, 9, 3);
    for (hidden, input, act, reverse, first) in [
        (160, 160, Nonlinearity::Tanh, false, 0),
        (160, 7, Nonlinearity::Relu, true, 0),
        (160, 7, Nonlinearity::Sigmoid, false, steps - 1),
        (12, 12, Nonlinearity::Tanh, true, steps - 1),
        (12, 5, Nonlinearity::Tanh, false, 0),
    ] {
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(hidden as u64 + input as u64);
        let p = LayerParams::<f64>::init(rnn::Cell::Rnn, input, hidden, None, true, Init::PyTorch, &mut rng);
        let rec = Recurrence { nonlinearity: act, reverse };
        let x = data((steps, batch, input), 41);
        let h0 = data((1, batch, hidden), 42).index_axis_move(Axis(0), 0);
        let mut hs = Array3::zeros((steps, batch, hidden));
        p.forward(rec, x.view(), h0.view(), hs.view_mut()).unwrap();
        let dz = data(((steps - first) * batch, out, 1), 43).index_axis_move(Axis(2), 0);
        let v = data((out, hidden, 1), 44).index_axis_move(Axis(2), 0);
        let d_hn = data((1, batch, hidden), 45).index_axis_move(Axis(0), 0);

        // reference: dL/dH in full, a dA buffer of its own
        let mut d_hs = Array3::<f64>::zeros((steps, batch, hidden));
        let dense = dz.dot(&v).into_shape_with_order((steps - first, batch, hidden)).unwrap();
        d_hs.slice_mut(s![first.., .., ..]).assign(&dense);
        // gradient buffers that start non-zero: the backward overwrites them
        let mut want = p.clone();
        let (mut want_dx, mut want_dh0, mut da) =
            (Array2::zeros((steps * batch, input)), Array2::zeros((batch, hidden)), Array3::zeros(hs.raw_dim()));
        let tape = Tape { x: x.view(), h0: h0.view(), hs: hs.view() };
        let o = LayerGradsOut {
            params: &mut want,
            dx: InputGrad::Write(want_dx.view_mut()),
            dh0: want_dh0.view_mut(),
            da: da.view_mut(),
            norms: None,
        };
        p.backward(rec, tape, Upstream::Given(d_hs.view()), d_hn.view(), o).unwrap();

        let mut got = p.clone();
        let (mut got_dx, mut got_dh0) = (Array2::zeros((steps * batch, input)), Array2::zeros((batch, hidden)));
        let mut states = hs.clone();
        let o = LayerGradsOut {
            params: &mut got,
            dx: InputGrad::Write(got_dx.view_mut()),
            dh0: got_dh0.view_mut(),
            da: states.view_mut(),
            norms: None,
        };
        let head = Upstream::Head { dz: dz.view(), weight: v.view(), first };
        p.backward_over_states(rec, x.view(), h0.view(), head, d_hn.view(), o).unwrap();

        let case = format!("H {hidden}, input {input}, {act:?}, reverse {reverse}, first {first}");
        let same = |name: &str, a: ndarray::ArrayViewD<'_, f64>, b: ndarray::ArrayViewD<'_, f64>| {
            let scale = a.iter().fold(1e-300f64, |m, v| m.max(v.abs()));
            let diff = a.iter().zip(b.iter()).fold(0.0f64, |m, (p, q)| m.max((p - q).abs()));
            assert!(diff <= 1e-12 * scale, "{case}: {name} differs by {diff:e} (scale {scale:e})");
        };
        for ((name, a), (_, b)) in want.tensors().into_iter().zip(got.tensors()) {
            same(name, a, b);
        }
        same("dA", da.view().into_dyn(), states.view().into_dyn());
        same("dx", want_dx.view().into_dyn(), got_dx.view().into_dyn());
        same("dh0", want_dh0.view().into_dyn(), got_dh0.view().into_dyn());
    }
}

/// A `Predictor` (the recurrent weights packed once) computes exactly what `Model::forward`
/// computes, on the packed product path (batch 10 at H = 160; H = 512 at any batch) and the
/// direct one, for stacked and bidirectional models, with and without `h0`.
#[test]
fn a_predictor_computes_what_model_forward_computes() {
    use rnn::Predictor;
    for (hidden, batch, layers, bidirectional, head) in
        [(160, 10, 2, true, Some(3)), (512, 2, 1, false, Some(1)), (12, 3, 3, false, None), (160, 10, 1, false, None)]
    {
        let config = ModelConfig {
            rnn: RnnConfig::new(5, hidden).with_num_layers(layers).with_bidirectional(bidirectional),
            output_size: head,
        };
        let model = Model::<f32>::new(config, Init::PyTorch, 3).unwrap();
        let predictor = Predictor::new(&model);
        let x = data((7, batch, 5), 51).mapv(|v| v as f32);
        let dirs = if bidirectional { 2 } else { 1 };
        let h0 = data((layers * dirs, batch, hidden), 52).mapv(|v| v as f32);
        for h0 in [None, Some(h0.view())] {
            let (y, h_n) = predictor.forward(x.view(), h0).unwrap();
            let (y_model, h_n_model) = model.forward(x.view(), h0).unwrap();
            assert_eq!(y, y_model, "H {hidden}, batch {batch}");
            assert_eq!(h_n, h_n_model, "H {hidden}, batch {batch}");
        }
        // and it refuses what the model refuses
        assert!(predictor.forward(data((7, batch, 4), 53).mapv(|v| v as f32).view(), None).is_err());
    }
}

/// A short series for the statistical forecasters: constant, trending, seasonal, with zeros or
/// negative values, 1 to 60 values.
fn series() -> impl Strategy<Value = Vec<f64>> {
    (1usize..60, 0usize..4, -100.0f64..100.0, 0.0f64..50.0, any::<u64>()).prop_map(|(n, kind, level, spread, seed)| {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|t| match kind {
                0 => level,
                1 => level + spread * t as f64 / 10.0,
                2 => level + spread * [1.0, -0.5, 0.2, -0.7][t % 4] + rng.random::<f64>(),
                _ => (level + spread * (rng.random::<f64>() - 0.5)).max(0.0),
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The statistical baselines (augurs, anofox-forecast, u-analytics) never panic on a series
    /// the forecaster accepts: each gives h finite forecasts or declines (`None`).
    #[test]
    fn statistical_baselines_forecast_or_decline(y in series(), m in 1usize..13, h in 1usize..6) {
        use rnn::tasks::forecast::statistical;
        let t = y.len() - 1;
        for (name, f) in [
            ("AutoETS", statistical::auto_ets_at as fn(&[f64], usize, usize, usize) -> Option<Vec<f64>>),
            ("AutoETS on ln y", statistical::auto_ets_log_at),
            ("Theta", statistical::theta_at),
            ("Holt-Winters", statistical::holt_winters_at),
        ] {
            if let Some(p) = f(&y, t, h, m) {
                prop_assert!(p.len() == h && p.iter().all(|v| v.is_finite()), "{name}: {p:?}");
            }
        }
    }
}
