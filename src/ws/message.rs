//! Messages (RFC 6455 §5.4): the frames of one direction joined into messages, inflated
//! when compressed (RFC 7692), validated as UTF-8 when text; and Ping/Pong pairing.
//!
//! A data message is a Text or Binary frame followed by Continuation frames up to the one
//! with FIN; control frames may come between the fragments and are messages of their own.
//! Payload bytes arrive as the frame decoder's pieces ([`MessageAssembler::payload`]),
//! before the frame they belong to ([`MessageAssembler::push`]), so lengths, UTF-8
//! validity and inflation cover every byte of the message whatever the frame decoder
//! retains; the joined payload is kept only up to [`MessageLimits::max_retained`].

use super::decoder::{DEFAULT_MAX_RETAINED_PAYLOAD, DecodedFrame};
use super::deflate::{DEFAULT_MAX_INFLATED, InflateError, Inflater};
use super::frame::FrameHeader;
use super::opcode::OpCode;
use super::utf8::{Utf8Stream, Utf8Verdict};
use crate::flow::analysis::Direction;
use crate::flow::budget::HeldPayload;
use std::collections::VecDeque;
use std::ops::ControlFlow;

/// Joined-payload capacity kept between messages; a larger buffer is shrunk back.
const BUFFER_KEEP: usize = 64 << 10;

/// Resource limits of a [`MessageAssembler`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageLimits {
    /// Payload bytes kept per message for display (the rest is counted, validated and
    /// inflated, not kept). 0 keeps none.
    pub max_retained: usize,
    /// Inflated bytes produced per compressed message before inflation stops.
    pub max_inflated: u64,
    /// Payload bytes the frame decoder retains per data frame
    /// ([`DecoderLimits::max_retained_payload`](super::DecoderLimits::max_retained_payload)):
    /// when it covers `max_retained`, a message of one uncompressed frame borrows the
    /// frame's payload instead of copying its pieces.
    pub frame_retained: usize,
}

impl Default for MessageLimits {
    fn default() -> Self {
        MessageLimits {
            max_retained: DEFAULT_MAX_RETAINED_PAYLOAD,
            max_inflated: DEFAULT_MAX_INFLATED,
            frame_retained: DEFAULT_MAX_RETAINED_PAYLOAD,
        }
    }
}

/// Capture times of a frame, seconds since the capture's first packet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FrameTimes {
    /// Time of the packet carrying the frame's first byte.
    pub start: f64,
    /// Time of the packet completing it.
    pub end: f64,
}

/// A completed message, borrowed from the assembler (or from the frame) until the next
/// [`MessageAssembler::payload`] or [`MessageAssembler::push`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Message<'a> {
    /// Text, Binary, a control opcode, or a reserved one.
    pub opcode: OpCode,
    /// Length after joining and inflating (declared frame lengths for uncompressed
    /// messages; bytes produced for compressed ones).
    pub len: u64,
    /// Frames in the message.
    pub frames: u32,
    /// Packet carrying the first frame's first byte.
    pub first_packet: u64,
    /// Packet completing the last frame.
    pub last_packet: u64,
    /// Time of `first_packet`.
    pub first_time: f64,
    /// Payload, up to [`MessageLimits::max_retained`] bytes.
    pub payload: &'a [u8],
    /// False when capped, when bytes were lost, or when inflation failed or was stopped.
    pub payload_complete: bool,
    /// RSV1 on the first frame, with permessage-deflate in use.
    pub compressed: bool,
    /// Sum of the frames' payload lengths on the wire.
    pub wire_len: u64,
    /// RSV bits of the first frame.
    pub rsv: u8,
    /// For text messages whose every byte was seen: the UTF-8 verdict.
    pub utf8: Option<Utf8Verdict>,
}

/// A frame out of place in the message sequence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fragmentation {
    /// A Continuation frame with no fragmented message open; it is ignored.
    ContinuationWithoutMessage,
    /// A Text or Binary frame while a fragmented message was still open; the unfinished
    /// message is dropped.
    NewMessageWhileFragmented {
        /// Opcode of the dropped message.
        dropped: OpCode,
        /// Frames it had.
        dropped_frames: u32,
    },
}

/// Why (part of) a compressed message could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflateProblem {
    /// The compressed data is invalid.
    Failed(InflateError),
    /// An earlier failure lost the shared window; reported once per direction.
    ContextLost,
    /// The message inflated past [`MessageLimits::max_inflated`].
    Limit(u64),
}

/// What one frame did to the message layer.
#[derive(Debug, Clone, PartialEq)]
pub struct Pushed<'a> {
    /// The frame was out of place.
    pub fragmentation: Option<Fragmentation>,
    /// Inflation trouble caused by this frame.
    pub inflate: Option<InflateProblem>,
    /// The message this frame completed.
    pub message: Option<Message<'a>>,
    /// The memory budget's held-payload account refused bytes of this message: its
    /// display is cut (every byte was still counted, validated and inflated).
    pub display_cut: bool,
}

/// The data message being joined.
#[derive(Debug, Clone, Copy)]
struct Open {
    opcode: OpCode,
    /// Set when the first frame is pushed.
    first_packet: u64,
    first_time: f64,
    frames: u32,
    wire_len: u64,
    len: u64,
    rsv: u8,
    compressed: bool,
    /// One uncompressed frame whose retained payload is the message's: pieces are not
    /// copied.
    borrow: bool,
    /// Every byte captured, nothing capped, inflation fine.
    complete: bool,
    /// Every byte of the (inflated) message went through the UTF-8 validator.
    utf8_checked: bool,
    /// The inflated size passed the limit.
    limited: bool,
    /// The held-payload account refused bytes.
    display_cut: bool,
}

