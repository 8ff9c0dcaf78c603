//! Hostile captures (issue 15): inputs built to cost memory or time, written as pcap.
//!
//! Shared by the `hostile` example (large sizes, for measuring) and the complexity tests in
//! `tests/hostile.rs` (small sizes). Every capture is synthetic: Ethernet + IPv4 + TCP with a
//! correct IPv4 header checksum and a zero TCP checksum (wsdissect does not verify it, and
//! tshark only does when asked).
#![allow(dead_code)]

use base64::Engine as _;
use sha1::{Digest, Sha1};
use std::io::{self, Write};

/// One hostile case and its size parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// `n` SYNs, each from a different client address and port (one connection each).
    Syns { n: u64 },
    /// `n` WebSocket connections with a completed handshake and one frame, never closed.
    OpenWebSockets { n: u64 },
    /// An upgrade request that is never answered, then `n` one-byte client segments.
    EarlyData { n: u64 },
    /// `unacked` server data segments never acknowledged, then `n` bare client ACKs.
    BareAcks { n: u64, unacked: u64 },
    /// `conns` connections, each one permessage-deflate message of `mib` MiB of zeros.
    DeflateZeros { conns: u64, mib: u64 },
    /// One server segment of `bytes` bytes (at most 65 495) holding one-byte text frames.
    TinyFrames { bytes: u64 },
    /// Invisible and reordering characters in a request header and in text messages.
    Invisible,
}

impl Case {
    /// Parses `name` with up to two numbers (`None` takes the sizes).
    pub fn parse(name: &str, a: Option<u64>, b: Option<u64>) -> Option<Case> {
        Some(match name {
            "syns" => Case::Syns {
                n: a.unwrap_or(1_000_000),
            },
            "open-ws" => Case::OpenWebSockets {
                n: a.unwrap_or(100_000),
            },
            "early-data" => Case::EarlyData {
                n: a.unwrap_or(200_000),
            },
            "acks" => Case::BareAcks {
                n: a.unwrap_or(1_000_000),
                unacked: b.unwrap_or(10_000),
            },
            "deflate-zeros" => Case::DeflateZeros {
                conns: a.unwrap_or(200),
                mib: b.unwrap_or(16),
            },
            "tiny-frames" => Case::TinyFrames {
                bytes: a.unwrap_or(65_000),
            },
            "invisible" => Case::Invisible,
            _ => return None,
        })
    }

    /// Every case name [`Case::parse`] knows.
    pub const NAMES: [&'static str; 7] = [
        "syns",
        "open-ws",
        "early-data",
        "acks",
        "deflate-zeros",
        "tiny-frames",
        "invisible",
    ];
}

/// Writes `case` as a pcap to `out`.
pub fn write_case<W: Write>(case: Case, out: W) -> io::Result<()> {
    let mut p = Pcap::new(out)?;
    match case {
        Case::Syns { n } => {
            for i in 0..n {
                let client = client_endpoint(i);
                p.packet(client, SERVER, 1000, 0, SYN, &[])?;
            }
        }
        Case::OpenWebSockets { n } => {
            for i in 0..n {
                let mut c = Conn::open(&mut p, client_endpoint(i))?;
                c.upgrade(&mut p, "")?;
                c.send(&mut p, 1, &[0x81, 0x02, b'h', b'i'])?;
            }
        }
        Case::EarlyData { n } => {
            let mut c = Conn::open(&mut p, client_endpoint(0))?;
            let request = request_bytes("");
            c.send(&mut p, 0, &request)?;
            for i in 0..n {
                c.send(&mut p, 0, &[b'a' + (i % 26) as u8])?;
            }
        }
        Case::BareAcks { n, unacked } => {
            let mut c = Conn::open(&mut p, client_endpoint(0))?;
            let acked = c.seq[1];
            for _ in 0..unacked {
                c.send_unacked(&mut p, 1, &[0u8; 10])?;
            }
            for _ in 0..n {
                p.packet(c.ep[0], c.ep[1], c.seq[0], acked, ACK, &[])?;
            }
        }
        Case::DeflateZeros { conns, mib } => {
            let payload = deflate_zeros(mib.saturating_mul(1 << 20));
            let mut frame = Vec::with_capacity(payload.len() + 10);
            // FIN, RSV1 (compressed), binary; unmasked (server to client).
            push_header(&mut frame, 0x80 | 0x40 | 0x2, payload.len() as u64, None);
            frame.extend_from_slice(&payload);
            for i in 0..conns {
                let mut c = Conn::open(&mut p, client_endpoint(i))?;
                c.upgrade(&mut p, "Sec-WebSocket-Extensions: permessage-deflate\r\n")?;
                c.send(&mut p, 1, &frame)?;
            }
        }
        Case::TinyFrames { bytes } => {
            let bytes = bytes.min(MAX_PAYLOAD as u64) as usize;
            let mut c = Conn::open(&mut p, client_endpoint(0))?;
            c.upgrade(&mut p, "")?;
            let mut seg = Vec::with_capacity(bytes);
            while seg.len() + 3 <= bytes {
                seg.extend_from_slice(&[0x81, 0x01, b'x']);
            }
            c.send(&mut p, 1, &seg)?;
        }
        Case::Invisible => {
            let mut c = Conn::open(&mut p, client_endpoint(0))?;
            c.upgrade(
                &mut p,
                "X-Note: a\u{202E}b\u{061C}c\u{00AD}d\u{FFF9}e\u{E0041}f\r\n",
            )?;
            for text in INVISIBLE_TEXTS {
                let mut frame = Vec::new();
                push_header(&mut frame, 0x81, text.len() as u64, Some(MASK));
                let start = frame.len();
                frame.extend_from_slice(text.as_bytes());
                mask(&mut frame[start..], MASK);
                c.send(&mut p, 0, &frame)?;
            }
        }
    }
    p.flush()
}

