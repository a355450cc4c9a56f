//! Learning-rate schedules: the learning rate of each optimizer step, as a function of the step
//! index, with an optional linear warm-up.
//!
//! The formulas are the closed forms of PyTorch's `StepLR` and `CosineAnnealingLR`, counted in
//! optimizer steps (not epochs) after the warm-up.
//!
//! # Example
//! ```
//! use rnn::schedule::Schedule;
//! let s: Schedule = "cosine:0.001".parse()?; // as `rnn train --schedule` takes it
//! let mut s = s.with_warmup(2);
//! s.set_run_steps(12);
//! assert_eq!(s.lr(0.1, 0), 0.05); // warming up
//! assert_eq!(s.lr(0.1, 2), 0.1); // the cosine starts at the base rate
//! assert!((s.lr(0.1, 12) - 0.001).abs() < 1e-12); // and ends at eta_min
//! # Ok::<(), rnn::Error>(())
//! ```

use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{Error, Result};

/// What the learning rate does after the warm-up (`s` counts the steps after it, from 0).
///
/// | Kind | Learning rate at `s` | CLI |
/// |---|---|---|
/// | `Constant` | `base_lr` | `constant` |
/// | `Step` | `base_lr * gamma^(s / step_size)` (integer division; `StepLR`) | `step:STEP_SIZE:GAMMA` |
/// | `Cosine` | `eta_min + (base_lr - eta_min) * (1 + cos(pi * min(s, total_steps) / total_steps)) / 2` (`CosineAnnealingLR`) | `cosine` or `cosine:ETA_MIN` |
///
/// In JSON the kind is the field `name` (`constant`, `step`, `cosine`).
///
/// # Example
/// ```
/// use rnn::schedule::{Schedule, ScheduleKind};
/// let step = Schedule::new(ScheduleKind::Step { step_size: 10, gamma: 0.5 });
/// assert_eq!((step.lr(1.0, 9), step.lr(1.0, 10), step.lr(1.0, 25)), (1.0, 0.5, 0.25));
/// assert_eq!("step:10:0.5".parse::<Schedule>()?, step);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "name", rename_all = "lowercase")]
#[non_exhaustive]
pub enum ScheduleKind {
    /// The base learning rate throughout.
    Constant,
    /// Multiply by `gamma` every `step_size` steps.
    Step {
        /// Steps between two decays, `>= 1`.
        step_size: usize,
        /// The decay factor, `> 0`.
        gamma: f64,
    },
    /// Half a cosine from the base learning rate down to `eta_min` over `total_steps` steps,
    /// then `eta_min`.
    Cosine {
        /// Length of the cosine in steps (after the warm-up), `>= 1`; the trainer sets it from
        /// the run's length ([`Schedule::set_run_steps`]).
        total_steps: usize,
        /// The final learning rate, `>= 0`.
        eta_min: f64,
    },
}

/// A learning-rate schedule: a linear warm-up of `warmup_steps` steps, then `kind`.
///
/// During the warm-up (`step < warmup_steps`) the learning rate is
/// `base_lr / warmup_steps * (step + 1)`, reaching `base_lr` at the last warm-up step; after it,
/// `kind`'s formula applies to `s = step - warmup_steps`.
///
/// Parsed from the command line as `constant`, `step:STEP_SIZE:GAMMA`, `cosine` (the trainer
/// fills in `total_steps`) or `cosine:ETA_MIN`; the warm-up is set separately
/// ([`Schedule::with_warmup`]).
///
/// # Example
/// ```
/// use rnn::schedule::Schedule;
/// let s: Schedule = "step:5:0.5".parse()?;
/// let s = s.with_warmup(2);
/// let lrs: Vec<f64> = (0..9).map(|step| s.lr(0.1, step)).collect();
/// assert_eq!(lrs, [0.05, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05, 0.05]);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// What happens after the warm-up.
    pub kind: ScheduleKind,
    /// Steps of linear warm-up (0 for none).
    #[serde(default)]
    pub warmup_steps: usize,
}

impl Default for Schedule {
    /// A constant learning rate without warm-up.
    fn default() -> Self {
        Schedule::new(ScheduleKind::Constant)
    }
}

impl Schedule {
    /// A schedule of the given kind without warm-up.
    ///
    /// # Example
    /// ```
    /// use rnn::schedule::{Schedule, ScheduleKind};
    /// let warm = Schedule::new(ScheduleKind::Constant).with_warmup(4);
    /// assert_eq!((warm.lr(1.0, 0), warm.lr(1.0, 3), warm.lr(1.0, 100)), (0.25, 1.0, 1.0));
    /// assert_eq!(Schedule::default(), Schedule::new(ScheduleKind::Constant));
    /// ```
    pub fn new(kind: ScheduleKind) -> Self {
        Schedule { kind, warmup_steps: 0 }
    }

