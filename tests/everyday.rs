//! Everyday use (issue 16): --version, completions and the man page, errors in one style
//! with hints for tshark's options, `check --quiet`, `--allow` typos, captures with nothing
//! to check, `--follow` of a missing connection, `--export` of every connection, and
//! `--format har` against the generators' manifests.

use crate::util::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).expect("UTF-8 stdout")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).expect("UTF-8 stderr")
}

fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// A fresh, absent directory under the target's temp dir.
fn temp_dir(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn version_names_the_git_commit() {
    let out = run(&["--version"], None);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    let want_prefix = format!("wsdissect {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&want_prefix), "{text}");
    // The oracle: git itself, when the tests run in a checkout (CI's fresh clone is one).
    let git = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .current_dir(root())
        .output();
    if let Ok(git) = git
        && git.status.success()
    {
        let commit = String::from_utf8(git.stdout).expect("UTF-8");
        assert_eq!(
            text.trim_end(),
            format!("{want_prefix}{})", commit.trim()),
            "a stale build? HEAD moved without build.rs rerunning"
        );
    }
}

#[test]
fn completions_for_every_shell_and_a_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let out = run(&["completions", shell], None);
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = stdout(&out);
        // Every subcommand and a subcommand's option are completed (fish writes options
        // as `-l follow`).
        for word in ["read", "check", "live", "follow", "allow"] {
            assert!(script.contains(word), "{shell} completions lack {word}");
        }
    }
    // The bash script is valid bash (bash -n parses without running).
    let bash = run(&["completions", "bash"], None);
    let path = write_temp("wsdissect.bash", &bash.stdout);
    let parsed = Command::new("bash").arg("-n").arg(&path).output();
    if let Ok(parsed) = parsed {
        assert!(parsed.status.success(), "{}", stderr(&parsed));
    }
    let bad = run(&["completions", "tcsh"], None);
    assert_eq!(bad.status.code(), Some(2));
    let man = run(&["man"], None);
    assert_eq!(man.status.code(), Some(0));
    let page = stdout(&man);
    assert!(page.contains(".TH wsdissect 1"), "{page}");
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH SUBCOMMANDS", ".SH VERSION"] {
        assert!(page.contains(section), "man page lacks {section}");
    }
}

