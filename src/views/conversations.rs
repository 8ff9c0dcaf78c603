//! `--view conversations`: one table row per TCP connection that tried to upgrade, like
//! Wireshark's Conversations window narrowed to WebSocket: endpoints, path, negotiated
//! subprotocol and extensions, accept verdict, duration, frames, bytes and messages per
//! direction, ping round trips, who closed with what code, anomalies.
//!
//! [`ConversationTable`] only accumulates and renders, so other commands (`check`, `live`)
//! can print it as their end summary; [`Conversations`] is the renderer that prints it
//! when the run finishes.

use super::{MIN_WIDTH, display_width};
use crate::event::{
    ConnId, ConnectionSummary, Event, EventSink, FrameEvent, Handshake, PacketBody, TcpEnd,
    TlsSessionEvent, UpgradeState,
};
use crate::flow::analysis::Direction;
use crate::http::accept::AcceptVerdict;
use crate::payload::{ChosenBy, Protocol};
use crate::term::escape::escape_line;
use crate::term::style::{Role, Style, close_code_role};
use crate::tls::DecryptStatus;
use crate::ws::OpCode;
use comfy_table::{
    Cell, CellAlignment, Color, ContentArrangement, LineStyle, Table, TableStyle, presets,
};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{self, Write};
use std::net::SocketAddr;

/// Most connections whose first-packet time is remembered before they show whether they
/// try to upgrade (oldest forgotten first).
const MAX_UNKNOWN_CONNECTIONS: usize = 65_536;
/// Most rows kept (oldest dropped first, and counted).
const MAX_ROWS: usize = 10_000;

/// Rows of the table shown at the end of `check` and `live` (the latest connections).
pub const SUMMARY_ROWS: usize = 20;
/// Longest path, subprotocol or extension list shown.
const MAX_TEXT: usize = 60;
/// Most characters of a path, subprotocol or extensions value in the block layout, where
/// the value wraps under its name instead of widening a table.
const MAX_BLOCK_TEXT: usize = 1000;

/// Column titles.
const HEADER: [&str; 16] = [
    "conn",
    "client",
    "server",
    "path",
    "subprotocol",
    "extensions",
    "accept",
    "duration",
    "frames →/←",
    "bytes →/←",
    "messages →/←",
    "ping RTT min/avg/max",
    "closed by",
    "anomalies",
    "app",
    "tls",
];
/// Columns before these two are right-aligned from `duration` on.
const RIGHT_ALIGNED: std::ops::Range<usize> = 7..14;

/// The accept verdict of a row.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Verdict {
    /// Upgrade requested, no answer captured.
    NoAnswer,
    /// Upgraded; the accept check result.
    Upgraded(AcceptVerdict),
    /// Answered with another status.
    Refused(u16),
    /// TLS that was not decrypted: whether it carried WebSocket is unknown.
    Encrypted,
    /// 101 to another protocol.
    OtherProtocol,
    /// Decoded as WebSocket because of `--ws-port`.
    Assumed,
}

/// Everything one row shows.
#[derive(Debug, Clone)]
struct Row {
    client: Option<SocketAddr>,
    server: Option<SocketAddr>,
    path: Option<String>,
    subprotocol: Option<String>,
    extensions: Option<String>,
    verdict: Verdict,
    first_time: Option<f64>,
    last_time: Option<f64>,
    frames: [u64; 2],
    bytes: [u64; 2],
    /// Messages from the message layer's events.
    messages: [u64; 2],
    /// Data frames with FIN: the message count when no message events arrive.
    fin_data_frames: [u64; 2],
    message_events: bool,
    rtt: Option<Rtt>,
    /// The first Close frame: its direction and code.
    first_close: Option<(Direction, Option<u16>)>,
    tcp_end: Option<TcpEnd>,
    anomalies: u64,
    /// The payload decoder and how it was chosen.
    app: Option<(Protocol, ChosenBy)>,
    /// What the TLS handshake said, for a connection over TLS.
    tls: Option<TlsRow>,
}

