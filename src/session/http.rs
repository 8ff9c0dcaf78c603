//! The HTTP analyzer: request and response heads, bodies skipped by their length, the
//! WebSocket upgrade and its accept-key check. When a connection upgrades (or `--ws-port`
//! says it is WebSocket), it attaches a [`WebSocketAnalyzer`] child and forwards the
//! upgraded directions to it, as Zeek's HTTP analyzer attaches its WebSocket child.
//!
//! Engine.IO long-polling (the HTTP requests Socket.IO makes before it upgrades, or
//! instead): the bodies of POST requests and of 200 responses to GET requests of an
//! Engine.IO polling URL are kept (capped) and read by the session's Socket.IO decoder in
//! [`PollingSessions`], shared by every connection since one session's requests travel on
//! several; the packets come with the HTTP message's event.

use super::websocket::WebSocketAnalyzer;
use super::{Analyzer, ConnState, Cx, Side};
use crate::event::{
    Event, Handshake, HttpPendingEvent, HttpRequestEvent, HttpResponseEvent, UpgradeState,
};
use crate::flow::analysis::Direction;
use crate::http::accept::{self, AcceptVerdict};
use crate::http::body::BodySkipper;
use crate::http::head::{self, BodyLength, HeadBuffer, HeadProgress, Request, Response};
use crate::payload::socketio::SocketIoDecoder;
use crate::payload::{self, AppInput, AppOutput, AppPacket, Decoder as _};
use crate::rules::{self, FrameRules};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::sync::{Arc, Mutex};

/// Most bytes of one Engine.IO polling body decoded (the rest is counted out, the body
/// marked incomplete); Engine.IO's own default `maxHttpBufferSize` is 1 MB.
const MAX_POLLING_BODY: usize = 1 << 20;
/// Most Engine.IO polling sessions remembered (the oldest is forgotten first).
const MAX_POLLING_SESSIONS: usize = 1024;
/// Most requests of one connection waiting for their responses, remembered to know which
/// response bodies are polling bodies.
const MAX_PENDING_REQUESTS: usize = 64;

/// The Engine.IO long-polling sessions of a capture: one Socket.IO decoder per session id,
/// shared by every connection (a session's GETs and POSTs travel on several). Cloning
/// shares the table.
///
/// With several dissection threads a table shared by connections on different threads
/// would see their bodies in an order that depends on timing; there the workers use a
/// [`PollingSessions::deferred`] table, which only records each body
/// ([`DeferredPoll`]), and the thread that puts events back in packet order decodes them
/// with the real table ([`PollingSessions::decode_deferred`]), so the output stays that
/// of one thread.
#[derive(Clone, Default)]
pub struct PollingSessions(Polling);

#[derive(Clone)]
enum Polling {
    Decode(Arc<Mutex<Sessions>>),
    Defer(Arc<Mutex<VecDeque<DeferredPoll>>>),
}

impl Default for Polling {
    fn default() -> Self {
        Polling::Decode(Arc::default())
    }
}

/// A polling body recorded for decoding later, in packet order (see [`PollingSessions`]).
#[derive(Debug, Clone)]
pub struct DeferredPoll {
    /// Connection of the HTTP message.
    pub conn: crate::event::ConnId,
    /// The request-target of the polling request.
    pub uri: String,
    /// Who sent the body.
    pub dir: Direction,
    /// The body (capped).
    pub data: Vec<u8>,
    /// False when the body was capped.
    pub complete: bool,
    /// Packet number that completed the HTTP message.
    pub packet: u64,
    /// Its capture time, nanoseconds.
    pub time_ns: u64,
}

#[derive(Default)]
struct Sessions {
    by_sid: HashMap<String, SocketIoDecoder>,
    /// Session ids, oldest first.
    order: VecDeque<String>,
}

