//! Conformance checks, messages and permessage-deflate, through the library.
//!
//! Every anomaly kind fires on a hand-crafted capture that breaks its rule (built here
//! with `tests/util/mod.rs`; each expectation — packet, direction, severity — is worked out
//! from the capture's construction and the RFC, not from the tool's output). Real captures
//! from Python websockets and Node ws stay free of errors, and their compressed messages
//! inflate to exactly what the generating scripts recorded sending (tests/data/).

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use wsdissect::capture::file::FileSource;
use wsdissect::dissect::{DissectConfig, Dissector};
use wsdissect::event::{Event, EventSink, PingPongEvent, Severity};
use wsdissect::rules;
use wsdissect::session::ConnConfig;

// ----------------------------------------------------------------------------------
// Running the dissector and keeping what it reports.

#[derive(Debug, Clone)]
struct Anom {
    kind: &'static str,
    severity: Severity,
    conn: Option<u32>,
    dir: Option<&'static str>,
    packet: u64,
    message: String,
}

#[derive(Debug, Clone)]
struct Msg {
    conn: u32,
    dir: &'static str,
    opcode: u8,
    len: u64,
    frames: u32,
    first_packet: u64,
    last_packet: u64,
    first_time: f64,
    rel_time: f64,
    payload: Vec<u8>,
    complete: bool,
    compressed: bool,
    wire_len: u64,
}

#[derive(Default)]
struct Collected {
    anomalies: Vec<Anom>,
    messages: Vec<Msg>,
    pingpongs: Vec<PingPongEvent>,
    /// (conn, dir, packet, payload_len) of every frame.
    frames: Vec<(u32, &'static str, u64, u64)>,
}

impl EventSink for Collected {
    fn event(&mut self, event: &Event<'_>) -> std::io::Result<()> {
        match event {
            Event::Anomaly(a) => self.anomalies.push(Anom {
                kind: a.kind.name,
                severity: a.severity,
                conn: a.conn,
                dir: a.dir.map(|d| d.short()),
                packet: a.packet,
                message: a.message.clone(),
            }),
            Event::Message(m) => self.messages.push(Msg {
                conn: m.conn,
                dir: m.dir.short(),
                opcode: u8::from(m.opcode),
                len: m.len,
                frames: m.frames,
                first_packet: m.first_packet,
                last_packet: m.last_packet,
                first_time: m.first_time,
                rel_time: m.rel_time,
                payload: m.payload.to_vec(),
                complete: m.payload_complete,
                compressed: m.compressed,
                wire_len: m.wire_len,
            }),
            Event::PingPong(p) => self.pingpongs.push((*p).clone()),
            Event::Frame(f) => {
                self.frames
                    .push((f.conn, f.dir.short(), f.packet, f.header.payload_len))
            }
            _ => {}
        }
        Ok(())
    }
}

impl Collected {
    fn errors(&self) -> Vec<&Anom> {
        self.anomalies
            .iter()
            .filter(|a| a.severity == Severity::Error)
            .collect()
    }

    fn data_messages(&self, conn: u32, dir: &str) -> Vec<&Msg> {
        self.messages
            .iter()
            .filter(|m| m.conn == conn && m.dir == dir && (m.opcode == 1 || m.opcode == 2))
            .collect()
    }
}

fn dissect_reader(reader: impl std::io::Read, conn: ConnConfig) -> Collected {
    let mut source = FileSource::new(reader).expect("a capture");
    let mut dissector = Dissector::new(DissectConfig {
        conn,
        port_filter: Vec::new(),
        budget: Default::default(),
    });
    let mut sink = Collected::default();
    let outcome = wsdissect::app::run(&mut source, &mut dissector, &mut sink).expect("runs");
    assert!(outcome.error.is_none(), "{:?}", outcome.error);
    sink
}

fn dissect_bytes(bytes: &[u8], conn: ConnConfig) -> Collected {
    dissect_reader(bytes, conn)
}

fn dissect_file(path: &Path, conn: ConnConfig) -> Collected {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    dissect_reader(std::io::BufReader::new(file), conn)
}

// ----------------------------------------------------------------------------------
// Building captures.

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// The opening handshake's request: the RFC 6455 §1.3 key, and `extra` header lines.
fn request(extra: &str) -> String {
    format!(
        "GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A 101 with the matching accept value and `extra` header lines.
fn response(extra: &str) -> String {
    format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n{extra}\r\n"
    )
}

/// Packets 1-3 handshake TCP, 4 the request, 5 the response.
fn exchange(req: &str, resp: &str) -> Conversation {
    let mut c = Conversation::open();
    c.c2s(req.as_bytes());
    c.s2c(resp.as_bytes());
    c
}

/// A clean upgrade (packets 1-5).
fn upgraded() -> Conversation {
    exchange(&request(""), &response(""))
}

/// A clean upgrade with permessage-deflate agreed (packets 1-5).
fn upgraded_deflate(resp_params: &str) -> Conversation {
    exchange(
        &request("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n"),
        &response(&format!(
            "Sec-WebSocket-Extensions: permessage-deflate{resp_params}\r\n"
        )),
    )
}

/// An unmasked (server) frame with a short payload.
fn server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut f = vec![b0, payload.len() as u8];
    f.extend_from_slice(payload);
    f
}

fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// Ends cleanly: client Close 1000, server Close 1000, TCP FINs (5 packets).
fn finish(c: &mut Conversation) -> Vec<u8> {
    c.c2s(&client_frame(0x88, KEY, &close_payload(1000, b"")));
    c.s2c(&server_frame(0x88, &close_payload(1000, b"")));
    c.close();
    c.pcap.bytes()
}

/// RFC 7692 §7.2.3.1: "Hello" compressed.
const HELLO_DEFLATED: [u8; 7] = [0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00];

// ----------------------------------------------------------------------------------
// One capture per rule.

/// A capture breaking a rule, and where the break must be reported.
struct Case {
    /// What the capture does wrong.
    what: &'static str,
    bytes: Vec<u8>,
    config: ConnConfig,
    /// (kind, packet, dir, severity) that must be reported.
    expect: Vec<(&'static str, u64, Option<&'static str>, Severity)>,
    /// Other error kinds this capture necessarily causes.
    also: &'static [&'static str],
}

