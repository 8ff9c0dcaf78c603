//! Writing captures as pcapng (the IETF pcapng draft, little-endian sections): one Section
//! Header Block, one Interface Description Block, then an Enhanced Packet Block per packet.
//! `wsdissect live -w FILE.pcapng` saves through it; Wireshark, tshark and
//! `wsdissect read` open the result.

use super::{LinkType, RawPacket, Timestamp};
use std::io::{self, Write};

/// Section Header Block type.
const SHB_TYPE: u32 = 0x0A0D_0D0A;
/// Interface Description Block type.
const IDB_TYPE: u32 = 0x0000_0001;
/// Enhanced Packet Block type.
const EPB_TYPE: u32 = 0x0000_0006;
/// Decryption Secrets Block type.
const DSB_TYPE: u32 = 0x0000_000A;
/// Secrets type of a Decryption Secrets Block holding an NSS TLS key log (`TLSK`).
pub const SECRETS_TYPE_TLS_KEY_LOG: u32 = 0x544c_534b;
/// Byte-order magic: written in the section's byte order, read back to detect it.
const BYTE_ORDER_MAGIC: u32 = 0x1A2B_3C4D;
/// pcapng format version written.
const VERSION_MAJOR: u16 = 1;
const VERSION_MINOR: u16 = 0;
/// Section length: not known in advance (a streamed section).
const SECTION_LENGTH_UNKNOWN: i64 = -1;

/// `opt_endofopt`.
const OPT_END: u16 = 0;
/// `shb_userappl`: the application that wrote the section.
const OPT_SHB_USERAPPL: u16 = 4;
/// `if_name`: the interface name.
const OPT_IF_NAME: u16 = 2;
/// `if_tsresol`: timestamp units as a negative power of ten.
const OPT_IF_TSRESOL: u16 = 9;

/// Block type + block total length at the front, block total length again at the end.
const BLOCK_FRAMING_LEN: usize = 12;
/// Fixed part of an Enhanced Packet Block body: interface id, timestamp (2 × 32 bits),
/// captured length, original length.
const EPB_FIXED_LEN: usize = 20;
/// Longest option value an option header can describe (its length field is 16 bits).
const MAX_OPTION_LEN: usize = u16::MAX as usize;

/// Timestamp resolution of an interface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    /// Microseconds (pcapng's default; what libpcap delivers unless asked otherwise).
    Micros,
    /// Nanoseconds.
    Nanos,
}

impl Resolution {
    /// The `if_tsresol` value: the exponent of ten.
    fn exponent(self) -> u8 {
        match self {
            Resolution::Micros => 6,
            Resolution::Nanos => 9,
        }
    }

    /// Timestamp units per second.
    fn units_per_sec(self) -> u64 {
        match self {
            Resolution::Micros => 1_000_000,
            Resolution::Nanos => 1_000_000_000,
        }
    }

    /// Timestamp as a count of units since the epoch; times before 1970 are written as 0
    /// (pcapng timestamps are unsigned).
    fn ticks(self, ts: Timestamp) -> u64 {
        let secs = u64::try_from(ts.secs).unwrap_or(0);
        let frac = u64::from(ts.nanos) / (1_000_000_000 / self.units_per_sec());
        secs.saturating_mul(self.units_per_sec())
            .saturating_add(frac)
    }
}

/// The one interface a [`PcapngWriter`] section describes.
#[derive(Debug, Clone, Copy)]
pub struct InterfaceDescription<'a> {
    /// Link-layer header type of every packet written.
    pub link_type: LinkType,
    /// Snapshot length the packets were captured with (0 = unknown / unlimited).
    pub snaplen: u32,
    /// Interface name (`if_name`), when known.
    pub name: Option<&'a str>,
    /// Resolution of the timestamps given to [`PcapngWriter::write_packet`].
    pub resolution: Resolution,
}

/// Writes a pcapng stream: header blocks on creation, one Enhanced Packet Block per packet.
pub struct PcapngWriter<W: Write> {
    out: W,
    link_type: LinkType,
    resolution: Resolution,
    /// Reused block buffer, so each packet reaches `out` in one write.
    block: Vec<u8>,
}

