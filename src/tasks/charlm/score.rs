//! Bits per character of a model on a text read as one stream, and of the unigram baseline.

use ndarray::{Array2, Array3};

use crate::data::TargetView;
use crate::train::loss::Loss;
use crate::{Error, Float, Model, Readout, Result};

/// Steps per forward pass when scoring (the state is carried from one to the next).
const SCORE_CHUNK: usize = 512;

/// How well a model predicts a text.
///
/// # Example
/// ```
/// use rnn::tasks::charlm::bits_per_char;
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(3, 4), output_size: Some(3) }, Init::PyTorch, 0)?;
/// let s = bits_per_char(&model, &[0, 1, 2, 0, 1, 2])?;
/// assert_eq!(s.predictions, 5); // every character but the first is predicted
/// assert!((0.0..=1.0).contains(&s.accuracy) && s.bpc > 0.0);
/// # Ok::<(), rnn::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Score {
    /// Mean cross-entropy in bits per predicted character (nats / ln 2).
    pub bpc: f64,
    /// Fraction of characters that were the model's most likely next character.
    pub accuracy: f64,
    /// Characters predicted: every one but the first.
    pub predictions: usize,
}

/// Scores `model` on the classes `ids` read as one stream: the state starts from zeros at
/// `ids[0]` and is carried through to the end (computed in pieces of 512 steps, which gives the
/// same numbers as one pass), and every character after the first is predicted from all the
/// characters before it.
///
/// # Errors
/// [`Error::Config`] when `ids` has fewer than 2 characters or a class outside the model's
/// input size, or the model's input and output sizes differ (it is not a character model);
/// [`Error::Shape`] from the model.
///
/// # Example
/// ```
/// use rnn::{Init, Model, ModelConfig, RnnConfig};
/// use rnn::tasks::charlm::bits_per_char;
/// // an untrained model over 4 characters is close to the uniform 2 bits per character
/// let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(4, 8), output_size: Some(4) }, Init::PyTorch, 0)?;
/// let s = bits_per_char(&model, &[0, 1, 2, 3, 0, 1, 2, 3])?;
/// assert_eq!(s.predictions, 7);
/// assert!((s.bpc - 2.0).abs() < 0.3, "{}", s.bpc);
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn bits_per_char<F: Float>(model: &Model<F>, ids: &[usize]) -> Result<Score> {
    let v = model.rnn.config().input_size;
    if model.config().output_size != Some(v) {
        return Err(Error::Config(format!(
            "a character model reads and predicts the same {v} characters, but this one has {} outputs",
            model.config().output_size.map_or("no".into(), |o| o.to_string())
        )));
    }
    if ids.len() < 2 {
        return Err(Error::Config(format!("{} character(s) leave nothing to predict", ids.len())));
    }
    if let Some(&bad) = ids.iter().find(|&&i| i >= v) {
        return Err(Error::Config(format!("class {bad} is outside the model's {v} characters")));
    }
    let (mut nats, mut correct) = (0.0f64, 0usize);
    let mut h: Option<crate::State<F>> = None;
    let pairs = ids.len() - 1;
    let mut t0 = 0;
    while t0 < pairs {
        let t1 = (t0 + SCORE_CHUNK).min(pairs);
        let mut x = Array3::<F>::zeros((t1 - t0, 1, v));
        let mut target = Array2::<usize>::zeros((t1 - t0, 1));
        for t in t0..t1 {
            x[[t - t0, 0, ids[t]]] = F::one();
            target[[t - t0, 0]] = ids[t + 1];
        }
        let trace = model.forward_eval_from(x.view(), h.as_ref(), Readout::EveryStep)?;
        let value = Loss::CrossEntropy.compute(trace.y(), TargetView::Classes(target.view()), None)?;
        nats += value.loss * value.count;
        correct += value.correct.unwrap_or(0);
        h = Some(trace.state());
        t0 = t1;
    }
    Ok(Score {
        bpc: nats / pairs as f64 / std::f64::consts::LN_2,
        accuracy: correct as f64 / pairs as f64,
        predictions: pairs,
    })
}

/// Bits per character of the unigram baseline on `targets`: each character predicted with its
/// frequency in `train` (classes of a vocabulary of `vocab_size`), add-one smoothed so a
/// character never seen in `train` costs `log2(len(train) + vocab_size)` bits instead of
/// infinity. On a model's held-out text pass the characters it predicts, `&tail[1..]`.
///
/// # Example
/// ```
/// use rnn::tasks::charlm::unigram_bits_per_char;
/// // counts 3, 1 (+1 each) over 4 + 2: p = 4/6, 2/6
/// let bpc = unigram_bits_per_char(&[0, 0, 0, 1], &[0, 1], 2);
/// assert!((bpc - (-(4.0f64 / 6.0).log2() - (2.0f64 / 6.0).log2()) / 2.0).abs() < 1e-12);
/// ```
pub fn unigram_bits_per_char(train: &[usize], targets: &[usize], vocab_size: usize) -> f64 {
    let mut counts = vec![1.0f64; vocab_size];
    for &i in train.iter().filter(|&&i| i < vocab_size) {
        counts[i] += 1.0;
    }
    let total: f64 = counts.iter().sum();
    let bits: f64 = targets.iter().map(|&i| -(counts.get(i).copied().unwrap_or(1.0) / total).log2()).sum();
    bits / targets.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Init, ModelConfig, RnnConfig};

    #[test]
    fn scoring_in_pieces_equals_one_pass() {
        let model = Model::<f64>::new(
            ModelConfig { rnn: RnnConfig::new(5, 7).with_num_layers(2), output_size: Some(5) },
            Init::PyTorch,
            3,
        )
        .unwrap();
        let ids: Vec<usize> = (0..1300).map(|i| (i * i + i / 3) % 5).collect();
        let s = bits_per_char(&model, &ids).unwrap();
        // the same by hand in one forward pass
        let mut x = Array3::<f64>::zeros((ids.len() - 1, 1, 5));
        let mut t = Array2::<usize>::zeros((ids.len() - 1, 1));
        for i in 0..ids.len() - 1 {
            x[[i, 0, ids[i]]] = 1.0;
            t[[i, 0]] = ids[i + 1];
        }
        let (y, _) = model.forward(x.view(), None).unwrap();
        let want = Loss::CrossEntropy.compute(y.view(), TargetView::Classes(t.view()), None).unwrap();
        assert!((s.bpc * std::f64::consts::LN_2 - want.loss).abs() < 1e-12, "{} vs {}", s.bpc, want.loss);
        assert_eq!(s.predictions, 1299);
        assert!(bits_per_char(&model, &ids[..1]).is_err());
        assert!(bits_per_char(&model, &[0, 5]).is_err());
    }

    #[test]
    fn unigram_of_uniform_text_is_log2_of_the_vocabulary() {
        let ids: Vec<usize> = (0..4000).map(|i| i % 4).collect();
        assert!((unigram_bits_per_char(&ids, &ids, 4) - 2.0).abs() < 1e-9);
        // an unseen character costs log2(n + V) bits
        let b = unigram_bits_per_char(&[0, 0], &[1], 2);
        assert!((b - 4f64.log2()).abs() < 1e-12);
    }
}
