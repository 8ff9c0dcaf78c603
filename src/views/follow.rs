//! `--follow N`: the messages of connection N in order, as a transcript (`→` client to
//! server, `←` server to client, time, escaped text or a hex dump), like Wireshark's
//! Follow WebSocket Stream; `--export DIR` also writes each message's payload to a file.
//!
//! Messages come from the message layer's [`Event::Message`]. When a connection yields
//! none (a dissector without that layer), the transcript joins data frames itself: a
//! Text or Binary frame starts a message, Continuation frames extend it, FIN ends it;
//! control frames are messages of their own. It says so, and does not inflate
//! compressed messages.
//!
//! Export files are named `conn{N}-{c2s|s2c}-{index:04}.{ext}`, the index counting the
//! connection's messages from 1 in transcript order; the extension is `txt` (Text), `bin`
//! (Binary), `ping`, `pong`, `close` (the Close body: code and reason) or `opN` for
//! reserved opcodes. `index.tsv` lists them: index, time, dir, opcode, length, file,
//! complete (`no` when the capture did not hold the whole payload).

use super::{PREVIEW_CHARS, Preview, app, bytes_text, push_preview};
use crate::event::{
    AppExchange, AppExchangeEvent, ConnId, Event, EventSink, FrameEvent, MessageEvent, PacketBody,
};
use crate::flow::analysis::Direction;
use crate::term::escape::{escape_into, hex_dump_into};
use crate::term::style::{Role, Style, close_code_role};
use crate::ws::{CloseCode, OpCode};
use std::fmt::Write as _;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Most bytes of a message joined from frames (the rest is counted, not kept).
const MAX_JOINED: usize = 16 << 20;
/// Most characters of a text message shown in the transcript.
const MAX_TEXT_SHOWN: usize = 16 * 1024;
/// Most bytes of a binary message shown as a hex dump.
const MAX_HEX_SHOWN: usize = 1024;
/// Indentation of a message's body lines.
const BODY_INDENT: &str = "    ";
/// Marks the lines that say what the application said (decoded packets, exchanges).
const APP_MARK: &str = "» ";

/// The decoder line (for the first message the decoder read) and one line per decoded
/// application packet of `m`.
fn app_lines(m: &MessageEvent<'_>) -> Vec<String> {
    let mut lines = Vec::new();
    if m.app_first
        && let Some((protocol, by)) = m.app_decoder
        && protocol != crate::payload::Protocol::Json
    {
        lines.push(app::decoded_as(protocol, by));
    }
    if app::worth_showing(m.app) {
        lines.extend(app::packet_lines(m.app));
    }
    lines
}

/// What to follow and where to export.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// The connection.
    pub conn: ConnId,
    /// Directory for the exported payloads and `index.tsv`.
    pub export: Option<PathBuf>,
    /// Colours.
    pub style: Style,
    /// Flush after every message.
    pub streaming: bool,
    /// `-t`: how times are printed.
    pub time: crate::output::timefmt::TimeFormat,
    /// Most payload bytes exported in all (`--export-limit`), counted in `exported`, which
    /// several followers of one export share.
    pub export_limit: u64,
    /// Payload bytes exported so far.
    pub exported: std::rc::Rc<std::cell::Cell<u64>>,
    /// Lines wider than this many columns wrap under the body indentation (a transcript
    /// keeps every character; `None`: as long as they are).
    pub width: Option<usize>,
}

/// Default `--export-limit`: 1 GiB of exported payload.
pub const DEFAULT_EXPORT_LIMIT: u64 = 1 << 30;

/// A message ready to show.
#[derive(Debug)]
struct Msg {
    dir: Direction,
    opcode: OpCode,
    time: f64,
    first_packet: u64,
    last_packet: u64,
    frames: u32,
    len: u64,
    payload: Vec<u8>,
    complete: bool,
    compressed: bool,
    /// Close messages: the code and reason, as the dissector split them.
    close_code: Option<CloseCode>,
    close_reason: Vec<u8>,
    /// What the payload decoder read in it: the decoder line (first message it read),
    /// then one escaped line per application packet.
    app: Vec<String>,
}

/// A message being joined from frames in one direction.
#[derive(Debug)]
struct Joining {
    opcode: OpCode,
    first_packet: u64,
    frames: u32,
    len: u64,
    payload: Vec<u8>,
    complete: bool,
    compressed: bool,
}

