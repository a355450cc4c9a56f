//! Sampling text from a character model one character at a time: the prime is run once, then
//! every new character is one [`Stepper`] step from the state the last one left.

use ndarray::{Array2, Array3, Axis};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::Vocab;
use crate::{Error, Float, Model, Result, Stepper};

/// How the next character is drawn from the model's scores (logits).
///
/// | Name | Default | Meaning |
/// |---|---|---|
/// | `temperature` | 1.0 | divides the logits: below 1 sharper, above 1 flatter; 0 takes the most likely |
/// | `top_k` | none | draw only among the `k` most likely characters (1 is greedy) |
/// | `seed` | 0 | the ChaCha8 stream of draws: the same seed gives the same text |
///
/// # Example
/// ```
/// use rnn::tasks::charlm::Sampling;
/// let s = Sampling::default();
/// assert_eq!((s.temperature, s.top_k, s.seed), (1.0, None, 0));
/// let greedy = Sampling { top_k: Some(1), ..s };
/// greedy.validate()?;
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sampling {
    /// Logits are divided by this; 0 means greedy.
    pub temperature: f64,
    /// Keep the `k` highest logits only (ties go to the lower class).
    pub top_k: Option<usize>,
    /// Seed of the draws.
    pub seed: u64,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling { temperature: 1.0, top_k: None, seed: 0 }
    }
}

impl Sampling {
    /// Checks the values.
    ///
    /// # Errors
    /// [`Error::Config`] for a negative or non-finite temperature or a `top_k` of 0.
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::charlm::Sampling;
    /// Sampling::default().validate()?;
    /// assert!(Sampling { top_k: Some(0), ..Sampling::default() }.validate().is_err());
    /// assert!(Sampling { temperature: -1.0, ..Sampling::default() }.validate().is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn validate(&self) -> Result<()> {
        if !(self.temperature.is_finite() && self.temperature >= 0.0) {
            return Err(Error::Config(format!(
                "temperature must be a finite number >= 0 (0 is greedy), got {}",
                self.temperature
            )));
        }
        if self.top_k == Some(0) {
            return Err(Error::Config("top-k must be at least 1 (1 is greedy)".into()));
        }
        Ok(())
    }

    fn greedy(&self) -> bool {
        self.temperature == 0.0 || self.top_k == Some(1)
    }
}

/// Generates text from a character model, one character per call, allocating nothing per step.
///
/// # Example
/// ```
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// use rnn::tasks::charlm::{Generator, Sampling, Vocab};
/// let vocab = Vocab::from_text("abc")?;
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 8), output_size: Some(3) }, Init::PyTorch, 0)?;
/// let sampling = Sampling { temperature: 0.8, top_k: None, seed: 7 };
/// let mut generator = Generator::new(&model, &vocab, "ab", sampling)?;
/// let text: String = (0..20).map(|_| generator.next_char()).collect::<rnn::Result<_>>()?;
/// assert_eq!(text.chars().count(), 20);
/// // the same seed, the same text
/// let mut again = Generator::new(&model, &vocab, "ab", sampling)?;
/// assert_eq!((0..20).map(|_| again.next_char()).collect::<rnn::Result<String>>()?, text);
/// # Ok::<(), rnn::Error>(())
/// ```
pub struct Generator<'m, F: Float = f32> {
    stepper: Stepper<'m, F>,
    vocab: Vocab,
    sampling: Sampling,
    rng: ChaCha8Rng,
    /// One-hot input of the next step `[1, V]`.
    x: Array2<F>,
    /// The model's logits for the next character.
    logits: Vec<f64>,
    /// Scratch: candidate classes.
    order: Vec<usize>,
}

