//! The exponential smoothing under the `smoothed` transformation: a hybrid in the spirit of
//! Smyl's ES-RNN (the M4 competition's winner), where exponential smoothing tracks each series'
//! level and season and the network forecasts what they leave.
//!
//! On z (y, or ln y: then level and season are multiplicative on y) the smoothing keeps a level
//! `l` and one seasonal component per phase of the season m, updated at every step i:
//!
//! ```text
//! l_i        = α (z_i − s_{i mod m}) + (1 − α) l_{i−1}
//! s_{i mod m} ← γ (z_i − l_i) + (1 − γ) s_{i mod m}
//! ```
//!
//! Like ES-RNN it has no trend (the network sees and forecasts it) and without a season (m = 1)
//! it is simple exponential smoothing (s = 0). α and γ minimise the squared one-step errors over
//! the training split (a grid of 0.02 steps; γ ≤ 0.5); the first season's mean starts the level
//! and its deviations from it the season. The constants and starting states are stored with the
//! series' statistics, and the states are then filtered along the whole series with them: what
//! the transformation uses at an origin t depends on the values up to t only.
//!
//! # Example
//! ```
//! use rnn::tasks::forecast::smooth::{Smoothing, Filtered};
//! // a level that steps from 10 to 20, with a season of 4 around it
//! let z: Vec<f64> = (0..48).map(|t| if t < 24 { 10.0 } else { 20.0 } + [1.0, -1.0, 2.0, -2.0][t % 4]).collect();
//! let fit = Smoothing::fit(&z, 4).expect("enough values");
//! let states = Filtered::new(z.clone(), Some(&fit));
//! assert!((states.level(47) - 20.0).abs() < 0.5); // the level followed the step
//! assert!((states.seasonal_for(47, 1) - 1.0).abs() < 0.2); // step 48 is phase 0: +1
//! # Ok::<(), rnn::Error>(())
//! ```

use serde::{Deserialize, Serialize};

/// The smoothing constants and starting states fitted on a series' training split.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::smooth::Smoothing;
/// let z: Vec<f64> = (0..40).map(|t| 5.0 + (t % 2) as f64).collect();
/// let fit = Smoothing::fit(&z, 2).unwrap();
/// assert_eq!(fit.seasonal.len(), 2);
/// assert!((0.0..=1.0).contains(&fit.alpha) && (0.0..=0.5).contains(&fit.gamma));
/// assert!(Smoothing::fit(&z[..1], 1).is_none()); // one value: nothing to fit
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Smoothing {
    /// The level's smoothing constant α.
    pub alpha: f64,
    /// The season's smoothing constant γ (0 without a season).
    pub gamma: f64,
    /// The level before the first step.
    pub level: f64,
    /// The seasonal component of each phase before the first step (`[0.0]` without a season).
    pub seasonal: Vec<f64>,
}

/// The grid the constants are chosen from.
const STEP: f64 = 0.02;

impl Smoothing {
    /// Fits the constants on `train` (z over the training split) with season `m` (taken as 1
    /// when the split holds fewer than two seasons); `None` with fewer than two values or one
    /// that is not finite.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::smooth::Smoothing;
    /// // a constant season of 3 around a constant level: nothing to learn, the first season says it
    /// let z: Vec<f64> = (0..30).map(|t| 10.0 + [1.0, 0.0, -1.0][t % 3]).collect();
    /// let fit = Smoothing::fit(&z, 3).unwrap();
    /// assert_eq!((fit.level, fit.seasonal.as_slice()), (10.0, [1.0, 0.0, -1.0].as_slice()));
    /// ```
    pub fn fit(train: &[f64], m: usize) -> Option<Smoothing> {
        if train.len() < 2 || !train.iter().all(|v| v.is_finite()) {
            return None;
        }
        let m = if m >= 2 && train.len() >= 2 * m { m } else { 1 };
        let level = train[..m].iter().sum::<f64>() / m as f64;
        let seasonal: Vec<f64> = if m > 1 { train[..m].iter().map(|z| z - level).collect() } else { vec![0.0] };
        let alphas = (1..50).map(|i| i as f64 * STEP);
        let gammas: Vec<f64> = if m > 1 { (0..=25).map(|i| i as f64 * STEP).collect() } else { vec![0.0] };
        let mut fit = Smoothing { alpha: 0.0, gamma: 0.0, level, seasonal };
        let mut state = State::new(&fit);
        let mut best: Option<(f64, f64, f64)> = None;
        for alpha in alphas {
            for &gamma in &gammas {
                (fit.alpha, fit.gamma) = (alpha, gamma);
                let sse = fit.one_step_sse(train, m, &mut state);
                if sse.is_finite() && best.is_none_or(|(b, _, _)| sse < b) {
                    best = Some((sse, alpha, gamma));
                }
            }
        }
        let (_, alpha, gamma) = best?;
        Some(Smoothing { alpha, gamma, ..fit })
    }

