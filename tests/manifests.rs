//! The sample captures against what their generators say they contain
//! (`samples/*.sent.json`): anomaly counts for the violation captures, and whole messages
//! (joined, inflated) for every capture whose manifest lists the application's messages.

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// Every violation capture raises exactly the anomalies its manifest expects
/// (`expected_anomaly_counts`, written by the generator that built the violations).
#[test]
fn violation_captures_raise_exactly_the_expected_anomalies() {
    let names = [
        "viol-masking",
        "viol-rsv-opcode",
        "viol-control",
        "viol-fragment",
        "viol-utf8",
        "viol-handshake",
        "viol-close",
        "bomb",
    ];
    for name in names {
        let manifest = manifest(name);
        let expected: BTreeMap<String, u64> = manifest["expected_anomaly_counts"]
            .as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_u64().unwrap()))
            .collect();
        let records = jsonl(&sample(&format!("{name}.pcap")), &[]);
        let mut got: BTreeMap<String, u64> = BTreeMap::new();
        for a in of_type(&records, "anomaly") {
            *got.entry(a["kind"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        if name == "viol-fragment" {
            // The frame declaring 2^63+16 bytes is cut by a FIN: its manifest notes that a
            // checker may also say the stream ended inside that frame.
            assert_eq!(got.remove("truncated-frame"), Some(1));
        }
        assert_eq!(got, expected, "{name}");
    }
}

/// Where a violation lands: packet, direction and severity as the manifest records them.
#[test]
fn violations_point_at_the_right_packet_and_direction() {
    for name in [
        "viol-masking",
        "viol-control",
        "viol-utf8",
        "viol-rsv-opcode",
    ] {
        let manifest = manifest(name);
        let records = jsonl(&sample(&format!("{name}.pcap")), &[]);
        let anomalies = of_type(&records, "anomaly");
        for conn in manifest["connections"].as_array().unwrap() {
            for want in conn["anomalies"].as_array().into_iter().flatten() {
                let Some(packet) = want["packet"].as_u64() else {
                    continue;
                };
                let found = anomalies.iter().any(|a| {
                    a["kind"] == want["kind"]
                        && a["packet"].as_u64() == Some(packet)
                        && (want["dir"].is_null() || a["dir"] == want["dir"])
                        && (want["severity"].is_null() || a["severity"] == want["severity"])
                });
                assert!(found, "{name}: no {want} among {anomalies:?}");
            }
        }
    }
}

fn message_bytes(want: &Value) -> Option<Vec<u8>> {
    if let Some(t) = want["text"].as_str() {
        return Some(t.as_bytes().to_vec());
    }
    if let Some(pattern) = want["pattern"].as_str() {
        // The generators' Python expressions, evaluated here by hand.
        let len = want["len"].as_u64().unwrap() as usize;
        let bytes: Vec<u8> = match pattern {
            "(bytes(range(256)) * 782)[:200000]" => (0..len).map(|i| i as u8).collect(),
            "'0123456789' * 100" => b"0123456789".repeat(100),
            other => panic!("unknown payload pattern {other:?}"),
        };
        assert_eq!(bytes.len(), len);
        return Some(bytes);
    }
    want["hex"].as_str().map(hex)
}

/// Joined and inflated messages equal what the applications passed to send(): the
/// permessage-deflate captures from Python websockets, Node ws (with and without context
/// takeover, with 10-bit windows) and headless Chromium, and the uncompressed ones.
#[test]
fn messages_equal_what_the_applications_sent() {
    let mut checked = 0;
    let mut compressed = 0;
    for (name, capture) in samples_with_references() {
        let manifest = manifest(&name);
        let records = jsonl(&capture, &extra_args(&name));
        let messages = of_type(&records, "message");
        for conn in manifest["connections"].as_array().unwrap() {
            let Some(sent) = conn["messages"].as_array() else {
                continue;
            };
            let client_port = conn["client"][1].as_u64().unwrap();
            let Some(our_conn) = of_type(&records, "connection")
                .into_iter()
                .find(|c| {
                    c["client"].as_str().and_then(|s| s.rsplit(':').next())
                        == Some(&client_port.to_string())
                })
                .map(|c| c["conn"].as_u64().unwrap())
            else {
                panic!("{name}: connection from port {client_port} not reported");
            };
            for dir in ["c2s", "s2c"] {
                // The bomb's 100 MiB message is described by a pattern, not its bytes, and
                // is capped on purpose; the garbage RSV1 message of bomb.pcap is not an
                // application message. Both are checked as anomalies elsewhere.
                let want: Vec<&Value> = sent
                    .iter()
                    .filter(|m| m["dir"] == dir && m["pattern"] != "zeros")
                    .collect();
                let got: Vec<&&Value> = messages
                    .iter()
                    .filter(|m| {
                        m["conn"].as_u64() == Some(our_conn)
                            && m["dir"] == dir
                            && matches!(m["opcode"].as_u64(), Some(1) | Some(2))
                            && m["payload_complete"] == true
                    })
                    .collect();
                assert_eq!(got.len(), want.len(), "{name} {dir}: message count");
                for (i, (w, g)) in want.iter().zip(&got).enumerate() {
                    let ctx = format!("{name} conn {our_conn} {dir} message {i}");
                    let payload = b64(g["payload_b64"].as_str().unwrap());
                    if let Some(len) = w["len"].as_u64() {
                        assert_eq!(g["len"].as_u64(), Some(len), "{ctx}: length");
                    }
                    if let Some(bytes) = message_bytes(w) {
                        assert_eq!(payload, bytes, "{ctx}: payload");
                    }
                    if let Some(digest) = w["sha256"].as_str() {
                        assert_eq!(sha256_hex(&payload), digest, "{ctx}: sha256");
                    }
                    if let Some(c) = w["compressed"].as_bool() {
                        assert_eq!(g["compressed"].as_bool(), Some(c), "{ctx}: compressed");
                        compressed += u32::from(c);
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked >= 40, "only {checked} messages checked");
    assert!(
        compressed >= 20,
        "only {compressed} compressed messages checked"
    );
}

/// README documents every anomaly kind with its severity, group and rule (the table in
/// src/rules/mod.rs).
#[test]
fn readme_documents_every_anomaly_kind() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    for kind in wsdissect::rules::ALL {
        let row = format!(
            "| `{}` | {} | {} | {} |",
            kind.name,
            kind.severity.as_str(),
            kind.group.name(),
            kind.description
        );
        assert!(readme.contains(&row), "README lacks {row}");
    }
}
