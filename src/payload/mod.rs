//! Application payloads carried in WebSocket messages: which protocol a connection speaks,
//! and a decoder per protocol that names each application packet, pairs requests with
//! their answers and reports protocol anomalies.
//!
//! The seam: the WebSocket layer hands each whole message (joined and inflated) of one
//! connection, in capture order and from both directions, to one [`Decoder`] built for the
//! [`Protocol`] that [`choose()`] picked (or `--decode-as` forced). The decoder appends
//! [`AppOutput`]s: decoded packets (zero, one or several per message; a packet may span
//! several messages), request/answer [`Exchange`]s, [`Unanswered`] requests at the end, and
//! [`AppAnomaly`]s with stable kinds. Decoders never print and never escape for terminals;
//! what they copy out of a payload is capped (see [`bound`]).
//!
//! Wiring (per connection): [`decode_as_for`] first; else [`choose()`] with the accepted
//! subprotocol and the request-target and no message, and when that says nothing, again
//! with the first data message; then [`new_decoder`] with a [`Context`]; every whole data
//! message (text or binary, both directions, in capture order) to [`Decoder::message`];
//! [`Decoder::end`] when the connection ends. One decoder sees both directions, which is
//! what pairing needs. Engine.IO long-polling before an upgrade: [`engineio::request`]
//! recognises the HTTP requests; one [`socketio::SocketIoDecoder::polling`] per session id
//! takes the bodies of POST requests and of 200 responses to GET.
//!
//! Adding a protocol: one module with a type implementing [`Decoder`], one [`Protocol`]
//! variant (already reserved for the planned ones) and one entry in [`DECODERS`].

pub mod bound;
pub mod choose;
pub mod engineio;
pub mod graphql;
pub mod json;
pub mod jsonrpc;
mod pending;
pub mod socketio;

pub use choose::{Choice, ChosenBy, DecodeAs, DecodeAsError, DecodeTarget, choose, decode_as_for};

use crate::flow::analysis::Direction;
use crate::rules::Severity;
use serde_json::Value;

/// An application protocol (or content format) carried over WebSocket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Engine.IO v3/v4 packets without Socket.IO on top.
    EngineIo,
    /// Socket.IO (protocol v4/v5) over Engine.IO.
    SocketIo,
    /// GraphQL over WebSocket, `graphql-transport-ws` (the graphql-ws library).
    GraphqlTransportWs,
    /// Legacy GraphQL over WebSocket, `graphql-ws` (subscriptions-transport-ws).
    GraphqlWs,
    /// JSON-RPC 2.0 and 1.0.
    JsonRpc,
    /// Generic JSON content.
    Json,
    /// STOMP 1.0-1.2 (reserved: no decoder yet).
    Stomp,
    /// MQTT 3.1.1 and 5 (reserved: no decoder yet).
    Mqtt,
    /// SignalR hub protocols (reserved: no decoder yet).
    SignalR,
    /// Phoenix channels (reserved: no decoder yet).
    Phoenix,
    /// Rails ActionCable (reserved: no decoder yet).
    ActionCable,
    /// MessagePack content (reserved: no decoder yet).
    MsgPack,
    /// CBOR content (reserved: no decoder yet).
    Cbor,
    /// Protocol Buffers content (reserved: no decoder yet).
    Protobuf,
}

