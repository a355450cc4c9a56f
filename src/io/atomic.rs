//! Safe file writes. A regular file (or a path that does not exist yet) is written atomically: a
//! temporary file beside the target, synced, renamed over it, then the folder synced, so a crash,
//! a kill or a full disk never leaves a half-written model, checkpoint or output behind. Anything
//! else (a character device such as `/dev/null`, a FIFO, `/dev/stdout`) is written in place and
//! never replaced, and `-` (or `/dev/stdout`) is this process's standard output.
//!
//! A symbolic link is followed: the file it points to is replaced atomically (the rename goes to
//! the target's path, so the link stays a link).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{Error, Result};

/// How many symbolic links are followed before giving up (Linux's limit).
const MAX_LINKS: usize = 40;

/// Writes `bytes` to `path`: atomically for a regular file, in place for a device or FIFO, to
/// standard output for `-` (see the module's documentation).
///
/// # Errors
/// [`Error::Io`] naming `path` when the folder is missing or not writable, `path` is a folder,
/// or a write fails (`/dev/full`: no space left on device).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |f| f.write_all(bytes))
}

/// As [`write_atomic`], with the content written by `fill`.
///
/// # Errors
/// [`Error::Io`] naming `path`.
pub fn write_atomic_with(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> Result<()> {
    let io = |err| Error::Io { path: path.to_path_buf(), err };
    match resolve(path).map_err(io)? {
        Target::Stdout => {
            let mut out = io::stdout().lock();
            fill(&mut out).and_then(|()| out.flush()).map_err(io)
        }
        Target::InPlace(p) => {
            let mut f = OpenOptions::new().write(true).open(p).map_err(io)?;
            fill(&mut f).and_then(|()| f.flush()).map_err(io)
        }
        Target::Replace(p) => replace(&p, fill).map_err(io),
    }
}

/// Checks, without writing anything, that [`write_atomic`] could write `path`: a folder is
/// refused, and a regular file's folder must exist and take a new file (tried with an empty
/// temporary file, removed at once). A device, FIFO or `-` is accepted as it is.
///
/// # Errors
/// [`Error::Io`] naming `path`, saying what is wrong.
pub fn check_writable(path: &Path) -> Result<()> {
    let io = |err| Error::Io { path: path.to_path_buf(), err };
    let Target::Replace(p) = resolve(path).map_err(io)? else { return Ok(()) };
    let dir = folder_of(&p);
    match fs::metadata(dir) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(io(io::Error::other(format!("cannot write: {} is not a folder", dir.display())))),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(io(io::Error::other(format!("cannot write: folder {} does not exist", dir.display()))));
        }
        Err(e) => return Err(io(io::Error::other(format!("cannot write: folder {}: {e}", dir.display())))),
    }
    let tmp = temp_path(&p);
    match OpenOptions::new().write(true).create_new(true).open(&tmp) {
        Ok(_) => {
            // the probe is empty and ours: removing it cannot lose anything
            let _ = fs::remove_file(&tmp);
            Ok(())
        }
        Err(e) => Err(io(io::Error::new(e.kind(), format!("cannot write in folder {}: {e}", dir.display())))),
    }
}

/// Where a write goes.
#[derive(Debug, PartialEq)]
enum Target {
    /// Standard output (`-`).
    Stdout,
    /// A special file (device, FIFO, socket, anything under `/dev` or `/proc`): opened and
    /// written, never replaced.
    InPlace(PathBuf),
    /// A regular file or a path not there yet (symbolic links resolved): replaced atomically.
    Replace(PathBuf),
}

/// Follows `path`'s symbolic links to what a write should do.
fn resolve(path: &Path) -> io::Result<Target> {
    if STDOUT_NAMES.iter().any(|n| path.as_os_str() == *n) {
        return Ok(Target::Stdout);
    }
    let mut p = path.to_path_buf();
    for _ in 0..MAX_LINKS {
        match fs::symlink_metadata(&p) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Target::Replace(p)),
            Err(e) => return Err(e),
            // the kernel's own links (`/proc/self/fd/3` → `pipe:[…]`) are opened as they are,
            // never resolved by hand
            Ok(m) if m.file_type().is_symlink() && p.starts_with("/proc") => {
                return match fs::metadata(&p) {
                    Ok(m) if m.is_dir() => Err(is_a_directory()),
                    _ => Ok(Target::InPlace(p)),
                };
            }
            Ok(m) if m.file_type().is_symlink() => {
                let link = fs::read_link(&p)?;
                // a relative link is relative to the link's folder; an absolute one replaces it
                p = folder_of(&p).join(link);
            }
            Ok(m) if m.is_dir() => return Err(is_a_directory()),
            Ok(m) if m.is_file() => return Ok(Target::Replace(p)),
            Ok(_) => return Ok(Target::InPlace(p)),
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

/// Names of standard output: written to this process's own stdout (so a shell's `>>` appends).
const STDOUT_NAMES: [&str; 4] = ["-", "/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"];

fn is_a_directory() -> io::Error {
    io::Error::new(io::ErrorKind::IsADirectory, "is a directory, expected a file path to write")
}

/// The folder holding `p` (`.` for a bare file name).
fn folder_of(p: &Path) -> &Path {
    match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// Temp file, fill, fsync, rename over `path`, fsync the folder; the temp file is removed on
/// failure. An existing file's permissions are kept.
fn replace(path: &Path, fill: impl FnOnce(&mut dyn Write) -> io::Result<()>) -> io::Result<()> {
    let tmp = temp_path(path);
    let result = (|| {
        let mut f = OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        if let Ok(m) = fs::metadata(path) {
            f.set_permissions(m.permissions())?;
        }
        fill(&mut f)?;
        f.flush()?;
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result?;
    sync_folder(folder_of(path))
}

/// Makes a rename in `dir` durable. File systems that cannot sync a folder are let be.
fn sync_folder(dir: &Path) -> io::Result<()> {
    match File::open(dir).and_then(|d| d.sync_all()) {
        Err(e) if matches!(e.kind(), io::ErrorKind::InvalidInput | io::ErrorKind::Unsupported) => Ok(()),
        other => other,
    }
}

/// `.NAME.tmp.PID.N` beside `path`: unique within the process and across processes.
fn temp_path(path: &Path) -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    folder_of(path).join(format!(".{name}.tmp.{}.{n}", std::process::id()))
}

#[cfg(test)]
#[path = "atomic_tests.rs"]
mod tests;
