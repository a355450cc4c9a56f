//! Optimizer hyper-parameters with PyTorch's names and defaults.

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// An optimizer and its hyper-parameters, with PyTorch's names and defaults.
///
/// | Variant | PyTorch | Defaults |
/// |---|---|---|
/// | `Sgd` | `torch.optim.SGD` | momentum 0, dampening 0, nesterov false, weight_decay 0 |
/// | `Adam` | `torch.optim.Adam` | betas (0.9, 0.999), eps 1e-8, weight_decay 0 (L2, added to the gradient), amsgrad false |
/// | `AdamW` | `torch.optim.AdamW` | as Adam but weight_decay 0.01, decoupled (`p *= 1 - lr * wd`) |
/// | `Adagrad` | `torch.optim.Adagrad` | lr_decay 0, weight_decay 0, initial_accumulator_value 0, eps 1e-10 |
/// | `RmsProp` | `torch.optim.RMSprop` | alpha 0.99, eps 1e-8, weight_decay 0, momentum 0, centered false |
///
/// In JSON the variant is the field `name` (`sgd`, `adam`, `adamw`, `adagrad`, `rmsprop`); missing
/// fields take the defaults.
///
/// # Example
/// ```
/// use rnn::optim::OptimizerConfig;
/// let adam: OptimizerConfig = "adam".parse()?;
/// assert_eq!(adam, OptimizerConfig::adam());
/// let json = r#"{"name": "sgd", "momentum": 0.9}"#;
/// let sgd: OptimizerConfig = serde_json::from_str(json).unwrap();
/// assert!(matches!(sgd, OptimizerConfig::Sgd { momentum: 0.9, nesterov: false, .. }));
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
#[non_exhaustive]
pub enum OptimizerConfig {
    /// Stochastic gradient descent, optionally with (Nesterov) momentum.
    Sgd {
        /// Momentum factor, `>= 0`.
        #[serde(default)]
        momentum: f64,
        /// Dampening of the momentum (the new gradient enters with weight `1 - dampening`).
        #[serde(default)]
        dampening: f64,
        /// Nesterov momentum (needs `momentum > 0` and `dampening == 0`).
        #[serde(default)]
        nesterov: bool,
        /// L2 penalty added to the gradient, `>= 0`.
        #[serde(default)]
        weight_decay: f64,
    },
    /// Adam; weight decay is an L2 penalty added to the gradient.
    Adam {
        /// Decay of the first moment, in `[0, 1)`.
        #[serde(default = "beta1")]
        beta1: f64,
        /// Decay of the second moment, in `[0, 1)`.
        #[serde(default = "beta2")]
        beta2: f64,
        /// Added to the denominator, `>= 0`.
        #[serde(default = "eps_1e8")]
        eps: f64,
        /// L2 penalty added to the gradient, `>= 0`.
        #[serde(default)]
        weight_decay: f64,
        /// Use the running maximum of the second moment (AMSGrad).
        #[serde(default)]
        amsgrad: bool,
    },
    /// AdamW: Adam with decoupled weight decay.
    AdamW {
        /// Decay of the first moment, in `[0, 1)`.
        #[serde(default = "beta1")]
        beta1: f64,
        /// Decay of the second moment, in `[0, 1)`.
        #[serde(default = "beta2")]
        beta2: f64,
        /// Added to the denominator, `>= 0`.
        #[serde(default = "eps_1e8")]
        eps: f64,
        /// Decoupled decay: each step first multiplies the parameters by `1 - lr * weight_decay`.
        #[serde(default = "adamw_weight_decay")]
        weight_decay: f64,
        /// Use the running maximum of the second moment (AMSGrad).
        #[serde(default)]
        amsgrad: bool,
    },
    /// Adagrad.
    Adagrad {
        /// The step size is `lr / (1 + (step - 1) * lr_decay)`, `>= 0`.
        #[serde(default)]
        lr_decay: f64,
        /// L2 penalty added to the gradient, `>= 0`.
        #[serde(default)]
        weight_decay: f64,
        /// Starting value of the sum of squared gradients, `>= 0`.
        #[serde(default)]
        initial_accumulator_value: f64,
        /// Added to the denominator, `>= 0`.
        #[serde(default = "eps_1e10")]
        eps: f64,
    },
    /// RMSprop, optionally centered and with momentum.
    #[serde(rename = "rmsprop")]
    RmsProp {
        /// Smoothing constant of the squared-gradient average, in `[0, 1]`.
        #[serde(default = "alpha")]
        alpha: f64,
        /// Added to the denominator, `>= 0`.
        #[serde(default = "eps_1e8")]
        eps: f64,
        /// L2 penalty added to the gradient, `>= 0`.
        #[serde(default)]
        weight_decay: f64,
        /// Momentum factor, `>= 0`.
        #[serde(default)]
        momentum: f64,
        /// Normalise by the estimated variance of the gradient instead of its second moment.
        #[serde(default)]
        centered: bool,
    },
}

