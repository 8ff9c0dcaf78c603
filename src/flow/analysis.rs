//! Wireshark's TCP analysis for the packet list: relative sequence numbers, scaled
//! windows, and the `[TCP ...]` flags (tcp.analysis.*).

use crate::wire::TcpSegment;

/// Which way a segment travels within its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server (the side that sent the SYN, or the HTTP request).
    ClientToServer,
    /// Server to client.
    ServerToClient,
}

impl Direction {
    /// Index 0 for client-to-server, 1 for server-to-client.
    pub fn index(self) -> usize {
        match self {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 1,
        }
    }

    /// The other direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }

    /// `c2s` or `s2c`.
    pub fn short(self) -> &'static str {
        match self {
            Direction::ClientToServer => "c2s",
            Direction::ServerToClient => "s2c",
        }
    }
}

/// tcp.analysis flags, as a bit set (Wireshark shows them as `[TCP ...]` before the info).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnalysisFlags(pub u16);

impl AnalysisFlags {
    /// `[TCP Retransmission]`
    pub const RETRANSMISSION: u16 = 1 << 0;
    /// `[TCP Spurious Retransmission]`
    pub const SPURIOUS_RETRANSMISSION: u16 = 1 << 1;
    /// `[TCP Fast Retransmission]`
    pub const FAST_RETRANSMISSION: u16 = 1 << 2;
    /// `[TCP Out-Of-Order]`
    pub const OUT_OF_ORDER: u16 = 1 << 3;
    /// `[TCP Previous segment not captured]`
    pub const PREVIOUS_SEGMENT_NOT_CAPTURED: u16 = 1 << 4;
    /// `[TCP ACKed unseen segment]`
    pub const ACKED_UNSEEN_SEGMENT: u16 = 1 << 5;
    /// `[TCP Window Update]`
    pub const WINDOW_UPDATE: u16 = 1 << 6;
    /// `[TCP Window Full]`
    pub const WINDOW_FULL: u16 = 1 << 7;
    /// `[TCP ZeroWindow]`
    pub const ZERO_WINDOW: u16 = 1 << 8;
    /// `[TCP Keep-Alive]`
    pub const KEEP_ALIVE: u16 = 1 << 9;
    /// `[TCP Keep-Alive ACK]`
    pub const KEEP_ALIVE_ACK: u16 = 1 << 10;
    /// `[TCP Dup ACK N#M]` (see [`SegmentAnalysis::dup_ack`]).
    pub const DUP_ACK: u16 = 1 << 11;
    /// `[TCP Port numbers reused]`
    pub const PORTS_REUSED: u16 = 1 << 12;

    /// Whether `flag` is set.
    pub fn has(self, flag: u16) -> bool {
        self.0 & flag != 0
    }
}

/// What the analysis says about one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SegmentAnalysis {
    /// Sequence number relative to this direction's initial sequence number.
    pub rel_seq: u32,
    /// Acknowledgment number relative to the other direction's ISN (0 if unknown).
    pub rel_ack: u32,
    /// Window size in bytes after scaling (raw value when the scale is unknown or on SYNs).
    pub window: u64,
    /// Analysis flags.
    pub flags: AnalysisFlags,
    /// For Dup ACKs: (frame number of the original ACK, duplicate count) as in `Dup ACK 94#1`.
    pub dup_ack: Option<(u64, u32)>,
}

/// Per-connection analysis state (both directions).
#[derive(Debug, Default)]
pub struct TcpAnalyzer {}

impl TcpAnalyzer {
    /// A connection with nothing seen yet.
    pub fn new() -> Self {
        TcpAnalyzer {}
    }

    /// Analyses one segment travelling in `dir`, as packet number `packet`.
    pub fn analyze(
        &mut self,
        packet: u64,
        dir: Direction,
        seg: &TcpSegment<'_>,
    ) -> SegmentAnalysis {
        let _ = (packet, dir, seg);
        SegmentAnalysis::default() // TODO(helper)
    }
}
