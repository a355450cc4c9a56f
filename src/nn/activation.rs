//! The nonlinearities of the recurrence and their derivatives, written in terms of the
//! activation's *output* so the backward pass needs only the stored hidden states.
//!
//! # Example
//! ```
//! use rnn::{Nonlinearity, RnnConfig};
//! let relu: Nonlinearity = "relu".parse()?;
//! assert_eq!(relu.apply(-1.0f32), 0.0);
//! let config = RnnConfig::new(2, 4).with_nonlinearity(relu); // nn.RNN(2, 4, nonlinearity="relu")
//! assert_eq!(config.nonlinearity, Nonlinearity::Relu);
//! # Ok::<(), rnn::Error>(())
//! ```

#[cfg(target_arch = "x86_64")]
use crate::compute::kernels::Isa;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Float};

/// The activation `act` in `h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)`.
///
/// Names follow PyTorch's `nonlinearity` argument (`"tanh"`, `"relu"`), plus `"sigmoid"`.
///
/// # Example
/// ```
/// use rnn::Nonlinearity;
/// assert_eq!("relu".parse::<Nonlinearity>()?, Nonlinearity::Relu);
/// assert_eq!((Nonlinearity::default(), Nonlinearity::Tanh.name()), (Nonlinearity::Tanh, "tanh"));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Nonlinearity {
    /// Hyperbolic tangent (PyTorch's default).
    #[default]
    Tanh,
    /// Rectified linear unit, `max(0, a)`.
    Relu,
    /// Logistic sigmoid, `1 / (1 + e^-a)`.
    Sigmoid,
}

impl Nonlinearity {
    /// The name used in model files and on the command line.
    ///
    /// # Example
    /// ```
    /// use rnn::Nonlinearity;
    /// assert_eq!(Nonlinearity::Relu.name(), "relu");
    /// // the name parses back
    /// assert_eq!(Nonlinearity::Sigmoid.name().parse::<Nonlinearity>()?, Nonlinearity::Sigmoid);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            Nonlinearity::Tanh => "tanh",
            Nonlinearity::Relu => "relu",
            Nonlinearity::Sigmoid => "sigmoid",
        }
    }

    /// `act(a)`.
    ///
    /// # Example
    /// ```
    /// use rnn::Nonlinearity;
    /// assert_eq!(Nonlinearity::Relu.apply(-2.0f64), 0.0);
    /// let h = Nonlinearity::Tanh.apply(0.5f64);
    /// assert!((h - 0.5f64.tanh()).abs() < 1e-15);
    /// assert_eq!("sigmoid".parse::<Nonlinearity>()?.name(), "sigmoid");
    /// # Ok::<(), rnn::Error>(())
    /// ```
    #[inline]
    pub fn apply<F: Float>(self, a: F) -> F {
        // through the slice path, so that a value is the same bit for bit however it is reached
        let mut one = [a];
        self.apply_slice(&mut one);
        one[0]
    }

    /// `act'(a)` computed from the output `h = act(a)`: tanh `1 - h²`, sigmoid `h (1 - h)`,
    /// relu `1` if `h > 0` else `0`.
    ///
    /// # Example
    /// ```
    /// use rnn::Nonlinearity;
    /// let a = 0.3f64;
    /// let h = Nonlinearity::Sigmoid.apply(a);
    /// let numeric = (Nonlinearity::Sigmoid.apply(a + 1e-6) - h) / 1e-6;
    /// assert!((Nonlinearity::Sigmoid.derivative_from_output(h) - numeric).abs() < 1e-6);
    /// ```
    #[inline]
    pub fn derivative_from_output<F: Float>(self, h: F) -> F {
        match self {
            Nonlinearity::Tanh => F::one() - h * h,
            Nonlinearity::Relu => {
                if h > F::zero() {
                    F::one()
                } else {
                    F::zero()
                }
            }
            Nonlinearity::Sigmoid => h * (F::one() - h),
        }
    }

    /// Applies `act` to every element in place (a tight loop over the slice when contiguous).
    ///
    /// # Example
    /// ```
    /// use ndarray::arr2;
    /// use rnn::Nonlinearity;
    /// let mut a = arr2(&[[-1.0f32, 2.0], [0.5, -0.5]]);
    /// Nonlinearity::Relu.apply_in_place(a.view_mut());
    /// assert_eq!(a, arr2(&[[0.0, 2.0], [0.5, 0.0]]));
    /// ```
    pub fn apply_in_place<F: Float>(self, mut a: ndarray::ArrayViewMut2<'_, F>) {
        match a.as_slice_mut() {
            Some(s) => self.apply_slice(s),
            None => a.into_iter().for_each(|v| *v = self.apply(*v)),
        }
    }

    /// Applies `act` to every element of a slice in place.
    ///
    /// # Example
    /// ```
    /// use rnn::Nonlinearity;
    /// let mut a = [0.0f32, 100.0];
    /// Nonlinearity::Sigmoid.apply_slice(&mut a);
    /// assert_eq!(a, [0.5, 1.0]);
    /// ```
    pub fn apply_slice<F: Float>(self, a: &mut [F]) {
        #[cfg(target_arch = "x86_64")]
        match crate::compute::kernels::isa() {
            // SAFETY: `isa()` names an instruction set only when the CPU has it (AVX-512F).
            Isa::Avx512 => return unsafe { self.apply_slice_avx512(a) },
            // SAFETY: as above (AVX2).
            Isa::Avx2 => return unsafe { self.apply_slice_avx2(a) },
            Isa::Portable => {}
        }
        self.apply_slice_inner::<F, PORTABLE_FUSED>(a)
    }

    /// [`Nonlinearity::apply_slice`] compiled for 16-lane vectors.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f,fma")]
    unsafe fn apply_slice_avx512<F: Float>(self, a: &mut [F]) {
        self.apply_slice_inner::<F, true>(a)
    }

    /// [`Nonlinearity::apply_slice`] compiled for 8-lane vectors.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn apply_slice_avx2<F: Float>(self, a: &mut [F]) {
        self.apply_slice_inner::<F, true>(a)
    }

    /// The loop over the slice; `FUSED`: the `f32` tanh and sigmoid in fused multiply-adds
    /// ([`Float::tanh_fused`]), which only code compiled for FMA asks for.
    #[inline(always)]
    fn apply_slice_inner<F: Float, const FUSED: bool>(self, a: &mut [F]) {
        match (self, FUSED) {
            (Nonlinearity::Tanh, false) => a.iter_mut().for_each(|v| *v = v.tanh_fast()),
            (Nonlinearity::Tanh, true) => a.iter_mut().for_each(|v| *v = v.tanh_fused()),
            (Nonlinearity::Relu, _) => a.iter_mut().for_each(|v| *v = v.max(F::zero())),
            (Nonlinearity::Sigmoid, false) => a.iter_mut().for_each(|v| *v = v.sigmoid_fast()),
            (Nonlinearity::Sigmoid, true) => a.iter_mut().for_each(|v| *v = v.sigmoid_fused()),
        }
    }
}

