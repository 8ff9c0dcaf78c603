//! ASP.NET Core SignalR hub protocols (HubProtocol.md): the JSON protocol (records ended by
//! the record separator 0x1E) and the MessagePack protocol (each message a VarInt length
//! and a MessagePack array), after the JSON handshake that names one of them.
//!
//! Invocations with an id are paired with the completion from the other side (latency);
//! stream invocations count their stream items until the completion; a cancel ends the
//! exchange from the caller's side. Streams from the caller to the callee (the invocation's
//! `streamIds`) are followed so their items and completion are not reported as unknown.
//! The `/negotiate` POST before the WebSocket is plain HTTP and not seen here.

use super::bound::{self, Line};
use super::pending::{MAX_PENDING, Pending, Request, dropped_anomaly};
use super::{
    AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Outcome, Protocol,
    msgpack,
};
use crate::flow::analysis::Direction;
use serde_json::{Map, Value};
use std::collections::HashSet;

/// The record separator that ends every JSON record (and the handshake).
pub const RECORD_SEPARATOR: u8 = 0x1e;
/// Ids remembered as cancelled or as caller streams, per connection.
const MAX_REMEMBERED: usize = 1024;

/// The encoding the handshake chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// `json`.
    Json,
    /// `messagepack`.
    MessagePack,
}

impl Encoding {
    fn name(self) -> &'static str {
        match self {
            Encoding::Json => "json",
            Encoding::MessagePack => "messagepack",
        }
    }
}

/// A hub message type name from its number.
pub fn type_name(t: u64) -> Option<&'static str> {
    Some(match t {
        1 => "invocation",
        2 => "stream_item",
        3 => "completion",
        4 => "stream_invocation",
        5 => "cancel_invocation",
        6 => "ping",
        7 => "close",
        8 => "ack",
        9 => "sequence",
        _ => return None,
    })
}

/// One hub message, whatever its encoding.
#[derive(Debug, Default)]
struct Hub {
    ty: u64,
    headers: Option<Value>,
    invocation_id: Option<String>,
    target: Option<String>,
    arguments: Option<Value>,
    stream_ids: Vec<String>,
    item: Option<Value>,
    result: Option<Value>,
    error: Option<String>,
    allow_reconnect: Option<bool>,
    sequence_id: Option<u64>,
    /// Both result and error in a JSON completion.
    result_and_error: bool,
}

/// Per-connection SignalR decoder.
#[derive(Debug)]
pub struct SignalRDecoder {
    /// `None` until a handshake names the encoding; messages before that are read by
    /// their frame type (text: JSON, binary: MessagePack).
    encoding: Option<Encoding>,
    /// Handshake request / response still expected from the client / server.
    await_request: bool,
    await_response: bool,
    /// Key: who invoked, invocation id.
    pending: Pending<(Direction, String), (Request, bool)>,
    /// Cancelled invocations (their late items and completion may still come).
    cancelled: HashSet<(Direction, String)>,
    /// Streams from a caller: (who streams, stream id).
    uploads: HashSet<(Direction, String)>,
    last: Option<(Direction, u64)>,
}

impl Default for SignalRDecoder {
    fn default() -> Self {
        SignalRDecoder {
            encoding: None,
            await_request: true,
            await_response: true,
            pending: Pending::new(MAX_PENDING),
            cancelled: HashSet::new(),
            uploads: HashSet::new(),
            last: None,
        }
    }
}

fn anomaly(msg: &AppInput<'_>, kind: AnomalyKind, detail: String, out: &mut Vec<AppOutput>) {
    out.push(AppOutput::Anomaly(AppAnomaly::new(kind, msg, detail)));
}

fn packet(msg: &AppInput<'_>, summary: String, fields: Vec<(&'static str, Value)>) -> AppOutput {
    AppOutput::Packet(AppPacket {
        protocol: Protocol::SignalR,
        dir: msg.dir,
        first_packet: msg.packet,
        packet: msg.packet,
        messages: 1,
        summary,
        fields,
    })
}

/// Splits JSON text into records at 0x1E: the records, and the bytes after the last
/// separator (a record without its separator when not empty).
pub fn split_records(p: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let mut recs: Vec<&[u8]> = p.split(|b| *b == RECORD_SEPARATOR).collect();
    let rest = recs.pop().unwrap_or_default();
    (recs, rest)
}

