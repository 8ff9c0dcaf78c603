//! Above TCP: one [`Session`] per connection, and the chain of analyzers that turns each
//! direction's reassembled bytes into events.
//!
//! The chain is a tree of analyzers, as in Zeek: TCP reassembly feeds the session's root
//! analyzer with each direction's in-order bytes and gaps; an analyzer hands what it does
//! not consume itself to its child. Today the root is [`http::HttpAnalyzer`], which
//! attaches a [`websocket::WebSocketAnalyzer`] child when a connection upgrades (or when
//! `--ws-port` says to decode it as WebSocket) and forwards the upgraded directions to it.
//! A byte-transforming layer (TLS) becomes a root whose child is the HTTP analyzer; a
//! payload decoder becomes the WebSocket analyzer's child, fed whole messages.
//!
//! What the analyzers of one connection share (who is who, what the handshake settled, the
//! rules' state, the counters of the end summary) lives in [`ConnState`]; what one packet
//! produced (events, PDUs completed) goes through the per-packet context [`Cx`]. Errors of
//! the event sink (a closed pipe) travel back with `?`.

pub mod http;
pub mod proxy;
pub mod tls;
pub mod websocket;

use crate::event::{Anomaly, ConnId, ConnectionSummary, Endpoints, Event, EventSink, UpgradeState};
use crate::flow::TcpEnd;
use crate::flow::analysis::Direction;
use crate::flow::reassembly::{Delivery, ReassemblyLimits};
use crate::http::head::{Request, Response};
use crate::payload::DecodeAs;
use crate::rules::{Checker, EndState, Finding, Kind, Report};
use crate::tls::{KeyLog, SegmentLabel};
use crate::ws::DecoderLimits;
use crate::ws::decoder::DEFAULT_MAX_RETAINED_PAYLOAD;
use crate::ws::deflate::DEFAULT_MAX_INFLATED;
use std::io;
use std::net::SocketAddr;

/// Index of the endpoint that sent a segment: 0 for the connection's first sender.
pub type Side = usize;

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
    /// Most bytes of encrypted TLS records held per direction while the key log has no
    /// secret for the connection yet (live capture re-reads the key log; 0: none held).
    pub tls_hold: usize,
    /// `-w --inject-secrets`: TLS packets carry their connection's key log lines (in
    /// [`crate::tls::SegmentLabel::secrets`]) for the writer.
    pub inject_secrets: bool,
    /// `--decode-as`: payload decoders chosen by hand, by port or connection.
    pub decode_as: Vec<DecodeAs>,
    /// `--proto` / `--proto-message`: protobuf schemas and which connections carry which
    /// message type.
    pub protobuf: Option<crate::payload::protobuf::SharedSchemas>,
    /// Payload decoders build every field (JSON Lines, -V); else summaries only.
    pub app_fields: bool,
    /// The generic JSON decoder keeps the value (the `-V` tree); else it only validates
    /// and summarises (what JSON Lines' `text` already carries).
    pub app_json_value: bool,
    /// The Engine.IO long-polling sessions, shared by every connection.
    pub polling: http::PollingSessions,
    /// The memory budget's account of payload held for display, shared by every
    /// connection (the default accounts nothing).
    pub held_payload: crate::flow::budget::HeldPayload,
    /// The memory budget's account of out-of-order bytes held by TCP reassembly.
    pub reassembly_held: crate::flow::budget::HeldPayload,
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
            tls_hold: 0,
            inject_secrets: false,
            decode_as: Vec::new(),
            protobuf: None,
            app_fields: true,
            app_json_value: false,
            polling: http::PollingSessions::default(),
            held_payload: crate::flow::budget::HeldPayload::default(),
            reassembly_held: crate::flow::budget::HeldPayload::default(),
        }
    }
}

