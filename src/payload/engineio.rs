//! Engine.IO v3 and v4 packets (the transport under Socket.IO): one packet per WebSocket
//! message, several per HTTP long-polling body.
//!
//! Packet: a type digit (`0` open … `6` noop) and data; binary data travels in a binary
//! WebSocket message (v4: raw; v3: after a `0x04` type byte) or, in polling bodies, as
//! `b` + base64 (v4) / `b4` + base64 (v3). Polling bodies: v4 separates packets with 0x1e;
//! v3 prefixes each with its length in characters and `:` (text), or with a 0/1 byte,
//! decimal digit bytes and 0xff (binary bodies).

use base64::Engine as _;

/// Record separator between packets in an Engine.IO v4 polling body.
pub const SEPARATOR_V4: u8 = 0x1e;
/// Ends the length digits of a packet in an Engine.IO v3 binary polling body.
const V3_BINARY_LENGTH_END: u8 = 0xff;
/// Most digits accepted in a v3 length prefix (a longer number cannot fit in a body).
const V3_MAX_LENGTH_DIGITS: usize = 10;

/// Engine.IO packet type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PacketType {
    /// `0`: handshake from the server (JSON with sid, upgrades, pingInterval…).
    Open,
    /// `1`: the transport closes.
    Close,
    /// `2`: heartbeat (v4: from the server; v3: from the client) or `2probe`.
    Ping,
    /// `3`: heartbeat answer or `3probe`.
    Pong,
    /// `4`: application data (Socket.IO packets).
    Message,
    /// `5`: the client switches to the probed transport.
    Upgrade,
    /// `6`: no operation (ends a pending poll during upgrade).
    Noop,
}

impl PacketType {
    /// The type of digit `b`.
    pub fn from_digit(b: u8) -> Option<PacketType> {
        Some(match b {
            b'0' => PacketType::Open,
            b'1' => PacketType::Close,
            b'2' => PacketType::Ping,
            b'3' => PacketType::Pong,
            b'4' => PacketType::Message,
            b'5' => PacketType::Upgrade,
            b'6' => PacketType::Noop,
            _ => return None,
        })
    }

    /// From the numeric type (v3 binary type byte).
    pub fn from_number(n: u8) -> Option<PacketType> {
        n.checked_add(b'0').and_then(PacketType::from_digit)
    }

    /// Lowercase name as in the protocol document.
    pub fn name(self) -> &'static str {
        match self {
            PacketType::Open => "open",
            PacketType::Close => "close",
            PacketType::Ping => "ping",
            PacketType::Pong => "pong",
            PacketType::Message => "message",
            PacketType::Upgrade => "upgrade",
            PacketType::Noop => "noop",
        }
    }
}

/// One Engine.IO packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Its type.
    pub kind: PacketType,
    /// Its data (text bytes, or the decoded binary).
    pub data: Vec<u8>,
    /// Whether the data is binary.
    pub binary: bool,
}

/// Why an Engine.IO packet or payload could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineIoError {
    /// Nothing to read.
    Empty,
    /// The first byte is not a packet type (offset of the byte).
    UnknownType {
        /// Offset in the message or body.
        offset: usize,
        /// The byte.
        byte: u8,
    },
    /// Base64 binary data that does not decode.
    BadBase64 {
        /// Offset of the packet.
        offset: usize,
    },
    /// A v3 length prefix that is missing, not a number, or runs past the body.
    BadLength {
        /// Offset of the prefix.
        offset: usize,
    },
}

impl std::fmt::Display for EngineIoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EngineIoError::Empty => write!(f, "engine.io: empty packet"),
            EngineIoError::UnknownType { offset, byte } => {
                write!(
                    f,
                    "engine.io: unknown packet type 0x{byte:02x} at offset {offset}"
                )
            }
            EngineIoError::BadBase64 { offset } => {
                write!(f, "engine.io: bad base64 binary packet at offset {offset}")
            }
            EngineIoError::BadLength { offset } => {
                write!(f, "engine.io: bad v3 length prefix at offset {offset}")
            }
        }
    }
}