impl Protocol {
    /// Every protocol, decoders or not.
    pub const ALL: &'static [Protocol] = &[
        Protocol::EngineIo,
        Protocol::SocketIo,
        Protocol::GraphqlTransportWs,
        Protocol::GraphqlWs,
        Protocol::JsonRpc,
        Protocol::Json,
        Protocol::Stomp,
        Protocol::Mqtt,
        Protocol::SignalR,
        Protocol::Phoenix,
        Protocol::ActionCable,
        Protocol::MsgPack,
        Protocol::Cbor,
        Protocol::Protobuf,
    ];

    /// The stable name used in JSON Lines `app.protocol` and in `--decode-as`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::EngineIo => "engine.io",
            Protocol::SocketIo => "socket.io",
            Protocol::GraphqlTransportWs => "graphql-transport-ws",
            Protocol::GraphqlWs => "graphql-ws",
            Protocol::JsonRpc => "jsonrpc",
            Protocol::Json => "json",
            Protocol::Stomp => "stomp",
            Protocol::Mqtt => "mqtt",
            Protocol::SignalR => "signalr",
            Protocol::Phoenix => "phoenix",
            Protocol::ActionCable => "actioncable",
            Protocol::MsgPack => "msgpack",
            Protocol::Cbor => "cbor",
            Protocol::Protobuf => "protobuf",
        }
    }

    /// Prefix of the protocol's filter fields (`socketio.event`, `graphql.type`).
    pub fn field_prefix(self) -> &'static str {
        match self {
            Protocol::EngineIo => "engineio",
            Protocol::SocketIo => "socketio",
            Protocol::GraphqlTransportWs | Protocol::GraphqlWs => "graphql",
            other => other.name(),
        }
    }

    /// The protocol named `name` (its stable name or an alias of its decoder), ASCII
    /// case-insensitive.
    pub fn from_name(name: &str) -> Option<Protocol> {
        Protocol::ALL.iter().copied().find(|p| {
            p.name().eq_ignore_ascii_case(name)
                || decoder_info(*p)
                    .is_some_and(|d| d.aliases.iter().any(|a| a.eq_ignore_ascii_case(name)))
        })
    }
}

impl std::fmt::Display for Protocol {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// What a decoder is built from: the connection's upgrade request and agreed subprotocol.
#[derive(Debug, Clone, Copy, Default)]
pub struct Context<'a> {
    /// Request-target of the upgrade (or polling) request, e.g. `/socket.io/?EIO=4&transport=websocket`.
    pub request_uri: &'a str,
    /// The `Sec-WebSocket-Protocol` the server accepted, if any.
    pub subprotocol: Option<&'a str>,
    /// Only summaries are wanted (e.g. `--view messages` with no filter): decoders may skip
    /// building field values they do not need for pairing.
    pub summary_only: bool,
}

/// One registered decoder, as listed by `wsdissect decoders`.
pub struct DecoderInfo {
    /// The protocol it decodes.
    pub protocol: Protocol,
    /// Other names accepted by `--decode-as`.
    pub aliases: &'static [&'static str],
    /// `Sec-WebSocket-Protocol` values that select it.
    pub subprotocols: &'static [&'static str],
    /// One line for the listing.
    pub description: &'static str,
    /// The fields its packets carry (name, meaning): filter fields are
    /// `<field_prefix>.<name>`, JSON Lines `app.<name>`.
    pub fields: &'static [(&'static str, &'static str)],
    /// Builds the per-connection state.
    pub new: fn(&Context<'_>) -> Box<dyn Decoder>,
}

impl std::fmt::Debug for DecoderInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecoderInfo")
            .field("protocol", &self.protocol)
            .field("aliases", &self.aliases)
            .field("subprotocols", &self.subprotocols)
            .finish()
    }
}