/// One packet's context as it travels up the chain: where events go, and what the packet
/// completed (the packet list marks segments of unfinished PDUs).
pub struct Cx<'s> {
    /// Packet being processed.
    pub packet: u64,
    /// TLS secrets known so far (key log files, pcapng secrets blocks).
    pub keys: &'s KeyLog,
    /// TLS records that ended in this packet (cleared by whoever creates the context).
    pub tls_label: &'s mut SegmentLabel,
    /// Its capture time, seconds since the first packet.
    pub rel_time: f64,
    sink: &'s mut dyn EventSink,
    visible: bool,
    /// HTTP messages and WebSocket frames this packet completed.
    pub pdus_completed: u32,
    /// Bytes this packet delivered went into a PDU left unfinished.
    pub delivered_into_pdu: bool,
}

impl<'s> Cx<'s> {
    /// A context for `packet`; events reach `sink` only when `visible` (the `--port` filter).
    pub fn new(
        packet: u64,
        rel_time: f64,
        sink: &'s mut dyn EventSink,
        visible: bool,
        keys: &'s KeyLog,
        tls_label: &'s mut SegmentLabel,
    ) -> Self {
        Cx {
            packet,
            keys,
            tls_label,
            rel_time,
            sink,
            visible,
            pdus_completed: 0,
            delivered_into_pdu: false,
        }
    }

    /// Hands `event` to the sink (unless the connection is filtered out).
    pub fn emit(&mut self, event: &Event<'_>) -> io::Result<()> {
        if self.visible {
            self.sink.event(event)
        } else {
            Ok(())
        }
    }

    /// Reports a rule finding of connection `conn` as an anomaly at the current packet.
    pub fn finding(&mut self, conn: ConnId, finding: Finding) -> io::Result<()> {
        let anomaly = Anomaly {
            kind: finding.kind,
            severity: finding.kind.severity,
            conn: Some(conn),
            dir: finding.dir,
            packet: self.packet,
            message: finding.message,
        };
        self.emit(&Event::Anomaly(&anomaly))
    }

    /// Runs one rule check and reports what it found, in the order found. (Nothing is
    /// allocated unless a rule fires.)
    #[inline]
    pub fn check(&mut self, conn: ConnId, check: impl FnOnce(Report<'_>)) -> io::Result<()> {
        let mut found = Vec::new();
        check(&mut |f| found.push(f));
        if found.is_empty() {
            // The common case, kept cheap: this runs for every frame and message.
            return Ok(());
        }
        self.report_all(conn, found)
    }

    #[cold]
    fn report_all(&mut self, conn: ConnId, found: Vec<Finding>) -> io::Result<()> {
        for f in found {
            self.finding(conn, f)?;
        }
        Ok(())
    }
}

/// An analyzer of one connection's streams: it receives each direction's in-order bytes
/// (`side` 0 is the connection's first sender) and the gaps between them, and passes what
/// it does not decode itself to its children.
pub trait Analyzer: std::fmt::Debug {
    /// The next in-order `bytes` of side `side`, carried by `packet`.
    fn data(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        packet: u64,
        bytes: &[u8],
    ) -> io::Result<()>;
    /// `len` bytes of side `side` were never captured.
    fn gap(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        len: u64,
    ) -> io::Result<()>;
    /// The connection (or the capture) ended: report what was left unfinished.
    fn end(&mut self, conn: &mut ConnState, cx: &mut Cx<'_>) -> io::Result<()>;
    /// Whether side `side`'s bytes are being parsed into PDUs (HTTP messages, frames).
    fn decodes_pdus(&self, side: Side) -> bool;
}

/// Capture times of a connection's most recent packets, to date frames that began in an
/// earlier packet.
#[derive(Debug, Clone, Copy, Default)]
pub struct RecentTimes {
    slots: [(u64, f64); RECENT_TIMES],
    next: usize,
}

/// Packets remembered by [`RecentTimes`].
const RECENT_TIMES: usize = 16;

impl RecentTimes {
    /// Remembers that `packet` was captured at `time`.
    pub fn note(&mut self, packet: u64, time: f64) {
        if let Some(slot) = self.slots.get_mut(self.next % RECENT_TIMES) {
            *slot = (packet, time);
        }
        self.next = self.next.wrapping_add(1);
    }

