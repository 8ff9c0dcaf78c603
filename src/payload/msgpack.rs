//! MessagePack content: each message one MessagePack value (read by `rmpv`), shown as a
//! capped JSON-like tree and a one-line summary.
//!
//! JSON has no binary, extension or non-string-key types; the tree spells them as objects:
//! binary `{"$bin": "<hex of the first 32 bytes>", "length": n}`, extension
//! `{"$ext": type, "hex": …, "length": n}` (the timestamp extension, type -1, as
//! `{"$timestamp": seconds, "nanos": n}`), map keys that are not strings as their compact
//! JSON text, floats that are not finite as the strings `NaN`, `inf`, `-inf`.

use super::bound::{self, Line};
use super::{AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Protocol};
use serde_json::{Map, Value};

/// Deepest nesting read: deeper input is refused (rmpv recurses once per level).
pub const MAX_DEPTH: usize = 64;
/// Bytes of binary and extension data shown in hex.
const HEX_BYTES: usize = 32;

/// Why a message is not one MessagePack value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MsgpackError {
    /// The value is cut short, nested deeper than [`MAX_DEPTH`], or uses the reserved
    /// marker 0xc1.
    Invalid(String),
    /// A whole value was read and bytes were left after it.
    Trailing {
        /// Offset of the first byte after the value.
        offset: usize,
    },
}

impl std::fmt::Display for MsgpackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MsgpackError::Invalid(e) => write!(f, "msgpack: {e}"),
            MsgpackError::Trailing { offset } => {
                write!(f, "msgpack: bytes left after the value at offset {offset}")
            }
        }
    }
}

/// Reads one value from the start of `bytes`; returns it and the bytes it used.
pub fn read_prefix(bytes: &[u8]) -> Result<(rmpv::Value, usize), MsgpackError> {
    let mut rd = bytes;
    let v = rmpv::decode::read_value_with_max_depth(&mut rd, MAX_DEPTH)
        .map_err(|e| MsgpackError::Invalid(e.to_string()))?;
    Ok((v, bytes.len() - rd.len()))
}

/// Reads `bytes` as exactly one value.
pub fn parse(bytes: &[u8]) -> Result<rmpv::Value, MsgpackError> {
    let (v, used) = read_prefix(bytes)?;
    if used != bytes.len() {
        return Err(MsgpackError::Trailing { offset: used });
    }
    Ok(v)
}

/// The JSON-like tree of a value, within the field caps of [`bound`].
pub fn to_json(v: &rmpv::Value) -> Value {
    let mut budget = bound::MAX_FIELD_NODES;
    bound::cap_owned(convert(v, 0, &mut budget))
}

/// `{"$bin": hex, "length": n}`.
pub fn bytes_json(b: &[u8]) -> Value {
    let mut m = Map::new();
    m.insert("$bin".into(), bound::hex_prefix(b, HEX_BYTES).into());
    m.insert("length".into(), b.len().into());
    Value::Object(m)
}

/// A float as a JSON number, or `NaN` / `inf` / `-inf`.
pub fn float_json(f: f64) -> Value {
    match serde_json::Number::from_f64(f) {
        Some(n) => Value::Number(n),
        None if f.is_nan() => "NaN".into(),
        None if f > 0.0 => "inf".into(),
        None => "-inf".into(),
    }
}

fn convert(v: &rmpv::Value, depth: usize, budget: &mut usize) -> Value {
    use rmpv::Value as M;
    if *budget == 0 || depth > bound::MAX_FIELD_DEPTH {
        return "…".into();
    }
    *budget -= 1;
    match v {
        M::Nil => Value::Null,
        M::Boolean(b) => Value::Bool(*b),
        M::Integer(i) => match (i.as_u64(), i.as_i64()) {
            (Some(u), _) => u.into(),
            (_, Some(s)) => s.into(),
            _ => Value::Null,
        },
        M::F32(f) => float_json(f64::from(*f)),
        M::F64(f) => float_json(*f),
        M::String(s) => match s.as_str() {
            Some(t) => bound::cap_str(t, bound::MAX_FIELD_STRING).into(),
            // Not UTF-8: the bytes, as binary.
            None => bytes_json(s.as_bytes()),
        },
        M::Binary(b) => bytes_json(b),
        M::Ext(t, data) => ext_json(*t, data),
        M::Array(a) => Value::Array(
            a.iter()
                .take(bound::MAX_FIELD_ITEMS + 1)
                .map(|e| convert(e, depth + 1, budget))
                .collect(),
        ),
        M::Map(entries) => {
            let mut m = Map::new();
            for (k, val) in entries.iter().take(bound::MAX_FIELD_ITEMS + 1) {
                let key = match k {
                    M::String(s) if s.as_str().is_some() => {
                        bound::cap_str(s.as_str().unwrap_or_default(), bound::MAX_ID)
                    }
                    other => bound::compact(&convert(other, depth + 1, budget), bound::MAX_ID),
                };
                m.insert(key, convert(val, depth + 1, budget));
            }
            Value::Object(m)
        }
    }
}