impl std::fmt::Debug for PollingSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            Polling::Decode(t) => {
                let n = t.lock().map_or(0, |s| s.by_sid.len());
                write!(f, "PollingSessions({n})")
            }
            Polling::Defer(_) => write!(f, "PollingSessions(deferred)"),
        }
    }
}

impl PollingSessions {
    /// Decodes one polling body of the session `uri` names (a body of a request with no
    /// session id yet, the handshake, gets a decoder of its own).
    fn decode(&self, uri: &str, input: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        let table = match &self.0 {
            Polling::Decode(table) => table,
            // Recorded by `decode_poll`, decoded later in packet order.
            Polling::Defer(_) => return,
        };
        let Some(r) = payload::engineio::request(uri).filter(|r| r.is_polling()) else {
            return;
        };
        let Some(sid) = r.sid else {
            if let Some(mut d) = SocketIoDecoder::polling(uri) {
                d.message(input, out);
            }
            return;
        };
        // A poisoned lock only means another thread panicked: the table is still usable.
        let mut sessions = table.lock().unwrap_or_else(|e| e.into_inner());
        let sessions = &mut *sessions;
        if !sessions.by_sid.contains_key(&sid) {
            let Some(d) = SocketIoDecoder::polling(uri) else {
                return;
            };
            if sessions.order.len() >= MAX_POLLING_SESSIONS
                && let Some(old) = sessions.order.pop_front()
            {
                sessions.by_sid.remove(&old);
            }
            sessions.order.push_back(sid.clone());
            sessions.by_sid.insert(sid.clone(), d);
        }
        if let Some(d) = sessions.by_sid.get_mut(&sid) {
            d.message(input, out);
        }
    }

    /// A table that records polling bodies instead of decoding them (one per worker thread).
    pub fn deferred() -> Self {
        PollingSessions(Polling::Defer(Arc::default()))
    }

    /// Whether bodies are recorded rather than decoded.
    pub fn is_deferred(&self) -> bool {
        matches!(self.0, Polling::Defer(_))
    }

    fn record(&self, poll: DeferredPoll) {
        if let Polling::Defer(queue) = &self.0 {
            queue
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push_back(poll);
        }
    }

    /// Whether a body was recorded for the HTTP message of connection `conn` completed by
    /// `packet` (not taken yet).
    pub fn has_deferred(&self, conn: crate::event::ConnId, packet: u64) -> bool {
        let Polling::Defer(queue) = &self.0 else {
            return false;
        };
        let queue = queue.lock().unwrap_or_else(|e| e.into_inner());
        queue.iter().any(|d| d.conn == conn && d.packet == packet)
    }

    /// The body recorded for the HTTP message of connection `conn` completed by `packet`,
    /// if one was; older records (of messages no event was kept for) are dropped.
    pub fn take_deferred(&self, conn: crate::event::ConnId, packet: u64) -> Option<DeferredPoll> {
        let Polling::Defer(queue) = &self.0 else {
            return None;
        };
        let mut queue = queue.lock().unwrap_or_else(|e| e.into_inner());
        while let Some(front) = queue.front() {
            if front.conn == conn && front.packet == packet {
                return queue.pop_front();
            }
            if front.packet > packet {
                return None;
            }
            queue.pop_front();
        }
        None
    }

    /// Decodes a recorded body with this (decoding) table: the packets for the HTTP
    /// message's event, and the exchanges and anomalies to report after it.
    pub fn decode_deferred(&self, poll: &DeferredPoll) -> (Vec<AppPacket>, Vec<AppOutput>) {
        let input = AppInput {
            dir: poll.dir,
            text: true,
            payload: &poll.data,
            complete: poll.complete,
            packet: poll.packet,
            time_ns: poll.time_ns,
        };
        let mut out = Vec::new();
        self.decode(&poll.uri, &input, &mut out);
        split_outputs(out)
    }
}

/// A polling body being kept.
#[derive(Debug)]
struct PollBody {
    /// The request-target of the polling request (the one answered, for a response).
    uri: Box<str>,
    data: Vec<u8>,
    complete: bool,
}

