//! `--view explain`: a narrated walk-through of every WebSocket connection, one line per
//! packet, grouped by phase (TCP handshake, HTTP upgrade, WebSocket data, close
//! handshake, TCP teardown), saying who sends it, what it is and what it means.
//!
//! Phases come from the events: TCP packets before the upgrade request are the TCP
//! handshake, HTTP messages the upgrade, frames the data, Close frames and everything
//! after the first one the close handshake, FIN/RST and everything after the teardown.
//! Connections that never try to upgrade, and packets that are not TCP, are summed up in
//! one line at the end.

use super::{Gate, PREVIEW_CHARS, Preview, app, bytes_text, push_preview};
use crate::event::{
    Anomaly, AppExchange, AppExchangeEvent, ConnId, Event, EventSink, FrameEvent, Handshake,
    HttpPendingEvent, HttpRequestEvent, HttpResponseEvent, MessageEvent, PacketBody, PacketRecord,
    PingPongEvent, Severity, TcpRecord,
};
use crate::flow::analysis::{AnalysisFlags, Direction};
use crate::flow::seq::seq_ge;
use crate::http::accept::{AcceptVerdict, WEBSOCKET_GUID};
use crate::http::head::Header;
use crate::output::info::endpoints;
use crate::rules::{self, Kind};
use crate::term::escape::escape_line;
use crate::term::style::{Role, Style, close_code_role};
use crate::wire::tcp::{self, TcpFlags, TcpOption};
use crate::ws::{LengthEncoding, OpCode};
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;

/// Request headers that make an upgrade request, in the order they are explained.
const UPGRADE_REQUEST_HEADERS: [&str; 6] = [
    "Connection",
    "Upgrade",
    "Sec-WebSocket-Key",
    "Sec-WebSocket-Version",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
];
/// Response headers that complete it.
const UPGRADE_RESPONSE_HEADERS: [&str; 5] = [
    "Upgrade",
    "Connection",
    "Sec-WebSocket-Accept",
    "Sec-WebSocket-Protocol",
    "Sec-WebSocket-Extensions",
];
/// Anomalies the handshake explanation already spells out.
const EXPLAINED_ANOMALIES: [Kind; 5] = [
    rules::ACCEPT_MISMATCH,
    rules::MISSING_ACCEPT,
    rules::MISSING_KEY,
    rules::UPGRADE_REFUSED,
    rules::UPGRADE_NOT_WEBSOCKET,
];
/// Most unacknowledged sends remembered per direction, to name what an ACK acknowledges.
const MAX_UNACKED: usize = 32;
/// Most connections whose TCP state is kept (oldest forgotten first).
const MAX_CONNECTIONS: usize = 8192;
/// Longest header value shown.
const MAX_HEADER_VALUE: usize = 200;
/// Column where a packet's explanation starts (after number, time and sender).
const TEXT_COLUMN: usize = 27;

/// The phases of a WebSocket connection's life, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    TcpHandshake,
    /// No SYN captured: the connection was open before the capture started.
    AlreadyOpen,
    HttpUpgrade,
    Data,
    CloseHandshake,
    Teardown,
}

impl Phase {
    fn title(self) -> &'static str {
        match self {
            Phase::TcpHandshake => "TCP handshake",
            Phase::AlreadyOpen => "TCP connection already open when the capture started",
            Phase::HttpUpgrade => "HTTP upgrade",
            Phase::Data => "WebSocket data",
            Phase::CloseHandshake => "WebSocket close handshake",
            Phase::Teardown => "TCP teardown",
        }
    }
}

/// One explained line (a packet, or one of several PDUs a packet completed), rendered.
#[derive(Debug)]
struct Line {
    phase: Phase,
    text: String,
}

/// Something an upper layer completed in the current packet.
#[derive(Debug)]
struct Item {
    conn: ConnId,
    dir: Direction,
    phase: Phase,
    /// Main description (after the sender column).
    text: String,
    /// Details, one per line.
    sub: Vec<String>,
    /// How an ACK of it is described ("the upgrade request").
    label: String,
    kind: ItemKind,
}

#[derive(Debug, PartialEq, Eq)]
enum ItemKind {
    Http,
    /// An HTTP head whose body is still to come (dropped when the message completes in
    /// the same packet).
    Pending,
    /// An HTTP response: when it answers an upgrade request, the handshake event that
    /// follows replaces its text.
    Response,
    Frame(OpCode),
}

/// A fragmented message in progress in one direction.
#[derive(Debug, Clone, Copy)]
struct Fragmented {
    opcode: OpCode,
    frames: u32,
    /// RSV1 on the first frame: the message is compressed.
    compressed: bool,
}

/// What the explanation remembers about one connection.
#[derive(Debug)]
struct ConnState {
    client: SocketAddr,
    server: SocketAddr,
    /// Whether `client` and `server` come from a packet record yet.
    placed: bool,
    phase: Option<Phase>,
    syn_seen: bool,
    /// The server switched to WebSocket (or frames were seen): data now means frames.
    websocket: bool,
    /// Sends not yet acknowledged, per direction: (relative end sequence number, label).
    unacked: [VecDeque<(u32, String)>; 2],
    fin_seen: [bool; 2],
    fin_acked: [bool; 2],
    close_seen: [bool; 2],
    first_close: Option<Direction>,
    fragmented: [Option<Fragmented>; 2],
    /// Whether the connection header was written, and the phase header last written.
    header_written: bool,
    written_phase: Option<Phase>,
}

impl ConnState {
    fn new(rec: &TcpRecord<'_>, p: &PacketRecord<'_>) -> Self {
        let (client, server) = endpoints(rec, p);
        let mut st = Self::unplaced();
        st.client = client;
        st.server = server;
        st.placed = true;
        st
    }