impl std::error::Error for EngineIoError {}

/// Reads one packet from a text WebSocket message (or one polling packet at `offset`).
pub fn parse_text(bytes: &[u8], offset: usize) -> Result<Packet, EngineIoError> {
    let (&first, rest) = bytes.split_first().ok_or(EngineIoError::Empty)?;
    if first == b'b' {
        return parse_base64(rest, offset);
    }
    let kind = PacketType::from_digit(first).ok_or(EngineIoError::UnknownType {
        offset,
        byte: first,
    })?;
    Ok(Packet {
        kind,
        data: rest.to_vec(),
        binary: false,
    })
}

/// `b` + base64 (v4: a message) or `b` + type digit + base64 (v3).
fn parse_base64(rest: &[u8], offset: usize) -> Result<Packet, EngineIoError> {
    let engine = base64::engine::general_purpose::STANDARD;
    if let Ok(data) = engine.decode(rest) {
        return Ok(Packet {
            kind: PacketType::Message,
            data,
            binary: true,
        });
    }
    if let Some((&t, b64)) = rest.split_first()
        && let (Some(kind), Ok(data)) = (PacketType::from_digit(t), engine.decode(b64))
    {
        return Ok(Packet {
            kind,
            data,
            binary: true,
        });
    }
    Err(EngineIoError::BadBase64 { offset })
}

/// Reads one packet from a binary WebSocket message: v4 carries raw message data, v3
/// prefixes a type byte.
pub fn parse_binary(version: u8, bytes: &[u8]) -> Result<Packet, EngineIoError> {
    if version >= 4 {
        return Ok(Packet {
            kind: PacketType::Message,
            data: bytes.to_vec(),
            binary: true,
        });
    }
    let (&t, rest) = bytes.split_first().ok_or(EngineIoError::Empty)?;
    let kind =
        PacketType::from_number(t).ok_or(EngineIoError::UnknownType { offset: 0, byte: t })?;
    Ok(Packet {
        kind,
        data: rest.to_vec(),
        binary: true,
    })
}

/// Splits an HTTP long-polling body into packets. Each packet is its own result, so one
/// bad packet does not hide the others; a v3 framing error ends the list.
pub fn parse_payload(version: u8, body: &[u8]) -> Vec<Result<Packet, EngineIoError>> {
    let mut out = Vec::new();
    if body.is_empty() {
        return out;
    }
    if version >= 4 {
        let mut offset = 0;
        for part in body.split(|&b| b == SEPARATOR_V4) {
            out.push(parse_text(part, offset));
            offset += part.len() + 1;
        }
        return out;
    }
    match body.first() {
        Some(0) | Some(1) => parse_v3_binary_payload(body, &mut out),
        _ => parse_v3_text_payload(body, &mut out),
    }
    out
}

/// `<length in characters>:<packet>` repeated. The length counts UTF-16 code units (the
/// JavaScript string length the encoder used).
fn parse_v3_text_payload(body: &[u8], out: &mut Vec<Result<Packet, EngineIoError>>) {
    let Ok(text) = std::str::from_utf8(body) else {
        out.push(Err(EngineIoError::BadLength { offset: 0 }));
        return;
    };
    let mut pos = 0;
    while pos < text.len() {
        let rest = &text[pos..];
        let Some(colon) = rest
            .find(':')
            .filter(|&c| c > 0 && c <= V3_MAX_LENGTH_DIGITS)
        else {
            out.push(Err(EngineIoError::BadLength { offset: pos }));
            return;
        };
        let Ok(units) = rest[..colon].parse::<usize>() else {
            out.push(Err(EngineIoError::BadLength { offset: pos }));
            return;
        };
        let start = colon + 1;
        let mut counted = 0;
        let mut end = start;
        for c in rest[start..].chars() {
            if counted >= units {
                break;
            }
            counted += c.len_utf16();
            end += c.len_utf8();
        }
        if counted != units {
            out.push(Err(EngineIoError::BadLength { offset: pos }));
            return;
        }
        out.push(parse_text(&rest.as_bytes()[start..end], pos + start));
        pos += end;
    }
}

