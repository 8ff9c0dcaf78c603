//! Socket.IO (protocol v5 over Engine.IO v4, protocol v4 over Engine.IO v3): packet types,
//! namespaces, ack ids, event names and arguments, binary attachments joined with the
//! binary messages that follow, acks paired with their events.
//!
//! Packet encoding: `<type>[<attachments>-][<namespace>,][<ack id>][<JSON data>]`, e.g.
//! `2/admin,13["bar"]`; a binary packet's JSON holds `{"_placeholder":true,"num":N}` where
//! attachment N (the N+1-th binary message after it, same direction) goes.

use super::bound::{self, Line};
use super::engineio::{self, PacketType as EioType};
use super::pending::{MAX_PENDING, Pending, Request, dropped_anomaly};
use super::{
    AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Outcome, Protocol,
};
use crate::flow::analysis::Direction;
use serde_json::Value;

/// Most attachments one binary packet may announce before it is called malformed (the
/// count only sets how many messages to wait for; nothing is allocated by it).
const MAX_ATTACHMENTS: u32 = 10_000;
/// Bytes of each attachment shown (hex) in fields.
const ATTACHMENT_PREVIEW: usize = 32;
/// Longest ack id accepted (digits; u64 range).
const MAX_ACK_DIGITS: usize = 19;

/// Socket.IO packet type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// `0`: connect to a namespace (client) / accepted (server).
    Connect,
    /// `1`: leave a namespace.
    Disconnect,
    /// `2`: an event with arguments.
    Event,
    /// `3`: acknowledgement of an event.
    Ack,
    /// `4`: connection to a namespace refused (v4: ERROR).
    ConnectError,
    /// `5`: an event with binary attachments.
    BinaryEvent,
    /// `6`: an acknowledgement with binary attachments.
    BinaryAck,
}

impl PacketType {
    fn from_digit(b: u8) -> Option<PacketType> {
        Some(match b {
            b'0' => PacketType::Connect,
            b'1' => PacketType::Disconnect,
            b'2' => PacketType::Event,
            b'3' => PacketType::Ack,
            b'4' => PacketType::ConnectError,
            b'5' => PacketType::BinaryEvent,
            b'6' => PacketType::BinaryAck,
            _ => return None,
        })
    }

    /// Upper-case name as in the protocol document (v4 calls type 4 `ERROR`).
    pub fn name(self, v5: bool) -> &'static str {
        match self {
            PacketType::Connect => "CONNECT",
            PacketType::Disconnect => "DISCONNECT",
            PacketType::Event => "EVENT",
            PacketType::Ack => "ACK",
            PacketType::ConnectError if v5 => "CONNECT_ERROR",
            PacketType::ConnectError => "ERROR",
            PacketType::BinaryEvent => "BINARY_EVENT",
            PacketType::BinaryAck => "BINARY_ACK",
        }
    }

    fn is_binary(self) -> bool {
        matches!(self, PacketType::BinaryEvent | PacketType::BinaryAck)
    }
}

/// One Socket.IO packet.
#[derive(Debug, Clone, PartialEq)]
pub struct Packet {
    /// Its type.
    pub kind: PacketType,
    /// Binary attachments announced (binary types only).
    pub attachments: u32,
    /// Namespace (`/` when absent).
    pub namespace: String,
    /// Ack id.
    pub ack_id: Option<u64>,
    /// The JSON data, when present.
    pub data: Option<Value>,
}

/// Why a Socket.IO packet could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketIoError {
    /// Empty packet.
    Empty,
    /// Not UTF-8 text.
    NotUtf8,
    /// The first character is not a packet type.
    UnknownType(u8),
    /// The attachment count is missing, not a number or too large (offset).
    BadAttachments(usize),
    /// The ack id does not fit (offset).
    BadAckId(usize),
    /// The data is not JSON (offset, serde_json's message).
    BadJson(usize, String),
    /// The data has the wrong shape for the type (what was expected).
    BadData(&'static str),
}

