//! CBOR content (RFC 8949): each message one CBOR data item (read by `ciborium`), shown as
//! a capped JSON-like tree and a one-line summary.
//!
//! The tree spells what JSON lacks as objects: byte strings `{"$bin": hex, "length": n}`
//! (as MessagePack binary), tags `{"$tag": n, "value": …}`, integers beyond 64 bits as
//! decimal strings, map keys that are not text as their compact JSON text, floats that are
//! not finite as `NaN` / `inf` / `-inf`, `undefined` and other simple values as null.

use super::bound;
use super::msgpack::{bytes_json, float_json, value_packet};
use super::{AnomalyKind, AppAnomaly, AppInput, AppOutput, Context, Decoder, Protocol};
use serde_json::{Map, Value};

/// Deepest nesting read (ciborium's recursion limit).
pub const MAX_DEPTH: usize = 64;

/// Why a message is not one CBOR data item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CborError {
    /// Not well-formed, cut short, or nested deeper than [`MAX_DEPTH`].
    Invalid(String),
    /// A whole item was read and bytes were left after it.
    Trailing {
        /// Offset of the first byte after the item.
        offset: usize,
    },
}

impl std::fmt::Display for CborError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CborError::Invalid(e) => write!(f, "cbor: {e}"),
            CborError::Trailing { offset } => {
                write!(f, "cbor: bytes left after the data item at offset {offset}")
            }
        }
    }
}

/// Reads `bytes` as exactly one data item.
pub fn parse(bytes: &[u8]) -> Result<ciborium::Value, CborError> {
    let mut rd = bytes;
    let v: ciborium::Value = ciborium::de::from_reader_with_recursion_limit(&mut rd, MAX_DEPTH)
        .map_err(|e| CborError::Invalid(format!("{e:?}")))?;
    if !rd.is_empty() {
        return Err(CborError::Trailing {
            offset: bytes.len() - rd.len(),
        });
    }
    Ok(v)
}

/// The JSON-like tree of a data item, within the field caps of [`bound`].
pub fn to_json(v: &ciborium::Value) -> Value {
    let mut budget = bound::MAX_FIELD_NODES;
    bound::cap_owned(convert(v, 0, &mut budget))
}

fn convert(v: &ciborium::Value, depth: usize, budget: &mut usize) -> Value {
    use ciborium::Value as C;
    if *budget == 0 || depth > bound::MAX_FIELD_DEPTH {
        return "…".into();
    }
    *budget -= 1;
    match v {
        C::Null => Value::Null,
        C::Bool(b) => Value::Bool(*b),
        C::Integer(i) => {
            let n = i128::from(*i);
            if let Ok(u) = u64::try_from(n) {
                u.into()
            } else if let Ok(s) = i64::try_from(n) {
                s.into()
            } else {
                n.to_string().into()
            }
        }
        C::Float(f) => float_json(*f),
        C::Text(s) => bound::cap_str(s, bound::MAX_FIELD_STRING).into(),
        C::Bytes(b) => bytes_json(b),
        C::Tag(t, inner) => {
            let mut m = Map::new();
            m.insert("$tag".into(), (*t).into());
            m.insert("value".into(), convert(inner, depth + 1, budget));
            Value::Object(m)
        }
        C::Array(a) => Value::Array(
            a.iter()
                .take(bound::MAX_FIELD_ITEMS + 1)
                .map(|e| convert(e, depth + 1, budget))
                .collect(),
        ),
        C::Map(entries) => {
            let mut m = Map::new();
            for (k, val) in entries.iter().take(bound::MAX_FIELD_ITEMS + 1) {
                let key = match k {
                    C::Text(s) => bound::cap_str(s, bound::MAX_ID),
                    other => bound::compact(&convert(other, depth + 1, budget), bound::MAX_ID),
                };
                m.insert(key, convert(val, depth + 1, budget));
            }
            Value::Object(m)
        }
        _ => Value::Null,
    }
}

/// The CBOR major type name of an item: `unsigned`, `negative`, `bytes`, `text`, `array`,
/// `map`, `tag` or `simple` (floats, booleans, null).
pub fn type_name(v: &ciborium::Value) -> &'static str {
    use ciborium::Value as C;
    match v {
        C::Integer(i) if i128::from(*i) < 0 => "negative",
        C::Integer(_) => "unsigned",
        C::Bytes(_) => "bytes",
        C::Text(_) => "text",
        C::Array(_) => "array",
        C::Map(_) => "map",
        C::Tag(..) => "tag",
        _ => "simple",
    }
}

/// Per-connection CBOR decoder (stateless).
#[derive(Debug, Default)]
pub struct CborDecoder;

impl Decoder for CborDecoder {
    fn protocol(&self) -> Protocol {
        Protocol::Cbor
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        match parse(msg.payload) {
            Ok(v) => out.push(AppOutput::Packet(value_packet(
                Protocol::Cbor,
                msg,
                type_name(&v),
                to_json(&v),
            ))),
            Err(e) if msg.complete => out.push(AppOutput::Anomaly(AppAnomaly::new(
                AnomalyKind::CborMalformed,
                msg,
                e.to_string(),
            ))),
            Err(_) => {}
        }
    }

    fn end(&mut self, _: &mut Vec<AppOutput>) {}
}

