//! pcapng: sections of either byte order, several interfaces with their own link type,
//! timestamp resolution and offset; enhanced and simple packet blocks.

use super::record::{MAGIC_LEN, MAX_RECORD_LEN, NANOS_PER_SEC, Step, describe, timestamp_from};
use super::{LinkType, Timestamp};
use pcap_parser::nom::{self, Offset};
use pcap_parser::pcapng::{
    self, Block, EnhancedPacketBlock, OptionCode, SecretsType, SimplePacketBlock,
};
use pcap_parser::traits::PcapNGPacketBlock;

/// pcapng Section Header Block type (a palindrome: same in both byte orders).
pub(super) const PCAPNG_SHB_MAGIC: [u8; 4] = [0x0a, 0x0d, 0x0d, 0x0a];
/// Key log text kept for the caller between two polls; what comes beyond is dropped. A key
/// log line is under 200 bytes, so this is hundreds of thousands of connections.
const MAX_PENDING_SECRETS: usize = MAX_RECORD_LEN;

/// Offset of the block total length in a pcapng block.
const PCAPNG_BLOCK_LEN: usize = 4;
/// Length of the pcapng block type + block total length fields.
const PCAPNG_BLOCK_HEADER_LEN: usize = 8;

/// pcapng `if_tsresol` default: microseconds.
const DEFAULT_TSRESOL: u8 = 6;
/// `if_tsresol` high bit: the rest is a power of two instead of a power of ten.
const TSRESOL_POW2: u8 = 0x80;

/// pcapng: byte order of the current section and its interfaces.
#[derive(Default)]
pub(super) struct Ng {
    big_endian: bool,
    interfaces: Vec<Interface>,
    last_timestamp: Timestamp,
    /// TLS key log text of the Decryption Secrets Blocks not yet taken. Never printed: no
    /// Debug on this type.
    secrets: Vec<u8>,
}

/// What an Interface Description Block says about the packets of that interface.
#[derive(Debug, Clone, Copy)]
struct Interface {
    link_type: LinkType,
    snaplen: u32,
    tsresol: u8,
    tsoffset: i64,
}

impl Ng {
    pub(super) fn step(&mut self, input: &[u8]) -> Step {
        if let Some(len) = input.get(PCAPNG_BLOCK_LEN..PCAPNG_BLOCK_LEN + 4) {
            let bytes = [len[0], len[1], len[2], len[3]];
            // The first block of a section decides the byte order; accept either here.
            let len = if self.big_endian {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            };
            let is_shb = input.get(..MAGIC_LEN) == Some(&PCAPNG_SHB_MAGIC[..]);
            if !is_shb
                && (len as usize > MAX_RECORD_LEN || (len as usize) < PCAPNG_BLOCK_HEADER_LEN + 4)
            {
                return Step::Malformed(format!("pcapng block length {len} is implausible"));
            }
        }
        let parsed = if self.big_endian {
            pcapng::parse_block_be(input)
        } else {
            pcapng::parse_block_le(input)
        };
        let (rest, block) = match parsed {
            Ok(ok) => ok,
            Err(nom::Err::Incomplete(_)) => return Step::Incomplete,
            Err(nom::Err::Error(e) | nom::Err::Failure(e)) => {
                return Step::Malformed(format!("pcapng block: {}", describe(&e)));
            }
        };
        let consumed = input.offset(rest);
        match block {
            Block::SectionHeader(shb) => {
                self.big_endian = shb.big_endian();
                self.interfaces.clear();
                Step::Skip(consumed)
            }
            Block::InterfaceDescription(idb) => {
                let mut interface = Interface {
                    link_type: LinkType(u32::from(idb.linktype.0 as u16)),
                    snaplen: idb.snaplen,
                    tsresol: DEFAULT_TSRESOL,
                    tsoffset: 0,
                };
                for option in &idb.options {
                    let value = option.value();
                    if option.code == OptionCode::IfTsresol
                        && let Some(&resol) = value.first()
                    {
                        interface.tsresol = resol;
                    } else if option.code == OptionCode::IfTsoffset
                        && let Ok(bytes) = <[u8; 8]>::try_from(value)
                    {
                        interface.tsoffset = if self.big_endian {
                            i64::from_be_bytes(bytes)
                        } else {
                            i64::from_le_bytes(bytes)
                        };
                    }
                }
                self.interfaces.push(interface);
                Step::Skip(consumed)
            }
            Block::EnhancedPacket(epb) => self.enhanced(input, consumed, &epb),
            Block::SimplePacket(spb) => self.simple(input, consumed, &spb),
            Block::DecryptionSecrets(dsb) => {
                if dsb.secrets_type == SecretsType::TlsKeyLog {
                    // `data` includes the padding to 32 bits; `secrets_len` is the text.
                    let text = dsb.data.get(..dsb.secrets_len as usize).unwrap_or(dsb.data);
                    self.keep_secrets(text);
                }
                Step::Skip(consumed)
            }
            _ => Step::Skip(consumed),
        }
    }