#[test]
fn errors_start_with_wsdissect_and_tshark_options_get_a_hint() {
    let basic = sample("basic.pcap");
    // clap's own error, in wsdissect's style.
    let out = run(&["read", arg(&basic), "--no-such-option"], None);
    assert_eq!(out.status.code(), Some(2));
    let text = stderr(&out);
    assert!(
        text.starts_with("wsdissect: unexpected argument '--no-such-option'"),
        "{text}"
    );
    assert!(!text.contains("error:"), "{text}");
    // tshark options wsdissect does not have: a hint, not clap's "use -- -x" tip.
    for flag in ["-x", "-2", "-o", "-z"] {
        let out = run(&["read", arg(&basic), flag], None);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert_eq!(
            stderr(&out),
            format!(
                "wsdissect: wsdissect does not have tshark's {flag}; see wsdissect read --help\n"
            )
        );
    }
    let out = run(&["read", "-r", arg(&basic)], None);
    assert!(
        stderr(&out).contains("wsdissect read FILE"),
        "{}",
        stderr(&out)
    );
    // A missing file: `wsdissect: FILE: what`.
    let out = run(&["read", "/nonexistent/x.pcap"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).starts_with("wsdissect: /nonexistent/x.pcap: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn check_quiet_prints_diagnostics_and_one_verdict_per_file() {
    let basic = sample("basic.pcap");
    let bad = sample("bad-accept.pcap");
    let out = run(&["check", "--quiet", arg(&basic), arg(&bad)], None);
    // bad-accept.pcap's wrong Sec-WebSocket-Accept is an error (its generator sent a
    // zeroed accept key on purpose; see samples/README.md).
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert_eq!(
        lines[0],
        format!(
            "{}: 0 errors, 0 warnings, 0 notes (1 WebSocket connection)",
            basic.display()
        )
    );
    assert!(lines[1].contains("error[accept-mismatch]"), "{text}");
    assert_eq!(
        lines[2],
        format!(
            "{}: 1 error, 0 warnings, 0 notes (1 WebSocket connection)",
            bad.display()
        )
    );
    // --summary is today's output; --quiet and --summary exclude each other.
    let summary = run(&["check", "--summary", arg(&basic)], None);
    let default = run(&["check", arg(&basic)], None);
    assert_eq!(summary.stdout, default.stdout);
    assert!(
        stdout(&default).contains(": summary"),
        "{}",
        stdout(&default)
    );
    let both = run(&["check", "--quiet", "--summary", arg(&basic)], None);
    assert_eq!(both.status.code(), Some(2));
    // JUnit is unchanged by --quiet.
    let junit = run(&["check", "--format", "junit", arg(&basic)], None);
    let junit_quiet = run(
        &["check", "--format", "junit", "--quiet", arg(&basic)],
        None,
    );
    assert_eq!(junit.stdout, junit_quiet.stdout);
}

#[test]
fn an_unknown_allow_kind_is_an_error_naming_the_nearest() {
    let basic = sample("basic.pcap");
    let out = run(&["check", arg(&basic), "--allow", "tcp-gaps"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let text = stderr(&out);
    assert!(
        text.starts_with("wsdissect: --allow tcp-gaps: no such kind"),
        "{text}"
    );
    assert!(text.contains("did you mean `tcp-gap`?"), "{text}");
    // Every kind of the table is accepted (anomalies and check's own).
    for kind in wsdissect::rules::ALL
        .iter()
        .chain(wsdissect::rules::check_kinds::ALL)
    {
        let out = run(&["check", arg(&basic), "--allow", kind.name], None);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}: {}",
            kind.name,
            stderr(&out)
        );
    }
}

/// A pcap file header (24 bytes, the libpcap format) and no packet.
fn header_only() -> PathBuf {
    let bytes = PcapBuilder::new().bytes();
    assert_eq!(bytes.len(), 24);
    write_temp("everyday-header-only.pcap", &bytes)
}

#[test]
fn a_capture_with_nothing_to_check_is_a_warning() {
    let empty = header_only();
    let out = run(&["check", arg(&empty)], None);
    assert_eq!(out.status.code(), Some(0), "a warning does not fail");
    assert!(
        stdout(&out).contains("warning[no-packets]"),
        "{}",
        stdout(&out)
    );
    let out = run(&["check", "--deny", "warnings", arg(&empty)], None);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    // `read` says why nothing shows, and is not an error.
    let out = run(&["read", arg(&empty)], None);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
    assert_eq!(
        stderr(&out),
        format!("wsdissect: {}: no packets\n", empty.display())
    );
    // Packets but no WebSocket: a TCP handshake and an HTTP GET that is not an upgrade.
    let mut c = Conversation::open();
    c.c2s(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let plain = c.write("everyday-no-websocket.pcap");
    let out = run(&["check", arg(&plain)], None);
    assert_eq!(out.status.code(), Some(0));
    let text = stdout(&out);
    assert!(text.contains("warning[no-websocket]"), "{text}");
    assert!(
        text.contains("no WebSocket connection in 4 packets"),
        "{text}"
    );
    // --min-connections 0 accepts it; a WebSocket capture never warns.
    let out = run(&["check", "--min-connections", "0", arg(&plain)], None);
    assert!(!stdout(&out).contains("[no-websocket]"), "{}", stdout(&out));
    let out = run(&["check", arg(&sample("basic.pcap"))], None);
    assert!(!stdout(&out).contains("[no-websocket]"));
}

#[test]
fn export_of_every_connection_writes_a_folder_each() {
    // viol-close.pcap's generator opened four WebSocket connections.
    let capture = sample("viol-close.pcap");
    let dir = temp_dir("everyday-export-all");
    let out = run(&["read", arg(&capture), "--export", arg(&dir)], None);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let listing = stdout(&out);
    // The same files as --follow N --export for each connection listed.
    let mut folders = 0;
    for line in listing.lines() {
        let conn: u32 = line
            .strip_prefix("connection ")
            .and_then(|r| r.split(':').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("{line}"));
        let one = temp_dir(&format!("everyday-export-one-{conn}"));
        let follow = run(
            &[
                "read",
                arg(&capture),
                "--follow",
                &conn.to_string(),
                "--export",
                arg(&one),
            ],
            None,
        );
        assert_eq!(follow.status.code(), Some(0));
        let sub = dir.join(format!("conn{conn}"));
        let mut names: Vec<String> = std::fs::read_dir(&sub)
            .expect("folder per connection")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in &names {
            assert_eq!(
                std::fs::read(sub.join(name)).expect("file"),
                std::fs::read(one.join(name)).expect("same file from --follow"),
                "{name}"
            );
        }
        assert!(names.contains(&"index.tsv".to_string()));
        folders += 1;
    }
    assert_eq!(folders, 4, "{listing}");
    // A non-empty folder is refused unless --force.
    let again = run(&["read", arg(&capture), "--export", arg(&dir)], None);
    assert_eq!(again.status.code(), Some(2));
    assert!(
        stderr(&again).contains("not empty; give --force"),
        "{}",
        stderr(&again)
    );
    let forced = run(
        &["read", arg(&capture), "--export", arg(&dir), "--force"],
        None,
    );
    assert_eq!(forced.status.code(), Some(0), "{}", stderr(&forced));
}

#[cfg(unix)]
#[test]
fn export_never_follows_a_symbolic_link() {
    let basic = sample("basic.pcap");
    let dir = temp_dir("everyday-export-symlink");
    std::fs::create_dir_all(dir.join("conn0")).expect("dir");
    let victim = write_temp("everyday-victim.txt", b"keep me");
    std::os::unix::fs::symlink(&victim, dir.join("conn0").join("index.tsv")).expect("link");
    std::os::unix::fs::symlink(&victim, dir.join("conn0").join("conn0-c2s-0001.txt"))
        .expect("link");
    let out = run(
        &["read", arg(&basic), "--export", arg(&dir), "--force"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(std::fs::read(&victim).expect("victim"), b"keep me");
    // The links were replaced by files.
    let index = dir.join("conn0").join("index.tsv");
    assert!(
        !index
            .symlink_metadata()
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert_eq!(
        std::fs::read(dir.join("conn0").join("conn0-c2s-0001.txt")).expect("file"),
        b"Hello, WebSocket!"
    );
    // A symbolic link as DIR itself is refused.
    let link = temp_dir("everyday-export-dirlink");
    std::os::unix::fs::symlink(&dir, &link).expect("link");
    let out = run(&["read", arg(&basic), "--export", arg(&link)], None);
    assert_eq!(out.status.code(), Some(2));
}

/// The HAR's WebSocket messages equal the messages the generators sent, per connection and
/// direction, in order; the entry's request is the captured upgrade.
#[test]
fn har_messages_equal_the_manifests() {
    let mut checked = 0;
    for (name, capture) in samples_with_references() {
        let manifest = manifest(&name);
        let extra = extra_args(&name);
        let mut args = vec!["read", arg(&capture), "--format", "har"];
        args.extend(extra.iter().map(String::as_str));
        let out = run(&args, None);
        assert_eq!(out.status.code(), Some(0), "{name}: {}", stderr(&out));
        let har: Value = serde_json::from_slice(&out.stdout).expect("HAR is JSON");
        assert_eq!(har["log"]["version"], "1.2");
        let entries = har["log"]["entries"].as_array().expect("entries");
        let records = jsonl(&capture, &extra);
        for conn in manifest["connections"].as_array().expect("connections") {
            let Some(sent) = conn["messages"].as_array() else {
                continue;
            };
            let client_port = conn["client"][1].as_u64().expect("port").to_string();
            // Which of our connections is the manifest's (by client port).
            let Some(our) = of_type(&records, "connection")
                .into_iter()
                .find(|c| {
                    c["client"].as_str().and_then(|s| s.rsplit(':').next()) == Some(&client_port)
                })
                .map(|c| c["conn"].as_u64().expect("conn").to_string())
            else {
                continue;
            };
            let Some(entry) = entries.iter().find(|e| e["connection"] == our.as_str()) else {
                // A connection captured without its upgrade (mid-connection) has no entry.
                assert_eq!(
                    name, "mid-connection",
                    "{name}: no HAR entry for conn {our}"
                );
                continue;
            };
            assert_eq!(entry["request"]["method"], "GET");
            assert!(
                entry["request"]["url"]
                    .as_str()
                    .is_some_and(|u| u.starts_with("ws://"))
            );
            assert_eq!(entry["response"]["status"], 101);
            let got = entry["_webSocketMessages"].as_array().expect("messages");
            let mut last_time = 0.0;
            for (dir, kind) in [("c2s", "send"), ("s2c", "receive")] {
                let want: Vec<&Value> = sent.iter().filter(|m| m["dir"] == dir).collect();
                // The JSON Lines message records of the same connection and direction, in
                // the same order: bomb.pcap's garbage RSV1 message, which fails to inflate,
                // is no application message (an anomaly checked elsewhere); skip it.
                let complete: Vec<bool> = of_type(&records, "message")
                    .into_iter()
                    .filter(|m| {
                        m["conn"].as_u64().map(|c| c.to_string()) == Some(our.clone())
                            && m["dir"] == dir
                            && matches!(m["opcode"].as_u64(), Some(1) | Some(2))
                    })
                    .map(|m| m["payload_complete"] == true || m["len"].as_u64() > Some(0))
                    .collect();
                let all: Vec<&Value> = got.iter().filter(|m| m["type"] == kind).collect();
                assert_eq!(all.len(), complete.len(), "{name} {dir}: HAR vs JSON Lines");
                let have: Vec<&Value> = all
                    .into_iter()
                    .zip(&complete)
                    .filter(|(_, ok)| **ok)
                    .map(|(m, _)| m)
                    .collect();
                assert_eq!(have.len(), want.len(), "{name} {dir}: message count");
                for (i, (w, h)) in want.iter().zip(&have).enumerate() {
                    let ctx = format!("{name} conn {our} {dir} message {i}");
                    // bomb.pcap's 100 MiB message is capped on purpose (checked elsewhere).
                    if w["pattern"] == "zeros" {
                        continue;
                    }
                    let opcode = h["opcode"].as_u64().expect("opcode");
                    let data = h["data"].as_str().expect("data");
                    let payload = match (w["type"].as_str(), opcode) {
                        (Some("text"), 1) => data.as_bytes().to_vec(),
                        (Some("binary"), 2) => b64(data),
                        other => panic!("{ctx}: type/opcode {other:?}"),
                    };
                    // Text that is not UTF-8 (viol-utf8.pcap) becomes a JSON string with
                    // U+FFFD in place of each bad sequence, as String::from_utf8_lossy
                    // writes it; everything else is byte for byte.
                    let sent_bytes = w["text"]
                        .as_str()
                        .map(|t| t.as_bytes().to_vec())
                        .or_else(|| w["hex"].as_str().map(hex));
                    let lossy = opcode == 1
                        && sent_bytes
                            .as_ref()
                            .is_some_and(|b| std::str::from_utf8(b).is_err());
                    if let Some(bytes) = &sent_bytes {
                        let want_bytes = if lossy {
                            String::from_utf8_lossy(bytes).into_owned().into_bytes()
                        } else {
                            bytes.clone()
                        };
                        assert_eq!(payload, want_bytes, "{ctx}: payload");
                    }
                    if !lossy {
                        if let Some(len) = w["len"].as_u64() {
                            assert_eq!(payload.len() as u64, len, "{ctx}: length");
                        }
                        if let Some(digest) = w["sha256"].as_str() {
                            assert_eq!(sha256_hex(&payload), digest, "{ctx}: sha256");
                        }
                    }
                    let time = h["time"].as_f64().expect("time");
                    assert!(time > 1.0e9, "{ctx}: epoch seconds, got {time}");
                    checked += 1;
                }
            }
            // Messages are in capture order.
            for m in got {
                let t = m["time"].as_f64().expect("time");
                assert!(t >= last_time, "{name}: times go back");
                last_time = t;
            }
        }
    }
    assert!(checked >= 40, "only {checked} messages checked");
}

/// `--format har` against Chromium's own record of the same session: chromium-har.har was
/// written from the DevTools protocol's WebSocket events (as DevTools' HAR export does) while
/// tcpdump captured chromium-har.pcap (samples/gen/make_chromium_har.sh). The messages
/// (type, opcode, data: Text as is, Binary in base64, after permessage-deflate) are equal, in
/// order; the times agree to the capture's and the browser's clock difference; the upgrade
/// URL, status and header set are the same.
#[test]
fn har_matches_chromiums_record_of_the_same_session() {
    let chrome: Value =
        serde_json::from_slice(&std::fs::read(sample("chromium-har.har")).expect("Chromium's HAR"))
            .expect("JSON");
    let out = run(
        &["read", arg(&sample("chromium-har.pcap")), "--format", "har"],
        None,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ours: Value = serde_json::from_slice(&out.stdout).expect("our HAR is JSON");
    let (c, o) = (&chrome["log"]["entries"][0], &ours["log"]["entries"][0]);
    assert_eq!(ours["log"]["entries"].as_array().map(Vec::len), Some(1));
    assert_eq!(o["request"]["url"], c["request"]["url"]);
    assert_eq!(o["request"]["queryString"], c["request"]["queryString"]);
    assert_eq!(o["response"]["status"], c["response"]["status"]);
    assert_eq!(o["response"]["statusText"], c["response"]["statusText"]);
    assert_eq!(o["_resourceType"], "websocket");
    // Chromium reports headers as a map (its order); the wire order is ours. Same set.
    let set = |h: &Value| {
        let mut v: Vec<(String, String)> = h
            .as_array()
            .expect("headers")
            .iter()
            .map(|x| {
                (
                    x["name"].as_str().expect("name").to_ascii_lowercase(),
                    x["value"].as_str().expect("value").to_string(),
                )
            })
            .collect();
        v.sort();
        v
    };
    assert_eq!(set(&o["request"]["headers"]), set(&c["request"]["headers"]));
    assert_eq!(
        set(&o["response"]["headers"]),
        set(&c["response"]["headers"])
    );
    let cm = c["_webSocketMessages"]
        .as_array()
        .expect("Chromium's messages");
    let om = o["_webSocketMessages"].as_array().expect("our messages");
    assert_eq!(om.len(), cm.len());
    assert_eq!(cm.len(), 12, "six messages sent and echoed");
    for (i, (a, b)) in om.iter().zip(cm).enumerate() {
        assert_eq!(a["type"], b["type"], "message {i}");
        assert_eq!(a["opcode"], b["opcode"], "message {i}");
        assert_eq!(a["data"], b["data"], "message {i}");
        let dt = a["time"].as_f64().expect("time") - b["time"].as_f64().expect("time");
        assert!(dt.abs() < 0.1, "message {i}: {dt} s apart");
    }
}

/// `--export-limit`: the export stops, with a message, before the payload bytes written
/// would pass the limit (basic.pcap's connection 0: messages of 17, 256, 21, ... bytes,
/// as its manifest lists).
#[test]
fn export_stops_at_the_export_limit() {
    let dir = temp_dir("export-limit");
    let capture = sample("basic.pcap");
    let out = run(
        &[
            "read",
            capture.to_str().unwrap(),
            "--follow",
            "0",
            "--export",
            dir.to_str().unwrap(),
            "--export-limit",
            "300",
        ],
        None,
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--export-limit of 300 bytes reached (294 written)"),
        "{err}"
    );
    let written: u64 = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "index.tsv")
        .map(|e| e.metadata().unwrap().len())
        .sum();
    assert_eq!(written, 17 + 256 + 21);
}

/// `--force` removes what the earlier export listed in its index (so the runs never mix)
/// and nothing else.
#[test]
fn forced_export_removes_only_the_earlier_exports_files() {
    let dir = temp_dir("export-force");
    let d = dir.to_str().unwrap();
    let basic = sample("basic.pcap");
    let coalesced = sample("coalesced.pcap");
    assert!(
        run(
            &[
                "read",
                basic.to_str().unwrap(),
                "--follow",
                "0",
                "--export",
                d
            ],
            None
        )
        .status
        .success()
    );
    let first: Vec<String> = std::fs::read_to_string(dir.join("index.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(5).unwrap().to_string())
        .collect();
    std::fs::write(dir.join("notes.txt"), "mine").unwrap();
    assert!(
        run(
            &[
                "read",
                coalesced.to_str().unwrap(),
                "--follow",
                "0",
                "--export",
                d,
                "--force"
            ],
            None
        )
        .status
        .success()
    );
    let second: Vec<String> = std::fs::read_to_string(dir.join("index.tsv"))
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split('\t').nth(5).unwrap().to_string())
        .collect();
    let mut present: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    present.sort();
    let mut want = second.clone();
    want.push("index.tsv".into());
    want.push("notes.txt".into());
    want.sort();
    assert_eq!(present, want, "first export listed {first:?}");
    assert_eq!(
        std::fs::read_to_string(dir.join("notes.txt")).unwrap(),
        "mine"
    );
}
