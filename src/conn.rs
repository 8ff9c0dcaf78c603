//! One TCP connection's journey: TCP → HTTP request → response → WebSocket → closed.
//!
//! A [`Connection`] owns both directions' reassemblers and application-layer state and
//! turns reassembled bytes into events: HTTP heads, frames, messages, ping round trips,
//! and the RFC 6455/7692 findings of its [`rules::Checker`]. It never prints; it calls
//! an [`EventSink`].

use crate::event::{
    Anomaly, ConnId, ConnectionSummary, Endpoints, Event, EventSink, FrameEvent, Handshake,
    HttpPendingEvent, HttpRequestEvent, HttpResponseEvent, MessageEvent, PingPongEvent, TcpEnd,
    UpgradeState,
};
use crate::flow::analysis::{Direction, SegmentAnalysis, TcpAnalyzer};
use crate::flow::reassembly::{Delivery, Reassembler, ReassemblyLimits};
use crate::http::accept::{self, AcceptVerdict};
use crate::http::body::BodySkipper;
use crate::http::head::{self, BodyLength, HeadBuffer, HeadProgress, Request, Response};
use crate::rules::{self, Checker, EndState, Finding, FrameRules, Kind};
use crate::wire::{TcpFlags, TcpSegment};
use crate::ws::decoder::{DEFAULT_MAX_RETAINED_PAYLOAD, Piece};
use crate::ws::deflate::DEFAULT_MAX_INFLATED;
use crate::ws::{
    DecodedFrame, DecoderLimits, FrameDecoder, FrameTimes, GapOutcome, Message, MessageAssembler,
    MessageLimits, OpCode, PingTracker, parse_close_body,
};
use std::io;
use std::net::SocketAddr;

/// Limits and decoding choices shared by every connection.
#[derive(Debug, Clone)]
pub struct ConnConfig {
    /// Ports whose connections are decoded as WebSocket even without a captured
    /// handshake (Wireshark's "Decode As").
    pub ws_ports: Vec<u16>,
    /// Out-of-order buffering caps.
    pub reassembly: ReassemblyLimits,
    /// Payload retention cap per frame (what [`Event::Frame`] can show; control frames
    /// are kept whole whatever it says).
    pub decoder: DecoderLimits,
    /// Payload retention cap per message (what [`Event::Message`] can show). Neither cap
    /// limits what is checked: every payload byte is counted, inflated and validated.
    pub max_message_payload: usize,
    /// Most bytes a compressed message may inflate to before inflation stops.
    pub max_inflated: u64,
    /// Largest HTTP head accepted.
    pub max_http_head: usize,
    /// Most bytes held from a client between its upgrade request and the response.
    pub max_held_bytes: usize,
}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            ws_ports: Vec::new(),
            reassembly: ReassemblyLimits::default(),
            decoder: DecoderLimits::default(),
            max_message_payload: DEFAULT_MAX_RETAINED_PAYLOAD,
            max_inflated: DEFAULT_MAX_INFLATED,
            max_http_head: 64 << 10,
            max_held_bytes: 1 << 20,
        }
    }
}

/// Index of the endpoint that sent a segment: 0 for the connection's first sender.
type SideIdx = usize;

/// What one direction's bytes are being parsed as.
#[derive(Debug)]
enum App {
    /// Nothing seen yet: decide from the first bytes.
    Detect,
    /// Inside an HTTP head.
    Head(HeadBuffer),
    /// Skipping an HTTP body; the message's head is reported when the body ends, as
    /// Wireshark reports a reassembled HTTP message on its last packet.
    Body(BodySkipper, Option<Box<HttpHead>>),
    /// Client sent an upgrade request; bytes after it wait for the server's answer.
    AwaitResponse(Vec<(u64, Vec<u8>)>),
    /// WebSocket frames and messages.
    WebSocket(Box<WsStream>),
    /// Not something wsdissect follows (or lost after a gap).
    Opaque,
}

/// One direction's WebSocket decoding: frames, then messages.
#[derive(Debug)]
struct WsStream {
    decoder: FrameDecoder,
    messages: MessageAssembler,
    /// The packet (and its time) where the unfinished frame began, for message times.
    frame_start: Option<(u64, f64)>,
    /// Stream offset of the last frame whose header rules were checked.
    header_checked: Option<u64>,
}

/// Capture times of this connection's most recent packets, to date frames that began in
/// an earlier packet.
#[derive(Debug, Clone, Copy, Default)]
struct RecentTimes {
    slots: [(u64, f64); RECENT_TIMES],
    next: usize,
}

/// Packets remembered by [`RecentTimes`].
const RECENT_TIMES: usize = 16;