/// Whether the portable path fuses its multiply-adds: where the target has them in hardware
/// (every aarch64 CPU; x86-64 only when built for FMA), since elsewhere `mul_add` is a call.
const PORTABLE_FUSED: bool = cfg!(any(target_arch = "aarch64", target_feature = "fma"));

impl fmt::Display for Nonlinearity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Nonlinearity {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "tanh" => Ok(Nonlinearity::Tanh),
            "relu" => Ok(Nonlinearity::Relu),
            "sigmoid" => Ok(Nonlinearity::Sigmoid),
            other => Err(Error::Config(format!("unknown nonlinearity `{other}` (expected tanh, relu or sigmoid)"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derivatives_match_finite_differences() {
        for act in [Nonlinearity::Tanh, Nonlinearity::Relu, Nonlinearity::Sigmoid] {
            for &a in &[-2.0f64, -0.3, 0.4, 1.7] {
                let eps = 1e-6;
                let numeric = (act.apply(a + eps) - act.apply(a - eps)) / (2.0 * eps);
                let analytic = act.derivative_from_output(act.apply(a));
                assert!((numeric - analytic).abs() < 1e-8, "{act} at {a}");
            }
        }
    }

    /// Every path the slice loop takes (the CPU's widest ISA, AVX2 with FMA, and the portable
    /// loop) gives the `f32` tanh and sigmoid within half an ulp of the exact values, and the
    /// single-value `apply` is the slice path's value bit for bit.
    #[test]
    fn every_isa_rounds_tanh_and_sigmoid_within_half_an_ulp() {
        use crate::compute::kernels::{FORCED_ISA, Isa, isa};
        use crate::scalar::tests::worst;
        let detected = isa();
        for forced in [detected, Isa::Avx2, Isa::Portable] {
            if forced > detected {
                continue;
            }
            FORCED_ISA.set(Some(forced));
            let result = std::panic::catch_unwind(|| {
                for (act, exact) in [
                    (Nonlinearity::Tanh, f64::tanh as fn(f64) -> f64),
                    (Nonlinearity::Sigmoid, |x: f64| 1.0 / (1.0 + (-x).exp())),
                ] {
                    let (abs, ulp) = worst(|x| act.apply(x), exact);
                    assert!(abs <= 2.99e-8 && ulp <= 0.5001, "{act}: {abs:e} abs, {ulp} ulp");
                    let xs: Vec<f32> = (0..1000).map(|i| (i as f32 - 500.0) * 0.0237).collect();
                    let mut ys = xs.clone();
                    act.apply_slice(&mut ys);
                    assert!(xs.iter().zip(&ys).all(|(&x, &y)| act.apply(x).to_bits() == y.to_bits()), "{act}");
                }
            });
            FORCED_ISA.set(None);
            assert!(result.is_ok(), "{forced:?}");
        }
    }

    #[test]
    fn parses_names() {
        assert_eq!("relu".parse::<Nonlinearity>().unwrap(), Nonlinearity::Relu);
        assert!("gelu".parse::<Nonlinearity>().is_err());
    }
}