impl PollBody {
    fn new(uri: &str) -> Box<Self> {
        Box::new(PollBody {
            uri: uri.into(),
            data: Vec::new(),
            complete: true,
        })
    }

    /// Keeps `piece`, up to [`MAX_POLLING_BODY`] bytes in all.
    fn push(&mut self, piece: &[u8]) {
        let room = MAX_POLLING_BODY.saturating_sub(self.data.len());
        if piece.len() > room {
            self.complete = false;
        }
        self.data
            .extend_from_slice(piece.get(..piece.len().min(room)).unwrap_or_default());
    }
}

/// Whether this connection's Engine.IO polling bodies are decoded: not when `--decode-as`
/// gave it another protocol or none.
fn polling_decoded(conn: &ConnState) -> bool {
    match payload::decode_as_for(&conn.config.decode_as, u64::from(conn.id), conn.ports()) {
        None => true,
        Some(Some(p)) => matches!(p, payload::Protocol::SocketIo | payload::Protocol::EngineIo),
        Some(None) => false,
    }
}

/// What one direction's bytes are being parsed as.
#[derive(Debug)]
enum HttpDir {
    /// Nothing seen yet: decide from the first bytes.
    Detect,
    /// Inside an HTTP head.
    Head(HeadBuffer),
    /// Skipping an HTTP body; the message's head is reported when the body ends, as
    /// Wireshark reports a reassembled HTTP message on its last packet. An Engine.IO
    /// polling body is kept for the decoder.
    Body(BodySkipper, Option<Box<HttpHead>>, Option<Box<PollBody>>),
    /// Client sent an upgrade request; bytes after it wait for the server's answer.
    AwaitResponse(HeldBytes),
    /// WebSocket: the bytes go to the child analyzer.
    Upgraded,
    /// Not something wsdissect follows (or lost after a gap).
    Opaque,
}

/// Client bytes sent between the upgrade request and the response, held to be decoded
/// once the response says what they are.
#[derive(Debug, Default)]
struct HeldBytes {
    chunks: Vec<(u64, Vec<u8>)>,
    /// Sum of the chunk lengths (kept, not recomputed per packet: a client sending byte
    /// by byte must cost linear time).
    len: usize,
}

/// An HTTP head waiting for its body to end.
#[derive(Debug)]
enum HttpHead {
    Request(Request),
    Response(Response),
}

/// HTTP in both directions of one connection, and the WebSocket child once upgraded.
#[derive(Debug)]
pub struct HttpAnalyzer {
    dirs: [HttpDir; 2],
    websocket: Option<WebSocketAnalyzer>,
    /// Per request waiting for its response, in order: the request-target of an Engine.IO
    /// polling GET (whose 200 response carries packets), else `None`.
    polls: VecDeque<Option<Box<str>>>,
}

impl Default for HttpAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpAnalyzer {
    /// Both directions undecided.
    pub fn new() -> Self {
        HttpAnalyzer {
            dirs: [HttpDir::Detect, HttpDir::Detect],
            websocket: None,
            polls: VecDeque::new(),
        }
    }

    /// Hands side `side` over to the WebSocket child, creating it if needed.
    fn upgrade_side(&mut self, conn: &ConnState, side: Side) {
        self.websocket
            .get_or_insert_with(WebSocketAnalyzer::new)
            .open(conn, side);
        self.dirs[side] = HttpDir::Upgraded;
    }

