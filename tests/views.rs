//! The human views (`--view explain|conversations|flow`, `--follow`, `--export`) on the
//! bundled samples: golden files checked by hand once against the captures, plus checks
//! against independent sources (the seed's step list, tshark's packet list, the
//! generators' manifests), hostile payloads, and the 80-column limit.
//!
//! Set `UPDATE_GOLDEN=1` to rewrite the golden files after a deliberate change; then
//! read the diff against the captures again before committing.

use crate::util::*;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Runs the binary with a controlled environment: no colour unless asked, `COLUMNS` only
/// when given, stdout a pipe. Returns stdout; panics unless the exit status is 0.
fn run_view(args: &[&str], columns: Option<usize>) -> String {
    let out = run_view_raw(args, columns);
    assert!(
        out.status.success(),
        "{args:?}: exit {:?}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn run_view_raw(args: &[&str], columns: Option<usize>) -> std::process::Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsdissect"));
    cmd.args(args)
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(c) = columns {
        cmd.env("COLUMNS", c.to_string());
    }
    cmd.output().expect("binary runs")
}

fn sample_arg(name: &str) -> String {
    sample(name).to_str().expect("UTF-8 path").to_string()
}

fn golden_path(name: &str) -> PathBuf {
    root()
        .join("tests/golden/views")
        .join(format!("{name}.txt"))
}

/// Compares `actual` with the golden file `name` (or rewrites it with UPDATE_GOLDEN=1).
fn check_golden(name: &str, actual: &str) {
    let path = golden_path(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().expect("dir")).expect("golden dir");
        std::fs::write(&path, actual).expect("golden written");
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{path:?}: {e} (run with UPDATE_GOLDEN=1 once)"));
    if expected != actual {
        let first = expected
            .lines()
            .zip(actual.lines())
            .position(|(a, b)| a != b)
            .unwrap_or(expected.lines().count().min(actual.lines().count()));
        panic!(
            "{name}: output differs from {path:?} at line {}:\n expected: {:?}\n actual:   {:?}",
            first + 1,
            expected.lines().nth(first),
            actual.lines().nth(first)
        );
    }
}

