//! Events carried from a worker thread back to the thread that renders them: the same
//! content as [`Event`], owning what the event borrowed. Payloads go into one byte arena
//! per batch (a `Vec` per frame would cost an allocation per frame).

use crate::event::{
    AppExchange, AppExchangeEvent, ConnId, ConnectionSummary, Endpoints, Event, EventSink,
    FrameEvent, Handshake, HttpPendingEvent, HttpRequestEvent, HttpResponseEvent, MessageEvent,
    PacketBody, PacketRecord, PingPongEvent, TcpRecord, TlsSessionEvent, WorkerPart,
};
use crate::flow::analysis::{Direction, SegmentAnalysis};
use crate::http::accept::AcceptVerdict;
use crate::http::head::{Request, Response};
use crate::payload::{AppOutput, AppPacket, ChosenBy, Exchange, Protocol, Unanswered};
use crate::session::http::{DeferredPoll, PollingSessions};
use crate::session::websocket::app_output_events;
use crate::tls::{DecryptStatus, SegmentLabel};
use crate::wire::TcpSegment;
use crate::ws::{CloseCode, FrameHeader, OpCode};
use std::io;
use std::ops::Range;

/// Bytes kept in a batch's arena.
type Span = Range<usize>;

fn keep(arena: &mut Vec<u8>, bytes: &[u8]) -> Span {
    let start = arena.len();
    arena.extend_from_slice(bytes);
    start..arena.len()
}

fn bytes<'a>(arena: &'a [u8], span: &Span) -> &'a [u8] {
    arena.get(span.clone()).unwrap_or_default()
}

fn text<'a>(arena: &'a [u8], span: &Span) -> &'a str {
    // Kept from a `&str`, so always valid; an empty string otherwise.
    std::str::from_utf8(bytes(arena, span)).unwrap_or_default()
}

/// What a TCP packet record holds beyond the packet itself (which the rendering thread
/// still has, and decodes again).
#[derive(Debug)]
pub(crate) struct TcpMeta {
    conn: ConnId,
    dir: Direction,
    analysis: SegmentAnalysis,
    partial_pdu: bool,
    pdus_completed: u32,
    tls: Option<SegmentLabel>,
}

/// An [`Event`] that owns its content.
#[derive(Debug)]
pub(crate) enum Owned {
    Packet(TcpMeta),
    HttpRequest {
        conn: ConnId,
        packet: u64,
        endpoints: Endpoints,
        request: Request,
        app: Vec<AppPacket>,
        poll: Option<Box<DeferredPoll>>,
    },
    HttpResponse {
        conn: ConnId,
        packet: u64,
        endpoints: Endpoints,
        response: Response,
        accept: Option<AcceptVerdict>,
        app: Vec<AppPacket>,
        poll: Option<Box<DeferredPoll>>,
    },
    HttpPending {
        conn: ConnId,
        packet: u64,
        request: Option<Request>,
        response: Option<Response>,
    },
    Handshake(Box<OwnedHandshake>),
    Frame {
        conn: ConnId,
        dir: Direction,
        packet: u64,
        first_packet: u64,
        rel_time: f64,
        header: FrameHeader,
        payload: Span,
        payload_complete: bool,
        close_code: Option<CloseCode>,
        close_reason: Span,
    },
    /// Index into [`Collected::messages`] (one allocation per batch, not per message).
    Message(usize),
    PingPong(PingPongEvent),
    Anomaly(crate::event::Anomaly),
    ConnectionEnd(ConnectionSummary),
    Tls {
        conn: ConnId,
        endpoints: Endpoints,
        version: Option<u16>,
        cipher_suite: Option<u16>,
        sni: Option<String>,
        alpn: Option<String>,
        status: DecryptStatus,
        records: u64,
        decrypted_records: u64,
    },
    Answered(ConnId, Box<Exchange>),
    Unanswered(ConnId, Box<Unanswered>),
    /// Bytes a [`WorkerPart`] wrote for an event.
    Prepared(Span),
}

#[derive(Debug)]
pub(crate) struct OwnedHandshake {
    conn: ConnId,
    endpoints: Endpoints,
    request_packet: u64,
    response_packet: u64,
    request: Request,
    response: Response,
    expected_accept: Option<String>,
    accept: AcceptVerdict,
    upgraded: bool,
}

#[derive(Debug)]
pub(crate) struct OwnedMessage {
    conn: ConnId,
    dir: Direction,
    opcode: OpCode,
    len: u64,
    frames: u32,
    first_packet: u64,
    last_packet: u64,
    first_time: f64,
    rel_time: f64,
    payload: Span,
    payload_complete: bool,
    compressed: bool,
    wire_len: u64,
    close_code: Option<CloseCode>,
    close_reason: Span,
    subprotocol: Option<Span>,
    app: Vec<AppPacket>,
    app_decoder: Option<(Protocol, ChosenBy)>,
    app_first: bool,
}