impl<W: Write> PcapngWriter<W> {
    /// Writes the Section Header Block (naming `application`) and the Interface Description
    /// Block for `interface`.
    pub fn new(
        mut out: W,
        application: &str,
        interface: &InterfaceDescription<'_>,
    ) -> io::Result<Self> {
        let link_type = u16::try_from(interface.link_type.0).map_err(|_| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "link type {} does not fit pcapng's 16 bits",
                    interface.link_type.0
                ),
            )
        })?;
        let mut block = Vec::with_capacity(256);

        let mut body = Vec::with_capacity(64);
        body.extend(BYTE_ORDER_MAGIC.to_le_bytes());
        body.extend(VERSION_MAJOR.to_le_bytes());
        body.extend(VERSION_MINOR.to_le_bytes());
        body.extend(SECTION_LENGTH_UNKNOWN.to_le_bytes());
        push_option(&mut body, OPT_SHB_USERAPPL, application.as_bytes());
        push_option(&mut body, OPT_END, &[]);
        push_block(&mut block, SHB_TYPE, &body)?;

        body.clear();
        body.extend(link_type.to_le_bytes());
        body.extend(0u16.to_le_bytes()); // reserved
        body.extend(interface.snaplen.to_le_bytes());
        if let Some(name) = interface.name {
            push_option(&mut body, OPT_IF_NAME, name.as_bytes());
        }
        if interface.resolution != Resolution::Micros {
            push_option(
                &mut body,
                OPT_IF_TSRESOL,
                &[interface.resolution.exponent()],
            );
        }
        push_option(&mut body, OPT_END, &[]);
        push_block(&mut block, IDB_TYPE, &body)?;

        out.write_all(&block)?;
        Ok(PcapngWriter {
            out,
            link_type: interface.link_type,
            resolution: interface.resolution,
            block,
        })
    }

    /// Appends one packet as an Enhanced Packet Block of interface 0. The packet's link type
    /// must be the interface's.
    pub fn write_packet(&mut self, packet: &RawPacket<'_>) -> io::Result<()> {
        if packet.link_type != self.link_type {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "packet of link type {} on an interface of link type {}",
                    packet.link_type.0, self.link_type.0
                ),
            ));
        }
        let captured = u32::try_from(packet.data.len()).map_err(|_| too_long())?;
        let ticks = self.resolution.ticks(packet.timestamp);
        self.block.clear();
        let total = block_total_len(EPB_FIXED_LEN + packet.data.len())?;
        self.block.extend(EPB_TYPE.to_le_bytes());
        self.block.extend(total.to_le_bytes());
        self.block.extend(0u32.to_le_bytes()); // interface id
        self.block.extend(((ticks >> 32) as u32).to_le_bytes());
        self.block.extend((ticks as u32).to_le_bytes());
        self.block.extend(captured.to_le_bytes());
        self.block
            .extend(packet.original_len.max(captured).to_le_bytes());
        self.block.extend_from_slice(packet.data);
        pad_to_4(&mut self.block);
        self.block.extend(total.to_le_bytes());
        self.out.write_all(&self.block)
    }

    /// Appends a Decryption Secrets Block (pcapng draft §4.7): `secrets_type` (e.g.
    /// [`SECRETS_TYPE_TLS_KEY_LOG`]), the secrets' length, the secrets padded to 32 bits, no
    /// options. Readers apply it to the packets that follow, as `editcap --inject-secrets`
    /// writes it.
    pub fn write_secrets(&mut self, secrets_type: u32, secrets: &[u8]) -> io::Result<()> {
        let len = u32::try_from(secrets.len()).map_err(|_| too_long())?;
        self.block.clear();
        let mut body = Vec::with_capacity(8 + secrets.len() + 3);
        body.extend(secrets_type.to_le_bytes());
        body.extend(len.to_le_bytes());
        body.extend_from_slice(secrets);
        push_block(&mut self.block, DSB_TYPE, &body)?;
        self.out.write_all(&self.block)
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

fn too_long() -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        "packet too long for a pcapng block",
    )
}

