//! Capture sources: where raw link-layer packets come from (pcap/pcapng files, stdin, live).
//!
//! This layer knows nothing of IP or TCP: it yields timestamped byte slices tagged with
//! their link type.
//!
//! - [`Input`] (input.rs): a file or stdin, its size, a byte counter for progress;
//! - compress.rs: gzip, zstd and lz4 inputs recognised by magic number, decoded as a stream;
//! - [`FileSource`] (stream.rs): the buffered, never-seeking driver that recognises pcap or
//!   pcapng and hands records to pcap.rs or pcapng.rs; readahead.rs reads on a helper thread;
//! - live.rs (feature `live`): libpcap; writer.rs: pcapng output.

mod compress;
mod input;
#[cfg(feature = "live")]
pub mod live;
mod pcap;
mod pcapng;
mod readahead;
mod record;
mod stream;
#[cfg(test)]
mod testutil;
pub mod writer;

pub use compress::Compression;
pub use input::Input;
pub use record::MAX_RECORD_LEN;
pub use stream::FileSource;

/// The old home of [`FileSource`], kept so that existing imports still build.
pub mod file {
    pub use super::record::MAX_RECORD_LEN;
    pub use super::stream::FileSource;
}

use std::fmt;

/// Seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct Timestamp {
    /// Whole seconds since the Unix epoch.
    pub secs: i64,
    /// Nanoseconds within the second (0..1_000_000_000).
    pub nanos: u32,
}

impl Timestamp {
    /// Signed difference `self - earlier` in nanoseconds.
    pub fn nanos_since(self, earlier: Timestamp) -> i128 {
        (self.secs as i128 - earlier.secs as i128) * 1_000_000_000 + self.nanos as i128
            - earlier.nanos as i128
    }
}

/// A link-layer header type (the LINKTYPE_* registry used by pcap and pcapng).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LinkType(pub u32);

impl LinkType {
    /// BSD loopback: 4-byte address family in the capturing host's byte order.
    pub const NULL: LinkType = LinkType(0);
    /// Ethernet II (Linux `lo` included).
    pub const ETHERNET: LinkType = LinkType(1);
    /// Raw IPv4 or IPv6, version from the first nibble.
    pub const RAW: LinkType = LinkType(101);
    /// OpenBSD loopback: 4-byte address family in network byte order.
    pub const LOOP: LinkType = LinkType(108);
    /// Linux cooked capture v1 (`tcpdump -i any` on older libpcap).
    pub const LINUX_SLL: LinkType = LinkType(113);
    /// Raw IPv4.
    pub const IPV4: LinkType = LinkType(228);
    /// Raw IPv6.
    pub const IPV6: LinkType = LinkType(229);
    /// Linux cooked capture v2 (`tcpdump -i any`).
    pub const LINUX_SLL2: LinkType = LinkType(276);

    /// Short name, as Wireshark shows it in the protocol column for undecodable packets.
    pub fn name(self) -> &'static str {
        match self {
            LinkType::NULL => "Null/Loopback",
            LinkType::ETHERNET => "Ethernet",
            LinkType::RAW => "Raw IP",
            LinkType::LOOP => "OpenBSD Loopback",
            LinkType::LINUX_SLL => "Linux SLL",
            LinkType::IPV4 => "IPv4",
            LinkType::IPV6 => "IPv6",
            LinkType::LINUX_SLL2 => "Linux SLL2",
            _ => "Unknown link type",
        }
    }
}

/// One captured packet, borrowed from the source's buffer until the next call.
#[derive(Debug, Clone, Copy)]
pub struct RawPacket<'a> {
    /// When the packet was captured.
    pub timestamp: Timestamp,
    /// How to decode `data`.
    pub link_type: LinkType,
    /// The captured bytes (possibly cut short by the snapshot length).
    pub data: &'a [u8],
    /// Length of the packet on the wire (`data.len()` when nothing was cut).
    pub original_len: u32,
    /// The buffer `data` lies in, when the source can share it: another thread keeps the
    /// packet's bytes by holding it, without copying them (the source writes no byte of
    /// a buffer that is held).
    pub block: Option<&'a std::sync::Arc<Block>>,
}

/// Capture bytes a source read, shareable with other threads ([`RawPacket::block`]).
/// When the last holder lets go, the memory goes back to the reading thread that filled
/// it, for its next read: new memory would have to be zero-filled first.
#[derive(Debug, Default)]
pub struct Block {
    bytes: Vec<u8>,
    home: Option<std::sync::mpsc::SyncSender<Vec<u8>>>,
}

impl Block {
    /// `bytes`, given back to `home` once no longer held.
    pub(crate) fn homed(bytes: Vec<u8>, home: std::sync::mpsc::SyncSender<Vec<u8>>) -> Self {
        Block {
            bytes,
            home: Some(home),
        }
    }

    /// Bytes not given back to anyone.
    pub(crate) fn unhomed(bytes: Vec<u8>) -> Self {
        Block { bytes, home: None }
    }
}

impl Clone for Block {
    /// A copy of the bytes, given back to nobody.
    fn clone(&self) -> Self {
        Block::unhomed(self.bytes.clone())
    }
}

impl std::ops::Deref for Block {
    type Target = Vec<u8>;
    fn deref(&self) -> &Vec<u8> {
        &self.bytes
    }
}

