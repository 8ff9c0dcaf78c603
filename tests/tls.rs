//! TLS room on the real wss:// samples: every sample's two byte streams (from the library's
//! capture, wire and reassembly modules) go through `tls::TlsConnection` with the sample's
//! key log. Oracles: the generator's manifest (what the applications sent) and tshark
//! 4.0.17's decoding of the same file with the same key log (samples/expected/*tls*).

use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use wsdissect::capture;
use wsdissect::flow::reassembly::{Delivery, Reassembler, ReassemblyLimits};
use wsdissect::tls::{self, DecryptStatus, Dir, KeyLog, SegmentLabel, TlsConnection, TlsEvent};
use wsdissect::wire::{self, TcpFlags, Transport};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One TCP connection of a sample after TLS.
#[derive(Default)]
struct Conn {
    #[allow(dead_code)]
    client_port: u16,
    plaintext: [Vec<u8>; 2],
    status: Vec<DecryptStatus>,
    anomalies: Vec<&'static str>,
    key_updates: u32,
    alpn_offered: Vec<String>,
    sni: Option<String>,
    version: Option<u16>,
    suite: Option<u16>,
    hello_retry_request: bool,
    alpn: Option<String>,
}

/// Runs a capture through TLS; returns the connections (by client port, in order of
/// appearance) and the TLS label of every packet that ended a record (frame number ->
/// (protocol, info)).
fn run(path: &Path, keys: &KeyLog) -> (Vec<Conn>, Vec<(u64, String, String)>) {
    let mut source = capture::open_path(path).expect("open sample");
    let mut conns: Vec<(Conn, TlsConnection, [Reassembler; 2], u16)> = Vec::new();
    let mut by_ports: HashMap<(u16, u16), usize> = HashMap::new();
    let mut labels = Vec::new();
    let mut frame = 0u64;
    while let Some(raw) = source.next_packet().expect("read") {
        frame += 1;
        let packet = wire::decode(raw.link_type, raw.data);
        let Transport::Tcp(seg) = packet.transport else {
            continue;
        };
        let syn_only = seg.flags.has(TcpFlags::SYN) && !seg.flags.has(TcpFlags::ACK);
        let key = (
            seg.src_port.min(seg.dst_port),
            seg.src_port.max(seg.dst_port),
        );
        let idx = *by_ports.entry(key).or_insert_with(|| {
            // Without the SYN (capture started late) the client is the ephemeral port.
            let client = if syn_only {
                seg.src_port
            } else {
                seg.src_port.max(seg.dst_port)
            };
            conns.push((
                Conn {
                    client_port: client,
                    ..Conn::default()
                },
                TlsConnection::new(),
                [
                    Reassembler::new(ReassemblyLimits::default()),
                    Reassembler::new(ReassemblyLimits::default()),
                ],
                client,
            ));
            conns.len() - 1
        });
        let (conn, tlsc, reasm, client_port) = &mut conns[idx];
        let (dir, side) = if seg.src_port == *client_port {
            (Dir::ClientToServer, 0)
        } else {
            (Dir::ServerToClient, 1)
        };
        let mut label = SegmentLabel::new();
        let mut chunks: Vec<Delivery<'static>> = Vec::new();
        let mut owned: Vec<Vec<u8>> = Vec::new();
        reasm[side]
            .push(
                frame,
                seg.seq,
                seg.flags.has(TcpFlags::SYN),
                seg.payload,
                &mut |d| {
                    match d {
                        Delivery::Data { bytes, .. } => owned.push(bytes.to_vec()),
                        Delivery::Gap { len, packet } => chunks.push(Delivery::Gap { len, packet }),
                    }
                    Ok(())
                },
            )
            .unwrap();
        assert!(chunks.is_empty(), "no gaps in the samples");
        for bytes in &owned {
            tlsc.data(dir, bytes, keys, &mut |ev| {
                label.push(&ev);
                record(conn, &ev);
            });
        }
        if seg.flags.has(TcpFlags::FIN) || seg.flags.has(TcpFlags::RST) {
            tlsc.end(dir, &mut |ev| record(conn, &ev));
        }
        if let Some(p) = label.protocol() {
            labels.push((frame, p.to_string(), label.to_string()));
        }
        let s = tlsc.summary();
        conn.version = s.version();
        conn.suite = s.cipher_suite();
        conn.key_updates = s.key_updates;
        conn.hello_retry_request = s.hello_retry_request;
        conn.alpn.clone_from(&s.alpn);
    }
    (conns.into_iter().map(|c| c.0).collect(), labels)
}

fn record(conn: &mut Conn, ev: &TlsEvent<'_>) {
    match ev {
        TlsEvent::Plaintext { dir, data } => {
            let i = if *dir == Dir::ClientToServer { 0 } else { 1 };
            conn.plaintext[i].extend_from_slice(data);
        }
        TlsEvent::Status(s) => conn.status.push(*s),
        TlsEvent::Anomaly { kind, .. } => conn.anomalies.push(kind.name()),
        TlsEvent::ClientHello { hello, .. } => {
            conn.sni.clone_from(&hello.sni);
            conn.alpn_offered.clone_from(&hello.alpn);
        }
        _ => {}
    }
}