/// Registry constructor.
pub fn new_decoder(_: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(CborDecoder)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn j(h: &str) -> Value {
        to_json(&parse(&hex(h)).unwrap())
    }

    // RFC 8949 Appendix A, "Examples of Encoded CBOR Data Items" (diagnostic notation on
    // the left; the JSON spelling of this module for bytes, tags and big numbers).
    #[test]
    fn rfc8949_appendix_a() {
        assert_eq!(j("00"), json!(0));
        assert_eq!(j("17"), json!(23));
        assert_eq!(j("1818"), json!(24));
        assert_eq!(j("1903e8"), json!(1000));
        assert_eq!(j("1b000000e8d4a51000"), json!(1_000_000_000_000u64));
        assert_eq!(
            j("1bffffffffffffffff"),
            json!(18_446_744_073_709_551_615u64)
        );
        assert_eq!(
            j("c249010000000000000000"),
            json!({"$tag": 2, "value": {"$bin": "010000000000000000", "length": 9}})
        );
        assert_eq!(j("3bffffffffffffffff"), json!("-18446744073709551616"));
        assert_eq!(j("20"), json!(-1));
        assert_eq!(j("3903e7"), json!(-1000));
        assert_eq!(j("f93c00"), json!(1.0));
        assert_eq!(j("fb3ff199999999999a"), json!(1.1));
        assert_eq!(j("f97bff"), json!(65504.0));
        assert_eq!(j("fa47c35000"), json!(100000.0));
        assert_eq!(j("f97c00"), json!("inf"));
        assert_eq!(j("f97e00"), json!("NaN"));
        assert_eq!(j("fbfff0000000000000"), json!("-inf"));
        assert_eq!(j("f4"), json!(false));
        assert_eq!(j("f5"), json!(true));
        assert_eq!(j("f6"), json!(null));
        assert_eq!(
            j("c074323031332d30332d32315432303a30343a30305a"),
            json!({"$tag": 0, "value": "2013-03-21T20:04:00Z"})
        );
        assert_eq!(j("c11a514b67b0"), json!({"$tag": 1, "value": 1363896240}));
        assert_eq!(
            j("d74401020304"),
            json!({"$tag": 23, "value": {"$bin": "01020304", "length": 4}})
        );
        assert_eq!(j("40"), json!({"$bin": "", "length": 0}));
        assert_eq!(j("60"), json!(""));
        assert_eq!(j("6449455446"), json!("IETF"));
        assert_eq!(j("62225c"), json!("\"\\"));
        assert_eq!(j("62c3bc"), json!("\u{00fc}"));
        assert_eq!(j("64f0908591"), json!("\u{10151}"));
        assert_eq!(j("80"), json!([]));
        assert_eq!(j("83010203"), json!([1, 2, 3]));
        assert_eq!(j("8301820203820405"), json!([1, [2, 3], [4, 5]]));
        assert_eq!(
            j("98190102030405060708090a0b0c0d0e0f101112131415161718181819"),
            json!((1..=25).collect::<Vec<u32>>())
        );
        assert_eq!(j("a0"), json!({}));
        assert_eq!(j("a201020304"), json!({"1": 2, "3": 4}));
        assert_eq!(j("a26161016162820203"), json!({"a": 1, "b": [2, 3]}));
        assert_eq!(j("826161a161626163"), json!(["a", {"b": "c"}]));
        assert_eq!(
            j("a56161614161626142616361436164614461656145"),
            json!({"a": "A", "b": "B", "c": "C", "d": "D", "e": "E"})
        );
        // Indefinite lengths.
        assert_eq!(
            j("5f42010243030405ff"),
            json!({"$bin": "0102030405", "length": 5})
        );
        assert_eq!(j("7f657374726561646d696e67ff"), json!("streaming"));
        assert_eq!(j("9fff"), json!([]));
        assert_eq!(j("9f018202039f0405ffff"), json!([1, [2, 3], [4, 5]]));
        assert_eq!(j("bf61610161629f0203ffff"), json!({"a": 1, "b": [2, 3]}));
        assert_eq!(
            j("bf6346756ef563416d7421ff"),
            json!({"Fun": true, "Amt": -2})
        );
    }

    #[test]
    fn errors_and_decoder() {
        // RFC 8949 Appendix F examples of not-well-formed items.
        for bad in [
            "18",
            "1a0102",
            "62c3",
            "5affffffff00",
            "9f0102",
            "1c",
            "ff",
            "a10102ff",
        ] {
            assert!(parse(&hex(bad)).is_err(), "{bad}");
        }
        assert_eq!(parse(&hex("0000")), Err(CborError::Trailing { offset: 1 }));
        assert!(parse(&vec![0x81; 10_000]).is_err());
        let mut d = CborDecoder;
        let mut out = Vec::new();
        d.message(&input(C2S, false, &hex("a26161016162820203"), 1), &mut out);
        d.message(&input(C2S, false, &hex("a261"), 2), &mut out);
        assert_eq!(anomalies(&out), vec![AnomalyKind::CborMalformed]);
        let p = packets(&out);
        assert_eq!(p[0].summary, r#"cbor {"a":1,"b":[2,3]}"#);
        assert_eq!(p[0].field("type"), Some(&json!("map")));
    }

    #[test]
    fn mutations_never_panic() {
        mutate_all(
            &|| Box::new(CborDecoder),
            &[
                &hex("bf61610161629f0203ffff"),
                &hex("c249010000000000000000"),
                &hex("5f42010243030405ff"),
                &hex("a56161614161626142616361436164614461656145"),
            ],
        );
    }
}
