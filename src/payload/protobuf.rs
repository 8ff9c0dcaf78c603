//! Protocol Buffers content: with a schema (`--proto FILE.proto` compiled by `protox`, or
//! a `FileDescriptorSet` as `protoc -o` writes it; `--proto-message NAME` per connection,
//! port or subprotocol) decoded by `prost-reflect` into a tree with field names; without
//! one, the wire format read as field numbers and wire types, with nested messages guessed.
//!
//! The schema-less reader is written here: no crate reads a message without its type and
//! guesses what a length-delimited field holds, and the wire format is small (a varint key
//! of field number and wire type; varint, fixed 64, length-delimited, fixed 32, and the
//! deprecated groups). prost's own varint helpers are `#[doc(hidden)]`, not an API.

use super::bound::{self, Line};
use super::msgpack::{bytes_json, float_json};
use super::{AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Protocol};
use crate::flow::analysis::Direction;
use prost_reflect::{DescriptorPool, DynamicMessage, MessageDescriptor};
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Deepest nesting a schema-less guess descends into.
pub const MAX_GUESS_DEPTH: usize = 16;
/// Most fields read in one schema-less message (per level).
const MAX_FIELDS: usize = 4096;
/// Bytes kept of a bytes field (what the tree shows; copies stay small however deep the
/// guesses go).
pub const KEPT_BYTES: usize = 32;

/// A wire type (protobuf encoding guide, "Message Structure").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    /// 0: int32, int64, uint32, uint64, sint32, sint64, bool, enum.
    Varint,
    /// 1: fixed64, sfixed64, double.
    I64,
    /// 2: string, bytes, embedded messages, packed repeated fields.
    Len,
    /// 3: group start (deprecated).
    SGroup,
    /// 4: group end (deprecated).
    EGroup,
    /// 5: fixed32, sfixed32, float.
    I32,
}

impl WireType {
    /// `varint`, `i64`, `len`, `sgroup`, `egroup` or `i32`, as the encoding guide names them.
    pub fn name(self) -> &'static str {
        match self {
            WireType::Varint => "varint",
            WireType::I64 => "i64",
            WireType::Len => "len",
            WireType::SGroup => "sgroup",
            WireType::EGroup => "egroup",
            WireType::I32 => "i32",
        }
    }

    fn from_bits(b: u64) -> Option<WireType> {
        Some(match b {
            0 => WireType::Varint,
            1 => WireType::I64,
            2 => WireType::Len,
            3 => WireType::SGroup,
            4 => WireType::EGroup,
            5 => WireType::I32,
            _ => return None,
        })
    }
}

/// A base-128 varint (at most 10 bytes) at the start of `p`: its value and length.
pub fn read_varint(p: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, b) in p.iter().take(10).enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            // The tenth byte holds only the top bit of a u64.
            return (i < 9 || *b <= 1).then_some((v, i + 1));
        }
    }
    None
}

/// One schema-less field value.
#[derive(Debug, Clone, PartialEq)]
pub enum WireValue {
    /// A varint.
    Varint(u64),
    /// Eight little-endian bytes.
    I64(u64),
    /// Four little-endian bytes.
    I32(u32),
    /// A length-delimited field guessed to be an embedded message.
    Message(Vec<WireField>),
    /// A length-delimited field guessed to be text (at most
    /// [`bound::MAX_FIELD_STRING`] characters kept).
    Text(String),
    /// A length-delimited field that is neither (or a packed array): its first bytes
    /// (at most [`KEPT_BYTES`]) and its length.
    Bytes(Vec<u8>, usize),
    /// A group (wire types 3..4) and its fields.
    Group(Vec<WireField>),
}

/// One schema-less field.
#[derive(Debug, Clone, PartialEq)]
pub struct WireField {
    /// Field number.
    pub number: u32,
    /// Wire type.
    pub wire_type: WireType,
    /// Value.
    pub value: WireValue,
}

/// Why bytes are not a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireError {
    /// Offset within the message (top level) where reading stopped.
    pub offset: usize,
    /// What was wrong.
    pub what: &'static str,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "protobuf wire format: {} at offset {}",
            self.what, self.offset
        )
    }
}

