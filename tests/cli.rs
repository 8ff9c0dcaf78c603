//! Command-line behaviour: exit codes, error messages, stdin, verbose trees, JSON records,
//! and hand-crafted hostile inputs.

use crate::util::*;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn missing_file_exits_2_naming_it() {
    let out = run(&["read", "/nonexistent/x.pcap"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("/nonexistent/x.pcap"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn not_a_capture_exits_2() {
    let path = root().join("README.md");
    let out = run(&["read", path.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("README.md"));
    assert!(
        stderr(&out).contains("not a pcap or pcapng"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_arguments_exit_2() {
    let out = run(&["read"], None);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["read", "x", "--format", "nope"], None);
    assert_eq!(out.status.code(), Some(2));
}

/// A file cut in the middle of a record: everything before is decoded, the cut is reported
/// with the packet number, and the input counts as usable (exit 0).
#[test]
fn capture_cut_mid_record_keeps_earlier_packets() {
    let bytes = std::fs::read(sample("basic.pcap")).unwrap();
    // basic.pcap has 36 packets; cut 10 bytes into the last one's data.
    let full = run(&["read", sample("basic.pcap").to_str().unwrap()], None);
    let lines = stdout(&full)
        .lines()
        .filter(|l| !l.starts_with("    "))
        .count();
    assert_eq!(lines, 36);
    let cut = write_temp("cut.pcap", &bytes[..bytes.len() - 40]);
    let out = run(&["read", cut.to_str().unwrap()], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let got = stdout(&out);
    assert_eq!(got.lines().filter(|l| !l.starts_with("    ")).count(), 35);
    assert!(stderr(&out).contains("cut.pcap"), "{}", stderr(&out));
    assert!(stderr(&out).contains("packet 36"), "{}", stderr(&out));
}

#[test]
fn stdin_gives_the_same_output_as_the_path() {
    for name in ["basic.pcap", "basic.pcapng", "large.pcap"] {
        let path = sample(name);
        let bytes = std::fs::read(&path).unwrap();
        let by_path = run(&["read", path.to_str().unwrap(), "--format", "jsonl"], None);
        let by_stdin = run(&["read", "-", "--format", "jsonl"], Some(&bytes));
        assert!(by_stdin.status.success());
        assert_eq!(stdout(&by_path), stdout(&by_stdin), "{name}");
    }
}

/// `--port` keeps only matching connections and hides non-TCP packets.
#[test]
fn port_filter_limits_output() {
    let path = sample("seed000.pcap");
    let out = run(&["read", path.to_str().unwrap(), "--port", "2021"], None);
    let text = stdout(&out);
    // Indented lines are diagnostics (the seed's orphan Continuation frames), not packets.
    let numbers: Vec<u32> = text
        .lines()
        .filter(|l| !l.starts_with("    "))
        .map(|l| l.split('\t').next().unwrap().parse().unwrap())
        .collect();
    // Packets 89-108 are the 2021 connection; 1-88 are UDP, 109-110 another connection.
    assert_eq!(numbers, (89..=108).collect::<Vec<_>>());
}

/// The accept verdict: values known from the generator's manifest.
#[test]
fn wrong_accept_key_is_reported_with_both_values() {
    let m = manifest("bad-accept");
    let resp = &m["connections"][0]["http"][1];
    let sent = resp["sec_websocket_accept"].as_str().unwrap();
    let expected = resp["expected_accept"].as_str().unwrap();
    let records = jsonl(&sample("bad-accept.pcap"), &[]);
    let hs = of_type(&records, "handshake");
    assert_eq!(hs.len(), 1);
    assert_eq!(hs[0]["accept"], sent);
    assert_eq!(hs[0]["expected_accept"], expected);
    assert_eq!(hs[0]["accept_ok"], false);
    let anomalies = of_type(&records, "anomaly");
    assert!(
        anomalies
            .iter()
            .any(|a| a["kind"] == "accept-mismatch" && a["severity"] == "error")
    );
    let out = run(&["read", sample("bad-accept.pcap").to_str().unwrap()], None);
    let line = stdout(&out)
        .lines()
        .find(|l| l.contains("101 Switching Protocols"))
        .unwrap()
        .to_string();
    assert!(line.contains(sent) && line.contains(expected), "{line}");
}

#[test]
fn good_accept_key_and_handshake_fields() {
    // coalesced.pcap uses the RFC 6455 §1.3 key; the RFC prints the accept value.
    let records = jsonl(&sample("coalesced.pcap"), &[]);
    let hs = of_type(&records, "handshake");
    assert_eq!(hs.len(), 1);
    assert_eq!(hs[0]["key"], RFC_KEY);
    assert_eq!(hs[0]["accept"], RFC_ACCEPT);
    assert_eq!(hs[0]["expected_accept"], RFC_ACCEPT);
    assert_eq!(hs[0]["accept_ok"], true);
    assert_eq!(hs[0]["method"], "GET");
    assert_eq!(hs[0]["path"], "/coalesced");
    assert_eq!(hs[0]["status"], 101);
    assert_eq!(hs[0]["version"], "13");
}

#[test]
fn missing_accept_and_refused_upgrades() {
    let records = jsonl(&sample("no-accept.pcap"), &[]);
    assert!(
        of_type(&records, "anomaly")
            .iter()
            .any(|a| a["kind"] == "missing-accept")
    );
    let records = jsonl(&sample("refused.pcap"), &[]);
    let hs = of_type(&records, "handshake");
    let statuses: Vec<u64> = hs.iter().map(|h| h["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![403, 404]);
    assert!(hs.iter().all(|h| h["upgraded"] == false));
    assert!(of_type(&records, "frame").is_empty());
    let conns = of_type(&records, "connection");
    assert!(conns.iter().all(|c| c["state"] == "refused"));
}

/// IPv6 endpoints are printed `[addr]:port`; the sample's client port is in its manifest.
#[test]
fn ipv6_endpoints() {
    let m = manifest("ipv6");
    let port = m["connections"][0]["client"][1].as_u64().unwrap();
    let records = jsonl(&sample("ipv6.pcap"), &[]);
    let hs = of_type(&records, "handshake");
    assert_eq!(hs[0]["client"], format!("[::1]:{port}"));
    assert_eq!(hs[0]["server"], "[::1]:9104");
}

/// `-V`: the tree shows the generator's masking keys and payload text.
#[test]
fn verbose_tree_shows_keys_payloads_and_close() {
    let out = run(
        &["read", sample("coalesced.pcap").to_str().unwrap(), "-V"],
        None,
    );
    let text = stdout(&out);
    for needle in [
        "    1... .... = Fin: True",
        "    .... 0001 = Opcode: Text (1)",
        "    1... .... = Mask: True",
        "    Masking-Key: 0f1e2d3c",
        "    .110 0100 = Payload length: 100",
        "    0123456789012345678901234567890123456789",
        "    Extended Payload length (16 bits): 300",
        "        Close: Normal Closure (1000)",
        "        Reason: coalesced done",
        "    Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\\r\\n",
        "    [Sec-WebSocket-Accept: valid, SHA-1(key + GUID) matches]",
    ] {
        assert!(text.contains(needle), "missing {needle:?}");
    }
}

/// Control characters and escape sequences in a payload never reach the output raw.
#[test]
fn payload_escape_sequences_are_neutralised() {
    let mut c = Conversation::upgraded(RFC_ACCEPT);
    c.c2s(&client_frame(
        0x81,
        [1, 2, 3, 4],
        b"\x1b[2J\x1b]0;pwned\x07\r\x9b31m",
    ));
    c.c2s(&client_frame(0x88, [1, 2, 3, 4], b"\x03\xe8\x1b[31mred"));
    let path = c.write("escapes.pcap");
    for args in [vec!["-V"], vec![], vec!["--format", "jsonl"]] {
        let mut all = vec!["read", path.to_str().unwrap()];
        all.extend(args.iter().copied());
        let out = run(&all, None);
        assert!(out.status.success());
        let bytes = &out.stdout;
        assert!(
            !bytes.contains(&0x1b),
            "ESC reached the output with {args:?}"
        );
        assert!(
            !bytes.contains(&0x07),
            "BEL reached the output with {args:?}"
        );
        assert!(
            !bytes.contains(&b'\r'),
            "CR reached the output with {args:?}"
        );
        let text = String::from_utf8_lossy(bytes);
        assert!(
            !text.contains('\u{9b}'),
            "CSI reached the output with {args:?}"
        );
    }
}

/// A frame declaring 2^63 - 1 bytes costs nothing until bytes arrive: no allocation
/// failure, no panic, the frame is reported as unfinished at the end.
#[test]
fn absurd_declared_length_is_harmless() {
    let mut c = Conversation::upgraded(RFC_ACCEPT);
    let mut frame = vec![0x82, 0xff];
    frame.extend_from_slice(&0x7fff_ffff_ffff_ffffu64.to_be_bytes());
    frame.extend_from_slice(&[1, 2, 3, 4]);
    frame.extend_from_slice(&[0u8; 100]);
    c.c2s(&frame);
    c.close();
    let path = c.write("huge.pcap");
    let records = jsonl(&path, &[]);
    assert!(of_type(&records, "frame").is_empty());
    let a = of_type(&records, "anomaly");
    assert!(a.iter().any(|a| a["kind"] == "truncated-frame"), "{a:?}");
}

/// Garbage after the upgrade, a snaplen-cut segment and random bytes never crash the tool,
/// and what can be decoded still is.
#[test]
fn hostile_inputs_do_not_crash() {
    let mut c = Conversation::upgraded(RFC_ACCEPT);
    c.s2c(&[0x81, 0x02, b'o', b'k']);
    c.c2s(&[0xff; 300]);
    c.s2c_cut(
        &[0x82, 0x7e, 0x01, 0x00, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9],
        40 + 6,
    );
    c.s2c(&[0x81, 0x03, b'b', b'y', b'e']);
    c.close();
    let path = c.write("hostile.pcap");
    let records = jsonl(&path, &[]);
    let frames = of_type(&records, "frame");
    assert_eq!(frames[0]["text"], "ok");
    assert_eq!(frames[0]["dir"], "s2c");

    // Random bytes after a valid pcap header, and every truncation of a real capture.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut garbage = PcapBuilder::new().bytes();
    for _ in 0..4096 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        garbage.push(seed as u8);
    }
    let out = run(&["read", "-"], Some(&garbage));
    assert!(matches!(out.status.code(), Some(0) | Some(2)), "{out:?}");
    let real = std::fs::read(sample("coalesced.pcap")).unwrap();
    for cut in (0..real.len()).step_by(97) {
        let out = run(&["read", "-", "--format", "jsonl"], Some(&real[..cut]));
        assert!(
            matches!(out.status.code(), Some(0) | Some(2)),
            "cut at {cut}: {}",
            stderr(&out)
        );
    }
}