    /// Decides what a direction carries from its first bytes.
    fn detect(&mut self, conn: &mut ConnState, side: Side, bytes: &[u8]) {
        if head::looks_like_request(bytes) || head::looks_like_response(bytes) {
            self.dirs[side] = HttpDir::Head(HeadBuffer::new(conn.config.max_http_head));
            return;
        }
        if conn.on_ws_port() {
            // Decode As: frames from the start of the captured data; the masking side
            // is the client, which the first frame tells.
            if !conn.roles_known() {
                let masked = bytes.get(1).is_some_and(|b| b & 0x80 != 0);
                conn.set_client(if masked { side } else { 1 - side });
            }
            if conn.upgrade.is_none() {
                conn.upgrade = Some(UpgradeState::Assumed);
            }
            // Nothing is known of the extensions: RSV1 is taken as permessage-deflate.
            conn.checker.set_rules(FrameRules {
                handshake_seen: false,
                deflate: true,
                other_extensions: false,
            });
            self.upgrade_side(conn, side);
            return;
        }
        self.dirs[side] = HttpDir::Opaque;
    }

    fn head_complete(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        head: &[u8],
    ) -> io::Result<()> {
        let parsed = if head::looks_like_response(head) {
            head::parse_response(head)
                .map(HttpHead::Response)
                .map_err(|e| ("response", e))
        } else {
            head::parse_request(head)
                .map(HttpHead::Request)
                .map_err(|e| ("request", e))
        };
        match parsed {
            Ok(HttpHead::Response(response)) => self.response_complete(conn, cx, side, response),
            Ok(HttpHead::Request(request)) => self.request_complete(conn, cx, side, request),
            Err((what, e)) => {
                self.dirs[side] = HttpDir::Opaque;
                conn.anomaly(
                    cx,
                    Some(side),
                    rules::HTTP_MALFORMED,
                    format!("unparsable HTTP {what} head: {e}"),
                )
            }
        }
    }

    fn request_complete(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        request: Request,
    ) -> io::Result<()> {
        if !conn.roles_known() {
            conn.set_client(side);
        }
        if request.is_websocket_upgrade() {
            emit_request(conn, cx, &request, &[])?;
            let checker = &mut conn.checker;
            cx.check(conn.id, |out| checker.request(&request, out))?;
            conn.upgrade = Some(UpgradeState::Requested);
            self.dirs[side] = HttpDir::AwaitResponse(HeldBytes::default());
            conn.request = Some((cx.packet, request));
        } else {
            let len = request.body_length();
            // Engine.IO long-polling: a POST's body, and the 200 answer to a GET, carry packets.
            let poll = polling_decoded(conn)
                .then(|| payload::engineio::request(&request.path))
                .flatten()
                .filter(|r| r.is_polling())
                .is_some();
            if self.polls.len() >= MAX_PENDING_REQUESTS {
                self.polls.pop_front();
            }
            self.polls.push_back(
                (poll && request.method.eq_ignore_ascii_case("GET"))
                    .then(|| request.path.as_str().into()),
            );
            let body = (poll && request.method.eq_ignore_ascii_case("POST"))
                .then(|| PollBody::new(&request.path));
            self.dirs[side] = after_head(conn, cx, len, HttpHead::Request(request), body)?;
        }
        Ok(())
    }