    /// The time of `packet`, if it is among the most recent.
    pub fn get(&self, packet: u64) -> Option<f64> {
        self.slots
            .iter()
            .find(|(p, _)| *p == packet && packet != 0)
            .map(|(_, t)| *t)
    }
}

/// What the analyzers of one connection share.
#[derive(Debug)]
pub struct ConnState {
    /// Connection number.
    pub id: ConnId,
    /// Addresses of side 0 (first sender) and side 1.
    addrs: [SocketAddr; 2],
    /// Which side is the client.
    client_side: Side,
    /// Whether `client_side` is known (from a SYN, an HTTP request, a masked frame) or
    /// only guessed.
    roles_known: bool,
    /// Decoding settings.
    pub config: ConnConfig,
    /// How far the upgrade got (`None`: not a WebSocket connection, nor an attempt).
    pub upgrade: Option<UpgradeState>,
    /// The upgrade request and the packet that completed it.
    pub request: Option<(u64, Request)>,
    /// The answer to it and its packet.
    pub response: Option<(u64, Response)>,
    /// Frames per side.
    pub frames: [u64; 2],
    /// WebSocket payload bytes per side.
    pub payload_bytes: [u64; 2],
    /// Close frame per side: its code (`None` for an empty body).
    pub close: [Option<Option<u16>>; 2],
    /// The RFC rules and their state.
    pub checker: Checker,
    /// Times of recent packets.
    pub times: RecentTimes,
    /// A gap lost frame boundaries in some direction.
    pub desynchronized: bool,
}

impl ConnState {
    /// Client and server addresses as currently known.
    pub fn endpoints(&self) -> Endpoints {
        Endpoints {
            client: self.addrs[self.client_side],
            server: self.addrs[1 - self.client_side],
        }
    }

    /// Direction of the bytes of side `side`.
    pub fn direction(&self, side: Side) -> Direction {
        if side == self.client_side {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        }
    }

    /// Whether the roles are known (not only guessed).
    pub fn roles_known(&self) -> bool {
        self.roles_known
    }

    /// Settles which side is the client.
    pub fn set_client(&mut self, side: Side) {
        self.client_side = side;
        self.roles_known = true;
    }

    /// The ports of side 0 and side 1.
    pub fn ports(&self) -> (u16, u16) {
        (self.addrs[0].port(), self.addrs[1].port())
    }

    /// Whether either endpoint uses one of the `--ws-port` ports.
    pub fn on_ws_port(&self) -> bool {
        self.config
            .ws_ports
            .iter()
            .any(|p| self.addrs.iter().any(|a| a.port() == *p))
    }

    /// Reports `kind` concerning side `side` with a specific message.
    pub fn anomaly(
        &self,
        cx: &mut Cx<'_>,
        side: Option<Side>,
        kind: Kind,
        message: String,
    ) -> io::Result<()> {
        let finding = Finding {
            kind,
            dir: side.map(|s| self.direction(s)),
            message,
        };
        cx.finding(self.id, finding)
    }
}

/// Everything above TCP of one connection: the shared state and the analyzer chain.
#[derive(Debug)]
pub struct Session {
    state: ConnState,
    /// The first analyzer of the chain, chosen by the first bytes; `None` before them and
    /// once the connection ended.
    root: Option<Box<dyn Analyzer>>,
    ended: bool,
}

impl Session {
    /// A new connection whose first packet went from `first_sender` to `first_receiver`.
    pub fn new(
        id: ConnId,
        first_sender: SocketAddr,
        first_receiver: SocketAddr,
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
        Session {
            state: ConnState {
                id,
                addrs: [first_sender, first_receiver],
                client_side,
                roles_known: false,
                config: config.clone(),
                upgrade: None,
                request: None,
                response: None,
                frames: [0; 2],
                payload_bytes: [0; 2],
                close: [None; 2],
                checker: Checker::new(),
                times: RecentTimes::default(),
                desynchronized: false,
            },
            root: None,
            ended: false,
        }
    }

    /// Connection number.
    pub fn id(&self) -> ConnId {
        self.state.id
    }

    /// Client and server addresses as currently known.
    pub fn endpoints(&self) -> Endpoints {
        self.state.endpoints()
    }

    /// Whether either endpoint uses `port`.
    pub fn has_port(&self, port: u16) -> bool {
        self.state.addrs.iter().any(|a| a.port() == port)
    }