impl RecentTimes {
    fn note(&mut self, packet: u64, time: f64) {
        if let Some(slot) = self.slots.get_mut(self.next % RECENT_TIMES) {
            *slot = (packet, time);
        }
        self.next = self.next.wrapping_add(1);
    }

    fn get(&self, packet: u64) -> Option<f64> {
        self.slots
            .iter()
            .find(|(p, _)| *p == packet && packet != 0)
            .map(|(_, t)| *t)
    }
}

/// An HTTP head waiting for its body to end.
#[derive(Debug)]
enum HttpHead {
    Request(Request),
    Response(Response),
}

/// Per-packet bookkeeping the timeline needs.
#[derive(Debug, Default, Clone, Copy)]
pub struct PacketOutcome {
    /// HTTP heads and frames this packet completed.
    pub pdus_completed: u32,
    /// Bytes of this packet went into a PDU left unfinished.
    pub partial_pdu: bool,
}

/// State of the application layers above TCP (everything but the reassemblers), kept in
/// its own struct so reassembly can call into it while borrowed.
#[derive(Debug)]
struct Session {
    id: ConnId,
    /// Addresses of side 0 (first sender) and side 1.
    addrs: [SocketAddr; 2],
    /// Which side is the client.
    client_side: SideIdx,
    /// Whether `client_side` is known (from a SYN or an HTTP request) or only guessed.
    roles_known: bool,
    apps: [App; 2],
    config: ConnConfig,
    state: Option<UpgradeState>,
    request: Option<(u64, Request)>,
    response: Option<(u64, Response)>,
    frames: [u64; 2],
    payload_bytes: [u64; 2],
    close: [Option<Option<u16>>; 2],
    /// The RFC rules and their state.
    checker: Checker,
    /// Pings waiting for pongs.
    pings: PingTracker,
    /// Times of recent packets.
    times: RecentTimes,
    /// Per-packet scratch.
    outcome: PacketOutcome,
    /// Bytes the current packet delivered into an unfinished PDU.
    delivered_into_pdu: bool,
}

/// Everything a delivery needs from the dissector for the current packet.
struct PacketCtx<'s> {
    packet: u64,
    rel_time: f64,
    sink: &'s mut dyn EventSink,
    visible: bool,
    error: Option<io::Error>,
}

impl PacketCtx<'_> {
    fn emit(&mut self, event: &Event<'_>) {
        if self.visible
            && self.error.is_none()
            && let Err(e) = self.sink.event(event)
        {
            self.error = Some(e);
        }
    }
}

/// A TCP connection and everything decoded from it.
#[derive(Debug)]
pub struct Connection {
    session: Session,
    reassemblers: [Reassembler; 2],
    analyzer: TcpAnalyzer,
    first_packet: u64,
    last_packet: u64,
    /// Capture time of `last_packet`.
    last_time: f64,
    fin: [bool; 2],
    reset: bool,
    ended: bool,
    /// Whether the dissector has scheduled this closed connection for release.
    pub(crate) release_scheduled: bool,
}

impl Connection {
    /// A new connection whose first packet went from `first_sender` to `first_receiver`.
    pub fn new(
        id: ConnId,
        first_sender: SocketAddr,
        first_receiver: SocketAddr,
        first_packet: u64,
        config: &ConnConfig,
    ) -> Self {
        // Until a SYN or an HTTP request says otherwise, guess that the side talking to a
        // Decode-As port is the client, else the first sender.
        let client_side = if config.ws_ports.contains(&first_sender.port())
            && !config.ws_ports.contains(&first_receiver.port())
        {
            1
        } else {
            0
        };
        Connection {
            session: Session {
                id,
                addrs: [first_sender, first_receiver],
                client_side,
                roles_known: false,
                apps: [App::Detect, App::Detect],
                config: config.clone(),
                state: None,
                request: None,
                response: None,
                frames: [0; 2],
                payload_bytes: [0; 2],
                close: [None; 2],
                checker: Checker::new(),
                pings: PingTracker::new(),
                times: RecentTimes::default(),
                outcome: PacketOutcome::default(),
                delivered_into_pdu: false,
            },
            reassemblers: [
                Reassembler::new(config.reassembly),
                Reassembler::new(config.reassembly),
            ],
            analyzer: TcpAnalyzer::new(),
            first_packet,
            last_packet: first_packet,
            last_time: 0.0,
            fin: [false; 2],
            reset: false,
            ended: false,
            release_scheduled: false,
        }
    }

    /// Connection number.
    pub fn id(&self) -> ConnId {
        self.session.id
    }

    /// Whether the TCP connection is over (FIN both ways, or RST).
    pub fn is_closed(&self) -> bool {
        self.reset || (self.fin[0] && self.fin[1])
    }

    /// Client and server addresses as currently known.
    pub fn endpoints(&self) -> Endpoints {
        self.session.endpoints()
    }