fn beta1() -> f64 {
    0.9
}
fn beta2() -> f64 {
    0.999
}
fn eps_1e8() -> f64 {
    1e-8
}
fn eps_1e10() -> f64 {
    1e-10
}
fn adamw_weight_decay() -> f64 {
    0.01
}
fn alpha() -> f64 {
    0.99
}

impl OptimizerConfig {
    /// The state tensors this optimizer keeps per parameter (Adam's two moments, ...): what
    /// its memory costs, in parameter-sized tensors.
    ///
    /// # Example
    /// ```
    /// use rnn::optim::OptimizerConfig;
    /// assert_eq!(OptimizerConfig::adam().state_slots(), 2); // exp_avg, exp_avg_sq
    /// assert_eq!(OptimizerConfig::sgd().state_slots(), 0); // no momentum
    /// assert_eq!(OptimizerConfig::adagrad().state_slots(), 1);
    /// ```
    pub fn state_slots(&self) -> usize {
        match self {
            OptimizerConfig::Sgd { momentum, .. } => usize::from(*momentum != 0.0),
            OptimizerConfig::Adam { amsgrad, .. } | OptimizerConfig::AdamW { amsgrad, .. } => 2 + usize::from(*amsgrad),
            OptimizerConfig::Adagrad { .. } => 1,
            OptimizerConfig::RmsProp { momentum, centered, .. } => {
                1 + usize::from(*momentum != 0.0) + usize::from(*centered)
            }
        }
    }