/// Reads `p` as a message without a schema. A length-delimited field is text when it is
/// UTF-8 without control characters, an embedded message when it parses completely as
/// one, bytes otherwise.
pub fn parse_wire(p: &[u8]) -> Result<Vec<WireField>, WireError> {
    let (fields, end) = parse_fields(p, 0, None)?;
    debug_assert_eq!(end, p.len());
    Ok(fields)
}

/// Fields until the end of `p` or, inside a group, until its end-group key; returns them
/// and the offset after what was read.
fn parse_fields(
    p: &[u8],
    depth: usize,
    group: Option<u32>,
) -> Result<(Vec<WireField>, usize), WireError> {
    let mut fields = Vec::new();
    let mut at = 0usize;
    let err = |offset, what| WireError { offset, what };
    while at < p.len() {
        if fields.len() >= MAX_FIELDS {
            return Err(err(at, "too many fields"));
        }
        let rest = p.get(at..).unwrap_or_default();
        let (key, n) = read_varint(rest).ok_or(err(at, "bad key varint"))?;
        let number = u32::try_from(key >> 3).map_err(|_| err(at, "field number too large"))?;
        if number == 0 || number > 536_870_911 {
            return Err(err(at, "field number out of range"));
        }
        let wire_type = WireType::from_bits(key & 7).ok_or(err(at, "wire type 6 or 7"))?;
        at += n;
        let rest = p.get(at..).unwrap_or_default();
        let value = match wire_type {
            WireType::Varint => {
                let (v, n) = read_varint(rest).ok_or(err(at, "bad varint"))?;
                at += n;
                WireValue::Varint(v)
            }
            WireType::I64 => {
                let b: [u8; 8] = rest
                    .get(..8)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(err(at, "fixed64 cut short"))?;
                at += 8;
                WireValue::I64(u64::from_le_bytes(b))
            }
            WireType::I32 => {
                let b: [u8; 4] = rest
                    .get(..4)
                    .and_then(|b| b.try_into().ok())
                    .ok_or(err(at, "fixed32 cut short"))?;
                at += 4;
                WireValue::I32(u32::from_le_bytes(b))
            }
            WireType::Len => {
                let (len, n) = read_varint(rest).ok_or(err(at, "bad length varint"))?;
                let body = usize::try_from(len)
                    .ok()
                    .and_then(|l| rest.get(n..n.checked_add(l)?))
                    .ok_or(err(at, "length past the end"))?;
                at += n + body.len();
                guess_len(body, depth)
            }
            WireType::SGroup => {
                if depth >= MAX_GUESS_DEPTH {
                    return Err(err(at, "groups nested too deep"));
                }
                let (inner, used) = parse_fields(rest, depth + 1, Some(number))
                    .map_err(|e| err(at + e.offset, e.what))?;
                at += used;
                WireValue::Group(inner)
            }
            WireType::EGroup => {
                return if group == Some(number) {
                    Ok((fields, at))
                } else {
                    Err(err(at, "unmatched end group"))
                };
            }
        };
        fields.push(WireField {
            number,
            wire_type,
            value,
        });
    }
    if group.is_some() {
        return Err(err(at, "group without its end"));
    }
    Ok((fields, at))
}

fn guess_len(body: &[u8], depth: usize) -> WireValue {
    if let Ok(s) = std::str::from_utf8(body)
        && !s
            .chars()
            .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return WireValue::Text(bound::cap_str(s, bound::MAX_FIELD_STRING));
    }
    if depth < MAX_GUESS_DEPTH
        && let Ok((fields, _)) = parse_fields(body, depth + 1, None)
        && !fields.is_empty()
    {
        return WireValue::Message(fields);
    }
    WireValue::Bytes(body.get(..KEPT_BYTES).unwrap_or(body).to_vec(), body.len())
}