    /// Adds one block's key log text to what the caller has not taken yet, up to
    /// [`MAX_PENDING_SECRETS`]: a file of many blocks, never polled, cannot fill memory.
    fn keep_secrets(&mut self, text: &[u8]) {
        if text.is_empty() || self.secrets.len() + text.len() + 1 > MAX_PENDING_SECRETS {
            return;
        }
        // Joined blocks stay one line per key even when a block lacks its final newline.
        if self.secrets.last().is_some_and(|&b| b != b'\n') {
            self.secrets.push(b'\n');
        }
        self.secrets.extend_from_slice(text);
    }

    /// The key log text read since the last call, if any.
    pub(super) fn take_secrets(&mut self) -> Option<Vec<u8>> {
        (!self.secrets.is_empty()).then(|| std::mem::take(&mut self.secrets))
    }

    fn enhanced(&mut self, input: &[u8], consumed: usize, epb: &EnhancedPacketBlock<'_>) -> Step {
        let Some(interface) = self.interfaces.get(epb.if_id as usize) else {
            return Step::Malformed(format!(
                "enhanced packet block for undeclared interface {}",
                epb.if_id
            ));
        };
        let ticks = (u64::from(epb.ts_high) << 32) | u64::from(epb.ts_low);
        let timestamp = ng_timestamp(ticks, interface.tsresol, interface.tsoffset);
        self.last_timestamp = timestamp;
        let data = epb.packet_data();
        Step::Packet {
            consumed,
            data_off: input.offset(data),
            data_len: data.len(),
            timestamp,
            link_type: interface.link_type,
            original_len: epb.origlen,
        }
    }

    fn simple(&mut self, input: &[u8], consumed: usize, spb: &SimplePacketBlock<'_>) -> Step {
        let Some(interface) = self.interfaces.first() else {
            return Step::Malformed("simple packet block before any interface".to_string());
        };
        let mut data = spb.packet_data();
        if interface.snaplen != 0 {
            data = data.get(..interface.snaplen as usize).unwrap_or(data);
        }
        Step::Packet {
            consumed,
            data_off: input.offset(data),
            data_len: data.len(),
            // A simple packet block has no timestamp; reuse the last one seen.
            timestamp: self.last_timestamp,
            link_type: interface.link_type,
            original_len: spb.origlen,
        }
    }
}