/// The registry: every decoder, in the order `choose` tries subprotocols and `decoders` lists.
pub static DECODERS: &[DecoderInfo] = &[
    DecoderInfo {
        protocol: Protocol::SocketIo,
        aliases: &["socketio", "sio"],
        subprotocols: &[],
        description: "Socket.IO v4/v5 over Engine.IO v3/v4: events, acks, namespaces, binary attachments",
        fields: &[
            (
                "type",
                "packet type: CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR (v4: ERROR), BINARY_EVENT, BINARY_ACK",
            ),
            ("namespace", "namespace, `/` when absent"),
            ("event", "event name (EVENT, BINARY_EVENT)"),
            (
                "args",
                "event arguments after the name, or the ACK's arguments",
            ),
            ("data", "CONNECT / CONNECT_ERROR payload"),
            ("ack_id", "acknowledgement id"),
            (
                "attachments",
                "binary attachments: num, length, data_hex (first 32 bytes)",
            ),
        ],
        new: socketio::new_socketio,
    },
    DecoderInfo {
        protocol: Protocol::EngineIo,
        aliases: &["engineio", "eio"],
        subprotocols: &[],
        description: "Engine.IO v3/v4 packets (open, close, ping, pong, message, upgrade, noop)",
        fields: &[
            (
                "type",
                "packet type: open, close, ping, pong, message, upgrade, noop",
            ),
            ("data", "packet data (text; open: the handshake object)"),
            ("length", "binary data length"),
            ("data_hex", "binary data, first 64 bytes in hex"),
        ],
        new: socketio::new_engineio,
    },
    DecoderInfo {
        protocol: Protocol::GraphqlTransportWs,
        aliases: &["graphql", "graphql-transport"],
        subprotocols: &["graphql-transport-ws"],
        description: "GraphQL over WebSocket (graphql-ws library): subscribe, next, error, complete",
        fields: GRAPHQL_FIELDS,
        new: graphql::new_transport_ws,
    },
    DecoderInfo {
        protocol: Protocol::GraphqlWs,
        aliases: &["subscriptions-transport-ws", "graphql-legacy"],
        subprotocols: &["graphql-ws"],
        description: "legacy GraphQL over WebSocket (subscriptions-transport-ws): start, data, stop, ka",
        fields: GRAPHQL_FIELDS,
        new: graphql::new_legacy,
    },
    DecoderInfo {
        protocol: Protocol::JsonRpc,
        aliases: &["json-rpc", "jsonrpc2"],
        subprotocols: &["jsonrpc", "json-rpc", "jsonrpc-2.0"],
        description: "JSON-RPC 2.0 and 1.0: requests, notifications, results, errors, batches",
        fields: &[
            ("type", "request, notification, result or error"),
            ("method", "method name"),
            ("params", "parameters"),
            ("id", "request id (number, string or null)"),
            ("result", "result value"),
            ("error", "error object"),
            ("code", "error code"),
            ("message", "error message"),
            ("latency_ns", "answer time minus request time, nanoseconds"),
            ("version", "2.0 or 1.0"),
            ("batch_index", "position in a batch, from 0"),
            ("batch_size", "elements in the batch"),
        ],
        new: jsonrpc::new_decoder,
    },
    DecoderInfo {
        protocol: Protocol::Json,
        aliases: &[],
        subprotocols: &["json"],
        description: "generic JSON: validated, one-line summary, value tree",
        fields: &[
            ("type", "object, array, string, number, boolean or null"),
            ("data", "the value (capped)"),
        ],
        new: json::new_decoder,
    },
];

/// Fields of both GraphQL over WebSocket protocols.
const GRAPHQL_FIELDS: &[(&str, &str)] = &[
    (
        "type",
        "message type (connection_init, subscribe, next, complete, start, data, stop, ka…)",
    ),
    ("id", "operation id"),
    (
        "operation_name",
        "operationName, or the name in the document",
    ),
    ("operation", "query, mutation or subscription"),
    ("query", "the GraphQL document (capped)"),
    ("variables", "operation variables"),
    (
        "payload",
        "message payload (next/data results, errors, init payload)",
    ),
];

/// The registered decoder of `protocol`, if there is one.
pub fn decoder_info(protocol: Protocol) -> Option<&'static DecoderInfo> {
    DECODERS.iter().find(|d| d.protocol == protocol)
}

/// A new per-connection decoder for `protocol`, or `None` when it has no decoder yet.
pub fn new_decoder(protocol: Protocol, ctx: &Context<'_>) -> Option<Box<dyn Decoder>> {
    decoder_info(protocol).map(|d| (d.new)(ctx))
}

/// One whole WebSocket message (or one HTTP polling body) handed to a decoder.
#[derive(Debug, Clone, Copy)]
pub struct AppInput<'a> {
    /// Who sent it.
    pub dir: Direction,
    /// A text message (opcode 1); false for binary.
    pub text: bool,
    /// The payload, joined and inflated; possibly capped (see `complete`).
    pub payload: &'a [u8],
    /// False when the payload was capped or lost bytes: decoders then do not report
    /// malformed content.
    pub complete: bool,
    /// Packet number that completed the message.
    pub packet: u64,
    /// Capture time of that packet, nanoseconds (any fixed origin; only differences are used).
    pub time_ns: u64,
}

/// The per-connection state of one protocol decoder. It sees both directions, so it can
/// pair requests with answers.
pub trait Decoder {
    /// The protocol this decoder speaks.
    fn protocol(&self) -> Protocol;
    /// Decodes one message, appending what it yields to `out`.
    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>);
    /// The connection ended (or the capture did): flushes partial packets and reports
    /// requests still unanswered.
    fn end(&mut self, out: &mut Vec<AppOutput>);
}

/// What a decoder yields.
#[derive(Debug, Clone, PartialEq)]
pub enum AppOutput {
    /// A decoded application packet.
    Packet(AppPacket),
    /// A request paired with its answer.
    Exchange(Exchange),
    /// A request still waiting for its answer when the connection ended.
    Unanswered(Unanswered),
    /// A protocol rule was broken, or something could not be decoded.
    Anomaly(AppAnomaly),
}

