//! JSON Lines: one self-describing object per line (`"type"` first). The record types
//! and keys are a stable contract, documented in README.md; every key comes from the
//! field table ([`crate::fields`]).

use crate::event::{
    Anomaly, AppExchange, AppExchangeEvent, CaptureProblem, ConnectionSummary, Event, EventSink,
    FrameEvent, Handshake, MessageEvent, PingPongEvent, TlsSessionEvent, WorkerPart, render_into,
};
use crate::fields::{self as F, Field, RECORD_TYPE_KEY};
use crate::payload::{AppPacket, ChosenBy};
use crate::term::escape::{
    Digits, push_base64, push_json_str, push_json_str_body, push_secs6, push_u64,
};
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
        buf.extend_from_slice(b"{\"");
        buf.extend_from_slice(RECORD_TYPE_KEY.as_bytes());
        buf.extend_from_slice(b"\":");
        push_json_str(buf, kind);
        Obj { buf }
    }

    /// `,"key":` (keys are fixed ASCII names that need no escaping).
    #[inline(always)]
    fn key(&mut self, key: &str) {
        self.buf.extend_from_slice(b",\"");
        self.buf.extend_from_slice(key.as_bytes());
        self.buf.extend_from_slice(b"\":");
    }

    #[inline(always)]
    fn str(&mut self, key: &str, value: &str) {
        self.key(key);
        push_json_str(self.buf, value);
    }

    #[inline(always)]
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

    #[inline(always)]
    fn num(&mut self, key: &str, value: impl Into<u64>) {
        self.key(key);
        push_u64(self.buf, value.into());
    }

    #[inline(always)]
    fn opt_num(&mut self, key: &str, value: Option<impl Into<u64>>) {
        match value {
            Some(v) => self.num(key, v),
            None => self.null(key),
        }
    }

    #[inline(always)]
    fn bool(&mut self, key: &str, value: bool) {
        self.key(key);
        self.buf
            .extend_from_slice(if value { b"true" } else { b"false" });
    }

    #[inline(always)]
    fn null(&mut self, key: &str) {
        self.key(key);
        self.buf.extend_from_slice(b"null");
    }

    /// `ts` for relative time `rel`, here when the capture's start is known; else where it
    /// goes, for when it is.
    fn ts(&mut self, rel: f64, base_ns: Option<i128>, times: &mut Times) -> TsAt {
        match base_ns {
            Some(base) => {
                times.ts(self.buf, base, rel);
                None
            }
            None => Some((self.buf.len(), rel)),
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

/// Writes a JSON value (from a payload decoder), strings escaped by the one JSON encoder.
fn push_json_value(buf: &mut Vec<u8>, v: &serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Null => buf.extend_from_slice(b"null"),
        Value::Bool(b) => buf.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            // As `to_string` writes it, without the String.
            let _ = write!(buf, "{n}");
        }
        Value::String(s) => push_json_str(buf, s),
        Value::Array(items) => {
            buf.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                push_json_value(buf, item);
            }
            buf.push(b']');
        }
        Value::Object(members) => {
            buf.push(b'{');
            for (i, (key, item)) in members.iter().enumerate() {
                if i > 0 {
                    buf.push(b',');
                }
                push_json_str(buf, key);
                buf.push(b':');
                push_json_value(buf, item);
            }
            buf.push(b'}');
        }
    }
}
/// `app` (the first application packet) and, when there are several, `app_packets` (all
/// of them, in order: MQTT, STOMP, JSON-RPC batch parts, polling payloads).
fn push_app(o: &mut Obj<'_>, app: &[AppPacket], chosen_by: Option<ChosenBy>, echo: Echo<'_>) {
    let Some(first) = app.first() else {
        return;
    };
    o.key(F::WSD_APP.json);
    push_app_packet(o.buf, first, chosen_by, echo.clone());
    if app.len() > 1 {
        o.key(F::WSD_APP_PACKETS.json);
        o.buf.push(b'[');
        for (i, p) in app.iter().enumerate() {
            if i > 0 {
                o.buf.push(b',');
            }
            push_app_packet(o.buf, p, chosen_by, echo.clone());
        }
        o.buf.push(b']');
    }
}

