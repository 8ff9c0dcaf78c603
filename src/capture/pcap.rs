//! Legacy pcap (libpcap's format): file header and records, either byte order, µs or ns,
//! and Kuznetzov's modified records.

use super::record::{MAX_RECORD_LEN, Step, describe, timestamp_from};
use crate::capture::LinkType;
use pcap_parser::nom::{self, Offset};
use pcap_parser::{PcapError, PcapHeader};

/// Legacy pcap magic numbers as they appear in the first four bytes of the file.
pub(super) const PCAP_MAGIC_USEC_LE: [u8; 4] = [0xd4, 0xc3, 0xb2, 0xa1];
pub(super) const PCAP_MAGIC_USEC_BE: [u8; 4] = [0xa1, 0xb2, 0xc3, 0xd4];
pub(super) const PCAP_MAGIC_NSEC_LE: [u8; 4] = [0x4d, 0x3c, 0xb2, 0xa1];
pub(super) const PCAP_MAGIC_NSEC_BE: [u8; 4] = [0xa1, 0xb2, 0x3c, 0x4d];
/// Kuznetzov's "modified" pcap (little-endian only in pcap-parser).
pub(super) const PCAP_MAGIC_MODIFIED_LE: [u8; 4] = [0x34, 0xcd, 0xb2, 0xa1];
/// Every legacy magic number understood.
pub(super) const PCAP_MAGICS: [[u8; 4]; 5] = [
    PCAP_MAGIC_USEC_LE,
    PCAP_MAGIC_USEC_BE,
    PCAP_MAGIC_NSEC_LE,
    PCAP_MAGIC_NSEC_BE,
    PCAP_MAGIC_MODIFIED_LE,
];

/// Legacy pcap file header length.
pub(super) const PCAP_HEADER_LEN: usize = 24;
/// Legacy pcap record header length (ts_sec, ts_frac, caplen, origlen).
pub(super) const PCAP_RECORD_HEADER_LEN: usize = 16;
/// Offset of `caplen` in a legacy pcap record header.
const PCAP_RECORD_CAPLEN: usize = 8;
/// Offset of `origlen` in a legacy pcap record header.
const PCAP_RECORD_ORIGLEN: usize = 12;
/// The link-type field of a pcap header: the LINKTYPE value is the low 16 bits (the upper
/// bits carry FCS information).
const PCAP_LINKTYPE_MASK: u32 = 0xffff;

/// Legacy pcap: everything comes from the file header.
pub(super) struct Legacy {
    /// Parser of Kuznetzov's modified records; standard records are read directly.
    modified: Option<LegacyParseFn>,
    big_endian: bool,
    nanosecond: bool,
    link_type: LinkType,
}

type LegacyParseFn =
    fn(&[u8]) -> nom::IResult<&[u8], pcap_parser::LegacyPcapBlock<'_>, PcapError<&[u8]>>;

impl Legacy {
    pub(super) fn from_header(header: &PcapHeader) -> Self {
        let modified: Option<LegacyParseFn> = header
            .is_modified_format()
            .then_some(pcap_parser::parse_pcap_frame_modified);
        Legacy {
            modified,
            big_endian: header.is_bigendian(),
            nanosecond: header.is_nanosecond_precision(),
            link_type: LinkType(header.network.0 as u32 & PCAP_LINKTYPE_MASK),
        }
    }

    pub(super) fn step(&mut self, input: &[u8]) -> Step {
        if self.modified.is_none() {
            return self.step_standard(input);
        }
        if let Some(caplen) = input.get(PCAP_RECORD_CAPLEN..PCAP_RECORD_CAPLEN + 4) {
            let le = u32::from_le_bytes([caplen[0], caplen[1], caplen[2], caplen[3]]);
            let be = u32::from_be_bytes([caplen[0], caplen[1], caplen[2], caplen[3]]);
            let caplen = if self.big_endian { be } else { le };
            if caplen as usize > MAX_RECORD_LEN {
                return Step::Malformed(format!("record length {caplen} is implausible"));
            }
        }
        let Some(parse) = self.modified else {
            return Step::Incomplete;
        };
        match parse(input) {
            Ok((rest, record)) => {
                let frac_nanos = if self.nanosecond {
                    u64::from(record.ts_usec)
                } else {
                    u64::from(record.ts_usec) * 1000
                };
                Step::Packet {
                    consumed: input.offset(rest),
                    data_off: input.offset(record.data),
                    data_len: record.data.len(),
                    timestamp: timestamp_from(i64::from(record.ts_sec), frac_nanos),
                    link_type: self.link_type,
                    original_len: record.origlen,
                }
            }
            Err(nom::Err::Incomplete(_)) => Step::Incomplete,
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => Step::Malformed(describe(&e)),
        }
    }
}