/// Total length of a block whose body (before padding) is `body_len` bytes.
fn block_total_len(body_len: usize) -> io::Result<u32> {
    let padded = body_len.checked_next_multiple_of(4).ok_or_else(too_long)?;
    padded
        .checked_add(BLOCK_FRAMING_LEN)
        .and_then(|n| u32::try_from(n).ok())
        .ok_or_else(too_long)
}

/// Appends a whole block (framing, body, padding) to `out`.
fn push_block(out: &mut Vec<u8>, block_type: u32, body: &[u8]) -> io::Result<()> {
    let total = block_total_len(body.len())?;
    out.extend(block_type.to_le_bytes());
    out.extend(total.to_le_bytes());
    out.extend_from_slice(body);
    pad_to_4(out);
    out.extend(total.to_le_bytes());
    Ok(())
}

/// Appends an option (code, length, value padded to 32 bits); values longer than an
/// option can hold are cut (only names are written, so this never happens in practice).
fn push_option(out: &mut Vec<u8>, code: u16, value: &[u8]) {
    let value = value.get(..MAX_OPTION_LEN).unwrap_or(value);
    out.extend(code.to_le_bytes());
    out.extend((value.len() as u16).to_le_bytes());
    out.extend_from_slice(value);
    pad_to_4(out);
}

fn pad_to_4(out: &mut Vec<u8>) {
    while !out.len().is_multiple_of(4) {
        out.push(0);
    }
}

/// Classic pcap, nanosecond resolution (magic `0xa1b23c4d`), so timestamps are kept exactly.
pub struct PcapWriter<W: Write> {
    out: W,
    link_type: LinkType,
    record: Vec<u8>,
}

/// pcap's nanosecond-resolution magic number.
const PCAP_MAGIC_NANOS: u32 = 0xa1b2_3c4d;
/// Snapshot length written in the file header (every packet fits).
const PCAP_SNAPLEN: u32 = 262_144;

impl<W: Write> PcapWriter<W> {
    /// Writes the file header for packets of `link_type`.
    pub fn new(mut out: W, link_type: LinkType) -> io::Result<Self> {
        let mut head = Vec::with_capacity(24);
        head.extend(PCAP_MAGIC_NANOS.to_le_bytes());
        head.extend(2u16.to_le_bytes());
        head.extend(4u16.to_le_bytes());
        head.extend(0i32.to_le_bytes()); // thiszone
        head.extend(0u32.to_le_bytes()); // sigfigs
        head.extend(PCAP_SNAPLEN.to_le_bytes());
        head.extend(link_type.0.to_le_bytes());
        out.write_all(&head)?;
        Ok(PcapWriter {
            out,
            link_type,
            record: Vec::new(),
        })
    }

    /// Appends one packet; its link type must be the file's.
    pub fn write_packet(&mut self, packet: &RawPacket<'_>) -> io::Result<()> {
        if packet.link_type != self.link_type {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "packet of link type {} in a file of link type {}",
                    packet.link_type.0, self.link_type.0
                ),
            ));
        }
        let captured = u32::try_from(packet.data.len()).map_err(|_| too_long())?;
        // pcap timestamps are unsigned 32-bit seconds; earlier or later times are clamped.
        let secs = u32::try_from(packet.timestamp.secs.max(0)).unwrap_or(u32::MAX);
        self.record.clear();
        self.record.extend(secs.to_le_bytes());
        self.record.extend(packet.timestamp.nanos.to_le_bytes());
        self.record.extend(captured.to_le_bytes());
        self.record
            .extend(packet.original_len.max(captured).to_le_bytes());
        self.record.extend_from_slice(packet.data);
        self.out.write_all(&self.record)
    }

    /// Flushes the underlying writer.
    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Whether `path` names a pcapng file (its extension is `pcapng`, in any case): what `-w`
/// writes as pcapng rather than pcap.
pub fn is_pcapng_file_name(path: &std::path::Path) -> bool {
    path.extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("pcapng"))
}