/// The events of one batch: owned events, the arena their bytes are in, and where each
/// job's events end.
#[derive(Debug, Default)]
pub(crate) struct Collected {
    pub(crate) events: Vec<Owned>,
    pub(crate) messages: Vec<OwnedMessage>,
    pub(crate) arena: Vec<u8>,
    /// `ends[i]`: one past the last event of the batch's i-th job that reports.
    pub(crate) ends: Vec<usize>,
    /// The worker's deferred polling table: bodies to attach to their HTTP events.
    pub(crate) polls: Option<PollingSessions>,
}

impl Collected {
    /// An empty batch with room for as much as `like` held.
    pub(crate) fn like(like: (usize, usize, usize)) -> Self {
        Collected {
            events: Vec::with_capacity(like.0),
            messages: Vec::with_capacity(like.1),
            arena: Vec::with_capacity(like.2),
            ends: Vec::new(),
            polls: None,
        }
    }

    /// How much it holds (for [`Collected::like`]).
    pub(crate) fn size(&self) -> (usize, usize, usize) {
        (self.events.len(), self.messages.len(), self.arena.len())
    }

    /// The i-th reporting job's events.
    pub(crate) fn job(&self, i: usize) -> &[Owned] {
        let start = match i.checked_sub(1) {
            Some(prev) => self.ends.get(prev).copied().unwrap_or(0),
            None => 0,
        };
        let end = self.ends.get(i).copied().unwrap_or(start);
        self.events.get(start..end).unwrap_or_default()
    }

    /// Whether the HTTP head of `conn` completed by `packet` has a polling body recorded.
    fn polled(&self, conn: ConnId, packet: u64) -> bool {
        self.polls
            .as_ref()
            .is_some_and(|p| p.has_deferred(conn, packet))
    }

    /// The current job is done: its events are the ones collected since the last one.
    pub(crate) fn end_job(&mut self) {
        self.ends.push(self.events.len());
    }
}

/// A worker's output with the sink's [`WorkerPart`] in front: the part does its work on
/// each event, and only what it wrote, and the events it passes, are collected.
pub(crate) struct ThroughPart<'a> {
    pub(crate) part: &'a mut dyn WorkerPart,
    pub(crate) out: &'a mut Collected,
}

impl EventSink for ThroughPart<'_> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        let start = self.out.arena.len();
        let polled = match event {
            Event::HttpRequest(r) => self.out.polled(r.conn, r.packet),
            Event::HttpResponse(r) => self.out.polled(r.conn, r.packet),
            _ => false,
        };
        let pass = if polled {
            self.part.polled_head(event, &mut self.out.arena);
            true
        } else {
            self.part.event(event, &mut self.out.arena)
        };
        if self.out.arena.len() > start {
            let end = self.out.arena.len();
            self.out.events.push(Owned::Prepared(start..end));
        }
        if pass {
            self.out.event(event)?;
        }
        Ok(())
    }
}

/// The ordered sink as a worker part's events reach it: passed events go to
/// [`EventSink::part_event`], the part's bytes to [`EventSink::part_output`].
pub(crate) struct AsPartEvents<'a>(pub(crate) &'a mut dyn EventSink);

impl EventSink for AsPartEvents<'_> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.0.part_event(event)
    }

    fn part_output(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.0.part_output(bytes)
    }
}

