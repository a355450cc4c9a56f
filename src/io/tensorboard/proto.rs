//! The few TensorFlow protocol-buffer messages an event file needs, encoded by hand (proto3 wire
//! format; fields at their default value are left out, as protobuf's own encoders do):
//!
//! ```text
//! Event          { double wall_time = 1; int64 step = 2;
//!                  oneof what { string file_version = 3; Summary summary = 5; } }
//! Summary        { repeated Value value = 1; }
//! Summary.Value  { string tag = 1; oneof value { float simple_value = 2; HistogramProto histo = 5; } }
//! HistogramProto { double min = 1; double max = 2; double num = 3; double sum = 4;
//!                  double sum_squares = 5; repeated double bucket_limit = 6 [packed = true];
//!                  repeated double bucket = 7 [packed = true]; }
//! ```
//!
//! (`tensorflow/core/util/event.proto`, `tensorflow/core/framework/summary.proto`.)

use super::Histogram;

/// What an event carries.
pub enum What<'a> {
    /// The first event of a file: `brain.Event:2`.
    FileVersion(&'a str),
    /// A summary with one value.
    Summary(SummaryValue<'a>),
}

/// One tagged value of a summary.
pub enum SummaryValue<'a> {
    /// A scalar, stored as `float` (`simple_value`), as TensorBoard's scalar plots read it.
    Scalar(&'a str, f32),
    /// A histogram.
    Histogram(&'a str, &'a Histogram),
}

/// An `Event` message, serialized.
pub fn event(wall_time: f64, step: i64, what: &What<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    double(&mut out, 1, wall_time);
    if step != 0 {
        key(&mut out, 2, VARINT);
        varint(&mut out, step as u64); // negative int64: ten bytes of two's complement
    }
    match what {
        What::FileVersion(v) => bytes(&mut out, 3, v.as_bytes()),
        What::Summary(value) => {
            let value = summary_value(value);
            let mut summary = Vec::with_capacity(value.len() + 4);
            bytes(&mut summary, 1, &value);
            bytes(&mut out, 5, &summary);
        }
    }
    out
}

fn summary_value(value: &SummaryValue<'_>) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        SummaryValue::Scalar(tag, v) => {
            bytes(&mut out, 1, tag.as_bytes());
            // a member of a oneof is written even when zero (else the value is unset, and
            // TensorBoard drops a scalar of exactly 0.0)
            key(&mut out, 2, FIXED32);
            out.extend_from_slice(&v.to_le_bytes());
        }
        SummaryValue::Histogram(tag, h) => {
            bytes(&mut out, 1, tag.as_bytes());
            bytes(&mut out, 5, &histogram(h));
        }
    }
    out
}