impl std::ops::DerefMut for Block {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        if let Some(home) = &self.home {
            // A full pool frees it instead.
            let _ = home.try_send(std::mem::take(&mut self.bytes));
        }
    }
}

/// Something that yields packets one at a time, streaming.
pub trait PacketSource {
    /// The next packet, `Ok(None)` at the clean end of the input.
    ///
    /// After an error the source may be unusable; callers stop reading.
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError>;

    /// Whether the next call can return without waiting for input (a packet, the end, or
    /// an error is already at hand). Output is flushed only when this is false, so a
    /// stream is shown as it arrives without a write per packet. The default, false,
    /// suits sources that cannot tell.
    fn has_next_buffered(&mut self) -> bool {
        false
    }

    /// TLS key log text (the NSS key log format) carried by pcapng Decryption Secrets Blocks
    /// of type `TLSK` read since the last call, wherever they stand in the file; `None` when
    /// there is none. Each block's text comes as it is; blocks read between two calls are
    /// joined in file order, with a newline between them where the first lacks one.
    /// Call after each [`next_packet`](Self::next_packet), the last one included: a block
    /// may come before the packets it decrypts or after them all. The bytes are secret:
    /// never print them.
    fn take_secrets(&mut self) -> Option<Vec<u8>> {
        None
    }
}

/// Why a capture could not be read (further).
#[derive(Debug)]
pub enum CaptureError {
    /// The underlying reader failed.
    Io(std::io::Error),
    /// The input does not start with a pcap or pcapng magic number.
    UnknownFormat,
    /// The input holds no byte at all.
    Empty,
    /// The input ends before the end of the file header (pcap) or of the first Section
    /// Header Block (pcapng).
    HeaderTruncated,
    /// The input ended in the middle of a record; `packets_read` packets were fine before it.
    Truncated {
        /// Packets delivered before the cut.
        packets_read: u64,
    },
    /// A record could not be parsed.
    Malformed {
        /// Packets delivered before the bad record.
        packets_read: u64,
        /// What the parser reported.
        reason: String,
    },
    /// The compressed input could not be decoded further (corrupt, or cut off inside a
    /// compressed block); the `packets_read` packets before were fine.
    Decompress {
        /// Which compression.
        compression: Compression,
        /// Packets delivered before the problem.
        packets_read: u64,
        /// Part of the next packet's record had been decoded already.
        in_record: bool,
        /// What the decoder reported.
        reason: String,
    },
    /// A live capture failed while running (libpcap, or saving the packets with `-w`).
    Live(String),
}

impl fmt::Display for CaptureError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CaptureError::Io(e) => write!(f, "read error: {e}"),
            CaptureError::UnknownFormat => {
                write!(f, "not a pcap or pcapng capture (unknown magic number)")
            }
            CaptureError::Empty => write!(f, "empty file, not a capture"),
            CaptureError::HeaderTruncated => write!(f, "capture cut off in the file header"),
            CaptureError::Decompress {
                compression,
                packets_read,
                in_record,
                reason,
            } => {
                let name = compression.name();
                if *in_record || *packets_read == 0 {
                    let n = packets_read + 1;
                    write!(
                        f,
                        "capture cut off in the middle of packet {n}: {name} data: {reason}"
                    )
                } else {
                    write!(
                        f,
                        "capture cut off after packet {packets_read}: {name} data: {reason}"
                    )
                }
            }
            CaptureError::Truncated { packets_read } => write!(
                f,
                "capture cut off in the middle of packet {}",
                packets_read + 1
            ),
            CaptureError::Malformed {
                packets_read,
                reason,
            } => write!(f, "packet {}: malformed record: {reason}", packets_read + 1),
            CaptureError::Live(message) => write!(f, "live capture: {message}"),
        }
    }
}

impl std::error::Error for CaptureError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CaptureError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Path that [`open_path`] reads as standard input.
pub const STDIN_PATH: &str = "-";

/// Opens a pcap or pcapng capture, possibly gzip-, zstd- or lz4-compressed: a file, or
/// standard input when `path` is `-`.
///
/// Formats are detected from magic numbers, so reading stdin never needs to seek. The input
/// is read (and decompressed) on a helper thread a few blocks ahead
/// ([`FileSource::read_ahead`]). [`Input`] does the same with a byte counter for progress.
pub fn open_path(path: &std::path::Path) -> Result<Box<dyn PacketSource>, CaptureError> {
    Input::open(path)?.into_source()
}

/// A source that stops after a number of packets (`-c N`).
pub struct Take<S> {
    inner: S,
    left: u64,
}

impl<S> Take<S> {
    /// At most `n` packets of `inner`.
    pub fn new(inner: S, n: u64) -> Self {
        Take { inner, left: n }
    }
}

impl<S: PacketSource + ?Sized> PacketSource for Take<Box<S>> {
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        if self.left == 0 {
            return Ok(None);
        }
        self.left -= 1;
        self.inner.next_packet()
    }

    fn has_next_buffered(&mut self) -> bool {
        self.left == 0 || self.inner.has_next_buffered()
    }

    fn take_secrets(&mut self) -> Option<Vec<u8>> {
        self.inner.take_secrets()
    }
}