    /// Whether either endpoint uses `port`.
    pub fn has_port(&self, port: u16) -> bool {
        self.session.addrs.iter().any(|a| a.port() == port)
    }

    /// Side index of `sender` (0 for the first sender).
    pub fn side_of(&self, sender: SocketAddr) -> SideIdx {
        usize::from(sender != self.session.addrs[0])
    }

    /// Direction of a segment from `side`.
    pub fn direction(&self, side: SideIdx) -> Direction {
        self.session.direction(side)
    }

    /// Processes one segment from `side`; events go to `sink` when `visible`.
    #[allow(clippy::too_many_arguments)]
    pub fn on_segment(
        &mut self,
        packet: u64,
        time_ns: i128,
        side: SideIdx,
        seg: &TcpSegment<'_>,
        sink: &mut dyn EventSink,
        visible: bool,
    ) -> io::Result<(Direction, SegmentAnalysis, PacketOutcome)> {
        let rel_time = time_ns as f64 / 1e9;
        self.last_packet = packet;
        self.last_time = rel_time;
        self.session.times.note(packet, rel_time);
        let flags = seg.flags;
        if flags.has(TcpFlags::SYN) && !self.session.roles_known {
            // SYN without ACK comes from the client; SYN+ACK from the server.
            let from_client = !flags.has(TcpFlags::ACK);
            self.session.client_side = if from_client { side } else { 1 - side };
            self.session.roles_known = true;
        }
        let dir = self.session.direction(side);
        let analysis = self
            .analyzer
            .analyze_at(packet, time_ns, Direction::from_side(side), seg);
        self.session.outcome = PacketOutcome::default();
        self.session.delivered_into_pdu = false;

        let mut ctx = PacketCtx {
            packet,
            rel_time,
            sink,
            visible,
            error: None,
        };
        let Connection {
            session,
            reassemblers,
            ..
        } = self;
        if !flags.has(TcpFlags::RST) {
            let pushed = reassemblers[side].push(
                packet,
                seg.seq,
                flags.has(TcpFlags::SYN),
                seg.payload,
                &mut |d| session.deliver(side, d, &mut ctx),
            );
            if pushed.buffered_out_of_order && session.decodes_pdus(side) {
                // Held for later: part of a PDU that this packet does not complete.
                session.delivered_into_pdu = true;
            }
            if seg.missing_payload > 0 {
                // Snaplen cut the segment: the rest was sent but never captured.
                reassemblers[side].flush(packet, &mut |d| session.deliver(side, d, &mut ctx));
            }
        }
        if flags.has(TcpFlags::ACK) {
            let other = 1 - side;
            reassemblers[other].peer_acked(packet, seg.ack, &mut |d| {
                session.deliver(other, d, &mut ctx)
            });
        }
        if flags.has(TcpFlags::FIN) {
            self.fin[side] = true;
            let fin_seq = seg
                .seq
                .wrapping_add(u32::from(flags.has(TcpFlags::SYN)))
                .wrapping_add(seg.wire_len());
            self.reassemblers[side].fin(packet, fin_seq);
        }
        if flags.has(TcpFlags::RST) {
            self.reset = true;
        }
        let mut outcome = self.session.outcome;
        // Only a segment whose own payload went into an unfinished PDU is marked.
        outcome.partial_pdu =
            seg.wire_len() > 0 && outcome.pdus_completed == 0 && self.session.delivered_into_pdu;
        if self.is_closed() && !self.ended {
            self.end(&mut ctx);
        }
        match ctx.error {
            Some(e) => Err(e),
            None => Ok((dir, analysis, outcome)),
        }
    }

