//! The output head `y = V h + c`: PyTorch's `nn.Linear` on the top layer's hidden states.
//!
//! # Example
//! ```
//! use ndarray::array;
//! use rnn::{Init, Linear};
//! let mut head = Linear::<f64>::init(2, 1, Init::PyTorch, &mut rand::rng());
//! head.weight = array![[1.0, -1.0]];
//! head.bias = Some(array![0.5]);
//! let z = head.forward(array![[3.0, 1.0], [0.0, 2.0]].view())?; // two hidden states
//! assert_eq!(z, array![[2.5], [-1.5]]);
//! # Ok::<(), rnn::Error>(())
//! ```

use crate::kernels::matmul;
use ndarray::{Array1, Array2, ArrayView2, ArrayViewD, ArrayViewMutD};
use rand::Rng;

use crate::nn::init::{self, Init};
use crate::{Error, Float, Result};

/// A linear layer `z = x Wᵀ + b` with PyTorch's names (`weight [out, in]`, `bias [out]`).
///
/// The same type holds its gradients.
///
/// # Example
/// ```
/// use rnn::{Init, Linear};
/// let mut head = Linear::<f32>::init(8, 2, Init::PyTorch, &mut rand::rng());
/// assert_eq!((head.in_features(), head.out_features()), (8, 2));
/// let names: Vec<&str> = head.tensors().into_iter().map(|(n, _)| n).collect();
/// assert_eq!(names, ["weight", "bias"]);
/// for (_, mut t) in head.tensors_mut() {
///     t.fill(1.0);
/// }
/// let grads = head.zeros_like(); // a gradient buffer of the same shapes
/// assert_eq!(grads.weight.dim(), (2, 8));
/// assert!(grads.weight.iter().all(|g| *g == 0.0) && head.weight.iter().all(|w| *w == 1.0));
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Linear<F = f32> {
    /// `V`, shape `[out_features, in_features]`.
    pub weight: Array2<F>,
    /// `c`, shape `[out_features]`.
    pub bias: Option<Array1<F>>,
}

impl<F: Float> Linear<F> {
    /// A fresh layer; see [`Init`] for the distribution.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Linear};
    /// use rand::SeedableRng;
    /// let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    /// let head = Linear::<f32>::init(4, 2, Init::PyTorch, &mut rng); // nn.Linear(4, 2)
    /// assert_eq!(head.weight.dim(), (2, 4));
    /// assert!(head.weight.iter().all(|w| w.abs() <= 0.5)); // U(-1/√4, 1/√4)
    /// let glorot = Linear::<f32>::init(4, 2, Init::GlorotUniform, &mut rng);
    /// assert!(glorot.bias.is_some_and(|b| b.iter().all(|v| *v == 0.0)));
    /// ```
    pub fn init<R: Rng + ?Sized>(in_features: usize, out_features: usize, scheme: Init, rng: &mut R) -> Self {
        match scheme {
            Init::PyTorch | Init::Identity => {
                let k = 1.0 / (in_features as f64).sqrt();
                let weight = init::uniform2(out_features, in_features, k, rng);
                Linear { weight, bias: Some(init::uniform1(out_features, k, rng)) }
            }
            Init::GlorotUniform | Init::Orthogonal => Linear {
                weight: init::uniform2(out_features, in_features, init::glorot_bound(in_features, out_features), rng),
                bias: Some(Array1::zeros(out_features)),
            },
        }
    }

