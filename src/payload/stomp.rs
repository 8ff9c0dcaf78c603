//! STOMP 1.0, 1.1 and 1.2 over WebSocket (`v10.stomp`, `v11.stomp`, `v12.stomp`): frames
//! of a command line, header lines and a body ended by NUL (or sized by `content-length`),
//! heart-beats as bare end-of-lines. Each direction is a byte stream: a message may hold
//! several frames, and a frame may span several messages. Frames asking for a `receipt`
//! pair with the RECEIPT (or ERROR) carrying that `receipt-id`; CONNECT pairs with
//! CONNECTED; MESSAGE frames are tied to the SUBSCRIBE of their `subscription` id, the
//! subscription's exchange ending at its UNSUBSCRIBE.
//!
//! Hand-written: the STOMP crates on crates.io are client libraries whose frame codecs
//! reject a frame outright (no partial frame, no position); the frame syntax is a few lines
//! of the specification's grammar.

use super::bound::{self, Line};
use super::pending::{MAX_PENDING, Pending, Request, dropped_anomaly};
use super::{
    AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Exchange, Outcome,
    Protocol, Unanswered,
};
use crate::flow::analysis::Direction;
use serde_json::{Map, Value};

/// Most bytes of one frame held while it is reassembled; a longer frame is shown from
/// its first bytes and the rest, up to its NUL, is skipped.
pub const MAX_FRAME: usize = 4 << 20;
/// Most body bytes copied into the `body` field.
const MAX_SHOWN_BODY: usize = bound::MAX_FIELD_STRING;

/// Commands of STOMP 1.2 §"Client Frames" and §"Server Frames" (STOMP is 1.2's alias of
/// CONNECT).
const COMMANDS: &[&str] = &[
    "CONNECT",
    "STOMP",
    "SEND",
    "SUBSCRIBE",
    "UNSUBSCRIBE",
    "ACK",
    "NACK",
    "BEGIN",
    "COMMIT",
    "ABORT",
    "DISCONNECT",
    "CONNECTED",
    "MESSAGE",
    "RECEIPT",
    "ERROR",
];

/// Whether `b` starts with a command line (a known command then an end-of-line).
fn starts_with_command(b: &[u8]) -> bool {
    COMMANDS.iter().any(|c| {
        b.strip_prefix(c.as_bytes())
            .is_some_and(|r| r.starts_with(b"\n") || r.starts_with(b"\r\n"))
    })
}

/// The negotiated version, as 10, 11 or 12.
fn version_from(s: &str) -> Option<u8> {
    match s.trim() {
        "1.0" => Some(10),
        "1.1" => Some(11),
        "1.2" => Some(12),
        _ => None,
    }
}

/// Decodes a header name or value: STOMP 1.2 escapes `\r \n \c \\`, 1.1 all but `\r`;
/// 1.0 has none. `Err` names an undefined escape (the value is kept as written).
fn unescape(s: &str, version: u8) -> Result<String, String> {
    if version < 11 || !s.contains('\\') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('c') => out.push(':'),
            Some('\\') => out.push('\\'),
            Some('r') if version >= 12 => out.push('\r'),
            other => {
                return Err(format!(
                    "undefined escape \\{}",
                    other.map(String::from).unwrap_or_default()
                ));
            }
        }
    }
    Ok(out)
}

