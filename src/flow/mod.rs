//! TCP flows: wrapping sequence arithmetic, per-direction reassembly, and Wireshark-style
//! TCP analysis (relative numbers, scaled windows, retransmission/dup-ACK/... flags).

pub mod analysis;
pub mod reassembly;
pub mod seq;