    /// State for a connection whose events come before its first packet record (frames
    /// of a connection decoded with `--ws-port`): addresses are filled in by the record.
    fn unplaced() -> Self {
        let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
        ConnState {
            client: nowhere,
            server: nowhere,
            placed: false,
            phase: None,
            syn_seen: false,
            websocket: false,
            unacked: [VecDeque::new(), VecDeque::new()],
            fin_seen: [false; 2],
            fin_acked: [false; 2],
            close_seen: [false; 2],
            first_close: None,
            fragmented: [None; 2],
            header_written: false,
            written_phase: None,
        }
    }

    fn advance(&mut self, phase: Phase) -> Phase {
        let p = self.phase.map_or(phase, |cur| cur.max(phase));
        self.phase = Some(p);
        p
    }
}

fn who(dir: Direction) -> &'static str {
    match dir {
        Direction::ClientToServer => "client",
        Direction::ServerToClient => "server",
    }
}

fn who_role(dir: Direction) -> Role {
    match dir {
        Direction::ClientToServer => Role::Client,
        Direction::ServerToClient => Role::Server,
    }
}

/// The explain renderer.
pub struct Explain<W: Write> {
    out: W,
    style: Style,
    flush_each_packet: bool,
    gate: Gate<Line>,
    conns: BTreeMap<ConnId, ConnState>,
    /// Upper-layer items of the current packet.
    items: Vec<Item>,
    /// Anomalies of the current packet.
    notes: Vec<(Option<ConnId>, String)>,
    last_conn: Option<ConnId>,
    buf: String,
    time: super::ViewTime,
    /// Lines wider than this wrap under the text column (when known).
    width: Option<usize>,
}

impl<W: Write> Explain<W> {
    /// Prints times in `format` (`-t`).
    pub fn with_time(mut self, format: crate::output::timefmt::TimeFormat) -> Self {
        self.time = super::ViewTime::new(format);
        self
    }

    /// A renderer writing to `out`; `flush_each_packet` for stdin and live captures.
    pub fn new(out: W, style: Style, flush_each_packet: bool) -> Self {
        Explain {
            out,
            style,
            flush_each_packet,
            gate: Gate::default(),
            conns: BTreeMap::new(),
            items: Vec::new(),
            notes: Vec::new(),
            last_conn: None,
            time: super::ViewTime::default(),
            buf: String::new(),
            width: None,
        }
    }

    /// Wraps lines wider than `width` columns under the text column (when known).
    pub fn with_width(mut self, width: Option<usize>) -> Self {
        self.width = width.map(|w| w.max(super::MIN_WIDTH));
        self
    }

    /// Writes `text`, wrapped to the width.
    fn write_fitted(&mut self, text: &str) -> io::Result<()> {
        match self.width {
            Some(width) => self
                .out
                .write_all(crate::term::width::wrap_block(text, width, TEXT_COLUMN).as_bytes()),
            None => self.out.write_all(text.as_bytes()),
        }
    }

    fn who_col(&self, dir: Direction) -> String {
        self.style.paint(who_role(dir), &format!("{:<6}", who(dir)))
    }

    fn header_value(h: Option<&str>) -> String {
        escape_line(h.unwrap_or_default().as_bytes(), MAX_HEADER_VALUE)
    }

    fn push_headers(sub: &mut Vec<String>, headers: &[Header], names: &[&str]) {
        for name in names {
            for h in headers.iter().filter(|h| h.name.eq_ignore_ascii_case(name)) {
                sub.push(format!(
                    "{}: {}",
                    escape_line(h.name.as_bytes(), 60),
                    Self::header_value(Some(&h.value))
                ));
            }
        }
    }

    /// Drops the "head of a message whose body follows" item a completed message of the
    /// same packet supersedes.
    fn drop_pending(&mut self, conn: ConnId, dir: Direction) {
        self.items
            .retain(|i| !(i.conn == conn && i.dir == dir && i.kind == ItemKind::Pending));
    }

    fn on_request(&mut self, ev: &HttpRequestEvent<'_>) -> io::Result<()> {
        self.drop_pending(ev.conn, Direction::ClientToServer);
        let r = ev.request;
        let line = format!(
            "HTTP {} {} HTTP/1.{}",
            escape_line(r.method.as_bytes(), 40),
            escape_line(r.path.as_bytes(), 200),
            r.version
        );
        let mut sub = Vec::new();
        let (text, label) = if r.is_websocket_upgrade() {
            Self::push_headers(&mut sub, &r.headers, &UPGRADE_REQUEST_HEADERS);
            (
                format!("{line}: asks to upgrade the connection to WebSocket"),
                "the upgrade request",
            )
        } else {
            (
                format!("{line}: an ordinary HTTP request"),
                "the HTTP request",
            )
        };
        sub.extend(polling_lines(ev.app));
        self.items.push(Item {
            conn: ev.conn,
            dir: Direction::ClientToServer,
            phase: Phase::HttpUpgrade,
            text,
            sub,
            label: label.to_string(),
            kind: ItemKind::Http,
        });
        if r.is_websocket_upgrade() {
            self.flush_held(ev.conn)?;
        }
        Ok(())
    }

    fn status_line(r: &crate::http::head::Response) -> String {
        format!(
            "HTTP/1.{} {} {}",
            r.version,
            r.status,
            escape_line(r.reason.as_bytes(), 100)
        )
    }

    fn on_response(&mut self, ev: &HttpResponseEvent<'_>) {
        self.drop_pending(ev.conn, Direction::ServerToClient);
        let line = Self::status_line(ev.response);
        self.items.push(Item {
            conn: ev.conn,
            dir: Direction::ServerToClient,
            phase: Phase::HttpUpgrade,
            text: format!("{line}: an ordinary HTTP response"),
            sub: polling_lines(ev.app),
            label: format!("the {} response", ev.response.status),
            kind: ItemKind::Response,
        });
    }