/// `p.to_json(chosen_by)` written straight out, without building the map: measured on
/// small-20.pcap (a JSON app record per message), the map and its copied strings cost
/// ~7% of the JSON Lines instructions. A field whose name is already in the object (the
/// map would replace that member in place) takes the map's path, so the bytes are the same.
fn push_app_packet(buf: &mut Vec<u8>, p: &AppPacket, chosen_by: Option<ChosenBy>, echo: Echo<'_>) {
    let fixed = ["protocol", "chosen_by", "summary"];
    let repeated = p.fields.iter().enumerate().any(|(i, (k, _))| {
        fixed.contains(k)
            || p.fields
                .get(..i)
                .is_some_and(|before| before.iter().any(|(b, _)| b == k))
    });
    if repeated {
        push_json_value(buf, &p.to_json(chosen_by));
        return;
    }
    buf.extend_from_slice(b"{\"protocol\":");
    push_json_str(buf, p.protocol.name());
    if let Some(c) = chosen_by {
        buf.extend_from_slice(b",\"chosen_by\":");
        push_json_str(buf, c.name());
    }
    buf.extend_from_slice(b",\"summary\":");
    push_summary(buf, &p.summary, echo);
    for (k, v) in &p.fields {
        buf.push(b',');
        push_json_str(buf, k);
        buf.push(b':');
        push_json_value(buf, v);
    }
    buf.push(b'}');
}

/// The message's text as written earlier in the same line: its bytes and where its escaped
/// form (between the quotes) is.
type Echo<'a> = Option<(&'a [u8], std::ops::Range<usize>)>;

/// `summary` as a JSON string. A summary that ends with the message's text (a JSON
/// decoder's `json {...}` of a minified text) copies that text's escaped form from earlier
/// in the line: escaping is character by character, so the bytes are the same. Callgrind,
/// JSON Lines of small-20.pcap: 1,102 M -> 1,062 M instructions.
fn push_summary(buf: &mut Vec<u8>, summary: &str, echo: Echo<'_>) {
    if let Some((text, escaped)) = echo
        && let Some(cut) = summary.len().checked_sub(text.len())
        && summary.as_bytes().get(cut..) == Some(text)
        && let Some(head) = summary.get(..cut)
        && escaped.start <= escaped.end
        && escaped.end <= buf.len()
    {
        buf.push(b'"');
        push_json_str_body(buf, head);
        buf.extend_from_within(escaped);
        buf.push(b'"');
        return;
    }
    push_json_str(buf, summary);
}

