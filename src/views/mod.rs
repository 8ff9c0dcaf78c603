//! The views a person reads (`--view explain|conversations|flow`, `--follow N`), chosen
//! once from flags, plus what they share: which connections they show, payload previews,
//! output width.

pub mod app;
pub mod conversations;
pub mod explain;
pub mod export;
pub mod flow;
pub mod follow;
pub mod messages;

pub use messages::Messages;

use crate::capture::Timestamp;
use crate::event::{ConnId, PacketRecord};
use crate::output::timefmt::{TimeColumn, TimeFormat};
use crate::term::escape;
use crate::term::style::Style;
use std::collections::{BTreeMap, VecDeque};
use std::fmt::Write as _;
use std::path::PathBuf;

/// Which human view to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum View {
    /// The packet list (the default; rendered by the timeline or JSON Lines).
    #[default]
    Packets,
    /// A narrated walk-through, packet by packet, grouped by phase.
    Explain,
    /// One table row per connection that tried to upgrade.
    Conversations,
    /// A sequence diagram per connection.
    Flow,
    /// One line per WebSocket message and control frame.
    Messages,
}

/// Everything that decides how a human view looks.
#[derive(Debug, Clone, Default)]
pub struct ViewOptions {
    /// The view.
    pub view: View,
    /// Flow: one arrow per HTTP message and WebSocket frame, TCP-only packets left out.
    pub frames_only: bool,
    /// Flow: a Mermaid `sequenceDiagram` instead of text.
    pub mermaid: bool,
    /// Transcript of this connection's messages (overrides `view`).
    pub follow: Option<ConnId>,
    /// Write each message payload to a file in this directory: `follow`'s, or (without
    /// `follow`) every connection's, one subfolder each.
    pub export: Option<PathBuf>,
    /// Most payload bytes exported in all (`--export-limit`; 0 means the default).
    pub export_limit: u64,
    /// Colours.
    pub style: Style,
    /// Columns available; `None` = no limit (tables in plain columns, diagrams at
    /// [`DEFAULT_DIAGRAM_WIDTH`]).
    pub width: Option<usize>,
    /// Flush after every packet (stdin, live capture).
    pub streaming: bool,
    /// `-t`: how times are printed.
    pub time: TimeFormat,
}

/// Times in the views, in the `-t` format: the views keep their own layout for the default
/// (seconds since the first packet) and print the format's text otherwise.
#[derive(Debug, Default)]
pub struct ViewTime {
    format: TimeFormat,
    column: Option<TimeColumn>,
    /// Capture time of the first packet, learnt from any packet record.
    origin: Option<Timestamp>,
}

impl ViewTime {
    /// Times in `format`.
    pub fn new(format: TimeFormat) -> Self {
        ViewTime {
            format,
            column: (format != TimeFormat::Relative).then(|| TimeColumn::new(format)),
            origin: None,
        }
    }

    /// A packet record went by: it tells when the capture started.
    pub fn observe(&mut self, p: &PacketRecord<'_>) {
        if self.origin.is_none() && self.column.is_some() {
            let nanos = (p.rel_time * 1e9).round() as i128;
            let at = i128::from(p.timestamp.secs) * 1_000_000_000 + i128::from(p.timestamp.nanos);
            self.origin = Some(timestamp_of(at - nanos));
        }
    }

    /// The text for something `rel_time` seconds after the first packet; `None` for the
    /// default format (the view prints seconds itself).
    pub fn text(&mut self, rel_time: f64) -> Option<String> {
        let mut out = String::new();
        self.push_text(&mut out, rel_time).then_some(out)
    }

    /// [`Self::text`] appended to `out`; `false` (nothing appended) for the default format.
    pub fn push_text(&mut self, out: &mut String, rel_time: f64) -> bool {
        let Some(column) = self.column.as_mut() else {
            return false;
        };
        let origin = self.origin.unwrap_or_default();
        let at = i128::from(origin.secs) * 1_000_000_000
            + i128::from(origin.nanos)
            + (rel_time * 1e9).round() as i128;
        column.push_at(out, timestamp_of(at), rel_time);
        true
    }

    /// The format.
    pub fn format(&self) -> TimeFormat {
        self.format
    }
}

fn timestamp_of(nanos: i128) -> Timestamp {
    Timestamp {
        secs: nanos.div_euclid(1_000_000_000) as i64,
        nanos: nanos.rem_euclid(1_000_000_000) as u32,
    }
}

