//! The values of the named fields ([`crate::fields`]) in one packet, gathered from the
//! dissector's events, for display filters (`-Y`) and `-T fields` columns.
//!
//! The dissector emits a packet's child events (HTTP heads, handshake, frames, messages,
//! pings, anomalies) first and its [`Event::Packet`] record last. [`PacketFields`] keeps owned
//! copies of the children until the record arrives; [`PacketFields::view`] then reads any
//! field of the packet. [`Registry`] is the field table the filter compiler resolves names
//! with: field ids are positions in [`fields::ALL`], so the names have one source.

use crate::capture::{LinkType, Timestamp};
use crate::event::{
    Anomaly, ConnId, Endpoints, Event, FrameEvent, Handshake, HttpPendingEvent, HttpRequestEvent,
    HttpResponseEvent, MessageEvent, PacketBody, PacketRecord, PingPongEvent,
};
use crate::event::{AppExchange, AppExchangeEvent};
use crate::fields::{self, Field};
use crate::filter::tfields::Display;
use crate::filter::{FieldId, FieldRegistry, FieldType, FieldValues, Value};
use crate::flow::analysis::{AnalysisFlags, Direction};
use crate::http::accept::AcceptVerdict;
use crate::http::head::{Request, Response};
use crate::wire::TcpFlags;
use crate::ws::frame::LengthEncoding;
use crate::ws::{CloseCode, FrameHeader, OpCode};
use std::ops::ControlFlow;