/// One application packet.
#[derive(Debug, Clone, PartialEq)]
pub struct AppPacket {
    /// Its protocol (a Socket.IO decoder also yields `engine.io` packets).
    pub protocol: Protocol,
    /// Who sent it.
    pub dir: Direction,
    /// Packet number of the first message it came from.
    pub first_packet: u64,
    /// Packet number of the message that completed it.
    pub packet: u64,
    /// How many messages it spanned (Socket.IO binary attachments: 1 + attachments).
    pub messages: u32,
    /// One line, at most [`bound::MAX_SUMMARY`] characters, e.g.
    /// `socket.io EVENT /chat "chat message" ["hi"] ack=3`. Not escaped for terminals.
    pub summary: String,
    /// The protocol's fields under their usual names, in protocol order; values capped.
    pub fields: Vec<(&'static str, Value)>,
}

impl AppPacket {
    /// The field called `name`.
    pub fn field(&self, name: &str) -> Option<&Value> {
        self.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// The JSON Lines `app` object: `protocol`, `chosen_by` (when given), `summary`, then
    /// the fields.
    pub fn to_json(&self, chosen_by: Option<ChosenBy>) -> Value {
        let mut m = serde_json::Map::new();
        m.insert("protocol".into(), self.protocol.name().into());
        if let Some(c) = chosen_by {
            m.insert("chosen_by".into(), c.name().into());
        }
        m.insert("summary".into(), self.summary.clone().into());
        for (k, v) in &self.fields {
            m.insert((*k).into(), v.clone());
        }
        Value::Object(m)
    }
}

/// How an exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A result (JSON-RPC result, Socket.IO ack, CONNECT accepted).
    Result,
    /// An error answer (JSON-RPC error, GraphQL error, CONNECT_ERROR).
    Error,
    /// A stream completed by the answering side (GraphQL complete).
    Complete,
    /// The requesting side cancelled it (GraphQL complete/stop from the client).
    Cancelled,
}

impl Outcome {
    /// `result`, `error`, `complete` or `cancelled`.
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Result => "result",
            Outcome::Error => "error",
            Outcome::Complete => "complete",
            Outcome::Cancelled => "cancelled",
        }
    }
}

/// A request paired with its answer (the JSON Lines `app_exchange` record).
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    /// Protocol of the request.
    pub protocol: Protocol,
    /// The id that ties them (ack id, operation id, JSON-RPC id as JSON text; Socket.IO
    /// CONNECT: the namespace).
    pub id: String,
    /// What was asked: event name, operation name, method (capped).
    pub name: Option<String>,
    /// Who asked.
    pub request_dir: Direction,
    /// Packet number of the request.
    pub request_packet: u64,
    /// Packet number of the first answer.
    pub answer_packet: u64,
    /// First answer time minus request time, nanoseconds.
    pub latency_ns: u64,
    /// Packet number that ended the exchange (= `answer_packet` for single answers).
    pub end_packet: u64,
    /// End time minus request time, nanoseconds.
    pub duration_ns: u64,
    /// Answers received (GraphQL `next`/`data` count; 1 for single answers; 0 when a
    /// stream ended with no item).
    pub answers: u32,
    /// How it ended.
    pub outcome: Outcome,
}

impl Exchange {
    /// The JSON Lines `app_exchange` fields (the caller adds the record type and connection).
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "protocol": self.protocol.name(),
            "id": self.id,
            "name": self.name,
            "request_dir": self.request_dir.short(),
            "request_packet": self.request_packet,
            "answer_packet": self.answer_packet,
            "latency_ns": self.latency_ns,
            "end_packet": self.end_packet,
            "duration_ns": self.duration_ns,
            "answers": self.answers,
            "outcome": self.outcome.name(),
        })
    }
}

/// A request that had no answer when the connection ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Unanswered {
    /// Protocol of the request.
    pub protocol: Protocol,
    /// Its id.
    pub id: String,
    /// What was asked.
    pub name: Option<String>,
    /// Who asked.
    pub request_dir: Direction,
    /// Packet number of the request.
    pub request_packet: u64,
    /// Stream items already received (GraphQL).
    pub answers: u32,
}

