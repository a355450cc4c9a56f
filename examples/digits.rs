//! Writes scikit-learn's handwritten digits (bundled: `data/digits.csv.gz`, 1797 images of 8x8
//! pixels) as a sequence-classification task for `rnn train --task classify`: each image is
//! read row by row, 8 steps of 8 features (pixels scaled to [0, 1]).
//!
//! `cargo run --release --example digits -- DIR` writes
//! - `DIR/x.npy` `[1797, 8, 8]` float32 and `DIR/y.npy` `[1797]` int64 (labels 0..9): all of it,
//!   for `rnn train --task classify`, which holds out its own stratified test split;
//! - `DIR/x_train.npy`, `DIR/y_train.npy` (1438) and `DIR/x_test.npy`, `DIR/y_test.npy` (359): a
//!   fixed stratified 80/20 split (seed 0), to train with `--test-split 0` and score the unseen
//!   part with `rnn evaluate`.

use std::path::{Path, PathBuf};

use ndarray::{Array1, Axis};
use ndarray_npy::WriteNpyExt;
use rnn::data::npy;
use rnn::tasks::classify;

fn write_labels(path: &Path, labels: &Array1<usize>) -> Result<(), rnn::Error> {
    let io = |err| rnn::Error::Io { path: path.to_path_buf(), err };
    let file = std::fs::File::create(path).map_err(io)?;
    let labels = labels.mapv(|c| c as i64); // what NumPy writes for integer labels
    labels.write_npy(std::io::BufWriter::new(file)).map_err(|e| io(std::io::Error::other(e)))
}

fn main() -> Result<(), rnn::Error> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| ".".into()));
    std::fs::create_dir_all(&dir).map_err(|err| rnn::Error::Io { path: dir.clone(), err })?;
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("data/digits.csv.gz");
    let (x, y) = classify::read_digits(&source)?;
    npy::write(&dir.join("x.npy"), x.view())?;
    write_labels(&dir.join("y.npy"), &y)?;
    let labels = y.to_vec();
    let (train, test) = classify::stratified_split(&labels, 0.2, 0)?;
    for (name, rows) in [("train", &train), ("test", &test)] {
        npy::write(&dir.join(format!("x_{name}.npy")), x.select(Axis(0), rows).view())?;
        write_labels(&dir.join(format!("y_{name}.npy")), &y.select(Axis(0), rows))?;
    }
    println!(
        "wrote {d}/x.npy [{n}, 8, 8], {d}/y.npy [{n}]; x_train/y_train ({}), x_test/y_test ({})",
        train.len(),
        test.len(),
        d = dir.display(),
        n = labels.len()
    );
    Ok(())
}