/// WebSocket frames (opcode, fin, unmasked payload) after the HTTP head of one direction.
fn ws_frames(stream: &[u8]) -> (String, Vec<(u8, bool, Vec<u8>)>) {
    let end = stream
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP head")
        + 4;
    let head = String::from_utf8_lossy(&stream[..end]).into_owned();
    let mut frames = Vec::new();
    let mut b = &stream[end..];
    while b.len() >= 2 {
        let fin = b[0] & 0x80 != 0;
        let opcode = b[0] & 0x0f;
        let masked = b[1] & 0x80 != 0;
        let (len, mut at) = match b[1] & 0x7f {
            126 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(b[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        let mut mask = [0u8; 4];
        if masked {
            mask.copy_from_slice(&b[at..at + 4]);
            at += 4;
        }
        let payload: Vec<u8> = b[at..at + len]
            .iter()
            .enumerate()
            .map(|(i, x)| x ^ mask[i % 4])
            .collect();
        frames.push((opcode, fin, payload));
        b = &b[at + len..];
    }
    assert!(b.is_empty(), "the stream ends on a frame boundary");
    (head, frames)
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn sha256_hex(b: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(b))
}

fn read_tsv(name: &str) -> Vec<Vec<String>> {
    let text =
        std::fs::read_to_string(root().join("samples/expected").join(name)).expect("expected file");
    text.lines()
        .map(|l| l.split('\t').map(|f| f.trim_end().to_string()).collect())
        .collect()
}

fn keys_of(name: &str) -> KeyLog {
    KeyLog::from_bytes(
        &std::fs::read(root().join("samples").join(format!("{name}.keys"))).expect("keys"),
    )
}

/// Every decrypted connection: plaintext = the manifest's HTTP upgrade and frames, in order
/// per direction; opcodes = tshark's with the same key log.
fn check_sample(name: &str, file: &str, keys: &KeyLog, suite: u16) {
    let path = root().join("samples").join(file);
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("samples").join(format!("{name}.sent.json")))
            .expect("manifest"),
    )
    .expect("json");
    let (conns, labels) = run(&path, keys);
    let mconns = manifest["connections"].as_array().expect("connections");
    assert_eq!(conns.len(), mconns.len(), "{name}: connections");
    let mut opcodes_seen = Vec::new();
    for (conn, m) in conns.iter().zip(mconns) {
        assert_eq!(conn.sni.as_deref(), Some("localhost"), "{name}: SNI");
        assert_eq!(conn.suite, Some(suite), "{name}: cipher suite");
        if let Some(alpn) = m["tls"]["alpn"].as_str() {
            // Python's ssl: selected_alpn_protocol(); in 1.3 it is only in the encrypted
            // EncryptedExtensions, so it is known only with the key.
            assert_eq!(
                conn.alpn_offered,
                vec![alpn.to_string()],
                "{name}: ALPN offered"
            );
            if m["keylog_missing"].as_bool() != Some(true) || conn.version != Some(0x0304) {
                assert_eq!(conn.alpn.as_deref(), Some(alpn), "{name}: ALPN selected");
            }
        }
        if m["keylog_missing"].as_bool() == Some(true) {
            assert_eq!(conn.status, vec![DecryptStatus::NoKey], "{name}");
            assert_eq!(conn.anomalies, vec!["tls-no-key"], "{name}");
            assert!(conn.plaintext.iter().all(|p| p.is_empty()));
            continue;
        }
        assert_eq!(
            conn.status,
            vec![DecryptStatus::Decrypted],
            "{name}: {:?}",
            conn.anomalies
        );
        assert!(conn.anomalies.is_empty(), "{name}: {:?}", conn.anomalies);
        let request = m["http"][0]["request"].as_str().expect("request");
        let (c_head, c_frames) = ws_frames(&conn.plaintext[0]);
        let (s_head, s_frames) = ws_frames(&conn.plaintext[1]);
        assert!(
            c_head.starts_with(&format!("{request}\r\n")),
            "{name}: {c_head}"
        );
        assert!(c_head.to_ascii_lowercase().contains("upgrade: websocket"));
        assert!(s_head.starts_with("HTTP/1.1 101 "), "{name}: {s_head}");
        let mut want = [Vec::new(), Vec::new()];
        for f in m["frames"].as_array().expect("frames") {
            let i = usize::from(f["dir"] == "s2c");
            want[i].push((
                f["opcode"].as_u64().expect("opcode") as u8,
                f["fin"].as_bool().expect("fin"),
                f["sha256"].as_str().expect("sha").to_string(),
            ));
        }
        for (i, got) in [c_frames, s_frames].iter().enumerate() {
            let got: Vec<_> = got
                .iter()
                .map(|(o, f, p)| (*o, *f, sha256_hex(p)))
                .collect();
            assert_eq!(got, want[i], "{name}: frames of direction {i}");
            opcodes_seen.extend(got.iter().map(|g| g.0));
        }
    }
    // tshark with the key log: the same frames (as a multiset of opcodes; tshark lists them
    // by packet, we list them by direction).
    let mut tshark_ops: Vec<u8> = read_tsv(&format!("{name}.tshark-tls-ws.tsv"))
        .iter()
        .flat_map(|r| {
            r[1].split(',')
                .map(|o| o.parse::<u8>().expect("opcode"))
                .collect::<Vec<_>>()
        })
        .collect();
    tshark_ops.sort_unstable();
    opcodes_seen.sort_unstable();
    assert_eq!(opcodes_seen, tshark_ops, "{name}: opcodes vs tshark");
    // tshark's TLS packet list with keys: every packet tshark still shows as TLS.
    let ours: HashMap<u64, (String, String)> =
        labels.into_iter().map(|(f, p, i)| (f, (p, i))).collect();
    for row in read_tsv(&format!("{name}.tshark-tls-list-keys.tsv")) {
        if !row[1].starts_with("TLS") {
            continue;
        }
        let frame: u64 = row[0].parse().expect("frame");
        assert_eq!(
            ours.get(&frame),
            Some(&(row[1].clone(), row[2].clone())),
            "{name}: frame {frame} label with keys"
        );
    }
}

/// Without keys: protocol column and Info equal tshark's for every TLS packet.
fn check_labels_without_keys(name: &str, file: &str) {
    let (conns, labels) = run(&root().join("samples").join(file), &KeyLog::new());
    for c in &conns {
        assert_eq!(c.status, vec![DecryptStatus::NoKey], "{name}");
        assert!(c.plaintext.iter().all(|p| p.is_empty()));
    }
    let want: Vec<(u64, String, String)> = read_tsv(&format!("{name}.tshark-tls-list.tsv"))
        .into_iter()
        .map(|r| (r[0].parse().expect("frame"), r[1].clone(), r[2].clone()))
        .collect();
    assert_eq!(labels, want, "{name}: labels without keys");
}

const SAMPLES: &[(&str, u16)] = &[
    ("tls13-python", 0x1302),
    ("tls12-gcm", 0xC02F),
    ("tls12-chacha", 0xCCA8),
    ("tls12-cbc", 0xC013),
    ("tls12-cbc-mte", 0xC028),
    ("tls13-missing-key", 0x1302),
    ("tls13-node-chacha", 0x1303),
    ("tls13-node-aes128", 0x1301),
    ("tls13-keyupdate", 0x1302),
    ("tls12-resumed", 0xC02F),
    ("tls13-resumed", 0x1302),
    ("tls13-hrr", 0x1302),
];

#[test]
fn samples_decrypt_to_what_was_sent() {
    for (name, suite) in SAMPLES {
        check_sample(name, &format!("{name}.pcap"), &keys_of(name), *suite);
    }
}

#[test]
fn labels_without_keys_match_tshark() {
    for (name, _) in SAMPLES {
        check_labels_without_keys(name, &format!("{name}.pcap"));
    }
}

#[test]
fn keyupdate_sample_updates_both_directions() {
    let (conns, _) = run(
        &root().join("samples/tls13-keyupdate.pcap"),
        &keys_of("tls13-keyupdate"),
    );
    assert_eq!(
        conns[0].key_updates, 2,
        "client KeyUpdate(update_requested) and the server's reply"
    );
    assert_eq!(conns[0].version, Some(0x0304));
}

#[test]
fn hello_retry_request_sample() {
    let (conns, _) = run(
        &root().join("samples/tls13-hrr.pcap"),
        &keys_of("tls13-hrr"),
    );
    assert!(conns[0].hello_retry_request);
    assert_eq!(conns[0].version, Some(0x0304));
    assert_eq!(conns[0].status, vec![DecryptStatus::Decrypted]);
    let (conns, _) = run(
        &root().join("samples/tls13-python.pcap"),
        &keys_of("tls13-python"),
    );
    assert!(!conns[0].hello_retry_request);
}

#[test]
fn pcapng_secrets_block_decrypts() {
    // The key log embedded by `editcap --inject-secrets` (Decryption Secrets Block, TLSK).
    let data = std::fs::read(root().join("samples/tls13-secrets.pcapng")).expect("pcapng");
    let mut keys = KeyLog::new();
    let mut rest = &data[..];
    let mut blocks = 0;
    while !rest.is_empty() {
        let (next, block) = pcap_parser::pcapng::parse_block_le(rest).expect("block");
        if let pcap_parser::pcapng::Block::DecryptionSecrets(dsb) = block {
            assert_eq!(
                dsb.secrets_type,
                pcap_parser::pcapng::SecretsType::TlsKeyLog
            );
            let n = (dsb.secrets_len as usize).min(dsb.data.len());
            keys.add_bytes(&dsb.data[..n]);
            blocks += 1;
        }
        rest = next;
    }
    assert_eq!(blocks, 1);
    assert_eq!(keys.len(), 1);
    check_sample("tls13-secrets", "tls13-secrets.pcapng", &keys, 0x1301);
}

#[test]
fn wrong_key_is_a_tag_mismatch_and_nothing_is_handed_up() {
    // Flip one bit of every secret in the key log.
    for (name, _) in SAMPLES {
        let text = std::fs::read_to_string(root().join("samples").join(format!("{name}.keys")))
            .expect("keys");
        let mut bad = String::new();
        for line in text.lines() {
            let mut parts: Vec<String> = line.split(' ').map(str::to_string).collect();
            if parts.len() == 3 {
                let last = parts[2].pop().expect("hex");
                parts[2].push(if last == '0' { '1' } else { '0' });
            }
            bad.push_str(&parts.join(" "));
            bad.push('\n');
        }
        let (conns, _) = run(
            &root().join("samples").join(format!("{name}.pcap")),
            &KeyLog::from_bytes(bad.as_bytes()),
        );
        let c = &conns[0];
        assert!(
            c.anomalies.contains(&"tls-tag-mismatch"),
            "{name}: {:?}",
            c.anomalies
        );
        assert_eq!(c.status.last(), Some(&DecryptStatus::TagMismatch), "{name}");
        assert!(c.plaintext.iter().all(|p| p.is_empty()), "{name}");
    }
}

#[test]
fn every_split_and_corruption_never_panics() {
    // Both directions of one sample, fed in chunks of every size 1..=40, then with each
    // byte of the server stream flipped (over a bounded range).
    let keys = keys_of("tls12-cbc");
    let path = root().join("samples/tls12-cbc.pcap");
    let (conns, _) = run(&path, &keys);
    assert!(!conns[0].plaintext[0].is_empty());
    let streams = raw_streams(&path);
    for chunk in 1..=40 {
        let mut c = TlsConnection::new();
        let mut plain = 0usize;
        for (dir, bytes) in &streams {
            for piece in bytes.chunks(chunk) {
                c.data(*dir, piece, &keys, &mut |ev| {
                    if let TlsEvent::Plaintext { data, .. } = ev {
                        plain += data.len();
                    }
                });
            }
        }
        assert_eq!(
            plain,
            conns[0].plaintext[0].len() + conns[0].plaintext[1].len(),
            "chunk {chunk}"
        );
    }
    let (dir, server) = streams
        .iter()
        .find(|(d, _)| *d == Dir::ServerToClient)
        .cloned()
        .expect("server");
    for at in (0..server.len()).step_by(7) {
        let mut s = server.clone();
        s[at] ^= 0x5a;
        let mut c = TlsConnection::new();
        for (d, bytes) in &streams {
            let b = if *d == dir { &s } else { bytes };
            c.data(*d, b, &keys, &mut |_| {});
        }
        for cut in [1usize, 5, 100] {
            let mut c = TlsConnection::new();
            c.data(dir, &s[..s.len().saturating_sub(cut)], &keys, &mut |_| {});
            c.end(dir, &mut |_| {});
        }
    }
}

/// Each direction's whole stream, in the order the directions first sent data (one
/// connection samples only); interleaving does not matter for TLS 1.2 CBC after the
/// handshake? It does: the client's ClientHello must come first, so the order is
/// client hello flight, then server flight, then the rest per direction.
fn raw_streams(path: &Path) -> Vec<(Dir, Vec<u8>)> {
    let mut source = capture::open_path(path).expect("open");
    let mut out: Vec<(Dir, Vec<u8>)> = Vec::new();
    let mut reasm = [
        Reassembler::new(ReassemblyLimits::default()),
        Reassembler::new(ReassemblyLimits::default()),
    ];
    let mut client = None;
    let mut frame = 0;
    while let Some(raw) = source.next_packet().expect("read") {
        frame += 1;
        let Transport::Tcp(seg) = wire::decode(raw.link_type, raw.data).transport else {
            continue;
        };
        let client_port = *client.get_or_insert(seg.src_port);
        let (dir, i) = if seg.src_port == client_port {
            (Dir::ClientToServer, 0)
        } else {
            (Dir::ServerToClient, 1)
        };
        reasm[i]
            .push(
                frame,
                seg.seq,
                seg.flags.has(TcpFlags::SYN),
                seg.payload,
                &mut |d| {
                    if let Delivery::Data { bytes, .. } = d {
                        match out.last_mut() {
                            Some((d, b)) if *d == dir => b.extend_from_slice(bytes),
                            _ => out.push((dir, bytes.to_vec())),
                        }
                    }
                    Ok(())
                },
            )
            .unwrap();
    }
    out
}

#[test]
fn tls_heuristic_on_samples() {
    for (name, _) in SAMPLES {
        let streams = raw_streams(&root().join("samples").join(format!("{name}.pcap")));
        assert!(tls::looks_like_tls(&streams[0].1), "{name}");
    }
    let plain = raw_streams(&root().join("samples/basic.pcap"));
    assert!(!tls::looks_like_tls(&plain[0].1));
}

#[test]
fn late_keys_decrypt_held_records() {
    // Live capture: the key log line of a connection may be read only after some of its
    // records went by. With a hold limit the held records decrypt once the keys show up.
    for (name, _) in SAMPLES {
        if *name == "tls13-missing-key" || name.ends_with("resumed") {
            continue; // several connections: raw_streams follows one
        }
        let keys = keys_of(name);
        let path = root().join("samples").join(format!("{name}.pcap"));
        let (conns, _) = run(&path, &keys);
        let want = &conns[0].plaintext;
        let streams = raw_streams(&path);
        for known_from in 0..=streams.len() {
            let mut c = TlsConnection::with_hold_limit(1 << 20);
            let mut seen = Conn::default();
            let empty = KeyLog::new();
            let mut sink = |ev: TlsEvent<'_>| record(&mut seen, &ev);
            for (n, (dir, bytes)) in streams.iter().enumerate() {
                let k = if n < known_from { &empty } else { &keys };
                c.data(*dir, bytes, k, &mut sink);
            }
            c.retry_keys(&keys, &mut sink);
            c.end(Dir::ClientToServer, &mut sink);
            assert_eq!(
                &seen.plaintext, want,
                "{name}: keys known from chunk {known_from}"
            );
            assert_eq!(c.status(), DecryptStatus::Decrypted, "{name}");
            // A key that came late is no finding: the connection decrypted.
            assert!(seen.anomalies.is_empty(), "{name}: {:?}", seen.anomalies);
        }
        // Held, and the key never comes: the no-key note is reported when the connection
        // ends (not lost).
        let mut c = TlsConnection::with_hold_limit(1 << 20);
        let anomalies = std::cell::RefCell::new(Vec::new());
        let mut sink = |ev: TlsEvent<'_>| {
            if let TlsEvent::Anomaly { kind, .. } = ev {
                anomalies.borrow_mut().push(kind.name());
            }
        };
        for (dir, bytes) in &streams {
            c.data(*dir, bytes, &KeyLog::new(), &mut sink);
        }
        assert!(
            anomalies.borrow().is_empty(),
            "{name}: held, not yet reported"
        );
        c.end(Dir::ClientToServer, &mut sink);
        c.end(Dir::ServerToClient, &mut sink);
        assert_eq!(*anomalies.borrow(), ["tls-no-key"], "{name}");
        // Without holding (offline default) or over the limit: nothing decrypts, nothing leaks.
        for limit in [0usize, 100] {
            let mut c = TlsConnection::with_hold_limit(limit);
            let mut plain = 0;
            for (dir, bytes) in &streams {
                c.data(*dir, bytes, &KeyLog::new(), &mut |ev| {
                    if let TlsEvent::Plaintext { data, .. } = ev {
                        plain += data.len();
                    }
                });
            }
            c.retry_keys(&keys, &mut |_| {});
            assert_eq!(plain, 0);
            assert_eq!(c.status(), DecryptStatus::NoKey, "{name}");
        }
    }
}

