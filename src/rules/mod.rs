//! The rules of RFC 6455 (and RFC 7692) that a passive observer can check, each an
//! anomaly kind with a stable name and a severity.
//!
//! [`Checker`] holds the little per-connection state the rules need (what the handshake
//! negotiated, which side has sent its Close) and is called by the connection state
//! machine at the right moments: request and response heads, every frame, every
//! message, the end of the connection. It reports [`Finding`]s; the caller adds the
//! connection and packet and turns them into [`Anomaly`](crate::event::Anomaly) events.
//! [`ALL`] lists every kind, for documentation and for the `check` command.

use crate::flow::TcpEnd;
use crate::flow::analysis::Direction;
use crate::http::accept::{self, AcceptVerdict};
use crate::http::extensions::{self, DeflateParams, NegotiationProblem, Side};
use crate::http::head::{Request, Response};
use crate::ws::close::{CloseCode, parse_close_body};
use crate::ws::decoder::DecodedFrame;
use crate::ws::frame::{FrameHeader, RSV1, RSV2, RSV3};
use crate::ws::message::{Fragmentation, InflateProblem, MAX_CONTROL_PAYLOAD, Message};
use crate::ws::opcode::OpCode;
use crate::ws::utf8::{self, Utf8Verdict};

/// How serious an anomaly is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// Worth knowing.
    Note,
    /// Probably a problem.
    Warning,
    /// A protocol violation or a failed check.
    Error,
}

impl Severity {
    /// `note`, `warning` or `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Note => "note",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// An anomaly kind: stable name, severity, rule group, one-line description citing the
/// rule. Kinds are compared by name: each name is defined once, in this table.
#[derive(Debug, Clone, Copy, Eq)]
pub struct Kind {
    /// Stable kebab-case name.
    pub name: &'static str,
    /// How serious it is.
    pub severity: Severity,
    /// Where `check` files it (one JUnit test case per group).
    pub group: RuleGroup,
    /// What the rule says, with its source.
    pub description: &'static str,
}

impl PartialEq for Kind {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

/// A group of related rules: one JUnit test case per capture and group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RuleGroup {
    /// The HTTP upgrade exchange (accept key, key, version, refused upgrades, HTTP heads).
    Handshake,
    /// Frame headers: masking, RSV bits, opcodes, lengths, fragmentation.
    Framing,
    /// Whole messages: UTF-8 of text, permessage-deflate inflation.
    Messages,
    /// The closing handshake: close bodies and codes, data after Close.
    Close,
    /// TCP and the connection as a whole: gaps, resets, unanswered closes, capture errors.
    Connection,
    /// The CI expectations (`expect-*`).
    Expectations,
    /// TLS records, handshake and decryption (wss://).
    Tls,
    /// Application protocols inside the messages (Socket.IO, GraphQL, JSON-RPC, ...).
    App,
}

impl RuleGroup {
    /// Every group, in report order.
    pub const ALL: [RuleGroup; 8] = [
        RuleGroup::Handshake,
        RuleGroup::Framing,
        RuleGroup::Messages,
        RuleGroup::Close,
        RuleGroup::Connection,
        RuleGroup::Expectations,
        RuleGroup::Tls,
        RuleGroup::App,
    ];

    /// The test case name.
    pub fn name(self) -> &'static str {
        match self {
            RuleGroup::Handshake => "handshake",
            RuleGroup::Framing => "framing",
            RuleGroup::Messages => "messages/utf-8",
            RuleGroup::Close => "close",
            RuleGroup::Connection => "tcp/connection",
            RuleGroup::Expectations => "expectations",
            RuleGroup::Tls => "tls",
            RuleGroup::App => "application",
        }
    }
}

macro_rules! kinds {
    ($($id:ident = ($name:literal, $sev:ident, $group:ident, $desc:literal);)*) => {
        $(
            #[doc = concat!("`", $name, "`: ", $desc)]
            pub const $id: Kind = Kind {
                name: $name,
                severity: Severity::$sev,
                group: RuleGroup::$group,
                description: $desc,
            };
        )*
        /// Every kind of this table, in table order.
        pub const ALL: &[Kind] = &[$($id),*];
    };
}