/// How each field of the table is read from a packet; `None` for fields that only
/// connection-level records carry (JSON Lines `connection`, `tls`, `capture_error`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Get {
    FrameNumber,
    FrameTime,
    FrameTimeEpoch,
    FrameTimeRelative,
    FrameTimeDelta,
    FrameLen,
    FrameCapLen,
    Eth,
    EthSrc,
    EthDst,
    EthAddr,
    Ip,
    IpSrc,
    IpDst,
    IpAddr,
    Ipv6,
    Ipv6Src,
    Ipv6Dst,
    Ipv6Addr,
    Tcp,
    TcpSrcPort,
    TcpDstPort,
    TcpPort,
    TcpStream,
    TcpLen,
    TcpSeq,
    TcpAck,
    TcpFlag(u8),
    TcpAnalysis(u16),
    Http,
    HttpRequest,
    HttpResponse,
    HttpMethod,
    HttpUri,
    HttpResponseCode,
    HttpResponsePhrase,
    /// A header of the request (true) or of either head (false).
    HttpHeader(&'static str, bool),
    /// A header of the response.
    HttpResponseHeader(&'static str),
    Websocket,
    WsFin,
    WsRsv,
    WsPmc,
    WsOpcode,
    WsMask,
    WsPayloadLength,
    WsPayloadLengthExt16,
    WsPayloadLengthExt64,
    WsMaskingKey,
    WsPayload,
    WsPayloadText,
    WsCloseCode,
    WsCloseReason,
    WsPing,
    WsPong,
    WsdDirection,
    WsdOpcodeName,
    WsdCloseName,
    WsdFrameFirstPacket,
    WsdPayloadComplete,
    WsdMessageLen,
    WsdMessageFrames,
    WsdMessageFirstPacket,
    WsdMessageLastPacket,
    WsdMessageFirstTime,
    WsdMessageCompressed,
    WsdMessageWireLen,
    WsdMessagePayload,
    WsdMessageText,
    WsdPingDir,
    WsdPingPacket,
    WsdPongPacket,
    WsdPingRtt,
    WsdPingPayloadLen,
    WsdClient,
    WsdServer,
    WsdRequestPacket,
    WsdResponsePacket,
    WsdOrigin,
    WsdRequestedProtocols,
    WsdRequestedExtensions,
    WsdUpgraded,
    WsdAcceptExpected,
    WsdAcceptOk,
    WsdAnomaly,
    WsdAnomalySeverity,
    WsdAnomalyKind,
    WsdAnomalyMessage,
    /// An application protocol's field (`key`) or the protocol itself (`None`), of the
    /// packets whose protocol has the field prefix `prefix`.
    App {
        prefix: &'static str,
        key: Option<&'static str>,
    },
}

fn getter(f: &Field) -> Option<Get> {
    use Get::*;
    const SYN: u8 = 0;
    Some(match f.name {
        "frame.number" => FrameNumber,
        "frame.time" => FrameTime,
        "frame.time_epoch" => FrameTimeEpoch,
        "frame.time_relative" => FrameTimeRelative,
        "frame.time_delta" => FrameTimeDelta,
        "frame.len" => FrameLen,
        "frame.cap_len" => FrameCapLen,
        "eth" => Eth,
        "eth.src" => EthSrc,
        "eth.dst" => EthDst,
        "eth.addr" => EthAddr,
        "ip" => Ip,
        "ip.src" => IpSrc,
        "ip.dst" => IpDst,
        "ip.addr" => IpAddr,
        "ipv6" => Ipv6,
        "ipv6.src" => Ipv6Src,
        "ipv6.dst" => Ipv6Dst,
        "ipv6.addr" => Ipv6Addr,
        "tcp" => Tcp,
        "tcp.srcport" => TcpSrcPort,
        "tcp.dstport" => TcpDstPort,
        "tcp.port" => TcpPort,
        "tcp.stream" => TcpStream,
        "tcp.len" => TcpLen,
        "tcp.seq" => TcpSeq,
        "tcp.ack" => TcpAck,
        "tcp.flags.syn" => TcpFlag(SYN),
        "tcp.flags.ack" => TcpFlag(1),
        "tcp.flags.fin" => TcpFlag(2),
        "tcp.flags.reset" => TcpFlag(3),
        "tcp.flags.push" => TcpFlag(4),
        "tcp.analysis.retransmission" => TcpAnalysis(AnalysisFlags::RETRANSMISSION),
        "tcp.analysis.fast_retransmission" => TcpAnalysis(AnalysisFlags::FAST_RETRANSMISSION),
        "tcp.analysis.spurious_retransmission" => {
            TcpAnalysis(AnalysisFlags::SPURIOUS_RETRANSMISSION)
        }
        "tcp.analysis.out_of_order" => TcpAnalysis(AnalysisFlags::OUT_OF_ORDER),
        "tcp.analysis.lost_segment" => TcpAnalysis(AnalysisFlags::PREVIOUS_SEGMENT_NOT_CAPTURED),
        "tcp.analysis.ack_lost_segment" => TcpAnalysis(AnalysisFlags::ACKED_UNSEEN_SEGMENT),
        "tcp.analysis.duplicate_ack" => TcpAnalysis(AnalysisFlags::DUP_ACK),
        "tcp.analysis.window_update" => TcpAnalysis(AnalysisFlags::WINDOW_UPDATE),
        "tcp.analysis.window_full" => TcpAnalysis(AnalysisFlags::WINDOW_FULL),
        "tcp.analysis.zero_window" => TcpAnalysis(AnalysisFlags::ZERO_WINDOW),
        "tcp.analysis.keep_alive" => TcpAnalysis(AnalysisFlags::KEEP_ALIVE),
        "tcp.analysis.keep_alive_ack" => TcpAnalysis(AnalysisFlags::KEEP_ALIVE_ACK),
        "http" => Http,
        "http.request" => HttpRequest,
        "http.response" => HttpResponse,
        "http.request.method" => HttpMethod,
        "http.request.uri" => HttpUri,
        "http.host" => HttpHeader("host", true),
        "http.response.code" => HttpResponseCode,
        "http.response.phrase" => HttpResponsePhrase,
        "http.upgrade" => HttpHeader("upgrade", false),
        "http.connection" => HttpHeader("connection", false),
        "http.sec_websocket_key" => HttpHeader("sec-websocket-key", true),
        "http.sec_websocket_accept" => HttpResponseHeader("sec-websocket-accept"),
        "http.sec_websocket_version" => HttpHeader("sec-websocket-version", false),
        "http.sec_websocket_protocol" => HttpHeader("sec-websocket-protocol", false),
        "http.sec_websocket_extensions" => HttpHeader("sec-websocket-extensions", false),
        "websocket" => Websocket,
        "websocket.fin" => WsFin,
        "websocket.rsv" => WsRsv,
        "websocket.pmc" => WsPmc,
        "websocket.opcode" => WsOpcode,
        "websocket.mask" => WsMask,
        "websocket.payload_length" => WsPayloadLength,
        "websocket.payload_length_ext_16" => WsPayloadLengthExt16,
        "websocket.payload_length_ext_64" => WsPayloadLengthExt64,
        "websocket.masking_key" => WsMaskingKey,
        "websocket.payload" => WsPayload,
        "websocket.payload.text" => WsPayloadText,
        "websocket.payload.close.status_code" => WsCloseCode,
        "websocket.payload.close.reason" => WsCloseReason,
        "websocket.payload.ping" => WsPing,
        "websocket.payload.pong" => WsPong,
        "wsd.direction" => WsdDirection,
        "wsd.opcode_name" => WsdOpcodeName,
        "wsd.close.name" => WsdCloseName,
        "wsd.frame.first_packet" => WsdFrameFirstPacket,
        "wsd.payload_complete" => WsdPayloadComplete,
        "wsd.message.len" => WsdMessageLen,
        "wsd.message.frames" => WsdMessageFrames,
        "wsd.message.first_packet" => WsdMessageFirstPacket,
        "wsd.message.last_packet" => WsdMessageLastPacket,
        "wsd.message.first_time" => WsdMessageFirstTime,
        "wsd.message.compressed" => WsdMessageCompressed,
        "wsd.message.wire_len" => WsdMessageWireLen,
        "wsd.message.payload" => WsdMessagePayload,
        "wsd.message.text" => WsdMessageText,
        "wsd.ping.dir" => WsdPingDir,
        "wsd.ping.packet" => WsdPingPacket,
        "wsd.pong.packet" => WsdPongPacket,
        "wsd.ping.rtt" => WsdPingRtt,
        "wsd.ping.payload_len" => WsdPingPayloadLen,
        "wsd.client" => WsdClient,
        "wsd.server" => WsdServer,
        "wsd.handshake.request_packet" => WsdRequestPacket,
        "wsd.handshake.response_packet" => WsdResponsePacket,
        "wsd.handshake.origin" => WsdOrigin,
        "wsd.handshake.requested_protocols" => WsdRequestedProtocols,
        "wsd.handshake.requested_extensions" => WsdRequestedExtensions,
        "wsd.handshake.upgraded" => WsdUpgraded,
        "wsd.accept.expected" => WsdAcceptExpected,
        "wsd.accept.ok" => WsdAcceptOk,
        "wsd.anomaly" => WsdAnomaly,
        "wsd.anomaly.severity" => WsdAnomalySeverity,
        "wsd.anomaly.kind" => WsdAnomalyKind,
        "wsd.anomaly.message" => WsdAnomalyMessage,
        _ => return None,
    })
}

/// The filter type of a table field.
fn filter_type(t: fields::FieldType) -> FieldType {
    match t {
        fields::FieldType::Protocol | fields::FieldType::Object => FieldType::Protocol,
        fields::FieldType::Bool => FieldType::Bool,
        fields::FieldType::UInt => FieldType::UInt,
        fields::FieldType::Seconds | fields::FieldType::AbsTime => FieldType::Time,
        fields::FieldType::Str | fields::FieldType::Endpoint => FieldType::Str,
        fields::FieldType::Bytes => FieldType::Bytes,
        fields::FieldType::Ipv4 => FieldType::Ipv4,
        fields::FieldType::Ipv6 => FieldType::Ipv6,
        fields::FieldType::Ether => FieldType::Ether,
    }
}

/// Whether a field of the table has a value per packet (usable with `-Y` and `-e`); the
/// others are only in connection-level JSON Lines records.
pub fn per_packet(field: &Field) -> bool {
    getter(field).is_some()
}

/// The field table as the filter compiler sees it: the per-packet fields of
/// [`fields::ALL`], `FieldId` = position in that table.
#[derive(Debug, Clone)]
pub struct Registry {
    gets: Vec<Option<Get>>,
}

impl Default for Registry {
    fn default() -> Self {
        // The table's fields, then the application protocols' (ids follow on).
        let app = crate::payload::app_fields().iter().map(|f| {
            Some(Get::App {
                prefix: f.prefix,
                key: f.key,
            })
        });
        Registry {
            gets: fields::ALL.iter().map(getter).chain(app).collect(),
        }
    }
}

/// Name and type of field `i`: the table's, then the application protocols'.
fn name_and_type(i: usize) -> Option<(&'static str, fields::FieldType)> {
    match fields::ALL.get(i) {
        Some(f) => Some((f.name, f.ty)),
        None => crate::payload::app_fields()
            .get(i - fields::ALL.len())
            .map(|f| (f.name.as_str(), f.ty)),
    }
}

impl Registry {
    /// The table.
    pub fn new() -> Self {
        Self::default()
    }

    fn get(&self, id: FieldId) -> Option<Get> {
        self.gets.get(id.0 as usize).copied().flatten()
    }

    /// How `-T fields` prints field `id` (tshark's display: `frame.time` as a date, the
    /// RSV bits in hex).
    pub fn display(&self, id: FieldId) -> Display {
        match self.get(id) {
            Some(Get::FrameTime) => Display::AbsTimeUtc,
            Some(Get::WsRsv) => Display::Hex { digits: 2 },
            _ => Display::Plain,
        }
    }

    /// Whether any of `ids` needs data payloads kept by the dissector (payload bytes or
    /// text of data frames and messages, or what the payload decoders read in them).
    pub fn needs_payloads(&self, ids: &[FieldId]) -> bool {
        ids.iter().any(|id| {
            matches!(
                self.get(*id),
                Some(
                    Get::WsPayload
                        | Get::WsPayloadText
                        | Get::WsdMessagePayload
                        | Get::WsdMessageText
                        | Get::App { .. }
                )
            )
        })
    }

    /// Whether any of `ids` is an application protocol's field: the payload decoders must
    /// then build every field, not only summaries.
    pub fn needs_app_fields(&self, ids: &[FieldId]) -> bool {
        ids.iter()
            .any(|id| matches!(self.get(*id), Some(Get::App { .. })))
    }
}

impl FieldRegistry for Registry {
    fn lookup(&self, name: &str) -> Option<(FieldId, FieldType)> {
        let i = fields::ALL
            .iter()
            .position(|f| f.name == name)
            .or_else(|| {
                crate::payload::app_fields()
                    .iter()
                    .position(|f| f.name == name)
                    .map(|j| fields::ALL.len() + j)
            })?;
        self.gets.get(i).copied().flatten()?;
        let (_, ty) = name_and_type(i)?;
        Some((FieldId(i as u32), filter_type(ty)))
    }

    fn names(&self) -> Vec<&str> {
        (0..self.gets.len())
            .filter(|i| self.gets[*i].is_some())
            .filter_map(name_and_type)
            .map(|(name, _)| name)
            .collect()
    }

    fn value_named(&self, field: FieldId, name: &str) -> Option<u64> {
        if self.get(field) != Some(Get::WsOpcode) {
            return None;
        }
        (0u8..16)
            .find(|&b| OpCode::from(b).name() == name && !OpCode::from(b).is_reserved())
            .map(u64::from)
    }

    fn has_value_names(&self, field: FieldId) -> bool {
        self.get(field) == Some(Get::WsOpcode)
    }
}

/// An owned copy of a packet's child event, kept until the packet record arrives.
#[derive(Debug, Clone)]
pub enum Child {
    /// [`Event::HttpRequest`].
    HttpRequest {
        /// Connection.
        conn: ConnId,
        /// Packet.
        packet: u64,
        /// Who is who.
        endpoints: Endpoints,
        /// The head.
        request: Request,
        /// What its body carried (Engine.IO long-polling).
        app: Vec<crate::payload::AppPacket>,
    },
    /// [`Event::HttpResponse`].
    HttpResponse {
        /// Connection.
        conn: ConnId,
        /// Packet.
        packet: u64,
        /// Who is who.
        endpoints: Endpoints,
        /// The head.
        response: Response,
        /// Accept verdict of an upgrade answer.
        accept: Option<AcceptVerdict>,
        /// What its body carried (Engine.IO long-polling).
        app: Vec<crate::payload::AppPacket>,
    },
    /// [`Event::HttpPending`].
    HttpPending {
        /// Connection.
        conn: ConnId,
        /// Packet.
        packet: u64,
        /// Request head.
        request: Option<Request>,
        /// Response head.
        response: Option<Response>,
    },
    /// [`Event::Handshake`].
    Handshake(Box<OwnedHandshake>),
    /// [`Event::Frame`].
    Frame(OwnedFrame),
    /// [`Event::Message`].
    Message(OwnedMessage),
    /// [`Event::PingPong`].
    PingPong(PingPongEvent),
    /// [`Event::Anomaly`].
    Anomaly(Anomaly),
    /// [`Event::AppExchange`].
    AppExchange(ConnId, OwnedExchange),
}

/// An owned [`AppExchange`].
#[derive(Debug, Clone)]
pub enum OwnedExchange {
    /// Answered.
    Answered(crate::payload::Exchange),
    /// Still waiting.
    Unanswered(crate::payload::Unanswered),
}

/// An owned [`Handshake`].
#[derive(Debug, Clone)]
pub struct OwnedHandshake {
    conn: ConnId,
    endpoints: Endpoints,
    request_packet: u64,
    response_packet: u64,
    request: Request,
    response: Response,
    expected_accept: Option<String>,
    accept: AcceptVerdict,
    upgraded: bool,
}

/// An owned [`FrameEvent`].
#[derive(Debug, Clone)]
pub struct OwnedFrame {
    conn: ConnId,
    dir: Direction,
    packet: u64,
    first_packet: u64,
    rel_time: f64,
    header: FrameHeader,
    payload: Vec<u8>,
    payload_complete: bool,
    close_code: Option<CloseCode>,
    close_reason: Vec<u8>,
}

/// An owned [`MessageEvent`].
#[derive(Debug, Clone)]
pub struct OwnedMessage {
    conn: ConnId,
    dir: Direction,
    opcode: OpCode,
    len: u64,
    frames: u32,
    first_packet: u64,
    last_packet: u64,
    first_time: f64,
    rel_time: f64,
    payload: Vec<u8>,
    payload_complete: bool,
    compressed: bool,
    wire_len: u64,
    close_code: Option<CloseCode>,
    close_reason: Vec<u8>,
    subprotocol: Option<String>,
    app: Vec<crate::payload::AppPacket>,
    app_decoder: Option<(crate::payload::Protocol, crate::payload::ChosenBy)>,
    app_first: bool,
}

impl Child {
    /// An owned copy of a packet's child event; `None` for events that are not children of
    /// a packet (the packet record, connection ends, TLS summaries, capture errors).
    pub fn of(event: &Event<'_>) -> Option<Child> {
        Some(match event {
            Event::HttpRequest(e) => Child::HttpRequest {
                conn: e.conn,
                packet: e.packet,
                endpoints: e.endpoints,
                request: e.request.clone(),
                app: e.app.to_vec(),
            },
            Event::HttpResponse(e) => Child::HttpResponse {
                conn: e.conn,
                packet: e.packet,
                endpoints: e.endpoints,
                response: e.response.clone(),
                accept: e.accept.cloned(),
                app: e.app.to_vec(),
            },
            Event::HttpPending(e) => Child::HttpPending {
                conn: e.conn,
                packet: e.packet,
                request: e.request.cloned(),
                response: e.response.cloned(),
            },
            Event::Handshake(h) => Child::Handshake(Box::new(OwnedHandshake {
                conn: h.conn,
                endpoints: h.endpoints,
                request_packet: h.request_packet,
                response_packet: h.response_packet,
                request: h.request.clone(),
                response: h.response.clone(),
                expected_accept: h.expected_accept.map(str::to_string),
                accept: h.accept.clone(),
                upgraded: h.upgraded,
            })),
            Event::Frame(f) => Child::Frame(OwnedFrame {
                conn: f.conn,
                dir: f.dir,
                packet: f.packet,
                first_packet: f.first_packet,
                rel_time: f.rel_time,
                header: f.header,
                payload: f.payload.to_vec(),
                payload_complete: f.payload_complete,
                close_code: f.close_code,
                close_reason: f.close_reason.to_vec(),
            }),
            Event::Message(m) => Child::Message(OwnedMessage {
                conn: m.conn,
                dir: m.dir,
                opcode: m.opcode,
                len: m.len,
                frames: m.frames,
                first_packet: m.first_packet,
                last_packet: m.last_packet,
                first_time: m.first_time,
                rel_time: m.rel_time,
                payload: m.payload.to_vec(),
                payload_complete: m.payload_complete,
                compressed: m.compressed,
                wire_len: m.wire_len,
                close_code: m.close_code,
                close_reason: m.close_reason.to_vec(),
                subprotocol: m.subprotocol.map(str::to_string),
                app: m.app.to_vec(),
                app_decoder: m.app_decoder,
                app_first: m.app_first,
            }),
            Event::AppExchange(x) => Child::AppExchange(
                x.conn,
                match x.exchange {
                    AppExchange::Answered(e) => OwnedExchange::Answered(e.clone()),
                    AppExchange::Unanswered(u) => OwnedExchange::Unanswered(u.clone()),
                },
            ),
            Event::PingPong(p) => Child::PingPong((*p).clone()),
            Event::Anomaly(a) => Child::Anomaly((*a).clone()),
            Event::Packet(_) | Event::ConnectionEnd(_) | Event::Tls(_) | Event::CaptureError(_) => {
                return None;
            }
        })
    }

    /// The connection the event concerns.
    pub fn conn(&self) -> Option<ConnId> {
        match self {
            Child::HttpRequest { conn, .. }
            | Child::HttpResponse { conn, .. }
            | Child::HttpPending { conn, .. } => Some(*conn),
            Child::Handshake(h) => Some(h.conn),
            Child::Frame(f) => Some(f.conn),
            Child::Message(m) => Some(m.conn),
            Child::PingPong(p) => Some(p.conn),
            Child::Anomaly(a) => a.conn,
            Child::AppExchange(conn, _) => Some(*conn),
        }
    }

    /// Calls `f` with the event this is a copy of.
    pub fn with_event<R>(&self, f: impl FnOnce(&Event<'_>) -> R) -> R {
        match self {
            Child::HttpRequest {
                conn,
                packet,
                endpoints,
                request,
                app,
            } => f(&Event::HttpRequest(&HttpRequestEvent {
                conn: *conn,
                packet: *packet,
                endpoints: *endpoints,
                request,
                app,
            })),
            Child::HttpResponse {
                conn,
                packet,
                endpoints,
                response,
                accept,
                app,
            } => f(&Event::HttpResponse(&HttpResponseEvent {
                conn: *conn,
                packet: *packet,
                endpoints: *endpoints,
                response,
                accept: accept.as_ref(),
                app,
            })),
            Child::HttpPending {
                conn,
                packet,
                request,
                response,
            } => f(&Event::HttpPending(&HttpPendingEvent {
                conn: *conn,
                packet: *packet,
                request: request.as_ref(),
                response: response.as_ref(),
            })),
            Child::Handshake(h) => f(&Event::Handshake(&Handshake {
                conn: h.conn,
                endpoints: h.endpoints,
                request_packet: h.request_packet,
                response_packet: h.response_packet,
                request: &h.request,
                response: &h.response,
                expected_accept: h.expected_accept.as_deref(),
                accept: &h.accept,
                upgraded: h.upgraded,
            })),
            Child::Frame(o) => f(&Event::Frame(&FrameEvent {
                conn: o.conn,
                dir: o.dir,
                packet: o.packet,
                first_packet: o.first_packet,
                rel_time: o.rel_time,
                header: o.header,
                payload: &o.payload,
                payload_complete: o.payload_complete,
                close_code: o.close_code,
                close_reason: &o.close_reason,
            })),
            Child::Message(o) => f(&Event::Message(&MessageEvent {
                conn: o.conn,
                dir: o.dir,
                opcode: o.opcode,
                len: o.len,
                frames: o.frames,
                first_packet: o.first_packet,
                last_packet: o.last_packet,
                first_time: o.first_time,
                rel_time: o.rel_time,
                payload: &o.payload,
                payload_complete: o.payload_complete,
                compressed: o.compressed,
                wire_len: o.wire_len,
                close_code: o.close_code,
                close_reason: &o.close_reason,
                subprotocol: o.subprotocol.as_deref(),
                app: &o.app,
                app_decoder: o.app_decoder,
                app_first: o.app_first,
            })),
            Child::AppExchange(conn, x) => f(&Event::AppExchange(&AppExchangeEvent {
                conn: *conn,
                exchange: match x {
                    OwnedExchange::Answered(e) => AppExchange::Answered(e),
                    OwnedExchange::Unanswered(u) => AppExchange::Unanswered(u),
                },
            })),
            Child::PingPong(p) => f(&Event::PingPong(p)),
            Child::Anomaly(a) => f(&Event::Anomaly(a)),
        }
    }
}

/// The child events of the packet being dissected, and the capture times the frame time
/// fields are relative to.
#[derive(Debug, Default)]
pub struct PacketFields {
    children: Vec<Child>,
    first: Option<Timestamp>,
    previous: Option<Timestamp>,
}

impl PacketFields {
    /// Empty.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps a copy of `event` when it is a packet's child; returns whether it was one.
    pub fn push(&mut self, event: &Event<'_>) -> bool {
        match Child::of(event) {
            Some(c) => {
                self.children.push(c);
                true
            }
            None => false,
        }
    }

    /// The children kept since the last [`PacketFields::clear`].
    pub fn children(&self) -> &[Child] {
        &self.children
    }

    /// The fields of the packet `record` completes (None: the children of the end of the
    /// capture, which no packet record follows), read through `registry`.
    pub fn view<'s>(
        &'s self,
        registry: &'s Registry,
        record: Option<&'s PacketRecord<'s>>,
    ) -> PacketView<'s> {
        let ts = record.map(|r| r.timestamp);
        PacketView {
            registry,
            record,
            children: &self.children,
            first: self.first.or(ts),
            previous: self.previous.or(ts),
        }
    }

    /// Forgets the children and remembers `record`'s time for the next packet's delta.
    pub fn clear(&mut self, record: Option<&PacketRecord<'_>>) {
        self.children.clear();
        if let Some(r) = record {
            self.first.get_or_insert(r.timestamp);
            self.previous = Some(r.timestamp);
        }
    }
}

