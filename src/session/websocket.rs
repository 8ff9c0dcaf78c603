//! The WebSocket analyzer: frames, then messages (fragments joined, permessage-deflate
//! inflated), ping round trips, and the frame and message rules. Attached by the HTTP
//! analyzer to the directions that upgraded. Its child is the connection's payload decoder
//! (Socket.IO, GraphQL, JSON-RPC, ...; `crate::payload`), chosen by subprotocol, URL path,
//! `--decode-as` or the first message's content, and fed every whole data message.

use super::{ConnState, Cx, Side};
use crate::event::{
    AppExchange, AppExchangeEvent, ConnId, Event, FrameEvent, MessageEvent, PingPongEvent,
};
use crate::flow::analysis::Direction;
use crate::payload::{
    self, AnomalyKind, AppInput, AppOutput, AppPacket, ChosenBy, Context, Decoder,
};
use crate::rules::{self, Finding};
use crate::ws::decoder::{Piece, Wanted};
use crate::ws::{
    CloseBody, DecodedFrame, FrameDecoder, FrameTimes, GapOutcome, Message, MessageAssembler,
    MessageLimits, OpCode, PingTracker, parse_close_body,
};
use std::io;

/// One direction's WebSocket decoding: frames, then messages.
#[derive(Debug)]
struct WsStream {
    decoder: FrameDecoder,
    messages: MessageAssembler,
    /// The packet (and its time) where the unfinished frame began, for message times.
    frame_start: Option<(u64, f64)>,
    /// Stream offset of the last frame whose header rules were checked.
    header_checked: Option<u64>,
    /// A message's display was cut by the memory budget (reported once per direction).
    display_cut: bool,
}

/// The payload decoder of a connection.
enum AppSlot {
    /// Not chosen yet: the first data message's content decides.
    Undecided,
    /// None applies (or `--decode-as none`, or payloads are not kept).
    Off,
    /// This decoder reads every data message.
    On {
        decoder: Box<dyn Decoder>,
        chosen_by: ChosenBy,
    },
}

impl std::fmt::Debug for AppSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppSlot::Undecided => f.write_str("Undecided"),
            AppSlot::Off => f.write_str("Off"),
            AppSlot::On { decoder, chosen_by } => {
                write!(f, "On({}, {})", decoder.protocol().name(), chosen_by.name())
            }
        }
    }
}

/// The payload decoder and what it produced for the current message.
#[derive(Debug)]
struct App {
    slot: AppSlot,
    /// The upgrade request's target (for choosing by path, and the decoder's context).
    request_uri: Box<str>,
    /// Decoders build every field, or summaries only.
    fields: bool,
    /// The generic JSON decoder keeps the value (`-V`).
    json_value: bool,
    /// Scratch: what the decoder yielded for the current message.
    out: Vec<AppOutput>,
    /// Scratch: the packets among them.
    packets: Vec<AppPacket>,
    /// Messages the decoder read so far.
    read: u64,
    /// The protobuf message type `--proto-message` names for this connection.
    proto_message: Option<payload::protobuf::ProtoMessages>,
    /// Payload kept per message for the decoder when the outputs keep none (`check`).
    retain: Option<usize>,
}

/// Payload kept per message for a decoder the peers or the user named when the outputs
/// keep none (`check`): larger messages reach it incomplete, and it then reports nothing
/// malformed in them.
const APP_RETAINED: usize = 1 << 20;

/// WebSocket in the directions that upgraded.
#[derive(Debug)]
pub struct WebSocketAnalyzer {
    streams: [Option<Box<WsStream>>; 2],
    /// Pings waiting for pongs.
    pings: PingTracker,
    /// The subprotocol the server selected (`Sec-WebSocket-Protocol` of the 101).
    subprotocol: Option<Box<str>>,
    /// The payload decoder.
    app: App,
}

impl Default for WebSocketAnalyzer {
    fn default() -> Self {
        Self::new()
    }
}