fn histogram(h: &Histogram) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 * h.bucket.len() + 64);
    for (field, v) in [(1, h.min), (2, h.max), (3, h.num), (4, h.sum), (5, h.sum_squares)] {
        double(&mut out, field, v);
    }
    for (field, values) in [(6, &h.bucket_limit), (7, &h.bucket)] {
        if !values.is_empty() {
            key(&mut out, field, LEN);
            varint(&mut out, 8 * values.len() as u64);
            for v in values {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out
}

/// Wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (u64::from(field) << 3) | u64::from(wire));
}

/// A `double` field, left out when it is `+0.0`.
fn double(out: &mut Vec<u8>, field: u32, v: f64) {
    if v.to_bits() != 0 {
        key(out, field, FIXED64);
        out.extend_from_slice(&v.to_le_bytes());
    }
}

/// A length-delimited field (string, bytes, message).
fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    key(out, field, LEN);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// A minimal reader of the wire format, for the tests' round trips.
#[cfg(test)]
#[allow(missing_docs)]
pub mod read {
    /// A field's value as the wire format carries it.
    #[derive(Clone, Debug, PartialEq)]
    pub enum Field<'a> {
        Varint(u64),
        Fixed64([u8; 8]),
        Len(&'a [u8]),
        Fixed32([u8; 4]),
    }

    impl<'a> Field<'a> {
        pub fn f64(&self) -> f64 {
            match self {
                Field::Fixed64(b) => f64::from_le_bytes(*b),
                other => panic!("not a double: {other:?}"),
            }
        }
        pub fn f32(&self) -> f32 {
            match self {
                Field::Fixed32(b) => f32::from_le_bytes(*b),
                other => panic!("not a float: {other:?}"),
            }
        }
        pub fn bytes(&self) -> &'a [u8] {
            match self {
                Field::Len(b) => b,
                other => panic!("not length-delimited: {other:?}"),
            }
        }
        pub fn packed_f64(&self) -> Vec<f64> {
            self.bytes().chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect()
        }
    }

    fn varint(b: &[u8], at: &mut usize) -> u64 {
        let (mut v, mut shift) = (0u64, 0);
        loop {
            let byte = b[*at];
            *at += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte < 0x80 {
                return v;
            }
            shift += 7;
        }
    }

    /// Every `(field number, value)` of a message, in order; panics on malformed input.
    pub fn fields(b: &[u8]) -> Vec<(u32, Field<'_>)> {
        let (mut out, mut at) = (Vec::new(), 0);
        while at < b.len() {
            let k = varint(b, &mut at);
            let field = (k >> 3) as u32;
            let value = match k & 7 {
                0 => Field::Varint(varint(b, &mut at)),
                1 => Field::Fixed64(b[at..at + 8].try_into().unwrap()),
                2 => {
                    let n = varint(b, &mut at) as usize;
                    Field::Len(&b[at..at + n])
                }
                5 => Field::Fixed32(b[at..at + 4].try_into().unwrap()),
                w => panic!("wire type {w}"),
            };
            at += match &value {
                Field::Varint(_) => 0,
                Field::Fixed64(_) => 8,
                Field::Len(s) => s.len(),
                Field::Fixed32(_) => 4,
            };
            out.push((field, value));
        }
        out
    }

    /// The first value of field `n`.
    pub fn get<'a>(fields: &[(u32, Field<'a>)], n: u32) -> Option<Field<'a>> {
        fields.iter().find(|(f, _)| *f == n).map(|(_, v)| v.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// A scalar of exactly 0.0 keeps its `simple_value` (a oneof member is written when set),
    /// as protobuf's Python encoder writes `Summary.Value(tag="x", simple_value=0.0)`.
    #[test]
    fn a_zero_scalar_is_written() {
        assert_eq!(hex(&summary_value(&SummaryValue::Scalar("x", 0.0))), "0a01781500000000");
    }

    // The expected bytes are TensorBoard's own protobuf classes' SerializeToString() of the same
    // messages (tensorboard.compat.proto.event_pb2, summary_pb2).

    #[test]
    fn file_version_event_matches_protobuf() {
        let e = event(1.0, 0, &What::FileVersion("brain.Event:2"));
        assert_eq!(hex(&e), "09000000000000f03f1a0d627261696e2e4576656e743a32");
    }

    #[test]
    fn scalar_event_matches_protobuf() {
        let e = event(1.5, 3, &What::Summary(SummaryValue::Scalar("loss/train", 0.25)));
        assert_eq!(hex(&e), "09000000000000f83f10032a130a110a0a6c6f73732f747261696e150000803e");
    }

    #[test]
    fn histogram_event_with_negative_step_matches_protobuf() {
        let h = Histogram {
            min: -1.0,
            max: 2.0,
            num: 3.0,
            sum: 1.0,
            sum_squares: 6.0,
            bucket_limit: vec![0.0, 2.2],
            bucket: vec![1.0, 2.0],
        };
        let e = event(2.0, -1, &What::Summary(SummaryValue::Histogram("w", &h)));
        assert_eq!(
            hex(&e),
            "09000000000000004010ffffffffffffffffff012a580a560a01772a5109000000000000f0bf11000000000000004019\
             000000000000084021000000000000f03f290000000000001840321000000000000000009a999999999901403a100000\
             00000000f03f0000000000000040"
        );
    }

    #[test]
    fn reader_reads_what_the_writer_wrote() {
        let e = event(3.25, 1 << 40, &What::Summary(SummaryValue::Scalar("lr", -0.5)));
        let f = read::fields(&e);
        assert_eq!(read::get(&f, 1).unwrap().f64(), 3.25);
        assert_eq!(read::get(&f, 2), Some(read::Field::Varint(1 << 40)));
        let summary = read::fields(read::get(&f, 5).unwrap().bytes());
        let value = read::fields(read::get(&summary, 1).unwrap().bytes());
        assert_eq!(read::get(&value, 1).unwrap().bytes(), b"lr");
        assert_eq!(read::get(&value, 2).unwrap().f32(), -0.5);
    }
}