/// How sure the guesses in `fields` are, 0-100: 100 without any embedded-message guess;
/// each guessed message lowers it, less when it has several fields with small numbers
/// (what real messages have) than when it is one field with a large number.
pub fn confidence(fields: &[WireField]) -> u8 {
    let mut c: u8 = 100;
    for f in fields {
        let inner = match &f.value {
            WireValue::Message(m) => {
                let small = m.iter().all(|f| f.number < 100);
                let guess = match (m.len() >= 2, small) {
                    (true, true) => 90,
                    (false, true) | (true, false) => 70,
                    (false, false) => 40,
                };
                guess.min(confidence(m))
            }
            WireValue::Group(m) => confidence(m),
            _ => 100,
        };
        c = c.min(inner);
    }
    c
}

/// The tree of schema-less fields: an object keyed by field number; repeated numbers
/// become arrays; text as strings, bytes as `{"$bin": …}`, fixed-size values as unsigned
/// numbers (the schema alone says whether they are signed or floating point).
pub fn wire_json(fields: &[WireField]) -> Value {
    let mut budget = bound::MAX_FIELD_NODES;
    bound::cap_owned(wire_rec(fields, 0, &mut budget))
}

fn wire_rec(fields: &[WireField], depth: usize, budget: &mut usize) -> Value {
    // Field numbers in first-seen order, each with its values (repeats become arrays).
    let mut seen: Vec<(u32, Vec<Value>)> = Vec::new();
    for f in fields {
        if *budget == 0 || depth > bound::MAX_FIELD_DEPTH {
            break;
        }
        *budget -= 1;
        let v = match &f.value {
            WireValue::Varint(v) | WireValue::I64(v) => (*v).into(),
            WireValue::I32(v) => (*v).into(),
            WireValue::Text(s) => bound::cap_str(s, bound::MAX_FIELD_STRING).into(),
            WireValue::Bytes(head, len) => {
                let mut b = bytes_json(head);
                if let Some(o) = b.as_object_mut() {
                    o.insert("length".into(), (*len).into());
                }
                b
            }
            WireValue::Message(inner) | WireValue::Group(inner) => {
                wire_rec(inner, depth + 1, budget)
            }
        };
        match seen.iter_mut().find(|(n, _)| *n == f.number) {
            Some((_, vs)) => vs.push(v),
            None => seen.push((f.number, vec![v])),
        }
    }
    let mut m = Map::new();
    for (n, mut vs) in seen {
        let v = if vs.len() == 1 {
            vs.pop().unwrap_or_default()
        } else {
            Value::Array(vs)
        };
        m.insert(n.to_string(), v);
    }
    Value::Object(m)
}

/// Where a `--proto-message` spec applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProtoTarget {
    /// Every connection decoded as protobuf.
    All,
    /// Connection index `conn=N`.
    Conn(u64),
    /// Connections with this port on either side.
    Port(u16),
    /// Connections whose accepted `Sec-WebSocket-Protocol` is this.
    Subprotocol(String),
}

/// One `--proto-message` spec: `[TARGET:]NAME[,NAME]` with TARGET `conn=N`, a port or a
/// subprotocol; one name for both directions, or the client's then the server's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProtoMessageSpec {
    /// Where it applies.
    pub target: ProtoTarget,
    /// Fully qualified message name of the client's messages (`package.Message`; a leading
    /// `.` is dropped).
    pub name: String,
    /// The server's messages, when they differ.
    pub server_name: Option<String>,
}

/// The message types of one connection, per direction.
#[derive(Debug, Clone)]
pub struct ProtoMessages {
    /// Client to server.
    pub client: MessageDescriptor,
    /// Server to client.
    pub server: MessageDescriptor,
}

