//! Small products and jobs that reach the crate's `unsafe` code on every path Miri can run, sized
//! for Miri (an interpreter some thousand times slower than a release build): the direct and
//! packed (Goto) kernels, the vector-matrix kernel, the column views a split product hands to
//! the pool's threads, the pool itself, the `f32` activations and Adam's update. The other tests
//! are too large for Miri; these run in a second in a normal build.
//!
//! `bash tests/miri.sh` runs them under Miri twice: on the portable path, and built for AVX2 and
//! FMA, where the packed path and the AVX2 kernels run (Miri interprets their intrinsics). The
//! AVX-512 kernels stay outside (Miri does not interpret their intrinsics). Run alone, they
//! take `miri_` as a filter: `cargo test --lib miri_`.

use ndarray::{Array2, ArrayD, IxDyn};

use super::{Mat, MatMut, Packed, gemm, gemm_packed, gemv_packed, packed_path};
use crate::compute::pool;

/// `A [m, k]`, `B [k, n]`, `C [m, n]` filled with small values that vary along every axis.
fn operands(m: usize, k: usize, n: usize) -> (Array2<f32>, Array2<f32>, Array2<f32>) {
    let a = Array2::from_shape_fn((m, k), |(i, j)| ((i * 7 + j * 3) % 11) as f32 * 0.1 - 0.5);
    let b = Array2::from_shape_fn((k, n), |(i, j)| ((i * 5 + j * 13) % 17) as f32 * 0.05 - 0.4);
    let c = Array2::from_shape_fn((m, n), |(i, j)| (i + j) as f32 * 0.01);
    (a, b, c)
}

/// `C + A B` (or `A B`) in `f64`, the oracle.
fn product(a: &Array2<f32>, b: &Array2<f32>, c: &Array2<f32>, acc: bool) -> Array2<f64> {
    let (a, b) = (a.mapv(f64::from), b.mapv(f64::from));
    let ab = a.dot(&b);
    if acc { ab + c.mapv(f64::from) } else { ab }
}

fn assert_close(got: &Array2<f32>, want: &Array2<f64>, what: &str) {
    let k = want.ncols().max(1) as f64;
    for (x, y) in got.iter().zip(want.iter()) {
        assert!((f64::from(*x) - y).abs() < 1e-5 * (1.0 + k), "{what}: {x} against {y}");
    }
}