    /// Side index of `sender` (0 for the first sender).
    pub fn side_of(&self, sender: SocketAddr) -> Side {
        usize::from(sender != self.state.addrs[0])
    }

    /// Direction of a segment from `side`.
    pub fn direction(&self, side: Side) -> Direction {
        self.state.direction(side)
    }

    /// A packet of this connection was captured (for dating frames later).
    pub fn note_packet(&mut self, packet: u64, rel_time: f64) {
        self.state.times.note(packet, rel_time);
    }

    /// A SYN from `side`: without ACK it comes from the client, with ACK from the server.
    /// Only the first one seen settles the roles.
    pub fn syn(&mut self, side: Side, from_client: bool) {
        if !self.state.roles_known {
            self.state
                .set_client(if from_client { side } else { 1 - side });
        }
    }

    /// Whether side `side`'s bytes are being parsed into PDUs.
    pub fn decodes_pdus(&self, side: Side) -> bool {
        self.root.as_ref().is_some_and(|a| a.decodes_pdus(side))
    }

    /// One reassembled chunk (or gap) of side `side`.
    pub fn deliver(
        &mut self,
        cx: &mut Cx<'_>,
        side: Side,
        delivery: Delivery<'_>,
    ) -> io::Result<()> {
        if self.ended {
            return Ok(());
        }
        let config_hold = self.state.config.tls_hold;
        let inject = self.state.config.inject_secrets;
        let max_head = self.state.config.max_http_head;
        let root = self.root.get_or_insert_with(|| match &delivery {
            // TLS is recognised on any port by its record header, as Wireshark does.
            Delivery::Data { bytes, .. } if crate::tls::looks_like_tls(bytes) => {
                Box::new(tls::TlsAnalyzer::new(config_hold).injecting_secrets(inject))
            }
            // A SOCKS or HTTP CONNECT proxy handshake, then (usually) TLS: Wireshark's
            // heuristics find TLS after it, so the tunnel is chosen after the handshake.
            Delivery::Data { bytes, .. } if let Some(kind) = proxy::ProxyKind::detect(bytes) => {
                Box::new(proxy::ProxyAnalyzer::new(
                    kind,
                    config_hold,
                    inject,
                    max_head,
                ))
            }
            _ => Box::new(http::HttpAnalyzer::new()),
        });
        match delivery {
            Delivery::Data { packet, bytes } => root.data(&mut self.state, cx, side, packet, bytes),
            Delivery::Gap { len, .. } => root.gap(&mut self.state, cx, side, len),
        }
    }

    /// The connection ended (TCP closed, or the capture ended): reports what was left
    /// unfinished, the closing rules, and the connection summary; then gives the decoding
    /// memory back.
    pub fn end(
        &mut self,
        cx: &mut Cx<'_>,
        tcp_end: TcpEnd,
        first_packet: u64,
        last_packet: u64,
    ) -> io::Result<()> {
        if let Some(root) = &mut self.root {
            root.end(&mut self.state, cx)?;
        }
        let s = &self.state;
        if let Some(upgrade) = s.upgrade {
            let end = EndState {
                tcp_end,
                websocket: matches!(upgrade, UpgradeState::Upgraded | UpgradeState::Assumed),
                desynchronized: s.desynchronized,
            };
            cx.check(s.id, |out| s.checker.end(end, out))?;
            let c = s.client_side;
            let order = [c, 1 - c];
            let summary = ConnectionSummary {
                conn: s.id,
                endpoints: s.endpoints(),
                first_packet,
                last_packet,
                state: upgrade,
                path: s.request.as_ref().map(|(_, r)| r.path.clone()),
                status: s.response.as_ref().map(|(_, r)| r.status),
                frames: order.map(|side| s.frames[side]),
                payload_bytes: order.map(|side| s.payload_bytes[side]),
                close: order.map(|side| s.close[side]),
                tcp_end,
            };
            cx.emit(&Event::ConnectionEnd(&summary))?;
        }
        // Nothing more will be decoded: give the memory back.
        self.root = None;
        self.ended = true;
        Ok(())
    }
}