impl std::fmt::Display for SocketIoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SocketIoError::Empty => write!(f, "socket.io: empty packet"),
            SocketIoError::NotUtf8 => write!(f, "socket.io: packet is not UTF-8"),
            SocketIoError::UnknownType(b) => write!(f, "socket.io: unknown packet type 0x{b:02x}"),
            SocketIoError::BadAttachments(o) => {
                write!(f, "socket.io: bad attachment count at offset {o}")
            }
            SocketIoError::BadAckId(o) => write!(f, "socket.io: ack id too large at offset {o}"),
            SocketIoError::BadJson(o, e) => write!(f, "socket.io: bad JSON at offset {o}: {e}"),
            SocketIoError::BadData(what) => write!(f, "socket.io: data must be {what}"),
        }
    }
}

impl std::error::Error for SocketIoError {}

/// Reads a packet; `v5` selects the payload rules of protocol v5 (CONNECT data is an
/// object, CONNECT_ERROR an object) or v4.
pub fn parse(bytes: &[u8], v5: bool) -> Result<Packet, SocketIoError> {
    let text = std::str::from_utf8(bytes).map_err(|_| SocketIoError::NotUtf8)?;
    let b = text.as_bytes();
    let (&first, _) = b.split_first().ok_or(SocketIoError::Empty)?;
    let kind = PacketType::from_digit(first).ok_or(SocketIoError::UnknownType(first))?;
    let mut pos = 1;
    let mut attachments = 0;
    if kind.is_binary() {
        let dash = b[pos..]
            .iter()
            .position(|&c| c == b'-')
            .ok_or(SocketIoError::BadAttachments(pos))?;
        let digits = &text[pos..pos + dash];
        attachments = digits
            .parse::<u32>()
            .ok()
            .filter(|n| digits.bytes().all(|c| c.is_ascii_digit()) && *n <= MAX_ATTACHMENTS)
            .ok_or(SocketIoError::BadAttachments(pos))?;
        pos += dash + 1;
    }
    let mut namespace = "/".to_string();
    if b.get(pos) == Some(&b'/') {
        let end = b[pos..]
            .iter()
            .position(|&c| c == b',')
            .map_or(b.len(), |e| pos + e);
        namespace = bound::cap_str(&text[pos..end], bound::MAX_SUMMARY);
        pos = (end + 1).min(b.len());
    }
    let digits = b[pos..].iter().take_while(|c| c.is_ascii_digit()).count();
    let mut ack_id = None;
    if digits > 0 {
        if digits > MAX_ACK_DIGITS {
            return Err(SocketIoError::BadAckId(pos));
        }
        ack_id = Some(
            text[pos..pos + digits]
                .parse::<u64>()
                .map_err(|_| SocketIoError::BadAckId(pos))?,
        );
        pos += digits;
    }
    let data = if pos < b.len() {
        Some(bound::parse_json(&b[pos..]).map_err(|e| SocketIoError::BadJson(pos, e.to_string()))?)
    } else {
        None
    };
    check_data(kind, data.as_ref(), v5)?;
    Ok(Packet {
        kind,
        attachments,
        namespace,
        ack_id,
        data,
    })
}

/// The payload rules of the protocol document ("is payload valid").
fn check_data(kind: PacketType, data: Option<&Value>, v5: bool) -> Result<(), SocketIoError> {
    let ok = match kind {
        PacketType::Connect => !v5 || matches!(data, None | Some(Value::Object(_))),
        PacketType::Disconnect => data.is_none(),
        PacketType::Event | PacketType::BinaryEvent => matches!(data,
            Some(Value::Array(a)) if matches!(a.first(), Some(Value::String(_)) | Some(Value::Number(_)))),
        PacketType::Ack | PacketType::BinaryAck => matches!(data, Some(Value::Array(_))),
        PacketType::ConnectError => {
            !v5 || matches!(data, Some(Value::Object(_)) | Some(Value::String(_)))
        }
    };
    if ok {
        return Ok(());
    }
    Err(SocketIoError::BadData(match kind {
        PacketType::Connect => "absent or an object",
        PacketType::Disconnect => "absent",
        PacketType::Event | PacketType::BinaryEvent => "an array starting with the event name",
        PacketType::Ack | PacketType::BinaryAck => "an array",
        PacketType::ConnectError => "an object or a string",
    }))
}