fn case(
    what: &'static str,
    bytes: Vec<u8>,
    expect: Vec<(&'static str, u64, Option<&'static str>, Severity)>,
) -> Case {
    Case {
        what,
        bytes,
        config: ConnConfig::default(),
        expect,
        also: &[],
    }
}

const C2S: Option<&str> = Some("c2s");
const S2C: Option<&str> = Some("s2c");
const E: Severity = Severity::Error;
const W: Severity = Severity::Warning;

fn cases() -> Vec<Case> {
    let mut v = Vec::new();

    // --- Opening handshake (packet 4 = request, 5 = response).
    let req = request("").replace("GET /chat", "POST /chat");
    v.push(case(
        "POST upgrade request",
        finish(&mut exchange(&req, &response(""))),
        vec![("method-not-get", 4, C2S, E)],
    ));
    let req = request("").replace("HTTP/1.1", "HTTP/1.0");
    v.push(case(
        "HTTP/1.0 upgrade request",
        finish(&mut exchange(&req, &response(""))),
        vec![("http-version-too-old", 4, C2S, E)],
    ));
    let req = request("").replace("Host: server.example.com\r\n", "");
    v.push(case(
        "no Host",
        finish(&mut exchange(&req, &response(""))),
        vec![("missing-host", 4, C2S, E)],
    ));
    let req = request("").replace(&format!("Sec-WebSocket-Key: {RFC_KEY}\r\n"), "");
    v.push(case(
        "no Sec-WebSocket-Key",
        finish(&mut exchange(&req, &response(""))),
        vec![("missing-key", 4, C2S, E)],
    ));
    // "dGhlIHNhbXBsZQ==" is 10 bytes; its accept value computed with Python's hashlib.
    let req = request("").replace(RFC_KEY, "dGhlIHNhbXBsZQ==");
    let resp = response("").replace(RFC_ACCEPT, "OEPSNnbvaxYns+EYSv7+c2kBj+o=");
    v.push(case(
        "10-byte nonce",
        finish(&mut exchange(&req, &resp)),
        vec![("bad-key", 4, C2S, E)],
    ));
    let req = request("").replace("Version: 13", "Version: 8");
    v.push(case(
        "version 8",
        finish(&mut exchange(&req, &response(""))),
        vec![("bad-version", 4, C2S, E)],
    ));
    let req = request("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=7\r\n");
    v.push(case(
        "window bits 7 offered (declined by the server)",
        finish(&mut exchange(&req, &response(""))),
        vec![("bad-extension-offer", 4, C2S, W)],
    ));
    let mut c = Conversation::open();
    c.c2s(request("").as_bytes());
    c.c2s(&client_frame(0x81, KEY, b"early"));
    c.s2c(response("").as_bytes());
    v.push(case(
        "a frame before the 101",
        finish(&mut c),
        vec![("frames-before-101", 5, C2S, E)],
    ));
    let mut c = exchange(
        &request(""),
        "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n",
    );
    c.close();
    v.push(case(
        "403",
        c.pcap.bytes(),
        vec![("upgrade-refused", 5, S2C, W)],
    ));
    let resp = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n";
    let mut c = exchange(&request(""), resp);
    c.close();
    v.push(case(
        "101 to h2c",
        c.pcap.bytes(),
        vec![("upgrade-not-websocket", 5, S2C, E)],
    ));
    let resp = response("").replace("Upgrade: websocket\r\n", "");
    let mut c = exchange(&request(""), &resp);
    c.close();
    v.push(case(
        "101 without Upgrade",
        c.pcap.bytes(),
        vec![("missing-upgrade-header", 5, S2C, E)],
    ));
    let resp = response("").replace("Connection: Upgrade\r\n", "");
    v.push(case(
        "101 without Connection",
        finish(&mut exchange(&request(""), &resp)),
        vec![("missing-connection-upgrade", 5, S2C, E)],
    ));
    let resp = response("").replace(&format!("Sec-WebSocket-Accept: {RFC_ACCEPT}\r\n"), "");
    v.push(case(
        "101 without accept",
        finish(&mut exchange(&request(""), &resp)),
        vec![("missing-accept", 5, S2C, E)],
    ));
    let resp = response("").replace(RFC_ACCEPT, "s3pPLMBiTxaQ9kYGzzhZRbK+xOO=");
    v.push(case(
        "wrong accept",
        finish(&mut exchange(&request(""), &resp)),
        vec![("accept-mismatch", 5, S2C, E)],
    ));
    v.push(case(
        "subprotocol not offered",
        finish(&mut exchange(
            &request("Sec-WebSocket-Protocol: chat\r\n"),
            &response("Sec-WebSocket-Protocol: superchat\r\n"),
        )),
        vec![("unoffered-subprotocol", 5, S2C, E)],
    ));
    v.push(case(
        "extension not offered",
        finish(&mut exchange(
            &request(""),
            &response("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
        )),
        vec![("unoffered-extension", 5, S2C, E)],
    ));
    v.push(case(
        "client_max_window_bits accepted but not offered",
        finish(&mut exchange(
            &request("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            &response(
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=10\r\n",
            ),
        )),
        vec![("unoffered-extension", 5, S2C, E)],
    ));
    v.push(case(
        "server_max_window_bits=16",
        finish(&mut exchange(
            &request("Sec-WebSocket-Extensions: permessage-deflate\r\n"),
            &response(
                "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=16\r\n",
            ),
        )),
        vec![("bad-extension-response", 5, S2C, E)],
    ));
    let mut c = Conversation::open();
    c.s2c(response("").as_bytes());
    c.close();
    v.push(case(
        "101 out of the blue",
        c.pcap.bytes(),
        vec![("unrequested-101", 4, S2C, E)],
    ));

    // --- Frames (the first frame after the handshake is packet 6).
    let mut c = upgraded();
    c.c2s(&[0x81, 0x02, b'h', b'i']);
    v.push(case(
        "unmasked client text",
        finish(&mut c),
        vec![("unmasked-client-frame", 6, C2S, E)],
    ));
    let mut c = upgraded();
    c.s2c(&client_frame(0x81, KEY, b"hi"));
    v.push(case(
        "masked server text",
        finish(&mut c),
        vec![("masked-server-frame", 6, S2C, E)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0xC1, KEY, b"hi"));
    v.push(case(
        "RSV1 without an extension",
        finish(&mut c),
        vec![("rsv-without-extension", 6, C2S, E)],
    ));
    let mut c = upgraded();
    c.s2c(&server_frame(0xA2, b"hi"));
    v.push(case(
        "RSV2 on a server binary frame",
        finish(&mut c),
        vec![("rsv-without-extension", 6, S2C, E)],
    ));
    // RFC 7692 §7.2.3.1's fragmented example, with RSV1 wrongly set on the continuation.
    let mut c = upgraded_deflate("");
    c.c2s(&client_frame(0x41, KEY, &HELLO_DEFLATED[..3]));
    c.c2s(&client_frame(0xC0, KEY, &HELLO_DEFLATED[3..]));
    v.push(case(
        "RSV1 on a continuation with permessage-deflate",
        finish(&mut c),
        vec![("rsv-without-extension", 7, C2S, E)],
    ));
    let mut c = upgraded_deflate("");
    c.c2s(&client_frame(0xC9, KEY, b"p"));
    v.push(case(
        "RSV1 on a ping with permessage-deflate",
        finish(&mut c),
        vec![("rsv-without-extension", 6, C2S, E)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0x83, KEY, b"x"));
    v.push(case(
        "opcode 3",
        finish(&mut c),
        vec![("reserved-opcode", 6, C2S, E)],
    ));
    let mut c = upgraded();
    c.s2c(&server_frame(0x8B, b""));
    v.push(case(
        "opcode 0xB",
        finish(&mut c),
        vec![("reserved-opcode", 6, S2C, E)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0x89, KEY, &[b'p'; 126]));
    v.push(case(
        "126-byte ping",
        finish(&mut c),
        vec![("control-frame-too-long", 6, C2S, E)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0x09, KEY, b"p"));
    v.push(case(
        "ping without FIN",
        finish(&mut c),
        vec![("fragmented-control-frame", 6, C2S, E)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0x80, KEY, b"x"));
    v.push(case(
        "orphan continuation",
        finish(&mut c),
        vec![("continuation-without-message", 6, C2S, E)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0x01, KEY, b"a"));
    c.c2s(&client_frame(0x81, KEY, b"b"));
    v.push(case(
        "text while a text is open",
        finish(&mut c),
        vec![("new-message-while-fragmented", 7, C2S, E)],
    ));
    let mut c = upgraded();
    let mut f = vec![0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0];
    f.extend_from_slice(&KEY);
    f.push(b'x');
    c.c2s(&f);
    c.close();
    v.push(case(
        "64-bit length with the top bit set (never completes)",
        c.pcap.bytes(),
        vec![
            ("length-top-bit", 6, C2S, E),
            ("truncated-frame", 8, C2S, W),
        ],
    ));
    let mut c = upgraded();
    let mut f = vec![0x81, 0x80 | 126, 0x00, 0x05];
    f.extend_from_slice(&KEY);
    f.extend(b"hello".iter().enumerate().map(|(i, b)| b ^ KEY[i % 4]));
    c.c2s(&f);
    v.push(case(
        "5 bytes in a 16-bit length",
        finish(&mut c),
        vec![("non-minimal-length", 6, C2S, E)],
    ));
    // E2 28 A1: the RFC 3629 example of an invalid sequence, split between fragments.
    let mut c = upgraded();
    c.c2s(&client_frame(0x01, KEY, b"ab\xe2"));
    c.c2s(&client_frame(0x80, KEY, b"\x28\xa1"));
    v.push(case(
        "invalid UTF-8 across fragments",
        finish(&mut c),
        vec![("invalid-utf8", 7, C2S, E)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0x88, KEY, &close_payload(1000, b"bye\xff")));
    c.s2c(&server_frame(0x88, &close_payload(1000, b"")));
    c.close();
    v.push(case(
        "invalid UTF-8 in a close reason",
        c.pcap.bytes(),
        vec![("invalid-utf8", 6, C2S, E)],
    ));
    // "ok\xff" compressed by Python's zlib (raw, sync flush, tail removed).
    let mut c = upgraded_deflate("");
    c.c2s(&client_frame(0xC1, KEY, &[0xca, 0xcf, 0xfe, 0x0f, 0x00]));
    v.push(case(
        "invalid UTF-8 after inflating",
        finish(&mut c),
        vec![("invalid-utf8", 6, C2S, E)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0x88, KEY, &[0x03]));
    c.s2c(&server_frame(0x88, &close_payload(1000, b"")));
    c.close();
    v.push(case(
        "1-byte close body",
        c.pcap.bytes(),
        vec![("close-body-one-byte", 6, C2S, E)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0x88, KEY, &close_payload(1005, b"")));
    c.s2c(&server_frame(0x88, &close_payload(1000, b"")));
    c.close();
    v.push(case(
        "close code 1005 sent",
        c.pcap.bytes(),
        vec![("close-code-forbidden", 6, C2S, E)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0x88, KEY, &close_payload(1000, b"")));
    c.s2c(&server_frame(0x88, &close_payload(2000, b"")));
    c.close();
    v.push(case(
        "close code 2000",
        c.pcap.bytes(),
        vec![("close-code-unassigned", 7, S2C, E)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0x88, KEY, &close_payload(1000, b"")));
    c.c2s(&client_frame(0x81, KEY, b"late"));
    c.s2c(&server_frame(0x88, &close_payload(1000, b"")));
    c.close();
    v.push(case(
        "text after close",
        c.pcap.bytes(),
        vec![("data-after-close", 7, C2S, E)],
    ));

    // --- Compression.
    let mut c = upgraded_deflate("");
    c.c2s(&client_frame(0xC1, KEY, &[0xff, 0xff, 0xff]));
    v.push(case(
        "reserved DEFLATE block type",
        finish(&mut c),
        vec![("inflate-failed", 6, C2S, E)],
    ));
    let mut c = upgraded_deflate("");
    c.c2s(&client_frame(0xC1, KEY, &[0xff, 0xff, 0xff]));
    c.c2s(&client_frame(0xC1, KEY, &HELLO_DEFLATED));
    c.c2s(&client_frame(0xC1, KEY, &HELLO_DEFLATED));
    let mut lost = case(
        "compressed messages after a failure, with context takeover",
        finish(&mut c),
        vec![("inflate-context-lost", 7, C2S, W)],
    );
    lost.also = &["inflate-failed"];
    v.push(lost);
    // RFC 7692 §7.2.3.2's second message refers to the first: with
    // client_no_context_takeover agreed it refers to nothing.
    let mut c = upgraded_deflate("; client_no_context_takeover");
    c.c2s(&client_frame(0xC1, KEY, &HELLO_DEFLATED));
    c.c2s(&client_frame(0xC1, KEY, &[0xf2, 0x00, 0x11, 0x00, 0x00]));
    v.push(case(
        "context takeover despite client_no_context_takeover",
        finish(&mut c),
        vec![("inflate-failed", 7, C2S, E)],
    ));
    // 5000 × 'a', compressed by Python's zlib, with a 1000-byte inflation limit.
    let mut c = upgraded_deflate("");
    c.c2s(&client_frame(
        0xC1,
        KEY,
        &hex("ecc13101000000c2a0aceb5fc2147e4001000000006f0300"),
    ));
    let mut limited = case(
        "5000 bytes inflated with a 1000-byte limit",
        finish(&mut c),
        vec![("decompression-limit", 6, C2S, W)],
    );
    limited.config.max_inflated = 1000;
    v.push(limited);

    // --- Connection end (close(): FIN c2s, FIN s2c, ACK; the end is seen at the 2nd FIN).
    let mut c = upgraded();
    c.c2s(&client_frame(0x81, KEY, b"hi"));
    c.close();
    v.push(case(
        "TCP closed without Close frames",
        c.pcap.bytes(),
        vec![("no-close-handshake", 8, None, W)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0x88, KEY, &close_payload(1000, b"")));
    c.close();
    v.push(case(
        "client Close never answered",
        c.pcap.bytes(),
        vec![("close-not-answered", 8, S2C, W)],
    ));

    // --- Capture problems.
    let mut c = upgraded();
    let mut big = vec![0x82, 100];
    big.extend_from_slice(&[7; 100]);
    c.s2c_cut(&big, 40 + 12);
    // The 90 uncaptured bytes are known lost when the client's next segment (packet 7,
    // its Close) acknowledges past them.
    v.push(case(
        "snaplen cut inside a frame",
        finish(&mut c),
        vec![("tcp-gap", 7, S2C, W)],
    ));
    let mut c = upgraded();
    c.c2s(&client_frame(0x81, KEY, b"hello")[..5]);
    c.close();
    v.push(case(
        "stream ends inside a frame",
        c.pcap.bytes(),
        vec![("truncated-frame", 8, C2S, W)],
    ));
    let mut c = Conversation::open();
    let mut head = b"GET / HTTP/1.1\r\nX-Filler: ".to_vec();
    head.resize(60_000, b'a');
    c.c2s(&head);
    c.c2s(&[b'a'; 10_000]);
    c.close();
    v.push(case(
        "70 KB HTTP head",
        c.pcap.bytes(),
        vec![("http-head-too-large", 5, C2S, W)],
    ));
    let mut c = Conversation::open();
    c.c2s(b"GET / HTTP/1.1\r\nno colon here\r\n\r\n");
    c.close();
    v.push(case(
        "header line without a colon",
        c.pcap.bytes(),
        vec![("http-malformed", 4, C2S, W)],
    ));
    v
}

#[test]
fn every_kind_fires_where_its_rule_is_broken() {
    let mut failures = Vec::new();
    let mut covered = BTreeSet::new();
    for c in cases() {
        let got = dissect_bytes(&c.bytes, c.config.clone());
        for &(kind, packet, dir, severity) in &c.expect {
            covered.insert(kind);
            let found = got.anomalies.iter().any(|a| {
                a.kind == kind
                    && a.packet == packet
                    && a.dir == dir
                    && a.severity == severity
                    && a.conn == Some(0)
            });
            if !found {
                failures.push(format!(
                    "{}: no {kind} at packet {packet} {dir:?} {severity:?}; got {:#?}",
                    c.what, got.anomalies
                ));
            }
        }
        // Exactly that rule broken: no other error.
        for a in got.errors() {
            if !c.expect.iter().any(|e| e.0 == a.kind) && !c.also.contains(&a.kind) {
                failures.push(format!("{}: unexpected {a:?}", c.what));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // TLS kinds fire in tests/tls.rs, on damaged records, key logs and streams; the
    // application kinds in src/payload's unit tests, from each protocol's own examples; the
    // memory budget's kinds in tests/hostile.rs and src/dissect.rs's unit tests.
    let budget = [
        rules::PAYLOAD_DISPLAY_CUT.name,
        rules::CONNECTION_EVICTED.name,
    ];
    let all: BTreeSet<&str> = rules::ALL
        .iter()
        .filter(|k| !matches!(k.group, rules::RuleGroup::Tls | rules::RuleGroup::App))
        .filter(|k| !budget.contains(&k.name))
        .map(|k| k.name)
        .collect();
    let missing: Vec<_> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "kinds without a capture: {missing:?}");
}

#[test]
fn messages_cite_the_rfc_and_locate_the_problem() {
    let mut c = upgraded();
    c.c2s(&[0x81, 0x02, b'h', b'i']);
    let got = dissect_bytes(&finish(&mut c), ConnConfig::default());
    let a = got
        .anomalies
        .iter()
        .find(|a| a.kind == "unmasked-client-frame")
        .unwrap();
    assert!(
        a.message
            .starts_with("client frames must be masked (RFC 6455 §5.1)"),
        "{}",
        a.message
    );
    // The UTF-8 offset is the offset in the whole message: "ab" then E2 28.
    let mut c = upgraded();
    c.c2s(&client_frame(0x01, KEY, b"ab\xe2"));
    c.c2s(&client_frame(0x80, KEY, b"\x28\xa1"));
    let got = dissect_bytes(&finish(&mut c), ConnConfig::default());
    let a = got
        .anomalies
        .iter()
        .find(|a| a.kind == "invalid-utf8")
        .unwrap();
    assert!(a.message.contains("at byte 2"), "{}", a.message);
    assert!(a.message.contains("RFC 6455"), "{}", a.message);
}

#[test]
fn close_code_ranges() {
    // RFC 6455 §7.4: 1005/1006/1015 never sent; 0-999, 1004, 1016-2999 and 5000+ not
    // valid on the wire; 1000-1003, 1007-1014, 3000-4999 fine.
    for (code, kind) in [
        (0, Some("close-code-unassigned")),
        (999, Some("close-code-unassigned")),
        (1000, None),
        (1003, None),
        (1004, Some("close-code-unassigned")),
        (1005, Some("close-code-forbidden")),
        (1006, Some("close-code-forbidden")),
        (1007, None),
        (1014, None),
        (1015, Some("close-code-forbidden")),
        (1016, Some("close-code-unassigned")),
        (2999, Some("close-code-unassigned")),
        (3000, None),
        (4999, None),
        (5000, Some("close-code-unassigned")),
        (65535, Some("close-code-unassigned")),
    ] {
        let mut c = upgraded();
        c.c2s(&client_frame(0x88, KEY, &close_payload(code, b"")));
        c.s2c(&server_frame(0x88, &close_payload(1000, b"")));
        c.close();
        let got = dissect_bytes(&c.pcap.bytes(), ConnConfig::default());
        let kinds: Vec<&str> = got.errors().iter().map(|a| a.kind).collect();
        assert_eq!(kinds, kind.into_iter().collect::<Vec<_>>(), "code {code}");
    }
}

#[test]
fn hand_crafted_clean_exchange_has_no_anomaly() {
    // Fragmented text with a ping between the fragments (RFC 6455 §5.4), pong, binary,
    // compressed messages (RFC 7692 §7.2.3.1/2), clean close.
    let mut c = upgraded_deflate("");
    c.c2s(&client_frame(0x01, KEY, b"Hel"));
    c.c2s(&client_frame(0x89, KEY, b"Hello"));
    c.c2s(&client_frame(0x80, KEY, b"lo"));
    c.s2c(&server_frame(0x8A, b"Hello"));
    c.c2s(&client_frame(0xC1, KEY, &HELLO_DEFLATED));
    c.c2s(&client_frame(0xC1, KEY, &[0xf2, 0x00, 0x11, 0x00, 0x00]));
    c.s2c(&server_frame(0xC1, &HELLO_DEFLATED));
    let got = dissect_bytes(&finish(&mut c), ConnConfig::default());
    assert!(got.anomalies.is_empty(), "{:#?}", got.anomalies);
    let c2s = got.data_messages(0, "c2s");
    assert_eq!(c2s.len(), 3);
    // Packets: 6 Hel, 7 ping, 8 lo, 9 pong, 10, 11 compressed c2s, 12 compressed s2c.
    assert_eq!(c2s[0].payload, b"Hello");
    assert_eq!(
        (c2s[0].frames, c2s[0].first_packet, c2s[0].last_packet),
        (2, 6, 8)
    );
    assert!(!c2s[0].compressed && c2s[0].complete);
    for m in &c2s[1..] {
        assert_eq!(m.payload, b"Hello");
        assert!(m.compressed && m.complete);
        assert_eq!(m.len, 5);
    }
    assert_eq!(c2s[1].wire_len, 7);
    assert_eq!(c2s[2].wire_len, 5);
    let s2c = got.data_messages(0, "s2c");
    assert_eq!(s2c[0].payload, b"Hello");
    // The ping (packet 7) is a one-frame message emitted between the fragments; the pong
    // (packet 9) pairs with it.
    let ping = got.messages.iter().find(|m| m.opcode == 9).unwrap();
    assert_eq!((ping.first_packet, ping.last_packet), (7, 7));
    assert_eq!(got.pingpongs.len(), 1);
    let p = &got.pingpongs[0];
    assert_eq!((p.ping_packet, p.pong_packet, p.payload_len), (7, 9, 5));
    assert_eq!(p.ping_dir.short(), "c2s");
    // PcapBuilder spaces packets 1 ms apart.
    assert!((p.rtt - 0.002).abs() < 1e-9, "{}", p.rtt);
    // Close frames are messages too.
    assert_eq!(got.messages.iter().filter(|m| m.opcode == 8).count(), 2);
}

// ----------------------------------------------------------------------------------
// Real captures.

/// The real samples (and the handshake-problem ones) with the errors each must produce.
#[test]
fn real_samples_have_no_errors_beyond_their_known_defect() {
    let cases: &[(&str, &[&str], &[&str])] = &[
        ("basic.pcap", &[], &[]),
        ("large.pcap", &[], &[]),
        ("coalesced.pcap", &[], &[]),
        ("ipv6.pcap", &[], &[]),
        ("any-sll2.pcap", &[], &[]),
        ("basic.pcapng", &[], &[]),
        ("mid-connection.pcap", &["--ws-port", "9111"], &[]),
        ("keepalive-then-upgrade.pcap", &[], &[]),
        ("bad-accept.pcap", &[], &["accept-mismatch"]),
        ("no-accept.pcap", &[], &["missing-accept"]),
        ("refused.pcap", &[], &[]),
    ];
    for (name, args, want) in cases {
        let mut config = ConnConfig::default();
        if let ["--ws-port", p] = args {
            config.ws_ports.push(p.parse().unwrap());
        }
        let got = dissect_file(&sample(name), config);
        let errors: Vec<&str> = got.errors().iter().map(|a| a.kind).collect();
        assert_eq!(errors, *want, "{name}: {:#?}", got.anomalies);
        if *name == "refused.pcap" {
            // Two refused upgrades (403 and 404 per samples/README.md), nothing else.
            let kinds: Vec<&str> = got.anomalies.iter().map(|a| a.kind).collect();
            assert_eq!(kinds, ["upgrade-refused", "upgrade-refused"]);
        }
    }
}

/// `samples/NAME.sent.json` "messages": what the generator sent, joined.
fn manifest_messages(name: &str) -> Vec<(String, u8, Vec<u8>)> {
    let m = manifest(name);
    let mut out = Vec::new();
    for msg in m["connections"][0]["messages"].as_array().unwrap() {
        let dir = msg["dir"].as_str().unwrap().to_string();
        let opcode = if msg["type"] == "text" { 1 } else { 2 };
        let payload = if let Some(t) = msg["text"].as_str() {
            t.as_bytes().to_vec()
        } else if let Some(h) = msg["hex"].as_str() {
            hex(h)
        } else {
            match msg["pattern"].as_str().unwrap() {
                "(bytes(range(256)) * 782)[:200000]" => {
                    (0..200_000u32).map(|i| (i % 256) as u8).collect()
                }
                "'0123456789' * 100" => b"0123456789".repeat(100),
                p => panic!("unknown pattern {p}"),
            }
        };
        out.push((dir, opcode, payload));
    }
    out
}

#[test]
fn messages_join_as_the_generators_sent_them() {
    for (file, manifest_name) in [
        ("basic.pcap", "basic"),
        ("any-sll2.pcap", "any-sll2"),
        ("large.pcap", "large"),
    ] {
        let got = dissect_file(&sample(file), ConnConfig::default());
        let want = manifest_messages(manifest_name);
        for dir in ["c2s", "s2c"] {
            let w: Vec<_> = want.iter().filter(|m| m.0 == dir).collect();
            let g = got.data_messages(0, dir);
            assert_eq!(g.len(), w.len(), "{file} {dir}");
            for (g, w) in g.iter().zip(&w) {
                assert_eq!(g.opcode, w.1, "{file} {dir}");
                assert_eq!(g.payload, w.2, "{file} {dir}");
                assert_eq!(g.len, w.2.len() as u64);
                assert!(g.complete && !g.compressed);
                assert_eq!(g.wire_len, g.len);
            }
        }
    }
}

#[test]
fn message_packets_and_times_match_tshark() {
    // large.pcap: the 200000-byte binary starts in packet 8 (t=0.051785) and ends in
    // packet 14 (t=0.052072); the 1000-byte text is packet 15 (samples/expected/large.*).
    let got = dissect_file(&sample("large.pcap"), ConnConfig::default());
    let m = got.data_messages(0, "c2s")[0];
    assert_eq!((m.first_packet, m.last_packet, m.frames), (8, 14, 1));
    assert!((m.first_time - 0.051785).abs() < 1e-6, "{}", m.first_time);
    assert!((m.rel_time - 0.052072).abs() < 1e-6, "{}", m.rel_time);
    let m = got.data_messages(0, "s2c")[0];
    assert_eq!((m.first_packet, m.last_packet), (15, 15));
    // basic.pcap: fragmented c2s text in packets 18, 19, 20 (and the empty FIN frame in
    // 27, per samples/expected/basic.tshark-ws.tsv); ping 14, pong 16.
    let got = dissect_file(&sample("basic.pcap"), ConnConfig::default());
    let frag = got.data_messages(0, "c2s")[2].clone();
    assert_eq!(frag.payload, b"frag-one|frag-two|frag-three");
    assert_eq!(frag.frames, 4);
    assert_eq!(frag.first_packet, 18);
    assert_eq!(got.pingpongs.len(), 1);
    let p = &got.pingpongs[0];
    assert_eq!((p.ping_packet, p.pong_packet, p.payload_len), (14, 16, 9));
    let list =
        std::fs::read_to_string(root().join("samples/expected/basic.tshark-list.tsv")).unwrap();
    let time = |n: u64| -> f64 {
        list.lines()
            .find(|l| l.split('\t').next() == Some(&n.to_string()))
            .and_then(|l| l.split('\t').nth(1))
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!((p.rtt - (time(16) - time(14))).abs() < 1e-6, "{}", p.rtt);
}

/// `tests/data/NAME.sent.json`: every data message each side sent, in order.
fn deflate_manifest(name: &str) -> Value {
    let path = root().join(format!("tests/data/{name}.sent.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn check_deflate_capture(name: &str, pings: usize) {
    let manifest = deflate_manifest(name);
    let got = dissect_file(
        &root().join(format!("tests/data/{name}.pcap")),
        ConnConfig::default(),
    );
    assert!(got.anomalies.is_empty(), "{name}: {:#?}", got.anomalies);
    let sent = manifest["messages"].as_array().unwrap();
    let mut compressed_smaller = 0;
    for dir in ["c2s", "s2c"] {
        let want: Vec<&Value> = sent.iter().filter(|m| m["dir"] == dir).collect();
        let g = got.data_messages(0, dir);
        assert_eq!(g.len(), want.len(), "{name} {dir}");
        for (i, (g, w)) in g.iter().zip(&want).enumerate() {
            let ctx = format!("{name} {dir} message {i}");
            assert_eq!(u64::from(g.opcode), w["opcode"].as_u64().unwrap(), "{ctx}");
            assert_eq!(g.len, w["len"].as_u64().unwrap(), "{ctx}");
            if let Some(h) = w["hex"].as_str() {
                assert_eq!(g.payload, hex(h), "{ctx}");
            }
            assert_eq!(
                sha256_hex(&g.payload),
                w["sha256"].as_str().unwrap(),
                "{ctx}"
            );
            assert!(g.compressed && g.complete, "{ctx}");
            // The wire length is the compressed size: the sum of the frames' lengths.
            let frames: u64 = got
                .frames
                .iter()
                .filter(|f| f.1 == dir && f.2 >= g.first_packet && f.2 <= g.last_packet)
                .map(|f| f.3)
                .sum();
            assert_eq!(g.wire_len, frames, "{ctx}");
            if g.wire_len < g.len {
                compressed_smaller += 1;
            }
        }
    }
    assert!(compressed_smaller >= 4, "{name}: {compressed_smaller}");
    // The ping the client sent ("ping-42") was answered.
    assert_eq!(got.pingpongs.len(), pings, "{name}");
    assert!(got.pingpongs.iter().all(|p| p.payload_len == 7));
}

#[test]
fn python_websockets_deflate_inflates_to_what_was_sent() {
    // permessage-deflate; server_max_window_bits=12; client_max_window_bits=12, context
    // takeover both ways; includes a fragmented compressed message.
    check_deflate_capture("deflate-python", 1);
}

#[test]
fn node_ws_deflate_inflates_to_what_was_sent() {
    check_deflate_capture("deflate-node", 1);
}

#[test]
fn node_ws_deflate_with_server_no_context_takeover() {
    check_deflate_capture("deflate-node-nct", 1);
}

#[test]
fn chromium_deflate_inflates_to_what_was_sent() {
    // Chromium offers "permessage-deflate; client_max_window_bits"; Python websockets
    // answers with both window sizes at 12.
    check_deflate_capture("deflate-chromium", 0);
}

#[test]
fn decompression_bomb_costs_a_warning_not_memory() {
    // 100 MiB of zeros deflates to about 100 KB; the default limit is 64 MiB inflated and
    // the message keeps at most 16 MiB.
    let mut enc = flate2::Compress::new(flate2::Compression::default(), false);
    let zeros = vec![0u8; 100 << 20];
    let mut data = Vec::with_capacity(200 << 10);
    enc.compress_vec(&zeros, &mut data, flate2::FlushCompress::Sync)
        .unwrap();
    assert_eq!(data[data.len() - 4..], [0, 0, 0xff, 0xff]);
    data.truncate(data.len() - 4);
    drop(zeros);
    let mut c = upgraded_deflate("");
    let frame = client_frame(0xC2, KEY, &data);
    for chunk in frame.chunks(60_000) {
        c.c2s(chunk);
    }
    c.c2s(&client_frame(0x81, KEY, b"still decoding"));
    let got = dissect_bytes(&finish(&mut c), ConnConfig::default());
    let kinds: Vec<&str> = got.anomalies.iter().map(|a| a.kind).collect();
    assert_eq!(kinds, ["decompression-limit"]);
    let m = &got.data_messages(0, "c2s")[0];
    assert!(m.compressed && !m.complete);
    assert_eq!(m.len, 64 << 20);
    assert_eq!(m.payload.len(), 16 << 20);
    assert_eq!(m.wire_len, data.len() as u64);
    // The connection goes on: the next (uncompressed) message is decoded.
    assert_eq!(got.data_messages(0, "c2s")[1].payload, b"still decoding");
}
