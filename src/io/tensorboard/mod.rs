//! TensorBoard event files: [`SummaryWriter`] writes scalars and histograms the way
//! TensorFlow's and tensorboardX's writers do, for `tensorboard --logdir DIR` to plot.
//!
//! A file `events.out.tfevents.<seconds>.<hostname>` is a sequence of TFRecord records
//! (length, masked CRC32C, data, masked CRC32C), each holding one `Event` protocol
//! buffer; the first says `file_version: "brain.Event:2"`. Histograms use
//! TensorFlow's default exponential buckets ([`Histogram`]).
//!
//! # Example
//! ```
//! use rnn::io::tensorboard::SummaryWriter;
//! let dir = std::env::temp_dir().join(format!("rnn-doc-tb-mod-{}", std::process::id()));
//! let mut writer = SummaryWriter::create(&dir)?; // `tensorboard --logdir DIR` shows it
//! for step in 1..=3 {
//!     writer.add_scalar("loss/train", 1.0 / step as f64, step)?;
//! }
//! writer.flush()?;
//! assert!(std::fs::metadata(writer.path())?.len() > 0);
//! drop(writer);
//! std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod histogram;
// Not API: the encoding ([`SummaryWriter`] is); public for the tests that decode event files.
#[doc(hidden)]
pub mod proto;
#[doc(hidden)]
pub mod record;

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, ErrorKind, Write};
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

pub use histogram::{Histogram, default_limits};
use proto::{SummaryValue, What};

use crate::{Error, Result};

/// Writes one TensorBoard event file.
///
/// Records are buffered; [`SummaryWriter::flush`] hands them to the operating system (so they
/// survive the process being killed), and dropping the writer flushes too, ignoring errors.
///
/// # Example
/// ```
/// use rnn::io::tensorboard::SummaryWriter;
///
/// let dir = std::env::temp_dir().join(format!("rnn-doc-tensorboard-{}", std::process::id()));
/// let mut writer = SummaryWriter::create(&dir)?;
/// for epoch in 1..=3 {
///     writer.add_scalar("loss/train", 1.0 / epoch as f64, epoch)?;
///     writer.add_histogram("weights/w", [0.5, -1.0, 2.0 * epoch as f64], epoch)?;
///     writer.flush()?;
/// }
/// let name = writer.path().file_name().unwrap().to_string_lossy().into_owned();
/// assert!(name.starts_with("events.out.tfevents."));
/// drop(writer);
/// std::fs::remove_dir_all(&dir).unwrap();
/// # Ok::<(), rnn::Error>(())
/// ```
pub struct SummaryWriter {
    path: PathBuf,
    file: BufWriter<File>,
    /// One framed record, reused.
    record: Vec<u8>,
}