/// What the frame whose payload is arriving means to the message layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    /// A frame of the open data message: its payload is joined, inflated, validated.
    Data,
    /// A control frame or reserved opcode: a message of its own, from the retained payload.
    Single,
    /// A Continuation frame with no message open.
    Ignored,
}

/// The frame whose payload pieces are arriving.
#[derive(Debug, Clone, Copy)]
struct Current {
    role: Role,
    /// Payload offset the next piece should start at.
    next: u64,
    /// [`payload`](MessageAssembler::payload) said the rest of the frame's payload is not
    /// wanted: its pieces stop, so `next` stops short of the end without a byte lost.
    declined: bool,
}

/// Joins the frames of one direction into messages.
///
/// Feed it, in stream order, every [`Piece`](super::decoder::Piece) of
/// [`FrameDecoder::feed_pieces`](super::FrameDecoder::feed_pieces): payload pieces to
/// [`payload`](Self::payload), frames to [`push`](Self::push).
#[derive(Debug)]
pub struct MessageAssembler {
    limits: MessageLimits,
    /// Present when permessage-deflate is in use in this direction.
    inflater: Option<Inflater>,
    context_lost_reported: bool,
    open: Option<Open>,
    current: Option<Current>,
    /// Findings of the current frame, reported when it is pushed.
    fragmentation: Option<Fragmentation>,
    inflate: Option<InflateProblem>,
    buf: Vec<u8>,
    /// The global account `buf`'s bytes are reserved from, and how many are.
    held: HeldPayload,
    reserved: usize,
    utf8: Utf8Stream,
}

impl MessageAssembler {
    /// An assembler; `deflate` is `Some(no_context_takeover)` when this direction's
    /// messages may be compressed with permessage-deflate.
    pub fn new(limits: MessageLimits, deflate: Option<bool>) -> Self {
        MessageAssembler {
            limits,
            inflater: deflate.map(Inflater::new),
            context_lost_reported: false,
            open: None,
            current: None,
            fragmentation: None,
            inflate: None,
            buf: Vec::new(),
            held: HeldPayload::default(),
            reserved: 0,
            utf8: Utf8Stream::new(),
        }
    }

    /// Reserves the bytes kept for display from `held`, the memory budget's account
    /// shared by every connection (by default nothing is accounted).
    pub fn with_budget(mut self, held: HeldPayload) -> Self {
        self.held = held;
        self
    }

    /// The last message has been rendered: its held payload is given back to the budget
    /// and a large buffer freed, so a connection keeps no payload between messages.
    pub fn release_display(&mut self) {
        if self.open.is_none() {
            self.clear_buf();
        }
    }

    fn clear_buf(&mut self) {
        self.buf.clear();
        self.held.release(self.reserved);
        self.reserved = 0;
        if self.buf.capacity() > BUFFER_KEEP {
            self.buf = Vec::new();
        }
    }

    /// Whether a data message is open (its first frame's payload seen, not its last
    /// frame).
    pub fn in_message(&self) -> bool {
        self.open.is_some()
    }

    /// Frames of the open message pushed so far, if one is open.
    pub fn open_frames(&self) -> Option<u32> {
        self.open.map(|o| o.frames)
    }

    /// Whether compressed messages are inflated in this direction.
    pub fn inflates(&self) -> bool {
        self.inflater.is_some()
    }

    /// The message-level effect of a frame's start: opens, drops or ignores messages.
    fn begin_frame(&mut self, h: &FrameHeader) -> Current {
        let role = match h.opcode {
            OpCode::Continuation if self.open.is_none() => {
                self.fragmentation = Some(Fragmentation::ContinuationWithoutMessage);
                Role::Ignored
            }
            OpCode::Continuation => Role::Data,
            OpCode::Text | OpCode::Binary => {
                if let Some(open) = self.open.take() {
                    self.fragmentation = Some(Fragmentation::NewMessageWhileFragmented {
                        dropped: open.opcode,
                        dropped_frames: open.frames,
                    });
                    if open.compressed
                        && let Some(inf) = &mut self.inflater
                    {
                        inf.abandon_message();
                    }
                }
                let compressed = h.rsv1() && self.inflater.is_some();
                let borrow = h.fin && !compressed && {
                    let l = self.limits;
                    l.frame_retained >= l.max_retained
                };
                if !borrow {
                    self.clear_buf();
                }
                self.utf8.reset();
                let mut open = Open {
                    opcode: h.opcode,
                    first_packet: 0,
                    first_time: 0.0,
                    frames: 0,
                    wire_len: 0,
                    len: 0,
                    rsv: h.rsv,
                    compressed,
                    borrow,
                    complete: true,
                    utf8_checked: true,
                    limited: false,
                    display_cut: false,
                };
                if compressed
                    && let Some(inf) = &mut self.inflater
                    && inf.begin_message().is_err()
                {
                    open.complete = false;
                    open.utf8_checked = false;
                    if !self.context_lost_reported {
                        self.context_lost_reported = true;
                        self.inflate = Some(InflateProblem::ContextLost);
                    }
                }
                self.open = Some(open);
                Role::Data
            }
            // Control frames and reserved opcodes: one-frame messages, whatever FIN says.
            _ => Role::Single,
        };
        Current {
            role,
            next: 0,
            declined: false,
        }
    }

