//! Messages far larger than the payload retention caps are still checked in full: every
//! byte is UTF-8-validated and inflated as it passes, whatever `--max-payload` keeps (and
//! `check`, which keeps none). The captures are built here with `tests/util/mod.rs`; the
//! expected offsets and lengths come from how they were built, and the compressed data
//! from flate2's encoder, not from wsdissect.

use crate::util::*;
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// Masking key of the client frames.
const KEY: [u8; 4] = [0x1f, 0x2e, 0x3d, 0x4c];
/// Bytes per TCP segment (Ethernet MSS), so frames span many segments.
const MSS: usize = 1448;

/// An upgraded connection; with `deflate`, permessage-deflate agreed (context takeover).
fn upgraded(deflate: bool) -> Conversation {
    let ext = if deflate {
        "Sec-WebSocket-Extensions: permessage-deflate\r\n"
    } else {
        ""
    };
    let mut c = Conversation::open();
    c.c2s(
        format!(
            "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {RFC_KEY}\r\n\
             Sec-WebSocket-Version: 13\r\n{ext}\r\n"
        )
        .as_bytes(),
    );
    c.s2c(
        format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n{ext}\r\n"
        )
        .as_bytes(),
    );
    c
}

/// Sends client bytes cut into MSS-sized segments.
fn send(c: &mut Conversation, bytes: &[u8]) {
    for seg in bytes.chunks(MSS) {
        c.c2s(seg);
    }
}

/// Closes cleanly (Close 1000 both ways, FINs) and writes the capture.
fn finish(mut c: Conversation, name: &str) -> std::path::PathBuf {
    c.c2s(&client_frame(0x88, KEY, &1000u16.to_be_bytes()));
    c.s2c(&[0x88, 0x02, 0x03, 0xe8]);
    c.close();
    c.write(name)
}

/// Raw DEFLATE of `data`, sync-flushed, without the trailing `00 00 ff ff` (RFC 7692
/// §7.2.1), from flate2's encoder at its default level.
fn deflate(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.flush().unwrap();
    let mut out = enc.get_ref().clone();
    assert_eq!(out[out.len() - 4..], [0x00, 0x00, 0xff, 0xff]);
    out.truncate(out.len() - 4);
    out
}

/// Text that compresses, but not to nothing: numbered words.
fn text(len: usize) -> Vec<u8> {
    let mut t = Vec::with_capacity(len + 16);
    let mut i = 0u64;
    while t.len() < len {
        write!(t, "word{} ", i * 7919 % 100_003).unwrap();
        i += 1;
    }
    t.truncate(len);
    t
}

/// `check FILE --format jsonl`: exit code and diagnostics.
fn check(path: &Path) -> (Option<i32>, Vec<Value>) {
    let out = run(
        &["check", path.to_str().unwrap(), "--format", "jsonl"],
        None,
    );
    let records = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect::<Vec<Value>>();
    (out.status.code(), records)
}

/// Messages of the client's data (text/binary) frames.
fn data_messages(records: &[Value]) -> Vec<&Value> {
    of_type(records, "message")
        .into_iter()
        .filter(|m| m["opcode"] == 1 || m["opcode"] == 2)
        .collect()
}

fn kinds<'a>(records: &'a [Value], field: &str, kind: &str) -> Vec<&'a Value> {
    records
        .iter()
        .filter(|r| r["type"] == field && r["kind"] == kind)
        .collect()
}

fn max_payload() -> Vec<String> {
    vec!["--max-payload".into(), "1024".into()]
}

#[test]
fn invalid_utf8_beyond_the_retention_cap_is_found() {
    let mut payload = text(300_000);
    payload[250_000] = 0xff;
    // One frame (64-bit length), and the same message in three fragments (16-bit
    // length first, the invalid byte in the third).
    let mut c = upgraded(false);
    send(&mut c, &client_frame(0x81, KEY, &payload));
    send(&mut c, &client_frame(0x01, KEY, &payload[..60_000]));
    send(&mut c, &client_frame(0x00, KEY, &payload[60_000..200_000]));
    send(&mut c, &client_frame(0x80, KEY, &payload[200_000..]));
    let path = finish(c, "streaming-invalid-utf8.pcap");

    let records = jsonl(&path, &max_payload());
    let messages = data_messages(&records);
    assert_eq!(messages.len(), 2);
    for m in &messages {
        assert_eq!(m["len"], 300_000);
        assert_eq!(m["payload_complete"], false);
        assert_eq!(b64(m["payload_b64"].as_str().unwrap()), &payload[..1024]);
    }
    let bad = kinds(&records, "anomaly", "invalid-utf8");
    assert_eq!(bad.len(), 2, "{bad:?}");
    for a in &bad {
        let msg = a["message"].as_str().unwrap();
        assert!(msg.contains("invalid sequence at byte 250000"), "{msg}");
        assert!(msg.contains("of 300000 bytes"), "{msg}");
    }

    // `check` keeps no payload at all and finds the same.
    let (code, diags) = check(&path);
    assert_eq!(code, Some(1));
    let bad = kinds(&diags, "diagnostic", "invalid-utf8");
    assert_eq!(bad.len(), 2, "{diags:?}");
    for d in &bad {
        let msg = d["message"].as_str().unwrap();
        assert!(msg.contains("invalid sequence at byte 250000"), "{msg}");
    }
}