/// The rule-table kind of an application-protocol anomaly.
pub fn app_rule_kind(kind: AnomalyKind) -> crate::rules::Kind {
    match kind {
        AnomalyKind::EngineioMalformedPacket => rules::APP_ENGINEIO_MALFORMED_PACKET,
        AnomalyKind::EngineioMalformedPayload => rules::APP_ENGINEIO_MALFORMED_PAYLOAD,
        AnomalyKind::SocketioMalformedPacket => rules::APP_SOCKETIO_MALFORMED_PACKET,
        AnomalyKind::SocketioAckWithoutEvent => rules::APP_SOCKETIO_ACK_WITHOUT_EVENT,
        AnomalyKind::SocketioDuplicateAckId => rules::APP_SOCKETIO_DUPLICATE_ACK_ID,
        AnomalyKind::SocketioMissingAttachments => rules::APP_SOCKETIO_MISSING_ATTACHMENTS,
        AnomalyKind::SocketioUnexpectedBinary => rules::APP_SOCKETIO_UNEXPECTED_BINARY,
        AnomalyKind::GraphqlMalformedMessage => rules::APP_GRAPHQL_MALFORMED_MESSAGE,
        AnomalyKind::GraphqlNextUnknownId => rules::APP_GRAPHQL_NEXT_UNKNOWN_ID,
        AnomalyKind::GraphqlDuplicateId => rules::APP_GRAPHQL_DUPLICATE_ID,
        AnomalyKind::GraphqlSubscribeBeforeAck => rules::APP_GRAPHQL_SUBSCRIBE_BEFORE_ACK,
        AnomalyKind::GraphqlDuplicateInit => rules::APP_GRAPHQL_DUPLICATE_INIT,
        AnomalyKind::GraphqlWrongDirection => rules::APP_GRAPHQL_WRONG_DIRECTION,
        AnomalyKind::JsonrpcMalformed => rules::APP_JSONRPC_MALFORMED,
        AnomalyKind::JsonrpcInvalidVersion => rules::APP_JSONRPC_INVALID_VERSION,
        AnomalyKind::JsonrpcResultAndError => rules::APP_JSONRPC_RESULT_AND_ERROR,
        AnomalyKind::JsonrpcUnknownId => rules::APP_JSONRPC_UNKNOWN_ID,
        AnomalyKind::JsonrpcDuplicateId => rules::APP_JSONRPC_DUPLICATE_ID,
        AnomalyKind::JsonrpcEmptyBatch => rules::APP_JSONRPC_EMPTY_BATCH,
        AnomalyKind::JsonInvalid => rules::APP_JSON_INVALID,
        AnomalyKind::MqttMalformedRemainingLength => rules::APP_MQTT_MALFORMED_REMAINING_LENGTH,
        AnomalyKind::MqttMalformedPacket => rules::APP_MQTT_MALFORMED_PACKET,
        AnomalyKind::MqttIncompletePacket => rules::APP_MQTT_INCOMPLETE_PACKET,
        AnomalyKind::MqttUnknownPacketId => rules::APP_MQTT_UNKNOWN_PACKET_ID,
        AnomalyKind::StompFrameWithoutNul => rules::APP_STOMP_FRAME_WITHOUT_NUL,
        AnomalyKind::StompBadContentLength => rules::APP_STOMP_BAD_CONTENT_LENGTH,
        AnomalyKind::StompMalformedFrame => rules::APP_STOMP_MALFORMED_FRAME,
        AnomalyKind::StompUnknownReceipt => rules::APP_STOMP_UNKNOWN_RECEIPT,
        AnomalyKind::StompUnknownSubscription => rules::APP_STOMP_UNKNOWN_SUBSCRIPTION,
        AnomalyKind::PhoenixMalformedMessage => rules::APP_PHOENIX_MALFORMED_MESSAGE,
        AnomalyKind::PhoenixReplyUnknownRef => rules::APP_PHOENIX_REPLY_UNKNOWN_REF,
        AnomalyKind::ActioncableMalformedMessage => rules::APP_ACTIONCABLE_MALFORMED_MESSAGE,
        AnomalyKind::ActioncableUnknownSubscription => rules::APP_ACTIONCABLE_UNKNOWN_SUBSCRIPTION,
        AnomalyKind::SignalrMalformedMessage => rules::APP_SIGNALR_MALFORMED_MESSAGE,
        AnomalyKind::SignalrMissingSeparator => rules::APP_SIGNALR_MISSING_SEPARATOR,
        AnomalyKind::SignalrUnknownInvocationId => rules::APP_SIGNALR_UNKNOWN_INVOCATION_ID,
        AnomalyKind::SignalrResultAndError => rules::APP_SIGNALR_RESULT_AND_ERROR,
        AnomalyKind::MsgpackMalformed => rules::APP_MSGPACK_MALFORMED,
        AnomalyKind::CborMalformed => rules::APP_CBOR_MALFORMED,
        AnomalyKind::ProtobufMalformed => rules::APP_PROTOBUF_MALFORMED,
        AnomalyKind::ZlibStreamCorrupt => rules::APP_ZLIB_STREAM_CORRUPT,
        AnomalyKind::ZlibStreamTooLarge => rules::APP_ZLIB_STREAM_TOO_LARGE,
        AnomalyKind::PendingDropped => rules::APP_PENDING_DROPPED,
    }
}

