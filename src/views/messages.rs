//! The messages view: one line per WebSocket message and per control frame, for people.
//!
//! `  0.254687  conn 0  →  Text      28 B  4 frames  "frag-one|frag-two|frag-three"`

use crate::event::{
    Anomaly, Event, EventSink, MessageEvent, PingPongEvent, WorkerPart, render_into,
};
use crate::flow::analysis::Direction;
use crate::output::timefmt::TimeFormat;
use crate::payload::AppPacket;
use crate::term::escape;
use crate::term::escape::Digits;
use crate::term::style::{Role, Style, close_code_role};
use crate::term::width::{FitLine, push_wrapped};
use crate::ws::OpCode;
use std::borrow::Cow;
use std::io::{self, Write};

/// Characters of text shown per message.
const TEXT_PREVIEW: usize = 80;
/// Bytes of binary shown per message.
const HEX_PREVIEW: usize = 16;
/// Characters of an application packet's summary shown.
const APP_PREVIEW: usize = 200;
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Appends `text` padded with spaces to `width` characters, on the left when `right`
/// (`{:>width$}`), else on the right (`{:<width$}`).
fn push_padded(out: &mut String, text: &str, width: usize, right: bool) {
    let pad = width.saturating_sub(text.chars().count());
    if !right {
        out.push_str(text);
    }
    push_spaces(out, pad);
    if right {
        out.push_str(text);
    }
}

/// [`push_padded`] for a number (its digits are one column each). The digits are pushed
/// one `char` at a time: for these 1-8 digit numbers that is cheaper than one validated
/// copy (`Digits::as_str`), 4 M fewer instructions on small-20.pcap.
fn push_number(out: &mut String, v: u64, width: usize, right: bool) {
    let digits = Digits::new(v);
    let pad = width.saturating_sub(digits.as_bytes().len());
    if right {
        push_spaces(out, pad);
    }
    for &d in digits.as_bytes() {
        out.push(char::from(d));
    }
    if !right {
        push_spaces(out, pad);
    }
}

/// Appends `n` spaces.
fn push_spaces(out: &mut String, mut n: usize) {
    const SPACES: &str = "                ";
    while n > 0 {
        let step = n.min(SPACES.len());
        out.push_str(SPACES.get(..step).unwrap_or_default());
        n -= step;
    }
}

/// Appends `bytes` escaped, with `…` when cut at `max_chars` (as [`escape::escape_line`]).
fn push_escaped(out: &mut String, bytes: &[u8], max_chars: usize) {
    if !escape::escape_into(out, bytes, max_chars) {
        out.push('…');
    }
}

/// Messages-view renderer.
pub struct Messages<W: Write> {
    out: W,
    line: String,
    /// A piece of the line being built (reused).
    scratch: String,
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
            scratch: String::with_capacity(128),
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

