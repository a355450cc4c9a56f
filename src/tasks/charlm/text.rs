//! Reading a text file as UTF-8 characters, positions as line and column, and the held-out tail.

use std::path::Path;

use crate::{Error, Result};

/// Reads a UTF-8 text file.
///
/// # Errors
/// [`Error::Io`] naming the file when it cannot be read; [`Error::Data`] when it is not UTF-8,
/// with the line and column (in characters, 1-based) of the first offending byte, the byte(s)
/// and the byte offset, e.g.
/// `notes.txt: line 2, column 4: not valid UTF-8: byte 0xE9 (byte offset 9); a Latin-1 or
/// Windows-1252 file reads once converted to UTF-8 (iconv -f cp1252 -t utf-8)`.
///
/// # Example
/// ```
/// let dir = tempfile::tempdir().unwrap();
/// let path = dir.path().join("latin1.txt");
/// std::fs::write(&path, b"hello\ncaf\xe9\n").unwrap();
/// let err = rnn::tasks::charlm::read_text(&path).unwrap_err().to_string();
/// assert!(err.contains("latin1.txt: line 2, column 4: not valid UTF-8: byte 0xE9 (byte offset 9); a Latin-1"), "{err}");
/// ```
pub fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).map_err(|err| Error::Io { path: path.to_path_buf(), err })?;
    decode_text(bytes, path)
}

/// Decodes a text file's `bytes` as UTF-8; `path` names the file in errors.
///
/// # Errors
/// As [`read_text`]: [`Error::Data`] locating the first byte that is not UTF-8.
///
/// # Example
/// ```
/// use rnn::tasks::charlm::decode_text;
/// assert_eq!(decode_text("héllo".as_bytes().to_vec(), "t.txt".as_ref())?, "héllo");
/// let err = decode_text(b"ok\n\xff".to_vec(), "t.txt".as_ref()).unwrap_err().to_string();
/// assert!(err.contains("line 2, column 1"), "{err}");
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn decode_text(bytes: Vec<u8>, path: &Path) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| {
        let bytes = e.as_bytes();
        let utf8 = e.utf8_error();
        let at = utf8.valid_up_to();
        // the prefix up to the first bad byte is valid UTF-8, so this is lossless
        let (line, column) = end_position(&String::from_utf8_lossy(&bytes[..at]));
        let bad = &bytes[at..at + utf8.error_len().unwrap_or(bytes.len() - at)];
        let hex: Vec<String> = bad.iter().map(|b| format!("0x{b:02X}")).collect();
        let what = match utf8.error_len() {
            Some(1) => format!("byte {}", hex.join(" ")),
            Some(_) => format!("bytes {}", hex.join(" ")),
            None => format!("the file ends inside a character: bytes {}", hex.join(" ")),
        };
        // one byte of 0x80-0xFF alone is how Latin-1 and Windows-1252 write é, ü, ’, ...
        let hint = if utf8.error_len() == Some(1) {
            "; a Latin-1 or Windows-1252 file reads once converted to UTF-8 (iconv -f cp1252 -t utf-8)"
        } else {
            ""
        };
        Error::data(
            path,
            Some(line),
            Some(column.to_string()),
            format!("not valid UTF-8: {what} (byte offset {at}){hint}"),
        )
    })
}

/// The 1-based line and column (in characters) just after `prefix`: where the next character of a
/// text starting with `prefix` is.
///
/// # Example
/// ```
/// use rnn::tasks::charlm::end_position;
/// assert_eq!(end_position(""), (1, 1));
/// assert_eq!(end_position("ab\ncé"), (2, 3));
/// ```
pub fn end_position(prefix: &str) -> (usize, usize) {
    let line = 1 + prefix.matches('\n').count();
    let line_start = prefix.rfind('\n').map_or(0, |i| i + 1);
    (line, 1 + prefix[line_start..].chars().count())
}

/// Splits encoded text into its head (training) and its last `fraction` (held out), by
/// characters: the tail has `round(len * fraction)` of them.
///
/// # Errors
/// [`Error::Config`] when `fraction` is outside `[0, 1)` or the head would have fewer than 2
/// characters (nothing to learn from).
///
/// # Example
/// ```
/// let ids: Vec<usize> = (0..10).collect();
/// let (head, tail) = rnn::tasks::charlm::split_tail(&ids, 0.2)?;
/// assert_eq!((head.len(), tail), (8, &[8, 9][..]));
/// # Ok::<(), rnn::Error>(())
/// ```
pub fn split_tail(ids: &[usize], fraction: f64) -> Result<(&[usize], &[usize])> {
    if !(0.0..1.0).contains(&fraction) {
        return Err(Error::Config(format!("the held-out fraction must be in [0, 1), got {fraction}")));
    }
    let tail = (ids.len() as f64 * fraction).round() as usize;
    let head = ids.len() - tail;
    if head < 2 {
        return Err(Error::Config(format!(
            "holding out {fraction} of a text of {} characters leaves {head} to train on (at least 2 are needed)",
            ids.len()
        )));
    }
    Ok(ids.split_at(head))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_not_bytes() {
        assert_eq!(end_position(""), (1, 1));
        assert_eq!(end_position("ab"), (1, 3));
        assert_eq!(end_position("ab\n"), (2, 1));
        assert_eq!(end_position("x\nçé"), (2, 3));
    }

    #[test]
    fn invalid_utf8_is_located() {
        let dir = tempfile::tempdir().unwrap();
        let cases: [(&[u8], &str); 4] = [
            (b"\xff", "line 1, column 1: not valid UTF-8: byte 0xFF (byte offset 0); a Latin-1"),
            ("ab\nçé\n".as_bytes(), ""),
            (b"ab\n\xc3\xa7\xe9x", "line 2, column 2: not valid UTF-8: byte 0xE9 (byte offset 5); a Latin-1"),
            (
                b"ab\n\xe2\x82",
                "line 2, column 1: not valid UTF-8: the file ends inside a character: bytes 0xE2 0x82 (byte offset 3)",
            ),
        ];
        for (bytes, want) in cases {
            let path = dir.path().join("t.txt");
            std::fs::write(&path, bytes).unwrap();
            match read_text(&path) {
                Ok(text) => assert!(want.is_empty(), "{text:?}"),
                Err(e) => {
                    let msg = e.to_string();
                    assert!(msg.starts_with(&format!("{}: {want}", path.display())), "{msg}");
                    assert_eq!(msg.contains("(iconv -f cp1252 -t utf-8)"), want.ends_with("a Latin-1"), "{msg}");
                }
            }
        }
    }

    #[test]
    fn tail_split_checks_its_fraction() {
        let ids = [0usize; 10];
        assert_eq!(split_tail(&ids, 0.0).unwrap().1.len(), 0);
        assert_eq!(split_tail(&ids, 0.25).unwrap().1.len(), 3);
        assert!(split_tail(&ids, 1.0).is_err());
        assert!(split_tail(&ids, -0.1).is_err());
        assert!(split_tail(&ids, 0.9).is_err());
    }
}
