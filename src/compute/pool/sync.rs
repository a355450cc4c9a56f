//! The synchronisation primitives [`engine`](super::engine) is written against: the standard
//! library's here; loom's model-checking doubles in `tests/loom_pool.rs`, which compiles the
//! same `engine.rs` against a module of the same name.

pub(super) use std::hint::spin_loop;
pub(super) use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering};
pub(super) use std::sync::{Condvar, Mutex, MutexGuard};
