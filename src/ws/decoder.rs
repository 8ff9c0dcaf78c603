//! Streaming frame decoder for one direction of one connection.
//!
//! Bytes arrive in arbitrary pieces (one TCP payload at a time); the decoder reassembles
//! headers split anywhere, unmasks payloads as they arrive and hands each finished frame to
//! a callback. Declared lengths are never trusted for allocation: memory grows only with
//! bytes actually received, up to [`DecoderLimits::max_retained_payload`].

use super::frame::{FrameHeader, MAX_HEADER_LEN};
use super::mask::{KEY_LEN, apply_mask};
use crate::flow::budget::HeldPayload;
use std::io;

/// Default cap on the payload bytes kept per frame: 16 MiB.
pub const DEFAULT_MAX_RETAINED_PAYLOAD: usize = 16 * 1024 * 1024;
/// Scratch capacity kept between frames; a larger buffer is shrunk back after its frame.
const SCRATCH_KEEP: usize = 64 << 10;

/// Makes room for `more` bytes, growing the capacity by at least a quarter rather than
/// doubling it: kept payload is what the memory budget counts, and doubling let the
/// capacity behind it reach twice that (JSON Lines of large-200mb-c64-s1.pcap: frame and
/// message buffers took ~38 MB of heap for ~24 MiB of counted payload). Still geometric,
/// so the copying stays linear.
pub(super) fn grow_by_quarter(buf: &mut Vec<u8>, more: usize) {
    let need = buf.len().saturating_add(more);
    if need > buf.capacity() {
        let cap = buf.capacity();
        buf.reserve_exact(need.max(cap + cap / 4) - buf.len());
    }
}

/// Largest payload a control frame may have (RFC 6455 §5.5). Control frames are kept whole
/// up to this size whatever [`DecoderLimits::max_retained_payload`] says: their payloads
/// are interpreted (close codes and reasons, pongs matched to pings), not just shown.
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// Resource limits of a [`FrameDecoder`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderLimits {
    /// Payload bytes kept per data frame (control frames: at least
    /// [`MAX_CONTROL_PAYLOAD`]); bytes beyond are dropped and the frame is marked truncated.
    /// 0 keeps no data payload at all: nothing is copied or unmasked, which is what a
    /// reader that never looks at payloads wants (large frames then cost no memory).
    pub max_retained_payload: usize,
}

impl Default for DecoderLimits {
    fn default() -> Self {
        DecoderLimits {
            max_retained_payload: DEFAULT_MAX_RETAINED_PAYLOAD,
        }
    }
}

/// A complete frame, as handed to the `emit` callback of [`FrameDecoder::feed`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodedFrame<'a> {
    /// The frame header.
    pub header: FrameHeader,
    /// The unmasked payload bytes that were captured and retained, in order (at most
    /// `max_retained_payload` bytes; bytes lost in a TCP gap are left out, not zero-filled).
    pub payload: &'a [u8],
    /// True when `payload` is the whole declared payload: false when capped or when a TCP
    /// gap fell inside the payload.
    pub payload_complete: bool,
    /// True when payload bytes were dropped because of `max_retained_payload`.
    pub truncated: bool,
    /// Payload bytes that were never captured (TCP gaps absorbed inside this frame).
    pub gap_bytes: u64,
    /// Packet that carried the first header byte.
    pub first_packet: u64,
    /// Packet that carried the last byte (the frame "belongs" to it); for a frame whose
    /// end fell in a gap, the packet passed to [`FrameDecoder::gap`].
    pub last_packet: u64,
    /// Offset of the header's first byte in this direction's WebSocket byte stream.
    pub stream_offset: u64,
}

/// What [`FrameDecoder::feed_pieces`] hands out, in stream order: each frame's payload as
/// it arrives, then the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece<'a> {
    /// The next captured payload bytes of the current frame, unmasked, starting `offset`
    /// bytes into its payload (bytes lost in a TCP gap are skipped, so offsets jump). Every
    /// payload byte comes out this way whatever the retention cap, so a consumer can
    /// validate or inflate a payload far larger than what is kept, until the consumer
    /// answers [`Wanted::Enough`]. A frame's first piece may be empty: masked bytes beyond
    /// the cap are unmasked only once the consumer has said it wants them.
    Payload {
        /// The frame's header.
        header: FrameHeader,
        /// Position of `bytes[0]` in the frame's payload.
        offset: u64,
        /// The bytes; borrowed from the input when unmasked, else from a bounded buffer.
        bytes: &'a [u8],
    },
    /// A frame completed: as [`FrameDecoder::feed`] emits it (payload as retained).
    Frame(DecodedFrame<'a>),
}

/// What the consumer of [`FrameDecoder::feed_pieces`] answers to a piece: whether it wants
/// the rest of the frame's payload pieces (the answer to a [`Piece::Frame`] is ignored).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted {
    /// The next pieces of this frame too.
    More,
    /// No more pieces of this frame: the decoder stops unmasking its payload (what the
    /// retention cap keeps is still kept, and the frame still comes out).
    Enough,
}

/// Whether the consumer wants the current frame's payload pieces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interest {
    /// Not asked yet.
    Unasked,
    Wanted,
    Declined,
}

/// Most masked bytes unmasked at once for [`Piece::Payload`] beyond the retention cap.
const PIECE_LEN: usize = 64 * 1024;