/// The text messages of [`Case::Invisible`]: each hides or reorders characters.
pub const INVISIBLE_TEXTS: [&str; 8] = [
    "arabic letter mark [\u{061C}]",
    "soft hyphen [\u{00AD}]",
    "interlinear annotation [\u{FFF9}x\u{FFFA}y\u{FFFB}]",
    "tag A [\u{E0041}]",
    "right-to-left override [\u{202E}]abc",
    "C1 controls [\u{0085}\u{009B}]",
    "family emoji [\u{1F468}\u{200D}\u{1F469}] lone zwj [a\u{200D}b]",
    "heart with VS16 [\u{2764}\u{FE0F}] stray VS16 [a\u{FE0F}]",
];

/// Largest TCP payload in one IPv4 packet without options (65 535 - 20 - 20).
const MAX_PAYLOAD: usize = 65_495;
const MASK: [u8; 4] = [0x11, 0x22, 0x33, 0x44];
const SERVER: Endpoint = Endpoint {
    ip: [10, 0, 0, 1],
    port: 8080,
};
const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// A client endpoint unique for each `i` below 2^32 (address from the high bits, port from
/// the low 14 bits, above 1024).
fn client_endpoint(i: u64) -> Endpoint {
    let hi = (i >> 14) as u32;
    Endpoint {
        ip: [172, (16 + (hi >> 16) % 16) as u8, (hi >> 8) as u8, hi as u8],
        port: 1024 + (i & 0x3FFF) as u16,
    }
}

/// The raw DEFLATE stream of `len` zero bytes, with the final empty stored block's
/// `00 00 ff ff` removed as RFC 7692 §7.2.1 says.
fn deflate_zeros(len: u64) -> Vec<u8> {
    let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    let chunk = [0u8; 1 << 16];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len() as u64) as usize;
        // Writing to a Vec cannot fail.
        let _ = z.write_all(&chunk[..n]);
        left -= n as u64;
    }
    let _ = z.flush();
    let mut out = z.get_ref().clone();
    if out.ends_with(&[0, 0, 0xff, 0xff]) {
        out.truncate(out.len() - 4);
    }
    out
}

