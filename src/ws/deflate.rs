//! permessage-deflate decompression (RFC 7692 §7.2.2): one raw-DEFLATE stream per
//! direction.
//!
//! Each compressed message is the DEFLATE data of the message with its trailing
//! `00 00 ff ff` (the empty stored block of a sync flush) removed; the receiver appends it
//! back. Unless the sender's direction negotiated `*_no_context_takeover`, the LZ77 window
//! carries over from one message to the next, so the decompressor is kept; when it did,
//! the decompressor is reset at each message.
//!
//! Output goes to a caller's sink in bounded chunks, so memory does not depend on the
//! compression ratio; the sink decides how much of it to keep and when to stop.

use flate2::{Decompress, FlushDecompress, Status};
use std::fmt;
use std::ops::ControlFlow;

/// The bytes a sender removes from the end of each compressed message (RFC 7692 §7.2.1).
pub const SYNC_FLUSH_TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];
/// Default cap on the inflated size of one message: 64 MiB.
pub const DEFAULT_MAX_INFLATED: u64 = 64 << 20;
/// Size of the chunks handed to the sink.
const CHUNK: usize = 16 << 10;

/// Why a compressed message could not be inflated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InflateError {
    /// The compressed bytes are not valid DEFLATE data.
    Corrupt {
        /// The decompressor's explanation.
        reason: String,
        /// Compressed bytes of the message consumed before the failure.
        at: u64,
    },
    /// An earlier message of this direction could not be inflated (or was only partly
    /// inflated), and with context takeover the window this one may refer to is lost.
    ContextLost,
}

impl fmt::Display for InflateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InflateError::Corrupt { reason, at } => {
                write!(
                    f,
                    "invalid DEFLATE data after {at} compressed bytes: {reason}"
                )
            }
            InflateError::ContextLost => f.write_str(
                "the sliding window is lost after an earlier message could not be inflated",
            ),
        }
    }
}

impl std::error::Error for InflateError {}

/// The inflating side of one direction of a permessage-deflate connection.
pub struct Inflater {
    /// Created at the first compressed message: a connection that negotiates
    /// permessage-deflate but never compresses costs no zlib state.
    decompress: Option<Decompress>,
    /// The sender resets its compressor for every message.
    no_context_takeover: bool,
    /// With context takeover, the window is unusable after a failure or an interruption.
    context_lost: bool,
    /// The current message ended its DEFLATE stream (a BFINAL block, RFC 7692 §7.2.3.4):
    /// the rest of the message is ignored and the next one starts a new stream.
    stream_ended: bool,
    /// Compressed bytes of the current message consumed so far.
    consumed: u64,
    /// The current message stopped being inflated (error, or the sink said stop).
    stopped: bool,
    /// Output chunk, allocated with `decompress`.
    out: Vec<u8>,
}

impl fmt::Debug for Inflater {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inflater")
            .field("no_context_takeover", &self.no_context_takeover)
            .field("context_lost", &self.context_lost)
            .field("stream_ended", &self.stream_ended)
            .field("consumed", &self.consumed)
            .field("stopped", &self.stopped)
            .finish_non_exhaustive()
    }
}

impl Inflater {
    /// An inflater for a direction whose sender does (`false`) or does not (`true`) keep
    /// its window across messages. The window is always 32 KiB, which reads any stream
    /// written with a smaller `*_max_window_bits`. (zlib checks back-references against
    /// the bytes it holds, not against a configured size, so a smaller window would not
    /// reliably catch a sender exceeding its limit; references past a reset are caught.)
    pub fn new(no_context_takeover: bool) -> Self {
        Inflater {
            decompress: None,
            no_context_takeover,
            context_lost: false,
            stream_ended: false,
            consumed: 0,
            stopped: false,
            out: Vec::new(),
        }
    }

    /// Prepares for a new compressed message. Fails when the window it may refer to was
    /// lost; the message is then not inflated.
    pub fn begin_message(&mut self) -> Result<(), InflateError> {
        self.consumed = 0;
        self.stopped = false;
        if self.no_context_takeover || self.stream_ended {
            if let Some(d) = &mut self.decompress {
                d.reset(false);
            }
            self.stream_ended = false;
            self.context_lost = false;
        }
        if self.context_lost {
            self.stopped = true;
            return Err(InflateError::ContextLost);
        }
        Ok(())
    }