/// What a TCP gap did to the decoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GapOutcome {
    /// The missing bytes lay inside the current frame's payload; decoding stays in sync.
    Absorbed,
    /// The missing bytes hit a header or ran past the current frame: frame boundaries are
    /// lost and the decoder ignores everything afterwards.
    Desynchronized,
}

/// A frame (or header) started but not finished, for the "stream ended mid-frame"
/// diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingFrame {
    /// The header, when it was complete.
    pub header: Option<FrameHeader>,
    /// Bytes of the frame accounted for so far (header and payload, gap bytes included).
    pub bytes_seen: u64,
    /// Packet that carried the first header byte.
    pub first_packet: u64,
}

/// The frame being decoded, once its header is complete.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    header: FrameHeader,
    first_packet: u64,
    last_packet: u64,
    stream_offset: u64,
    /// Payload bytes accounted for: captured plus lost in gaps.
    received: u64,
    gap_bytes: u64,
    truncated: bool,
    /// The consumer's interest in this frame's payload pieces.
    interest: Interest,
}

impl InFlight {
    fn remaining(&self) -> u64 {
        self.header.payload_len.saturating_sub(self.received)
    }
}

/// Streaming decoder of the frames of one direction of one WebSocket connection. (Not
/// `Clone`: the payload it holds is reserved from the budget once.)
#[derive(Debug)]
pub struct FrameDecoder {
    limits: DecoderLimits,
    /// Bytes of this direction's stream consumed so far, gaps included.
    stream_offset: u64,
    desync: bool,
    /// A header split across feeds.
    header_buf: [u8; MAX_HEADER_LEN],
    header_fill: usize,
    header_first_packet: u64,
    header_offset: u64,
    frame: Option<InFlight>,
    /// Unmasked payload of the current frame, reused across frames.
    scratch: Vec<u8>,
    /// Masked bytes beyond the retention cap, unmasked for [`Piece::Payload`].
    piece: Vec<u8>,
    /// The memory budget's account `scratch`'s bytes are reserved from, how many are,
    /// and whether it refused some since the last [`take_display_cut`](Self::take_display_cut).
    held: HeldPayload,
    reserved: usize,
    display_cut: bool,
}

impl FrameDecoder {
    /// A decoder at the start of a direction's WebSocket byte stream.
    pub fn new(limits: DecoderLimits) -> Self {
        FrameDecoder {
            limits,
            stream_offset: 0,
            desync: false,
            header_buf: [0; MAX_HEADER_LEN],
            header_fill: 0,
            header_first_packet: 0,
            header_offset: 0,
            frame: None,
            scratch: Vec::new(),
            piece: Vec::new(),
            held: HeldPayload::default(),
            reserved: 0,
            display_cut: false,
        }
    }

    /// Reserves the payload kept for display from `held`, the memory budget's account
    /// shared by every connection (by default nothing is accounted).
    pub fn with_budget(mut self, held: HeldPayload) -> Self {
        self.held = held;
        self
    }

    /// Whether the budget cut a frame's kept payload since the last call.
    pub fn take_display_cut(&mut self) -> bool {
        std::mem::take(&mut self.display_cut)
    }

    /// The kept payload is no longer needed: back to the budget.
    fn clear_scratch(&mut self) {
        self.scratch.clear();
        self.held.release(self.reserved);
        self.reserved = 0;
        if self.scratch.capacity() > SCRATCH_KEEP {
            self.scratch.shrink_to(SCRATCH_KEEP);
        }
    }

