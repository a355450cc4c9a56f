//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::Path;

use ndarray::{ArrayD, IxDyn};
use safetensors::{Dtype, SafeTensors};

/// Every tensor of a safetensors file, widened to f64.
pub fn read_tensors(path: &Path) -> HashMap<String, ArrayD<f64>> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let st = SafeTensors::deserialize(&bytes).unwrap();
    st.tensors()
        .into_iter()
        .map(|(name, t)| {
            let values: Vec<f64> = match t.dtype() {
                Dtype::F32 => {
                    t.data().chunks_exact(4).map(|b| f32::from_le_bytes(b.try_into().unwrap()) as f64).collect()
                }
                Dtype::F64 => t.data().chunks_exact(8).map(|b| f64::from_le_bytes(b.try_into().unwrap())).collect(),
                other => panic!("{name}: unexpected dtype {other:?}"),
            };
            (name, ArrayD::from_shape_vec(IxDyn(t.shape()), values).unwrap())
        })
        .collect()
}

/// Largest `|a - b| / max(1, |b|)` over two arrays of the same shape.
pub fn max_scaled_diff(a: &ArrayD<f64>, b: &ArrayD<f64>, what: &str) -> f64 {
    assert_eq!(a.shape(), b.shape(), "{what}: shapes differ");
    a.iter().zip(b.iter()).map(|(x, y)| (x - y).abs() / y.abs().max(1.0)).fold(0.0, f64::max)
}