impl EventSink for Collected {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        let arena = &mut self.arena;
        let owned = match event {
            Event::Packet(p) => match &p.body {
                PacketBody::Tcp(t) => Owned::Packet(TcpMeta {
                    conn: t.conn,
                    dir: t.dir,
                    analysis: t.analysis,
                    partial_pdu: t.partial_pdu,
                    pdus_completed: t.pdus_completed,
                    tls: t.tls.cloned(),
                }),
                // Workers see TCP packets only; the rendering thread lists the others.
                PacketBody::Other(_) => return Ok(()),
            },
            Event::HttpRequest(r) => Owned::HttpRequest {
                conn: r.conn,
                packet: r.packet,
                endpoints: r.endpoints,
                request: r.request.clone(),
                app: r.app.to_vec(),
                poll: self
                    .polls
                    .as_ref()
                    .and_then(|p| p.take_deferred(r.conn, r.packet))
                    .map(Box::new),
            },
            Event::HttpResponse(r) => Owned::HttpResponse {
                conn: r.conn,
                packet: r.packet,
                endpoints: r.endpoints,
                response: r.response.clone(),
                accept: r.accept.cloned(),
                app: r.app.to_vec(),
                poll: self
                    .polls
                    .as_ref()
                    .and_then(|p| p.take_deferred(r.conn, r.packet))
                    .map(Box::new),
            },
            Event::HttpPending(p) => Owned::HttpPending {
                conn: p.conn,
                packet: p.packet,
                request: p.request.cloned(),
                response: p.response.cloned(),
            },
            Event::Handshake(h) => Owned::Handshake(Box::new(OwnedHandshake {
                conn: h.conn,
                endpoints: h.endpoints,
                request_packet: h.request_packet,
                response_packet: h.response_packet,
                request: h.request.clone(),
                response: h.response.clone(),
                expected_accept: h.expected_accept.map(str::to_string),
                accept: h.accept.clone(),
                upgraded: h.upgraded,
            })),
            Event::Frame(f) => Owned::Frame {
                conn: f.conn,
                dir: f.dir,
                packet: f.packet,
                first_packet: f.first_packet,
                rel_time: f.rel_time,
                header: f.header,
                payload: keep(arena, f.payload),
                payload_complete: f.payload_complete,
                close_code: f.close_code,
                close_reason: keep(arena, f.close_reason),
            },
            Event::Message(m) => {
                self.messages.push(OwnedMessage {
                    conn: m.conn,
                    dir: m.dir,
                    opcode: m.opcode,
                    len: m.len,
                    frames: m.frames,
                    first_packet: m.first_packet,
                    last_packet: m.last_packet,
                    first_time: m.first_time,
                    rel_time: m.rel_time,
                    payload: keep(arena, m.payload),
                    payload_complete: m.payload_complete,
                    compressed: m.compressed,
                    wire_len: m.wire_len,
                    close_code: m.close_code,
                    close_reason: keep(arena, m.close_reason),
                    subprotocol: m.subprotocol.map(|s| keep(arena, s.as_bytes())),
                    app: m.app.to_vec(),
                    app_decoder: m.app_decoder,
                    app_first: m.app_first,
                });
                Owned::Message(self.messages.len() - 1)
            }
            Event::PingPong(p) => Owned::PingPong((*p).clone()),
            Event::Anomaly(a) => Owned::Anomaly((*a).clone()),
            Event::ConnectionEnd(c) => Owned::ConnectionEnd((*c).clone()),
            Event::Tls(t) => Owned::Tls {
                conn: t.conn,
                endpoints: t.endpoints,
                version: t.version,
                cipher_suite: t.cipher_suite,
                sni: t.sni.map(str::to_string),
                alpn: t.alpn.map(str::to_string),
                status: t.status,
                records: t.records,
                decrypted_records: t.decrypted_records,
            },
            Event::AppExchange(x) => match &x.exchange {
                AppExchange::Answered(e) => Owned::Answered(x.conn, Box::new((*e).clone())),
                AppExchange::Unanswered(u) => Owned::Unanswered(x.conn, Box::new((*u).clone())),
            },
            // Reported by the reading thread, never by a worker.
            Event::CaptureError(_) => return Ok(()),
        };
        self.events.push(owned);
        Ok(())
    }
}

/// The packet a job was about, as the rendering thread holds it.
pub(crate) struct PacketAt<'a> {
    /// The record's fields that do not depend on the connection.
    pub(crate) head: crate::dissect::PacketHead<'a>,
    /// Its TCP segment, decoded again from `head.data`.
    pub(crate) segment: Option<TcpSegment<'a>>,
}