// Golden files, each read against its capture once when it was written:
//
// - seed000-explain: packets 89-108 in order, each sender matching tshark's ports in
//   samples/expected/seed000.tshark-list.tsv (58901 = client); key hj0eNqbhE/A0GkBXDRrYYw==
//   and accept tAsr1vlKhIQGZ37CVuLBbuaIxXw= as in samples/seed000.sent.json; masking keys
//   3c1d8e55 (97) and a7042b9f (103) and payload texts as in the manifest; 101 is the
//   server's Close (unmasked, 2021 → 58901 in tshark's list; the seed's prose calls it the
//   client's, its packet list agrees with the capture); the IPv6 SYN/RST pair (109-110) and
//   the 88 UDP fillers are summed up in the last line.
// - basic-explain: 36 packets as in basic.tshark-list.tsv; frames, texts, fragment numbers
//   (4 client fragments, 3 server fragments, both ending in an empty FIN continuation) and
//   close 1000 "bye" both ways as in basic.sent.json; the server's FIN comes first.
// - coalesced-explain: 4 client frames in packet 8 and 4 server frames in packet 9 with the
//   manifest's mask keys; the 100-byte frame begins in 11 and ends in 13 with `tail`; the
//   10-byte binary frame begins in 15 (Len=1 in tshark's list) and ends in 17; fragments
//   a/b/c in 19; close 1000 "coalesced done".
// - *-conversations (plain columns): frames, payload bytes and FIN data frames per
//   direction summed from the manifests' frame lists; first Close direction and code from
//   the manifests; durations from tshark's first and last packet times of the connection.
// - seed000-flow / coalesced-flow: one arrow per TCP packet of the connection, direction
//   and time as in tshark's list (also checked by `flow_arrows_follow_tshark`); labels are
//   tshark's Info without the ports, cut at 80 columns.
// - basic-flow-frames: the HTTP request/response and the 15 frames of basic.sent.json in
//   wire order, packet numbers as in tshark's list.
// - seed000-mermaid: the same 20 packets as seed000-flow, as Mermaid arrows.
// - basic-follow / coalesced-follow: the messages of the manifests (joined fragments), in
//   order, with directions, texts and hex bytes as sent.
const GOLDEN: &[(&str, &str, &[&str], Option<usize>)] = &[
    (
        "seed000-explain",
        "seed000.pcap",
        &["--view", "explain"],
        None,
    ),
    ("basic-explain", "basic.pcap", &["--view", "explain"], None),
    (
        "coalesced-explain",
        "coalesced.pcap",
        &["--view", "explain"],
        None,
    ),
    (
        "seed000-conversations",
        "seed000.pcap",
        &["--view", "conversations"],
        None,
    ),
    (
        "basic-conversations",
        "basic.pcap",
        &["--view", "conversations"],
        None,
    ),
    (
        "coalesced-conversations",
        "coalesced.pcap",
        &["--view", "conversations"],
        None,
    ),
    (
        "basic-conversations-80",
        "basic.pcap",
        &["--view", "conversations"],
        Some(80),
    ),
    ("seed000-flow", "seed000.pcap", &["--view", "flow"], None),
    (
        "coalesced-flow",
        "coalesced.pcap",
        &["--view", "flow"],
        None,
    ),
    (
        "basic-flow-frames",
        "basic.pcap",
        &["--view", "flow", "--frames-only"],
        None,
    ),
    ("seed000-mermaid", "seed000.pcap", &["--mermaid"], None),
    ("basic-follow", "basic.pcap", &["--follow", "0"], None),
    // Checked against samples/basic.sent.json (every message text, the 256-byte binary
    // 00 01 02 ..., the 4- and 3-frame fragmented texts, close 1000 "bye" both ways) and
    // the tshark list (times of packets 8-32; ping 14 / pong 16: 0.204032 - 0.203758 s).
    (
        "basic-messages",
        "basic.pcap",
        &["--view", "messages"],
        None,
    ),
    // samples/deflate-python.sent.json: the same 134-byte JSON three times each way,
    // compressed to 108, 6 and 5 bytes (context takeover), then the 320-byte binary.
    (
        "deflate-python-messages",
        "deflate-python.pcap",
        &["--view", "messages"],
        None,
    ),
    (
        "coalesced-follow",
        "coalesced.pcap",
        &["--follow", "0"],
        None,
    ),
];

#[test]
fn golden_views() {
    for (name, capture, args, columns) in GOLDEN {
        let file = sample_arg(capture);
        let mut full = vec!["read", file.as_str(), "--color", "never"];
        full.extend_from_slice(args);
        let out = run_view(&full, *columns);
        check_golden(name, &out);
    }
}

/// The seed's step list (shared/seeds/000_eddd21dbe43e3d72.txt), translated: for each
/// packet, who sends it and what the walk-through must say about it.
const SEED_STEPS: &[(u64, &str, &[&str])] = &[
    (89, "client", &["SYN", "open a TCP connection"]),
    (90, "server", &["SYN, ACK"]),
    (91, "client", &["ACK", "connection established"]),
    (92, "server", &["window update", "not data"]),
    (93, "client", &["GET /ws", "upgrade"]),
    (94, "server", &["ACK of the upgrade request"]),
    (95, "server", &["101 Switching Protocols"]),
    (96, "client", &["ACK of the 101"]),
    (97, "client", &["Continuation", "FIN", "masked"]),
    (98, "server", &["ACK"]),
    (99, "server", &["Continuation", "FIN", "not masked"]),
    (100, "client", &["ACK"]),
    (
        101,
        "server",
        &["Connection Close", "FIN", "1000 Normal Closure"],
    ),
    (102, "client", &["ACK"]),
    (103, "client", &["Connection Close", "FIN", "masked"]),
    (104, "server", &["ACK"]),
    (105, "client", &["FIN, ACK"]),
    (106, "server", &["ACK"]),
    (107, "server", &["FIN, ACK"]),
    (108, "client", &["ACK"]),
];

