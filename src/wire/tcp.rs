//! TCP header view and options.

use etherparse::TcpHeaderSlice;
use etherparse::err::tcp::{HeaderError, HeaderSliceError};

/// Length of a TCP header without options.
pub const HEADER_LEN: usize = 20;
/// Offset of the byte holding the data offset (high nibble) and the NS flag (bit 0).
const DATA_OFFSET_NS: usize = 12;
/// Offset of the byte holding CWR..FIN.
const FLAGS: usize = 13;
/// The NS bit within [`DATA_OFFSET_NS`].
const NS_BIT: u8 = 0x01;

/// TCP option kinds (IANA "TCP Option Kind Numbers").
pub mod kind {
    /// End of option list.
    pub const EOL: u8 = 0;
    /// No-operation.
    pub const NOP: u8 = 1;
    /// Maximum segment size.
    pub const MSS: u8 = 2;
    /// Window scale.
    pub const WINDOW_SCALE: u8 = 3;
    /// SACK permitted.
    pub const SACK_PERMITTED: u8 = 4;
    /// SACK.
    pub const SACK: u8 = 5;
    /// Timestamps.
    pub const TIMESTAMP: u8 = 8;
}

/// Option lengths (kind and length bytes included).
const MSS_LEN: u8 = 4;
const WINDOW_SCALE_LEN: u8 = 3;
const SACK_PERMITTED_LEN: u8 = 2;
const TIMESTAMP_LEN: u8 = 10;
/// A SACK option: 2 bytes then 8 per block.
const SACK_BASE_LEN: u8 = 2;
const SACK_BLOCK_LEN: u8 = 8;
const SACK_MAX_BLOCKS: usize = 4;

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

/// Why a TCP header could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TcpHeaderError {
    /// Fewer bytes than the header needs (`needed` is 20, or the data offset once known).
    Truncated {
        /// Bytes available.
        captured: usize,
        /// Bytes the header needs.
        needed: usize,
    },
    /// Data offset below 5 words.
    BadDataOffset {
        /// The data offset field (in 32-bit words).
        data_offset: u8,
    },
}

impl std::fmt::Display for TcpHeaderError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TcpHeaderError::Truncated { captured, needed } => {
                write!(f, "TCP header truncated ({captured} of {needed} bytes)")
            }
            TcpHeaderError::BadDataOffset { data_offset } => write!(
                f,
                "Bogus TCP header length ({}, must be at least {HEADER_LEN})",
                u32::from(*data_offset) * 4
            ),
        }
    }
}

impl std::error::Error for TcpHeaderError {}

/// Parses a TCP segment from the IP payload bytes that were captured.
///
/// `missing_payload` is how many bytes the IP length announced beyond `data` (cut off by
/// the snapshot length); it is carried into [`TcpSegment::missing_payload`].
pub fn parse(data: &[u8], missing_payload: u32) -> Result<TcpSegment<'_>, TcpHeaderError> {
    let header = TcpHeaderSlice::from_slice(data).map_err(|e| match e {
        HeaderSliceError::Len(len) => TcpHeaderError::Truncated {
            captured: len.len,
            needed: len.required_len,
        },
        HeaderSliceError::Content(HeaderError::DataOffsetTooSmall { data_offset }) => {
            TcpHeaderError::BadDataOffset { data_offset }
        }
    })?;
    let raw = header.slice();
    let header_len = raw.len();
    let ns = raw.get(DATA_OFFSET_NS).map_or(0, |b| b & NS_BIT);
    let low = raw.get(FLAGS).copied().unwrap_or(0);
    Ok(TcpSegment {
        src_port: header.source_port(),
        dst_port: header.destination_port(),
        seq: header.sequence_number(),
        ack: header.acknowledgment_number(),
        flags: TcpFlags(u16::from(ns) << 8 | u16::from(low)),
        window: header.window_size(),
        urgent: header.urgent_pointer(),
        options: raw.get(HEADER_LEN..).unwrap_or_default(),
        payload: data.get(header_len..).unwrap_or_default(),
        missing_payload,
    })
}

/// Iterates the options in `raw` in packet order; stops at malformed data.
pub fn options(raw: &[u8]) -> impl Iterator<Item = TcpOption> + '_ {
    Options { rest: raw }
}

/// Iterator over TCP options (see [`options`]); allocation-free.
#[derive(Debug, Clone)]
pub struct Options<'a> {
    rest: &'a [u8],
}

