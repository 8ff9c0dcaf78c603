//! Syntax tree to a typed, ready-to-run filter: names resolved, literals converted to the
//! field's type, regular expressions and substring finders built, impossible tests rejected.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Range;

use memchr::memmem;

use super::lex::{self, CmpOp};
use super::parse::{self, Atom, Expr, Member, Operand, Rel};
use super::{FieldId, FieldRegistry, FieldType, FilterError, Value};

/// A compiled display filter (cheap to share between threads: it is `Send + Sync`).
#[derive(Clone, Debug)]
pub struct Filter {
    pub(crate) root: Option<Node>,
    fields: Vec<FieldId>,
}

#[derive(Clone, Debug)]
pub(crate) enum Node {
    And(Vec<Node>),
    Or(Vec<Node>),
    Not(Box<Node>),
    Test(Test),
}

/// One field (optionally sliced) and what to test on its values.
#[derive(Clone, Debug)]
pub(crate) struct Test {
    pub field: FieldId,
    pub slice: Option<Slice>,
    pub kind: Kind,
}

/// Which values of the field must satisfy the predicate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quant {
    /// At least one value.
    Any,
    /// At least one value, and every value.
    All,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ord6 {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Clone, Debug)]
pub(crate) enum Kind {
    Exists,
    Cmp {
        op: Ord6,
        quant: Quant,
        lit: Lit,
    },
    CmpField {
        op: Ord6,
        quant: Quant,
        other: FieldId,
        other_slice: Option<Slice>,
    },
    Contains(Box<memmem::Finder<'static>>),
    Matches(regex::bytes::Regex),
    In {
        negated: bool,
        members: Vec<(Lit, Option<Lit>)>,
    },
}

/// A literal converted to its field's type.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Lit {
    Bool(bool),
    UInt(u64),
    Int(i64),
    Float(f64),
    Time(i64),
    /// Text and bytes alike: strings compare as their UTF-8 bytes.
    Bytes(Vec<u8>),
    Ip(IpAddr),
    Cidr(IpAddr, u8),
    Ether([u8; 6]),
}

impl Lit {
    pub(crate) fn as_value(&self) -> Option<Value<'_>> {
        Some(match self {
            Lit::Bool(b) => Value::Bool(*b),
            Lit::UInt(u) => Value::UInt(*u),
            Lit::Int(i) => Value::Int(*i),
            Lit::Float(f) => Value::Float(*f),
            Lit::Time(t) => Value::Time(*t),
            Lit::Bytes(b) => Value::Bytes(b),
            Lit::Ip(a) => Value::Ip(*a),
            Lit::Ether(e) => Value::Ether(*e),
            Lit::Cidr(..) => return None,
        })
    }
}

/// A Wireshark byte range: `[i:j]` (start, length), `[i-j]` (start, end inclusive), `[i]`,
/// `[:j]`, `[i:]`; negative offsets count from the end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Slice {
    start: i64,
    end: SliceEnd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SliceEnd {
    Len(u64),
    Inclusive(i64),
    ToEnd,
}

impl Slice {
    /// The byte range of a value of `len` bytes, or None when the slice reaches past it
    /// or is empty (tshark: `websocket.masking_key[2:5]` and `[4:]` match nothing on a 4-byte key).
    pub(crate) fn range(&self, len: usize) -> Option<Range<usize>> {
        let len = i64::try_from(len).ok()?;
        let abs = |i: i64| if i < 0 { len.checked_add(i) } else { Some(i) };
        let start = abs(self.start).filter(|s| (0..=len).contains(s))?;
        let end = match self.end {
            SliceEnd::Len(n) => start.checked_add(i64::try_from(n).ok()?)?,
            SliceEnd::Inclusive(e) => abs(e)?.checked_add(1)?,
            SliceEnd::ToEnd => len,
        };
        if end > len || end <= start {
            return None;
        }
        Some(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    fn parse(text: &str) -> Option<Slice> {
        let num = |s: &str| s.trim().parse::<i64>().ok();
        let text = text.trim();
        if let Some((a, b)) = text.split_once(':') {
            let start = if a.trim().is_empty() { 0 } else { num(a)? };
            let end = if b.trim().is_empty() {
                SliceEnd::ToEnd
            } else {
                SliceEnd::Len(b.trim().parse::<u64>().ok()?)
            };
            return Some(Slice { start, end });
        }
        // `[i-j]`: the separator is the first '-' after the start's own sign.
        let body = text.strip_prefix('-').map_or(text, |_| &text[1..]);
        if let Some(p) = body.find('-') {
            let split = text.len() - body.len() + p;
            return Some(Slice {
                start: num(&text[..split])?,
                end: SliceEnd::Inclusive(num(&text[split + 1..])?),
            });
        }
        let i = num(text)?;
        Some(Slice {
            start: i,
            end: SliceEnd::Len(1),
        })
    }
}

struct Ctx<'r> {
    expr: String,
    reg: &'r dyn FieldRegistry,
    fields: Vec<FieldId>,
}

/// A resolved left-hand side: the field, its type after slicing, the name for messages.
struct Lhs<'a> {
    id: FieldId,
    ty: FieldType,
    name: &'a str,
    slice: Option<Slice>,
    span: Range<usize>,
}