/// The TLS facts of a row (from [`Event::Tls`]).
#[derive(Debug, Clone)]
struct TlsRow {
    version: Option<u16>,
    cipher_suite: Option<u16>,
    sni: Option<String>,
    alpn: Option<String>,
    status: DecryptStatus,
}

/// Ping round trips.
#[derive(Debug, Clone, Copy)]
struct Rtt {
    min: f64,
    max: f64,
    sum: f64,
    count: u64,
}

impl Row {
    fn new(first_time: Option<f64>) -> Self {
        Row {
            client: None,
            server: None,
            path: None,
            subprotocol: None,
            extensions: None,
            verdict: Verdict::NoAnswer,
            first_time,
            last_time: first_time,
            frames: [0; 2],
            bytes: [0; 2],
            messages: [0; 2],
            fin_data_frames: [0; 2],
            message_events: false,
            rtt: None,
            first_close: None,
            tcp_end: None,
            anomalies: 0,
            app: None,
            tls: None,
        }
    }
}

/// Values by connection number, the lowest number leaving first when full.
///
/// A hash map and a min-heap of the numbers instead of a `BTreeMap`: the table is looked
/// up on every packet and frame, and the B-tree search took 13% of `check`'s instructions
/// on small frames (callgrind, benchdata/small-20.pcap) and 18% on 100 000 short
/// connections (short-20.pcap); the order is only needed to drop the oldest and to render.
/// The heap may hold numbers no longer in the map (removed by [`ById::remove`]); it is
/// rebuilt when they outnumber the live ones, so it stays within twice the map.
#[derive(Debug)]
struct ById<V> {
    map: HashMap<ConnId, V, foldhash::fast::RandomState>,
    /// Every number in `map`, perhaps more than once, and some that left it.
    order: BinaryHeap<Reverse<ConnId>>,
}

impl<V> Default for ById<V> {
    fn default() -> Self {
        ById {
            map: HashMap::default(),
            order: BinaryHeap::new(),
        }
    }
}

impl<V> ById<V> {
    fn len(&self) -> usize {
        self.map.len()
    }

    fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    fn contains_key(&self, conn: &ConnId) -> bool {
        self.map.contains_key(conn)
    }

    fn get_mut(&mut self, conn: &ConnId) -> Option<&mut V> {
        self.map.get_mut(conn)
    }

    /// Adds `conn`, which is not in the map.
    fn insert_new(&mut self, conn: ConnId, value: V) -> &mut V {
        self.order.push(Reverse(conn));
        self.map.entry(conn).insert_entry(value).into_mut()
    }

    fn remove(&mut self, conn: &ConnId) -> Option<V> {
        let value = self.map.remove(conn)?;
        if self.order.len() > 2 * self.map.len() + 1024 {
            // Numbers that left the map: dropped in one pass, O(1) per removal overall.
            self.order = self.map.keys().map(|&c| Reverse(c)).collect();
        }
        Some(value)
    }

    /// Removes the lowest number.
    fn pop_first(&mut self) -> Option<(ConnId, V)> {
        // Every number in the map is in the heap, so the first one popped that is still
        // in the map is its lowest.
        while let Some(Reverse(conn)) = self.order.pop() {
            if let Some(value) = self.map.remove(&conn) {
                return Some((conn, value));
            }
        }
        None
    }

    /// Takes in the entries of another map (of other numbers).
    fn absorb(&mut self, other: ById<V>) {
        for (conn, value) in other.map {
            self.insert_new(conn, value);
        }
    }

    /// The entries by number.
    fn sorted(&self) -> Vec<(ConnId, &V)> {
        let mut all: Vec<(ConnId, &V)> = self.map.iter().map(|(c, v)| (*c, v)).collect();
        all.sort_unstable_by_key(|(c, _)| *c);
        all
    }
}