    /// Sets the number of warm-up steps.
    ///
    /// # Example
    /// ```
    /// use rnn::schedule::{Schedule, ScheduleKind};
    /// let s = Schedule::new(ScheduleKind::Constant).with_warmup(2);
    /// // the rate climbs linearly to the base rate over 2 steps, then stays there
    /// assert_eq!([s.lr(0.1, 0), s.lr(0.1, 1), s.lr(0.1, 2)], [0.05, 0.1, 0.1]);
    /// ```
    pub fn with_warmup(mut self, warmup_steps: usize) -> Self {
        self.warmup_steps = warmup_steps;
        self
    }

    /// Fits a cosine schedule to a run of `run_steps` optimizer steps (warm-up included): the
    /// cosine then spans `run_steps - warmup_steps` steps (at least 1). Other kinds are unchanged.
    ///
    /// # Example
    /// ```
    /// use rnn::schedule::{Schedule, ScheduleKind};
    /// let mut s: Schedule = "cosine".parse::<Schedule>()?.with_warmup(10);
    /// s.set_run_steps(110);
    /// assert_eq!(s.kind, ScheduleKind::Cosine { total_steps: 100, eta_min: 0.0 });
    /// assert_eq!(s.lr(1.0, 10), 1.0);
    /// assert!((s.lr(1.0, 60) - 0.5).abs() < 1e-15);
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn set_run_steps(&mut self, run_steps: usize) {
        if let ScheduleKind::Cosine { total_steps, .. } = &mut self.kind {
            *total_steps = run_steps.saturating_sub(self.warmup_steps).max(1);
        }
    }

    /// Checks every value is in range.
    ///
    /// # Errors
    /// [`Error::Config`] for a `step_size` of 0, a `gamma` that is not finite and positive, a
    /// cosine `total_steps` of 0 (not yet set) or an `eta_min` that is not finite and `>= 0`.
    ///
    /// # Example
    /// ```
    /// use rnn::schedule::Schedule;
    /// assert!("cosine".parse::<Schedule>()?.validate().is_err()); // total_steps not set yet
    /// assert!("step:10:0.1".parse::<Schedule>()?.validate().is_ok());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn validate(&self) -> Result<()> {
        match self.kind {
            ScheduleKind::Constant => Ok(()),
            ScheduleKind::Step { step_size, gamma } => {
                if step_size == 0 {
                    Err(Error::Config("step schedule: step_size must be at least 1".into()))
                } else if !(gamma > 0.0 && gamma.is_finite()) {
                    Err(Error::Config(format!("step schedule: gamma must be finite and > 0, got {gamma}")))
                } else {
                    Ok(())
                }
            }
            ScheduleKind::Cosine { total_steps, eta_min } => {
                if total_steps == 0 {
                    Err(Error::Config(
                        "cosine schedule: total_steps must be at least 1 (the trainer sets it from the run length)"
                            .into(),
                    ))
                } else if !(eta_min >= 0.0 && eta_min.is_finite()) {
                    Err(Error::Config(format!("cosine schedule: eta_min must be finite and >= 0, got {eta_min}")))
                } else {
                    Ok(())
                }
            }
        }
    }

    /// The learning rate of optimizer step `step` (0-based: the step about to be taken).
    ///
    /// A cosine with `total_steps` 0 sits at `eta_min` (see [`Schedule::validate`]).
    ///
    /// # Example
    /// ```
    /// use rnn::schedule::{Schedule, ScheduleKind};
    /// let s = Schedule::new(ScheduleKind::Cosine { total_steps: 4, eta_min: 0.0 });
    /// assert_eq!(s.lr(0.1, 0), 0.1);
    /// assert!((s.lr(0.1, 2) - 0.05).abs() < 1e-15);
    /// assert_eq!(s.lr(0.1, 4), 0.0);
    /// assert_eq!(s.lr(0.1, 100), 0.0);
    /// ```
    pub fn lr(&self, base_lr: f64, step: usize) -> f64 {
        if step < self.warmup_steps {
            return base_lr / self.warmup_steps as f64 * (step + 1) as f64;
        }
        let s = step - self.warmup_steps;
        match self.kind {
            ScheduleKind::Constant => base_lr,
            // StepLR: base_lr * gamma ** (last_epoch // step_size)
            ScheduleKind::Step { step_size, gamma } => base_lr * gamma.powf((s / step_size.max(1)) as f64),
            // CosineAnnealingLR: eta_min + (base_lr - eta_min) * (1 + cos(pi * last_epoch / T_max)) / 2
            ScheduleKind::Cosine { total_steps, eta_min } => {
                if total_steps == 0 {
                    return eta_min;
                }
                let s = s.min(total_steps);
                eta_min
                    + (base_lr - eta_min) * (1.0 + (std::f64::consts::PI * s as f64 / total_steps as f64).cos()) / 2.0
            }
        }
    }
}

