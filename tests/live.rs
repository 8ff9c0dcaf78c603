//! Live capture end to end: `wsdissect live` captures the loopback while a real WebSocket
//! server and client (tungstenite) talk over it; the records must match what the test sent.
//!
//! Needs capture permission (root, or CAP_NET_RAW + CAP_NET_ADMIN on the binary). Without
//! it each test says so and returns early, unless `WSDISSECT_REQUIRE_LIVE` is set (CI sets
//! it: CI runs as root, so there they must run).
#![cfg(feature = "live")]

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde_json::Value;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};
use tungstenite::protocol::CloseFrame;
use tungstenite::protocol::frame::coding::CloseCode;
use tungstenite::{Message, handshake::derive_accept_key};

const BIN: &str = env!("CARGO_BIN_EXE_wsdissect");
/// Longest the test waits for the capture to start or to stop.
const PATIENCE: Duration = Duration::from_secs(20);
/// Socket timeouts for the WebSocket peers, so a broken exchange fails instead of hanging.
const IO_TIMEOUT: Duration = Duration::from_secs(10);

const TEXT: &str = "héllo from the live test ✓";
const PING: &[u8] = b"ping-1";
const CLOSE_REASON: &str = "bye";
/// 70 000 bytes: a 64-bit extended length, and more than one loopback segment (MTU 65536).
const BIG_LEN: usize = 70_000;

fn small_binary() -> Vec<u8> {
    (0..=255u8).collect()
}

fn big_binary() -> Vec<u8> {
    (0..BIG_LEN).map(|i| (i * 7 % 251) as u8).collect()
}

/// One frame as the test sent it: opcode, unmasked payload.
type SentFrame = (u8, Vec<u8>);

fn close_payload() -> Vec<u8> {
    let mut p = 1000u16.to_be_bytes().to_vec();
    p.extend_from_slice(CLOSE_REASON.as_bytes());
    p
}

/// Frames each way, in order: the client's messages, and the server's echoes (tungstenite
/// answers a ping with a pong carrying its payload and a close with the same close frame).
fn expected_frames() -> (Vec<SentFrame>, Vec<SentFrame>) {
    let c2s = vec![
        (1, TEXT.as_bytes().to_vec()),
        (2, small_binary()),
        (2, big_binary()),
        (9, PING.to_vec()),
        (8, close_payload()),
    ];
    let mut s2c = c2s.clone();
    s2c[3].0 = 10;
    (c2s, s2c)
}

/// What the client learned during its session.
struct Session {
    client: SocketAddr,
    server: SocketAddr,
    /// Sec-WebSocket-Accept as the client received it.
    accept: String,
}

/// Runs a WebSocket session on `listener`: a tungstenite echo server in a thread and a
/// tungstenite client sending TEXT, two binaries, a ping, and a close 1000 "bye".
fn ws_session(listener: TcpListener, path: &str) -> Session {
    let server_addr = listener.local_addr().unwrap();
    let server = thread::spawn(move || {
        let (stream, _) = listener.accept().expect("client connects");
        stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
        let mut ws = tungstenite::accept(stream).expect("server handshake");
        loop {
            match ws.read() {
                Ok(msg @ (Message::Text(_) | Message::Binary(_))) => ws.send(msg).unwrap(),
                Ok(_) => {} // ping answered, close echoed by tungstenite itself
                Err(tungstenite::Error::ConnectionClosed) => break,
                Err(e) => panic!("server: {e}"),
            }
        }
    });
    let stream = TcpStream::connect(server_addr).unwrap();
    stream.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let client_addr = stream.local_addr().unwrap();
    let url = format!("ws://{server_addr}{path}");
    let (mut ws, response) = tungstenite::client(url.as_str(), stream).expect("client handshake");
    let accept = response
        .headers()
        .get("Sec-WebSocket-Accept")
        .and_then(|v| v.to_str().ok())
        .expect("an accept header")
        .to_string();
    for msg in [
        Message::text(TEXT),
        Message::binary(small_binary()),
        Message::binary(big_binary()),
    ] {
        ws.send(msg.clone()).unwrap();
        assert_eq!(ws.read().unwrap(), msg, "echo");
    }
    ws.send(Message::Ping(PING.to_vec().into())).unwrap();
    match ws.read().unwrap() {
        Message::Pong(p) => assert_eq!(&p[..], PING),
        other => panic!("expected the pong, got {other:?}"),
    }
    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: CLOSE_REASON.into(),
    }))
    .unwrap();
    loop {
        match ws.read() {
            Ok(Message::Close(_)) => {}
            Ok(other) => panic!("after close: {other:?}"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("client: {e}"),
        }
    }
    drop(ws);
    server.join().expect("server thread");
    Session {
        client: client_addr,
        server: server_addr,
        accept,
    }
}

