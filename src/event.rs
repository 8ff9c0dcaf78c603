//! The events the dissector emits: the one contract every renderer reads.
//!
//! Events borrow from the dissector's buffers and live only for the duration of one
//! [`EventSink::event`] call; renderers copy what they must keep. For each packet, the
//! events it caused (HTTP messages, frames, anomalies) come first and the
//! [`Event::Packet`] record comes last.

use crate::capture::{LinkType, Timestamp};
pub use crate::flow::TcpEnd;
use crate::flow::analysis::{Direction, SegmentAnalysis};
use crate::http::accept::AcceptVerdict;
use crate::http::head::{Request, Response};
use crate::payload::{AppPacket, ChosenBy, Exchange, Protocol, Unanswered};
pub use crate::rules::{Kind, Severity};
use crate::tls::{DecryptStatus, SegmentLabel};
use crate::wire::{NetAddrs, OtherPacket, TcpSegment};
use crate::ws::{CloseCode, FrameHeader};
use std::io;
use std::net::SocketAddr;

/// Connection number: TCP connections numbered from 0 in order of their first packet
/// (Wireshark's `tcp.stream`).
pub type ConnId = u32;

/// Receives events, in order.
pub trait EventSink {
    /// Handles one event. An error (e.g. a closed pipe) stops the dissection.
    fn event(&mut self, event: &Event<'_>) -> io::Result<()>;

    /// The input is waiting for more data: push out what was written so far, so whoever
    /// reads the output sees it now.
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// The run is over: write anything still held and flush.
    fn finish(&mut self) -> io::Result<()> {
        Ok(())
    }

    /// The part of this sink's work that can be done on the thread that dissects a
    /// connection, one part per dissection thread, when connections are spread over
    /// threads (`None`, the default: every event comes to [`EventSink::event`]). The
    /// sink then sees each event of those threads as its part decides: the bytes the part
    /// wrote (through [`EventSink::part_output`]) and the event itself when the part
    /// passes it (through [`EventSink::part_event`]), in the one-thread order.
    fn worker_part(&self) -> Option<Box<dyn WorkerPart>> {
        None
    }

    /// An event a [`WorkerPart`] passed on: its work for the event is done already.
    fn part_event(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.event(event)
    }

    /// What a [`WorkerPart`] wrote for one event, in that event's place in the order.
    fn part_output(&mut self, _bytes: &[u8]) -> io::Result<()> {
        Ok(())
    }

    /// A [`WorkerPart`] after its thread's last event, before [`EventSink::finish`]:
    /// what it counted joins the sink's own.
    fn merge_part(&mut self, _part: Box<dyn WorkerPart>) -> io::Result<()> {
        Ok(())
    }
}

/// The per-event work of an [`EventSink`] done on a dissection thread (its events are
/// those of the connections that thread dissects, in their order): counting, formatting
/// records. See [`EventSink::worker_part`].
pub trait WorkerPart: Send {
    /// Takes one event; may append bytes for [`EventSink::part_output`] to `out`;
    /// returns whether the sink must still see the event ([`EventSink::part_event`]),
    /// after those bytes.
    fn event(&mut self, event: &Event<'_>, out: &mut Vec<u8>) -> bool;

    /// An HTTP head carrying an Engine.IO polling body, which is decoded on the reading
    /// thread, in packet order: the sink sees the head itself ([`EventSink::part_event`])
    /// after what this writes.
    fn polled_head(&mut self, event: &Event<'_>, out: &mut Vec<u8>) {
        let _ = self.event(event, out);
    }

    /// The events up to the next call are one job's: a packet's, or a connection's end.
    /// `whole`: the one-thread output could join them to something of another
    /// connection (an evicted connection's last events, shown under the next packet
    /// whatever its connection; that packet's own), so a part whose output spans
    /// events should pass them all on.
    fn job(&mut self, _whole: bool) {}

    /// The part as `Any`, for the sink's [`EventSink::merge_part`] to take it back.
    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any>;
}

/// Runs `write` on `output` with `out` standing in for the output's own byte buffer
/// (`buffer` of `output`): a [`WorkerPart`] renders straight into the bytes it hands back,
/// without a copy through a buffer of its own (which cost JSON Lines 8% more CPU with two
/// threads).
pub fn render_into<O>(
    output: &mut O,
    buffer: fn(&mut O) -> &mut Vec<u8>,
    out: &mut Vec<u8>,
    write: impl FnOnce(&mut O),
) {
    std::mem::swap(buffer(output), out);
    write(output);
    std::mem::swap(buffer(output), out);
}

/// One thing the dissector observed.
#[derive(Debug)]
pub enum Event<'a> {
    /// A packet was processed (emitted after the other events it caused).
    Packet(&'a PacketRecord<'a>),
    /// An HTTP request head completed.
    HttpRequest(&'a HttpRequestEvent<'a>),
    /// An HTTP response head completed.
    HttpResponse(&'a HttpResponseEvent<'a>),
    /// An HTTP head completed but its body has not ended yet (the message is reported by
    /// `HttpRequest`/`HttpResponse` when it does).
    HttpPending(&'a HttpPendingEvent<'a>),
    /// A WebSocket handshake finished (101 seen) or was refused (another status).
    Handshake(&'a Handshake<'a>),
    /// A WebSocket frame completed.
    Frame(&'a FrameEvent<'a>),
    /// A whole WebSocket message completed (data fragments joined and, when compressed,
    /// inflated), or a control frame (as a one-frame message).
    Message(&'a MessageEvent<'a>),
    /// A pong that echoed an earlier ping's payload: the round trip.
    PingPong(&'a PingPongEvent),
    /// Something noteworthy or wrong.
    Anomaly(&'a Anomaly),
    /// A connection that upgraded, or tried to, ended (or the capture did).
    ConnectionEnd(&'a ConnectionSummary),
    /// A TLS connection ended (or the capture did): what its handshake said and whether
    /// it was decrypted.
    Tls(&'a TlsSessionEvent<'a>),
    /// An application request paired with its answer, or unanswered at the end.
    AppExchange(&'a AppExchangeEvent<'a>),
    /// The capture could not be read further; everything before was processed.
    CaptureError(&'a CaptureProblem),
}

/// A packet as listed in the timeline.
#[derive(Debug)]
pub struct PacketRecord<'a> {
    /// 1-based packet number.
    pub number: u64,
    /// Capture timestamp.
    pub timestamp: Timestamp,
    /// Seconds since the first packet of the capture.
    pub rel_time: f64,
    /// Length on the wire.
    pub wire_len: u32,
    /// Bytes captured.
    pub captured_len: u32,
    /// IP addresses, when the packet has an IP layer.
    pub addrs: Option<NetAddrs>,
    /// What the packet carries.
    pub body: PacketBody<'a>,
    /// The captured bytes, from the link-layer header on (for `eth.*` fields and `-w`).
    pub data: &'a [u8],
    /// How `data` is framed.
    pub link_type: LinkType,
}

/// Transport-level content of a packet record.
#[derive(Debug)]
pub enum PacketBody<'a> {
    /// A TCP segment of connection `conn`.
    Tcp(TcpRecord<'a>),
    /// A packet wsdissect does not follow.
    Other(&'a OtherPacket),
}

/// A TCP segment with its connection context.
#[derive(Debug)]
pub struct TcpRecord<'a> {
    /// The segment.
    pub segment: &'a TcpSegment<'a>,
    /// Its connection.
    pub conn: ConnId,
    /// Its direction within the connection.
    pub dir: Direction,
    /// Wireshark's analysis of it.
    pub analysis: SegmentAnalysis,
    /// The segment's payload went into an HTTP message or WebSocket frame that it did not
    /// complete (`[TCP segment of a reassembled PDU]`).
    pub partial_pdu: bool,
    /// Number of HTTP messages and WebSocket frames this packet completed.
    pub pdus_completed: u32,
    /// TLS records that ended in this segment, as Wireshark labels them (`None` for a
    /// connection that is not TLS, or a segment where no record ended).
    pub tls: Option<&'a SegmentLabel>,
}

/// Which side of a connection is which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Endpoints {
    /// The side that opened the connection (sent the SYN or the HTTP request).
    pub client: SocketAddr,
    /// The other side.
    pub server: SocketAddr,
}

/// An HTTP request head.
#[derive(Debug)]
pub struct HttpRequestEvent<'a> {
    /// Connection.
    pub conn: ConnId,
    /// Packet that completed the head.
    pub packet: u64,
    /// Who is who.
    pub endpoints: Endpoints,
    /// The request.
    pub request: &'a Request,
    /// What its body carried, read by a payload decoder (Engine.IO long-polling POSTs;
    /// empty otherwise).
    pub app: &'a [AppPacket],
}

/// An HTTP response head.
#[derive(Debug)]
pub struct HttpResponseEvent<'a> {
    /// Connection.
    pub conn: ConnId,
    /// Packet that completed the head.
    pub packet: u64,
    /// Who is who.
    pub endpoints: Endpoints,
    /// The response.
    pub response: &'a Response,
    /// For an answer to a WebSocket upgrade request: the accept-key verdict
    /// (`None` for ordinary HTTP exchanges and for refused upgrades).
    pub accept: Option<&'a AcceptVerdict>,
    /// What its body carried, read by a payload decoder (the 200 answer to an Engine.IO
    /// long-polling GET; empty otherwise).
    pub app: &'a [AppPacket],
}

/// An HTTP head waiting for its body.
#[derive(Debug)]
pub struct HttpPendingEvent<'a> {
    /// Connection.
    pub conn: ConnId,
    /// Packet that completed the head.
    pub packet: u64,
    /// The request, when the head is a request.
    pub request: Option<&'a Request>,
    /// The response, when the head is a response.
    pub response: Option<&'a Response>,
}