impl WebSocketAnalyzer {
    /// No direction open yet.
    pub fn new() -> Self {
        WebSocketAnalyzer {
            streams: [None, None],
            pings: PingTracker::default(),
            subprotocol: None,
            app: App {
                slot: AppSlot::Undecided,
                request_uri: "".into(),
                fields: true,
                json_value: false,
                out: Vec::new(),
                packets: Vec::new(),
                read: 0,
                proto_message: None,
                retain: None,
            },
        }
    }

    /// Chooses the payload decoder from what the handshake said, once: `--decode-as`,
    /// then the subprotocol, then the URL path; else the first message decides.
    fn choose_decoder(&mut self, conn: &ConnState) {
        if !matches!(self.app.slot, AppSlot::Undecided) || self.streams.iter().any(Option::is_some)
        {
            return;
        }
        // Without kept payloads (the packet list without -V, check) a decoder is attached
        // only when the peers or the user named it (subprotocol, path, --decode-as), and
        // its connection keeps payloads for it; sniffing content would mean keeping every
        // connection's.
        let sniff = conn.config.max_message_payload > 0;
        self.app.fields = conn.config.app_fields;
        self.app.json_value = conn.config.app_json_value;
        self.app.request_uri = conn
            .request
            .as_ref()
            .map_or("", |(_, r)| r.path.as_str())
            .into();
        let by_hand =
            payload::decode_as_for(&conn.config.decode_as, u64::from(conn.id), conn.ports());
        // A --proto-message aimed at this connection (its index, port or subprotocol)
        // decodes it as protobuf unless --decode-as says otherwise.
        let sp = self.subprotocol.as_deref();
        if let Some(schemas) = &conn.config.protobuf {
            let (id, ports) = (u64::from(conn.id), conn.ports());
            self.app.proto_message = schemas.message_for(id, ports, sp).cloned();
        }
        let by_hand = by_hand.or_else(|| {
            let schemas = conn.config.protobuf.as_ref()?;
            schemas
                .targets(u64::from(conn.id), conn.ports(), sp)
                .then_some(Some(payload::Protocol::Protobuf))
        });
        let choice = match by_hand {
            Some(None) => {
                self.app.slot = AppSlot::Off;
                return;
            }
            Some(Some(protocol)) => Some((protocol, ChosenBy::DecodeAs)),
            None => payload::choose(self.subprotocol.as_deref(), &self.app.request_uri, None)
                .map(|c| (c.protocol, c.chosen_by)),
        };
        if let Some((protocol, chosen_by)) = choice {
            self.app.slot = attach(protocol, chosen_by, &self.app, self.subprotocol.as_deref());
        }
        if !sniff {
            if let AppSlot::On { .. } = self.app.slot {
                self.app.retain = Some(APP_RETAINED);
            } else {
                self.app.slot = AppSlot::Off;
            }
        }
    }