/// `<0|1><decimal digit bytes><0xff><packet>` repeated (v3 XHR2 binary body).
fn parse_v3_binary_payload(body: &[u8], out: &mut Vec<Result<Packet, EngineIoError>>) {
    let mut pos = 0;
    while pos < body.len() {
        let bad = EngineIoError::BadLength { offset: pos };
        let Some(&flag) = body.get(pos) else { return };
        let Some(rel_end) = body[pos + 1..]
            .iter()
            .take(V3_MAX_LENGTH_DIGITS + 1)
            .position(|&b| b == V3_BINARY_LENGTH_END)
        else {
            out.push(Err(bad));
            return;
        };
        let digits = &body[pos + 1..pos + 1 + rel_end];
        if digits.is_empty() || flag > 1 || digits.iter().any(|&d| d > 9) {
            out.push(Err(bad));
            return;
        }
        let len = digits.iter().fold(0usize, |n, &d| n * 10 + usize::from(d));
        let start = pos + 1 + rel_end + 1;
        let Some(packet) = start.checked_add(len).and_then(|end| body.get(start..end)) else {
            out.push(Err(bad));
            return;
        };
        out.push(if flag == 0 {
            parse_text(packet, start)
        } else {
            parse_binary(3, packet)
        });
        pos = start + len;
    }
}

/// What a request-target says about Engine.IO: `/socket.io/?EIO=4&transport=polling&sid=…`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineIoRequest {
    /// The `EIO` protocol version (3 or 4; 4 when absent).
    pub version: u8,
    /// `polling` or `websocket` (or whatever the query said, capped).
    pub transport: String,
    /// The session id, once the handshake gave one.
    pub sid: Option<String>,
    /// The path is the Socket.IO default (`/socket.io/`), not bare Engine.IO.
    pub socketio_path: bool,
}

impl EngineIoRequest {
    /// Long-polling (before the upgrade or instead of it).
    pub fn is_polling(&self) -> bool {
        self.transport == "polling"
    }
}