    /// All-zero parameters of the same shapes (a gradient buffer).
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Linear};
    /// let head = Linear::<f64>::init(4, 2, Init::PyTorch, &mut rand::rng());
    /// let mut grads = head.zeros_like(); // accumulate gradients into it
    /// assert_eq!(grads.weight.dim(), head.weight.dim());
    /// grads.weight[[0, 0]] += 1.0;
    /// assert_eq!(grads.weight.sum(), 1.0);
    /// ```
    pub fn zeros_like(&self) -> Self {
        Linear {
            weight: Array2::zeros(self.weight.raw_dim()),
            bias: self.bias.as_ref().map(|b| Array1::zeros(b.len())),
        }
    }

    /// `in_features`.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Linear};
    /// let head = Linear::<f32>::init(6, 1, Init::PyTorch, &mut rand::rng());
    /// assert_eq!(head.in_features(), 6);
    /// ```
    pub fn in_features(&self) -> usize {
        self.weight.ncols()
    }

    /// `out_features`.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Linear};
    /// let head = Linear::<f32>::init(6, 3, Init::PyTorch, &mut rand::rng());
    /// assert_eq!(head.out_features(), 3);
    /// ```
    pub fn out_features(&self) -> usize {
        self.weight.nrows()
    }

    /// `(name, tensor)` pairs: `weight`, then `bias` if present.
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Linear};
    /// let head = Linear::<f32>::init(4, 2, Init::PyTorch, &mut rand::rng());
    /// let shapes: Vec<(&str, Vec<usize>)> = head.tensors().into_iter().map(|(n, t)| (n, t.shape().to_vec())).collect();
    /// assert_eq!(shapes, [("weight", vec![2, 4]), ("bias", vec![2])]);
    /// ```
    pub fn tensors(&self) -> Vec<(&'static str, ArrayViewD<'_, F>)> {
        let mut out = vec![("weight", self.weight.view().into_dyn())];
        if let Some(b) = &self.bias {
            out.push(("bias", b.view().into_dyn()));
        }
        out
    }

    /// Mutable [`Linear::tensors`].
    ///
    /// # Example
    /// ```
    /// use rnn::{Init, Linear};
    /// let mut head = Linear::<f32>::init(4, 2, Init::PyTorch, &mut rand::rng());
    /// for (_, mut t) in head.tensors_mut() {
    ///     t.fill(0.0); // e.g. a zero start for the head
    /// }
    /// assert!(head.weight.iter().chain(head.bias.iter().flatten()).all(|v| *v == 0.0));
    /// ```
    pub fn tensors_mut(&mut self) -> Vec<(&'static str, ArrayViewMutD<'_, F>)> {
        let mut out = vec![("weight", self.weight.view_mut().into_dyn())];
        if let Some(b) = &mut self.bias {
            out.push(("bias", b.view_mut().into_dyn()));
        }
        out
    }

    /// `z = x Wᵀ + b` for every row of `x`.
    ///
    /// # Shapes
    /// `x [n, in_features]` → `[n, out_features]`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `x` has the wrong width.
    ///
    /// # Example
    /// ```
    /// use ndarray::{arr1, arr2};
    /// use rnn::Linear;
    /// let head = Linear { weight: arr2(&[[1.0, 2.0], [0.0, -1.0]]), bias: Some(arr1(&[0.5, 0.0])) };
    /// let z = head.forward(arr2(&[[1.0, 1.0], [2.0, 0.0]]).view())?;
    /// assert_eq!(z, arr2(&[[3.5, -1.0], [2.5, 0.0]]));
    /// assert!(head.forward(arr2(&[[1.0, 2.0, 3.0]]).view()).is_err()); // 3 features, not 2
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn forward(&self, x: ArrayView2<'_, F>) -> Result<Array2<F>> {
        if x.ncols() != self.in_features() {
            return Err(Error::shape("head input", format!("[n, {}]", self.in_features()), x.shape()));
        }
        let mut z = Array2::zeros((x.nrows(), self.out_features()));
        matmul(&x, &self.weight.t(), &mut z.view_mut(), false);
        if let Some(b) = &self.bias {
            z += b;
        }
        Ok(z)
    }

    /// Gradients given the input `x` the forward pass saw and `dz = dL/dz`: returns the
    /// parameter gradients and `dx = dL/dx`.
    ///
    /// `dW = dzᵀ x`, `db = column sums of dz`, `dx = dz W`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `dz` does not match.
    ///
    /// # Example
    /// ```
    /// use ndarray::{arr1, arr2};
    /// use rnn::Linear;
    /// let head = Linear { weight: arr2(&[[1.0, 2.0]]), bias: Some(arr1(&[0.0])) };
    /// let x = arr2(&[[3.0, 4.0], [1.0, 0.0]]);
    /// let dz = arr2(&[[1.0], [2.0]]);
    /// let (grads, dx) = head.backward(x.view(), dz.view())?;
    /// assert_eq!(grads.weight, arr2(&[[5.0, 4.0]])); // dzᵀ x
    /// assert_eq!(grads.bias, Some(arr1(&[3.0]))); // column sums of dz
    /// assert_eq!(dx, arr2(&[[1.0, 2.0], [2.0, 4.0]])); // dz W
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn backward(&self, x: ArrayView2<'_, F>, dz: ArrayView2<'_, F>) -> Result<(Linear<F>, Array2<F>)> {
        let grads = self.param_grads(x, dz)?;
        // dx = dz W
        let mut dx = Array2::zeros((x.nrows(), self.in_features()));
        matmul(&dz, &self.weight.view(), &mut dx.view_mut(), false);
        Ok((grads, dx))
    }

    /// The parameter gradients of [`Linear::backward`] alone: `dW = dzᵀ x`, `db = column sums
    /// of dz`.
    ///
    /// # Errors
    /// [`Error::Shape`] when `dz` does not match.
    ///
    /// # Example
    /// ```
    /// use ndarray::{arr1, arr2};
    /// use rnn::Linear;
    /// let head = Linear { weight: arr2(&[[1.0, 2.0]]), bias: None };
    /// let grads = head.param_grads(arr2(&[[3.0, 4.0]]).view(), arr2(&[[2.0]]).view())?;
    /// assert_eq!((grads.weight, grads.bias), (arr2(&[[6.0, 8.0]]), None));
    /// assert!(head.param_grads(arr2(&[[3.0, 4.0]]).view(), arr2(&[[2.0, 1.0]]).view()).is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn param_grads(&self, x: ArrayView2<'_, F>, dz: ArrayView2<'_, F>) -> Result<Linear<F>> {
        if dz.shape() != [x.nrows(), self.out_features()] || x.ncols() != self.in_features() {
            return Err(Error::shape(
                "grad of head output",
                format!("[{}, {}]", x.nrows(), self.out_features()),
                dz.shape(),
            ));
        }
        let mut grads = self.zeros_like();
        // dW = dzᵀ x
        matmul(&dz.t(), &x, &mut grads.weight.view_mut(), false);
        // db = Σ_rows dz
        if let Some(b) = &mut grads.bias {
            for row in dz.rows() {
                *b += &row;
            }
        }
        Ok(grads)
    }
}
