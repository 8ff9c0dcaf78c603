//! The messages view: one line per WebSocket message and per control frame, for people.
//!
//! `  0.254687  conn 0  →  Text      28 B  4 frames  "frag-one|frag-two|frag-three"`

use crate::event::{Anomaly, Event, EventSink, MessageEvent, PingPongEvent};
use crate::flow::analysis::Direction;
use crate::payload::AppPacket;
use crate::term::escape;
use crate::term::style::{Role, Style, close_code_role};
use crate::term::width::{FitLine, push_wrapped};
use crate::ws::OpCode;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Characters of text shown per message.
const TEXT_PREVIEW: usize = 80;
/// Bytes of binary shown per message.
const HEX_PREVIEW: usize = 16;
/// Characters of an application packet's summary shown.
const APP_PREVIEW: usize = 200;

/// Messages-view renderer.
pub struct Messages<W: Write> {
    out: W,
    line: String,
    flush_each_line: bool,
    time: super::ViewTime,
    style: Style,
    /// Lines are cut to this many columns (`…`), diagnostics wrapped.
    width: Option<usize>,
    /// Lines of HTTP messages whose bodies carried application packets (Engine.IO
    /// long-polling), after the time column: written when their packet's record gives the
    /// time.
    polled: Vec<String>,
}

impl<W: Write> Messages<W> {
    /// A renderer writing to `out`.
    pub fn new(out: W, flush_each_line: bool) -> Self {
        Messages {
            out,
            line: String::with_capacity(256),
            flush_each_line,
            time: super::ViewTime::default(),
            style: Style::plain(),
            width: None,
            polled: Vec::new(),
        }
    }

    /// Colours: directions, close codes, diagnostics, secondary detail.
    pub fn with_style(mut self, style: Style) -> Self {
        self.style = style;
        self
    }

    /// Fits every line to `width` columns (when known).
    pub fn with_width(mut self, width: Option<usize>) -> Self {
        self.width = width.map(|w| w.max(super::MIN_WIDTH));
        self
    }

    /// Ends `fitted` as a line of `self.line`.
    fn push_line(&mut self, fitted: FitLine) {
        self.line.push_str(&fitted.into_string());
        self.line.push('\n');
    }

    /// Prints times in `format` (`-t`).
    pub fn with_time(mut self, format: crate::output::timefmt::TimeFormat) -> Self {
        self.time = super::ViewTime::new(format);
        self
    }