/// The fields of one packet.
#[derive(Debug, Clone, Copy)]
pub struct PacketView<'s> {
    registry: &'s Registry,
    record: Option<&'s PacketRecord<'s>>,
    children: &'s [Child],
    first: Option<Timestamp>,
    previous: Option<Timestamp>,
}

fn epoch_ns(t: Timestamp) -> i64 {
    t.secs
        .saturating_mul(1_000_000_000)
        .saturating_add(i64::from(t.nanos))
}

fn since(t: Timestamp, earlier: Option<Timestamp>) -> i64 {
    earlier.map_or(0, |e| i64::try_from(t.nanos_since(e)).unwrap_or(i64::MAX))
}

fn secs_ns(s: f64) -> i64 {
    (s * 1e9).round() as i64
}

fn dir_name(d: Direction) -> &'static str {
    match d {
        Direction::ClientToServer => "c2s",
        Direction::ServerToClient => "s2c",
    }
}

/// Ethernet II (LINKTYPE_ETHERNET) header: destination, source.
fn ether(link: LinkType, data: &[u8]) -> Option<([u8; 6], [u8; 6])> {
    if link != LinkType::ETHERNET {
        return None;
    }
    let dst: [u8; 6] = data.get(0..6)?.try_into().ok()?;
    let src: [u8; 6] = data.get(6..12)?.try_into().ok()?;
    Some((dst, src))
}

