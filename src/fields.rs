//! One table of named fields: the name a user types (`-e`, `-Y`), its type, the JSON Lines
//! key that carries it, and what it means. Wireshark's names wherever Wireshark has the
//! field (`frame.number`, `tcp.stream`, `websocket.opcode`, ...); what only wsdissect knows
//! lives under `wsd.`. JSON Lines writes its keys from here, and `wsdissect fields` lists
//! the table, like `tshark -G fields`.

/// What kind of value a field holds (how it compares and prints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// A protocol or a flag-like marker: present or not.
    Protocol,
    /// True or false.
    Bool,
    /// An unsigned integer.
    UInt,
    /// A number of seconds (relative time, round-trip time).
    Seconds,
    /// An absolute time.
    AbsTime,
    /// Text.
    Str,
    /// Raw bytes.
    Bytes,
    /// An IPv4 address.
    Ipv4,
    /// An IPv6 address.
    Ipv6,
    /// An Ethernet (MAC) address.
    Ether,
    /// An address and port (`127.0.0.1:9101`, `[::1]:9104`).
    Endpoint,
    /// A JSON object.
    Object,
}

impl FieldType {
    /// The name `wsdissect fields` prints (Wireshark's type names where they exist).
    pub fn name(self) -> &'static str {
        match self {
            FieldType::Protocol => "FT_PROTOCOL",
            FieldType::Bool => "FT_BOOLEAN",
            FieldType::UInt => "FT_UINT64",
            FieldType::Seconds => "FT_RELATIVE_TIME",
            FieldType::AbsTime => "FT_ABSOLUTE_TIME",
            FieldType::Str => "FT_STRING",
            FieldType::Bytes => "FT_BYTES",
            FieldType::Ipv4 => "FT_IPv4",
            FieldType::Ipv6 => "FT_IPv6",
            FieldType::Ether => "FT_ETHER",
            FieldType::Endpoint => "FT_STRING",
            FieldType::Object => "FT_NONE",
        }
    }
}

/// One named field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field {
    /// The name a user types: `websocket.opcode`, `wsd.anomaly.kind`.
    pub name: &'static str,
    /// Its type.
    pub ty: FieldType,
    /// The key of the JSON Lines records that carry it (`""`: not in JSON Lines).
    pub json: &'static str,
    /// What it means.
    pub description: &'static str,
}

macro_rules! fields {
    ($($id:ident = ($name:literal, $ty:ident, $json:literal, $desc:literal);)*) => {
        $(
            #[doc = concat!("`", $name, "`: ", $desc)]
            pub const $id: Field = Field {
                name: $name,
                ty: FieldType::$ty,
                json: $json,
                description: $desc,
            };
        )*
        /// Every field, in the order `wsdissect fields` lists them.
        pub const ALL: &[Field] = &[$($id),*];
    };
}

/// Key of every JSON Lines record naming its record type (`handshake`, `frame`, ...).
pub const RECORD_TYPE_KEY: &str = "type";