    /// The squared one-step errors over `z`, from step `skip` on (the first season started
    /// the states), filtering in `state` (reset here).
    fn one_step_sse(&self, z: &[f64], skip: usize, state: &mut State) -> f64 {
        state.level = self.level;
        state.seasonal.copy_from_slice(&self.seasonal);
        let mut sse = 0.0;
        for (i, &v) in z.iter().enumerate() {
            let predicted = state.level + state.seasonal[i % state.seasonal.len()];
            if i >= skip {
                sse += (v - predicted).powi(2);
            }
            state.update(self, i, v);
        }
        sse
    }
}

/// The states as they run.
#[derive(Clone, Debug)]
struct State {
    level: f64,
    seasonal: Vec<f64>,
}

impl State {
    fn new(s: &Smoothing) -> Self {
        State { level: s.level, seasonal: if s.seasonal.is_empty() { vec![0.0] } else { s.seasonal.clone() } }
    }

    /// Takes in `z`, the value of step `i`.
    fn update(&mut self, s: &Smoothing, i: usize, z: f64) {
        let phase = i % self.seasonal.len();
        let level = s.alpha * (z - self.seasonal[phase]) + (1.0 - s.alpha) * self.level;
        self.seasonal[phase] = s.gamma * (z - level) + (1.0 - s.gamma) * self.seasonal[phase];
        self.level = level;
    }
}

/// A series' transformed values z and, for the `smoothed` transformation, the smoothing's
/// states after each step.
///
/// # Example
/// ```
/// use rnn::tasks::forecast::smooth::{Smoothing, Filtered};
/// let mut s = Filtered::new(vec![1.0, 2.0, 3.0], None); // another transformation: z alone
/// s.push(4.0); // a forecast fed back
/// assert_eq!((s.len(), s.z[3]), (4, 4.0));
/// let fit = Smoothing { alpha: 0.5, gamma: 0.0, level: 0.0, seasonal: vec![0.0] };
/// let s = Filtered::new(vec![2.0, 2.0], Some(&fit));
/// assert_eq!((s.level(0), s.level(1)), (1.0, 1.5)); // halfway to each value
/// ```
#[derive(Clone, Debug)]
pub struct Filtered {
    /// The transformed values.
    pub z: Vec<f64>,
    /// The smoothing and its states as they run (none for the other transformations).
    filter: Option<(Smoothing, State)>,
    /// The level after each step.
    levels: Vec<f64>,
    /// The seasonal component of step i's phase after step i.
    seasonals: Vec<f64>,
}

impl Filtered {
    /// The states along `z`, filtered with `smoothing`'s constants (none: z alone).
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::smooth::{Filtered, Smoothing};
    /// let fit = Smoothing { alpha: 1.0, gamma: 0.0, level: 0.0, seasonal: vec![0.0] };
    /// let s = Filtered::new(vec![3.0, 5.0], Some(&fit)); // α = 1: the level is the last value
    /// assert_eq!(s.level(1), 5.0);
    /// ```
    pub fn new(z: Vec<f64>, smoothing: Option<&Smoothing>) -> Self {
        let mut s = Filtered {
            z: Vec::with_capacity(z.len()),
            filter: smoothing.map(|fit| (fit.clone(), State::new(fit))),
            levels: Vec::new(),
            seasonals: Vec::new(),
        };
        for v in z {
            s.push(v);
        }
        s
    }

    /// Appends a value (a forecast fed back) and filters the states over it.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::smooth::{Filtered, Smoothing};
    /// let fit = Smoothing { alpha: 0.5, gamma: 0.0, level: 0.0, seasonal: vec![0.0] };
    /// let mut s = Filtered::new(vec![4.0], Some(&fit));
    /// s.push(6.0);
    /// assert_eq!((s.level(0), s.level(1)), (2.0, 4.0));
    /// ```
    pub fn push(&mut self, v: f64) {
        let i = self.z.len();
        self.z.push(v);
        if let Some((fit, state)) = &mut self.filter {
            state.update(fit, i, v);
            self.levels.push(state.level);
            self.seasonals.push(state.seasonal[i % state.seasonal.len()]);
        }
    }

