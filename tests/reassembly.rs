//! TCP reassembly and HTTP/WebSocket boundaries end to end, on hand-crafted captures whose
//! expected decoding follows from how they were built. Each file was also opened once in
//! tshark 4.0.17 while writing these tests; where a test asserts a Wireshark label, that is
//! what tshark printed for the same bytes.

use crate::util::*;

fn info(line: &str) -> &str {
    line.split('\t').nth(6).unwrap()
}

/// A 30-byte text frame cut in three segments sent A, C, B, then B again: the frame
/// completes with B (packet 8, first byte in packet 6) and the retransmission adds nothing.
/// (tshark 4.0 labels the packets the same way but, with its default of not reassembling
/// out-of-order segments, does not decode the frame at all.)
#[test]
fn out_of_order_and_retransmitted_segments() {
    let text = b"abcdefghijklmnopqrstuvwxyz0123";
    let frame = client_frame(0x81, [9, 8, 7, 6], text);
    assert_eq!(frame.len(), 36);
    let mut c = Conversation::upgraded(RFC_ACCEPT); // packets 1-5
    let base = c.client_seq;
    c.c2s_at(base, &frame[..12]); // 6: A
    c.c2s_at(base + 24, &frame[24..]); // 7: C, ahead of a hole
    c.c2s_at(base + 12, &frame[12..24]); // 8: B fills the hole
    c.c2s_at(base + 12, &frame[12..24]); // 9: B again
    c.client_seq = base + 36;
    c.close();
    let path = c.write("ooo.pcap");
    let records = jsonl(&path, &[]);
    let frames = of_type(&records, "frame");
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["packet"], 8);
    assert_eq!(frames[0]["first_packet"], 6);
    assert_eq!(frames[0]["text"], "abcdefghijklmnopqrstuvwxyz0123");
    let lines = packet_lines(&path, &["--wireshark-compat"]);
    assert!(info(&lines[5]).ends_with("[TCP segment of a reassembled PDU]"));
    assert!(info(&lines[6]).starts_with("[TCP Previous segment not captured] "));
    assert!(info(&lines[6]).ends_with("[TCP segment of a reassembled PDU]"));
    assert_eq!(
        info(&lines[7]),
        "[TCP Out-Of-Order] WebSocket Text [FIN] [MASKED]"
    );
    assert!(
        info(&lines[8]).starts_with("[TCP Retransmission] "),
        "{}",
        lines[8]
    );
}

/// The server's 101 and its first frame in one segment: both decoded from that packet, and
/// the Info column reads as Wireshark's does for such a packet.
#[test]
fn response_and_first_frame_in_one_segment() {
    let mut c = Conversation::open(); // 1-3
    c.c2s(&Conversation::upgrade_request()); // 4
    let mut seg = Conversation::upgrade_response(RFC_ACCEPT);
    seg.extend_from_slice(&[0x81, 0x02, b'h', b'i']);
    c.s2c(&seg); // 5
    c.close();
    let path = c.write("same-segment.pcap");
    let records = jsonl(&path, &[]);
    let hs = of_type(&records, "handshake");
    assert_eq!(hs[0]["response_packet"], 5);
    assert_eq!(hs[0]["accept_ok"], true);
    let frames = of_type(&records, "frame");
    assert_eq!(frames.len(), 1);
    assert_eq!(frames[0]["packet"], 5);
    assert_eq!(frames[0]["text"], "hi");
    let lines = packet_lines(&path, &["--wireshark-compat"]);
    assert_eq!(
        info(&lines[4]),
        "HTTP/1.1 101 Switching Protocols WebSocket Text [FIN] "
    );
    assert_eq!(lines[4].split('\t').nth(4), Some("WebSocket"));
}

/// An upgrade request split over three segments is one request, completed by the third.
#[test]
fn request_head_split_over_segments() {
    let request = Conversation::upgrade_request();
    let mut c = Conversation::open(); // 1-3
    c.c2s(&request[..10]); // 4
    c.c2s(&request[10..60]); // 5
    c.c2s(&request[60..]); // 6
    c.s2c(&Conversation::upgrade_response(RFC_ACCEPT)); // 7
    c.c2s(&client_frame(0x82, [1, 1, 1, 1], &[0, 1, 2])); // 8
    c.close();
    let path = c.write("split-head.pcap");
    let records = jsonl(&path, &[]);
    let hs = of_type(&records, "handshake");
    assert_eq!(hs[0]["request_packet"], 6);
    assert_eq!(hs[0]["response_packet"], 7);
    assert_eq!(hs[0]["key"], RFC_KEY);
    let frames = of_type(&records, "frame");
    assert_eq!(frames[0]["packet"], 8);
    assert_eq!(frames[0]["payload_b64"], "AAEC");
    let lines = packet_lines(&path, &[]);
    assert!(info(&lines[3]).ends_with("[TCP segment of a reassembled PDU]"));
    assert!(info(&lines[4]).ends_with("[TCP segment of a reassembled PDU]"));
    assert_eq!(info(&lines[5]), "GET /chat HTTP/1.1 ");
}