kinds! {
    // Opening handshake.
    METHOD_NOT_GET = ("method-not-get", Error, Handshake,
        "the upgrade request's method must be GET (RFC 6455 §4.1)");
    HTTP_VERSION_TOO_OLD = ("http-version-too-old", Error, Handshake,
        "the upgrade request must be HTTP/1.1 or later (RFC 6455 §4.1)");
    MISSING_HOST = ("missing-host", Error, Handshake,
        "the upgrade request must have a Host header (RFC 6455 §4.1)");
    MISSING_KEY = ("missing-key", Error, Handshake,
        "the upgrade request must have a Sec-WebSocket-Key (RFC 6455 §4.1)");
    BAD_KEY = ("bad-key", Error, Handshake,
        "Sec-WebSocket-Key must be the base64 encoding of a 16-byte nonce (RFC 6455 §4.1)");
    BAD_VERSION = ("bad-version", Error, Handshake,
        "Sec-WebSocket-Version must be 13 (RFC 6455 §4.1)");
    BAD_EXTENSION_OFFER = ("bad-extension-offer", Warning, Handshake,
        "the client's Sec-WebSocket-Extensions is malformed or has invalid permessage-deflate parameters; a server must decline it (RFC 6455 §9.1, RFC 7692 §7.1)");
    FRAMES_BEFORE_101 = ("frames-before-101", Error, Handshake,
        "the client must wait for the server's response before sending data (RFC 6455 §4.1)");
    UPGRADE_REFUSED = ("upgrade-refused", Warning, Handshake,
        "the server answered the upgrade request with a status other than 101 (RFC 6455 §4.2.2)");
    UPGRADE_NOT_WEBSOCKET = ("upgrade-not-websocket", Error, Handshake,
        "a 101 answer to a WebSocket upgrade request must switch to websocket (RFC 6455 §4.2.2)");
    MISSING_UPGRADE_HEADER = ("missing-upgrade-header", Error, Handshake,
        "the 101 response must have Upgrade: websocket (RFC 6455 §4.2.2)");
    MISSING_CONNECTION_UPGRADE = ("missing-connection-upgrade", Error, Handshake,
        "the 101 response must have Connection: Upgrade (RFC 6455 §4.2.2)");
    MISSING_ACCEPT = ("missing-accept", Error, Handshake,
        "the 101 response must have a Sec-WebSocket-Accept (RFC 6455 §4.2.2)");
    ACCEPT_MISMATCH = ("accept-mismatch", Error, Handshake,
        "Sec-WebSocket-Accept must be base64(SHA-1(key + GUID)) (RFC 6455 §4.2.2)");
    UNOFFERED_SUBPROTOCOL = ("unoffered-subprotocol", Error, Handshake,
        "the server must select one of the subprotocols the client offered (RFC 6455 §4.2.2)");
    UNOFFERED_EXTENSION = ("unoffered-extension", Error, Handshake,
        "the server must accept only extensions and parameters the client offered (RFC 6455 §9.1, RFC 7692 §7.1)");
    BAD_EXTENSION_RESPONSE = ("bad-extension-response", Error, Handshake,
        "the server's Sec-WebSocket-Extensions must be well-formed with valid permessage-deflate parameters (RFC 6455 §9.1, RFC 7692 §7.1)");
    UNREQUESTED_101 = ("unrequested-101", Error, Handshake,
        "a 101 switching to websocket must answer a WebSocket upgrade request (RFC 6455 §4.2.2)");
    // Frames.
    UNMASKED_CLIENT_FRAME = ("unmasked-client-frame", Error, Framing,
        "client frames must be masked (RFC 6455 §5.1)");
    MASKED_SERVER_FRAME = ("masked-server-frame", Error, Framing,
        "server frames must not be masked (RFC 6455 §5.1)");
    RSV_WITHOUT_EXTENSION = ("rsv-without-extension", Error, Framing,
        "RSV bits must be 0 unless a negotiated extension defines them; permessage-deflate's RSV1 only on the first frame of a data message (RFC 6455 §5.2, RFC 7692 §6)");
    RESERVED_OPCODE = ("reserved-opcode", Error, Framing,
        "reserved opcodes must not be used (RFC 6455 §5.2)");
    CONTROL_FRAME_TOO_LONG = ("control-frame-too-long", Error, Framing,
        "control frames must have a payload of 125 bytes or less (RFC 6455 §5.5)");
    FRAGMENTED_CONTROL_FRAME = ("fragmented-control-frame", Error, Framing,
        "control frames must not be fragmented (RFC 6455 §5.5)");
    CONTINUATION_WITHOUT_MESSAGE = ("continuation-without-message", Error, Framing,
        "a continuation frame must continue a fragmented message (RFC 6455 §5.4)");
    NEW_MESSAGE_WHILE_FRAGMENTED = ("new-message-while-fragmented", Error, Framing,
        "a data message must not start before the fragmented one ends (RFC 6455 §5.4)");
    LENGTH_TOP_BIT = ("length-top-bit", Error, Framing,
        "the most significant bit of a 64-bit payload length must be 0 (RFC 6455 §5.2)");
    NON_MINIMAL_LENGTH = ("non-minimal-length", Error, Framing,
        "payload lengths must use the minimal number of bytes (RFC 6455 §5.2)");
    CLOSE_BODY_ONE_BYTE = ("close-body-one-byte", Error, Close,
        "a Close frame body must be empty or start with a 2-byte status code (RFC 6455 §5.5.1)");
    CLOSE_CODE_FORBIDDEN = ("close-code-forbidden", Error, Close,
        "close codes 1005, 1006 and 1015 must not be sent in a Close frame (RFC 6455 §7.4.1)");
    CLOSE_CODE_UNASSIGNED = ("close-code-unassigned", Error, Close,
        "close codes must be 1000-1003, 1007-1014 or 3000-4999 (RFC 6455 §7.4, IANA WebSocket Close Code Number Registry)");
    DATA_AFTER_CLOSE = ("data-after-close", Error, Close,
        "an endpoint must not send data frames after its Close frame (RFC 6455 §5.5.1)");
    // Messages and compression.
    INVALID_UTF8 = ("invalid-utf8", Error, Messages,
        "text messages and close reasons must be valid UTF-8 (RFC 6455 §5.6, §8.1)");
    INFLATE_FAILED = ("inflate-failed", Error, Messages,
        "a compressed message must be valid DEFLATE data (RFC 7692 §7.2.2)");
    INFLATE_CONTEXT_LOST = ("inflate-context-lost", Warning, Messages,
        "compressed messages could not be inflated: the shared sliding window is unknown (an earlier message was lost or not inflated, or the handshake was not captured)");
    DECOMPRESSION_LIMIT = ("decompression-limit", Warning, Messages,
        "a compressed message inflated past the configured limit; the rest of it was not inflated");
    // Connection.
    NO_CLOSE_HANDSHAKE = ("no-close-handshake", Warning, Connection,
        "the TCP connection ended without a WebSocket close handshake (close code 1006, RFC 6455 §7.1.5)");
    CLOSE_NOT_ANSWERED = ("close-not-answered", Warning, Connection,
        "one side sent a Close frame and the other never answered with one (RFC 6455 §5.5.1)");
    // Capture and decoding limits.
    TCP_GAP = ("tcp-gap", Warning, Connection,
        "bytes missing from the capture: frames in them could not be decoded");
    PAYLOAD_DISPLAY_CUT = ("payload-display-cut", Note, Connection,
        "the memory budget for payload held for display (--memory-limit) was spent: a message's payload is shown cut, though every byte was decoded and checked");
    CONNECTION_EVICTED = ("connection-evicted", Note, Connection,
        "the connection was released before its end, idle past --idle-timeout or oldest idle when the connection table was over --memory-limit; later packets start a new, mid-stream connection");
    TRUNCATED_FRAME = ("truncated-frame", Warning, Framing,
        "the stream ended inside a frame");
    HTTP_HEAD_TOO_LARGE = ("http-head-too-large", Warning, Handshake,
        "an HTTP head exceeded the size limit and was not decoded");
    HTTP_MALFORMED = ("http-malformed", Warning, Handshake,
        "an HTTP head could not be parsed");
    // TLS (wss://).
    TLS_TAG_MISMATCH = ("tls-tag-mismatch", Error, Tls,
        "a TLS record failed authentication (wrong key or corrupted bytes); its content is not used");
    TLS_RECORD_TOO_LONG = ("tls-record-too-long", Error, Tls,
        "a TLS record header declares more than 2^14 + 2048 bytes (RFC 5246 §6.2.3)");
    TLS_BAD_RECORD_HEADER = ("tls-bad-record-header", Error, Tls,
        "bytes where a TLS record header belongs are not one; the rest of this direction is not parsed");
    TLS_MALFORMED_HANDSHAKE = ("tls-malformed-handshake", Error, Tls,
        "a TLS handshake message could not be parsed");
    TLS_HANDSHAKE_TOO_LONG = ("tls-handshake-too-long", Warning, Tls,
        "a TLS handshake message is longer than the reassembly limit and was skipped");
    TLS_NO_KEY = ("tls-no-key", Note, Tls,
        "the key log has no secret for this connection's client random: it is not decrypted");
    TLS_UNSUPPORTED_CIPHER = ("tls-unsupported-cipher", Note, Tls,
        "the negotiated TLS cipher suite cannot be decrypted");
    TLS_MISSED_HANDSHAKE = ("tls-missed-handshake", Note, Tls,
        "the capture started after the TLS handshake: the connection cannot be decrypted");
    TLS_GAP = ("tls-gap", Warning, Tls,
        "bytes of the TLS stream were not captured: the records they held are lost");
    TLS_TRUNCATED_RECORD = ("tls-truncated-record", Warning, Tls,
        "the TLS stream ended inside a record");
    TLS_ALPN_H2 = ("tls-alpn-h2", Note, Tls,
        "the server selected HTTP/2 by ALPN: WebSocket over HTTP/2 (RFC 8441) is not decoded yet");
    // Application protocols inside WebSocket messages (src/payload/).
    APP_ENGINEIO_MALFORMED_PACKET = ("engineio-malformed-packet", Warning, App,
        "Engine.IO packet with an unknown type or unreadable content");
    APP_ENGINEIO_MALFORMED_PAYLOAD = ("engineio-malformed-payload", Warning, App,
        "Engine.IO polling payload that cannot be split into packets");
    APP_SOCKETIO_MALFORMED_PACKET = ("socketio-malformed-packet", Warning, App,
        "Socket.IO packet that does not follow the packet encoding (type, attachments, namespace, ack id, JSON data)");
    APP_SOCKETIO_ACK_WITHOUT_EVENT = ("socketio-ack-without-event", Warning, App,
        "Socket.IO ACK whose namespace and id match no pending event from the other side");
    APP_SOCKETIO_DUPLICATE_ACK_ID = ("socketio-duplicate-ack-id", Warning, App,
        "Socket.IO event reusing an ack id still waiting for its ACK");
    APP_SOCKETIO_MISSING_ATTACHMENTS = ("socketio-missing-attachments", Warning, App,
        "Socket.IO binary packet not followed by all of its binary attachments");
    APP_SOCKETIO_UNEXPECTED_BINARY = ("socketio-unexpected-binary", Warning, App,
        "binary message where no Socket.IO binary packet expects an attachment");
    APP_GRAPHQL_MALFORMED_MESSAGE = ("graphql-malformed-message", Error, App,
        "GraphQL over WebSocket message that is not a JSON object with a known string `type` (graphql-transport-ws: close 4400)");
    APP_GRAPHQL_NEXT_UNKNOWN_ID = ("graphql-next-unknown-id", Warning, App,
        "GraphQL next/data/error/complete for an id with no active operation");
    APP_GRAPHQL_DUPLICATE_ID = ("graphql-duplicate-id", Error, App,
        "GraphQL subscribe for an id already active (graphql-transport-ws: close 4409)");
    APP_GRAPHQL_SUBSCRIBE_BEFORE_ACK = ("graphql-subscribe-before-ack", Error, App,
        "GraphQL subscribe before connection_ack (graphql-transport-ws: close 4401)");
    APP_GRAPHQL_DUPLICATE_INIT = ("graphql-duplicate-init", Error, App,
        "second connection_init on one connection (graphql-transport-ws: close 4429)");
    APP_GRAPHQL_WRONG_DIRECTION = ("graphql-wrong-direction", Warning, App,
        "GraphQL message type sent by the wrong side (e.g. next from the client)");
    APP_JSONRPC_MALFORMED = ("jsonrpc-malformed", Warning, App,
        "JSON-RPC message that is not JSON or not a request, notification or response object");
    APP_JSONRPC_INVALID_VERSION = ("jsonrpc-invalid-version", Error, App,
        "JSON-RPC `jsonrpc` member that is not exactly \"2.0\" (MUST)");
    APP_JSONRPC_RESULT_AND_ERROR = ("jsonrpc-result-and-error", Error, App,
        "JSON-RPC 2.0 response with both or neither of result and error (MUST)");
    APP_JSONRPC_UNKNOWN_ID = ("jsonrpc-unknown-id", Warning, App,
        "JSON-RPC response whose id matches no pending request from the other side");
    APP_JSONRPC_DUPLICATE_ID = ("jsonrpc-duplicate-id", Warning, App,
        "JSON-RPC request reusing an id still waiting for its response");
    APP_JSONRPC_EMPTY_BATCH = ("jsonrpc-empty-batch", Warning, App,
        "JSON-RPC batch that is an empty array (answered with one Invalid Request error)");
    APP_MQTT_MALFORMED_REMAINING_LENGTH = ("mqtt-malformed-remaining-length", Error, App,
        "MQTT remaining length (Variable Byte Integer) longer than 4 bytes (MQTT 3.1.1 §2.2.3, MQTT 5 §1.5.5)");
    APP_MQTT_MALFORMED_PACKET = ("mqtt-malformed-packet", Error, App,
        "MQTT control packet that does not follow its layout (reserved type or flags, short or extra bytes, bad string or property)");
    APP_MQTT_INCOMPLETE_PACKET = ("mqtt-incomplete-packet", Warning, App,
        "the connection ended inside an MQTT control packet");
    APP_MQTT_UNKNOWN_PACKET_ID = ("mqtt-unknown-packet-id", Warning, App,
        "MQTT PUBACK/PUBREC/PUBREL/PUBCOMP/SUBACK/UNSUBACK whose packet identifier matches no pending request");
    APP_STOMP_FRAME_WITHOUT_NUL = ("stomp-frame-without-nul", Error, App,
        "STOMP frame not ended by a NUL octet (STOMP 1.2 \"Augmented BNF\")");
    APP_STOMP_BAD_CONTENT_LENGTH = ("stomp-bad-content-length", Error, App,
        "STOMP content-length that is not a number or not followed by the frame's NUL");
    APP_STOMP_MALFORMED_FRAME = ("stomp-malformed-frame", Warning, App,
        "STOMP frame with an unknown command, a header line without a colon or an undefined escape");
    APP_STOMP_UNKNOWN_RECEIPT = ("stomp-unknown-receipt", Warning, App,
        "STOMP RECEIPT or ERROR whose receipt-id answers no frame that asked for a receipt");
    APP_STOMP_UNKNOWN_SUBSCRIPTION = ("stomp-unknown-subscription", Warning, App,
        "STOMP MESSAGE whose subscription id matches no SUBSCRIBE seen on the connection");
    APP_PHOENIX_MALFORMED_MESSAGE = ("phoenix-malformed-message", Warning, App,
        "Phoenix channels message that is neither a V2 array [join_ref, ref, topic, event, payload], a V1 object nor a V2 binary message");
    APP_PHOENIX_REPLY_UNKNOWN_REF = ("phoenix-reply-unknown-ref", Warning, App,
        "Phoenix phx_reply whose ref matches no pending push from the client");
    APP_ACTIONCABLE_MALFORMED_MESSAGE = ("actioncable-malformed-message", Warning, App,
        "ActionCable message that is not a JSON object with a type, a command or an identifier and message");
    APP_ACTIONCABLE_UNKNOWN_SUBSCRIPTION = ("actioncable-unknown-subscription", Warning, App,
        "ActionCable confirm_subscription or reject_subscription for an identifier no subscribe asked for");
    APP_JSON_INVALID = ("json-invalid", Warning, App,
        "message decoded as JSON that is not valid JSON");
    APP_SIGNALR_MALFORMED_MESSAGE = ("signalr-malformed-message", Warning, App,
        "SignalR hub message that is not JSON / MessagePack of a known message type, or a bad VarInt length");
    APP_SIGNALR_MISSING_SEPARATOR = ("signalr-missing-separator", Error, App,
        "SignalR JSON record not terminated by the record separator 0x1E (MUST)");
    APP_SIGNALR_UNKNOWN_INVOCATION_ID = ("signalr-unknown-invocation-id", Warning, App,
        "SignalR completion or stream item whose invocation id matches no pending invocation");
    APP_SIGNALR_RESULT_AND_ERROR = ("signalr-result-and-error", Error, App,
        "SignalR completion with both result and error (a protocol error)");
    APP_MSGPACK_MALFORMED = ("msgpack-malformed", Warning, App,
        "message decoded as MessagePack that is not exactly one MessagePack value");
    APP_CBOR_MALFORMED = ("cbor-malformed", Warning, App,
        "message decoded as CBOR that is not exactly one well-formed CBOR data item");
    APP_PROTOBUF_MALFORMED = ("protobuf-malformed", Warning, App,
        "message decoded as Protocol Buffers that does not parse (as the given message type, or as the wire format)");
    APP_ZLIB_STREAM_CORRUPT = ("zlib-stream-corrupt", Warning, App,
        "message of a zlib-stream connection that cannot be inflated (bad data, or the stream's window was lost)");
    APP_ZLIB_STREAM_TOO_LARGE = ("zlib-stream-too-large", Warning, App,
        "message of a zlib-stream connection inflating past the inflation cap (decompression bomb)");
    APP_PENDING_DROPPED = ("app-pending-dropped", Warning, App,
        "requests dropped from the pending table because too many were waiting for answers");
    APP_UNANSWERED_REQUEST = ("app-unanswered-request", Note, App,
        "an application request (JSON-RPC call, Socket.IO event with an ack id, GraphQL operation) still had no answer when the connection ended; open subscriptions and captures cut short end this way");
}