/// Accumulates the conversation table from events.
#[derive(Debug, Default)]
pub struct ConversationTable {
    /// Boxed: a row is ~450 bytes, and a map of 10 000 of them inline (16 384 buckets,
    /// twice that while it grows) raised the peak RSS of `check` on 100 000 short
    /// connections from 29 to 44 MiB.
    rows: ById<Box<Row>>,
    /// First-packet times of connections not (yet) known to try an upgrade.
    first_seen: ById<(f64, u64)>,
    /// Rows dropped because there were too many.
    dropped_rows: u64,
    /// One past the highest connection number whose row was dropped: a connection below
    /// it gets no row again. Re-created, a dropped row would show only what came after
    /// (its end, say) and be counted as dropped once more: 100 000 connections of which
    /// 10 300 were open at once were reported as 10 000 rows and "11 183 earlier
    /// connections not shown". It also makes the table the same whether one thread saw
    /// every connection or several saw some each ([`ConversationTable::merge`]).
    floor: ConnId,
}

/// Rows to render, by connection number, and how many earlier ones are not among them.
struct Shown<'a> {
    rows: Vec<(ConnId, &'a Row)>,
    dropped_rows: u64,
}

impl ConversationTable {
    /// An empty table.
    pub fn new() -> Self {
        ConversationTable::default()
    }

    /// Number of rows so far.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no connection tried to upgrade so far.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The row of `conn`, made when new; `None` when its row was dropped (or would
    /// have been: it is older than every row kept).
    fn row(&mut self, conn: ConnId) -> Option<&mut Row> {
        // Called for every frame: the first-seen table is only looked at for a new row.
        if !self.rows.contains_key(&conn) {
            if conn < self.floor {
                return None;
            }
            if self.rows.len() >= MAX_ROWS {
                self.drop_oldest();
            }
            let first = self.first_seen.remove(&conn);
            // Anomalies raised before the connection showed it belongs in the table.
            let mut row = Row::new(first.map(|(t, _)| t));
            row.anomalies = first.map_or(0, |(_, n)| n);
            return Some(self.rows.insert_new(conn, Box::new(row)));
        }
        self.rows.get_mut(&conn).map(|row| &mut **row)
    }

    /// Drops the row of the lowest connection number.
    fn drop_oldest(&mut self) {
        if let Some((conn, _)) = self.rows.pop_first() {
            self.dropped_rows += 1;
            self.floor = self.floor.max(conn.saturating_add(1));
        }
    }

    /// Takes in a table that observed other connections (another dissection thread's),
    /// keeping at most as many rows as one table keeps: the latest connections, as one
    /// table that saw them all keeps (rows are only ever dropped lowest number first, and
    /// never made again). One case differs: a connection whose first row event comes
    /// after 10 000 rows of later connections is not counted among those not shown by
    /// one table, and is by merged ones. The connections not seen to upgrade yet are
    /// forgotten: the run is over.
    pub fn merge(&mut self, other: ConversationTable) {
        self.rows.absorb(other.rows);
        self.dropped_rows += other.dropped_rows;
        self.floor = self.floor.max(other.floor);
        while self.rows.len() > MAX_ROWS {
            self.drop_oldest();
        }
    }

    /// Takes one event into account.
    pub fn observe(&mut self, event: &Event<'_>) {
        match event {
            Event::Packet(p) => {
                if let PacketBody::Tcp(rec) = &p.body {
                    match self.rows.get_mut(&rec.conn) {
                        Some(row) => {
                            row.first_time.get_or_insert(p.rel_time);
                            row.last_time = Some(p.rel_time);
                        }
                        None => {
                            if !self.first_seen.contains_key(&rec.conn) {
                                if self.first_seen.len() >= MAX_UNKNOWN_CONNECTIONS {
                                    self.first_seen.pop_first();
                                }
                                self.first_seen.insert_new(rec.conn, (p.rel_time, 0));
                            }
                        }
                    }
                }
            }
            Event::HttpRequest(r) if r.request.is_websocket_upgrade() => {
                let Some(row) = self.row(r.conn) else {
                    return;
                };
                row.client = Some(r.endpoints.client);
                row.server = Some(r.endpoints.server);
                row.path = Some(r.request.path.clone());
            }
            Event::Handshake(h) => self.handshake(h),
            Event::Frame(f) => self.frame(f),
            Event::Message(m) => {
                // One lookup per message: only connections with a row count.
                if let Some(row) = self.rows.get_mut(&m.conn) {
                    if let Some(decoder) = m.app_decoder {
                        row.app = Some(decoder);
                    }
                    row.message_events = true;
                    if !m.opcode.is_control() {
                        row.messages[m.dir.index()] += 1;
                    }
                }
            }
            Event::PingPong(p) => {
                if let Some(row) = self.rows.get_mut(&p.conn) {
                    let rtt = row.rtt.get_or_insert(Rtt {
                        min: p.rtt,
                        max: p.rtt,
                        sum: 0.0,
                        count: 0,
                    });
                    rtt.min = rtt.min.min(p.rtt);
                    rtt.max = rtt.max.max(p.rtt);
                    rtt.sum += p.rtt;
                    rtt.count += 1;
                }
            }
            Event::Anomaly(a) => {
                if let Some(conn) = a.conn {
                    if let Some(row) = self.rows.get_mut(&conn) {
                        row.anomalies += 1;
                    } else if let Some((_, n)) = self.first_seen.get_mut(&conn) {
                        *n += 1;
                    }
                }
            }
            Event::ConnectionEnd(c) => self.connection_end(c),
            Event::Tls(t) => self.tls(t),
            _ => {}
        }
    }