#[test]
fn compressed_messages_beyond_the_retention_cap_inflate_fully() {
    let first = text(600_000);
    let second = text(200_000);
    let mut bad = text(150_000);
    bad[140_000] = 0xc0;
    let mut c = upgraded(true);
    // One frame with RSV1; then a message in two fragments (RSV1 on the first only),
    // compressed with the window carried over; then one with invalid UTF-8 inside.
    let mut comp = flate2::Compress::new(flate2::Compression::default(), false);
    let mut compress = |data: &[u8]| {
        let mut out = Vec::with_capacity(data.len() + 1024);
        comp.compress_vec(data, &mut out, flate2::FlushCompress::Sync)
            .unwrap();
        assert_eq!(out[out.len() - 4..], [0x00, 0x00, 0xff, 0xff]);
        out.truncate(out.len() - 4);
        out
    };
    let a = compress(&first);
    let b = compress(&second);
    let z = compress(&bad);
    assert!(
        a.len() > 2048 && b.len() > 2048,
        "compressed larger than the cap"
    );
    send(&mut c, &client_frame(0xC1, KEY, &a));
    let cut = b.len() / 3;
    send(&mut c, &client_frame(0x41, KEY, &b[..cut]));
    send(&mut c, &client_frame(0x80, KEY, &b[cut..]));
    send(&mut c, &client_frame(0xC1, KEY, &z));
    let path = finish(c, "streaming-deflate.pcap");

    let records = jsonl(&path, &max_payload());
    let messages = data_messages(&records);
    assert_eq!(messages.len(), 3);
    for (m, (plain, wire)) in
        messages
            .iter()
            .zip([(&first, a.len()), (&second, b.len()), (&bad, z.len())])
    {
        assert_eq!(m["compressed"], true);
        assert_eq!(m["len"], plain.len() as u64);
        assert_eq!(m["wire_len"], wire as u64);
        assert_eq!(m["payload_complete"], false);
        assert_eq!(b64(m["payload_b64"].as_str().unwrap()), &plain[..1024]);
    }
    let anomalies = of_type(&records, "anomaly");
    assert_eq!(anomalies.len(), 1, "{anomalies:?}");
    assert_eq!(anomalies[0]["kind"], "invalid-utf8");
    let msg = anomalies[0]["message"].as_str().unwrap();
    assert!(
        msg.contains(
            "inflated text message of 150000 bytes has an invalid sequence at byte 140000"
        ),
        "{msg}"
    );

    let (code, diags) = check(&path);
    assert_eq!(code, Some(1));
    let found: Vec<&Value> = of_type(&diags, "diagnostic");
    assert_eq!(found.len(), 1, "{diags:?}");
    assert_eq!(found[0]["kind"], "invalid-utf8");
    assert_eq!(found[0]["message"].as_str().unwrap(), msg);
}

#[test]
fn one_compressed_frame_from_the_plain_encoder() {
    // flate2's one-shot raw encoder, as the brief for these captures describes.
    let plain = text(400_000);
    let data = deflate(&plain);
    let mut c = upgraded(true);
    send(&mut c, &client_frame(0xC1, KEY, &data));
    let path = finish(c, "streaming-deflate-one.pcap");
    for extra in [max_payload(), vec!["--max-payload".into(), "0".into()]] {
        let records = jsonl(&path, &extra);
        let messages = data_messages(&records);
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["len"], 400_000);
        assert!(of_type(&records, "anomaly").is_empty());
    }
    let (code, diags) = check(&path);
    assert_eq!(code, Some(0), "{diags:?}");
    assert!(of_type(&diags, "diagnostic").is_empty());
}