/// An extension value; type -1 is the timestamp of the MessagePack specification
/// (32-bit seconds; 30-bit nanoseconds + 34-bit seconds; 32-bit nanoseconds + 64-bit
/// signed seconds).
fn ext_json(ty: i8, data: &[u8]) -> Value {
    let mut m = Map::new();
    if ty == -1 {
        let ts = match data.len() {
            4 => data
                .try_into()
                .ok()
                .map(|b: [u8; 4]| (i64::from(u32::from_be_bytes(b)), 0u32)),
            8 => data.try_into().ok().map(|b: [u8; 8]| {
                let x = u64::from_be_bytes(b);
                ((x & 0x3_ffff_ffff) as i64, (x >> 34) as u32)
            }),
            12 => match (data.get(..4), data.get(4..)) {
                (Some(n), Some(s)) => match (<[u8; 4]>::try_from(n), <[u8; 8]>::try_from(s)) {
                    (Ok(n), Ok(s)) => Some((i64::from_be_bytes(s), u32::from_be_bytes(n))),
                    _ => None,
                },
                _ => None,
            },
            _ => None,
        };
        if let Some((secs, nanos)) = ts {
            m.insert("$timestamp".into(), secs.into());
            m.insert("nanos".into(), nanos.into());
            return Value::Object(m);
        }
    }
    m.insert("$ext".into(), ty.into());
    m.insert("hex".into(), bound::hex_prefix(data, HEX_BYTES).into());
    m.insert("length".into(), data.len().into());
    Value::Object(m)
}

/// The MessagePack type name of a value: `nil`, `boolean`, `integer`, `float`, `string`,
/// `binary`, `array`, `map` or `ext`.
pub fn type_name(v: &rmpv::Value) -> &'static str {
    use rmpv::Value as M;
    match v {
        M::Nil => "nil",
        M::Boolean(_) => "boolean",
        M::Integer(_) => "integer",
        M::F32(_) | M::F64(_) => "float",
        M::String(_) => "string",
        M::Binary(_) => "binary",
        M::Array(_) => "array",
        M::Map(_) => "map",
        M::Ext(..) => "ext",
    }
}

/// Per-connection MessagePack decoder (stateless).
#[derive(Debug, Default)]
pub struct MsgpackDecoder;

impl Decoder for MsgpackDecoder {
    fn protocol(&self) -> Protocol {
        Protocol::MsgPack
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        match parse(msg.payload) {
            Ok(v) => out.push(AppOutput::Packet(value_packet(
                Protocol::MsgPack,
                msg,
                type_name(&v),
                to_json(&v),
            ))),
            Err(e) if msg.complete => out.push(AppOutput::Anomaly(AppAnomaly::new(
                AnomalyKind::MsgpackMalformed,
                msg,
                e.to_string(),
            ))),
            Err(_) => {}
        }
    }

    fn end(&mut self, _: &mut Vec<AppOutput>) {}
}

/// The packet of a self-describing value (MessagePack, CBOR): summary
/// `<protocol> <compact value>`, fields `type`, `length`, `data`.
pub(crate) fn value_packet(
    protocol: Protocol,
    msg: &AppInput<'_>,
    ty: &'static str,
    data: Value,
) -> AppPacket {
    let mut line = Line::new(bound::MAX_SUMMARY);
    line.push(protocol.name());
    line.push(" ");
    bound::write_compact(&mut line, &data, &|_| None);
    AppPacket {
        protocol,
        dir: msg.dir,
        first_packet: msg.packet,
        packet: msg.packet,
        messages: 1,
        summary: line.finish(),
        fields: vec![
            ("type", ty.into()),
            ("length", msg.payload.len().into()),
            ("data", data),
        ],
    }
}

