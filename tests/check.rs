//! `wsdissect check`: exit codes, allow/deny, CI expectations, output formats, and golden
//! text and JUnit reports. Expected packet numbers come from tshark's packet lists in
//! `samples/expected/`, expected kinds and close codes from the samples' manifests
//! (`samples/*.sent.json`, written by the generators), never from wsdissect's own output.

use crate::util::*;
use serde_json::Value;
use std::process::{Command, Output, Stdio};

/// Runs the binary from the repository root (so that file names in the output are the
/// relative paths given, as in the golden files).
fn check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .arg("check")
        .args(args)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("binary runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr")
}

fn code(out: &Output) -> Option<i32> {
    out.status.code()
}

/// `check --format jsonl ARGS`, every line parsed.
fn check_jsonl(args: &[&str]) -> (Option<i32>, Vec<Value>) {
    let mut all = vec!["--format", "jsonl"];
    all.extend_from_slice(args);
    let out = check(&all);
    let records = stdout(&out)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l:?}: {e}")))
        .collect();
    (code(&out), records)
}

/// The packet number of the first line of tshark's packet list for `name` whose Info
/// column contains `needle`.
fn tshark_packet(name: &str, needle: &str) -> u64 {
    let path = root().join(format!("samples/expected/{name}.tshark-list.tsv"));
    let text = std::fs::read_to_string(&path).expect("tshark list");
    let line = text
        .lines()
        .find(|l| {
            l.split('\t')
                .nth(6)
                .is_some_and(|info| info.contains(needle))
        })
        .unwrap_or_else(|| panic!("no {needle:?} in {path:?}"));
    line.split('\t').next().unwrap().parse().unwrap()
}

/// Number of packets in tshark's packet list for `name`.
fn tshark_packets(name: &str) -> u64 {
    let path = root().join(format!("samples/expected/{name}.tshark-list.tsv"));
    std::fs::read_to_string(path).unwrap().lines().count() as u64
}

#[test]
fn clean_capture_exits_0_with_a_summary() {
    let out = check(&["samples/basic.pcap"]);
    assert_eq!(code(&out), Some(0), "{}", stderr(&out));
    let text = stdout(&out);
    assert!(text.starts_with("samples/basic.pcap: summary\n"), "{text}");
    assert!(!text.contains("error["), "{text}");
    assert!(
        text.contains("  result       0 errors, 0 warnings, 0 notes\n"),
        "{text}"
    );
}

#[test]
fn accept_mismatch_exits_1_on_the_101_packet() {
    // The manifest says the server's accept value is wrong...
    let manifest = manifest("bad-accept");
    assert_eq!(
        manifest["connections"][0]["http"][1]["accept_problem"],
        "wrong value"
    );
    // ...and tshark says which packet carried the 101.
    let packet = tshark_packet("bad-accept", "101 Switching Protocols");
    assert_eq!(packet, 6);
    let out = check(&["samples/bad-accept.pcap"]);
    assert_eq!(code(&out), Some(1), "{}", stderr(&out));
    let want =
        format!("samples/bad-accept.pcap: packet {packet}, conn 0 s2c: error[accept-mismatch]: ");
    assert!(stdout(&out).contains(&want), "{}", stdout(&out));

    let (status, records) = check_jsonl(&["samples/bad-accept.pcap"]);
    assert_eq!(status, Some(1));
    let diags = of_type(&records, "diagnostic");
    assert_eq!(diags.len(), 1);
    assert_eq!(diags[0]["packet"], packet);
    assert_eq!(diags[0]["conn"], 0);
    assert_eq!(diags[0]["dir"], "s2c");
    assert_eq!(diags[0]["severity"], "error");
    assert_eq!(diags[0]["kind"], "accept-mismatch");
    assert_eq!(diags[0]["file"], "samples/bad-accept.pcap");
}