impl Legacy {
    /// A standard record (16-byte header, then `caplen` bytes), read in place: the hot
    /// path of every legacy capture, without a parser combinator per packet.
    fn step_standard(&self, input: &[u8]) -> Step {
        let Some(header) = input.first_chunk::<PCAP_RECORD_HEADER_LEN>() else {
            return Step::Incomplete;
        };
        let field = |at: usize| {
            let bytes = [header[at], header[at + 1], header[at + 2], header[at + 3]];
            if self.big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        let (secs, frac, caplen, origlen) = (
            field(0),
            field(4),
            field(PCAP_RECORD_CAPLEN),
            field(PCAP_RECORD_ORIGLEN),
        );
        let caplen = caplen as usize;
        if caplen > MAX_RECORD_LEN {
            return Step::Malformed(format!("record length {caplen} is implausible"));
        }
        let consumed = PCAP_RECORD_HEADER_LEN + caplen;
        if input.len() < consumed {
            return Step::Incomplete;
        }
        let frac_nanos = if self.nanosecond {
            u64::from(frac)
        } else {
            u64::from(frac) * 1000
        };
        Step::Packet {
            consumed,
            data_off: PCAP_RECORD_HEADER_LEN,
            data_len: caplen,
            timestamp: timestamp_from(i64::from(secs), frac_nanos),
            link_type: self.link_type,
            original_len: origlen,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::testutil::*;

    #[test]
    fn legacy_usec_little_endian() {
        let (pkts, err) = read_bytes(&sample_pcap_usec_le(), 1 << 20).unwrap();
        assert!(err.is_none());
        assert_eq!(
            pkts,
            vec![
                Owned {
                    ts: ts(1_700_000_000, 123_456_000),
                    link: LinkType::ETHERNET,
                    data: b"abcdef".to_vec(),
                    orig: 6
                },
                Owned {
                    ts: ts(1_700_000_001, 999_999_000),
                    link: LinkType::ETHERNET,
                    data: b"xy".to_vec(),
                    orig: 60
                },
            ]
        );
    }

    #[test]
    fn legacy_nsec_big_endian_trickled() {
        let file = pcap(
            Order::Be,
            true,
            0,
            &[(5, 999_999_999, b"hello", 5), (6, 1, b"", 0)],
        );
        for chunk in [1, 3, 7, 1 << 20] {
            let (pkts, err) = read_bytes(&file, chunk).unwrap();
            assert!(err.is_none());
            assert_eq!(pkts.len(), 2);
            assert_eq!(pkts[0].ts, ts(5, 999_999_999));
            assert_eq!(pkts[0].link, LinkType::NULL);
            assert_eq!(pkts[0].data, b"hello");
            assert_eq!(pkts[1].ts, ts(6, 1));
            assert!(pkts[1].data.is_empty());
        }
    }

    #[test]
    fn legacy_usec_be_and_nsec_le() {
        let be = pcap(Order::Be, false, 113, &[(7, 42, b"sll", 3)]);
        let (pkts, _) = read_bytes(&be, 5).unwrap();
        assert_eq!(pkts[0].ts, ts(7, 42_000));
        assert_eq!(pkts[0].link, LinkType::LINUX_SLL);
        let le = pcap(Order::Le, true, 276, &[(7, 42, b"sll2", 4)]);
        let (pkts, _) = read_bytes(&le, 5).unwrap();
        assert_eq!(pkts[0].ts, ts(7, 42));
        assert_eq!(pkts[0].link, LinkType::LINUX_SLL2);
    }

    #[test]
    fn legacy_link_type_fcs_bits_ignored() {
        let file = pcap(Order::Le, false, 0x1400_0001, &[(1, 0, b"x", 1)]);
        let (pkts, _) = read_bytes(&file, 64).unwrap();
        assert_eq!(pkts[0].link, LinkType::ETHERNET);
    }
}