#[test]
fn a_key_log_read_between_its_handshake_and_traffic_lines_still_decrypts() {
    // Live: a TLS 1.3 client writes its handshake secrets when it reads the ServerHello and
    // its traffic secrets only after the server's Finished, which the capture may dissect
    // in between (seen in the live test: a connection then stayed undecrypted). Each split
    // of the stream: the handshake lines known from chunk `hs_from`, the rest from chunk
    // `all_from`.
    for (name, _) in SAMPLES {
        if !name.starts_with("tls13") || *name == "tls13-missing-key" || name.ends_with("resumed") {
            continue;
        }
        let text = std::fs::read_to_string(root().join("samples").join(format!("{name}.keys")))
            .expect("keys");
        let handshake_lines: String = text
            .lines()
            .filter(|l| l.contains("_HANDSHAKE_TRAFFIC_SECRET "))
            .map(|l| format!("{l}\n"))
            .collect();
        let early = KeyLog::from_bytes(handshake_lines.as_bytes());
        let keys = KeyLog::from_bytes(text.as_bytes());
        let path = root().join("samples").join(format!("{name}.pcap"));
        let (conns, _) = run(&path, &keys);
        let want = &conns[0].plaintext;
        let streams = raw_streams(&path);
        let empty = KeyLog::new();
        for hs_from in 0..=streams.len() {
            for all_from in hs_from..=streams.len() {
                let mut c = TlsConnection::with_hold_limit(1 << 20);
                let mut seen = Conn::default();
                let mut sink = |ev: TlsEvent<'_>| record(&mut seen, &ev);
                for (n, (dir, bytes)) in streams.iter().enumerate() {
                    let k = if n >= all_from {
                        &keys
                    } else if n >= hs_from {
                        &early
                    } else {
                        &empty
                    };
                    c.data(*dir, bytes, k, &mut sink);
                }
                c.retry_keys(&keys, &mut sink);
                c.end(Dir::ClientToServer, &mut sink);
                let case =
                    format!("{name}: handshake lines from chunk {hs_from}, all from {all_from}");
                let lens = |p: &[Vec<u8>]| p.iter().map(Vec::len).collect::<Vec<_>>();
                assert_eq!(
                    lens(&seen.plaintext),
                    lens(want),
                    "{case}: plaintext bytes per direction"
                );
                assert!(&seen.plaintext == want, "{case}: plaintext differs");
                assert_eq!(c.status(), DecryptStatus::Decrypted, "{case}");
                assert!(seen.anomalies.is_empty(), "{case}: {:?}", seen.anomalies);
            }
        }
    }
}