/// One frame's head: command and headers, as read.
#[derive(Debug)]
struct Head {
    command: String,
    /// In order; a repeated header's first value is the one that counts (STOMP 1.2).
    headers: Vec<(String, String)>,
    /// Byte offset of the body in the stream buffer.
    body_start: usize,
    /// Problems found (undefined escapes, header lines without a colon).
    problems: Vec<String>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The end of the line starting at `from` (index of its LF), if there is one.
fn line_end(b: &[u8], from: usize) -> Option<usize> {
    b.get(from..)?
        .iter()
        .position(|&x| x == b'\n')
        .map(|i| from + i)
}

/// Reads the command and headers of the frame at `b[0..]`; `None` until the blank line that
/// ends the headers has arrived.
fn read_head(b: &[u8], version: u8) -> Option<Head> {
    let lf = line_end(b, 0)?;
    let text = |from: usize, to: usize| {
        let l = b.get(from..to).unwrap_or_default();
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        String::from_utf8_lossy(l).into_owned()
    };
    let command = text(0, lf);
    // CONNECT and CONNECTED frames never escape (so that 1.0 peers can read them).
    let escaping = if matches!(command.as_str(), "CONNECT" | "STOMP" | "CONNECTED") {
        10
    } else {
        version
    };
    let mut headers = Vec::new();
    let mut problems = Vec::new();
    let mut pos = lf + 1;
    loop {
        let end = line_end(b, pos)?;
        let line = text(pos, end);
        pos = end + 1;
        if line.is_empty() {
            break;
        }
        let Some((name, value)) = line.split_once(':') else {
            problems.push(format!(
                "header line without a colon: {}",
                bound::cap_str(&line, 40)
            ));
            continue;
        };
        let mut dec = |s: &str| {
            unescape(s, escaping).unwrap_or_else(|e| {
                problems.push(e);
                s.to_string()
            })
        };
        let name = dec(name);
        let value = dec(value);
        if headers.len() < bound::MAX_FIELD_ITEMS {
            headers.push((
                bound::cap_str(&name, bound::MAX_FIELD_STRING),
                bound::cap_str(&value, bound::MAX_FIELD_STRING),
            ));
        }
    }
    Some(Head {
        command,
        headers,
        body_start: pos,
        problems,
    })
}

/// How a frame in the buffer ends.
enum Scan {
    /// Need more bytes.
    More,
    /// A whole frame: its head, the body's end, the index after its NUL, and a
    /// content-length problem if any.
    Frame(Head, usize, usize, Option<String>),
}

/// What is known of the unfinished frame at the start of a stream's buffer, so that each
/// new message costs its own length, not the frame's (a frame sent one byte per message
/// must not be re-read from its start every time).
#[derive(Debug, Default)]
struct Hint {
    /// Its head, once the blank line after the headers arrived.
    head: Option<Head>,
    /// Bytes already searched for the blank line (no head yet) or for the NUL (with one).
    scanned: usize,
}

/// Where the head of the frame at `b[0..]` ends (the index after its blank line), searching
/// from `from`; `Err(i)` when a NUL at `i` comes first (a frame without a blank line).
fn head_end(b: &[u8], from: usize) -> Option<Result<usize, usize>> {
    let from = from.saturating_sub(2);
    let mut i = from;
    while let Some(&x) = b.get(i) {
        match x {
            0 => return Some(Err(i)),
            b'\n' if b.get(i + 1) == Some(&b'\n') => return Some(Ok(i + 2)),
            b'\n' if b.get(i + 1..i + 3) == Some(b"\r\n") => return Some(Ok(i + 3)),
            _ => {}
        }
        i += 1;
    }
    None
}

/// Finds the end of the frame at the start of `b`, resuming from `hint`.
fn scan(b: &[u8], version: u8, hint: &mut Hint) -> Scan {
    if hint.head.is_none() {
        match head_end(b, hint.scanned) {
            None => {
                hint.scanned = b.len();
                return Scan::More;
            }
            Some(Err(nul)) => {
                // No blank line before the NUL: the headers are what precedes it.
                let mut text = b.get(..nul).unwrap_or_default().to_vec();
                text.extend_from_slice(b"\n\n");
                let mut head = read_head(&text, version).unwrap_or(Head {
                    command: String::new(),
                    headers: Vec::new(),
                    body_start: nul,
                    problems: Vec::new(),
                });
                head.problems
                    .push("headers not ended by a blank line".to_string());
                head.body_start = nul;
                *hint = Hint::default();
                return Scan::Frame(head, nul, nul + 1, None);
            }
            Some(Ok(end)) => {
                hint.head = read_head(b.get(..end).unwrap_or_default(), version);
                hint.scanned = end;
            }
        }
    }
    let Some(head) = hint.head.as_ref() else {
        return Scan::More;
    };
    let start = head.body_start;
    let mut problem = None;
    if let Some(cl) = head.get("content-length") {
        match cl.trim().parse::<usize>() {
            Ok(n) => match start.checked_add(n).and_then(|e| b.get(e).map(|&x| (e, x))) {
                Some((e, 0)) => {
                    let head = hint.head.take().unwrap_or_else(|| unreachable_head(start));
                    *hint = Hint::default();
                    return Scan::Frame(head, e, e + 1, None);
                }
                Some((e, _)) => {
                    problem = Some(format!(
                        "content-length {n}: byte {} of the body is not NUL",
                        e - start
                    ));
                    // The NUL is searched from the body's start after all.
                    hint.scanned = hint.scanned.min(start);
                }
                None => return Scan::More,
            },
            Err(_) => {
                problem = Some(format!(
                    "content-length {:?} is not a number",
                    bound::cap_str(cl, 24)
                ))
            }
        }
    }
    let from = hint.scanned.max(start);
    match b
        .get(from..)
        .and_then(|body| body.iter().position(|&x| x == 0))
    {
        Some(i) => {
            let head = hint.head.take().unwrap_or_else(|| unreachable_head(start));
            *hint = Hint::default();
            Scan::Frame(head, from + i, from + i + 1, problem)
        }
        None => {
            hint.scanned = b.len();
            Scan::More
        }
    }
}

/// A placeholder head (never used: `scan` only takes a head it holds).
fn unreachable_head(body_start: usize) -> Head {
    Head {
        command: String::new(),
        headers: Vec::new(),
        body_start,
        problems: Vec::new(),
    }
}

/// A subscription and the MESSAGE frames it received.
#[derive(Debug)]
struct Sub {
    req: Request,
    /// Packet and time of the last MESSAGE.
    last: Option<(u64, u64)>,
}

/// One direction's byte stream.
#[derive(Debug, Default)]
struct Stream {
    buf: Vec<u8>,
    /// Packet number of the message holding `buf[0]`.
    first: Option<u64>,
    /// Skipping an over-long frame up to its NUL.
    skipping: bool,
    /// What is known of the unfinished frame at `buf[0]`.
    hint: Hint,
}

/// Per-connection STOMP decoder.
#[derive(Debug)]
pub struct StompDecoder {
    version: u8,
    streams: [Stream; 2],
    /// Key: (who asked, receipt id).
    receipts: Pending<(Direction, String), Request>,
    connect: Option<Request>,
    subs: Pending<String, Sub>,
    last: Option<(Direction, u64)>,
}

impl StompDecoder {
    /// A decoder for `version` (10, 11 or 12) until a CONNECTED frame says which was agreed.
    pub fn new(version: u8) -> Self {
        StompDecoder {
            version,
            streams: Default::default(),
            receipts: Pending::new(MAX_PENDING),
            connect: None,
            subs: Pending::new(MAX_PENDING),
            last: None,
        }
    }

