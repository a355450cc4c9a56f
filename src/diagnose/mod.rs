//! Vanishing and exploding gradients, measured on a model and a batch: how much of the loss's
//! gradient reaches back in time ([`lag`]), the recurrent weights' spectra ([`spectral`]), the
//! step Jacobians along the actual trajectory ([`jacobian`]), saturated units and gates
//! ([`saturation`]), and every measurement gathered with its table ([`report`]).
//!
//! # Example
//! ```
//! use ndarray::Array3;
//! use rnn::data::TargetView;
//! use rnn::diagnose::report::{Diagnostics, Options};
//! use rnn::train::loss::Loss;
//! use rnn::{Init, Model, ModelConfig, Readout, RnnConfig};
//! let model = Model::<f64>::new(ModelConfig { rnn: RnnConfig::new(1, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
//! let x = Array3::<f64>::from_shape_fn((5, 2, 1), |(t, b, _)| ((t + b) as f64).sin()); // [T, B, I]
//! let y = Array3::<f64>::zeros((5, 2, 1));
//! let d = Diagnostics::compute(&model, x.view(), TargetView::Values(y.view()), Loss::Mse, Readout::EveryStep, Options::default())?;
//! assert_eq!(d.layers[0].grad_norm_by_time.len(), 5); // the gradient's norm at every step
//! println!("{}", d.to_table());
//! # Ok::<(), rnn::Error>(())
//! ```

pub mod jacobian;
pub mod lag;
pub mod report;
pub mod saturation;
pub mod spectral;