    fn handshake(&mut self, h: &Handshake<'_>) {
        let Some(row) = self.row(h.conn) else {
            return;
        };
        row.client = Some(h.endpoints.client);
        row.server = Some(h.endpoints.server);
        row.path = Some(h.request.path.clone());
        row.subprotocol = h
            .response
            .header("Sec-WebSocket-Protocol")
            .map(str::to_string);
        row.extensions = h
            .response
            .header("Sec-WebSocket-Extensions")
            .map(str::to_string);
        row.verdict = if h.upgraded {
            Verdict::Upgraded(h.accept.clone())
        } else if h.response.status == 101 {
            Verdict::OtherProtocol
        } else {
            Verdict::Refused(h.response.status)
        };
    }

    fn frame(&mut self, f: &FrameEvent<'_>) {
        if !self.rows.contains_key(&f.conn) {
            // Frames without a handshake: Decode-As (`--ws-port`).
            if let Some(row) = self.row(f.conn) {
                row.verdict = Verdict::Assumed;
            }
        }
        // Two lookups per frame, not three (small frames: one event per frame).
        let Some(row) = self.rows.get_mut(&f.conn) else {
            return;
        };
        let d = f.dir.index();
        row.frames[d] += 1;
        row.bytes[d] = row.bytes[d].saturating_add(f.header.payload_len);
        if f.header.fin && f.header.opcode.is_data() {
            row.fin_data_frames[d] += 1;
        }
        if f.header.opcode == OpCode::Close && row.first_close.is_none() {
            row.first_close = Some((f.dir, f.close_code.map(|c| c.code())));
        }
        row.last_time = Some(f.rel_time.max(row.last_time.unwrap_or(f.rel_time)));
    }

    /// A TLS connection ended. A decrypted one has a row when it tried to upgrade; one
    /// that was not decrypted gets a row too, since what it carried is unknown.
    fn tls(&mut self, t: &TlsSessionEvent<'_>) {
        let decrypted = t.status == DecryptStatus::Decrypted;
        if decrypted && !self.rows.contains_key(&t.conn) {
            return;
        }
        let Some(row) = self.row(t.conn) else {
            return;
        };
        row.client.get_or_insert(t.endpoints.client);
        row.server.get_or_insert(t.endpoints.server);
        if !decrypted && row.verdict == Verdict::NoAnswer && row.path.is_none() {
            row.verdict = Verdict::Encrypted;
        }
        row.tls = Some(TlsRow {
            version: t.version,
            cipher_suite: t.cipher_suite,
            sni: t.sni.map(str::to_string),
            alpn: t.alpn.map(str::to_string),
            status: t.status,
        });
    }