impl Filter {
    /// Compiles `expr` against the names of `reg`. An empty expression matches every packet.
    pub fn compile(expr: &str, reg: &dyn FieldRegistry) -> Result<Filter, FilterError> {
        let toks = lex::tokens(expr)?;
        let ast = parse::parse(expr, &toks)?;
        let mut cx = Ctx {
            expr: expr.to_string(),
            reg,
            fields: Vec::new(),
        };
        let root = ast.map(|e| cx.node(e)).transpose()?;
        let mut fields = cx.fields;
        fields.sort_unstable();
        fields.dedup();
        Ok(Filter { root, fields })
    }

    /// The fields the filter reads (sorted, no duplicates), so a dissector can skip the others.
    pub fn fields(&self) -> &[FieldId] {
        &self.fields
    }

    /// True for the empty filter, which matches everything.
    pub fn is_empty(&self) -> bool {
        self.root.is_none()
    }
}

fn cmp_parts(op: CmpOp) -> (Ord6, Quant) {
    match op {
        CmpOp::AnyEq => (Ord6::Eq, Quant::Any),
        CmpOp::AllEq => (Ord6::Eq, Quant::All),
        CmpOp::AllNe => (Ord6::Ne, Quant::All),
        CmpOp::AnyNe => (Ord6::Ne, Quant::Any),
        CmpOp::Lt => (Ord6::Lt, Quant::Any),
        CmpOp::Le => (Ord6::Le, Quant::Any),
        CmpOp::Gt => (Ord6::Gt, Quant::Any),
        CmpOp::Ge => (Ord6::Ge, Quant::Any),
    }
}