#[test]
fn seed000_explain_reads_like_the_seed() {
    let out = run_view(
        &[
            "read",
            &sample_arg("seed000.pcap"),
            "--view",
            "explain",
            "--color",
            "never",
        ],
        None,
    );
    // Packet lines in order, with their senders and meanings.
    let packet_lines: Vec<&str> = out
        .lines()
        .filter(|l| {
            l.split_whitespace()
                .next()
                .is_some_and(|w| w.parse::<u64>().is_ok())
        })
        .collect();
    assert_eq!(packet_lines.len(), SEED_STEPS.len(), "{out}");
    for (line, (number, who, says)) in packet_lines.iter().zip(SEED_STEPS) {
        let words: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(words[0], number.to_string(), "{line}");
        assert_eq!(words[2], *who, "{line}");
        for s in *says {
            assert!(
                line.contains(s),
                "packet {number}: {s:?} missing in {line:?}"
            );
        }
    }
    // Phases in the seed's order.
    let phases: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("  ") && !l.starts_with("   "))
        .map(str::trim)
        .collect();
    assert_eq!(
        phases,
        [
            "TCP handshake",
            "HTTP upgrade",
            "WebSocket data",
            "WebSocket close handshake",
            "TCP teardown"
        ]
    );
    // The upgrade request's headers and the accept check, with the manifest's values.
    let m = manifest("seed000");
    let http = &m["connections"][0]["http"];
    let key = http[0]["sec_websocket_key"].as_str().expect("key");
    let accept = http[1]["sec_websocket_accept"].as_str().expect("accept");
    for header in [
        "Connection: Upgrade".to_string(),
        "Upgrade: websocket".to_string(),
        format!("Sec-WebSocket-Key: {key}"),
        "Sec-WebSocket-Version: 13".to_string(),
    ] {
        assert!(out.contains(&header), "{header} missing:\n{out}");
    }
    let check =
        format!("base64(SHA-1(key + 258EAFA5-E914-47DA-95CA-C5AB0DC85B11)) = {accept} matches");
    assert!(out.contains(&check), "accept check missing:\n{out}");
    assert!(out.contains("the server closes first"), "{out}");
    assert!(
        out.contains("88 packets that are not TCP"),
        "UDP fillers summed up:\n{out}"
    );
}

/// tshark's packet list of a sample: (number, time, src port, dst port) of TCP packets.
fn tshark_tcp_packets(name: &str) -> Vec<(u64, String, u16, u16)> {
    let path = root().join(format!("samples/expected/{name}.tshark-list.tsv"));
    let text = std::fs::read_to_string(&path).expect("tshark list");
    let mut out = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        if cols.len() < 7 || cols[4] == "UDP" {
            continue;
        }
        // The first "A → B" in the Info column (after any [TCP ...] prefixes), or for
        // HTTP/WebSocket lines no ports: those are looked up from the stream list below.
        let ports = cols[6]
            .split(" → ")
            .collect::<Vec<_>>()
            .windows(2)
            .find_map(|w| {
                let a = w[0].rsplit(' ').next()?.parse::<u16>().ok()?;
                let b = w[1].split(' ').next()?.parse::<u16>().ok()?;
                Some((a, b))
            });
        let number: u64 = cols[0].parse().expect("number");
        let time = cols[1][..cols[1].len() - 3].to_string(); // ns → µs digits
        out.push((
            number,
            time,
            ports.map_or(0, |p| p.0),
            ports.map_or(0, |p| p.1),
        ));
    }
    out
}