    /// Takes the next captured payload bytes of the current frame (with header `header`),
    /// unmasked, starting `offset` bytes into its payload: counted, kept up to the cap,
    /// inflated and UTF-8-validated as the message requires. A jump in offsets means bytes
    /// were lost: the message is then incomplete and no longer validated or inflated.
    ///
    /// Returns whether the rest of the frame's payload is wanted: `false` once nothing
    /// would be inflated, validated or kept from it (a binary message past the cap, a
    /// control frame), so the decoder can stop unmasking it. `bytes` may be empty: the
    /// frame is then only announced.
    pub fn payload(&mut self, header: &FrameHeader, offset: u64, bytes: &[u8]) -> bool {
        let current = match self.current {
            Some(c) => c,
            None => self.begin_frame(header),
        };
        let next = offset.saturating_add(bytes.len() as u64);
        self.current = Some(Current { next, ..current });
        if current.role != Role::Data {
            return self.decline();
        }
        let MessageAssembler {
            limits,
            inflater,
            open,
            inflate,
            buf,
            held,
            reserved,
            utf8,
            ..
        } = self;
        let mut keep = Keep {
            buf,
            held,
            reserved,
        };
        let Some(msg) = open else {
            return self.decline();
        };
        if offset != current.next {
            lose_bytes(msg, inflater);
        }
        let is_text = msg.opcode == OpCode::Text;
        if msg.compressed {
            let Some(inf) = inflater.as_mut().filter(|i| !i.is_stopped()) else {
                return self.decline();
            };
            let was_limited = msg.limited;
            let mut sink =
                |chunk: &[u8]| keep_inflated(msg, &mut keep, utf8, *limits, is_text, chunk);
            let result = inf.feed(bytes, &mut sink);
            note_inflate(msg, inflate, result, was_limited, limits.max_inflated);
            return true;
        }
        if !msg.borrow {
            keep.extend(msg, limits.max_retained, bytes);
        }
        if is_text && msg.utf8_checked {
            utf8.feed(bytes);
            return true;
        }
        if !msg.borrow && keep.buf.len() < limits.max_retained {
            return true;
        }
        // Nothing more is kept or validated. Past the cap, each further piece would only
        // have marked the message incomplete: done here at once.
        if !msg.borrow && next < header.payload_len {
            msg.complete = false;
        }
        self.decline()
    }

    /// The rest of the current frame's payload is not wanted ([`payload`](Self::payload)).
    fn decline(&mut self) -> bool {
        if let Some(current) = &mut self.current {
            current.declined = true;
        }
        false
    }

    /// Takes the next frame of the direction, after all of its payload went through
    /// [`payload`](Self::payload); returns what it completed or broke.
    pub fn push<'a>(&'a mut self, frame: &DecodedFrame<'a>, times: FrameTimes) -> Pushed<'a> {
        let h = &frame.header;
        let current = match self.current.take() {
            Some(c) => c,
            None => self.begin_frame(h),
        };
        let mut pushed = Pushed {
            fragmentation: self.fragmentation.take(),
            inflate: self.inflate.take(),
            message: None,
            display_cut: false,
        };
        match current.role {
            Role::Ignored => return pushed,
            Role::Single => {
                pushed.message = Some(Message {
                    opcode: h.opcode,
                    len: h.payload_len,
                    frames: 1,
                    first_packet: frame.first_packet,
                    last_packet: frame.last_packet,
                    first_time: times.start,
                    payload: frame.payload,
                    payload_complete: frame.payload_complete,
                    compressed: false,
                    wire_len: h.payload_len,
                    rsv: h.rsv,
                    utf8: None,
                });
                return pushed;
            }
            Role::Data => {}
        }

        // A frame of the open data message.
        let MessageAssembler {
            limits,
            inflater,
            open,
            buf,
            held,
            reserved,
            utf8,
            ..
        } = self;
        let Some(msg) = open else { return pushed };
        if msg.frames == 0 {
            msg.first_packet = frame.first_packet;
            msg.first_time = times.start;
        }
        msg.frames = msg.frames.saturating_add(1);
        msg.wire_len = msg.wire_len.saturating_add(h.payload_len);
        let is_text = msg.opcode == OpCode::Text;
        if frame.gap_bytes > 0 || (!current.declined && current.next < frame.header.payload_len) {
            lose_bytes(msg, inflater);
        }
        if msg.compressed {
            if h.fin
                && let Some(inf) = inflater.as_mut().filter(|i| !i.is_stopped())
            {
                let was_limited = msg.limited;
                let mut keep = Keep {
                    buf,
                    held,
                    reserved,
                };
                let mut sink =
                    |chunk: &[u8]| keep_inflated(msg, &mut keep, utf8, *limits, is_text, chunk);
                let result = inf.end_message(&mut sink);
                note_inflate(
                    msg,
                    &mut pushed.inflate,
                    result,
                    was_limited,
                    limits.max_inflated,
                );
            }
        } else {
            msg.len = msg.len.saturating_add(h.payload_len);
        }
        if !h.fin {
            return pushed;
        }
        let msg = *msg;
        *open = None;
        pushed.display_cut = msg.display_cut;
        let (payload, complete) = if msg.borrow {
            let keep = frame.payload.len().min(limits.max_retained);
            let payload = frame.payload.get(..keep).unwrap_or_default();
            let whole = frame.payload_complete && keep == frame.payload.len();
            (payload, msg.complete && whole)
        } else {
            (&buf[..], msg.complete)
        };
        pushed.message = Some(Message {
            opcode: msg.opcode,
            len: msg.len,
            frames: msg.frames,
            first_packet: msg.first_packet,
            last_packet: frame.last_packet,
            first_time: msg.first_time,
            payload,
            payload_complete: complete,
            compressed: msg.compressed,
            wire_len: msg.wire_len,
            rsv: msg.rsv,
            utf8: (is_text && msg.utf8_checked).then(|| utf8.finish()),
        });
        pushed
    }
}