/// The WebSocket opening handshake of one connection.
#[derive(Debug)]
pub struct Handshake<'a> {
    /// Connection.
    pub conn: ConnId,
    /// Who is who.
    pub endpoints: Endpoints,
    /// Packet that completed the upgrade request.
    pub request_packet: u64,
    /// Packet that completed the response.
    pub response_packet: u64,
    /// The upgrade request.
    pub request: &'a Request,
    /// The response.
    pub response: &'a Response,
    /// Expected Sec-WebSocket-Accept (from the request key), when there was a key.
    pub expected_accept: Option<&'a str>,
    /// Verdict on Sec-WebSocket-Accept.
    pub accept: &'a AcceptVerdict,
    /// Whether the server switched protocols (status 101).
    pub upgraded: bool,
}

/// One WebSocket frame.
#[derive(Debug)]
pub struct FrameEvent<'a> {
    /// Connection.
    pub conn: ConnId,
    /// Direction.
    pub dir: Direction,
    /// Packet being processed when the frame completed (Wireshark's frame number for it).
    pub packet: u64,
    /// Packet that carried the first header byte.
    pub first_packet: u64,
    /// Capture time of `packet`, seconds since the first packet.
    pub rel_time: f64,
    /// Frame header.
    pub header: FrameHeader,
    /// Unmasked payload (possibly capped; see `payload_complete`).
    pub payload: &'a [u8],
    /// False when the payload was capped or bytes were lost in a TCP gap.
    pub payload_complete: bool,
    /// Close frames: the parsed status code, if the body had one.
    pub close_code: Option<CloseCode>,
    /// Close frames: the reason bytes after the code.
    pub close_reason: &'a [u8],
}