    fn connection_end(&mut self, c: &ConnectionSummary) {
        let Some(row) = self.row(c.conn) else {
            return;
        };
        row.client = Some(c.endpoints.client);
        row.server = Some(c.endpoints.server);
        if row.path.is_none() {
            row.path.clone_from(&c.path);
        }
        match c.state {
            UpgradeState::Assumed => row.verdict = Verdict::Assumed,
            UpgradeState::Requested => row.verdict = Verdict::NoAnswer,
            UpgradeState::Upgraded | UpgradeState::Refused => {}
        }
        row.tcp_end = Some(c.tcp_end);
    }

    /// The table as text. Without a width: one line per row in plain columns (for
    /// scripts and pipes). With one: the table when it fits, else a block of
    /// `field value` lines per connection, wrapped to the width.
    pub fn render(&self, style: Style, width: Option<usize>) -> String {
        Shown {
            rows: self
                .rows
                .sorted()
                .into_iter()
                .map(|(c, r)| (c, &**r))
                .collect(),
            dropped_rows: self.dropped_rows,
        }
        .render(style, width)
    }

    /// The table as an end summary (`check`, `live`): at most `max_rows` rows, the latest
    /// connections, with a line saying how many more there were.
    pub fn render_summary(&self, style: Style, width: Option<usize>, max_rows: usize) -> String {
        let mut rows: Vec<(ConnId, &Row)> = self
            .rows
            .sorted()
            .into_iter()
            .map(|(c, r)| (c, &**r))
            .collect();
        let hidden = rows.len().saturating_sub(max_rows);
        rows.drain(..hidden);
        Shown {
            rows,
            dropped_rows: self.dropped_rows + hidden as u64,
        }
        .render(style, width)
    }
}

impl Shown<'_> {
    fn render(&self, style: Style, width: Option<usize>) -> String {
        let Some(width) = width else {
            let mut table = self.table(style);
            table
                .load_style(presets::NOTHING)
                .set_content_arrangement(ContentArrangement::Disabled);
            return self.finish_text(lines(&table));
        };
        let width = width.max(MIN_WIDTH);
        let mut table = self.table(Style::plain());
        table
            .load_style(HEADER_RULE)
            .set_content_arrangement(ContentArrangement::Disabled);
        for column in table.column_iter_mut() {
            column.set_padding((0, 2));
        }
        let natural = lines(&table);
        if natural.lines().all(|l| display_width(l) <= width) {
            if !style.enabled() {
                return self.finish_text(natural);
            }
            let mut table = self.table(style);
            table
                .load_style(HEADER_RULE)
                .set_content_arrangement(ContentArrangement::Disabled);
            for column in table.column_iter_mut() {
                column.set_padding((0, 2));
            }
            return self.finish_text(lines(&table));
        }
        // Too wide: one block per connection, fields down the side.
        let mut out = String::new();
        for &(conn, row) in &self.rows {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&style.paint(Role::Heading, &format!("Connection {conn}")));
            out.push('\n');
            let mut block = Table::new();
            block
                .load_style(presets::NOTHING)
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(u16::try_from(width).unwrap_or(u16::MAX));
            if style.enabled() {
                block.enforce_styling();
            } else {
                block.force_no_tty();
            }
            let cells = cells(conn, row, style, MAX_BLOCK_TEXT);
            for (name, cell) in HEADER.iter().zip(cells).skip(1) {
                block.add_row(vec![Cell::new(format!(" {name}")), cell]);
            }
            out.push_str(&lines(&block));
        }
        self.finish_text(out)
    }

    /// Appends the note about dropped rows.
    fn finish_text(&self, mut out: String) -> String {
        if self.dropped_rows > 0 {
            out.push_str(&format!(
                "({} earlier connections not shown)\n",
                self.dropped_rows
            ));
        }
        out
    }

    /// The full table (one row per connection), without a layout chosen.
    fn table(&self, style: Style) -> Table {
        let mut table = Table::new();
        table.set_header(HEADER.iter().map(Cell::new));
        if style.enabled() {
            table.enforce_styling();
        } else {
            table.force_no_tty();
        }
        for &(conn, row) in &self.rows {
            table.add_row(cells(conn, row, style, MAX_TEXT));
        }
        for (i, column) in table.column_iter_mut().enumerate() {
            if i == 0 || RIGHT_ALIGNED.contains(&i) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        table
    }
}

