//! TLS decryption throughput: TLS 1.3 AES-128-GCM and ChaCha20-Poly1305 records of 16 KiB
//! (large frames) and 100 bytes (small frames), through `TlsConnection` (record framing,
//! decryption, plaintext event) as the analyzer chain will drive it.
//!
//! The records are sealed here with the same RustCrypto AEADs under a key derived from a
//! fixed traffic secret; the connection gets a matching ClientHello/ServerHello and key log.
//!
//! Measured on the shared 2-core build machine (AES-NI and PCLMULQDQ present; bench built
//! with `CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16`):
//! tls13_decrypt aes128gcm 16 KiB records 1.10-1.13 GiB/s (the crate alone: 1.28 GiB/s),
//! 100-byte records 135 MiB/s (crate alone: 141 MiB/s); chacha20poly1305 16 KiB 380-515 MiB/s
//! (crate alone: 396 MiB/s), 100 bytes 22 MiB/s (crate alone: 24 MiB/s).

use aes_gcm::aead::AeadInOut;
use aes_gcm::{Aes128Gcm, KeyInit};
use chacha20poly1305::ChaCha20Poly1305;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;
use wsdissect::tls::crypto::{HashAlg, hkdf_expand_label};
use wsdissect::tls::{Dir, KeyLog, TlsConnection, TlsEvent};

const RANDOM: [u8; 32] = [0x11; 32];
const SECRET: [u8; 32] = [0x22; 32];

fn handshake_record(msg_type: u8, body: &[u8]) -> Vec<u8> {
    let mut hs = vec![msg_type, 0, (body.len() >> 8) as u8, body.len() as u8];
    hs.extend_from_slice(body);
    let mut rec = vec![22, 3, 3, (hs.len() >> 8) as u8, hs.len() as u8];
    rec.extend_from_slice(&hs);
    rec
}

fn client_hello() -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&RANDOM);
    b.extend_from_slice(&[0, 0, 2, 0x13, 0x01, 1, 0]); // no session id, one suite, null comp
    b.extend_from_slice(&[0, 7, 0, 43, 0, 3, 2, 3, 4]); // supported_versions: TLS 1.3
    handshake_record(1, &b)
}

fn server_hello(suite: u16) -> Vec<u8> {
    let mut b = vec![3, 3];
    b.extend_from_slice(&[0x33; 32]);
    b.push(0);
    b.extend_from_slice(&suite.to_be_bytes());
    b.push(0);
    b.extend_from_slice(&[0, 6, 0, 43, 0, 2, 3, 4]);
    handshake_record(2, &b)
}

enum Sealer {
    Gcm(Box<Aes128Gcm>),
    ChaCha(ChaCha20Poly1305),
}

/// `n` TLS 1.3 application-data records of `size` plaintext bytes, sequence 0.. .
fn records(sealer: &Sealer, size: usize, n: usize) -> Vec<u8> {
    let mut iv = [0u8; 12];
    assert!(hkdf_expand_label(HashAlg::Sha256, &SECRET, b"iv", &mut iv));
    let mut out = Vec::new();
    for seq in 0..n as u64 {
        let mut nonce = iv;
        for (a, b) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
            *a ^= b;
        }
        let mut body: Vec<u8> = (0..size).map(|i| i as u8).collect();
        body.push(23);
        let len = body.len() + 16;
        let header = [23, 3, 3, (len >> 8) as u8, len as u8];
        let tag = match sealer {
            Sealer::Gcm(c) => c
                .encrypt_inout_detached(&nonce.into(), &header, body.as_mut_slice().into())
                .expect("seal")
                .to_vec(),
            Sealer::ChaCha(c) => c
                .encrypt_inout_detached(&nonce.into(), &header, body.as_mut_slice().into())
                .expect("seal")
                .to_vec(),
        };
        out.extend_from_slice(&header);
        out.extend_from_slice(&body);
        out.extend_from_slice(&tag);
    }
    out
}