#[test]
fn capture_started_after_the_handshake() {
    // tls12-mid.pcap: tls12-gcm.pcap cut before its first WebSocket frame.
    let path = root().join("samples/tls12-mid.pcap");
    let (conns, labels) = run(&path, &keys_of("tls12-gcm"));
    assert_eq!(conns.len(), 1);
    assert_eq!(conns[0].status, vec![DecryptStatus::MissedHandshake]);
    assert_eq!(conns[0].anomalies, vec!["tls-missed-handshake"]);
    assert!(conns[0].plaintext.iter().all(|p| p.is_empty()));
    let want: Vec<(u64, String, String)> = read_tsv("tls12-mid.tshark-tls-list.tsv")
        .into_iter()
        .map(|r| (r[0].parse().expect("frame"), r[1].clone(), r[2].clone()))
        .collect();
    assert_eq!(labels, want);
}

/// Feeds `streams` with a gap of `gap` bytes at server stream offset `at` (the bytes there
/// are skipped); returns the server plaintext, the statuses and the PlaintextGap lengths.
fn feed_with_gap(
    streams: &[(Dir, Vec<u8>)],
    keys: &KeyLog,
    at: usize,
    gap: usize,
) -> (Vec<u8>, Vec<DecryptStatus>, Vec<Option<u64>>) {
    let mut c = TlsConnection::new();
    let mut plain = Vec::new();
    let mut statuses = Vec::new();
    let mut gaps = Vec::new();
    let mut sink = |ev: TlsEvent<'_>| match ev {
        TlsEvent::Plaintext {
            dir: Dir::ServerToClient,
            data,
        } => plain.extend_from_slice(data),
        TlsEvent::Status(s) => statuses.push(s),
        TlsEvent::PlaintextGap { len, .. } => gaps.push(len),
        _ => {}
    };
    let mut pos = 0usize;
    for (dir, bytes) in streams {
        if *dir == Dir::ClientToServer {
            c.data(*dir, bytes, keys, &mut sink);
            continue;
        }
        let (start, end) = (pos, pos + bytes.len());
        pos = end;
        let before = at.clamp(start, end);
        if before > start {
            c.data(*dir, &bytes[..before - start], keys, &mut sink);
        }
        if (start..end).contains(&at) {
            c.gap(*dir, gap as u64, &mut sink);
        }
        let after = (at + gap).clamp(start, end);
        if after < end && after >= before && (after > at || at >= end) {
            c.data(*dir, &bytes[after - start..], keys, &mut sink);
        }
    }
    (plain, statuses, gaps)
}

