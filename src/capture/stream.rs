//! The buffered driver shared by pcap and pcapng: reads any `io::Read` (file, stdin, a
//! decompressor), recognises the format by its magic number and hands records to the
//! parser of that format ([`super::pcap`], [`super::pcapng`]).
//!
//! The record parsers come from `pcap-parser`; this module owns the buffer so that it can
//! keep the `io::Error` of a failed read, grow the buffer for records larger than it, and
//! tell a clean end of input from one cut in the middle of a record. It never seeks, so
//! stdin and pipes work.
//!
//! Lending: the packet returned by [`PacketSource::next_packet`] borrows the buffer; the
//! record it came from is only consumed at the start of the next call.

use super::compress::DecompressError;
use super::pcap::{Legacy, PCAP_HEADER_LEN, PCAP_MAGICS, PCAP_RECORD_HEADER_LEN};
use super::pcapng::{Ng, PCAPNG_SHB_MAGIC};
use super::readahead::{AHEAD_BLOCK, AHEAD_HEADROOM, Ahead};
use super::record::{MAGIC_LEN, MAX_RECORD_LEN, Step};
use super::{Block, CaptureError, PacketSource, RawPacket};
use pcap_parser::nom;
use std::io::{self, ErrorKind, Read};
use std::sync::Arc;

/// Initial buffer size; grown (doubling) when one record does not fit.
pub(super) const INITIAL_BUFFER: usize = 1 << 20;
/// Streams packets from a pcap or pcapng byte stream (file or stdin), never seeking.
pub struct FileSource<R: Read> {
    pub(super) reader: R,
    /// Blocks from the read-ahead thread, when there is one (`reader` is then unused).
    pub(super) ahead: Option<Ahead>,
    /// Buffer; valid bytes are `buf[start..end]`. Shared: a packet's reader on another
    /// thread may hold it (see [`RawPacket::block`]); it is then never written again (a
    /// write goes to a copy).
    pub(super) buf: Arc<Block>,
    pub(super) start: usize,
    pub(super) end: usize,
    /// Bytes of the record returned last time, consumed at the start of the next call.
    pub(super) pending: usize,
    /// File offset of `buf[start]`, for error messages.
    pub(super) file_offset: u64,
    /// The reader returned 0 bytes.
    pub(super) eof: bool,
    /// An error was returned; the source only returns `Ok(None)` from now on.
    pub(super) failed: bool,
    pub(super) packets_read: u64,
    pub(super) format: Format,
    /// A read error met by `has_next_buffered`, returned by the next `next_packet`.
    pub(super) deferred: Option<CaptureError>,
}

/// Per-format parsing state.
pub(super) enum Format {
    Legacy(Legacy),
    Ng(Ng),
}

impl<R: Read> FileSource<R> {
    /// Reads the file header; fails with `UnknownFormat` when it is neither pcap nor pcapng.
    pub fn new(reader: R) -> Result<Self, CaptureError> {
        Self::start(reader, None)
    }

    pub(super) fn start(reader: R, ahead: Option<Ahead>) -> Result<Self, CaptureError> {
        let mut source = FileSource {
            reader,
            buf: Arc::new(Block::unhomed(if ahead.is_some() {
                Vec::new()
            } else {
                vec![0; INITIAL_BUFFER]
            })),
            ahead,
            start: 0,
            end: 0,
            pending: 0,
            file_offset: 0,
            eof: false,
            failed: false,
            packets_read: 0,
            format: Format::Ng(Ng::default()),
            deferred: None,
        };
        source.fill_to(MAGIC_LEN)?;
        let head = source.available();
        let Some(magic) = head.get(..MAGIC_LEN) else {
            // Shorter than any magic: a cut-off capture if it starts like one.
            let mut known = PCAP_MAGICS.iter().chain([&PCAPNG_SHB_MAGIC]);
            return Err(if head.is_empty() {
                CaptureError::Empty
            } else if known.any(|m| m.starts_with(head)) {
                CaptureError::HeaderTruncated
            } else {
                CaptureError::UnknownFormat
            });
        };
        let magic: [u8; MAGIC_LEN] = [magic[0], magic[1], magic[2], magic[3]];
        if magic == PCAPNG_SHB_MAGIC {
            // The Section Header Block is parsed as the first block by `next_packet`.
            return Ok(source);
        }
        if !PCAP_MAGICS.contains(&magic) {
            return Err(CaptureError::UnknownFormat);
        }
        source.fill_to(PCAP_HEADER_LEN)?;
        let header = match pcap_parser::parse_pcap_header(source.available()) {
            Ok((_, header)) => header,
            Err(nom::Err::Incomplete(_)) => return Err(CaptureError::HeaderTruncated),
            Err(_) => return Err(CaptureError::UnknownFormat),
        };
        source.format = Format::Legacy(Legacy::from_header(&header));
        source.advance(PCAP_HEADER_LEN);
        Ok(source)
    }

