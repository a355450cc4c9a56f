//! Vanishing and exploding gradients, measured on a model and a batch: how much of the loss's
//! gradient reaches back in time ([`lag`]), and every measurement gathered with its table
//! ([`report`]).

pub mod lag;
pub mod report;
