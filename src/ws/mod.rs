//! WebSocket (RFC 6455): opcodes and close codes, frame header view, masking, the
//! streaming frame decoder, messages (joined, inflated, UTF-8 checked) and Ping/Pong
//! pairing.

pub mod close;
pub mod decoder;
pub mod deflate;
pub mod frame;
pub mod mask;
pub mod message;
pub mod opcode;
pub mod utf8;

pub use close::{CloseBody, CloseCode, parse_close_body};
pub use decoder::{DecodedFrame, DecoderLimits, FrameDecoder, GapOutcome, PendingFrame};
pub use deflate::{InflateError, Inflater};
pub use frame::{FrameHeader, LengthEncoding};
pub use message::{
    Fragmentation, FrameTimes, InflateProblem, Message, MessageAssembler, MessageLimits, PingMatch,
    PingTracker, Pushed,
};
pub use opcode::OpCode;
pub use utf8::{Utf8Stream, Utf8Verdict};