/// Reads the VarInt length prefix of the binary message format: the length and the bytes
/// it took, or `None` when it is cut short, longer than 5 bytes or above 2^31 - 1.
pub fn read_varint(p: &[u8]) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for (i, b) in p.iter().take(5).enumerate() {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return (v <= 0x7fff_ffff).then_some((v, i + 1));
        }
    }
    None
}

impl SignalRDecoder {
    /// The handshake record at the start of `rec` (request from the client, response
    /// from the server); false when it is not one.
    fn handshake(&mut self, msg: &AppInput<'_>, rec: &[u8], out: &mut Vec<AppOutput>) -> bool {
        let Ok(Value::Object(o)) = bound::parse_json(rec) else {
            return false;
        };
        let mut line = Line::new(bound::MAX_SUMMARY);
        let mut fields: Vec<(&'static str, Value)> = Vec::new();
        if msg.dir == Direction::ClientToServer {
            let Some(proto) = o.get("protocol").and_then(Value::as_str) else {
                return false;
            };
            self.await_request = false;
            self.encoding = match proto {
                "json" => Some(Encoding::Json),
                "messagepack" => Some(Encoding::MessagePack),
                _ => None,
            };
            line.push("signalr handshake protocol=");
            line.push(proto);
            fields.push(("type", "handshake".into()));
            fields.push(("hub_protocol", bound::cap_str(proto, bound::MAX_ID).into()));
            if let Some(v) = o.get("version") {
                line.push(" version=");
                line.push(&bound::compact(v, 24));
                fields.push(("version", bound::cap_value(v)));
            }
        } else {
            if o.contains_key("type") {
                return false;
            }
            self.await_response = false;
            line.push("signalr handshake_response");
            fields.push(("type", "handshake_response".into()));
            if let Some(e) = o.get("error") {
                line.push(" error=");
                bound::write_compact(&mut line, e, &|_| None);
                fields.push(("error", bound::cap_value(e)));
            } else {
                line.push(" ok");
            }
        }
        out.push(packet(msg, line.finish(), fields));
        true
    }

    fn json_record(&mut self, msg: &AppInput<'_>, rec: &[u8], out: &mut Vec<AppOutput>) {
        let o = match bound::parse_json(rec) {
            Ok(Value::Object(o)) => o,
            Ok(_) => {
                return anomaly(
                    msg,
                    AnomalyKind::SignalrMalformedMessage,
                    "record is not a JSON object".into(),
                    out,
                );
            }
            Err(e) => {
                return anomaly(
                    msg,
                    AnomalyKind::SignalrMalformedMessage,
                    format!("record is not JSON: {e}"),
                    out,
                );
            }
        };
        let Some(ty) = o.get("type").and_then(Value::as_u64) else {
            return anomaly(
                msg,
                AnomalyKind::SignalrMalformedMessage,
                "no numeric `type`".into(),
                out,
            );
        };
        let text = |k: &str| {
            o.get(k)
                .and_then(Value::as_str)
                .map(|s| bound::cap_str(s, bound::MAX_ID))
        };
        let hub = Hub {
            ty,
            headers: o.get("headers").map(bound::cap_value),
            invocation_id: text("invocationId"),
            target: text("target"),
            arguments: o.get("arguments").map(bound::cap_value),
            stream_ids: o
                .get("streamIds")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .take(bound::MAX_FIELD_ITEMS)
                        .filter_map(Value::as_str)
                        .map(|s| bound::cap_str(s, bound::MAX_ID))
                        .collect()
                })
                .unwrap_or_default(),
            item: o.get("item").map(bound::cap_value),
            result: o.get("result").map(bound::cap_value),
            error: o
                .get("error")
                .and_then(Value::as_str)
                .map(|s| bound::cap_str(s, bound::MAX_FIELD_STRING)),
            allow_reconnect: o.get("allowReconnect").and_then(Value::as_bool),
            sequence_id: o.get("sequenceId").and_then(Value::as_u64),
            result_and_error: ty == 3 && o.contains_key("result") && o.contains_key("error"),
        };
        self.hub(msg, Encoding::Json, hub, out);
    }

    fn msgpack_message(&mut self, msg: &AppInput<'_>, body: &[u8], out: &mut Vec<AppOutput>) {
        use rmpv::Value as M;
        let bad = |why: &str, out: &mut Vec<AppOutput>| {
            anomaly(
                msg,
                AnomalyKind::SignalrMalformedMessage,
                format!("messagepack: {why}"),
                out,
            )
        };
        let v = match msgpack::parse(body) {
            Ok(v) => v,
            Err(e) => return bad(&e.to_string(), out),
        };
        let M::Array(a) = v else {
            return bad("message is not an array", out);
        };
        let Some(ty) = a.first().and_then(M::as_u64) else {
            return bad("no integer message type", out);
        };
        let s = |i: usize| {
            a.get(i)
                .and_then(M::as_str)
                .map(|s| bound::cap_str(s, bound::MAX_ID))
        };
        let j = |i: usize| a.get(i).map(msgpack::to_json);
        let mut hub = Hub {
            ty,
            ..Hub::default()
        };
        if (1..=5).contains(&ty) {
            hub.headers = j(1).filter(|h| h.as_object().is_some_and(|m| !m.is_empty()));
            hub.invocation_id = s(2);
        }
        match ty {
            1 | 4 => {
                hub.target = s(3);
                hub.arguments = j(4);
                hub.stream_ids = a
                    .get(5)
                    .and_then(M::as_array)
                    .map(|ids| {
                        ids.iter()
                            .take(bound::MAX_FIELD_ITEMS)
                            .filter_map(M::as_str)
                            .map(|s| bound::cap_str(s, bound::MAX_ID))
                            .collect()
                    })
                    .unwrap_or_default();
            }
            2 => hub.item = j(3),
            3 => match a.get(3).and_then(M::as_u64) {
                Some(1) => {
                    hub.error = Some(
                        a.get(4)
                            .and_then(M::as_str)
                            .map(|s| bound::cap_str(s, bound::MAX_FIELD_STRING))
                            .unwrap_or_default(),
                    );
                }
                Some(2) => {}
                Some(3) => hub.result = Some(j(4).unwrap_or(Value::Null)),
                _ => return bad("completion without a result kind 1, 2 or 3", out),
            },
            7 => {
                hub.error = s(1);
                hub.allow_reconnect = a.get(2).and_then(M::as_bool);
            }
            8 | 9 => hub.sequence_id = a.get(1).and_then(M::as_u64),
            _ => {}
        }
        self.hub(msg, Encoding::MessagePack, hub, out);
    }

    /// Reports one hub message and pairs it.
    fn hub(&mut self, msg: &AppInput<'_>, enc: Encoding, h: Hub, out: &mut Vec<AppOutput>) {
        let Some(name) = type_name(h.ty) else {
            return anomaly(
                msg,
                AnomalyKind::SignalrMalformedMessage,
                format!("unknown message type {}", h.ty),
                out,
            );
        };
        let start = out.len();
        let mut line = Line::new(bound::MAX_SUMMARY);
        line.push("signalr ");
        line.push(name);
        let mut fields: Vec<(&'static str, Value)> = vec![("type", name.into())];
        if let Some(id) = &h.invocation_id {
            fields.push(("invocation_id", id.clone().into()));
        }
        if let Some(t) = &h.target {
            line.push(" ");
            line.push(t);
            fields.push(("target", t.clone().into()));
        }
        if let Some(a) = &h.arguments {
            match a {
                Value::Array(items) => {
                    line.push("(");
                    for (i, v) in items.iter().enumerate() {
                        if line.is_full() {
                            break;
                        }
                        if i > 0 {
                            line.push(",");
                        }
                        bound::write_compact(&mut line, v, &|_| None);
                    }
                    line.push(")");
                }
                other => bound::write_compact(&mut line, other, &|_| None),
            }
            fields.push(("arguments", a.clone()));
        }
        if let Some(id) = &h.invocation_id {
            line.push(" id=");
            line.push(id);
        }
        if !h.stream_ids.is_empty() {
            line.push(" streams=");
            line.push(&h.stream_ids.join(","));
            fields.push(("stream_ids", h.stream_ids.clone().into()));
        }
        if let Some(v) = &h.item {
            line.push(" item=");
            bound::write_compact(&mut line, v, &|_| None);
            fields.push(("item", v.clone()));
        }
        if let Some(v) = &h.result {
            line.push(" result=");
            bound::write_compact(&mut line, v, &|_| None);
            fields.push(("result", v.clone()));
        }
        if let Some(e) = &h.error {
            line.push(" error=");
            bound::push_json_string(&mut line, e);
            fields.push(("error", e.clone().into()));
        }
        if let Some(r) = h.allow_reconnect {
            line.push(if r { " reconnect" } else { " no-reconnect" });
            fields.push(("allow_reconnect", r.into()));
        }
        if let Some(s) = h.sequence_id {
            line.push(&format!(" seq={s}"));
            fields.push(("sequence_id", s.into()));
        }
        if let Some(hd) = h.headers {
            fields.push(("headers", hd));
        }
        fields.push(("encoding", enc.name().into()));
        if h.result_and_error {
            anomaly(
                msg,
                AnomalyKind::SignalrResultAndError,
                format!(
                    "completion id={} has both result and error",
                    h.invocation_id.clone().unwrap_or_default()
                ),
                out,
            );
        }
        let id = h.invocation_id.clone().unwrap_or_default();
        match h.ty {
            1 | 4 if h.invocation_id.is_some() => {
                let stream = h.ty == 4;
                self.pending.insert(
                    (msg.dir, id.clone()),
                    (Request::new(msg, h.target.clone()), stream),
                );
                self.cancelled.remove(&(msg.dir, id));
                self.remember_uploads(msg.dir, &h.stream_ids);
            }
            1 => self.remember_uploads(msg.dir, &h.stream_ids),
            2 => {
                let key = (msg.dir.reverse(), id.clone());
                if let Some((req, _)) = self.pending.get_mut(&key) {
                    req.item(msg);
                } else if !self.uploads.contains(&(msg.dir, id.clone()))
                    && !self.cancelled.contains(&key)
                {
                    anomaly(
                        msg,
                        AnomalyKind::SignalrUnknownInvocationId,
                        format!("stream item for id={id}, which no invocation is waiting for"),
                        out,
                    );
                }
            }
            3 => {
                let key = (msg.dir.reverse(), id.clone());
                if let Some((req, stream)) = self.pending.remove(&key) {
                    let outcome = match (&h.error, stream) {
                        (Some(_), _) => Outcome::Error,
                        (None, true) => Outcome::Complete,
                        (None, false) => Outcome::Result,
                    };
                    let x = req.finish(Protocol::SignalR, id, msg, outcome, !stream);
                    line.push(&format!(" ({:.3} ms)", x.latency_ns as f64 / 1e6));
                    fields.push(("latency_ns", x.latency_ns.into()));
                    out.push(AppOutput::Exchange(x));
                } else if self.uploads.remove(&(msg.dir, id.clone())) || self.cancelled.remove(&key)
                {
                } else {
                    anomaly(
                        msg,
                        AnomalyKind::SignalrUnknownInvocationId,
                        format!("completion for id={id}, which no invocation is waiting for"),
                        out,
                    );
                }
            }
            5 => {
                let key = (msg.dir, id.clone());
                if let Some((req, _)) = self.pending.remove(&key) {
                    out.push(AppOutput::Exchange(req.finish(
                        Protocol::SignalR,
                        id,
                        msg,
                        Outcome::Cancelled,
                        false,
                    )));
                    if self.cancelled.len() < MAX_REMEMBERED {
                        self.cancelled.insert(key);
                    }
                }
            }
            _ => {}
        }
        let start = start.min(out.len());
        out.insert(start, packet(msg, line.finish(), fields));
    }

    fn remember_uploads(&mut self, dir: Direction, ids: &[String]) {
        for s in ids {
            if self.uploads.len() >= MAX_REMEMBERED {
                break;
            }
            self.uploads.insert((dir, s.clone()));
        }
    }

    fn json_payload(&mut self, msg: &AppInput<'_>, p: &[u8], out: &mut Vec<AppOutput>) {
        let (recs, rest) = split_records(p);
        for r in recs {
            self.json_record(msg, r, out);
        }
        if !rest.trim_ascii().is_empty() && msg.complete {
            anomaly(
                msg,
                AnomalyKind::SignalrMissingSeparator,
                format!("{} bytes after the last 0x1E", rest.len()),
                out,
            );
            self.json_record(msg, rest, out);
        }
    }

    fn binary_payload(&mut self, msg: &AppInput<'_>, mut p: &[u8], out: &mut Vec<AppOutput>) {
        while !p.is_empty() {
            let Some((len, used)) = read_varint(p) else {
                if msg.complete {
                    anomaly(
                        msg,
                        AnomalyKind::SignalrMalformedMessage,
                        "messagepack: bad VarInt length prefix".into(),
                        out,
                    );
                }
                return;
            };
            let end = usize::try_from(len)
                .ok()
                .and_then(|l| used.checked_add(l))
                .filter(|&e| e <= p.len());
            let Some(end) = end else {
                if msg.complete {
                    anomaly(
                        msg,
                        AnomalyKind::SignalrMalformedMessage,
                        format!(
                            "messagepack: length {len} but {} bytes left",
                            p.len() - used
                        ),
                        out,
                    );
                }
                return;
            };
            self.msgpack_message(msg, p.get(used..end).unwrap_or_default(), out);
            p = p.get(end..).unwrap_or_default();
        }
    }
}