/// A received binary attachment.
#[derive(Debug, Clone, PartialEq)]
struct Attachment {
    len: usize,
    preview: String,
}

/// A binary packet waiting for its attachments.
#[derive(Debug)]
struct Assembly {
    packet: Packet,
    first_packet: u64,
    attachments: Vec<Attachment>,
}

/// Pending key: who asked, namespace, ack id (None: a CONNECT to the namespace).
type AckKey = (Direction, String, Option<u64>);

/// Per-connection Socket.IO / Engine.IO decoder.
#[derive(Debug)]
pub struct SocketIoDecoder {
    eio: u8,
    socketio: bool,
    polling: bool,
    assembling: [Option<Assembly>; 2],
    pending: Pending<AckKey, Request>,
    last: Option<(Direction, u64)>,
    /// Engine.IO ping waiting for its pong, by [sender direction][probe].
    pings: [[Option<Request>; 2]; 2],
}

impl SocketIoDecoder {
    /// A decoder for a WebSocket connection with this upgrade request; `socketio` false
    /// decodes Engine.IO only (message data shown as text).
    pub fn new(request_uri: &str, socketio: bool) -> Self {
        let eio = engineio::request(request_uri).map_or(4, |r| r.version);
        SocketIoDecoder {
            eio,
            socketio,
            polling: false,
            assembling: [None, None],
            pending: Pending::new(MAX_PENDING),
            last: None,
            pings: Default::default(),
        }
    }

    /// A decoder for the HTTP long-polling bodies of one Engine.IO session (request bodies
    /// of POSTs, response bodies of GETs; POST answers `ok` are skipped): each body is an
    /// [`AppInput`] and may hold several packets. `None` when `request_uri` is not an
    /// Engine.IO polling request.
    pub fn polling(request_uri: &str) -> Option<Self> {
        let r = engineio::request(request_uri).filter(|r| r.is_polling())?;
        let mut d = SocketIoDecoder::new(request_uri, r.socketio_path);
        d.polling = true;
        Some(d)
    }

    fn v5(&self) -> bool {
        self.eio >= 4
    }

    fn eio_packet(&mut self, msg: &AppInput<'_>, p: engineio::Packet, out: &mut Vec<AppOutput>) {
        if p.kind == EioType::Message && self.socketio {
            if p.binary {
                self.attachment(msg, &p.data, out);
            } else {
                self.socketio_text(msg, &p.data, out);
            }
            return;
        }
        let mut line = Line::new(bound::MAX_SUMMARY);
        line.push("engine.io ");
        line.push(p.kind.name());
        let mut fields = vec![("type", Value::from(p.kind.name()))];
        if p.binary {
            line.push(&format!(" <binary {} B>", p.data.len()));
            fields.push(("length", Value::from(p.data.len())));
            fields.push(("data_hex", Value::from(bound::hex_prefix(&p.data, 64))));
        } else if !p.data.is_empty() {
            let text = String::from_utf8_lossy(&p.data);
            match (p.kind, bound::parse_json(&p.data)) {
                (EioType::Open, Ok(Value::Object(o))) => {
                    for k in [
                        "sid",
                        "upgrades",
                        "pingInterval",
                        "pingTimeout",
                        "maxPayload",
                    ] {
                        if let Some(v) = o.get(k) {
                            line.push(&format!(" {k}={}", bound::compact(v, 80)));
                        }
                    }
                    fields.push(("data", bound::cap_value(&Value::Object(o))));
                }
                (EioType::Open, _) if msg.complete => {
                    out.push(AppOutput::Anomaly(AppAnomaly::new(
                        AnomalyKind::EngineioMalformedPacket,
                        msg,
                        "open packet without a JSON object",
                    )));
                    fields.push((
                        "data",
                        Value::from(bound::cap_str(&text, bound::MAX_FIELD_STRING)),
                    ));
                }
                _ => {
                    line.push(" ");
                    if p.kind == EioType::Message {
                        bound::push_json_string(&mut line, &text);
                    } else {
                        line.push(&text);
                    }
                    fields.push((
                        "data",
                        Value::from(bound::cap_str(&text, bound::MAX_FIELD_STRING)),
                    ));
                }
            }
        }
        out.push(AppOutput::Packet(AppPacket {
            protocol: Protocol::EngineIo,
            dir: msg.dir,
            first_packet: msg.packet,
            packet: msg.packet,
            messages: 1,
            summary: line.finish(),
            fields,
        }));
        // Heartbeats and the upgrade probe: a ping answered by the other side's pong (an
        // unanswered heartbeat is simply replaced by the next one).
        let probe = usize::from(p.data == b"probe");
        let name = if probe == 1 { "probe" } else { "ping" };
        match p.kind {
            EioType::Ping => {
                self.pings[msg.dir.index()][probe] = Some(Request::new(msg, Some(name.into())));
            }
            EioType::Pong => {
                if let Some(req) = self.pings[msg.dir.reverse().index()][probe].take() {
                    out.push(AppOutput::Exchange(req.finish(
                        Protocol::EngineIo,
                        name.into(),
                        msg,
                        Outcome::Result,
                        true,
                    )));
                }
            }
            _ => {}
        }
    }