impl std::str::FromStr for ProtoMessageSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let s = s.trim();
        let (target, name) = match s.rsplit_once(':') {
            None => (ProtoTarget::All, s),
            Some((t, n)) => {
                let target = if let Some(c) = t.strip_prefix("conn=") {
                    ProtoTarget::Conn(
                        c.parse()
                            .map_err(|_| format!("--proto-message: bad connection `{t}`"))?,
                    )
                } else if let Ok(p) = t.parse::<u16>() {
                    if p == 0 {
                        return Err("--proto-message: port 0".into());
                    }
                    ProtoTarget::Port(p)
                } else if !t.is_empty() {
                    ProtoTarget::Subprotocol(t.to_string())
                } else {
                    return Err(format!("--proto-message: empty target in `{s}`"));
                };
                (target, n)
            }
        };
        let (client, server) = match name.split_once(',') {
            Some((c, s)) => (c, Some(s)),
            None => (name, None),
        };
        let clean = |n: &str| {
            let n = n.trim().trim_start_matches('.');
            (!n.is_empty())
                .then(|| n.to_string())
                .ok_or_else(|| format!("--proto-message: no message name in `{s}`"))
        };
        Ok(ProtoMessageSpec {
            target,
            name: clean(client)?,
            server_name: server.map(clean).transpose()?,
        })
    }
}

/// Compiled schemas and which message each connection carries.
#[derive(Debug, Clone)]
pub struct ProtoSchemas {
    pool: DescriptorPool,
    specs: Vec<(ProtoTarget, ProtoMessages)>,
}

/// Compiles `.proto` files (with `protox`; imports resolved from each file's directory)
/// and reads descriptor sets (any other file: a serialized `FileDescriptorSet`) into one
/// pool.
pub fn load_pool(files: &[PathBuf]) -> Result<DescriptorPool, String> {
    let (protos, sets): (Vec<&PathBuf>, Vec<&PathBuf>) = files
        .iter()
        .partition(|p| p.extension().is_some_and(|e| e == "proto"));
    let mut pool = if protos.is_empty() {
        DescriptorPool::new()
    } else {
        let mut includes: Vec<&Path> = protos
            .iter()
            .map(|p| {
                p.parent()
                    .filter(|d| !d.as_os_str().is_empty())
                    .unwrap_or(Path::new("."))
            })
            .collect();
        includes.dedup();
        let mut compiler = protox::Compiler::new(includes).map_err(|e| format!("--proto: {e}"))?;
        compiler.include_imports(true);
        for p in &protos {
            compiler
                .open_file(p)
                .map_err(|e| format!("--proto {}: {e}", p.display()))?;
        }
        compiler.descriptor_pool()
    };
    for s in sets {
        let bytes = std::fs::read(s).map_err(|e| format!("--proto {}: {e}", s.display()))?;
        pool.decode_file_descriptor_set(bytes.as_slice())
            .map_err(|e| format!("--proto {}: not a FileDescriptorSet: {e}", s.display()))?;
    }
    Ok(pool)
}

impl ProtoSchemas {
    /// The schemas of `files` with the messages `specs` name; fails when a file does not
    /// compile or a name is not in them.
    pub fn new(files: &[PathBuf], specs: &[ProtoMessageSpec]) -> Result<ProtoSchemas, String> {
        let pool = load_pool(files)?;
        let mut out = Vec::new();
        let find = |name: &str| {
            pool.get_message_by_name(name).ok_or_else(|| {
                let known: Vec<String> = pool
                    .all_messages()
                    .take(8)
                    .map(|m| m.full_name().to_string())
                    .collect();
                format!(
                    "--proto-message: no message `{name}` in the --proto files (they define: {})",
                    known.join(", ")
                )
            })
        };
        for s in specs {
            let client = find(&s.name)?;
            let server = match &s.server_name {
                Some(n) => find(n)?,
                None => client.clone(),
            };
            out.push((s.target.clone(), ProtoMessages { client, server }));
        }
        Ok(ProtoSchemas { pool, specs: out })
    }

    /// The message type for connection `conn` between `ports` with `subprotocol`: a
    /// `conn=` spec beats a port spec, which beats a subprotocol spec, which beats one for
    /// all; among equals the last one wins.
    pub fn message_for(
        &self,
        conn: u64,
        ports: (u16, u16),
        subprotocol: Option<&str>,
    ) -> Option<&ProtoMessages> {
        let rank = |t: &ProtoTarget| match t {
            ProtoTarget::Conn(n) if *n == conn => Some(4),
            ProtoTarget::Port(p) if *p == ports.0 || *p == ports.1 => Some(3),
            ProtoTarget::Subprotocol(s) if subprotocol.is_some_and(|sp| sp.trim() == s) => Some(2),
            ProtoTarget::All => Some(1),
            _ => None,
        };
        let mut best: Option<(u8, &ProtoMessages)> = None;
        for (t, d) in &self.specs {
            if let Some(r) = rank(t)
                && best.is_none_or(|(b, _)| r >= b)
            {
                best = Some((r, d));
            }
        }
        best.map(|(_, d)| d)
    }