    /// Decodes the next in-order `bytes` of the stream, carried by `packet`, calling `emit`
    /// for every frame they complete. Ignored once desynchronized. Also emits a frame that
    /// an earlier [`gap`](Self::gap) completed, so `bytes` may be empty.
    pub fn feed(&mut self, packet: u64, bytes: &[u8], emit: &mut dyn FnMut(DecodedFrame<'_>)) {
        let infallible = self.decode::<false>(packet, bytes, &mut |piece| {
            if let Piece::Frame(frame) = piece {
                emit(frame);
            }
            Ok(Wanted::More)
        });
        debug_assert!(infallible.is_ok());
    }

    /// Like [`feed`](Self::feed), but also hands out every payload byte, unmasked, as it
    /// arrives ([`Piece::Payload`]), before the [`Piece::Frame`] that completes it. With a
    /// retention cap of 0 nothing is kept: memory stays bounded whatever the frame sizes,
    /// while a consumer still sees (and can validate, inflate or count) every byte it
    /// wants: `out` answers each piece ([`Wanted`]).
    /// An error returned by `out` (from the stage above) stops decoding and is returned.
    pub fn feed_pieces(
        &mut self,
        packet: u64,
        bytes: &[u8],
        out: &mut dyn FnMut(Piece<'_>) -> io::Result<Wanted>,
    ) -> io::Result<()> {
        self.decode::<true>(packet, bytes, &mut |piece| out(piece))
    }

    /// The decoding loop; `PIECES` says whether payload pieces are wanted (a constant, so
    /// plain [`feed`](Self::feed) pays nothing for them).
    fn decode<const PIECES: bool>(
        &mut self,
        packet: u64,
        bytes: &[u8],
        out: &mut impl FnMut(Piece<'_>) -> io::Result<Wanted>,
    ) -> io::Result<()> {
        if self.desync {
            return Ok(());
        }
        self.flush_into(out)?;
        let mut rest = bytes;
        while !rest.is_empty() {
            let used = if self.frame.is_some() {
                self.take_payload::<PIECES>(packet, rest, out)?
            } else {
                self.take_header(packet, rest)
            };
            rest = rest.get(used..).unwrap_or_default();
            self.flush_into(out)?;
        }
        Ok(())
    }

    /// Records that `len` bytes of the stream were never captured, noticed at `packet`.
    /// A gap that ends exactly at the end of the current frame completes it; the frame is
    /// emitted by the next [`feed`](Self::feed) or [`flush`](Self::flush).
    pub fn gap(&mut self, packet: u64, len: u64) -> GapOutcome {
        if self.desync {
            return GapOutcome::Desynchronized;
        }
        if len == 0 {
            return GapOutcome::Absorbed;
        }
        match &mut self.frame {
            Some(f) if len <= f.remaining() => {
                f.received += len;
                f.gap_bytes += len;
                if f.remaining() == 0 {
                    f.last_packet = packet;
                }
                self.stream_offset = self.stream_offset.saturating_add(len);
                GapOutcome::Absorbed
            }
            _ => {
                self.desync = true;
                GapOutcome::Desynchronized
            }
        }
    }

    /// Emits the current frame if its payload is fully accounted for (only possible after
    /// a gap that ended exactly at the frame's end).
    /// An error returned by `emit` is returned.
    pub fn flush(
        &mut self,
        emit: &mut dyn FnMut(DecodedFrame<'_>) -> io::Result<()>,
    ) -> io::Result<()> {
        self.flush_into(&mut |piece| match piece {
            Piece::Frame(frame) => emit(frame).map(|()| Wanted::More),
            Piece::Payload { .. } => Ok(Wanted::More),
        })
    }

    /// Emits the current frame if it is complete (the cheap test inlined in the loop).
    #[inline]
    fn flush_into(
        &mut self,
        out: &mut impl FnMut(Piece<'_>) -> io::Result<Wanted>,
    ) -> io::Result<()> {
        if self.frame.is_some_and(|f| f.remaining() == 0) {
            self.emit_complete(out)?;
        }
        Ok(())
    }

    fn emit_complete(
        &mut self,
        out: &mut impl FnMut(Piece<'_>) -> io::Result<Wanted>,
    ) -> io::Result<()> {
        let Some(f) = self.frame else { return Ok(()) };
        self.frame = None;
        out(Piece::Frame(DecodedFrame {
            header: f.header,
            payload: &self.scratch,
            payload_complete: !f.truncated && f.gap_bytes == 0,
            truncated: f.truncated,
            gap_bytes: f.gap_bytes,
            first_packet: f.first_packet,
            last_packet: f.last_packet,
            stream_offset: f.stream_offset,
        }))?;
        self.clear_scratch();
        Ok(())
    }

    /// True once a gap broke frame synchronisation.
    pub fn is_desynchronized(&self) -> bool {
        self.desync
    }

    /// The frame or header started but not finished, if any (after desynchronisation: the
    /// one that was in progress when sync was lost; a frame completed by a gap stays here
    /// until flushed).
    pub fn pending(&self) -> Option<PendingFrame> {
        if let Some(f) = &self.frame {
            Some(PendingFrame {
                header: Some(f.header),
                bytes_seen: (f.header.header_len as u64).saturating_add(f.received),
                first_packet: f.first_packet,
            })
        } else if self.header_fill > 0 {
            Some(PendingFrame {
                header: None,
                bytes_seen: self.header_fill as u64,
                first_packet: self.header_first_packet,
            })
        } else {
            None
        }
    }

    /// Bytes of this direction's stream consumed so far, gaps included.
    pub fn stream_offset(&self) -> u64 {
        self.stream_offset
    }

    /// Accumulates header bytes; returns how many of `bytes` were used.
    fn take_header(&mut self, packet: u64, bytes: &[u8]) -> usize {
        let fill = self.header_fill;
        if fill == 0 {
            self.header_first_packet = packet;
            self.header_offset = self.stream_offset;
            // The common case: the whole header is in this slice; parse it in place.
            if let Some(header) = FrameHeader::parse(bytes) {
                self.start_frame(header, packet);
                self.stream_offset = self.stream_offset.saturating_add(header.header_len as u64);
                return header.header_len;
            }
        }
        let n = MAX_HEADER_LEN.saturating_sub(fill).min(bytes.len());
        let (Some(dst), Some(src)) = (self.header_buf.get_mut(fill..fill + n), bytes.get(..n))
        else {
            return bytes.len();
        };
        dst.copy_from_slice(src);
        let filled = fill + n;
        let parsed = self.header_buf.get(..filled).and_then(FrameHeader::parse);
        let used = match parsed {
            None => {
                self.header_fill = filled;
                n
            }
            Some(header) => {
                // The bytes before this feed were too few for the header, so it ends here.
                self.header_fill = 0;
                self.start_frame(header, packet);
                header.header_len.saturating_sub(fill)
            }
        };
        self.stream_offset = self.stream_offset.saturating_add(used as u64);
        used
    }

    /// Makes `header` (whose first byte came with `header_first_packet`) the current frame.
    fn start_frame(&mut self, header: FrameHeader, packet: u64) {
        self.clear_scratch();
        self.frame = Some(InFlight {
            header,
            first_packet: self.header_first_packet,
            last_packet: packet,
            stream_offset: self.header_offset,
            received: 0,
            gap_bytes: 0,
            truncated: false,
            interest: Interest::Unasked,
        });
    }

    /// Consumes payload bytes of the current frame; returns how many of `bytes` were used.
    /// With `PIECES`, every consumed byte is also handed out unmasked.
    fn take_payload<const PIECES: bool>(
        &mut self,
        packet: u64,
        bytes: &[u8],
        out: &mut impl FnMut(Piece<'_>) -> io::Result<Wanted>,
    ) -> io::Result<usize> {
        let Some(f) = &mut self.frame else {
            return Ok(0);
        };
        let take = usize::try_from(f.remaining()).map_or(bytes.len(), |r| r.min(bytes.len()));
        let Some(chunk) = bytes.get(..take) else {
            return Ok(bytes.len());
        };
        f.last_packet = packet;
        self.stream_offset = self.stream_offset.saturating_add(take as u64);
        let retain = if f.header.opcode.is_control() {
            self.limits.max_retained_payload.max(MAX_CONTROL_PAYLOAD)
        } else {
            self.limits.max_retained_payload
        };
        let header = f.header;
        let offset = f.received;
        let interest = f.interest;

        // Zero-copy path: a whole unmasked frame inside this slice.
        if offset == 0 && header.mask.is_none() && take as u64 == header.payload_len {
            let keep = take.min(retain);
            let truncated = keep < take;
            let frame = *f;
            self.frame = None;
            if PIECES && interest != Interest::Declined {
                out(Piece::Payload {
                    header,
                    offset,
                    bytes: chunk,
                })?;
            }
            out(Piece::Frame(DecodedFrame {
                header,
                payload: chunk.get(..keep).unwrap_or_default(),
                payload_complete: !truncated,
                truncated,
                gap_bytes: 0,
                first_packet: frame.first_packet,
                last_packet: packet,
                stream_offset: frame.stream_offset,
            }))?;
            return Ok(take);
        }

        let want = retain.saturating_sub(self.scratch.len()).min(take);
        let keep = if want == 0 {
            0
        } else {
            self.held.reserve(want)
        };
        self.reserved += keep;
        if keep < want {
            self.display_cut = true;
        }
        if keep < take {
            f.truncated = true;
        }
        f.received += take as u64;
        let start = self.scratch.len();
        let (kept, dropped) = chunk.split_at(keep);
        grow_by_quarter(&mut self.scratch, kept.len());
        self.scratch.extend_from_slice(kept);
        // Only the key phase matters, so payload positions are reduced mod 4 first.
        let phase = |at: u64| (at % KEY_LEN as u64) as usize;
        if let (Some(key), Some(fresh)) = (header.mask, self.scratch.get_mut(start..)) {
            apply_mask(fresh, key, phase(offset));
        }
        if !PIECES || interest == Interest::Declined {
            return Ok(take);
        }
        let wanted = match header.mask {
            None => out(Piece::Payload {
                header,
                offset,
                bytes: chunk,
            })?,
            Some(key) => {
                let fresh = self.scratch.get(start..).unwrap_or_default();
                let mut wanted = if !fresh.is_empty() {
                    out(Piece::Payload {
                        header,
                        offset,
                        bytes: fresh,
                    })?
                } else if interest == Interest::Unasked && !dropped.is_empty() {
                    // Asked before any unmasking: a consumer that keeps and validates
                    // nothing of this frame (a binary message past the cap) costs no copy.
                    out(Piece::Payload {
                        header,
                        offset,
                        bytes: &[],
                    })?
                } else {
                    Wanted::More
                };
                // Beyond the cap: unmasked a bounded piece at a time, kept nowhere.
                let mut at = offset + keep as u64;
                for part in dropped.chunks(PIECE_LEN) {
                    if wanted == Wanted::Enough {
                        break;
                    }
                    self.piece.clear();
                    self.piece.extend_from_slice(part);
                    apply_mask(&mut self.piece, key, phase(at));
                    wanted = out(Piece::Payload {
                        header,
                        offset: at,
                        bytes: &self.piece,
                    })?;
                    at += part.len() as u64;
                }
                wanted
            }
        };
        if let Some(f) = &mut self.frame {
            f.interest = match wanted {
                Wanted::More => Interest::Wanted,
                Wanted::Enough => Interest::Declined,
            };
        }
        Ok(take)
    }
}

impl Drop for FrameDecoder {
    fn drop(&mut self) {
        self.held.release(self.reserved);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ws::frame::LengthEncoding;
    use crate::ws::opcode::OpCode;

    /// An owned copy of a [`DecodedFrame`] for assertions.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct Owned {
        header: FrameHeader,
        payload: Vec<u8>,
        complete: bool,
        truncated: bool,
        gap_bytes: u64,
        first: u64,
        last: u64,
        offset: u64,
    }

    fn own(f: DecodedFrame<'_>) -> Owned {
        Owned {
            header: f.header,
            payload: f.payload.to_vec(),
            complete: f.payload_complete,
            truncated: f.truncated,
            gap_bytes: f.gap_bytes,
            first: f.first_packet,
            last: f.last_packet,
            offset: f.stream_offset,
        }
    }

    fn feed(dec: &mut FrameDecoder, packet: u64, bytes: &[u8]) -> Vec<Owned> {
        let mut out = Vec::new();
        dec.feed(packet, bytes, &mut |f| out.push(own(f)));
        out
    }

    fn masked(opcode_byte: u8, key: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut out = vec![opcode_byte];
        let len = payload.len();
        if len < 126 {
            out.push(0x80 | len as u8);
        } else if len <= 0xFFFF {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        out.extend_from_slice(&key);
        let start = out.len();
        out.extend_from_slice(payload);
        crate::ws::mask::apply_mask_simple(&mut out[start..], key, 0);
        out
    }

    /// Expected (opcode, fin, payload) of a decoded frame.
    type Want = (OpCode, bool, Vec<u8>);

    /// The RFC 6455 §5.7 examples, back to back, with what each should decode to.
    fn rfc_stream() -> (Vec<u8>, Vec<Want>) {
        let mut s = Vec::new();
        let mut want = Vec::new();
        s.extend_from_slice(&[0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        want.push((OpCode::Text, true, b"Hello".to_vec()));
        s.extend_from_slice(&[
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ]);
        want.push((OpCode::Text, true, b"Hello".to_vec()));
        s.extend_from_slice(&[0x01, 0x03, 0x48, 0x65, 0x6c]);
        want.push((OpCode::Text, false, b"Hel".to_vec()));
        s.extend_from_slice(&[0x80, 0x02, 0x6c, 0x6f]);
        want.push((OpCode::Continuation, true, b"lo".to_vec()));
        s.extend_from_slice(&[0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f]);
        want.push((OpCode::Ping, true, b"Hello".to_vec()));
        s.extend_from_slice(&[
            0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ]);
        want.push((OpCode::Pong, true, b"Hello".to_vec()));
        let bin256: Vec<u8> = (0..256u32).map(|i| (i * 7) as u8).collect();
        s.extend_from_slice(&[0x82, 0x7E, 0x01, 0x00]);
        s.extend_from_slice(&bin256);
        want.push((OpCode::Binary, true, bin256));
        let bin64k: Vec<u8> = (0..65536u32).map(|i| (i ^ (i >> 8)) as u8).collect();
        s.extend_from_slice(&[0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0]);
        s.extend_from_slice(&bin64k);
        want.push((OpCode::Binary, true, bin64k.clone()));
        s.extend(masked(0x82, [1, 2, 3, 4], &bin64k[..300]));
        want.push((OpCode::Binary, true, bin64k[..300].to_vec()));
        s.extend_from_slice(&[0x88, 0x00]);
        want.push((OpCode::Close, true, Vec::new()));
        (s, want)
    }

    fn check(got: &[Owned], want: &[Want]) {
        assert_eq!(got.len(), want.len());
        let mut offset = 0;
        for (g, (op, fin, payload)) in got.iter().zip(want) {
            assert_eq!(g.header.opcode, *op);
            assert_eq!(g.header.fin, *fin);
            assert_eq!(&g.payload, payload);
            assert!(g.complete && !g.truncated);
            assert_eq!(g.offset, offset);
            offset += g.header.frame_len();
        }
    }

    #[test]
    fn rfc6455_examples_in_one_feed() {
        let (s, want) = rfc_stream();
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        let got = feed(&mut dec, 1, &s);
        check(&got, &want);
        assert_eq!(got[6].header.length_encoding, LengthEncoding::Extended16);
        assert_eq!(got[7].header.length_encoding, LengthEncoding::Extended64);
        assert!(got.iter().all(|f| f.first == 1 && f.last == 1));
        assert_eq!(dec.pending(), None);
        assert_eq!(dec.stream_offset(), s.len() as u64);
    }

    #[test]
    fn every_split_point() {
        let (s, want) = rfc_stream();
        for cut in 0..=s.len() {
            let mut dec = FrameDecoder::new(DecoderLimits::default());
            let mut got = feed(&mut dec, 1, &s[..cut]);
            got.extend(feed(&mut dec, 2, &s[cut..]));
            check(&got, &want);
            assert_eq!(dec.pending(), None);
        }
    }

    #[test]
    fn header_split_at_every_byte_position_two_ways() {
        // Largest header: masked with a 64-bit length.
        let frame = masked(0x82, [9, 8, 7, 6], &[0x55; 70000]);
        for a in 0..=14 {
            for b in a..=14 {
                let mut dec = FrameDecoder::new(DecoderLimits::default());
                let mut got = feed(&mut dec, 1, &frame[..a]);
                got.extend(feed(&mut dec, 2, &frame[a..b]));
                got.extend(feed(&mut dec, 3, &frame[b..]));
                assert_eq!(got.len(), 1);
                assert_eq!(got[0].payload, vec![0x55; 70000]);
                let first = if a > 0 {
                    1
                } else if b > a {
                    2
                } else {
                    3
                };
                assert_eq!(got[0].first, first, "a {a} b {b}");
                assert_eq!(got[0].last, 3);
            }
        }
    }

    #[test]
    fn byte_at_a_time() {
        let (s, want) = rfc_stream();
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        let mut got = Vec::new();
        for (i, b) in s.iter().enumerate() {
            got.extend(feed(&mut dec, i as u64, std::slice::from_ref(b)));
        }
        check(&got, &want);
        let mut start = 0u64;
        for g in &got {
            assert_eq!(g.first, start);
            assert_eq!(g.last, start + g.header.frame_len() - 1);
            start += g.header.frame_len();
        }
    }

    #[test]
    fn packet_attribution_across_feeds() {
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        assert!(feed(&mut dec, 10, &[0x81, 0x85, 0x37]).is_empty());
        assert_eq!(
            dec.pending(),
            Some(PendingFrame {
                header: None,
                bytes_seen: 3,
                first_packet: 10
            })
        );
        assert!(feed(&mut dec, 11, &[0xfa, 0x21, 0x3d, 0x7f]).is_empty());
        let p = dec.pending().unwrap();
        assert_eq!(p.bytes_seen, 7);
        assert_eq!(p.first_packet, 10);
        assert_eq!(p.header.unwrap().payload_len, 5);
        // The rest of the frame, then a complete second frame, in packet 12.
        let got = feed(&mut dec, 12, &[0x9f, 0x4d, 0x51, 0x58, 0x89, 0x00]);
        assert_eq!(got.len(), 2);
        assert_eq!((got[0].first, got[0].last, got[0].offset), (10, 12, 0));
        assert_eq!(got[0].payload, b"Hello");
        assert_eq!((got[1].first, got[1].last, got[1].offset), (12, 12, 11));
        assert_eq!(got[1].header.opcode, OpCode::Ping);
    }

    #[test]
    fn huge_declared_length_costs_nothing() {
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        let header = [0x82, 0x7F, 0x80, 0, 0, 0, 0, 0, 0, 0];
        assert!(feed(&mut dec, 1, &header).is_empty());
        assert_eq!(dec.scratch.capacity(), 0);
        assert!(feed(&mut dec, 2, &[0xAB; 1000]).is_empty());
        assert!(dec.scratch.capacity() < 1 << 20);
        let p = dec.pending().unwrap();
        let h = p.header.unwrap();
        assert!(h.length_top_bit_set());
        assert_eq!(p.bytes_seen, 1010);
        // A gap larger than memory could ever hold is still inside the frame.
        assert_eq!(dec.gap(3, 1 << 62), GapOutcome::Absorbed);
        let u64_max = [0x82, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF];
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        assert!(feed(&mut dec, 1, &u64_max).is_empty());
        assert_eq!(dec.gap(2, u64::MAX), GapOutcome::Absorbed);
        assert_eq!(dec.pending().unwrap().bytes_seen, u64::MAX);
    }

    #[test]
    fn gap_inside_payload_is_absorbed() {
        let payload: Vec<u8> = (0..20).collect();
        let key = [0xA1, 0xB2, 0xC3, 0xD4];
        let frame = masked(0x82, key, &payload);
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        // Header (6 bytes) + 3 payload bytes, then 5 lost, then the rest and a ping.
        assert!(feed(&mut dec, 1, &frame[..9]).is_empty());
        assert_eq!(dec.gap(2, 5), GapOutcome::Absorbed);
        let mut rest = frame[14..].to_vec();
        rest.extend_from_slice(&[0x89, 0x00]);
        let got = feed(&mut dec, 2, &rest);
        assert_eq!(got.len(), 2);
        let mut expect: Vec<u8> = payload[..3].to_vec();
        expect.extend_from_slice(&payload[8..]);
        assert_eq!(got[0].payload, expect, "unmasked with the right key phase");
        assert!(!got[0].complete);
        assert!(!got[0].truncated);
        assert_eq!(got[0].gap_bytes, 5);
        assert_eq!((got[0].first, got[0].last), (1, 2));
        assert_eq!(got[1].header.opcode, OpCode::Ping);
        assert!(got[1].complete);
        assert_eq!(got[1].offset, frame.len() as u64);
        assert!(!dec.is_desynchronized());
    }

    #[test]
    fn gap_ending_at_frame_end_emits_on_next_feed() {
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        assert!(feed(&mut dec, 1, &[0x82, 0x04, 1, 2]).is_empty());
        assert_eq!(dec.gap(2, 2), GapOutcome::Absorbed);
        let got = feed(&mut dec, 3, &[]);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload, [1, 2]);
        assert_eq!((got[0].first, got[0].last), (1, 2));
        assert!(!got[0].complete);
        assert_eq!(dec.pending(), None);
        let got = feed(&mut dec, 3, &[0x8A, 0x00]);
        assert_eq!(got[0].offset, 6);
        // flush() does the same without a feed.
        assert!(feed(&mut dec, 4, &[0x82, 0x01]).is_empty());
        assert_eq!(dec.gap(5, 1), GapOutcome::Absorbed);
        let mut n = 0;
        dec.flush(&mut |_| {
            n += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 1);
    }

    #[test]
    fn gap_at_header_desynchronizes() {
        // At a frame boundary.
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        assert_eq!(feed(&mut dec, 1, &[0x81, 0x01, b'a']).len(), 1);
        assert_eq!(dec.gap(2, 1), GapOutcome::Desynchronized);
        assert!(dec.is_desynchronized());
        assert!(feed(&mut dec, 3, &[0x81, 0x01, b'b']).is_empty());
        assert_eq!(dec.gap(4, 0), GapOutcome::Desynchronized);
        // Inside a partial header.
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        assert!(feed(&mut dec, 1, &[0x81]).is_empty());
        assert_eq!(dec.gap(2, 1), GapOutcome::Desynchronized);
        assert_eq!(dec.pending().unwrap().first_packet, 1);
        // Running past the end of the frame.
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        assert!(feed(&mut dec, 1, &[0x81, 0x05, b'a']).is_empty());
        assert_eq!(dec.gap(2, 5), GapOutcome::Desynchronized);
        assert!(feed(&mut dec, 3, b"bcd").is_empty());
        assert_eq!(dec.pending().unwrap().bytes_seen, 3);
    }

    #[test]
    fn zero_length_gap_is_harmless() {
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        assert_eq!(dec.gap(1, 0), GapOutcome::Absorbed);
        assert_eq!(feed(&mut dec, 2, &[0x81, 0x00]).len(), 1);
    }

    #[test]
    fn cap_truncates_and_stays_in_sync() {
        let limits = DecoderLimits {
            max_retained_payload: 4,
        };
        let payload: Vec<u8> = (100..110).collect();
        let mut stream = masked(0x82, [5, 6, 7, 8], &payload);
        stream.extend_from_slice(&[0x82, 0x0A]);
        stream.extend_from_slice(&payload);
        stream.extend_from_slice(&[0x81, 0x02, b'o', b'k']);
        for cut in 0..=stream.len() {
            let mut dec = FrameDecoder::new(limits);
            let mut got = feed(&mut dec, 1, &stream[..cut]);
            got.extend(feed(&mut dec, 2, &stream[cut..]));
            assert_eq!(got.len(), 3, "cut {cut}");
            for g in &got[..2] {
                assert_eq!(g.payload, payload[..4]);
                assert!(g.truncated && !g.complete);
                assert_eq!(g.header.payload_len, 10);
            }
            assert_eq!(got[2].payload, b"ok");
            assert!(got[2].complete && !got[2].truncated);
        }
    }

    /// The budget's account bounds what is kept across frames: a masked 10-byte frame keeps
    /// what is left of a 6-byte account (RFC 6455 §5.3 masking undone on those bytes), says
    /// so once, and gives the bytes back when the frame has been emitted.
    #[test]
    fn budget_cuts_kept_payload_and_gets_it_back() {
        let held = HeldPayload::new(6);
        let payload: Vec<u8> = (100..110).collect();
        let stream = masked(0x82, [5, 6, 7, 8], &payload);
        let mut dec = FrameDecoder::new(DecoderLimits::default()).with_budget(held.clone());
        let other = held.reserve(2);
        let got = feed(&mut dec, 1, &stream);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].payload, payload[..4]);
        assert!(got[0].truncated && !got[0].complete);
        assert!(dec.take_display_cut());
        assert!(!dec.take_display_cut());
        assert_eq!(held.used(), 2);
        held.release(other);
        let got = feed(&mut dec, 2, &stream);
        assert_eq!(got[0].payload, payload[..6]);
        drop(dec);
        assert_eq!(held.used(), 0);
    }

    /// Feeds `stream` cut into `segments`-byte pieces through `feed_pieces`; returns the
    /// frames and, for each, its payload joined from the pieces (checked contiguous).
    fn by_pieces(limits: DecoderLimits, stream: &[u8], segment: usize) -> Vec<(Owned, Vec<u8>)> {
        let mut dec = FrameDecoder::new(limits);
        let mut frames = Vec::new();
        let mut joined = Vec::new();
        for (k, seg) in stream.chunks(segment.max(1)).enumerate() {
            dec.feed_pieces(k as u64 + 1, seg, &mut |piece| {
                match piece {
                    Piece::Payload { offset, bytes, .. } => {
                        assert_eq!(offset, joined.len() as u64, "pieces are contiguous");
                        joined.extend_from_slice(bytes);
                    }
                    Piece::Frame(f) => frames.push((own(f), std::mem::take(&mut joined))),
                }
                Ok(Wanted::More)
            })
            .unwrap();
        }
        assert!(joined.is_empty() || dec.pending().is_some());
        frames
    }

    #[test]
    fn pieces_carry_every_payload_byte_whatever_the_cap() {
        let (mut stream, mut want) = rfc_stream();
        // Masked and unmasked frames larger than a piece and than the caps.
        let big: Vec<u8> = (0..200_000u32).map(|i| (i * 31 % 251) as u8).collect();
        stream.extend(masked(0x82, [9, 8, 7, 6], &big));
        want.push((OpCode::Binary, true, big.clone()));
        stream.extend_from_slice(&[0x82, 127]);
        stream.extend_from_slice(&(big.len() as u64).to_be_bytes());
        stream.extend_from_slice(&big);
        want.push((OpCode::Binary, true, big.clone()));
        for cap in [0, 3, 100, DEFAULT_MAX_RETAINED_PAYLOAD] {
            let limits = DecoderLimits {
                max_retained_payload: cap,
            };
            let mut plain = FrameDecoder::new(limits);
            let fed = feed(&mut plain, 1, &stream);
            for segment in [1, 5, 1448, 65_483, stream.len()] {
                if segment == 1 && cap != 3 {
                    continue;
                }
                let got = by_pieces(limits, &stream, segment);
                assert_eq!(got.len(), want.len(), "cap {cap} segment {segment}");
                for ((frame, joined), (_, _, payload)) in got.iter().zip(&want) {
                    assert_eq!(joined, payload, "cap {cap} segment {segment}");
                    // The frames are those `feed` gives (packet numbers aside).
                    let retained = payload.len().min(if frame.header.opcode.is_control() {
                        cap.max(MAX_CONTROL_PAYLOAD)
                    } else {
                        cap
                    });
                    assert_eq!(frame.payload, payload[..retained]);
                }
                if segment == stream.len() {
                    assert_eq!(got.into_iter().map(|(f, _)| f).collect::<Vec<_>>(), fed);
                }
            }
        }
    }

    #[test]
    fn pieces_skip_bytes_lost_in_a_gap() {
        let payload: Vec<u8> = (0..100).collect();
        let stream = masked(0x82, [1, 2, 3, 4], &payload);
        let header_len = stream.len() - payload.len();
        let mut dec = FrameDecoder::new(DecoderLimits {
            max_retained_payload: 0,
        });
        let mut seen = Vec::new();
        dec.feed_pieces(1, &stream[..header_len + 10], &mut |p| {
            if let Piece::Payload { offset, bytes, .. } = p
                && !bytes.is_empty()
            {
                seen.push((offset, bytes.to_vec()));
            }
            Ok(Wanted::More)
        })
        .unwrap();
        assert_eq!(dec.gap(2, 30), GapOutcome::Absorbed);
        let mut frames = 0;
        dec.feed_pieces(3, &stream[header_len + 40..], &mut |p| {
            match p {
                Piece::Payload { offset, bytes, .. } => seen.push((offset, bytes.to_vec())),
                Piece::Frame(f) => {
                    frames += 1;
                    assert_eq!(f.gap_bytes, 30);
                }
            }
            Ok(Wanted::More)
        })
        .unwrap();
        assert_eq!(frames, 1);
        assert_eq!(
            seen,
            vec![(0, payload[..10].to_vec()), (40, payload[40..].to_vec())]
        );
    }

    #[test]
    fn a_declined_frame_gets_no_more_pieces_and_still_comes_out() {
        // Two masked frames larger than a piece, cut into segments; the consumer declines
        // the first frame's pieces at once and wants all of the second's.
        let first: Vec<u8> = (0..150_000u32).map(|i| (i % 253) as u8).collect();
        let second: Vec<u8> = (0..100_000u32).map(|i| (i % 247) as u8).collect();
        let mut stream = masked(0x82, [9, 8, 7, 6], &first);
        stream.extend(masked(0x82, [1, 2, 3, 4], &second));
        for cap in [0, 10] {
            let mut dec = FrameDecoder::new(DecoderLimits {
                max_retained_payload: cap,
            });
            let mut pieces: Vec<(usize, u64, Vec<u8>)> = Vec::new();
            let mut frames = Vec::new();
            for seg in stream.chunks(65_483) {
                dec.feed_pieces(1, seg, &mut |p| match p {
                    Piece::Payload { offset, bytes, .. } => {
                        pieces.push((frames.len(), offset, bytes.to_vec()));
                        Ok(if frames.is_empty() {
                            Wanted::Enough
                        } else {
                            Wanted::More
                        })
                    }
                    Piece::Frame(f) => {
                        frames.push(own(f));
                        Ok(Wanted::More)
                    }
                })
                .unwrap();
            }
            assert_eq!(frames.len(), 2, "cap {cap}");
            assert_eq!(
                frames[0].payload,
                first[..cap],
                "retained whatever the answer"
            );
            assert_eq!(frames[1].payload, second[..cap]);
            // The first frame: one piece (the retained bytes, or an empty announcement),
            // nothing unmasked after the answer.
            let of_first: Vec<_> = pieces.iter().filter(|p| p.0 == 0).collect();
            assert_eq!(of_first.len(), 1, "cap {cap}");
            assert_eq!(of_first[0].2, first[..cap]);
            let joined: Vec<u8> = pieces
                .iter()
                .filter(|p| p.0 == 1)
                .flat_map(|p| p.2.clone())
                .collect();
            assert_eq!(joined, second, "cap {cap}");
        }
    }

    #[test]
    fn control_frames_kept_whatever_the_cap() {
        let limits = DecoderLimits {
            max_retained_payload: 0,
        };
        let close_body = [0x03, 0xe8, b'b', b'y', b'e'];
        let mut stream = masked(0x88, [9, 8, 7, 6], &close_body);
        stream.extend_from_slice(&[0x89, 0x04, b'p', b'i', b'n', b'g']);
        stream.extend(masked(0x81, [1, 2, 3, 4], b"hello"));
        stream.extend_from_slice(&[0x82, 0x03, 1, 2, 3]);
        for cut in 0..=stream.len() {
            let mut dec = FrameDecoder::new(limits);
            let mut got = feed(&mut dec, 1, &stream[..cut]);
            got.extend(feed(&mut dec, 2, &stream[cut..]));
            assert_eq!(got.len(), 4, "cut {cut}");
            assert_eq!(got[0].payload, close_body);
            assert!(got[0].complete);
            assert_eq!(got[1].payload, b"ping");
            for data in &got[2..] {
                assert!(data.payload.is_empty() && data.truncated && !data.complete);
            }
        }
        // A large data frame costs no memory.
        let mut dec = FrameDecoder::new(limits);
        let big = masked(0x82, [1, 2, 3, 4], &vec![7; 1 << 20]);
        let got = feed(&mut dec, 1, &big);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].header.payload_len, 1 << 20);
        assert!(dec.scratch.capacity() <= MAX_CONTROL_PAYLOAD);
    }

    #[test]
    fn scratch_is_reused_and_bounded() {
        let mut dec = FrameDecoder::new(DecoderLimits::default());
        let small = masked(0x81, [1, 1, 1, 1], b"hello world");
        feed(&mut dec, 1, &small);
        let cap = dec.scratch.capacity();
        for p in 2..100 {
            assert_eq!(feed(&mut dec, p, &small).len(), 1);
        }
        assert_eq!(dec.scratch.capacity(), cap);
        let big = masked(0x82, [1, 2, 3, 4], &vec![0; 3 << 20]);
        assert_eq!(feed(&mut dec, 100, &big).len(), 1);
        assert!(dec.scratch.capacity() <= SCRATCH_KEEP);
    }
}