    /// Steps held.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::smooth::Filtered;
    /// assert_eq!(Filtered::new(vec![1.0, 2.0], None).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        self.z.len()
    }

    /// Whether no step is held.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::smooth::Filtered;
    /// assert!(Filtered::new(Vec::new(), None).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.z.is_empty()
    }

    /// The level after step `t` (0 without a smoothing).
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::smooth::{Filtered, Smoothing};
    /// let fit = Smoothing { alpha: 0.25, gamma: 0.0, level: 8.0, seasonal: vec![0.0] };
    /// assert_eq!(Filtered::new(vec![12.0], Some(&fit)).level(0), 9.0); // a quarter of the way
    /// assert_eq!(Filtered::new(vec![12.0], None).level(0), 0.0);
    /// ```
    pub fn level(&self, t: usize) -> f64 {
        self.levels.get(t).copied().unwrap_or(0.0)
    }

    /// The seasonal component at step `i` as estimated after it (0 without a smoothing).
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::smooth::{Filtered, Smoothing};
    /// // γ = 1: a phase's component becomes the value's distance from the level
    /// let fit = Smoothing { alpha: 0.0, gamma: 1.0, level: 10.0, seasonal: vec![0.0, 0.0] };
    /// let s = Filtered::new(vec![13.0, 8.0], Some(&fit));
    /// assert_eq!((s.seasonal_at(0), s.seasonal_at(1)), (3.0, -2.0));
    /// ```
    pub fn seasonal_at(&self, i: usize) -> f64 {
        self.seasonals.get(i).copied().unwrap_or(0.0)
    }

    /// The seasonal component of step `t + k` as known after step `t`: that of the last step
    /// up to `t` in the same phase, or the starting one.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::forecast::smooth::{Filtered, Smoothing};
    /// let fit = Smoothing { alpha: 0.0, gamma: 1.0, level: 10.0, seasonal: vec![0.5, 0.0] };
    /// let s = Filtered::new(vec![13.0, 8.0, 11.0], Some(&fit));
    /// assert_eq!(s.seasonal_for(2, 1), -2.0); // step 3 is phase 1: as step 1 left it
    /// assert_eq!(s.seasonal_for(2, 2), 1.0); // step 4 is phase 0: as step 2 left it
    /// assert_eq!(s.seasonal_for(0, 1), 0.0); // step 1 before any phase-1 step: the start
    /// ```
    pub fn seasonal_for(&self, t: usize, k: usize) -> f64 {
        let Some((fit, _)) = &self.filter else { return 0.0 };
        let m = fit.seasonal.len().max(1);
        match (t + k).checked_sub(m * k.div_ceil(m)) {
            Some(j) => self.seasonal_at(j),
            None => fit.seasonal.get((t + k) % m).copied().unwrap_or(0.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_the_constants_of_a_smoothed_walk() {
        // z made in simple exponential smoothing's innovations form with α = 0.3
        // (z_t = l_{t−1} + e_t, l_t = l_{t−1} + 0.3 e_t): the fit finds α near 0.3
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
        let mut noise = || rng.random::<f64>() - 0.5;
        let (mut level, mut z) = (0.0, Vec::new());
        for _ in 0..2000 {
            let e = noise();
            z.push(level + e);
            level += 0.3 * e;
        }
        let fit = Smoothing::fit(&z, 1).unwrap();
        assert!((fit.alpha - 0.3).abs() < 0.06, "α = {}", fit.alpha);
        assert_eq!(fit.gamma, 0.0);
    }

    #[test]
    fn anchors_use_only_the_past() {
        let z: Vec<f64> = (0..30).map(|t| (t % 3) as f64 + 0.1 * t as f64).collect();
        let fit = Smoothing::fit(&z[..20], 3).unwrap();
        let all = Filtered::new(z.clone(), Some(&fit));
        let head = Filtered::new(z[..=15].to_vec(), Some(&fit));
        for k in 1..=7 {
            assert_eq!(all.seasonal_for(15, k), head.seasonal_for(15, k));
        }
        assert_eq!(all.level(15), head.level(15));
        // the phase of 15 + 3 is that of 15
        assert_eq!(all.seasonal_for(15, 3), all.seasonal_at(15));
        assert_eq!(all.seasonal_for(15, 1), all.seasonal_at(13));
        // before the first season: the starting components
        assert_eq!(all.seasonal_for(0, 1), fit.seasonal[1]);
    }

    #[test]
    fn a_smoothing_read_from_a_file_without_components_does_not_panic() {
        let odd = Smoothing { alpha: 0.5, gamma: 0.5, level: 1.0, seasonal: Vec::new() };
        let s = Filtered::new(vec![2.0, 3.0], Some(&odd));
        // read as no season: one component, the filtered one
        assert_eq!((s.seasonal_for(0, 5), s.seasonal_for(1, 1)), (s.seasonal_at(0), s.seasonal_at(1)));
        assert!(s.level(1).is_finite() && s.seasonal_at(1).is_finite());
    }

    #[test]
    fn a_short_split_has_no_season() {
        let z = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(Smoothing::fit(&z, 4).unwrap().seasonal, vec![0.0]);
        assert!(Smoothing::fit(&[1.0, f64::NAN], 1).is_none());
    }
}
