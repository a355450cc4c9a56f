//! Diagnostics of vanishing and exploding gradients: the recurrent weights' spectra, the step
//! Jacobians' norms along a trajectory, and how saturated the activations and gates are.

pub mod jacobian;
pub mod saturation;
pub mod spectral;