#[test]
fn flow_arrows_follow_tshark() {
    for (name, client_port) in [("seed000", 58901u16), ("coalesced", 0), ("basic", 0)] {
        let m = manifest(name);
        let conn = &m["connections"][0];
        let client_port = if client_port != 0 {
            client_port
        } else {
            conn["client"][1].as_u64().expect("client port") as u16
        };
        let server_port = conn["server"][1].as_u64().expect("server port") as u16;
        let out = run_view(
            &[
                "read",
                &sample_arg(&format!("{name}.pcap")),
                "--view",
                "flow",
                "--color",
                "never",
            ],
            None,
        );
        let arrows: Vec<(u64, String, bool)> = out
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                let number = words.next()?.parse::<u64>().ok()?;
                let time = words.next()?.to_string();
                let rest = l.split_once('|')?.1;
                Some((number, time, rest.starts_with("--")))
            })
            .collect();
        let expected = tshark_tcp_packets(name);
        // Every arrow is a packet of the connection, in tshark's order and time; TCP-only
        // packets (whose Info shows ports) go the way the ports say.
        let mut last = 0;
        for (number, time, c2s) in &arrows {
            assert!(*number > last, "{name}: packets out of order");
            last = *number;
            let (_, t, src, dst) = expected
                .iter()
                .find(|e| e.0 == *number)
                .unwrap_or_else(|| panic!("{name}: packet {number} not in tshark's list"));
            assert_eq!(time, t, "{name}: packet {number} time");
            if *src != 0 {
                assert!(
                    (*src, *dst) == (client_port, server_port)
                        || (*src, *dst) == (server_port, client_port)
                );
                assert_eq!(
                    *c2s,
                    *src == client_port,
                    "{name}: packet {number} direction"
                );
            }
        }
        // Lines without ports are HTTP and WebSocket packets: all of connection 0 here.
        let tcp_of_conn = expected
            .iter()
            .filter(|(_, _, s, d)| {
                *s == 0 || ([*s, *d].contains(&client_port) && [*s, *d].contains(&server_port))
            })
            .count();
        assert_eq!(
            arrows.len(),
            tcp_of_conn,
            "{name}: one arrow per packet\n{out}"
        );
    }
}

/// Per direction (c2s, s2c): frames, payload bytes, data messages (a Text/Binary frame
/// opens one, a Continuation only continues an open one, FIN ends it: RFC 6455 §5.4, so
/// the seed's lone Continuation frames make no message); and the first Close (who, code).
type Counts = ([u64; 2], [u64; 2], [u64; 2], Option<(String, u64)>);

fn manifest_counts(conn: &Value) -> Counts {
    let mut frames = [0; 2];
    let mut bytes = [0; 2];
    let mut messages = [0; 2];
    let mut first_close = None;
    let mut open = [false; 2];
    for f in conn["frames"].as_array().expect("frames") {
        let d = usize::from(f["dir"] == "s2c");
        frames[d] += 1;
        bytes[d] += f["len"].as_u64().expect("len");
        let opcode = f["opcode"].as_u64().expect("opcode");
        if opcode == 1 || opcode == 2 || (opcode == 0 && open[d]) {
            open[d] = f["fin"] != true;
            if f["fin"] == true {
                messages[d] += 1;
            }
        }
        if opcode == 8 && first_close.is_none() {
            let who = if d == 0 { "client" } else { "server" };
            first_close = Some((who.to_string(), f["close_code"].as_u64().expect("code")));
        }
    }
    (frames, bytes, messages, first_close)
}

