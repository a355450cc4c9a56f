//! Files on disk: the model file (safetensors with PyTorch's names), atomic writes (a temporary
//! file beside the target, synced, then renamed over it), `.npy` arrays and TensorBoard event
//! files.
//!
//! # Example
//! ```
//! use rnn::{Init, Model, ModelConfig, RnnConfig};
//! use rnn::io::model_file;
//! let path = std::env::temp_dir().join(format!("rnn-doc-io-{}.safetensors", std::process::id()));
//! let model = Model::<f32>::new(ModelConfig { rnn: RnnConfig::new(2, 4), output_size: Some(1) }, Init::PyTorch, 0)?;
//! model_file::save(&model, &path)?; // `torch.load`-free: `safetensors.torch.load_file` reads it
//! let loaded = model_file::load::<f32>(&path, &Default::default())?;
//! assert_eq!(loaded.model, model);
//! std::fs::remove_file(&path)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod atomic;
pub mod model_file;
pub mod npy;
pub mod onnx;
pub mod tensorboard;

// Not API: the `rnn` binary's output files (the library's own writes go through them).
#[doc(hidden)]
pub use atomic::{check_writable, write_atomic, write_atomic_with};