/// The follow renderer.
pub struct Follow<W: Write> {
    out: W,
    options: FollowOptions,
    endpoints: Option<(SocketAddr, SocketAddr)>,
    handshake: Option<String>,
    header_written: bool,
    message_events: bool,
    fallback_note_written: bool,
    joining: [Option<Joining>; 2],
    /// Messages joined from frames in the current packet, shown at its record unless the
    /// message layer reported the same messages.
    joined: Vec<Msg>,
    count: u64,
    index: Option<BufWriter<File>>,
    buf: String,
    time: super::ViewTime,
}

fn arrow(dir: Direction) -> &'static str {
    match dir {
        Direction::ClientToServer => "→",
        Direction::ServerToClient => "←",
    }
}

fn dir_role(dir: Direction) -> Role {
    match dir {
        Direction::ClientToServer => Role::Client,
        Direction::ServerToClient => Role::Server,
    }
}

/// Export file extension for an opcode.
fn extension(opcode: OpCode) -> String {
    match opcode {
        OpCode::Text => "txt".to_string(),
        OpCode::Binary | OpCode::Continuation => "bin".to_string(),
        OpCode::Ping => "ping".to_string(),
        OpCode::Pong => "pong".to_string(),
        OpCode::Close => "close".to_string(),
        other => format!("op{}", u8::from(other)),
    }
}

/// Opcode name for `index.tsv`.
fn opcode_word(opcode: OpCode) -> String {
    match opcode {
        OpCode::Continuation => "continuation".to_string(),
        OpCode::Text => "text".to_string(),
        OpCode::Binary => "binary".to_string(),
        OpCode::Close => "close".to_string(),
        OpCode::Ping => "ping".to_string(),
        OpCode::Pong => "pong".to_string(),
        other => format!("reserved-{}", u8::from(other)),
    }
}

impl<W: Write> Follow<W> {
    /// A renderer writing to `out`. The export directory and its `index.tsv` are made
    /// when the first message arrives (or at the end); failing to is an output error.
    pub fn new(out: W, options: FollowOptions) -> Self {
        let options_time = options.time;
        Follow {
            out,
            options,
            endpoints: None,
            handshake: None,
            header_written: false,
            message_events: false,
            fallback_note_written: false,
            joining: [None, None],
            joined: Vec::new(),
            count: 0,
            index: None,
            buf: String::new(),
            time: super::ViewTime::new(options_time),
        }
    }

    /// Messages shown so far.
    pub fn messages(&self) -> u64 {
        self.count
    }

    /// Whether anything of the connection was seen (a packet or a handshake).
    pub fn seen(&self) -> bool {
        self.endpoints.is_some() || self.handshake.is_some()
    }

    /// Creates the export directory and `index.tsv` once.
    fn open_index(&mut self) -> io::Result<()> {
        if let (Some(dir), None) = (&self.options.export, &self.index) {
            let open = || -> io::Result<BufWriter<File>> {
                ensure_dir(dir)?;
                let mut index = BufWriter::new(create_file(&dir.join("index.tsv"))?);
                index.write_all(b"index\ttime\tdir\topcode\tlength\tfile\tcomplete\n")?;
                Ok(index)
            };
            self.index = Some(open().map_err(|e| export_error(dir, e))?);
        }
        Ok(())
    }

    /// Writes `text`, its lines wrapped to the width under the body indentation.
    fn write_fitted(&mut self, text: &str) -> io::Result<()> {
        match self.options.width {
            Some(width) => {
                let wrapped = crate::term::width::wrap_block(text, width, BODY_INDENT.len());
                self.out.write_all(wrapped.as_bytes())
            }
            None => self.out.write_all(text.as_bytes()),
        }
    }

    fn write_header(&mut self) -> io::Result<()> {
        if self.header_written {
            return Ok(());
        }
        self.header_written = true;
        let style = self.options.style;
        let mut title = format!("Connection {}", self.options.conn);
        if let Some((client, server)) = self.endpoints {
            let _ = write!(title, ": client {client}, server {server}");
        }
        let mut s = style.paint(Role::Heading, &title);
        s.push('\n');
        if let Some(h) = &self.handshake {
            s.push_str(h);
            s.push('\n');
        }
        self.write_fitted(&s)
    }

