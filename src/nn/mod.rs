//! The network: cells and their layers. Each cell's forward pass has its backward pass right
//! beside it; `reference` holds the plain per-step versions the fast ones are tested against.

pub mod cell;
mod gate_init;
pub(crate) mod gated;
pub(crate) mod gru;
pub(crate) mod lstm;
pub mod reference;
