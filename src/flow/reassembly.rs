//! One direction of a TCP connection put back in order.
//!
//! Bytes are delivered in sequence order, each chunk tagged with the packet that carried it.
//! Only out-of-order data is buffered (copied), up to a cap.

/// Caps on what one direction may buffer.
#[derive(Debug, Clone, Copy)]
pub struct ReassemblyLimits {
    /// Most out-of-order bytes held per direction before the hole is declared a gap.
    pub max_buffered: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits {
            max_buffered: 4 << 20,
        }
    }
}

/// What reassembly hands to the next stage, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// In-order bytes carried by `packet`.
    Data {
        /// Packet number (1-based, as in the timeline) that carried these bytes.
        packet: u64,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// `len` bytes that were sent but never captured; the stream continues after them.
    Gap {
        /// Number of missing bytes (may be huge if sequence numbers jumped).
        len: u64,
        /// The packet being processed when the gap was declared.
        packet: u64,
    },
}

/// Reassembly of one direction of one connection.
#[derive(Debug)]
pub struct Reassembler {
    _limits: ReassemblyLimits,
}

impl Reassembler {
    /// A direction with nothing seen yet.
    pub fn new(limits: ReassemblyLimits) -> Self {
        Reassembler { _limits: limits }
    }

    /// Feeds one segment of this direction. `seq` is the segment's sequence number as sent
    /// (with `syn` set, the first payload byte is `seq + 1`). Calls `out` for every chunk
    /// that became deliverable, in order; returns what was noticed about the segment.
    pub fn push(
        &mut self,
        packet: u64,
        seq: u32,
        syn: bool,
        payload: &[u8],
        out: &mut dyn FnMut(Delivery<'_>),
    ) -> PushOutcome {
        let _ = (packet, seq, syn, payload, out);
        PushOutcome::default() // TODO(helper)
    }

    /// The peer acknowledged everything before `ack`: bytes still missing below it will
    /// never be retransmitted, so they are delivered as a gap and buffered data after it
    /// flows on.
    pub fn peer_acked(&mut self, packet: u64, ack: u32, out: &mut dyn FnMut(Delivery<'_>)) {
        let _ = (packet, ack, out); // TODO(helper)
    }

    /// End of capture or of the connection: deliver everything still buffered, with gaps.
    pub fn flush(&mut self, packet: u64, out: &mut dyn FnMut(Delivery<'_>)) {
        let _ = (packet, out); // TODO(helper)
    }

    /// Bytes currently held out of order.
    pub fn buffered_bytes(&self) -> usize {
        0
    }
}

/// What `push` noticed about one segment (for anomalies; the timeline flags come from
/// [`crate::flow::analysis`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PushOutcome {
    /// Bytes of this segment already delivered earlier (retransmitted or overlapping).
    pub duplicate_bytes: u32,
    /// The overlapping bytes differed from what was delivered first (first copy kept).
    pub conflicting_overlap: bool,
    /// The segment arrived ahead of a hole and was buffered.
    pub buffered_out_of_order: bool,
    /// The segment was dropped because the out-of-order buffer was full.
    pub dropped_over_cap: bool,
}