/// Every product path: the direct kernels (A as stored and transposed), the packed path with
/// several passes over k, more rows than one packed block of A and A packed or read in place,
/// and `gemm_packed` on one row (the vector-matrix kernel), on a few rows (the direct kernels
/// over sub-panels) and on enough rows for the packed path.
#[test]
fn miri_products_on_every_path() {
    let shapes = [(3, 5, 7), (8, 256, 32), (8, 300, 40), (150, 16, 32), (8, 32, 256)];
    for (m, k, n) in shapes {
        let (a, b, c0) = operands(m, k, n);
        let at = a.t().as_standard_layout().into_owned();
        for acc in [false, true] {
            let want = product(&a, &b, &c0, acc);
            let (a_s, b_s) = (a.as_slice().expect("standard"), b.as_slice().expect("standard"));
            let mut c = c0.clone();
            gemm(Mat::new(a_s, m, k), Mat::new(b_s, k, n), c.as_slice_mut().expect("standard"), n, acc);
            assert_close(&c, &want, &format!("gemm {m}x{k}x{n}"));
            let mut c = c0.clone();
            let a_t = Mat::transposed(at.as_slice().expect("standard"), m, k);
            gemm(a_t, Mat::new(b_s, k, n), c.as_slice_mut().expect("standard"), n, acc);
            assert_close(&c, &want, &format!("gemm Aᵀ {m}x{k}x{n}"));
        }
    }
    // a packed B of whole panels and a narrower last one, from rows and from a transposed view
    let (k, n) = (40, 70);
    for rows in [1, 5, 8] {
        let (a, b, c0) = operands(rows, k, n);
        let bt = b.t().as_standard_layout().into_owned();
        for packed in [Packed::pack(b.view()), Packed::pack(bt.t())] {
            let want = product(&a, &b, &c0, true);
            let mut c = c0.clone();
            let a_s = a.as_slice().expect("standard");
            gemm_packed(Mat::new(a_s, rows, k), packed.view(), c.as_slice_mut().expect("standard"), n, true, None);
            assert_close(&c, &want, &format!("gemm_packed {rows}x{k}x{n}"));
        }
    }
    // the packed path over a packed B (when this ISA has it)
    let (m, k, n) = (8, 256, 64);
    let (a, b, c0) = operands(m, k, n);
    let packed = Packed::pack(b.view());
    let mut c = c0.clone();
    gemm_packed(
        Mat::new(a.as_slice().expect("standard"), m, k),
        packed.view(),
        c.as_slice_mut().expect("standard"),
        n,
        false,
        None,
    );
    assert_close(&c, &product(&a, &b, &c0, false), &format!("packed path {m}x{k}x{n}"));
    if cfg!(all(target_feature = "avx2", target_feature = "fma")) {
        // built for AVX2 (as `tests/miri.sh` builds it), these shapes take the packed path
        assert!(packed_path::<f32>(8, 256, 32) && packed_path::<f32>(m, k, n), "the packed path's threshold moved");
    }
    // the vector-matrix kernel alone
    let (a, b, c0) = operands(1, 40, 70);
    let mut y = c0.row(0).to_vec();
    gemv_packed(a.row(0).as_slice().expect("standard"), Packed::pack(b.view()).view(), &mut y, true);
    let y = Array2::from_shape_vec((1, 70), y).expect("one row");
    assert_close(&y, &product(&a, &b, &c0, true), "gemv_packed");
}

/// A product's columns handed to the pool's threads as disjoint views ([`MatMut::split`]), each
/// part writing only its own rectangle, by rows and by columns; and `over_columns`, which the
/// large products split through.
#[test]
fn miri_split_views_on_the_pool() {
    let threads = pool::threads();
    for by_rows in [false, true] {
        let (rows, cols) = (6, 5 * threads);
        let mut data = vec![0.0f32; rows * cols];
        let per = if by_rows { rows.div_ceil(threads) } else { 5 };
        let parts = MatMut::new(&mut data, rows, cols, cols).split(by_rows, per);
        pool::run(1 << 30, &|part| {
            if let Some(mut view) = parts.part(part) {
                // a part's rows are numbered from its first, its columns as in the whole
                let (j0, j1) = view.col_range();
                let r0 = if by_rows { part * per } else { 0 };
                for r in 0..view.rows() {
                    for (j, v) in view.row(r, j0, j1 - j0).iter_mut().enumerate() {
                        *v += (part * 1000 + (r0 + r) * 100 + j0 + j) as f32;
                    }
                }
            }
        });
        // every element written once, by the part that owns it
        for r in 0..rows {
            for j in 0..cols {
                let part = if by_rows { r / per } else { j / per };
                assert_eq!(data[r * cols + j], (part * 1000 + r * 100 + j) as f32, "({r}, {j}) by rows: {by_rows}");
            }
        }
    }
    let cols = 2 * super::PANEL * threads;
    let mut data = vec![0.0f32; 3 * cols];
    super::gemm::over_columns(MatMut::new(&mut data, 3, cols, cols), true, 1 << 30, |c, j0, j1| {
        for r in 0..c.rows() {
            c.row(r, j0, j1 - j0).iter_mut().for_each(|v| *v += 1.0);
        }
    });
    assert!(data.iter().all(|&v| v == 1.0), "over_columns covers every column once");
}