fn listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0").unwrap()
}

/// Set (by `.ci/run`) where capturing must work: there a missing permission fails the test
/// instead of skipping it.
const REQUIRE_ENV: &str = "WSDISSECT_REQUIRE_LIVE";

/// Says why a test cannot run here, or fails it where capture is required.
fn skip(stderr: &str) {
    assert!(
        std::env::var_os(REQUIRE_ENV).is_none(),
        "{REQUIRE_ENV} is set but this process may not capture: {stderr}"
    );
    eprintln!(
        "SKIPPED: this process may not capture (not root, no CAP_NET_RAW): {}",
        stderr.trim()
    );
}

/// A running `wsdissect live`, its output collected by threads.
struct Capture {
    child: Child,
    stdout: mpsc::Receiver<Vec<u8>>,
    stderr_lines: mpsc::Receiver<String>,
    stderr: String,
}

/// What the capture printed and how it ended.
struct Finished {
    status: ExitStatus,
    stdout: String,
    stderr: String,
}

/// Starts `wsdissect live ARGS` and waits for it to say it is capturing; `None` (with the
/// reason printed) when this process may not capture.
fn start(args: &[&str]) -> Option<Capture> {
    start_gated(args, None)
}

/// [`start`], with standard output not read until `gate` says so (a paused reader).
fn start_gated(args: &[&str], gate: Option<mpsc::Receiver<()>>) -> Option<Capture> {
    let mut child = Command::new(BIN)
        .arg("live")
        .args(args)
        // The summary wraps to COLUMNS when it is set; the checks read unwrapped lines.
        .env_remove("COLUMNS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut out = child.stdout.take().unwrap();
    let (out_tx, out_rx) = mpsc::channel();
    thread::spawn(move || {
        if let Some(gate) = gate {
            let _ = gate.recv();
        }
        let mut all = Vec::new();
        let _ = out.read_to_end(&mut all);
        let _ = out_tx.send(all);
    });
    let err = child.stderr.take().unwrap();
    let (err_tx, err_rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(err).lines() {
            let Ok(line) = line else { break };
            if err_tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut capture = Capture {
        child,
        stdout: out_rx,
        stderr_lines: err_rx,
        stderr: String::new(),
    };
    let deadline = Instant::now() + PATIENCE;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match capture.stderr_lines.recv_timeout(left) {
            Ok(line) => {
                capture.stderr.push_str(&line);
                capture.stderr.push('\n');
                if line.contains("capturing on ") {
                    return Some(capture);
                }
            }
            Err(_) => {
                // Ended (or hung) before capturing: permission is the one excuse.
                let finished = capture.wait();
                if finished.stderr.contains("no permission to capture") {
                    skip(&finished.stderr);
                    return None;
                }
                panic!(
                    "capture did not start: {:?}\n{}",
                    finished.status, finished.stderr
                );
            }
        }
    }
}

impl Capture {
    /// Sends SIGINT (what Ctrl-C sends) and waits for the end.
    fn interrupt(self) -> Finished {
        let ok = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(ok.success());
        self.wait()
    }

    /// Waits for the process to end by itself (killing it past [`PATIENCE`]).
    fn wait(mut self) -> Finished {
        let deadline = Instant::now() + PATIENCE;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                panic!("wsdissect live did not stop\n{}", self.stderr);
            }
            thread::sleep(Duration::from_millis(20));
        };
        let stdout = self.stdout.recv_timeout(PATIENCE).unwrap_or_default();
        while let Ok(line) = self.stderr_lines.recv_timeout(Duration::from_secs(2)) {
            self.stderr.push_str(&line);
            self.stderr.push('\n');
        }
        Finished {
            status,
            stdout: String::from_utf8(stdout).expect("UTF-8 output"),
            stderr: self.stderr,
        }
    }
}