    /// Whether the current message is no longer being inflated.
    pub fn is_stopped(&self) -> bool {
        self.stopped
    }

    /// Inflates the next compressed bytes of the current message, handing the output to
    /// `sink` in chunks; `sink` returning `Break` stops this message (and, with context
    /// takeover, loses the window).
    pub fn feed(
        &mut self,
        input: &[u8],
        sink: &mut dyn FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<(), InflateError> {
        self.run(input, sink)
    }

    /// Ends the current message: appends the removed `00 00 ff ff` and hands the last
    /// output to `sink`.
    pub fn end_message(
        &mut self,
        sink: &mut dyn FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<(), InflateError> {
        let consumed = self.consumed;
        let result = self.run(&SYNC_FLUSH_TAIL, sink);
        // The tail is ours, not the sender's.
        self.consumed = consumed;
        result
    }

    /// Marks the current message as abandoned (bytes of it were lost): with context
    /// takeover the window is now unknown.
    pub fn abandon_message(&mut self) {
        if !self.stopped && !self.stream_ended {
            self.stopped = true;
            self.context_lost = true;
        }
    }

    fn run(
        &mut self,
        mut input: &[u8],
        sink: &mut dyn FnMut(&[u8]) -> ControlFlow<()>,
    ) -> Result<(), InflateError> {
        if self.stopped || self.stream_ended {
            return Ok(());
        }
        let decompress = self
            .decompress
            .get_or_insert_with(|| Decompress::new(false));
        if self.out.len() != CHUNK {
            self.out = vec![0; CHUNK];
        }
        loop {
            let before_in = decompress.total_in();
            let before_out = decompress.total_out();
            let status = decompress.decompress(input, &mut self.out, FlushDecompress::Sync);
            let used = usize::try_from(decompress.total_in() - before_in)
                .unwrap_or(input.len())
                .min(input.len());
            let produced = usize::try_from(decompress.total_out() - before_out)
                .unwrap_or(0)
                .min(self.out.len());
            input = input.get(used..).unwrap_or_default();
            self.consumed += used as u64;
            let status = match status {
                Ok(s) => s,
                Err(e) => {
                    self.stopped = true;
                    self.context_lost = true;
                    return Err(InflateError::Corrupt {
                        reason: e.to_string(),
                        at: self.consumed,
                    });
                }
            };
            if produced > 0
                && let Some(chunk) = self.out.get(..produced)
                && sink(chunk).is_break()
            {
                self.stopped = true;
                self.context_lost = true;
                return Ok(());
            }
            match status {
                Status::StreamEnd => {
                    self.stream_ended = true;
                    return Ok(());
                }
                // Output space full: there may be more to produce.
                _ if produced == self.out.len() => {}
                // Everything consumed and nothing more pending, or no progress at all.
                _ if input.is_empty() || (used == 0 && produced == 0) => return Ok(()),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        let s: String = s.split_whitespace().collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    /// Inflates one message given as pieces, collecting everything.
    fn message(inf: &mut Inflater, pieces: &[&[u8]]) -> Result<Vec<u8>, InflateError> {
        inf.begin_message()?;
        let mut out = Vec::new();
        for p in pieces {
            inf.feed(p, &mut |c| {
                out.extend_from_slice(c);
                ControlFlow::Continue(())
            })?;
        }
        inf.end_message(&mut |c| {
            out.extend_from_slice(c);
            ControlFlow::Continue(())
        })?;
        Ok(out)
    }

    #[test]
    fn rfc7692_7_2_3_1_one_compressed_block() {
        let data = hex("f2 48 cd c9 c9 07 00");
        let mut inf = Inflater::new(false);
        assert_eq!(message(&mut inf, &[&data]).unwrap(), b"Hello");
        // The same message in the RFC's two fragments (3 + 4 bytes), and split everywhere.
        for cut in 0..=data.len() {
            let mut inf = Inflater::new(true);
            let got = message(&mut inf, &[&data[..cut], &data[cut..]]).unwrap();
            assert_eq!(got, b"Hello", "cut {cut}");
        }
    }

    #[test]
    fn rfc7692_7_2_3_2_sharing_the_window() {
        let first = hex("f2 48 cd c9 c9 07 00");
        let second = hex("f2 00 11 00 00");
        let mut inf = Inflater::new(false);
        assert_eq!(message(&mut inf, &[&first]).unwrap(), b"Hello");
        assert_eq!(message(&mut inf, &[&second]).unwrap(), b"Hello");
        // With no context takeover the second message refers to a window that was reset.
        let mut inf = Inflater::new(true);
        assert_eq!(message(&mut inf, &[&first]).unwrap(), b"Hello");
        let r = message(&mut inf, &[&second]);
        assert!(matches!(r, Err(InflateError::Corrupt { .. })), "{r:?}");
    }

    #[test]
    fn rfc7692_7_2_3_3_stored_block() {
        let data = hex("00 05 00 fa ff 48 65 6c 6c 6f 00");
        let mut inf = Inflater::new(false);
        assert_eq!(message(&mut inf, &[&data]).unwrap(), b"Hello");
    }

    #[test]
    fn rfc7692_7_2_3_4_bfinal_block_then_a_new_stream() {
        let data = hex("f3 48 cd c9 c9 07 00 00");
        let mut inf = Inflater::new(false);
        assert_eq!(message(&mut inf, &[&data]).unwrap(), b"Hello");
        // After a final block the next message starts a fresh stream.
        let next = hex("f2 48 cd c9 c9 07 00");
        assert_eq!(message(&mut inf, &[&next]).unwrap(), b"Hello");
    }

    #[test]
    fn rfc7692_7_2_3_5_two_blocks_in_one_message() {
        let data = hex("f2 48 05 00 00 00 ff ff ca c9 c9 07 00");
        let mut inf = Inflater::new(false);
        assert_eq!(message(&mut inf, &[&data]).unwrap(), b"Hello");
    }

    #[test]
    fn corrupt_data_then_context_lost_until_reset() {
        let mut inf = Inflater::new(false);
        // BTYPE=11 is reserved: invalid.
        let err = message(&mut inf, &[&[0xff, 0xff, 0xff]]).unwrap_err();
        assert!(matches!(err, InflateError::Corrupt { .. }), "{err:?}");
        assert_eq!(
            message(&mut inf, &[&hex("f2 48 cd c9 c9 07 00")]),
            Err(InflateError::ContextLost)
        );
        // Without context takeover each message stands alone.
        let mut inf = Inflater::new(true);
        assert!(message(&mut inf, &[&[0xff, 0xff, 0xff]]).is_err());
        assert_eq!(
            message(&mut inf, &[&hex("f2 48 cd c9 c9 07 00")]).unwrap(),
            b"Hello"
        );
    }

    #[test]
    fn sink_can_stop_a_bomb_in_bounded_chunks() {
        // 10 MB of zeros compresses to ~10 KB.
        use std::io::Write;
        let mut enc =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(&vec![0u8; 10_000_000]).unwrap();
        enc.flush().unwrap();
        let mut data = enc.get_ref().clone();
        assert_eq!(data[data.len() - 4..], SYNC_FLUSH_TAIL);
        data.truncate(data.len() - 4);
        let mut inf = Inflater::new(false);
        inf.begin_message().unwrap();
        let mut total = 0usize;
        let mut biggest = 0usize;
        inf.feed(&data, &mut |c| {
            biggest = biggest.max(c.len());
            total += c.len();
            if total >= 1_000_000 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .unwrap();
        assert!(inf.is_stopped());
        assert!(total < 1_100_000, "{total}");
        assert!(biggest <= CHUNK);
        assert_eq!(inf.begin_message(), Err(InflateError::ContextLost));
    }

    #[test]
    fn many_messages_with_context_takeover_from_flate2() {
        // Independent compressor (flate2's encoder, sync-flushed per message).
        let mut c = flate2::Compress::new(flate2::Compression::default(), false);
        let mut inf = Inflater::new(false);
        for i in 0..50 {
            let msg = format!("message {i}: the quick brown fox jumps over the lazy dog");
            let mut out = Vec::with_capacity(256);
            c.compress_vec(msg.as_bytes(), &mut out, flate2::FlushCompress::Sync)
                .unwrap();
            assert_eq!(out[out.len() - 4..], SYNC_FLUSH_TAIL);
            out.truncate(out.len() - 4);
            assert_eq!(message(&mut inf, &[&out]).unwrap(), msg.as_bytes());
        }
    }
}
