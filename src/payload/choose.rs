//! Which decoder a connection gets: `--decode-as` first (handled by the caller with
//! [`decode_as_for`]), then the agreed `Sec-WebSocket-Protocol`, then the request path or
//! query, then the first message's content, each choice saying how it was made.

use super::{DECODERS, Protocol, bound, cbor, engineio, msgpack, protobuf, signalr, zlibstream};
use serde_json::Value;

/// How a decoder was chosen (shown by the views; JSON Lines `app.chosen_by`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenBy {
    /// The `Sec-WebSocket-Protocol` the server accepted.
    Subprotocol,
    /// The request path or query (`/socket.io/`, `EIO=`).
    Path,
    /// Sniffing the first message.
    Content,
    /// `--decode-as`.
    DecodeAs,
}

impl ChosenBy {
    /// `subprotocol`, `path`, `content` or `decode-as`.
    pub fn name(self) -> &'static str {
        match self {
            ChosenBy::Subprotocol => "subprotocol",
            ChosenBy::Path => "path",
            ChosenBy::Content => "content",
            ChosenBy::DecodeAs => "decode-as",
        }
    }
}

/// A chosen decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Choice {
    /// The protocol.
    pub protocol: Protocol,
    /// How.
    pub chosen_by: ChosenBy,
    /// How sure, 0-100 (100: the peers said so; content sniffing is lower).
    pub confidence: u8,
}

/// Chooses a decoder from what the connection showed so far: the accepted subprotocol,
/// the request-target, and (when the first two say nothing) the first data message as
/// `(is_text, payload)`. `None`: nothing recognised (pass `None` as the message to decide
/// before any message; call again with the first message when that returns `None`).
pub fn choose(
    subprotocol: Option<&str>,
    request_uri: &str,
    first_message: Option<(bool, &[u8])>,
) -> Option<Choice> {
    if let Some(sp) = subprotocol.map(str::trim).filter(|s| !s.is_empty())
        && let Some(d) = DECODERS
            .iter()
            .find(|d| d.subprotocols.iter().any(|s| s.eq_ignore_ascii_case(sp)))
    {
        return Some(Choice {
            protocol: d.protocol,
            chosen_by: ChosenBy::Subprotocol,
            confidence: 100,
        });
    }
    if zlibstream::requested(request_uri) {
        return Some(Choice {
            protocol: Protocol::ZlibStream,
            chosen_by: ChosenBy::Path,
            confidence: 95,
        });
    }
    if let Some(r) = engineio::request(request_uri) {
        let path_named = {
            let path = request_uri.split('?').next().unwrap_or("");
            path.contains("/socket.io") || path.contains("/engine.io")
        };
        return Some(Choice {
            protocol: if r.socketio_path {
                Protocol::SocketIo
            } else {
                Protocol::EngineIo
            },
            chosen_by: ChosenBy::Path,
            confidence: if path_named { 90 } else { 70 },
        });
    }
    // Phoenix appends its transport to the socket path: `/socket/websocket?vsn=2.0.0`.
    if let Some(vsn) = super::phoenix::is_endpoint(request_uri) {
        return Some(Choice {
            protocol: Protocol::Phoenix,
            chosen_by: ChosenBy::Path,
            confidence: if vsn { 90 } else { 70 },
        });
    }
    let (text, payload) = first_message?;
    sniff(text, payload).map(|(protocol, confidence)| Choice {
        protocol,
        chosen_by: ChosenBy::Content,
        confidence,
    })
}

/// A STOMP CONNECT/STOMP frame or an MQTT CONNECT packet: the first message of a session
/// of either, when no subprotocol was agreed.
fn sniff_connect(payload: &[u8]) -> Option<(Protocol, u8)> {
    if payload.starts_with(b"CONNECT\n")
        || payload.starts_with(b"CONNECT\r\n")
        || payload.starts_with(b"STOMP\n")
        || payload.starts_with(b"STOMP\r\n")
    {
        return Some((Protocol::Stomp, 90));
    }
    // MQTT CONNECT: type 1, flags 0, remaining length, protocol name "MQTT" or "MQIsdp".
    if payload.first() == Some(&0x10)
        && let Ok(Some((_, n))) = super::mqtt::varint(payload.get(1..)?)
    {
        let rest = payload.get(1 + n..)?;
        if rest.starts_with(b"\x00\x04MQTT") || rest.starts_with(b"\x00\x06MQIsdp") {
            return Some((Protocol::Mqtt, 90));
        }
    }
    None
}