    /// Emits the frame `head` + `body`; `nul`: whether its NUL was seen.
    #[allow(clippy::too_many_arguments)]
    fn frame(
        &mut self,
        msg: &AppInput<'_>,
        head: Head,
        body: &[u8],
        body_total: usize,
        first_packet: u64,
        cl_problem: Option<String>,
        out: &mut Vec<AppOutput>,
    ) {
        let start = out.len();
        let report = msg.complete;
        let anomaly = |out: &mut Vec<AppOutput>, kind, detail: String| {
            if report {
                out.push(AppOutput::Anomaly(AppAnomaly::new(kind, msg, detail)));
            }
        };
        let cmd = head.command.as_str();
        if !COMMANDS.contains(&cmd) {
            anomaly(
                out,
                AnomalyKind::StompMalformedFrame,
                format!("unknown command {:?}", bound::cap_str(cmd, 40)),
            );
        }
        for p in &head.problems {
            anomaly(out, AnomalyKind::StompMalformedFrame, p.clone());
        }
        if let Some(p) = cl_problem {
            anomaly(out, AnomalyKind::StompBadContentLength, p);
        }
        let mut line = Line::new(bound::MAX_SUMMARY);
        line.push("stomp ");
        line.push(&bound::cap_str(cmd, 40));
        let mut fields: Vec<(&'static str, Value)> = Vec::new();
        fields.push(("command", bound::cap_str(cmd, 40).into()));
        let mut hm = Map::new();
        for (n, v) in &head.headers {
            if !hm.contains_key(n) {
                hm.insert(n.clone(), v.clone().into());
            }
        }
        fields.push(("headers", Value::Object(hm)));
        let h = |n: &str| head.get(n).map(str::to_string);
        let dest = h("destination");
        if let Some(d) = &dest {
            line.push(" ");
            line.push(d);
            fields.push(("destination", d.clone().into()));
        }
        for (header, field, shown) in [
            ("id", "id", "id"),
            ("subscription", "subscription", "sub"),
            ("message-id", "message_id", "message-id"),
            ("receipt", "receipt", "receipt"),
            ("receipt-id", "receipt_id", "receipt-id"),
            ("transaction", "transaction", "tx"),
            ("ack", "ack", "ack"),
            ("version", "version", "version"),
            ("accept-version", "accept_version", "accept-version"),
            ("host", "host", "host"),
            ("heart-beat", "heart_beat", "heart-beat"),
            ("message", "message", "message"),
        ] {
            if let Some(v) = h(header) {
                // CONNECT's host and heart-beat are in the headers object; keep the line short.
                if !matches!(header, "host" | "heart-beat" | "ack") {
                    line.push(&format!(" {shown}="));
                    line.push(&v);
                }
                fields.push((field, v.into()));
            }
        }
        if let Some(cl) = h("content-length").and_then(|c| c.trim().parse::<u64>().ok()) {
            fields.push(("content_length", cl.into()));
        }
        if let Some(ct) = h("content-type") {
            fields.push(("content_type", ct.into()));
        }
        fields.push(("body_len", body_total.into()));
        let shown = &body[..body.len().min(MAX_SHOWN_BODY)];
        if !shown.is_empty() {
            match std::str::from_utf8(shown) {
                Ok(s) => {
                    line.push(" ");
                    bound::push_json_string(&mut line, s);
                    fields.push(("body", s.into()));
                }
                Err(_) => {
                    line.push(&format!(" <{body_total} B>"));
                    fields.push(("body_hex", bound::hex_prefix(shown, 64).into()));
                }
            }
        }
        // Pairing.
        let dir = msg.dir;
        let name = || {
            let n = match &dest {
                Some(d) => format!("{cmd} {d}"),
                None => cmd.to_string(),
            };
            Some(bound::cap_str(&n, bound::MAX_ID))
        };
        let mut latency = None;
        match cmd {
            "CONNECT" | "STOMP" => self.connect = Some(Request::new(msg, name())),
            "CONNECTED" => {
                if let Some(v) = h("version").as_deref().and_then(version_from) {
                    self.version = v;
                }
                if let Some(req) = self.connect.take() {
                    let x = req.finish(
                        Protocol::Stomp,
                        "connect".into(),
                        msg,
                        Outcome::Result,
                        true,
                    );
                    latency = Some(x.latency_ns);
                    out.push(AppOutput::Exchange(x));
                }
            }
            "SUBSCRIBE" => {
                if let Some(id) = h("id") {
                    self.subs.insert(
                        bound::cap_str(&id, bound::MAX_ID),
                        Sub {
                            req: Request::new(msg, name()),
                            last: None,
                        },
                    );
                }
            }
            "UNSUBSCRIBE" => {
                if let Some(id) = h("id").map(|i| bound::cap_str(&i, bound::MAX_ID))
                    && let Some(sub) = self.subs.remove(&id)
                {
                    out.push(AppOutput::Exchange(sub.req.finish(
                        Protocol::Stomp,
                        id,
                        msg,
                        Outcome::Cancelled,
                        false,
                    )));
                }
            }
            "MESSAGE" => {
                if let Some(id) = h("subscription").map(|i| bound::cap_str(&i, bound::MAX_ID)) {
                    match self.subs.get_mut(&id) {
                        Some(sub) => {
                            sub.req.item(msg);
                            sub.last = Some((msg.packet, msg.time_ns));
                            fields.push(("subscribe_packet", sub.req.packet.into()));
                        }
                        None => anomaly(
                            out,
                            AnomalyKind::StompUnknownSubscription,
                            format!("MESSAGE for subscription {id}, which no SUBSCRIBE opened"),
                        ),
                    }
                }
            }
            _ => {}
        }
        // Only client frames ask for receipts (a broker may copy a SEND's headers, receipt
        // included, into the MESSAGE it delivers).
        let server_frame = matches!(cmd, "CONNECTED" | "MESSAGE" | "RECEIPT" | "ERROR");
        if let Some(r) = h("receipt").filter(|_| !server_frame) {
            self.receipts.insert(
                (dir, bound::cap_str(&r, bound::MAX_ID)),
                Request::new(msg, name()),
            );
        }
        if let Some(r) = h("receipt-id").map(|r| bound::cap_str(&r, bound::MAX_ID)) {
            match self.receipts.remove(&(dir.reverse(), r.clone())) {
                Some(req) => {
                    let outcome = if cmd == "ERROR" {
                        Outcome::Error
                    } else {
                        Outcome::Result
                    };
                    let x = req.finish(Protocol::Stomp, r, msg, outcome, true);
                    latency = Some(x.latency_ns);
                    out.push(AppOutput::Exchange(x));
                }
                None => anomaly(
                    out,
                    AnomalyKind::StompUnknownReceipt,
                    format!("{cmd} receipt-id={r} answers no frame that asked for it"),
                ),
            }
        } else if cmd == "ERROR"
            && let Some(req) = self.connect.take()
        {
            let x = req.finish(Protocol::Stomp, "connect".into(), msg, Outcome::Error, true);
            latency = Some(x.latency_ns);
            out.push(AppOutput::Exchange(x));
        }
        if let Some(l) = latency {
            line.push(&format!(" ({:.3} ms)", l as f64 / 1e6));
            fields.push(("latency_ns", l.into()));
        }
        out.insert(
            start.min(out.len()),
            AppOutput::Packet(AppPacket {
                protocol: Protocol::Stomp,
                dir,
                first_packet,
                packet: msg.packet,
                messages: 1,
                summary: line.finish(),
                fields,
            }),
        );
    }

    fn heartbeat(&self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        out.push(AppOutput::Packet(AppPacket {
            protocol: Protocol::Stomp,
            dir: msg.dir,
            first_packet: msg.packet,
            packet: msg.packet,
            messages: 1,
            summary: "stomp heart-beat".into(),
            fields: vec![("heartbeat", true.into())],
        }));
    }

    /// Emits the unterminated frame in stream `i`; `missing_nul`: its NUL never came (else
    /// it is only too long to hold).
    fn flush_unterminated(
        &mut self,
        i: usize,
        msg: &AppInput<'_>,
        missing_nul: bool,
        out: &mut Vec<AppOutput>,
    ) {
        let s = std::mem::take(&mut self.streams[i]);
        let buf = s.buf;
        if buf.iter().all(|&b| b == b'\n' || b == b'\r') {
            return;
        }
        let first = s.first.unwrap_or(msg.packet);
        let (head, body) = match read_head(&buf, self.version) {
            Some(h) => {
                let start = h.body_start.min(buf.len());
                (h, &buf[start..])
            }
            None => {
                let lf = line_end(&buf, 0).unwrap_or(buf.len());
                let cmd = String::from_utf8_lossy(&buf[..lf.min(64)]).into_owned();
                (
                    Head {
                        command: cmd.trim_end_matches('\r').to_string(),
                        headers: Vec::new(),
                        body_start: buf.len(),
                        problems: Vec::new(),
                    },
                    &buf[buf.len()..],
                )
            }
        };
        let body = body.strip_suffix(b"\n").unwrap_or(body);
        let body = body.strip_suffix(b"\r").unwrap_or(body);
        let cmd = bound::cap_str(&head.command, 40);
        let len = body.len();
        self.frame(msg, head, body, len, first, None, out);
        if msg.complete && missing_nul {
            out.push(AppOutput::Anomaly(AppAnomaly::new(
                AnomalyKind::StompFrameWithoutNul,
                msg,
                format!("{cmd} frame ({} B) not ended by NUL", buf.len()),
            )));
        }
    }
}

impl Decoder for StompDecoder {
    fn protocol(&self) -> Protocol {
        Protocol::Stomp
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        self.last = Some((msg.dir, msg.packet));
        let i = usize::from(msg.dir == Direction::ServerToClient);
        let mut data = msg.payload;
        if self.streams[i].skipping {
            match data.iter().position(|&b| b == 0) {
                Some(n) => {
                    self.streams[i].skipping = false;
                    data = &data[n + 1..];
                }
                None => return,
            }
        }
        // A heart-beat: a message of end-of-lines only, between frames.
        if !data.is_empty()
            && self.streams[i].buf.is_empty()
            && data.iter().all(|&b| b == b'\n' || b == b'\r')
        {
            return self.heartbeat(msg, out);
        }
        // A new frame where the previous one still waits for its NUL: that one never had it.
        // (The held frame starts the buffer: end-of-lines before it were dropped.)
        if self.streams[i].hint.head.is_some() && starts_with_command(data) {
            self.flush_unterminated(i, msg, true, out);
        }
        let mut buf = std::mem::take(&mut self.streams[i].buf);
        let mut hint = std::mem::take(&mut self.streams[i].hint);
        let mut first = self.streams[i].first.take().unwrap_or(msg.packet);
        buf.extend_from_slice(data);
        let mut pos = 0;
        loop {
            // End-of-lines between frames (after a NUL, or heart-beats) are skipped.
            while let Some(&b) = buf.get(pos) {
                if b == b'\n' || b == b'\r' {
                    pos += 1;
                } else {
                    break;
                }
            }
            if pos >= buf.len() {
                break;
            }
            match scan(&buf[pos..], self.version, &mut hint) {
                Scan::Frame(head, body_end, next, problem) => {
                    let bs = head.body_start;
                    let body = buf.get(pos + bs..pos + body_end).unwrap_or_default();
                    let len = body.len();
                    self.frame(msg, head, body, len, first, problem, out);
                    pos += next;
                    first = msg.packet;
                }
                Scan::More => {
                    if buf.len() - pos >= MAX_FRAME {
                        // Too long to hold: show its start, skip to its NUL.
                        self.streams[i].buf = buf.split_off(pos);
                        self.streams[i].first = Some(first);
                        self.flush_unterminated(i, msg, false, out);
                        self.streams[i].skipping = true;
                        return;
                    }
                    break;
                }
            }
        }
        buf.drain(..pos.min(buf.len()));
        if !msg.complete {
            // Bytes were lost: the next message starts anew.
            buf.clear();
        }
        if !buf.is_empty() {
            self.streams[i].first = Some(first);
            self.streams[i].hint = hint;
        }
        self.streams[i].buf = buf;
    }