    /// Starts decoding side `side` under the rules the handshake set (or their defaults
    /// when no handshake was captured).
    pub fn open(&mut self, conn: &ConnState, side: Side) {
        // Without a captured handshake the parameters are unknown: context takeover (the
        // default) is assumed.
        let deflate = conn.checker.rules().deflate.then(|| {
            let params = conn.checker.deflate_params().unwrap_or_default();
            match conn.direction(side) {
                Direction::ClientToServer => params.client_no_context_takeover,
                Direction::ServerToClient => params.server_no_context_takeover,
            }
        });
        if self.subprotocol.is_none() {
            self.subprotocol = conn
                .response
                .as_ref()
                .and_then(|(_, r)| r.header("Sec-WebSocket-Protocol"))
                .map(|p| p.trim().into());
        }
        self.choose_decoder(conn);
        let limits = MessageLimits {
            max_retained: self.app.retain.unwrap_or(conn.config.max_message_payload),
            max_inflated: conn.config.max_inflated,
            frame_retained: conn.config.decoder.max_retained_payload,
        };
        if let Some(slot) = self.streams.get_mut(side) {
            *slot = Some(Box::new(WsStream {
                decoder: FrameDecoder::new(conn.config.decoder)
                    .with_budget(conn.config.held_payload.clone()),
                messages: MessageAssembler::new(limits, deflate)
                    .with_budget(conn.config.held_payload.clone()),
                frame_start: None,
                header_checked: None,
                display_cut: false,
            }));
        }
    }

    /// The next in-order bytes of side `side`.
    pub fn data(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        packet: u64,
        bytes: &[u8],
    ) -> io::Result<()> {
        self.decode(conn, cx, side, |decoder, out| {
            decoder.feed_pieces(packet, bytes, out)
        })
    }

    /// `len` bytes of side `side` were never captured.
    pub fn gap(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        len: u64,
    ) -> io::Result<()> {
        let Some(ws) = self.streams.get_mut(side).and_then(Option::as_mut) else {
            return Ok(());
        };
        if ws.decoder.is_desynchronized() {
            return Ok(());
        }
        let dir = conn.direction(side);
        match ws.decoder.gap(cx.packet, len) {
            GapOutcome::Absorbed => {
                // A gap ending exactly at a frame's end completes that frame.
                self.decode(conn, cx, side, |decoder, out| {
                    decoder.flush(&mut |frame| out(Piece::Frame(frame)).map(|_| ()))
                })?;
                conn.anomaly(
                    cx,
                    Some(side),
                    rules::TCP_GAP,
                    format!("{len} bytes {} not captured, inside a frame's payload: that frame is incomplete, decoding continues after it", dir.short()),
                )
            }
            GapOutcome::Desynchronized => conn.anomaly(
                cx,
                Some(side),
                rules::TCP_GAP,
                format!("{len} bytes {} not captured where a frame header was due: the rest of this direction cannot be decoded safely", dir.short()),
            ),
        }
    }