impl<'m, F: Float> Generator<'m, F> {
    /// Runs the model over `prime` once (its state and the distribution of the character after
    /// it are kept). An empty prime starts from a newline, or from the vocabulary's first
    /// character when it has no newline; that start is not part of the output.
    ///
    /// # Errors
    /// [`Error::Config`] when the model's sizes differ from the vocabulary's, the model is
    /// bidirectional, the sampling settings are invalid, or `prime` has characters outside the
    /// vocabulary (listed with their columns).
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::charlm::{Generator, Sampling, Vocab};
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let vocab = Vocab::from_text("ab")?;
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(2) }, Init::PyTorch, 0)?;
    /// assert!(Generator::new(&model, &vocab, "ab", Sampling::default()).is_ok());
    /// assert!(Generator::new(&model, &vocab, "abc", Sampling::default()).is_err()); // 'c' is not in the vocabulary
    /// let three = Vocab::from_text("abc")?;
    /// assert!(Generator::new(&model, &three, "a", Sampling::default()).is_err()); // 3 characters, 2 outputs
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn new(model: &'m Model<F>, vocab: &Vocab, prime: &str, sampling: Sampling) -> Result<Self> {
        sampling.validate()?;
        let v = vocab.len();
        let c = model.config();
        if c.rnn.input_size != v || c.output_size != Some(v) {
            return Err(Error::Config(format!(
                "the model has {} inputs and {} outputs but its vocabulary has {v} characters",
                c.rnn.input_size,
                c.output_size.map_or("no".into(), |o| o.to_string())
            )));
        }
        let ids = if prime.is_empty() {
            vec![vocab.index('\n').unwrap_or(0)]
        } else {
            vocab.encode(prime).map_err(|_| {
                Error::Config(format!(
                    "the prime has characters outside the vocabulary: {}",
                    super::vocab::describe_unknown(&vocab.unknown(prime))
                ))
            })?
        };
        let mut stepper = Stepper::new(model, 1)?;
        // the prime in one forward pass; its final state seeds the stepper
        let mut xs = Array3::<F>::zeros((ids.len(), 1, v));
        for (t, &i) in ids.iter().enumerate() {
            xs[[t, 0, i]] = F::one();
        }
        let (y, h_n, c_n) = model.forward_states(xs.view(), None, None)?;
        stepper.set_state(h_n.view())?;
        if let Some(c_n) = c_n {
            stepper.set_cell_state(c_n.view())?;
        }
        let last = y.index_axis(Axis(0), ids.len() - 1);
        let logits = last.row(0).iter().map(|l| l.to_f64_lossless()).collect();
        Ok(Generator {
            stepper,
            vocab: vocab.clone(),
            sampling,
            rng: ChaCha8Rng::seed_from_u64(sampling.seed),
            x: Array2::zeros((1, v)),
            logits,
            order: Vec::with_capacity(v),
        })
    }

    /// Draws the next character and advances the model by one step with it.
    ///
    /// # Errors
    /// [`Error::Training`] when the model's scores are not finite (a diverged model).
    ///
    /// # Example
    /// ```
    /// use rnn::tasks::charlm::{Generator, Sampling, Vocab};
    /// use rnn::{Init, Model, ModelConfig, RnnConfig};
    /// let vocab = Vocab::from_text("xyz")?;
    /// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 4), output_size: Some(3) }, Init::PyTorch, 1)?;
    /// // greedy: the most likely character every time, whatever the seed
    /// let greedy = |seed| Sampling { temperature: 0.0, top_k: None, seed };
    /// let (mut a, mut b) = (Generator::new(&model, &vocab, "x", greedy(1))?, Generator::new(&model, &vocab, "x", greedy(2))?);
    /// for _ in 0..10 {
    ///     let c = a.next_char()?;
    ///     assert!("xyz".contains(c));
    ///     assert_eq!(c, b.next_char()?);
    /// }
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn next_char(&mut self) -> Result<char> {
        let class = self.draw()?;
        self.x.fill(F::zero());
        self.x[[0, class]] = F::one();
        let y = self.stepper.step(self.x.view())?;
        for (l, y) in self.logits.iter_mut().zip(y.row(0)) {
            *l = y.to_f64_lossless();
        }
        // `draw` returns a class of the vocabulary
        Ok(self.vocab.char_at(class).unwrap_or_default())
    }

    /// The class drawn from the current logits.
    fn draw(&mut self) -> Result<usize> {
        if self.logits.iter().any(|l| !l.is_finite()) {
            return Err(Error::Training("the model's scores are not finite (NaN or infinite weights?)".into()));
        }
        let logits = &self.logits;
        // higher logit first, the lower class first among equals
        let before = |a: &usize, b: &usize| logits[*b].total_cmp(&logits[*a]).then(a.cmp(b));
        self.order.clear();
        self.order.extend(0..logits.len());
        if self.sampling.greedy() {
            return Ok(self.order.iter().copied().min_by(before).unwrap_or(0));
        }
        if let Some(k) = self.sampling.top_k
            && k < self.order.len()
        {
            self.order.select_nth_unstable_by(k - 1, before);
            self.order.truncate(k);
            self.order.sort_unstable();
        }
        let t = self.sampling.temperature;
        let max = self.order.iter().map(|&i| logits[i]).fold(f64::NEG_INFINITY, f64::max);
        // p_i ∝ exp((l_i - max) / T): the largest weight is 1, so no overflow
        let total: f64 = self.order.iter().map(|&i| ((logits[i] - max) / t).exp()).sum();
        let mut u = self.rng.random::<f64>() * total;
        for &i in &self.order {
            u -= ((logits[i] - max) / t).exp();
            if u < 0.0 {
                return Ok(i);
            }
        }
        // rounding left u a hair above 0: the last candidate
        Ok(self.order.last().copied().unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Init, ModelConfig, RnnConfig};

    fn model(v: usize) -> Model<f64> {
        Model::new(ModelConfig { rnn: RnnConfig::new(v, 6), output_size: Some(v) }, Init::PyTorch, 1).unwrap()
    }

    #[test]
    fn stepping_from_the_prime_equals_running_the_whole_text() {
        let vocab = Vocab::from_text("abcde").unwrap();
        let m = model(5);
        let mut g = Generator::new(&m, &vocab, "abca", Sampling { seed: 3, ..Default::default() }).unwrap();
        let made: String = (0..10).map(|_| g.next_char().unwrap()).collect();
        // rerun prime + output in one pass: the logits after it are the generator's
        let ids = vocab.encode(&format!("abca{made}")).unwrap();
        let mut xs = Array3::<f64>::zeros((ids.len(), 1, 5));
        for (t, &i) in ids.iter().enumerate() {
            xs[[t, 0, i]] = 1.0;
        }
        let (y, _) = m.forward(xs.view(), None).unwrap();
        for (a, b) in g.logits.iter().zip(y.index_axis(Axis(0), ids.len() - 1).row(0)) {
            assert!((a - b).abs() < 1e-12);
        }
    }

    #[test]
    fn greedy_takes_the_argmax_and_top_k_limits_the_choice() {
        let vocab = Vocab::from_text("abcde").unwrap();
        let m = model(5);
        let mut g = Generator::new(&m, &vocab, "b", Sampling { top_k: Some(1), ..Default::default() }).unwrap();
        g.logits = vec![0.5, 2.0, 2.0, -1.0, 0.0];
        assert_eq!(g.draw().unwrap(), 1);
        g.sampling = Sampling { temperature: 5.0, top_k: Some(2), seed: 0 };
        for _ in 0..200 {
            assert!([1, 2].contains(&g.draw().unwrap()));
        }
        g.sampling.top_k = None;
        let seen: std::collections::BTreeSet<usize> = (0..500).map(|_| g.draw().unwrap()).collect();
        assert_eq!(seen.len(), 5);
        g.logits[0] = f64::NAN;
        assert!(g.draw().is_err());
    }

    #[test]
    fn bad_settings_and_primes_are_refused() {
        let vocab = Vocab::from_text("abcde").unwrap();
        let m = model(5);
        let s = Sampling::default();
        let err = Generator::new(&m, &vocab, "abXd", s).err().unwrap().to_string();
        assert!(err.contains("'X' (U+0058) at line 1, column 3"), "{err}");
        assert!(Generator::new(&m, &vocab, "", Sampling { temperature: -1.0, ..s }).is_err());
        assert!(Generator::new(&m, &vocab, "", Sampling { top_k: Some(0), ..s }).is_err());
        assert!(Generator::new(&model(4), &vocab, "", s).is_err());
    }
}