    /// Writes `m`'s line into `self.line`. Pieces are written without `fmt` straight into
    /// the reused line (through the reused `self.scratch` when the line is fitted or
    /// coloured): a `format!` per piece and a `String` per piece in the fitted line were
    /// more than half of the view's instructions, and the copy through `scratch` 2.4%
    /// (callgrind, small-20.pcap).
    fn message(&mut self, m: &MessageEvent<'_>) {
        self.line.clear();
        let (style, width) = (self.style, self.width);
        if m.app_first
            && let Some((protocol, by)) = m.app_decoder
            && protocol != crate::payload::Protocol::Json
        {
            // Never guess silently: say which decoder reads this connection, and why.
            FitLine::new(&mut self.line, style, width)
                .push(None, &format!("{:>11}  conn {:<3}    ", "", m.conn))
                .push(
                    Some(Role::Dim),
                    &format!("decoded as {} (chosen by {})", protocol.name(), by.name()),
                );
            self.line.push('\n');
        }
        let kind: Cow<'static, str> = match m.opcode {
            OpCode::Close => "Close".into(),
            other if other.is_reserved() => other.to_string().into(),
            other => other.name().into(),
        };
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
        let piece = &mut self.scratch;
        let time = &mut self.time;
        let mut l = FitLine::new(&mut self.line, style, width);
        l.push_with(Some(Role::Dim), piece, |out| {
            let start = out.len();
            if !time.push_text(out, m.rel_time) {
                escape::push_secs6_str(out, m.rel_time);
            }
            // `{time:>11}`
            let shown = out.get(start..).map_or(0, |t| t.chars().count());
            let pad = 11usize.saturating_sub(shown);
            if pad > 0 {
                out.insert_str(start, "           ".get(..pad).unwrap_or_default());
            }
        })
        .push_with(None, piece, |out| {
            out.push_str("  conn ");
            push_number(out, m.conn.into(), 3, false);
            out.push(' ');
        })
        .push(Some(dir_role), Self::arrow(m.dir))
        .push(None, "  ")
        .push_with(kind_role, piece, |out| push_padded(out, &kind, 8, false))
        .push_with(None, piece, |out| {
            out.push(' ');
            push_number(out, m.len, 8, true);
            out.push_str(" B");
        });
        if m.frames > 1 {
            l.push_with(None, piece, |out| {
                out.push_str("  ");
                escape::push_u64_str(out, m.frames.into());
                out.push_str(" frames");
            });
        }
        if m.compressed {
            l.push_with(None, piece, |out| {
                out.push_str("  deflate ");
                escape::push_u64_str(out, m.wire_len);
                out.push_str(" B on the wire");
            });
        }
        l.push(None, "  ");
        // Generic JSON adds nothing to the text preview; protocols get their summary.
        let app = m
            .app
            .first()
            .is_some_and(|p| p.protocol != crate::payload::Protocol::Json);
        if app {
            // What the application said, as the payload decoder read it.
            l.push_with(None, piece, |out| {
                for (i, packet) in m.app.iter().enumerate() {
                    if i > 0 {
                        out.push_str(" | ");
                    }
                    push_escaped(out, packet.summary.as_bytes(), APP_PREVIEW);
                }
            });
            if !m.payload_complete {
                l.push(Some(Role::Warn), "  [incomplete]");
            }
            self.line.push('\n');
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
                        l.push_with(None, piece, |out| {
                            out.push_str(" \"");
                            push_escaped(out, m.close_reason, TEXT_PREVIEW);
                            out.push('"');
                        });
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
                l.push_with(None, piece, |out| {
                    out.push('"');
                    push_escaped(out, m.payload, TEXT_PREVIEW);
                    out.push('"');
                });
            }
            _ => {
                l.push_with(None, piece, |out| {
                    for &b in m.payload.iter().take(HEX_PREVIEW) {
                        out.push(char::from(HEX_DIGITS[usize::from(b >> 4)]));
                        out.push(char::from(HEX_DIGITS[usize::from(b & 0xf)]));
                        out.push(' ');
                    }
                    if m.payload.len() > HEX_PREVIEW {
                        out.push('…');
                    } else {
                        out.pop();
                    }
                });
            }
        }
        if !m.payload_complete {
            l.push(Some(Role::Warn), "  [incomplete]");
        }
        self.line.push('\n');
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
        FitLine::new(&mut self.line, self.style, self.width)
            .push(None, &format!("{:>11}  conn {:<3}    ", "", p.conn))
            .push(
                Some(Role::Dim),
                &format!(
                    "round trip {:.3} ms (ping in packet {}, pong in packet {})",
                    p.rtt * 1000.0,
                    p.ping_packet,
                    p.pong_packet
                ),
            );
        self.line.push('\n');
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
                        let mut fitted = String::new();
                        FitLine::new(&mut fitted, self.style, self.width).push(None, &text);
                        writeln!(self.out, "{fitted}")?;
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

    fn worker_part(&self) -> Option<Box<dyn WorkerPart>> {
        // Seconds since the first packet need nothing from other connections; the other
        // `-t` formats need the capture's start and the line before (a delta).
        if self.time.format() != TimeFormat::Relative {
            return None;
        }
        let mut lines = Messages::new(Vec::new(), false).with_style(self.style);
        lines.width = self.width;
        Some(Box::new(LinesPart {
            lines,
            pass_packet: false,
        }))
    }

    fn part_output(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        if self.flush_each_line {
            self.out.flush()?;
        }
        Ok(())
    }
}

/// The messages view's lines made on a dissection thread: a line depends only on its
/// event (with the default time format), so only its bytes come back. HTTP heads are
/// passed on, with their packet's record: an Engine.IO polling body in them is decoded
/// on the reading thread, in packet order, and its lines are written at that record.
struct LinesPart {
    lines: Messages<Vec<u8>>,
    /// An HTTP head of the current packet was passed on: its record goes too.
    pass_packet: bool,
}

impl WorkerPart for LinesPart {
    fn event(&mut self, event: &Event<'_>, out: &mut Vec<u8>) -> bool {
        match event {
            Event::Packet(_) if self.pass_packet => {
                self.pass_packet = false;
                return true;
            }
            _ => {}
        }
        // Writing into a Vec cannot fail.
        render_into(
            &mut self.lines,
            |l| &mut l.out,
            out,
            |l| {
                let _ = l.event(event);
            },
        );
        false
    }

    fn polled_head(&mut self, _event: &Event<'_>, _out: &mut Vec<u8>) {
        // Its lines (the decoded body's) are written on the reading thread at its
        // packet's record, which goes there too.
        self.pass_packet = true;
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}
