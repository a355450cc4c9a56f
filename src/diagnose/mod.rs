//! Vanishing and exploding gradients, measured on a model and a batch: how much of the loss's
//! gradient reaches back in time ([`lag`]), the recurrent weights' spectra ([`spectral`]), the
//! step Jacobians along the actual trajectory ([`jacobian`]), saturated units and gates
//! ([`saturation`]), and every measurement gathered with its table ([`report`]).

pub mod jacobian;
pub mod lag;
pub mod report;
pub mod saturation;
pub mod spectral;
