//! Wireshark display filters (`-Y`) over named fields, and tshark's `-T fields` printing.
//!
//! The language is the subset of Wireshark 4.0's that people type: field presence, comparisons
//! (`== != === !== ~= < <= > >=` and `eq ne any_eq all_eq any_ne all_ne lt le gt ge`),
//! `contains`, `matches`, `in {..}` / `not in {..}` with ranges, `and or not && || !`,
//! parentheses, slices, and literals of every field type (numbers, byte strings, quoted strings
//! with escapes, booleans, IPv4/IPv6 addresses and CIDR networks, MAC addresses).
//!
//! The module knows no field: a [`FieldRegistry`] names them and gives their [`FieldType`], and a
//! [`FieldValues`] hands out the values one packet carries. Semantics follow tshark 4.0.17 (each
//! point checked against it on the samples, see the tests):
//! - a field may carry several values in one packet (three frames, three `websocket.opcode`s);
//!   `==`, `<`, `contains`, `matches`, `in` hold when ANY value satisfies them;
//! - `!=` (`ne`, `all_ne`) holds when the field is present and ALL values differ, so
//!   `a != b` is not `!(a == b)` on absent fields; `!==` / `~=` (`any_ne`) is "any value differs";
//!   `===` (`all_eq`) is "present and all equal";
//! - `and` binds tighter than `or`, `not` tighter than both;
//! - `matches` is case-insensitive unless the pattern says `(?-i)` (tshark 4.0 compiles PCRE2
//!   patterns caseless); the pattern language is the `regex` crate's (no look-around or
//!   back-references);
//! - a slice past the end of a value gives no value (no match), as in tshark.
//!
//! Evaluation allocates nothing: regular expressions and substring finders are built once, and
//! values are borrowed from the packet.
//!
//! ```
//! use std::ops::ControlFlow;
//! use wsdissect::filter::{FieldId, FieldRegistry, FieldType, FieldValues, Filter, Value};
//! use wsdissect::filter::tfields::{Column, Display, FieldsOptions, FieldsWriter};
//!
//! struct Table;
//! impl FieldRegistry for Table {
//!     fn lookup(&self, name: &str) -> Option<(FieldId, FieldType)> {
//!         match name {
//!             "websocket.opcode" => Some((FieldId(0), FieldType::UInt)),
//!             "websocket.payload.text" => Some((FieldId(1), FieldType::Str)),
//!             _ => None,
//!         }
//!     }
//!     fn names(&self) -> Vec<&str> {
//!         vec!["websocket.opcode", "websocket.payload.text"]
//!     }
//! }
//!
//! /// One packet carrying two frames: a text and a close.
//! struct Packet;
//! impl FieldValues for Packet {
//!     fn for_each(&self, field: FieldId, f: &mut dyn FnMut(Value<'_>) -> ControlFlow<()>) {
//!         let _ = match field.0 {
//!             0 => [1, 8].into_iter().try_for_each(|op| f(Value::UInt(op))),
//!             1 => f(Value::Str("bye")),
//!             _ => ControlFlow::Continue(()),
//!         };
//!     }
//! }
//!
//! let filter = Filter::compile("websocket.opcode == 8 && websocket.payload.text matches \"^BYE\"", &Table)?;
//! assert!(filter.matches(&Packet));
//! assert_eq!(filter.fields(), &[FieldId(0), FieldId(1)]);
//!
//! let err = Filter::compile("websocket.opcod == 8", &Table).unwrap_err();
//! assert_eq!(err.suggestion.as_deref(), Some("websocket.opcode"));
//!
//! let mut opts = FieldsOptions::default();
//! opts.apply("separator=,")?;
//! let cols = vec![Column { field: FieldId(0), display: Display::Plain }; 2];
//! let mut line = String::new();
//! FieldsWriter::new(opts, cols).row(&Packet, &mut line);
//! assert_eq!(line, "1,8,1,8\n");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod compile;
mod eval;
mod lex;
mod parse;
pub mod tfields;

use std::fmt;
use std::net::IpAddr;
use std::ops::{ControlFlow, Range};

pub use compile::Filter;

/// Index of a field in the caller's field table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// What kind of values a field carries; decides which literals and operators apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FieldType {
    /// Presence only: a protocol (`websocket`, `http`) or a label without value
    /// (`websocket.payload`, tshark's FT_NONE).
    Protocol,
    /// True or false (`websocket.fin`); literals `true`/`false` or a number (non-zero is true).
    Bool,
    /// Unsigned integer (`frame.number`, `websocket.opcode`).
    UInt,
    /// Signed integer.
    Int,
    /// Floating-point number.
    Float,
    /// A time in nanoseconds, relative (`frame.time_relative`, `frame.time_delta`) or since the
    /// epoch (`frame.time_epoch`, `frame.time`); literals are seconds (`0.05`) or, quoted, UTC
    /// dates as tshark reads them (`"2026-11-21 11:27:55.350"`, `"Nov 21, 2026 11:27:55"`).
    Time,
    /// Text (`http.request.method`, `websocket.payload.text`).
    Str,
    /// Byte sequence (`websocket.masking_key`, `websocket.payload.ping`).
    Bytes,
    /// IPv4 address (`ip.src`); literals are addresses or CIDR networks.
    Ipv4,
    /// IPv6 address (`ipv6.src`); literals are addresses or CIDR networks.
    Ipv6,
    /// Ethernet (MAC) address (`eth.src`).
    Ether,
}

