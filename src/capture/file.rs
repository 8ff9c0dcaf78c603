//! pcap and pcapng files (either byte order, µs or ns, several interfaces) from any reader.
//!
//! The record parsers come from `pcap-parser`; this module owns the buffer so that it can
//! keep the `io::Error` of a failed read, grow the buffer for records larger than it, and
//! tell a clean end of input from one cut in the middle of a record. It never seeks, so
//! stdin and pipes work.
//!
//! Lending: the packet returned by [`PacketSource::next_packet`] borrows the buffer; the
//! record it came from is only consumed at the start of the next call.
//!
//! [`FileSource::read_ahead`] moves the reading (the kernel's copy out of the page cache or
//! the pipe) to a helper thread, a few blocks ahead, so it runs on another core while this
//! one dissects. Blocks change hands without copying: each comes with room in front for
//! the unfinished record at the end of the previous one, which is the only thing copied.

use super::{CaptureError, LinkType, PacketSource, RawPacket, Timestamp};
use pcap_parser::nom::{self, Offset};
use pcap_parser::pcapng::{self, Block, EnhancedPacketBlock, OptionCode, SimplePacketBlock};
use pcap_parser::traits::PcapNGPacketBlock;
use pcap_parser::{PcapError, PcapHeader};
use std::io::{self, ErrorKind, Read};
use std::sync::mpsc::{Receiver, SyncSender, TryRecvError, sync_channel};

/// Initial buffer size; grown (doubling) when one record does not fit.
const INITIAL_BUFFER: usize = 1 << 20;
/// Largest record (pcap record or pcapng block) accepted; larger means a corrupt length.
pub const MAX_RECORD_LEN: usize = 64 << 20;

/// Read-ahead: bytes read per block.
const AHEAD_BLOCK: usize = 512 << 10;
/// Read-ahead: room kept in front of each block for the unfinished end of the previous
/// one (larger than any record a 64 KiB-MTU interface produces); a longer record is
/// gathered by copying.
const AHEAD_HEADROOM: usize = 128 << 10;
/// Read-ahead: filled blocks waiting for the dissector.
const AHEAD_QUEUE: usize = 2;

/// Legacy pcap magic numbers as they appear in the first four bytes of the file.
const PCAP_MAGIC_USEC_LE: [u8; 4] = [0xd4, 0xc3, 0xb2, 0xa1];
const PCAP_MAGIC_USEC_BE: [u8; 4] = [0xa1, 0xb2, 0xc3, 0xd4];
const PCAP_MAGIC_NSEC_LE: [u8; 4] = [0x4d, 0x3c, 0xb2, 0xa1];
const PCAP_MAGIC_NSEC_BE: [u8; 4] = [0xa1, 0xb2, 0x3c, 0x4d];
/// Kuznetzov's "modified" pcap (little-endian only in pcap-parser).
const PCAP_MAGIC_MODIFIED_LE: [u8; 4] = [0x34, 0xcd, 0xb2, 0xa1];
/// pcapng Section Header Block type (a palindrome: same in both byte orders).
const PCAPNG_SHB_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
/// Length of the magic number that identifies the format.
const MAGIC_LEN: usize = 4;

/// Legacy pcap file header length.
const PCAP_HEADER_LEN: usize = 24;
/// Legacy pcap record header length (ts_sec, ts_frac, caplen, origlen).
const PCAP_RECORD_HEADER_LEN: usize = 16;
/// Offset of `caplen` in a legacy pcap record header.
const PCAP_RECORD_CAPLEN: usize = 8;
/// Offset of `origlen` in a legacy pcap record header.
const PCAP_RECORD_ORIGLEN: usize = 12;
/// The link-type field of a pcap header: the LINKTYPE value is the low 16 bits (the upper
/// bits carry FCS information).
const PCAP_LINKTYPE_MASK: u32 = 0xffff;

/// Offset of the block total length in a pcapng block.
const PCAPNG_BLOCK_LEN: usize = 4;
/// Length of the pcapng block type + block total length fields.
const PCAPNG_BLOCK_HEADER_LEN: usize = 8;

/// pcapng `if_tsresol` default: microseconds.
const DEFAULT_TSRESOL: u8 = 6;
/// `if_tsresol` high bit: the rest is a power of two instead of a power of ten.
const TSRESOL_POW2: u8 = 0x80;

const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Streams packets from a pcap or pcapng byte stream (file or stdin), never seeking.
pub struct FileSource<R: Read> {
    reader: R,
    /// Blocks from the read-ahead thread, when there is one (`reader` is then unused).
    ahead: Option<Ahead>,
    /// Buffer; valid bytes are `buf[start..end]`.
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Bytes of the record returned last time, consumed at the start of the next call.
    pending: usize,
    /// File offset of `buf[start]`, for error messages.
    file_offset: u64,
    /// The reader returned 0 bytes.
    eof: bool,
    /// An error was returned; the source only returns `Ok(None)` from now on.
    failed: bool,
    packets_read: u64,
    format: Format,
    /// A read error met by `has_next_buffered`, returned by the next `next_packet`.
    deferred: Option<CaptureError>,
}