/// Kinds `check` adds itself: failed CI expectations and unreadable captures. They are
/// not anomalies of the traffic, so the dissector never raises them.
pub mod check_kinds {
    use super::{Kind, RuleGroup, Severity};

    kinds! {
        EXPECT_CLOSE_HANDSHAKE = ("expect-close-handshake", Error, Expectations,
            "every WebSocket connection ends with Close frames from both sides (--expect-close-handshake)");
        EXPECT_CLOSE_CODE = ("expect-close-code", Error, Expectations,
            "only the close codes of --allowed-close-codes appear");
        EXPECT_MIN_CONNECTIONS = ("expect-min-connections", Error, Expectations,
            "the capture holds at least --min-connections WebSocket connections");
        CAPTURE_ERROR = ("capture-error", Warning, Connection,
            "the capture file could not be read to its end");
        NO_PACKETS = ("no-packets", Warning, Expectations,
            "the capture holds packets to check (a header-only file, or --port matching nothing, has none)");
        NO_WEBSOCKET = ("no-websocket", Warning, Expectations,
            "the capture holds at least one WebSocket connection (--min-connections 0 accepts none)");
    }
}

/// The kind whose name is nearest to `name` (a typo's likely meaning), by Jaro-Winkler
/// similarity, when one is close enough to suggest.
pub fn nearest_kind(name: &str) -> Option<Kind> {
    ALL.iter()
        .chain(check_kinds::ALL)
        .map(|k| (strsim::jaro_winkler(name, k.name), *k))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// The kind named `name` (anomaly or `check` kind), if there is one.
pub fn kind(name: &str) -> Option<Kind> {
    ALL.iter()
        .chain(check_kinds::ALL)
        .copied()
        .find(|k| k.name == name)
}

/// One rule broken (or one thing noted), for the caller to locate and report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Which rule.
    pub kind: Kind,
    /// Direction concerned, when one is.
    pub dir: Option<Direction>,
    /// The specific explanation.
    pub message: String,
}