/// The pool's jobs: every part once, items handed out once, a nested job inline, a panic
/// resumed in the caller, and the shared zeroing of a large buffer.
#[test]
fn miri_pool_jobs() {
    let n = pool::threads();
    let hits: Vec<std::sync::atomic::AtomicUsize> = (0..n).map(|_| Default::default()).collect();
    for _ in 0..3 {
        pool::run(1 << 30, &|part| {
            hits[part].fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            pool::run(1, &|_| ());
        });
    }
    assert!(hits.iter().all(|h| h.load(std::sync::atomic::Ordering::Relaxed) == 3));
    let mut rows = vec![0u32; 3 * n + 1];
    let per = rows.len().div_ceil(n);
    pool::run_each(rows.chunks_mut(per), 1 << 30, &|chunk: &mut [u32]| chunk.iter_mut().for_each(|v| *v += 1));
    assert!(rows.iter().all(|&v| v == 1));
    let caught = std::panic::catch_unwind(|| pool::run(1 << 30, &|part| assert!(part != n - 1, "the last part fails")));
    assert!(caught.is_err());
    let zeros: Vec<f32> = pool::zeros(pool::SHARED_ZEROS_MIN + 7);
    assert!(zeros.iter().all(|v| v.to_bits() == 0));
}

/// The activations' vector paths and Adam's fused update (each behind a `target_feature`
/// function) against their scalar forms.
#[test]
fn miri_activations_and_adam() {
    use crate::Nonlinearity;
    let x: Vec<f32> = (0..40).map(|i| i as f32 * 0.37 - 7.0).collect();
    for act in [Nonlinearity::Tanh, Nonlinearity::Sigmoid, Nonlinearity::Relu] {
        let mut v = x.clone();
        act.apply_slice(&mut v);
        for (got, &x) in v.iter().zip(&x) {
            assert_eq!(got.to_bits(), act.apply(x).to_bits(), "{act} at {x}");
        }
    }
    let mut opt = crate::optim::Optimizer::<f32>::new(crate::optim::OptimizerConfig::adam()).expect("valid");
    let mut p = ArrayD::<f32>::from_shape_fn(IxDyn(&[37]), |i| i[0] as f32 * 0.1);
    let g = ArrayD::<f32>::from_shape_fn(IxDyn(&[37]), |i| 1.0 - i[0] as f32 * 0.05);
    opt.step(0.01, &mut [p.view_mut()], &[g.view()]).expect("same shapes");
    // Adam's first step moves each entry by about lr against its gradient's sign
    for (i, (&p, &g)) in p.iter().zip(g.iter()).enumerate() {
        let moved = p - i as f32 * 0.1;
        assert!(g == 0.0 || (moved + 0.01 * g.signum()).abs() < 1e-4, "entry {i} moved {moved}");
    }
}

/// A small LSTM stepped by a [`Stepper`](crate::Stepper) split across the pool (a layer big
/// enough to be split) agrees with the same model's forward pass.
#[test]
fn miri_stepper_on_the_pool() {
    use crate::{Cell, Init, Model, ModelConfig, RnnConfig, Stepper};
    let rnn = RnnConfig::new(64, 64).with_cell(Cell::Lstm);
    let model = Model::<f32>::new(ModelConfig { rnn, output_size: Some(1) }, Init::PyTorch, 1).expect("valid");
    let x = ndarray::Array3::<f32>::from_shape_fn((2, 1, 64), |(t, _, i)| ((t * 64 + i) % 9) as f32 * 0.1 - 0.4);
    let mut stepper = Stepper::new(&model, 1).expect("one stream");
    let mut last = 0.0;
    for t in 0..2 {
        last = stepper.step(x.index_axis(ndarray::Axis(0), t)).expect("one stream")[[0, 0]];
    }
    let (y, _) = model.forward(x.view(), None).expect("shapes");
    assert!((last - y[[1, 0, 0]]).abs() < 1e-5, "{last} against {}", y[[1, 0, 0]]);
}