#[test]
fn gaps_inside_a_record_and_at_record_boundaries() {
    let name = "tls13-python";
    let keys = keys_of(name);
    let path = root().join("samples").join(format!("{name}.pcap"));
    let streams = raw_streams(&path);
    // Server records (offset, total length, decrypted application data?) from a full run.
    let mut records = Vec::new();
    let mut full = Vec::new();
    let mut c = TlsConnection::new();
    for (dir, bytes) in &streams {
        c.data(*dir, bytes, &keys, &mut |ev| match ev {
            TlsEvent::Record(r) if r.dir == Dir::ServerToClient => records.push((
                r.stream_offset as usize,
                5 + usize::from(r.header.length),
                r.decrypted && r.inner_type == tls::ContentType::ApplicationData,
            )),
            TlsEvent::Plaintext {
                dir: Dir::ServerToClient,
                data,
            } => full.extend_from_slice(data),
            _ => {}
        });
    }
    let (big, big_len, _) = *records.iter().max_by_key(|r| r.1).expect("records");
    assert!(big_len > 10_000, "the 20000-byte message");
    let check = |got: &[u8], what: &str| {
        assert!(got.len() < full.len(), "{what}: something is missing");
        let common = got.iter().zip(&full).take_while(|(a, b)| a == b).count();
        assert!(full.ends_with(&got[common..]), "{what}: the rest decrypts");
        assert!(
            got.len() - common > 0,
            "{what}: records after the gap decrypt"
        );
    };
    // A gap inside one record: that record is lost, the following ones decrypt.
    let (got, statuses, gaps) = feed_with_gap(&streams, &keys, big + 100, 300);
    assert_eq!(statuses, vec![DecryptStatus::Decrypted]);
    assert_eq!(gaps, vec![Some(big_len as u64 - 5)]);
    check(&got, "inside");
    // A gap of exactly one whole application record at a boundary: found by trial.
    let app: Vec<_> = records.iter().filter(|r| r.2).collect();
    let (lost, lost_len, _) = *app[1];
    let (got, statuses, gaps) = feed_with_gap(&streams, &keys, lost, lost_len);
    assert_eq!(statuses, vec![DecryptStatus::Decrypted], "boundary");
    assert_eq!(gaps, vec![Some(lost_len as u64)]);
    check(&got, "boundary");
    // A gap that ends inside the next record: sync is lost, decryption stops, no garbage.
    let (got, statuses, gaps) = feed_with_gap(&streams, &keys, lost, lost_len + 7);
    assert_eq!(statuses, vec![DecryptStatus::Decrypted, DecryptStatus::Gap]);
    assert_eq!(gaps, vec![Some(lost_len as u64 + 7), None]);
    assert!(full.starts_with(&got));
}

// ---- The whole pipeline on wss:// captures (read, check, JSON Lines) ----

mod pipeline {
    use crate::util::{jsonl, manifest, of_type, packet_lines, run, sample, sha256_hex};
    use std::path::Path;