/// Where findings go.
pub type Report<'r> = &'r mut dyn FnMut(Finding);

fn report(out: Report<'_>, kind: Kind, dir: Option<Direction>, message: String) {
    out(Finding { kind, dir, message });
}

/// A finding whose message is the kind's description plus `detail`.
fn rule(out: Report<'_>, kind: Kind, dir: Option<Direction>, detail: std::fmt::Arguments<'_>) {
    report(out, kind, dir, format!("{}: {detail}", kind.description));
}

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

/// What the handshake established, as far as the frame rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FrameRules {
    /// The opening handshake was captured (else extension-dependent rules are skipped).
    pub handshake_seen: bool,
    /// permessage-deflate is in use: RSV1 marks compressed messages.
    pub deflate: bool,
    /// Another extension is in use: RSV bits may mean something wsdissect does not know.
    pub other_extensions: bool,
}

/// What a connection's end looked like, for the closing rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndState {
    /// How TCP ended.
    pub tcp_end: TcpEnd,
    /// Frames were decoded in at least one direction (the connection was WebSocket).
    pub websocket: bool,
    /// A gap lost frame boundaries in some direction (the close frames may be unseen).
    pub desynchronized: bool,
}

/// The rules' state for one connection.
#[derive(Debug, Clone, Default)]
pub struct Checker {
    rules: FrameRules,
    /// The permessage-deflate parameters agreed, when it was.
    deflate: Option<DeflateParams>,
    /// A Close frame was sent c2s (0) / s2c (1).
    closed: [bool; 2],
    early_data_reported: bool,
}