    /// The unconsumed bytes in the buffer.
    fn available(&self) -> &[u8] {
        self.buf.get(self.start..self.end).unwrap_or_default()
    }

    /// Marks `n` buffered bytes as consumed.
    fn advance(&mut self, n: usize) {
        let n = n.min(self.end - self.start);
        self.start += n;
        self.file_offset += n as u64;
    }

    /// Reads until at least `want` bytes are buffered or the input ends.
    fn fill_to(&mut self, want: usize) -> Result<(), CaptureError> {
        while self.end - self.start < want && !self.eof {
            self.read_more()?;
        }
        Ok(())
    }

    /// One read into the free space, compacting or growing the buffer first if needed.
    pub(super) fn read_more(&mut self) -> Result<(), CaptureError> {
        if self.ahead.is_some() {
            return self.next_block();
        }
        let buf = Arc::make_mut(&mut self.buf);
        if self.end == buf.len() {
            if self.start > 0 {
                buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                // One record fills the whole buffer: grow it, within the limit.
                if buf.len() >= MAX_RECORD_LEN + PCAP_RECORD_HEADER_LEN {
                    return Err(self.malformed(format!(
                        "record longer than {MAX_RECORD_LEN} bytes at file offset {}",
                        self.file_offset
                    )));
                }
                let new_len = (buf.len() * 2).min(MAX_RECORD_LEN + PCAP_RECORD_HEADER_LEN);
                buf.resize(new_len, 0);
            }
        }
        let space = buf.get_mut(self.end..).unwrap_or_default();
        loop {
            match self.reader.read(space) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.end += n.min(space.len());
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.read_error(e)),
            }
        }
    }

    /// A failed read: a decoding error of compressed input is reported with the packet it
    /// cut, any other error as it came.
    pub(super) fn read_error(&self, e: io::Error) -> CaptureError {
        if !e
            .get_ref()
            .is_some_and(|inner| inner.is::<DecompressError>())
        {
            return CaptureError::Io(e);
        }
        let kind = e.kind();
        match e
            .into_inner()
            .map(|inner| inner.downcast::<DecompressError>())
        {
            Some(Ok(d)) => CaptureError::Decompress {
                compression: d.compression,
                packets_read: self.packets_read,
                in_record: self.end > self.start,
                reason: d.reason,
            },
            Some(Err(other)) => CaptureError::Io(io::Error::new(kind, other)),
            None => CaptureError::Io(io::Error::from(kind)),
        }
    }

    pub(super) fn malformed(&self, reason: String) -> CaptureError {
        CaptureError::Malformed {
            packets_read: self.packets_read,
            reason,
        }
    }
}

impl<R: Read> PacketSource for FileSource<R> {
    fn take_secrets(&mut self) -> Option<Vec<u8>> {
        match &mut self.format {
            Format::Ng(ng) => ng.take_secrets(),
            Format::Legacy(_) => None,
        }
    }