/// The head of an HTTP message whose body carried application packets.
#[derive(Clone, Copy)]
enum HttpHeadRef<'a> {
    Request(&'a crate::http::head::Request),
    Response(&'a crate::http::head::Response),
}

/// Where a record's `ts` goes (byte offset in the line) and its relative time.
type TsAt = Option<(usize, f64)>;

/// JSON Lines renderer.
pub struct JsonLines<W: Write> {
    out: W,
    line: Vec<u8>,
    flush_each_record: bool,
    /// Where in `line` the `ts` key goes and the record's relative time (frame and
    /// message records).
    ts_at: TsAt,
    /// Capture time of the first packet, nanoseconds since the epoch, once a packet record
    /// has shown it (`ts` = it + `time`).
    base_ns: Option<i128>,
    /// Records of the first packet shown, written when its record gives `base_ns`.
    pending: Vec<(Vec<u8>, TsAt)>,
    /// The last small payload rendered.
    rendered: Rendered,
    /// The last times written.
    times: Times,
}

/// The last relative time and `ts` written, with their text: a one-frame message's
/// record repeats its frame's time three times (`time`, `first_time`, `time`) and its `ts`
/// once. Callgrind, JSON Lines of small-20.pcap: 1,162 M -> 1,102 M instructions.
#[derive(Default)]
struct Times {
    secs: Option<(u64, [u8; 24], usize)>,
    ts: Option<(u64, i128, [u8; 48], usize)>,
}

impl Times {
    /// [`push_secs6`] of `secs`.
    fn secs(&mut self, buf: &mut Vec<u8>, secs: f64) {
        let bits = secs.to_bits();
        if let Some((b, text, len)) = &self.secs
            && *b == bits
        {
            push_fixed(buf, text, *len);
            return;
        }
        let start = buf.len();
        push_secs6(buf, secs);
        self.secs = remember(buf.get(start..)).map(|(t, l)| (bits, t, l));
    }

    /// [`push_ts`] of `base` and `rel`.
    fn ts(&mut self, buf: &mut Vec<u8>, base: i128, rel: f64) {
        let bits = rel.to_bits();
        if let Some((b, was, text, len)) = &self.ts
            && *b == bits
            && *was == base
        {
            push_fixed(buf, text, *len);
            return;
        }
        let start = buf.len();
        push_ts(buf, base, rel);
        self.ts = remember(buf.get(start..)).map(|(t, l)| (bits, base, t, l));
    }
}

/// The first `len` bytes of `text`: the whole array appended (a fixed-size store, not a
/// `memcpy` call) and cut back.
fn push_fixed<const N: usize>(buf: &mut Vec<u8>, text: &[u8; N], len: usize) {
    let end = buf.len() + len.min(N);
    buf.extend_from_slice(text);
    buf.truncate(end);
}

/// `text` in a fixed array, when it fits.
fn remember<const N: usize>(text: Option<&[u8]>) -> Option<([u8; N], usize)> {
    let text = text?;
    let mut kept = [0u8; N];
    kept.get_mut(..text.len())?.copy_from_slice(text);
    Some((kept, text.len()))
}

/// Payloads longer than this go out in pieces (once the capture's start is known).
const STREAM_AT: usize = 64 << 10;
/// Bytes of payload per piece: a multiple of 3, so the base64 of the pieces joined is the
/// base64 of the whole.
const PIECE: usize = 48 << 10;
/// Payloads up to this long are kept with their rendering for the next record.
const CACHE_AT_MOST: usize = 16 << 10;

/// A payload and its rendering: `,"payload_b64":"…"` and, when wanted and valid UTF-8,
/// `,"text":"…"`, under the keys in `fields`.
#[derive(Default)]
struct Rendered {
    text: bool,
    fields: (&'static str, &'static str),
    payload: Vec<u8>,
    bytes: Vec<u8>,
    /// Where in `bytes` the escaped text is (between its quotes).
    text_at: Option<std::ops::Range<usize>>,
}

impl<W: Write> JsonLines<W> {
    /// A renderer writing to `out`; `flush_each_record` for live use.
    pub fn new(out: W, flush_each_record: bool) -> Self {
        JsonLines {
            out,
            line: Vec::with_capacity(512),
            flush_each_record,
            ts_at: None,
            base_ns: None,
            pending: Vec::new(),
            rendered: Rendered::default(),
            times: Times::default(),
        }
    }

    /// Flushes and returns the writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    fn frame(&mut self, f: &FrameEvent<'_>) -> io::Result<()> {
        let h = &f.header;
        let mut o = Obj::new(&mut self.line, "frame");
        o.num(F::TCP_STREAM.json, f.conn);
        o.num(F::FRAME_NUMBER.json, f.packet);
        o.num(F::WSD_FRAME_FIRST_PACKET.json, f.first_packet);
        o.key(F::FRAME_TIME_RELATIVE.json);
        self.times.secs(o.buf, f.rel_time);
        self.ts_at = o.ts(f.rel_time, self.base_ns, &mut self.times);
        o.str(F::WSD_DIRECTION.json, f.dir.short());
        o.bool(F::WS_FIN.json, h.fin);
        o.num(F::WS_RSV.json, h.rsv);
        o.num(F::WS_OPCODE.json, u8::from(h.opcode));
        o.str(F::WSD_OPCODE_NAME.json, h.opcode.name());
        o.bool(F::WS_MASK.json, h.mask.is_some());
        match h.mask {
            Some(k) => {
                o.key(F::WS_MASKING_KEY.json);
                o.buf.extend_from_slice(&mask_key_json(k));
            }
            None => o.null(F::WS_MASKING_KEY.json),
        }
        o.num(F::WS_PAYLOAD_LENGTH.json, h.payload_len);
        o.bool(F::WSD_PAYLOAD_COMPLETE.json, f.payload_complete);
        // A final frame that is not a continuation is a one-frame message: its record comes
        // next and repeats this payload.
        let remember = h.fin && h.opcode != crate::ws::OpCode::Continuation;
        self.payload(
            (F::WS_PAYLOAD, F::WS_PAYLOAD_TEXT),
            h.opcode == crate::ws::OpCode::Text && f.payload_complete,
            f.payload,
            remember,
        )?;
        let mut o = Obj {
            buf: &mut self.line,
        };
        o.opt_num(F::WS_CLOSE_STATUS_CODE.json, f.close_code.map(|c| c.code()));
        o.opt_str(F::WSD_CLOSE_NAME.json, f.close_code.map(|c| c.name()));
        if h.opcode == crate::ws::OpCode::Close && f.payload.len() >= 2 {
            o.str(
                F::WS_CLOSE_REASON.json,
                &String::from_utf8_lossy(f.close_reason),
            );
        } else {
            o.null(F::WS_CLOSE_REASON.json);
        }
        o.finish();
        Ok(())
    }

    fn message(&mut self, m: &MessageEvent<'_>) -> io::Result<()> {
        let mut o = Obj::new(&mut self.line, "message");
        o.num(F::TCP_STREAM.json, m.conn);
        o.str(F::WSD_DIRECTION.json, m.dir.short());
        o.num(F::WS_OPCODE.json, u8::from(m.opcode));
        o.str(F::WSD_OPCODE_NAME.json, m.opcode.name());
        o.num(F::WSD_MESSAGE_LEN.json, m.len);
        o.num(F::WSD_MESSAGE_FRAMES.json, m.frames);
        o.num(F::WSD_MESSAGE_FIRST_PACKET.json, m.first_packet);
        o.num(F::WSD_MESSAGE_LAST_PACKET.json, m.last_packet);
        o.key(F::WSD_MESSAGE_FIRST_TIME.json);
        self.times.secs(o.buf, m.first_time);
        o.key(F::FRAME_TIME_RELATIVE.json);
        self.times.secs(o.buf, m.rel_time);
        self.ts_at = o.ts(m.rel_time, self.base_ns, &mut self.times);
        o.bool(F::WSD_MESSAGE_COMPRESSED.json, m.compressed);
        o.num(F::WSD_MESSAGE_WIRE_LEN.json, m.wire_len);
        o.bool(F::WSD_PAYLOAD_COMPLETE.json, m.payload_complete);
        let text = self.payload(
            (F::WSD_MESSAGE_PAYLOAD, F::WSD_MESSAGE_TEXT),
            m.opcode == crate::ws::OpCode::Text && m.payload_complete,
            m.payload,
            false,
        )?;
        let mut o = Obj {
            buf: &mut self.line,
        };
        let echo = text.map(|at| (m.payload, at));
        push_app(&mut o, m.app, m.app_decoder.map(|(_, by)| by), echo);
        o.finish();
        Ok(())
    }

    /// The payload in base64 (under `bytes_field`'s key) and, when `text` (a complete Text
    /// payload) and it is valid UTF-8, the text (under `text_field`'s).
    ///
    /// A large payload goes out in pieces: the line so far is written, then the base64
    /// and the text a bounded piece at a time, so the line buffer never holds a whole
    /// large payload (JSON Lines of large-200mb-c64-s1.pcap: it grew to the largest
    /// record, ~5 MB, and doubled). Only once the capture's start is known: a record held
    /// for its `ts` is held whole.
    ///
    /// A small payload is rendered once for its frame and its message: a one-frame
    /// message's record repeats the frame's base64 and text, copied from the last
    /// rendering when the bytes are the same (callgrind, small-20.pcap: 1,203 M -> 1,162 M
    /// instructions).
    fn payload(
        &mut self,
        (bytes_field, text_field): (Field, Field),
        text: bool,
        payload: &[u8],
        remember: bool,
    ) -> io::Result<Option<std::ops::Range<usize>>> {
        let line = &mut self.line;
        if self.base_ns.is_some() && payload.len() > STREAM_AT {
            self.out.write_all(line)?;
            line.clear();
            Obj { buf: line }.key(bytes_field.json);
            line.push(b'"');
            for piece in payload.chunks(PIECE) {
                push_base64(line, piece);
                self.out.write_all(line)?;
                line.clear();
            }
            line.push(b'"');
            if text && let Ok(text) = std::str::from_utf8(payload) {
                Obj { buf: line }.key(text_field.json);
                line.push(b'"');
                let mut rest = text;
                while !rest.is_empty() {
                    // A piece ends on a character boundary (at most 3 bytes back).
                    let mut cut = rest.len().min(PIECE);
                    while !rest.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    let (piece, after) = rest.split_at(cut);
                    push_json_str_body(line, piece);
                    self.out.write_all(line)?;
                    line.clear();
                    rest = after;
                }
                line.push(b'"');
            }
            return Ok(None);
        }
        let cache = &mut self.rendered;
        if !remember
            && cache.text == text
            && cache.fields == (bytes_field.json, text_field.json)
            && cache.payload == payload
        {
            let start = line.len();
            line.extend_from_slice(&cache.bytes);
            return Ok(cache
                .text_at
                .clone()
                .map(|r| start + r.start..start + r.end));
        }
        let start = line.len();
        let mut o = Obj { buf: line };
        o.key(bytes_field.json);
        o.buf.push(b'"');
        push_base64(o.buf, payload);
        o.buf.push(b'"');
        let mut text_at = None;
        if text && let Ok(text) = std::str::from_utf8(payload) {
            o.key(text_field.json);
            let from = o.buf.len() + 1;
            push_json_str(o.buf, text);
            text_at = Some(from..o.buf.len().saturating_sub(1));
        }
        if remember && payload.len() <= CACHE_AT_MOST {
            cache.text = text;
            cache.fields = (bytes_field.json, text_field.json);
            cache.payload.clear();
            cache.payload.extend_from_slice(payload);
            cache.text_at = text_at
                .clone()
                .map(|r| r.start.saturating_sub(start)..r.end.saturating_sub(start));
            cache.bytes.clear();
            cache
                .bytes
                .extend_from_slice(line.get(start..).unwrap_or_default());
        }
        Ok(text_at)
    }

    /// The `app` record: what an HTTP message's body carried (Engine.IO long-polling).
    fn app_http(&mut self, conn: u32, packet: u64, head: HttpHeadRef<'_>, app: &[AppPacket]) {
        let mut o = Obj::new(&mut self.line, "app");
        o.num(F::TCP_STREAM.json, conn);
        o.num(F::FRAME_NUMBER.json, packet);
        match head {
            HttpHeadRef::Request(r) => {
                o.str(F::WSD_DIRECTION.json, "c2s");
                o.str(F::HTTP_REQUEST_METHOD.json, &r.method);
                o.str(F::HTTP_REQUEST_URI.json, &r.path);
            }
            HttpHeadRef::Response(r) => {
                o.str(F::WSD_DIRECTION.json, "s2c");
                o.num(F::HTTP_RESPONSE_CODE.json, r.status);
            }
        }
        push_app(&mut o, app, Some(ChosenBy::Path), None);
        o.finish();
    }

    fn ping_pong(&mut self, p: &PingPongEvent) {
        let mut o = Obj::new(&mut self.line, "pingpong");
        o.num(F::TCP_STREAM.json, p.conn);
        o.str(F::WSD_PING_DIR.json, p.ping_dir.short());
        o.num(F::WSD_PING_PACKET.json, p.ping_packet);
        o.num(F::WSD_PONG_PACKET.json, p.pong_packet);
        o.key(F::WSD_PING_RTT.json);
        push_secs6(o.buf, p.rtt);
        o.num(F::WSD_PING_PAYLOAD_LEN.json, p.payload_len);
        o.finish();
    }

    fn handshake(&mut self, h: &Handshake<'_>) {
        let req = h.request;
        let resp = h.response;
        let mut o = Obj::new(&mut self.line, "handshake");
        o.num(F::TCP_STREAM.json, h.conn);
        o.addr(F::WSD_CLIENT.json, h.endpoints.client);
        o.addr(F::WSD_SERVER.json, h.endpoints.server);
        o.num(F::WSD_REQUEST_PACKET.json, h.request_packet);
        o.num(F::WSD_RESPONSE_PACKET.json, h.response_packet);
        o.str(F::HTTP_REQUEST_METHOD.json, &req.method);
        o.str(F::HTTP_REQUEST_URI.json, &req.path);
        o.opt_str(F::HTTP_HOST.json, req.header("Host"));
        o.opt_str(F::WSD_ORIGIN.json, req.header("Origin"));
        o.opt_str(
            F::HTTP_SEC_WEBSOCKET_KEY.json,
            req.header("Sec-WebSocket-Key"),
        );
        o.opt_str(
            F::HTTP_SEC_WEBSOCKET_VERSION.json,
            req.header("Sec-WebSocket-Version"),
        );
        o.opt_str(
            F::WSD_REQUESTED_PROTOCOLS.json,
            req.header("Sec-WebSocket-Protocol"),
        );
        o.opt_str(
            F::WSD_REQUESTED_EXTENSIONS.json,
            req.header("Sec-WebSocket-Extensions"),
        );
        o.num(F::HTTP_RESPONSE_CODE.json, resp.status);
        o.str(F::HTTP_RESPONSE_PHRASE.json, &resp.reason);
        o.bool(F::WSD_UPGRADED.json, h.upgraded);
        o.opt_str(
            F::HTTP_SEC_WEBSOCKET_ACCEPT.json,
            resp.header("Sec-WebSocket-Accept"),
        );
        o.opt_str(F::WSD_ACCEPT_EXPECTED.json, h.expected_accept);
        o.bool(F::WSD_ACCEPT_OK.json, h.accept.is_valid());
        o.opt_str(
            F::HTTP_SEC_WEBSOCKET_PROTOCOL.json,
            resp.header("Sec-WebSocket-Protocol"),
        );
        o.opt_str(
            F::HTTP_SEC_WEBSOCKET_EXTENSIONS.json,
            resp.header("Sec-WebSocket-Extensions"),
        );
        o.finish();
    }

    fn connection(&mut self, c: &ConnectionSummary) {
        let mut o = Obj::new(&mut self.line, "connection");
        o.num(F::TCP_STREAM.json, c.conn);
        o.addr(F::WSD_CLIENT.json, c.endpoints.client);
        o.addr(F::WSD_SERVER.json, c.endpoints.server);
        o.str(F::WSD_CONNECTION_STATE.json, c.state.as_str());
        o.opt_str(F::HTTP_REQUEST_URI.json, c.path.as_deref());
        o.opt_num(F::HTTP_RESPONSE_CODE.json, c.status);
        o.num(F::WSD_CONNECTION_FIRST_PACKET.json, c.first_packet);
        o.num(F::WSD_CONNECTION_LAST_PACKET.json, c.last_packet);
        o.num(F::WSD_FRAMES_C2S.json, c.frames[0]);
        o.num(F::WSD_FRAMES_S2C.json, c.frames[1]);
        o.num(F::WSD_PAYLOAD_BYTES_C2S.json, c.payload_bytes[0]);
        o.num(F::WSD_PAYLOAD_BYTES_S2C.json, c.payload_bytes[1]);
        for (i, key) in [F::WSD_CLOSE_C2S.json, F::WSD_CLOSE_S2C.json]
            .into_iter()
            .enumerate()
        {
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
        o.str(F::WSD_TCP_END.json, c.tcp_end.as_str());
        o.finish();
    }

    fn app_exchange(&mut self, x: &AppExchangeEvent<'_>) {
        let mut o = Obj::new(&mut self.line, "app_exchange");
        o.num(F::TCP_STREAM.json, x.conn);
        let value = match x.exchange {
            AppExchange::Answered(e) => e.to_json(),
            AppExchange::Unanswered(u) => u.to_json(),
        };
        o.bool(
            F::WSD_APP_ANSWERED.json,
            matches!(x.exchange, AppExchange::Answered(_)),
        );
        if let serde_json::Value::Object(members) = &value {
            for (key, v) in members {
                o.key(key);
                push_json_value(o.buf, v);
            }
        }
        o.finish();
    }

    fn tls(&mut self, t: &TlsSessionEvent<'_>) {
        let mut o = Obj::new(&mut self.line, "tls");
        o.num(F::TCP_STREAM.json, t.conn);
        o.addr(F::WSD_CLIENT.json, t.endpoints.client);
        o.addr(F::WSD_SERVER.json, t.endpoints.server);
        o.opt_str(F::TLS_VERSION.json, t.version.map(crate::tls::version_name));
        o.opt_num(F::TLS_CIPHER_SUITE.json, t.cipher_suite);
        o.opt_str(F::TLS_SNI.json, t.sni);
        o.opt_str(F::TLS_ALPN.json, t.alpn);
        o.bool(
            F::WSD_TLS_DECRYPTED.json,
            t.status == crate::tls::DecryptStatus::Decrypted,
        );
        o.str(F::WSD_TLS_STATUS.json, t.status.describe());
        o.num(F::WSD_TLS_RECORDS.json, t.records);
        o.num(F::WSD_TLS_DECRYPTED_RECORDS.json, t.decrypted_records);
        o.finish();
    }

    fn anomaly(&mut self, a: &Anomaly) {
        let mut o = Obj::new(&mut self.line, "anomaly");
        o.opt_num(F::TCP_STREAM.json, a.conn);
        o.num(F::FRAME_NUMBER.json, a.packet);
        o.opt_str(F::WSD_DIRECTION.json, a.dir.map(|d| d.short()));
        o.str(F::WSD_ANOMALY_SEVERITY.json, a.severity.as_str());
        o.str(F::WSD_ANOMALY_KIND.json, a.kind.name);
        o.str(F::WSD_ANOMALY_MESSAGE.json, &a.message);
        o.finish();
    }

    fn capture_error(&mut self, e: &CaptureProblem) {
        let mut o = Obj::new(&mut self.line, "capture_error");
        o.num(F::WSD_CAPTURE_ERROR_PACKETS.json, e.packets_read);
        o.str(F::WSD_CAPTURE_ERROR_MESSAGE.json, &e.message);
        o.finish();
    }
}

impl<W: Write> EventSink for JsonLines<W> {
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.ts_at = None;
        match event {
            Event::Frame(f) => self.frame(f)?,
            Event::Message(m) => self.message(m)?,
            Event::PingPong(p) => self.ping_pong(p),
            Event::Handshake(h) => self.handshake(h),
            Event::ConnectionEnd(c) => self.connection(c),
            Event::Tls(t) => self.tls(t),
            Event::AppExchange(x) => self.app_exchange(x),
            Event::Anomaly(a) => self.anomaly(a),
            Event::CaptureError(e) => self.capture_error(e),
            Event::Packet(p) => {
                if self.base_ns.is_none() {
                    // rel_time is a whole number of nanoseconds over 1e9: rounding gets it back.
                    let ts = i128::from(p.timestamp.secs) * 1_000_000_000
                        + i128::from(p.timestamp.nanos);
                    self.base_ns = Some(ts - (p.rel_time * 1e9).round() as i128);
                    for (line, at) in std::mem::take(&mut self.pending) {
                        write_with_ts(&mut self.out, &line, at, self.base_ns)?;
                    }
                }
                return Ok(());
            }
            Event::HttpRequest(r) if !r.app.is_empty() => {
                self.app_http(r.conn, r.packet, HttpHeadRef::Request(r.request), r.app)
            }
            Event::HttpResponse(r) if !r.app.is_empty() => {
                self.app_http(r.conn, r.packet, HttpHeadRef::Response(r.response), r.app)
            }
            Event::HttpRequest(_) | Event::HttpResponse(_) | Event::HttpPending(_) => {
                return Ok(());
            }
        }
        if (self.base_ns.is_none() && self.ts_at.is_some()) || !self.pending.is_empty() {
            // A record of the first packet, before its packet record: held (in order).
            self.pending.push((self.line.clone(), self.ts_at));
            return Ok(());
        }
        write_with_ts(&mut self.out, &self.line, self.ts_at, self.base_ns)?;
        if self.flush_each_record {
            self.out.flush()?;
        }
        Ok(())
    }

    fn finish(&mut self) -> io::Result<()> {
        // No packet record came (every packet hidden): the held records go without `ts`.
        for (line, at) in std::mem::take(&mut self.pending) {
            write_with_ts(&mut self.out, &line, at, self.base_ns)?;
        }
        self.out.flush()
    }

    fn worker_part(&self) -> Option<Box<dyn WorkerPart>> {
        Some(Box::new(RecordsPart {
            records: JsonLines::new(Vec::new(), false),
            packet_passed: false,
        }))
    }

    fn part_output(&mut self, bytes: &[u8]) -> io::Result<()> {
        if !self.pending.is_empty() {
            // After records held for the first packet's: in order.
            self.pending.push((bytes.to_vec(), None));
            return Ok(());
        }
        self.out.write_all(bytes)?;
        if self.flush_each_record {
            self.out.flush()?;
        }
        Ok(())
    }

    fn merge_part(&mut self, part: Box<dyn WorkerPart>) -> io::Result<()> {
        if let Ok(mut part) = part.into_any().downcast::<RecordsPart>() {
            // Records of a thread that never saw a packet record: held to the end, as here.
            part.records.finish()?;
            self.out.write_all(&part.records.out)?;
        }
        Ok(())
    }
}