    fn socketio_text(&mut self, msg: &AppInput<'_>, data: &[u8], out: &mut Vec<AppOutput>) {
        self.flush_assembly(msg.dir, msg, out);
        match parse(data, self.v5()) {
            Ok(p) if p.kind.is_binary() && p.attachments > 0 => {
                self.assembling[msg.dir.index()] = Some(Assembly {
                    packet: p,
                    first_packet: msg.packet,
                    attachments: Vec::new(),
                });
            }
            Ok(p) => self.emit(msg, p, msg.packet, &[], out),
            Err(e) => {
                if msg.complete {
                    out.push(AppOutput::Anomaly(AppAnomaly::new(
                        AnomalyKind::SocketioMalformedPacket,
                        msg,
                        e.to_string(),
                    )));
                }
            }
        }
    }

    fn attachment(&mut self, msg: &AppInput<'_>, data: &[u8], out: &mut Vec<AppOutput>) {
        let slot = &mut self.assembling[msg.dir.index()];
        let Some(a) = slot.as_mut() else {
            out.push(AppOutput::Anomaly(AppAnomaly::new(
                AnomalyKind::SocketioUnexpectedBinary,
                msg,
                format!("{} B binary message", data.len()),
            )));
            return;
        };
        a.attachments.push(Attachment {
            len: data.len(),
            preview: bound::hex_prefix(data, ATTACHMENT_PREVIEW),
        });
        if a.attachments.len() as u64 >= u64::from(a.packet.attachments)
            && let Some(a) = slot.take()
        {
            self.emit(msg, a.packet, a.first_packet, &a.attachments, out);
        }
    }

    /// A binary packet of `dir` still waiting for attachments is emitted as it is.
    fn flush_assembly(&mut self, dir: Direction, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        if let Some(a) = self.assembling[dir.index()].take() {
            out.push(AppOutput::Anomaly(AppAnomaly {
                kind: AnomalyKind::SocketioMissingAttachments,
                dir,
                packet: msg.packet,
                detail: format!(
                    "{} announced {} attachments, {} arrived",
                    a.packet.kind.name(self.v5()),
                    a.packet.attachments,
                    a.attachments.len()
                ),
            }));
            let last = AppInput { dir, ..*msg };
            self.emit(&last, a.packet, a.first_packet, &a.attachments, out);
        }
    }

