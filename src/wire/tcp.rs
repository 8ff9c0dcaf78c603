//! TCP header view and options.

/// TCP header flags (the 9 flag bits, NS/AE included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpFlags(pub u16);

impl TcpFlags {
    /// FIN.
    pub const FIN: u16 = 0x001;
    /// SYN.
    pub const SYN: u16 = 0x002;
    /// RST.
    pub const RST: u16 = 0x004;
    /// PSH.
    pub const PSH: u16 = 0x008;
    /// ACK.
    pub const ACK: u16 = 0x010;
    /// URG.
    pub const URG: u16 = 0x020;
    /// ECE.
    pub const ECE: u16 = 0x040;
    /// CWR.
    pub const CWR: u16 = 0x080;
    /// NS (Accurate ECN "AE").
    pub const NS: u16 = 0x100;

    /// Whether every bit of `mask` is set.
    pub fn has(self, mask: u16) -> bool {
        self.0 & mask == mask
    }
}

/// A TCP segment borrowed from the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TcpSegment<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number (absolute).
    pub seq: u32,
    /// Acknowledgment number (absolute; meaningful when ACK is set).
    pub ack: u32,
    /// Flags.
    pub flags: TcpFlags,
    /// Window field as sent (unscaled).
    pub window: u16,
    /// Urgent pointer.
    pub urgent: u16,
    /// Raw option bytes (header bytes 20..data offset); see [`options`].
    pub options: &'a [u8],
    /// Captured payload bytes.
    pub payload: &'a [u8],
    /// Payload bytes the IP length promised but the capture cut off (snaplen).
    pub missing_payload: u32,
}

impl TcpSegment<'_> {
    /// Payload length on the wire (captured + cut off): Wireshark's `Len=`.
    pub fn wire_len(&self) -> u32 {
        self.payload.len() as u32 + self.missing_payload
    }
}

/// One TCP option.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpOption {
    /// End of option list (kind 0).
    EndOfList,
    /// No-operation (kind 1).
    Nop,
    /// Maximum segment size (kind 2).
    Mss(u16),
    /// Window scale shift count (kind 3).
    WindowScale(u8),
    /// SACK permitted (kind 4).
    SackPermitted,
    /// SACK blocks (kind 5): up to four (left, right) edges; `count` are valid.
    Sack {
        /// Block edges.
        blocks: [(u32, u32); 4],
        /// Number of valid blocks.
        count: u8,
    },
    /// Timestamps (kind 8).
    Timestamp {
        /// TSval.
        value: u32,
        /// TSecr.
        echo: u32,
    },
    /// Any other kind, or a known kind with a bad length.
    Unknown {
        /// Option kind.
        kind: u8,
        /// Option length byte (0 when absent).
        len: u8,
    },
}

/// Iterates the options in `raw` in packet order; stops at malformed data.
pub fn options(raw: &[u8]) -> impl Iterator<Item = TcpOption> + '_ {
    let _ = raw;
    std::iter::empty() // TODO(helper)
}