    /// The capture ended: flush what is buffered and report the connection.
    pub fn finish(
        &mut self,
        last_packet: u64,
        sink: &mut dyn EventSink,
        visible: bool,
    ) -> io::Result<()> {
        let mut ctx = PacketCtx {
            packet: last_packet,
            rel_time: self.last_time,
            sink,
            visible,
            error: None,
        };
        if !self.ended {
            self.end(&mut ctx);
        }
        match ctx.error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Flushes buffers, notes unfinished frames, and emits the summary once.
    fn end(&mut self, ctx: &mut PacketCtx<'_>) {
        self.ended = true;
        let Connection {
            session,
            reassemblers,
            ..
        } = self;
        for (side, reassembler) in reassemblers.iter_mut().enumerate() {
            reassembler.flush(ctx.packet, &mut |d| session.deliver(side, d, ctx));
        }
        for side in 0..2 {
            if let App::WebSocket(ws) = &self.session.apps[side]
                && let Some(pending) = ws.decoder.pending()
            {
                let dir = self.session.direction(side);
                let message = match pending.header {
                    Some(h) => format!(
                        "stream ended inside a {} frame declaring {} payload bytes: {} bytes of it seen (frame began in packet {})",
                        h.opcode, h.payload_len, pending.bytes_seen, pending.first_packet
                    ),
                    None => format!(
                        "stream ended inside a frame header ({} bytes seen, began in packet {})",
                        pending.bytes_seen, pending.first_packet
                    ),
                };
                emit_finding(
                    self.session.id,
                    ctx,
                    Finding {
                        kind: rules::TRUNCATED_FRAME,
                        dir: Some(dir),
                        message,
                    },
                );
            }
        }
        if let Some(state) = self.session.state {
            let tcp_end = if self.reset {
                TcpEnd::Reset
            } else if self.fin[0] && self.fin[1] {
                TcpEnd::Closed
            } else if self.fin[0] || self.fin[1] {
                TcpEnd::HalfClosed
            } else {
                TcpEnd::Open
            };
            let desynchronized = self
                .session
                .apps
                .iter()
                .any(|a| matches!(a, App::WebSocket(ws) if ws.decoder.is_desynchronized()));
            let end = EndState {
                tcp_end,
                websocket: matches!(state, UpgradeState::Upgraded | UpgradeState::Assumed),
                desynchronized,
            };
            let id = self.session.id;
            self.session
                .checker
                .end(end, &mut |f| emit_finding(id, ctx, f));
            let c = self.session.client_side;
            let order = [c, 1 - c];
            let summary = ConnectionSummary {
                conn: self.session.id,
                endpoints: self.session.endpoints(),
                first_packet: self.first_packet,
                last_packet: self.last_packet,
                state,
                path: self.session.request.as_ref().map(|(_, r)| r.path.clone()),
                status: self.session.response.as_ref().map(|(_, r)| r.status),
                frames: order.map(|s| self.session.frames[s]),
                payload_bytes: order.map(|s| self.session.payload_bytes[s]),
                close: order.map(|s| self.session.close[s]),
                tcp_end,
            };
            ctx.emit(&Event::ConnectionEnd(&summary));
        }
        // Nothing more will be decoded: give the memory back.
        self.session.apps = [App::Opaque, App::Opaque];
    }
}

impl Direction {
    /// The direction of side 0 → 1 as `ClientToServer`, used for analysis, which only
    /// needs a stable orientation.
    fn from_side(side: SideIdx) -> Direction {
        if side == 0 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }
}

impl Session {
    /// Whether side `side`'s bytes are being parsed into HTTP messages or frames.
    fn decodes_pdus(&self, side: SideIdx) -> bool {
        !matches!(self.apps[side], App::Opaque | App::Detect)
    }

    fn endpoints(&self) -> Endpoints {
        Endpoints {
            client: self.addrs[self.client_side],
            server: self.addrs[1 - self.client_side],
        }
    }