/// Content sniffing of one message.
fn sniff(text: bool, payload: &[u8]) -> Option<(Protocol, u8)> {
    if let Some(found) = sniff_connect(payload) {
        return Some(found);
    }
    if !text {
        return sniff_binary(payload);
    }
    // SignalR has no subprotocol: its handshake request is the first message.
    if signalr::is_handshake(payload) {
        return Some((Protocol::SignalR, 95));
    }
    let trimmed = payload.trim_ascii_start();
    match trimmed.first()? {
        b'{' | b'[' => {}
        b'0'..=b'6' => return sniff_engineio(trimmed),
        _ => return serde_json_value(trimmed).map(|_| (Protocol::Json, 40)),
    }
    let v = serde_json_value(trimmed)?;
    if super::phoenix::looks_like(&v) {
        return Some((Protocol::Phoenix, 70));
    }
    if super::actioncable::looks_like(&v) {
        return Some((Protocol::ActionCable, 80));
    }
    let obj = match &v {
        Value::Object(o) => o,
        Value::Array(a) => {
            let rpc = !a.is_empty()
                && a.iter()
                    .all(|e| e.get("jsonrpc").and_then(Value::as_str) == Some("2.0"));
            return Some(if rpc {
                (Protocol::JsonRpc, 90)
            } else {
                (Protocol::Json, 50)
            });
        }
        _ => return Some((Protocol::Json, 50)),
    };
    if obj.get("jsonrpc").and_then(Value::as_str) == Some("2.0") {
        return Some((Protocol::JsonRpc, 95));
    }
    match obj.get("type").and_then(Value::as_str) {
        // Both GraphQL protocols open with connection_init; the newer one is the default.
        Some("connection_init") => return Some((Protocol::GraphqlTransportWs, 60)),
        Some("subscribe") if obj.contains_key("id") => {
            return Some((Protocol::GraphqlTransportWs, 80));
        }
        Some("start") if obj.contains_key("id") => return Some((Protocol::GraphqlWs, 80)),
        Some("ka") => return Some((Protocol::GraphqlWs, 70)),
        _ => {}
    }
    if obj.get("method").is_some_and(Value::is_string)
        && obj.contains_key("params")
        && obj.contains_key("id")
    {
        return Some((Protocol::JsonRpc, 70));
    }
    Some((Protocol::Json, 50))
}

/// A binary first message: a zlib stream (zlib header, ends with a sync flush), CBOR with
/// its self-describe tag, else a map or array that parses completely as MessagePack or
/// CBOR (both when the first byte is 0x80-0x9f: the map reading wins), else a protobuf
/// message of at least two fields that parses completely.
fn sniff_binary(p: &[u8]) -> Option<(Protocol, u8)> {
    let first = *p.first()?;
    if first == 0x78
        && p.len() >= 6
        && p.get(..2)
            .is_some_and(|h| u16::from_be_bytes([h[0], h[1]]) % 31 == 0)
        && p.ends_with(&crate::ws::deflate::SYNC_FLUSH_TAIL)
    {
        return Some((Protocol::ZlibStream, 80));
    }
    if p.starts_with(&[0xd9, 0xd9, 0xf7]) && cbor::parse(p).is_ok() {
        return Some((Protocol::Cbor, 95));
    }
    let mp_container = matches!(first, 0x80..=0x9f | 0xdc..=0xdf);
    let cb_container = matches!(first, 0x80..=0xbf);
    let mp = mp_container && msgpack::parse(p).is_ok();
    let cb = cb_container && cbor::parse(p).is_ok();
    match (mp, cb) {
        (true, false) => return Some((Protocol::MsgPack, 60)),
        (false, true) => return Some((Protocol::Cbor, 60)),
        // 0x80-0x8f: a MessagePack map or a CBOR array; 0x90-0x9f: arrays in both.
        (true, true) => return Some((Protocol::MsgPack, 40)),
        _ => {}
    }
    match protobuf::parse_wire(p) {
        Ok(f) if f.len() >= 2 => Some((Protocol::Protobuf, 30)),
        _ => None,
    }
}