impl Checker {
    /// A checker before any handshake.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets what the handshake negotiated (or that none was captured).
    pub fn set_rules(&mut self, rules: FrameRules) {
        self.rules = rules;
    }

    /// The permessage-deflate parameters the handshake agreed on, if any.
    pub fn deflate_params(&self) -> Option<DeflateParams> {
        self.deflate
    }

    /// The frame rules in force.
    pub fn rules(&self) -> FrameRules {
        self.rules
    }

    /// Whether a Close frame was sent in `dir`.
    pub fn closed(&self, dir: Direction) -> bool {
        self.closed.get(dir_index(dir)).copied().unwrap_or(false)
    }

    /// A WebSocket upgrade request (RFC 6455 §4.1).
    pub fn request(&mut self, req: &Request, out: Report<'_>) {
        if req.method != "GET" {
            rule(
                out,
                METHOD_NOT_GET,
                Some(C2S),
                format_args!("method is {}", req.method),
            );
        }
        if req.version < 1 {
            rule(
                out,
                HTTP_VERSION_TOO_OLD,
                Some(C2S),
                format_args!("HTTP/1.{}", req.version),
            );
        }
        if req.header("Host").is_none() {
            report(
                out,
                MISSING_HOST,
                Some(C2S),
                MISSING_HOST.description.to_string(),
            );
        }
        match req.header("Sec-WebSocket-Key") {
            None => report(
                out,
                MISSING_KEY,
                Some(C2S),
                MISSING_KEY.description.to_string(),
            ),
            Some(key) if !accept::key_is_valid_nonce(key) => {
                rule(out, BAD_KEY, Some(C2S), format_args!("got {key:?}"))
            }
            Some(_) => {}
        }
        match req.header("Sec-WebSocket-Version") {
            None => rule(
                out,
                BAD_VERSION,
                Some(C2S),
                format_args!("no Sec-WebSocket-Version"),
            ),
            Some(v) if v.trim() != "13" => {
                rule(out, BAD_VERSION, Some(C2S), format_args!("got {v:?}"))
            }
            Some(_) => {}
        }
        match extensions::header_extensions(&req.headers) {
            Some(Err(e)) => rule(out, BAD_EXTENSION_OFFER, Some(C2S), format_args!("{e}")),
            Some(Ok(list)) => {
                for ext in list.iter().filter(|e| e.is_permessage_deflate()) {
                    if let Err(e) = extensions::deflate_params(ext, Side::Offer) {
                        rule(out, BAD_EXTENSION_OFFER, Some(C2S), format_args!("{e}"));
                    }
                }
            }
            None => {}
        }
    }

    /// Client bytes after the upgrade request, before the response (once per connection).
    pub fn early_data(&mut self, len: usize, out: Report<'_>) {
        if !self.early_data_reported {
            self.early_data_reported = true;
            rule(
                out,
                FRAMES_BEFORE_101,
                Some(C2S),
                format_args!("{len} bytes sent before the server answered"),
            );
        }
    }