/// Converts a pcapng timestamp in `if_tsresol` units, plus `if_tsoffset` seconds.
///
/// An impossible resolution (10^n beyond u128) falls back to the microsecond default.
pub(super) fn ng_timestamp(ticks: u64, tsresol: u8, tsoffset: i64) -> Timestamp {
    let ticks = u128::from(ticks);
    let (secs, frac_nanos) = if tsresol & TSRESOL_POW2 != 0 {
        let shift = u32::from(tsresol & !TSRESOL_POW2);
        let secs = ticks >> shift;
        let frac = ticks - (secs << shift);
        (secs, (frac * u128::from(NANOS_PER_SEC)) >> shift)
    } else {
        let units = 10u128.checked_pow(u32::from(tsresol)).unwrap_or(1_000_000);
        let secs = ticks / units;
        let frac = ticks % units;
        // frac < units <= 10^38 would overflow when multiplied; scale down first if needed.
        let nanos = if units >= u128::from(NANOS_PER_SEC) {
            frac / (units / u128::from(NANOS_PER_SEC))
        } else {
            frac * (u128::from(NANOS_PER_SEC) / units)
        };
        (secs, nanos)
    };
    let secs = i64::try_from(secs).unwrap_or(i64::MAX);
    timestamp_from(secs.saturating_add(tsoffset), frac_nanos as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::testutil::*;
    use crate::capture::{CaptureError, FileSource, PacketSource};

    #[test]
    fn pcapng_two_interfaces() {
        let (pkts, err) = read_bytes(&sample_pcapng_le(), 1 << 20).unwrap();
        assert!(err.is_none(), "{err:?}");
        assert_eq!(pkts.len(), 3);
        assert_eq!(pkts[0].ts, ts(1_700_000_000, 123_456_000));
        assert_eq!(pkts[0].link, LinkType::ETHERNET);
        assert_eq!(pkts[0].data, b"eth-packet");
        assert_eq!(pkts[0].orig, 10);
        assert_eq!(pkts[1].ts, ts(1_700_000_001, 7));
        assert_eq!(pkts[1].link, LinkType::NULL);
        assert_eq!(pkts[1].data, b"null");
        assert_eq!(pkts[1].orig, 100);
        // Simple packet block: interface 0, last timestamp.
        assert_eq!(pkts[2].ts, ts(1_700_000_001, 7));
        assert_eq!(pkts[2].link, LinkType::ETHERNET);
        assert_eq!(pkts[2].data, b"simple");
    }

    #[test]
    fn pcapng_undeclared_interface_is_malformed() {
        let mut v = ng_shb(Order::Le);
        v.extend(ng_idb(Order::Le, 1, None, None));
        v.extend(ng_epb(Order::Le, 0, 0, b"a", 1));
        v.extend(ng_epb(Order::Le, 3, 0, b"b", 1));
        let (pkts, err) = read_bytes(&v, 1 << 20).unwrap();
        assert_eq!(pkts.len(), 1);
        assert!(matches!(
            err,
            Some(CaptureError::Malformed {
                packets_read: 1,
                ..
            })
        ));
    }

    #[test]
    fn timestamps_conversions() {
        assert_eq!(ng_timestamp(1_500_000, 6, 0), ts(1, 500_000_000));
        assert_eq!(ng_timestamp(1_500_000_001, 9, -1), ts(0, 500_000_001));
        assert_eq!(ng_timestamp(3, 0, 0), ts(3, 0));
        assert_eq!(ng_timestamp(15, 0x80 | 1, 0), ts(7, 500_000_000));
        assert_eq!(ng_timestamp(u64::MAX, 0x80 | 127, 0).secs, 0);
        assert_eq!(ng_timestamp(u64::MAX, 127, 0).secs, 18_446_744_073_709);
        assert_eq!(ng_timestamp(u64::MAX, 38, 0), ts(0, 0));
        assert_eq!(timestamp_from(1, 2_500_000_000), ts(3, 500_000_000));
    }

    #[test]
    fn pcapng_big_endian_pow2_and_offset_and_new_section() {
        let mut v = ng_shb(Order::Be);
        // 2^-10 s resolution, +100 s offset.
        v.extend(ng_idb(Order::Be, 101, Some(0x80 | 10), Some(100)));
        v.extend(ng_epb(Order::Be, 0, (5 << 10) | 512, b"raw", 3));
        // A new little-endian section resets the interfaces.
        v.extend(ng_shb(Order::Le));
        v.extend(ng_idb(Order::Le, 276, Some(3), None));
        v.extend(ng_epb(Order::Le, 0, 1_234, b"ms", 2));
        for chunk in [1, 13, 1 << 20] {
            let (pkts, err) = read_bytes(&v, chunk).unwrap();
            assert!(err.is_none(), "{err:?}");
            assert_eq!(pkts.len(), 2);
            assert_eq!(pkts[0].ts, ts(105, 500_000_000));
            assert_eq!(pkts[0].link, LinkType::RAW);
            assert_eq!(pkts[0].data, b"raw");
            assert_eq!(pkts[1].ts, ts(1, 234_000_000));
            assert_eq!(pkts[1].link, LinkType::LINUX_SLL2);
        }
    }

    /// A Decryption Secrets Block (pcapng draft, block type 0x0000000A): secrets type,
    /// secrets length, the secrets padded to 32 bits.
    fn ng_dsb(o: Order, kind: u32, secrets: &[u8]) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend(u32b(o, kind));
        body.extend(u32b(o, secrets.len() as u32));
        body.extend_from_slice(secrets);
        ng_block(o, 0x0000_000a, &body)
    }

    const TLSK: u32 = 0x544c_534b;
    const WIREGUARD: u32 = 0x5747_4b4c;

    /// Reads every packet, polling the secrets after each call as the app does; returns the
    /// packet payloads and, per poll that had some, the secrets.
    /// Secrets as polled: how many packets had been returned, and the bytes.
    type Polled = Vec<(usize, Vec<u8>)>;

    fn packets_and_secrets(bytes: &[u8], chunk: usize) -> (Vec<Vec<u8>>, Polled) {
        let mut src = FileSource::new(Trickle { data: bytes, chunk }).unwrap();
        let (mut pkts, mut secrets) = (Vec::new(), Vec::new());
        loop {
            let next = src.next_packet().unwrap().map(|p| p.data.to_vec());
            if let Some(s) = src.take_secrets() {
                secrets.push((pkts.len(), s));
            }
            match next {
                Some(data) => pkts.push(data),
                None => return (pkts, secrets),
            }
        }
    }

    #[test]
    fn decryption_secrets_are_exposed_not_mixed_into_packets() {
        for o in [Order::Le, Order::Be] {
            let mut v = ng_shb(o);
            v.extend(ng_dsb(o, TLSK, b"CLIENT_RANDOM aa bb\n"));
            v.extend(ng_idb(o, 1, None, None));
            v.extend(ng_epb(o, 0, 0, b"one", 3));
            // Another type of secrets is not TLS key log text.
            v.extend(ng_dsb(o, WIREGUARD, b"LOCAL_STATIC_PRIVATE_KEY = x\n"));
            v.extend(ng_epb(o, 0, 0, b"two", 3));
            // Odd length: the padding must not be exposed; two blocks between two polls.
            v.extend(ng_dsb(o, TLSK, b"CLIENT_RANDOM cc dd"));
            v.extend(ng_dsb(o, TLSK, b"CLIENT_RANDOM ee ff\n"));
            for chunk in [1, 5, 1 << 20] {
                let (pkts, secrets) = packets_and_secrets(&v, chunk);
                assert_eq!(pkts, vec![b"one".to_vec(), b"two".to_vec()]);
                let all: Vec<u8> = secrets.iter().flat_map(|(_, s)| s.clone()).collect();
                assert_eq!(
                    String::from_utf8(all).unwrap(),
                    "CLIENT_RANDOM aa bb\nCLIENT_RANDOM cc dd\nCLIENT_RANDOM ee ff\n"
                );
                // The first block is there before the first packet is processed.
                assert_eq!(secrets.first().map(|(at, _)| *at), Some(0));
            }
        }
    }

    #[test]
    fn no_secrets_in_plain_captures() {
        let (pkts, secrets) = packets_and_secrets(&sample_pcapng_le(), 1 << 20);
        assert_eq!(pkts.len(), 3);
        assert!(secrets.is_empty());
    }
}