/// Engine.IO's first packets: `0{"sid":…}` (open), `2probe`, `4` + a Socket.IO packet.
fn sniff_engineio(p: &[u8]) -> Option<(Protocol, u8)> {
    if p.starts_with(b"0{") {
        let v = serde_json_value(&p[1..])?;
        return v.get("sid").is_some().then_some((Protocol::SocketIo, 80));
    }
    if p == b"2probe" || p == b"3probe" {
        return Some((Protocol::SocketIo, 70));
    }
    if p.len() >= 2 && p[0] == b'4' && (b'0'..=b'6').contains(&p[1]) {
        return super::socketio::parse(&p[1..], true)
            .ok()
            .map(|_| (Protocol::SocketIo, 60));
    }
    serde_json_value(p).map(|_| (Protocol::Json, 40))
}

fn serde_json_value(b: &[u8]) -> Option<Value> {
    bound::parse_json(b).ok()
}

/// What a `--decode-as` spec applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeTarget {
    /// Every connection (`none` alone, or `PROTO` alone).
    All,
    /// Connections with this port on either side.
    Port(u16),
    /// The connection with this index (`conn=N`).
    Conn(u64),
}

/// One `--decode-as` spec: `PORT:PROTO`, `conn=N:PROTO`, `PROTO` or `none` (PROTO may be
/// `none`: no application decoding there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeAs {
    /// Where it applies.
    pub target: DecodeTarget,
    /// The protocol, or `None` for `none`.
    pub protocol: Option<Protocol>,
}

/// Why a `--decode-as` spec was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeAsError {
    /// The target before `:` is neither a port nor `conn=N`.
    BadTarget(String),
    /// No protocol of that name.
    UnknownProtocol(String),
    /// A known protocol without a decoder yet.
    NoDecoder(Protocol),
}

impl std::fmt::Display for DecodeAsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DecodeAsError::BadTarget(t) => {
                write!(
                    f,
                    "--decode-as: `{t}` is neither a port (1-65535) nor conn=N"
                )
            }
            DecodeAsError::UnknownProtocol(p) => {
                write!(
                    f,
                    "--decode-as: unknown protocol `{p}` (see `wsdissect decoders`)"
                )
            }
            DecodeAsError::NoDecoder(p) => write!(f, "--decode-as: no decoder for {p} yet"),
        }
    }
}

impl std::error::Error for DecodeAsError {}

impl std::str::FromStr for DecodeAs {
    type Err = DecodeAsError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        let (target, proto) = match s.rsplit_once(':') {
            None => (DecodeTarget::All, s),
            Some((t, p)) => {
                let target = if let Some(n) = t.strip_prefix("conn=") {
                    n.parse().map(DecodeTarget::Conn).ok()
                } else {
                    t.parse::<u16>()
                        .ok()
                        .filter(|&p| p != 0)
                        .map(DecodeTarget::Port)
                };
                (
                    target.ok_or_else(|| DecodeAsError::BadTarget(t.to_string()))?,
                    p,
                )
            }
        };
        let protocol = if proto.eq_ignore_ascii_case("none") {
            None
        } else {
            let p = Protocol::from_name(proto)
                .ok_or_else(|| DecodeAsError::UnknownProtocol(proto.to_string()))?;
            if super::decoder_info(p).is_none() {
                return Err(DecodeAsError::NoDecoder(p));
            }
            Some(p)
        };
        Ok(DecodeAs { target, protocol })
    }
}