    /// Whether a spec names this connection specifically (not only `All`): such a
    /// connection is decoded as protobuf even when nothing else says so.
    pub fn targets(&self, conn: u64, ports: (u16, u16), subprotocol: Option<&str>) -> bool {
        self.specs.iter().any(|(t, _)| match t {
            ProtoTarget::Conn(n) => *n == conn,
            ProtoTarget::Port(p) => *p == ports.0 || *p == ports.1,
            ProtoTarget::Subprotocol(s) => subprotocol.is_some_and(|sp| sp.trim() == s),
            ProtoTarget::All => false,
        })
    }

    /// The pool.
    pub fn pool(&self) -> &DescriptorPool {
        &self.pool
    }
}

/// Shared schemas as the connection configuration holds them.
pub type SharedSchemas = Arc<ProtoSchemas>;

/// The tree of a decoded message: field names as keys (in field-number order), enums by
/// value name, bytes as `{"$bin": …}`, map keys as text, unknown fields under their
/// numbers.
pub fn message_json(m: &DynamicMessage) -> Value {
    let mut budget = bound::MAX_FIELD_NODES;
    bound::cap_owned(msg_rec(m, 0, &mut budget))
}

fn msg_rec(m: &DynamicMessage, depth: usize, budget: &mut usize) -> Value {
    let mut o = Map::new();
    if depth > bound::MAX_FIELD_DEPTH {
        return "…".into();
    }
    for (fd, v) in m.fields() {
        if *budget == 0 {
            break;
        }
        let kind = fd.kind();
        o.insert(fd.name().to_string(), refl_rec(v, &kind, depth + 1, budget));
    }
    for u in m.unknown_fields() {
        o.insert(u.number().to_string(), "(unknown field)".into());
    }
    Value::Object(o)
}

fn refl_rec(
    v: &prost_reflect::Value,
    kind: &prost_reflect::Kind,
    depth: usize,
    budget: &mut usize,
) -> Value {
    use prost_reflect::Value as R;
    if *budget == 0 || depth > bound::MAX_FIELD_DEPTH {
        return "…".into();
    }
    *budget -= 1;
    match v {
        R::Bool(b) => (*b).into(),
        R::I32(n) => (*n).into(),
        R::I64(n) => (*n).into(),
        R::U32(n) => (*n).into(),
        R::U64(n) => (*n).into(),
        R::F32(f) => float_json(f64::from(*f)),
        R::F64(f) => float_json(*f),
        R::String(s) => bound::cap_str(s, bound::MAX_FIELD_STRING).into(),
        R::Bytes(b) => bytes_json(b),
        R::EnumNumber(n) => match kind {
            prost_reflect::Kind::Enum(e) => match e.get_value(*n) {
                Some(ev) => ev.name().into(),
                None => (*n).into(),
            },
            _ => (*n).into(),
        },
        R::Message(m) => msg_rec(m, depth, budget),
        R::List(items) => Value::Array(
            items
                .iter()
                .take(bound::MAX_FIELD_ITEMS + 1)
                .map(|i| refl_rec(i, kind, depth + 1, budget))
                .collect(),
        ),
        R::Map(map) => {
            let value_kind = match kind {
                prost_reflect::Kind::Message(entry) => entry.map_entry_value_field().kind(),
                other => other.clone(),
            };
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            let mut o = Map::new();
            for (k, val) in entries.into_iter().take(bound::MAX_FIELD_ITEMS + 1) {
                let key = match k {
                    prost_reflect::MapKey::Bool(b) => b.to_string(),
                    prost_reflect::MapKey::I32(n) => n.to_string(),
                    prost_reflect::MapKey::I64(n) => n.to_string(),
                    prost_reflect::MapKey::U32(n) => n.to_string(),
                    prost_reflect::MapKey::U64(n) => n.to_string(),
                    prost_reflect::MapKey::String(s) => bound::cap_str(s, bound::MAX_ID),
                };
                o.insert(key, refl_rec(val, &value_kind, depth + 1, budget));
            }
            Value::Object(o)
        }
    }
}