fn push_header(out: &mut Vec<u8>, first: u8, len: u64, mask: Option<[u8; 4]>) {
    out.push(first);
    let m = if mask.is_some() { 0x80 } else { 0 };
    if len < 126 {
        out.push(m | len as u8);
    } else if len <= 0xFFFF {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if let Some(k) = mask {
        out.extend_from_slice(&k);
    }
}

fn mask(data: &mut [u8], key: [u8; 4]) {
    for (i, b) in data.iter_mut().enumerate() {
        *b ^= key[i % 4];
    }
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

fn request_bytes(extra: &str) -> Vec<u8> {
    format!(
        "GET /chat HTTP/1.1\r\nHost: 10.0.0.1:8080\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\
         {extra}\r\n"
    )
    .into_bytes()
}

/// The server's answer: `Sec-WebSocket-Accept` computed as RFC 6455 §4.2.2 says, and the
/// extension echoed when `extra` asks for permessage-deflate.
fn response_bytes(extra: &str) -> Vec<u8> {
    let mut sha = Sha1::new();
    sha.update(KEY.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
    let ext = if extra.contains("permessage-deflate") {
        "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    } else {
        ""
    };
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {accept}\r\n{ext}\r\n"
    )
    .into_bytes()
}

#[derive(Debug, Clone, Copy)]
struct Endpoint {
    ip: [u8; 4],
    port: u16,
}

/// One TCP connection: endpoints and the next sequence number of each side.
struct Conn {
    ep: [Endpoint; 2],
    seq: [u32; 2],
}

impl Conn {
    /// Writes the three-way handshake.
    fn open<W: Write>(p: &mut Pcap<W>, client: Endpoint) -> io::Result<Conn> {
        let mut c = Conn {
            ep: [client, SERVER],
            seq: [1000, 5000],
        };
        p.packet(client, SERVER, c.seq[0], 0, SYN, &[])?;
        c.seq[0] += 1;
        p.packet(SERVER, client, c.seq[1], c.seq[0], SYN | ACK, &[])?;
        c.seq[1] += 1;
        p.packet(client, SERVER, c.seq[0], c.seq[1], ACK, &[])?;
        Ok(c)
    }

    /// Writes the upgrade request (with `extra` header lines) and the 101 response.
    fn upgrade<W: Write>(&mut self, p: &mut Pcap<W>, extra: &str) -> io::Result<()> {
        self.send(p, 0, &request_bytes(extra))?;
        self.send(p, 1, &response_bytes(extra))
    }

    /// Sends `data` from side `dir` in segments of at most the largest IPv4 payload, each
    /// acknowledged by the peer.
    fn send<W: Write>(&mut self, p: &mut Pcap<W>, dir: usize, data: &[u8]) -> io::Result<()> {
        for chunk in data.chunks(MAX_PAYLOAD) {
            self.send_unacked(p, dir, chunk)?;
            let peer = 1 - dir;
            p.packet(
                self.ep[peer],
                self.ep[dir],
                self.seq[peer],
                self.seq[dir],
                ACK,
                &[],
            )?;
        }
        Ok(())
    }

    /// Sends one segment from side `dir` with no acknowledgment.
    fn send_unacked<W: Write>(
        &mut self,
        p: &mut Pcap<W>,
        dir: usize,
        data: &[u8],
    ) -> io::Result<()> {
        let peer = 1 - dir;
        p.packet(
            self.ep[dir],
            self.ep[peer],
            self.seq[dir],
            self.seq[peer],
            PSH | ACK,
            data,
        )?;
        self.seq[dir] = self.seq[dir].wrapping_add(data.len() as u32);
        Ok(())
    }
}

/// A pcap writer (microsecond timestamps, Ethernet), one microsecond per packet.
struct Pcap<W: Write> {
    out: io::BufWriter<W>,
    now_us: u64,
    buf: Vec<u8>,
}

/// 2024-01-01T00:00:00Z.
const START_US: u64 = 1_704_067_200_000_000;

impl<W: Write> Pcap<W> {
    fn new(out: W) -> io::Result<Self> {
        let mut out = io::BufWriter::with_capacity(1 << 20, out);
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&262_144u32.to_le_bytes())?;
        out.write_all(&1u32.to_le_bytes())?; // LINKTYPE_ETHERNET
        Ok(Pcap {
            out,
            now_us: START_US,
            buf: Vec::with_capacity(70_000),
        })
    }

    fn packet(
        &mut self,
        src: Endpoint,
        dst: Endpoint,
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
    ) -> io::Result<()> {
        let b = &mut self.buf;
        b.clear();
        // Ethernet: locally administered addresses, IPv4.
        b.extend_from_slice(&[2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00]);
        let ip_start = b.len();
        let total = (20 + 20 + payload.len()) as u16;
        b.extend_from_slice(&[0x45, 0]);
        b.extend_from_slice(&total.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        b.extend_from_slice(&src.ip);
        b.extend_from_slice(&dst.ip);
        let sum = ipv4_checksum(&b[ip_start..ip_start + 20]);
        b[ip_start + 10..ip_start + 12].copy_from_slice(&sum.to_be_bytes());
        b.extend_from_slice(&src.port.to_be_bytes());
        b.extend_from_slice(&dst.port.to_be_bytes());
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(&ack.to_be_bytes());
        b.extend_from_slice(&[0x50, flags]);
        b.extend_from_slice(&65_535u16.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.extend_from_slice(payload);
        let len = b.len() as u32;
        self.out
            .write_all(&((self.now_us / 1_000_000) as u32).to_le_bytes())?;
        self.out
            .write_all(&((self.now_us % 1_000_000) as u32).to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(&len.to_le_bytes())?;
        self.out.write_all(b)?;
        self.now_us += 1;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

fn ipv4_checksum(header: &[u8]) -> u16 {
    let mut sum: u32 = header
        .chunks(2)
        .map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)])))
        .sum();
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    !(sum as u16)
}
