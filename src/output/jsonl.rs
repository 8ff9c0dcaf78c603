//! JSON Lines: one self-describing object per line (`"type"` first). The record types
//! and keys are a stable contract, documented in README.md.

use crate::event::{
    Anomaly, CaptureProblem, ConnectionSummary, Event, EventSink, FrameEvent, Handshake,
    MessageEvent, PingPongEvent,
};
use crate::term::escape::{Digits, push_base64, push_json_str, push_secs6, push_u64};
use std::io::{self, Write};
use std::net::SocketAddr;

/// Builds one JSON object in a reused byte buffer, without temporary strings.
struct Obj<'a> {
    buf: &'a mut Vec<u8>,
}

impl<'a> Obj<'a> {
    /// Starts `{"type":"<kind>"`.
    fn new(buf: &'a mut Vec<u8>, kind: &str) -> Self {
        buf.clear();
        buf.extend_from_slice(b"{\"type\":");
        push_json_str(buf, kind);
        Obj { buf }
    }

    /// `,"key":` (keys are fixed ASCII names that need no escaping).
    fn key(&mut self, key: &str) {
        self.buf.extend_from_slice(b",\"");
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        push_json_str(self.buf, value);
    }

    fn opt_str(&mut self, key: &str, value: Option<&str>) {
        match value {
            Some(v) => self.str(key, v),
            None => self.null(key),
        }
    }

    /// An address as a JSON string, formatted in place.
    fn addr(&mut self, key: &str, value: SocketAddr) {
        self.key(key);
        let _ = write!(self.buf, "\"{value}\"");
    }

    fn num(&mut self, key: &str, value: impl Into<u64>) {
        self.key(key);
        push_u64(self.buf, value.into());
    }

    fn opt_num(&mut self, key: &str, value: Option<impl Into<u64>>) {
        match value {
            Some(v) => self.num(key, v),
            None => self.null(key),
        }
    }

    fn bool(&mut self, key: &str, value: bool) {
        self.key(key);
        self.buf
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    fn null(&mut self, key: &str) {
        self.key(key);
        self.buf.extend_from_slice(b"null");
    }

    /// `payload_b64`, and `text` for a complete Text payload that is valid UTF-8.
    fn payload(&mut self, opcode: crate::ws::OpCode, payload: &[u8], complete: bool) {
        self.key("payload_b64");
        self.buf.push(b'"');
        push_base64(self.buf, payload);
        self.buf.push(b'"');
        if opcode == crate::ws::OpCode::Text
            && complete
            && let Ok(text) = std::str::from_utf8(payload)
        {
            self.str("text", text);
        }
    }

    fn finish(self) {
        self.buf.extend_from_slice(b"}\n");
    }
}

/// `"0123abcd"`: a masking key as 8 lowercase hex digits in quotes.
fn mask_key_json(k: [u8; 4]) -> [u8; 10] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'"'; 10];
    for (i, b) in k.into_iter().enumerate() {
        out[1 + 2 * i] = HEX[usize::from(b >> 4)];
        out[2 + 2 * i] = HEX[usize::from(b & 0xf)];
    }
    out
}

/// JSON Lines renderer.
pub struct JsonLines<W: Write> {
    out: W,
    line: Vec<u8>,
    flush_each_record: bool,
}