    fn on_message(&mut self, m: &MessageEvent<'_>) -> io::Result<()> {
        if !self.message_events {
            self.message_events = true;
            self.joined.clear();
            self.joining = [None, None];
        }
        let msg = Msg {
            dir: m.dir,
            opcode: m.opcode,
            time: m.rel_time,
            first_packet: m.first_packet,
            last_packet: m.last_packet,
            frames: m.frames,
            len: m.len,
            payload: m.payload.to_vec(),
            complete: m.payload_complete,
            compressed: m.compressed,
            close_code: m.close_code,
            close_reason: m.close_reason.to_vec(),
            app: app_lines(m),
        };
        self.show(&msg)
    }

    /// An application request answered (after its answer's message) or left unanswered
    /// (at the end of the connection).
    fn on_exchange(&mut self, x: &AppExchangeEvent<'_>) -> io::Result<()> {
        let line = match x.exchange {
            AppExchange::Answered(e) => app::exchange_line(e),
            AppExchange::Unanswered(u) => app::unanswered_line(u),
        };
        let role = match x.exchange {
            AppExchange::Answered(_) => Role::Dim,
            AppExchange::Unanswered(_) => Role::Warn,
        };
        self.write_header()?;
        let text = self.options.style.paint(role, &format!("{APP_MARK}{line}"));
        self.write_fitted(&format!("{BODY_INDENT}{text}\n"))?;
        if self.options.streaming {
            self.out.flush()?;
        }
        Ok(())
    }

    /// Joins frames into messages while the message layer is silent.
    fn on_frame(&mut self, f: &FrameEvent<'_>) {
        if self.message_events {
            return;
        }
        let h = &f.header;
        let d = f.dir.index();
        let piece = |j: &mut Joining| {
            j.frames = j.frames.saturating_add(1);
            j.len = j.len.saturating_add(h.payload_len);
            j.complete &= f.payload_complete;
            let room = MAX_JOINED.saturating_sub(j.payload.len());
            if f.payload.len() > room {
                j.complete = false;
            }
            j.payload
                .extend_from_slice(&f.payload[..f.payload.len().min(room)]);
        };
        let start = |opcode: OpCode| Joining {
            opcode,
            first_packet: f.first_packet,
            frames: 0,
            len: 0,
            payload: Vec::new(),
            complete: true,
            compressed: h.rsv1(),
        };
        let done = if h.opcode.is_control() {
            let mut j = start(h.opcode);
            piece(&mut j);
            Some(j)
        } else if h.opcode == OpCode::Continuation {
            // A continuation without a start (not captured) becomes a message of its own.
            let mut j = self.joining[d]
                .take()
                .unwrap_or_else(|| start(OpCode::Continuation));
            piece(&mut j);
            if h.fin {
                Some(j)
            } else {
                self.joining[d] = Some(j);
                None
            }
        } else {
            let mut j = start(h.opcode);
            piece(&mut j);
            if h.fin {
                Some(j)
            } else {
                self.joining[d] = Some(j);
                None
            }
        };
        if let Some(j) = done {
            self.joined.push(Msg {
                dir: f.dir,
                opcode: j.opcode,
                time: f.rel_time,
                first_packet: j.first_packet,
                last_packet: f.packet,
                frames: j.frames,
                len: j.len,
                payload: j.payload,
                complete: j.complete,
                compressed: j.compressed,
                close_code: f.close_code,
                close_reason: f.close_reason.to_vec(),
                app: Vec::new(),
            });
        }
    }

    fn show_joined(&mut self) -> io::Result<()> {
        if self.message_events || self.joined.is_empty() {
            self.joined.clear();
            return Ok(());
        }
        if !self.fallback_note_written {
            self.fallback_note_written = true;
            self.write_header()?;
            let note = self.options.style.paint(
                Role::Dim,
                "(messages joined from frames: the dissector reported no message events)",
            );
            writeln!(self.out, "{note}")?;
        }
        for msg in std::mem::take(&mut self.joined) {
            self.show(&msg)?;
        }
        Ok(())
    }

