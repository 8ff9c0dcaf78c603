//! Frame opcodes (RFC 6455 §5.2, §11.8).

use std::fmt;

/// Bits of the first header byte that carry the opcode.
pub const OPCODE_MASK: u8 = 0x0F;
/// Opcodes with this bit set are control frames (RFC 6455 §5.5).
pub const CONTROL_BIT: u8 = 0x08;

const CONTINUATION: u8 = 0x0;
const TEXT: u8 = 0x1;
const BINARY: u8 = 0x2;
const CLOSE: u8 = 0x8;
const PING: u8 = 0x9;
const PONG: u8 = 0xA;

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

impl OpCode {
    /// True for control opcodes (0x8-0xF), including reserved ones.
    pub fn is_control(self) -> bool {
        u8::from(self) & CONTROL_BIT != 0
    }

    /// True for data opcodes (0x0-0x7), including reserved ones.
    pub fn is_data(self) -> bool {
        !self.is_control()
    }

    /// True for opcodes RFC 6455 reserves for future use (0x3-0x7, 0xB-0xF).
    pub fn is_reserved(self) -> bool {
        matches!(self, OpCode::ReservedData(_) | OpCode::ReservedControl(_))
    }

    /// Wireshark's label for this opcode ("Text", "Connection Close", "Reserved", ...).
    pub fn name(self) -> &'static str {
        match self {
            OpCode::Continuation => "Continuation",
            OpCode::Text => "Text",
            OpCode::Binary => "Binary",
            OpCode::Close => "Connection Close",
            OpCode::Ping => "Ping",
            OpCode::Pong => "Pong",
            OpCode::ReservedData(_) | OpCode::ReservedControl(_) => "Reserved",
        }
    }
}

impl From<u8> for OpCode {
    /// Converts the low 4 bits of `byte`; the high bits are ignored.
    fn from(byte: u8) -> Self {
        match byte & OPCODE_MASK {
            CONTINUATION => OpCode::Continuation,
            TEXT => OpCode::Text,
            BINARY => OpCode::Binary,
            CLOSE => OpCode::Close,
            PING => OpCode::Ping,
            PONG => OpCode::Pong,
            n if n & CONTROL_BIT == 0 => OpCode::ReservedData(n),
            n => OpCode::ReservedControl(n),
        }
    }
}

impl From<OpCode> for u8 {
    fn from(op: OpCode) -> u8 {
        match op {
            OpCode::Continuation => CONTINUATION,
            OpCode::Text => TEXT,
            OpCode::Binary => BINARY,
            OpCode::Close => CLOSE,
            OpCode::Ping => PING,
            OpCode::Pong => PONG,
            OpCode::ReservedData(n) | OpCode::ReservedControl(n) => n & OPCODE_MASK,
        }
    }
}

impl fmt::Display for OpCode {
    /// The Wireshark label; reserved opcodes add their number, e.g. "Reserved (0x3)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_reserved() {
            write!(f, "{} (0x{:X})", self.name(), u8::from(*self))
        } else {
            f.write_str(self.name())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_nibble() {
        for n in 0u8..=0x0F {
            let op = OpCode::from(n);
            assert_eq!(u8::from(op), n);
            assert_eq!(op.is_control(), n >= 8);
            assert_eq!(op.is_data(), n < 8);
            assert_eq!(op.is_reserved(), matches!(n, 0x3..=0x7 | 0xB..=0xF));
        }
    }

    #[test]
    fn ignores_high_bits() {
        assert_eq!(OpCode::from(0x81), OpCode::Text);
        assert_eq!(OpCode::from(0xF8), OpCode::Close);
        assert_eq!(OpCode::from(0x73), OpCode::ReservedData(3));
        assert_eq!(OpCode::from(0x0B), OpCode::ReservedControl(0xB));
    }

    #[test]
    fn names_and_display() {
        assert_eq!(OpCode::Close.name(), "Connection Close");
        assert_eq!(OpCode::Close.to_string(), "Connection Close");
        assert_eq!(OpCode::Continuation.to_string(), "Continuation");
        assert_eq!(OpCode::Pong.to_string(), "Pong");
        assert_eq!(OpCode::ReservedData(3).name(), "Reserved");
        assert_eq!(OpCode::ReservedData(3).to_string(), "Reserved (0x3)");
        assert_eq!(OpCode::ReservedControl(0xB).to_string(), "Reserved (0xB)");
    }
}