fn parse_jsonl(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l}: {e}")))
        .collect()
}

fn of_type<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == kind).collect()
}

/// Frames of one direction as (opcode, payload, masked).
fn frames_of(records: &[Value], dir: &str) -> Vec<(u8, Vec<u8>, bool)> {
    of_type(records, "frame")
        .into_iter()
        .filter(|f| f["dir"] == dir)
        .map(|f| {
            assert_eq!(f["payload_complete"], true, "{f}");
            assert_eq!(f["fin"], true, "{f}");
            let payload = BASE64
                .decode(f["payload_b64"].as_str().unwrap())
                .expect("base64 payload");
            assert_eq!(f["payload_len"].as_u64(), Some(payload.len() as u64));
            (
                f["opcode"].as_u64().unwrap() as u8,
                payload,
                f["masked"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Frames as (opcode, length, a checksum): readable in a failure message.
fn digest(frames: &[SentFrame]) -> Vec<(u8, usize, u64)> {
    frames
        .iter()
        .map(|(op, p)| {
            let sum = p.iter().fold(0u64, |acc, &b| {
                acc.wrapping_mul(31).wrapping_add(u64::from(b))
            });
            (*op, p.len(), sum)
        })
        .collect()
}

/// Everything the records must say about the session on `session`.
fn check_session(records: &[Value], session: &Session, path: &str) {
    let handshakes = of_type(records, "handshake");
    assert_eq!(handshakes.len(), 1, "{records:?}");
    let h = handshakes[0];
    assert_eq!(h["accept_ok"], true);
    assert_eq!(h["upgraded"], true);
    assert_eq!(h["status"], 101);
    assert_eq!(h["path"], path);
    assert_eq!(h["client"], session.client.to_string());
    assert_eq!(h["server"], session.server.to_string());
    assert_eq!(h["accept"], session.accept.as_str());
    let key = h["key"].as_str().expect("a key");
    assert_eq!(derive_accept_key(key.as_bytes()), session.accept);

    let (c2s, s2c) = expected_frames();
    let strip = |v: Vec<(u8, Vec<u8>, bool)>, masked: bool| -> Vec<SentFrame> {
        v.into_iter()
            .map(|(op, payload, m)| {
                assert_eq!(m, masked, "masking of opcode {op}");
                (op, payload)
            })
            .collect()
    };
    let got_c2s = strip(frames_of(records, "c2s"), true);
    let got_s2c = strip(frames_of(records, "s2c"), false);
    assert_eq!(digest(&got_c2s), digest(&c2s), "client frames");
    assert_eq!(digest(&got_s2c), digest(&s2c), "server frames");
    assert!(got_c2s == c2s && got_s2c == s2c, "payloads differ");

    let closes: Vec<&Value> = of_type(records, "frame")
        .into_iter()
        .filter(|f| f["opcode"] == 8)
        .collect();
    assert_eq!(closes.len(), 2);
    for c in closes {
        assert_eq!(c["close_code"], 1000);
        assert_eq!(c["close_name"], "Normal Closure");
        assert_eq!(c["close_reason"], CLOSE_REASON);
    }
    let text = of_type(records, "frame")
        .into_iter()
        .find(|f| f["opcode"] == 1)
        .unwrap();
    assert_eq!(text["text"], TEXT);

    let conns = of_type(records, "connection");
    assert_eq!(conns.len(), 1, "{conns:?}");
    let c = conns[0];
    assert_eq!(c["state"], "upgraded");
    assert_eq!(c["frames_c2s"], 5);
    assert_eq!(c["frames_s2c"], 5);
    assert_eq!(c["close_c2s"]["code"], 1000);
    assert_eq!(c["close_s2c"]["code"], 1000);
    assert_eq!(c["tcp_end"], "closed");
    assert!(of_type(records, "anomaly").is_empty(), "{records:?}");
}

/// No record names a port of the other session.
fn assert_port_absent(text: &str, port: u16) {
    for line in text.lines() {
        assert!(
            !line.contains(&format!(":{port}\"")),
            "port {port} was not filtered out: {line}"
        );
    }
}

fn temp_path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wsdissect-live-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// The first command with `--format jsonl`: `--port P` on the default (loopback)
/// interface, stopped by SIGINT; a second session on port Q runs meanwhile.
#[test]
fn captures_a_websocket_session_and_filters_other_ports() {
    let on_p = listener();
    let on_q = listener();
    let p = on_p.local_addr().unwrap().port();
    let q = on_q.local_addr().unwrap().port();
    let port = p.to_string();
    let Some(capture) = start(&["--port", &port, "--format", "jsonl"]) else {
        return;
    };
    assert!(
        capture.stderr.contains(&format!("filter: tcp port {p})")),
        "{}",
        capture.stderr
    );
    let other = thread::spawn(move || ws_session(on_q, "/other"));
    let session = ws_session(on_p, "/live-test");
    other.join().unwrap();
    thread::sleep(Duration::from_millis(300));
    let done = capture.interrupt();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);

    let records = parse_jsonl(&done.stdout);
    check_session(&records, &session, "/live-test");
    assert_port_absent(&done.stdout, q);

    // The summary (stderr): one TCP connection dissected means port Q never got in.
    let summary = &done.stderr;
    assert!(
        summary.contains("stopped by a signal (Ctrl-C)"),
        "{summary}"
    );
    assert!(
        summary.contains("connections:  1 TCP, 1 WebSocket (1 upgraded)"),
        "{summary}"
    );
    assert!(summary.contains("1 accept OK"), "{summary}");
    assert!(
        summary.contains("1000 Normal Closure (c2s 1, s2c 1)"),
        "{summary}"
    );
    assert!(summary.contains("anomalies:    none"), "{summary}");
    assert!(summary.contains(" dropped (buffer full)"), "{summary}");
    let messages = summary
        .lines()
        .find(|l| l.trim_start().starts_with("messages"))
        .expect("a messages row");
    assert_eq!(
        messages.split_whitespace().collect::<Vec<_>>(),
        ["messages", "3", "3"]
    );
}

/// `-f BPF -w FILE` for pcapng and pcap: the saved file reads back with `wsdissect read`
/// to the same frames, and holds nothing from port Q (the BPF filter alone kept it out:
/// no `--port`, so nothing hides it at display time).
#[test]
fn saves_pcapng_and_pcap_that_read_back_the_same() {
    for name in ["session.pcapng", "session.pcap"] {
        let on_p = listener();
        let on_q = listener();
        let p = on_p.local_addr().unwrap().port();
        let q = on_q.local_addr().unwrap().port();
        let file = temp_path(&format!("{p}-{name}"));
        let filter = format!("tcp port {p}");
        let Some(capture) = start(&[
            "-i",
            "lo",
            "-f",
            &filter,
            "--format",
            "jsonl",
            "-w",
            file.to_str().unwrap(),
        ]) else {
            return;
        };
        let other = thread::spawn(move || ws_session(on_q, "/other"));
        let session = ws_session(on_p, "/saved");
        other.join().unwrap();
        thread::sleep(Duration::from_millis(300));
        let done = capture.interrupt();
        assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
        let live = parse_jsonl(&done.stdout);
        check_session(&live, &session, "/saved");
        assert_port_absent(&done.stdout, q);

        let bytes = std::fs::read(&file).unwrap();
        let magic = &bytes[..4];
        if name.ends_with(".pcapng") {
            assert_eq!(magic, [0x0A, 0x0D, 0x0D, 0x0A], "pcapng section header");
        } else {
            assert!(
                magic == [0xD4, 0xC3, 0xB2, 0xA1] || magic == [0xA1, 0xB2, 0xC3, 0xD4],
                "pcap magic, got {magic:?}"
            );
        }
        let read = Command::new(BIN)
            .args(["read", file.to_str().unwrap(), "--format", "jsonl"])
            .output()
            .unwrap();
        assert!(read.status.success(), "{read:?}");
        let read_text = String::from_utf8(read.stdout).unwrap();
        let saved = parse_jsonl(&read_text);
        check_session(&saved, &session, "/saved");
        assert_port_absent(&read_text, q);
        // Same frames, packet for packet.
        assert_eq!(of_type(&saved, "frame"), of_type(&live, "frame"), "{name}");
        assert_eq!(of_type(&saved, "handshake"), of_type(&live, "handshake"));
        let _ = std::fs::remove_file(&file);
    }
}

/// `--count N` stops after N packets, `--duration` after the time, both exiting 0 with the
/// summary.
#[test]
fn count_and_duration_stop_the_capture() {
    let on_p = listener();
    let port = on_p.local_addr().unwrap().port().to_string();
    let Some(capture) = start(&["--port", &port, "--count", "3"]) else {
        return;
    };
    // A TCP handshake is three packets.
    let client = TcpStream::connect(on_p.local_addr().unwrap()).unwrap();
    let (_server, _) = on_p.accept().unwrap();
    let done = capture.wait();
    drop(client);
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    assert!(
        done.stderr.contains("stopped by --count 3"),
        "{}",
        done.stderr
    );
    let lines: Vec<&str> = done.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", done.stdout);
    assert!(lines[0].contains("[SYN]"), "{}", lines[0]);
    assert!(lines[1].contains("[SYN, ACK]"), "{}", lines[1]);
    assert!(lines[2].contains("[ACK]"), "{}", lines[2]);

    let started = Instant::now();
    let Some(capture) = start(&["--port", &port, "--duration", "1.5"]) else {
        return;
    };
    let done = capture.wait();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    assert!(started.elapsed() >= Duration::from_millis(1500));
    assert!(
        done.stderr.contains("stopped by --duration 1.5"),
        "{}",
        done.stderr
    );
}

fn run_live(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .arg("live")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (out.status.code(), String::from_utf8(out.stderr).unwrap())
}

#[test]
fn bad_filter_exits_2_naming_it() {
    let (code, stderr) = run_live(&["-f", "tcp port", "--count", "1"]);
    if stderr.contains("no permission to capture") {
        skip(&stderr);
        return;
    }
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains("bad capture filter \"tcp port\": ") && stderr.contains("syntax error"),
        "{stderr}"
    );
}

/// Needs no permission: the name is checked against libpcap's list first.
#[test]
fn unknown_interface_exits_2_listing_the_real_ones() {
    let (code, stderr) = run_live(&["-i", "nosuchif0", "--count", "1"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no such interface: nosuchif0"), "{stderr}");
    assert!(stderr.contains("lo"), "{stderr}");
}

#[test]
fn list_interfaces_marks_the_loopback_default() {
    let out = Command::new(BIN)
        .args(["live", "--list-interfaces"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let default: Vec<&str> = text
        .lines()
        .filter(|l| l.split('\t').nth(1).is_some_and(|f| f.contains("default")))
        .collect();
    assert_eq!(default.len(), 1, "{text}");
    assert!(default[0].contains("loopback"), "{text}");
    // Linux calls it lo; its addresses include 127.0.0.1.
    if cfg!(target_os = "linux") {
        assert!(default[0].starts_with("lo\t"), "{text}");
        assert!(default[0].contains("127.0.0.1"), "{text}");
    }
}

/// Packets in a classic pcap file (24-byte file header, then records of a 16-byte header
/// and `incl_len` bytes, RFC draft-ietf-opsawg-pcap §4-5), in either byte order.
fn pcap_packets(bytes: &[u8]) -> usize {
    let big = bytes[..4] == [0xA1, 0xB2, 0xC3, 0xD4];
    let mut at = 24;
    let mut n = 0;
    while at + 16 <= bytes.len() {
        let field: [u8; 4] = bytes[at + 8..at + 12].try_into().unwrap();
        let len = if big {
            u32::from_be_bytes(field)
        } else {
            u32::from_le_bytes(field)
        } as usize;
        at += 16 + len;
        n += 1;
    }
    assert_eq!(at, bytes.len(), "whole records");
    n
}

/// A reader that does not read for a while: the dissector blocks on its output, but the
/// capture thread keeps emptying a small kernel buffer (nothing dropped there) and saving;
/// after Ctrl-C every captured packet is dissected and printed before the summary.
#[test]
fn a_paused_reader_loses_nothing_captured() {
    let on_p = listener();
    let p = on_p.local_addr().unwrap().port();
    let file = temp_path(&format!("{p}-paused.pcap"));
    let filter = format!("tcp port {p}");
    let (open_gate, gate) = mpsc::channel();
    let Some(capture) = start_gated(
        &[
            "-i",
            "lo",
            "-f",
            &filter,
            // Small, yet more frame slots than the session has packets: libpcap sizes a
            // slot by the loopback MTU (64 KiB), so 2 MiB held ~31 slots and a capture
            // thread descheduled for a moment on a loaded CI machine lost the last ones in
            // the kernel, not in wsdissect.
            "--buffer-size",
            "8",
            "--format",
            "jsonl",
            "-w",
            file.to_str().unwrap(),
        ],
        Some(gate),
    ) else {
        return;
    };
    // The 70 000-byte messages alone are more JSON than a pipe holds (64 KiB on Linux).
    let session = ws_session(on_p, "/paused");
    thread::sleep(Duration::from_millis(1500));
    open_gate.send(()).unwrap();
    // Time for the last FIN/ACK to be sent and captured on a loaded machine (1 s once
    // missed it in CI, while the other test modules kept both cores busy).
    thread::sleep(Duration::from_millis(3000));
    let done = capture.interrupt();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);

    let saved_packets = pcap_packets(&std::fs::read(&file).unwrap());
    // Drops first: a packet lost in the kernel would otherwise show as a missing frame.
    let summary = &done.stderr;
    let line = summary
        .lines()
        .find(|l| l.starts_with("packets:"))
        .expect("a packets line");
    assert!(line.contains(" 0 dropped (buffer full)"), "{summary}");
    assert!(!summary.contains("queue full"), "{summary}");
    assert!(
        line.contains(&format!("packets:      {saved_packets} dissected;")),
        "{saved_packets} saved: {summary}"
    );
    let read = Command::new(BIN)
        .args(["read", file.to_str().unwrap(), "--format", "jsonl"])
        .output()
        .unwrap();
    check_session(
        &parse_jsonl(&String::from_utf8(read.stdout).unwrap()),
        &session,
        "/paused",
    );
    check_session(&parse_jsonl(&done.stdout), &session, "/paused");
    let _ = std::fs::remove_file(&file);
}

/// `live -Y … -T fields -e …` as in issue 10's example: only the Text frames pass the
/// filter, and their text is what the test's client sent and the server echoed (oracle:
/// the session's own messages).
#[test]
fn display_filter_and_fields_work_live() {
    let on_p = listener();
    let p = on_p.local_addr().unwrap().port();
    let port = p.to_string();
    let Some(capture) = start(&[
        "--port",
        &port,
        "-Y",
        "websocket.opcode == 1",
        "-T",
        "fields",
        "-e",
        "websocket.payload.text",
    ]) else {
        return;
    };
    let _session = ws_session(on_p, "/live-filter");
    thread::sleep(Duration::from_millis(300));
    let done = capture.interrupt();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);
    let lines: Vec<&str> = done.stdout.lines().collect();
    // One Text frame each way: the client's and the server's echo.
    assert_eq!(lines, [TEXT, TEXT], "{}", done.stdout);
}

// ---- wss:// with a key log that grows during the capture (issue 13) ----

/// Appends NSS key log lines to a file as rustls reports secrets, as a browser's
/// `SSLKEYLOGFILE` does: one connection's lines arrive when its handshake runs.
#[derive(Debug)]
struct AppendKeyLog(PathBuf);

impl rustls::KeyLog for AppendKeyLog {
    fn log(&self, label: &str, client_random: &[u8], secret: &[u8]) {
        use std::io::Write as _;
        let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
        let line = format!("{label} {} {}\n", hex(client_random), hex(secret));
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(&self.0)
            .and_then(|mut f| f.write_all(line.as_bytes()))
            .expect("key log line appended");
    }
}

/// The test certificate (self-signed, CN=localhost, P-256; tests/data/tls/) and its key.
fn test_cert() -> (
    rustls::pki_types::CertificateDer<'static>,
    rustls::pki_types::PrivateKeyDer<'static>,
) {
    use rustls::pki_types::pem::PemObject as _;
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/tls");
    let cert = rustls::pki_types::CertificateDer::from_pem_file(dir.join("live-cert.pem"))
        .expect("test certificate");
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(dir.join("live-key.pem"))
        .expect("test key");
    (cert, key)
}

/// One wss:// session on `stream`: the client sends `text`, reads the echo, closes 1000.
fn wss_client(
    config: &std::sync::Arc<rustls::ClientConfig>,
    addr: SocketAddr,
    text: &str,
) -> SocketAddr {
    let tcp = TcpStream::connect(addr).unwrap();
    tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    let local = tcp.local_addr().unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn = rustls::ClientConnection::new(config.clone(), name).unwrap();
    let tls = rustls::StreamOwned::new(conn, tcp);
    let url = format!("wss://localhost:{}/grow", addr.port());
    let (mut ws, _) = tungstenite::client(url.as_str(), tls).expect("client handshake");
    ws.send(Message::text(text)).unwrap();
    assert_eq!(ws.read().unwrap(), Message::text(text), "echo");
    ws.close(Some(CloseFrame {
        code: CloseCode::Normal,
        reason: CLOSE_REASON.into(),
    }))
    .unwrap();
    loop {
        match ws.read() {
            Ok(Message::Close(_)) => {}
            Ok(other) => panic!("after close: {other:?}"),
            Err(tungstenite::Error::ConnectionClosed) => break,
            Err(e) => panic!("client: {e}"),
        }
    }
    local
}

/// The issue's `SSLKEYLOGFILE=... client & wsdissect live --keylog keys.log`: the key log
/// holds nothing when the capture starts; a rustls client appends each connection's lines
/// as its handshake runs, the second connection opening only after the first one's lines
/// are in the file. Both connections decrypt: the records are what the client sent.
#[test]
fn wss_decrypts_with_a_key_log_that_grows_during_the_capture() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let keys = temp_path("growing.keys");
    std::fs::write(
        &keys,
        "# written by the live test; lines are appended during the capture\n",
    )
    .unwrap();
    let l = listener();
    let addr = l.local_addr().unwrap();
    let port = addr.port().to_string();
    let saved = temp_path("growing.pcapng");
    let Some(capture) = start(&[
        "--port",
        &port,
        "--keylog",
        keys.to_str().unwrap(),
        "--format",
        "jsonl",
        "-w",
        saved.to_str().unwrap(),
        "--inject-secrets",
    ]) else {
        return;
    };
    let (cert, key) = test_cert();
    let server_config = std::sync::Arc::new(
        rustls::ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![cert.clone()], key)
            .unwrap(),
    );
    let server = thread::spawn(move || {
        for _ in 0..2 {
            let (tcp, _) = l.accept().expect("client connects");
            tcp.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
            let conn = rustls::ServerConnection::new(server_config.clone()).unwrap();
            let mut ws =
                tungstenite::accept(rustls::StreamOwned::new(conn, tcp)).expect("server handshake");
            loop {
                match ws.read() {
                    Ok(msg @ Message::Text(_)) => ws.send(msg).unwrap(),
                    Ok(_) => {}
                    Err(tungstenite::Error::ConnectionClosed) => break,
                    Err(e) => panic!("server: {e}"),
                }
            }
            // A TLS close_notify, then the TCP close.
            let tls = ws.get_mut();
            tls.conn.send_close_notify();
            let _ = std::io::Write::flush(tls);
        }
    });
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).unwrap();
    let mut client_config = rustls::ClientConfig::builder()
        .with_root_certificates(roots)
        .with_no_client_auth();
    client_config.key_log = std::sync::Arc::new(AppendKeyLog(keys.clone()));
    let client_config = std::sync::Arc::new(client_config);

    let texts = [
        "first wss connection",
        "second wss connection, opened later",
    ];
    let mut clients = Vec::new();
    let mut randoms_after = Vec::new();
    for text in texts {
        clients.push(wss_client(&client_config, addr, text));
        let log = std::fs::read_to_string(&keys).unwrap();
        let mut randoms: Vec<String> = log
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| l.split(' ').nth(1).map(str::to_string))
            .collect();
        randoms.dedup();
        randoms_after.push(randoms.len());
        thread::sleep(Duration::from_millis(300));
    }
    server.join().expect("server thread");
    // The key log grew during the capture: no line at the start, one connection's lines
    // after the first session, both after the second.
    assert_eq!(randoms_after, [1, 2]);
    thread::sleep(Duration::from_millis(300));
    let done = capture.interrupt();
    assert_eq!(done.status.code(), Some(0), "{}", done.stderr);

    let records = parse_jsonl(&done.stdout);
    let tls = of_type(&records, "tls");
    assert_eq!(tls.len(), 2, "{records:?}");
    for (t, client) in tls.iter().zip(&clients) {
        assert_eq!(t["decrypted"], true, "{t}");
        assert_eq!(t["version"], "TLSv1.3", "{t}");
        assert_eq!(t["sni"], "localhost", "{t}");
        assert_eq!(t["client"], client.to_string(), "{t}");
    }
    let handshakes = of_type(&records, "handshake");
    assert_eq!(handshakes.len(), 2, "{records:?}");
    assert!(
        handshakes
            .iter()
            .all(|h| h["accept_ok"] == true && h["path"] == "/grow")
    );
    for dir in ["c2s", "s2c"] {
        let sent: Vec<(u8, Vec<u8>)> = frames_of(&records, dir)
            .into_iter()
            .filter(|f| f.0 == 1)
            .map(|f| (f.0, f.1))
            .collect();
        let want: Vec<(u8, Vec<u8>)> = texts.iter().map(|t| (1, t.as_bytes().to_vec())).collect();
        assert_eq!(sent, want, "{dir} text frames");
    }
    assert!(
        !of_type(&records, "anomaly")
            .iter()
            .any(|a| a["kind"].as_str().unwrap().starts_with("tls-")),
        "{records:?}"
    );

    // -w --inject-secrets: the saved pcapng carries both connections' secrets and decrypts
    // without a key log; the raw capture is gone.
    assert!(!saved.with_extension("raw.pcapng").exists());
    let out = Command::new(BIN)
        .args(["read", saved.to_str().unwrap(), "--format", "jsonl"])
        .env_remove("SSLKEYLOGFILE")
        .output()
        .unwrap();
    assert!(out.status.success());
    let again = parse_jsonl(&String::from_utf8(out.stdout).unwrap());
    let tls = of_type(&again, "tls");
    assert_eq!(tls.len(), 2, "{again:?}");
    assert!(tls.iter().all(|t| t["decrypted"] == true), "{tls:?}");
    assert_eq!(
        frames_of(&again, "c2s")
            .into_iter()
            .filter(|f| f.0 == 1)
            .count(),
        2
    );
}