    fn show(&mut self, m: &Msg) -> io::Result<()> {
        self.write_header()?;
        self.count += 1;
        let style = self.options.style;
        let time_text = self.time.text(m.time);
        let s = &mut self.buf;
        s.clear();
        let role = dir_role(m.dir);
        style.push(s, role, arrow(m.dir));
        match time_text {
            Some(t) => {
                let _ = write!(s, " {t:>10}  ");
            }
            None => {
                let _ = write!(s, " {:>10.6}  ", m.time);
            }
        }
        style.push(s, role, &m.opcode.to_string());
        let _ = write!(s, ", {}", bytes_text(m.len));
        if m.frames > 1 {
            let _ = write!(s, " in {} frames", m.frames);
        }
        if m.first_packet == m.last_packet {
            let _ = write!(s, " (packet {})", m.last_packet);
        } else {
            let _ = write!(s, " (packets {}-{})", m.first_packet, m.last_packet);
        }
        if m.compressed {
            s.push_str(if self.message_events {
                " [compressed]"
            } else {
                " [compressed, not inflated]"
            });
        }
        if !m.complete {
            s.push(' ');
            style.push(s, Role::Warn, "[incomplete in the capture]");
        }
        match m.opcode {
            OpCode::Close => {
                s.push_str(": ");
                // The dissector split the Close body once; a one-byte body has no code.
                if m.close_code.is_none() && m.payload.len() == 1 {
                    style.push(s, Role::Bad, "malformed close body");
                } else {
                    if let Some(code) = m.close_code {
                        let name = format!("{} {}", code.code(), code.name());
                        style.push(s, close_code_role(code.code()), &name);
                    } else {
                        s.push_str("no status code");
                    }
                    if !m.close_reason.is_empty() {
                        s.push_str(", reason ");
                        push_preview(s, &m.close_reason, Preview::Text, PREVIEW_CHARS);
                    }
                }
                s.push('\n');
            }
            OpCode::Ping | OpCode::Pong => {
                if !m.payload.is_empty() {
                    s.push_str(": ");
                    push_preview(s, &m.payload, Preview::Guess, PREVIEW_CHARS);
                }
                s.push('\n');
            }
            _ => {
                s.push('\n');
                let text = m.opcode == OpCode::Text
                    || (m.opcode != OpCode::Binary && std::str::from_utf8(&m.payload).is_ok());
                let inflated = self.message_events || !m.compressed;
                if text && inflated {
                    write_text_body(s, &m.payload);
                } else {
                    hex_dump_into(s, &m.payload, BODY_INDENT, MAX_HEX_SHOWN);
                }
            }
        }
        for line in &m.app {
            let _ = writeln!(self.buf, "{BODY_INDENT}{APP_MARK}{line}");
        }
        let text = std::mem::take(&mut self.buf);
        let written = self.write_fitted(&text);
        self.buf = text;
        written?;
        self.export(m)?;
        if self.options.streaming {
            self.out.flush()?;
        }
        Ok(())
    }

    fn export(&mut self, m: &Msg) -> io::Result<()> {
        self.open_index()?;
        let (Some(dir), Some(index)) = (&self.options.export, &mut self.index) else {
            return Ok(());
        };
        let name = format!(
            "conn{}-{}-{:04}.{}",
            self.options.conn,
            m.dir.short(),
            self.count,
            extension(m.opcode)
        );
        let total = self
            .options
            .exported
            .get()
            .saturating_add(m.payload.len() as u64);
        if total > self.options.export_limit {
            // A capture chooses how much it inflates to: the disk is not its to fill.
            return Err(io::Error::other(format!(
                "exporting to {}: stopped before message {} of connection {}: --export-limit of {} bytes reached ({} written); raise it to export more",
                dir.display(),
                self.count,
                self.options.conn,
                self.options.export_limit,
                self.options.exported.get()
            )));
        }
        self.options.exported.set(total);
        create_file(&dir.join(&name))
            .and_then(|mut f| f.write_all(&m.payload))
            .map_err(|e| export_error(dir, e))?;
        writeln!(
            index,
            "{}\t{:.6}\t{}\t{}\t{}\t{}\t{}",
            self.count,
            m.time,
            m.dir.short(),
            opcode_word(m.opcode),
            m.len,
            name,
            if m.complete { "yes" } else { "no" }
        )
    }
}

/// `--follow N` named a connection the capture does not hold: `read` reports it on stderr
/// and exits 2 (it travels as the `io::Error` that ends the run).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoSuchConnection(pub ConnId);

impl std::fmt::Display for NoSuchConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no connection {} in the capture (see --view conversations for the numbers)",
            self.0
        )
    }
}

impl std::error::Error for NoSuchConnection {}

impl NoSuchConnection {
    /// The `NoSuchConnection` inside `e`, if that is what `e` is.
    pub fn within(e: &io::Error) -> Option<&NoSuchConnection> {
        e.get_ref().and_then(|inner| inner.downcast_ref())
    }
}