/// A new SYN on a closed port pair is a new connection (Wireshark's tcp.stream 0, then 1).
#[test]
fn port_reuse_starts_a_new_connection() {
    let mut c = Conversation::upgraded(RFC_ACCEPT);
    c.s2c(&[0x81, 0x01, b'1']);
    c.close();
    c.reopen();
    c.c2s(&Conversation::upgrade_request());
    c.s2c(&Conversation::upgrade_response(RFC_ACCEPT));
    c.s2c(&[0x81, 0x01, b'2']);
    c.close();
    let path = c.write("reuse.pcap");
    let records = jsonl(&path, &[]);
    let frames = of_type(&records, "frame");
    let by_conn: Vec<(u64, &str)> = frames
        .iter()
        .map(|f| (f["conn"].as_u64().unwrap(), f["text"].as_str().unwrap()))
        .collect();
    assert_eq!(by_conn, vec![(0, "1"), (1, "2")]);
    assert_eq!(of_type(&records, "handshake").len(), 2);
}

/// Connection numbers are Wireshark's tcp.stream on every sample
/// (samples/expected/NAME.tshark-stream.tsv).
#[test]
fn connection_numbers_are_tcp_stream_indices() {
    for (name, capture) in samples_with_references() {
        let streams = std::fs::read_to_string(
            root().join(format!("samples/expected/{name}.tshark-stream.tsv")),
        )
        .unwrap();
        let stream_of: std::collections::HashMap<u64, u64> = streams
            .lines()
            .filter_map(|l| {
                let (n, s) = l.split_once('\t')?;
                Some((n.parse().ok()?, s.parse().ok()?))
            })
            .collect();
        let records = jsonl(&capture, &extra_args(&name));
        for f in of_type(&records, "frame") {
            let packet = f["packet"].as_u64().unwrap();
            assert_eq!(
                f["conn"].as_u64(),
                stream_of.get(&packet).copied(),
                "{name} packet {packet}"
            );
        }
        for h in of_type(&records, "handshake") {
            let packet = h["response_packet"].as_u64().unwrap();
            assert_eq!(
                h["conn"].as_u64(),
                stream_of.get(&packet).copied(),
                "{name}"
            );
        }
    }
}

/// A 200 000-byte Text message (quotes, a bidi override and multi-byte characters all
/// along it, so some straddle the 48 KiB pieces JSON Lines writes a large payload in),
/// sent in 50 000-byte segments: the frame and message records carry exactly the payload
/// the capture was built from, as base64 and as text (read back with serde_json).
#[test]
fn large_text_payload_in_jsonl() {
    let unit = "\"é€😀\u{202e}x\\ "; // 1 + 2 + 3 + 4 + 3 + 1 + 1 + 1 = 16 bytes
    let mut text = String::new();
    while text.len() + unit.len() <= 200_000 {
        text.push_str(unit);
        text.push_str("abc"); // shifts the units against the piece boundaries
    }
    let frame = client_frame(0x81, [1, 2, 3, 4], text.as_bytes());
    let mut c = Conversation::upgraded(RFC_ACCEPT);
    for part in frame.chunks(50_000) {
        c.c2s(part);
    }
    let path = c.write("large_text_payload.pcap");
    let records = jsonl(&path, &[]);
    for kind in ["frame", "message"] {
        let r = of_type(&records, kind);
        assert_eq!(r.len(), 1, "{kind}");
        assert_eq!(r[0]["payload_complete"], true, "{kind}");
        assert_eq!(r[0]["text"].as_str(), Some(text.as_str()), "{kind}");
        assert_eq!(
            b64(r[0]["payload_b64"].as_str().unwrap()),
            text.as_bytes(),
            "{kind}"
        );
    }
}