    /// The connection ended: a frame left unfinished in a direction is reported.
    pub fn end(&mut self, conn: &mut ConnState, cx: &mut Cx<'_>) -> io::Result<()> {
        for side in 0..2 {
            let Some(ws) = self.streams.get(side).and_then(Option::as_ref) else {
                continue;
            };
            if ws.decoder.is_desynchronized() {
                conn.desynchronized = true;
            }
            let Some(pending) = ws.decoder.pending() else {
                continue;
            };
            let message = match pending.header {
                Some(h) => format!(
                    "stream ended inside a {} frame declaring {} payload bytes: {} bytes of it seen (frame began in packet {})",
                    h.opcode, h.payload_len, pending.bytes_seen, pending.first_packet
                ),
                None => format!(
                    "stream ended inside a frame header ({} bytes seen, began in packet {})",
                    pending.bytes_seen, pending.first_packet
                ),
            };
            let finding = Finding {
                kind: rules::TRUNCATED_FRAME,
                dir: Some(conn.direction(side)),
                message,
            };
            cx.finding(conn.id, finding)?;
        }
        if let AppSlot::On { decoder, .. } = &mut self.app.slot {
            self.app.out.clear();
            decoder.end(&mut self.app.out);
            for output in self.app.out.drain(..) {
                app_output(conn.id, output, cx)?;
            }
        }
        Ok(())
    }

