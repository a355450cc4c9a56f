//! TFRecord framing, the container of TensorFlow event files: every record is
//!
//! ```text
//! u64   length of the data, little-endian
//! u32   masked CRC32C of those 8 length bytes, little-endian
//! [u8]  the data (here a serialized `Event`)
//! u32   masked CRC32C of the data, little-endian
//! ```
//!
//! with CRC32C the Castagnoli CRC (iSCSI polynomial) and the mask TensorFlow's
//! `((crc >> 15) | (crc << 17)) + 0xa282ead8` (mod 2^32).

use crc::{CRC_32_ISCSI, Crc};

/// The Castagnoli CRC, table-driven.
const CASTAGNOLI: Crc<u32> = Crc::<u32>::new(&CRC_32_ISCSI);

/// The CRC32C (Castagnoli) of `bytes`.
pub fn crc32c(bytes: &[u8]) -> u32 {
    CASTAGNOLI.checksum(bytes)
}

/// TensorFlow's masked CRC32C: the CRC rotated right by 15 bits plus `0xa282ead8`, so that a
/// CRC of data holding CRCs is not itself trivially predictable.
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    let crc = crc32c(bytes);
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Appends one framed record holding `data` to `out`.
pub fn frame(data: &[u8], out: &mut Vec<u8>) {
    let len = (data.len() as u64).to_le_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&masked_crc32c(&len).to_le_bytes());
    out.extend_from_slice(data);
    out.extend_from_slice(&masked_crc32c(data).to_le_bytes());
}

/// Splits an event file into its records' data, checking both CRCs of every record.
///
/// # Errors
/// A message naming the record (0-based) and byte offset of a truncated record or a CRC
/// mismatch.
#[cfg(test)]
pub fn unframe(mut bytes: &[u8]) -> Result<Vec<&[u8]>, String> {
    let u32_at = |b: &[u8], at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let (mut records, mut offset) = (Vec::new(), 0usize);
    while !bytes.is_empty() {
        let n = records.len();
        if bytes.len() < 12 {
            return Err(format!("record {n} at byte {offset}: truncated header"));
        }
        if u32_at(bytes, 8) != masked_crc32c(&bytes[..8]) {
            return Err(format!("record {n} at byte {offset}: length CRC mismatch"));
        }
        let len = u64::from_le_bytes(bytes[..8].try_into().map_err(|_| "unreachable")?) as usize;
        if bytes.len() < 16 + len {
            return Err(format!("record {n} at byte {offset}: truncated data"));
        }
        let data = &bytes[12..12 + len];
        if u32_at(bytes, 12 + len) != masked_crc32c(data) {
            return Err(format!("record {n} at byte {offset}: data CRC mismatch"));
        }
        records.push(data);
        bytes = &bytes[16 + len..];
        offset += 16 + len;
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hex of bytes, for comparing with vectors made by TensorBoard's own Python writer.
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn crc32c_of_known_vectors() {
        // the check value of CRC-32C (iSCSI), RFC 3720 B.4
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        assert_eq!(crc32c(b""), 0);
        // RFC 3720 B.4: 32 bytes of zeros
        assert_eq!(crc32c(&[0u8; 32]), 0x8A91_36AA);
    }

    #[test]
    fn masked_crc_matches_tensorboards_python_implementation() {
        // tensorboard.compat.tensorflow_stub.pywrap_tensorflow.masked_crc32c
        assert_eq!(masked_crc32c(b"123456789"), 0xC78A_B0E5);
        assert_eq!(masked_crc32c(b""), 0xA282_EAD8);
        assert_eq!(masked_crc32c(&24u64.to_le_bytes()), 0x224B_7FA3);
        // the formula as TensorFlow writes it (crc32c.h), spelled out
        let crc = crc32c(b"123456789");
        #[allow(clippy::manual_rotate)]
        let masked = ((crc >> 15) | (crc << 17)).wrapping_add(0xa282ead8);
        assert_eq!(masked_crc32c(b"123456789"), masked);
    }

    #[test]
    fn frame_matches_tensorboards_record_writer() {
        // tensorboard.summary.writer.record_writer.RecordWriter(...).write(b"hello")
        let mut out = Vec::new();
        frame(b"hello", &mut out);
        assert_eq!(hex(&out), "0500000000000000eab2043e68656c6c6fbb1f1c19");
    }

    #[test]
    fn unframe_round_trips_and_catches_corruption() {
        let mut out = Vec::new();
        for data in [&b"first"[..], b"", b"third record"] {
            frame(data, &mut out);
        }
        assert_eq!(unframe(&out).unwrap(), vec![&b"first"[..], b"", b"third record"]);
        let mut bad = out.clone();
        bad[13] ^= 1; // inside the first record's data
        assert_eq!(unframe(&bad).unwrap_err(), "record 0 at byte 0: data CRC mismatch");
        let mut bad = out.clone();
        bad[21] ^= 1; // the second record's length
        assert_eq!(unframe(&bad).unwrap_err(), "record 1 at byte 21: length CRC mismatch");
        assert_eq!(unframe(&out[..out.len() - 1]).unwrap_err(), "record 2 at byte 37: truncated data");
    }
}