/// One row's cells, texts cut to `max_text` characters.
fn cells(conn: ConnId, row: &Row, style: Style, max_text: usize) -> Vec<Cell> {
    let paint = |text: String, role: Option<Role>| {
        let cell = Cell::new(text);
        match (role, style.enabled()) {
            (Some(role), true) => cell.fg(table_color(role)),
            _ => cell,
        }
    };
    let addr = |a: Option<SocketAddr>| a.map_or_else(|| "-".to_string(), |a| a.to_string());
    let text = |t: &Option<String>| {
        t.as_deref()
            .map_or_else(|| "-".to_string(), |t| escape_line(t.as_bytes(), max_text))
    };
    let (verdict, verdict_role) = match &row.verdict {
        Verdict::NoAnswer => ("no answer".to_string(), Role::Warn),
        Verdict::Upgraded(AcceptVerdict::Valid) => ("OK".to_string(), Role::Good),
        Verdict::Upgraded(AcceptVerdict::Mismatch { .. }) => ("MISMATCH".to_string(), Role::Bad),
        Verdict::Upgraded(AcceptVerdict::MissingAccept) => ("no accept".to_string(), Role::Bad),
        Verdict::Upgraded(AcceptVerdict::MissingKey) => ("no key".to_string(), Role::Bad),
        Verdict::Refused(status) => (format!("refused {status}"), Role::Warn),
        Verdict::Encrypted => ("encrypted".to_string(), Role::Dim),
        Verdict::OtherProtocol => ("not websocket".to_string(), Role::Warn),
        Verdict::Assumed => ("assumed".to_string(), Role::Dim),
    };
    let duration = match (row.first_time, row.last_time) {
        (Some(a), Some(b)) => format_duration(b - a),
        _ => "-".to_string(),
    };
    let pair = |v: [u64; 2]| format!("{}/{}", v[0], v[1]);
    let messages = if row.message_events {
        row.messages
    } else {
        row.fin_data_frames
    };
    let rtt = match row.rtt {
        Some(r) if r.count > 0 => format!(
            "{}/{}/{}",
            format_ms(r.min),
            format_ms(r.sum / r.count as f64),
            format_ms(r.max)
        ),
        _ => "-".to_string(),
    };
    let (closed, closed_role) = match row.first_close {
        Some((dir, code)) => {
            let who = match dir {
                Direction::ClientToServer => "client",
                Direction::ServerToClient => "server",
            };
            match code {
                Some(code) => (format!("{who} {code}"), Some(close_code_role(code))),
                None => (format!("{who} (no code)"), Some(Role::Warn)),
            }
        }
        None => match row.tcp_end {
            Some(TcpEnd::Reset) => ("TCP reset".to_string(), Some(Role::Warn)),
            Some(TcpEnd::Closed) | Some(TcpEnd::HalfClosed) => ("TCP FIN".to_string(), None),
            // A TLS connection that was not decrypted: nothing above TCP is known.
            None if row.verdict == Verdict::Encrypted => ("-".to_string(), None),
            Some(TcpEnd::Open) | None => ("open".to_string(), None),
        },
    };
    let anomalies_role = (row.anomalies > 0).then_some(Role::Warn);
    vec![
        Cell::new(conn),
        paint(addr(row.client), Some(Role::Client)),
        paint(addr(row.server), Some(Role::Server)),
        Cell::new(text(&row.path)),
        Cell::new(text(&row.subprotocol)),
        Cell::new(text(&row.extensions)),
        paint(verdict, Some(verdict_role)),
        Cell::new(duration),
        Cell::new(pair(row.frames)),
        Cell::new(pair(row.bytes)),
        Cell::new(pair(messages)),
        Cell::new(rtt),
        paint(closed, closed_role),
        paint(row.anomalies.to_string(), anomalies_role),
        Cell::new(row.app.map_or_else(
            || "-".to_string(),
            |(protocol, by)| format!("{} ({})", protocol.name(), by.name()),
        )),
        match &row.tls {
            None => Cell::new("-"),
            Some(t) => paint(
                tls_text(t),
                Some(if t.status == DecryptStatus::Decrypted {
                    Role::Good
                } else {
                    Role::Warn
                }),
            ),
        },
    ]
}