    fn response_complete(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        response: Response,
    ) -> io::Result<()> {
        let packet = cx.packet;
        let Some((request_packet, request)) = conn.request.take() else {
            // An ordinary HTTP response, or a 101 to another protocol, or one nobody asked for.
            if response.status == 101 {
                if response.header_has_token("Upgrade", "websocket") {
                    conn.anomaly(
                        cx,
                        Some(side),
                        rules::UNREQUESTED_101,
                        "101 Switching Protocols to websocket without a WebSocket upgrade request"
                            .to_string(),
                    )?;
                }
                emit_head(conn, cx, &HttpHead::Response(response), &[])?;
                // Another protocol from here on, in both directions.
                self.dirs = [HttpDir::Opaque, HttpDir::Opaque];
            } else {
                let len = response.body_length(None);
                let polled = self.polls.pop_front().flatten();
                let body = polled
                    .filter(|_| response.status == 200)
                    .map(|uri| PollBody::new(&uri));
                self.dirs[side] = after_head(conn, cx, len, HttpHead::Response(response), body)?;
            }
            return Ok(());
        };
        let key = request.header("Sec-WebSocket-Key");
        let expected = key.map(accept::expected_accept);
        // Like Wireshark, only a 101 that names websocket in its Upgrade header switches
        // the connection to WebSocket; a 101 to anything else leaves it undecoded.
        let upgraded = response.status == 101 && response.header_has_token("Upgrade", "websocket");
        let switched_elsewhere = response.status == 101 && !upgraded;
        let verdict = if upgraded {
            // The expected value computed above: one SHA-1 per handshake, not two.
            accept::verify_expected(expected.as_deref(), response.header("Sec-WebSocket-Accept"))
        } else {
            AcceptVerdict::MissingAccept
        };
        let event = HttpResponseEvent {
            conn: conn.id,
            packet,
            endpoints: conn.endpoints(),
            response: &response,
            accept: upgraded.then_some(&verdict),
            app: &[],
        };
        cx.pdus_completed += 1;
        cx.emit(&Event::HttpResponse(&event))?;
        let handshake = Handshake {
            conn: conn.id,
            endpoints: conn.endpoints(),
            request_packet,
            response_packet: packet,
            request: &request,
            response: &response,
            expected_accept: expected.as_deref(),
            accept: &verdict,
            upgraded,
        };
        cx.emit(&Event::Handshake(&handshake))?;
        let client = 1 - side;
        if upgraded {
            conn.upgrade = Some(UpgradeState::Upgraded);
            let checker = &mut conn.checker;
            cx.check(conn.id, |out| {
                checker.response(&request, &response, &verdict, out)
            })?;
            // The child learns the subprotocol and the request path from the handshake.
            conn.response = Some((packet, response));
            conn.request = Some((request_packet, request));
            self.upgrade_side(conn, side);
            let held = std::mem::replace(&mut self.dirs[client], HttpDir::Upgraded);
            self.upgrade_side(conn, client);
            if let HttpDir::AwaitResponse(held) = held {
                for (p, bytes) in held.chunks {
                    self.data(conn, cx, client, p, &bytes)?;
                }
            }
            return Ok(());
        }
        if switched_elsewhere {
            conn.upgrade = Some(UpgradeState::Refused);
            let checker = &mut conn.checker;
            cx.check(conn.id, |out| checker.upgrade_not_websocket(&response, out))?;
            self.dirs = [HttpDir::Opaque, HttpDir::Opaque];
        } else {
            conn.upgrade = Some(UpgradeState::Refused);
            conn.anomaly(
                cx,
                Some(side),
                rules::UPGRADE_REFUSED,
                format!(
                    "server answered the upgrade request with {} {}",
                    response.status, response.reason
                ),
            )?;
            self.dirs[side] = match response.body_length(Some(&request.method)) {
                BodyLength::None | BodyLength::Fixed(0) => {
                    HttpDir::Head(HeadBuffer::new(conn.config.max_http_head))
                }
                len => HttpDir::Body(BodySkipper::new(len), None, None),
            };
            let held = std::mem::replace(
                &mut self.dirs[client],
                HttpDir::Head(HeadBuffer::new(conn.config.max_http_head)),
            );
            if let HttpDir::AwaitResponse(held) = held {
                for (p, bytes) in held.chunks {
                    self.data(conn, cx, client, p, &bytes)?;
                }
            }
        }
        conn.request = Some((request_packet, request));
        conn.response = Some((packet, response));
        Ok(())
    }
}