    /// `torch.optim.SGD`'s defaults: plain gradient descent.
    ///
    /// # Example
    /// ```
    /// use rnn::optim::OptimizerConfig;
    /// let c = OptimizerConfig::sgd();
    /// assert!(matches!(c, OptimizerConfig::Sgd { momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 }));
    /// ```
    pub fn sgd() -> Self {
        OptimizerConfig::Sgd { momentum: 0.0, dampening: 0.0, nesterov: false, weight_decay: 0.0 }
    }
    /// `torch.optim.Adam`'s defaults.
    pub fn adam() -> Self {
        OptimizerConfig::Adam { beta1: beta1(), beta2: beta2(), eps: eps_1e8(), weight_decay: 0.0, amsgrad: false }
    }
    /// `torch.optim.AdamW`'s defaults (weight_decay 0.01).
    ///
    /// # Example
    /// ```
    /// use rnn::optim::OptimizerConfig;
    /// let adamw = OptimizerConfig::adamw();
    /// assert_eq!(adamw.name(), "adamw");
    /// assert_eq!(serde_json::to_value(&adamw).map_err(|e| rnn::Error::Config(e.to_string()))?["weight_decay"], 0.01);
    /// assert_eq!("adamw".parse::<OptimizerConfig>()?, adamw);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn adamw() -> Self {
        OptimizerConfig::AdamW {
            beta1: beta1(),
            beta2: beta2(),
            eps: eps_1e8(),
            weight_decay: adamw_weight_decay(),
            amsgrad: false,
        }
    }
    /// `torch.optim.Adagrad`'s defaults.
    pub fn adagrad() -> Self {
        OptimizerConfig::Adagrad { lr_decay: 0.0, weight_decay: 0.0, initial_accumulator_value: 0.0, eps: eps_1e10() }
    }
    /// `torch.optim.RMSprop`'s defaults.
    pub fn rmsprop() -> Self {
        OptimizerConfig::RmsProp { alpha: alpha(), eps: eps_1e8(), weight_decay: 0.0, momentum: 0.0, centered: false }
    }

    /// The name used on the command line and in JSON: `sgd`, `adam`, `adamw`, `adagrad` or
    /// `rmsprop`.
    ///
    /// # Example
    /// ```
    /// use rnn::optim::OptimizerConfig;
    /// assert_eq!(OptimizerConfig::rmsprop().name(), "rmsprop");
    /// assert_eq!(serde_json::to_value(OptimizerConfig::rmsprop()).unwrap()["name"], "rmsprop");
    /// ```
    pub fn name(&self) -> &'static str {
        match self {
            OptimizerConfig::Sgd { .. } => "sgd",
            OptimizerConfig::Adam { .. } => "adam",
            OptimizerConfig::AdamW { .. } => "adamw",
            OptimizerConfig::Adagrad { .. } => "adagrad",
            OptimizerConfig::RmsProp { .. } => "rmsprop",
        }
    }

    /// Sets the weight decay (L2 for all but AdamW, decoupled for AdamW).
    ///
    /// # Example
    /// ```
    /// use rnn::optim::OptimizerConfig;
    /// let c = OptimizerConfig::sgd().with_weight_decay(1e-4);
    /// assert!(matches!(c, OptimizerConfig::Sgd { weight_decay: 1e-4, .. }));
    /// ```
    pub fn with_weight_decay(mut self, value: f64) -> Self {
        match &mut self {
            OptimizerConfig::Sgd { weight_decay, .. }
            | OptimizerConfig::Adam { weight_decay, .. }
            | OptimizerConfig::AdamW { weight_decay, .. }
            | OptimizerConfig::Adagrad { weight_decay, .. }
            | OptimizerConfig::RmsProp { weight_decay, .. } => *weight_decay = value,
        }
        self
    }

    /// Checks every value is in the range PyTorch accepts (and finite). RMSprop's `alpha` must
    /// also be at most 1, which PyTorch does not check.
    ///
    /// # Errors
    /// [`Error::Config`] naming the bad value.
    ///
    /// # Example
    /// ```
    /// use rnn::optim::OptimizerConfig;
    /// let bad = OptimizerConfig::Sgd { momentum: 0.0, dampening: 0.0, nesterov: true, weight_decay: 0.0 };
    /// assert!(bad.validate().is_err()); // Nesterov needs momentum
    /// assert!(OptimizerConfig::adam().validate().is_ok());
    /// ```
    pub fn validate(&self) -> Result<()> {
        let name = self.name();
        let at_least_zero = |what: &str, v: f64| {
            if v >= 0.0 && v.is_finite() {
                Ok(())
            } else {
                Err(Error::Config(format!("{name}: {what} must be finite and >= 0, got {v}")))
            }
        };
        let beta = |what: &str, v: f64| {
            if (0.0..1.0).contains(&v) {
                Ok(())
            } else {
                Err(Error::Config(format!("{name}: {what} must be in [0, 1), got {v}")))
            }
        };
        match *self {
            OptimizerConfig::Sgd { momentum, dampening, nesterov, weight_decay } => {
                at_least_zero("momentum", momentum)?;
                at_least_zero("weight_decay", weight_decay)?;
                if !dampening.is_finite() {
                    return Err(Error::Config(format!("sgd: dampening must be finite, got {dampening}")));
                }
                if nesterov && (momentum <= 0.0 || dampening != 0.0) {
                    return Err(Error::Config("sgd: Nesterov momentum requires a momentum and zero dampening".into()));
                }
            }
            OptimizerConfig::Adam { beta1, beta2, eps, weight_decay, .. }
            | OptimizerConfig::AdamW { beta1, beta2, eps, weight_decay, .. } => {
                beta("beta1", beta1)?;
                beta("beta2", beta2)?;
                at_least_zero("eps", eps)?;
                at_least_zero("weight_decay", weight_decay)?;
            }
            OptimizerConfig::Adagrad { lr_decay, weight_decay, initial_accumulator_value, eps } => {
                at_least_zero("lr_decay", lr_decay)?;
                at_least_zero("weight_decay", weight_decay)?;
                at_least_zero("initial_accumulator_value", initial_accumulator_value)?;
                at_least_zero("eps", eps)?;
            }
            OptimizerConfig::RmsProp { alpha, eps, weight_decay, momentum, .. } => {
                if !(0.0..=1.0).contains(&alpha) {
                    return Err(Error::Config(format!("rmsprop: alpha must be in [0, 1], got {alpha}")));
                }
                at_least_zero("eps", eps)?;
                at_least_zero("weight_decay", weight_decay)?;
                at_least_zero("momentum", momentum)?;
            }
        }
        Ok(())
    }

    /// The per-parameter state buffers this optimizer keeps, with PyTorch's state names.
    pub(crate) fn buffers(&self) -> Vec<&'static str> {
        let mut names = Vec::new();
        match *self {
            OptimizerConfig::Sgd { momentum, .. } => {
                if momentum != 0.0 {
                    names.push("momentum_buffer");
                }
            }
            OptimizerConfig::Adam { amsgrad, .. } | OptimizerConfig::AdamW { amsgrad, .. } => {
                names.extend(["exp_avg", "exp_avg_sq"]);
                if amsgrad {
                    names.push("max_exp_avg_sq");
                }
            }
            OptimizerConfig::Adagrad { .. } => names.push("sum"),
            OptimizerConfig::RmsProp { momentum, centered, .. } => {
                names.push("square_avg");
                if momentum > 0.0 {
                    names.push("momentum_buffer");
                }
                if centered {
                    names.push("grad_avg");
                }
            }
        }
        names
    }
}