fields! {
    // Frame (the captured packet).
    FRAME_NUMBER = ("frame.number", UInt, "packet",
        "packet number, from 1 (in frame records: the packet that completed the frame; in anomaly records: where it was noticed)");
    FRAME_TIME = ("frame.time", AbsTime, "",
        "capture time of the packet");
    FRAME_TIME_EPOCH = ("frame.time_epoch", Seconds, "ts",
        "capture time of the packet, seconds since 1970-01-01 UTC");
    FRAME_TIME_RELATIVE = ("frame.time_relative", Seconds, "time",
        "seconds since the first packet of the capture");
    FRAME_TIME_DELTA = ("frame.time_delta", Seconds, "",
        "seconds since the previous packet");
    FRAME_LEN = ("frame.len", UInt, "",
        "length of the packet on the wire");
    FRAME_CAP_LEN = ("frame.cap_len", UInt, "",
        "bytes of the packet captured");
    // Ethernet.
    ETH = ("eth", Protocol, "", "an Ethernet II header");
    ETH_SRC = ("eth.src", Ether, "", "Ethernet source address");
    ETH_DST = ("eth.dst", Ether, "", "Ethernet destination address");
    ETH_ADDR = ("eth.addr", Ether, "", "Ethernet source or destination address");
    // IP.
    IP = ("ip", Protocol, "", "an IPv4 header");
    IP_SRC = ("ip.src", Ipv4, "", "IPv4 source address");
    IP_DST = ("ip.dst", Ipv4, "", "IPv4 destination address");
    IP_ADDR = ("ip.addr", Ipv4, "", "IPv4 source or destination address");
    IPV6 = ("ipv6", Protocol, "", "an IPv6 header");
    IPV6_SRC = ("ipv6.src", Ipv6, "", "IPv6 source address");
    IPV6_DST = ("ipv6.dst", Ipv6, "", "IPv6 destination address");
    IPV6_ADDR = ("ipv6.addr", Ipv6, "", "IPv6 source or destination address");
    // TCP.
    TCP = ("tcp", Protocol, "", "a TCP segment");
    TCP_SRCPORT = ("tcp.srcport", UInt, "", "TCP source port");
    TCP_DSTPORT = ("tcp.dstport", UInt, "", "TCP destination port");
    TCP_PORT = ("tcp.port", UInt, "", "TCP source or destination port");
    TCP_STREAM = ("tcp.stream", UInt, "conn",
        "connection number: TCP connections numbered from 0 in order of their first packet, as Wireshark's stream index");
    TCP_LEN = ("tcp.len", UInt, "", "TCP payload length");
    TCP_SEQ = ("tcp.seq", UInt, "", "relative sequence number");
    TCP_ACK = ("tcp.ack", UInt, "", "relative acknowledgment number");
    TCP_FLAGS_SYN = ("tcp.flags.syn", Bool, "", "SYN flag");
    TCP_FLAGS_ACK = ("tcp.flags.ack", Bool, "", "ACK flag");
    TCP_FLAGS_FIN = ("tcp.flags.fin", Bool, "", "FIN flag");
    TCP_FLAGS_RESET = ("tcp.flags.reset", Bool, "", "RST flag");
    TCP_FLAGS_PUSH = ("tcp.flags.push", Bool, "", "PSH flag");
    TCP_ANALYSIS_RETRANSMISSION = ("tcp.analysis.retransmission", Protocol, "",
        "Wireshark's TCP analysis: a retransmission");
    TCP_ANALYSIS_FAST_RETRANSMISSION = ("tcp.analysis.fast_retransmission", Protocol, "",
        "Wireshark's TCP analysis: a fast retransmission");
    TCP_ANALYSIS_SPURIOUS_RETRANSMISSION = ("tcp.analysis.spurious_retransmission", Protocol, "",
        "Wireshark's TCP analysis: a spurious retransmission");
    TCP_ANALYSIS_OUT_OF_ORDER = ("tcp.analysis.out_of_order", Protocol, "",
        "Wireshark's TCP analysis: out of order");
    TCP_ANALYSIS_LOST_SEGMENT = ("tcp.analysis.lost_segment", Protocol, "",
        "Wireshark's TCP analysis: previous segment not captured");
    TCP_ANALYSIS_ACK_LOST_SEGMENT = ("tcp.analysis.ack_lost_segment", Protocol, "",
        "Wireshark's TCP analysis: ACKed segment that was not captured");
    TCP_ANALYSIS_DUPLICATE_ACK = ("tcp.analysis.duplicate_ack", Protocol, "",
        "Wireshark's TCP analysis: a duplicate ACK");
    TCP_ANALYSIS_WINDOW_UPDATE = ("tcp.analysis.window_update", Protocol, "",
        "Wireshark's TCP analysis: a window update");
    TCP_ANALYSIS_WINDOW_FULL = ("tcp.analysis.window_full", Protocol, "",
        "Wireshark's TCP analysis: the window is full");
    TCP_ANALYSIS_ZERO_WINDOW = ("tcp.analysis.zero_window", Protocol, "",
        "Wireshark's TCP analysis: a zero window");
    TCP_ANALYSIS_KEEP_ALIVE = ("tcp.analysis.keep_alive", Protocol, "",
        "Wireshark's TCP analysis: a keep-alive");
    TCP_ANALYSIS_KEEP_ALIVE_ACK = ("tcp.analysis.keep_alive_ack", Protocol, "",
        "Wireshark's TCP analysis: an ACK of a keep-alive");
    // HTTP.
    HTTP = ("http", Protocol, "", "an HTTP message");
    HTTP_REQUEST = ("http.request", Bool, "", "the HTTP message is a request (present only then)");
    HTTP_RESPONSE = ("http.response", Bool, "", "the HTTP message is a response (present only then)");
    HTTP_REQUEST_METHOD = ("http.request.method", Str, "method", "HTTP request method");
    HTTP_REQUEST_URI = ("http.request.uri", Str, "path", "HTTP request target (path and query)");
    HTTP_HOST = ("http.host", Str, "host", "the Host header");
    HTTP_RESPONSE_CODE = ("http.response.code", UInt, "status", "HTTP response status code");
    HTTP_RESPONSE_PHRASE = ("http.response.phrase", Str, "reason", "HTTP response reason phrase");
    HTTP_UPGRADE = ("http.upgrade", Str, "", "the Upgrade header");
    HTTP_CONNECTION = ("http.connection", Str, "", "the Connection header");
    HTTP_SEC_WEBSOCKET_KEY = ("http.sec_websocket_key", Str, "key", "Sec-WebSocket-Key of the upgrade request");
    HTTP_SEC_WEBSOCKET_ACCEPT = ("http.sec_websocket_accept", Str, "accept", "Sec-WebSocket-Accept of the 101 response");
    HTTP_SEC_WEBSOCKET_VERSION = ("http.sec_websocket_version", Str, "version", "Sec-WebSocket-Version of the upgrade request");
    HTTP_SEC_WEBSOCKET_PROTOCOL = ("http.sec_websocket_protocol", Str, "subprotocol",
        "Sec-WebSocket-Protocol (in handshake records: the subprotocol the server selected)");
    HTTP_SEC_WEBSOCKET_EXTENSIONS = ("http.sec_websocket_extensions", Str, "extensions",
        "Sec-WebSocket-Extensions (in handshake records: what the server accepted)");
    // WebSocket.
    WEBSOCKET = ("websocket", Protocol, "", "a WebSocket frame");
    WS_FIN = ("websocket.fin", Bool, "fin", "FIN: the last frame of a message");
    WS_RSV = ("websocket.rsv", UInt, "rsv", "the RSV bits (0-7, RSV1 = 4)");
    WS_PMC = ("websocket.pmc", Bool, "", "RSV1 read as permessage-deflate's \"compressed\" bit");
    WS_OPCODE = ("websocket.opcode", UInt, "opcode", "opcode (0 continuation, 1 text, 2 binary, 8 close, 9 ping, 10 pong)");
    WS_MASK = ("websocket.mask", Bool, "masked", "whether the payload is masked");
    WS_PAYLOAD_LENGTH = ("websocket.payload_length", UInt, "payload_len",
        "payload length the header declares (-Y/-e: the 7-bit field as in Wireshark, 126 or 127 announcing an extended length; JSON: the length)");
    WS_PAYLOAD_LENGTH_EXT_16 = ("websocket.payload_length_ext_16", UInt, "", "16-bit extended payload length");
    WS_PAYLOAD_LENGTH_EXT_64 = ("websocket.payload_length_ext_64", UInt, "", "64-bit extended payload length");
    WS_MASKING_KEY = ("websocket.masking_key", Bytes, "mask_key", "masking key (JSON: 8 hex digits or null)");
    WS_PAYLOAD = ("websocket.payload", Bytes, "payload_b64", "unmasked payload as carried in the frame (JSON: base64)");
    WS_PAYLOAD_TEXT = ("websocket.payload.text", Str, "text", "payload of a complete Text frame that is valid UTF-8");
    WS_CLOSE_STATUS_CODE = ("websocket.payload.close.status_code", UInt, "close_code", "status code of a Close frame");
    WS_CLOSE_REASON = ("websocket.payload.close.reason", Str, "close_reason", "reason text of a Close frame");
    WS_PAYLOAD_PING = ("websocket.payload.ping", Bytes, "", "payload of a Ping frame");
    WS_PAYLOAD_PONG = ("websocket.payload.pong", Bytes, "", "payload of a Pong frame");
    // TLS.
    TLS = ("tls", Protocol, "", "a TLS record");
    TLS_VERSION = ("tls.handshake.version", Str, "version", "negotiated TLS version (in tls records: TLSv1.2, TLSv1.3)");
    TLS_CIPHER_SUITE = ("tls.handshake.ciphersuite", UInt, "cipher_suite", "negotiated cipher suite (IANA number)");
    TLS_SNI = ("tls.handshake.extensions_server_name", Str, "sni", "Server Name Indication of the ClientHello");
    TLS_ALPN = ("tls.handshake.extensions_alpn_str", Str, "alpn", "protocol the server selected by ALPN");
    WSD_TLS_DECRYPTED = ("wsd.tls.decrypted", Bool, "decrypted", "the connection's records were decrypted with the key log");
    WSD_TLS_STATUS = ("wsd.tls.status", Str, "status", "decrypted, or why not (no key for this client random, capture started after the handshake, ...)");
    WSD_TLS_RECORDS = ("wsd.tls.records", UInt, "records", "TLS records seen, both directions");
    WSD_TLS_DECRYPTED_RECORDS = ("wsd.tls.decrypted_records", UInt, "decrypted_records", "TLS records decrypted and authenticated");
    // Application protocols (payload decoders; each protocol's own fields are listed by
    // `wsdissect decoders`).
    WSD_APP = ("wsd.app", Object, "app",
        "in message records: the application packet the payload decoder read (protocol, chosen_by, summary and the protocol's fields)");
    WSD_APP_PACKETS = ("wsd.app.packets", Object, "app_packets",
        "in message records: every application packet, when the message held several");
    WSD_APP_ANSWERED = ("wsd.app.answered", Bool, "answered",
        "in app_exchange records: the request was answered (else it was still waiting when the connection ended)");
    // What wsdissect adds.
    WSD_DIRECTION = ("wsd.direction", Str, "dir", "c2s (client to server) or s2c");
    WSD_OPCODE_NAME = ("wsd.opcode_name", Str, "opcode_name", "the opcode's name (Text, Binary, Close, ...)");
    WSD_CLOSE_NAME = ("wsd.close.name", Str, "close_name", "the close code's name (Normal Closure, ...)");
    WSD_FRAME_FIRST_PACKET = ("wsd.frame.first_packet", UInt, "first_packet", "packet that carried the frame's first byte");
    WSD_PAYLOAD_COMPLETE = ("wsd.payload_complete", Bool, "payload_complete",
        "the payload shown is whole (not capped by --max-payload, nothing lost in a TCP gap)");
    WSD_MESSAGE_LEN = ("wsd.message.len", UInt, "len", "message length after joining fragments and inflating");
    WSD_MESSAGE_FRAMES = ("wsd.message.frames", UInt, "frames", "frames the message spanned");
    WSD_MESSAGE_FIRST_PACKET = ("wsd.message.first_packet", UInt, "first_packet", "packet that carried the message's first byte");
    WSD_MESSAGE_LAST_PACKET = ("wsd.message.last_packet", UInt, "last_packet", "packet that completed the message");
    WSD_MESSAGE_FIRST_TIME = ("wsd.message.first_time", Seconds, "first_time", "time of the message's first packet, seconds since the first packet of the capture");
    WSD_MESSAGE_COMPRESSED = ("wsd.message.compressed", Bool, "compressed", "the message was compressed (permessage-deflate)");
    WSD_MESSAGE_WIRE_LEN = ("wsd.message.wire_len", UInt, "wire_len", "sum of the frames' payload lengths as carried on the wire");
    WSD_MESSAGE_PAYLOAD = ("wsd.message.payload", Bytes, "payload_b64", "the message (joined, inflated; JSON: base64)");
    WSD_MESSAGE_TEXT = ("wsd.message.text", Str, "text", "a complete Text message that is valid UTF-8");
    WSD_PING_DIR = ("wsd.ping.dir", Str, "ping_dir", "direction of the ping a pong answered");
    WSD_PING_PACKET = ("wsd.ping.packet", UInt, "ping_packet", "packet of the ping");
    WSD_PONG_PACKET = ("wsd.pong.packet", UInt, "pong_packet", "packet of the pong that echoed it");
    WSD_PING_RTT = ("wsd.ping.rtt", Seconds, "rtt", "ping round-trip time in seconds");
    WSD_PING_PAYLOAD_LEN = ("wsd.ping.payload_len", UInt, "payload_len", "length of the echoed payload");
    WSD_CLIENT = ("wsd.client", Endpoint, "client", "the client's address and port");
    WSD_SERVER = ("wsd.server", Endpoint, "server", "the server's address and port");
    WSD_REQUEST_PACKET = ("wsd.handshake.request_packet", UInt, "request_packet", "packet that completed the upgrade request");
    WSD_RESPONSE_PACKET = ("wsd.handshake.response_packet", UInt, "response_packet", "packet that completed the response");
    WSD_ORIGIN = ("wsd.handshake.origin", Str, "origin", "the Origin header of the upgrade request");
    WSD_REQUESTED_PROTOCOLS = ("wsd.handshake.requested_protocols", Str, "requested_protocols", "Sec-WebSocket-Protocol of the upgrade request");
    WSD_REQUESTED_EXTENSIONS = ("wsd.handshake.requested_extensions", Str, "requested_extensions", "Sec-WebSocket-Extensions of the upgrade request");
    WSD_UPGRADED = ("wsd.handshake.upgraded", Bool, "upgraded", "the server switched to WebSocket (101 naming websocket)");
    WSD_ACCEPT_EXPECTED = ("wsd.accept.expected", Str, "expected_accept", "the Sec-WebSocket-Accept the key calls for");
    WSD_ACCEPT_OK = ("wsd.accept.ok", Bool, "accept_ok", "Sec-WebSocket-Accept matches the key");
    WSD_CONNECTION_STATE = ("wsd.connection.state", Str, "state",
        "how far the upgrade got: upgraded, refused, requested (no answer captured), assumed (--ws-port)");
    WSD_CONNECTION_FIRST_PACKET = ("wsd.connection.first_packet", UInt, "first_packet", "first packet of the connection");
    WSD_CONNECTION_LAST_PACKET = ("wsd.connection.last_packet", UInt, "last_packet", "last packet of the connection");
    WSD_FRAMES_C2S = ("wsd.connection.frames_c2s", UInt, "frames_c2s", "frames from the client");
    WSD_FRAMES_S2C = ("wsd.connection.frames_s2c", UInt, "frames_s2c", "frames from the server");
    WSD_PAYLOAD_BYTES_C2S = ("wsd.connection.payload_bytes_c2s", UInt, "payload_bytes_c2s", "WebSocket payload bytes from the client");
    WSD_PAYLOAD_BYTES_S2C = ("wsd.connection.payload_bytes_s2c", UInt, "payload_bytes_s2c", "WebSocket payload bytes from the server");
    WSD_CLOSE_C2S = ("wsd.connection.close_c2s", Object, "close_c2s", "the client's Close frame: {\"code\": N or null}, or null");
    WSD_CLOSE_S2C = ("wsd.connection.close_s2c", Object, "close_s2c", "the server's Close frame: {\"code\": N or null}, or null");
    WSD_TCP_END = ("wsd.connection.tcp_end", Str, "tcp_end", "how TCP ended: open, closed, half-closed, reset");
    WSD_ANOMALY = ("wsd.anomaly", Protocol, "", "an anomaly was raised in the packet");
    WSD_ANOMALY_SEVERITY = ("wsd.anomaly.severity", Str, "severity", "note, warning or error");
    WSD_ANOMALY_KIND = ("wsd.anomaly.kind", Str, "kind", "the rule's stable name (see the rule table)");
    WSD_ANOMALY_MESSAGE = ("wsd.anomaly.message", Str, "message", "what was found");
    WSD_CAPTURE_ERROR_PACKETS = ("wsd.capture_error.packets_read", UInt, "packets_read", "packets read before the capture became unreadable");
    WSD_CAPTURE_ERROR_MESSAGE = ("wsd.capture_error.message", Str, "message", "why the capture could not be read further");
}