/// `1.3 AES_128_GCM sni=localhost alpn=http/1.1 ✓`, or `✗ no key for this client random`
/// when not decrypted.
fn tls_text(t: &TlsRow) -> String {
    let mut parts = Vec::new();
    if let Some(v) = t.version {
        let name = crate::tls::version_name(v);
        parts.push(name.strip_prefix("TLSv").unwrap_or(name).to_string());
    }
    if let Some(id) = t.cipher_suite {
        parts.push(suite_short(id));
    }
    if let Some(sni) = &t.sni {
        parts.push(format!("sni={}", escape_line(sni.as_bytes(), MAX_TEXT)));
    }
    if let Some(alpn) = &t.alpn {
        parts.push(format!("alpn={}", escape_line(alpn.as_bytes(), MAX_TEXT)));
    }
    parts.push(match t.status {
        DecryptStatus::Decrypted => "✓".to_string(),
        other => format!("✗ {}", other.describe()),
    });
    parts.join(" ")
}

/// A cipher suite's IANA name without `TLS_`, the key exchange and the hash:
/// `AES_128_GCM`, `CHACHA20_POLY1305`; its number when this tool does not know it.
fn suite_short(id: u16) -> String {
    let Some(suite) = crate::tls::crypto::suite(id) else {
        return format!("0x{id:04x}");
    };
    let name = suite.name.strip_prefix("TLS_").unwrap_or(suite.name);
    let name = name.split_once("_WITH_").map_or(name, |(_, bulk)| bulk);
    let name = name
        .rsplit_once('_')
        .filter(|(_, hash)| hash.starts_with("SHA"))
        .map_or(name, |(bulk, _)| bulk);
    name.to_string()
}

/// A rule under the header, nothing else.
const HEADER_RULE: TableStyle = TableStyle::new().header_separator(LineStyle::none().fill('─'));

