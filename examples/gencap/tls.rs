//! `--tls`: the same WebSocket traffic inside TLS 1.3 with TLS_AES_128_GCM_SHA256, plus the
//! NSS key log that decrypts it (benchmarks of `check --keylog`).
//!
//! No key exchange is run: each connection's four traffic secrets are random bytes, written
//! to the key log, from which the record keys follow by the RFC 8446 §7.3 key schedule
//! (HKDF-Expand-Label with the `hkdf` crate) and the records are sealed with the `aes-gcm`
//! crate (RFC 8446 §5.2-5.3: inner content type, per-record nonce from the sequence number,
//! the record header as additional data). A dissector that reads the key log (tshark with
//! `-o tls.keylog_file:`, wsdissect with `--keylog`) decrypts it like a real session; one
//! that checks the Finished MACs or the certificate would not (there is none: the server's
//! flight is EncryptedExtensions and Finished, as in a PSK handshake).

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, KeyInit};

/// TLS_AES_128_GCM_SHA256.
const SUITE: u16 = 0x1301;
/// Largest plaintext per record (RFC 8446 §5.1).
const MAX_FRAGMENT: usize = 1 << 14;
const CT_HANDSHAKE: u8 = 22;
const CT_APPLICATION_DATA: u8 = 23;
const TAG_LEN: usize = 16;

/// One direction's record protection: key, IV, next sequence number.
struct Sealer {
    aead: Aes128Gcm,
    iv: [u8; 12],
    seq: u64,
}

impl Sealer {
    fn new(secret: &[u8; 32]) -> Sealer {
        let mut key = [0u8; 16];
        let mut iv = [0u8; 12];
        expand_label(secret, b"key", &mut key);
        expand_label(secret, b"iv", &mut iv);
        Sealer {
            aead: Aes128Gcm::new_from_slice(&key).expect("16-byte key"),
            iv,
            seq: 0,
        }
    }

    /// Appends `plain` to `out` as protected records of inner type `content_type`.
    fn seal(&mut self, content_type: u8, plain: &[u8], out: &mut Vec<u8>) {
        for chunk in plain.chunks(MAX_FRAGMENT) {
            let len = chunk.len() + 1 + TAG_LEN;
            let header = [CT_APPLICATION_DATA, 0x03, 0x03, (len >> 8) as u8, len as u8];
            out.extend_from_slice(&header);
            let start = out.len();
            out.extend_from_slice(chunk);
            out.push(content_type);
            let mut nonce = self.iv;
            for (n, s) in nonce[4..].iter_mut().zip(self.seq.to_be_bytes()) {
                *n ^= s;
            }
            self.seq += 1;
            let tag = self
                .aead
                .encrypt_inout_detached(&nonce.into(), &header, out[start..].as_mut().into())
                .expect("record within AES-GCM limits");
            out.extend_from_slice(&tag);
        }
    }
}

/// HKDF-Expand-Label(secret, label, "", out.len()) with SHA-256 (RFC 8446 §7.1).
fn expand_label(secret: &[u8; 32], label: &[u8], out: &mut [u8]) {
    let mut info = Vec::with_capacity(10 + label.len());
    info.extend_from_slice(&(out.len() as u16).to_be_bytes());
    info.push((6 + label.len()) as u8);
    info.extend_from_slice(b"tls13 ");
    info.extend_from_slice(label);
    info.push(0);
    hkdf::Hkdf::<sha2::Sha256>::from_prk(secret)
        .expect("a 32-byte PRK")
        .expand(&info, out)
        .expect("short output");
}

/// A connection's TLS state: each side's current sealer (handshake, then application).
pub struct ConnTls {
    /// [client, server].
    sealers: [Sealer; 2],
}