impl Owned {
    /// Hands the event to `sink`, borrowing from `arena` (its batch's) and `packet` (the
    /// job's packet, for a packet record).
    pub(crate) fn emit(
        &self,
        batch: &Collected,
        packet: Option<&PacketAt<'_>>,
        polling: &PollingSessions,
        sink: &mut dyn EventSink,
    ) -> io::Result<()> {
        let arena = &batch.arena;
        match self {
            Owned::Packet(t) => {
                let Some(PacketAt {
                    head,
                    segment: Some(segment),
                }) = packet
                else {
                    return Ok(());
                };
                let record: PacketRecord<'_> = head.record(PacketBody::Tcp(TcpRecord {
                    segment,
                    conn: t.conn,
                    dir: t.dir,
                    analysis: t.analysis,
                    partial_pdu: t.partial_pdu,
                    pdus_completed: t.pdus_completed,
                    tls: t.tls.as_ref(),
                }));
                sink.event(&Event::Packet(&record))
            }
            Owned::HttpRequest {
                conn,
                packet,
                endpoints,
                request,
                app,
                poll,
            } => {
                let (decoded, rest) = decode_poll(polling, poll.as_deref());
                sink.event(&Event::HttpRequest(&HttpRequestEvent {
                    conn: *conn,
                    packet: *packet,
                    endpoints: *endpoints,
                    request,
                    app: if poll.is_some() { &decoded } else { app },
                }))?;
                report_rest(*conn, *packet, rest, sink)
            }
            Owned::HttpResponse {
                conn,
                packet,
                endpoints,
                response,
                accept,
                app,
                poll,
            } => {
                let (decoded, rest) = decode_poll(polling, poll.as_deref());
                sink.event(&Event::HttpResponse(&HttpResponseEvent {
                    conn: *conn,
                    packet: *packet,
                    endpoints: *endpoints,
                    response,
                    accept: accept.as_ref(),
                    app: if poll.is_some() { &decoded } else { app },
                }))?;
                report_rest(*conn, *packet, rest, sink)
            }
            Owned::HttpPending {
                conn,
                packet,
                request,
                response,
            } => sink.event(&Event::HttpPending(&HttpPendingEvent {
                conn: *conn,
                packet: *packet,
                request: request.as_ref(),
                response: response.as_ref(),
            })),
            Owned::Handshake(h) => sink.event(&Event::Handshake(&Handshake {
                conn: h.conn,
                endpoints: h.endpoints,
                request_packet: h.request_packet,
                response_packet: h.response_packet,
                request: &h.request,
                response: &h.response,
                expected_accept: h.expected_accept.as_deref(),
                accept: &h.accept,
                upgraded: h.upgraded,
            })),
            Owned::Frame {
                conn,
                dir,
                packet,
                first_packet,
                rel_time,
                header,
                payload,
                payload_complete,
                close_code,
                close_reason,
            } => sink.event(&Event::Frame(&FrameEvent {
                conn: *conn,
                dir: *dir,
                packet: *packet,
                first_packet: *first_packet,
                rel_time: *rel_time,
                header: *header,
                payload: bytes(arena, payload),
                payload_complete: *payload_complete,
                close_code: *close_code,
                close_reason: bytes(arena, close_reason),
            })),
            Owned::Message(i) => {
                let Some(m) = batch.messages.get(*i) else {
                    return Ok(());
                };
                sink.event(&Event::Message(&MessageEvent {
                    conn: m.conn,
                    dir: m.dir,
                    opcode: m.opcode,
                    len: m.len,
                    frames: m.frames,
                    first_packet: m.first_packet,
                    last_packet: m.last_packet,
                    first_time: m.first_time,
                    rel_time: m.rel_time,
                    payload: bytes(arena, &m.payload),
                    payload_complete: m.payload_complete,
                    compressed: m.compressed,
                    wire_len: m.wire_len,
                    close_code: m.close_code,
                    close_reason: bytes(arena, &m.close_reason),
                    subprotocol: m.subprotocol.as_ref().map(|s| text(arena, s)),
                    app: &m.app,
                    app_decoder: m.app_decoder,
                    app_first: m.app_first,
                }))
            }
            Owned::PingPong(p) => sink.event(&Event::PingPong(p)),
            Owned::Anomaly(a) => sink.event(&Event::Anomaly(a)),
            Owned::ConnectionEnd(c) => sink.event(&Event::ConnectionEnd(c)),
            Owned::Tls {
                conn,
                endpoints,
                version,
                cipher_suite,
                sni,
                alpn,
                status,
                records,
                decrypted_records,
            } => sink.event(&Event::Tls(&TlsSessionEvent {
                conn: *conn,
                endpoints: *endpoints,
                version: *version,
                cipher_suite: *cipher_suite,
                sni: sni.as_deref(),
                alpn: alpn.as_deref(),
                status: *status,
                records: *records,
                decrypted_records: *decrypted_records,
            })),
            Owned::Answered(conn, e) => sink.event(&Event::AppExchange(&AppExchangeEvent {
                conn: *conn,
                exchange: AppExchange::Answered(e),
            })),
            Owned::Unanswered(conn, u) => sink.event(&Event::AppExchange(&AppExchangeEvent {
                conn: *conn,
                exchange: AppExchange::Unanswered(u),
            })),
            Owned::Prepared(span) => sink.part_output(bytes(arena, span)),
        }
    }
}

/// A worker's recorded polling body decoded now, in packet order, with the reading
/// thread's table (see [`PollingSessions`]).
fn decode_poll(
    polling: &PollingSessions,
    poll: Option<&DeferredPoll>,
) -> (Vec<AppPacket>, Vec<AppOutput>) {
    poll.map(|p| polling.decode_deferred(p)).unwrap_or_default()
}

/// The exchanges and anomalies of a polling body, after its HTTP event (as the HTTP
/// analyzer reports them with one thread).
fn report_rest(
    conn: ConnId,
    packet: u64,
    rest: Vec<AppOutput>,
    sink: &mut dyn EventSink,
) -> io::Result<()> {
    for output in rest {
        app_output_events(conn, output, packet, &mut |event| sink.event(event))?;
    }
    Ok(())
}
