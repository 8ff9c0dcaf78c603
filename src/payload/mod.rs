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

pub mod actioncable;
pub mod bound;
pub mod cbor;
pub mod choose;
pub mod engineio;
pub mod etf;
pub mod graphql;
pub mod json;
pub mod jsonrpc;
pub mod mqtt;
pub mod msgpack;
mod pending;
pub mod phoenix;
pub mod protobuf;
pub mod signalr;
pub mod socketio;
pub mod stomp;
pub mod zlibstream;

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
    /// STOMP 1.0-1.2.
    Stomp,
    /// MQTT 3.1, 3.1.1 and 5.
    Mqtt,
    /// ASP.NET Core SignalR hub protocols (JSON and MessagePack).
    SignalR,
    /// Phoenix channels (V1 and V2 serializers).
    Phoenix,
    /// Rails ActionCable (`actioncable-v1-json`).
    ActionCable,
    /// MessagePack content.
    MsgPack,
    /// CBOR content.
    Cbor,
    /// Protocol Buffers content, with or without a schema.
    Protobuf,
    /// One zlib stream per direction across messages (Discord-style `compress=zlib-stream`),
    /// its content decoded as JSON or Erlang terms (ETF).
    ZlibStream,
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
        Protocol::ZlibStream,
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
            Protocol::ZlibStream => "zlib-stream",
        }
    }

    /// Prefix of the protocol's filter fields (`socketio.event`, `graphql.type`).
    pub fn field_prefix(self) -> &'static str {
        match self {
            Protocol::EngineIo => "engineio",
            Protocol::SocketIo => "socketio",
            Protocol::GraphqlTransportWs | Protocol::GraphqlWs => "graphql",
            Protocol::ZlibStream => "zlib",
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
    /// The protobuf message types `--proto-message` names for this connection.
    pub proto_message: Option<&'a protobuf::ProtoMessages>,
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
        protocol: Protocol::Stomp,
        aliases: &["stomp1.2", "stomp12"],
        subprotocols: &["v12.stomp", "v11.stomp", "v10.stomp"],
        description: "STOMP 1.0-1.2 frames (several per message or one over several), heart-beats, receipts, subscriptions",
        fields: &[
            (
                "command",
                "frame command: CONNECT, STOMP, SEND, SUBSCRIBE, MESSAGE, RECEIPT, ERROR…",
            ),
            (
                "headers",
                "every header (the first of a repeated one), unescaped",
            ),
            ("destination", "destination header"),
            ("id", "subscription id (SUBSCRIBE, UNSUBSCRIBE) or ack id"),
            ("subscription", "MESSAGE subscription id"),
            ("message_id", "MESSAGE message-id"),
            ("receipt", "receipt asked for"),
            ("receipt_id", "RECEIPT / ERROR receipt-id"),
            ("transaction", "transaction header"),
            ("ack", "SUBSCRIBE ack mode, or ACK/NACK's ack header"),
            ("version", "CONNECTED version"),
            ("accept_version", "CONNECT accept-version"),
            ("host", "CONNECT host"),
            ("heart_beat", "heart-beat header"),
            ("message", "ERROR message header"),
            ("content_length", "content-length header"),
            ("content_type", "content-type header"),
            ("body_len", "body length, bytes"),
            ("body", "body as text (first 1024 bytes) when UTF-8"),
            ("body_hex", "body in hex (first 64 bytes) when not UTF-8"),
            (
                "subscribe_packet",
                "MESSAGE: packet number of the SUBSCRIBE it belongs to",
            ),
            (
                "heartbeat",
                "true for a heart-beat (a message of end-of-lines only)",
            ),
            (
                "latency_ns",
                "answer time minus request time, nanoseconds (CONNECTED, RECEIPT, ERROR)",
            ),
        ],
        new: stomp::new_decoder,
    },
    DecoderInfo {
        protocol: Protocol::Mqtt,
        aliases: &["mqttv3.1", "mqtt5", "mqttv5"],
        subprotocols: &["mqtt", "mqttv3.1"],
        description: "MQTT 3.1/3.1.1/5 control packets (binary, split or joined across messages): publish QoS 0-2, subscribe, ping, v5 properties",
        fields: &[
            (
                "msgtype",
                "control packet type number (1 CONNECT … 15 AUTH), as Wireshark's mqtt.msgtype",
            ),
            (
                "type",
                "control packet type name: CONNECT, CONNACK, PUBLISH, PUBACK, PUBREC, PUBREL, PUBCOMP, SUBSCRIBE, SUBACK, UNSUBSCRIBE, UNSUBACK, PINGREQ, PINGRESP, DISCONNECT, AUTH",
            ),
            (
                "len",
                "remaining length (bytes after the fixed header), as Wireshark's mqtt.len",
            ),
            ("protoname", "CONNECT protocol name (MQTT, MQIsdp)"),
            ("ver", "CONNECT protocol level: 3 (3.1), 4 (3.1.1), 5"),
            ("cleansess", "CONNECT clean session / clean start flag"),
            ("kalive", "CONNECT keep alive, seconds"),
            ("clientid", "CONNECT client identifier"),
            ("will_properties", "CONNECT will properties (MQTT 5)"),
            ("willtopic", "CONNECT will topic"),
            ("willmsg_len", "CONNECT will message length"),
            ("will_qos", "CONNECT will QoS"),
            ("will_retain", "CONNECT will retain flag"),
            ("username", "CONNECT user name"),
            (
                "passwd_len",
                "CONNECT password length (the password is not shown)",
            ),
            ("session_present", "CONNACK session present flag"),
            (
                "reason_code",
                "CONNACK return code, or the MQTT 5 reason code of PUBACK, PUBREC, PUBREL, PUBCOMP, DISCONNECT, AUTH",
            ),
            ("topic", "PUBLISH topic name"),
            ("qos", "PUBLISH QoS level 0-2"),
            ("dupflag", "PUBLISH DUP flag"),
            ("retain", "PUBLISH retain flag"),
            ("msgid", "packet identifier"),
            (
                "properties",
                "MQTT 5 properties by name (user_property: [key, value] pairs)",
            ),
            ("msg_len", "PUBLISH payload length"),
            (
                "msg_text",
                "PUBLISH payload as text (first 256 bytes) when UTF-8",
            ),
            (
                "msg_hex",
                "PUBLISH payload in hex (first 256 bytes) when not UTF-8",
            ),
            (
                "topics",
                "SUBSCRIBE topic filters with QoS and options byte; UNSUBSCRIBE topic filters",
            ),
            (
                "reason_codes",
                "SUBACK return codes; MQTT 5 UNSUBACK reason codes",
            ),
            (
                "latency_ns",
                "answer time minus request time, nanoseconds (on the answer; PUBCOMP: since the PUBLISH)",
            ),
        ],
        new: mqtt::new_decoder,
    },
    DecoderInfo {
        protocol: Protocol::Phoenix,
        aliases: &["phoenix-channels", "phx"],
        subprotocols: &[],
        description: "Phoenix channels (V1 objects, V2 arrays and binary): joins, pushes, replies by ref, broadcasts, heartbeats",
        fields: &[
            (
                "join_ref",
                "join reference of the channel (null outside a join)",
            ),
            ("ref", "message reference (null for broadcasts)"),
            (
                "topic",
                "channel topic, e.g. room:lobby (phoenix for heartbeats)",
            ),
            (
                "event",
                "event: phx_join, phx_leave, phx_reply, phx_error, phx_close, heartbeat or an application event",
            ),
            ("status", "phx_reply status: ok or error"),
            ("response", "phx_reply response"),
            ("latency_ns", "phx_reply time minus push time, nanoseconds"),
            (
                "payload",
                "payload (binary messages: binary_len, binary_hex)",
            ),
            (
                "version",
                "serializer: 1.0.0 (objects) or 2.0.0 (arrays, binary)",
            ),
            ("binary", "true for a V2 binary message"),
        ],
        new: phoenix::new_decoder,
    },
    DecoderInfo {
        protocol: Protocol::ActionCable,
        aliases: &["action-cable", "cable"],
        subprotocols: &["actioncable-v1-json", "actioncable-unsupported"],
        description: "Rails ActionCable (actioncable-v1-json): welcome, ping, subscriptions confirmed or rejected, channel messages, commands",
        fields: &[
            (
                "type",
                "welcome, ping, confirm_subscription, reject_subscription, disconnect, message (broadcast), or the client's command",
            ),
            ("command", "client command: subscribe, unsubscribe, message"),
            ("identifier", "channel identifier, the JSON string as sent"),
            ("channel", "channel class named in the identifier"),
            ("params", "the identifier's parameters (parsed)"),
            ("action", "action of a message command's data"),
            ("data", "message command's data (parsed)"),
            ("message", "broadcast message, or the ping's timestamp"),
            ("reason", "disconnect reason"),
            ("reconnect", "disconnect: whether the client may reconnect"),
            (
                "latency_ns",
                "confirm/reject time minus subscribe time, nanoseconds",
            ),
        ],
        new: actioncable::new_decoder,
    },
    DecoderInfo {
        protocol: Protocol::SignalR,
        aliases: &["aspnet-signalr"],
        subprotocols: &[],
        description: "ASP.NET Core SignalR hub protocol, JSON (0x1E records) and MessagePack (VarInt-framed): invocations paired with completions, streams",
        fields: &[
            (
                "type",
                "handshake, handshake_response, invocation, stream_item, completion, stream_invocation, cancel_invocation, ping, close, ack, sequence",
            ),
            ("invocation_id", "invocation id"),
            ("target", "hub method invoked"),
            ("arguments", "invocation arguments"),
            ("stream_ids", "ids of streams the caller sends"),
            ("item", "stream item value"),
            ("result", "completion result"),
            ("error", "completion, close or handshake error"),
            ("allow_reconnect", "close: the client may reconnect"),
            ("sequence_id", "ack / sequence: sequence id"),
            ("headers", "message headers"),
            ("hub_protocol", "handshake: json or messagepack"),
            ("version", "handshake: protocol version"),
            ("encoding", "json or messagepack"),
            (
                "latency_ns",
                "completion time minus invocation time, nanoseconds",
            ),
        ],
        new: signalr::new_decoder,
    },
    DecoderInfo {
        protocol: Protocol::MsgPack,
        aliases: &["messagepack", "msgpack"],
        subprotocols: &["msgpack", "messagepack"],
        description: "MessagePack content: one value per message as a tree",
        fields: VALUE_FIELDS,
        new: msgpack::new_decoder,
    },
    DecoderInfo {
        protocol: Protocol::Cbor,
        aliases: &[],
        subprotocols: &["cbor"],
        description: "CBOR content (RFC 8949): one data item per message as a tree",
        fields: VALUE_FIELDS,
        new: cbor::new_decoder,
    },
    DecoderInfo {
        protocol: Protocol::Protobuf,
        aliases: &["proto", "protobuf3"],
        subprotocols: &["protobuf", "proto"],
        description: "Protocol Buffers: by --proto/--proto-message schema with field names, else the wire format with guessed nesting",
        fields: &[
            ("message", "message type name (with a schema)"),
            (
                "data",
                "the decoded message: field names (schema) or numbers",
            ),
            ("field", "field numbers present at the top level"),
            (
                "wire_types",
                "wire type of each top-level field (no schema)",
            ),
            (
                "confidence",
                "how sure a schema-less nested-message guess is, 0-100",
            ),
            ("length", "message length, bytes"),
        ],
        new: protobuf::new_decoder,
    },
    DecoderInfo {
        protocol: Protocol::ZlibStream,
        aliases: &["zlib", "zlib_stream"],
        subprotocols: &[],
        description: "zlib stream across messages (compress=zlib-stream, each flush ends 00 00 ff ff), inflated and read as JSON or Erlang ETF",
        fields: &[
            ("compressed", "compressed bytes of the message"),
            ("inflated", "inflated bytes"),
            ("content", "json, etf or binary"),
            ("type", "JSON type of the content"),
            ("data", "the JSON value (capped)"),
            ("op", "Discord gateway opcode, when present"),
            ("t", "Discord gateway event name, when present"),
        ],
        new: zlibstream::new_decoder,
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

/// Fields of the self-describing binary value formats (MessagePack, CBOR).
const VALUE_FIELDS: &[(&str, &str)] = &[
    (
        "type",
        "top-level type (map, array, string… as the format names them)",
    ),
    ("length", "message length, bytes"),
    (
        "data",
        "the value as a tree: binary as {\"$bin\": hex, \"length\": n}, tags and extensions as objects",
    ),
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
    MqttMalformedRemainingLength => "mqtt-malformed-remaining-length", Error,
        "MQTT remaining length (Variable Byte Integer) longer than 4 bytes (MQTT 3.1.1 §2.2.3, MQTT 5 §1.5.5)";
    MqttMalformedPacket => "mqtt-malformed-packet", Error,
        "MQTT control packet that does not follow its layout (reserved type or flags, short or extra bytes, bad string or property)";
    MqttIncompletePacket => "mqtt-incomplete-packet", Warning,
        "the connection ended inside an MQTT control packet";
    MqttUnknownPacketId => "mqtt-unknown-packet-id", Warning,
        "MQTT PUBACK/PUBREC/PUBREL/PUBCOMP/SUBACK/UNSUBACK whose packet identifier matches no pending request";
    StompFrameWithoutNul => "stomp-frame-without-nul", Error,
        "STOMP frame not ended by a NUL octet (STOMP 1.2 \"Augmented BNF\")";
    StompBadContentLength => "stomp-bad-content-length", Error,
        "STOMP content-length that is not a number or not followed by the frame's NUL";
    StompMalformedFrame => "stomp-malformed-frame", Warning,
        "STOMP frame with an unknown command, a header line without a colon or an undefined escape";
    StompUnknownReceipt => "stomp-unknown-receipt", Warning,
        "STOMP RECEIPT or ERROR whose receipt-id answers no frame that asked for a receipt";
    StompUnknownSubscription => "stomp-unknown-subscription", Warning,
        "STOMP MESSAGE whose subscription id matches no SUBSCRIBE seen on the connection";
    PhoenixMalformedMessage => "phoenix-malformed-message", Warning,
        "Phoenix channels message that is neither a V2 array [join_ref, ref, topic, event, payload], a V1 object nor a V2 binary message";
    PhoenixReplyUnknownRef => "phoenix-reply-unknown-ref", Warning,
        "Phoenix phx_reply whose ref matches no pending push from the client";
    ActioncableMalformedMessage => "actioncable-malformed-message", Warning,
        "ActionCable message that is not a JSON object with a type, a command or an identifier and message";
    ActioncableUnknownSubscription => "actioncable-unknown-subscription", Warning,
        "ActionCable confirm_subscription or reject_subscription for an identifier no subscribe asked for";
    JsonInvalid => "json-invalid", Warning,
        "message decoded as JSON that is not valid JSON";
    SignalrMalformedMessage => "signalr-malformed-message", Warning,
        "SignalR hub message that is not JSON / MessagePack of a known message type, or a bad VarInt length";
    SignalrMissingSeparator => "signalr-missing-separator", Error,
        "SignalR JSON record not terminated by the record separator 0x1E (MUST)";
    SignalrUnknownInvocationId => "signalr-unknown-invocation-id", Warning,
        "SignalR completion or stream item whose invocation id matches no pending invocation";
    SignalrResultAndError => "signalr-result-and-error", Error,
        "SignalR completion with both result and error (a protocol error)";
    MsgpackMalformed => "msgpack-malformed", Warning,
        "message decoded as MessagePack that is not exactly one MessagePack value";
    CborMalformed => "cbor-malformed", Warning,
        "message decoded as CBOR that is not exactly one well-formed CBOR data item";
    ProtobufMalformed => "protobuf-malformed", Warning,
        "message decoded as Protocol Buffers that does not parse (as the given message type, or as the wire format)";
    ZlibStreamCorrupt => "zlib-stream-corrupt", Warning,
        "message of a zlib-stream connection that cannot be inflated (bad data, or the stream's window was lost)";
    ZlibStreamTooLarge => "zlib-stream-too-large", Warning,
        "message of a zlib-stream connection inflating past the inflation cap (decompression bomb)";
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
            b"SEND\ndestination:/q\ncontent-length:2\nreceipt:7\n\nhi\0\nRECEIPT\nreceipt-id:7\n\n\0",
            b"\x32\x0c\x00\x03a/b\x00\x07\x00\x23\x00\x01x\x40\x02\x00\x07",
            br#"["1","1","room:lobby","phx_join",{}]"#,
            br#"{"command":"subscribe","identifier":"{\"channel\":\"C\"}"}"#,
            // SignalR (JSON and MessagePack framing), MessagePack, CBOR, protobuf, zlib.
            b"{\"protocol\":\"messagepack\",\"version\":1}\x1e\x09\x95\x03\x80\xa3xyz\x03\x2a",
            b"{\"type\":1,\"invocationId\":\"1\",\"target\":\"A\",\"arguments\":[1],\"streamIds\":[\"2\"]}\x1e",
            b"\x82\xa1a\x01\xa1b\x92\xc4\x01\xff\xd6\xff\x00\x00\x00\x10",
            b"\xbf\x61\x61\x01\x61\x62\x9f\x02\x03\xff\xc2\x49\x01\x00\x00\x00\x00\x00\x00\x00\x00\xff",
            b"\x08\x96\x01\x12\x07testing\x1a\x03\x08\x96\x01\x0b\x10\x05\x0c",
            b"\x78\x9c\xaa\x56\xca\x2f\x50\xb2\x32\x34\xa8\x05\x00\x00\x00\xff\xff",
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
            ..Context::default()
        };
        let mut decoders: Vec<Box<dyn Decoder>> = DECODERS.iter().map(|d| (d.new)(&ctx)).collect();
        decoders.push(Box::new(
            socketio::SocketIoDecoder::polling("/socket.io/?EIO=3&transport=polling").unwrap(),
        ));
        let n_decoders = decoders.len();
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
            let d = &mut decoders[rnd(n_decoders)];
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
