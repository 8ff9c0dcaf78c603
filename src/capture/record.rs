//! What the pcap and pcapng parsers share with the driver that feeds them: the record size
//! limit, the parse step, timestamps and error descriptions. (Kept apart so that the
//! parsers and the driver do not import each other.)

use super::{LinkType, Timestamp};
use pcap_parser::PcapError;

/// Largest record (pcap record or pcapng block) accepted; larger means a corrupt length.
pub const MAX_RECORD_LEN: usize = 64 << 20;
/// Length of the magic number that identifies the format.
pub(super) const MAGIC_LEN: usize = 4;

pub(super) const NANOS_PER_SEC: u64 = 1_000_000_000;

/// Outcome of parsing at the front of the buffer, holding offsets rather than borrows so
/// that the caller can mutate the source afterwards.
pub(super) enum Step {
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

/// Builds a normalised timestamp from seconds and a possibly oversized nanosecond part.
pub(super) fn timestamp_from(secs: i64, nanos: u64) -> Timestamp {
    let carry = (nanos / NANOS_PER_SEC) as i64;
    Timestamp {
        secs: secs.saturating_add(carry),
        nanos: (nanos % NANOS_PER_SEC) as u32,
    }
}

/// A short reason for a parser error (never the whole input, which the Display of
/// `PcapError` would print).
pub(super) fn describe(e: &PcapError<&[u8]>) -> String {
    match e {
        PcapError::NomError(_, kind) => format!("invalid record ({kind:?})"),
        PcapError::OwnedNomError(_, kind) => format!("invalid record ({kind:?})"),
        other => format!("{:?}", other.to_owned_vec()),
    }
}