impl Analyzer for HttpAnalyzer {
    fn data(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        packet: u64,
        mut bytes: &[u8],
    ) -> io::Result<()> {
        while !bytes.is_empty() {
            match &mut self.dirs[side] {
                HttpDir::Opaque => return Ok(()),
                HttpDir::Detect => self.detect(conn, side, bytes),
                HttpDir::Head(buffer) => match buffer.feed(bytes) {
                    HeadProgress::NeedMore { consumed } => {
                        cx.delivered_into_pdu = true;
                        bytes = bytes.get(consumed..).unwrap_or_default();
                        if consumed == 0 {
                            return Ok(());
                        }
                    }
                    HeadProgress::Complete { consumed } => {
                        bytes = bytes.get(consumed..).unwrap_or_default();
                        let head = buffer.take();
                        self.head_complete(conn, cx, side, &head)?;
                    }
                    HeadProgress::TooLarge => {
                        self.dirs[side] = HttpDir::Opaque;
                        let max = conn.config.max_http_head;
                        conn.anomaly(
                            cx,
                            Some(side),
                            rules::HTTP_HEAD_TOO_LARGE,
                            format!("HTTP head longer than {max} bytes: not decoded further"),
                        )?;
                    }
                },
                HttpDir::Body(skipper, head, poll) => {
                    let consumed = match poll {
                        Some(body) => skipper.feed_with(bytes, &mut |piece| body.push(piece)),
                        None => skipper.feed(bytes),
                    };
                    bytes = bytes.get(consumed..).unwrap_or_default();
                    if skipper.is_done() {
                        let head = head.take();
                        let poll = poll.take();
                        self.dirs[side] = HttpDir::Head(HeadBuffer::new(conn.config.max_http_head));
                        if let Some(head) = head {
                            let dir = conn.direction(side);
                            let decoded = poll.map(|body| decode_poll(conn, cx, dir, &body));
                            let (app, rest) = decoded.unwrap_or_default();
                            emit_head(conn, cx, &head, &app)?;
                            for output in rest {
                                super::websocket::app_output(conn.id, output, cx)?;
                            }
                        }
                    } else {
                        cx.delivered_into_pdu = true;
                        if consumed == 0 {
                            return Ok(());
                        }
                    }
                }
                HttpDir::AwaitResponse(held) => {
                    if held.len + bytes.len() <= conn.config.max_held_bytes {
                        held.chunks.push((packet, bytes.to_vec()));
                        held.len += bytes.len();
                    }
                    let checker = &mut conn.checker;
                    return cx.check(conn.id, |out| checker.early_data(bytes.len(), out));
                }
                HttpDir::Upgraded => {
                    return match &mut self.websocket {
                        Some(ws) => ws.data(conn, cx, side, packet, bytes),
                        None => Ok(()),
                    };
                }
            }
        }
        Ok(())
    }

    fn gap(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        len: u64,
    ) -> io::Result<()> {
        match &self.dirs[side] {
            HttpDir::Upgraded => match &mut self.websocket {
                Some(ws) => ws.gap(conn, cx, side, len),
                None => Ok(()),
            },
            HttpDir::Opaque => Ok(()),
            HttpDir::Detect if conn.config.ws_ports.is_empty() => {
                self.dirs[side] = HttpDir::Opaque;
                Ok(())
            }
            _ => {
                self.dirs[side] = HttpDir::Opaque;
                let dir = conn.direction(side);
                conn.anomaly(
                    cx,
                    Some(side),
                    rules::TCP_GAP,
                    format!(
                        "{len} bytes {} not captured inside HTTP data: the rest of this direction is not decoded",
                        dir.short()
                    ),
                )
            }
        }
    }

    fn end(&mut self, conn: &mut ConnState, cx: &mut Cx<'_>) -> io::Result<()> {
        match &mut self.websocket {
            Some(ws) => ws.end(conn, cx),
            None => Ok(()),
        }
    }

    fn decodes_pdus(&self, side: Side) -> bool {
        !matches!(self.dirs[side], HttpDir::Opaque | HttpDir::Detect)
    }
}

