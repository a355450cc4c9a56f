//! Initialisations of the gated cells' biases that make long memories trainable: the LSTM
//! forget-gate bias (Jozefowicz, Zaremba and Sutskever 2015) and chrono initialisation (Tallec
//! and Ollivier 2018).
//!
//! PyTorch keeps two biases per gate, `b_ih` and `b_hh`, and adds them; these set the gate's
//! total bias, written into `b_ih` with `b_hh`'s block set to zero, so a file saved afterwards
//! loads in PyTorch with exactly that total.

use rand::Rng;

use crate::{Cell, Error, Float, Result, Rnn};

impl<F: Float> Rnn<F> {
    /// Sets every LSTM layer's forget-gate bias to `value` (1.0 is the usual choice: the cell
    /// remembers by default, and gradients flow through `c` from the start).
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// let mut lstm = Rnn::<f32>::new(RnnConfig::new(3, 4).with_cell(Cell::Lstm), Init::PyTorch, 0)?;
    /// lstm.set_forget_bias(1.0)?;
    /// let p = &lstm.layers()[0];
    /// let (bi, bh) = (p.bias_ih.as_ref().unwrap(), p.bias_hh.as_ref().unwrap());
    /// assert!((4..8).all(|j| bi[j] + bh[j] == 1.0)); // gates i, f, g, o: f is rows 4..8
    /// # Ok::<(), rnn::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Config`] when the model is not an LSTM or has no biases.
    pub fn set_forget_bias(&mut self, value: f64) -> Result<()> {
        let h = self.gate_biases_checked(Cell::Lstm, "a forget-gate bias")?;
        self.for_each_gate_bias(1, h, |_| F::of(value));
        Ok(())
    }

    /// Chrono initialisation for sequences with dependencies up to about `t_max` steps: the
    /// gate that keeps the old state (an LSTM's forget gate, a GRU's update gate `z`) gets the
    /// bias `log(U(1, t_max - 1))`, and an LSTM's input gate its negative, so the
    /// characteristic memory times of the units spread over `[1, t_max]`.
    ///
    /// # Errors
    /// [`Error::Config`] for an Elman or IndRNN model, a model without biases, or `t_max < 2`.
    ///
    /// # Example
    /// ```
    /// use rnn::{Cell, Init, Rnn, RnnConfig};
    /// let mut gru = Rnn::<f64>::new(RnnConfig::new(3, 4).with_cell(Cell::Gru), Init::PyTorch, 0)?;
    /// gru.chrono_init(100.0, &mut rand::rng())?;
    /// let p = &gru.layers()[0];
    /// let (bi, bh) = (p.bias_ih.as_ref().unwrap(), p.bias_hh.as_ref().unwrap());
    /// // the update gate z (rows 4..8 of r, z, n): log(U(1, 99)) in [0, log 99]
    /// assert!((4..8).all(|j| (0.0..=99f64.ln() + 1e-12).contains(&(bi[j] + bh[j]))));
    /// let mut elman = Rnn::<f64>::new(RnnConfig::new(3, 4), Init::PyTorch, 0)?;
    /// assert!(elman.chrono_init(100.0, &mut rand::rng()).is_err());
    /// # Ok::<(), rnn::Error>(())
    /// ```
    pub fn chrono_init<R: Rng + ?Sized>(&mut self, t_max: f64, rng: &mut R) -> Result<()> {
        let cell = self.config().cell;
        if !matches!(cell, Cell::Lstm | Cell::Gru) {
            return Err(Error::Config("chrono initialisation is for LSTM and GRU cells".into()));
        }
        if !(t_max >= 2.0 && t_max.is_finite()) {
            return Err(Error::Config(format!("chrono initialisation needs t_max >= 2, got {t_max}")));
        }
        let h = self.gate_biases_checked(cell, "chrono initialisation")?;
        // f is block 1 of (i, f, g, o), z block 1 of (r, z, n)
        let keep = 1;
        let n = self.layers().len();
        let draws: Vec<Vec<f64>> =
            (0..n).map(|_| (0..h).map(|_| rng.random_range(1.0..t_max - 1.0).max(1.0).ln()).collect()).collect();
        for (p, b) in self.layers_mut().iter_mut().zip(&draws) {
            let (bi, bh) = (p.bias_ih.as_mut().expect("checked"), p.bias_hh.as_mut().expect("checked"));
            for j in 0..h {
                bi[keep * h + j] = F::of(b[j]);
                bh[keep * h + j] = F::zero();
                if cell == Cell::Lstm {
                    // the input gate: -b_f
                    bi[j] = F::of(-b[j]);
                    bh[j] = F::zero();
                }
            }
        }
        Ok(())
    }

    /// `hidden_size`, once the model is checked to be a `cell` with biases.
    fn gate_biases_checked(&self, cell: Cell, what: &str) -> Result<usize> {
        let c = self.config();
        if c.cell != cell {
            return Err(Error::Config(format!("{what} is for {} cells; this model is {}", cell.name(), c.cell)));
        }
        if !c.bias {
            return Err(Error::Config(format!("{what} needs biases; this model has none")));
        }
        Ok(c.hidden_size)
    }

    /// Sets gate block `block`'s total bias of every layer and direction to `f(unit)`.
    fn for_each_gate_bias(&mut self, block: usize, h: usize, f: impl Fn(usize) -> F) {
        for p in self.layers_mut() {
            if let (Some(bi), Some(bh)) = (p.bias_ih.as_mut(), p.bias_hh.as_mut()) {
                for j in 0..h {
                    bi[block * h + j] = f(j);
                    bh[block * h + j] = F::zero();
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Init, RnnConfig};
    use rand::SeedableRng;

    #[test]
    fn chrono_spreads_the_forget_bias_and_mirrors_the_input_gate() {
        let config = RnnConfig::new(2, 50).with_cell(Cell::Lstm).with_num_layers(2);
        let mut lstm = Rnn::<f64>::new(config, Init::PyTorch, 0).unwrap();
        lstm.chrono_init(100.0, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1)).unwrap();
        for p in lstm.layers() {
            let (bi, bh) = (p.bias_ih.as_ref().unwrap(), p.bias_hh.as_ref().unwrap());
            for j in 0..50 {
                let f = bi[50 + j] + bh[50 + j];
                assert!((0.0..=99f64.ln()).contains(&f), "{f}");
                assert_eq!(bi[j] + bh[j], -f);
            }
        }
        let mut elman = Rnn::<f64>::new(RnnConfig::new(2, 4), Init::PyTorch, 0).unwrap();
        assert!(elman.chrono_init(10.0, &mut rand::rng()).is_err());
        assert!(elman.set_forget_bias(1.0).is_err());
    }
}
