//! Shared helpers for the integration tests: run the built binary on the bundled samples.
#![allow(dead_code)]

pub mod decoded;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `samples/NAME`.
pub fn sample(name: &str) -> PathBuf {
    root().join("samples").join(name)
}

/// Every sample that has tshark reference decodings: (reference name, capture file).
/// `basic-pcapng` names `basic.pcapng`; every other NAME names `NAME.pcap`.
pub fn samples_with_references() -> Vec<(String, PathBuf)> {
    let dir = root().join("samples/expected");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("samples/expected exists") {
        let path = entry.expect("readable dir").path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(name) = file.strip_suffix(".tshark-ws.tsv") {
            let capture = match name.strip_suffix("-pcapng") {
                Some(base) => sample(&format!("{base}.pcapng")),
                None if sample(&format!("{name}.pcap")).exists() => sample(&format!("{name}.pcap")),
                None => sample(&format!("{name}.pcapng")),
            };
            out.push((name.to_string(), capture));
        }
    }
    out.sort();
    assert!(
        out.len() >= 10,
        "expected the bundled samples, found {out:?}"
    );
    out
}

/// Extra arguments a sample needs (the one captured mid-connection needs Decode-As).
pub fn extra_args(name: &str) -> Vec<String> {
    match name {
        "mid-connection" => vec!["--ws-port".into(), "9111".into()],
        _ => vec![],
    }
}

/// Runs the binary with `args`, optionally feeding `stdin`.
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsdissect"));
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("binary runs");
    if let Some(input) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    child.wait_with_output().expect("binary finishes")
}

/// `read FILE --format jsonl [extra]`, parsed; panics on a bad exit or bad JSON.
pub fn jsonl(capture: &Path, extra: &[String]) -> Vec<Value> {
    let path = capture.to_str().unwrap();
    let mut args = vec!["read", path, "--format", "jsonl"];
    args.extend(extra.iter().map(String::as_str));
    let out = run(&args, None);
    assert!(
        out.status.success(),
        "{path}: exit {:?}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Records of one type.
pub fn of_type<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == kind).collect()
}

