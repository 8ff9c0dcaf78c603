//! `--view flow`: a sequence diagram per WebSocket connection, client on the left, server
//! on the right, one arrow per packet (or per HTTP message and frame with
//! `--frames-only`), labelled with the packet list's Info text and the time, fitted to the
//! output width; or the same as a Mermaid `sequenceDiagram` (`--mermaid`).

use super::{Gate, PREVIEW_CHARS, Preview, display_width, fit_width, push_preview};
use crate::event::{
    Anomaly, ConnId, Event, EventSink, FrameEvent, PacketBody, PacketRecord, Severity,
};
use crate::flow::analysis::Direction;
use crate::http::accept::AcceptVerdict;
use crate::output::info::endpoints;
use crate::output::info::{self, InfoBuilder, InfoOptions};
use crate::term::escape::escape_line;
use crate::term::style::{Role, Style, close_code_role};
use crate::wire::TcpFlags;
use crate::ws::OpCode;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::net::SocketAddr;

/// How the diagram is drawn.
#[derive(Debug, Clone, Copy)]
pub struct FlowOptions {
    /// One arrow per HTTP message and WebSocket frame; TCP-only packets left out.
    pub frames_only: bool,
    /// Mermaid `sequenceDiagram` text instead of a text diagram.
    pub mermaid: bool,
    /// Colours (text diagrams only).
    pub style: Style,
    /// Columns of a text diagram.
    pub width: usize,
    /// Flush after every packet.
    pub streaming: bool,
    /// `-t`: how times are printed.
    pub time: crate::output::timefmt::TimeFormat,
}

/// Width of the packet number column.
const NUMBER_WIDTH: usize = 6;
/// Width of the time column.
const TIME_WIDTH: usize = 10;
/// Columns before the client's lifeline: number, space, time, two spaces.
const PREFIX_WIDTH: usize = NUMBER_WIDTH + 1 + TIME_WIDTH + 2;
/// Arrow characters around a label: `--` + space before, space + at least one `-` + head
/// after (and mirrored).
const ARROW_OVERHEAD: usize = 6;
/// Longest label in a Mermaid diagram.
const MERMAID_LABEL_CHARS: usize = 160;
/// Most connections whose endpoints are remembered (oldest forgotten first).
const MAX_CONNECTIONS: usize = 8192;

/// One arrow.
#[derive(Debug)]
struct Arrow {
    number: Option<u64>,
    time: Option<f64>,
    dir: Direction,
    label: String,
    role: Option<Role>,
}

/// An arrow for an HTTP message or frame of the current packet (`--frames-only`).
#[derive(Debug)]
struct PduArrow {
    conn: ConnId,
    dir: Direction,
    number: u64,
    time: Option<f64>,
    label: String,
    role: Option<Role>,
}

#[derive(Debug)]
struct FlowConn {
    client: SocketAddr,
    server: SocketAddr,
    written: bool,
    fin: [bool; 2],
}

/// The flow diagram renderer.
pub struct FlowGraph<W: Write> {
    out: W,
    options: FlowOptions,
    info: InfoBuilder,
    gate: Gate<Arrow>,
    conns: BTreeMap<ConnId, FlowConn>,
    /// Per-PDU arrows of the current packet (`--frames-only`).
    pdus: Vec<PduArrow>,
    /// Worst role among the current packet's events (close codes, anomalies).
    packet_role: Option<Role>,
    last_conn: Option<ConnId>,
    mermaid_started: bool,
    buf: String,
    time: super::ViewTime,
    /// The `-t` text of the arrow being written (`None`: seconds, the default).
    time_text: Option<String>,
}

/// The more alarming of two roles.
fn worse(a: Option<Role>, b: Option<Role>) -> Option<Role> {
    let rank = |r: Option<Role>| match r {
        Some(Role::Bad) => 3,
        Some(Role::Warn) => 2,
        Some(Role::Good) => 1,
        _ => 0,
    };
    if rank(b) > rank(a) { b } else { a }
}

/// Mermaid text: `#` and `;` end a message in Mermaid's grammar and `<`, `>`, `&`, `%`
/// may be read as HTML or comments, so each becomes an entity code (`#59;`).
pub fn mermaid_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '#' => out.push_str("#35;"),
            ';' => out.push_str("#59;"),
            '<' => out.push_str("#lt;"),
            '>' => out.push_str("#gt;"),
            '&' => out.push_str("#amp;"),
            '%' => out.push_str("#37;"),
            c => out.push(c),
        }
    }
    out
}