    fn on_pending(&mut self, ev: &HttpPendingEvent<'_>) {
        let (text, dir) = match (ev.request, ev.response) {
            (Some(r), _) => (
                format!(
                    "HTTP {} {} HTTP/1.{}: head of a request whose body follows",
                    escape_line(r.method.as_bytes(), 40),
                    escape_line(r.path.as_bytes(), 200),
                    r.version
                ),
                Direction::ClientToServer,
            ),
            (None, Some(r)) => (
                format!(
                    "{}: head of a response whose body follows",
                    Self::status_line(r)
                ),
                Direction::ServerToClient,
            ),
            (None, None) => return,
        };
        self.items.push(Item {
            conn: ev.conn,
            dir,
            phase: Phase::HttpUpgrade,
            text,
            sub: Vec::new(),
            label: "part of an HTTP message".to_string(),
            kind: ItemKind::Pending,
        });
    }

    fn on_handshake(&mut self, h: &Handshake<'_>) {
        if h.upgraded
            && let Some(st) = self.conns.get_mut(&h.conn)
        {
            st.websocket = true;
        }
        let resp = h.response;
        let line = Self::status_line(resp);
        let mut sub = Vec::new();
        let text = if h.upgraded {
            Self::push_headers(&mut sub, &resp.headers, &UPGRADE_RESPONSE_HEADERS);
            sub.push(
                "the server derives Sec-WebSocket-Accept from the client's key; the client checks it:"
                    .to_string(),
            );
            let formula = format!("base64(SHA-1(key + {WEBSOCKET_GUID}))");
            let check = match h.accept {
                AcceptVerdict::Valid => format!(
                    "Sec-WebSocket-Accept = {formula} = {} {}",
                    Self::header_value(h.expected_accept),
                    self.style.paint(Role::Good, "matches")
                ),
                AcceptVerdict::Mismatch { expected, actual } => format!(
                    "Sec-WebSocket-Accept should be {formula} = {}, but the server sent {}: {}",
                    escape_line(expected.as_bytes(), MAX_HEADER_VALUE),
                    escape_line(actual.as_bytes(), MAX_HEADER_VALUE),
                    self.style
                        .paint(Role::Bad, "MISMATCH, a client must fail the connection")
                ),
                AcceptVerdict::MissingAccept => format!(
                    "no Sec-WebSocket-Accept, though {formula} = {}: {}",
                    Self::header_value(h.expected_accept),
                    self.style
                        .paint(Role::Bad, "MISSING, a client must fail the connection")
                ),
                AcceptVerdict::MissingKey => format!(
                    "nothing to check: {}",
                    self.style
                        .paint(Role::Bad, "the request had no Sec-WebSocket-Key")
                ),
            };
            sub.push(check);
            let mut chosen = Vec::new();
            if let Some(p) = resp.header("Sec-WebSocket-Protocol") {
                chosen.push(format!(
                    "subprotocol {}",
                    escape_line(p.as_bytes(), MAX_HEADER_VALUE)
                ));
            }
            if let Some(e) = resp.header("Sec-WebSocket-Extensions") {
                chosen.push(format!(
                    "extensions {}",
                    escape_line(e.as_bytes(), MAX_HEADER_VALUE)
                ));
            }
            if !chosen.is_empty() {
                sub.push(format!("negotiated: {}", chosen.join(", ")));
            }
            format!("{line}: the server switches the connection to WebSocket")
        } else if resp.status == 101 {
            let upgrade = escape_line(resp.header("Upgrade").unwrap_or("(none)").as_bytes(), 80);
            format!(
                "{line}: {}",
                self.style.paint(
                    Role::Warn,
                    &format!("switches to {upgrade}, not WebSocket: not decoded further")
                )
            )
        } else {
            format!(
                "{line}: {}",
                self.style.paint(
                    Role::Warn,
                    "the server refuses the upgrade; the connection stays HTTP"
                )
            )
        };
        let item = self
            .items
            .iter_mut()
            .rev()
            .find(|i| i.conn == h.conn && i.kind == ItemKind::Response);
        match item {
            Some(item) => {
                item.text = text;
                item.sub = sub;
            }
            None => self.items.push(Item {
                conn: h.conn,
                dir: Direction::ServerToClient,
                phase: Phase::HttpUpgrade,
                text,
                sub,
                label: format!("the {} response", resp.status),
                kind: ItemKind::Response,
            }),
        }
    }