    /// Every TLS sample: (name, capture, key log when there is one).
    fn tls_samples() -> Vec<(String, std::path::PathBuf, Option<std::path::PathBuf>)> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(sample("")).unwrap().flatten() {
            let path = entry.path();
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let Some(stem) = name
                .strip_suffix(".pcapng")
                .or_else(|| name.strip_suffix(".pcap"))
            else {
                continue;
            };
            if !stem.starts_with("tls1") {
                continue;
            }
            let keys = sample(&format!("{stem}.keys"));
            out.push((stem.to_string(), path, keys.exists().then_some(keys)));
        }
        out.sort();
        assert!(out.len() >= 14, "TLS samples: {}", out.len());
        out
    }

    /// The packet list's TLS, HTTP and WebSocket lines as tshark's `-Y tls` reference lists
    /// them: number, protocol, Info.
    fn upper_lines(capture: &Path, extra: &[&str]) -> Vec<String> {
        let mut args = vec!["--wireshark-compat"];
        args.extend_from_slice(extra);
        packet_lines(capture, &args)
            .into_iter()
            .filter_map(|l| {
                let cols: Vec<&str> = l.split('\t').collect();
                (cols.len() >= 7 && cols[4] != "TCP")
                    .then(|| format!("{}\t{}\t{}", cols[0], cols[4], cols[6]))
            })
            .collect()
    }

    fn reference(name: &str, which: &str) -> Vec<String> {
        let path = crate::util::root().join(format!("samples/expected/{name}.{which}.tsv"));
        std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Oracle: tshark 4.0.17 on the same files, without keys and with
    /// `-o tls.keylog_file:K` (samples/gen/make_expected_tls.sh).
    #[test]
    fn packet_list_equals_tshark_with_and_without_keys() {
        for (name, capture, keys) in tls_samples() {
            assert_eq!(
                upper_lines(&capture, &[]),
                reference(&name, "tshark-tls-list"),
                "{name} without keys"
            );
            let with_keys = match &keys {
                Some(k) => upper_lines(&capture, &["--keylog", k.to_str().unwrap()]),
                // tls13-secrets.pcapng carries its own secrets.
                None => upper_lines(&capture, &[]),
            };
            assert_eq!(
                with_keys,
                reference(&name, "tshark-tls-list-keys"),
                "{name} with keys"
            );
        }
    }

    /// Oracle: the generators' manifests of what the applications sent.
    #[test]
    fn decrypted_frames_are_what_the_applications_sent() {
        let mut checked = 0;
        for (name, capture, keys) in tls_samples() {
            let Some(keys) = keys else { continue };
            let m = manifest(&name);
            let records = jsonl(&capture, &["--keylog".into(), keys.display().to_string()]);
            let got: Vec<(String, u64, String)> = of_type(&records, "frame")
                .iter()
                .filter(|f| f["payload_complete"] == true)
                .map(|f| {
                    let payload = crate::util::b64(f["payload_b64"].as_str().unwrap());
                    (
                        f["dir"].as_str().unwrap().to_string(),
                        f["opcode"].as_u64().unwrap(),
                        sha256_hex(&payload),
                    )
                })
                .collect();
            let mut want = Vec::new();
            for conn in m["connections"].as_array().unwrap() {
                // A connection the key log lacks cannot be decrypted.
                if conn["keylog_missing"] == true {
                    continue;
                }
                for f in conn["frames"].as_array().unwrap() {
                    want.push((
                        f["dir"].as_str().unwrap().to_string(),
                        f["opcode"].as_u64().unwrap(),
                        f["sha256"].as_str().unwrap().to_string(),
                    ));
                }
            }
            if name == "tls12-mid" {
                // Capture starts after the handshake: nothing can be decrypted.
                assert!(got.is_empty(), "{name}");
                continue;
            }
            assert_eq!(got, want, "{name}");
            checked += want.len();
        }
        assert!(checked >= 60, "only {checked} frames checked");
    }

    #[test]
    fn pcapng_secrets_block_decrypts_without_a_key_log() {
        let records = jsonl(&sample("tls13-secrets.pcapng"), &[]);
        let tls = of_type(&records, "tls");
        assert_eq!(tls.len(), 1);
        assert_eq!(tls[0]["decrypted"], true);
        assert_eq!(tls[0]["version"], "TLSv1.3");
        assert!(!of_type(&records, "frame").is_empty());
    }

    #[test]
    fn tls_record_says_why_not_decrypted() {
        let records = jsonl(&sample("tls13-python.pcap"), &[]);
        let tls = of_type(&records, "tls");
        assert_eq!(tls[0]["decrypted"], false);
        assert_eq!(tls[0]["status"], "no key for this client random");
        let m = manifest("tls13-python");
        let conn = &m["connections"][0]["tls"];
        assert_eq!(tls[0]["sni"], conn["sni"]);
    }

    #[test]
    fn check_notes_what_it_cannot_decrypt_and_checks_the_rest() {
        let capture = sample("tls13-missing-key.pcap");
        let keys = sample("tls13-missing-key.keys");
        let args = [
            "check",
            capture.to_str().unwrap(),
            "--keylog",
            keys.to_str().unwrap(),
        ];
        let out = run(&args, None);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{text}");
        assert!(text.contains("note[tls-no-key]"), "{text}");
        // The decrypted connection's WebSocket handshake was checked: no other findings.
        assert!(!text.contains("error["), "{text}");
        let mut strict = args.to_vec();
        strict.extend(["--expect-decrypted", "--deny", "warnings"]);
        let out = run(&strict, None);
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(1), "{text}");
        assert!(text.contains("error[tls-no-key]"), "{text}");
    }

    /// The pcapng Decryption Secrets Blocks of a file: (index of the next packet, text).
    fn secrets_blocks(bytes: &[u8]) -> Vec<(usize, String)> {
        let (mut at, mut packets, mut out) = (0usize, 0usize, Vec::new());
        while at + 12 <= bytes.len() {
            let word = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
            let (kind, len) = (word(at), word(at + 4) as usize);
            match kind {
                0x0A => {
                    assert_eq!(word(at + 8), 0x544c_534b, "secrets type TLSK");
                    let n = word(at + 12) as usize;
                    let text = &bytes[at + 16..at + 16 + n];
                    out.push((packets, String::from_utf8(text.to_vec()).unwrap()));
                }
                6 => packets += 1,
                _ => {}
            }
            at += len;
        }
        out
    }

    /// `read -w OUT.pcapng --inject-secrets`, as `editcap --inject-secrets`: the written
    /// file decrypts without a key log. Oracles: tshark 4.0.17's packet list of the original
    /// with its key log (samples/expected/*.tshark-tls-list-keys.tsv) equals wsdissect's of
    /// the written file without one, and tshark's own of the written file (when tshark is
    /// installed); the blocks hold the sample's key log lines and not the lines of a
    /// connection the capture does not have.
    #[test]
    fn inject_secrets_writes_a_pcapng_that_decrypts_alone() {
        let decoy = std::fs::read_to_string(sample("tls12-chacha.keys")).unwrap();
        let tshark = std::process::Command::new("tshark")
            .arg("-v")
            .output()
            .is_ok_and(|o| o.status.success());
        for name in [
            "tls13-missing-key",
            "tls12-gcm",
            "tls13-resumed",
            "tls13-hrr",
        ] {
            let own = std::fs::read_to_string(sample(&format!("{name}.keys"))).unwrap();
            let keys = crate::util::write_temp(
                &format!("inject-{name}.keys"),
                (own.clone() + &decoy).as_bytes(),
            );
            let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
                .join(format!("inject-{name}.pcapng"));
            let capture = sample(&format!("{name}.pcap"));
            let done = run(
                &[
                    "read",
                    capture.to_str().unwrap(),
                    "--keylog",
                    keys.to_str().unwrap(),
                    "-w",
                    out.to_str().unwrap(),
                    "--inject-secrets",
                ],
                None,
            );
            assert!(
                done.status.success(),
                "{name}: {}",
                String::from_utf8_lossy(&done.stderr)
            );
            let bytes = std::fs::read(&out).unwrap();
            let blocks = secrets_blocks(&bytes);
            assert!(!blocks.is_empty(), "{name}: no secrets block");
            let written: String = blocks.iter().map(|b| b.1.as_str()).collect();
            for line in written.lines() {
                assert!(
                    own.lines().any(|l| l == line),
                    "{name}: {line:.40} not from its key log"
                );
                assert!(
                    !decoy.lines().any(|l| l == line),
                    "{name}: a decoy line was written"
                );
            }
            // Each block comes right before a ClientHello (tshark's frame numbers): before
            // the first packet that needs it.
            let want = reference(name, "tshark-tls-list-keys");
            let hellos: Vec<usize> = want
                .iter()
                .filter(|l| l.contains("Client Hello"))
                .map(|l| l.split('\t').next().unwrap().parse().unwrap())
                .collect();
            for (before, _) in &blocks {
                assert!(
                    hellos.contains(&(before + 1)),
                    "{name}: block before {before} {hellos:?}"
                );
            }
            assert_eq!(
                upper_lines(&out, &[]),
                want,
                "{name}: wsdissect, no key log"
            );
            if tshark {
                let listed = std::process::Command::new("tshark")
                    .args([
                        "-r",
                        out.to_str().unwrap(),
                        "-o",
                        "tls.keylog_file:",
                        "-Y",
                        "tls",
                    ])
                    .args(["-T", "fields", "-E", "separator=/t", "-e", "frame.number"])
                    .args(["-e", "_ws.col.Protocol", "-e", "_ws.col.Info"])
                    .output()
                    .unwrap();
                let text = String::from_utf8(listed.stdout).unwrap();
                // The reference keeps tshark's trailing blanks; this compares without them.
                let got: Vec<&str> = text.lines().map(str::trim_end).collect();
                let want: Vec<&str> = want.iter().map(|l| l.trim_end()).collect();
                assert_eq!(got, want, "{name}: tshark on the written file, no key log");
            }
        }
    }

    #[test]
    fn inject_secrets_needs_a_pcapng_name() {
        let capture = sample("tls12-gcm.pcap");
        let out = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("inject.pcap");
        let done = run(
            &[
                "read",
                capture.to_str().unwrap(),
                "-w",
                out.to_str().unwrap(),
                "--inject-secrets",
            ],
            None,
        );
        assert_eq!(done.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&done.stderr).contains(".pcapng"));
    }

    /// Headless Chromium with its own key log (`--ssl-key-log-file`) against a Python
    /// websockets server over ssl (samples/gen/tls_chromium.py). Oracles: tshark 4.0.17's
    /// WebSocket rows with the same key log (frame, opcode, length, mask) and the manifest
    /// (frames as the page and the server sent them); `check --expect-decrypted` is clean.
    #[test]
    fn chromium_wss_decrypts_with_its_own_key_log() {
        let capture = sample("tls13-chromium.pcap");
        let keys = sample("tls13-chromium.keys");
        let m = manifest("tls13-chromium");
        assert!(m["libraries"].as_str().unwrap().contains("Chromium"));
        let records = jsonl(&capture, &["--keylog".into(), keys.display().to_string()]);
        let frames = of_type(&records, "frame");
        let ours: Vec<String> = frames
            .iter()
            .map(|f| {
                let len = f["payload_len"].as_u64().unwrap();
                let (short, ext) = match len {
                    0..=125 => (len, String::new()),
                    126..=65535 => (126, len.to_string()),
                    _ => (127, String::new()),
                };
                format!(
                    "{}\t{}\t{short}\t{ext}\t{}",
                    f["packet"],
                    f["opcode"],
                    u8::from(f["masked"] == true)
                )
            })
            .collect();
        assert_eq!(ours, reference("tls13-chromium", "tshark-tls-ws"));
        let want = m["connections"][0]["frames"].as_array().unwrap();
        assert_eq!(frames.len(), want.len());
        for (got, want) in frames.iter().zip(want) {
            assert_eq!(got["dir"], want["dir"]);
            assert_eq!(
                sha256_hex(&crate::util::b64(got["payload_b64"].as_str().unwrap())),
                want["sha256"].as_str().unwrap()
            );
        }
        let out = run(
            &[
                "check",
                capture.to_str().unwrap(),
                "--keylog",
                keys.to_str().unwrap(),
                "--expect-decrypted",
                "--deny",
                "warnings",
            ],
            None,
        );
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }

    /// An SSL 2.0-format ClientHello (hand-crafted client, real TLS 1.2 server;
    /// samples/gen/tls_sslv2_hello.py) is found as TLS without configuration. Oracles:
    /// tshark 4.0.17 told to decode the port as TLS (`-d`), and the manifest (the version in
    /// the hello).
    #[test]
    fn sslv2_format_client_hello_is_recognised() {
        let capture = sample("sslv2-hello.pcap");
        assert_eq!(
            upper_lines(&capture, &[]),
            reference("sslv2-hello", "tshark-tls-list")
        );
        let m = manifest("sslv2-hello");
        assert_eq!(
            m["connections"][0]["sslv2_client_hello"]["version"],
            "0x0303"
        );
        let records = jsonl(&capture, &[]);
        let tls = of_type(&records, "tls");
        assert_eq!(tls.len(), 1);
        assert_eq!(tls[0]["version"], "TLSv1.2");
        assert_eq!(tls[0]["decrypted"], false);
    }

    /// WebSocket over HTTP/2 (RFC 8441; samples/gen/tls_h2.js: Node http2 with
    /// `enableConnectProtocol`, an extended CONNECT with `:protocol websocket`): reported as
    /// HTTP/2, never read as HTTP/1.1. Oracles: the manifest (ALPN h2, the CONNECT request)
    /// and tshark 4.0.17 (without keys the same lines; with keys, every packet tshark
    /// decodes as HTTP2 is one wsdissect lists as TLS application data, not decoded).
    #[test]
    fn websocket_over_http2_is_reported_not_misread() {
        let capture = sample("h2ws-tls13.pcap");
        let keys = sample("h2ws-tls13.keys");
        let m = manifest("h2ws-tls13");
        let conn = &m["connections"][0];
        assert_eq!(conn["tls"]["alpn"], "h2");
        assert_eq!(conn["http2"]["request"][":protocol"], "websocket");
        assert_eq!(conn["http2"]["request"][":method"], "CONNECT");

        assert_eq!(
            upper_lines(&capture, &[]),
            reference("h2ws-tls13", "tshark-tls-list"),
            "without keys"
        );
        let ours = upper_lines(&capture, &["--keylog", keys.to_str().unwrap()]);
        let theirs = reference("h2ws-tls13", "tshark-tls-list-keys");
        assert_eq!(ours.len(), theirs.len(), "{ours:#?}");
        let mut h2_packets = 0;
        for (o, t) in ours.iter().zip(&theirs) {
            let (o_cols, t_cols): (Vec<&str>, Vec<&str>) =
                (o.split('\t').collect(), t.split('\t').collect());
            assert_eq!(o_cols[0], t_cols[0], "frame numbers");
            if t_cols[1] == "HTTP2" {
                h2_packets += 1;
                assert_eq!(o_cols[1], "TLSv1.3", "{o}");
                assert!(o_cols[2].ends_with("Application Data"), "{o}");
            } else {
                assert_eq!(o.trim_end(), t.trim_end());
            }
        }
        assert!(h2_packets >= 8, "{h2_packets}");

        let records = jsonl(&capture, &["--keylog".into(), keys.display().to_string()]);
        let tls = of_type(&records, "tls");
        assert_eq!(tls.len(), 1);
        assert_eq!(tls[0]["alpn"], "h2");
        assert_eq!(tls[0]["decrypted"], true);
        for kind in [
            "http_request",
            "http_response",
            "handshake",
            "frame",
            "message",
        ] {
            assert!(
                of_type(&records, kind).is_empty(),
                "no {kind} from HTTP/2 bytes"
            );
        }
        let anomalies: Vec<&str> = of_type(&records, "anomaly")
            .iter()
            .map(|a| a["kind"].as_str().unwrap())
            .collect();
        assert_eq!(anomalies, ["tls-alpn-h2"]);

        let out = run(
            &[
                "check",
                capture.to_str().unwrap(),
                "--keylog",
                keys.to_str().unwrap(),
            ],
            None,
        );
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("note[tls-alpn-h2]"), "{text}");
        assert!(text.contains("HTTP/2"), "{text}");
        // The server's SETTINGS enabled the extended CONNECT (the generator set
        // enableConnectProtocol; tshark: "Settings - Extended CONNECT : 1").
        assert_eq!(conn["http2"]["settings_enable_connect_protocol"], 1);
        assert!(
            text.contains("SETTINGS_ENABLE_CONNECT_PROTOCOL = 1"),
            "{text}"
        );
        assert!(!text.contains("error["), "{text}");
    }

    #[test]
    fn a_missing_key_log_is_unusable_input() {
        let capture = sample("tls13-python.pcap");
        let out = run(
            &[
                "read",
                capture.to_str().unwrap(),
                "--keylog",
                "/nonexistent/keys.log",
            ],
            None,
        );
        assert_eq!(out.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&out.stderr).contains("no such key log file"));
    }
}