/// Registry constructor.
pub fn new_decoder(_: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(MsgpackDecoder)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    fn j(b: &[u8]) -> Value {
        to_json(&parse(b).unwrap())
    }

    // Byte layouts from the MessagePack specification (spec.md, "Formats").
    #[test]
    fn spec_formats() {
        assert_eq!(j(&[0xc0]), json!(null));
        assert_eq!(j(&[0xc3]), json!(true));
        assert_eq!(j(&[0x7f]), json!(127));
        assert_eq!(j(&[0xe0]), json!(-32));
        assert_eq!(j(&[0xcc, 0xff]), json!(255));
        assert_eq!(j(&[0xd1, 0xff, 0x00]), json!(-256));
        assert_eq!(
            j(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
            json!(u64::MAX)
        );
        assert_eq!(j(&[0xcb, 0x3f, 0xf8, 0, 0, 0, 0, 0, 0]), json!(1.5));
        assert_eq!(j(&[0xca, 0x7f, 0xc0, 0, 0]), json!("NaN"));
        assert_eq!(j(&[0xa3, b'a', b'b', b'c']), json!("abc"));
        assert_eq!(
            j(&[0xc4, 0x02, 0xde, 0xad]),
            json!({"$bin": "dead", "length": 2})
        );
        // fixmap {"compact": true, "schema": 0} (the msgpack.org front-page example).
        let mut b = vec![0x82, 0xa7];
        b.extend_from_slice(b"compact");
        b.push(0xc3);
        b.push(0xa6);
        b.extend_from_slice(b"schema");
        b.push(0x00);
        assert_eq!(j(&b), json!({"compact": true, "schema": 0}));
        assert_eq!(b.len(), 18, "18 bytes, as the front page says");
        // Non-string keys: their JSON text.
        assert_eq!(j(&[0x81, 0x01, 0x90]), json!({"1": []}));
        // timestamp 32: fixext 4, type -1, seconds.
        assert_eq!(
            j(&[0xd6, 0xff, 0x00, 0x00, 0x00, 0x10]),
            json!({"$timestamp": 16, "nanos": 0})
        );
        // timestamp 64: nanoseconds 1 in the upper 30 bits, seconds 2.
        assert_eq!(
            j(&[0xd7, 0xff, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02]),
            json!({"$timestamp": 2, "nanos": 1})
        );
        assert_eq!(
            j(&[0xd4, 0x05, 0x07]),
            json!({"$ext": 5, "hex": "07", "length": 1})
        );
    }

    #[test]
    fn errors_and_anomalies() {
        assert!(matches!(
            parse(&[0x92, 0x01]),
            Err(MsgpackError::Invalid(_))
        ));
        assert_eq!(
            parse(&[0x01, 0x02]),
            Err(MsgpackError::Trailing { offset: 1 })
        );
        let deep = vec![0x91; 10_000];
        assert!(parse(&deep).is_err());
        // A huge declared length allocates nothing up front.
        assert!(parse(&[0xdd, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse(&[0xc6, 0xff, 0xff, 0xff, 0xff, 0x00]).is_err());
        let mut d = MsgpackDecoder;
        let mut out = Vec::new();
        d.message(&input(C2S, false, &[0x82, 0xa1, b'a', 0x01], 1), &mut out);
        d.message(
            &input(S2C, false, &[0x93, 0x01, 0xa1, b'x', 0xc2], 2),
            &mut out,
        );
        assert_eq!(anomalies(&out), vec![AnomalyKind::MsgpackMalformed]);
        let p = packets(&out);
        assert_eq!(p[0].summary, r#"msgpack [1,"x",false]"#);
        assert_eq!(p[0].field("type"), Some(&json!("array")));
        assert_eq!(p[0].field("length"), Some(&json!(5)));
    }

    #[test]
    fn caps_hold() {
        // An array of 70 000 nils: the tree keeps the first items and says how many are left.
        let mut b = vec![0xdc, 0x11, 0x70];
        b.extend(std::iter::repeat_n(0xc0, 0x1170));
        let v = j(&b);
        let a = v.as_array().unwrap();
        assert!(a.len() <= bound::MAX_FIELD_ITEMS + 1);
        // A long string is cut.
        let mut s = vec![0xda, 0x10, 0x00];
        s.extend(std::iter::repeat_n(b'x', 0x1000));
        assert_eq!(
            j(&s).as_str().unwrap().chars().count(),
            bound::MAX_FIELD_STRING
        );
    }

    #[test]
    fn mutations_never_panic() {
        mutate_all(
            &|| Box::new(MsgpackDecoder),
            &[
                &[
                    0x82, 0xa1, b'a', 0x01, 0xa1, b'b', 0x92, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc4,
                    0x01, 0xff,
                ],
                &[0xd7, 0xff, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02],
                &[0xc7, 0x0c, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 9],
            ],
        );
    }
}