impl<W: Write> FlowGraph<W> {
    /// A renderer writing to `out`.
    pub fn new(out: W, options: FlowOptions) -> Self {
        FlowGraph {
            out,
            options,
            info: InfoBuilder::new(InfoOptions {
                wireshark_compat: false,
                tcp_ports: false,
                tcp_options: false,
            }),
            gate: Gate::default(),
            conns: BTreeMap::new(),
            pdus: Vec::new(),
            packet_role: None,
            last_conn: None,
            mermaid_started: false,
            time: super::ViewTime::new(options.time),
            time_text: None,
            buf: String::new(),
        }
    }

    fn frame(&mut self, f: &FrameEvent<'_>) -> io::Result<()> {
        self.flush_held(f.conn)?;
        let role = match (f.header.opcode, f.close_code) {
            (OpCode::Close, Some(code)) => Some(close_code_role(code.code())),
            (OpCode::Close, None) => Some(Role::Warn),
            _ => None,
        };
        self.packet_role = worse(self.packet_role, role);
        if self.options.frames_only {
            let mut label = String::new();
            info::write_frame_info(&mut label, f, false);
            if f.header.opcode != OpCode::Close && !f.payload.is_empty() {
                let trimmed = label.trim_end().len();
                label.truncate(trimmed);
                label.push(' ');
                let kind = match f.header.opcode {
                    _ if f.header.rsv1() => Preview::Binary,
                    OpCode::Text => Preview::Text,
                    OpCode::Binary => Preview::Binary,
                    _ => Preview::Guess,
                };
                push_preview(&mut label, f.payload, kind, PREVIEW_CHARS);
            }
            self.pdus.push(PduArrow {
                conn: f.conn,
                dir: f.dir,
                number: f.packet,
                time: Some(f.rel_time),
                label,
                role,
            });
        } else {
            self.info.frame(f);
        }
        Ok(())
    }

    fn anomaly(&mut self, a: &Anomaly) {
        let role = match a.severity {
            Severity::Error => Some(Role::Bad),
            Severity::Warning => Some(Role::Warn),
            Severity::Note => None,
        };
        self.packet_role = worse(self.packet_role, role);
    }

