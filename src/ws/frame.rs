//! Frame header view (RFC 6455 §5.2).
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! ```

use super::opcode::OpCode;

/// FIN bit of the first byte.
pub const FIN_BIT: u8 = 0x80;
/// The three RSV bits of the first byte.
pub const RSV_BITS: u8 = 0x70;
/// Shift that brings the RSV bits down to `0b111`.
pub const RSV_SHIFT: u32 = 4;
/// RSV1 within [`FrameHeader::rsv`] (used by permessage-deflate, RFC 7692).
pub const RSV1: u8 = 0b100;
/// RSV2 within [`FrameHeader::rsv`].
pub const RSV2: u8 = 0b010;
/// RSV3 within [`FrameHeader::rsv`].
pub const RSV3: u8 = 0b001;
/// MASK bit of the second byte.
pub const MASK_BIT: u8 = 0x80;
/// 7-bit payload length field of the second byte.
pub const LEN7_MASK: u8 = 0x7F;
/// 7-bit length value announcing a 16-bit extended length.
pub const LEN7_EXT16: u8 = 126;
/// 7-bit length value announcing a 64-bit extended length.
pub const LEN7_EXT64: u8 = 127;
/// The two fixed header bytes.
pub const BASE_HEADER_LEN: usize = 2;
/// Size of the 16-bit extended length.
pub const EXT16_LEN: usize = 2;
/// Size of the 64-bit extended length.
pub const EXT64_LEN: usize = 8;
/// Size of the masking key.
pub const MASK_KEY_LEN: usize = 4;
/// Largest possible header: 2 + 8 + 4 bytes.
pub const MAX_HEADER_LEN: usize = BASE_HEADER_LEN + EXT64_LEN + MASK_KEY_LEN;
/// Most significant bit of the 64-bit length, which must be 0 (RFC 6455 §5.2).
pub const LEN64_TOP_BIT: u64 = 1 << 63;

/// How the payload length was written on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LengthEncoding {
    /// In the 7-bit field (0-125).
    Short,
    /// 126 followed by a 16-bit length.
    Extended16,
    /// 127 followed by a 64-bit length.
    Extended64,
}

impl LengthEncoding {
    /// Number of extended length bytes following the second header byte.
    pub fn extra_len(self) -> usize {
        match self {
            LengthEncoding::Short => 0,
            LengthEncoding::Extended16 => EXT16_LEN,
            LengthEncoding::Extended64 => EXT64_LEN,
        }
    }
}

/// A decoded frame header. Every bit pattern is accepted; protocol violations (reserved
/// opcodes, RSV bits, non-minimal lengths, unmasked client frames) are for a later layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// FIN: this is the final fragment of a message.
    pub fin: bool,
    /// The three RSV bits: RSV1 = `0b100`, RSV2 = `0b010`, RSV3 = `0b001`.
    pub rsv: u8,
    /// The opcode.
    pub opcode: OpCode,
    /// The masking key, when the MASK bit is set.
    pub mask: Option<[u8; 4]>,
    /// The declared payload length.
    pub payload_len: u64,
    /// How the length was written.
    pub length_encoding: LengthEncoding,
    /// Total header size in bytes (2 to 14).
    pub header_len: usize,
}

impl FrameHeader {
    /// Decodes the header at the start of `buf`; `None` when `buf` is too short to hold all
    /// of it (need more bytes).
    pub fn parse(buf: &[u8]) -> Option<FrameHeader> {
        let (&b0, rest) = buf.split_first()?;
        let (&b1, rest) = rest.split_first()?;
        let len7 = b1 & LEN7_MASK;
        let (length_encoding, payload_len, rest) = match len7 {
            LEN7_EXT16 => {
                let (ext, rest) = rest.split_first_chunk::<EXT16_LEN>()?;
                (
                    LengthEncoding::Extended16,
                    u64::from(u16::from_be_bytes(*ext)),
                    rest,
                )
            }
            LEN7_EXT64 => {
                let (ext, rest) = rest.split_first_chunk::<EXT64_LEN>()?;
                (LengthEncoding::Extended64, u64::from_be_bytes(*ext), rest)
            }
            n => (LengthEncoding::Short, u64::from(n), rest),
        };
        let mask = if b1 & MASK_BIT != 0 {
            Some(*rest.first_chunk::<MASK_KEY_LEN>()?)
        } else {
            None
        };
        let header_len = BASE_HEADER_LEN
            + length_encoding.extra_len()
            + if mask.is_some() { MASK_KEY_LEN } else { 0 };
        Some(FrameHeader {
            fin: b0 & FIN_BIT != 0,
            rsv: (b0 & RSV_BITS) >> RSV_SHIFT,
            opcode: OpCode::from(b0),
            mask,
            payload_len,
            length_encoding,
            header_len,
        })
    }

    /// RSV1 is set.
    pub fn rsv1(&self) -> bool {
        self.rsv & RSV1 != 0
    }

    /// RSV2 is set.
    pub fn rsv2(&self) -> bool {
        self.rsv & RSV2 != 0
    }

    /// RSV3 is set.
    pub fn rsv3(&self) -> bool {
        self.rsv & RSV3 != 0
    }

    /// The MASK bit is set (a masking key is present).
    pub fn is_masked(&self) -> bool {
        self.mask.is_some()
    }

    /// A 64-bit length with its most significant bit set (forbidden by RFC 6455 §5.2).
    pub fn length_top_bit_set(&self) -> bool {
        self.length_encoding == LengthEncoding::Extended64 && self.payload_len & LEN64_TOP_BIT != 0
    }

    /// The length uses the shortest encoding, as RFC 6455 §5.2 requires ("the minimal
    /// number of bytes MUST be used").
    pub fn is_minimal_length(&self) -> bool {
        match self.length_encoding {
            LengthEncoding::Short => true,
            LengthEncoding::Extended16 => self.payload_len >= u64::from(LEN7_EXT16),
            LengthEncoding::Extended64 => self.payload_len > u64::from(u16::MAX),
        }
    }

    /// Header plus declared payload size, saturating at `u64::MAX`.
    pub fn frame_len(&self) -> u64 {
        (self.header_len as u64).saturating_add(self.payload_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unmasked_hello() {
        let buf = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let h = FrameHeader::parse(&buf).unwrap();
        assert!(h.fin);
        assert_eq!(h.rsv, 0);
        assert_eq!(h.opcode, OpCode::Text);
        assert_eq!(h.mask, None);
        assert!(!h.is_masked());
        assert_eq!(h.payload_len, 5);
        assert_eq!(h.length_encoding, LengthEncoding::Short);
        assert_eq!(h.header_len, 2);
        assert!(h.is_minimal_length());
        assert_eq!(h.frame_len(), 7);
    }

    #[test]
    fn masked_hello() {
        let buf = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f];
        let h = FrameHeader::parse(&buf).unwrap();
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(h.header_len, 6);
        assert_eq!(h.payload_len, 5);
    }

    #[test]
    fn fragment_flags() {
        let h = FrameHeader::parse(&[0x01, 0x03]).unwrap();
        assert!(!h.fin);
        assert_eq!(h.opcode, OpCode::Text);
        let h = FrameHeader::parse(&[0x80, 0x02]).unwrap();
        assert!(h.fin);
        assert_eq!(h.opcode, OpCode::Continuation);
    }

    #[test]
    fn rsv_bits() {
        let h = FrameHeader::parse(&[0xC1, 0x00]).unwrap();
        assert_eq!(h.rsv, RSV1);
        assert!(h.rsv1() && !h.rsv2() && !h.rsv3());
        let h = FrameHeader::parse(&[0x22, 0x00]).unwrap();
        assert!(!h.rsv1() && h.rsv2() && !h.rsv3());
        let h = FrameHeader::parse(&[0x1A, 0x00]).unwrap();
        assert!(!h.rsv1() && !h.rsv2() && h.rsv3());
        assert_eq!(h.opcode, OpCode::Pong);
        let h = FrameHeader::parse(&[0x70, 0x00]).unwrap();
        assert_eq!(h.rsv, 0b111);
    }

    #[test]
    fn extended_16() {
        let buf = [0x82, 0x7E, 0x01, 0x00];
        let h = FrameHeader::parse(&buf).unwrap();
        assert_eq!(h.payload_len, 256);
        assert_eq!(h.length_encoding, LengthEncoding::Extended16);
        assert_eq!(h.header_len, 4);
        assert!(h.is_minimal_length());
        let h = FrameHeader::parse(&[0x82, 0x7E, 0x00, 0x7D]).unwrap();
        assert!(!h.is_minimal_length());
    }

    #[test]
    fn extended_64() {
        let buf = [0x82, 0x7F, 0, 0, 0, 0, 0, 1, 0, 0];
        let h = FrameHeader::parse(&buf).unwrap();
        assert_eq!(h.payload_len, 65536);
        assert_eq!(h.length_encoding, LengthEncoding::Extended64);
        assert_eq!(h.header_len, 10);
        assert!(h.is_minimal_length());
        assert!(!h.length_top_bit_set());
        let h = FrameHeader::parse(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF]).unwrap();
        assert!(!h.is_minimal_length());
    }

    #[test]
    fn top_bit_and_max_header() {
        let buf = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        let h = FrameHeader::parse(&buf).unwrap();
        assert_eq!(h.payload_len, 1 << 63);
        assert!(h.length_top_bit_set());
        assert_eq!(h.header_len, MAX_HEADER_LEN);
        assert_eq!(h.mask, Some([1, 2, 3, 4]));
        let h = FrameHeader::parse(&[
            0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 1, 2, 3, 4,
        ])
        .unwrap();
        assert_eq!(h.frame_len(), u64::MAX);
    }

    #[test]
    fn need_more_at_every_prefix() {
        let full = [0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4];
        for cut in 0..full.len() {
            assert_eq!(FrameHeader::parse(&full[..cut]), None, "cut {cut}");
        }
        assert!(FrameHeader::parse(&full).is_some());
    }

    #[test]
    fn every_two_byte_prefix_is_total() {
        for b0 in 0..=u8::MAX {
            for b1 in 0..=u8::MAX {
                let mut buf = [0u8; MAX_HEADER_LEN];
                buf[0] = b0;
                buf[1] = b1;
                let h = FrameHeader::parse(&buf).unwrap();
                assert!(h.header_len <= MAX_HEADER_LEN);
                assert_eq!(FrameHeader::parse(&buf[..h.header_len]), Some(h));
            }
        }
    }
}