/// One WebSocket message.
#[derive(Debug)]
pub struct MessageEvent<'a> {
    /// Connection.
    pub conn: ConnId,
    /// Direction.
    pub dir: Direction,
    /// Text, Binary, or the control opcode (Close, Ping, Pong) for control frames;
    /// reserved opcodes keep their number.
    pub opcode: crate::ws::OpCode,
    /// Message length after joining (and inflating, when compressed).
    pub len: u64,
    /// Number of frames the message spanned.
    pub frames: u32,
    /// Packet that carried the first frame's first byte.
    pub first_packet: u64,
    /// Packet that completed the message (the one being processed).
    pub last_packet: u64,
    /// Capture time of the first frame's packet, seconds since the first packet.
    pub first_time: f64,
    /// Capture time of `last_packet`.
    pub rel_time: f64,
    /// The message payload (joined, inflated), possibly capped: see `payload_complete`.
    pub payload: &'a [u8],
    /// False when the payload was capped or could not be fully recovered (gap, inflate
    /// failure, decompression cap).
    pub payload_complete: bool,
    /// Whether the message was compressed (RSV1 on its first frame, permessage-deflate).
    pub compressed: bool,
    /// Sum of the frames' payload lengths as carried on the wire.
    pub wire_len: u64,
    /// Close messages: the status code, if the body had one (parsed once, by the
    /// dissector).
    pub close_code: Option<CloseCode>,
    /// Close messages: the reason bytes after the code.
    pub close_reason: &'a [u8],
    /// The subprotocol the server selected in the handshake (`Sec-WebSocket-Protocol`),
    /// which says how to read the payload.
    pub subprotocol: Option<&'a str>,
    /// The application packets the connection's payload decoder read in (or completed
    /// with) this message: none when no decoder is attached or it needs more messages.
    pub app: &'a [AppPacket],
    /// The connection's payload decoder and how it was chosen, when one is attached.
    pub app_decoder: Option<(Protocol, ChosenBy)>,
    /// This is the first message the connection's payload decoder read (views say then
    /// which decoder it is and how it was chosen).
    pub app_first: bool,
}