impl Ctx<'_> {
    fn err(&self, span: Range<usize>, msg: impl Into<String>) -> FilterError {
        FilterError::new(&self.expr, span, msg)
    }

    fn node(&mut self, e: Expr<'_>) -> Result<Node, FilterError> {
        Ok(match e {
            Expr::And(v) => Node::And(
                v.into_iter()
                    .map(|e| self.node(e))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Or(v) => Node::Or(
                v.into_iter()
                    .map(|e| self.node(e))
                    .collect::<Result<_, _>>()?,
            ),
            Expr::Not(a) => Node::Not(Box::new(self.node(*a)?)),
            Expr::Test(t) => Node::Test(self.test(t)?),
        })
    }

    fn unknown(&self, name: &str, span: Range<usize>) -> FilterError {
        let mut e = self.err(
            span,
            format!("{name} is neither a field nor a protocol name."),
        );
        e.suggestion = suggest(name, &self.reg.names());
        e
    }

    fn lhs<'a>(&mut self, o: &Operand<'a>, rel: &str) -> Result<Lhs<'a>, FilterError> {
        let Atom::Word(name) = o.atom else {
            let text = &self.expr[o.span.clone()];
            if rel.is_empty() {
                return Err(self.err(
                    o.span.clone(),
                    format!("{text} is neither a field nor a protocol name."),
                ));
            }
            return Err(self.err(
                o.span.clone(),
                format!(
                    "Left side of \"{rel}\" expression must be a field or function, not {text}."
                ),
            ));
        };
        let Some((id, ty)) = self.reg.lookup(name) else {
            return Err(self.unknown(name, o.span.clone()));
        };
        self.fields.push(id);
        let (slice, ty) = self.slice_of(name, ty, o)?;
        Ok(Lhs {
            id,
            ty,
            name,
            slice,
            span: o.span.start..o.slice.as_ref().map_or(o.span.end, |s| s.1.end),
        })
    }

    fn slice_of(
        &self,
        name: &str,
        ty: FieldType,
        o: &Operand<'_>,
    ) -> Result<(Option<Slice>, FieldType), FilterError> {
        let Some((text, sspan)) = &o.slice else {
            return Ok((None, ty));
        };
        if !matches!(ty, FieldType::Str | FieldType::Bytes) {
            return Err(self.err(
                o.span.clone(),
                format!(
                    "\"{name}\" is a {} and cannot be sliced into a sequence of bytes.",
                    ty.label()
                ),
            ));
        }
        if text.contains(',') {
            return Err(self.err(
                sspan.clone(),
                "Slices with several ranges are not supported.",
            ));
        }
        let Some(s) = Slice::parse(text) else {
            return Err(self.err(sspan.clone(), format!("\"{text}\" is not a valid range.")));
        };
        Ok((Some(s), FieldType::Bytes))
    }

    fn test(&mut self, t: parse::Test<'_>) -> Result<Test, FilterError> {
        if let Some((negated, members)) = t.set {
            let lhs = self.lhs(&t.lhs, "in")?;
            self.check_op(&lhs, "in", true)?;
            let members = members
                .into_iter()
                .map(|Member { lo, hi }| {
                    let lo_l = self.literal(&lhs, &lo)?;
                    let hi_l = hi.as_ref().map(|h| self.literal(&lhs, h)).transpose()?;
                    if hi_l.is_some() && matches!(lo_l, Lit::Cidr(..)) {
                        return Err(self.err(lo.span.clone(), "A range cannot start at a network."));
                    }
                    if let (Some(Lit::Cidr(..)), Some(h)) = (&hi_l, &hi) {
                        return Err(self.err(h.span.clone(), "A range cannot end at a network."));
                    }
                    Ok((lo_l, hi_l))
                })
                .collect::<Result<Vec<_>, _>>()?;
            return Ok(Test {
                field: lhs.id,
                slice: lhs.slice,
                kind: Kind::In { negated, members },
            });
        }
        let Some((rel, rel_span, rhs)) = t.rel else {
            let lhs = self.lhs(&t.lhs, "")?;
            return Ok(Test {
                field: lhs.id,
                slice: lhs.slice,
                kind: Kind::Exists,
            });
        };
        let rel_text = self.expr[rel_span].to_string();
        let lhs = self.lhs(&t.lhs, &rel_text)?;
        let kind = match rel {
            Rel::Cmp(op) => {
                let (op, quant) = cmp_parts(op);
                self.check_op(&lhs, &rel_text, matches!(op, Ord6::Eq | Ord6::Ne))?;
                if let Some((other, oty, oslice)) = self.rhs_field(&rhs)? {
                    if !comparable(lhs.ty, oty) {
                        return Err(self.err(
                            rhs.span.clone(),
                            format!(
                                "{} and {} are not of compatible types.",
                                lhs.name,
                                &self.expr[rhs.span.clone()]
                            ),
                        ));
                    }
                    Kind::CmpField {
                        op,
                        quant,
                        other,
                        other_slice: oslice,
                    }
                } else {
                    let lit = self.literal(&lhs, &rhs)?;
                    if matches!(lit, Lit::Cidr(..)) && !matches!(op, Ord6::Eq | Ord6::Ne) {
                        return Err(self.err(
                            rhs.span.clone(),
                            format!(
                                "A network can only be compared with == or !=, not {rel_text}."
                            ),
                        ));
                    }
                    Kind::Cmp { op, quant, lit }
                }
            }
            Rel::Contains => {
                if !matches!(lhs.ty, FieldType::Str | FieldType::Bytes) {
                    return Err(self.cannot(&lhs, "contains"));
                }
                let needle = match self.literal(&lhs, &rhs)? {
                    Lit::Bytes(b) => b,
                    _ => return Err(self.cannot(&lhs, "contains")),
                };
                Kind::Contains(Box::new(memmem::Finder::new(&needle).into_owned()))
            }
            Rel::Matches => {
                if !matches!(lhs.ty, FieldType::Str | FieldType::Bytes) {
                    return Err(self.cannot(&lhs, "matches"));
                }
                let Atom::Str(pat) = &rhs.atom else {
                    return Err(self.err(
                        rhs.span.clone(),
                        "Matches requires a double quoted string on the right side.",
                    ));
                };
                let Ok(pat) = std::str::from_utf8(pat) else {
                    return Err(self.err(
                        rhs.span.clone(),
                        "The regular expression is not valid UTF-8.",
                    ));
                };
                // tshark 4.0 compiles the pattern caseless: `(?-i)` turns that off.
                let re = regex::bytes::RegexBuilder::new(pat)
                    .case_insensitive(true)
                    .size_limit(1 << 22)
                    .build()
                    .map_err(|e| {
                        self.err(
                            rhs.span.clone(),
                            format!("Regex compilation error: {}.", first_line(&e.to_string())),
                        )
                    })?;
                Kind::Matches(re)
            }
        };
        Ok(Test {
            field: lhs.id,
            slice: lhs.slice,
            kind,
        })
    }

    fn cannot(&self, lhs: &Lhs<'_>, op: &str) -> FilterError {
        let what = if lhs.slice.is_some() {
            "slice"
        } else {
            lhs.ty.label()
        };
        self.err(
            lhs.span.clone(),
            format!(
                "{} (type={what}) cannot participate in {op} comparison.",
                lhs.name
            ),
        )
    }

    /// Presence-only fields have nothing to compare.
    fn check_op(&self, lhs: &Lhs<'_>, op: &str, _eq: bool) -> Result<(), FilterError> {
        if lhs.ty == FieldType::Protocol {
            let op = if op.chars().all(|c| c.is_ascii_alphabetic() || c == '_') {
                op.to_string()
            } else {
                format!("\"{op}\"")
            };
            return Err(self.cannot(lhs, &op));
        }
        Ok(())
    }

    /// A right-hand word that names a field makes a field-to-field comparison.
    fn rhs_field(
        &mut self,
        o: &Operand<'_>,
    ) -> Result<Option<(FieldId, FieldType, Option<Slice>)>, FilterError> {
        let Atom::Word(name) = o.atom else {
            return Ok(None);
        };
        let Some((id, ty)) = self.reg.lookup(name) else {
            return Ok(None);
        };
        self.fields.push(id);
        let (slice, ty) = self.slice_of(name, ty, o)?;
        Ok(Some((id, ty, slice)))
    }

    /// Converts a literal to the left side's type, with tshark's messages when it cannot; a
    /// word that fails and looks like a misspelt field name gets a suggestion.
    fn literal(&self, lhs: &Lhs<'_>, o: &Operand<'_>) -> Result<Lit, FilterError> {
        self.literal_inner(lhs, o).map_err(|mut e| {
            if let Atom::Word(w) = o.atom
                && e.suggestion.is_none()
                && w.contains('.')
                && w.starts_with(|c: char| c.is_ascii_alphabetic())
            {
                e.suggestion = suggest(w, &self.reg.names());
            }
            e
        })
    }

    fn literal_inner(&self, lhs: &Lhs<'_>, o: &Operand<'_>) -> Result<Lit, FilterError> {
        let span = o.span.clone();
        let text = &self.expr[span.clone()];
        if o.slice.is_some() {
            return Err(self.err(
                span,
                format!("{text} is neither a field nor a protocol name."),
            ));
        }
        let from_string = |s: &[u8]| {
            self.err(
                span.clone(),
                format!(
                    "{} cannot be converted from a string (\"{}\").",
                    lhs.ty.label(),
                    String::from_utf8_lossy(s)
                ),
            )
        };
        match (lhs.ty, &o.atom) {
            (FieldType::Str | FieldType::Bytes, Atom::Str(s)) => Ok(Lit::Bytes(s.clone())),
            (FieldType::Str | FieldType::Bytes, Atom::Char(c)) => Ok(Lit::Bytes(vec![*c])),
            (FieldType::Str, Atom::Word(w)) => Ok(Lit::Bytes(w.as_bytes().to_vec())),
            (FieldType::Bytes, Atom::Word(w)) => parse_bytes(w)
                .map(Lit::Bytes)
                .ok_or_else(|| self.err(span, format!("\"{w}\" is not a valid byte string."))),
            (FieldType::UInt | FieldType::Int, Atom::Char(c)) => Ok(Lit::UInt(u64::from(*c))),
            (FieldType::UInt | FieldType::Int, Atom::Word(w)) => match parse_int(w) {
                Some(n) => int_lit(n)
                    .ok_or_else(|| self.err(span, format!("\"{w}\" too big for this field."))),
                None => match self.reg.value_named(lhs.id, w) {
                    Some(v) => Ok(Lit::UInt(v)),
                    None if !self.reg.has_value_names(lhs.id)
                        || w.starts_with(|c: char| c.is_ascii_digit() || c == '-' || c == '+') =>
                    {
                        Err(self.err(span, format!("\"{w}\" is not a valid number.")))
                    }
                    None => Err(self.err(
                        span,
                        format!(
                            "\"{w}\" cannot be found among the possible values for {}.",
                            lhs.name
                        ),
                    )),
                },
            },
            (FieldType::Bool, Atom::Word(w)) => match *w {
                "true" | "True" | "TRUE" => Ok(Lit::Bool(true)),
                "false" | "False" | "FALSE" => Ok(Lit::Bool(false)),
                // tshark: `websocket.fin == 2` matches like `== 1` (non-zero is true).
                _ => match parse_int(w) {
                    Some(n) => Ok(Lit::Bool(n != 0)),
                    None => Err(self.err(
                        span,
                        format!(
                            "\"{w}\" cannot be found among the possible values for {}.",
                            lhs.name
                        ),
                    )),
                },
            },
            (FieldType::Float, Atom::Word(w)) => w
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Lit::Float)
                .ok_or_else(|| self.err(span, format!("\"{w}\" is not a valid number."))),
            (FieldType::Time, Atom::Word(w)) => parse_seconds(w)
                .map(Lit::Time)
                .ok_or_else(|| self.err(span, format!("\"{w}\" is not a valid time."))),
            // An absolute time (`frame.time >= "2026-11-21 11:27:55.350"`), read as UTC.
            (FieldType::Time, Atom::Str(s)) => std::str::from_utf8(s)
                .ok()
                .and_then(parse_abs_time)
                .map(Lit::Time)
                .ok_or_else(|| {
                    self.err(
                        span,
                        format!(
                            "\"{}\" is not a valid absolute time. Example: \"Nov 12, 1999 08:55:44.123\" or \"2011-07-04 12:34:56\"",
                            String::from_utf8_lossy(s)
                        ),
                    )
                }),
            (FieldType::Ipv4, Atom::Word(w)) => parse_net(w, false).map_err(|m| {
                self.err(
                    span,
                    m.unwrap_or(format!("\"{w}\" is not a valid hostname or IPv4 address.")),
                )
            }),
            (FieldType::Ipv6, Atom::Word(w)) => parse_net(w, true).map_err(|m| {
                self.err(
                    span,
                    m.unwrap_or(format!("\"{w}\" is not a valid hostname or IPv6 address.")),
                )
            }),
            (FieldType::Ether, Atom::Word(w)) => parse_bytes(w)
                .and_then(|b| <[u8; 6]>::try_from(b).ok())
                .map(Lit::Ether)
                .ok_or_else(|| {
                    self.err(
                        span,
                        format!("\"{w}\" is not a valid hostname or Ethernet address."),
                    )
                }),
            // tshark looks quoted names up too: `websocket.opcode == "Text"`.
            (FieldType::UInt | FieldType::Int, Atom::Str(s)) => std::str::from_utf8(s)
                .ok()
                .and_then(|name| self.reg.value_named(lhs.id, name))
                .map(Lit::UInt)
                .ok_or_else(|| from_string(s)),
            (FieldType::Bool, Atom::Str(s)) => Err(self.err(
                span,
                format!(
                    "\"{}\" cannot be found among the possible values for {}.",
                    String::from_utf8_lossy(s),
                    lhs.name
                ),
            )),
            (_, Atom::Str(s)) => Err(from_string(s)),
            (_, Atom::Char(_)) => Err(self.err(span, format!("{text} is not a valid value here."))),
            (FieldType::Protocol, _) => Err(self.cannot(lhs, "a")),
        }
    }
}

