//! WebSocket (RFC 6455): opcodes and close codes, frame header view, masking, and the
//! streaming frame decoder.

pub mod close;
pub mod decoder;
pub mod frame;
pub mod mask;
pub mod opcode;

pub use close::{CloseBody, CloseCode, parse_close_body};
pub use decoder::{DecodedFrame, DecoderLimits, FrameDecoder, GapOutcome, PendingFrame};
pub use frame::{FrameHeader, LengthEncoding};
pub use opcode::OpCode;