/// Creates (or truncates) `path` for writing without following a symbolic link at its last
/// component: a link planted where the capture is saved must not redirect the write.
pub fn create_no_follow(path: &std::path::Path) -> io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::PacketSource;
    use crate::capture::file::FileSource;

    fn packet(secs: i64, nanos: u32, data: &[u8], original_len: u32) -> RawPacket<'_> {
        RawPacket {
            timestamp: Timestamp { secs, nanos },
            link_type: LinkType::ETHERNET,
            data,
            original_len,
            block: None,
        }
    }

    fn write(resolution: Resolution, packets: &[RawPacket<'_>]) -> Vec<u8> {
        let iface = InterfaceDescription {
            link_type: LinkType::ETHERNET,
            snaplen: 262_144,
            name: Some("lo"),
            resolution,
        };
        let mut w = PcapngWriter::new(Vec::new(), "wsdissect test", &iface).unwrap();
        for p in packets {
            w.write_packet(p).unwrap();
        }
        w.into_inner().unwrap()
    }

    fn u32_at(bytes: &[u8], at: usize) -> u32 {
        u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap())
    }

    /// The layout the pcapng draft gives (§4.1, §4.2, §4.3), checked field by field.
    #[test]
    fn blocks_follow_the_draft_layout() {
        let data = [0xAAu8; 5];
        let bytes = write(
            Resolution::Micros,
            &[packet(1_700_000_000, 123_456_000, &data, 9)],
        );
        // SHB: type, length, byte-order magic 1A2B3C4D stored little-endian, version 1.0,
        // section length -1, userappl option "wsdissect test" (14 bytes, padded to 16),
        // end of options, trailing length.
        assert_eq!(&bytes[0..4], &[0x0A, 0x0D, 0x0D, 0x0A]);
        let shb_len = u32_at(&bytes, 4) as usize;
        assert_eq!(shb_len, 8 + 4 + 4 + 8 + (4 + 16) + 4 + 4);
        assert_eq!(&bytes[8..12], &[0x4D, 0x3C, 0x2B, 0x1A]);
        assert_eq!(&bytes[12..16], &[1, 0, 0, 0]);
        assert_eq!(&bytes[16..24], &[0xFF; 8]);
        assert_eq!(&bytes[24..28], &[4, 0, 14, 0]);
        assert_eq!(&bytes[28..42], b"wsdissect test");
        assert_eq!(u32_at(&bytes, shb_len - 4) as usize, shb_len);

        // IDB: link type 1, reserved, snaplen, if_name "lo" (padded to 4), no tsresol for
        // microseconds, end of options.
        let idb = &bytes[shb_len..];
        assert_eq!(u32_at(idb, 0), 1);
        let idb_len = u32_at(idb, 4) as usize;
        assert_eq!(idb_len, 8 + 8 + (4 + 4) + 4 + 4);
        assert_eq!(&idb[8..12], &[1, 0, 0, 0]);
        assert_eq!(u32_at(idb, 12), 262_144);
        assert_eq!(&idb[16..24], &[2, 0, 2, 0, b'l', b'o', 0, 0]);
        assert_eq!(&idb[24..28], &[0, 0, 0, 0]);

        // EPB: 5 data bytes padded to 8; timestamp in microseconds split high/low.
        let epb = &idb[idb_len..];
        assert_eq!(u32_at(epb, 0), 6);
        let epb_len = u32_at(epb, 4) as usize;
        assert_eq!(epb_len, 8 + 20 + 8 + 4);
        assert_eq!(epb.len(), epb_len);
        let ticks = 1_700_000_000u64 * 1_000_000 + 123_456;
        assert_eq!(u32_at(epb, 8), 0);
        assert_eq!(u32_at(epb, 12), (ticks >> 32) as u32);
        assert_eq!(u32_at(epb, 16), ticks as u32);
        assert_eq!(u32_at(epb, 20), 5);
        assert_eq!(u32_at(epb, 24), 9);
        assert_eq!(&epb[28..33], &data);
        assert_eq!(&epb[33..36], &[0, 0, 0]);
        assert_eq!(u32_at(epb, epb_len - 4) as usize, epb_len);
    }

    /// What is written reads back through pcap-parser (the reader `read` uses) unchanged,
    /// for both resolutions and for every padding remainder.
    #[test]
    fn round_trip_through_the_reader() {
        for resolution in [Resolution::Micros, Resolution::Nanos] {
            let payloads: Vec<Vec<u8>> = (0..9u8).map(|n| vec![n; usize::from(n) * 7]).collect();
            let packets: Vec<RawPacket<'_>> = payloads
                .iter()
                .enumerate()
                .map(|(i, d)| packet(1_600_000_000 + i as i64, 987_654_321, d, d.len() as u32))
                .collect();
            let bytes = write(resolution, &packets);
            let mut source = FileSource::new(&bytes[..]).unwrap();
            let mut n = 0;
            while let Some(p) = source.next_packet().unwrap() {
                let want = &packets[n];
                assert_eq!(p.data, want.data);
                assert_eq!(p.original_len, want.original_len);
                assert_eq!(p.link_type, LinkType::ETHERNET);
                assert_eq!(p.timestamp.secs, want.timestamp.secs);
                let expect_nanos = match resolution {
                    Resolution::Micros => 987_654_000,
                    Resolution::Nanos => 987_654_321,
                };
                assert_eq!(p.timestamp.nanos, expect_nanos, "{resolution:?}");
                n += 1;
            }
            assert_eq!(n, packets.len());
        }
    }

    /// A Decryption Secrets Block as the draft lays it out (§4.7), read back by the reader
    /// `read` uses as a secrets block of type TLSK with the same text, before the packet.
    #[test]
    fn secrets_block_follows_the_draft_and_reads_back() {
        let iface = InterfaceDescription {
            link_type: LinkType::ETHERNET,
            snaplen: 0,
            name: None,
            resolution: Resolution::Micros,
        };
        let mut w = PcapngWriter::new(Vec::new(), "t", &iface).unwrap();
        let before = w.out.len();
        let text = b"CLIENT_RANDOM 00 11\n";
        w.write_secrets(SECRETS_TYPE_TLS_KEY_LOG, text).unwrap();
        let dsb = w.out[before..].to_vec();
        assert_eq!(u32_at(&dsb, 0), 0x0A);
        assert_eq!(dsb.len(), 12 + 8 + 20);
        assert_eq!(u32_at(&dsb, 4) as usize, dsb.len());
        assert_eq!(&dsb[8..12], b"KSLT"); // 0x544c534b little-endian
        assert_eq!(u32_at(&dsb, 12) as usize, text.len());
        assert_eq!(&dsb[16..16 + text.len()], text);
        assert_eq!(u32_at(&dsb, dsb.len() - 4) as usize, dsb.len());
        let data = [1u8; 3];
        w.write_packet(&packet(1, 0, &data, 3)).unwrap();
        let bytes = w.into_inner().unwrap();
        let mut source = FileSource::new(&bytes[..]).unwrap();
        let p = source.next_packet().unwrap().unwrap();
        assert_eq!(p.data, &data);
        assert_eq!(source.take_secrets().as_deref(), Some(&text[..]));
    }

    #[test]
    fn mismatched_link_type_is_refused() {
        let iface = InterfaceDescription {
            link_type: LinkType::NULL,
            snaplen: 0,
            name: None,
            resolution: Resolution::Micros,
        };
        let mut w = PcapngWriter::new(Vec::new(), "t", &iface).unwrap();
        let data = [0u8; 4];
        assert!(w.write_packet(&packet(0, 0, &data, 4)).is_err());
    }

    #[test]
    fn times_before_the_epoch_are_clamped() {
        assert_eq!(
            Resolution::Micros.ticks(Timestamp {
                secs: -5,
                nanos: 10
            }),
            0
        );
        assert_eq!(
            Resolution::Nanos.ticks(Timestamp {
                secs: i64::MAX,
                nanos: 0
            }),
            u64::MAX
        );
    }
}