/// The sample's manifest of what its generator sent.
pub fn manifest(name: &str) -> Value {
    let path = sample(&format!("{name}.sent.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).expect("manifest is JSON")
}

/// Decodes standard base64 (test-side, independent of the crate's encoder choice).
pub fn b64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("valid base64")
}

/// Decodes lower-case hex.
pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Builds small hand-crafted captures (LINKTYPE_RAW, IPv4) for malformed and rare cases
/// that real libraries refuse to produce.
pub struct PcapBuilder {
    buf: Vec<u8>,
    micros: u32,
}

/// TCP flag bits for [`PcapBuilder::tcp`].
pub const FIN: u8 = 0x01;
/// SYN.
pub const SYN: u8 = 0x02;
/// RST.
pub const RST: u8 = 0x04;
/// PSH.
pub const PSH: u8 = 0x08;
/// ACK.
pub const ACK: u8 = 0x10;

impl PcapBuilder {
    /// A little-endian microsecond pcap with link type 101 (raw IP).
    pub fn new() -> Self {
        let mut buf = Vec::new();
        buf.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        buf.extend_from_slice(&2u16.to_le_bytes());
        buf.extend_from_slice(&4u16.to_le_bytes());
        buf.extend_from_slice(&[0; 8]);
        buf.extend_from_slice(&262_144u32.to_le_bytes());
        buf.extend_from_slice(&101u32.to_le_bytes());
        PcapBuilder { buf, micros: 0 }
    }

    /// Appends one IPv4/TCP packet; `snap` cuts the captured bytes (None = whole packet).
    #[allow(clippy::too_many_arguments)]
    pub fn tcp_cut(
        &mut self,
        src: ([u8; 4], u16),
        dst: ([u8; 4], u16),
        seq: u32,
        ack: u32,
        flags: u8,
        payload: &[u8],
        snap: Option<usize>,
    ) -> &mut Self {
        let total = 40 + payload.len();
        let mut p = Vec::with_capacity(total);
        p.extend_from_slice(&[0x45, 0]);
        p.extend_from_slice(&(total as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        p.extend_from_slice(&src.0);
        p.extend_from_slice(&dst.0);
        p.extend_from_slice(&src.1.to_be_bytes());
        p.extend_from_slice(&dst.1.to_be_bytes());
        p.extend_from_slice(&seq.to_be_bytes());
        p.extend_from_slice(&ack.to_be_bytes());
        p.extend_from_slice(&[0x50, flags]);
        p.extend_from_slice(&65535u16.to_be_bytes());
        p.extend_from_slice(&[0, 0, 0, 0]);
        p.extend_from_slice(payload);
        let captured = snap.unwrap_or(p.len()).min(p.len());
        self.micros += 1000;
        self.buf.extend_from_slice(&1_700_000_000u32.to_le_bytes());
        self.buf.extend_from_slice(&self.micros.to_le_bytes());
        self.buf.extend_from_slice(&(captured as u32).to_le_bytes());
        self.buf.extend_from_slice(&(p.len() as u32).to_le_bytes());
        self.buf.extend_from_slice(&p[..captured]);
        self
    }

    /// The capture's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.buf.clone()
    }
}

impl Default for PcapBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// A TCP conversation between 10.0.0.1:40000 (client) and 10.0.0.2:8080 (server) that
/// tracks sequence numbers, for hand-crafted WebSocket captures.
pub struct Conversation {
    /// The capture being built.
    pub pcap: PcapBuilder,
    /// Next client sequence number.
    pub client_seq: u32,
    /// Next server sequence number.
    pub server_seq: u32,
}

/// Client endpoint of [`Conversation`].
pub const CLIENT: ([u8; 4], u16) = ([10, 0, 0, 1], 40000);
/// Server endpoint of [`Conversation`].
pub const SERVER: ([u8; 4], u16) = ([10, 0, 0, 2], 8080);

/// The RFC 6455 §1.3 key and its accept value.
pub const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// base64(SHA-1(RFC_KEY + GUID)) as printed in RFC 6455 §1.3.
pub const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

impl Conversation {
    /// SYN, SYN-ACK, ACK.
    pub fn open() -> Self {
        let mut c = Conversation {
            pcap: PcapBuilder::new(),
            client_seq: 1000,
            server_seq: 5000,
        };
        c.pcap.tcp_cut(CLIENT, SERVER, 999, 0, SYN, &[], None);
        c.pcap
            .tcp_cut(SERVER, CLIENT, 4999, 1000, SYN | ACK, &[], None);
        c.pcap.tcp_cut(CLIENT, SERVER, 1000, 5000, ACK, &[], None);
        c
    }

    /// A new connection on the same port pair in the same capture (after `close`).
    pub fn reopen(&mut self) -> &mut Self {
        self.client_seq = self.client_seq.wrapping_add(100_000);
        self.server_seq = self.server_seq.wrapping_add(200_000);
        let (c, s) = (self.client_seq, self.server_seq);
        self.pcap
            .tcp_cut(CLIENT, SERVER, c.wrapping_sub(1), 0, SYN, &[], None);
        self.pcap
            .tcp_cut(SERVER, CLIENT, s.wrapping_sub(1), c, SYN | ACK, &[], None);
        self.pcap.tcp_cut(CLIENT, SERVER, c, s, ACK, &[], None);
        self
    }

    /// The RFC 6455 §1.3 upgrade request from the client.
    pub fn upgrade_request() -> Vec<u8> {
        format!(
            "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        .into_bytes()
    }

    /// A 101 response carrying `accept`.
    pub fn upgrade_response(accept: &str) -> Vec<u8> {
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {accept}\r\n\r\n"
        )
        .into_bytes()
    }

    /// Client bytes sent at an explicit sequence number (for out-of-order and
    /// retransmitted segments); does not advance `client_seq`.
    pub fn c2s_at(&mut self, seq: u32, payload: &[u8]) -> &mut Self {
        self.pcap.tcp_cut(
            CLIENT,
            SERVER,
            seq,
            self.server_seq,
            PSH | ACK,
            payload,
            None,
        );
        self
    }

    /// Opens and performs an upgrade with the RFC key and the given accept value.
    pub fn upgraded(accept: &str) -> Self {
        let mut c = Self::open();
        c.c2s(&Self::upgrade_request());
        c.s2c(&Self::upgrade_response(accept));
        c
    }

    /// Client sends `payload`.
    pub fn c2s(&mut self, payload: &[u8]) -> &mut Self {
        self.pcap.tcp_cut(
            CLIENT,
            SERVER,
            self.client_seq,
            self.server_seq,
            PSH | ACK,
            payload,
            None,
        );
        self.client_seq = self.client_seq.wrapping_add(payload.len() as u32);
        self
    }

    /// Server sends `payload`.
    pub fn s2c(&mut self, payload: &[u8]) -> &mut Self {
        self.pcap.tcp_cut(
            SERVER,
            CLIENT,
            self.server_seq,
            self.client_seq,
            PSH | ACK,
            payload,
            None,
        );
        self.server_seq = self.server_seq.wrapping_add(payload.len() as u32);
        self
    }

    /// Server sends `payload` but the capture keeps only `snap` bytes of the IP packet.
    pub fn s2c_cut(&mut self, payload: &[u8], snap: usize) -> &mut Self {
        self.pcap.tcp_cut(
            SERVER,
            CLIENT,
            self.server_seq,
            self.client_seq,
            PSH | ACK,
            payload,
            Some(snap),
        );
        self.server_seq = self.server_seq.wrapping_add(payload.len() as u32);
        self
    }

    /// Both sides FIN.
    pub fn close(&mut self) -> &mut Self {
        self.pcap.tcp_cut(
            CLIENT,
            SERVER,
            self.client_seq,
            self.server_seq,
            FIN | ACK,
            &[],
            None,
        );
        self.client_seq += 1;
        self.pcap.tcp_cut(
            SERVER,
            CLIENT,
            self.server_seq,
            self.client_seq,
            FIN | ACK,
            &[],
            None,
        );
        self.server_seq += 1;
        self.pcap.tcp_cut(
            CLIENT,
            SERVER,
            self.client_seq,
            self.server_seq,
            ACK,
            &[],
            None,
        );
        self
    }

    /// Writes the capture to a temp file named `name` and returns its path.
    pub fn write(&self, name: &str) -> PathBuf {
        write_temp(name, &self.pcap.bytes())
    }
}

/// Writes `bytes` to a fresh file in the target's temp dir.
pub fn write_temp(name: &str, bytes: &[u8]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("temp file written");
    path
}

/// A masked client frame built from its parts (the RFC 6455 §5.2 layout, written out
/// here independently of the crate).
pub fn client_frame(b0: u8, key: [u8; 4], payload: &[u8]) -> Vec<u8> {
    let mut f = vec![b0];
    let len = payload.len();
    if len < 126 {
        f.push(0x80 | len as u8);
    } else if len < 65536 {
        f.push(0x80 | 126);
        f.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        f.push(0x80 | 127);
        f.extend_from_slice(&(len as u64).to_be_bytes());
    }
    f.extend_from_slice(&key);
    f.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
    f
}

/// Lower-case hex SHA-256 (the manifests' digest of each payload).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `read FILE [extra]`: the packet-list lines (diagnostic lines, indented, left out).
pub fn packet_lines(path: &Path, extra: &[&str]) -> Vec<String> {
    let mut args = vec!["read", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    let out = run(&args, None);
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("    "))
        .map(str::to_string)
        .collect()
}