// ---- Proxy handshakes before the tunnel (hand-crafted; oracles: RFC 1928 and 1929 for
// SOCKS5, the SOCKS4/4a protocol notes, RFC 9110 §9.3.6 for CONNECT, RFC 6455 §1.3 for
// the WebSocket upgrade inside) ----

mod proxy {
    use crate::util::{Conversation, RFC_ACCEPT, client_frame, jsonl, of_type, packet_lines};

    /// The client's and the server's proxy messages, in the order they are sent.
    type Exchange = Vec<(bool, Vec<u8>)>;

    fn socks5_with_password() -> Exchange {
        let mut request = vec![5, 1, 0, 3, 11];
        request.extend_from_slice(b"example.com");
        request.extend_from_slice(&80u16.to_be_bytes());
        let mut auth = vec![1, 4];
        auth.extend_from_slice(b"user");
        auth.push(6);
        auth.extend_from_slice(b"secret");
        vec![
            (true, vec![5, 2, 0, 2]),
            (false, vec![5, 2]),
            (true, auth),
            (false, vec![1, 0]),
            (true, request),
            (false, vec![5, 0, 0, 1, 93, 184, 216, 34, 0, 80]),
        ]
    }

    fn socks4a() -> Exchange {
        let mut request = vec![4, 1, 0, 80, 0, 0, 0, 1];
        request.extend_from_slice(b"wsd\0example.com\0");
        vec![(true, request), (false, vec![0, 0x5A, 0, 0, 0, 0, 0, 0])]
    }