impl SummaryWriter {
    /// Creates `dir` (and its parents) when missing, and in it a new event file
    /// `events.out.tfevents.<unix seconds>.<hostname>` (with `.1`, `.2`, ... appended should
    /// that name be taken), starting with the `brain.Event:2` version record, flushed.
    ///
    /// # Errors
    /// [`Error::Io`] naming `dir` when it is not a directory or cannot be created, or naming the
    /// file when it cannot be created or written.
    ///
    /// # Example
    /// ```
    /// use rnn::io::tensorboard::SummaryWriter;
    /// let dir = std::env::temp_dir().join(format!("rnn-doc-tb-create-{}", std::process::id()));
    /// let writer = SummaryWriter::create(dir.join("run1"))?; // the parents are created too
    /// assert_eq!(writer.path().parent(), Some(dir.join("run1").as_path()));
    /// assert!(std::fs::metadata(writer.path())?.len() > 0); // the version record
    /// drop(writer);
    /// // a path that is a file, not a directory, is refused
    /// let file = dir.join("file");
    /// std::fs::write(&file, b"")?;
    /// assert!(SummaryWriter::create(&file).is_err());
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn create(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let io = |path: &Path, kind: ErrorKind, msg: String| Error::Io {
            path: path.to_path_buf(),
            err: std::io::Error::new(kind, msg),
        };
        if dir.exists() && !dir.is_dir() {
            return Err(io(dir, ErrorKind::NotADirectory, "exists and is not a directory".into()));
        }
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e.kind(), format!("cannot create the directory: {e}")))?;
        let stem = format!("events.out.tfevents.{:010}.{}", unix_seconds(), hostname());
        let mut n = 0;
        let (path, file) = loop {
            let name = if n == 0 { stem.clone() } else { format!("{stem}.{n}") };
            let path = dir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => break (path, file),
                Err(e) if e.kind() == ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(err) => return Err(Error::Io { path, err }),
            }
        };
        let mut writer = SummaryWriter { path, file: BufWriter::new(file), record: Vec::new() };
        writer.write_event(0, &What::FileVersion("brain.Event:2"))?;
        writer.flush()?;
        Ok(writer)
    }

    /// The event file being written.
    ///
    /// # Example
    /// ```
    /// use rnn::io::tensorboard::SummaryWriter;
    /// let dir = std::env::temp_dir().join(format!("rnn-doc-tb-path-{}", std::process::id()));
    /// let writer = SummaryWriter::create(&dir)?;
    /// let name = writer.path().file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
    /// assert!(name.starts_with("events.out.tfevents."), "{name}");
    /// drop(writer);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Adds a scalar under `tag` at `step` (TensorBoard's x axis). The value is stored as an
    /// `f32`, as TensorBoard's scalars are.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when writing fails.
    ///
    /// # Example
    /// ```
    /// use rnn::io::tensorboard::SummaryWriter;
    /// let dir = std::env::temp_dir().join(format!("rnn-doc-tb-scalar-{}", std::process::id()));
    /// let mut writer = SummaryWriter::create(&dir)?;
    /// let before = std::fs::metadata(writer.path())?.len();
    /// for (step, loss) in [(1, 0.9), (2, 0.5), (3, 0.3)] {
    ///     writer.add_scalar("loss/train", loss, step)?;
    /// }
    /// writer.flush()?;
    /// assert!(std::fs::metadata(writer.path())?.len() > before);
    /// drop(writer);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_scalar(&mut self, tag: &str, value: f64, step: i64) -> Result<()> {
        self.write_event(step, &What::Summary(SummaryValue::Scalar(tag, value as f32)))
    }

    /// Adds the histogram of `values` (see [`Histogram::new`]) under `tag` at `step`. Writes
    /// nothing when there is no (non-NaN) value.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when writing fails.
    ///
    /// # Example
    /// ```
    /// use rnn::io::tensorboard::SummaryWriter;
    /// let dir = std::env::temp_dir().join(format!("rnn-doc-add-histogram-{}", std::process::id()));
    /// let mut writer = SummaryWriter::create(&dir)?;
    /// writer.flush()?;
    /// let before = std::fs::metadata(writer.path())?.len();
    /// writer.add_histogram("weights/w", [f64::NAN], 1)?; // nothing to summarise: nothing written
    /// writer.add_histogram("weights/w", (0..100).map(|i| i as f64 / 10.0), 1)?;
    /// writer.flush()?;
    /// assert!(std::fs::metadata(writer.path())?.len() > before);
    /// drop(writer);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_histogram(&mut self, tag: &str, values: impl IntoIterator<Item = f64>, step: i64) -> Result<()> {
        match Histogram::new(values) {
            Some(h) => self.add_histogram_of(tag, &h, step),
            None => Ok(()),
        }
    }

    /// Adds a histogram already summarized.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when writing fails.
    ///
    /// # Example
    /// ```
    /// use rnn::io::tensorboard::{Histogram, SummaryWriter};
    /// let dir = std::env::temp_dir().join(format!("rnn-doc-add-histogram-of-{}", std::process::id()));
    /// let mut writer = SummaryWriter::create(&dir)?;
    /// let h = Histogram::new([1.0, 2.0, 2.5]).ok_or("no values")?;
    /// assert_eq!(h.num, 3.0);
    /// writer.add_histogram_of("grads/w", &h, 7)?;
    /// writer.flush()?;
    /// assert!(std::fs::metadata(writer.path())?.len() > 0);
    /// drop(writer);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_histogram_of(&mut self, tag: &str, histogram: &Histogram, step: i64) -> Result<()> {
        self.write_event(step, &What::Summary(SummaryValue::Histogram(tag, histogram)))
    }

    /// Hands everything written so far to the operating system.
    ///
    /// # Errors
    /// [`Error::Io`] naming the file when writing fails.
    ///
    /// # Example
    /// ```
    /// use rnn::io::tensorboard::SummaryWriter;
    /// let dir = std::env::temp_dir().join(format!("rnn-doc-tb-flush-{}", std::process::id()));
    /// let mut writer = SummaryWriter::create(&dir)?;
    /// let before = std::fs::metadata(writer.path())?.len();
    /// writer.add_scalar("lr", 0.01, 1)?; // buffered
    /// writer.flush()?; // now in the file, for TensorBoard to read while training runs
    /// assert!(std::fs::metadata(writer.path())?.len() > before);
    /// drop(writer);
    /// std::fs::remove_dir_all(&dir)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flush(&mut self) -> Result<()> {
        self.file.flush().map_err(|err| Error::Io { path: self.path.clone(), err })
    }

    fn write_event(&mut self, step: i64, what: &What<'_>) -> Result<()> {
        let event = proto::event(unix_time(), step, what);
        self.record.clear();
        record::frame(&event, &mut self.record);
        self.file.write_all(&self.record).map_err(|err| Error::Io { path: self.path.clone(), err })
    }
}