    /// A 101 response naming websocket, to `req`: checks it and sets the frame rules from
    /// the negotiated extensions.
    pub fn response(
        &mut self,
        req: &Request,
        resp: &Response,
        verdict: &AcceptVerdict,
        out: Report<'_>,
    ) {
        if !resp.header_has_token("Connection", "Upgrade") {
            let got = resp.header("Connection").unwrap_or("(none)");
            rule(
                out,
                MISSING_CONNECTION_UPGRADE,
                Some(S2C),
                format_args!("Connection: {got}"),
            );
        }
        match verdict {
            AcceptVerdict::Valid | AcceptVerdict::MissingKey => {}
            AcceptVerdict::Mismatch { .. } => {
                rule(out, ACCEPT_MISMATCH, Some(S2C), format_args!("{verdict}"))
            }
            AcceptVerdict::MissingAccept => report(
                out,
                MISSING_ACCEPT,
                Some(S2C),
                MISSING_ACCEPT.description.to_string(),
            ),
        }
        let chosen: Vec<&str> =
            extensions::header_list(&resp.headers, "Sec-WebSocket-Protocol").collect();
        if !chosen.is_empty() {
            let mut offered = extensions::header_list(&req.headers, "Sec-WebSocket-Protocol");
            match chosen.as_slice() {
                [one] if offered.any(|o| o == *one) => {}
                [one] => rule(
                    out,
                    UNOFFERED_SUBPROTOCOL,
                    Some(S2C),
                    format_args!("{one:?} was not offered"),
                ),
                _ => rule(
                    out,
                    UNOFFERED_SUBPROTOCOL,
                    Some(S2C),
                    format_args!(
                        "{} subprotocols selected: {}",
                        chosen.len(),
                        chosen.join(", ")
                    ),
                ),
            }
        }
        let n = extensions::negotiate(&req.headers, &resp.headers);
        for p in &n.problems {
            match p {
                // Reported with the request.
                NegotiationProblem::OfferSyntax(_) | NegotiationProblem::OfferParams(_) => {}
                NegotiationProblem::ResponseSyntax(_)
                | NegotiationProblem::ResponseParams(_)
                | NegotiationProblem::AcceptedTwice => {
                    rule(out, BAD_EXTENSION_RESPONSE, Some(S2C), format_args!("{p}"))
                }
                NegotiationProblem::NotOffered(_) | NegotiationProblem::DeflateMismatch(_) => {
                    rule(out, UNOFFERED_EXTENSION, Some(S2C), format_args!("{p}"))
                }
            }
        }
        self.deflate = n.deflate;
        self.rules = FrameRules {
            handshake_seen: true,
            deflate: n.deflate.is_some(),
            other_extensions: n.other_extensions,
        };
    }

    /// A 101 answer to a WebSocket upgrade request that does not switch to websocket.
    pub fn upgrade_not_websocket(&mut self, resp: &Response, out: Report<'_>) {
        match resp.header("Upgrade") {
            None => rule(
                out,
                MISSING_UPGRADE_HEADER,
                Some(S2C),
                format_args!("no Upgrade header: the connection is not decoded further"),
            ),
            Some(u) => rule(
                out,
                UPGRADE_NOT_WEBSOCKET,
                Some(S2C),
                format_args!("Upgrade: {u}: the connection is not decoded further"),
            ),
        }
    }

    /// A frame header in `dir`, as soon as it is complete (a frame declaring 2^63 bytes
    /// never ends). Called once per frame.
    pub fn header(&mut self, dir: Direction, h: &FrameHeader, out: Report<'_>) {
        let op = h.opcode;
        let d = Some(dir);
        match (dir, h.is_masked()) {
            (Direction::ClientToServer, false) => rule(
                out,
                UNMASKED_CLIENT_FRAME,
                d,
                format_args!("{op} frame without a masking key"),
            ),
            (Direction::ServerToClient, true) => rule(
                out,
                MASKED_SERVER_FRAME,
                d,
                format_args!("{op} frame with a masking key"),
            ),
            _ => {}
        }
        self.rsv(dir, h.rsv, op, out);
        if op.is_reserved() {
            rule(
                out,
                RESERVED_OPCODE,
                d,
                format_args!("opcode 0x{:X}", u8::from(op)),
            );
        }
        if op.is_control() {
            if h.payload_len > MAX_CONTROL_PAYLOAD as u64 {
                rule(
                    out,
                    CONTROL_FRAME_TOO_LONG,
                    d,
                    format_args!("{op} frame of {} bytes", h.payload_len),
                );
            }
            if !h.fin {
                rule(
                    out,
                    FRAGMENTED_CONTROL_FRAME,
                    d,
                    format_args!("{op} frame without FIN"),
                );
            }
        }
        if h.length_top_bit_set() {
            rule(
                out,
                LENGTH_TOP_BIT,
                d,
                format_args!("declared length 0x{:016X}", h.payload_len),
            );
        } else if !h.is_minimal_length() {
            rule(
                out,
                NON_MINIMAL_LENGTH,
                d,
                format_args!(
                    "length {} written with {} extended length bytes",
                    h.payload_len,
                    h.length_encoding.extra_len()
                ),
            );
        }
    }

    /// A complete frame in `dir`, before it joins a message.
    pub fn frame(&mut self, dir: Direction, frame: &DecodedFrame<'_>, out: Report<'_>) {
        let op = frame.header.opcode;
        let d = Some(dir);
        let i = dir_index(dir);
        let closed = self.closed.get(i).copied().unwrap_or(false);
        if op.is_data() && closed {
            rule(
                out,
                DATA_AFTER_CLOSE,
                d,
                format_args!("{op} frame after this side's Close"),
            );
        }
        if op == OpCode::Close {
            close_body(dir, frame, out);
            if let Some(c) = self.closed.get_mut(i) {
                *c = true;
            }
        }
    }