/// A field made at start-up from a registry of a higher layer, not listed in [`ALL`]: the
/// application protocols' fields (`socketio.event`, `jsonrpc.id`, ...), one per field a
/// payload decoder declares, named `<protocol prefix>.<field>` (see `payload::app_fields`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynField {
    /// The name a user types.
    pub name: String,
    /// Its type.
    pub ty: FieldType,
    /// The protocol's field prefix (`socketio`).
    pub prefix: &'static str,
    /// The key of the field in JSON Lines `app` objects; `None` for the protocol itself
    /// (present when a packet of it was decoded).
    pub key: Option<&'static str>,
    /// What it means.
    pub description: String,
}

/// The field named `name`.
pub fn field(name: &str) -> Option<&'static Field> {
    ALL.iter().find(|f| f.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn names_are_unique_and_well_formed() {
        let mut seen = BTreeSet::new();
        for f in ALL {
            assert!(seen.insert(f.name), "{} twice", f.name);
            assert!(
                f.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._".contains(&b)),
                "{}",
                f.name
            );
            // JSON keys are written unescaped: plain ASCII names only.
            assert!(
                f.json
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'_' || b.is_ascii_digit()),
                "{}",
                f.json
            );
            assert!(!f.description.is_empty());
        }
        assert_eq!(field("websocket.opcode"), Some(&WS_OPCODE));
    }
}