#[test]
fn allow_drops_the_kind_and_the_failure() {
    let out = check(&["samples/bad-accept.pcap", "--allow", "accept-mismatch"]);
    assert_eq!(code(&out), Some(0), "{}", stdout(&out));
    assert!(
        !stdout(&out).contains("accept-mismatch"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn warnings_pass_unless_denied() {
    // refused.pcap: two upgrade requests answered 403 and 404 (manifest), a refusal is a
    // warning (issue 3: "a refused upgrade (a non-101 answer) ... are warnings").
    let m = manifest("refused");
    let statuses: Vec<_> = m["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["http"][1]["status"].as_u64().unwrap())
        .collect();
    assert_eq!(statuses, [403, 404]);
    let p403 = tshark_packet("refused", "403 Forbidden");
    let p404 = tshark_packet("refused", "404 Not Found");

    let out = check(&["samples/refused.pcap"]);
    assert_eq!(code(&out), Some(0));
    let text = stdout(&out);
    for (conn, p) in [(0, p403), (1, p404)] {
        let want = format!(
            "samples/refused.pcap: packet {p}, conn {conn} s2c: warning[upgrade-refused]: "
        );
        assert!(text.contains(&want), "{want} in {text}");
    }

    let out = check(&["samples/refused.pcap", "--deny", "warnings"]);
    assert_eq!(code(&out), Some(1));
    assert_eq!(stdout(&out).matches("error[upgrade-refused]").count(), 2);
    assert!(!stdout(&out).contains("warning["));
}

#[test]
fn unreadable_input_exits_2_and_the_other_files_are_still_checked() {
    let out = check(&[
        "samples/basic.pcap",
        "/nonexistent/gone.pcap",
        "README.md",
        "samples/bad-accept.pcap",
    ]);
    assert_eq!(code(&out), Some(2));
    let err = stderr(&out);
    assert!(err.contains("/nonexistent/gone.pcap"), "{err}");
    assert!(err.contains("README.md: not a pcap or pcapng"), "{err}");
    let text = stdout(&out);
    assert!(text.contains("samples/basic.pcap: summary"), "{text}");
    assert!(text.contains("samples/bad-accept.pcap: summary"), "{text}");
    assert!(text.contains("error[accept-mismatch]"), "{text}");
    assert!(
        text.ends_with("checked 4 files: 1 error, 0 warnings, 0 notes; 2 could not be read\n"),
        "{text}"
    );

    // Machine formats also record the unreadable file.
    let (status, records) = check_jsonl(&["/nonexistent/gone.pcap", "samples/basic.pcap"]);
    assert_eq!(status, Some(2));
    assert_eq!(
        of_type(&records, "read_error")[0]["file"],
        "/nonexistent/gone.pcap"
    );
    assert_eq!(of_type(&records, "summary").len(), 1);
}

#[test]
fn expect_close_handshake() {
    // basic.pcap: Close 1000 from both sides (manifest `close` and `echo`).
    let m = manifest("basic");
    assert_eq!(m["connections"][0]["close"]["code"], 1000);
    assert_eq!(m["connections"][0]["close"]["echo"]["code"], 1000);
    let out = check(&["samples/basic.pcap", "--expect-close-handshake"]);
    assert_eq!(code(&out), Some(0), "{}", stdout(&out));

    // Hand-built: handshake, one frame each way, TCP FIN from both sides, no Close.
    let mut c = Conversation::upgraded(RFC_ACCEPT);
    c.c2s(&client_frame(0x81, [1, 2, 3, 4], b"hi"));
    c.s2c(&[0x81, 0x02, b'y', b'o']);
    c.close();
    let path = c.write("check-no-close.pcap");
    let path = path.to_str().unwrap();
    let out = check(&[path]);
    assert_eq!(code(&out), Some(0), "{}", stdout(&out));
    let (status, records) = check_jsonl(&[path, "--expect-close-handshake"]);
    assert_eq!(status, Some(1));
    // Only expectation diagnostics are asserted on: the conformance checks may add their
    // own (warning) note about the missing close handshake.
    let diags: Vec<_> = of_type(&records, "diagnostic")
        .into_iter()
        .filter(|d| d["kind"].as_str().unwrap().starts_with("expect-"))
        .collect();
    assert_eq!(diags.len(), 1, "{records:?}");
    assert_eq!(diags[0]["kind"], "expect-close-handshake");
    assert_eq!(diags[0]["severity"], "error");
    assert_eq!(diags[0]["conn"], 0);
    assert!(diags[0]["dir"].is_null());
    assert!(
        diags[0]["message"]
            .as_str()
            .unwrap()
            .contains("no Close frame from the client or the server"),
        "{}",
        diags[0]["message"]
    );
    let summary = of_type(&records, "summary")[0];
    assert_eq!(summary["websocket_connections"], 1);
    assert_eq!(summary["frames_c2s"], 1);
    assert_eq!(summary["frames_s2c"], 1);
    assert_eq!(summary["close_codes"], serde_json::json!({}));
}

#[test]
fn allowed_close_codes() {
    // basic.pcapng closes with 1001 from both sides (its manifest).
    let m = manifest("basic-pcapng");
    let codes: Vec<u64> = m["connections"][0]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["opcode"] == 8)
        .map(|f| f["close_code"].as_u64().unwrap())
        .collect();
    assert_eq!(codes, [1001, 1001]);
    let (status, records) = check_jsonl(&["samples/basic.pcapng", "--allowed-close-codes", "1000"]);
    assert_eq!(status, Some(1));
    let diags: Vec<_> = of_type(&records, "diagnostic")
        .into_iter()
        .filter(|d| d["kind"] == "expect-close-code")
        .collect();
    assert_eq!(diags.len(), 2);
    let dirs: Vec<_> = diags.iter().map(|d| d["dir"].as_str().unwrap()).collect();
    assert_eq!(dirs, ["c2s", "s2c"]);
    for d in &diags {
        assert_eq!(d["kind"], "expect-close-code");
        assert!(d["message"].as_str().unwrap().contains("1001"));
    }
    // tshark: the two Close frames are the packets listing "Connection Close".
    let list =
        std::fs::read_to_string(root().join("samples/expected/basic-pcapng.tshark-list.tsv"))
            .unwrap();
    let close_packets: Vec<u64> = list
        .lines()
        .filter(|l| l.contains("WebSocket Connection Close"))
        .map(|l| l.split('\t').next().unwrap().parse().unwrap())
        .collect();
    let got: Vec<u64> = diags
        .iter()
        .map(|d| d["packet"].as_u64().unwrap())
        .collect();
    assert_eq!(got, close_packets);
    let summary = of_type(&records, "summary")[0];
    assert_eq!(summary["close_codes"], serde_json::json!({"1001": 2}));

    let out = check(&["samples/basic.pcapng", "--allowed-close-codes", "1000,1001"]);
    assert_eq!(code(&out), Some(0), "{}", stdout(&out));
    let out = check(&["samples/basic.pcapng", "--allowed-close-codes", "x"]);
    assert_eq!(code(&out), Some(2));
}

#[test]
fn min_connections_port_filter_and_ws_port() {
    let out = check(&["samples/basic.pcap", "--min-connections", "2"]);
    assert_eq!(code(&out), Some(1));
    assert!(
        stdout(&out).contains(
            "samples/basic.pcap: error[expect-min-connections]: 1 WebSocket connection, expected at least 2\n"
        ),
        "{}",
        stdout(&out)
    );
    let out = check(&["samples/basic.pcap", "--min-connections", "1"]);
    assert_eq!(code(&out), Some(0));
    // --port 1 hides the only connection (port 9101 per samples/README.md).
    let out = check(&[
        "samples/basic.pcap",
        "--min-connections",
        "1",
        "--port",
        "1",
    ]);
    assert_eq!(code(&out), Some(1));
    let out = check(&[
        "samples/basic.pcap",
        "--min-connections",
        "1",
        "--port",
        "9101",
    ]);
    assert_eq!(code(&out), Some(0));
    // mid-connection.pcap has no handshake: WebSocket only when assumed with --ws-port.
    let out = check(&["samples/mid-connection.pcap", "--min-connections", "1"]);
    assert_eq!(code(&out), Some(1));
    let out = check(&[
        "samples/mid-connection.pcap",
        "--min-connections",
        "1",
        "--ws-port",
        "9111",
    ]);
    assert_eq!(code(&out), Some(0), "{}", stdout(&out));
}

#[test]
fn jsonl_records_add_up() {
    let (status, records) = check_jsonl(&["samples/refused.pcap", "samples/bad-accept.pcap"]);
    assert_eq!(status, Some(1));
    for r in &records {
        let t = r["type"].as_str().unwrap();
        assert!(matches!(t, "diagnostic" | "summary"), "{r}");
    }
    for (file, name) in [
        ("samples/refused.pcap", "refused"),
        ("samples/bad-accept.pcap", "bad-accept"),
    ] {
        let diags: Vec<_> = of_type(&records, "diagnostic")
            .into_iter()
            .filter(|d| d["file"] == file)
            .collect();
        let summary = of_type(&records, "summary")
            .into_iter()
            .find(|s| s["file"] == file)
            .unwrap();
        let by_sev = |s: &str| diags.iter().filter(|d| d["severity"] == s).count() as u64;
        assert_eq!(summary["errors"], by_sev("error"));
        assert_eq!(summary["warnings"], by_sev("warning"));
        assert_eq!(summary["notes"], by_sev("note"));
        let total: u64 = summary["anomalies"]
            .as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap())
            .sum();
        assert_eq!(total, diags.len() as u64);
        assert_eq!(summary["packets"], tshark_packets(name));
        let m = manifest(name);
        let conns = m["connections"].as_array().unwrap();
        assert_eq!(summary["connections"], conns.len() as u64);
        let frames: u64 = conns
            .iter()
            .map(|c| c["frames"].as_array().unwrap().len() as u64)
            .sum();
        assert_eq!(summary["frames"], frames);
    }
}

/// A deliberately small XML reader for the test: enough to prove the report is
/// well-formed (one root, balanced tags, quoted attributes, only the five entities or
/// character references after `&`) and to count elements.
#[derive(Debug)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    children: Vec<Node>,
    text: String,
}

impl Node {
    fn attr(&self, key: &str) -> &str {
        self.attrs
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("<{}> has no {key}", self.name))
    }

    fn kids<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn check_entities(s: &str) {
    for (i, _) in s.match_indices('&') {
        let rest = &s[i..];
        let end = rest.find(';').expect("entity ends with ;");
        let entity = &rest[1..end];
        let ok = matches!(entity, "amp" | "lt" | "gt" | "quot" | "apos")
            || entity
                .strip_prefix("#x")
                .is_some_and(|h| u32::from_str_radix(h, 16).is_ok())
            || entity
                .strip_prefix('#')
                .is_some_and(|d| d.parse::<u32>().is_ok());
        assert!(ok, "bad entity &{entity};");
    }
    assert!(
        !s.chars()
            .any(|c| (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r'))
    );
}

fn parse_xml(xml: &str) -> Node {
    let body = xml
        .strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n")
        .expect("XML declaration");
    let mut stack: Vec<Node> = vec![Node {
        name: String::new(),
        attrs: vec![],
        children: vec![],
        text: String::new(),
    }];
    let mut rest = body;
    while let Some(lt) = rest.find('<') {
        let text = &rest[..lt];
        assert!(!text.contains('>'), "raw > in text {text:?}");
        check_entities(text);
        stack.last_mut().unwrap().text.push_str(text);
        let gt = rest[lt..].find('>').expect("tag closes") + lt;
        let tag = &rest[lt + 1..gt];
        rest = &rest[gt + 1..];
        if let Some(name) = tag.strip_prefix('/') {
            let node = stack.pop().expect("open element");
            assert_eq!(node.name, name, "mismatched close tag");
            stack.last_mut().expect("parent").children.push(node);
            continue;
        }
        let (tag, empty) = match tag.strip_suffix('/') {
            Some(t) => (t, true),
            None => (tag, false),
        };
        let (name, mut attrs_src) = tag.split_once(' ').unwrap_or((tag, ""));
        assert!(!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        let mut attrs = Vec::new();
        loop {
            attrs_src = attrs_src.trim_start();
            if attrs_src.is_empty() {
                break;
            }
            let (key, after) = attrs_src.split_once("=\"").expect("attribute = \"value\"");
            let close = after.find('"').expect("closing quote");
            let value = &after[..close];
            assert!(!value.contains('<'), "raw < in attribute");
            check_entities(value);
            attrs.push((key.to_string(), value.to_string()));
            attrs_src = &after[close + 1..];
        }
        let node = Node {
            name: name.to_string(),
            attrs,
            children: vec![],
            text: String::new(),
        };
        if empty {
            stack.last_mut().unwrap().children.push(node);
        } else {
            stack.push(node);
        }
    }
    assert!(rest.trim().is_empty(), "trailing text {rest:?}");
    assert_eq!(stack.len(), 1, "unclosed elements");
    let mut doc = stack.pop().unwrap();
    assert_eq!(doc.children.len(), 1, "one root element");
    doc.children.pop().unwrap()
}

fn golden(name: &str) -> String {
    let path = root().join("tests/golden").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"))
}

// The golden files below were checked by hand, once, against the captures:
// - bad-accept.pcap: the only diagnostic is error[accept-mismatch] on packet 6, conn 0,
//   s2c; packet 6 is the `HTTP/1.1 101 Switching Protocols` line of
//   samples/expected/bad-accept.tshark-list.tsv, and the manifest's `accept_problem` is
//   "wrong value" (accept AAAA...A= instead of s3pPLMBiTxaQ9kYGzzhZRbK+xOo=, the RFC 6455
//   §1.3 value for the key dGhlIHNhbXBsZSBub25jZQ==). 20 packets = 20 lines of tshark's
//   list; 5 frames, 2 c2s + 3 s2c, Close 1002 from both sides = the manifest's frames.
// - basic.pcap: no diagnostic (real Python websockets on both sides); 36 packets =
//   tshark's list; 15 frames, 8 c2s + 7 s2c, Close 1000 twice = the manifest's frames.
// - Data messages: basic.pcap 6 (its manifest: 3 c2s incl. one fragmented, 3 s2c incl.
//   one fragmented), bad-accept.pcap 3 (text, text, binary).
// - The accept-mismatch message starts with the rule's text (src/rules/mod.rs) and ends
//   with both values.
// - Each file's summary ends with its conversations row: bad-accept frames 2/3, payload
//   bytes 26/34 and close 1002 by the client as in its manifest; basic.pcap 8/7 frames,
//   315/89 bytes, ping RTT 0.274 ms (packets 14 and 16 of the tshark list).
// Regenerate (then re-verify the above): from the repository root,
//   wsdissect check samples/bad-accept.pcap samples/basic.pcap > tests/golden/check-text.txt
//   wsdissect check samples/bad-accept.pcap samples/basic.pcap --format junit > tests/golden/check-junit.xml

#[test]
fn golden_text_report() {
    let out = check(&["samples/bad-accept.pcap", "samples/basic.pcap"]);
    assert_eq!(code(&out), Some(1));
    assert_eq!(stdout(&out), golden("check-text.txt"));
    assert_eq!(stderr(&out), "");
}

#[test]
fn golden_junit_report() {
    let out = check(&[
        "samples/bad-accept.pcap",
        "samples/basic.pcap",
        "--format",
        "junit",
    ]);
    assert_eq!(code(&out), Some(1));
    let xml = stdout(&out);
    assert_eq!(xml, golden("check-junit.xml"));

    // Structure, independently of the golden bytes: counts agree with each other and
    // with the per-file error counts of the JSON summary.
    let (_, records) = check_jsonl(&["samples/bad-accept.pcap", "samples/basic.pcap"]);
    let root_el = parse_xml(&xml);
    assert_eq!(root_el.name, "testsuites");
    let suites: Vec<_> = root_el.kids("testsuite").collect();
    assert_eq!(suites.len(), 2);
    let (mut tests, mut failures) = (0u64, 0u64);
    for suite in &suites {
        let cases: Vec<_> = suite.kids("testcase").collect();
        let failing: Vec<_> = cases
            .iter()
            .filter(|c| c.kids("failure").count() > 0)
            .collect();
        assert_eq!(suite.attr("tests"), cases.len().to_string());
        assert_eq!(suite.attr("failures"), failing.len().to_string());
        assert_eq!(suite.attr("errors"), "0");
        let names: Vec<_> = cases.iter().map(|c| c.attr("name")).collect();
        assert_eq!(
            names,
            [
                "handshake",
                "framing",
                "messages/utf-8",
                "close",
                "tcp/connection"
            ]
        );
        let file = suite.attr("name");
        let summary = of_type(&records, "summary")
            .into_iter()
            .find(|s| s["file"] == file)
            .unwrap();
        let listed_errors: usize = failing
            .iter()
            .flat_map(|c| c.kids("failure"))
            .map(|f| f.text.lines().filter(|l| l.contains(": error[")).count())
            .sum();
        assert_eq!(summary["errors"], listed_errors as u64, "{file}");
        tests += cases.len() as u64;
        failures += failing.len() as u64;
    }
    assert_eq!(root_el.attr("tests"), tests.to_string());
    assert_eq!(root_el.attr("failures"), failures.to_string());
    let bad = suites[0];
    assert_eq!(bad.attr("name"), "samples/bad-accept.pcap");
    let handshake = bad.kids("testcase").next().unwrap();
    let failure = handshake.kids("failure").next().unwrap();
    assert_eq!(failure.attr("type"), "accept-mismatch");
}

#[test]
fn junit_escapes_hostile_file_names_and_reports_unreadable_files() {
    let c = Conversation::upgraded(RFC_ACCEPT);
    let path = c.write("we<ird>&\"name'.pcap");
    let out = check(&[
        path.to_str().unwrap(),
        "/nonexistent/a<b.pcap",
        "--format",
        "junit",
        "--min-connections",
        "2",
    ]);
    assert_eq!(code(&out), Some(2));
    let xml = stdout(&out);
    let root_el = parse_xml(&xml);
    let suites: Vec<_> = root_el.kids("testsuite").collect();
    assert_eq!(
        suites[0].attr("name"),
        path.to_str()
            .unwrap()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&apos;")
    );
    let names: Vec<_> = suites[0].kids("testcase").map(|c| c.attr("name")).collect();
    assert!(names.contains(&"expectations"), "{names:?}");
    assert_eq!(suites[1].attr("errors"), "1");
    assert_eq!(root_el.attr("errors"), "1");
    assert!(
        suites[1]
            .kids("testcase")
            .next()
            .unwrap()
            .kids("error")
            .count()
            == 1
    );
}

#[test]
fn the_test_xml_reader_rejects_broken_documents() {
    let decl = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
    let ok = format!("{decl}<a x=\"1 &amp; 2\"><b/>t &lt; u</a>\n");
    assert_eq!(parse_xml(&ok).kids("b").count(), 1);
    for bad in [
        "<a><b></a></b>",
        "<a>",
        "<a x=\"1\">&nbsp;</a>",
        "<a x=\"<\"/>",
        "<a>\u{1}</a>",
        "<a/><b/>",
    ] {
        let doc = format!("{decl}{bad}");
        let result = std::panic::catch_unwind(|| parse_xml(&doc));
        assert!(result.is_err(), "accepted {bad:?}");
    }
}

#[test]
fn stdin_is_checked_as_a_stream() {
    let bytes = std::fs::read(sample("bad-accept.pcap")).unwrap();
    let out = run(&["check", "-"], Some(&bytes));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.starts_with("<stdin>: packet 6, conn 0 s2c: error[accept-mismatch]: "),
        "{text}"
    );
}