fn first_line(s: &str) -> &str {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
}

/// Type pairs a field-to-field comparison accepts.
fn comparable(a: FieldType, b: FieldType) -> bool {
    use FieldType::*;
    let num = |t| matches!(t, Bool | UInt | Int | Float | Time);
    let bytes = |t| matches!(t, Str | Bytes);
    a != Protocol && b != Protocol && (a == b || (num(a) && num(b)) || (bytes(a) && bytes(b)))
}

fn int_lit(n: i128) -> Option<Lit> {
    if n < 0 {
        i64::try_from(n).ok().map(Lit::Int)
    } else {
        u64::try_from(n).ok().map(Lit::UInt)
    }
}

/// Wireshark's integer literals: decimal, `0x` hex, `0b` binary, leading-zero octal, with an
/// optional sign (tshark: `010` is 8, `0b11` is 3, `09` and `1_0` are not numbers).
pub(crate) fn parse_int(w: &str) -> Option<i128> {
    let (neg, body) = match w.as_bytes().first() {
        Some(b'-') => (true, &w[1..]),
        Some(b'+') => (false, &w[1..]),
        _ => (false, w),
    };
    let (radix, digits) =
        if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (16, h)
        } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (2, b)
        } else if body.len() > 1 && body.starts_with('0') {
            (8, &body[1..])
        } else {
            (10, body)
        };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let v = u128::from_str_radix(digits, radix).ok()?;
    let v = i128::try_from(v).ok()?;
    Some(if neg { -v } else { v })
}

