//! Deterministic synthetic WebSocket capture: the core of the `gencap` example, also
//! included (`#[path]`) by the benches so they can build a capture in memory.
//!
//! The output is a little-endian, microsecond legacy pcap (Ethernet, IPv4 on 127.0.0.x)
//! holding `conns` concurrent WebSocket connections whose packets are interleaved segment
//! by segment: SYN / SYN-ACK / ACK with MSS, SACK_PERM, timestamps and window scale, an
//! HTTP upgrade with a random key and the matching Sec-WebSocket-Accept, masked client
//! frames, unmasked server frames, fragmented messages, pings answered by pongs, delayed
//! ACKs, a close handshake (1000) and a FIN teardown, after which a new connection takes
//! the closed one's place. Checksums (IPv4 and TCP) are correct. Everything comes from one
//! seed, so the same arguments always give the same bytes.
//!
//! [`Counts`] says what was written, so a benchmark can check that a decoder saw it all.
#![allow(dead_code)]

// The TLS variant lives next to this file (a path, so tests/gencap.rs can include core.rs).
#[path = "tls.rs"]
mod tls;

use std::collections::VecDeque;
use std::io::{self, Write};

/// Which kind of traffic to write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameMix {
    /// 20-200 B text/JSON frames, bursts, fragmented messages, pings, some 1-64 KB binary.
    Small,
    /// Mostly 16- and 64-bit payload lengths (1 KB - 2 MB), frames spanning many segments.
    Large,
}