    fn has_next_buffered(&mut self) -> bool {
        if self.failed || self.deferred.is_some() {
            return true;
        }
        let pending = std::mem::take(&mut self.pending);
        self.advance(pending);
        loop {
            let input = self.buf.get(self.start..self.end).unwrap_or_default();
            if input.is_empty() && self.eof {
                return true;
            }
            let step = match &mut self.format {
                Format::Legacy(legacy) => legacy.step(input),
                Format::Ng(ng) => ng.step(input),
            };
            match step {
                // Parsed again by next_packet: stepping over a packet record changes nothing.
                Step::Packet { .. } | Step::Malformed(_) => return true,
                Step::Skip(consumed) => self.advance(consumed),
                Step::Incomplete if self.eof => return true,
                Step::Incomplete => match self.take_block(false) {
                    Ok(true) => {}
                    Ok(false) => return false,
                    Err(e) => {
                        // Reported by the next call, like any read error.
                        self.deferred = Some(e);
                        return true;
                    }
                },
            }
        }
    }

    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        if let Some(e) = self.deferred.take() {
            self.failed = true;
            return Err(e);
        }
        if self.failed || self.ahead.as_ref().is_some_and(Ahead::stopped) {
            // Stopped: the end of the input, even inside a record (nothing is cut off; the
            // reading was ended here on purpose).
            return Ok(None);
        }
        let pending = std::mem::take(&mut self.pending);
        self.advance(pending);
        loop {
            let input = self.buf.get(self.start..self.end).unwrap_or_default();
            if input.is_empty() && self.eof {
                return Ok(None);
            }
            let step = match &mut self.format {
                Format::Legacy(legacy) => legacy.step(input),
                Format::Ng(ng) => ng.step(input),
            };
            match step {
                Step::Packet {
                    consumed,
                    data_off,
                    data_len,
                    timestamp,
                    link_type,
                    original_len,
                } => {
                    self.pending = consumed;
                    self.packets_read += 1;
                    let from = self.start + data_off;
                    let data = self.buf.get(from..from + data_len).unwrap_or_default();
                    return Ok(Some(RawPacket {
                        timestamp,
                        link_type,
                        data,
                        original_len,
                        block: Some(&self.buf),
                    }));
                }
                Step::Skip(consumed) => self.advance(consumed),
                Step::Incomplete => {
                    if self.eof && self.ahead.as_ref().is_some_and(Ahead::stopped) {
                        return Ok(None);
                    }
                    if self.eof {
                        self.failed = true;
                        if self.file_offset == 0 {
                            // pcapng: the Section Header Block itself is cut.
                            return Err(CaptureError::HeaderTruncated);
                        }
                        return Err(CaptureError::Truncated {
                            packets_read: self.packets_read,
                        });
                    }
                    if let Err(e) = self.read_more() {
                        self.failed = true;
                        return Err(e);
                    }
                }
                Step::Malformed(reason) => {
                    self.failed = true;
                    let reason = format!("{reason} at file offset {}", self.file_offset);
                    return Err(self.malformed(reason));
                }
            }
        }
    }
}

// Reading ahead (see `super::readahead`): the buffer side of the helper thread.
impl FileSource<io::Empty> {
    /// Like [`FileSource::new`], but `reader` is read on a helper thread, a few blocks
    /// ahead of the dissection (see the module documentation). Each read's bytes are
    /// passed on as soon as they arrive, so a live stream on stdin is not held back.
    pub fn read_ahead<S: Read + Send + 'static>(reader: S) -> Result<Self, CaptureError> {
        Self::read_ahead_until(reader, None)
    }

    /// [`read_ahead`](Self::read_ahead) that ends cleanly, before the next packet, once
    /// `stop` is set (a Ctrl-C), even while waiting for a pipe that sends nothing.
    pub fn read_ahead_until<S: Read + Send + 'static>(
        reader: S,
        stop: Option<std::sync::Arc<std::sync::atomic::AtomicBool>>,
    ) -> Result<Self, CaptureError> {
        let ahead = Ahead::spawn(reader, stop).map_err(CaptureError::Io)?;
        FileSource::start(io::empty(), Some(ahead))
    }
}

impl<R: Read> FileSource<R> {
    /// Takes the next block from the read-ahead thread: the unconsumed bytes move into its
    /// headroom and the block becomes the buffer (the old one goes back for reuse); a
    /// record longer than the headroom is gathered in the current buffer instead.
    pub(super) fn next_block(&mut self) -> Result<(), CaptureError> {
        self.take_block(true).map(|_| ())
    }