/// The state after an HTTP head whose body has length `len`: the head is reported now
/// if there is no body (or it runs to the end of the connection), else when it ends.
/// A polling body (`poll`) is kept while the body is skipped; one that runs until the
/// connection closes is not decoded.
fn after_head(
    conn: &ConnState,
    cx: &mut Cx<'_>,
    len: BodyLength,
    head: HttpHead,
    poll: Option<Box<PollBody>>,
) -> io::Result<HttpDir> {
    Ok(match len {
        BodyLength::None | BodyLength::Fixed(0) => {
            emit_head(conn, cx, &head, &[])?;
            HttpDir::Head(HeadBuffer::new(conn.config.max_http_head))
        }
        BodyLength::UntilClose => {
            emit_head(conn, cx, &head, &[])?;
            HttpDir::Body(BodySkipper::new(len), None, None)
        }
        len => {
            let (request, response) = match &head {
                HttpHead::Request(r) => (Some(r), None),
                HttpHead::Response(r) => (None, Some(r)),
            };
            let event = HttpPendingEvent {
                conn: conn.id,
                packet: cx.packet,
                request,
                response,
            };
            cx.emit(&Event::HttpPending(&event))?;
            cx.delivered_into_pdu = true;
            HttpDir::Body(BodySkipper::new(len), Some(Box::new(head)), poll)
        }
    })
}

/// Reads a whole polling body with its session's decoder: the packets (for the HTTP
/// message's event) and the rest (exchanges, anomalies) to report after it.
fn decode_poll(
    conn: &ConnState,
    cx: &Cx<'_>,
    dir: Direction,
    body: &PollBody,
) -> (Vec<AppPacket>, Vec<AppOutput>) {
    if body.data.is_empty() {
        return Default::default();
    }
    let input = AppInput {
        dir,
        text: true,
        payload: &body.data,
        complete: body.complete,
        packet: cx.packet,
        time_ns: (cx.rel_time * 1e9).round() as u64,
    };
    if conn.config.polling.is_deferred() {
        conn.config.polling.record(DeferredPoll {
            conn: conn.id,
            uri: body.uri.to_string(),
            dir,
            data: body.data.clone(),
            complete: body.complete,
            packet: input.packet,
            time_ns: input.time_ns,
        });
        return Default::default();
    }
    let mut out = Vec::new();
    conn.config.polling.decode(&body.uri, &input, &mut out);
    split_outputs(out)
}

/// Splits a decoder's outputs into packets and the rest.
fn split_outputs(out: Vec<AppOutput>) -> (Vec<AppPacket>, Vec<AppOutput>) {
    let mut packets = Vec::new();
    let mut rest = Vec::new();
    for o in out {
        match o {
            AppOutput::Packet(p) => packets.push(p),
            other => rest.push(other),
        }
    }
    (packets, rest)
}

/// Reports a complete HTTP message, with the application packets its body carried.
fn emit_head(
    conn: &ConnState,
    cx: &mut Cx<'_>,
    head: &HttpHead,
    app: &[AppPacket],
) -> io::Result<()> {
    match head {
        HttpHead::Request(request) => emit_request(conn, cx, request, app),
        HttpHead::Response(response) => {
            cx.pdus_completed += 1;
            let event = HttpResponseEvent {
                conn: conn.id,
                packet: cx.packet,
                endpoints: conn.endpoints(),
                response,
                accept: None,
                app,
            };
            cx.emit(&Event::HttpResponse(&event))
        }
    }
}