/// Per-connection protobuf decoder.
#[derive(Debug)]
pub struct ProtobufDecoder {
    /// The message types, when a schema names them for this connection.
    messages: Option<ProtoMessages>,
}

impl ProtobufDecoder {
    /// A decoder reading messages as `messages` says per direction, or schema-less with
    /// `None`.
    pub fn new(messages: Option<ProtoMessages>) -> Self {
        ProtobufDecoder { messages }
    }

    fn with_schema(&self, d: &MessageDescriptor, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        match DynamicMessage::decode(d.clone(), msg.payload) {
            Ok(m) => {
                let data = message_json(&m);
                let mut line = Line::new(bound::MAX_SUMMARY);
                line.push("protobuf ");
                line.push(d.full_name());
                line.push(" ");
                bound::write_compact(&mut line, &data, &|_| None);
                let numbers: Vec<Value> = m.fields().map(|(f, _)| f.number().into()).collect();
                out.push(packet(
                    msg,
                    line.finish(),
                    vec![
                        ("message", d.full_name().into()),
                        ("field", Value::Array(numbers)),
                        ("length", msg.payload.len().into()),
                        ("data", data),
                    ],
                ));
            }
            Err(e) if msg.complete => out.push(AppOutput::Anomaly(AppAnomaly::new(
                AnomalyKind::ProtobufMalformed,
                msg,
                format!("not a {}: {e}", d.full_name()),
            ))),
            Err(_) => {}
        }
    }

    fn without_schema(msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        match parse_wire(msg.payload) {
            Ok(fields) => {
                let data = wire_json(&fields);
                let conf = confidence(&fields);
                let mut line = Line::new(bound::MAX_SUMMARY);
                line.push("protobuf ");
                bound::write_compact(&mut line, &data, &|_| None);
                let mut numbers: Vec<Value> = Vec::new();
                let mut wire = Map::new();
                for f in fields.iter().take(bound::MAX_FIELD_ITEMS) {
                    if !wire.contains_key(&f.number.to_string()) {
                        numbers.push(f.number.into());
                        wire.insert(f.number.to_string(), f.wire_type.name().into());
                    }
                }
                out.push(packet(
                    msg,
                    line.finish(),
                    vec![
                        ("field", Value::Array(numbers)),
                        ("wire_types", Value::Object(wire)),
                        ("confidence", conf.into()),
                        ("length", msg.payload.len().into()),
                        ("data", data),
                    ],
                ));
            }
            Err(e) if msg.complete => out.push(AppOutput::Anomaly(AppAnomaly::new(
                AnomalyKind::ProtobufMalformed,
                msg,
                e.to_string(),
            ))),
            Err(_) => {}
        }
    }
}

fn packet(msg: &AppInput<'_>, summary: String, fields: Vec<(&'static str, Value)>) -> AppOutput {
    AppOutput::Packet(AppPacket {
        protocol: Protocol::Protobuf,
        dir: msg.dir,
        first_packet: msg.packet,
        packet: msg.packet,
        messages: 1,
        summary,
        fields,
    })
}

impl Decoder for ProtobufDecoder {
    fn protocol(&self) -> Protocol {
        Protocol::Protobuf
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        match (&self.messages, msg.dir) {
            (Some(m), Direction::ClientToServer) => self.with_schema(&m.client, msg, out),
            (Some(m), Direction::ServerToClient) => self.with_schema(&m.server, msg, out),
            (None, _) => Self::without_schema(msg, out),
        }
    }

    fn end(&mut self, _: &mut Vec<AppOutput>) {}
}

