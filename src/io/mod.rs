//! Files on disk: atomic writes (a temporary file beside the target, synced, then renamed over
//! it) and `.npy` arrays.

mod atomic;
pub mod npy;

pub use atomic::{write_atomic, write_atomic_with};