/// Checks an export directory before anything is written: it must be new or empty, or
/// `force` given; a path that exists and is not a directory (or is a symbolic link) is
/// refused. The error says what to do.
pub fn check_export_dir(dir: &Path, force: bool) -> Result<(), String> {
    let shown = dir.display();
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(format!("{shown}: {e}")),
        Ok(meta) if meta.file_type().is_symlink() => Err(format!(
            "{shown}: is a symbolic link; give the folder it points to"
        )),
        Ok(meta) if !meta.is_dir() => Err(format!("{shown}: exists and is not a folder")),
        Ok(_) => {
            let mut entries = std::fs::read_dir(dir).map_err(|e| format!("{shown}: {e}"))?;
            if entries.next().is_some() && !force {
                Err(format!(
                    "{shown}: the folder is not empty; give --force to write into it anyway"
                ))
            } else {
                Ok(())
            }
        }
    }
}

/// `--force`: removes what an earlier export wrote into `dir` (the files its `index.tsv`
/// lists, the index itself, and the same in its `conn{N}` subfolders), so the new export
/// never mixes with an old one; anything else in `dir` is left alone. Returns how many files
/// were removed.
pub fn remove_previous_export(dir: &Path) -> io::Result<u64> {
    let mut removed = 0;
    let mut folders = vec![dir.to_path_buf()];
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let is_conn = name.to_str().is_some_and(|n| {
                n.strip_prefix("conn")
                    .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
            });
            // symlink_metadata: a link named like a folder is not followed.
            if is_conn && std::fs::symlink_metadata(entry.path()).is_ok_and(|m| m.is_dir()) {
                folders.push(entry.path());
            }
        }
    }
    for folder in folders {
        let index = folder.join("index.tsv");
        let Ok(text) = std::fs::read_to_string(&index) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let Some(file) = line.split('\t').nth(5) else {
                continue;
            };
            // Only plain names this tool writes: nothing outside the folder.
            if file.is_empty() || file.contains(['/', '\\']) || file.starts_with('.') {
                continue;
            }
            let path = folder.join(file);
            if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_dir()) {
                std::fs::remove_file(&path)?;
                removed += 1;
            }
        }
        std::fs::remove_file(&index)?;
        removed += 1;
        if folder != dir {
            // Empty now unless something else was put there.
            let _ = std::fs::remove_dir(&folder);
        }
    }
    Ok(removed)
}

/// Makes `dir` (and its parents) unless it exists; an existing `dir` must be a real
/// directory, not a symbolic link to one.
pub(crate) fn ensure_dir(dir: &Path) -> io::Result<()> {
    match std::fs::symlink_metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "exists and is not a folder (symbolic links are not followed)",
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::create_dir_all(dir),
        Err(e) => Err(e),
    }
}

/// Creates `path` for writing without following a symbolic link: an existing entry (a
/// file from an earlier export with `--force`, or a link planted there) is removed first
/// (removing a link removes the link, not its target), then the file is made with
/// `create_new` (O_CREAT|O_EXCL), which fails rather than follow a link that appears in
/// between.
pub(crate) fn create_file(path: &Path) -> io::Result<File> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => {
            return Err(io::Error::new(
                io::ErrorKind::AlreadyExists,
                format!("{} is a folder", path.display()),
            ));
        }
        Ok(_) => std::fs::remove_file(path)?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// An export failure, saying where.
fn export_error(dir: &std::path::Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("exporting to {}: {e}", dir.display()))
}

/// A text payload, line by line, escaped, indented; cut after [`MAX_TEXT_SHOWN`]
/// characters.
fn write_text_body(s: &mut String, payload: &[u8]) {
    let mut budget = MAX_TEXT_SHOWN;
    for line in payload.split(|&b| b == b'\n') {
        s.push_str(BODY_INDENT);
        let before = s.len();
        let complete = escape_into(s, line, budget);
        budget = budget.saturating_sub(s[before..].chars().count());
        if !complete || budget == 0 {
            let _ = writeln!(s, "… (cut: {} in all)", bytes_text(payload.len() as u64));
            return;
        }
        s.push('\n');
    }
}