    fn rsv(&self, dir: Direction, rsv: u8, op: OpCode, out: Report<'_>) {
        // Without a captured handshake, or with an extension wsdissect does not know,
        // the RSV bits may legitimately mean something.
        if rsv == 0 || !self.rules.handshake_seen || self.rules.other_extensions {
            return;
        }
        let first_data_frame = matches!(op, OpCode::Text | OpCode::Binary);
        let allowed = if self.rules.deflate && first_data_frame {
            RSV1
        } else {
            0
        };
        let bad = rsv & !allowed;
        if bad == 0 {
            return;
        }
        let names: Vec<&str> = [(RSV1, "RSV1"), (RSV2, "RSV2"), (RSV3, "RSV3")]
            .iter()
            .filter(|(b, _)| bad & b != 0)
            .map(|(_, n)| *n)
            .collect();
        let why = if bad & RSV1 != 0 && self.rules.deflate {
            "permessage-deflate allows RSV1 only on the first frame of a data message"
        } else {
            "no extension defining it was negotiated"
        };
        rule(
            out,
            RSV_WITHOUT_EXTENSION,
            Some(dir),
            format_args!("{} set on a {op} frame; {why}", names.join("+")),
        );
    }

    /// A frame out of place in the message sequence.
    pub fn fragmentation(&mut self, dir: Direction, f: Fragmentation, out: Report<'_>) {
        match f {
            Fragmentation::ContinuationWithoutMessage => rule(
                out,
                CONTINUATION_WITHOUT_MESSAGE,
                Some(dir),
                format_args!("no fragmented message is open; the frame is ignored"),
            ),
            Fragmentation::NewMessageWhileFragmented {
                dropped,
                dropped_frames,
            } => rule(
                out,
                NEW_MESSAGE_WHILE_FRAGMENTED,
                Some(dir),
                format_args!(
                    "the unfinished {dropped} message of {dropped_frames} frames is dropped"
                ),
            ),
        }
    }

    /// A completed message.
    pub fn message(&mut self, dir: Direction, m: &Message<'_>, out: Report<'_>) {
        // RSV bits nobody defined make the payload's meaning unknown: not validated.
        if m.rsv != 0 && !m.compressed {
            return;
        }
        let what = if m.compressed {
            "inflated text message"
        } else {
            "text message"
        };
        match m.utf8 {
            Some(Utf8Verdict::Invalid { offset }) => rule(
                out,
                INVALID_UTF8,
                Some(dir),
                format_args!(
                    "{what} of {} bytes has an invalid sequence at byte {offset}",
                    m.len
                ),
            ),
            Some(Utf8Verdict::Incomplete { offset }) => rule(
                out,
                INVALID_UTF8,
                Some(dir),
                format_args!(
                    "{what} of {} bytes ends inside the sequence starting at byte {offset}",
                    m.len
                ),
            ),
            Some(Utf8Verdict::Valid) | None => {}
        }
    }

    /// Trouble inflating a compressed message.
    pub fn inflate(&mut self, dir: Direction, p: &InflateProblem, out: Report<'_>) {
        let d = Some(dir);
        match p {
            InflateProblem::Failed(e) if self.rules.handshake_seen => {
                rule(out, INFLATE_FAILED, d, format_args!("{e}"))
            }
            InflateProblem::Failed(e) => rule(
                out,
                INFLATE_CONTEXT_LOST,
                d,
                format_args!(
                    "{e}; the handshake was not captured, so the message may refer to data sent before the capture began"
                ),
            ),
            InflateProblem::ContextLost => rule(
                out,
                INFLATE_CONTEXT_LOST,
                d,
                format_args!(
                    "from this message on, this direction's compressed messages are not inflated (context takeover)"
                ),
            ),
            InflateProblem::Limit(limit) => rule(
                out,
                DECOMPRESSION_LIMIT,
                d,
                format_args!("more than {limit} bytes; the message is marked incomplete"),
            ),
        }
    }

    /// The connection ended (or the capture did).
    pub fn end(&self, end: EndState, out: Report<'_>) {
        if !end.websocket || end.desynchronized || end.tcp_end == TcpEnd::Open {
            return;
        }
        let tcp = match end.tcp_end {
            TcpEnd::Reset => "was reset",
            TcpEnd::HalfClosed => "was half-closed",
            _ => "closed",
        };
        match self.closed {
            [true, true] => {}
            [false, false] => rule(
                out,
                NO_CLOSE_HANDSHAKE,
                None,
                format_args!("TCP {tcp} with no Close frame from either side"),
            ),
            [c2s, _] => {
                let (silent, who, other) = if c2s {
                    (S2C, "client", "server")
                } else {
                    (C2S, "server", "client")
                };
                rule(
                    out,
                    CLOSE_NOT_ANSWERED,
                    Some(silent),
                    format_args!(
                        "the {who} sent a Close frame, the {other} never answered before TCP {tcp}"
                    ),
                );
            }
        }
    }
}