    fn connect() -> Exchange {
        vec![
            (
                true,
                b"CONNECT example.com:80 HTTP/1.1\r\nHost: example.com:80\r\n\r\n".to_vec(),
            ),
            (
                false,
                b"HTTP/1.1 200 Connection established\r\n\r\n".to_vec(),
            ),
        ]
    }

    /// The exchange (each message in `split`-byte segments), then the RFC 6455 §1.3
    /// upgrade and one masked text frame through the tunnel.
    fn capture(name: &str, exchange: &Exchange, split: usize) -> std::path::PathBuf {
        let mut c = Conversation::open();
        for (from_client, msg) in exchange {
            for part in msg.chunks(split) {
                if *from_client {
                    c.c2s(part);
                } else {
                    c.s2c(part);
                }
            }
        }
        c.c2s(&Conversation::upgrade_request());
        c.s2c(&Conversation::upgrade_response(RFC_ACCEPT));
        c.c2s(&client_frame(0x81, [1, 2, 3, 4], b"tunnelled"));
        c.close();
        c.write(name)
    }

    #[test]
    fn websocket_through_each_proxy_whole_or_byte_by_byte() {
        for (name, exchange, socks_lines) in [
            ("socks5-auth", socks5_with_password(), 6),
            ("socks4a", socks4a(), 2),
            ("connect", connect(), 0),
        ] {
            for split in [usize::MAX, 1] {
                let path = capture(&format!("proxy-{name}-{split}.pcap"), &exchange, split);
                let records = jsonl(&path, &[]);
                let hs = of_type(&records, "handshake");
                assert_eq!(hs.len(), 1, "{name}/{split}: {records:?}");
                assert_eq!(hs[0]["accept_ok"], true);
                assert_eq!(hs[0]["path"], "/chat");
                let frames = of_type(&records, "frame");
                assert_eq!(frames.len(), 1, "{name}/{split}");
                assert_eq!(frames[0]["text"], "tunnelled");
                // The hand-made session ends without a close handshake: that finding only.
                let kinds: Vec<&str> = of_type(&records, "anomaly")
                    .iter()
                    .map(|a| a["kind"].as_str().unwrap())
                    .collect();
                assert_eq!(kinds, ["no-close-handshake"], "{name}/{split}");
                // One Socks line per SOCKS message (Wireshark labels each).
                let lines = packet_lines(&path, &[]);
                let socks = lines.iter().filter(|l| l.contains("\tSocks\t")).count();
                assert_eq!(socks, socks_lines, "{name}/{split}: {lines:#?}");
            }
        }
    }

    /// A refused request (SOCKS4 0x5B, CONNECT 407): no tunnel; what follows is read as it
    /// is, and nothing breaks.
    #[test]
    fn refused_tunnels_are_not_followed() {
        let mut socks = socks4a();
        socks[1].1[1] = 0x5B;
        let mut connect = connect();
        connect[1].1 =
            b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n".to_vec();
        for (name, exchange) in [("socks4-refused", socks), ("connect-407", connect)] {
            let mut c = Conversation::open();
            for (from_client, msg) in &exchange {
                if *from_client {
                    c.c2s(msg);
                } else {
                    c.s2c(msg);
                }
            }
            c.close();
            let path = c.write(&format!("proxy-{name}.pcap"));
            let records = jsonl(&path, &[]);
            assert!(of_type(&records, "handshake").is_empty(), "{name}");
            assert!(of_type(&records, "tls").is_empty(), "{name}");
        }
    }

    /// Bytes that start like a proxy handshake but are not one never panic and are read on
    /// as plain bytes.
    #[test]
    fn broken_handshakes_fall_back() {
        for bytes in [
            vec![5, 1, 0, 9, 9, 9, 9, 9],
            vec![4, 1, 0, 80, 1, 2, 3, 4, 0, 0xFF, 0xFF],
            b"CONNECT x:1 HTTP/1.1\r\n".repeat(4000),
            vec![5, 2, 0, 2],
        ] {
            let mut c = Conversation::open();
            c.c2s(&bytes);
            c.s2c(&[5, 0xFF, 1, 2, 3]);
            c.close();
            let path = c.write("proxy-broken.pcap");
            let out = crate::util::run(&["read", path.to_str().unwrap()], None);
            assert!(out.status.success());
        }
    }
}