/// The dissector's end of the read-ahead thread.
struct Ahead {
    /// Blocks of input with the end of their data (which starts at `AHEAD_HEADROOM`), or
    /// the read error that ended it; the thread hanging up is the end of the input.
    blocks: Receiver<io::Result<(Vec<u8>, usize)>>,
    /// Spent blocks handed back for reuse.
    recycle: SyncSender<Vec<u8>>,
}

impl Ahead {
    /// Starts the thread reading `reader` a few blocks ahead.
    fn spawn<S: Read + Send + 'static>(mut reader: S) -> io::Result<Ahead> {
        let (tx, blocks) = sync_channel::<io::Result<(Vec<u8>, usize)>>(AHEAD_QUEUE);
        let (recycle, spent) = sync_channel::<Vec<u8>>(AHEAD_QUEUE + 2);
        std::thread::Builder::new()
            .name("wsdissect-read".into())
            .spawn(move || {
                loop {
                    // A spent block if one came back, else a new one. Blocks keep their
                    // full length, so only new memory is ever zero-filled (a pipe's reads
                    // are far shorter than a block).
                    let mut block: Vec<u8> = spent.try_recv().unwrap_or_default();
                    if block.len() != AHEAD_HEADROOM + AHEAD_BLOCK {
                        block.resize(AHEAD_HEADROOM + AHEAD_BLOCK, 0);
                    }
                    let read = loop {
                        match reader.read(block.get_mut(AHEAD_HEADROOM..).unwrap_or_default()) {
                            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                            other => break other,
                        }
                    };
                    let sent = match read {
                        // End of input: hanging up says so.
                        Ok(0) => return,
                        Ok(n) => tx.send(Ok((block, AHEAD_HEADROOM + n))),
                        Err(e) => tx.send(Err(e)),
                    };
                    if sent.is_err() {
                        // The source was dropped: nobody wants more.
                        return;
                    }
                }
            })?;
        Ok(Ahead { blocks, recycle })
    }
}

/// Per-format parsing state.
enum Format {
    Legacy(Legacy),
    Ng(Ng),
}

/// Legacy pcap: everything comes from the file header.
struct Legacy {
    /// Parser of Kuznetzov's modified records; standard records are read directly.
    modified: Option<LegacyParseFn>,
    big_endian: bool,
    nanosecond: bool,
    link_type: LinkType,
}

type LegacyParseFn =
    fn(&[u8]) -> nom::IResult<&[u8], pcap_parser::LegacyPcapBlock<'_>, PcapError<&[u8]>>;

/// pcapng: byte order of the current section and its interfaces.
#[derive(Default)]
struct Ng {
    big_endian: bool,
    interfaces: Vec<Interface>,
    last_timestamp: Timestamp,
}

/// What an Interface Description Block says about the packets of that interface.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    tsresol: u8,
    tsoffset: i64,
}

/// Outcome of parsing at the front of the buffer, holding offsets rather than borrows so
/// that the caller can mutate the source afterwards.
enum Step {
    /// A packet: `data` is `data_off..data_off + data_len` relative to the parsed input.
    Packet {
        consumed: usize,
        data_off: usize,
        data_len: usize,
        timestamp: Timestamp,
        link_type: LinkType,
        original_len: u32,
    },
    /// A non-packet block of `consumed` bytes.
    Skip(usize),
    /// More bytes are needed.
    Incomplete,
    /// The record is invalid.
    Malformed(String),
}

impl<R: Read> FileSource<R> {
    /// Reads the file header; fails with `UnknownFormat` when it is neither pcap nor pcapng.
    pub fn new(reader: R) -> Result<Self, CaptureError> {
        Self::start(reader, None)
    }

    fn start(reader: R, ahead: Option<Ahead>) -> Result<Self, CaptureError> {
        let mut source = FileSource {
            reader,
            buf: if ahead.is_some() {
                Vec::new()
            } else {
                vec![0; INITIAL_BUFFER]
            },
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
            let known = [
                PCAP_MAGIC_USEC_LE,
                PCAP_MAGIC_USEC_BE,
                PCAP_MAGIC_NSEC_LE,
                PCAP_MAGIC_NSEC_BE,
                PCAP_MAGIC_MODIFIED_LE,
                PCAPNG_SHB_MAGIC,
            ];
            return Err(
                if !head.is_empty() && known.iter().any(|m| m.starts_with(head)) {
                    CaptureError::Truncated { packets_read: 0 }
                } else {
                    CaptureError::UnknownFormat
                },
            );
        };
        let magic: [u8; MAGIC_LEN] = [magic[0], magic[1], magic[2], magic[3]];
        if magic == PCAPNG_SHB_MAGIC {
            // The Section Header Block is parsed as the first block by `next_packet`.
            return Ok(source);
        }
        let known_legacy = [
            PCAP_MAGIC_USEC_LE,
            PCAP_MAGIC_USEC_BE,
            PCAP_MAGIC_NSEC_LE,
            PCAP_MAGIC_NSEC_BE,
            PCAP_MAGIC_MODIFIED_LE,
        ];
        if !known_legacy.contains(&magic) {
            return Err(CaptureError::UnknownFormat);
        }
        source.fill_to(PCAP_HEADER_LEN)?;
        let header = match pcap_parser::parse_pcap_header(source.available()) {
            Ok((_, header)) => header,
            Err(nom::Err::Incomplete(_)) => {
                return Err(CaptureError::Truncated { packets_read: 0 });
            }
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
    fn read_more(&mut self) -> Result<(), CaptureError> {
        if self.ahead.is_some() {
            return self.next_block();
        }
        if self.end == self.buf.len() {
            if self.start > 0 {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            } else {
                // One record fills the whole buffer: grow it, within the limit.
                if self.buf.len() >= MAX_RECORD_LEN + PCAP_RECORD_HEADER_LEN {
                    return Err(self.malformed(format!(
                        "record longer than {MAX_RECORD_LEN} bytes at file offset {}",
                        self.file_offset
                    )));
                }
                let new_len = (self.buf.len() * 2).min(MAX_RECORD_LEN + PCAP_RECORD_HEADER_LEN);
                self.buf.resize(new_len, 0);
            }
        }
        let space = self.buf.get_mut(self.end..).unwrap_or_default();
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
                Err(e) => return Err(CaptureError::Io(e)),
            }
        }
    }