impl Unanswered {
    /// JSON Lines fields for an unanswered request.
    pub fn to_json(&self) -> Value {
        serde_json::json!({
            "protocol": self.protocol.name(),
            "id": self.id,
            "name": self.name,
            "request_dir": self.request_dir.short(),
            "request_packet": self.request_packet,
            "answers": self.answers,
        })
    }
}

/// A protocol anomaly found by a decoder.
#[derive(Debug, Clone, PartialEq)]
pub struct AppAnomaly {
    /// Its kind.
    pub kind: AnomalyKind,
    /// Direction of the message it was found in.
    pub dir: Direction,
    /// Packet number of that message.
    pub packet: u64,
    /// Specifics (capped, not escaped), e.g. the offending id.
    pub detail: String,
}

macro_rules! anomaly_kinds {
    ($($variant:ident => $name:literal, $sev:ident, $desc:literal;)*) => {
        /// Kinds of application-protocol anomalies, with stable kebab-case names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum AnomalyKind {
            $(#[doc = $desc] $variant,)*
        }

        impl AnomalyKind {
            /// Every kind.
            pub const ALL: &'static [AnomalyKind] = &[$(AnomalyKind::$variant,)*];

            /// Stable name, e.g. `jsonrpc-unknown-id`.
            pub fn name(self) -> &'static str {
                match self { $(AnomalyKind::$variant => $name,)* }
            }

            /// Warning, or error where the protocol says MUST.
            pub fn severity(self) -> Severity {
                match self { $(AnomalyKind::$variant => Severity::$sev,)* }
            }

            /// One line saying what the rule is.
            pub fn description(self) -> &'static str {
                match self { $(AnomalyKind::$variant => $desc,)* }
            }
        }
    };
}

anomaly_kinds! {
    EngineioMalformedPacket => "engineio-malformed-packet", Warning,
        "Engine.IO packet with an unknown type or unreadable content";
    EngineioMalformedPayload => "engineio-malformed-payload", Warning,
        "Engine.IO polling payload that cannot be split into packets";
    SocketioMalformedPacket => "socketio-malformed-packet", Warning,
        "Socket.IO packet that does not follow the packet encoding (type, attachments, namespace, ack id, JSON data)";
    SocketioAckWithoutEvent => "socketio-ack-without-event", Warning,
        "Socket.IO ACK whose namespace and id match no pending event from the other side";
    SocketioDuplicateAckId => "socketio-duplicate-ack-id", Warning,
        "Socket.IO event reusing an ack id still waiting for its ACK";
    SocketioMissingAttachments => "socketio-missing-attachments", Warning,
        "Socket.IO binary packet not followed by all of its binary attachments";
    SocketioUnexpectedBinary => "socketio-unexpected-binary", Warning,
        "binary message where no Socket.IO binary packet expects an attachment";
    GraphqlMalformedMessage => "graphql-malformed-message", Error,
        "GraphQL over WebSocket message that is not a JSON object with a known string `type` (graphql-transport-ws: close 4400)";
    GraphqlNextUnknownId => "graphql-next-unknown-id", Warning,
        "GraphQL next/data/error/complete for an id with no active operation";
    GraphqlDuplicateId => "graphql-duplicate-id", Error,
        "GraphQL subscribe for an id already active (graphql-transport-ws: close 4409)";
    GraphqlSubscribeBeforeAck => "graphql-subscribe-before-ack", Error,
        "GraphQL subscribe before connection_ack (graphql-transport-ws: close 4401)";
    GraphqlDuplicateInit => "graphql-duplicate-init", Error,
        "second connection_init on one connection (graphql-transport-ws: close 4429)";
    GraphqlWrongDirection => "graphql-wrong-direction", Warning,
        "GraphQL message type sent by the wrong side (e.g. next from the client)";
    JsonrpcMalformed => "jsonrpc-malformed", Warning,
        "JSON-RPC message that is not JSON or not a request, notification or response object";
    JsonrpcInvalidVersion => "jsonrpc-invalid-version", Error,
        "JSON-RPC `jsonrpc` member that is not exactly \"2.0\" (MUST)";
    JsonrpcResultAndError => "jsonrpc-result-and-error", Error,
        "JSON-RPC 2.0 response with both or neither of result and error (MUST)";
    JsonrpcUnknownId => "jsonrpc-unknown-id", Warning,
        "JSON-RPC response whose id matches no pending request from the other side";
    JsonrpcDuplicateId => "jsonrpc-duplicate-id", Warning,
        "JSON-RPC request reusing an id still waiting for its response";
    JsonrpcEmptyBatch => "jsonrpc-empty-batch", Warning,
        "JSON-RPC batch that is an empty array (answered with one Invalid Request error)";
    JsonInvalid => "json-invalid", Warning,
        "message decoded as JSON that is not valid JSON";
    PendingDropped => "app-pending-dropped", Warning,
        "requests dropped from the pending table because too many were waiting for answers";
}

