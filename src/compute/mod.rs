//! The computing machinery under the networks: the matrix-product kernels, the worker pool
//! they split large products across, and the process-wide thread settings.

pub mod kernels;
pub mod pool;
pub mod threads;