    /// Takes the next block from the read-ahead thread: the unconsumed bytes move into its
    /// headroom and the block becomes the buffer (the old one goes back for reuse); a
    /// record longer than the headroom is gathered in the current buffer instead.
    fn next_block(&mut self) -> Result<(), CaptureError> {
        self.take_block(true).map(|_| ())
    }

    /// [`next_block`](Self::next_block), waiting for the reader thread only when `wait`;
    /// false when nothing was waiting.
    fn take_block(&mut self, wait: bool) -> Result<bool, CaptureError> {
        let Some(ahead) = &self.ahead else {
            return Ok(false);
        };
        let received = if wait {
            ahead.blocks.recv().map_err(|_| TryRecvError::Disconnected)
        } else {
            ahead.blocks.try_recv()
        };
        let (mut block, block_end) = match received {
            Ok(Ok(block)) => block,
            Ok(Err(e)) => return Err(CaptureError::Io(e)),
            Err(TryRecvError::Empty) => return Ok(false),
            Err(TryRecvError::Disconnected) => {
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
            let spent = std::mem::replace(&mut self.buf, block);
            self.start = at;
            self.end = block_end.min(self.buf.len());
            // Full means the thread has blocks enough; this one is simply freed.
            let _ = ahead.recycle.try_send(spent);
        } else {
            if leftover + fresh.len() > MAX_RECORD_LEN + PCAP_RECORD_HEADER_LEN + AHEAD_BLOCK {
                return Err(self.malformed(format!(
                    "record longer than {MAX_RECORD_LEN} bytes at file offset {}",
                    self.file_offset
                )));
            }
            self.buf.truncate(self.end);
            self.buf.drain(..self.start);
            self.buf.extend_from_slice(fresh);
            self.start = 0;
            self.end = self.buf.len();
            let _ = ahead.recycle.try_send(block);
        }
        Ok(true)
    }

    fn malformed(&self, reason: String) -> CaptureError {
        CaptureError::Malformed {
            packets_read: self.packets_read,
            reason,
        }
    }
}

impl FileSource<io::Empty> {
    /// Like [`FileSource::new`], but `reader` is read on a helper thread, a few blocks
    /// ahead of the dissection (see the module documentation). Each read's bytes are
    /// passed on as soon as they arrive, so a live stream on stdin is not held back.
    pub fn read_ahead<S: Read + Send + 'static>(reader: S) -> Result<Self, CaptureError> {
        let ahead = Ahead::spawn(reader).map_err(CaptureError::Io)?;
        FileSource::start(io::empty(), Some(ahead))
    }
}