    fn on_frame(&mut self, f: &FrameEvent<'_>) -> io::Result<()> {
        self.flush_held(f.conn)?;
        if !self.conns.contains_key(&f.conn) {
            if self.conns.len() >= MAX_CONNECTIONS {
                self.conns.pop_first();
            }
            self.conns.insert(f.conn, ConnState::unplaced());
        }
        let h = &f.header;
        let d = f.dir.index();
        let (first_close, fragmented) = match self.conns.get(&f.conn) {
            Some(st) => (st.first_close, st.fragmented[d]),
            None => (None, None),
        };
        let mut text = format!("WebSocket {}", h.opcode);
        text.push_str(if h.fin { ", FIN" } else { ", not FIN" });
        match h.mask {
            Some(k) => {
                let _ = write!(
                    text,
                    ", masked with key {:02x}{:02x}{:02x}{:02x}",
                    k[0], k[1], k[2], k[3]
                );
            }
            None => text.push_str(", not masked"),
        }
        let _ = write!(text, ", {}", bytes_text(h.payload_len));
        match h.length_encoding {
            LengthEncoding::Short => {}
            LengthEncoding::Extended16 => text.push_str(" (16-bit extended length)"),
            LengthEncoding::Extended64 => text.push_str(" (64-bit extended length)"),
        }
        let mut sub = Vec::new();
        // What the frame means, and whether its payload reads as text.
        let mut next_fragmented = fragmented;
        let (meaning, preview) = match h.opcode {
            OpCode::Text | OpCode::Binary => {
                let kind = if h.opcode == OpCode::Text {
                    "text"
                } else {
                    "binary"
                };
                let m = if h.fin {
                    next_fragmented = None;
                    format!("a whole {kind} message")
                } else {
                    next_fragmented = Some(Fragmented {
                        opcode: h.opcode,
                        frames: 1,
                        compressed: h.rsv1(),
                    });
                    format!("first fragment of a {kind} message")
                };
                (m, preview_of(h.opcode))
            }
            OpCode::Continuation => match fragmented {
                Some(fr) => {
                    let kind = if fr.opcode == OpCode::Text {
                        "text"
                    } else {
                        "binary"
                    };
                    let n = fr.frames.saturating_add(1);
                    let m = if h.fin {
                        next_fragmented = None;
                        format!("last fragment ({n} of {n}) of a {kind} message")
                    } else {
                        next_fragmented = Some(Fragmented {
                            opcode: fr.opcode,
                            frames: n,
                            compressed: fr.compressed,
                        });
                        format!("fragment {n} of a {kind} message")
                    };
                    (m, preview_of(fr.opcode))
                }
                None if h.fin => (
                    "ends a message whose first frame is not in the capture".to_string(),
                    Preview::Guess,
                ),
                None => (
                    "continues a message whose first frame is not in the capture".to_string(),
                    Preview::Guess,
                ),
            },
            OpCode::Ping => (
                format!(
                    "a Ping: the {} must answer with a Pong carrying the same bytes",
                    who(f.dir.reverse())
                ),
                Preview::Guess,
            ),
            OpCode::Pong => (
                format!("a Pong: answers a Ping of the {}", who(f.dir.reverse())),
                Preview::Guess,
            ),
            OpCode::Close => {
                let m = match first_close {
                    None => format!(
                        "the {} closes first: starts the closing handshake",
                        who(f.dir)
                    ),
                    Some(first) if first != f.dir => format!(
                        "the {} answers the {}'s Close: closing handshake complete",
                        who(f.dir),
                        who(first)
                    ),
                    Some(_) => "a second Close from the same side".to_string(),
                };
                (m, Preview::Text)
            }
            OpCode::ReservedData(_) | OpCode::ReservedControl(_) => (
                self.style
                    .paint(Role::Bad, "a reserved opcode: RFC 6455 does not allow it"),
                Preview::Guess,
            ),
        };
        if h.opcode == OpCode::Close {
            match f.close_code {
                Some(code) => {
                    let name = format!("{} {}", code.code(), code.name());
                    let _ = write!(
                        text,
                        ": {}",
                        self.style.paint(close_code_role(code.code()), &name)
                    );
                    if !f.close_reason.is_empty() {
                        text.push_str(", reason ");
                        push_preview(&mut text, f.close_reason, Preview::Text, PREVIEW_CHARS);
                    }
                }
                None if f.payload.is_empty() => text.push_str(": no status code"),
                None => {
                    text.push_str(": ");
                    text.push_str(&self.style.paint(Role::Bad, "malformed close body"));
                }
            }
        } else if !f.payload.is_empty() {
            // Compressed bytes are not text, whatever the opcode says.
            let compressed = match h.opcode {
                OpCode::Continuation => fragmented.is_some_and(|fr| fr.compressed),
                _ => h.rsv1(),
            };
            let preview = if compressed { Preview::Binary } else { preview };
            text.push_str(": ");
            push_preview(&mut text, f.payload, preview, PREVIEW_CHARS);
        }
        let mut meaning = meaning;
        if h.mask.is_some() && f.dir == Direction::ClientToServer {
            meaning.push_str(" (client frames are always masked)");
        } else if h.mask.is_some() {
            meaning.push_str(
                &self
                    .style
                    .paint(Role::Bad, " (a server must not mask its frames)"),
            );
        } else if f.dir == Direction::ClientToServer {
            meaning.push_str(
                &self
                    .style
                    .paint(Role::Bad, " (a client must mask every frame)"),
            );
        }
        sub.push(meaning);
        if h.rsv != 0 {
            sub.push(if h.rsv == crate::ws::frame::RSV1 {
                "RSV1 set: the message is compressed (permessage-deflate)".to_string()
            } else {
                format!("reserved bits set (RSV = {:03b})", h.rsv)
            });
        }
        if !f.payload_complete {
            sub.push(self.style.paint(
                Role::Warn,
                &format!(
                    "payload incomplete in the capture: {} of {} shown",
                    bytes_text(f.payload.len() as u64),
                    bytes_text(h.payload_len)
                ),
            ));
        }
        if f.first_packet != f.packet {
            sub.push(format!(
                "the frame began in packet {} (reassembled from several TCP segments)",
                f.first_packet
            ));
        }
        if let Some(st) = self.conns.get_mut(&f.conn) {
            st.websocket = true;
        }
        let st_phase = if h.opcode == OpCode::Close {
            Phase::CloseHandshake
        } else {
            Phase::Data
        };
        if let Some(st) = self.conns.get_mut(&f.conn) {
            st.fragmented[d] = next_fragmented;
            if h.opcode == OpCode::Close {
                st.close_seen[d] = true;
                st.first_close.get_or_insert(f.dir);
            }
        }
        self.items.push(Item {
            conn: f.conn,
            dir: f.dir,
            phase: st_phase,
            text,
            sub,
            label: format!("the {} frame", h.opcode),
            kind: ItemKind::Frame(h.opcode),
        });
        Ok(())
    }