fn unix_time() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0.0, |d| d.as_secs_f64())
}

fn unix_seconds() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// The machine's name, as Python's `socket.gethostname()` gives it on Linux; `localhost` when
/// it cannot be found or would not make a file name.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && !s.contains(['/', '\\', '\0']))
        .unwrap_or_else(|| "localhost".into())
}

#[cfg(test)]
mod tests {
    use super::proto::read::{self, Field};
    use super::*;

    /// Every event of a file: (wall_time, step, the event's fields).
    fn events(path: &Path) -> Vec<Vec<(u32, Field<'static>)>> {
        let bytes: &'static [u8] = Box::leak(std::fs::read(path).unwrap().into_boxed_slice());
        record::unframe(bytes).unwrap().into_iter().map(read::fields).collect()
    }

    fn summary_value(event: &[(u32, Field<'static>)]) -> Vec<(u32, Field<'static>)> {
        let summary = read::fields(read::get(event, 5).unwrap().bytes());
        assert_eq!(summary.len(), 1);
        read::fields(read::get(&summary, 1).unwrap().bytes())
    }

    #[test]
    fn round_trip_of_scalars_and_histograms() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SummaryWriter::create(dir.path().join("new/run")).unwrap();
        w.add_scalar("loss/train", 0.125, 1).unwrap();
        w.add_scalar("lr", 1e-3, 2).unwrap();
        let values = [0.5, -0.25, 3.0, 0.5];
        w.add_histogram("weights/rnn.weight_ih_l0", values, 2).unwrap();
        w.add_histogram("empty", std::iter::empty(), 2).unwrap();
        w.flush().unwrap();
        let name = w.path().file_name().unwrap().to_str().unwrap().to_string();
        let parts: Vec<&str> = name.splitn(5, '.').collect();
        assert_eq!(&parts[..3], ["events", "out", "tfevents"]);
        assert!(parts[3].len() >= 10 && parts[3].bytes().all(|b| b.is_ascii_digit()), "{name}");
        assert_eq!(parts[4], hostname());

        let ev = events(w.path());
        assert_eq!(ev.len(), 4, "version, 2 scalars, 1 histogram; nothing for the empty one");
        assert_eq!(read::get(&ev[0], 3).unwrap().bytes(), b"brain.Event:2");
        assert_eq!(read::get(&ev[0], 2), None, "step 0 is left out");
        let now = unix_time();
        for e in &ev {
            let t = read::get(e, 1).unwrap().f64();
            assert!(t > now - 60.0 && t <= now, "wall time {t}");
        }
        for (e, tag, value, step) in [(&ev[1], "loss/train", 0.125f32, 1), (&ev[2], "lr", 1e-3f32, 2)] {
            assert_eq!(read::get(e, 2), Some(Field::Varint(step)));
            let v = summary_value(e);
            assert_eq!(read::get(&v, 1).unwrap().bytes(), tag.as_bytes());
            assert_eq!(read::get(&v, 2).unwrap().f32(), value);
        }
        let v = summary_value(&ev[3]);
        assert_eq!(read::get(&v, 1).unwrap().bytes(), b"weights/rnn.weight_ih_l0");
        let h = read::fields(read::get(&v, 5).unwrap().bytes());
        let expected = Histogram::new(values).unwrap();
        let got = Histogram {
            min: read::get(&h, 1).unwrap().f64(),
            max: read::get(&h, 2).unwrap().f64(),
            num: read::get(&h, 3).unwrap().f64(),
            sum: read::get(&h, 4).unwrap().f64(),
            sum_squares: read::get(&h, 5).unwrap().f64(),
            bucket_limit: read::get(&h, 6).unwrap().packed_f64(),
            bucket: read::get(&h, 7).unwrap().packed_f64(),
        };
        assert_eq!(got, expected);
        assert_eq!((got.min, got.max, got.num, got.sum, got.sum_squares), (-0.25, 3.0, 4.0, 3.75, 9.5625));
    }

    #[test]
    fn a_second_writer_in_the_same_second_gets_its_own_file() {
        let dir = tempfile::tempdir().unwrap();
        let a = SummaryWriter::create(dir.path()).unwrap();
        let b = SummaryWriter::create(dir.path()).unwrap();
        assert_ne!(a.path(), b.path());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
    }

    #[test]
    fn a_file_in_the_way_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("taken");
        std::fs::write(&file, b"x").unwrap();
        let err = SummaryWriter::create(&file).err().unwrap().to_string();
        assert_eq!(err, format!("{}: exists and is not a directory", file.display()));
        let err = SummaryWriter::create(file.join("below")).err().unwrap().to_string();
        assert!(err.starts_with(&format!("{}: cannot create the directory: ", file.join("below").display())), "{err}");
    }
}
