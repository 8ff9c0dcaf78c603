//! Frame opcodes (RFC 6455 §5.2, §11.8).

/// A frame opcode; reserved values keep their number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpCode {
    /// 0x0
    Continuation,
    /// 0x1
    Text,
    /// 0x2
    Binary,
    /// 0x8
    Close,
    /// 0x9
    Ping,
    /// 0xA
    Pong,
    /// 0x3-0x7: reserved non-control.
    ReservedData(u8),
    /// 0xB-0xF: reserved control.
    ReservedControl(u8),
}