    /// A message the message layer completed: for one spanning several frames or
    /// compressed, its whole (inflated) content goes under the frame that ended it.
    fn on_message(&mut self, m: &MessageEvent<'_>) {
        self.on_app(m);
        if m.opcode.is_control() || (m.frames <= 1 && !m.compressed) {
            return;
        }
        let Some(item) =
            self.items.iter_mut().rev().find(|i| {
                i.conn == m.conn && i.dir == m.dir && matches!(i.kind, ItemKind::Frame(_))
            })
        else {
            return;
        };
        let mut line = format!("message complete: {}", bytes_text(m.len));
        if m.frames > 1 {
            let _ = write!(line, " in {} frames", m.frames);
        }
        if m.compressed {
            line.push_str(", inflated");
        }
        if !m.payload.is_empty() {
            line.push_str(": ");
            push_preview(&mut line, m.payload, preview_of(m.opcode), PREVIEW_CHARS);
        }
        if !m.payload_complete {
            line.push_str(&self.style.paint(Role::Warn, " (incomplete)"));
        }
        item.sub.push(line);
    }

    /// What the payload decoder read in a message: which decoder (the first time) and one
    /// line per application packet, under the frame that ended the message.
    fn on_app(&mut self, m: &MessageEvent<'_>) {
        let decoder = m
            .app_decoder
            .filter(|(protocol, _)| m.app_first && *protocol != crate::payload::Protocol::Json);
        let packets = app::worth_showing(m.app);
        if decoder.is_none() && !packets {
            return;
        }
        let Some(item) =
            self.items.iter_mut().rev().find(|i| {
                i.conn == m.conn && i.dir == m.dir && matches!(i.kind, ItemKind::Frame(_))
            })
        else {
            return;
        };
        if let Some((protocol, by)) = decoder {
            let text = format!("the payload is {}", app::decoded_as(protocol, by));
            item.sub.push(self.style.paint(Role::Dim, &text));
        }
        if packets {
            for line in app::packet_lines(m.app) {
                item.sub.push(format!("application: {line}"));
            }
        }
    }

    /// An answered application request goes under the frame that carried the answer; an
    /// unanswered one is a note of its connection.
    fn on_exchange(&mut self, x: &AppExchangeEvent<'_>) {
        match x.exchange {
            AppExchange::Answered(e) => {
                if let Some(item) = self.items.iter_mut().rev().find(|i| {
                    i.conn == x.conn
                        && i.dir != e.request_dir
                        && matches!(i.kind, ItemKind::Frame(_) | ItemKind::Response)
                }) {
                    item.sub.push(app::exchange_line(e));
                }
            }
            AppExchange::Unanswered(u) => {
                let text = self.style.paint(Role::Warn, &app::unanswered_line(u));
                self.notes.push((Some(x.conn), text));
            }
        }
    }

    fn on_ping_pong(&mut self, p: &PingPongEvent) {
        if let Some(item) = self
            .items
            .iter_mut()
            .rev()
            .find(|i| i.conn == p.conn && i.kind == ItemKind::Frame(OpCode::Pong))
        {
            item.sub.push(format!(
                "echoes the Ping of packet {}: round trip {:.3} ms",
                p.ping_packet,
                p.rtt * 1000.0
            ));
        }
    }

    fn on_anomaly(&mut self, a: &Anomaly) {
        if EXPLAINED_ANOMALIES.contains(&a.kind) {
            return;
        }
        let role = match a.severity {
            Severity::Error => Role::Bad,
            Severity::Warning => Role::Warn,
            Severity::Note => Role::Dim,
        };
        let text = format!(
            "! {}[{}]: {}",
            a.severity.as_str(),
            a.kind,
            escape_line(a.message.as_bytes(), 400)
        );
        self.notes.push((a.conn, self.style.paint(role, &text)));
    }

    /// Describes a packet that completed nothing above TCP (or the TCP part of one that
    /// did: SYN, FIN, RST), updating what is known about the connection.
    fn tcp_description(&self, st: &ConnState, rec: &TcpRecord<'_>, acked: &[String]) -> String {
        let seg = rec.segment;
        let flags = seg.flags;
        let analysis = rec.analysis.flags;
        let mut prefix = String::new();
        for label in analysis.labels() {
            if label == "TCP Window Update" {
                continue; // explained below
            }
            let role = if label.contains("Retransmission") || label.contains("Previous") {
                Role::Warn
            } else {
                Role::Dim
            };
            let _ = write!(prefix, "{} ", self.style.paint(role, &format!("[{label}]")));
        }
        let me = who(rec.dir);
        let text = if flags.has(TcpFlags::RST) {
            let m = if st.phase.is_none_or(|p| p == Phase::TcpHandshake) {
                "refuses the connection"
            } else {
                "aborts the connection (no orderly close)"
            };
            self.style
                .paint(Role::Warn, &format!("{}: {m}", flag_names(flags)))
        } else if flags.has(TcpFlags::SYN) && !flags.has(TcpFlags::ACK) {
            let mut s = format!("{}: asks to open a TCP connection", flag_names(flags));
            let opts = syn_options(seg.options);
            if !opts.is_empty() {
                let _ = write!(s, " ({opts})");
            }
            s
        } else if flags.has(TcpFlags::SYN) {
            let mut s = format!("{}: agrees to open the connection", flag_names(flags));
            let opts = syn_options(seg.options);
            if !opts.is_empty() {
                let _ = write!(s, " ({opts})");
            }
            s
        } else if flags.has(TcpFlags::FIN) {
            let other = rec.dir.reverse().index();
            let names = flag_names(flags);
            if st.fin_seen[other] {
                format!("{names}: the {me} has finished sending too")
            } else {
                format!("{names}: the {me} has finished sending; the TCP teardown begins")
            }
        } else if seg.wire_len() > 0 {
            if rec.partial_pdu {
                format!(
                    "TCP segment, {}: part of {} completed in a later packet",
                    bytes_text(u64::from(seg.wire_len())),
                    if st.websocket {
                        "a frame"
                    } else {
                        "an HTTP message"
                    }
                )
            } else {
                format!(
                    "TCP data, {}: not decoded",
                    bytes_text(u64::from(seg.wire_len()))
                )
            }
        } else if analysis.has(AnalysisFlags::WINDOW_UPDATE) {
            "TCP window update (flow control, not data)".to_string()
        } else if let Some(last) = acked.last() {
            let mut s = format!("ACK of {last}");
            if acked.len() > 1 {
                let _ = write!(s, " (and {} earlier)", acked.len() - 1);
            }
            if last == "the SYN, ACK" {
                s = "ACK: TCP connection established".to_string();
            } else if last.ends_with("'s FIN") && st.fin_acked.iter().all(|a| *a) {
                s.push_str(": TCP connection closed");
            }
            s
        } else if analysis.has(AnalysisFlags::DUP_ACK) {
            "duplicate ACK: asks again for data it is missing".to_string()
        } else {
            "ACK (acknowledges nothing new)".to_string()
        };
        format!("{prefix}{text}")
    }