    fn packet(&mut self, p: &PacketRecord<'_>) -> io::Result<()> {
        self.time.observe(p);
        let rec = match &p.body {
            PacketBody::Tcp(rec) => rec,
            PacketBody::Other(_) => {
                self.gate.other_packets += 1;
                self.info.reset();
                return Ok(());
            }
        };
        let conn = rec.conn;
        if !self.conns.contains_key(&conn) {
            if self.conns.len() >= MAX_CONNECTIONS {
                self.conns.pop_first();
            }
            let (client, server) = endpoints(rec, p);
            self.conns.insert(
                conn,
                FlowConn {
                    client,
                    server,
                    written: false,
                    fin: [false; 2],
                },
            );
        }
        let mut arrows = Vec::new();
        if self.options.frames_only {
            for pdu in std::mem::take(&mut self.pdus) {
                let arrow = Arrow {
                    number: Some(pdu.number),
                    time: Some(p.rel_time),
                    dir: pdu.dir,
                    label: pdu.label,
                    role: pdu.role,
                };
                if pdu.conn == conn {
                    arrows.push(arrow);
                } else {
                    self.emit(pdu.conn, arrow)?;
                }
            }
        } else {
            let mut label = String::new();
            self.info.write_info(&mut label, &p.body);
            arrows.push(Arrow {
                number: Some(p.number),
                time: Some(p.rel_time),
                dir: rec.dir,
                label,
                role: self.packet_role,
            });
        }
        self.info.reset();
        self.packet_role = None;
        let flags = rec.segment.flags;
        let mut closed = flags.has(TcpFlags::RST);
        if let Some(c) = self.conns.get_mut(&conn) {
            if flags.has(TcpFlags::FIN) {
                c.fin[rec.dir.index()] = true;
            }
            closed |= c.fin.iter().all(|f| *f);
        }
        for arrow in arrows {
            self.emit(conn, arrow)?;
        }
        if closed && !self.gate.is_websocket(conn) {
            // Closed without trying to upgrade: it will never be shown.
            self.gate.forget(conn);
            self.conns.remove(&conn);
        }
        if self.options.streaming {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Shows or holds an arrow of `conn`.
    fn emit(&mut self, conn: ConnId, arrow: Arrow) -> io::Result<()> {
        if self.gate.is_websocket(conn) {
            self.write_arrow(conn, &arrow)
        } else {
            self.gate.hold(conn, arrow);
            Ok(())
        }
    }

    fn flush_held(&mut self, conn: ConnId) -> io::Result<()> {
        if self.gate.is_websocket(conn) {
            return Ok(());
        }
        if let Some(held) = self.gate.mark_websocket(conn) {
            for arrow in held.items {
                self.write_arrow(conn, &arrow)?;
            }
        }
        Ok(())
    }

    fn write_arrow(&mut self, conn: ConnId, arrow: &Arrow) -> io::Result<()> {
        self.buf.clear();
        self.time_text = arrow.time.and_then(|t| self.time.text(t));
        if self.options.mermaid {
            self.mermaid_arrow(conn, arrow);
        } else {
            self.text_arrow(conn, arrow);
        }
        self.last_conn = Some(conn);
        self.out.write_all(self.buf.as_bytes())
    }

    fn connection_title(&mut self, conn: ConnId) -> String {
        match self.conns.get_mut(&conn) {
            Some(c) => {
                let again = if c.written { " (continued)" } else { "" };
                c.written = true;
                format!(
                    "Connection {conn}: client {}, server {}{again}",
                    c.client, c.server
                )
            }
            None => format!("Connection {conn}"),
        }
    }

    fn start_mermaid(&mut self) {
        if !self.mermaid_started {
            self.mermaid_started = true;
            self.buf
                .push_str("sequenceDiagram\n    participant Client\n    participant Server\n");
        }
    }

    fn mermaid_arrow(&mut self, conn: ConnId, arrow: &Arrow) {
        self.start_mermaid();
        if self.last_conn != Some(conn) {
            let title = self.connection_title(conn);
            let _ = writeln!(
                self.buf,
                "    Note over Client,Server: {}",
                mermaid_escape(&title)
            );
        }
        let (from, to) = match arrow.dir {
            Direction::ClientToServer => ("Client", "Server"),
            Direction::ServerToClient => ("Server", "Client"),
        };
        let mut label = String::new();
        if let Some(n) = arrow.number {
            let _ = write!(label, "{n} ");
        }
        if let Some(t) = arrow.time {
            let _ = match &self.time_text {
                Some(text) => write!(label, "{text} "),
                None => write!(label, "{t:.6} "),
            };
        }
        label.push_str(arrow.label.trim_end());
        let label = fit_width(&label, MERMAID_LABEL_CHARS);
        let _ = writeln!(self.buf, "    {from}->>{to}: {}", mermaid_escape(&label));
    }

    fn text_arrow(&mut self, conn: ConnId, arrow: &Arrow) {
        let style = self.options.style;
        let width = self.options.width;
        let inner = width.saturating_sub(PREFIX_WIDTH + 2);
        if self.last_conn != Some(conn) {
            if self.last_conn.is_some() {
                self.buf.push('\n');
            }
            let title = fit_width(&self.connection_title(conn), width);
            style.push(&mut self.buf, Role::Heading, &title);
            self.buf.push('\n');
            let head = format!("{:>NUMBER_WIDTH$} {:>TIME_WIDTH$}  ", "No.", "Time");
            let mut columns = format!("{head}client");
            let pad = width.saturating_sub(display_width(&columns) + "server".len());
            columns.push_str(&" ".repeat(pad));
            columns.push_str("server");
            style.push(&mut self.buf, Role::Dim, &columns);
            self.buf.push('\n');
        }
        let number = arrow.number.map(|n| n.to_string()).unwrap_or_default();
        let time = match (&self.time_text, arrow.time) {
            (Some(text), _) => text.clone(),
            (None, Some(t)) => format!("{t:.6}"),
            (None, None) => String::new(),
        };
        let head = format!("{number:>NUMBER_WIDTH$} {time:>TIME_WIDTH$}  ");
        // Long numbers or times push the lifeline right; the label gives way.
        let inner = inner.saturating_sub(head.len().saturating_sub(PREFIX_WIDTH));
        style.push(&mut self.buf, Role::Dim, &head);
        let label = fit_width(arrow.label.trim_end(), inner.saturating_sub(ARROW_OVERHEAD));
        let fill = inner.saturating_sub(display_width(&label) + ARROW_OVERHEAD - 1);
        let dir_role = match arrow.dir {
            Direction::ClientToServer => Role::Client,
            Direction::ServerToClient => Role::Server,
        };
        let painted = match arrow.role {
            Some(role) => style.paint(role, &label),
            None => label,
        };
        let (left, right) = match arrow.dir {
            Direction::ClientToServer => ("|-- ".to_string(), format!(" {}>|", "-".repeat(fill))),
            Direction::ServerToClient => (format!("|<{} ", "-".repeat(fill)), " --|".to_string()),
        };
        style.push(&mut self.buf, dir_role, &left);
        self.buf.push_str(&painted);
        style.push(&mut self.buf, dir_role, &right);
        self.buf.push('\n');
    }
}

impl<W: Write> EventSink for FlowGraph<W> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Packet(p) => self.packet(p)?,
            Event::HttpRequest(r) => {
                if r.request.is_websocket_upgrade() {
                    self.flush_held(r.conn)?;
                }
                if self.options.frames_only {
                    let mut label = String::new();
                    info::write_request_info(&mut label, r);
                    self.pdus.push(PduArrow {
                        conn: r.conn,
                        dir: Direction::ClientToServer,
                        number: r.packet,
                        time: None,
                        label,
                        role: None,
                    });
                } else {
                    self.info.request(r);
                }
            }
            Event::HttpResponse(r) => {
                let role = match r.accept {
                    Some(AcceptVerdict::Valid) => Some(Role::Good),
                    Some(_) => Some(Role::Bad),
                    None => None,
                };
                self.packet_role = worse(self.packet_role, role);
                if self.options.frames_only {
                    let mut label = String::new();
                    info::write_response_info(&mut label, r, false);
                    self.pdus.push(PduArrow {
                        conn: r.conn,
                        dir: Direction::ServerToClient,
                        number: r.packet,
                        time: None,
                        label,
                        role,
                    });
                } else {
                    self.info.response(r);
                }
            }
            Event::HttpPending(p) => self.info.pending(p),
            Event::Frame(f) => self.frame(f)?,
            Event::Anomaly(a) => self.anomaly(a),
            Event::ConnectionEnd(c) => {
                self.flush_held(c.conn)?;
                self.gate.mark_ended(c.conn);
            }
            Event::Handshake(_)
            | Event::Message(_)
            | Event::PingPong(_)
            | Event::CaptureError(_)
            | Event::Tls(_)
            | Event::AppExchange(_) => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        // Frames completed by the end of the capture have no packet of their own.
        for pdu in std::mem::take(&mut self.pdus) {
            let arrow = Arrow {
                number: Some(pdu.number),
                time: pdu.time,
                dir: pdu.dir,
                label: pdu.label,
                role: pdu.role,
            };
            if self.gate.is_websocket(pdu.conn) {
                self.write_arrow(pdu.conn, &arrow)?;
            }
        }
        self.gate.forget_all();
        if self.options.mermaid {
            self.buf.clear();
            self.start_mermaid();
            if let Some(summary) = self.gate.omitted_summary() {
                let _ = writeln!(self.buf, "    %% {}", escape_line(summary.as_bytes(), 400));
            }
            self.out.write_all(self.buf.as_bytes())?;
        } else if let Some(summary) = self.gate.omitted_summary() {
            if self.last_conn.is_some() {
                self.out.write_all(b"\n")?;
            }
            let text = self
                .options
                .style
                .paint(Role::Dim, &super::fit_words(&summary, self.options.width));
            writeln!(self.out, "{text}")?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mermaid_specials_become_entity_codes() {
        assert_eq!(
            mermaid_escape("a;b#c<br>%%d&"),
            "a#59;b#35;c#lt;br#gt;#37;#37;d#amp;"
        );
    }
}