/// A table's lines, trailing spaces removed.
fn lines(table: &Table) -> String {
    let mut out = String::new();
    for line in table.lines() {
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The table's colour for a role (comfy-table writes the SGR sequences, because it must
/// know which characters take no room).
fn table_color(role: Role) -> Color {
    match role {
        Role::Client => Color::Cyan,
        Role::Server => Color::Magenta,
        Role::Good => Color::Green,
        Role::Warn => Color::Yellow,
        Role::Bad => Color::Red,
        Role::Heading => Color::Reset,
        Role::Dim => Color::DarkGrey,
        Role::Field => Color::Blue,
    }
}

/// `0.123 ms`-style milliseconds with three decimals.
fn format_ms(secs: f64) -> String {
    format!("{:.3}ms", secs * 1000.0)
}

/// `1.5 ms`, `2.345 s`, `3m05s`.
fn format_duration(secs: f64) -> String {
    let secs = secs.max(0.0);
    if secs < 1.0 {
        format!("{:.1} ms", secs * 1000.0)
    } else if secs < 60.0 {
        format!("{secs:.3} s")
    } else {
        let whole = secs as u64;
        format!("{}m{:02}s", whole / 60, whole % 60)
    }
}

/// The conversations renderer: accumulates, prints the table when the run finishes.
pub struct Conversations<W: Write> {
    out: W,
    style: Style,
    width: Option<usize>,
    table: ConversationTable,
}

impl<W: Write> Conversations<W> {
    /// A renderer writing to `out`; `width` as for [`ConversationTable::render`].
    pub fn new(out: W, style: Style, width: Option<usize>) -> Self {
        Conversations {
            out,
            style,
            width,
            table: ConversationTable::new(),
        }
    }
}

impl<W: Write> EventSink for Conversations<W> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.table.observe(event);
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        if self.table.is_empty() {
            writeln!(self.out, "No connection tried to upgrade to WebSocket.")?;
        } else {
            self.out
                .write_all(self.table.render(self.style, self.width).as_bytes())?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::fixtures;

    #[test]
    fn message_and_ping_events_are_counted_when_they_come() {
        let c2s = Direction::ClientToServer;
        let s2c = Direction::ServerToClient;
        let mut table = ConversationTable::new();
        let frames = [
            fixtures::frame(0, c2s, OpCode::Text, false, b"he", 1),
            fixtures::frame(0, c2s, OpCode::Continuation, true, b"llo", 2),
            fixtures::frame(0, s2c, OpCode::Text, true, b"hi", 3),
        ];
        for f in &frames {
            table.observe(&Event::Frame(f));
        }
        // Without message events: FIN data frames.
        let plain = table.render(Style::plain(), None);
        assert!(plain.contains(" 1/1 "), "{plain}");
        assert!(
            plain.contains(" 2/1 ") && plain.contains(" 5/2 "),
            "{plain}"
        );
        assert!(plain.contains("assumed"), "{plain}");
        let m1 = fixtures::message(0, c2s, OpCode::Text, b"hello", 2, 2);
        let m2 = fixtures::message(0, c2s, OpCode::Text, b"again", 1, 4);
        let ping = fixtures::message(0, c2s, OpCode::Ping, b"p", 1, 5);
        for m in [&m1, &m2, &ping] {
            table.observe(&Event::Message(m));
        }
        for rtt in [0.001, 0.003] {
            table.observe(&Event::PingPong(&fixtures::ping_pong(0, rtt)));
        }
        let text = table.render(Style::plain(), None);
        assert!(text.contains(" 2/0 "), "messages from events: {text}");
        assert!(text.contains("1.000ms/2.000ms/3.000ms"), "{text}");
    }

    #[test]
    fn tls_column_names_suites_by_their_iana_names() {
        // IANA TLS Cipher Suites registry names, shortened.
        assert_eq!(suite_short(0x1301), "AES_128_GCM");
        assert_eq!(suite_short(0x1303), "CHACHA20_POLY1305");
        assert_eq!(suite_short(0xC02F), "AES_128_GCM");
        assert_eq!(suite_short(0x1234), "0x1234");
        let row = TlsRow {
            version: Some(0x0304),
            cipher_suite: Some(0x1301),
            sni: Some("localhost".into()),
            alpn: None,
            status: DecryptStatus::Decrypted,
        };
        assert_eq!(tls_text(&row), "1.3 AES_128_GCM sni=localhost ✓");
        let row = TlsRow {
            status: DecryptStatus::NoKey,
            ..row
        };
        assert_eq!(
            tls_text(&row),
            "1.3 AES_128_GCM sni=localhost ✗ no key for this client random"
        );
    }

    #[test]
    fn by_id_drops_the_lowest_number_first_whatever_the_order_of_arrival() {
        let mut m = ById::default();
        for conn in [5, 3, 9, 1, 7] {
            m.insert_new(conn, conn * 10);
        }
        assert_eq!(m.remove(&3), Some(30));
        // 3 leaves and comes back: its number is in the heap twice.
        m.insert_new(3, 31);
        assert_eq!(m.pop_first(), Some((1, 10)));
        assert_eq!(m.pop_first(), Some((3, 31)));
        assert_eq!(m.pop_first(), Some((5, 50)));
        let sorted: Vec<_> = m.sorted().into_iter().map(|(c, v)| (c, *v)).collect();
        assert_eq!(sorted, [(7, 70), (9, 90)]);
        // Many removals: the heap is rebuilt and stays within twice the map (plus slack).
        for conn in 100..5000 {
            m.insert_new(conn, 0);
            assert!(m.remove(&conn).is_some());
            assert!(m.order.len() <= 2 * m.len() + 1025);
        }
        assert_eq!(m.pop_first(), Some((7, 70)));
        assert_eq!(m.pop_first(), Some((9, 90)));
        assert_eq!(m.pop_first(), None);
        assert!(m.is_empty());
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(0.0015), "1.5 ms");
        assert_eq!(format_duration(2.3456), "2.346 s");
        assert_eq!(format_duration(185.0), "3m05s");
        assert_eq!(format_duration(-1.0), "0.0 ms");
    }
}