    fn emit(
        &mut self,
        msg: &AppInput<'_>,
        mut p: Packet,
        first_packet: u64,
        atts: &[Attachment],
        out: &mut Vec<AppOutput>,
    ) {
        // The packet goes before the exchanges and anomalies it causes.
        let start = out.len();
        let v5 = self.v5();
        let name = p.kind.name(v5);
        let placeholder = |v: &Value| -> Option<String> {
            let o = v.as_object()?;
            if o.get("_placeholder") != Some(&Value::Bool(true)) {
                return None;
            }
            let num = o.get("num")?.as_u64()?;
            Some(match usize::try_from(num).ok().and_then(|n| atts.get(n)) {
                Some(a) => format!("<binary {} B>", a.len),
                None => format!("<binary #{num} missing>"),
            })
        };
        let mut line = Line::new(bound::MAX_SUMMARY);
        line.push("socket.io ");
        line.push(name);
        line.push(" ");
        line.push(&p.namespace);
        let mut fields = vec![
            ("type", Value::from(name)),
            ("namespace", Value::from(p.namespace.clone())),
        ];
        let mut event = None;
        // The decoded data moves into the fields (capped in place), no copy.
        match (p.kind, p.data.take()) {
            (PacketType::Event | PacketType::BinaryEvent, Some(Value::Array(mut a))) => {
                if !a.is_empty() {
                    let first = a.remove(0);
                    line.push(" ");
                    bound::write_compact(&mut line, &first, &|_| None);
                    let ev = match first {
                        Value::String(s) => bound::cap_str(&s, bound::MAX_SUMMARY),
                        other => bound::compact(&other, bound::MAX_SUMMARY),
                    };
                    fields.push(("event", Value::from(ev.clone())));
                    event = Some(ev);
                }
                let args = Value::Array(a);
                line.push(" ");
                bound::write_compact(&mut line, &args, &placeholder);
                fields.push(("args", bound::cap_owned(args)));
            }
            (PacketType::Ack | PacketType::BinaryAck, Some(args)) => {
                line.push(" ");
                bound::write_compact(&mut line, &args, &placeholder);
                fields.push(("args", bound::cap_owned(args)));
            }
            (_, Some(d)) => {
                line.push(" ");
                bound::write_compact(&mut line, &d, &placeholder);
                fields.push(("data", bound::cap_owned(d)));
            }
            (_, None) => {}
        }
        if let Some(id) = p.ack_id {
            line.push(&format!(" ack={id}"));
            fields.push(("ack_id", Value::from(id)));
        }
        if p.kind.is_binary() {
            fields.push((
                "attachments",
                Value::Array(
                    atts.iter()
                        .enumerate()
                        .map(|(i, a)| serde_json::json!({"num": i, "length": a.len, "data_hex": a.preview}))
                        .collect(),
                ),
            ));
        }
        self.pair(msg, &p, event, out);
        let start = start.min(out.len());
        out.insert(
            start,
            AppOutput::Packet(AppPacket {
                protocol: Protocol::SocketIo,
                dir: msg.dir,
                first_packet,
                packet: msg.packet,
                messages: 1 + atts.len() as u32,
                summary: line.finish(),
                fields,
            }),
        );
    }

    fn pair(
        &mut self,
        msg: &AppInput<'_>,
        p: &Packet,
        event: Option<String>,
        out: &mut Vec<AppOutput>,
    ) {
        let ns = p.namespace.clone();
        match (p.kind, p.ack_id) {
            (PacketType::Event | PacketType::BinaryEvent, Some(id)) => {
                let replaced = self
                    .pending
                    .insert((msg.dir, ns, Some(id)), Request::new(msg, event));
                if replaced.is_some() {
                    out.push(AppOutput::Anomaly(AppAnomaly::new(
                        AnomalyKind::SocketioDuplicateAckId,
                        msg,
                        format!("ack id {id} in {} already pending", p.namespace),
                    )));
                }
            }
            (PacketType::Ack | PacketType::BinaryAck, id) => {
                let found =
                    id.and_then(|id| self.pending.remove(&(msg.dir.reverse(), ns, Some(id))));
                match (found, id) {
                    (Some(req), Some(id)) => out.push(AppOutput::Exchange(req.finish(
                        Protocol::SocketIo,
                        id.to_string(),
                        msg,
                        Outcome::Result,
                        true,
                    ))),
                    (_, id) => out.push(AppOutput::Anomaly(AppAnomaly::new(
                        AnomalyKind::SocketioAckWithoutEvent,
                        msg,
                        match id {
                            Some(id) => {
                                format!("ACK {id} in {} matches no pending event", p.namespace)
                            }
                            None => "ACK without an ack id".to_string(),
                        },
                    ))),
                }
            }
            (PacketType::Connect, _) if msg.dir == Direction::ClientToServer => {
                self.pending.insert(
                    (msg.dir, ns, None),
                    Request::new(msg, Some("CONNECT".into())),
                );
            }
            (PacketType::Connect | PacketType::ConnectError, _) => {
                if let Some(req) = self.pending.remove(&(Direction::ClientToServer, ns, None)) {
                    let outcome = if p.kind == PacketType::Connect {
                        Outcome::Result
                    } else {
                        Outcome::Error
                    };
                    out.push(AppOutput::Exchange(req.finish(
                        Protocol::SocketIo,
                        p.namespace.clone(),
                        msg,
                        outcome,
                        true,
                    )));
                }
            }
            _ => {}
        }
    }
}