    fn end(&mut self, out: &mut Vec<AppOutput>) {
        for i in 0..2 {
            if !self.streams[i].buf.is_empty() {
                let dir = if i == 0 {
                    Direction::ClientToServer
                } else {
                    Direction::ServerToClient
                };
                let packet = self.streams[i].first.unwrap_or(0);
                let at = AppInput {
                    dir,
                    text: true,
                    payload: &[],
                    complete: true,
                    packet,
                    time_ns: 0,
                };
                self.flush_unterminated(i, &at, true, out);
            }
        }
        if let Some(req) = self.connect.take() {
            out.push(AppOutput::Unanswered(
                req.unanswered(Protocol::Stomp, "connect".into()),
            ));
        }
        for ((_, id), req) in self.receipts.drain() {
            out.push(AppOutput::Unanswered(req.unanswered(Protocol::Stomp, id)));
        }
        for (id, sub) in self.subs.drain() {
            match sub.last {
                // A subscription that received messages until the connection ended.
                Some((packet, time)) => {
                    let r = sub.req;
                    let (ap, at) = r.first.unwrap_or((packet, time));
                    out.push(AppOutput::Exchange(Exchange {
                        protocol: Protocol::Stomp,
                        id,
                        name: r.name,
                        request_dir: r.dir,
                        request_packet: r.packet,
                        answer_packet: ap,
                        latency_ns: at.saturating_sub(r.time_ns),
                        end_packet: packet,
                        duration_ns: time.saturating_sub(r.time_ns),
                        answers: r.answers,
                        outcome: Outcome::Complete,
                    }));
                }
                None => out.push(AppOutput::Unanswered(Unanswered {
                    protocol: Protocol::Stomp,
                    id,
                    name: sub.req.name,
                    request_dir: sub.req.dir,
                    request_packet: sub.req.packet,
                    answers: 0,
                })),
            }
        }
        let dropped = self.receipts.dropped + self.subs.dropped;
        if dropped > 0 {
            let (dir, packet) = self.last.unwrap_or((Direction::ClientToServer, 0));
            out.push(AppOutput::Anomaly(dropped_anomaly(dropped, dir, packet)));
        }
    }
}

/// Registry constructor: the version from the subprotocol (`v10.stomp`…), 1.2 without one.
pub fn new_decoder(ctx: &Context<'_>) -> Box<dyn Decoder> {
    let v = match ctx.subprotocol.map(str::trim) {
        Some(s) if s.eq_ignore_ascii_case("v10.stomp") => 10,
        Some(s) if s.eq_ignore_ascii_case("v11.stomp") => 11,
        _ => 12,
    };
    Box::new(StompDecoder::new(v))
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    fn sums(out: &[AppOutput]) -> Vec<String> {
        packets(out).iter().map(|p| p.summary.clone()).collect()
    }

    // The frames of the STOMP 1.2 specification's examples: CONNECT/CONNECTED, SEND with a
    // receipt, SUBSCRIBE, MESSAGE, RECEIPT, ERROR, DISCONNECT with receipt 77.
    #[test]
    fn spec_examples() {
        let mut d = StompDecoder::new(12);
        let out = run(
            &mut d,
            &[
                (
                    C2S,
                    "CONNECT\naccept-version:1.0,1.1,2.0\nhost:stomp.github.org\n\n\0",
                ),
                (S2C, "CONNECTED\nversion:1.2\n\n\0"),
                (
                    C2S,
                    "SUBSCRIBE\nid:0\ndestination:/queue/foo\nack:client\n\n\0",
                ),
                (
                    C2S,
                    "SEND\ndestination:/queue/a\ncontent-type:text/plain\nreceipt:message-12345\n\nhello queue a\0",
                ),
                (S2C, "RECEIPT\nreceipt-id:message-12345\n\n\0"),
                (
                    S2C,
                    "MESSAGE\nsubscription:0\nmessage-id:007\ndestination:/queue/a\ncontent-type:text/plain\n\nhello queue a\0",
                ),
                (C2S, "UNSUBSCRIBE\nid:0\n\n\0"),
                (C2S, "DISCONNECT\nreceipt:77\n\n\0"),
                (S2C, "RECEIPT\nreceipt-id:77\n\n\0"),
            ],
        );
        let s = sums(&out);
        assert_eq!(s[0], "stomp CONNECT accept-version=1.0,1.1,2.0");
        assert_eq!(s[1], "stomp CONNECTED version=1.2 (1.000 ms)");
        assert_eq!(s[2], "stomp SUBSCRIBE /queue/foo id=0");
        assert_eq!(
            s[3],
            r#"stomp SEND /queue/a receipt=message-12345 "hello queue a""#
        );
        assert_eq!(s[4], "stomp RECEIPT receipt-id=message-12345 (1.000 ms)");
        assert_eq!(
            s[5],
            r#"stomp MESSAGE /queue/a sub=0 message-id=007 "hello queue a""#
        );
        let p = packets(&out);
        assert_eq!(p[5].field("subscribe_packet"), Some(&json!(3)));
        assert_eq!(p[3].field("body"), Some(&json!("hello queue a")));
        assert_eq!(p[3].field("content_type"), Some(&json!("text/plain")));
        let x = exchanges(&out);
        let ids: Vec<(&str, Outcome)> = x.iter().map(|x| (x.id.as_str(), x.outcome)).collect();
        assert_eq!(
            ids,
            vec![
                ("connect", Outcome::Result),
                ("message-12345", Outcome::Result),
                ("0", Outcome::Cancelled),
                ("77", Outcome::Result),
            ]
        );
        // the subscription: SUBSCRIBE at 3, first MESSAGE at 6, UNSUBSCRIBE at 7
        assert_eq!(
            (
                x[2].request_packet,
                x[2].answer_packet,
                x[2].end_packet,
                x[2].answers
            ),
            (3, 6, 7, 1)
        );
        assert_eq!(x[3].name.as_deref(), Some("DISCONNECT"));
        assert!(anomalies(&out).is_empty());
        assert!(unanswered(&out).is_empty());
    }

    // STOMP 1.2 "Value Encoding": \r \n \c \\ decoded; CONNECT frames are not escaped.
    #[test]
    fn header_escaping() {
        assert_eq!(unescape(r"a\cb\nc\\d\re", 12).unwrap(), "a:b\nc\\d\re");
        assert!(unescape(r"a\re", 11).is_err());
        assert!(unescape(r"a\t", 12).is_err());
        assert_eq!(unescape(r"a\cb", 10).unwrap(), r"a\cb");
        let mut d = StompDecoder::new(12);
        let out = run(
            &mut d,
            &[
                (C2S, "CONNECT\nlogin:a\\cb\n\n\0"),
                (C2S, "SEND\ndestination:/q\\c1\nx:\\t\n\n\0"),
            ],
        );
        let p = packets(&out);
        assert_eq!(p[0].field("headers"), Some(&json!({"login": "a\\cb"})));
        assert_eq!(p[1].field("destination"), Some(&json!("/q:1")));
        assert_eq!(anomalies(&out), vec![AnomalyKind::StompMalformedFrame]);
    }

    #[test]
    fn content_length_heartbeats_and_frames_across_messages() {
        let mut d = StompDecoder::new(12);
        let out = run(
            &mut d,
            &[
                // a body holding NUL, sized by content-length; CRLF end-of-lines (1.2)
                (
                    C2S,
                    "SEND\r\ndestination:/b\r\ncontent-length:3\r\n\r\na\0b\0\n",
                ),
                (S2C, "\n"),
                // two frames in one message, then one frame over three messages
                (
                    S2C,
                    "MESSAGE\nsubscription:9\n\nx\0MESSAGE\nsubscription:9\n\ny\0",
                ),
                (C2S, "SEND\ndestination:/q\n"),
                (C2S, "\nhel"),
                (C2S, "lo\0\n\n"),
            ],
        );
        let p = packets(&out);
        assert_eq!(p.len(), 5);
        assert_eq!(p[0].field("body_len"), Some(&json!(3)));
        assert_eq!(p[0].field("content_length"), Some(&json!(3)));
        assert_eq!(p[1].summary, "stomp heart-beat");
        assert_eq!(p[4].summary, r#"stomp SEND /q "hello""#);
        assert_eq!((p[4].first_packet, p[4].packet), (4, 6));
        assert_eq!(
            anomalies(&out),
            vec![
                AnomalyKind::StompUnknownSubscription,
                AnomalyKind::StompUnknownSubscription
            ]
        );
    }

    #[test]
    fn missing_nul_bad_length_and_unknown_receipt() {
        let mut d = StompDecoder::new(12);
        let out = run(
            &mut d,
            &[
                (C2S, "SEND\ndestination:/a\n\nno nul here"),
                (C2S, "SEND\ndestination:/b\ncontent-length:2\n\nabc\0"),
                (C2S, "SEND\ndestination:/c\ncontent-length:x\n\nabc\0"),
                (S2C, "RECEIPT\nreceipt-id:5\n\n\0"),
                (C2S, "SEND\ndestination:/d\n\ncut"),
            ],
        );
        let s = sums(&out);
        assert_eq!(s[0], r#"stomp SEND /a "no nul here""#);
        assert_eq!(s[1], r#"stomp SEND /b "abc""#);
        assert_eq!(s[4], r#"stomp SEND /d "cut""#);
        assert_eq!(
            anomalies(&out),
            vec![
                AnomalyKind::StompFrameWithoutNul,
                AnomalyKind::StompBadContentLength,
                AnomalyKind::StompBadContentLength,
                AnomalyKind::StompUnknownReceipt,
                AnomalyKind::StompFrameWithoutNul,
            ]
        );
    }

    #[test]
    fn error_answers_connect_and_receipts() {
        let mut d = StompDecoder::new(12);
        let out = run(
            &mut d,
            &[
                (C2S, "STOMP\naccept-version:1.2\nhost:h\n\n\0"),
                (S2C, "ERROR\nmessage:bad login\n\n\0"),
                (C2S, "SEND\ndestination:/x\nreceipt:r1\n\n\0"),
                (S2C, "ERROR\nreceipt-id:r1\nmessage:no\n\n\0"),
            ],
        );
        let x = exchanges(&out);
        assert_eq!(x.len(), 2);
        assert!(x.iter().all(|x| x.outcome == Outcome::Error));
        assert_eq!(
            packets(&out)[1].summary,
            "stomp ERROR message=bad login (1.000 ms)"
        );
    }

    /// A frame sent one byte per message costs linear time: the unfinished frame is not
    /// re-read from its start for every message (200 000 messages here).
    #[test]
    fn one_byte_messages_are_linear() {
        let frame = [
            b"SEND\ndestination:/slow\n".as_slice(),
            &vec![b'h'; 100_000],
            b":v\n\n",
            &vec![b'b'; 100_000],
            b"\0",
        ]
        .concat();
        let mut d = StompDecoder::new(12);
        let mut out = Vec::new();
        let t = std::time::Instant::now();
        for (n, b) in frame.iter().enumerate() {
            d.message(
                &input(C2S, true, std::slice::from_ref(b), n as u64 + 1),
                &mut out,
            );
        }
        assert!(t.elapsed().as_secs() < 20, "{:?}", t.elapsed());
        let p = packets(&out);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].field("body_len"), Some(&json!(100_000)));
        assert_eq!((p[0].first_packet, p[0].packet), (1, frame.len() as u64));
    }

    #[test]
    fn over_long_frame_is_cut_and_skipped() {
        let mut d = StompDecoder::new(12);
        let mut out = Vec::new();
        let big = [
            b"SEND\ndestination:/big\n\n".as_slice(),
            &vec![b'a'; MAX_FRAME],
        ]
        .concat();
        d.message(&input(C2S, true, &big, 1), &mut out);
        d.message(
            &input(C2S, true, b"aaaa\0SEND\ndestination:/n\n\n\0", 2),
            &mut out,
        );
        d.end(&mut out);
        let s = sums(&out);
        assert_eq!(s.len(), 2);
        assert_eq!(s[1], "stomp SEND /n");
    }

    // STOMP 1.0 (v10.stomp) has no header escaping; the CONNECTED version switches it on.
    #[test]
    fn version_from_subprotocol_and_connected() {
        let ctx = Context {
            request_uri: "/ws",
            subprotocol: Some("v10.stomp"),
            ..Context::default()
        };
        let mut d = new_decoder(&ctx);
        let out = run(
            d.as_mut(),
            &[
                (C2S, "SEND\ndestination:/a\\cb\n\n\0"),
                (S2C, "CONNECTED\nversion:1.1\n\n\0"),
                (C2S, "SEND\ndestination:/a\\cb\n\n\0"),
            ],
        );
        let p = packets(&out);
        assert_eq!(p[0].field("destination"), Some(&json!("/a\\cb")));
        assert_eq!(p[2].field("destination"), Some(&json!("/a:b")));
    }

    /// Random text and bytes with STOMP-like pieces, random cuts, both directions.
    #[test]
    fn random_bytes_do_not_panic() {
        let mut state = 0x9E37_79B9_7F4A_7C15u64;
        let mut rnd = move |n: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n.max(1) as u64) as usize
        };
        let pieces: &[&[u8]] = &[
            b"SEND\n",
            b"MESSAGE\n",
            b"RECEIPT\n",
            b"CONNECT\r\n",
            b"receipt:1\n",
            b"receipt-id:1\n",
            b"content-length:3\n",
            b"content-length:x\n",
            b"subscription:0\n",
            b"id:0\n",
            b"\n",
            b"\r\n",
            b"\0",
            b"\\c",
            b"\\",
            b"abc",
            b"\xff\xfe",
            b"SUBSCRIBE\n",
            b"UNSUBSCRIBE\n",
            b":",
        ];
        let mut out = Vec::new();
        let mut d = StompDecoder::new(12);
        for n in 0..20_000u64 {
            let mut m = Vec::new();
            for _ in 0..rnd(8) {
                m.extend_from_slice(pieces[rnd(pieces.len())]);
            }
            let dir = if rnd(2) == 0 { C2S } else { S2C };
            let mut msg = input(dir, true, &m, n);
            msg.complete = rnd(10) != 0;
            d.message(&msg, &mut out);
            for o in out.drain(..) {
                if let AppOutput::Packet(p) = o {
                    assert!(p.summary.chars().count() <= bound::MAX_SUMMARY);
                }
            }
        }
        d.end(&mut out);
    }

    #[test]
    fn mutated_inputs_do_not_panic() {
        let make = || -> Box<dyn Decoder> { Box::new(StompDecoder::new(12)) };
        mutate_all(
            &make,
            &[
                b"SEND\ndestination:/queue/a\ncontent-length:5\nreceipt:1\n\nhello\0\n",
                b"MESSAGE\nsubscription:0\nmessage-id:\\c1\n\nx\0RECEIPT\nreceipt-id:1\n\n\0",
                b"\n",
            ],
        );
    }
}