/// Close frame body rules: length, status code, reason encoding.
fn close_body(dir: Direction, frame: &DecodedFrame<'_>, out: Report<'_>) {
    let d = Some(dir);
    if frame.header.payload_len == 1 {
        report(
            out,
            CLOSE_BODY_ONE_BYTE,
            d,
            CLOSE_BODY_ONE_BYTE.description.to_string(),
        );
        return;
    }
    let Ok(body) = parse_close_body(frame.payload) else {
        return;
    };
    if let Some(code) = body.code {
        match code {
            CloseCode::NoStatus | CloseCode::Abnormal | CloseCode::TlsHandshake => rule(
                out,
                CLOSE_CODE_FORBIDDEN,
                d,
                format_args!("close code {code}"),
            ),
            CloseCode::Reserved => rule(
                out,
                CLOSE_CODE_UNASSIGNED,
                d,
                format_args!("close code 1004 is reserved"),
            ),
            CloseCode::Unassigned(n) => rule(
                out,
                CLOSE_CODE_UNASSIGNED,
                d,
                format_args!("close code {n} is unassigned (1016-2999: for future RFCs)"),
            ),
            CloseCode::Invalid(n) => rule(
                out,
                CLOSE_CODE_UNASSIGNED,
                d,
                format_args!(
                    "close code {n} is outside every range (below 1000 or 5000 and above)"
                ),
            ),
            _ => {}
        }
    }
    if frame.payload_complete
        && let Utf8Verdict::Invalid { offset } | Utf8Verdict::Incomplete { offset } =
            utf8::validate(body.reason)
    {
        rule(
            out,
            INVALID_UTF8,
            d,
            format_args!(
                "close reason of {} bytes is not valid UTF-8 at byte {offset} of the reason",
                body.reason.len()
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_unique_kebab_case_and_cite_their_source() {
        let mut names: Vec<&str> = ALL.iter().map(|k| k.name).collect();
        names.sort_unstable();
        let n = names.len();
        names.dedup();
        assert_eq!(names.len(), n, "duplicate kind names");
        for Kind {
            name, description, ..
        } in ALL
        {
            let desc = description;
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
                "{name}"
            );
            assert!(!desc.is_empty());
        }
        assert_eq!(
            kind("unmasked-client-frame").unwrap().description,
            "client frames must be masked (RFC 6455 §5.1)"
        );
        assert_eq!(
            kind("no-close-handshake").unwrap().severity,
            Severity::Warning
        );
        assert_eq!(kind("upgrade-refused").unwrap().severity, Severity::Warning);
        assert_eq!(kind("accept-mismatch").unwrap().severity, Severity::Error);
        assert!(kind("nope").is_none());
    }

    fn header(b0: u8, b1: u8) -> FrameHeader {
        let mut buf = vec![b0, b1];
        buf.extend_from_slice(&[0; 12]);
        FrameHeader::parse(&buf).unwrap()
    }

    fn kinds_of(f: impl FnOnce(Report<'_>)) -> Vec<&'static str> {
        let mut got = Vec::new();
        f(&mut |finding: Finding| got.push(finding.kind.name));
        got
    }

    #[test]
    fn rsv_rules_follow_the_negotiation() {
        let mut c = Checker::new();
        let deflate = FrameRules {
            handshake_seen: true,
            deflate: true,
            other_extensions: false,
        };
        let none = FrameRules {
            handshake_seen: true,
            deflate: false,
            other_extensions: false,
        };
        let unknown = FrameRules {
            handshake_seen: true,
            deflate: false,
            other_extensions: true,
        };
        let assumed = FrameRules {
            handshake_seen: false,
            deflate: true,
            other_extensions: false,
        };
        // (rules, first byte, violation?) for masked client frames.
        for (rules, b0, bad) in [
            (deflate, 0xC1, false), // RSV1 on a text frame
            (deflate, 0xC2, false), // and on a binary frame
            (deflate, 0xC0, true),  // not on a continuation (RFC 7692 §6)
            (deflate, 0xC9, true),  // nor on a ping
            (deflate, 0xA1, true),  // RSV2 is never permessage-deflate's
            (none, 0xC1, true),
            (none, 0x91, true),
            (none, 0x81, false),
            (unknown, 0xF1, false), // an unknown extension may use them all
            (assumed, 0xE2, false), // no handshake captured: unknown
        ] {
            c.set_rules(rules);
            let got = kinds_of(|out| c.header(Direction::ClientToServer, &header(b0, 0x80), out));
            assert_eq!(
                got.contains(&"rsv-without-extension"),
                bad,
                "{rules:?} {b0:02x}"
            );
        }
    }

    #[test]
    fn header_rules() {
        let mut c = Checker::new();
        let got =
            kinds_of(|out| c.header(Direction::ServerToClient, &header(0x09, 0x80 | 127), out));
        // Unmasked is wrong only for clients; this server frame is masked, fragmented control,
        // 64-bit length 0 (non-minimal).
        assert_eq!(
            got,
            [
                "masked-server-frame",
                "fragmented-control-frame",
                "non-minimal-length"
            ]
        );
        let got =
            kinds_of(|out| c.header(Direction::ClientToServer, &header(0x8F, 0x80 | 126), out));
        assert_eq!(got, ["reserved-opcode", "non-minimal-length"]);
        let mut top = vec![0x82u8, 0xFF, 0x80];
        top.extend_from_slice(&[0; 11]);
        let h = FrameHeader::parse(&top).unwrap();
        let got = kinds_of(|out| c.header(Direction::ClientToServer, &h, out));
        assert_eq!(got, ["length-top-bit"]);
    }

    #[test]
    fn end_rules() {
        let end = |tcp_end| EndState {
            tcp_end,
            websocket: true,
            desynchronized: false,
        };
        let mut c = Checker::new();
        assert_eq!(
            kinds_of(|out| c.end(end(TcpEnd::Reset), out)),
            ["no-close-handshake"]
        );
        assert!(
            kinds_of(|out| c.end(end(TcpEnd::Open), out)).is_empty(),
            "capture ended first"
        );
        c.closed = [true, false];
        assert_eq!(
            kinds_of(|out| c.end(end(TcpEnd::Closed), out)),
            ["close-not-answered"]
        );
        c.closed = [true, true];
        assert!(kinds_of(|out| c.end(end(TcpEnd::Closed), out)).is_empty());
        c.closed = [false, false];
        let lost = EndState {
            desynchronized: true,
            ..end(TcpEnd::Closed)
        };
        assert!(
            kinds_of(|out| c.end(lost, out)).is_empty(),
            "close frames may be in the gap"
        );
        let http = EndState {
            websocket: false,
            ..end(TcpEnd::Closed)
        };
        assert!(kinds_of(|out| c.end(http, out)).is_empty());
    }
}