impl AppAnomaly {
    pub(crate) fn new(kind: AnomalyKind, msg: &AppInput<'_>, detail: impl Into<String>) -> Self {
        AppAnomaly {
            kind,
            dir: msg.dir,
            packet: msg.packet,
            detail: bound::cap_str(&detail.into(), bound::MAX_SUMMARY),
        }
    }
}

/// The filter fields (`-Y`, `-e`) of every registered decoder, made once from
/// [`DECODERS`]: per field prefix the protocol itself (present when one of its packets was
/// decoded in the packet) and `<prefix>.<field>` for each field its decoders declare, as text
/// (JSON strings as they are, numbers and booleans as written, objects and arrays as
/// compact JSON). A decoder added to [`DECODERS`] gets its fields with no other change.
pub fn app_fields() -> &'static [crate::fields::DynField] {
    use crate::fields::{DynField, FieldType};
    static FIELDS: std::sync::OnceLock<Vec<DynField>> = std::sync::OnceLock::new();
    FIELDS.get_or_init(|| {
        let mut out: Vec<DynField> = Vec::new();
        for d in DECODERS {
            let prefix = d.protocol.field_prefix();
            if !out.iter().any(|f| f.name == prefix) {
                let names: Vec<&str> = DECODERS
                    .iter()
                    .filter(|o| o.protocol.field_prefix() == prefix)
                    .map(|o| o.protocol.name())
                    .collect();
                out.push(DynField {
                    name: prefix.to_string(),
                    ty: FieldType::Protocol,
                    prefix,
                    key: None,
                    description: format!(
                        "an application packet decoded as {} (payload decoder)",
                        names.join(" or ")
                    ),
                });
            }
            for (key, meaning) in d.fields {
                let name = format!("{prefix}.{key}");
                if !out.iter().any(|f| f.name == name) {
                    out.push(DynField {
                        name,
                        ty: FieldType::Str,
                        prefix,
                        key: Some(key),
                        description: format!("{}: {meaning}", d.protocol.name()),
                    });
                }
            }
        }
        out
    })
}

#[cfg(test)]
pub(crate) mod testutil {
    use super::*;

