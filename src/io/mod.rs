//! Files on disk: the model file (safetensors with PyTorch's names), atomic writes (a temporary
//! file beside the target, synced, then renamed over it), `.npy` arrays and TensorBoard event
//! files.

mod atomic;
pub mod model_file;
pub mod npy;
pub mod onnx;
pub mod tensorboard;

// Not API: the `rnn` binary's output files (the library's own writes go through them).
#[doc(hidden)]
pub use atomic::{check_writable, write_atomic, write_atomic_with};