/// Registry constructor: the message type the context names, if any.
pub fn new_decoder(ctx: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(ProtobufDecoder::new(ctx.proto_message.cloned()))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    // The protobuf encoding guide's examples: `08 96 01` is field 1 = 150; field 2 =
    // "testing"; an embedded message (field 3) holding `08 96 01`; a packed repeated field
    // 4 = [3, 270, 86942] as `22 06 03 8E 02 9E A7 05`.
    #[test]
    fn encoding_guide_examples() {
        assert_eq!(read_varint(&[0x96, 0x01]), Some((150, 2)));
        assert_eq!(read_varint(&[0x01]), Some((1, 1)));
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]),
            Some((u64::MAX, 10))
        );
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02]),
            None
        );
        let f = parse_wire(&[0x08, 0x96, 0x01]).unwrap();
        assert_eq!(wire_json(&f), json!({"1": 150}));
        let b = [0x12, 0x07, 0x74, 0x65, 0x73, 0x74, 0x69, 0x6e, 0x67];
        assert_eq!(wire_json(&parse_wire(&b).unwrap()), json!({"2": "testing"}));
        let n = parse_wire(&[0x1a, 0x03, 0x08, 0x96, 0x01]).unwrap();
        assert_eq!(wire_json(&n), json!({"3": {"1": 150}}));
        assert_eq!(n[0].wire_type, WireType::Len);
        assert_eq!(confidence(&n), 70);
        let packed = parse_wire(&[0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05]).unwrap();
        assert_eq!(
            wire_json(&packed),
            json!({"4": {"$bin": "038e029ea705", "length": 6}})
        );
        // Repeated (non-packed) fields become an array; fixed sizes are little-endian.
        let r = parse_wire(&[0x08, 0x01, 0x08, 0x02, 0x08, 0x03, 0x15, 1, 0, 0, 0]).unwrap();
        assert_eq!(wire_json(&r), json!({"1": [1, 2, 3], "2": 1}));
        // Groups: field 1 start, field 2 = 5, field 1 end.
        let g = parse_wire(&[0x0b, 0x10, 0x05, 0x0c]).unwrap();
        assert_eq!(wire_json(&g), json!({"1": {"2": 5}}));
        for bad in [
            &[0x08][..],
            &[0x12, 0x05, 0x61],
            &[0x00, 0x01],
            &[0x0e, 0x01],
            &[0x0b, 0x10, 0x05],
            &[0x0c],
            &[0x09, 1, 2, 3],
        ] {
            assert!(parse_wire(bad).is_err(), "{bad:?}");
        }
        assert_eq!(parse_wire(&[]).unwrap(), vec![]);
    }

    #[test]
    fn nested_too_deep_is_bytes_not_a_crash() {
        let mut m = vec![0x08, 0x01];
        for _ in 0..200 {
            let mut outer = vec![0x0a];
            outer.extend(prost_len(m.len()));
            outer.extend(&m);
            m = outer;
        }
        assert!(parse_wire(&m).is_ok());
        let g = vec![0x0b; 10_000];
        assert!(parse_wire(&g).is_err());
    }

    fn prost_len(n: usize) -> Vec<u8> {
        let mut v = Vec::new();
        let mut n = n as u64;
        loop {
            let b = (n & 0x7f) as u8;
            n >>= 7;
            if n == 0 {
                v.push(b);
                return v;
            }
            v.push(b | 0x80);
        }
    }

    #[test]
    fn with_a_schema() {
        let dir = std::env::temp_dir().join(format!("wsd-proto-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("test.proto");
        std::fs::write(
            &file,
            "syntax = \"proto3\";\npackage demo;\nenum Kind { KIND_UNSPECIFIED = 0; KIND_A = 1; }\n\
             message Inner { int32 a = 1; }\n\
             message Test1 { int32 a = 1; string b = 2; Inner c = 3; repeated int32 d = 4; \
             Kind k = 5; map<string, int32> m = 6; bytes raw = 7; sint64 s = 8; }\n",
        )
        .unwrap();
        let specs: Vec<ProtoMessageSpec> = vec![
            "demo.Test1".parse().unwrap(),
            "conn=2:.demo.Inner,demo.Test1".parse().unwrap(),
        ];
        let s = ProtoSchemas::new(std::slice::from_ref(&file), &specs).unwrap();
        assert_eq!(
            s.message_for(2, (1, 2), None).map(|d| d.client.full_name()),
            Some("demo.Inner")
        );
        assert_eq!(
            s.message_for(2, (1, 2), None).map(|d| d.server.full_name()),
            Some("demo.Test1")
        );
        assert_eq!(
            s.message_for(3, (1, 2), None).map(|d| d.server.full_name()),
            Some("demo.Test1")
        );
        assert!(s.targets(2, (1, 2), None) && !s.targets(3, (1, 2), None));
        let bad = ProtoSchemas::new(std::slice::from_ref(&file), &["demo.Nope".parse().unwrap()]);
        assert!(bad.unwrap_err().contains("demo.Test1"));
        assert!(ProtoSchemas::new(&[dir.join("missing.proto")], &[]).is_err());
        let mut d = ProtobufDecoder::new(s.message_for(3, (1, 2), None).cloned());
        // a=150, b="testing", c={a:150}, d=[3,270,86942] packed, k=KIND_A, m={"x":1},
        // raw=ff, s=-1 (zigzag 1).
        let mut msg = vec![0x08, 0x96, 0x01, 0x12, 0x07];
        msg.extend(b"testing");
        msg.extend([0x1a, 0x03, 0x08, 0x96, 0x01]);
        msg.extend([0x22, 0x06, 0x03, 0x8e, 0x02, 0x9e, 0xa7, 0x05]);
        msg.extend([0x28, 0x01]);
        msg.extend([0x32, 0x05, 0x0a, 0x01, b'x', 0x10, 0x01]);
        msg.extend([0x3a, 0x01, 0xff]);
        msg.extend([0x40, 0x01]);
        let mut out = Vec::new();
        d.message(&input(C2S, false, &msg, 1), &mut out);
        d.message(&input(C2S, false, &[0x08], 2), &mut out);
        let p = packets(&out);
        assert_eq!(
            p[0].field("data"),
            Some(
                &json!({"a": 150, "b": "testing", "c": {"a": 150}, "d": [3, 270, 86942],
                "k": "KIND_A", "m": {"x": 1}, "raw": {"$bin": "ff", "length": 1}, "s": -1})
            )
        );
        assert_eq!(p[0].field("message"), Some(&json!("demo.Test1")));
        assert!(
            p[0].summary
                .starts_with("protobuf demo.Test1 {\"a\":150,\"b\":\"testing\"")
        );
        assert_eq!(anomalies(&out), vec![AnomalyKind::ProtobufMalformed]);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn specs_parse() {
        let p = |s: &str| s.parse::<ProtoMessageSpec>();
        assert_eq!(p("a.B").unwrap().target, ProtoTarget::All);
        assert_eq!(p("conn=3:a.B").unwrap().target, ProtoTarget::Conn(3));
        assert_eq!(p("8080:a.B").unwrap().target, ProtoTarget::Port(8080));
        assert_eq!(
            p("chat.v1:a.B").unwrap().target,
            ProtoTarget::Subprotocol("chat.v1".into())
        );
        assert_eq!(p("a.B,c.D").unwrap().server_name.as_deref(), Some("c.D"));
        assert!(p("a.B,").is_err());
        assert!(p("conn=x:a.B").is_err());
        assert!(p("1:").is_err());
        assert!(p(":a").is_err());
    }

    #[test]
    fn mutations_never_panic() {
        let mut seed = vec![0x08, 0x96, 0x01, 0x12, 0x07];
        seed.extend(b"testing");
        seed.extend([
            0x1a, 0x03, 0x08, 0x96, 0x01, 0x0b, 0x10, 0x05, 0x0c, 0x15, 1, 0, 0, 0,
        ]);
        mutate_all(&|| Box::new(ProtobufDecoder::new(None)), &[&seed]);
    }
}