impl FromStr for OptimizerConfig {
    type Err = Error;

    /// Parses `sgd`, `adam`, `adamw`, `adagrad` or `rmsprop` (any case) into PyTorch's defaults.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_lowercase().as_str() {
            "sgd" => Ok(Self::sgd()),
            "adam" => Ok(Self::adam()),
            "adamw" => Ok(Self::adamw()),
            "adagrad" => Ok(Self::adagrad()),
            "rmsprop" => Ok(Self::rmsprop()),
            _ => Err(Error::Config(format!("unknown optimizer `{s}` (expected sgd, adam, adamw, adagrad or rmsprop)"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::optim::Optimizer;

    #[test]
    fn config_names_defaults_and_validation() {
        for name in ["sgd", "adam", "adamw", "adagrad", "rmsprop", "RMSprop"] {
            let c: OptimizerConfig = name.parse().unwrap();
            assert_eq!(c.name(), name.to_ascii_lowercase());
            let json = serde_json::to_string(&c).unwrap();
            assert_eq!(serde_json::from_str::<OptimizerConfig>(&json).unwrap(), c);
            // a bare name takes PyTorch's defaults
            let bare: OptimizerConfig = serde_json::from_str(&format!(r#"{{"name":"{}"}}"#, c.name())).unwrap();
            assert_eq!(bare, c);
        }
        assert!("lbfgs".parse::<OptimizerConfig>().is_err());
        let adam = |beta1: f64, eps: f64| OptimizerConfig::Adam {
            beta1,
            beta2: 0.999,
            eps,
            weight_decay: 0.0,
            amsgrad: false,
        };
        assert!(adam(1.0, 1e-8).validate().is_err());
        assert!(adam(-0.1, 1e-8).validate().is_err());
        assert!(adam(0.0, 1e-8).validate().is_ok());
        assert!(adam(0.9, -1e-8).validate().is_err());
        assert!(adam(0.9, f64::NAN).validate().is_err());
        let sgd = |momentum: f64, dampening: f64| OptimizerConfig::Sgd {
            momentum,
            dampening,
            nesterov: true,
            weight_decay: 0.0,
        };
        assert!(sgd(0.9, 0.1).validate().is_err());
        assert!(sgd(0.0, 0.0).validate().is_err());
        assert!(sgd(0.9, 0.0).validate().is_ok());
        assert!(OptimizerConfig::sgd().with_weight_decay(-1.0).validate().is_err());
        assert!(Optimizer::<f32>::new(OptimizerConfig::adagrad().with_weight_decay(-1.0)).is_err());
    }
}