impl FromStr for Schedule {
    type Err = Error;

    /// Parses `constant`, `step:STEP_SIZE:GAMMA`, `cosine` or `cosine:ETA_MIN` (no warm-up; a
    /// cosine's `total_steps` is left 0 for the trainer to set). The result is validated, except
    /// for that `total_steps`.
    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split(':').collect();
        let number = |what: &str, v: &str| {
            v.trim().parse::<f64>().map_err(|_| Error::Config(format!("schedule `{s}`: {what} `{v}` is not a number")))
        };
        let kind = match parts.as_slice() {
            ["constant"] => ScheduleKind::Constant,
            ["step", step_size, gamma] => ScheduleKind::Step {
                step_size: step_size.trim().parse().map_err(|_| {
                    Error::Config(format!("schedule `{s}`: step size `{step_size}` is not a whole number"))
                })?,
                gamma: number("gamma", gamma)?,
            },
            ["cosine"] => ScheduleKind::Cosine { total_steps: 0, eta_min: 0.0 },
            ["cosine", eta_min] => ScheduleKind::Cosine { total_steps: 0, eta_min: number("eta_min", eta_min)? },
            _ => {
                return Err(Error::Config(format!(
                    "unknown schedule `{s}` (expected constant, step:STEP_SIZE:GAMMA, cosine or cosine:ETA_MIN)"
                )));
            }
        };
        let schedule = Schedule::new(kind);
        let mut check = schedule.clone();
        check.set_run_steps(1);
        check.validate()?;
        Ok(schedule)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_without_warmup_is_the_base() {
        let s = Schedule::default();
        assert!((0..100).all(|t| s.lr(0.003, t) == 0.003));
    }

    #[test]
    fn warmup_then_step_by_hand() {
        let s = Schedule::new(ScheduleKind::Step { step_size: 5, gamma: 0.5 }).with_warmup(3);
        let lrs: Vec<f64> = (0..20).map(|t| s.lr(0.01, t)).collect();
        let base = 0.01;
        let mut want = vec![base / 3.0, base / 3.0 * 2.0, base];
        want.extend([base; 5]);
        want.extend([base * 0.5; 5]);
        want.extend([base * 0.25; 5]);
        want.extend([base * 0.125; 2]);
        assert_eq!(lrs, want);
    }

    #[test]
    fn cosine_by_hand() {
        let s = Schedule::new(ScheduleKind::Cosine { total_steps: 3, eta_min: 0.1 }).with_warmup(1);
        // warm-up of one step: the base itself
        assert_eq!(s.lr(1.0, 0), 1.0);
        // s = 0, 1, 2, 3: cos(0), cos(pi/3) = 1/2, cos(2pi/3) = -1/2, cos(pi) = -1
        let want = [1.0, 0.1 + 0.9 * 0.75, 0.1 + 0.9 * 0.25, 0.1, 0.1];
        for (t, w) in want.iter().enumerate() {
            assert!((s.lr(1.0, t + 1) - w).abs() < 1e-15, "step {}: {}", t + 1, s.lr(1.0, t + 1));
        }
    }

    #[test]
    fn parse_and_serde() {
        assert_eq!("constant".parse::<Schedule>().unwrap(), Schedule::default());
        assert_eq!("step:10:0.1".parse::<Schedule>().unwrap().kind, ScheduleKind::Step { step_size: 10, gamma: 0.1 });
        assert_eq!(
            "cosine:0.001".parse::<Schedule>().unwrap().kind,
            ScheduleKind::Cosine { total_steps: 0, eta_min: 0.001 }
        );
        for bad in ["", "linear", "step", "step:0:0.5", "step:5", "step:5:x", "step:-1:0.5", "cosine:-1", "cosine:1:2"]
        {
            assert!(bad.parse::<Schedule>().is_err(), "{bad}");
        }
        let s = Schedule::new(ScheduleKind::Step { step_size: 5, gamma: 0.5 }).with_warmup(3);
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json, r#"{"kind":{"name":"step","step_size":5,"gamma":0.5},"warmup_steps":3}"#);
        assert_eq!(serde_json::from_str::<Schedule>(&json).unwrap(), s);
        let bare: Schedule = serde_json::from_str(r#"{"kind":{"name":"constant"}}"#).unwrap();
        assert_eq!(bare, Schedule::default());
    }

    #[test]
    fn run_steps_fit_the_cosine() {
        let mut s = "cosine".parse::<Schedule>().unwrap().with_warmup(5);
        s.set_run_steps(3);
        assert_eq!(s.kind, ScheduleKind::Cosine { total_steps: 1, eta_min: 0.0 });
        assert!(s.validate().is_ok());
    }
}
