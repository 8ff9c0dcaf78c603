//! TCP flows: the connection table, wrapping sequence arithmetic, per-direction
//! reassembly, and Wireshark-style TCP analysis (relative numbers, scaled windows,
//! retransmission/dup-ACK/... flags).

pub mod analysis;
pub mod budget;
pub mod reassembly;
pub mod seq;
pub mod table;
pub mod tcp;

/// How a TCP connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpEnd {
    /// Still open when the capture ended.
    Open,
    /// FIN from both sides.
    Closed,
    /// FIN from one side only.
    HalfClosed,
    /// Reset.
    Reset,
}

impl TcpEnd {
    /// Lower-case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            TcpEnd::Open => "open",
            TcpEnd::Closed => "closed",
            TcpEnd::HalfClosed => "half-closed",
            TcpEnd::Reset => "reset",
        }
    }
}