    fn direction(&self, side: SideIdx) -> Direction {
        if side == self.client_side {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    /// Reports `kind` concerning side `side` with a specific message.
    fn anomaly(&self, ctx: &mut PacketCtx<'_>, side: Option<SideIdx>, kind: Kind, message: String) {
        let finding = Finding {
            kind,
            dir: side.map(|s| self.direction(s)),
            message,
        };
        emit_finding(self.id, ctx, finding);
    }

    /// Takes one reassembled chunk of side `side`.
    fn deliver(&mut self, side: SideIdx, delivery: Delivery<'_>, ctx: &mut PacketCtx<'_>) {
        match delivery {
            Delivery::Data { packet, bytes } => self.data(side, packet, bytes, ctx),
            Delivery::Gap { len, .. } => self.gap(side, len, ctx),
        }
    }

    fn gap(&mut self, side: SideIdx, len: u64, ctx: &mut PacketCtx<'_>) {
        let dir = self.direction(side);
        match &mut self.apps[side] {
            App::WebSocket(ws) => {
                if ws.decoder.is_desynchronized() {
                    return;
                }
                match ws.decoder.gap(ctx.packet, len) {
                    GapOutcome::Absorbed => {
                        // A gap ending exactly at a frame's end completes that frame.
                        self.with_decoder(side, ctx, |decoder, out| {
                            decoder.flush(&mut |frame| out(Piece::Frame(frame)))
                        });
                        self.anomaly(
                        ctx,
                        Some(side),
                        rules::TCP_GAP,
                        format!("{len} bytes {} not captured, inside a frame's payload: that frame is incomplete, decoding continues after it", dir.short()),
                    );
                    }
                    GapOutcome::Desynchronized => self.anomaly(
                        ctx,
                        Some(side),
                        rules::TCP_GAP,
                        format!("{len} bytes {} not captured where a frame header was due: the rest of this direction cannot be decoded safely", dir.short()),
                    ),
                }
            }
            App::Opaque => {}
            App::Detect if self.config.ws_ports.is_empty() => {
                self.apps[side] = App::Opaque;
            }
            _ => {
                self.apps[side] = App::Opaque;
                self.anomaly(
                    ctx,
                    Some(side),
                    rules::TCP_GAP,
                    format!(
                        "{len} bytes {} not captured inside HTTP data: the rest of this direction is not decoded",
                        dir.short()
                    ),
                );
            }
        }
    }

    fn data(&mut self, side: SideIdx, packet: u64, mut bytes: &[u8], ctx: &mut PacketCtx<'_>) {
        while !bytes.is_empty() {
            match &mut self.apps[side] {
                App::Opaque => return,
                App::Detect => {
                    self.apps[side] = self.detect(side, bytes);
                }
                App::Head(buffer) => match buffer.feed(bytes) {
                    HeadProgress::NeedMore { consumed } => {
                        self.delivered_into_pdu = true;
                        bytes = bytes.get(consumed..).unwrap_or_default();
                        if consumed == 0 {
                            return;
                        }
                    }
                    HeadProgress::Complete { consumed } => {
                        bytes = bytes.get(consumed..).unwrap_or_default();
                        let head = buffer.take();
                        self.head_complete(side, ctx.packet, &head, ctx);
                    }
                    HeadProgress::TooLarge => {
                        self.apps[side] = App::Opaque;
                        let max = self.config.max_http_head;
                        self.anomaly(
                            ctx,
                            Some(side),
                            rules::HTTP_HEAD_TOO_LARGE,
                            format!("HTTP head longer than {max} bytes: not decoded further"),
                        );
                    }
                },
                App::Body(skipper, head) => {
                    let consumed = skipper.feed(bytes);
                    bytes = bytes.get(consumed..).unwrap_or_default();
                    if skipper.is_done() {
                        let head = head.take();
                        self.apps[side] = App::Head(HeadBuffer::new(self.config.max_http_head));
                        if let Some(head) = head {
                            self.emit_head(ctx, &head);
                        }
                    } else {
                        self.delivered_into_pdu = true;
                        if consumed == 0 {
                            return;
                        }
                    }
                }
                App::AwaitResponse(held) => {
                    let total: usize = held.iter().map(|(_, b)| b.len()).sum();
                    if total + bytes.len() <= self.config.max_held_bytes {
                        held.push((packet, bytes.to_vec()));
                    }
                    let id = self.id;
                    self.checker
                        .early_data(bytes.len(), &mut |f| emit_finding(id, ctx, f));
                    return;
                }
                App::WebSocket(_) => {
                    self.with_decoder(side, ctx, |decoder, out| {
                        decoder.feed_pieces(packet, bytes, out)
                    });
                    return;
                }
            }
        }
    }

    /// The WebSocket state of side `side`'s direction, under the checker's rules.
    fn websocket_app(&self, side: SideIdx) -> App {
        // Without a captured handshake the parameters are unknown: context takeover (the
        // default) is assumed.
        let deflate = self.checker.rules().deflate.then(|| {
            let params = self.checker.deflate_params().unwrap_or_default();
            match self.direction(side) {
                Direction::ClientToServer => params.client_no_context_takeover,
                Direction::ServerToClient => params.server_no_context_takeover,
            }
        });
        let limits = MessageLimits {
            max_retained: self.config.max_message_payload,
            max_inflated: self.config.max_inflated,
            frame_retained: self.config.decoder.max_retained_payload,
        };
        App::WebSocket(Box::new(WsStream {
            decoder: FrameDecoder::new(self.config.decoder),
            messages: MessageAssembler::new(limits, deflate),
            frame_start: None,
            header_checked: None,
        }))
    }

    /// Runs `f` on side `side`'s frame decoder, handing the payload pieces it yields to
    /// the message assembler and turning the frames into frame and message events and
    /// conformance findings, and counting them.
    fn with_decoder(
        &mut self,
        side: SideIdx,
        ctx: &mut PacketCtx<'_>,
        f: impl FnOnce(&mut FrameDecoder, &mut dyn FnMut(Piece<'_>)),
    ) {
        let dir = self.direction(side);
        let Session {
            id,
            apps,
            checker,
            pings,
            times,
            ..
        } = self;
        let id = *id;
        let App::WebSocket(ws) = &mut apps[side] else {
            return;
        };
        let WsStream {
            decoder,
            messages,
            frame_start,
            header_checked,
        } = &mut **ws;
        let mut frames = FrameCounter::default();
        let memo = *frame_start;
        f(decoder, &mut |piece| {
            let frame = match piece {
                Piece::Payload {
                    header,
                    offset,
                    bytes,
                } => {
                    messages.payload(&header, offset, bytes);
                    return;
                }
                Piece::Frame(frame) => frame,
            };
            frames.record(&frame);
            emit_frame(id, dir, &frame, ctx);
            if *header_checked != Some(frame.stream_offset) {
                *header_checked = Some(frame.stream_offset);
                checker.header(dir, &frame.header, &mut |f| emit_finding(id, ctx, f));
            }
            checker.frame(dir, &frame, &mut |f| emit_finding(id, ctx, f));
            let start = if frame.first_packet == ctx.packet {
                ctx.rel_time
            } else {
                memo.filter(|(p, _)| *p == frame.first_packet)
                    .map(|(_, t)| t)
                    .or_else(|| times.get(frame.first_packet))
                    .unwrap_or(ctx.rel_time)
            };
            let frame_times = FrameTimes {
                start,
                end: ctx.rel_time,
            };
            let pushed = messages.push(&frame, frame_times);
            if let Some(problem) = pushed.fragmentation {
                checker.fragmentation(dir, problem, &mut |f| emit_finding(id, ctx, f));
            }
            if let Some(problem) = &pushed.inflate {
                checker.inflate(dir, problem, &mut |f| emit_finding(id, ctx, f));
            }
            if let Some(message) = &pushed.message {
                emit_message(id, dir, message, ctx);
                checker.message(dir, message, &mut |f| emit_finding(id, ctx, f));
                pair_ping_pong(id, dir, message, pings, ctx);
            }
        });
        if let Some(pending) = decoder.pending() {
            // A header is checked as soon as it is complete.
            if let Some(header) = pending.header {
                let offset = decoder.stream_offset().saturating_sub(pending.bytes_seen);
                if *header_checked != Some(offset) {
                    *header_checked = Some(offset);
                    checker.header(dir, &header, &mut |f| emit_finding(id, ctx, f));
                }
            }
            // Remember where the frame began, while that packet's time is known.
            if frame_start.map(|(p, _)| p) != Some(pending.first_packet) {
                let time = if pending.first_packet == ctx.packet {
                    Some(ctx.rel_time)
                } else {
                    times.get(pending.first_packet)
                };
                *frame_start = time.map(|t| (pending.first_packet, t));
            }
            self.delivered_into_pdu = true;
        }
        self.outcome.pdus_completed += frames.count;
        self.frames[side] += u64::from(frames.count);
        self.payload_bytes[side] += frames.payload_bytes;
        if let Some(code) = frames.close {
            self.close[side] = Some(code);
        }
    }

    /// Decides what a direction carries from its first bytes.
    fn detect(&mut self, side: SideIdx, bytes: &[u8]) -> App {
        let port_is_ws = self
            .config
            .ws_ports
            .iter()
            .any(|p| self.addrs.iter().any(|a| a.port() == *p));
        if head::looks_like_request(bytes) || head::looks_like_response(bytes) {
            return App::Head(HeadBuffer::new(self.config.max_http_head));
        }
        if port_is_ws {
            // Decode As: frames from the start of the captured data; the masking side
            // is the client, which the first frame tells.
            if !self.roles_known {
                let masked = bytes.get(1).is_some_and(|b| b & 0x80 != 0);
                self.client_side = if masked { side } else { 1 - side };
                self.roles_known = true;
            }
            if self.state.is_none() {
                self.state = Some(UpgradeState::Assumed);
            }
            // Nothing is known of the extensions: RSV1 is taken as permessage-deflate.
            self.checker.set_rules(FrameRules {
                handshake_seen: false,
                deflate: true,
                other_extensions: false,
            });
            return self.websocket_app(side);
        }
        App::Opaque
    }

    fn head_complete(&mut self, side: SideIdx, packet: u64, head: &[u8], ctx: &mut PacketCtx<'_>) {
        let parsed = if head::looks_like_response(head) {
            head::parse_response(head)
                .map(HttpHead::Response)
                .map_err(|e| ("response", e))
        } else {
            head::parse_request(head)
                .map(HttpHead::Request)
                .map_err(|e| ("request", e))
        };
        match parsed {
            Ok(HttpHead::Response(response)) => self.response_complete(side, packet, response, ctx),
            Ok(HttpHead::Request(request)) => self.request_complete(side, packet, request, ctx),
            Err((what, e)) => {
                self.apps[side] = App::Opaque;
                self.anomaly(
                    ctx,
                    Some(side),
                    rules::HTTP_MALFORMED,
                    format!("unparsable HTTP {what} head: {e}"),
                );
            }
        }
    }

    fn request_complete(
        &mut self,
        side: SideIdx,
        packet: u64,
        request: Request,
        ctx: &mut PacketCtx<'_>,
    ) {
        if !self.roles_known {
            self.client_side = side;
            self.roles_known = true;
        }
        if request.is_websocket_upgrade() {
            self.emit_request(ctx, &request);
            let id = self.id;
            self.checker
                .request(&request, &mut |f| emit_finding(id, ctx, f));
            self.state = Some(UpgradeState::Requested);
            self.apps[side] = App::AwaitResponse(Vec::new());
            self.request = Some((packet, request));
        } else {
            let len = request.body_length();
            self.apps[side] = self.after_head(ctx, len, HttpHead::Request(request));
        }
    }

    /// The state after an HTTP head whose body has length `len`: the head is reported now
    /// if there is no body (or it runs to the end of the connection), else when it ends.
    fn after_head(&mut self, ctx: &mut PacketCtx<'_>, len: BodyLength, head: HttpHead) -> App {
        match len {
            BodyLength::None | BodyLength::Fixed(0) => {
                self.emit_head(ctx, &head);
                App::Head(HeadBuffer::new(self.config.max_http_head))
            }
            BodyLength::UntilClose => {
                self.emit_head(ctx, &head);
                App::Body(BodySkipper::new(len), None)
            }
            len => {
                let (request, response) = match &head {
                    HttpHead::Request(r) => (Some(r), None),
                    HttpHead::Response(r) => (None, Some(r)),
                };
                let event = HttpPendingEvent {
                    conn: self.id,
                    packet: ctx.packet,
                    request,
                    response,
                };
                ctx.emit(&Event::HttpPending(&event));
                self.delivered_into_pdu = true;
                App::Body(BodySkipper::new(len), Some(Box::new(head)))
            }
        }
    }

    /// Reports a complete HTTP message.
    fn emit_head(&mut self, ctx: &mut PacketCtx<'_>, head: &HttpHead) {
        match head {
            HttpHead::Request(request) => self.emit_request(ctx, request),
            HttpHead::Response(response) => {
                self.outcome.pdus_completed += 1;
                let event = HttpResponseEvent {
                    conn: self.id,
                    packet: ctx.packet,
                    endpoints: self.endpoints(),
                    response,
                    accept: None,
                };
                ctx.emit(&Event::HttpResponse(&event));
            }
        }
    }

    fn emit_request(&mut self, ctx: &mut PacketCtx<'_>, request: &Request) {
        self.outcome.pdus_completed += 1;
        let event = HttpRequestEvent {
            conn: self.id,
            packet: ctx.packet,
            endpoints: self.endpoints(),
            request,
        };
        ctx.emit(&Event::HttpRequest(&event));
    }

    fn response_complete(
        &mut self,
        side: SideIdx,
        packet: u64,
        response: Response,
        ctx: &mut PacketCtx<'_>,
    ) {
        let Some((request_packet, request)) = self.request.take() else {
            // An ordinary HTTP response, or a 101 to another protocol, or one nobody asked for.
            if response.status == 101 {
                if response.header_has_token("Upgrade", "websocket") {
                    self.anomaly(
                        ctx,
                        Some(side),
                        rules::UNREQUESTED_101,
                        "101 Switching Protocols to websocket without a WebSocket upgrade request"
                            .to_string(),
                    );
                }
                self.emit_head(ctx, &HttpHead::Response(response));
                // Another protocol from here on, in both directions.
                self.apps = [App::Opaque, App::Opaque];
            } else {
                let len = response.body_length(None);
                self.apps[side] = self.after_head(ctx, len, HttpHead::Response(response));
            }
            return;
        };
        let key = request.header("Sec-WebSocket-Key");
        let expected = key.map(accept::expected_accept);
        // Like Wireshark, only a 101 that names websocket in its Upgrade header switches
        // the connection to WebSocket; a 101 to anything else leaves it undecoded.
        let upgraded = response.status == 101 && response.header_has_token("Upgrade", "websocket");
        let switched_elsewhere = response.status == 101 && !upgraded;
        let verdict = if upgraded {
            accept::verify(key, response.header("Sec-WebSocket-Accept"))
        } else {
            AcceptVerdict::MissingAccept
        };
        let event = HttpResponseEvent {
            conn: self.id,
            packet,
            endpoints: self.endpoints(),
            response: &response,
            accept: upgraded.then_some(&verdict),
        };
        self.outcome.pdus_completed += 1;
        ctx.emit(&Event::HttpResponse(&event));
        let handshake = Handshake {
            conn: self.id,
            endpoints: self.endpoints(),
            request_packet,
            response_packet: packet,
            request: &request,
            response: &response,
            expected_accept: expected.as_deref(),
            accept: &verdict,
            upgraded,
        };
        ctx.emit(&Event::Handshake(&handshake));
        let client = 1 - side;
        if upgraded {
            self.state = Some(UpgradeState::Upgraded);
            let id = self.id;
            self.checker
                .response(&request, &response, &verdict, &mut |f| {
                    emit_finding(id, ctx, f)
                });
            self.apps[side] = self.websocket_app(side);
            let client_app = self.websocket_app(client);
            let held = std::mem::replace(&mut self.apps[client], client_app);
            if let App::AwaitResponse(held) = held {
                for (p, bytes) in held {
                    self.data(client, p, &bytes, ctx);
                }
            }
        } else if switched_elsewhere {
            self.state = Some(UpgradeState::Refused);
            let id = self.id;
            self.checker
                .upgrade_not_websocket(&response, &mut |f| emit_finding(id, ctx, f));
            self.apps = [App::Opaque, App::Opaque];
        } else {
            self.state = Some(UpgradeState::Refused);
            self.anomaly(
                ctx,
                Some(side),
                rules::UPGRADE_REFUSED,
                format!(
                    "server answered the upgrade request with {} {}",
                    response.status, response.reason
                ),
            );
            self.apps[side] = match response.body_length(Some(&request.method)) {
                BodyLength::None | BodyLength::Fixed(0) => {
                    App::Head(HeadBuffer::new(self.config.max_http_head))
                }
                len => App::Body(BodySkipper::new(len), None),
            };
            let held = std::mem::replace(
                &mut self.apps[client],
                App::Head(HeadBuffer::new(self.config.max_http_head)),
            );
            if let App::AwaitResponse(held) = held {
                for (p, bytes) in held {
                    self.data(client, p, &bytes, ctx);
                }
            }
        }
        self.request = Some((request_packet, request));
        self.response = Some((packet, response));
    }
}

/// Totals over the frames of one `feed` call.
#[derive(Default)]
struct FrameCounter {
    count: u32,
    payload_bytes: u64,
    close: Option<Option<u16>>,
}

impl FrameCounter {
    fn record(&mut self, frame: &DecodedFrame<'_>) {
        self.count += 1;
        self.payload_bytes += frame.header.payload_len;
        if frame.header.opcode == crate::ws::OpCode::Close {
            let code = parse_close_body(frame.payload)
                .ok()
                .and_then(|b| b.code)
                .map(u16::from);
            self.close = Some(code);
        }
    }
}

fn emit_frame(conn: ConnId, dir: Direction, frame: &DecodedFrame<'_>, ctx: &mut PacketCtx<'_>) {
    let (close_code, close_reason) = if frame.header.opcode == crate::ws::OpCode::Close {
        match parse_close_body(frame.payload) {
            Ok(body) => (body.code, body.reason),
            Err(_) => (None, &[][..]),
        }
    } else {
        (None, &[][..])
    };
    let event = FrameEvent {
        conn,
        dir,
        packet: ctx.packet,
        first_packet: frame.first_packet,
        rel_time: ctx.rel_time,
        header: frame.header,
        payload: frame.payload,
        payload_complete: frame.payload_complete,
        close_code,
        close_reason,
    };
    ctx.emit(&Event::Frame(&event));
}

/// Turns a conformance finding into an anomaly event at the current packet.
fn emit_finding(conn: ConnId, ctx: &mut PacketCtx<'_>, finding: Finding) {
    let anomaly = Anomaly {
        kind: finding.kind,
        severity: finding.kind.severity,
        conn: Some(conn),
        dir: finding.dir,
        packet: ctx.packet,
        message: finding.message,
    };
    ctx.emit(&Event::Anomaly(&anomaly));
}

fn emit_message(conn: ConnId, dir: Direction, m: &Message<'_>, ctx: &mut PacketCtx<'_>) {
    let event = MessageEvent {
        conn,
        dir,
        opcode: m.opcode,
        len: m.len,
        frames: m.frames,
        first_packet: m.first_packet,
        last_packet: ctx.packet,
        first_time: m.first_time,
        rel_time: ctx.rel_time,
        payload: m.payload,
        payload_complete: m.payload_complete,
        compressed: m.compressed,
        wire_len: m.wire_len,
    };
    ctx.emit(&Event::Message(&event));
}

/// Remembers pings and reports the pongs that echo them.
fn pair_ping_pong(
    conn: ConnId,
    dir: Direction,
    m: &Message<'_>,
    pings: &mut PingTracker,
    ctx: &mut PacketCtx<'_>,
) {
    match m.opcode {
        OpCode::Ping => pings.ping(dir, ctx.packet, ctx.rel_time, m.payload, m.payload_complete),
        OpCode::Pong => {
            if let Some(pair) = pings.pong(dir, ctx.rel_time, m.payload, m.payload_complete) {
                let event = PingPongEvent {
                    conn,
                    ping_dir: pair.ping_dir,
                    ping_packet: pair.ping_packet,
                    pong_packet: ctx.packet,
                    rtt: pair.rtt,
                    payload_len: pair.payload_len,
                };
                ctx.emit(&Event::PingPong(&event));
            }
        }
        _ => {}
    }
}