/// Seconds with up to 9 decimals (`0.05`, `-1`, `12.000000001`) as exact nanoseconds.
pub(crate) fn parse_seconds(w: &str) -> Option<i64> {
    let (neg, body) = match w.strip_prefix('-') {
        Some(b) => (true, b),
        None => (false, w.strip_prefix('+').unwrap_or(w)),
    };
    let (int, frac) = body.split_once('.').unwrap_or((body, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (int.is_empty() && frac.is_empty()) || !digits(int) || !digits(frac) || frac.len() > 9 {
        return None;
    }
    let secs: i64 = if int.is_empty() { 0 } else { int.parse().ok()? };
    let nanos: i64 = format!("{frac:0<9}").parse().ok()?;
    let t = secs.checked_mul(1_000_000_000)?.checked_add(nanos)?;
    Some(if neg { -t } else { t })
}

/// An absolute time in one of the forms tshark 4.0 reads (`2026-11-21`,
/// `2026-11-21 11:27:55.350`, `2026-11-21T11:27:55.350Z`, `Nov 21, 2026 11:27:55.350072`), as
/// nanoseconds since the epoch. tshark reads them in the local time zone; here they are UTC
/// (the zone the references are made in, and the one `-T fields` prints).
pub(crate) fn parse_abs_time(s: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let s = s.trim();
    let s = s.strip_suffix('Z').unwrap_or(s);
    let num = |t: &str| -> Option<i64> {
        (!t.is_empty() && t.len() <= 4 && t.chars().all(|c| c.is_ascii_digit()))
            .then(|| t.parse().ok())
            .flatten()
    };
    let parts: Vec<&str> = s.split([' ', 'T']).filter(|p| !p.is_empty()).collect();
    let (y, m, d, time) = match parts.as_slice() {
        [mon, day, year, rest @ ..] if mon.len() == 3 => {
            let m = MONTHS.iter().position(|x| x.eq_ignore_ascii_case(mon))? as i64 + 1;
            (num(year)?, m, num(day.strip_suffix(',')?)?, rest)
        }
        [date, rest @ ..] => {
            let mut it = date.split('-');
            let (y, m, d) = (num(it.next()?)?, num(it.next()?)?, num(it.next()?)?);
            if it.next().is_some() {
                return None;
            }
            (y, m, d, rest)
        }
        [] => return None,
    };
    let days_in_month = match m {
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        1..=12 => 31,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&d) {
        return None;
    }
    let (mut h, mut mi, mut sec, mut nanos) = (0, 0, 0, 0);
    match time {
        [] => {}
        [t] => {
            let (hms, frac) = t.split_once('.').unwrap_or((t, ""));
            let mut it = hms.split(':');
            h = num(it.next()?)?;
            mi = num(it.next()?)?;
            sec = it.next().map_or(Some(0), num)?;
            if it.next().is_some() || h > 23 || mi > 59 || sec > 60 {
                return None;
            }
            if !frac.is_empty() {
                nanos = parse_seconds(&format!("0.{frac}"))?;
            }
        }
        _ => return None,
    }
    let secs = days_from_civil(y, m, d) * 86_400 + h * 3600 + mi * 60 + sec;
    secs.checked_mul(1_000_000_000)?.checked_add(nanos)
}

/// (year, month 1-12, day) to days since 1970-01-01, proleptic Gregorian: the inverse of
/// [`super::tfields`]'s `civil_from_days` (Howard Hinnant's `days_from_civil`).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Byte strings: `7b:22:00`, `7b-22`, `7b.22`, or an even number of hex digits `7b2200`
/// (tshark accepts all four for `websocket.masking_key`); a single byte may be one digit.
pub(crate) fn parse_bytes(w: &str) -> Option<Vec<u8>> {
    let hex = |s: &str| {
        (!s.is_empty() && s.len() <= 2 && s.chars().all(|c| c.is_ascii_hexdigit()))
            .then(|| u8::from_str_radix(s, 16).ok())
            .flatten()
    };
    if let Some(sep) = [':', '-', '.'].into_iter().find(|c| w.contains(*c)) {
        // `0000.0000.0000` (Cisco-style MAC) groups four digits between dots.
        if sep == '.' && w.split('.').all(|g| g.len() == 4) {
            return parse_bytes(&w.replace('.', ""));
        }
        return w.split(sep).map(hex).collect();
    }
    if w.len() % 2 == 1 {
        return if w.len() == 1 {
            hex(w).map(|b| vec![b])
        } else {
            None
        };
    }
    (0..w.len())
        .step_by(2)
        .map(|i| w.get(i..i + 2).and_then(hex))
        .collect()
}

/// An address or a CIDR network; `Err(Some(msg))` for a bad prefix length.
fn parse_net(w: &str, v6: bool) -> Result<Lit, Option<String>> {
    let (addr, bits) = match w.split_once('/') {
        Some((a, b)) => (a, Some(b)),
        None => (w, None),
    };
    let ip: IpAddr = if v6 {
        IpAddr::V6(addr.parse::<Ipv6Addr>().map_err(|_| None)?)
    } else {
        IpAddr::V4(addr.parse::<Ipv4Addr>().map_err(|_| None)?)
    };
    let Some(bits) = bits else {
        return Ok(Lit::Ip(ip));
    };
    let max = if v6 { 128 } else { 32 };
    let family = if v6 { "IPv6" } else { "IPv4" };
    match bits.parse::<u8>() {
        Ok(b) if b <= max => Ok(Lit::Cidr(ip, b)),
        _ => Err(Some(format!(
            "Netmask bits in a CIDR {family} address should be <= {max}, not {bits}"
        ))),
    }
}

/// The known name nearest to `name`, if it is near enough to be a typo.
fn suggest(name: &str, names: &[&str]) -> Option<String> {
    // Jaro-Winkler favours a shared prefix, which is how field names are spelled
    // (`websocket.opcod` -> `websocket.opcode`); a floor keeps unrelated names out.
    names
        .iter()
        .map(|n| (strsim::jaro_winkler(name, n), *n))
        .filter(|(score, _)| *score >= 0.88)
        .max_by(|a, b| a.0.total_cmp(&b.0).then_with(|| b.1.cmp(a.1)))
        .map(|(_, n)| n.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_literals_as_tshark_reads_them() {
        // tshark -Y 'frame.number == 010' -> packet 8; '0x0a' -> 10; '0b11' -> 3; '+1' -> 1
        assert_eq!(parse_int("010"), Some(8));
        assert_eq!(parse_int("0x0a"), Some(10));
        assert_eq!(parse_int("0b11"), Some(3));
        assert_eq!(parse_int("+1"), Some(1));
        assert_eq!(parse_int("-1"), Some(-1));
        // tshark: "09", "1_0", "1e3", "0x" are not valid numbers
        for bad in ["09", "1_0", "1e3", "0x", "", "-"] {
            assert_eq!(parse_int(bad), None, "{bad}");
        }
    }

    #[test]
    fn seconds_are_exact_nanoseconds() {
        assert_eq!(parse_seconds("0.05"), Some(50_000_000));
        assert_eq!(
            parse_seconds("1795260478.769944000"),
            Some(1_795_260_478_769_944_000)
        );
        assert_eq!(parse_seconds("-1"), Some(-1_000_000_000));
        assert_eq!(parse_seconds(".5"), Some(500_000_000));
        for bad in ["", ".", "abc", "0.1.2", "1.0000000001", "1e3"] {
            assert_eq!(parse_seconds(bad), None, "{bad}");
        }
    }

    #[test]
    fn absolute_times_in_tsharks_forms() {
        // TZ=UTC tshark -r samples/basic.pcap -T fields -e frame.time -e frame.time_epoch:
        // packet 8 `Nov 21, 2026 11:27:55.350072000 UTC`, 1795260475.350072000
        let t8 = 1_795_260_475_350_072_000;
        assert_eq!(parse_abs_time("Nov 21, 2026 11:27:55.350072"), Some(t8));
        assert_eq!(parse_abs_time("2026-11-21 11:27:55.350072"), Some(t8));
        assert_eq!(parse_abs_time("2026-11-21T11:27:55.350072Z"), Some(t8));
        assert_eq!(
            parse_abs_time("2026-11-21"),
            Some(1_795_219_200_000_000_000)
        );
        assert_eq!(
            parse_abs_time("2026-11-21 11:27"),
            Some(1_795_260_420_000_000_000)
        );
        assert_eq!(parse_abs_time("1970-01-01 00:00:00"), Some(0));
        assert_eq!(parse_abs_time("2000-02-29"), Some(951_782_400_000_000_000));
        for bad in [
            "",
            "2026-13-01",
            "2026-02-29",
            "2026-11-21 24:00",
            "Nov 21 2026",
            "1795260475",
            "2026-11-21 1:2:3:4",
        ] {
            assert_eq!(parse_abs_time(bad), None, "{bad}");
        }
    }

    #[test]
    fn byte_strings_in_all_spellings() {
        // tshark -Y 'websocket.masking_key == 11:22:33:44' (also 11-22-33-44, 11.22.33.44,
        // 11223344) all match coalesced.pcap packet 8.
        for w in ["11:22:33:44", "11-22-33-44", "11.22.33.44", "11223344"] {
            assert_eq!(parse_bytes(w), Some(vec![0x11, 0x22, 0x33, 0x44]), "{w}");
        }
        assert_eq!(parse_bytes("7"), Some(vec![7]));
        assert_eq!(parse_bytes("0000.0000.0001"), Some(vec![0, 0, 0, 0, 0, 1]));
        for bad in ["zz", "112", "1:::2", "123:4"] {
            assert_eq!(parse_bytes(bad), None, "{bad}");
        }
    }

    #[test]
    fn slices_as_wireshark_ranges() {
        let r = |s: &str, len| Slice::parse(s).and_then(|s| s.range(len));
        assert_eq!(r("0:2", 4), Some(0..2));
        assert_eq!(r("1-2", 4), Some(1..3));
        assert_eq!(r("0", 4), Some(0..1));
        assert_eq!(r(":2", 4), Some(0..2));
        assert_eq!(r("2:", 4), Some(2..4));
        assert_eq!(r("-1", 4), Some(3..4));
        assert_eq!(r("-2:", 4), Some(2..4));
        assert_eq!(r("-3-2", 4), Some(1..3));
        // Past the end: no value (tshark: masking_key[2:5] and [4:] match nothing).
        assert_eq!(r("2:5", 4), None);
        assert_eq!(r("4:", 4), None);
        assert_eq!(r("2-9", 4), None);
        assert_eq!(r("-5", 4), None);
        assert!(Slice::parse("a:b").is_none());
    }
}