    fn arrow(dir: Direction) -> &'static str {
        match dir {
            Direction::ClientToServer => "→",
            Direction::ServerToClient => "←",
        }
    }

    fn message(&mut self, m: &MessageEvent<'_>) {
        self.line.clear();
        let (style, width) = (self.style, self.width);
        if m.app_first
            && let Some((protocol, by)) = m.app_decoder
            && protocol != crate::payload::Protocol::Json
        {
            // Never guess silently: say which decoder reads this connection, and why.
            let mut l = FitLine::new(style, width);
            l.push(None, &format!("{:>11}  conn {:<3}    ", "", m.conn))
                .push(
                    Some(Role::Dim),
                    &format!("decoded as {} (chosen by {})", protocol.name(), by.name()),
                );
            self.push_line(l);
        }
        let kind = match m.opcode {
            OpCode::Close => "Close".to_string(),
            other => other.to_string(),
        };
        let time = self
            .time
            .text(m.rel_time)
            .unwrap_or_else(|| format!("{:.6}", m.rel_time));
        let dir_role = match m.dir {
            Direction::ClientToServer => Role::Client,
            Direction::ServerToClient => Role::Server,
        };
        let kind_role = match (m.opcode, m.close_code) {
            (OpCode::Close, Some(code)) => Some(close_code_role(code.code())),
            (OpCode::Close, None) => Some(Role::Warn),
            (OpCode::Ping | OpCode::Pong, _) => Some(Role::Dim),
            _ => None,
        };
        let mut l = FitLine::new(style, width);
        l.push(Some(Role::Dim), &format!("{time:>11}"))
            .push(None, &format!("  conn {:<3} ", m.conn))
            .push(Some(dir_role), Self::arrow(m.dir))
            .push(None, "  ")
            .push(kind_role, &format!("{kind:<8}"))
            .push(None, &format!(" {:>8} B", m.len));
        if m.frames > 1 {
            l.push(None, &format!("  {} frames", m.frames));
        }
        if m.compressed {
            l.push(None, &format!("  deflate {} B on the wire", m.wire_len));
        }
        l.push(None, "  ");
        // Generic JSON adds nothing to the text preview; protocols get their summary.
        let app = m
            .app
            .first()
            .is_some_and(|p| p.protocol != crate::payload::Protocol::Json);
        if app {
            // What the application said, as the payload decoder read it.
            let mut summary = String::new();
            for (i, packet) in m.app.iter().enumerate() {
                if i > 0 {
                    summary.push_str(" | ");
                }
                summary.push_str(&escape::escape_line(packet.summary.as_bytes(), APP_PREVIEW));
            }
            l.push(None, &summary);
            if !m.payload_complete {
                l.push(Some(Role::Warn), "  [incomplete]");
            }
            self.push_line(l);
            return;
        }
        match m.opcode {
            // The dissector split the Close body once; a one-byte body has no code.
            OpCode::Close => match m.close_code {
                Some(code) => {
                    l.push(
                        Some(close_code_role(code.code())),
                        &format!("{} {}", code.code(), code.name()),
                    );
                    if !m.close_reason.is_empty() {
                        l.push(
                            None,
                            &format!(" \"{}\"", escape::escape_line(m.close_reason, TEXT_PREVIEW)),
                        );
                    }
                }
                None if m.payload.len() == 1 => {
                    l.push(Some(Role::Bad), "(malformed close body)");
                }
                None => {
                    l.push(None, "(no status code)");
                }
            },
            _ if m.payload.is_empty() => {}
            OpCode::Text | OpCode::Ping | OpCode::Pong
                if std::str::from_utf8(m.payload).is_ok() =>
            {
                l.push(
                    None,
                    &format!("\"{}\"", escape::escape_line(m.payload, TEXT_PREVIEW)),
                );
            }
            _ => {
                let mut hex = String::new();
                for b in m.payload.iter().take(HEX_PREVIEW) {
                    let _ = write!(hex, "{b:02x} ");
                }
                if m.payload.len() > HEX_PREVIEW {
                    hex.push('…');
                } else {
                    hex.pop();
                }
                l.push(None, &hex);
            }
        }
        if !m.payload_complete {
            l.push(Some(Role::Warn), "  [incomplete]");
        }
        self.push_line(l);
    }

    /// An HTTP message whose body carried application packets: `→  POST  polling  socket.io
    /// EVENT ...` (Engine.IO long-polling before or instead of the upgrade).
    fn polled(&mut self, conn: u32, dir: Direction, kind: String, app: &[AppPacket]) {
        let mut line = format!(
            "  conn {:<3} {}  {:<8} {:>10}  ",
            conn,
            Self::arrow(dir),
            kind,
            "polling"
        );
        for (i, packet) in app.iter().enumerate() {
            if i > 0 {
                line.push_str(" | ");
            }
            line.push_str(&escape::escape_line(packet.summary.as_bytes(), APP_PREVIEW));
        }
        line.push('\n');
        self.polled.push(line);
    }

    fn ping_pong(&mut self, p: &PingPongEvent) {
        self.line.clear();
        let mut l = FitLine::new(self.style, self.width);
        l.push(None, &format!("{:>11}  conn {:<3}    ", "", p.conn))
            .push(
                Some(Role::Dim),
                &format!(
                    "round trip {:.3} ms (ping in packet {}, pong in packet {})",
                    p.rtt * 1000.0,
                    p.ping_packet,
                    p.pong_packet
                ),
            );
        self.push_line(l);
    }

    fn anomaly(&mut self, a: &Anomaly) {
        self.line.clear();
        let role = match a.severity {
            crate::rules::Severity::Error => Role::Bad,
            crate::rules::Severity::Warning => Role::Warn,
            crate::rules::Severity::Note => Role::Dim,
        };
        let text = format!(
            "{}[{}]: {}",
            a.severity.as_str(),
            a.kind,
            escape::escape_line(a.message.as_bytes(), 400)
        );
        // A diagnostic is a sentence: wrapped, never cut.
        push_wrapped(
            &mut self.line,
            &format!("    ! packet {}: ", a.packet),
            "      ",
            &text,
            self.width,
            self.style,
            role,
        );
    }
}

impl<W: Write> EventSink for Messages<W> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Message(m) => self.message(m),
            Event::PingPong(p) => self.ping_pong(p),
            Event::Anomaly(a) => self.anomaly(a),
            Event::Packet(p) => {
                self.time.observe(p);
                if !self.polled.is_empty() {
                    let time = self
                        .time
                        .text(p.rel_time)
                        .unwrap_or_else(|| format!("{:.6}", p.rel_time));
                    for line in std::mem::take(&mut self.polled) {
                        // Fitted to the width as every other line of the view.
                        let text = format!("{time:>11}{}", line.trim_end_matches('\n'));
                        let mut fitted = FitLine::new(self.style, self.width);
                        fitted.push(None, &text);
                        writeln!(self.out, "{}", fitted.into_string())?;
                    }
                    if self.flush_each_line {
                        self.out.flush()?;
                    }
                }
                return Ok(());
            }
            Event::HttpRequest(r) if !r.app.is_empty() => {
                let kind = escape::escape_line(r.request.method.as_bytes(), 8);
                self.polled(r.conn, Direction::ClientToServer, kind, r.app);
                return Ok(());
            }
            Event::HttpResponse(r) if !r.app.is_empty() => {
                let kind = format!("HTTP {}", r.response.status);
                self.polled(r.conn, Direction::ServerToClient, kind, r.app);
                return Ok(());
            }
            _ => return Ok(()),
        }
        self.out.write_all(self.line.as_bytes())?;
        if self.flush_each_line {
            self.out.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