impl<W: Write> EventSink for Follow<W> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        let conn = self.options.conn;
        match event {
            Event::Packet(p) => {
                self.time.observe(p);
                if let PacketBody::Tcp(rec) = &p.body
                    && rec.conn == conn
                    && self.endpoints.is_none()
                    && let Some(addrs) = p.addrs
                {
                    let src = SocketAddr::new(addrs.src, rec.segment.src_port);
                    let dst = SocketAddr::new(addrs.dst, rec.segment.dst_port);
                    self.endpoints = Some(match rec.dir {
                        Direction::ClientToServer => (src, dst),
                        Direction::ServerToClient => (dst, src),
                    });
                }
                self.show_joined()?;
            }
            Event::Handshake(h) if h.conn == conn => {
                self.endpoints = Some((h.endpoints.client, h.endpoints.server));
                let mut line = String::new();
                line.push_str(BODY_INDENT);
                crate::output::info::write_request_line(&mut line, h.request);
                line.push_str("→ ");
                crate::output::info::write_status_line(&mut line, h.response);
                if h.upgraded {
                    line.push_str(if h.accept.is_valid() {
                        "[accept OK]"
                    } else {
                        "[accept check failed]"
                    });
                }
                self.handshake = Some(line);
            }
            Event::Frame(f) if f.conn == conn => self.on_frame(f),
            Event::Message(m) if m.conn == conn => self.on_message(m)?,
            Event::AppExchange(x) if x.conn == conn => self.on_exchange(x)?,
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.show_joined()?;
        if self.count == 0 && !self.seen() {
            return Err(io::Error::other(NoSuchConnection(self.options.conn)));
        }
        if self.count == 0 {
            self.write_header()?;
            let text = "(no WebSocket messages)";
            writeln!(self.out, "{}", self.options.style.paint(Role::Dim, text))?;
        }
        self.open_index()?;
        if let Some(index) = &mut self.index {
            index.flush()?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::views::fixtures;

    fn follow(events: &[Event<'_>]) -> String {
        follow_at(events, None)
    }

    fn follow_at(events: &[Event<'_>], width: Option<usize>) -> String {
        let mut out = Vec::new();
        let mut f = Follow::new(
            &mut out,
            FollowOptions {
                conn: 0,
                export: None,
                style: Style::plain(),
                streaming: false,
                time: Default::default(),
                export_limit: DEFAULT_EXPORT_LIMIT,
                exported: Default::default(),
                width,
            },
        );
        for e in events {
            f.event(e).expect("event");
        }
        f.finish().expect("finish");
        drop(f);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn frames_are_joined_when_no_message_events_come() {
        let c2s = Direction::ClientToServer;
        let a = fixtures::frame(0, c2s, OpCode::Text, false, b"hel", 1);
        let b = fixtures::frame(0, c2s, OpCode::Continuation, true, b"lo", 2);
        let other = fixtures::frame(1, c2s, OpCode::Text, true, b"other", 3);
        let out = follow(&[Event::Frame(&a), Event::Frame(&b), Event::Frame(&other)]);
        assert!(out.contains("joined from frames"), "{out}");
        assert!(
            out.contains("Text, 5 bytes in 2 frames (packets 1-2)\n    hello\n"),
            "{out}"
        );
        assert!(!out.contains("other"), "{out}");
    }

    #[test]
    fn message_events_replace_the_joining() {
        let c2s = Direction::ClientToServer;
        let a = fixtures::frame(0, c2s, OpCode::Text, true, b"compressed?", 1);
        let m = fixtures::message(0, c2s, OpCode::Text, b"inflated text", 1, 1);
        let out = follow(&[Event::Frame(&a), Event::Message(&m)]);
        assert!(!out.contains("joined from frames"), "{out}");
        assert!(out.contains("    inflated text\n"), "{out}");
        assert!(!out.contains("compressed?"), "{out}");
        assert_eq!(out.matches("Text, ").count(), 1, "{out}");
    }

    #[test]
    fn a_long_body_wraps_under_the_body_indentation_and_keeps_every_character() {
        let c2s = Direction::ClientToServer;
        let text = b"one two three four five six seven eight nine ten eleven twelve";
        let m = fixtures::message(0, c2s, OpCode::Text, text, 1, 1);
        let out = follow_at(&[Event::Message(&m)], Some(30));
        for line in out.lines() {
            assert!(line.chars().count() <= 30, "{line:?} in {out}");
        }
        let body: Vec<&str> = out
            .lines()
            // The header line wraps too: the body starts after its "(packet 1)".
            .skip_while(|l| !l.contains("(packet 1)"))
            .skip(1)
            .collect();
        assert!(body.len() > 1, "{out}");
        assert!(body.iter().all(|l| l.starts_with("    ")), "{out}");
        let joined = body.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
        assert_eq!(joined.as_bytes(), text);
        // Without a width nothing changes.
        let whole = follow_at(&[Event::Message(&m)], None);
        assert!(
            whole.contains(std::str::from_utf8(text).unwrap()),
            "{whole}"
        );
    }
}