impl Decoder for SignalRDecoder {
    fn protocol(&self) -> Protocol {
        Protocol::SignalR
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        self.last = Some((msg.dir, msg.packet));
        let mut p = msg.payload;
        let awaiting = match msg.dir {
            Direction::ClientToServer => self.await_request,
            Direction::ServerToClient => self.await_response,
        };
        // The handshake is a JSON record in either encoding; with MessagePack, hub messages
        // may follow it in the same message.
        if awaiting && p.first() == Some(&b'{') {
            let (first, rest) = match p.iter().position(|b| *b == RECORD_SEPARATOR) {
                Some(i) => (&p[..i], p.get(i + 1..).unwrap_or_default()),
                None => (p, &[][..]),
            };
            if self.handshake(msg, first, out) {
                if first.len() == p.len() && msg.complete {
                    anomaly(
                        msg,
                        AnomalyKind::SignalrMissingSeparator,
                        "handshake without its 0x1E".into(),
                        out,
                    );
                }
                p = rest;
                if p.is_empty() {
                    return;
                }
            }
        }
        let enc = match self.encoding {
            Some(Encoding::MessagePack) if !msg.text => Encoding::MessagePack,
            Some(Encoding::Json) => Encoding::Json,
            _ if msg.text => Encoding::Json,
            _ => Encoding::MessagePack,
        };
        match enc {
            Encoding::Json => self.json_payload(msg, p, out),
            Encoding::MessagePack => self.binary_payload(msg, p, out),
        }
    }