/// What the `--decode-as` specs say for connection `conn` between these ports: `None`
/// when no spec applies, `Some(None)` for `none`, `Some(Some(p))` to force `p`. A `conn=`
/// spec beats a port spec, which beats a spec for all; among equals the last one wins.
pub fn decode_as_for(specs: &[DecodeAs], conn: u64, ports: (u16, u16)) -> Option<Option<Protocol>> {
    let rank = |t: DecodeTarget| match t {
        DecodeTarget::Conn(n) if n == conn => Some(3),
        DecodeTarget::Port(p) if p == ports.0 || p == ports.1 => Some(2),
        DecodeTarget::All => Some(1),
        _ => None,
    };
    let mut best: Option<(u8, Option<Protocol>)> = None;
    for s in specs {
        if let Some(r) = rank(s.target)
            && best.is_none_or(|(b, _)| r >= b)
        {
            best = Some((r, s.protocol));
        }
    }
    best.map(|(_, p)| p)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pick(sp: Option<&str>, uri: &str, m: Option<&str>) -> Option<(Protocol, ChosenBy)> {
        choose(sp, uri, m.map(|m| (true, m.as_bytes()))).map(|c| (c.protocol, c.chosen_by))
    }

    #[test]
    fn order_subprotocol_path_content() {
        use ChosenBy::*;
        assert_eq!(
            pick(Some("graphql-transport-ws"), "/socket.io/?EIO=4", None),
            Some((Protocol::GraphqlTransportWs, Subprotocol))
        );
        assert_eq!(
            pick(Some("graphql-ws"), "/", None),
            Some((Protocol::GraphqlWs, Subprotocol))
        );
        assert_eq!(
            pick(Some("v12.stomp"), "/", None),
            Some((Protocol::Stomp, Subprotocol))
        );
        assert_eq!(
            pick(None, "/socket.io/?EIO=4&transport=websocket", None),
            Some((Protocol::SocketIo, Path))
        );
        assert_eq!(
            pick(None, "/engine.io/?EIO=4&transport=websocket", None),
            Some((Protocol::EngineIo, Path))
        );
        assert_eq!(
            pick(None, "/ws?EIO=3&transport=websocket", None),
            Some((Protocol::SocketIo, Path))
        );
        assert_eq!(
            pick(
                None,
                "/rpc",
                Some(r#"{"jsonrpc":"2.0","method":"a","id":1}"#)
            ),
            Some((Protocol::JsonRpc, Content))
        );
        assert_eq!(
            pick(
                None,
                "/rpc",
                Some(r#"[{"jsonrpc":"2.0","method":"a","id":1}]"#)
            ),
            Some((Protocol::JsonRpc, Content))
        );
        assert_eq!(
            pick(None, "/g", Some(r#"{"type":"connection_init"}"#)),
            Some((Protocol::GraphqlTransportWs, Content))
        );
        assert_eq!(
            pick(
                None,
                "/g",
                Some(r#"{"id":"1","type":"start","payload":{}}"#)
            ),
            Some((Protocol::GraphqlWs, Content))
        );
        assert_eq!(
            pick(None, "/x", Some(r#"0{"sid":"abc","upgrades":[]}"#)),
            Some((Protocol::SocketIo, Content))
        );
        assert_eq!(
            pick(None, "/x", Some(r#"42["chat","hi"]"#)),
            Some((Protocol::SocketIo, Content))
        );
        assert_eq!(
            pick(None, "/x", Some(r#"{"a":1}"#)),
            Some((Protocol::Json, Content))
        );
        assert_eq!(
            pick(None, "/socket/websocket?vsn=2.0.0", None),
            Some((Protocol::Phoenix, Path))
        );
        assert_eq!(
            pick(None, "/x", Some(r#"["3","3","room:1","phx_join",{}]"#)),
            Some((Protocol::Phoenix, Content))
        );
        assert_eq!(
            pick(None, "/cable", Some(r#"{"type":"welcome"}"#)),
            Some((Protocol::ActionCable, Content))
        );
        assert_eq!(
            pick(Some("actioncable-v1-json"), "/cable", None),
            Some((Protocol::ActionCable, Subprotocol))
        );
        assert_eq!(
            pick(Some("mqtt"), "/mqtt", None),
            Some((Protocol::Mqtt, Subprotocol))
        );
        assert_eq!(
            pick(
                None,
                "/ws",
                Some("CONNECT\naccept-version:1.2\nhost:h\n\n\0")
            ),
            Some((Protocol::Stomp, Content))
        );
        assert_eq!(
            choose(
                None,
                "/ws",
                Some((false, b"\x10\x0c\x00\x04MQTT\x04\x02\x00\x3c\x00\x00"))
            )
            .map(|c| c.protocol),
            Some(Protocol::Mqtt)
        );
        assert_eq!(pick(None, "/x", Some("hello")), None);
        assert_eq!(pick(None, "/x", None), None);
        assert_eq!(choose(None, "/x", Some((false, b"{}"))), None);
        assert_eq!(
            pick(
                None,
                "/hub?id=x",
                Some("{\"protocol\":\"json\",\"version\":1}\u{1e}")
            ),
            Some((Protocol::SignalR, Content))
        );
        assert_eq!(
            pick(None, "/?v=10&encoding=json&compress=zlib-stream", None),
            Some((Protocol::ZlibStream, Path))
        );
        let bin = |b: &[u8]| choose(None, "/x", Some((false, b))).map(|c| c.protocol);
        // {"a": 1} in MessagePack and in CBOR (RFC 8949: a2 61 61 01 is not complete).
        assert_eq!(bin(&[0x81, 0xa1, b'a', 0x01]), Some(Protocol::MsgPack));
        assert_eq!(bin(&[0xa1, 0x61, b'a', 0x01]), Some(Protocol::Cbor));
        assert_eq!(bin(&[0xd9, 0xd9, 0xf7, 0x01]), Some(Protocol::Cbor));
        assert_eq!(
            bin(&[0x08, 0x96, 0x01, 0x12, 0x01, b'x']),
            Some(Protocol::Protobuf)
        );
        assert_eq!(
            bin(&[0x78, 0x9c, 0x01, 0x00, 0x00, 0xff, 0xff]),
            Some(Protocol::ZlibStream)
        );
        assert_eq!(bin(&[0xff, 0xfe]), None);
    }

    #[test]
    fn decode_as_specs() {
        let a: DecodeAs = "8080:socket.io".parse().unwrap();
        assert_eq!(
            a,
            DecodeAs {
                target: DecodeTarget::Port(8080),
                protocol: Some(Protocol::SocketIo)
            }
        );
        let b: DecodeAs = "conn=3:none".parse().unwrap();
        assert_eq!(
            b,
            DecodeAs {
                target: DecodeTarget::Conn(3),
                protocol: None
            }
        );
        let c: DecodeAs = "none".parse().unwrap();
        assert_eq!(c.target, DecodeTarget::All);
        assert_eq!(
            "9000:JSON-RPC".parse::<DecodeAs>().unwrap().protocol,
            Some(Protocol::JsonRpc)
        );
        assert_eq!(
            "x:json".parse::<DecodeAs>(),
            Err(DecodeAsError::BadTarget("x".into()))
        );
        assert_eq!(
            "0:json".parse::<DecodeAs>(),
            Err(DecodeAsError::BadTarget("0".into()))
        );
        assert_eq!(
            "1:nope".parse::<DecodeAs>(),
            Err(DecodeAsError::UnknownProtocol("nope".into()))
        );
        assert_eq!(
            "1:stomp".parse::<DecodeAs>().map(|d| d.protocol),
            Ok(Some(Protocol::Stomp))
        );
        let specs = [c, a, b];
        assert_eq!(decode_as_for(&specs, 3, (8080, 5000)), Some(None));
        assert_eq!(
            decode_as_for(&specs, 4, (5000, 8080)),
            Some(Some(Protocol::SocketIo))
        );
        assert_eq!(decode_as_for(&specs, 4, (1, 2)), Some(None));
        assert_eq!(decode_as_for(&[], 4, (1, 2)), None);
    }

    #[test]
    fn registry_is_consistent() {
        for d in super::super::DECODERS {
            assert_eq!(Protocol::from_name(d.protocol.name()), Some(d.protocol));
            for a in d.aliases {
                assert_eq!(Protocol::from_name(a), Some(d.protocol), "{a}");
            }
            let dec = (d.new)(&super::super::Context::default());
            assert_eq!(dec.protocol(), d.protocol);
        }
        let mut names: Vec<&str> = super::super::AnomalyKind::ALL
            .iter()
            .map(|k| k.name())
            .collect();
        let n = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), n, "anomaly names are unique");
        assert!(
            names
                .iter()
                .all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        );
    }
}