/// Two values of one field (source and destination).
fn two(f: Sink<'_>, a: Value<'_>, b: Value<'_>) -> ControlFlow<()> {
    f(a)?;
    f(b)
}

type Sink<'f> = &'f mut dyn FnMut(Value<'_>) -> ControlFlow<()>;

impl PacketView<'_> {
    fn frames(&self) -> impl Iterator<Item = &OwnedFrame> {
        self.children.iter().filter_map(|c| match c {
            Child::Frame(f) => Some(f),
            _ => None,
        })
    }

    fn messages(&self) -> impl Iterator<Item = &OwnedMessage> {
        self.children.iter().filter_map(|c| match c {
            Child::Message(m) => Some(m),
            _ => None,
        })
    }

    /// The application packets the payload decoders read in this packet's messages.
    fn app_packets(&self) -> impl Iterator<Item = &crate::payload::AppPacket> {
        self.children.iter().flat_map(|c| match c {
            Child::Message(m) => m.app.as_slice(),
            Child::HttpRequest { app, .. } | Child::HttpResponse { app, .. } => app.as_slice(),
            _ => &[],
        })
    }

    fn handshakes(&self) -> impl Iterator<Item = &OwnedHandshake> {
        self.children.iter().filter_map(|c| match c {
            Child::Handshake(h) => Some(&**h),
            _ => None,
        })
    }

    fn anomalies(&self) -> impl Iterator<Item = &Anomaly> {
        self.children.iter().filter_map(|c| match c {
            Child::Anomaly(a) => Some(a),
            _ => None,
        })
    }

    fn pings(&self) -> impl Iterator<Item = &PingPongEvent> {
        self.children.iter().filter_map(|c| match c {
            Child::PingPong(p) => Some(p),
            _ => None,
        })
    }

    /// HTTP heads: (request, response).
    fn heads(&self) -> impl Iterator<Item = (Option<&Request>, Option<&Response>)> {
        self.children.iter().filter_map(|c| match c {
            Child::HttpRequest { request, .. } => Some((Some(request), None)),
            Child::HttpResponse { response, .. } => Some((None, Some(response))),
            _ => None,
        })
    }

    fn each<'v, T>(it: impl Iterator<Item = T>, f: Sink<'_>, v: impl Fn(T) -> Option<Value<'v>>) {
        for x in it {
            if let Some(val) = v(x)
                && f(val).is_break()
            {
                return;
            }
        }
    }

    fn get(&self, g: Get, f: Sink<'_>) {
        use Get::*;
        let rec = self.record;
        let tcp = rec.and_then(|r| match &r.body {
            PacketBody::Tcp(t) => Some(t),
            PacketBody::Other(_) => None,
        });
        let addrs = rec.and_then(|r| r.addrs);
        let v4 = |a: std::net::IpAddr| a.is_ipv4();
        let _ = match g {
            FrameNumber => rec.map_or(ControlFlow::Continue(()), |r| f(Value::UInt(r.number))),
            FrameTime | FrameTimeEpoch => rec.map_or(ControlFlow::Continue(()), |r| {
                f(Value::Time(epoch_ns(r.timestamp)))
            }),
            FrameTimeRelative => rec.map_or(ControlFlow::Continue(()), |r| {
                f(Value::Time(since(r.timestamp, self.first)))
            }),
            FrameTimeDelta => rec.map_or(ControlFlow::Continue(()), |r| {
                f(Value::Time(since(r.timestamp, self.previous)))
            }),
            FrameLen => rec.map_or(ControlFlow::Continue(()), |r| {
                f(Value::UInt(u64::from(r.wire_len)))
            }),
            FrameCapLen => rec.map_or(ControlFlow::Continue(()), |r| {
                f(Value::UInt(u64::from(r.captured_len)))
            }),
            Eth | EthSrc | EthDst | EthAddr => match rec.and_then(|r| ether(r.link_type, r.data)) {
                None => ControlFlow::Continue(()),
                Some((dst, src)) => match g {
                    Eth => f(Value::Present),
                    EthSrc => f(Value::Ether(src)),
                    EthDst => f(Value::Ether(dst)),
                    _ => two(f, Value::Ether(src), Value::Ether(dst)),
                },
            },
            Ip | IpSrc | IpDst | IpAddr | Ipv6 | Ipv6Src | Ipv6Dst | Ipv6Addr => {
                let want_v4 = matches!(g, Ip | IpSrc | IpDst | IpAddr);
                match addrs.filter(|a| v4(a.src) == want_v4) {
                    None => ControlFlow::Continue(()),
                    Some(a) => match g {
                        Ip | Ipv6 => f(Value::Present),
                        IpSrc | Ipv6Src => f(Value::Ip(a.src)),
                        IpDst | Ipv6Dst => f(Value::Ip(a.dst)),
                        _ => two(f, Value::Ip(a.src), Value::Ip(a.dst)),
                    },
                }
            }
            Tcp | TcpSrcPort | TcpDstPort | TcpPort | TcpStream | TcpLen | TcpSeq | TcpAck
            | TcpFlag(_) | TcpAnalysis(_) => match tcp {
                None => ControlFlow::Continue(()),
                Some(t) => {
                    let s = t.segment;
                    match g {
                        Tcp => f(Value::Present),
                        TcpSrcPort => f(Value::UInt(u64::from(s.src_port))),
                        TcpDstPort => f(Value::UInt(u64::from(s.dst_port))),
                        TcpPort => two(
                            f,
                            Value::UInt(u64::from(s.src_port)),
                            Value::UInt(u64::from(s.dst_port)),
                        ),
                        TcpStream => f(Value::UInt(u64::from(t.conn))),
                        TcpLen => f(Value::UInt(u64::from(s.wire_len()))),
                        TcpSeq => f(Value::UInt(u64::from(t.analysis.rel_seq))),
                        TcpAck => f(Value::UInt(u64::from(t.analysis.rel_ack))),
                        TcpFlag(0) => f(Value::Bool(s.flags.has(TcpFlags::SYN))),
                        TcpFlag(1) => f(Value::Bool(s.flags.has(TcpFlags::ACK))),
                        TcpFlag(2) => f(Value::Bool(s.flags.has(TcpFlags::FIN))),
                        TcpFlag(3) => f(Value::Bool(s.flags.has(TcpFlags::RST))),
                        TcpFlag(_) => f(Value::Bool(s.flags.has(TcpFlags::PSH))),
                        TcpAnalysis(bit) if t.analysis.flags.0 & bit != 0 => f(Value::Present),
                        _ => ControlFlow::Continue(()),
                    }
                }
            },
            Http => {
                Self::each(self.heads().take(1), f, |_| Some(Value::Present));
                ControlFlow::Continue(())
            }
            HttpRequest => {
                Self::each(self.heads(), f, |(r, _)| r.map(|_| Value::Bool(true)));
                ControlFlow::Continue(())
            }
            HttpResponse => {
                Self::each(self.heads(), f, |(_, r)| r.map(|_| Value::Bool(true)));
                ControlFlow::Continue(())
            }
            HttpMethod => {
                Self::each(self.heads(), f, |(r, _)| r.map(|r| Value::Str(&r.method)));
                ControlFlow::Continue(())
            }
            HttpUri => {
                Self::each(self.heads(), f, |(r, _)| r.map(|r| Value::Str(&r.path)));
                ControlFlow::Continue(())
            }
            HttpResponseCode => {
                Self::each(self.heads(), f, |(_, r)| {
                    r.map(|r| Value::UInt(u64::from(r.status)))
                });
                ControlFlow::Continue(())
            }
            HttpResponsePhrase => {
                Self::each(self.heads(), f, |(_, r)| r.map(|r| Value::Str(&r.reason)));
                ControlFlow::Continue(())
            }
            HttpHeader(name, request_only) => {
                Self::each(self.heads(), f, |(q, r)| match (q, r) {
                    (Some(q), _) => q.header(name).map(Value::Str),
                    (_, Some(r)) if !request_only => r.header(name).map(Value::Str),
                    _ => None,
                });
                ControlFlow::Continue(())
            }
            HttpResponseHeader(name) => {
                Self::each(self.heads(), f, |(_, r)| {
                    r.and_then(|r| r.header(name)).map(Value::Str)
                });
                ControlFlow::Continue(())
            }
            Websocket => {
                Self::each(self.frames().take(1), f, |_| Some(Value::Present));
                ControlFlow::Continue(())
            }
            WsCloseReason => {
                // As tshark, invalid UTF-8 shows as U+FFFD.
                for fr in self.frames() {
                    if fr.header.opcode == OpCode::Close && !fr.close_reason.is_empty() {
                        let text = String::from_utf8_lossy(&fr.close_reason);
                        if f(Value::Str(&text)).is_break() {
                            break;
                        }
                    }
                }
                ControlFlow::Continue(())
            }
            WsPayloadText => {
                // The text of each Text message completed in this packet, joined and
                // inflated (tshark shows the text per frame, none for fragments, and may
                // inflate wrongly: see samples/gen/filters.txt); invalid UTF-8 shows as
                // U+FFFD, as in tshark.
                for m in self.messages() {
                    if m.opcode == OpCode::Text && m.payload_complete {
                        let text = String::from_utf8_lossy(&m.payload);
                        if f(Value::Str(&text)).is_break() {
                            break;
                        }
                    }
                }
                ControlFlow::Continue(())
            }
            WsFin | WsRsv | WsPmc | WsOpcode | WsMask | WsPayloadLength | WsPayloadLengthExt16
            | WsPayloadLengthExt64 | WsMaskingKey | WsPayload | WsCloseCode | WsPing | WsPong
            | WsdDirection | WsdOpcodeName | WsdCloseName | WsdFrameFirstPacket
            | WsdPayloadComplete => {
                Self::each(self.frames(), f, |fr| {
                    let h = &fr.header;
                    let op = h.opcode;
                    Some(match g {
                        WsFin => Value::Bool(h.fin),
                        WsRsv => Value::UInt(u64::from(h.rsv)),
                        WsPmc => Value::Bool(h.rsv & 0b100 != 0),
                        WsOpcode => Value::UInt(u64::from(u8::from(op))),
                        WsMask => Value::Bool(h.mask.is_some()),
                        // tshark's payload_length is the 7-bit field: 126 and 127 announce
                        // the extended lengths, which are fields of their own.
                        WsPayloadLength => Value::UInt(match h.length_encoding {
                            LengthEncoding::Short => h.payload_len,
                            LengthEncoding::Extended16 => 126,
                            LengthEncoding::Extended64 => 127,
                        }),
                        WsPayloadLengthExt16 if h.length_encoding == LengthEncoding::Extended16 => {
                            Value::UInt(h.payload_len)
                        }
                        WsPayloadLengthExt64 if h.length_encoding == LengthEncoding::Extended64 => {
                            Value::UInt(h.payload_len)
                        }
                        WsMaskingKey => Value::Bytes(h.mask.as_ref()?),
                        WsPayload if h.payload_len > 0 => Value::Bytes(&fr.payload),
                        WsCloseCode => Value::UInt(u64::from(fr.close_code?.code())),
                        WsPing if op == OpCode::Ping && !fr.payload.is_empty() => {
                            Value::Bytes(&fr.payload)
                        }
                        WsPong if op == OpCode::Pong && !fr.payload.is_empty() => {
                            Value::Bytes(&fr.payload)
                        }
                        WsdDirection => Value::Str(dir_name(fr.dir)),
                        WsdOpcodeName => Value::Str(op.name()),
                        WsdCloseName => Value::Str(fr.close_code?.name()),
                        WsdFrameFirstPacket => Value::UInt(fr.first_packet),
                        WsdPayloadComplete => Value::Bool(fr.payload_complete),
                        _ => return None,
                    })
                });
                ControlFlow::Continue(())
            }
            WsdMessageText => {
                Self::each(self.messages(), f, |m| {
                    (m.opcode == OpCode::Text && m.payload_complete)
                        .then(|| std::str::from_utf8(&m.payload).ok().map(Value::Str))
                        .flatten()
                });
                ControlFlow::Continue(())
            }
            WsdMessageLen
            | WsdMessageFrames
            | WsdMessageFirstPacket
            | WsdMessageLastPacket
            | WsdMessageFirstTime
            | WsdMessageCompressed
            | WsdMessageWireLen
            | WsdMessagePayload => {
                Self::each(self.messages(), f, |m| {
                    Some(match g {
                        WsdMessageLen => Value::UInt(m.len),
                        WsdMessageFrames => Value::UInt(u64::from(m.frames)),
                        WsdMessageFirstPacket => Value::UInt(m.first_packet),
                        WsdMessageLastPacket => Value::UInt(m.last_packet),
                        WsdMessageFirstTime => Value::Time(secs_ns(m.first_time)),
                        WsdMessageCompressed => Value::Bool(m.compressed),
                        WsdMessageWireLen => Value::UInt(m.wire_len),
                        _ => Value::Bytes(&m.payload),
                    })
                });
                ControlFlow::Continue(())
            }
            WsdPingDir | WsdPingPacket | WsdPongPacket | WsdPingRtt | WsdPingPayloadLen => {
                Self::each(self.pings(), f, |p| {
                    Some(match g {
                        WsdPingDir => Value::Str(dir_name(p.ping_dir)),
                        WsdPingPacket => Value::UInt(p.ping_packet),
                        WsdPongPacket => Value::UInt(p.pong_packet),
                        WsdPingRtt => Value::Time(secs_ns(p.rtt)),
                        _ => Value::UInt(p.payload_len),
                    })
                });
                ControlFlow::Continue(())
            }
            WsdClient
            | WsdServer
            | WsdRequestPacket
            | WsdResponsePacket
            | WsdOrigin
            | WsdRequestedProtocols
            | WsdRequestedExtensions
            | WsdUpgraded
            | WsdAcceptExpected
            | WsdAcceptOk => {
                // Endpoints print as text; built once per call, kept for the borrow.
                let texts: Vec<String> = match g {
                    WsdClient => self
                        .handshakes()
                        .map(|h| h.endpoints.client.to_string())
                        .collect(),
                    WsdServer => self
                        .handshakes()
                        .map(|h| h.endpoints.server.to_string())
                        .collect(),
                    _ => Vec::new(),
                };
                if !texts.is_empty() {
                    Self::each(texts.iter(), f, |t| Some(Value::Str(t)));
                    return;
                }
                Self::each(self.handshakes(), f, |h| {
                    Some(match g {
                        WsdRequestPacket => Value::UInt(h.request_packet),
                        WsdResponsePacket => Value::UInt(h.response_packet),
                        WsdOrigin => Value::Str(h.request.header("origin")?),
                        WsdRequestedProtocols => {
                            Value::Str(h.request.header("sec-websocket-protocol")?)
                        }
                        WsdRequestedExtensions => {
                            Value::Str(h.request.header("sec-websocket-extensions")?)
                        }
                        WsdUpgraded => Value::Bool(h.upgraded),
                        WsdAcceptExpected => Value::Str(h.expected_accept.as_deref()?),
                        WsdAcceptOk => Value::Bool(h.accept == AcceptVerdict::Valid),
                        _ => return None,
                    })
                });
                ControlFlow::Continue(())
            }
            WsdAnomaly => {
                Self::each(self.anomalies().take(1), f, |_| Some(Value::Present));
                ControlFlow::Continue(())
            }
            App { prefix, key } => {
                let mut packets = self
                    .app_packets()
                    .filter(|p| p.protocol.field_prefix() == prefix);
                let Some(key) = key else {
                    if packets.next().is_some() {
                        let _ = f(Value::Present);
                    }
                    return;
                };
                // Numbers, booleans and nested values print as JSON text.
                let texts: Vec<std::borrow::Cow<'_, str>> = packets
                    .filter_map(|p| p.field(key))
                    .filter(|v| !v.is_null())
                    .map(|v| match v {
                        serde_json::Value::String(s) => std::borrow::Cow::Borrowed(s.as_str()),
                        other => std::borrow::Cow::Owned(other.to_string()),
                    })
                    .collect();
                Self::each(texts.iter(), f, |t| Some(Value::Str(t)));
                ControlFlow::Continue(())
            }
            WsdAnomalySeverity | WsdAnomalyKind | WsdAnomalyMessage => {
                Self::each(self.anomalies(), f, |a| {
                    Some(Value::Str(match g {
                        WsdAnomalySeverity => a.severity.as_str(),
                        WsdAnomalyKind => a.kind.name,
                        _ => &a.message,
                    }))
                });
                ControlFlow::Continue(())
            }
        };
    }
}

impl FieldValues for PacketView<'_> {
    fn for_each(&self, field: FieldId, f: &mut dyn FnMut(Value<'_>) -> ControlFlow<()>) {
        if let Some(g) = self.registry.get(field) {
            self.get(g, f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::Filter;

    #[test]
    fn every_per_packet_field_resolves_and_others_do_not() {
        let reg = Registry::new();
        for f in fields::ALL {
            let found = reg.lookup(f.name);
            assert_eq!(found.is_some(), per_packet(f), "{}", f.name);
        }
        assert!(reg.lookup("wsd.connection.state").is_none());
        assert_eq!(
            reg.value_named(reg.lookup("websocket.opcode").unwrap().0, "Ping"),
            Some(9)
        );
    }

    #[test]
    fn typo_suggests_the_table_name() {
        let err = Filter::compile("websocket.opcod == 1", &Registry::new()).unwrap_err();
        assert_eq!(err.suggestion.as_deref(), Some("websocket.opcode"));
    }
}
