//! Shared helpers for the integration tests: run the built binary on the bundled samples.
#![allow(dead_code)]

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `samples/NAME`.
pub fn sample(name: &str) -> PathBuf {
    root().join("samples").join(name)
}

/// Every sample that has tshark reference decodings: (reference name, capture file).
/// `basic-pcapng` names `basic.pcapng`; every other NAME names `NAME.pcap`.
pub fn samples_with_references() -> Vec<(String, PathBuf)> {
    let dir = root().join("samples/expected");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("samples/expected exists") {
        let path = entry.expect("readable dir").path();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        if let Some(name) = file.strip_suffix(".tshark-ws.tsv") {
            let capture = match name.strip_suffix("-pcapng") {
                Some(base) => sample(&format!("{base}.pcapng")),
                None => sample(&format!("{name}.pcap")),
            };
            out.push((name.to_string(), capture));
        }
    }
    out.sort();
    assert!(
        out.len() >= 10,
        "expected the bundled samples, found {out:?}"
    );
    out
}

/// Extra arguments a sample needs (the one captured mid-connection needs Decode-As).
pub fn extra_args(name: &str) -> Vec<String> {
    match name {
        "mid-connection" => vec!["--ws-port".into(), "9111".into()],
        _ => vec![],
    }
}

/// Runs the binary with `args`, optionally feeding `stdin`.
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsdissect"));
    cmd.args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        });
    let mut child = cmd.spawn().expect("binary runs");
    if let Some(input) = stdin {
        use std::io::Write;
        let mut pipe = child.stdin.take().unwrap();
        let input = input.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&input);
        });
    }
    child.wait_with_output().expect("binary finishes")
}

/// `read FILE --format jsonl [extra]`, parsed; panics on a bad exit or bad JSON.
pub fn jsonl(capture: &Path, extra: &[String]) -> Vec<Value> {
    let path = capture.to_str().unwrap();
    let mut args = vec!["read", path, "--format", "jsonl"];
    args.extend(extra.iter().map(String::as_str));
    let out = run(&args, None);
    assert!(
        out.status.success(),
        "{path}: exit {:?}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("UTF-8 output")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l:?}: {e}")))
        .collect()
}

/// Records of one type.
pub fn of_type<'a>(records: &'a [Value], kind: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["type"] == kind).collect()
}

/// The sample's manifest of what its generator sent.
pub fn manifest(name: &str) -> Value {
    let path = sample(&format!("{name}.sent.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).expect("manifest is JSON")
}

/// Decodes standard base64 (test-side, independent of the crate's encoder choice).
pub fn b64(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(s)
        .expect("valid base64")
}

/// Decodes lower-case hex.
pub fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