fn keylog() -> KeyLog {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let r = hex(&RANDOM);
    let s = hex(&SECRET);
    KeyLog::from_bytes(
        format!(
            "CLIENT_HANDSHAKE_TRAFFIC_SECRET {r} {s}\nSERVER_HANDSHAKE_TRAFFIC_SECRET {r} {s}\n"
        )
        .as_bytes(),
    )
}

fn decrypt(c: &mut Criterion) {
    let keys = keylog();
    let mut group = c.benchmark_group("tls13_decrypt");
    for (name, suite, key_len) in [
        ("aes128gcm", 0x1301u16, 16usize),
        ("chacha20poly1305", 0x1303, 32),
    ] {
        let mut key = vec![0u8; key_len];
        assert!(hkdf_expand_label(
            HashAlg::Sha256,
            &SECRET,
            b"key",
            &mut key
        ));
        let sealer = match suite {
            0x1301 => Sealer::Gcm(Box::new(Aes128Gcm::new_from_slice(&key).expect("key"))),
            _ => Sealer::ChaCha(ChaCha20Poly1305::new_from_slice(&key).expect("key")),
        };
        for (size, n) in [(16384usize, 64usize), (100, 4096)] {
            let stream = records(&sealer, size, n);
            let (ch, sh) = (client_hello(), server_hello(suite));
            group.throughput(Throughput::Bytes((size * n) as u64));
            group.bench_with_input(BenchmarkId::new(name, size), &size, |b, _| {
                b.iter(|| {
                    let mut conn = TlsConnection::new();
                    let mut plain = 0usize;
                    let mut count = |ev: TlsEvent<'_>| {
                        if let TlsEvent::Plaintext { data, .. } = ev {
                            plain += data.len();
                        }
                    };
                    conn.data(Dir::ClientToServer, &ch, &keys, &mut count);
                    conn.data(Dir::ServerToClient, &sh, &keys, &mut count);
                    // Fed in 64 KiB chunks, like reassembled TCP.
                    for chunk in stream.chunks(65536) {
                        conn.data(Dir::ServerToClient, black_box(chunk), &keys, &mut count);
                    }
                    assert_eq!(plain, size * n);
                    plain
                })
            });
        }
    }
    group.finish();
}

/// The AEAD crates alone on the same record sizes (decrypt + verify, no TLS framing): the
/// floor `tls13_decrypt` is compared with.
fn raw_aead(c: &mut Criterion) {
    let mut group = c.benchmark_group("raw_aead_decrypt");
    let gcm = Aes128Gcm::new_from_slice(&[7u8; 16]).expect("key");
    let chacha = ChaCha20Poly1305::new_from_slice(&[7u8; 32]).expect("key");
    let nonce = [3u8; 12];
    for size in [16384usize, 100] {
        group.throughput(Throughput::Bytes(size as u64));
        let mut sealed = vec![0u8; size];
        let gcm_tag = gcm
            .encrypt_inout_detached(&nonce.into(), b"aad", sealed.as_mut_slice().into())
            .expect("seal");
        let mut work = sealed.clone();
        group.bench_with_input(BenchmarkId::new("aes128gcm", size), &size, |b, _| {
            b.iter(|| {
                work.copy_from_slice(&sealed);
                gcm.decrypt_inout_detached(
                    &nonce.into(),
                    b"aad",
                    work.as_mut_slice().into(),
                    &gcm_tag,
                )
                .expect("open");
            })
        });
        let mut sealed = vec![0u8; size];
        let chacha_tag = chacha
            .encrypt_inout_detached(&nonce.into(), b"aad", sealed.as_mut_slice().into())
            .expect("seal");
        group.bench_with_input(BenchmarkId::new("chacha20poly1305", size), &size, |b, _| {
            b.iter(|| {
                work.copy_from_slice(&sealed);
                chacha
                    .decrypt_inout_detached(
                        &nonce.into(),
                        b"aad",
                        work.as_mut_slice().into(),
                        &chacha_tag,
                    )
                    .expect("open");
            })
        });
    }
    group.finish();
}

criterion_group!(benches, decrypt, raw_aead);
criterion_main!(benches);