#[test]
fn conversations_count_what_the_generators_sent() {
    for name in ["basic", "coalesced", "seed000", "bad-accept", "ipv6"] {
        let m = manifest(name);
        let conn = &m["connections"][0];
        let (frames, bytes, messages, close) = manifest_counts(conn);
        let out = run_view(
            &[
                "read",
                &sample_arg(&format!("{name}.pcap")),
                "--view",
                "conversations",
                "--color",
                "never",
            ],
            None,
        );
        let row = out
            .lines()
            .find(|l| l.trim_start().starts_with("0 "))
            .unwrap_or_else(|| panic!("{name}: no row for connection 0:\n{out}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        for expected in [
            format!("{}/{}", frames[0], frames[1]),
            format!("{}/{}", bytes[0], bytes[1]),
            format!("{}/{}", messages[0], messages[1]),
        ] {
            assert!(
                cells.contains(&expected.as_str()),
                "{name}: {expected} in {row}"
            );
        }
        let (who, code) = close.expect("a close frame");
        assert!(row.contains(&format!("{who} {code}")), "{name}: {row}");
        let verdict = if name == "bad-accept" {
            "MISMATCH"
        } else {
            "OK"
        };
        assert!(cells.contains(&verdict), "{name}: {verdict} in {row}");
        let client = &conn["client"];
        let client = if client[0].as_str().is_some_and(|a| a.contains(':')) {
            format!("[{}]:{}", client[0].as_str().unwrap_or(""), client[1])
        } else {
            format!("{}:{}", client[0].as_str().unwrap_or(""), client[1])
        };
        assert!(
            cells.contains(&client.as_str()),
            "{name}: {client} in {row}"
        );
    }
    // Refused upgrades are rows too.
    let out = run_view(
        &[
            "read",
            &sample_arg("refused.pcap"),
            "--view",
            "conversations",
        ],
        None,
    );
    assert!(
        out.contains("refused 403") && out.contains("refused 404"),
        "{out}"
    );
}

/// The manifest's frames joined into messages per direction, in completion order:
/// (dir, opcode of the first frame, bytes).
fn manifest_messages(conn: &Value) -> Vec<(String, u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut open: [Option<(u64, Vec<u8>)>; 2] = [None, None];
    for f in conn["frames"].as_array().expect("frames") {
        let dir = f["dir"].as_str().expect("dir").to_string();
        let d = usize::from(dir == "s2c");
        let opcode = f["opcode"].as_u64().expect("opcode");
        let bytes = hex(f["hex"].as_str().expect("hex"));
        assert_eq!(bytes.len() as u64, f["len"].as_u64().expect("len"));
        let fin = f["fin"] == true;
        if opcode >= 8 {
            out.push((dir, opcode, bytes));
            continue;
        }
        let (first, mut joined) = match (opcode, open[d].take()) {
            (0, Some(j)) => j,
            (op, _) => (op, Vec::new()),
        };
        joined.extend_from_slice(&bytes);
        if fin {
            out.push((dir, first, joined));
        } else {
            open[d] = Some((first, joined));
        }
    }
    out
}

fn extension(opcode: u64) -> &'static str {
    match opcode {
        1 => "txt",
        2 => "bin",
        8 => "close",
        9 => "ping",
        10 => "pong",
        _ => "other",
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn export_writes_what_the_generators_sent() {
    for name in ["basic", "coalesced"] {
        let m = manifest(name);
        let conn = &m["connections"][0];
        let expected = manifest_messages(conn);
        let dir = temp_dir(&format!("export-{name}"));
        run_view(
            &[
                "read",
                &sample_arg(&format!("{name}.pcap")),
                "--follow",
                "0",
                "--export",
                dir.to_str().expect("path"),
            ],
            None,
        );
        let index = std::fs::read_to_string(dir.join("index.tsv")).expect("index.tsv");
        let mut rows = index.lines();
        assert_eq!(
            rows.next(),
            Some("index\ttime\tdir\topcode\tlength\tfile\tcomplete")
        );
        let rows: Vec<Vec<&str>> = rows.map(|r| r.split('\t').collect()).collect();
        assert_eq!(rows.len(), expected.len(), "{name}: {index}");
        // Per direction, the exported messages are the sent ones in order.
        for dir_name in ["c2s", "s2c"] {
            let sent: Vec<_> = expected.iter().filter(|e| e.0 == dir_name).collect();
            let exported: Vec<_> = rows.iter().filter(|r| r[2] == dir_name).collect();
            assert_eq!(sent.len(), exported.len(), "{name} {dir_name}");
            for ((_, opcode, bytes), row) in sent.iter().zip(exported) {
                let file = row[5];
                assert!(
                    file.starts_with(&format!("conn0-{dir_name}-"))
                        && file.ends_with(&format!(".{}", extension(*opcode))),
                    "{name}: {file} for opcode {opcode}"
                );
                assert_eq!(row[4], bytes.len().to_string());
                assert_eq!(row[6], "yes");
                let got = std::fs::read(dir.join(file)).expect("exported file");
                assert_eq!(&got, bytes, "{name}: {file}");
            }
        }
        // Single-frame messages also match the generator's SHA-256.
        for f in conn["frames"].as_array().expect("frames") {
            if f["fin"] == true && f["opcode"] != 0 {
                let want = f["sha256"].as_str().expect("sha256");
                let found = rows.iter().any(|r| {
                    let bytes = std::fs::read(dir.join(r[5])).expect("file");
                    hex_string(&Sha256::digest(&bytes)) == want
                });
                assert!(found, "{name}: no exported file with sha256 {want}");
            }
        }
    }
}

fn hex_string(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[test]
fn follow_shows_the_messages_in_order() {
    let m = manifest("basic");
    let conn = &m["connections"][0];
    let out = run_view(
        &[
            "read",
            &sample_arg("basic.pcap"),
            "--follow",
            "0",
            "--color",
            "never",
        ],
        None,
    );
    let heads: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with('→') || l.starts_with('←'))
        .collect();
    let expected = manifest_messages(conn);
    assert_eq!(heads.len(), expected.len(), "{out}");
    for (head, (dir, opcode, bytes)) in heads.iter().zip(&expected) {
        assert_eq!(head.starts_with('→'), dir == "c2s", "{head}");
        assert!(
            head.contains(&format!("{} byte", bytes.len())),
            "{head}: {} bytes",
            bytes.len()
        );
        if *opcode == 1 {
            let text = String::from_utf8(bytes.clone()).expect("text");
            assert!(out.contains(&format!("    {text}\n")), "{text} shown");
        }
    }
    // A connection that is not there: said on stderr, exit 2, nothing on stdout.
    let none = run_view_raw(&["read", &sample_arg("basic.pcap"), "--follow", "7"], None);
    assert_eq!(none.status.code(), Some(2));
    assert!(none.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&none.stderr);
    assert!(
        stderr.starts_with("wsdissect: ") && stderr.contains("no connection 7 in the capture"),
        "{stderr}"
    );
}

#[test]
fn mermaid_output_is_one_valid_sequence_diagram() {
    let out = run_view(&["read", &sample_arg("coalesced.pcap"), "--mermaid"], None);
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("sequenceDiagram"));
    assert_eq!(lines.next(), Some("    participant Client"));
    assert_eq!(lines.next(), Some("    participant Server"));
    let mut arrows = 0;
    for line in lines {
        let text = if let Some(rest) = line.strip_prefix("    Client->>Server: ") {
            arrows += 1;
            rest
        } else if let Some(rest) = line.strip_prefix("    Server->>Client: ") {
            arrows += 1;
            rest
        } else if let Some(rest) = line.strip_prefix("    Note over Client,Server: ") {
            rest
        } else {
            assert!(line.starts_with("    %% "), "unexpected line {line:?}");
            continue;
        };
        // Mermaid ends a message at `#` or `;`: they may only appear as entity codes.
        let mut rest = text;
        while let Some(i) = rest.find('#') {
            let code = &rest[i + 1..];
            let end = code.find(';').expect("entity code ends with ;");
            assert!(code[..end].chars().all(|c| c.is_ascii_alphanumeric()));
            rest = &code[end + 1..];
        }
        assert!(!rest.contains(';'), "{line}");
    }
    // coalesced.tshark-list.tsv: 26 TCP packets, all of connection 0.
    assert_eq!(arrows, 26);
}

#[test]
fn view_flags_are_checked() {
    let basic = sample_arg("basic.pcap");
    let bad = run_view_raw(&["read", &basic, "--view", "explain", "--mermaid"], None);
    assert_eq!(bad.status.code(), Some(2));
    let bad = run_view_raw(
        &["read", &basic, "--export", "/tmp/x", "--view", "flow"],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    let bad = run_view_raw(
        &["read", &basic, "--format", "jsonl", "--view", "flow"],
        None,
    );
    assert_eq!(bad.status.code(), Some(2));
    let bad = run_view_raw(&["read", &basic, "--follow", "0", "--view", "flow"], None);
    assert_eq!(bad.status.code(), Some(2));
}

/// A server frame (unmasked, short payload).
fn server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    assert!(payload.len() < 126);
    let mut f = vec![b0, payload.len() as u8];
    f.extend_from_slice(payload);
    f
}

/// A capture whose every text field carries terminal controls: ESC sequences (CSI, OSC),
/// BEL, C1 CSI (U+009B), NUL and a right-to-left override.
fn hostile_capture(file_name: &str) -> PathBuf {
    let evil = "\x1b[31mred\x07bell\u{9b}2J\u{202e}gnp.exe\x1b]0;title\x07\x00end";
    let mut c = Conversation::open();
    let request = format!(
        "GET /chat\x1b[2J\u{202e} HTTP/1.1\r\nHost: x\x1b[5m\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\
         Sec-WebSocket-Protocol: \x1b]0;pwned\x07\r\n\r\n"
    );
    c.c2s(request.as_bytes());
    let response = format!(
        "HTTP/1.1 101 Switching \x1b[1mProtocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {RFC_ACCEPT}\r\nSec-WebSocket-Protocol: \x1b]0;pwned\x07\r\n\
         Sec-WebSocket-Extensions: x\u{202e}y\r\n\r\n"
    );
    c.s2c(response.as_bytes());
    let key = [0x12, 0x34, 0x56, 0x78];
    c.c2s(&client_frame(0x81, key, evil.as_bytes()));
    c.s2c(&server_frame(0x81, evil.as_bytes()));
    c.c2s(&client_frame(0x82, key, b"\x1b[H\x07\x9b"));
    c.c2s(&client_frame(0x01, key, b"\x1b[1m"));
    c.c2s(&client_frame(0x80, key, b"\x1b[0m\x07"));
    c.c2s(&client_frame(0x89, key, b"\x1b[6n"));
    c.s2c(&server_frame(0x8a, b"\x1b[6n"));
    let mut close = vec![0x03, 0xf0];
    close.extend_from_slice("\x1b[41mbye\u{202e}\x07".as_bytes());
    c.c2s(&client_frame(0x88, key, &close));
    c.s2c(&server_frame(0x88, &close));
    c.close();
    c.write(file_name)
}

/// Removes `ESC [ digits/semicolons m` (SGR) sequences and `ESC [ K` (erase to the end of
/// the line, which the coloured packet list writes so a row's background fills the line).
fn strip_sgr(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\x1b' && chars.peek() == Some(&'[') {
            let mut seq = String::from("\x1b[");
            chars.next();
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() || d == ';' {
                    seq.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            if chars.peek() == Some(&'m') || (seq == "\x1b[" && chars.peek() == Some(&'K')) {
                chars.next();
                continue;
            }
            out.push_str(&seq);
            continue;
        }
        out.push(c);
    }
    out
}

/// Characters that must never reach a terminal from a capture (tabs separate the packet
/// list's columns).
fn is_dangerous(c: char) -> bool {
    (c.is_control() && c != '\n' && c != '\t')
        || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[test]
fn no_control_or_escape_character_reaches_any_view() {
    let capture = hostile_capture("hostile-views.pcap");
    let file = capture.to_str().expect("path").to_string();
    let views: &[&[&str]] = &[
        &[],
        &["-V"],
        &["--view", "explain"],
        &["--view", "conversations"],
        &["--view", "flow"],
        &["--view", "flow", "--frames-only"],
        &["--mermaid"],
        &["--follow", "0"],
    ];
    // The capture really carries the payloads: the frames decode as sent.
    let records = jsonl(&capture, &[]);
    assert_eq!(of_type(&records, "frame").len(), 9);
    for view in views {
        for columns in [None, Some(80)] {
            let mut args = vec!["read", file.as_str(), "--color", "never"];
            args.extend_from_slice(view);
            let plain = run_view(&args, columns);
            assert!(
                !plain.contains('\x1b'),
                "{view:?}: ESC without colour:\n{plain}"
            );
            let bad: Vec<char> = plain.chars().filter(|c| is_dangerous(*c)).collect();
            assert!(bad.is_empty(), "{view:?}: {bad:?} in\n{plain}");
            args[3] = "always";
            let coloured = run_view(&args, columns);
            let stripped = strip_sgr(&coloured);
            let bad: Vec<char> = stripped.chars().filter(|c| is_dangerous(*c)).collect();
            assert!(
                bad.is_empty(),
                "{view:?} coloured: {bad:?} in\n{coloured:?}"
            );
            // The payload text is there, escaped.
            if view.first() == Some(&"--view") && view.get(1) == Some(&"explain") {
                assert!(plain.contains("\\x1b[31mred\\x07bell"), "{plain}");
            }
        }
    }
    // Exported files keep the raw bytes (they are data, not terminal output).
    let dir = temp_dir("export-hostile");
    run_view(
        &[
            "read",
            &file,
            "--follow",
            "0",
            "--export",
            dir.to_str().expect("path"),
        ],
        None,
    );
    let first = std::fs::read(dir.join("conn0-c2s-0001.txt")).expect("first message");
    assert!(first.starts_with(b"\x1b[31mred\x07"));
}

#[test]
fn tables_and_diagrams_fit_80_columns() {
    let hostile = hostile_capture("hostile-80.pcap");
    let mut captures: Vec<PathBuf> = ["seed000.pcap", "basic.pcap", "coalesced.pcap", "ipv6.pcap"]
        .iter()
        .map(|n| sample(n))
        .collect();
    captures.push(hostile);
    let views: &[&[&str]] = &[
        &["--view", "conversations"],
        &["--view", "flow"],
        &["--view", "flow", "--frames-only"],
    ];
    for capture in &captures {
        let file = capture.to_str().expect("path");
        for view in views {
            for color in ["never", "always"] {
                let mut args = vec!["read", file, "--color", color];
                args.extend_from_slice(view);
                let out = run_view(&args, Some(80));
                for line in out.lines() {
                    let width = strip_sgr(line).chars().count();
                    assert!(
                        width <= 80,
                        "{}: {view:?}: {width} columns: {line}",
                        Path::new(file).display()
                    );
                }
            }
        }
    }
}

/// Frames of one packet: (packet, [(opcode, fin, mask key or "")]).
type PacketFrames<Op> = (u64, Vec<(Op, bool, String)>);

/// tshark's frames per packet.
fn tshark_frames(name: &str) -> Vec<PacketFrames<u64>> {
    let path = root().join(format!("samples/expected/{name}.tshark-ws.tsv"));
    let text = std::fs::read_to_string(&path).expect("tshark ws list");
    let mut out: Vec<PacketFrames<u64>> = Vec::new();
    for line in text.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let number: u64 = cols[0].parse().expect("number");
        if out.iter().any(|(n, _)| *n == number) {
            continue; // tshark repeats some rows (see basic.tshark-ws.tsv)
        }
        let list = |i: usize| -> Vec<&str> {
            cols.get(i)
                .filter(|c| !c.is_empty())
                .map(|c| c.split(',').collect())
                .unwrap_or_default()
        };
        let (opcodes, keys, fins, masks) = (list(1), list(3), list(4), list(5));
        let mut keys = keys.into_iter();
        let frames = opcodes
            .iter()
            .zip(fins.iter().zip(&masks))
            .map(|(op, (fin, mask))| {
                let key = if *mask == "1" {
                    keys.next().unwrap_or_default().to_string()
                } else {
                    String::new()
                };
                (op.parse().expect("opcode"), *fin == "1", key)
            })
            .collect();
        out.push((number, frames));
    }
    out
}

#[test]
fn explain_frames_match_tshark() {
    let names = [
        (0u64, "Continuation"),
        (1, "Text"),
        (2, "Binary"),
        (8, "Connection Close"),
        (9, "Ping"),
        (10, "Pong"),
    ];
    for name in ["seed000", "basic", "coalesced", "large", "bad-accept"] {
        let out = run_view(
            &[
                "read",
                &sample_arg(&format!("{name}.pcap")),
                "--view",
                "explain",
                "--color",
                "never",
            ],
            None,
        );
        // (packet, opcode name, fin, key) for every frame line, in order.
        let mut seen: Vec<PacketFrames<String>> = Vec::new();
        let mut packet = 0;
        for line in out.lines() {
            let mut words = line.split_whitespace();
            if let Some(n) = words.next().and_then(|w| w.parse::<u64>().ok()) {
                packet = n;
            }
            let frame = ["client  WebSocket ", "server  WebSocket "]
                .iter()
                .find_map(|marker| line.split_once(marker).map(|(_, f)| f));
            let Some(frame) = frame else {
                continue;
            };
            let opcode = frame.split(',').next().expect("opcode").to_string();
            let fin = frame.contains(", FIN,");
            let key = frame
                .split_once("masked with key ")
                .map(|(_, k)| k[..8].to_string())
                .unwrap_or_default();
            match seen.last_mut() {
                Some((n, frames)) if *n == packet => frames.push((opcode, fin, key)),
                _ => seen.push((packet, vec![(opcode, fin, key)])),
            }
        }
        let expected: Vec<PacketFrames<String>> = tshark_frames(name)
            .into_iter()
            .map(|(n, frames)| {
                let frames = frames
                    .into_iter()
                    .map(|(op, fin, key)| {
                        let name = names.iter().find(|(o, _)| *o == op).expect("opcode").1;
                        (name.to_string(), fin, key)
                    })
                    .collect();
                (n, frames)
            })
            .collect();
        assert_eq!(seen, expected, "{name}");
    }
}