/// A request of an application protocol paired with its answer, or left unanswered when
/// the connection ended.
#[derive(Debug)]
pub struct AppExchangeEvent<'a> {
    /// Connection.
    pub conn: ConnId,
    /// The pair, or the request still waiting.
    pub exchange: AppExchange<'a>,
}

/// What became of an application request.
#[derive(Debug)]
pub enum AppExchange<'a> {
    /// Answered (with its latency).
    Answered(&'a Exchange),
    /// Still waiting when the connection (or the capture) ended.
    Unanswered(&'a Unanswered),
}

/// A ping answered by a pong carrying the same payload.
#[derive(Debug, Clone)]
pub struct PingPongEvent {
    /// Connection.
    pub conn: ConnId,
    /// Direction of the ping.
    pub ping_dir: Direction,
    /// Packet of the ping.
    pub ping_packet: u64,
    /// Packet of the pong.
    pub pong_packet: u64,
    /// Round-trip time in seconds (pong time - ping time).
    pub rtt: f64,
    /// Length of the echoed payload.
    pub payload_len: u64,
}

/// Something noteworthy or wrong, with a stable kind name.
#[derive(Debug, Clone)]
pub struct Anomaly {
    /// Which rule (its stable name, e.g. `accept-mismatch`, and group).
    pub kind: Kind,
    /// Severity.
    pub severity: Severity,
    /// Connection, when it concerns one.
    pub conn: Option<ConnId>,
    /// Direction, when it concerns one.
    pub dir: Option<Direction>,
    /// Packet where it was noticed.
    pub packet: u64,
    /// Human explanation.
    pub message: String,
}

/// What became of a connection that upgraded or tried to.
#[derive(Debug, Clone)]
pub struct ConnectionSummary {
    /// Connection.
    pub conn: ConnId,
    /// Who is who.
    pub endpoints: Endpoints,
    /// First packet of the connection.
    pub first_packet: u64,
    /// Last packet seen.
    pub last_packet: u64,
    /// How far the upgrade got.
    pub state: UpgradeState,
    /// Request path, when a request was seen.
    pub path: Option<String>,
    /// Response status, when a response was seen.
    pub status: Option<u16>,
    /// Frames per direction (c2s, s2c).
    pub frames: [u64; 2],
    /// WebSocket payload bytes per direction (c2s, s2c).
    pub payload_bytes: [u64; 2],
    /// Close frames seen per direction: code (None for an empty close body).
    pub close: [Option<Option<u16>>; 2],
    /// How the TCP connection ended.
    pub tcp_end: TcpEnd,
}

/// How far a connection's upgrade got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpgradeState {
    /// Upgrade requested, no response captured.
    Requested,
    /// 101 received: WebSocket.
    Upgraded,
    /// Answered with another status.
    Refused,
    /// Decoded as WebSocket because of `--ws-port` (no handshake captured).
    Assumed,
}

impl UpgradeState {
    /// Lower-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            UpgradeState::Requested => "requested",
            UpgradeState::Upgraded => "upgraded",
            UpgradeState::Refused => "refused",
            UpgradeState::Assumed => "assumed",
        }
    }
}

/// What a TLS connection's handshake said, and whether it was decrypted.
#[derive(Debug)]
pub struct TlsSessionEvent<'a> {
    /// Connection.
    pub conn: ConnId,
    /// Who is who (the TCP roles).
    pub endpoints: Endpoints,
    /// Negotiated version (0x0303 TLS 1.2, 0x0304 TLS 1.3), once a ServerHello was seen.
    pub version: Option<u16>,
    /// Negotiated cipher suite (IANA number).
    pub cipher_suite: Option<u16>,
    /// Server Name Indication.
    pub sni: Option<&'a str>,
    /// Protocol the server selected by ALPN.
    pub alpn: Option<&'a str>,
    /// Whether (and why not) the records were decrypted.
    pub status: DecryptStatus,
    /// Records seen, both directions.
    pub records: u64,
    /// Records decrypted and authenticated.
    pub decrypted_records: u64,
}

/// The capture could not be read further.
#[derive(Debug)]
pub struct CaptureProblem {
    /// Packets read before the problem.
    pub packets_read: u64,
    /// What went wrong.
    pub message: String,
}
