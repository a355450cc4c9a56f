//! Reading and writing the data the models consume.

pub mod npy;