/// JSON Lines records made on a dissection thread: each event's record is rendered there
/// (the rendering is most of JSON Lines' work) and only its bytes come back. Its own `ts`
/// comes from the capture's start, which any packet record gives (its time less its
/// relative time), so the thread's first one is enough; it is also passed on, for the
/// records made on the reading thread. An HTTP head with an Engine.IO polling body is
/// rendered on the reading thread, where the body is decoded, in packet order.
struct RecordsPart {
    records: JsonLines<Vec<u8>>,
    packet_passed: bool,
}

impl WorkerPart for RecordsPart {
    fn event(&mut self, event: &Event<'_>, out: &mut Vec<u8>) -> bool {
        let pass = match event {
            Event::Packet(_) => !std::mem::replace(&mut self.packet_passed, true),
            _ => false,
        };
        // Writing into a Vec cannot fail.
        render_into(
            &mut self.records,
            |r| &mut r.out,
            out,
            |r| {
                let _ = r.event(event);
            },
        );
        pass
    }

    fn polled_head(&mut self, _event: &Event<'_>, _out: &mut Vec<u8>) {
        // Its record (with the decoded body) is made on the reading thread.
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// Writes `line`, with `,"ts":"SECONDS.NANOSECONDS"` (absolute capture time) inserted at
/// `at` when the record has a time and the capture's start is known.
fn write_with_ts(
    out: &mut dyn Write,
    line: &[u8],
    at: TsAt,
    base_ns: Option<i128>,
) -> io::Result<()> {
    let (Some((pos, rel)), Some(base)) = (at, base_ns) else {
        return out.write_all(line);
    };
    let (head, tail) = line.split_at(pos.min(line.len()));
    out.write_all(head)?;
    let mut ts = Vec::with_capacity(40);
    push_ts(&mut ts, base, rel);
    out.write_all(&ts)?;
    out.write_all(tail)
}

/// `,"ts":"SECONDS.NANOSECONDS"`: capture start `base` (ns since the epoch) plus `rel`
/// seconds. From integers: `write!` of the i128 arithmetic cost ~8% of the JSON Lines
/// instructions (callgrind, small-20.pcap).
fn push_ts(buf: &mut Vec<u8>, base: i128, rel: f64) {
    let ns = base + (rel * 1e9).round() as i128;
    buf.extend_from_slice(b",\"");
    buf.extend_from_slice(F::FRAME_TIME_EPOCH.json.as_bytes());
    buf.extend_from_slice(b"\":\"");
    // The common case in u64: i128 division is a library call (~100 instructions each).
    if let Ok(ns) = u64::try_from(ns) {
        push_u64(buf, ns / 1_000_000_000);
        push_frac9(buf, ns % 1_000_000_000);
    } else {
        let a = ns.unsigned_abs();
        if ns < 0 {
            buf.push(b'-');
        }
        let _ = write!(buf, "{}", a / 1_000_000_000);
        push_frac9(buf, (a % 1_000_000_000) as u64);
    }
    buf.push(b'"');
}

/// `.` and nine digits with leading zeros: the digits of 10^9 + `frac` without the 1.
fn push_frac9(buf: &mut Vec<u8>, frac: u64) {
    buf.push(b'.');
    let digits = Digits::new(1_000_000_000 + frac);
    buf.extend_from_slice(digits.as_bytes().get(1..).unwrap_or_default());
}