impl Iterator for Options<'_> {
    type Item = TcpOption;

    fn next(&mut self) -> Option<TcpOption> {
        let (&kind, after_kind) = self.rest.split_first()?;
        match kind {
            kind::EOL => {
                self.rest = &[];
                return Some(TcpOption::EndOfList);
            }
            kind::NOP => {
                self.rest = after_kind;
                return Some(TcpOption::Nop);
            }
            _ => {}
        }
        let Some(&len) = after_kind.first() else {
            self.rest = &[];
            return Some(TcpOption::Unknown { kind, len: 0 });
        };
        let Some(body) = self.rest.get(2..usize::from(len)) else {
            // Length below 2 or beyond the header: nothing after it can be trusted.
            self.rest = &[];
            return Some(TcpOption::Unknown { kind, len });
        };
        self.rest = self.rest.get(usize::from(len)..).unwrap_or_default();
        Some(decode_option(kind, len, body))
    }
}

/// Decodes one option of a consistent length; a known kind with a wrong length is Unknown.
fn decode_option(kind: u8, len: u8, body: &[u8]) -> TcpOption {
    let unknown = TcpOption::Unknown { kind, len };
    match (kind, len) {
        (kind::MSS, MSS_LEN) => match body {
            [a, b] => TcpOption::Mss(u16::from_be_bytes([*a, *b])),
            _ => unknown,
        },
        (kind::WINDOW_SCALE, WINDOW_SCALE_LEN) => match body {
            [shift] => TcpOption::WindowScale(*shift),
            _ => unknown,
        },
        (kind::SACK_PERMITTED, SACK_PERMITTED_LEN) => TcpOption::SackPermitted,
        (kind::TIMESTAMP, TIMESTAMP_LEN) => match body {
            [v0, v1, v2, v3, e0, e1, e2, e3] => TcpOption::Timestamp {
                value: u32::from_be_bytes([*v0, *v1, *v2, *v3]),
                echo: u32::from_be_bytes([*e0, *e1, *e2, *e3]),
            },
            _ => unknown,
        },
        (kind::SACK, _) => {
            let blocks_len = len.wrapping_sub(SACK_BASE_LEN);
            let count = usize::from(blocks_len / SACK_BLOCK_LEN);
            if len < SACK_BASE_LEN + SACK_BLOCK_LEN
                || !blocks_len.is_multiple_of(SACK_BLOCK_LEN)
                || count > SACK_MAX_BLOCKS
            {
                return unknown;
            }
            let mut blocks = [(0u32, 0u32); SACK_MAX_BLOCKS];
            for (slot, chunk) in blocks.iter_mut().zip(body.chunks_exact(8)) {
                if let [l0, l1, l2, l3, r0, r1, r2, r3] = chunk {
                    *slot = (
                        u32::from_be_bytes([*l0, *l1, *l2, *l3]),
                        u32::from_be_bytes([*r0, *r1, *r2, *r3]),
                    );
                }
            }
            TcpOption::Sack {
                blocks,
                count: count as u8,
            }
        }
        _ => unknown,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A TCP header with the given options (padded to 4 bytes) and payload.
    pub(crate) fn segment(flags: u16, options: &[u8], payload: &[u8]) -> Vec<u8> {
        let mut opts = options.to_vec();
        while !opts.len().is_multiple_of(4) {
            opts.push(kind::EOL);
        }
        let words = ((HEADER_LEN + opts.len()) / 4) as u8;
        let mut v = Vec::new();
        v.extend(54321u16.to_be_bytes());
        v.extend(80u16.to_be_bytes());
        v.extend(0x0102_0304u32.to_be_bytes());
        v.extend(0xa0b0_c0d0u32.to_be_bytes());
        v.push(words << 4 | (flags >> 8) as u8);
        v.push(flags as u8);
        v.extend(65535u16.to_be_bytes());
        v.extend(0xbeefu16.to_be_bytes()); // checksum
        v.extend(7u16.to_be_bytes());
        v.extend(opts);
        v.extend_from_slice(payload);
        v
    }

    /// The options of a macOS SYN.
    pub(crate) const MACOS_SYN_OPTIONS: [u8; 24] = [
        2, 4, 0x3f, 0xd8, // MSS 16344
        1,    // NOP
        3, 3, 6, // WS 6
        1, 1, // NOP NOP
        8, 10, 0x12, 0x34, 0x56, 0x78, 0, 0, 0, 0, // TS val 0x12345678 ecr 0
        4, 2, // SACK_PERM
        0, 0, // EOL + padding
    ];

    #[test]
    fn macos_syn_options() {
        let got: Vec<_> = options(&MACOS_SYN_OPTIONS).collect();
        assert_eq!(
            got,
            vec![
                TcpOption::Mss(16344),
                TcpOption::Nop,
                TcpOption::WindowScale(6),
                TcpOption::Nop,
                TcpOption::Nop,
                TcpOption::Timestamp {
                    value: 0x1234_5678,
                    echo: 0
                },
                TcpOption::SackPermitted,
                TcpOption::EndOfList,
            ]
        );
    }

    #[test]
    fn sack_blocks_and_bad_lengths() {
        let mut raw = vec![1, 1, kind::SACK, 18];
        raw.extend(1u32.to_be_bytes());
        raw.extend(2u32.to_be_bytes());
        raw.extend(3u32.to_be_bytes());
        raw.extend(4u32.to_be_bytes());
        let got: Vec<_> = options(&raw).collect();
        let mut blocks = [(0, 0); 4];
        blocks[0] = (1, 2);
        blocks[1] = (3, 4);
        assert_eq!(got[2], TcpOption::Sack { blocks, count: 2 });
        assert_eq!(got.len(), 3);

        // Known kind, wrong but consistent length: Unknown, then keep going.
        let got: Vec<_> = options(&[2, 3, 0, 1]).collect();
        assert_eq!(
            got,
            vec![TcpOption::Unknown { kind: 2, len: 3 }, TcpOption::Nop]
        );
        // Length running past the end, length 0 or 1, missing length: Unknown, then stop.
        for raw in [&[2u8, 40, 0, 0][..], &[9, 0, 1, 1], &[9, 1, 1], &[9]] {
            let got: Vec<_> = options(raw).collect();
            assert_eq!(got.len(), 1, "{raw:?}");
            assert!(matches!(got[0], TcpOption::Unknown { kind: _, .. }));
        }
        // SACK with a partial block or five blocks.
        assert_eq!(
            options(&[5, 6, 0, 0, 0, 0]).next(),
            Some(TcpOption::Unknown { kind: 5, len: 6 })
        );
        let five = [&[5u8, 42][..], &[0; 40]].concat();
        assert_eq!(
            options(&five).next(),
            Some(TcpOption::Unknown { kind: 5, len: 42 })
        );
        // Unknown kinds are skipped by their length.
        let got: Vec<_> = options(&[30, 4, 0xaa, 0xbb, 1]).collect();
        assert_eq!(
            got,
            vec![TcpOption::Unknown { kind: 30, len: 4 }, TcpOption::Nop]
        );
        assert_eq!(options(&[]).count(), 0);
    }

    #[test]
    fn options_never_panic() {
        let mut seed = 0x9e37_79b9_u32;
        for _ in 0..5000 {
            let mut raw = Vec::new();
            for _ in 0..(seed % 41) {
                seed ^= seed << 13;
                seed ^= seed >> 17;
                seed ^= seed << 5;
                raw.push((seed % 12) as u8);
            }
            assert!(options(&raw).count() <= raw.len());
        }
    }

    #[test]
    fn parses_header_flags_options_payload() {
        let all = TcpFlags::NS | TcpFlags::SYN | TcpFlags::ACK | TcpFlags::ECE;
        let bytes = segment(all, &MACOS_SYN_OPTIONS, b"hi");
        let seg = parse(&bytes, 5).unwrap();
        assert_eq!(seg.src_port, 54321);
        assert_eq!(seg.dst_port, 80);
        assert_eq!(seg.seq, 0x0102_0304);
        assert_eq!(seg.ack, 0xa0b0_c0d0);
        assert_eq!(seg.flags, TcpFlags(all));
        assert!(seg.flags.has(TcpFlags::SYN | TcpFlags::NS));
        assert!(!seg.flags.has(TcpFlags::FIN));
        assert_eq!(seg.window, 65535);
        assert_eq!(seg.urgent, 7);
        assert_eq!(seg.options, &MACOS_SYN_OPTIONS[..]);
        assert_eq!(seg.payload, b"hi");
        assert_eq!(seg.missing_payload, 5);
        assert_eq!(seg.wire_len(), 7);
    }

    #[test]
    fn truncated_headers_at_every_length() {
        let bytes = segment(TcpFlags::ACK, &MACOS_SYN_OPTIONS, b"");
        for cut in 0..bytes.len() {
            let needed = if cut < HEADER_LEN {
                HEADER_LEN
            } else {
                bytes.len()
            };
            assert_eq!(
                parse(&bytes[..cut], 0),
                Err(TcpHeaderError::Truncated {
                    captured: cut,
                    needed
                })
            );
        }
        assert!(parse(&bytes, 0).is_ok());
        let mut bad = segment(0, &[], b"");
        bad[DATA_OFFSET_NS] = 4 << 4;
        assert_eq!(
            parse(&bad, 0),
            Err(TcpHeaderError::BadDataOffset { data_offset: 4 })
        );
        assert_eq!(
            TcpHeaderError::BadDataOffset { data_offset: 4 }.to_string(),
            "Bogus TCP header length (16, must be at least 20)"
        );
    }
}