/// Bytes of the open message were lost: it is incomplete, and neither validated nor
/// inflated further (inflating around missing bytes would only produce garbage).
fn lose_bytes(msg: &mut Open, inflater: &mut Option<Inflater>) {
    msg.complete = false;
    msg.utf8_checked = false;
    if msg.compressed
        && let Some(inf) = inflater.as_mut()
    {
        inf.abandon_message();
    }
}

impl Drop for MessageAssembler {
    fn drop(&mut self) {
        self.held.release(self.reserved);
    }
}

/// The joined-payload buffer and the account its bytes are reserved from.
struct Keep<'b> {
    buf: &'b mut Vec<u8>,
    held: &'b HeldPayload,
    reserved: &'b mut usize,
}

impl Keep<'_> {
    /// Keeps what fits of `bytes` under the per-message cap `max` and the budget; the
    /// message is incomplete (and its display cut, when the budget refused) otherwise.
    fn extend(&mut self, msg: &mut Open, max: usize, bytes: &[u8]) {
        let room = max.saturating_sub(self.buf.len());
        let want = room.min(bytes.len());
        let granted = if want == 0 {
            0
        } else {
            self.held.reserve(want)
        };
        *self.reserved += granted;
        if granted < want {
            msg.display_cut = true;
        }
        if granted < bytes.len() {
            msg.complete = false;
        }
        let kept = bytes.get(..granted).unwrap_or_default();
        super::decoder::grow_by_quarter(self.buf, kept.len());
        self.buf.extend_from_slice(kept);
    }
}

/// Records the outcome of inflating: a failure, or the limit reached just now.
fn note_inflate(
    msg: &mut Open,
    problem: &mut Option<InflateProblem>,
    result: Result<(), InflateError>,
    was_limited: bool,
    max_inflated: u64,
) {
    if let Err(e) = result {
        msg.complete = false;
        msg.utf8_checked = false;
        *problem = Some(InflateProblem::Failed(e));
    } else if msg.limited && !was_limited {
        *problem = Some(InflateProblem::Limit(max_inflated));
    }
}

/// Takes one chunk of inflated output: counts it, keeps what fits, validates it.
fn keep_inflated(
    msg: &mut Open,
    keep: &mut Keep<'_>,
    utf8: &mut Utf8Stream,
    limits: MessageLimits,
    is_text: bool,
    chunk: &[u8],
) -> ControlFlow<()> {
    let allowed = limits.max_inflated.saturating_sub(msg.len);
    let take = usize::try_from(allowed).map_or(chunk.len(), |a| a.min(chunk.len()));
    let chunk = chunk.get(..take).unwrap_or_default();
    msg.len = msg.len.saturating_add(take as u64);
    keep.extend(msg, limits.max_retained, chunk);
    if is_text && msg.utf8_checked {
        utf8.feed(chunk);
    }
    if take as u64 >= allowed {
        // At the limit (a message of exactly the limit also stops here; it is marked
        // incomplete, which errs on the side of caution).
        msg.limited = true;
        msg.complete = false;
        msg.utf8_checked = false;
        ControlFlow::Break(())
    } else {
        ControlFlow::Continue(())
    }
}

/// Largest control frame payload (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;
/// Pings remembered per direction while waiting for their pongs.
pub const MAX_OUTSTANDING_PINGS: usize = 8;

/// A ping waiting for its pong.
#[derive(Debug, Clone, Copy)]
struct Ping {
    packet: u64,
    time: f64,
    len: usize,
    payload: [u8; MAX_CONTROL_PAYLOAD],
}

impl Ping {
    fn payload(&self) -> &[u8] {
        self.payload.get(..self.len).unwrap_or_default()
    }
}

/// A pong matched to its ping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PingMatch {
    /// Direction the ping went.
    pub ping_dir: Direction,
    /// Packet of the ping.
    pub ping_packet: u64,
    /// Round trip: pong time minus ping time.
    pub rtt: f64,
    /// Length of the echoed payload.
    pub payload_len: u64,
}

/// Pairs pongs with the pings whose payload they echo, per connection.
#[derive(Debug, Default)]
pub struct PingTracker {
    /// Outstanding pings sent client→server (0) and server→client (1).
    outstanding: [VecDeque<Ping>; 2],
}

