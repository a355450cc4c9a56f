//! Vanishing and exploding gradients, measured on a model and a batch: how much of the loss's
//! gradient reaches back in time ([`lag`]).

pub mod lag;