    /// Runs `f` on side `side`'s frame decoder, handing the payload pieces it yields to
    /// the message assembler, turning the frames into frame and message events and rule
    /// findings, and counting them.
    fn decode(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        f: impl FnOnce(
            &mut crate::ws::FrameDecoder,
            &mut dyn FnMut(Piece<'_>) -> io::Result<Wanted>,
        ) -> io::Result<()>,
    ) -> io::Result<()> {
        let dir = conn.direction(side);
        let id = conn.id;
        let WebSocketAnalyzer {
            streams,
            pings,
            subprotocol,
            app,
        } = self;
        let Some(ws) = streams.get_mut(side).and_then(Option::as_mut) else {
            return Ok(());
        };
        let WsStream {
            decoder,
            messages,
            frame_start,
            header_checked,
            display_cut,
        } = &mut **ws;
        let subprotocol = subprotocol.as_deref();
        let mut frames = FrameCounter::default();
        let memo = *frame_start;
        let checker = &mut conn.checker;
        let times = &conn.times;
        f(decoder, &mut |piece| {
            let frame = match piece {
                Piece::Payload {
                    header,
                    offset,
                    bytes,
                } => {
                    return Ok(if messages.payload(&header, offset, bytes) {
                        Wanted::More
                    } else {
                        Wanted::Enough
                    });
                }
                Piece::Frame(frame) => frame,
            };
            // A Close body is split into code and reason once, here.
            let close = (frame.header.opcode == OpCode::Close)
                .then(|| parse_close_body(frame.payload).ok());
            frames.record(&frame, close.flatten());
            emit_frame(id, dir, &frame, close.flatten(), cx)?;
            if *header_checked != Some(frame.stream_offset) {
                *header_checked = Some(frame.stream_offset);
                cx.check(id, |out| checker.header(dir, &frame.header, out))?;
            }
            cx.check(id, |out| checker.frame(dir, &frame, out))?;
            let start = if frame.first_packet == cx.packet {
                cx.rel_time
            } else {
                memo.filter(|(p, _)| *p == frame.first_packet)
                    .map(|(_, t)| t)
                    .or_else(|| times.get(frame.first_packet))
                    .unwrap_or(cx.rel_time)
            };
            let frame_times = FrameTimes {
                start,
                end: cx.rel_time,
            };
            let pushed = messages.push(&frame, frame_times);
            if let Some(problem) = pushed.fragmentation {
                cx.check(id, |out| checker.fragmentation(dir, problem, out))?;
            }
            if let Some(problem) = &pushed.inflate {
                cx.check(id, |out| checker.inflate(dir, problem, out))?;
            }
            if let Some(message) = &pushed.message {
                // A control frame is its own message: its Close body is the frame's.
                let close = if message.opcode == OpCode::Close {
                    close.flatten()
                } else {
                    None
                };
                let chosen_by = decode_message(app, subprotocol, dir, message, cx);
                emit_message(
                    id,
                    dir,
                    message,
                    close,
                    subprotocol,
                    (
                        &app.packets,
                        chosen_by,
                        chosen_by.is_some() && app.read == 1,
                    ),
                    cx,
                )?;
                for output in app.out.drain(..) {
                    app_output(id, output, cx)?;
                }
                cx.check(id, |out| checker.message(dir, message, out))?;
                pair_ping_pong(id, dir, message, pings, cx)?;
            }
            if pushed.display_cut && !*display_cut {
                *display_cut = true;
                let finding = Finding {
                    kind: rules::PAYLOAD_DISPLAY_CUT,
                    dir: Some(dir),
                    message: format!(
                        "message of {} bytes {}: the memory budget for held payload (--memory-limit) was spent, its display is cut (every byte was still decoded and checked); later messages of this direction may be cut too",
                        pushed.message.as_ref().map_or(0, |m| m.len),
                        dir.short()
                    ),
                };
                cx.finding(id, finding)?;
            }
            // Rendered: the payload it held goes back to the budget.
            messages.release_display();
            Ok(Wanted::More)
        })?;
        if decoder.take_display_cut() && !*display_cut {
            *display_cut = true;
            let finding = Finding {
                kind: rules::PAYLOAD_DISPLAY_CUT,
                dir: Some(dir),
                message: format!(
                    "a frame {}: the memory budget for held payload (--memory-limit) was spent, its payload display is cut (every byte was still decoded and checked); later frames and messages of this direction may be cut too",
                    dir.short()
                ),
            };
            cx.finding(id, finding)?;
        }
        if let Some(pending) = decoder.pending() {
            // A header is checked as soon as it is complete.
            if let Some(header) = pending.header {
                let offset = decoder.stream_offset().saturating_sub(pending.bytes_seen);
                if *header_checked != Some(offset) {
                    *header_checked = Some(offset);
                    cx.check(id, |out| checker.header(dir, &header, out))?;
                }
            }
            // Remember where the frame began, while that packet's time is known.
            if frame_start.map(|(p, _)| p) != Some(pending.first_packet) {
                let time = if pending.first_packet == cx.packet {
                    Some(cx.rel_time)
                } else {
                    times.get(pending.first_packet)
                };
                *frame_start = time.map(|t| (pending.first_packet, t));
            }
            cx.delivered_into_pdu = true;
        }
        cx.pdus_completed += frames.count;
        conn.frames[side] += u64::from(frames.count);
        conn.payload_bytes[side] += frames.payload_bytes;
        if let Some(code) = frames.close {
            conn.close[side] = Some(code);
        }
        Ok(())
    }
}

/// Totals over the frames of one decoding call.
#[derive(Default)]
struct FrameCounter {
    count: u32,
    payload_bytes: u64,
    close: Option<Option<u16>>,
}

impl FrameCounter {
    fn record(&mut self, frame: &DecodedFrame<'_>, close: Option<CloseBody<'_>>) {
        self.count += 1;
        self.payload_bytes += frame.header.payload_len;
        if frame.header.opcode == OpCode::Close {
            self.close = Some(close.and_then(|b| b.code).map(u16::from));
        }
    }
}

fn emit_frame(
    conn: crate::event::ConnId,
    dir: Direction,
    frame: &DecodedFrame<'_>,
    close: Option<CloseBody<'_>>,
    cx: &mut Cx<'_>,
) -> io::Result<()> {
    let event = FrameEvent {
        conn,
        dir,
        packet: cx.packet,
        first_packet: frame.first_packet,
        rel_time: cx.rel_time,
        header: frame.header,
        payload: frame.payload,
        payload_complete: frame.payload_complete,
        close_code: close.and_then(|b| b.code),
        close_reason: close.map_or(&[][..], |b| b.reason),
    };
    cx.emit(&Event::Frame(&event))
}

/// A decoder for `protocol`, or `Off` when it has none.
fn attach(
    protocol: payload::Protocol,
    chosen_by: ChosenBy,
    app: &App,
    subprotocol: Option<&str>,
) -> AppSlot {
    let context = Context {
        request_uri: &app.request_uri,
        subprotocol,
        // Generic JSON's fields would repeat the message text JSON Lines already carries:
        // it only validates and summarises (a third of the instructions per message).
        summary_only: !app.fields || (protocol == payload::Protocol::Json && !app.json_value),
        proto_message: app.proto_message.as_ref(),
    };
    match payload::new_decoder(protocol, &context) {
        Some(decoder) => AppSlot::On { decoder, chosen_by },
        None => AppSlot::Off,
    }
}

/// Feeds a whole data message to the payload decoder (choosing it from the content first if
/// the handshake did not). Leaves the packets in `app.packets` and the rest in `app.out`;
/// returns the decoder's protocol and how it was chosen.
fn decode_message(
    app: &mut App,
    subprotocol: Option<&str>,
    dir: Direction,
    m: &Message<'_>,
    cx: &Cx<'_>,
) -> Option<(payload::Protocol, ChosenBy)> {
    app.packets.clear();
    app.out.clear();
    let text = match m.opcode {
        OpCode::Text => true,
        OpCode::Binary => false,
        _ => return None,
    };
    if let AppSlot::Undecided = app.slot {
        if m.payload.is_empty() || !m.payload_complete {
            return None;
        }
        app.slot = match payload::choose(subprotocol, &app.request_uri, Some((text, m.payload))) {
            // Guessed generic JSON shows nothing the views' text preview does not: only
            // outputs with fields (JSON Lines, -V) pay for validating it.
            Some(c) if c.protocol == payload::Protocol::Json && !app.fields => AppSlot::Off,
            Some(c) => attach(c.protocol, c.chosen_by, app, subprotocol),
            None => AppSlot::Off,
        };
    }
    let AppSlot::On { decoder, chosen_by } = &mut app.slot else {
        return None;
    };
    let input = AppInput {
        dir,
        text,
        payload: m.payload,
        complete: m.payload_complete,
        packet: cx.packet,
        // Only differences are used (latencies): nanoseconds since the first packet.
        time_ns: (cx.rel_time * 1e9).round() as u64,
    };
    decoder.message(&input, &mut app.out);
    app.read += 1;
    let guessed_json =
        *chosen_by == ChosenBy::Content && decoder.protocol() == payload::Protocol::Json;
    // Likewise a binary format guessed from the first message that parsed.
    let guessed_value = *chosen_by == ChosenBy::Content
        && matches!(
            decoder.protocol(),
            payload::Protocol::MsgPack | payload::Protocol::Cbor | payload::Protocol::Protobuf
        );
    let mut rest = Vec::new();
    for output in app.out.drain(..) {
        match output {
            AppOutput::Packet(p) => app.packets.push(p),
            // JSON was only guessed from an earlier message: a later one that is not JSON
            // breaks no rule the peers agreed on.
            AppOutput::Anomaly(a) if guessed_json && a.kind == AnomalyKind::JsonInvalid => {}
            AppOutput::Anomaly(a)
                if guessed_value
                    && matches!(
                        a.kind,
                        AnomalyKind::MsgpackMalformed
                            | AnomalyKind::CborMalformed
                            | AnomalyKind::ProtobufMalformed
                    ) => {}
            other => rest.push(other),
        }
    }
    app.out = rest;
    Some((decoder.protocol(), *chosen_by))
}

/// Reports an exchange, an unanswered request or an anomaly of the payload decoder.
pub(super) fn app_output(conn: ConnId, output: AppOutput, cx: &mut Cx<'_>) -> io::Result<()> {
    let packet = cx.packet;
    app_output_events(conn, output, packet, &mut |event| cx.emit(event))
}

/// The events a decoder's output (other than a packet) is reported as, at packet `packet`:
/// an `app_exchange`, and an anomaly for an unanswered request or a protocol finding.
pub fn app_output_events(
    conn: ConnId,
    output: AppOutput,
    packet: u64,
    emit: &mut dyn FnMut(&Event<'_>) -> io::Result<()>,
) -> io::Result<()> {
    let finding = |kind: rules::Kind, dir, message| crate::event::Anomaly {
        kind,
        severity: kind.severity,
        conn: Some(conn),
        dir: Some(dir),
        packet,
        message,
    };
    match output {
        AppOutput::Exchange(e) => emit(&Event::AppExchange(&AppExchangeEvent {
            conn,
            exchange: AppExchange::Answered(&e),
        })),
        AppOutput::Unanswered(u) => {
            emit(&Event::AppExchange(&AppExchangeEvent {
                conn,
                exchange: AppExchange::Unanswered(&u),
            }))?;
            let kind = rules::APP_UNANSWERED_REQUEST;
            let what = match &u.name {
                Some(name) => format!("{} \"{name}\" id={}", u.protocol.name(), u.id),
                None => format!("{} id={}", u.protocol.name(), u.id),
            };
            let message = format!(
                "{}: {what}, sent in packet {}",
                kind.description, u.request_packet
            );
            emit(&Event::Anomaly(&finding(kind, u.request_dir, message)))
        }
        AppOutput::Anomaly(a) => {
            let kind = app_rule_kind(a.kind);
            let message = if a.detail.is_empty() {
                kind.description.to_string()
            } else {
                format!("{}: {}", kind.description, a.detail)
            };
            emit(&Event::Anomaly(&finding(kind, a.dir, message)))
        }
        // A packet completed only by the end of the connection: shown nowhere.
        AppOutput::Packet(_) => Ok(()),
    }
}

#[allow(clippy::too_many_arguments)]
fn emit_message(
    conn: crate::event::ConnId,
    dir: Direction,
    m: &Message<'_>,
    close: Option<CloseBody<'_>>,
    subprotocol: Option<&str>,
    (app, app_decoder, app_first): (&[AppPacket], Option<(payload::Protocol, ChosenBy)>, bool),
    cx: &mut Cx<'_>,
) -> io::Result<()> {
    let event = MessageEvent {
        conn,
        dir,
        opcode: m.opcode,
        len: m.len,
        frames: m.frames,
        first_packet: m.first_packet,
        last_packet: cx.packet,
        first_time: m.first_time,
        rel_time: cx.rel_time,
        payload: m.payload,
        payload_complete: m.payload_complete,
        compressed: m.compressed,
        wire_len: m.wire_len,
        close_code: close.and_then(|b| b.code),
        close_reason: close.map_or(&[][..], |b| b.reason),
        subprotocol,
        app,
        app_decoder,
        app_first,
    };
    cx.emit(&Event::Message(&event))
}

/// Remembers pings and reports the pongs that echo them.
fn pair_ping_pong(
    conn: crate::event::ConnId,
    dir: Direction,
    m: &Message<'_>,
    pings: &mut PingTracker,
    cx: &mut Cx<'_>,
) -> io::Result<()> {
    match m.opcode {
        OpCode::Ping => {
            pings.ping(dir, cx.packet, cx.rel_time, m.payload, m.payload_complete);
            Ok(())
        }
        OpCode::Pong => match pings.pong(dir, cx.rel_time, m.payload, m.payload_complete) {
            Some(pair) => {
                let event = PingPongEvent {
                    conn,
                    ping_dir: pair.ping_dir,
                    ping_packet: pair.ping_packet,
                    pong_packet: cx.packet,
                    rtt: pair.rtt,
                    payload_len: pair.payload_len,
                };
                cx.emit(&Event::PingPong(&event))
            }
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_application_finding_maps_to_its_rule_of_the_same_name_and_severity() {
        for &kind in AnomalyKind::ALL {
            let rule = app_rule_kind(kind);
            assert_eq!(rule.name, kind.name());
            assert_eq!(rule.severity, kind.severity(), "{}", kind.name());
            assert_eq!(rule.group, crate::rules::RuleGroup::App);
        }
    }
}