fn dir_index(dir: Direction) -> usize {
    match dir {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

impl PingTracker {
    /// A tracker with no pings outstanding.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a ping sent in `dir` (only complete payloads of legal size can be matched).
    pub fn ping(&mut self, dir: Direction, packet: u64, time: f64, payload: &[u8], complete: bool) {
        if !complete || payload.len() > MAX_CONTROL_PAYLOAD {
            return;
        }
        let mut ping = Ping {
            packet,
            time,
            len: payload.len(),
            payload: [0; MAX_CONTROL_PAYLOAD],
        };
        if let Some(dst) = ping.payload.get_mut(..payload.len()) {
            dst.copy_from_slice(payload);
        }
        let Some(queue) = self.outstanding.get_mut(dir_index(dir)) else {
            return;
        };
        if queue.len() == MAX_OUTSTANDING_PINGS {
            queue.pop_front();
        }
        queue.push_back(ping);
    }

    /// A pong sent in `dir` at `time`: the oldest outstanding ping of the other direction
    /// with the same payload, if any, is answered.
    pub fn pong(
        &mut self,
        dir: Direction,
        time: f64,
        payload: &[u8],
        complete: bool,
    ) -> Option<PingMatch> {
        if !complete {
            return None;
        }
        let ping_dir = match dir {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        };
        let queue = self.outstanding.get_mut(dir_index(ping_dir))?;
        let i = queue.iter().position(|p| p.payload() == payload)?;
        let ping = queue.remove(i)?;
        Some(PingMatch {
            ping_dir,
            ping_packet: ping.packet,
            rtt: time - ping.time,
            payload_len: ping.len as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::frame::FrameHeader;
    use std::io::Write;

    /// An owned copy of a [`Message`].
    #[derive(Debug, Clone, PartialEq)]
    struct Owned {
        opcode: OpCode,
        len: u64,
        frames: u32,
        first: u64,
        last: u64,
        payload: Vec<u8>,
        complete: bool,
        compressed: bool,
        wire_len: u64,
        utf8: Option<Utf8Verdict>,
    }

    fn own(m: &Message<'_>) -> Owned {
        Owned {
            opcode: m.opcode,
            len: m.len,
            frames: m.frames,
            first: m.first_packet,
            last: m.last_packet,
            payload: m.payload.to_vec(),
            complete: m.payload_complete,
            compressed: m.compressed,
            wire_len: m.wire_len,
            utf8: m.utf8,
        }
    }

    /// Frame bytes (unmasked) → header for a DecodedFrame.
    fn frame<'a>(b0: u8, payload: &'a [u8], packet: u64) -> DecodedFrame<'a> {
        let mut head = vec![b0];
        if payload.len() < 126 {
            head.push(payload.len() as u8);
        } else if payload.len() <= 0xFFFF {
            head.push(126);
            head.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        } else {
            head.push(127);
            head.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
        DecodedFrame {
            header: FrameHeader::parse(&head).unwrap(),
            payload,
            payload_complete: true,
            truncated: false,
            gap_bytes: 0,
            first_packet: packet,
            last_packet: packet,
            stream_offset: 0,
        }
    }

    #[derive(Default)]
    struct Run {
        messages: Vec<Owned>,
        frag: Vec<Fragmentation>,
        inflate: Vec<InflateProblem>,
        /// Payload bytes fed as pieces.
        fed: usize,
    }

    fn run(asm: &mut MessageAssembler, frames: &[DecodedFrame<'_>]) -> Run {
        run_pieces(asm, frames, usize::MAX, usize::MAX)
    }

    /// Feeds each frame's payload as pieces of `piece` bytes, then the frame as a decoder
    /// retaining `frame_cap` bytes of a data frame's payload would emit it.
    fn run_pieces(
        asm: &mut MessageAssembler,
        frames: &[DecodedFrame<'_>],
        piece: usize,
        frame_cap: usize,
    ) -> Run {
        run_fed(asm, frames, piece, frame_cap, false)
    }

    /// [`run_pieces`]; `as_decoder`: each frame is first announced by an empty piece and
    /// its pieces stop once [`MessageAssembler::payload`] declines them, as
    /// `FrameDecoder::feed_pieces` does.
    fn run_fed(
        asm: &mut MessageAssembler,
        frames: &[DecodedFrame<'_>],
        piece: usize,
        frame_cap: usize,
        as_decoder: bool,
    ) -> Run {
        let mut r = Run::default();
        for (i, f) in frames.iter().enumerate() {
            let t = FrameTimes {
                start: i as f64,
                end: i as f64,
            };
            let mut offset = 0;
            let mut wanted = !as_decoder || f.payload.is_empty() || asm.payload(&f.header, 0, &[]);
            for p in f.payload.chunks(piece.max(1)) {
                if !wanted {
                    break;
                }
                wanted = asm.payload(&f.header, offset, p) || !as_decoder;
                offset += p.len() as u64;
                r.fed += p.len();
            }
            let cap = if f.header.opcode.is_control() {
                frame_cap.max(MAX_CONTROL_PAYLOAD)
            } else {
                frame_cap
            };
            let keep = f.payload.len().min(cap);
            let truncated = keep < f.payload.len();
            let g = DecodedFrame {
                payload: &f.payload[..keep],
                truncated,
                payload_complete: f.payload_complete && !truncated,
                ..*f
            };
            let p = asm.push(&g, t);
            r.frag.extend(p.fragmentation);
            r.inflate.extend(p.inflate);
            if let Some(m) = &p.message {
                r.messages.push(own(m));
            }
        }
        r
    }

    #[test]
    fn rfc6455_5_6_fragmented_text_with_ping_between() {
        // §5.7: "Hel" + "lo" as two fragments, with a ping between them.
        let mut asm = MessageAssembler::new(MessageLimits::default(), None);
        let r = run(
            &mut asm,
            &[
                frame(0x01, b"Hel", 1),
                frame(0x89, b"Hello", 2),
                frame(0x80, b"lo", 3),
            ],
        );
        assert!(r.frag.is_empty());
        assert_eq!(r.messages.len(), 2);
        assert_eq!(r.messages[0].opcode, OpCode::Ping);
        assert_eq!(r.messages[0].payload, b"Hello");
        let m = &r.messages[1];
        assert_eq!(m.opcode, OpCode::Text);
        assert_eq!(m.payload, b"Hello");
        assert_eq!((m.len, m.frames, m.wire_len), (5, 2, 5));
        assert_eq!((m.first, m.last), (1, 3));
        assert!(m.complete && !m.compressed);
        assert_eq!(m.utf8, Some(Utf8Verdict::Valid));
        assert!(!asm.in_message());
    }

    #[test]
    fn code_point_split_between_fragments() {
        let text = "h€llo".as_bytes();
        for cut in 0..=text.len() {
            let mut asm = MessageAssembler::new(MessageLimits::default(), None);
            let r = run(
                &mut asm,
                &[frame(0x01, &text[..cut], 1), frame(0x80, &text[cut..], 2)],
            );
            assert_eq!(r.messages[0].utf8, Some(Utf8Verdict::Valid), "cut {cut}");
        }
        // Invalid: offset within the whole message.
        let mut asm = MessageAssembler::new(MessageLimits::default(), None);
        let r = run(
            &mut asm,
            &[frame(0x01, b"abc", 1), frame(0x80, b"d\xff", 2)],
        );
        assert_eq!(r.messages[0].utf8, Some(Utf8Verdict::Invalid { offset: 4 }));
        // A code point left open at the end.
        let mut asm = MessageAssembler::new(MessageLimits::default(), None);
        let r = run(
            &mut asm,
            &[frame(0x01, b"ab\xe2", 1), frame(0x80, b"\x82", 2)],
        );
        assert_eq!(
            r.messages[0].utf8,
            Some(Utf8Verdict::Incomplete { offset: 2 })
        );
        // Binary is not validated.
        let mut asm = MessageAssembler::new(MessageLimits::default(), None);
        let r = run(&mut asm, &[frame(0x82, b"\xff", 1)]);
        assert_eq!(r.messages[0].utf8, None);
    }

    #[test]
    fn out_of_place_frames() {
        let mut asm = MessageAssembler::new(MessageLimits::default(), None);
        let r = run(
            &mut asm,
            &[
                frame(0x80, b"orphan", 1),
                frame(0x02, b"ab", 2),
                frame(0x00, b"cd", 3),
                frame(0x81, b"new", 4),
            ],
        );
        assert_eq!(
            r.frag,
            vec![
                Fragmentation::ContinuationWithoutMessage,
                Fragmentation::NewMessageWhileFragmented {
                    dropped: OpCode::Binary,
                    dropped_frames: 2
                }
            ]
        );
        assert_eq!(r.messages.len(), 1);
        assert_eq!(r.messages[0].payload, b"new");
    }

    #[test]
    fn retention_cap_keeps_counting_and_validating() {
        let limits = MessageLimits {
            max_retained: 4,
            max_inflated: DEFAULT_MAX_INFLATED,
            frame_retained: DEFAULT_MAX_RETAINED_PAYLOAD,
        };
        let mut asm = MessageAssembler::new(limits, None);
        let r = run(
            &mut asm,
            &[frame(0x01, b"abc", 1), frame(0x80, b"de\xff", 2)],
        );
        let m = &r.messages[0];
        assert_eq!(m.payload, b"abcd");
        assert_eq!(m.len, 6);
        assert!(!m.complete);
        assert_eq!(m.utf8, Some(Utf8Verdict::Invalid { offset: 5 }));
    }

    #[test]
    fn lost_bytes_make_the_message_incomplete_and_unchecked() {
        let mut asm = MessageAssembler::new(MessageLimits::default(), None);
        let mut f = frame(0x01, b"ab", 1);
        f.payload_complete = false;
        f.gap_bytes = 3;
        let r = run(&mut asm, &[f, frame(0x80, b"\xff", 2)]);
        assert!(!r.messages[0].complete);
        assert_eq!(r.messages[0].utf8, None);
    }

    #[test]
    fn rfc7692_compressed_messages() {
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let again = [0xf2, 0x00, 0x11, 0x00, 0x00];
        let mut asm = MessageAssembler::new(MessageLimits::default(), Some(false));
        // §7.2.3.1 unfragmented and fragmented (0x41 0x03 f2 48 cd, 0x80 0x04 c9 c9 07 00),
        // then §7.2.3.2's second message using the shared window.
        let r = run(
            &mut asm,
            &[
                frame(0xc1, &hello, 1),
                frame(0x41, &hello[..3], 2),
                frame(0x89, b"", 3),
                frame(0x80, &hello[3..], 4),
                frame(0xc1, &again, 5),
            ],
        );
        assert!(r.inflate.is_empty() && r.frag.is_empty(), "{:?}", r.inflate);
        let data: Vec<&Owned> = r
            .messages
            .iter()
            .filter(|m| m.opcode == OpCode::Text)
            .collect();
        assert_eq!(data.len(), 3);
        for m in &data {
            assert_eq!(m.payload, b"Hello");
            assert_eq!(m.len, 5);
            assert!(m.compressed && m.complete);
            assert_eq!(m.utf8, Some(Utf8Verdict::Valid));
        }
        assert_eq!(data[0].wire_len, 7);
        assert_eq!((data[1].frames, data[1].wire_len), (2, 7));
        assert_eq!(data[2].wire_len, 5);
        // RSV1 without permessage-deflate in use: taken as is.
        let mut asm = MessageAssembler::new(MessageLimits::default(), None);
        let r = run(&mut asm, &[frame(0xc1, &hello, 1)]);
        assert_eq!(r.messages[0].payload, hello);
        assert!(!r.messages[0].compressed);
    }

    #[test]
    fn inflate_failure_then_context_lost_once() {
        let mut asm = MessageAssembler::new(MessageLimits::default(), Some(false));
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let r = run(
            &mut asm,
            &[
                frame(0xc1, &[0xff, 0xff], 1),
                frame(0xc1, &hello, 2),
                frame(0xc1, &hello, 3),
                frame(0x81, b"plain", 4),
            ],
        );
        assert_eq!(r.inflate.len(), 2, "{:?}", r.inflate);
        assert!(matches!(r.inflate[0], InflateProblem::Failed(_)));
        assert_eq!(r.inflate[1], InflateProblem::ContextLost);
        assert_eq!(r.messages.len(), 4);
        assert!(
            r.messages[..3]
                .iter()
                .all(|m| !m.complete && m.utf8.is_none())
        );
        assert_eq!(r.messages[3].payload, b"plain");
        // Without context takeover the next message inflates.
        let mut asm = MessageAssembler::new(MessageLimits::default(), Some(true));
        let r = run(
            &mut asm,
            &[frame(0xc1, &[0xff, 0xff], 1), frame(0xc1, &hello, 2)],
        );
        assert_eq!(r.inflate.len(), 1);
        assert_eq!(r.messages[1].payload, b"Hello");
    }

    #[test]
    fn decompression_limit() {
        let mut enc =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&vec![b'a'; 200_000]).unwrap();
        enc.flush().unwrap();
        let mut data = enc.get_ref().clone();
        data.truncate(data.len() - 4);
        let limits = MessageLimits {
            max_retained: 1000,
            max_inflated: 100_000,
            frame_retained: 0,
        };
        let mut asm = MessageAssembler::new(limits, Some(false));
        let r = run(&mut asm, &[frame(0xc1, &data, 1)]);
        assert_eq!(r.inflate, vec![InflateProblem::Limit(100_000)]);
        let m = &r.messages[0];
        assert_eq!(m.len, 100_000);
        assert_eq!(m.payload.len(), 1000);
        assert!(!m.complete);
        assert_eq!(m.utf8, None);
        // Under the limit: all of it counted and validated, 1000 bytes kept.
        let limits = MessageLimits {
            max_retained: 1000,
            max_inflated: 1 << 20,
            frame_retained: 0,
        };
        for piece in [1, 100, data.len()] {
            let mut asm = MessageAssembler::new(limits, Some(false));
            let r = run_pieces(&mut asm, &[frame(0xc1, &data, 1)], piece, 0);
            assert!(r.inflate.is_empty());
            assert_eq!(r.messages[0].len, 200_000);
            assert_eq!(r.messages[0].payload, vec![b'a'; 1000]);
            assert_eq!(r.messages[0].utf8, Some(Utf8Verdict::Valid));
        }
    }

    #[test]
    fn pieces_and_frame_caps_change_nothing() {
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let again = [0xf2, 0x00, 0x11, 0x00, 0x00];
        let text = "h€llo wörld".as_bytes();
        let big: Vec<u8> = (0..70_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let frames = [
            frame(0x01, b"Hel", 1),
            frame(0x89, b"Hello", 2),
            frame(0x80, b"lo", 3),
            frame(0xc1, &hello, 4),
            frame(0x41, &hello[..3], 5),
            frame(0x8a, b"", 6),
            frame(0x80, &hello[3..], 7),
            frame(0xc1, &again, 8),
            frame(0x01, &text[..2], 9),
            frame(0x80, &text[2..], 10),
            frame(0x81, &big, 11),
            frame(0x02, &big, 12),
            frame(0x81, b"ab\xff", 13),
            frame(0x80, b"orphan", 14),
            frame(0x82, b"", 15),
        ];
        let mut asm = MessageAssembler::new(MessageLimits::default(), Some(false));
        let want = run(&mut asm, &frames);
        assert_eq!(want.messages.len(), 10);
        assert_eq!(want.frag.len(), 2);
        for piece in [1, 2, 7, 1448, usize::MAX] {
            for frame_cap in [0, 3, 100_000] {
                let limits = MessageLimits {
                    frame_retained: frame_cap,
                    ..MessageLimits::default()
                };
                let mut asm = MessageAssembler::new(limits, Some(false));
                let got = run_pieces(&mut asm, &frames, piece, frame_cap);
                assert_eq!(got.messages, want.messages, "piece {piece} cap {frame_cap}");
                assert_eq!(got.frag, want.frag);
                assert_eq!(got.inflate, want.inflate);
            }
        }
    }

    #[test]
    fn declined_pieces_change_nothing() {
        // Every kind of frame the assembler tells apart: fragmented and whole, text and
        // binary, compressed and not, control frames between fragments, frames out of place.
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let big: Vec<u8> = (0..70_000u32).map(|i| b'a' + (i % 26) as u8).collect();
        let frames = [
            frame(0x02, &big[..10], 1),
            frame(0x89, b"Hello", 2),
            frame(0x80, &big[10..], 3),
            frame(0xc1, &hello, 4),
            frame(0xc2, &hello, 5),
            frame(0x81, &big, 6),
            frame(0x82, &big, 7),
            frame(0x01, b"ab", 8),
            frame(0x82, &big[..100], 9),
            frame(0x80, b"orphan", 10),
            frame(0x88, &[0x03, 0xe8], 11),
        ];
        let mut declined_some = false;
        for max_retained in [0, 3, 100, crate::ws::decoder::DEFAULT_MAX_RETAINED_PAYLOAD] {
            for frame_cap in [0, 3, 100_000] {
                for piece in [1, 7, 1448, usize::MAX] {
                    let limits = MessageLimits {
                        max_retained,
                        frame_retained: frame_cap,
                        ..MessageLimits::default()
                    };
                    let mut all = MessageAssembler::new(limits, Some(false));
                    let want = run_fed(&mut all, &frames, piece, frame_cap, false);
                    let mut asked = MessageAssembler::new(limits, Some(false));
                    let got = run_fed(&mut asked, &frames, piece, frame_cap, true);
                    let case = format!("max {max_retained} frame cap {frame_cap} piece {piece}");
                    assert_eq!(got.messages, want.messages, "{case}");
                    assert_eq!(got.frag, want.frag, "{case}");
                    assert_eq!(got.inflate, want.inflate, "{case}");
                    declined_some |= got.fed < want.fed;
                }
            }
        }
        assert!(
            declined_some,
            "a binary message past the cap declines its pieces"
        );
    }

    #[test]
    fn invalid_utf8_beyond_every_cap_is_found() {
        let mut text = vec![b'a'; 100_000];
        text[90_000] = 0xff;
        for (max_retained, frame_retained) in [(1024, 0), (1024, 1024), (0, 0)] {
            let limits = MessageLimits {
                max_retained,
                max_inflated: DEFAULT_MAX_INFLATED,
                frame_retained,
            };
            // One frame, and the same text in two fragments.
            let frames = [frame(0x81, &text, 1)];
            let fragments = [
                frame(0x01, &text[..50_000], 1),
                frame(0x80, &text[50_000..], 2),
            ];
            for frames in [&frames[..], &fragments[..]] {
                let mut asm = MessageAssembler::new(limits, None);
                let r = run_pieces(&mut asm, frames, 1448, frame_retained);
                let m = &r.messages[0];
                assert_eq!(m.utf8, Some(Utf8Verdict::Invalid { offset: 90_000 }));
                assert_eq!(m.len, 100_000);
                assert_eq!(m.payload, &text[..max_retained]);
                assert!(!m.complete);
            }
        }
    }

    #[test]
    fn bytes_lost_between_pieces_stop_inflation() {
        let hello = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];
        let mut asm = MessageAssembler::new(MessageLimits::default(), Some(false));
        let mut f = frame(0xc1, &hello, 1);
        asm.payload(&f.header, 0, &hello[..2]);
        asm.payload(&f.header, 4, &hello[4..]);
        f.payload = &hello[..2];
        f.payload_complete = false;
        f.gap_bytes = 2;
        let p = asm.push(
            &f,
            FrameTimes {
                start: 0.0,
                end: 0.0,
            },
        );
        let m = p.message.unwrap();
        assert!(!m.payload_complete && m.utf8.is_none());
        // With context takeover, the next compressed message cannot be inflated.
        let r = run(&mut asm, &[frame(0xc1, &hello, 2), frame(0xc1, &hello, 3)]);
        assert_eq!(r.inflate, vec![InflateProblem::ContextLost]);
        assert!(r.messages.iter().all(|m| !m.complete && m.utf8.is_none()));
    }

    #[test]
    fn pings_and_pongs() {
        let mut t = PingTracker::new();
        t.ping(Direction::ClientToServer, 10, 1.0, b"a", true);
        t.ping(Direction::ClientToServer, 11, 1.5, b"b", true);
        // Same-direction pong does not answer.
        assert_eq!(t.pong(Direction::ClientToServer, 2.0, b"a", true), None);
        let m = t.pong(Direction::ServerToClient, 2.25, b"b", true).unwrap();
        assert_eq!(
            (m.ping_dir, m.ping_packet, m.rtt, m.payload_len),
            (Direction::ClientToServer, 11, 0.75, 1)
        );
        assert_eq!(t.pong(Direction::ServerToClient, 2.5, b"b", true), None);
        assert_eq!(
            t.pong(Direction::ServerToClient, 3.0, b"a", true)
                .unwrap()
                .ping_packet,
            10
        );
        // Bounded: the oldest is forgotten.
        for i in 0..=MAX_OUTSTANDING_PINGS as u64 {
            t.ping(Direction::ServerToClient, i, 0.0, b"", true);
        }
        for _ in 0..MAX_OUTSTANDING_PINGS {
            assert!(t.pong(Direction::ClientToServer, 1.0, b"", true).is_some());
        }
        assert!(t.pong(Direction::ClientToServer, 1.0, b"", true).is_none());
        // Incomplete payloads are not matched.
        t.ping(Direction::ServerToClient, 1, 0.0, b"x", false);
        assert!(t.pong(Direction::ClientToServer, 1.0, b"x", true).is_none());
    }
}