impl FieldType {
    /// The type's name as tshark's error messages spell it.
    pub fn label(self) -> &'static str {
        match self {
            FieldType::Protocol => "Protocol",
            FieldType::Bool => "Boolean",
            FieldType::UInt => "Unsigned integer",
            FieldType::Int => "Signed integer",
            FieldType::Float => "Floating point",
            FieldType::Time => "Time offset",
            FieldType::Str => "Character string",
            FieldType::Bytes => "Byte sequence",
            FieldType::Ipv4 => "IPv4 address",
            FieldType::Ipv6 => "IPv6 address",
            FieldType::Ether => "Ethernet or other MAC address",
        }
    }
}

/// One value of a field in one packet, borrowed from the dissector's state.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value<'a> {
    /// The field (a protocol or label) is there and has no value.
    Present,
    /// A boolean.
    Bool(bool),
    /// An unsigned integer.
    UInt(u64),
    /// A signed integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A time in nanoseconds (relative, or since 1970-01-01 UTC): kept exact because tshark
    /// prints times with 9 decimals, beyond an f64's precision for epoch times.
    Time(i64),
    /// Text.
    Str(&'a str),
    /// Bytes.
    Bytes(&'a [u8]),
    /// An IPv4 or IPv6 address.
    Ip(IpAddr),
    /// A MAC address.
    Ether([u8; 6]),
}

/// The names a filter may use: the caller's field table.
pub trait FieldRegistry {
    /// The field called `name`, if there is one.
    fn lookup(&self, name: &str) -> Option<(FieldId, FieldType)>;
    /// Every field name (used only to suggest a name after a typo).
    fn names(&self) -> Vec<&str>;
    /// The number a value name stands for in an integer or boolean field
    /// (`websocket.opcode == Text` means `== 1`, as in Wireshark). None by default.
    fn value_named(&self, _field: FieldId, _name: &str) -> Option<u64> {
        None
    }
    /// Whether the field has value names at all (decides tshark's message for an unknown
    /// word: "cannot be found among the possible values" or "is not a valid number").
    fn has_value_names(&self, _field: FieldId) -> bool {
        false
    }
}

/// The values of the fields of one packet.
pub trait FieldValues {
    /// Calls `f` with each value of `field` in this packet, in packet order, until `f` breaks.
    /// A field the packet does not carry gives no call.
    fn for_each(&self, field: FieldId, f: &mut dyn FnMut(Value<'_>) -> ControlFlow<()>);
}

/// A filter that does not compile: what is wrong and where (byte offsets into the expression).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterError {
    /// tshark-style message (`websocket.opcod is neither a field nor a protocol name.`).
    pub message: String,
    /// The bytes of the expression the message is about (empty at the end of the expression).
    pub span: Range<usize>,
    /// The nearest known field name, when the error is an unknown name.
    pub suggestion: Option<String>,
    /// The expression, for [`FilterError::render`].
    pub expr: String,
}

impl FilterError {
    pub(crate) fn new(expr: &str, span: Range<usize>, message: impl Into<String>) -> Self {
        FilterError {
            message: message.into(),
            span,
            suggestion: None,
            expr: expr.to_string(),
        }
    }

    /// The message, the expression and a `^~~~` line under the span, as tshark prints them
    /// (four spaces of indent), then `Did you mean NAME?` when there is a suggestion.
    pub fn render(&self) -> String {
        let mut s = self.message.clone();
        s.push('\n');
        s.push_str("    ");
        s.push_str(&self.expr);
        s.push_str("\n    ");
        // The caret goes under the span's first character; the expression may hold multi-byte
        // characters, so count characters, not bytes.
        let start = self.span.start.min(self.expr.len());
        let end = self.span.end.clamp(start, self.expr.len());
        let before = self.expr.get(..start).map_or(start, |p| p.chars().count());
        let width = self
            .expr
            .get(start..end)
            .map_or(1, |p| p.chars().count().max(1));
        s.extend(std::iter::repeat_n(' ', before));
        s.push('^');
        s.extend(std::iter::repeat_n('~', width - 1));
        if let Some(name) = &self.suggestion {
            s.push_str("\nDid you mean ");
            s.push_str(name);
            s.push('?');
        }
        s
    }
}

impl fmt::Display for FilterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)?;
        if let Some(name) = &self.suggestion {
            write!(f, " Did you mean {name}?")?;
        }
        Ok(())
    }
}

impl std::error::Error for FilterError {}

#[cfg(test)]
pub(crate) mod testreg;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod tshark_table;
