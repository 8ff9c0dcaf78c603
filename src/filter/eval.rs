//! Running a compiled filter over one packet's values (no allocation).

use std::cmp::Ordering;
use std::net::IpAddr;
use std::ops::ControlFlow;

use super::compile::{Filter, Kind, Lit, Node, Ord6, Quant, Slice, Test};
use super::{FieldId, FieldValues, Value};

impl Filter {
    /// True when the packet whose fields `v` gives passes the filter.
    pub fn matches(&self, v: &dyn FieldValues) -> bool {
        self.root.as_ref().is_none_or(|n| node(n, v))
    }
}

fn node(n: &Node, v: &dyn FieldValues) -> bool {
    match n {
        Node::And(all) => all.iter().all(|n| node(n, v)),
        Node::Or(any) => any.iter().any(|n| node(n, v)),
        Node::Not(a) => !node(a, v),
        Node::Test(t) => test(t, v),
    }
}

/// The value a slice leaves, or the value itself; None when the slice does not fit.
fn sliced<'a>(val: Value<'a>, s: Option<&Slice>) -> Option<Value<'a>> {
    let Some(s) = s else { return Some(val) };
    let bytes = match val {
        Value::Bytes(b) => b,
        Value::Str(t) => t.as_bytes(),
        _ => return None,
    };
    bytes.get(s.range(bytes.len())?).map(Value::Bytes)
}

/// Calls `pred` on each (sliced) value; Any: some value passes; All: some value and every
/// value passes.
fn quantified(
    v: &dyn FieldValues,
    field: FieldId,
    slice: Option<&Slice>,
    quant: Quant,
    pred: &mut dyn FnMut(Value<'_>) -> bool,
) -> bool {
    let mut seen = false;
    let mut result = false;
    v.for_each(field, &mut |val| {
        let ok = sliced(val, slice).is_some_and(&mut *pred);
        seen = true;
        match quant {
            Quant::Any if ok => {
                result = true;
                ControlFlow::Break(())
            }
            Quant::All if !ok => {
                result = false;
                ControlFlow::Break(())
            }
            Quant::All => {
                result = true;
                ControlFlow::Continue(())
            }
            Quant::Any => ControlFlow::Continue(()),
        }
    });
    seen && result
}

fn test(t: &Test, v: &dyn FieldValues) -> bool {
    let slice = t.slice.as_ref();
    match &t.kind {
        Kind::Exists => quantified(v, t.field, slice, Quant::Any, &mut |_| true),
        Kind::Cmp { op, quant, lit } => {
            quantified(v, t.field, slice, *quant, &mut |val| cmp_lit(val, *op, lit))
        }
        Kind::CmpField {
            op,
            quant,
            other,
            other_slice,
        } => {
            // Field against field: every pair, with the same quantifier on both sides
            // (tshark: `frame.cap_len == frame.len`).
            quantified(v, t.field, slice, *quant, &mut |a| {
                quantified(v, *other, other_slice.as_ref(), *quant, &mut |b| {
                    cmp_values(a, b).is_some_and(|o| holds(*op, o))
                })
            })
        }
        Kind::Contains(finder) => quantified(v, t.field, slice, Quant::Any, &mut |val| {
            bytes_of(val).is_some_and(|b| finder.find(b).is_some())
        }),
        Kind::Matches(re) => quantified(v, t.field, slice, Quant::Any, &mut |val| {
            bytes_of(val).is_some_and(|b| re.is_match(b))
        }),
        Kind::In { negated, members } => {
            let hit = quantified(v, t.field, slice, Quant::Any, &mut |val| {
                members.iter().any(|(lo, hi)| match hi {
                    None => cmp_lit(val, Ord6::Eq, lo),
                    Some(hi) => cmp_lit(val, Ord6::Ge, lo) && cmp_lit(val, Ord6::Le, hi),
                })
            });
            hit != *negated
        }
    }
}

fn bytes_of<'a>(v: Value<'a>) -> Option<&'a [u8]> {
    match v {
        Value::Bytes(b) => Some(b),
        Value::Str(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn holds(op: Ord6, o: Ordering) -> bool {
    match op {
        Ord6::Eq => o == Ordering::Equal,
        Ord6::Ne => o != Ordering::Equal,
        Ord6::Lt => o == Ordering::Less,
        Ord6::Le => o != Ordering::Greater,
        Ord6::Gt => o == Ordering::Greater,
        Ord6::Ge => o != Ordering::Less,
    }
}

fn cmp_lit(val: Value<'_>, op: Ord6, lit: &Lit) -> bool {
    if let Lit::Cidr(net, bits) = lit {
        let inside = match val {
            Value::Ip(a) => in_network(a, *net, *bits),
            _ => return false,
        };
        return match op {
            Ord6::Eq => inside,
            Ord6::Ne => !inside,
            _ => false,
        };
    }
    lit.as_value()
        .and_then(|l| cmp_values(val, l))
        .is_some_and(|o| holds(op, o))
}

fn in_network(a: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (a, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

/// Order of two values of compatible types; None when they do not compare (different address
/// families, a presence-only value, a type the registry did not announce).
pub(crate) fn cmp_values(a: Value<'_>, b: Value<'_>) -> Option<Ordering> {
    // Same-type pairs first: they are what the compiler produces for literals.
    match (a, b) {
        (Value::UInt(x), Value::UInt(y)) => return Some(x.cmp(&y)),
        (Value::Bool(x), Value::Bool(y)) => return Some(x.cmp(&y)),
        (Value::Int(x), Value::Int(y)) => return Some(x.cmp(&y)),
        _ => {}
    }
    fn num(v: Value<'_>) -> Option<Result<i128, f64>> {
        Some(match v {
            Value::Bool(b) => Ok(i128::from(b)),
            Value::UInt(u) => Ok(i128::from(u)),
            Value::Int(i) => Ok(i128::from(i)),
            Value::Float(f) => Err(f),
            _ => return None,
        })
    }
    // Times compare exactly with times; with other numbers, as seconds.
    fn secs(v: Value<'_>) -> Value<'_> {
        match v {
            Value::Time(t) => Value::Float(t as f64 / 1e9),
            v => v,
        }
    }
    if let (Value::Time(x), Value::Time(y)) = (a, b) {
        return Some(x.cmp(&y));
    }
    let (a, b) = (secs(a), secs(b));
    if let (Some(x), Some(y)) = (num(a), num(b)) {
        return match (x, y) {
            (Ok(x), Ok(y)) => Some(x.cmp(&y)),
            (x, y) => {
                let f = |n: Result<i128, f64>| match n {
                    Ok(i) => i as f64,
                    Err(f) => f,
                };
                f(x).partial_cmp(&f(y))
            }
        };
    }
    if let (Some(x), Some(y)) = (bytes_of(a), bytes_of(b)) {
        return Some(x.cmp(y));
    }
    match (a, b) {
        (Value::Ip(IpAddr::V4(x)), Value::Ip(IpAddr::V4(y))) => Some(x.cmp(&y)),
        (Value::Ip(IpAddr::V6(x)), Value::Ip(IpAddr::V6(y))) => Some(x.cmp(&y)),
        (Value::Ether(x), Value::Ether(y)) => Some(x.cmp(&y)),
        _ => None,
    }
}