impl Decoder for SocketIoDecoder {
    fn protocol(&self) -> Protocol {
        if self.socketio {
            Protocol::SocketIo
        } else {
            Protocol::EngineIo
        }
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        self.last = Some((msg.dir, msg.packet));
        if self.polling {
            if msg.payload.eq_ignore_ascii_case(b"ok") {
                return;
            }
            for p in engineio::parse_payload(self.eio, msg.payload) {
                match p {
                    Ok(p) => self.eio_packet(msg, p, out),
                    Err(e) if msg.complete => out.push(AppOutput::Anomaly(AppAnomaly::new(
                        AnomalyKind::EngineioMalformedPayload,
                        msg,
                        e.to_string(),
                    ))),
                    Err(_) => {}
                }
            }
            return;
        }
        let parsed = if msg.text {
            engineio::parse_text(msg.payload, 0)
        } else {
            engineio::parse_binary(self.eio, msg.payload)
        };
        match parsed {
            Ok(p) => self.eio_packet(msg, p, out),
            Err(e) if msg.complete => out.push(AppOutput::Anomaly(AppAnomaly::new(
                AnomalyKind::EngineioMalformedPacket,
                msg,
                e.to_string(),
            ))),
            Err(_) => {}
        }
    }

    fn end(&mut self, out: &mut Vec<AppOutput>) {
        let (dir, packet) = self.last.unwrap_or((Direction::ClientToServer, 0));
        let at = AppInput {
            dir,
            text: true,
            payload: &[],
            complete: true,
            packet,
            time_ns: 0,
        };
        for d in [Direction::ClientToServer, Direction::ServerToClient] {
            self.flush_assembly(d, &at, out);
        }
        for ((_, ns, id), req) in self.pending.drain() {
            let id = id.map_or(ns, |i| i.to_string());
            out.push(AppOutput::Unanswered(
                req.unanswered(Protocol::SocketIo, id),
            ));
        }
        if self.pending.dropped > 0 {
            out.push(AppOutput::Anomaly(dropped_anomaly(
                self.pending.dropped,
                dir,
                packet,
            )));
        }
    }
}

/// Registry constructor: Socket.IO over Engine.IO.
pub fn new_socketio(ctx: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(SocketIoDecoder::new(ctx.request_uri, true))
}

