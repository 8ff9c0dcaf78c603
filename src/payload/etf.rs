//! Erlang's External Term Format (the `encoding=etf` of Discord's gateway), read into a
//! JSON-like tree the way Discord's erlpack maps terms: atoms `nil` / `true` / `false` as
//! null and booleans, other atoms and binaries as strings (binaries that are not UTF-8 as
//! `{"$bin": …}`), tuples and lists as arrays, maps as objects, integers beyond 64 bits as
//! decimal strings.
//!
//! Written here rather than taken from the `eetf` crate: eetf 0.12 allocates by the lengths
//! a term declares (`vec![0; size]`, `Vec::with_capacity(count)`, up to 2^32) and recurses
//! without a depth limit, so a few hostile bytes could abort the process. This reader
//! checks every length against the bytes left, stops at [`MAX_DEPTH`] and builds at most
//! [`bound::MAX_FIELD_NODES`] values (it still reads, and so validates, all of the input).
//! Pids, references, ports, funs, bit strings and compressed terms are refused.

use super::bound;
use super::msgpack::{bytes_json, float_json};
use serde_json::{Map, Value};

/// Deepest nesting read.
pub const MAX_DEPTH: usize = 64;
/// The version byte every term starts with.
pub const VERSION: u8 = 131;

/// Why bytes are not one term.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtfError {
    /// Offset where reading stopped.
    pub offset: usize,
    /// What was wrong.
    pub what: &'static str,
}

impl std::fmt::Display for EtfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "etf: {} at offset {}", self.what, self.offset)
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
    /// Values still allowed to be built.
    budget: usize,
}

impl<'a> Reader<'a> {
    fn err(&self, what: &'static str) -> EtfError {
        EtfError {
            offset: self.at,
            what,
        }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], EtfError> {
        let end = self.at.checked_add(n).ok_or(self.err("length overflow"))?;
        let s = self.b.get(self.at..end).ok_or(self.err("cut short"))?;
        self.at = end;
        Ok(s)
    }

    fn u8(&mut self) -> Result<u8, EtfError> {
        Ok(self.take(1)?.first().copied().unwrap_or_default())
    }

    fn u16(&mut self) -> Result<usize, EtfError> {
        let s = self.take(2)?;
        Ok(usize::from(u16::from_be_bytes([s[0], s[1]])))
    }