impl FrameMix {
    /// `small` or `large`.
    pub fn name(self) -> &'static str {
        match self {
            FrameMix::Small => "small",
            FrameMix::Large => "large",
        }
    }

    /// Parses `small` or `large`.
    pub fn parse(s: &str) -> Option<FrameMix> {
        match s {
            "small" => Some(FrameMix::Small),
            "large" => Some(FrameMix::Large),
            _ => None,
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Config {
    /// Stop starting new messages once the file holds this many bytes (the pending
    /// segments of messages already started are still written, so the file ends on whole
    /// frames).
    pub size_bytes: u64,
    /// Traffic kind.
    pub mix: FrameMix,
    /// Connections open at once.
    pub conns: usize,
    /// PRNG seed.
    pub seed: u64,
    /// MSS advertised in the SYNs; data segments carry `mss - 12` bytes (timestamps
    /// option), as Linux does. 65495 is what the loopback interface gives.
    pub mss: u16,
    /// Data/control actions per connection before it closes; `None` = by mix
    /// (small: 200-5000, large: 10-40).
    pub actions_per_conn: Option<(u32, u32)>,
    /// Wrap every connection in TLS 1.3 (TLS_AES_128_GCM_SHA256); the key log is returned
    /// by [`generate_with_key_log`].
    pub tls: bool,
}

impl Config {
    /// The defaults of the `gencap` example for `size_bytes` and `mix`.
    pub fn new(size_bytes: u64, mix: FrameMix) -> Self {
        Config {
            size_bytes,
            mix,
            conns: 64,
            seed: 1,
            mss: LOOPBACK_MSS,
            actions_per_conn: None,
            tls: false,
        }
    }
}

/// MSS that Linux advertises on the loopback interface (MTU 65536).
pub const LOOPBACK_MSS: u16 = 65495;
/// TCP timestamps option with two NOPs: what Linux puts on every data segment.
const TS_OPTION_LEN: usize = 12;

/// Opcodes (RFC 6455 §5.2).
const OP_CONT: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;

/// Smallest size [`Generator::capped`] shrinks a big message to.
const MIN_CAPPED_LEN: u64 = 4 << 10;

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counts {
    /// pcap records.
    pub packets: u64,
    /// File size in bytes (header included).
    pub file_bytes: u64,
    /// Sum of captured packet lengths.
    pub packet_bytes: u64,
    /// TCP connections started (each with a SYN).
    pub connections: u64,
    /// Connections whose upgrade request and 101 response were both written.
    pub handshakes: u64,
    /// Connections closed with a close handshake and FINs.
    pub closed_connections: u64,
    /// WebSocket frames by opcode (index = opcode).
    pub frames_by_opcode: [u64; 16],
    /// Data messages (text or binary, however many frames each spanned).
    pub messages: u64,
    /// Data messages that spanned more than one frame.
    pub fragmented_messages: u64,
    /// Close frames (both directions).
    pub close_frames: u64,
    /// Frames whose 64-bit length field was used.
    pub frames_len64: u64,
    /// Frames whose 16-bit length field was used.
    pub frames_len16: u64,
    /// Sum of frame payload lengths.
    pub payload_bytes: u64,
}

impl Counts {
    /// All frames.
    pub fn frames(&self) -> u64 {
        self.frames_by_opcode.iter().sum()
    }

    /// One JSON object (no trailing newline).
    pub fn to_json(&self) -> String {
        let op = |o: u8| self.frames_by_opcode[usize::from(o)];
        format!(
            concat!(
                "{{\"packets\":{},\"file_bytes\":{},\"packet_bytes\":{},\"connections\":{},",
                "\"handshakes\":{},\"closed_connections\":{},\"frames\":{},",
                "\"frames_by_opcode\":{{\"continuation\":{},\"text\":{},\"binary\":{},",
                "\"close\":{},\"ping\":{},\"pong\":{}}},\"messages\":{},",
                "\"fragmented_messages\":{},\"close_frames\":{},\"frames_len16\":{},",
                "\"frames_len64\":{},\"payload_bytes\":{}}}"
            ),
            self.packets,
            self.file_bytes,
            self.packet_bytes,
            self.connections,
            self.handshakes,
            self.closed_connections,
            self.frames(),
            op(OP_CONT),
            op(OP_TEXT),
            op(OP_BINARY),
            op(OP_CLOSE),
            op(OP_PING),
            op(OP_PONG),
            self.messages,
            self.fragmented_messages,
            self.close_frames,
            self.frames_len16,
            self.frames_len64,
            self.payload_bytes,
        )
    }
}

/// SplitMix64: tiny, fast, good enough for traffic shapes.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// Next 64 random bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + ((u128::from(self.next()) * u128::from(hi - lo + 1)) >> 64) as u64
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: u64) -> bool {
        self.range(0, 99) < percent
    }

    /// Appends `len` random bytes.
    pub fn fill(&mut self, buf: &mut Vec<u8>, len: usize) {
        let start = buf.len();
        buf.resize(start + len, 0);
        let mut chunks = buf[start..].chunks_exact_mut(8);
        for c in &mut chunks {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        let rest = chunks.into_remainder();
        let last = self.next().to_le_bytes();
        rest.copy_from_slice(&last[..rest.len()]);
    }
}

/// 64 characters safe inside a JSON string.
const ALPHABET: &[u8; 64] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";

/// One endpoint: IPv4 address and port.
#[derive(Debug, Clone, Copy)]
struct Endpoint {
    ip: [u8; 4],
    port: u16,
}

/// Something a connection does next, one packet at a time.
#[derive(Debug, Clone, Copy)]
enum Op {
    Syn,
    SynAck,
    /// A pure ACK from `dir` (0 = client, 1 = server).
    Ack(usize),
    /// `len` bytes of `dir`'s stream, in segments of at most the MSS.
    Data {
        dir: usize,
        len: usize,
    },
    /// FIN from `dir`.
    Fin(usize),
    /// Handshake bytes written (counts a handshake once the response is out).
    HandshakeDone,
    /// Close handshake and teardown written.
    Closed,
}

/// One TCP connection being written.
struct Conn {
    ep: [Endpoint; 2],
    /// Next sequence number each side sends.
    seq: [u32; 2],
    ip_id: [u16; 2],
    /// Offset of each side's TCP timestamp clock.
    ts_offset: [u32; 2],
    /// TSval last sent by each side (the peer echoes it).
    last_tsval: [u32; 2],
    /// Bytes each side has yet to send, from `pos`.
    out: [Vec<u8>; 2],
    pos: [usize; 2],
    ops: VecDeque<Op>,
    /// Data segments sent by each side since its peer last acknowledged.
    unacked: [u32; 2],
    actions_left: u32,
    closing: bool,
    finished: bool,
    /// Connection number, used in the request path.
    number: u64,
    /// `--tls`: the records' protection (application bytes are sealed as they are queued).
    tls: Option<tls::ConnTls>,
}

impl Conn {
    /// `--tls`: seals the bytes `dir` queued from `start` on into records.
    fn seal(&mut self, dir: usize, start: usize) {
        if let Some(t) = &mut self.tls {
            t.seal_tail(dir, &mut self.out[dir], start);
        }
    }
}

/// Appends a frame header and `payload` (masked when `mask` is given) to `out`.
fn push_frame(out: &mut Vec<u8>, fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        out.push(mask_bit | len as u8);
    } else if len <= 0xFFFF {
        out.push(mask_bit | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(mask_bit | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
    let start = out.len();
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        let key_word = u32::from_ne_bytes(key);
        let mut chunks = out[start..].chunks_exact_mut(4);
        for c in &mut chunks {
            let v = u32::from_ne_bytes([c[0], c[1], c[2], c[3]]) ^ key_word;
            c.copy_from_slice(&v.to_ne_bytes());
        }
        for (b, k) in chunks.into_remainder().iter_mut().zip(key) {
            *b ^= k;
        }
    }
}

/// The capture writer: pcap framing, Ethernet/IPv4/TCP headers, checksums, counters.
pub struct Generator<W: Write> {
    out: W,
    cfg: Config,
    rng: Rng,
    counts: Counts,
    /// Capture clock, microseconds since the epoch.
    now_us: u64,
    conns: Vec<Conn>,
    next_conn: u64,
    /// Scratch for one message's payload.
    payload: Vec<u8>,
    /// Scratch for one packet's headers.
    head: Vec<u8>,
    /// `--tls`: the NSS key log lines of every connection.
    key_log: String,
}

/// Capture start: 2024-01-01T00:00:00Z.
const START_US: u64 = 1_704_067_200_000_000;
const SERVER_PORT: u16 = 8080;
const ETH_LEN: usize = 14;
const IPV4_LEN: usize = 20;
const TCP_LEN: usize = 20;
const PCAP_SNAPLEN: u32 = 262_144;

/// A receiver acknowledges at the latest after this many unacknowledged segments.
const DELAYED_ACK_SEGMENTS: u32 = 4;

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;

/// Writes a whole capture to `out` and returns what it holds.
pub fn generate<W: Write>(cfg: &Config, out: W) -> io::Result<Counts> {
    generate_with_key_log(cfg, out).map(|(counts, _)| counts)
}

/// [`generate`], also returning the NSS key log of the TLS connections (`cfg.tls`; empty
/// without it).
pub fn generate_with_key_log<W: Write>(cfg: &Config, out: W) -> io::Result<(Counts, String)> {
    let mut g = Generator::new(cfg.clone(), out)?;
    g.run()?;
    g.out.flush()?;
    Ok((g.counts, g.key_log))
}

impl<W: Write> Generator<W> {
    fn new(cfg: Config, mut out: W) -> io::Result<Self> {
        let mut header = Vec::with_capacity(24);
        header.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        header.extend_from_slice(&2u16.to_le_bytes());
        header.extend_from_slice(&4u16.to_le_bytes());
        header.extend_from_slice(&0i32.to_le_bytes());
        header.extend_from_slice(&0u32.to_le_bytes());
        header.extend_from_slice(&PCAP_SNAPLEN.to_le_bytes());
        header.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
        out.write_all(&header)?;
        let rng = Rng::new(cfg.seed);
        Ok(Generator {
            out,
            cfg,
            rng,
            counts: Counts {
                file_bytes: 24,
                ..Counts::default()
            },
            now_us: START_US,
            conns: Vec::new(),
            next_conn: 0,
            payload: Vec::new(),
            head: Vec::with_capacity(128),
            key_log: String::new(),
        })
    }

    fn run(&mut self) -> io::Result<()> {
        let n = self.cfg.conns.max(1);
        while self.conns.len() < n {
            let c = self.new_conn();
            self.conns.push(c);
        }
        // Steady state: a random open connection sends its next packet.
        while self.counts.file_bytes < self.cfg.size_bytes {
            let i = self.rng.range(0, n as u64 - 1) as usize;
            if self.conns[i].finished {
                self.conns[i] = self.new_conn();
            }
            if self.conns[i].ops.is_empty() {
                self.schedule(i);
            }
            self.step(i)?;
        }
        // Drain: finish what was started, start nothing new.
        loop {
            let busy: Vec<usize> = (0..n).filter(|&i| !self.conns[i].ops.is_empty()).collect();
            if busy.is_empty() {
                return Ok(());
            }
            for i in busy {
                self.step(i)?;
            }
        }
    }

    fn new_conn(&mut self) -> Conn {
        let number = self.next_conn;
        self.next_conn += 1;
        self.counts.connections += 1;
        // Unique 4-tuples: 50 000 ports per client address.
        let client = Endpoint {
            ip: [127, 0, 0, 2 + ((number / 50_000) % 250) as u8],
            port: 10_000 + (number % 50_000) as u16,
        };
        let server = Endpoint {
            ip: [127, 0, 0, 1],
            port: SERVER_PORT,
        };
        let (lo, hi) = self.cfg.actions_per_conn.unwrap_or(match self.cfg.mix {
            FrameMix::Small => (200, 5000),
            FrameMix::Large => (10, 40),
        });
        let actions_left = self.rng.range(u64::from(lo), u64::from(hi.max(lo))) as u32;
        let mut key = [0u8; 16];
        key[..8].copy_from_slice(&self.rng.next().to_le_bytes());
        key[8..].copy_from_slice(&self.rng.next().to_le_bytes());
        let key = base64_encode(&key);
        let accept = wsdissect::http::accept::expected_accept(&key);
        let request = format!(
            "GET /stream/{number} HTTP/1.1\r\nHost: 127.0.0.1:{SERVER_PORT}\r\nUser-Agent: gencap/1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        let response = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
        );
        let mut ops = VecDeque::new();
        ops.push_back(Op::Syn);
        ops.push_back(Op::SynAck);
        ops.push_back(Op::Ack(0));
        let (mut out, mut conn_tls) = ([Vec::new(), Vec::new()], None);
        if self.cfg.tls {
            // ClientHello; ServerHello + the server's protected flight; the client's
            // Finished with its request; the response.
            let rng = &mut self.rng;
            let mut opening = tls::open(|| rng.next());
            self.key_log.push_str(&opening.key_log);
            out[0] = opening.client_hello;
            let hello_len = out[0].len();
            out[0].extend_from_slice(&opening.client_finished);
            out[1] = opening.server_flight;
            let flight_len = out[1].len();
            let start = out[0].len();
            out[0].extend_from_slice(request.as_bytes());
            opening.tls.seal_tail(0, &mut out[0], start);
            let start = out[1].len();
            out[1].extend_from_slice(response.as_bytes());
            opening.tls.seal_tail(1, &mut out[1], start);
            ops.push_back(Op::Data {
                dir: 0,
                len: hello_len,
            });
            ops.push_back(Op::Data {
                dir: 1,
                len: flight_len,
            });
            ops.push_back(Op::Data {
                dir: 0,
                len: out[0].len() - hello_len,
            });
            ops.push_back(Op::Data {
                dir: 1,
                len: out[1].len() - flight_len,
            });
            conn_tls = Some(opening.tls);
        } else {
            ops.push_back(Op::Data {
                dir: 0,
                len: request.len(),
            });
            ops.push_back(Op::Data {
                dir: 1,
                len: response.len(),
            });
            out = [request.into_bytes(), response.into_bytes()];
        }
        ops.push_back(Op::HandshakeDone);
        Conn {
            ep: [client, server],
            seq: [self.rng.next() as u32, self.rng.next() as u32],
            ip_id: [self.rng.next() as u16, self.rng.next() as u16],
            ts_offset: [self.rng.next() as u32, self.rng.next() as u32],
            last_tsval: [0, 0],
            out,
            pos: [0, 0],
            ops,
            unacked: [0, 0],
            actions_left,
            closing: false,
            finished: false,
            number,
            tls: conn_tls,
        }
    }

    /// Queues the connection's next action: a message exchange, or the close.
    fn schedule(&mut self, i: usize) {
        if self.conns[i].closing {
            return;
        }
        if self.conns[i].actions_left == 0 {
            self.schedule_close(i);
            return;
        }
        self.conns[i].actions_left -= 1;
        let dir = self.rng.range(0, 1) as usize;
        match self.cfg.mix {
            FrameMix::Small => self.schedule_small(i, dir),
            FrameMix::Large => self.schedule_large(i, dir),
        }
    }

    fn schedule_small(&mut self, i: usize, dir: usize) {
        let roll = self.rng.range(0, 99);
        match roll {
            // One JSON text message.
            0..60 => {
                let len = self.rng.range(20, 200) as usize;
                self.text_payload(len);
                self.message(i, dir, OP_TEXT, &[len]);
            }
            // A burst of 2-3 messages written back to back (they share segments).
            60..70 => {
                let start = self.conns[i].out[dir].len();
                for _ in 0..self.rng.range(2, 3) {
                    let len = self.rng.range(20, 200) as usize;
                    self.text_payload(len);
                    self.append_message(i, dir, OP_TEXT, &[len]);
                }
                self.conns[i].seal(dir, start);
                let len = self.conns[i].out[dir].len() - start;
                self.conns[i].ops.push_back(Op::Data { dir, len });
            }
            // A fragmented text message, 2-4 frames.
            70..78 => {
                let frames = self.rng.range(2, 4) as usize;
                let sizes: Vec<usize> = (0..frames)
                    .map(|_| self.rng.range(20, 200) as usize)
                    .collect();
                self.text_payload(sizes.iter().sum());
                self.message(i, dir, OP_TEXT, &sizes);
            }
            // A ping answered by a pong.
            78..85 => self.ping_pong(i, dir),
            // Now and then a 1-64 KB binary message, sometimes fragmented.
            85..86 if self.rng.percent(40) => {
                let len = self.rng.range(1 << 10, 64 << 10);
                let len = self.capped(len);
                let sizes = self.split(len);
                self.payload.clear();
                self.rng.fill(&mut self.payload, len);
                self.message(i, dir, OP_BINARY, &sizes);
            }
            // A small binary message.
            85.. => {
                let len = self.rng.range(20, 200) as usize;
                self.payload.clear();
                self.rng.fill(&mut self.payload, len);
                self.message(i, dir, OP_BINARY, &[len]);
            }
        }
    }

    fn schedule_large(&mut self, i: usize, dir: usize) {
        let roll = self.rng.range(0, 99);
        match roll {
            // 16-bit lengths.
            0..45 => {
                let len = self.rng.range(4 << 10, 65_535);
                let len = self.capped(len);
                self.payload.clear();
                self.rng.fill(&mut self.payload, len);
                self.message(i, dir, OP_BINARY, &[len]);
            }
            // 64-bit lengths.
            45..75 => {
                let len = self.rng.range(65_536, 2 << 20);
                let len = self.capped(len);
                self.payload.clear();
                self.rng.fill(&mut self.payload, len);
                self.message(i, dir, OP_BINARY, &[len]);
            }
            // Large text (16-bit lengths).
            75..85 => {
                let len = self.rng.range(1 << 10, 60 << 10);
                let len = self.capped(len);
                self.text_payload(len);
                self.message(i, dir, OP_TEXT, &[len]);
            }
            // Fragmented binary, 2-4 large frames.
            85..95 => {
                let len = self.rng.range(128 << 10, 4 << 20);
                let len = self.capped(len);
                let n = self.rng.range(2, 4) as usize;
                let sizes = self.split_n(len, n);
                self.payload.clear();
                self.rng.fill(&mut self.payload, len);
                self.message(i, dir, OP_BINARY, &sizes);
            }
            _ => self.ping_pong(i, dir),
        }
    }

    /// A random masking key.
    fn mask_key(&mut self) -> [u8; 4] {
        let [a, b, c, d, ..] = self.rng.next().to_le_bytes();
        [a, b, c, d]
    }

    /// `len`, shrunk near the end of the file so that the messages still in flight when the
    /// size is reached (each connection finishes its own) overshoot it little.
    fn capped(&self, len: u64) -> usize {
        let left = self.cfg.size_bytes.saturating_sub(self.counts.file_bytes);
        let share = left / self.cfg.conns.max(1) as u64;
        len.min(share.max(MIN_CAPPED_LEN)) as usize
    }

    /// One frame for `len`, or (30% of the time) 2-4 frames.
    fn split(&mut self, len: usize) -> Vec<usize> {
        if self.rng.percent(30) {
            let n = self.rng.range(2, 4) as usize;
            self.split_n(len, n)
        } else {
            vec![len]
        }
    }

    /// `len` cut into `n` non-empty pieces (fewer if `len < n`).
    fn split_n(&mut self, len: usize, n: usize) -> Vec<usize> {
        let n = n.clamp(1, len.max(1));
        let mut cuts: Vec<usize> = (0..n - 1)
            .map(|_| self.rng.range(1, len.max(2) as u64 - 1) as usize)
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut sizes = Vec::with_capacity(n);
        let mut prev = 0;
        for c in cuts {
            sizes.push(c - prev);
            prev = c;
        }
        sizes.push(len - prev);
        sizes
    }

    /// A JSON text of exactly `len` bytes (valid UTF-8, some non-ASCII) in `payload`.
    fn text_payload(&mut self, len: usize) {
        let p = &mut self.payload;
        p.clear();
        let n = self.rng.next();
        let _ = write!(
            p,
            "{{\"seq\":{},\"ch\":\"ticker\",\"px\":{}.{:02},\"d\":\"",
            n >> 44,
            (n >> 20) & 0xFFFF,
            n % 100
        );
        let close = 2; // `"}`
        if p.len() + close > len {
            p.truncate(len.saturating_sub(close));
        } else {
            let mut left = len - close - p.len();
            while left > 0 {
                let mut bits = self.rng.next();
                if left >= 2 && bits & 0xF == 0 {
                    // An "é" now and then: text, not just ASCII.
                    p.extend_from_slice("é".as_bytes());
                    left -= 2;
                    continue;
                }
                for _ in 0..left.min(7) {
                    bits >>= 8;
                    p.push(ALPHABET[(bits & 63) as usize]);
                    left -= 1;
                }
            }
        }
        p.extend_from_slice(b"\"}");
    }

    /// Frames `payload` as one message of `sizes.len()` frames from `dir`, as one send.
    fn message(&mut self, i: usize, dir: usize, opcode: u8, sizes: &[usize]) {
        let start = self.conns[i].out[dir].len();
        self.append_message(i, dir, opcode, sizes);
        self.conns[i].seal(dir, start);
        let len = self.conns[i].out[dir].len() - start;
        self.conns[i].ops.push_back(Op::Data { dir, len });
    }

    /// Appends the frames of one message (payload in `self.payload`) to `dir`'s stream.
    fn append_message(&mut self, i: usize, dir: usize, opcode: u8, sizes: &[usize]) {
        let mut off = 0;
        for (k, &size) in sizes.iter().enumerate() {
            let op = if k == 0 { opcode } else { OP_CONT };
            let fin = k + 1 == sizes.len();
            let end = (off + size).min(self.payload.len());
            let mask = (dir == 0).then(|| self.mask_key());
            let conn = &mut self.conns[i];
            push_frame(&mut conn.out[dir], fin, op, &self.payload[off..end], mask);
            self.count_frame(op, end - off);
            off = end;
        }
        self.counts.messages += 1;
        if sizes.len() > 1 {
            self.counts.fragmented_messages += 1;
        }
    }

    fn count_frame(&mut self, opcode: u8, len: usize) {
        self.counts.frames_by_opcode[usize::from(opcode)] += 1;
        self.counts.payload_bytes += len as u64;
        if len > 0xFFFF {
            self.counts.frames_len64 += 1;
        } else if len >= 126 {
            self.counts.frames_len16 += 1;
        }
    }

    /// A ping from `dir` and the pong echoing it from the other side.
    fn ping_pong(&mut self, i: usize, dir: usize) {
        let n = self.rng.next();
        let payload = format!("ping-{}", n % 1_000_000);
        for (d, op) in [(dir, OP_PING), (1 - dir, OP_PONG)] {
            let mask = (d == 0).then(|| self.mask_key());
            let conn = &mut self.conns[i];
            let start = conn.out[d].len();
            push_frame(&mut conn.out[d], true, op, payload.as_bytes(), mask);
            conn.seal(d, start);
            let len = conn.out[d].len() - start;
            conn.ops.push_back(Op::Data { dir: d, len });
            self.count_frame(op, payload.len());
        }
    }

    /// Close handshake started by a random side, then the server's FIN first.
    fn schedule_close(&mut self, i: usize) {
        let first = self.rng.range(0, 1) as usize;
        let mut body = 1000u16.to_be_bytes().to_vec();
        body.extend_from_slice(b"bye");
        for d in [first, 1 - first] {
            let mask = (d == 0).then(|| self.mask_key());
            let conn = &mut self.conns[i];
            let start = conn.out[d].len();
            push_frame(&mut conn.out[d], true, OP_CLOSE, &body, mask);
            conn.seal(d, start);
            let len = conn.out[d].len() - start;
            conn.ops.push_back(Op::Data { dir: d, len });
            self.count_frame(OP_CLOSE, body.len());
            self.counts.close_frames += 1;
        }
        let conn = &mut self.conns[i];
        conn.closing = true;
        conn.ops.push_back(Op::Fin(1));
        conn.ops.push_back(Op::Fin(0));
        conn.ops.push_back(Op::Ack(1));
        conn.ops.push_back(Op::Closed);
    }

    /// Writes the connection's next packet (bookkeeping ops write nothing).
    fn step(&mut self, i: usize) -> io::Result<()> {
        let Some(op) = self.conns[i].ops.pop_front() else {
            return Ok(());
        };
        match op {
            Op::Syn => {
                let opts = self.syn_options(i, 0);
                self.segment(i, 0, SYN, &opts, 0, false)?;
                self.conns[i].seq[0] = self.conns[i].seq[0].wrapping_add(1);
            }
            Op::SynAck => {
                let opts = self.syn_options(i, 1);
                self.segment(i, 1, SYN | ACK, &opts, 0, false)?;
                self.conns[i].seq[1] = self.conns[i].seq[1].wrapping_add(1);
            }
            Op::Ack(dir) => {
                self.segment(i, dir, ACK, &[], 0, true)?;
                self.conns[i].unacked[1 - dir] = 0;
            }
            Op::Fin(dir) => {
                self.segment(i, dir, FIN | ACK, &[], 0, true)?;
                self.conns[i].seq[dir] = self.conns[i].seq[dir].wrapping_add(1);
            }
            Op::Data { dir, len } => {
                let max = usize::from(self.cfg.mss)
                    .saturating_sub(TS_OPTION_LEN)
                    .max(1);
                let take = len.min(max);
                let last = take == len;
                let flags = if last { PSH | ACK } else { ACK };
                self.segment(i, dir, flags, &[], take, true)?;
                let conn = &mut self.conns[i];
                conn.seq[dir] = conn.seq[dir].wrapping_add(take as u32);
                conn.pos[dir] += take;
                if conn.pos[dir] == conn.out[dir].len() {
                    conn.out[dir].clear();
                    conn.pos[dir] = 0;
                }
                conn.unacked[dir] += 1;
                if !last {
                    conn.ops.push_front(Op::Data {
                        dir,
                        len: len - take,
                    });
                    // Every second full segment is acknowledged at once.
                    if conn.unacked[dir] >= 2 {
                        conn.ops.push_front(Op::Ack(1 - dir));
                    }
                } else if !conn.closing
                    && (conn.unacked[dir] >= DELAYED_ACK_SEGMENTS || self.rng.percent(20))
                {
                    // Otherwise the peer's next packet (its answer, or its own message)
                    // carries the acknowledgment, as delayed ACKs do.
                    conn.ops.push_front(Op::Ack(1 - dir));
                }
            }
            Op::HandshakeDone => self.counts.handshakes += 1,
            Op::Closed => {
                self.counts.closed_connections += 1;
                self.conns[i].finished = true;
            }
        }
        Ok(())
    }

    /// MSS, SACK_PERM, timestamps, NOP, window scale 7 (Linux's order), 20 bytes.
    fn syn_options(&mut self, i: usize, dir: usize) -> Vec<u8> {
        let mut o = Vec::with_capacity(20);
        o.extend_from_slice(&[2, 4]);
        o.extend_from_slice(&self.cfg.mss.to_be_bytes());
        o.extend_from_slice(&[4, 2, 8, 10]);
        let tsval = self.tsval(i, dir);
        let tsecr = if dir == 1 {
            self.conns[i].last_tsval[0]
        } else {
            0
        };
        o.extend_from_slice(&tsval.to_be_bytes());
        o.extend_from_slice(&tsecr.to_be_bytes());
        o.extend_from_slice(&[1, 3, 3, 7]);
        o
    }

    fn tsval(&mut self, i: usize, dir: usize) -> u32 {
        let conn = &mut self.conns[i];
        let v = conn.ts_offset[dir].wrapping_add((self.now_us / 1000) as u32);
        conn.last_tsval[dir] = v;
        v
    }

    /// Writes one TCP segment from `dir`: `options` (SYNs) or the timestamps option,
    /// `len` payload bytes from the side's pending stream.
    fn segment(
        &mut self,
        i: usize,
        dir: usize,
        flags: u8,
        syn_options: &[u8],
        len: usize,
        with_ts: bool,
    ) -> io::Result<()> {
        self.now_us += self.rng.range(1, 20);
        let mut opts = [0u8; 40];
        let opts_len = if with_ts {
            let tsval = self.tsval(i, dir);
            let tsecr = self.conns[i].last_tsval[1 - dir];
            opts[..4].copy_from_slice(&[1, 1, 8, 10]);
            opts[4..8].copy_from_slice(&tsval.to_be_bytes());
            opts[8..12].copy_from_slice(&tsecr.to_be_bytes());
            TS_OPTION_LEN
        } else {
            opts[..syn_options.len()].copy_from_slice(syn_options);
            syn_options.len()
        };
        let conn = &mut self.conns[i];
        if flags & ACK != 0 {
            conn.unacked[1 - dir] = 0;
        }
        let (src, dst) = (conn.ep[dir], conn.ep[1 - dir]);
        let seq = conn.seq[dir];
        let ack = if flags & ACK != 0 {
            conn.seq[1 - dir]
        } else {
            0
        };
        let ip_id = conn.ip_id[dir];
        conn.ip_id[dir] = ip_id.wrapping_add(1);
        let payload = &conn.out[dir][conn.pos[dir]..conn.pos[dir] + len];
        // SYNs advertise the raw window; later segments a scaled one (shift 7).
        let window: u16 = if flags & SYN != 0 { 65_483 } else { 512 };

        let tcp_len = TCP_LEN + opts_len;
        let ip_total = IPV4_LEN + tcp_len + len;
        let h = &mut self.head;
        h.clear();
        // Ethernet: loopback uses all-zero MACs.
        h.extend_from_slice(&[0; 12]);
        h.extend_from_slice(&0x0800u16.to_be_bytes());
        // IPv4.
        let ip_start = h.len();
        h.extend_from_slice(&[0x45, 0]);
        h.extend_from_slice(&(ip_total as u16).to_be_bytes());
        h.extend_from_slice(&ip_id.to_be_bytes());
        h.extend_from_slice(&0x4000u16.to_be_bytes()); // DF
        h.extend_from_slice(&[64, 6, 0, 0]);
        h.extend_from_slice(&src.ip);
        h.extend_from_slice(&dst.ip);
        let ip_sum = !fold(sum_be(&h[ip_start..ip_start + IPV4_LEN], 0));
        h[ip_start + 10..ip_start + 12].copy_from_slice(&ip_sum.to_be_bytes());
        // TCP.
        let tcp_start = h.len();
        h.extend_from_slice(&src.port.to_be_bytes());
        h.extend_from_slice(&dst.port.to_be_bytes());
        h.extend_from_slice(&seq.to_be_bytes());
        h.extend_from_slice(&ack.to_be_bytes());
        h.push(((tcp_len / 4) as u8) << 4);
        h.push(flags);
        h.extend_from_slice(&window.to_be_bytes());
        h.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        h.extend_from_slice(&opts[..opts_len]);
        // Pseudo-header + header + payload (the header is a whole number of words).
        let mut sum = sum_be(&src.ip, 0);
        sum = sum_be(&dst.ip, sum);
        sum += 6 + (tcp_len + len) as u64;
        sum = sum_be(&h[tcp_start..], sum);
        sum = sum_be(payload, sum);
        let tcp_sum = !fold(sum);
        h[tcp_start + 16..tcp_start + 18].copy_from_slice(&tcp_sum.to_be_bytes());

        let caplen = (h.len() + len) as u32;
        let mut rec = [0u8; 16];
        rec[..4].copy_from_slice(&((self.now_us / 1_000_000) as u32).to_le_bytes());
        rec[4..8].copy_from_slice(&((self.now_us % 1_000_000) as u32).to_le_bytes());
        rec[8..12].copy_from_slice(&caplen.to_le_bytes());
        rec[12..16].copy_from_slice(&caplen.to_le_bytes());
        self.out.write_all(&rec)?;
        self.out.write_all(h)?;
        self.out.write_all(payload)?;
        self.counts.packets += 1;
        self.counts.packet_bytes += u64::from(caplen);
        self.counts.file_bytes += 16 + u64::from(caplen);
        Ok(())
    }
}

/// One's-complement partial sum of `data` as big-endian 16-bit words (odd tail padded),
/// added to `sum`. Four bytes at a time: the carries wait in the upper half.
fn sum_be(data: &[u8], mut sum: u64) -> u64 {
    let mut chunks = data.chunks_exact(4);
    for c in &mut chunks {
        sum += u64::from(u32::from_be_bytes([c[0], c[1], c[2], c[3]]));
    }
    let rest = chunks.remainder();
    let mut tail = [0u8; 4];
    tail[..rest.len()].copy_from_slice(rest);
    sum + u64::from(u32::from_be_bytes(tail))
}

/// Folds a partial sum to 16 bits.
fn fold(mut sum: u64) -> u16 {
    while sum > 0xFFFF {
        sum = (sum & 0xFFFF) + (sum >> 16);
    }
    sum as u16
}

/// Standard base64 with padding (for the 16-byte key).
fn base64_encode(data: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(data)
}