/// Width of a flow diagram when the output width is unknown (not a terminal, no
/// `COLUMNS`).
pub const DEFAULT_DIAGRAM_WIDTH: usize = 80;
/// Narrowest width the views lay themselves out for.
pub const MIN_WIDTH: usize = 40;

impl ViewOptions {
    /// Whether the packet list (or JSON Lines) is wanted rather than a human view: the
    /// caller builds that renderer, with its own options.
    pub fn is_packet_list(&self) -> bool {
        self.follow.is_none() && self.export.is_none() && self.view == View::Packets
    }

    /// Whether the view writes everything at the end (so a progress line on the same
    /// terminal cannot mix with its output).
    pub fn writes_at_end(&self) -> bool {
        self.follow.is_none() && (self.view == View::Conversations || self.export.is_some())
    }
}

/// Most characters of a payload shown in a one-line preview.
pub const PREVIEW_CHARS: usize = 60;
/// Most bytes of a binary payload shown in hex in a one-line preview.
pub const PREVIEW_HEX_BYTES: usize = 16;

/// How a payload preview is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preview {
    /// As (escaped) text: Text messages, close reasons.
    Text,
    /// As hex: Binary messages.
    Binary,
    /// As text when it is UTF-8 without control characters (other than tab and line
    /// breaks), else as hex: pings, pongs, continuations of unknown messages.
    Guess,
}

/// Appends a one-line preview of a payload: quoted escaped text, or hex of its first
/// bytes; `…` marks a cut.
pub fn push_preview(out: &mut String, payload: &[u8], kind: Preview, max_chars: usize) {
    let is_text = match kind {
        Preview::Text => true,
        Preview::Binary => false,
        Preview::Guess => std::str::from_utf8(payload).is_ok_and(|t| {
            !t.chars()
                .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
        }),
    };
    if is_text {
        out.push('"');
        let complete = escape::escape_into(out, payload, max_chars);
        out.push('"');
        if !complete {
            out.push('…');
        }
    } else {
        push_hex(out, payload, PREVIEW_HEX_BYTES);
    }
}

/// Appends `de ad be ef…`: hex of the first `max_bytes` bytes.
pub fn push_hex(out: &mut String, payload: &[u8], max_bytes: usize) {
    for (i, b) in payload.iter().take(max_bytes).enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let _ = write!(out, "{b:02x}");
    }
    if payload.len() > max_bytes {
        out.push('…');
    }
}

/// `1 byte`, `17 bytes`.
pub fn bytes_text(n: u64) -> String {
    if n == 1 {
        "1 byte".to_string()
    } else {
        format!("{n} bytes")
    }
}

pub use crate::term::width::{display_width, fit_width, fit_words};

/// Most connections whose packets are held while it is not yet known whether they are
/// WebSocket connections.
const MAX_HELD_CONNECTIONS: usize = 1024;
/// Most items held per such connection (a TCP handshake, a few HTTP exchanges).
const MAX_HELD_ITEMS: usize = 64;
/// Most connections remembered as WebSocket after they ended (for late packets).
const MAX_ENDED_REMEMBERED: usize = 4096;

/// Decides which connections a view shows: those that tried to upgrade (or are decoded
/// as WebSocket by `--ws-port`). Items of a connection are held until it shows what it
/// is, so a view can still show its TCP handshake; the hold is bounded.
#[derive(Debug)]
pub struct Gate<T> {
    /// WebSocket connections (value: whether it ended).
    websocket: BTreeMap<ConnId, bool>,
    ended_order: VecDeque<ConnId>,
    held: BTreeMap<ConnId, Held<T>>,
    /// Packets of connections not shown.
    pub omitted_packets: u64,
    /// Connections not shown (ended, or pushed out of the hold, without upgrading).
    pub omitted_connections: u64,
    /// Packets that are not TCP.
    pub other_packets: u64,
}

/// Items held for one connection.
#[derive(Debug)]
pub struct Held<T> {
    /// The items, oldest first.
    pub items: VecDeque<T>,
    /// Items dropped from the front because the hold was full.
    pub dropped: u64,
}

impl<T> Default for Gate<T> {
    fn default() -> Self {
        Gate {
            websocket: BTreeMap::new(),
            ended_order: VecDeque::new(),
            held: BTreeMap::new(),
            omitted_packets: 0,
            omitted_connections: 0,
            other_packets: 0,
        }
    }
}