    /// [`next_block`](Self::next_block), waiting for the reader thread only when `wait`;
    /// false when nothing was waiting.
    pub(super) fn take_block(&mut self, wait: bool) -> Result<bool, CaptureError> {
        let Some(ahead) = &self.ahead else {
            return Ok(false);
        };
        let (mut block, block_end) = match ahead.next(wait) {
            Ok(Some(block)) => block,
            Ok(None) => return Ok(false),
            Err(Some(e)) => return Err(self.read_error(e)),
            Err(None) => {
                self.eof = true;
                return Ok(true);
            }
        };
        let leftover = self.end - self.start;
        let fresh = block.get(AHEAD_HEADROOM..block_end).unwrap_or_default();
        if leftover <= AHEAD_HEADROOM {
            let at = AHEAD_HEADROOM - leftover;
            if let (Some(dst), Some(src)) = (
                block.get_mut(at..AHEAD_HEADROOM),
                self.buf.get(self.start..self.end),
            ) {
                dst.copy_from_slice(src);
            }
            // The spent block goes back to the thread for reuse when the last packet
            // reader holding it lets go (now, when none does).
            self.buf = Arc::new(Block::homed(block, ahead.home()));
            self.start = at;
            self.end = block_end.min(self.buf.len());
        } else {
            if leftover + fresh.len() > MAX_RECORD_LEN + PCAP_RECORD_HEADER_LEN + AHEAD_BLOCK {
                return Err(self.malformed(format!(
                    "record longer than {MAX_RECORD_LEN} bytes at file offset {}",
                    self.file_offset
                )));
            }
            let buf = Arc::make_mut(&mut self.buf);
            buf.truncate(self.end);
            buf.drain(..self.start);
            buf.extend_from_slice(fresh);
            self.start = 0;
            self.end = self.buf.len();
            ahead.recycle(block);
        }
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::testutil::*;

    #[test]
    fn big_packets_grow_the_buffer() {
        let big = vec![0x5a; 3 << 20];
        let file = pcap(
            Order::Le,
            false,
            1,
            &[(1, 0, &big, big.len() as u32), (2, 0, b"after", 5)],
        );
        let (pkts, err) = read_bytes(&file, 100_000).unwrap();
        assert!(err.is_none());
        assert_eq!(pkts.len(), 2);
        assert_eq!(pkts[0].data, big);
        assert_eq!(pkts[1].data, b"after");

        let mut v = ng_shb(Order::Le);
        v.extend(ng_idb(Order::Le, 1, None, None));
        v.extend(ng_epb(Order::Le, 0, 0, &big[..262_144], 262_144));
        v.extend(ng_epb(Order::Le, 0, 0, &big, big.len() as u32));
        let (pkts, err) = read_bytes(&v, 1 << 20).unwrap();
        assert!(err.is_none());
        assert_eq!(pkts.len(), 2);
        assert_eq!(pkts[1].data.len(), big.len());
    }

    #[test]
    fn unknown_format_and_empty_input() {
        assert!(matches!(
            FileSource::new(&b"GET / HTTP/1.1\r\n"[..]),
            Err(CaptureError::UnknownFormat)
        ));
        assert!(matches!(
            FileSource::new(&b""[..]),
            Err(CaptureError::Empty)
        ));
        assert!(matches!(
            FileSource::new(&b"\xd4\xc3"[..]),
            Err(CaptureError::HeaderTruncated)
        ));
    }

    /// Degenerate inputs get their own message (written bytes: the pcap header layout of
    /// libpcap's savefile format, the pcapng SHB of the pcapng draft).
    #[test]
    fn degenerate_inputs() {
        let message = |bytes: &[u8]| match FileSource::new(Trickle {
            data: bytes,
            chunk: 3,
        }) {
            Err(e) => e.to_string(),
            Ok(mut src) => match read_all(&mut src) {
                (pkts, Some(e)) => format!("{} packets, then {e}", pkts.len()),
                (pkts, None) => format!("{} packets", pkts.len()),
            },
        };
        assert_eq!(message(b""), "empty file, not a capture");
        // A legacy header cut after 10 of its 24 bytes.
        let header_only = pcap(Order::Le, false, 1, &[]);
        assert_eq!(header_only.len(), 24);
        assert_eq!(
            message(&header_only[..10]),
            "capture cut off in the file header"
        );
        assert_eq!(
            message(&header_only[..23]),
            "capture cut off in the file header"
        );
        assert_eq!(
            message(&header_only[..3]),
            "capture cut off in the file header"
        );
        // A pcapng Section Header Block cut in the middle (read by the first `next_packet`).
        let shb = ng_shb(Order::Le);
        assert_eq!(
            message(&shb[..10]),
            "0 packets, then capture cut off in the file header"
        );
        // Valid headers and nothing more: a clean end after zero packets, which the caller
        // tells from an error (it decides how to say "no packets").
        assert_eq!(message(&header_only), "0 packets");
        let mut ng = ng_shb(Order::Be);
        ng.extend(ng_idb(Order::Be, 1, None, None));
        assert_eq!(message(&shb), "0 packets");
        assert_eq!(message(&ng), "0 packets");
        // A cut record after the header still names the packet.
        let mut cut = header_only.clone();
        cut.extend([0; 10]);
        assert_eq!(
            message(&cut),
            "0 packets, then capture cut off in the middle of packet 1"
        );
    }

    #[test]
    fn truncation_is_reported_with_packet_count() {
        let file = sample_pcap_usec_le();
        let (pkts, err) = read_bytes(&file[..file.len() - 1], 1 << 20).unwrap();
        assert_eq!(pkts.len(), 1);
        assert!(matches!(
            err,
            Some(CaptureError::Truncated { packets_read: 1 })
        ));
        // Cut exactly at a record boundary: a clean end.
        let (pkts, err) = read_bytes(&file[..24 + 16 + 6], 1 << 20).unwrap();
        assert_eq!(pkts.len(), 1);
        assert!(err.is_none());
    }

    #[test]
    fn implausible_lengths_are_malformed_not_allocated() {
        let mut file = pcap(Order::Le, false, 1, &[]);
        file.extend(1u32.to_le_bytes());
        file.extend(0u32.to_le_bytes());
        file.extend(u32::MAX.to_le_bytes());
        file.extend(u32::MAX.to_le_bytes());
        let (pkts, err) = read_bytes(&file, 1 << 20).unwrap();
        assert!(pkts.is_empty());
        assert!(
            matches!(
                err,
                Some(CaptureError::Malformed {
                    packets_read: 0,
                    ..
                })
            ),
            "{err:?}"
        );
    }

    #[test]
    fn read_errors_keep_their_source() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
        }
        match FileSource::new(Failing) {
            Err(CaptureError::Io(e)) => assert_eq!(e.to_string(), "disk on fire"),
            _ => panic!("expected an io error"),
        }
    }

    #[test]
    fn no_panic_on_truncations_and_garbage() {
        let mut files = vec![sample_pcap_usec_le(), sample_pcapng_le()];
        files.push(pcap(Order::Be, true, 1, &[(1, 2, b"0123456789", 10)]));
        for file in &files {
            for cut in 0..file.len() {
                if let Ok((_, err)) = read_bytes(&file[..cut], 7) {
                    let _ = err;
                }
            }
            // Flip every byte in turn.
            for i in 0..file.len() {
                let mut bad = file.clone();
                bad[i] ^= 0xff;
                let _ = read_bytes(&bad, 1 << 20);
            }
        }
        // Pseudo-random garbage after each magic.
        let mut seed = 0x1234_5678_u32;
        for magic in [PCAP_MAGICS[0], PCAP_MAGICS[3], PCAPNG_SHB_MAGIC] {
            for _ in 0..200 {
                let mut v = magic.to_vec();
                for _ in 0..(seed % 300) {
                    seed ^= seed << 13;
                    seed ^= seed >> 17;
                    seed ^= seed << 5;
                    v.push(seed as u8);
                }
                let _ = read_bytes(&v, 1 + (seed % 64) as usize);
            }
        }
    }
}