    /// A message at `packet`, time = packet * 1 ms.
    pub fn input(dir: Direction, text: bool, payload: &[u8], packet: u64) -> AppInput<'_> {
        AppInput {
            dir,
            text,
            payload,
            complete: true,
            packet,
            time_ns: packet * 1_000_000,
        }
    }

    pub const C2S: Direction = Direction::ClientToServer;
    pub const S2C: Direction = Direction::ServerToClient;

    /// Feeds `(dir, text)` messages numbered from 1 and ends the decoder.
    pub fn run(d: &mut dyn Decoder, msgs: &[(Direction, &str)]) -> Vec<AppOutput> {
        let mut out = Vec::new();
        for (i, (dir, t)) in msgs.iter().enumerate() {
            d.message(&input(*dir, true, t.as_bytes(), i as u64 + 1), &mut out);
        }
        d.end(&mut out);
        out
    }

    pub fn packets(out: &[AppOutput]) -> Vec<&AppPacket> {
        out.iter()
            .filter_map(|o| match o {
                AppOutput::Packet(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    pub fn exchanges(out: &[AppOutput]) -> Vec<&Exchange> {
        out.iter()
            .filter_map(|o| match o {
                AppOutput::Exchange(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    pub fn anomalies(out: &[AppOutput]) -> Vec<AnomalyKind> {
        out.iter()
            .filter_map(|o| match o {
                AppOutput::Anomaly(a) => Some(a.kind),
                _ => None,
            })
            .collect()
    }

    pub fn unanswered(out: &[AppOutput]) -> Vec<&Unanswered> {
        out.iter()
            .filter_map(|o| match o {
                AppOutput::Unanswered(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    /// Flips bytes, truncates and splices `seed` in many ways; the decoder must not panic.
    pub fn mutate_all(make: &dyn Fn() -> Box<dyn Decoder>, seeds: &[&[u8]]) {
        let mut out = Vec::new();
        for seed in seeds {
            let mut variants: Vec<Vec<u8>> = Vec::new();
            for cut in 0..=seed.len() {
                variants.push(seed[..cut].to_vec());
                variants.push(seed[cut..].to_vec());
            }
            for i in 0..seed.len() {
                for b in [
                    0u8, b'"', b'[', b'{', b'-', b'/', b',', b'9', 0xff, b'}', b']',
                ] {
                    let mut v = seed.to_vec();
                    v[i] = b;
                    variants.push(v);
                }
            }
            let mut d = make();
            for (n, v) in variants.iter().enumerate() {
                let dir = if n % 3 == 0 { S2C } else { C2S };
                d.message(&input(dir, n % 5 != 0, v, n as u64), &mut out);
                out.clear();
            }
            d.end(&mut out);
            out.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::*;
    use super::*;

    #[test]
    fn exchange_json() {
        let x = Exchange {
            protocol: Protocol::JsonRpc,
            id: "4".into(),
            name: Some("sum".into()),
            request_dir: C2S,
            request_packet: 8,
            answer_packet: 9,
            latency_ns: 1_200_000,
            end_packet: 9,
            duration_ns: 1_200_000,
            answers: 1,
            outcome: Outcome::Result,
        };
        let v = x.to_json();
        assert_eq!(v["protocol"], "jsonrpc");
        assert_eq!(v["request_dir"], "c2s");
        assert_eq!(v["latency_ns"], 1_200_000);
        assert_eq!(v["outcome"], "result");
    }

    /// Random edits of real messages (from the samples) through every registered decoder,
    /// with a polling decoder too: nothing panics, every summary respects its cap.
    #[test]
    fn random_mutations_never_panic() {
        let seeds: &[&[u8]] = &[
            br#"451-/chat,2["upload",{"_placeholder":true,"num":0},"a.bin"]"#,
            br#"43/chat,1[["ok","hi"]]"#,
            br#"0{"sid":"Q4UuHJ-06y9BlMw_AAAA","upgrades":["websocket"],"pingTimeout":20000}"#,
            b"2probe",
            br#"{"id":"e7","type":"subscribe","payload":{"query":"query Hello($name: String) { hello(name: $name) }","operationName":"Hello","variables":{"name":"ws"}}}"#,
            br#"{"id":"e7","type":"next","payload":{"data":{"hello":"Hello ws"}}}"#,
            br#"[{"jsonrpc": "2.0", "method": "sum", "params": [10, 20], "id": 4}, {"jsonrpc": "2.0", "result": "x", "id": 5}]"#,
            br#"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found", "data": "nosuch"}, "id": 3}"#,
            "6:4hello4:4€€€".as_bytes(),
        ];
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n.max(1) as u64) as usize
        };
        let ctx = Context {
            request_uri: "/socket.io/?EIO=4&transport=websocket",
            subprotocol: None,
            summary_only: false,
        };
        let mut decoders: Vec<Box<dyn Decoder>> = DECODERS.iter().map(|d| (d.new)(&ctx)).collect();
        decoders.push(Box::new(
            socketio::SocketIoDecoder::polling("/socket.io/?EIO=3&transport=polling").unwrap(),
        ));
        let mut out = Vec::new();
        for n in 0..20_000u64 {
            let mut m = seeds[rnd(seeds.len())].to_vec();
            for _ in 0..1 + rnd(4) {
                let i = rnd(m.len() + 1);
                match rnd(4) {
                    0 if i < m.len() => m[i] = rnd(256) as u8,
                    1 if i < m.len() => {
                        m.remove(i);
                    }
                    2 => m.insert(i, b"{}[]\",:-/0123456789\x1e\xff"[rnd(19)]),
                    _ => m.truncate(i),
                }
            }
            let dir = if rnd(2) == 0 { C2S } else { S2C };
            let d = &mut decoders[rnd(7)];
            d.message(&input(dir, rnd(5) != 0, &m, n), &mut out);
            for o in out.drain(..) {
                if let AppOutput::Packet(p) = o {
                    assert!(
                        p.summary.chars().count() <= bound::MAX_SUMMARY,
                        "{}",
                        p.summary
                    );
                }
            }
        }
        for d in &mut decoders {
            d.end(&mut out);
        }
    }
}
