//! The HTTP analyzer: request and response heads, bodies skipped by their length, the
//! WebSocket upgrade and its accept-key check. When a connection upgrades (or `--ws-port`
//! says it is WebSocket), it attaches a [`WebSocketAnalyzer`] child and forwards the
//! upgraded directions to it, as Zeek's HTTP analyzer attaches its WebSocket child.

use super::websocket::WebSocketAnalyzer;
use super::{Analyzer, ConnState, Cx, Side};
use crate::event::{
    Event, Handshake, HttpPendingEvent, HttpRequestEvent, HttpResponseEvent, UpgradeState,
};
use crate::http::accept::{self, AcceptVerdict};
use crate::http::body::BodySkipper;
use crate::http::head::{self, BodyLength, HeadBuffer, HeadProgress, Request, Response};
use crate::rules::{self, FrameRules};
use std::io;

/// What one direction's bytes are being parsed as.
#[derive(Debug)]
enum HttpDir {
    /// Nothing seen yet: decide from the first bytes.
    Detect,
    /// Inside an HTTP head.
    Head(HeadBuffer),
    /// Skipping an HTTP body; the message's head is reported when the body ends, as
    /// Wireshark reports a reassembled HTTP message on its last packet.
    Body(BodySkipper, Option<Box<HttpHead>>),
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
            emit_request(conn, cx, &request)?;
            let checker = &mut conn.checker;
            cx.check(conn.id, |out| checker.request(&request, out))?;
            conn.upgrade = Some(UpgradeState::Requested);
            self.dirs[side] = HttpDir::AwaitResponse(HeldBytes::default());
            conn.request = Some((cx.packet, request));
        } else {
            let len = request.body_length();
            self.dirs[side] = after_head(conn, cx, len, HttpHead::Request(request))?;
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
                emit_head(conn, cx, &HttpHead::Response(response))?;
                // Another protocol from here on, in both directions.
                self.dirs = [HttpDir::Opaque, HttpDir::Opaque];
            } else {
                let len = response.body_length(None);
                self.dirs[side] = after_head(conn, cx, len, HttpHead::Response(response))?;
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
            accept::verify(key, response.header("Sec-WebSocket-Accept"))
        } else {
            AcceptVerdict::MissingAccept
        };
        let event = HttpResponseEvent {
            conn: conn.id,
            packet,
            endpoints: conn.endpoints(),
            response: &response,
            accept: upgraded.then_some(&verdict),
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
                len => HttpDir::Body(BodySkipper::new(len), None),
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
                HttpDir::Body(skipper, head) => {
                    let consumed = skipper.feed(bytes);
                    bytes = bytes.get(consumed..).unwrap_or_default();
                    if skipper.is_done() {
                        let head = head.take();
                        self.dirs[side] = HttpDir::Head(HeadBuffer::new(conn.config.max_http_head));
                        if let Some(head) = head {
                            emit_head(conn, cx, &head)?;
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
fn after_head(
    conn: &ConnState,
    cx: &mut Cx<'_>,
    len: BodyLength,
    head: HttpHead,
) -> io::Result<HttpDir> {
    Ok(match len {
        BodyLength::None | BodyLength::Fixed(0) => {
            emit_head(conn, cx, &head)?;
            HttpDir::Head(HeadBuffer::new(conn.config.max_http_head))
        }
        BodyLength::UntilClose => {
            emit_head(conn, cx, &head)?;
            HttpDir::Body(BodySkipper::new(len), None)
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
            HttpDir::Body(BodySkipper::new(len), Some(Box::new(head)))
        }
    })
}

/// Reports a complete HTTP message.
fn emit_head(conn: &ConnState, cx: &mut Cx<'_>, head: &HttpHead) -> io::Result<()> {
    match head {
        HttpHead::Request(request) => emit_request(conn, cx, request),
        HttpHead::Response(response) => {
            cx.pdus_completed += 1;
            let event = HttpResponseEvent {
                conn: conn.id,
                packet: cx.packet,
                endpoints: conn.endpoints(),
                response,
                accept: None,
            };
            cx.emit(&Event::HttpResponse(&event))
        }
    }
}

fn emit_request(conn: &ConnState, cx: &mut Cx<'_>, request: &Request) -> io::Result<()> {
    cx.pdus_completed += 1;
    let event = HttpRequestEvent {
        conn: conn.id,
        packet: cx.packet,
        endpoints: conn.endpoints(),
        request,
    };
    cx.emit(&Event::HttpRequest(&event))
}