impl<W: Write> JsonLines<W> {
    /// A renderer writing to `out`; `flush_each_record` for live use.
    pub fn new(out: W, flush_each_record: bool) -> Self {
        JsonLines {
            out,
            line: Vec::with_capacity(512),
            flush_each_record,
        }
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn frame(&mut self, f: &FrameEvent<'_>) {
        let h = &f.header;
        let mut o = Obj::new(&mut self.line, "frame");
        o.num("conn", f.conn);
        o.num("packet", f.packet);
        o.num("first_packet", f.first_packet);
        o.key("time");
        push_secs6(o.buf, f.rel_time);
        o.str("dir", f.dir.short());
        o.bool("fin", h.fin);
        o.num("rsv", h.rsv);
        o.num("opcode", u8::from(h.opcode));
        o.str("opcode_name", h.opcode.name());
        o.bool("masked", h.mask.is_some());
        match h.mask {
            Some(k) => {
                o.key("mask_key");
                o.buf.extend_from_slice(&mask_key_json(k));
            }
            None => o.null("mask_key"),
        }
        o.num("payload_len", h.payload_len);
        o.bool("payload_complete", f.payload_complete);
        o.payload(h.opcode, f.payload, f.payload_complete);
        o.opt_num("close_code", f.close_code.map(|c| c.code()));
        o.opt_str("close_name", f.close_code.map(|c| c.name()));
        if h.opcode == crate::ws::OpCode::Close && f.payload.len() >= 2 {
            o.str("close_reason", &String::from_utf8_lossy(f.close_reason));
        } else {
            o.null("close_reason");
        }
        o.finish();
    }

    fn message(&mut self, m: &MessageEvent<'_>) {
        let mut o = Obj::new(&mut self.line, "message");
        o.num("conn", m.conn);
        o.str("dir", m.dir.short());
        o.num("opcode", u8::from(m.opcode));
        o.str("opcode_name", m.opcode.name());
        o.num("len", m.len);
        o.num("frames", m.frames);
        o.num("first_packet", m.first_packet);
        o.num("last_packet", m.last_packet);
        o.key("first_time");
        push_secs6(o.buf, m.first_time);
        o.key("time");
        push_secs6(o.buf, m.rel_time);
        o.bool("compressed", m.compressed);
        o.num("wire_len", m.wire_len);
        o.bool("payload_complete", m.payload_complete);
        o.payload(m.opcode, m.payload, m.payload_complete);
        o.finish();
    }

    fn ping_pong(&mut self, p: &PingPongEvent) {
        let mut o = Obj::new(&mut self.line, "pingpong");
        o.num("conn", p.conn);
        o.str("ping_dir", p.ping_dir.short());
        o.num("ping_packet", p.ping_packet);
        o.num("pong_packet", p.pong_packet);
        o.key("rtt");
        push_secs6(o.buf, p.rtt);
        o.num("payload_len", p.payload_len);
        o.finish();
    }

    fn handshake(&mut self, h: &Handshake<'_>) {
        let req = h.request;
        let resp = h.response;
        let mut o = Obj::new(&mut self.line, "handshake");
        o.num("conn", h.conn);
        o.addr("client", h.endpoints.client);
        o.addr("server", h.endpoints.server);
        o.num("request_packet", h.request_packet);
        o.num("response_packet", h.response_packet);
        o.str("method", &req.method);
        o.str("path", &req.path);
        o.opt_str("host", req.header("Host"));
        o.opt_str("origin", req.header("Origin"));
        o.opt_str("key", req.header("Sec-WebSocket-Key"));
        o.opt_str("version", req.header("Sec-WebSocket-Version"));
        o.opt_str("requested_protocols", req.header("Sec-WebSocket-Protocol"));
        o.opt_str(
            "requested_extensions",
            req.header("Sec-WebSocket-Extensions"),
        );
        o.num("status", resp.status);
        o.str("reason", &resp.reason);
        o.bool("upgraded", h.upgraded);
        o.opt_str("accept", resp.header("Sec-WebSocket-Accept"));
        o.opt_str("expected_accept", h.expected_accept);
        o.bool("accept_ok", h.accept.is_valid());
        o.opt_str("subprotocol", resp.header("Sec-WebSocket-Protocol"));
        o.opt_str("extensions", resp.header("Sec-WebSocket-Extensions"));
        o.finish();
    }

    fn connection(&mut self, c: &ConnectionSummary) {
        let mut o = Obj::new(&mut self.line, "connection");
        o.num("conn", c.conn);
        o.addr("client", c.endpoints.client);
        o.addr("server", c.endpoints.server);
        o.str("state", c.state.as_str());
        o.opt_str("path", c.path.as_deref());
        o.opt_num("status", c.status);
        o.num("first_packet", c.first_packet);
        o.num("last_packet", c.last_packet);
        o.num("frames_c2s", c.frames[0]);
        o.num("frames_s2c", c.frames[1]);
        o.num("payload_bytes_c2s", c.payload_bytes[0]);
        o.num("payload_bytes_s2c", c.payload_bytes[1]);
        for (i, key) in ["close_c2s", "close_s2c"].into_iter().enumerate() {
            match c.close[i] {
                None => o.null(key),
                Some(code) => {
                    o.key(key);
                    o.buf.extend_from_slice(b"{\"code\":");
                    match code {
                        Some(code) => o.buf.extend_from_slice(Digits::new(code.into()).as_bytes()),
                        None => o.buf.extend_from_slice(b"null"),
                    }
                    o.buf.push(b'}');
                }
            }
        }
        o.str("tcp_end", c.tcp_end.as_str());
        o.finish();
    }

    fn anomaly(&mut self, a: &Anomaly) {
        let mut o = Obj::new(&mut self.line, "anomaly");
        o.opt_num("conn", a.conn);
        o.num("packet", a.packet);
        o.opt_str("dir", a.dir.map(|d| d.short()));
        o.str("severity", a.severity.as_str());
        o.str("kind", a.kind.name);
        o.str("message", &a.message);
        o.finish();
    }

    fn capture_error(&mut self, e: &CaptureProblem) {
        let mut o = Obj::new(&mut self.line, "capture_error");
        o.num("packets_read", e.packets_read);
        o.str("message", &e.message);
        o.finish();
    }
}

impl<W: Write> EventSink for JsonLines<W> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        match event {
            Event::Frame(f) => self.frame(f),
            Event::Message(m) => self.message(m),
            Event::PingPong(p) => self.ping_pong(p),
            Event::Handshake(h) => self.handshake(h),
            Event::ConnectionEnd(c) => self.connection(c),
            Event::Anomaly(a) => self.anomaly(a),
            Event::CaptureError(e) => self.capture_error(e),
            Event::Packet(_)
            | Event::HttpRequest(_)
            | Event::HttpResponse(_)
            | Event::HttpPending(_) => return Ok(()),
        }
        self.out.write_all(&self.line)?;
        if self.flush_each_record {
            self.out.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}