impl<T> Gate<T> {
    /// Whether `conn` is shown.
    pub fn is_websocket(&self, conn: ConnId) -> bool {
        self.websocket.contains_key(&conn)
    }

    /// `conn` is a WebSocket connection: returns what was held for it.
    pub fn mark_websocket(&mut self, conn: ConnId) -> Option<Held<T>> {
        self.websocket.entry(conn).or_insert(false);
        self.held.remove(&conn)
    }

    /// `conn` (a WebSocket connection) ended; it is forgotten once enough others have.
    pub fn mark_ended(&mut self, conn: ConnId) {
        if let Some(ended) = self.websocket.get_mut(&conn)
            && !*ended
        {
            *ended = true;
            self.ended_order.push_back(conn);
            while self.ended_order.len() > MAX_ENDED_REMEMBERED {
                if let Some(old) = self.ended_order.pop_front() {
                    self.websocket.remove(&old);
                }
            }
        }
    }

    /// Holds `item` of `conn` (not yet known to be WebSocket).
    pub fn hold(&mut self, conn: ConnId, item: T) {
        if !self.held.contains_key(&conn) && self.held.len() >= MAX_HELD_CONNECTIONS {
            // Oldest connection first out: it had the longest chance to upgrade.
            if let Some((_, old)) = self.held.pop_first() {
                self.omitted_packets += old.items.len() as u64 + old.dropped;
                self.omitted_connections += 1;
            }
        }
        let held = self.held.entry(conn).or_insert_with(|| Held {
            items: VecDeque::new(),
            dropped: 0,
        });
        if held.items.len() >= MAX_HELD_ITEMS {
            held.items.pop_front();
            held.dropped += 1;
        }
        held.items.push_back(item);
    }

    /// `conn` closed without upgrading: drop what was held.
    pub fn forget(&mut self, conn: ConnId) {
        if let Some(old) = self.held.remove(&conn) {
            self.omitted_packets += old.items.len() as u64 + old.dropped;
            self.omitted_connections += 1;
        }
    }

    /// End of the run: everything still held is omitted.
    pub fn forget_all(&mut self) {
        while let Some((_, old)) = self.held.pop_first() {
            self.omitted_packets += old.items.len() as u64 + old.dropped;
            self.omitted_connections += 1;
        }
    }