    fn end(&mut self, out: &mut Vec<AppOutput>) {
        for ((_, id), (req, _)) in self.pending.drain() {
            out.push(AppOutput::Unanswered(req.unanswered(Protocol::SignalR, id)));
        }
        if self.pending.dropped > 0 {
            let (dir, packet) = self.last.unwrap_or((Direction::ClientToServer, 0));
            out.push(AppOutput::Anomaly(dropped_anomaly(
                self.pending.dropped,
                dir,
                packet,
            )));
        }
    }
}

/// Whether a first message is a SignalR handshake request: a JSON object with `protocol`
/// and `version`, ended by 0x1E.
pub fn is_handshake(payload: &[u8]) -> bool {
    let Some((&RECORD_SEPARATOR, body)) = payload.split_last() else {
        return false;
    };
    matches!(bound::parse_json(body), Ok(Value::Object(o))
        if o.get("protocol").is_some_and(Value::is_string) && o.contains_key("version"))
}

/// Registry constructor.
pub fn new_decoder(_: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(SignalRDecoder::default())
}

/// Headers as an object (used by tests and views): `{"x": "y"}`.
pub fn headers_of(p: &AppPacket) -> Map<String, Value> {
    p.field("headers")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    fn rs(s: &str) -> String {
        format!("{s}\u{1e}")
    }

    fn bin(body: &[u8]) -> Vec<u8> {
        let mut v = vec![body.len() as u8];
        v.extend_from_slice(body);
        v
    }

    // The JSON encoding examples of HubProtocol.md, and its "Single Result", "Streamed
    // Result" and "Single Result with Error" exchanges.
    #[test]
    fn json_protocol_examples() {
        let mut d = SignalRDecoder::default();
        let msgs = [
            (C2S, rs(r#"{"protocol":"json","version":1}"#)),
            (S2C, rs("{}")),
            (
                C2S,
                rs(
                    r#"{"type":1,"invocationId":"123","target":"Send","arguments":[42,"Test Message"]}"#,
                ),
            ),
            (S2C, rs(r#"{"type":3,"invocationId":"123","result":42}"#)),
            (
                C2S,
                rs(r#"{"type":4,"invocationId":"124","target":"Stream","arguments":[2]}"#),
            ),
            (
                S2C,
                rs(r#"{"type":2,"invocationId":"124","item":0}"#)
                    + &rs(r#"{"type":2,"invocationId":"124","item":1}"#),
            ),
            (S2C, rs(r#"{"type":3,"invocationId":"124"}"#)),
            (
                C2S,
                rs(
                    r#"{"type":1,"invocationId":"125","target":"SingleResultFailure","arguments":[40,2]}"#,
                ),
            ),
            (
                S2C,
                rs(r#"{"type":3,"invocationId":"125","error":"It didn't work!"}"#),
            ),
            (
                C2S,
                rs(
                    r#"{"type":1,"target":"Send","arguments":[42,"Test Message"],"headers":{"Foo":"Bar"}}"#,
                ),
            ),
            (C2S, rs(r#"{"type":6}"#)),
            (
                S2C,
                rs(
                    r#"{"type":7,"error":"Connection closed because of an error!","allowReconnect":true}"#,
                ),
            ),
            (C2S, rs(r#"{"type":8,"sequenceId":1394}"#)),
            (S2C, r#"{"type":9,"sequenceId":1234}"#.to_string()),
            (S2C, rs(r#"{"type":3,"invocationId":"999"}"#)),
            (
                S2C,
                rs(r#"{"type":3,"invocationId":"123","result":42,"error":"It didn't work!"}"#),
            ),
        ];
        let v: Vec<(Direction, &str)> = msgs.iter().map(|(d, s)| (*d, s.as_str())).collect();
        let out = run(&mut d, &v);
        let p = packets(&out);
        let sums: Vec<&str> = p.iter().map(|p| p.summary.as_str()).collect();
        assert_eq!(
            sums,
            vec![
                "signalr handshake protocol=json version=1",
                "signalr handshake_response ok",
                r#"signalr invocation Send(42,"Test Message") id=123"#,
                "signalr completion id=123 result=42 (1.000 ms)",
                "signalr stream_invocation Stream(2) id=124",
                "signalr stream_item id=124 item=0",
                "signalr stream_item id=124 item=1",
                "signalr completion id=124 (1.000 ms)",
                "signalr invocation SingleResultFailure(40,2) id=125",
                r#"signalr completion id=125 error="It didn't work!" (1.000 ms)"#,
                r#"signalr invocation Send(42,"Test Message")"#,
                "signalr ping",
                r#"signalr close error="Connection closed because of an error!" reconnect"#,
                "signalr ack seq=1394",
                "signalr sequence seq=1234",
                "signalr completion id=999",
                r#"signalr completion id=123 result=42 error="It didn't work!""#,
            ]
        );
        assert_eq!(p[9].field("headers"), None);
        assert_eq!(
            headers_of(p[10]),
            json!({"Foo": "Bar"}).as_object().cloned().unwrap()
        );
        assert_eq!(p[2].field("invocation_id"), Some(&json!("123")));
        assert_eq!(p[2].field("target"), Some(&json!("Send")));
        assert_eq!(p[2].field("arguments"), Some(&json!([42, "Test Message"])));
        let x = exchanges(&out);
        assert_eq!(x.len(), 3);
        assert_eq!((x[0].id.as_str(), x[0].outcome), ("123", Outcome::Result));
        assert_eq!(x[0].latency_ns, 1_000_000);
        assert_eq!((x[1].id.as_str(), x[1].outcome), ("124", Outcome::Complete));
        assert_eq!(
            (x[1].answers, x[1].answer_packet, x[1].end_packet),
            (2, 6, 7)
        );
        assert_eq!(x[2].outcome, Outcome::Error);
        assert_eq!(
            anomalies(&out),
            vec![
                AnomalyKind::SignalrMissingSeparator,
                AnomalyKind::SignalrUnknownInvocationId,
                AnomalyKind::SignalrResultAndError,
                AnomalyKind::SignalrUnknownInvocationId,
            ]
        );
    }

    // The MessagePack encoding examples of HubProtocol.md, each framed with its VarInt.
    #[test]
    fn messagepack_protocol_examples() {
        let inv = [
            0x96, 0x01, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0xa6, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64,
            0x91, 0x2a, 0x90,
        ];
        let nonblocking = [
            0x96, 0x01, 0x80, 0xc0, 0xa6, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0x91, 0x2a, 0x90,
        ];
        let item = [0x94, 0x02, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x2a];
        let error = [
            0x95, 0x03, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x01, 0xa5, 0x45, 0x72, 0x72, 0x6f, 0x72,
        ];
        let void = [0x94, 0x03, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x02];
        let result = [0x95, 0x03, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x03, 0x2a];
        let stream_inv = [
            0x96, 0x04, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0xa6, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64,
            0x91, 0x2a, 0x90,
        ];
        let cancel = [0x93, 0x05, 0x80, 0xa3, 0x78, 0x79, 0x7a];
        let ping = [0x91, 0x06];
        let close = [0x93, 0x07, 0xa3, 0x78, 0x79, 0x7a, 0xc3];
        let ack = [0x92, 0x08, 0xcc, 0x24];
        let seq = [0x92, 0x09, 0xcc, 0x13];
        let headers = [
            0x96, 0x01, 0x82, 0xa1, 0x78, 0xa1, 0x79, 0xa1, 0x7a, 0xa1, 0x7a, 0xa3, 0x78, 0x79,
            0x7a, 0xa6, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0x91, 0x2a, 0x90,
        ];
        let mut d = SignalRDecoder::default();
        let mut out = Vec::new();
        let hs = rs(r#"{"protocol":"messagepack","version":1}"#);
        d.message(&input(C2S, true, hs.as_bytes(), 1), &mut out);
        // The server's handshake response and a first hub message in one binary message.
        let mut first = rs("{}").into_bytes();
        first.extend(bin(&ping));
        d.message(&input(S2C, false, &first, 2), &mut out);
        let seq_msgs: Vec<(Direction, Vec<u8>)> = vec![
            (C2S, bin(&inv)),
            (S2C, bin(&error)),
            (C2S, bin(&nonblocking)),
            (C2S, bin(&stream_inv)),
            (S2C, [bin(&item), bin(&item)].concat()),
            (S2C, bin(&void)),
            (C2S, bin(&inv)),
            (S2C, bin(&result)),
            (C2S, bin(&stream_inv)),
            (C2S, bin(&cancel)),
            (S2C, bin(&close)),
            (C2S, bin(&ack)),
            (S2C, bin(&seq)),
            (C2S, bin(&headers)),
        ];
        for (i, (dir, m)) in seq_msgs.iter().enumerate() {
            d.message(&input(*dir, false, m, i as u64 + 3), &mut out);
        }
        d.end(&mut out);
        let p = packets(&out);
        let sums: Vec<&str> = p.iter().map(|p| p.summary.as_str()).collect();
        assert_eq!(
            sums,
            vec![
                "signalr handshake protocol=messagepack version=1",
                "signalr handshake_response ok",
                "signalr ping",
                "signalr invocation method(42) id=xyz",
                r#"signalr completion id=xyz error="Error" (1.000 ms)"#,
                "signalr invocation method(42)",
                "signalr stream_invocation method(42) id=xyz",
                "signalr stream_item id=xyz item=42",
                "signalr stream_item id=xyz item=42",
                "signalr completion id=xyz (1.000 ms)",
                "signalr invocation method(42) id=xyz",
                "signalr completion id=xyz result=42 (1.000 ms)",
                "signalr stream_invocation method(42) id=xyz",
                "signalr cancel_invocation id=xyz",
                r#"signalr close error="xyz" reconnect"#,
                "signalr ack seq=36",
                "signalr sequence seq=19",
                "signalr invocation method(42) id=xyz",
            ]
        );
        assert_eq!(p[3].field("encoding"), Some(&json!("messagepack")));
        assert_eq!(p[17].field("headers"), Some(&json!({"x": "y", "z": "z"})));
        let x = exchanges(&out);
        let outcomes: Vec<Outcome> = x.iter().map(|x| x.outcome).collect();
        assert_eq!(
            outcomes,
            vec![
                Outcome::Error,
                Outcome::Complete,
                Outcome::Result,
                Outcome::Cancelled
            ]
        );
        assert_eq!(x[1].answers, 2);
        assert!(anomalies(&out).is_empty(), "{:?}", anomalies(&out));
        assert_eq!(unanswered(&out).len(), 1);
    }

    #[test]
    fn varints_and_caller_streams() {
        // HubProtocol.md's VarInt examples.
        assert_eq!(read_varint(&[0x35]), Some((0x35, 1)));
        assert_eq!(read_varint(&[0x80, 0x29]), Some((0x1480, 2)));
        assert_eq!(
            read_varint(&[0xff, 0xff, 0xff, 0xff, 0x07]),
            Some((0x7fff_ffff, 5))
        );
        assert_eq!(read_varint(&[0xff, 0xff, 0xff, 0xff, 0x0f]), None);
        assert_eq!(read_varint(&[0x80, 0x80]), None);
        // "Stream from Client to Server": items and completion of stream 1 go the caller's way.
        let mut d = SignalRDecoder::default();
        let out = run(
            &mut d,
            &[
                (
                    C2S,
                    "{\"type\":1,\"invocationId\":\"42\",\"target\":\"AddStream\",\"arguments\":[],\"streamIds\":[\"1\"]}\u{1e}",
                ),
                (C2S, "{\"type\":2,\"invocationId\":\"1\",\"item\":1}\u{1e}"),
                (C2S, "{\"type\":2,\"invocationId\":\"1\",\"item\":2}\u{1e}"),
                (C2S, "{\"type\":3,\"invocationId\":\"1\"}\u{1e}"),
                (
                    S2C,
                    "{\"type\":3,\"invocationId\":\"42\",\"result\":3}\u{1e}",
                ),
                (S2C, "{\"type\":99}\u{1e}"),
            ],
        );
        assert_eq!(anomalies(&out), vec![AnomalyKind::SignalrMalformedMessage]);
        assert_eq!(exchanges(&out)[0].latency_ns, 4_000_000);
        assert_eq!(
            packets(&out)[0].summary,
            "signalr invocation AddStream() id=42 streams=1"
        );
        assert!(is_handshake(b"{\"protocol\":\"json\",\"version\":1}\x1e"));
        assert!(!is_handshake(b"{\"protocol\":\"json\",\"version\":1}"));
    }

    #[test]
    fn mutations_never_panic() {
        let mut mp = rs(r#"{"protocol":"messagepack","version":1}"#).into_bytes();
        mp.extend(bin(&[0x95, 0x03, 0x80, 0xa3, 0x78, 0x79, 0x7a, 0x03, 0x2a]));
        mutate_all(
            &|| Box::new(SignalRDecoder::default()),
            &[
                rs(r#"{"protocol":"json","version":1}"#).as_bytes(),
                rs(r#"{"type":1,"invocationId":"123","target":"Send","arguments":[42,"Test Message"],"streamIds":["1"]}"#).as_bytes(),
                rs(r#"{"type":3,"invocationId":"123","result":42}"#).as_bytes(),
                &mp,
                &bin(&[0x96, 0x01, 0x82, 0xa1, 0x78, 0xa1, 0x79, 0xa1, 0x7a, 0xa1, 0x7a, 0xa3, 0x78, 0x79, 0x7a, 0xa6, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64, 0x91, 0x2a, 0x90]),
            ],
        );
    }
}