/// The plaintext handshake and the protected first flights of one connection.
pub struct Opening {
    pub tls: ConnTls,
    /// ClientHello record (client → server).
    pub client_hello: Vec<u8>,
    /// ServerHello record, then EncryptedExtensions + Finished protected with the server
    /// handshake secret (server → client).
    pub server_flight: Vec<u8>,
    /// The client's Finished, protected with the client handshake secret.
    pub client_finished: Vec<u8>,
    /// The key log lines of the connection.
    pub key_log: String,
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A handshake message: type, 24-bit length, body.
fn handshake(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![msg_type];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// An extension: type, 16-bit length, data.
fn extension(out: &mut Vec<u8>, ext_type: u16, data: &[u8]) {
    out.extend_from_slice(&ext_type.to_be_bytes());
    out.extend_from_slice(&(data.len() as u16).to_be_bytes());
    out.extend_from_slice(data);
}

/// A plaintext record.
fn record(content_type: u8, version: u16, body: &[u8]) -> Vec<u8> {
    let mut r = vec![content_type];
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

/// Starts a connection: `random` gives the bytes (client random, server random, key
/// share, the four secrets, Finished contents).
pub fn open(mut random: impl FnMut() -> u64) -> Opening {
    let mut bytes = |n: usize| -> Vec<u8> {
        let mut v = Vec::with_capacity(n + 8);
        while v.len() < n {
            v.extend_from_slice(&random().to_le_bytes());
        }
        v.truncate(n);
        v
    };
    let client_random = bytes(32);
    let secret = |b: Vec<u8>| -> [u8; 32] { b.try_into().expect("32 bytes") };
    let (chs, shs, cap, sap) = (
        secret(bytes(32)),
        secret(bytes(32)),
        secret(bytes(32)),
        secret(bytes(32)),
    );

    // ClientHello: legacy version 1.2, no session id, one suite, supported_versions 1.3,
    // SNI, ALPN http/1.1, an X25519 key share.
    let mut exts = Vec::new();
    let host = b"bench.local";
    let mut sni = Vec::new();
    sni.extend_from_slice(&((host.len() + 3) as u16).to_be_bytes());
    sni.push(0);
    sni.extend_from_slice(&(host.len() as u16).to_be_bytes());
    sni.extend_from_slice(host);
    extension(&mut exts, 0x0000, &sni);
    extension(&mut exts, 0x000a, &[0, 2, 0, 0x1d]);
    extension(&mut exts, 0x000d, &[0, 2, 0x04, 0x03]);
    extension(&mut exts, 0x0010, b"\x00\x09\x08http/1.1");
    extension(&mut exts, 0x002b, &[2, 0x03, 0x04]);
    let mut share = vec![0, 36, 0, 0x1d, 0, 32];
    share.extend_from_slice(&bytes(32));
    extension(&mut exts, 0x0033, &share);
    let mut ch = vec![0x03, 0x03];
    ch.extend_from_slice(&client_random);
    ch.push(0);
    ch.extend_from_slice(&2u16.to_be_bytes());
    ch.extend_from_slice(&SUITE.to_be_bytes());
    ch.extend_from_slice(&[1, 0]);
    ch.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    ch.extend_from_slice(&exts);
    let client_hello = record(CT_HANDSHAKE, 0x0301, &handshake(1, &ch));

    // ServerHello: supported_versions 1.3, key share.
    let mut exts = Vec::new();
    extension(&mut exts, 0x002b, &[0x03, 0x04]);
    let mut share = vec![0, 0x1d, 0, 32];
    share.extend_from_slice(&bytes(32));
    extension(&mut exts, 0x0033, &share);
    let mut sh = vec![0x03, 0x03];
    sh.extend_from_slice(&bytes(32));
    sh.push(0);
    sh.extend_from_slice(&SUITE.to_be_bytes());
    sh.push(0);
    sh.extend_from_slice(&(exts.len() as u16).to_be_bytes());
    sh.extend_from_slice(&exts);
    let mut server_flight = record(CT_HANDSHAKE, 0x0303, &handshake(2, &sh));
    let mut server_hs = Sealer::new(&shs);
    let mut flight = handshake(8, &[0, 0]);
    flight.extend_from_slice(&handshake(20, &bytes(32)));
    server_hs.seal(CT_HANDSHAKE, &flight, &mut server_flight);

    let mut client_hs = Sealer::new(&chs);
    let mut client_finished = Vec::new();
    client_hs.seal(
        CT_HANDSHAKE,
        &handshake(20, &bytes(32)),
        &mut client_finished,
    );

    let cr = hex(&client_random);
    let key_log = format!(
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET {cr} {}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {cr} {}\n\
         CLIENT_TRAFFIC_SECRET_0 {cr} {}\nSERVER_TRAFFIC_SECRET_0 {cr} {}\n",
        hex(&chs),
        hex(&shs),
        hex(&cap),
        hex(&sap)
    );
    Opening {
        tls: ConnTls {
            sealers: [Sealer::new(&cap), Sealer::new(&sap)],
        },
        client_hello,
        server_flight,
        client_finished,
        key_log,
    }
}

impl ConnTls {
    /// Replaces `stream[start..]` (application bytes from side `dir`: 0 client, 1 server)
    /// with the records that carry them.
    pub fn seal_tail(&mut self, dir: usize, stream: &mut Vec<u8>, start: usize) {
        let plain = stream.split_off(start);
        stream.reserve(plain.len() + plain.len() / MAX_FRAGMENT * 22 + 22);
        self.sealers[dir].seal(CT_APPLICATION_DATA, &plain, stream);
    }
}