    /// `Not shown: ...` line, or `None` when everything was shown.
    pub fn omitted_summary(&self) -> Option<String> {
        let mut parts = Vec::new();
        if self.omitted_connections > 0 {
            parts.push(format!(
                "{} of {} TCP connection{} without a WebSocket upgrade",
                plural(self.omitted_packets, "packet"),
                self.omitted_connections,
                if self.omitted_connections == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
        if self.other_packets > 0 {
            parts.push(format!(
                "{} that {} not TCP",
                plural(self.other_packets, "packet"),
                if self.other_packets == 1 { "is" } else { "are" }
            ));
        }
        (!parts.is_empty()).then(|| format!("Not shown: {}.", parts.join("; ")))
    }
}

/// `1 packet`, `3 packets`.
pub fn plural(n: u64, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// Hand-built events for the views' unit tests.
#[cfg(test)]
pub(crate) mod fixtures {
    use crate::capture::Timestamp;
    use crate::event::{
        ConnId, FrameEvent, MessageEvent, PacketBody, PacketRecord, PingPongEvent, TcpRecord,
    };
    use crate::flow::analysis::{Direction, SegmentAnalysis};
    use crate::wire::{TcpFlags, TcpSegment};
    use crate::ws::{FrameHeader, LengthEncoding, OpCode};

    /// An unmasked frame of `payload` completed by `packet`.
    pub fn frame(
        conn: ConnId,
        dir: Direction,
        opcode: OpCode,
        fin: bool,
        payload: &[u8],
        packet: u64,
    ) -> FrameEvent<'_> {
        FrameEvent {
            conn,
            dir,
            packet,
            first_packet: packet,
            rel_time: packet as f64 / 10.0,
            header: FrameHeader {
                fin,
                rsv: 0,
                opcode,
                mask: None,
                payload_len: payload.len() as u64,
                length_encoding: LengthEncoding::Short,
                header_len: 2,
            },
            payload,
            payload_complete: true,
            close_code: None,
            close_reason: &[],
        }
    }

    /// A message of `frames` frames ending in `packet`.
    pub fn message(
        conn: ConnId,
        dir: Direction,
        opcode: OpCode,
        payload: &[u8],
        frames: u32,
        packet: u64,
    ) -> MessageEvent<'_> {
        let close = (opcode == OpCode::Close)
            .then(|| crate::ws::parse_close_body(payload).ok())
            .flatten();
        MessageEvent {
            conn,
            dir,
            opcode,
            len: payload.len() as u64,
            frames,
            first_packet: packet + 1 - u64::from(frames),
            last_packet: packet,
            first_time: 0.0,
            rel_time: packet as f64 / 10.0,
            payload,
            payload_complete: true,
            compressed: false,
            wire_len: payload.len() as u64,
            close_code: close.and_then(|b| b.code),
            close_reason: close.map_or(&[][..], |b| b.reason),
            subprotocol: None,
            app: &[],
            app_decoder: None,
            app_first: false,
        }
    }

    /// A pong answering a ping after `rtt` seconds.
    pub fn ping_pong(conn: ConnId, rtt: f64) -> PingPongEvent {
        PingPongEvent {
            conn,
            ping_dir: Direction::ClientToServer,
            ping_packet: 1,
            pong_packet: 2,
            rtt,
            payload_len: 1,
        }
    }

    /// A segment with ACK (and PSH when it carries data).
    pub fn segment(payload: &[u8]) -> TcpSegment<'_> {
        TcpSegment {
            src_port: 40000,
            dst_port: 8080,
            seq: 1,
            ack: 1,
            flags: TcpFlags(if payload.is_empty() {
                TcpFlags::ACK
            } else {
                TcpFlags::ACK | TcpFlags::PSH
            }),
            window: 1000,
            urgent: 0,
            options: &[],
            payload,
            missing_payload: 0,
        }
    }

    /// Calls `f` with the record of packet `number` carrying `seg` of `conn`.
    pub fn with_packet<R>(
        number: u64,
        conn: ConnId,
        dir: Direction,
        seg: &TcpSegment<'_>,
        f: impl FnOnce(&PacketRecord<'_>) -> R,
    ) -> R {
        let record = PacketRecord {
            number,
            timestamp: Timestamp::default(),
            rel_time: number as f64 / 10.0,
            wire_len: 60,
            captured_len: 60,
            addrs: None,
            data: &[],
            link_type: crate::capture::LinkType::ETHERNET,
            body: PacketBody::Tcp(TcpRecord {
                segment: seg,
                conn,
                dir,
                analysis: SegmentAnalysis::default(),
                partial_pdu: false,
                pdus_completed: 1,
                tls: None,
            }),
        };
        f(&record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_escapes_and_cuts() {
        let mut s = String::new();
        push_preview(&mut s, b"hi\x1b[2J", Preview::Text, 60);
        assert_eq!(s, "\"hi\\x1b[2J\"");
        s.clear();
        push_preview(&mut s, b"hi\x1b[2J", Preview::Guess, 60);
        assert_eq!(s, "68 69 1b 5b 32 4a");
        s.clear();
        push_preview(&mut s, b"abcdef", Preview::Guess, 3);
        assert_eq!(s, "\"abc\"…");
        s.clear();
        push_preview(&mut s, b"abc", Preview::Binary, 60);
        assert_eq!(s, "61 62 63");
    }

    #[test]
    fn gate_holds_until_known_and_counts_the_rest() {
        let mut gate: Gate<u32> = Gate::default();
        gate.hold(0, 1);
        gate.hold(0, 2);
        gate.hold(1, 3);
        let held = gate.mark_websocket(0).expect("held items");
        assert_eq!(held.items, [1, 2]);
        assert!(gate.is_websocket(0));
        gate.forget(1);
        gate.other_packets = 88;
        assert_eq!(
            gate.omitted_summary().as_deref(),
            Some(
                "Not shown: 1 packet of 1 TCP connection without a WebSocket upgrade; 88 packets that are not TCP."
            )
        );
    }

    #[test]
    fn hold_is_bounded() {
        let mut gate: Gate<usize> = Gate::default();
        for i in 0..(MAX_HELD_ITEMS + 5) {
            gate.hold(7, i);
        }
        let held = gate.mark_websocket(7).expect("held");
        assert_eq!(held.items.len(), MAX_HELD_ITEMS);
        assert_eq!(held.dropped, 5);
        for conn in 0..(MAX_HELD_CONNECTIONS as u32 + 3) {
            gate.hold(100 + conn, 0);
        }
        assert_eq!(gate.held.len(), MAX_HELD_CONNECTIONS);
        assert_eq!(gate.omitted_connections, 3);
    }
}