/// Recognises an Engine.IO request: a path containing `/socket.io/` or `/engine.io/`, or a
/// query with both `EIO=` and `transport=`.
pub fn request(uri: &str) -> Option<EngineIoRequest> {
    let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
    let socketio_path = path.contains("/socket.io/") || path.ends_with("/socket.io");
    let engineio_path = path.contains("/engine.io/") || path.ends_with("/engine.io");
    let mut version = None;
    let mut transport = None;
    let mut sid = None;
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        match k {
            "EIO" => version = v.parse::<u8>().ok(),
            "transport" => transport = Some(super::bound::cap_str(v, 32)),
            "sid" => sid = Some(super::bound::cap_str(v, super::bound::MAX_ID)),
            _ => {}
        }
    }
    if !(socketio_path || engineio_path || (version.is_some() && transport.is_some())) {
        return None;
    }
    Some(EngineIoRequest {
        version: version.unwrap_or(4),
        transport: transport.unwrap_or_default(),
        sid,
        socketio_path: socketio_path || !engineio_path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(r: &Result<Packet, EngineIoError>) -> (PacketType, &[u8], bool) {
        let p = r.as_ref().unwrap();
        (p.kind, p.data.as_slice(), p.binary)
    }

    // Examples from the Engine.IO protocol document and engine.io-parser's v3→v4 changelog.
    #[test]
    fn text_packets() {
        let p = parse_text(b"4hello", 0).unwrap();
        assert_eq!(
            (p.kind, p.data.as_slice()),
            (PacketType::Message, &b"hello"[..])
        );
        assert_eq!(parse_text(b"2probe", 0).unwrap().kind, PacketType::Ping);
        assert_eq!(parse_text(b"3probe", 0).unwrap().data, b"probe");
        assert_eq!(parse_text(b"6", 0).unwrap().kind, PacketType::Noop);
        assert_eq!(
            parse_text(b"9x", 3),
            Err(EngineIoError::UnknownType {
                offset: 3,
                byte: b'9'
            })
        );
        assert_eq!(parse_text(b"", 0), Err(EngineIoError::Empty));
    }

    #[test]
    fn binary_messages_v3_and_v4() {
        let p = parse_binary(4, &[1, 2, 3]).unwrap();
        assert_eq!(
            (p.kind, p.data.as_slice()),
            (PacketType::Message, &[1u8, 2, 3][..])
        );
        let p = parse_binary(3, &[4, 1, 2, 3]).unwrap();
        assert_eq!(
            (p.kind, p.data.as_slice()),
            (PacketType::Message, &[1u8, 2, 3][..])
        );
        assert!(parse_binary(3, &[9]).is_err());
    }

    #[test]
    fn v4_payloads() {
        let r = parse_payload(4, "4hello\x1e4€€€".as_bytes());
        assert_eq!(ok(&r[0]), (PacketType::Message, &b"hello"[..], false));
        assert_eq!(ok(&r[1]), (PacketType::Message, "€€€".as_bytes(), false));
        let r = parse_payload(4, b"4hello\x1ebAQID");
        assert_eq!(ok(&r[1]), (PacketType::Message, &[1u8, 2, 3][..], true));
        let r = parse_payload(4, b"2probe\x1e4hello\x1e1");
        assert_eq!(r.len(), 3);
        assert_eq!(ok(&r[2]).0, PacketType::Close);
    }

    #[test]
    fn v3_payloads() {
        let r = parse_payload(3, "6:4hello4:4€€€".as_bytes());
        assert_eq!(r.len(), 2);
        assert_eq!(ok(&r[0]), (PacketType::Message, &b"hello"[..], false));
        assert_eq!(ok(&r[1]), (PacketType::Message, "€€€".as_bytes(), false));
        let body = [
            0, 6, 0xff, b'4', b'h', b'e', b'l', b'l', b'o', 1, 4, 0xff, 4, 1, 2, 3,
        ];
        let r = parse_payload(3, &body);
        assert_eq!(ok(&r[0]), (PacketType::Message, &b"hello"[..], false));
        assert_eq!(ok(&r[1]), (PacketType::Message, &[1u8, 2, 3][..], true));
        // a length running past the body
        assert!(matches!(
            parse_payload(3, b"9:4hi")[..],
            [Err(EngineIoError::BadLength { .. })]
        ));
        assert!(parse_payload(3, &[0, 9, 9, 0xff, b'4'])[0].is_err());
    }

    #[test]
    fn requests() {
        let r = request("/socket.io/?EIO=4&transport=polling&t=N8hyd6w").unwrap();
        assert_eq!(
            (r.version, r.is_polling(), r.socketio_path),
            (4, true, true)
        );
        let r = request("/socket.io/?EIO=3&transport=websocket&sid=abc").unwrap();
        assert_eq!((r.version, r.sid.as_deref()), (3, Some("abc")));
        assert!(
            !request("/engine.io/?EIO=4&transport=websocket")
                .unwrap()
                .socketio_path
        );
        assert!(request("/chat").is_none());
    }

    #[test]
    fn mutated_payloads_do_not_panic() {
        let seeds: [&[u8]; 3] = [
            "6:4hello4:4€€€".as_bytes(),
            &[
                0, 6, 0xff, b'4', b'h', b'e', b'l', b'l', b'o', 1, 4, 0xff, 4, 1, 2, 3,
            ],
            b"4hello\x1ebAQID\x1eb4AQID",
        ];
        for s in seeds {
            for i in 0..s.len() {
                for b in [0u8, 1, 9, b':', 0xff, 0x1e, b'b', b'9'] {
                    let mut v = s.to_vec();
                    v[i] = b;
                    for ver in [3, 4] {
                        let _ = parse_payload(ver, &v);
                        let _ = parse_payload(ver, &v[i..]);
                        let _ = parse_binary(ver, &v[..i]);
                    }
                }
            }
        }
    }
}