    fn u32(&mut self) -> Result<usize, EtfError> {
        let s = self.take(4)?;
        usize::try_from(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
            .map_err(|_| self.err("length too large"))
    }

    /// A count of elements, each at least one byte: more than the bytes left is an error
    /// (so nothing is sized by a length the input merely claims).
    fn count(&mut self, n: usize) -> Result<usize, EtfError> {
        if n > self.b.len().saturating_sub(self.at) {
            return Err(self.err("count larger than the bytes left"));
        }
        Ok(n)
    }

    /// Whether another value may be built.
    fn build(&mut self) -> bool {
        if self.budget == 0 {
            return false;
        }
        self.budget -= 1;
        true
    }

    fn term(&mut self, depth: usize) -> Result<Value, EtfError> {
        if depth > MAX_DEPTH {
            return Err(self.err("nested too deep"));
        }
        let keep = self.build();
        let tag = self.u8()?;
        let v = match tag {
            // SMALL_INTEGER_EXT, INTEGER_EXT.
            97 => Value::from(self.u8()?),
            98 => {
                let s = self.take(4)?;
                Value::from(i32::from_be_bytes([s[0], s[1], s[2], s[3]]))
            }
            // NEW_FLOAT_EXT, FLOAT_EXT (31 bytes of C "%.20e" text).
            70 => {
                let s = self.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(s);
                float_json(f64::from_be_bytes(a))
            }
            99 => {
                let s = self.take(31)?;
                let text = std::str::from_utf8(s).unwrap_or_default();
                let text = text.trim_end_matches('\0').trim();
                match text.parse::<f64>() {
                    Ok(f) => float_json(f),
                    Err(_) => return Err(self.err("FLOAT_EXT is not a number")),
                }
            }
            // ATOM_EXT, SMALL_ATOM_EXT (Latin-1); ATOM_UTF8_EXT, SMALL_ATOM_UTF8_EXT.
            100 | 115 | 118 | 119 => {
                let n = if tag == 100 || tag == 118 {
                    self.u16()?
                } else {
                    usize::from(self.u8()?)
                };
                let s = self.take(n)?;
                let name: String = if tag == 118 || tag == 119 {
                    std::str::from_utf8(s)
                        .map_err(|_| self.err("atom is not UTF-8"))?
                        .to_string()
                } else {
                    s.iter().map(|&c| char::from(c)).collect()
                };
                match name.as_str() {
                    "nil" => Value::Null,
                    "true" => Value::Bool(true),
                    "false" => Value::Bool(false),
                    _ => bound::cap_str(&name, bound::MAX_FIELD_STRING).into(),
                }
            }
            // SMALL_TUPLE_EXT, LARGE_TUPLE_EXT.
            104 | 105 => {
                let n = if tag == 104 {
                    usize::from(self.u8()?)
                } else {
                    self.u32()?
                };
                let n = self.count(n)?;
                Value::Array(self.elements(n, depth)?)
            }
            // NIL_EXT.
            106 => Value::Array(Vec::new()),
            // STRING_EXT: a list of bytes, shown as Latin-1 text (as erlpack does).
            107 => {
                let n = self.u16()?;
                let s = self.take(n)?;
                let t: String = s.iter().map(|&c| char::from(c)).collect();
                bound::cap_str(&t, bound::MAX_FIELD_STRING).into()
            }
            // LIST_EXT: elements and a tail (NIL for a proper list; kept as a last element
            // otherwise).
            108 => {
                let n = self.u32()?;
                let n = self.count(n)?;
                let mut items = self.elements(n, depth)?;
                let tail = self.term(depth + 1)?;
                if tail != Value::Array(Vec::new()) && items.len() <= bound::MAX_FIELD_ITEMS {
                    items.push(tail);
                }
                Value::Array(items)
            }
            // BINARY_EXT.
            109 => {
                let n = self.u32()?;
                let s = self.take(n)?;
                match std::str::from_utf8(s) {
                    Ok(t) => bound::cap_str(t, bound::MAX_FIELD_STRING).into(),
                    Err(_) => bytes_json(s),
                }
            }
            // SMALL_BIG_EXT, LARGE_BIG_EXT: sign and little-endian magnitude.
            110 | 111 => {
                let n = if tag == 110 {
                    usize::from(self.u8()?)
                } else {
                    self.u32()?
                };
                let sign = self.u8()?;
                let digits = self.take(n)?;
                big(sign != 0, digits)
            }
            // MAP_EXT.
            116 => {
                let n = self.u32()?;
                let n = self.count(n)?;
                let mut m = Map::new();
                for _ in 0..n {
                    let k = self.term(depth + 1)?;
                    let v = self.term(depth + 1)?;
                    if m.len() <= bound::MAX_FIELD_ITEMS {
                        let key = match k {
                            Value::String(s) => bound::cap_str(&s, bound::MAX_ID),
                            other => bound::compact(&other, bound::MAX_ID),
                        };
                        m.insert(key, v);
                    }
                }
                Value::Object(m)
            }
            _ => return Err(self.err("unsupported term tag")),
        };
        Ok(if keep { v } else { Value::Null })
    }

    fn elements(&mut self, n: usize, depth: usize) -> Result<Vec<Value>, EtfError> {
        let mut items = Vec::new();
        for i in 0..n {
            let v = self.term(depth + 1)?;
            if i <= bound::MAX_FIELD_ITEMS {
                items.push(v);
            }
        }
        Ok(items)
    }
}

/// A big integer: a number when it fits 64 bits, else its decimal text (up to 128 bits) or
/// `{"$big": hex of the magnitude, "negative": bool}`.
fn big(negative: bool, le: &[u8]) -> Value {
    let significant = le.iter().rposition(|&d| d != 0).map_or(0, |i| i + 1);
    let digits = le.get(..significant).unwrap_or_default();
    if digits.len() <= 16 {
        let mut m: u128 = 0;
        for (i, d) in digits.iter().enumerate() {
            m |= u128::from(*d) << (8 * i);
        }
        return match (negative, u64::try_from(m), i64::try_from(m)) {
            (false, Ok(u), _) => u.into(),
            (true, _, Ok(s)) => (-s).into(),
            (true, _, _) if m == 1u128 << 63 => i64::MIN.into(),
            (false, _, _) => m.to_string().into(),
            (true, _, _) => format!("-{m}").into(),
        };
    }
    let be: Vec<u8> = digits.iter().rev().copied().collect();
    let mut o = Map::new();
    o.insert("$big".into(), bound::hex_prefix(&be, 32).into());
    o.insert("negative".into(), negative.into());
    Value::Object(o)
}

/// Reads `b` (version byte first) as exactly one term.
pub fn parse(b: &[u8]) -> Result<Value, EtfError> {
    let mut r = Reader {
        b,
        at: 0,
        budget: bound::MAX_FIELD_NODES,
    };
    if r.u8()? != VERSION {
        return Err(EtfError {
            offset: 0,
            what: "no version byte 131",
        });
    }
    let v = r.term(0)?;
    if r.at != b.len() {
        return Err(r.err("bytes left after the term"));
    }
    Ok(bound::cap_owned(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    // Encodings from the Erlang/OTP External Term Format documentation (erl_ext_dist).
    #[test]
    fn external_term_format_examples() {
        // term_to_binary(1) = <<131,97,1>>; 300 = INTEGER_EXT; -1.
        assert_eq!(parse(&[131, 97, 1]).unwrap(), json!(1));
        assert_eq!(parse(&[131, 98, 0, 0, 1, 44]).unwrap(), json!(300));
        assert_eq!(parse(&[131, 98, 255, 255, 255, 255]).unwrap(), json!(-1));
        // NEW_FLOAT_EXT 1.5.
        assert_eq!(parse(&hex("83 46 3ff8000000000000")).unwrap(), json!(1.5));
        // Atoms: SMALL_ATOM_UTF8_EXT `ok`, ATOM_EXT `true`, `nil`.
        assert_eq!(parse(&[131, 119, 2, b'o', b'k']).unwrap(), json!("ok"));
        assert_eq!(
            parse(&[131, 100, 0, 4, b't', b'r', b'u', b'e']).unwrap(),
            json!(true)
        );
        assert_eq!(
            parse(&[131, 115, 3, b'n', b'i', b'l']).unwrap(),
            json!(null)
        );
        // {ok, 1}: SMALL_TUPLE_EXT; [1,2]: LIST_EXT with NIL tail; "ab": STRING_EXT; [].
        assert_eq!(
            parse(&[131, 104, 2, 119, 2, b'o', b'k', 97, 1]).unwrap(),
            json!(["ok", 1])
        );
        assert_eq!(
            parse(&[131, 108, 0, 0, 0, 2, 97, 1, 97, 2, 106]).unwrap(),
            json!([1, 2])
        );
        assert_eq!(parse(&[131, 107, 0, 2, b'a', b'b']).unwrap(), json!("ab"));
        assert_eq!(parse(&[131, 106]).unwrap(), json!([]));
        // <<"hi">> and a binary that is not UTF-8.
        assert_eq!(
            parse(&[131, 109, 0, 0, 0, 2, b'h', b'i']).unwrap(),
            json!("hi")
        );
        assert_eq!(
            parse(&[131, 109, 0, 0, 0, 1, 0xff]).unwrap(),
            json!({"$bin": "ff", "length": 1})
        );
        // #{<<"a">> => 1}: MAP_EXT.
        assert_eq!(
            parse(&[131, 116, 0, 0, 0, 1, 109, 0, 0, 0, 1, b'a', 97, 1]).unwrap(),
            json!({"a": 1})
        );
        // 2^64 (SMALL_BIG_EXT, 9 digits) and -(2^63).
        assert_eq!(
            parse(&[131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]).unwrap(),
            json!("18446744073709551616")
        );
        assert_eq!(
            parse(&[131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 0x80]).unwrap(),
            json!(i64::MIN)
        );
        // FLOAT_EXT: 31 bytes of "%.20e" text.
        let mut f = vec![131, 99];
        let text = format!("{:<31}", "1.50000000000000000000e+00").replace(' ', "\0");
        f.extend(text.as_bytes());
        assert_eq!(parse(&f).unwrap(), json!(1.5));
    }

    #[test]
    fn hostile_terms_are_refused_cheaply() {
        // Declared lengths past the input.
        assert!(parse(&[131, 109, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse(&[131, 108, 0xff, 0xff, 0xff, 0xff, 106]).is_err());
        assert!(parse(&[131, 116, 0xff, 0xff, 0xff, 0xff]).is_err());
        assert!(parse(&[131, 105, 0xff, 0xff, 0xff, 0xff]).is_err());
        // Deep nesting: a million one-element tuples.
        let mut deep = vec![131];
        deep.extend(std::iter::repeat_n([104u8, 1], 1_000_000).flatten());
        deep.push(106);
        assert!(parse(&deep).is_err());
        // Unsupported and trailing.
        assert!(parse(&[131, 88]).is_err());
        assert!(parse(&[131, 97, 1, 0]).is_err());
        assert!(parse(&[97, 1]).is_err());
        // A long list is read whole but kept short.
        let mut long = vec![131, 108, 0, 1, 0, 0];
        long.extend(std::iter::repeat_n([97u8, 7], 65536).flatten());
        long.push(106);
        let v = parse(&long).unwrap();
        assert!(v.as_array().unwrap().len() <= bound::MAX_FIELD_ITEMS + 1);
    }

    #[test]
    fn mutations_never_panic() {
        let seed = hex(
            "83 74 00000003 6d 00000002 6f70 61 00 6d 00000001 74 6d 00000005 5245414459 \
             6d 00000001 64 6c 00000003 61 01 46 4004000000000000 73 03 6e696c 6a",
        );
        assert!(parse(&seed).is_ok());
        for i in 0..seed.len() {
            for b in [0u8, 1, 97, 104, 106, 108, 109, 110, 116, 0xff] {
                let mut v = seed.clone();
                v[i] = b;
                let _ = parse(&v);
                let _ = parse(&v[..i]);
            }
        }
    }
}