    /// Renders a line's first part: packet number, time, sender.
    fn line_start(
        &self,
        number: Option<u64>,
        (time, time_text): (f64, Option<&str>),
        dir: Direction,
    ) -> String {
        let head = match (number, time_text) {
            (Some(n), Some(text)) => format!("{n:>6} {text:>10}  "),
            (Some(n), None) => format!("{n:>6} {time:>10.6}  "),
            (None, _) => format!("{:>6} {:>10}  ", "", ""),
        };
        format!(
            "{}{}  ",
            self.style.paint(Role::Dim, &head),
            self.who_col(dir)
        )
    }

    fn render(&self, start: &str, text: &str, sub: &[String], notes: &[String]) -> String {
        let mut s = format!("{start}{text}\n");
        let indent = " ".repeat(TEXT_COLUMN + 2);
        for line in sub.iter().chain(notes) {
            let _ = writeln!(s, "{indent}{line}");
        }
        s
    }

    fn on_packet(&mut self, p: &PacketRecord<'_>) -> io::Result<()> {
        self.time.observe(p);
        let rec = match &p.body {
            PacketBody::Tcp(rec) => rec,
            PacketBody::Other(_) => {
                self.gate.other_packets += 1;
                return self.write_orphans();
            }
        };
        let conn = rec.conn;
        match self.conns.get_mut(&conn) {
            Some(st) if !st.placed => {
                (st.client, st.server) = endpoints(rec, p);
                st.placed = true;
            }
            Some(_) => {}
            None => {
                if self.conns.len() >= MAX_CONNECTIONS {
                    self.conns.pop_first();
                }
                self.conns.insert(conn, ConnState::new(rec, p));
            }
        }
        // Items of other connections (finished by this packet's arrival) go first.
        self.write_orphans_except(conn)?;
        let items: Vec<Item> = std::mem::take(&mut self.items);
        let notes: Vec<String> = std::mem::take(&mut self.notes)
            .into_iter()
            .map(|(_, n)| n)
            .collect();
        let seg = rec.segment;
        let flags = seg.flags;
        let d = rec.dir.index();
        let other = rec.dir.reverse().index();
        // What this packet acknowledges of the other side's sends.
        let mut acked = Vec::new();
        if let Some(st) = self.conns.get_mut(&conn) {
            if flags.has(TcpFlags::SYN) {
                st.syn_seen = true;
            }
            if flags.has(TcpFlags::ACK) {
                let rel_ack = rec.analysis.rel_ack;
                while let Some((end, _)) = st.unacked[other].front() {
                    if !seq_ge(rel_ack, *end) {
                        break;
                    }
                    if let Some((_, label)) = st.unacked[other].pop_front() {
                        if label.ends_with("'s FIN") {
                            st.fin_acked[other] = true;
                        }
                        acked.push(label);
                    }
                }
            }
        }
        let mut lines = Vec::new();
        let time_text = self.time.text(p.rel_time);
        let time = (p.rel_time, time_text.as_deref());
        let Some(st) = self.conns.get(&conn) else {
            return Ok(());
        };
        let mut phase = st.phase;
        let adv = |phase: &mut Option<Phase>, to: Phase| -> Phase {
            let p = phase.map_or(to, |cur| cur.max(to));
            *phase = Some(p);
            p
        };
        let mut first = true;
        for (i, item) in items.iter().enumerate() {
            let ph = adv(&mut phase, item.phase);
            let start = self.line_start(first.then_some(p.number), time, item.dir);
            first = false;
            let item_notes: &[String] =
                if i + 1 == items.len() && !flags.has(TcpFlags::FIN) && !flags.has(TcpFlags::RST) {
                    &notes
                } else {
                    &[]
                };
            lines.push(Line {
                phase: ph,
                text: self.render(&start, &item.text, &item.sub, item_notes),
            });
        }
        let control =
            flags.has(TcpFlags::SYN) || flags.has(TcpFlags::FIN) || flags.has(TcpFlags::RST);
        if items.is_empty() || control {
            let to = if flags.has(TcpFlags::FIN) || flags.has(TcpFlags::RST) {
                Phase::Teardown
            } else if seg.wire_len() > 0 && st.websocket {
                Phase::Data
            } else if flags.has(TcpFlags::SYN) || st.syn_seen {
                Phase::TcpHandshake
            } else {
                Phase::AlreadyOpen
            };
            let ph = adv(&mut phase, to);
            let text = self.tcp_description(st, rec, &acked);
            let start = self.line_start(first.then_some(p.number), time, rec.dir);
            lines.push(Line {
                phase: ph,
                text: self.render(&start, &text, &[], &notes),
            });
        }
        // Remember what this packet sent, to name its acknowledgment later.
        let rel_seq = rec.analysis.rel_seq;
        let len = seg.wire_len();
        let label = match items.len() {
            0 if flags.has(TcpFlags::SYN) && flags.has(TcpFlags::ACK) => "the SYN, ACK".to_string(),
            0 if flags.has(TcpFlags::SYN) => "the SYN".to_string(),
            0 if rec.partial_pdu && phase.is_some_and(|p| p >= Phase::Data) => {
                "part of a frame".to_string()
            }
            0 if rec.partial_pdu => "part of an HTTP message".to_string(),
            0 => "the TCP data".to_string(),
            1 => items[0].label.clone(),
            n if items.iter().all(|i| matches!(i.kind, ItemKind::Frame(_))) => {
                format!("{n} frames")
            }
            n => format!("{n} HTTP messages"),
        };
        let me = who(rec.dir);
        let is_ws = self.gate.is_websocket(conn);
        if let Some(st) = self.conns.get_mut(&conn) {
            st.phase = phase;
            let syn = u32::from(flags.has(TcpFlags::SYN));
            let data_end = rel_seq.wrapping_add(len).wrapping_add(syn);
            if len > 0 || syn > 0 {
                st.unacked[d].push_back((data_end, label));
            }
            if flags.has(TcpFlags::FIN) && !st.fin_seen[d] {
                st.fin_seen[d] = true;
                st.unacked[d].push_back((data_end.wrapping_add(1), format!("the {me}'s FIN")));
            }
            while st.unacked[d].len() > MAX_UNACKED {
                st.unacked[d].pop_front();
            }
        }
        let closed = flags.has(TcpFlags::RST)
            || self
                .conns
                .get(&conn)
                .is_some_and(|st| st.fin_seen.iter().all(|f| *f));
        if is_ws {
            for line in lines {
                self.write_line(conn, &line)?;
            }
        } else {
            for line in lines {
                self.gate.hold(conn, line);
            }
            if closed {
                self.gate.forget(conn);
                self.conns.remove(&conn);
            }
        }
        if self.flush_each_packet {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Writes a connection's held lines now that it is known to be WebSocket.
    fn flush_held(&mut self, conn: ConnId) -> io::Result<()> {
        if self.gate.is_websocket(conn) {
            return Ok(());
        }
        if let Some(held) = self.gate.mark_websocket(conn) {
            if held.dropped > 0 {
                let text = format!(
                    "{:>w$}({} earlier packets of this connection not shown)\n",
                    "",
                    held.dropped,
                    w = TEXT_COLUMN
                );
                self.write_line(
                    conn,
                    &Line {
                        phase: held.items.front().map_or(Phase::TcpHandshake, |l| l.phase),
                        text,
                    },
                )?;
            }
            for line in held.items {
                self.write_line(conn, &line)?;
            }
        }
        Ok(())
    }

    /// Writes one line, with the connection and phase headers it needs.
    fn write_line(&mut self, conn: ConnId, line: &Line) -> io::Result<()> {
        self.buf.clear();
        let style = self.style;
        let switched = self.last_conn != Some(conn);
        if let Some(st) = self.conns.get_mut(&conn) {
            if switched {
                if self.last_conn.is_some() {
                    self.buf.push('\n');
                }
                let title = format!(
                    "Connection {conn}: client {}, server {}{}",
                    st.client,
                    st.server,
                    if st.header_written {
                        " (continued)"
                    } else {
                        ""
                    }
                );
                style.push(&mut self.buf, Role::Heading, &title);
                self.buf.push('\n');
                if !st.header_written && !st.syn_seen && line.phase > Phase::AlreadyOpen {
                    self.buf.push_str("  ");
                    style.push(
                        &mut self.buf,
                        Role::Dim,
                        "(no SYN captured: the capture starts after the connection opened)",
                    );
                    self.buf.push('\n');
                }
                st.header_written = true;
                st.written_phase = None;
            }
            if st.written_phase != Some(line.phase) {
                self.buf.push_str("  ");
                style.push(&mut self.buf, Role::Heading, line.phase.title());
                self.buf.push('\n');
                st.written_phase = Some(line.phase);
            }
        }
        self.last_conn = Some(conn);
        self.buf.push_str(&line.text);
        let buf = std::mem::take(&mut self.buf);
        let written = self.write_fitted(&buf);
        self.buf = buf;
        written
    }

    /// Items and notes left without a packet of their own connection: frames flushed
    /// when a connection was replaced or the capture ended.
    fn write_orphans(&mut self) -> io::Result<()> {
        self.write_orphans_except(ConnId::MAX)
    }

    fn write_orphans_except(&mut self, keep: ConnId) -> io::Result<()> {
        let (orphans, kept): (Vec<Item>, Vec<Item>) = std::mem::take(&mut self.items)
            .into_iter()
            .partition(|i| i.conn != keep);
        self.items = kept;
        for item in orphans {
            let phase = self
                .conns
                .get_mut(&item.conn)
                .map_or(item.phase, |st| st.advance(item.phase));
            let start = self.line_start(None, (0.0, None), item.dir);
            let text = self.render(&start, &item.text, &item.sub, &[]);
            let line = Line { phase, text };
            if self.gate.is_websocket(item.conn) {
                self.write_line(item.conn, &line)?;
            }
        }
        let (orphan_notes, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.notes)
            .into_iter()
            .partition(|(c, _)| *c != Some(keep));
        self.notes = kept;
        for (conn, note) in orphan_notes {
            let text = format!("{:>w$}{note}\n", "", w = TEXT_COLUMN + 2);
            match conn {
                Some(c) if self.gate.is_websocket(c) => {
                    let phase = self
                        .conns
                        .get(&c)
                        .and_then(|st| st.phase)
                        .unwrap_or(Phase::Teardown);
                    self.write_line(c, &Line { phase, text })?;
                }
                Some(_) => {}
                None => self.write_fitted(&text)?,
            }
        }
        Ok(())
    }
}

/// What an Engine.IO long-polling body carried, one line per packet.
fn polling_lines(app: &[crate::payload::AppPacket]) -> Vec<String> {
    app::packet_lines(app)
        .map(|line| format!("Engine.IO long-polling body: {line}"))
        .collect()
}

/// How the payload of a message with `opcode` is previewed.
fn preview_of(opcode: OpCode) -> Preview {
    match opcode {
        OpCode::Text => Preview::Text,
        OpCode::Binary => Preview::Binary,
        _ => Preview::Guess,
    }
}

/// `FIN, ACK`: the control flags set, in Wireshark's order.
fn flag_names(flags: TcpFlags) -> String {
    const NAMES: [(u16, &str); 6] = [
        (TcpFlags::FIN, "FIN"),
        (TcpFlags::SYN, "SYN"),
        (TcpFlags::RST, "RST"),
        (TcpFlags::PSH, "PSH"),
        (TcpFlags::ACK, "ACK"),
        (TcpFlags::URG, "URG"),
    ];
    let names: Vec<&str> = NAMES
        .iter()
        .filter(|(bit, _)| flags.has(*bit))
        .map(|(_, name)| *name)
        .collect();
    names.join(", ")
}

/// `MSS 16344, window scale 64, SACK permitted` from a SYN's options.
fn syn_options(raw: &[u8]) -> String {
    let mut parts = Vec::new();
    for option in tcp::options(raw) {
        match option {
            TcpOption::Mss(v) => parts.push(format!("MSS {v}")),
            TcpOption::WindowScale(shift) => {
                parts.push(format!("window scale {}", 1u64 << shift.min(14)))
            }
            TcpOption::SackPermitted => parts.push("SACK permitted".to_string()),
            _ => {}
        }
    }
    parts.join(", ")
}

impl<W: Write> EventSink for Explain<W> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Packet(p) => self.on_packet(p)?,
            Event::HttpRequest(r) => self.on_request(r)?,
            Event::HttpResponse(r) => self.on_response(r),
            Event::HttpPending(p) => self.on_pending(p),
            Event::Handshake(h) => self.on_handshake(h),
            Event::Frame(f) => self.on_frame(f)?,
            Event::PingPong(p) => self.on_ping_pong(p),
            Event::Message(m) => self.on_message(m),
            Event::Anomaly(a) => self.on_anomaly(a),
            Event::ConnectionEnd(c) => {
                self.flush_held(c.conn)?;
                self.gate.mark_ended(c.conn);
            }
            Event::AppExchange(x) => self.on_exchange(x),
            // Printed by the caller on stderr.
            Event::CaptureError(_) | Event::Tls(_) => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.write_orphans()?;
        self.gate.forget_all();
        if let Some(summary) = self.gate.omitted_summary() {
            if self.last_conn.is_some() {
                self.out.write_all(b"\n")?;
            }
            let summary = match self.width {
                Some(width) => super::fit_words(&summary, width),
                None => summary,
            };
            for line in summary.lines() {
                let line = self.style.paint(Role::Dim, line);
                writeln!(self.out, "{line}")?;
            }
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::fixtures;

    #[test]
    fn message_and_ping_pong_events_add_their_lines() {
        let c2s = Direction::ClientToServer;
        let s2c = Direction::ServerToClient;
        let mut out = Vec::new();
        let mut x = Explain::new(&mut out, Style::plain(), false);
        let a = fixtures::frame(0, c2s, OpCode::Text, false, b"ab", 1);
        let seg = fixtures::segment(b"xx");
        x.event(&Event::Frame(&a)).expect("frame");
        fixtures::with_packet(1, 0, c2s, &seg, |p| x.event(&Event::Packet(p))).expect("packet");
        let b = fixtures::frame(0, c2s, OpCode::Continuation, true, b"cd", 2);
        let m = fixtures::message(0, c2s, OpCode::Text, b"abcd", 2, 2);
        x.event(&Event::Frame(&b)).expect("frame");
        x.event(&Event::Message(&m)).expect("message");
        fixtures::with_packet(2, 0, c2s, &seg, |p| x.event(&Event::Packet(p))).expect("packet");
        let pong = fixtures::frame(0, s2c, OpCode::Pong, true, b"p", 3);
        x.event(&Event::Frame(&pong)).expect("pong");
        x.event(&Event::PingPong(&fixtures::ping_pong(0, 0.002)))
            .expect("ping-pong");
        fixtures::with_packet(3, 0, s2c, &seg, |p| x.event(&Event::Packet(p))).expect("packet");
        x.finish().expect("finish");
        drop(x);
        let text = String::from_utf8(out).expect("UTF-8");
        assert!(text.contains("first fragment of a text message"), "{text}");
        assert!(
            text.contains("last fragment (2 of 2) of a text message"),
            "{text}"
        );
        assert!(
            text.contains("message complete: 4 bytes in 2 frames: \"abcd\""),
            "{text}"
        );
        assert!(
            text.contains("echoes the Ping of packet 1: round trip 2.000 ms"),
            "{text}"
        );
    }
}