fn emit_request(
    conn: &ConnState,
    cx: &mut Cx<'_>,
    request: &Request,
    app: &[AppPacket],
) -> io::Result<()> {
    cx.pdus_completed += 1;
    let event = HttpRequestEvent {
        conn: conn.id,
        packet: cx.packet,
        endpoints: conn.endpoints(),
        request,
        app,
    };
    cx.emit(&Event::HttpRequest(&event))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(dir: Direction, body: &[u8], packet: u64) -> AppInput<'_> {
        AppInput {
            dir,
            text: true,
            payload: body,
            complete: true,
            packet,
            time_ns: packet * 1_000_000,
        }
    }

    #[test]
    fn a_polling_body_is_kept_up_to_its_cap_and_then_marked_incomplete() {
        let mut body = PollBody::new("/socket.io/?EIO=4&transport=polling&sid=a");
        let piece = vec![b'4'; 64 * 1024];
        for _ in 0..(MAX_POLLING_BODY / piece.len()) {
            body.push(&piece);
        }
        assert!(body.complete);
        body.push(b"x");
        assert!(!body.complete);
        assert_eq!(body.data.len(), MAX_POLLING_BODY);
    }

    #[test]
    fn sessions_pair_across_requests_and_stay_bounded() {
        let sessions = PollingSessions::default();
        let uri = "/socket.io/?EIO=4&transport=polling&sid=s1";
        let mut out = Vec::new();
        // Socket.IO v5 spec: an event with ack id 12, then its ACK.
        sessions.decode(
            uri,
            &input(Direction::ClientToServer, br#"4212["hello","world"]"#, 1),
            &mut out,
        );
        sessions.decode(
            uri,
            &input(Direction::ServerToClient, br#"4312["bar"]"#, 2),
            &mut out,
        );
        let exchange = out.iter().find_map(|o| match o {
            AppOutput::Exchange(x) => Some(x),
            _ => None,
        });
        assert_eq!(
            exchange.map(|x| (x.request_packet, x.answer_packet)),
            Some((1, 2))
        );
        for i in 0..MAX_POLLING_SESSIONS + 10 {
            let uri = format!("/socket.io/?EIO=4&transport=polling&sid=x{i}");
            sessions.decode(&uri, &input(Direction::ClientToServer, b"2", 3), &mut out);
        }
        let Polling::Decode(table) = &sessions.0 else {
            panic!("a default table decodes");
        };
        let table = table.lock().unwrap();
        assert_eq!(table.by_sid.len(), MAX_POLLING_SESSIONS);
        assert_eq!(table.order.len(), MAX_POLLING_SESSIONS);
    }

    #[test]
    fn a_deferred_table_records_bodies_and_the_decoding_table_reads_them_in_order() {
        // Engine.IO v4 polling: the client's POST of a Socket.IO EVENT with ack id 1, then
        // the server's GET answer with its ACK (socket.io-protocol v5 examples).
        let uri = "/socket.io/?EIO=4&transport=polling&sid=s1";
        let deferred = PollingSessions::deferred();
        assert!(deferred.is_deferred());
        let mut out = Vec::new();
        deferred.decode(
            uri,
            &input(Direction::ClientToServer, b"421[\"hi\"]", 1),
            &mut out,
        );
        assert!(out.is_empty(), "a deferred table decodes nothing itself");
        let record = |packet, dir, data: &[u8]| DeferredPoll {
            conn: 0,
            uri: uri.to_string(),
            dir,
            data: data.to_vec(),
            complete: true,
            packet,
            time_ns: packet * 1000,
        };
        deferred.record(record(1, Direction::ClientToServer, b"421[\"hi\"]"));
        deferred.record(record(2, Direction::ServerToClient, b"431[\"ok\"]"));
        // A record of a message no event was kept for is skipped.
        assert!(deferred.take_deferred(0, 0).is_none());
        let first = deferred.take_deferred(0, 1).expect("recorded");
        let second = deferred.take_deferred(0, 2).expect("recorded");
        let table = PollingSessions::default();
        let (packets, rest) = table.decode_deferred(&first);
        assert_eq!(packets.len(), 1);
        assert!(rest.is_empty());
        let (_, rest) = table.decode_deferred(&second);
        let exchange = rest.iter().find_map(|o| match o {
            AppOutput::Exchange(x) => Some((x.request_packet, x.answer_packet, x.latency_ns)),
            _ => None,
        });
        assert_eq!(exchange, Some((1, 2, 1000)));
    }
}