/// Registry constructor: Engine.IO alone.
pub fn new_engineio(ctx: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(SocketIoDecoder::new(ctx.request_uri, false))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    // Examples from the Socket.IO protocol document (v5).
    #[test]
    fn spec_packets() {
        let p = parse(b"0", true).unwrap();
        assert_eq!(
            (p.kind, p.namespace.as_str(), p.data),
            (PacketType::Connect, "/", None)
        );
        let p = parse(br#"0/admin,{"token":"123"}"#, true).unwrap();
        assert_eq!(p.namespace, "/admin");
        assert_eq!(p.data, Some(json!({"token": "123"})));
        let p = parse(br#"4{"message":"Not authorized"}"#, true).unwrap();
        assert_eq!(p.kind, PacketType::ConnectError);
        let p = parse(br#"212["foo"]"#, true).unwrap();
        assert_eq!((p.kind, p.ack_id), (PacketType::Event, Some(12)));
        let p = parse(br#"3/admin,13["bar"]"#, true).unwrap();
        assert_eq!(
            (p.kind, p.namespace.as_str(), p.ack_id),
            (PacketType::Ack, "/admin", Some(13))
        );
        let p = parse(br#"51-["baz",{"_placeholder":true,"num":0}]"#, true).unwrap();
        assert_eq!((p.kind, p.attachments), (PacketType::BinaryEvent, 1));
        let p = parse(br#"61-/admin,15[{"_placeholder":true,"num":0}]"#, true).unwrap();
        assert_eq!(
            (p.kind, p.attachments, p.ack_id),
            (PacketType::BinaryAck, 1, Some(15))
        );
        assert_eq!(
            parse(b"1/admin,", true).unwrap().kind,
            PacketType::Disconnect
        );
    }

    #[test]
    fn malformed_packets() {
        assert_eq!(parse(b"", true), Err(SocketIoError::Empty));
        assert_eq!(parse(b"9", true), Err(SocketIoError::UnknownType(b'9')));
        assert!(matches!(
            parse(b"5[\"x\"]", true),
            Err(SocketIoError::BadAttachments(1))
        ));
        assert!(matches!(
            parse(b"2[\"x\"", true),
            Err(SocketIoError::BadJson(1, _))
        ));
        assert!(matches!(
            parse(b"2{}", true),
            Err(SocketIoError::BadData(_))
        ));
        assert!(matches!(
            parse(b"299999999999999999999[\"x\"]", true),
            Err(SocketIoError::BadAckId(1))
        ));
        assert!(matches!(
            parse(b"1{}", true),
            Err(SocketIoError::BadData(_))
        ));
    }

    #[test]
    fn event_summary_ack_pairing_and_binary() {
        let mut d = SocketIoDecoder::new("/socket.io/?EIO=4&transport=websocket", true);
        let mut out = Vec::new();
        let msgs: Vec<(Direction, bool, &[u8])> = vec![
            (C2S, true, b"2probe"),
            (S2C, true, b"3probe"),
            (C2S, true, b"5"),
            (C2S, true, br#"40/chat,"#),
            (S2C, true, br#"40/chat,{"sid":"x"}"#),
            (C2S, true, br#"42/chat,3["chat message","hi"]"#),
            (S2C, true, br#"43/chat,3[]"#),
            (
                C2S,
                true,
                br#"451-/chat,4["up",{"_placeholder":true,"num":0}]"#,
            ),
            (C2S, false, &[1, 2, 3]),
            (S2C, true, br#"43/chat,9[]"#),
            (S2C, false, &[7]),
        ];
        for (i, (dir, text, b)) in msgs.iter().enumerate() {
            d.message(&input(*dir, *text, b, i as u64 + 1), &mut out);
        }
        d.end(&mut out);
        let p = packets(&out);
        let sums: Vec<&str> = p.iter().map(|p| p.summary.as_str()).collect();
        assert_eq!(sums[0], "engine.io ping probe");
        assert_eq!(sums[1], "engine.io pong probe");
        assert_eq!(sums[2], "engine.io upgrade");
        assert_eq!(
            sums[5],
            r#"socket.io EVENT /chat "chat message" ["hi"] ack=3"#
        );
        assert_eq!(
            sums[7],
            r#"socket.io BINARY_EVENT /chat "up" [<binary 3 B>] ack=4"#
        );
        assert_eq!((p[7].first_packet, p[7].packet, p[7].messages), (8, 9, 2));
        assert_eq!(p[5].field("event"), Some(&json!("chat message")));
        assert_eq!(p[5].field("args"), Some(&json!(["hi"])));
        let x = exchanges(&out);
        assert_eq!(x.len(), 3, "{x:?}");
        // 2probe answered by 3probe
        assert_eq!(
            (
                x[0].protocol,
                x[0].id.as_str(),
                x[0].request_packet,
                x[0].answer_packet
            ),
            (Protocol::EngineIo, "probe", 1, 2)
        );
        let x = &x[1..];
        assert_eq!(
            (x[0].id.as_str(), x[0].request_packet, x[0].answer_packet),
            ("/chat", 4, 5)
        );
        assert_eq!(x[0].latency_ns, 1_000_000);
        assert_eq!(
            (
                x[1].name.as_deref(),
                x[1].request_packet,
                x[1].answer_packet
            ),
            (Some("chat message"), 6, 7)
        );
        assert_eq!(
            anomalies(&out),
            vec![
                AnomalyKind::SocketioAckWithoutEvent,
                AnomalyKind::SocketioUnexpectedBinary
            ]
        );
        // A binary event is a request once its last attachment arrived (packet 9).
        let u = unanswered(&out);
        assert_eq!(
            (u.len(), u[0].id.as_str(), u[0].request_packet),
            (1, "4", 9)
        );
    }

    #[test]
    fn missing_attachment_is_reported() {
        let mut d = SocketIoDecoder::new("/socket.io/?EIO=4&transport=websocket", true);
        let out = run(
            &mut d,
            &[
                (C2S, r#"452-["a",{"_placeholder":true,"num":0}]"#),
                (C2S, r#"42["b"]"#),
            ],
        );
        assert_eq!(
            anomalies(&out),
            vec![AnomalyKind::SocketioMissingAttachments]
        );
        assert_eq!(packets(&out).len(), 2);
        assert!(packets(&out)[0].summary.contains("<binary #0 missing>"));
    }

    #[test]
    fn polling_bodies() {
        let mut d = SocketIoDecoder::polling("/socket.io/?EIO=4&transport=polling&t=x").unwrap();
        let out = run(
            &mut d,
            &[
                (
                    S2C,
                    r#"0{"sid":"lv_VI97HAXpY6yYWAAAC","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":5000,"maxPayload":1000000}"#,
                ),
                (C2S, "40\u{1e}40/admin,"),
                (C2S, "ok"),
            ],
        );
        let p = packets(&out);
        assert_eq!(p.len(), 3);
        assert!(
            p[0].summary
                .starts_with(r#"engine.io open sid="lv_VI97HAXpY6yYWAAAC" upgrades=["websocket"]"#)
        );
        assert_eq!(p[2].summary, "socket.io CONNECT /admin");
        assert!(SocketIoDecoder::polling("/socket.io/?EIO=4&transport=websocket").is_none());
        // v3 body: length-prefixed
        let mut d = SocketIoDecoder::polling("/socket.io/?EIO=3&transport=polling").unwrap();
        let out = run(&mut d, &[(S2C, "2:40")]);
        assert_eq!(packets(&out)[0].summary, "socket.io CONNECT /");
    }

    #[test]
    fn v3_binary_attachment_has_type_byte() {
        let mut d = SocketIoDecoder::new("/socket.io/?EIO=3&transport=websocket", true);
        let mut out = Vec::new();
        d.message(
            &input(S2C, true, br#"451-["f",{"_placeholder":true,"num":0}]"#, 1),
            &mut out,
        );
        d.message(&input(S2C, false, &[4, 0xaa, 0xbb], 2), &mut out);
        assert_eq!(
            packets(&out)[0].summary,
            r#"socket.io BINARY_EVENT / "f" [<binary 2 B>]"#
        );
    }

    #[test]
    fn mutated_inputs_do_not_panic() {
        let make =
            || -> Box<dyn Decoder> { Box::new(SocketIoDecoder::new("/socket.io/?EIO=4", true)) };
        mutate_all(
            &make,
            &[
                br#"451-/chat,2["upload",{"_placeholder":true,"num":0},"a.bin"]"#,
                br#"43/chat,13[["ok","hi"]]"#,
                br#"0{"sid":"Q4","upgrades":["websocket"],"pingTimeout":20000}"#,
            ],
        );
        let make = || -> Box<dyn Decoder> {
            Box::new(SocketIoDecoder::polling("/socket.io/?EIO=3&transport=polling").unwrap())
        };
        mutate_all(
            &make,
            &[b"6:4hello2:40", &[0, 2, 0xff, b'4', b'0', 1, 1, 0xff, 4]],
        );
    }
}