impl<R: Read> PacketSource for FileSource<R> {
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
        if self.failed {
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
                    }));
                }
                Step::Skip(consumed) => self.advance(consumed),
                Step::Incomplete => {
                    if self.eof {
                        self.failed = true;
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

impl Legacy {
    fn from_header(header: &PcapHeader) -> Self {
        let modified: Option<LegacyParseFn> = header
            .is_modified_format()
            .then_some(pcap_parser::parse_pcap_frame_modified);
        Legacy {
            modified,
            big_endian: header.is_bigendian(),
            nanosecond: header.is_nanosecond_precision(),
            link_type: LinkType(header.network.0 as u32 & PCAP_LINKTYPE_MASK),
        }
    }

    fn step(&mut self, input: &[u8]) -> Step {
        if self.modified.is_none() {
            return self.step_standard(input);
        }
        if let Some(caplen) = input.get(PCAP_RECORD_CAPLEN..PCAP_RECORD_CAPLEN + 4) {
            let le = u32::from_le_bytes([caplen[0], caplen[1], caplen[2], caplen[3]]);
            let be = u32::from_be_bytes([caplen[0], caplen[1], caplen[2], caplen[3]]);
            let caplen = if self.big_endian { be } else { le };
            if caplen as usize > MAX_RECORD_LEN {
                return Step::Malformed(format!("record length {caplen} is implausible"));
            }
        }
        let Some(parse) = self.modified else {
            return Step::Incomplete;
        };
        match parse(input) {
            Ok((rest, record)) => {
                let frac_nanos = if self.nanosecond {
                    u64::from(record.ts_usec)
                } else {
                    u64::from(record.ts_usec) * 1000
                };
                Step::Packet {
                    consumed: input.offset(rest),
                    data_off: input.offset(record.data),
                    data_len: record.data.len(),
                    timestamp: timestamp_from(i64::from(record.ts_sec), frac_nanos),
                    link_type: self.link_type,
                    original_len: record.origlen,
                }
            }
            Err(nom::Err::Incomplete(_)) => Step::Incomplete,
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Step::Malformed(describe(&e)),
        }
    }
}

impl Legacy {
    /// A standard record (16-byte header, then `caplen` bytes), read in place: the hot
    /// path of every legacy capture, without a parser combinator per packet.
    fn step_standard(&self, input: &[u8]) -> Step {
        let Some(header) = input.first_chunk::<PCAP_RECORD_HEADER_LEN>() else {
            return Step::Incomplete;
        };
        let field = |at: usize| {
            let bytes = [header[at], header[at + 1], header[at + 2], header[at + 3]];
            if self.big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        let (secs, frac, caplen, origlen) = (
            field(0),
            field(4),
            field(PCAP_RECORD_CAPLEN),
            field(PCAP_RECORD_ORIGLEN),
        );
        let caplen = caplen as usize;
        if caplen > MAX_RECORD_LEN {
            return Step::Malformed(format!("record length {caplen} is implausible"));
        }
        let consumed = PCAP_RECORD_HEADER_LEN + caplen;
        if input.len() < consumed {
            return Step::Incomplete;
        }
        let frac_nanos = if self.nanosecond {
            u64::from(frac)
        } else {
            u64::from(frac) * 1000
        };
        Step::Packet {
            consumed,
            data_off: PCAP_RECORD_HEADER_LEN,
            data_len: caplen,
            timestamp: timestamp_from(i64::from(secs), frac_nanos),
            link_type: self.link_type,
            original_len: origlen,
        }
    }
}

impl Ng {
    fn step(&mut self, input: &[u8]) -> Step {
        if let Some(len) = input.get(PCAPNG_BLOCK_LEN..PCAPNG_BLOCK_LEN + 4) {
            let bytes = [len[0], len[1], len[2], len[3]];
            // The first block of a section decides the byte order; accept either here.
            let len = if self.big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            };
            let is_shb = input.get(..MAGIC_LEN) == Some(&PCAPNG_SHB_MAGIC[..]);
            if !is_shb
                && (len as usize > MAX_RECORD_LEN || (len as usize) < PCAPNG_BLOCK_HEADER_LEN + 4)
            {
                return Step::Malformed(format!("pcapng block length {len} is implausible"));
            }
        }
        let parsed = if self.big_endian {
            pcapng::parse_block_be(input)
        } else {
            pcapng::parse_block_le(input)
        };
        let (rest, block) = match parsed {
            Ok(ok) => ok,
            Err(nom::Err::Incomplete(_)) => return Step::Incomplete,
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                return Step::Malformed(format!("pcapng block: {}", describe(&e)));
            }
        };
        let consumed = input.offset(rest);
        match block {
            Block::SectionHeader(shb) => {
                self.big_endian = shb.big_endian();
                self.interfaces.clear();
                Step::Skip(consumed)
            }
            Block::InterfaceDescription(idb) => {
                let mut interface = Interface {
                    link_type: LinkType(u32::from(idb.linktype.0 as u16)),
                    snaplen: idb.snaplen,
                    tsresol: DEFAULT_TSRESOL,
                    tsoffset: 0,
                };
                for option in &idb.options {
                    let value = option.value();
                    if option.code == OptionCode::IfTsresol
                        && let Some(&resol) = value.first()
                    {
                        interface.tsresol = resol;
                    } else if option.code == OptionCode::IfTsoffset
                        && let Ok(bytes) = <[u8; 8]>::try_from(value)
                    {
                        interface.tsoffset = if self.big_endian {
                            i64::from_be_bytes(bytes)
                        } else {
                            i64::from_le_bytes(bytes)
                        };
                    }
                }
                self.interfaces.push(interface);
                Step::Skip(consumed)
            }
            Block::EnhancedPacket(epb) => self.enhanced(input, consumed, &epb),
            Block::SimplePacket(spb) => self.simple(input, consumed, &spb),
            _ => Step::Skip(consumed),
        }
    }

    fn enhanced(&mut self, input: &[u8], consumed: usize, epb: &EnhancedPacketBlock<'_>) -> Step {
        let Some(interface) = self.interfaces.get(epb.if_id as usize) else {
            return Step::Malformed(format!(
                "enhanced packet block for undeclared interface {}",
                epb.if_id
            ));
        };
        let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
        let timestamp = ng_timestamp(ticks, interface.tsresol, interface.tsoffset);
        self.last_timestamp = timestamp;
        let data = epb.packet_data();
        Step::Packet {
            consumed,
            data_off: input.offset(data),
            data_len: data.len(),
            timestamp,
            link_type: interface.link_type,
            original_len: epb.origlen,
        }
    }

    fn simple(&mut self, input: &[u8], consumed: usize, spb: &SimplePacketBlock<'_>) -> Step {
        let Some(interface) = self.interfaces.first() else {
            return Step::Malformed("simple packet block before any interface".to_string());
        };
        let mut data = spb.packet_data();
        if interface.snaplen != 0 {
            data = data.get(..interface.snaplen as usize).unwrap_or(data);
        }
        Step::Packet {
            consumed,
            data_off: input.offset(data),
            data_len: data.len(),
            // A simple packet block has no timestamp; reuse the last one seen.
            timestamp: self.last_timestamp,
            link_type: interface.link_type,
            original_len: spb.origlen,
        }
    }
}

/// Builds a normalised timestamp from seconds and a possibly oversized nanosecond part.
fn timestamp_from(secs: i64, nanos: u64) -> Timestamp {
    let carry = (nanos / NANOS_PER_SEC) as i64;
    Timestamp {
        secs: secs.saturating_add(carry),
        nanos: (nanos % NANOS_PER_SEC) as u32,
    }
}

/// Converts a pcapng timestamp in `if_tsresol` units, plus `if_tsoffset` seconds.
///
/// An impossible resolution (10^n beyond u128) falls back to the microsecond default.
fn ng_timestamp(ticks: u64, tsresol: u8, tsoffset: i64) -> Timestamp {
    let ticks = u128::from(ticks);
    let (secs, frac_nanos) = if tsresol & TSRESOL_POW2 != 0 {
        let shift = u32::from(tsresol & !TSRESOL_POW2);
        let secs = ticks >> shift;
        let frac = ticks - (secs << shift);
        (secs, (frac * u128::from(NANOS_PER_SEC)) >> shift)
    } else {
        let units = 10u128.checked_pow(u32::from(tsresol)).unwrap_or(1_000_000);
        let secs = ticks / units;
        let frac = ticks % units;
        // frac < units <= 10^38 would overflow when multiplied; scale down first if needed.
        let nanos = if units >= u128::from(NANOS_PER_SEC) {
            frac / (units / u128::from(NANOS_PER_SEC))
        } else {
            frac * (u128::from(NANOS_PER_SEC) / units)
        };
        (secs, nanos)
    };
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    timestamp_from(secs.saturating_add(tsoffset), frac_nanos as u64)
}

/// A short reason for a parser error (never the whole input, which the Display of
/// `PcapError` would print).
fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) => format!("invalid record ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("invalid record ({kind:?})"),
        other => format!("{:?}", other.to_owned_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that hands out at most `chunk` bytes per read, like a pipe.
    struct Trickle<'a> {
        data: &'a [u8],
        chunk: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let n = self.chunk.min(out.len()).min(self.data.len());
            out[..n].copy_from_slice(&self.data[..n]);
            self.data = &self.data[n..];
            Ok(n)
        }
    }

    #[derive(Clone, Copy)]
    enum Order {
        Le,
        Be,
    }

    fn u16b(o: Order, v: u16) -> [u8; 2] {
        match o {
            Order::Le => v.to_le_bytes(),
            Order::Be => v.to_be_bytes(),
        }
    }

    fn u32b(o: Order, v: u32) -> [u8; 4] {
        match o {
            Order::Le => v.to_le_bytes(),
            Order::Be => v.to_be_bytes(),
        }
    }

    /// A legacy pcap with the given records (secs, frac, data, origlen).
    fn pcap(o: Order, nanos: bool, link: u32, records: &[(u32, u32, &[u8], u32)]) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend(u32b(o, if nanos { 0xa1b2_3c4d } else { 0xa1b2_c3d4 }));
        v.extend(u16b(o, 2));
        v.extend(u16b(o, 4));
        v.extend(u32b(o, 0));
        v.extend(u32b(o, 0));
        v.extend(u32b(o, 262_144));
        v.extend(u32b(o, link));
        for (secs, frac, data, orig) in records {
            v.extend(u32b(o, *secs));
            v.extend(u32b(o, *frac));
            v.extend(u32b(o, data.len() as u32));
            v.extend(u32b(o, *orig));
            v.extend_from_slice(data);
        }
        v
    }

    fn ng_block(o: Order, kind: u32, body: &[u8]) -> Vec<u8> {
        let mut body = body.to_vec();
        while !body.len().is_multiple_of(4) {
            body.push(0);
        }
        let len = body.len() as u32 + 12;
        let mut v = Vec::new();
        v.extend(u32b(o, kind));
        v.extend(u32b(o, len));
        v.extend(body);
        v.extend(u32b(o, len));
        v
    }

    fn ng_shb(o: Order) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(u32b(o, 0x1a2b_3c4d));
        body.extend(u16b(o, 1));
        body.extend(u16b(o, 0));
        body.extend((-1i64).to_le_bytes());
        ng_block(o, 0x0a0d_0d0a, &body)
    }

    fn ng_idb(o: Order, link: u16, tsresol: Option<u8>, tsoffset: Option<i64>) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(u16b(o, link));
        body.extend(u16b(o, 0));
        body.extend(u32b(o, 0));
        if let Some(r) = tsresol {
            body.extend(u16b(o, 9));
            body.extend(u16b(o, 1));
            body.extend([r, 0, 0, 0]);
        }
        if let Some(off) = tsoffset {
            body.extend(u16b(o, 14));
            body.extend(u16b(o, 8));
            match o {
                Order::Le => body.extend(off.to_le_bytes()),
                Order::Be => body.extend(off.to_be_bytes()),
            }
        }
        if tsresol.is_some() || tsoffset.is_some() {
            body.extend([0, 0, 0, 0]); // opt_endofopt
        }
        ng_block(o, 1, &body)
    }

    fn ng_epb(o: Order, if_id: u32, ticks: u64, data: &[u8], orig: u32) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(u32b(o, if_id));
        body.extend(u32b(o, (ticks >> 32) as u32));
        body.extend(u32b(o, ticks as u32));
        body.extend(u32b(o, data.len() as u32));
        body.extend(u32b(o, orig));
        body.extend_from_slice(data);
        ng_block(o, 6, &body)
    }

    fn ng_spb(o: Order, data: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(u32b(o, data.len() as u32));
        body.extend_from_slice(data);
        ng_block(o, 3, &body)
    }

    /// Owned copy of what a source yields.
    #[derive(Debug, PartialEq)]
    struct Owned {
        ts: Timestamp,
        link: LinkType,
        data: Vec<u8>,
        orig: u32,
    }

    fn read_all<R: Read>(src: &mut FileSource<R>) -> (Vec<Owned>, Option<CaptureError>) {
        let mut out = Vec::new();
        loop {
            match src.next_packet() {
                Ok(Some(p)) => out.push(Owned {
                    ts: p.timestamp,
                    link: p.link_type,
                    data: p.data.to_vec(),
                    orig: p.original_len,
                }),
                Ok(None) => return (out, None),
                Err(e) => return (out, Some(e)),
            }
        }
    }

    fn read_bytes(
        bytes: &[u8],
        chunk: usize,
    ) -> Result<(Vec<Owned>, Option<CaptureError>), CaptureError> {
        let mut src = FileSource::new(Trickle { data: bytes, chunk })?;
        Ok(read_all(&mut src))
    }

    fn ts(secs: i64, nanos: u32) -> Timestamp {
        Timestamp { secs, nanos }
    }

    fn sample_pcap_usec_le() -> Vec<u8> {
        pcap(
            Order::Le,
            false,
            1,
            &[
                (1_700_000_000, 123_456, b"abcdef", 6),
                (1_700_000_001, 999_999, b"xy", 60),
            ],
        )
    }

    fn sample_pcapng_le() -> Vec<u8> {
        let mut v = ng_shb(Order::Le);
        v.extend(ng_idb(Order::Le, 1, None, None));
        v.extend(ng_idb(Order::Le, 0, Some(9), None));
        // An unknown block type to skip.
        v.extend(ng_block(Order::Le, 0x0000_0099, &[1, 2, 3, 4]));
        v.extend(ng_epb(
            Order::Le,
            0,
            1_700_000_000_123_456,
            b"eth-packet",
            10,
        ));
        v.extend(ng_epb(
            Order::Le,
            1,
            1_700_000_001_000_000_007,
            b"null",
            100,
        ));
        v.extend(ng_spb(Order::Le, b"simple"));
        v
    }

    /// [`Trickle`] owning its bytes, for the read-ahead thread.
    struct OwnedTrickle {
        data: Vec<u8>,
        pos: usize,
        chunk: usize,
    }

    impl Read for OwnedTrickle {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            let rest = &self.data[self.pos..];
            let n = self.chunk.min(out.len()).min(rest.len());
            out[..n].copy_from_slice(&rest[..n]);
            self.pos += n;
            Ok(n)
        }
    }

    /// What reading `bytes` gives, as comparable text: packets, then the error if any.
    fn outcome<R: Read>(source: Result<FileSource<R>, CaptureError>) -> String {
        match source {
            Err(e) => format!("open: {e:?}"),
            Ok(mut src) => {
                let (pkts, err) = read_all(&mut src);
                format!("{pkts:?} {err:?}")
            }
        }
    }

    #[test]
    fn read_ahead_reads_exactly_what_direct_reading_does() {
        let mut files = vec![sample_pcap_usec_le(), sample_pcapng_le()];
        // Many records, so blocks end inside records at many offsets.
        let records: Vec<(u32, u32, Vec<u8>, u32)> = (0..20_000u32)
            .map(|i| (i, i % 1_000_000, vec![i as u8; (i % 173) as usize], i % 173))
            .collect();
        let refs: Vec<(u32, u32, &[u8], u32)> = records
            .iter()
            .map(|(a, b, d, o)| (*a, *b, &d[..], *o))
            .collect();
        files.push(pcap(Order::Be, true, 1, &refs));
        // Records longer than the headroom (gathered by copying) between short ones.
        let big = vec![0x5a; 3 << 20];
        let mid = vec![0xa5; AHEAD_HEADROOM + 5];
        files.push(pcap(
            Order::Le,
            false,
            1,
            &[
                (1, 0, b"a", 1),
                (2, 0, &big, 3 << 20),
                (3, 0, &mid, 1),
                (4, 0, b"z", 1),
            ],
        ));
        // Cut short, and not a capture at all.
        let cut = files[2].len() - 7;
        files.push(files[2][..cut].to_vec());
        files.push(b"GET / HTTP/1.1\r\n".to_vec());
        files.push(Vec::new());
        for file in &files {
            for chunk in [1, 7, 1000, 1 << 20] {
                if file.len() > 100_000 && chunk < 1000 {
                    continue;
                }
                let direct = outcome(FileSource::new(Trickle { data: file, chunk }));
                let ahead = outcome(FileSource::read_ahead(OwnedTrickle {
                    data: file.clone(),
                    pos: 0,
                    chunk,
                }));
                assert_eq!(direct, ahead, "chunk {chunk}, {} bytes", file.len());
            }
        }
    }

    #[test]
    fn read_ahead_keeps_read_errors() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
        }
        match FileSource::read_ahead(Failing) {
            Err(CaptureError::Io(e)) => assert_eq!(e.to_string(), "disk on fire"),
            _ => panic!("expected an io error"),
        }
    }

    #[test]
    fn legacy_usec_little_endian() {
        let (pkts, err) = read_bytes(&sample_pcap_usec_le(), 1 << 20).unwrap();
        assert!(err.is_none());
        assert_eq!(
            pkts,
            vec![
                Owned {
                    ts: ts(1_700_000_000, 123_456_000),
                    link: LinkType::ETHERNET,
                    data: b"abcdef".to_vec(),
                    orig: 6
                },
                Owned {
                    ts: ts(1_700_000_001, 999_999_000),
                    link: LinkType::ETHERNET,
                    data: b"xy".to_vec(),
                    orig: 60
                },
            ]
        );
    }

    #[test]
    fn legacy_nsec_big_endian_trickled() {
        let file = pcap(
            Order::Be,
            true,
            0,
            &[(5, 999_999_999, b"hello", 5), (6, 1, b"", 0)],
        );
        for chunk in [1, 3, 7, 1 << 20] {
            let (pkts, err) = read_bytes(&file, chunk).unwrap();
            assert!(err.is_none());
            assert_eq!(pkts.len(), 2);
            assert_eq!(pkts[0].ts, ts(5, 999_999_999));
            assert_eq!(pkts[0].link, LinkType::NULL);
            assert_eq!(pkts[0].data, b"hello");
            assert_eq!(pkts[1].ts, ts(6, 1));
            assert!(pkts[1].data.is_empty());
        }
    }

    #[test]
    fn legacy_usec_be_and_nsec_le() {
        let be = pcap(Order::Be, false, 113, &[(7, 42, b"sll", 3)]);
        let (pkts, _) = read_bytes(&be, 5).unwrap();
        assert_eq!(pkts[0].ts, ts(7, 42_000));
        assert_eq!(pkts[0].link, LinkType::LINUX_SLL);
        let le = pcap(Order::Le, true, 276, &[(7, 42, b"sll2", 4)]);
        let (pkts, _) = read_bytes(&le, 5).unwrap();
        assert_eq!(pkts[0].ts, ts(7, 42));
        assert_eq!(pkts[0].link, LinkType::LINUX_SLL2);
    }

    #[test]
    fn legacy_link_type_fcs_bits_ignored() {
        let file = pcap(Order::Le, false, 0x1400_0001, &[(1, 0, b"x", 1)]);
        let (pkts, _) = read_bytes(&file, 64).unwrap();
        assert_eq!(pkts[0].link, LinkType::ETHERNET);
    }

    #[test]
    fn pcapng_two_interfaces() {
        let (pkts, err) = read_bytes(&sample_pcapng_le(), 1 << 20).unwrap();
        assert!(err.is_none(), "{err:?}");
        assert_eq!(pkts.len(), 3);
        assert_eq!(pkts[0].ts, ts(1_700_000_000, 123_456_000));
        assert_eq!(pkts[0].link, LinkType::ETHERNET);
        assert_eq!(pkts[0].data, b"eth-packet");
        assert_eq!(pkts[0].orig, 10);
        assert_eq!(pkts[1].ts, ts(1_700_000_001, 7));
        assert_eq!(pkts[1].link, LinkType::NULL);
        assert_eq!(pkts[1].data, b"null");
        assert_eq!(pkts[1].orig, 100);
        // Simple packet block: interface 0, last timestamp.
        assert_eq!(pkts[2].ts, ts(1_700_000_001, 7));
        assert_eq!(pkts[2].link, LinkType::ETHERNET);
        assert_eq!(pkts[2].data, b"simple");
    }

    #[test]
    fn pcapng_big_endian_pow2_and_offset_and_new_section() {
        let mut v = ng_shb(Order::Be);
        // 2^-10 s resolution, +100 s offset.
        v.extend(ng_idb(Order::Be, 101, Some(0x80 | 10), Some(100)));
        v.extend(ng_epb(Order::Be, 0, (5 << 10) | 512, b"raw", 3));
        // A new little-endian section resets the interfaces.
        v.extend(ng_shb(Order::Le));
        v.extend(ng_idb(Order::Le, 276, Some(3), None));
        v.extend(ng_epb(Order::Le, 0, 1_234, b"ms", 2));
        for chunk in [1, 13, 1 << 20] {
            let (pkts, err) = read_bytes(&v, chunk).unwrap();
            assert!(err.is_none(), "{err:?}");
            assert_eq!(pkts.len(), 2);
            assert_eq!(pkts[0].ts, ts(105, 500_000_000));
            assert_eq!(pkts[0].link, LinkType::RAW);
            assert_eq!(pkts[0].data, b"raw");
            assert_eq!(pkts[1].ts, ts(1, 234_000_000));
            assert_eq!(pkts[1].link, LinkType::LINUX_SLL2);
        }
    }

    #[test]
    fn pcapng_undeclared_interface_is_malformed() {
        let mut v = ng_shb(Order::Le);
        v.extend(ng_idb(Order::Le, 1, None, None));
        v.extend(ng_epb(Order::Le, 0, 0, b"a", 1));
        v.extend(ng_epb(Order::Le, 3, 0, b"b", 1));
        let (pkts, err) = read_bytes(&v, 1 << 20).unwrap();
        assert_eq!(pkts.len(), 1);
        assert!(matches!(
            err,
            Some(CaptureError::Malformed {
                packets_read: 1,
                ..
            })
        ));
    }

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
            Err(CaptureError::UnknownFormat)
        ));
        assert!(matches!(
            FileSource::new(&b"\xd4\xc3"[..]),
            Err(CaptureError::Truncated { packets_read: 0 })
        ));
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
    fn timestamps_conversions() {
        assert_eq!(ng_timestamp(1_500_000, 6, 0), ts(1, 500_000_000));
        assert_eq!(ng_timestamp(1_500_000_001, 9, -1), ts(0, 500_000_001));
        assert_eq!(ng_timestamp(3, 0, 0), ts(3, 0));
        assert_eq!(ng_timestamp(15, 0x80 | 1, 0), ts(7, 500_000_000));
        assert_eq!(ng_timestamp(u64::MAX, 0x80 | 127, 0).secs, 0);
        assert_eq!(ng_timestamp(u64::MAX, 127, 0).secs, 18_446_744_073_709);
        assert_eq!(ng_timestamp(u64::MAX, 38, 0), ts(0, 0));
        assert_eq!(timestamp_from(1, 2_500_000_000), ts(3, 500_000_000));
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
        for magic in [PCAP_MAGIC_USEC_LE, PCAP_MAGIC_NSEC_BE, PCAPNG_SHB_MAGIC] {
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

    /// A pipe fed from the test: reads block until the test sends bytes or hangs up.
    struct Fed(std::sync::mpsc::Receiver<Vec<u8>>, Vec<u8>);

    impl Read for Fed {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.1.is_empty() {
                match self.0.recv() {
                    Ok(bytes) => self.1 = bytes,
                    Err(_) => return Ok(0),
                }
            }
            let n = out.len().min(self.1.len());
            out[..n].copy_from_slice(&self.1[..n]);
            self.1.drain(..n);
            Ok(n)
        }
    }

    /// `has_next_buffered` says whether the next packet can be had without waiting: true
    /// while whole records are buffered, false when the input has not sent more yet, true
    /// again at the end (the next call returns at once).
    #[test]
    fn knows_when_the_next_packet_would_wait() {
        let file = pcap(
            Order::Le,
            false,
            1,
            &[
                (1, 0, &[1; 60], 60),
                (2, 0, &[2; 60], 60),
                (3, 0, &[3; 60], 60),
            ],
        );
        let (header_and_two, last) = file.split_at(24 + 2 * (16 + 60));
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(header_and_two.to_vec()).unwrap();
        let mut source = FileSource::read_ahead(Fed(rx, Vec::new())).unwrap();
        assert_eq!(source.next_packet().unwrap().unwrap().data, &[1; 60]);
        assert!(source.has_next_buffered());
        assert_eq!(source.next_packet().unwrap().unwrap().data, &[2; 60]);
        assert!(
            !source.has_next_buffered(),
            "the third record has not been sent"
        );
        tx.send(last[..10].to_vec()).unwrap();
        tx.send(last[10..].to_vec()).unwrap();
        drop(tx);
        assert_eq!(source.next_packet().unwrap().unwrap().data, &[3; 60]);
        // Wait for the reader thread to see the end.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !source.has_next_buffered() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(source.has_next_buffered());
        assert!(source.next_packet().unwrap().is_none());
    }
}
