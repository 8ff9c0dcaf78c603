//! The binary against the bundled real captures: every decoded value is compared with
//! tshark's decoding of the same file (samples/expected/) or with what the generating
//! script sent (samples/*.sent.json).

use crate::util::*;
use serde_json::Value;
use std::collections::BTreeMap;

/// One tshark row of `-e frame.number -e websocket.opcode -e websocket.payload_length
/// -e websocket.masking_key -e websocket.fin -e websocket.mask`.
struct TsharkWsRow {
    opcodes: Vec<u64>,
    lengths: Vec<u64>,
    mask_keys: Vec<String>,
    fins: Vec<bool>,
}

fn split_list(field: &str) -> Vec<String> {
    if field.is_empty() {
        Vec::new()
    } else {
        field.split(',').map(str::to_string).collect()
    }
}

fn tshark_ws(name: &str) -> BTreeMap<u64, TsharkWsRow> {
    let dir = root().join("samples/expected");
    let ws = std::fs::read_to_string(dir.join(format!("{name}.tshark-ws.tsv"))).unwrap();
    let lens = std::fs::read_to_string(dir.join(format!("{name}.tshark-ws-len.tsv"))).unwrap();
    // Extended lengths: websocket.payload_length is the 7-bit field; 126/127 are replaced,
    // in order, by the packet's 16-bit and 64-bit extended lengths.
    let mut ext: BTreeMap<u64, (Vec<u64>, Vec<u64>)> = BTreeMap::new();
    for line in lens.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let number: u64 = cols[0].parse().unwrap();
        let e16 = split_list(cols.get(2).copied().unwrap_or(""));
        let e64 = split_list(cols.get(3).copied().unwrap_or(""));
        ext.insert(
            number,
            (
                e16.iter().map(|v| v.parse().unwrap()).collect(),
                e64.iter().map(|v| v.parse().unwrap()).collect(),
            ),
        );
    }
    let mut rows = BTreeMap::new();
    for line in ws.lines() {
        let cols: Vec<&str> = line.split('\t').collect();
        let number: u64 = cols[0].parse().unwrap();
        let (e16, e64) = ext.remove(&number).unwrap_or_default();
        let (mut i16, mut i64) = (e16.into_iter(), e64.into_iter());
        let lengths = split_list(cols[2])
            .iter()
            .map(|v| match v.parse::<u64>().unwrap() {
                126 => i16.next().expect("16-bit extended length"),
                127 => i64.next().expect("64-bit extended length"),
                n => n,
            })
            .collect();
        rows.insert(
            number,
            TsharkWsRow {
                opcodes: split_list(cols[1])
                    .iter()
                    .map(|v| v.parse().unwrap())
                    .collect(),
                lengths,
                mask_keys: split_list(cols.get(3).copied().unwrap_or("")),
                fins: split_list(cols.get(4).copied().unwrap_or(""))
                    .iter()
                    .map(|v| v == "1")
                    .collect(),
            },
        );
    }
    rows
}

/// Packets where the generator's manifest says tshark does not decode a frame that
/// wsdissect does (`"tshark_decodes": false`: a frame pipelined before the 101, which
/// tshark reads as HTTP), plus the packets where wsdissect reports those frames.
fn deliberate_differences(name: &str, records: &[Value]) -> std::collections::BTreeSet<u64> {
    let mut packets = std::collections::BTreeSet::new();
    let manifest = manifest(name);
    for conn in manifest["connections"].as_array().into_iter().flatten() {
        for f in conn["frames"].as_array().into_iter().flatten() {
            if f["tshark_decodes"] == false && f["truncated"] != true {
                let first = f["first_packet"].as_u64().unwrap();
                let last = f["last_packet"].as_u64().unwrap();
                packets.extend(first..=last);
            }
        }
    }
    for f in of_type(records, "frame") {
        if packets.contains(&f["first_packet"].as_u64().unwrap()) {
            packets.insert(f["packet"].as_u64().unwrap());
        }
    }
    packets
}

#[test]
fn frames_agree_with_tshark_frame_for_frame() {
    let mut failures = Vec::new();
    for (name, capture) in samples_with_references() {
        let expected = tshark_ws(&name);
        let records = jsonl(&capture, &extra_args(&name));
        let skip = deliberate_differences(&name, &records);
        let mut ours: BTreeMap<u64, Vec<&Value>> = BTreeMap::new();
        for f in of_type(&records, "frame") {
            if skip.contains(&f["packet"].as_u64().unwrap()) {
                continue;
            }
            ours.entry(f["packet"].as_u64().unwrap())
                .or_default()
                .push(f);
        }
        let ours_packets: Vec<u64> = ours.keys().copied().collect();
        let theirs_packets: Vec<u64> = expected.keys().copied().collect();
        if ours_packets != theirs_packets {
            failures.push(format!(
                "{name}: packets with frames differ: ours {ours_packets:?}, tshark {theirs_packets:?}"
            ));
            continue;
        }
        for (number, row) in &expected {
            let frames = &ours[number];
            let opcodes: Vec<u64> = frames
                .iter()
                .map(|f| f["opcode"].as_u64().unwrap())
                .collect();
            let lengths: Vec<u64> = frames
                .iter()
                .map(|f| f["payload_len"].as_u64().unwrap())
                .collect();
            let keys: Vec<String> = frames
                .iter()
                .filter_map(|f| f["mask_key"].as_str().map(str::to_string))
                .collect();
            let fins: Vec<bool> = frames.iter().map(|f| f["fin"].as_bool().unwrap()).collect();
            if opcodes != row.opcodes
                || lengths != row.lengths
                || keys != row.mask_keys
                || fins != row.fins
            {
                failures.push(format!(
                    "{name} packet {number}: ours op {opcodes:?} len {lengths:?} keys {keys:?} fin {fins:?}; \
                     tshark op {:?} len {:?} keys {:?} fin {:?}",
                    row.opcodes, row.lengths, row.mask_keys, row.fins
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every frame the generator sent, in order per direction, is decoded with its exact
/// payload.
#[test]
fn payloads_match_what_the_generators_sent() {
    let mut checked = 0;
    for (name, capture) in samples_with_references() {
        let manifest = manifest(&name);
        let records = jsonl(&capture, &extra_args(&name));
        let frames = of_type(&records, "frame");
        let conns = manifest["connections"].as_array().expect("connections");
        for (ci, conn) in conns.iter().enumerate() {
            let Some(sent) = conn["frames"].as_array() else {
                continue;
            };
            // Our connection number for this manifest connection: match by client port.
            let client_port = conn["client"][1].as_u64();
            let handshake_conn = of_type(&records, "connection")
                .into_iter()
                .find(|c| {
                    c["client"]
                        .as_str()
                        .and_then(|s| s.rsplit(':').next())
                        .and_then(|p| p.parse::<u64>().ok())
                        == client_port
                })
                .map(|c| c["conn"].as_u64().unwrap());
            let Some(our_conn) = handshake_conn else {
                if sent.is_empty() {
                    continue;
                }
                panic!("{name}: connection {ci} (client port {client_port:?}) not reported");
            };
            for dir in ["c2s", "s2c"] {
                // A frame that never completes (declared length beyond the capture) has no
                // frame record; its anomaly is checked by the conformance tests.
                let want: Vec<&Value> = sent
                    .iter()
                    .filter(|f| f["dir"] == dir && f["truncated"] != true)
                    .collect();
                let got: Vec<&&Value> = frames
                    .iter()
                    .filter(|f| f["conn"].as_u64() == Some(our_conn) && f["dir"] == dir)
                    .collect();
                assert_eq!(
                    got.len(),
                    want.len(),
                    "{name} conn {our_conn} {dir}: frame count"
                );
                for (i, (w, g)) in want.iter().zip(&got).enumerate() {
                    let ctx = format!("{name} conn {our_conn} {dir} frame {i}");
                    assert_eq!(g["opcode"], w["opcode"], "{ctx}: opcode");
                    assert_eq!(g["fin"], w["fin"], "{ctx}: fin");
                    assert_eq!(g["masked"], w["masked"], "{ctx}: masked");
                    assert_eq!(g["payload_len"], w["len"], "{ctx}: length");
                    if let Some(key) = w["mask_key"].as_str() {
                        assert_eq!(g["mask_key"], key, "{ctx}: mask key");
                    }
                    let payload = b64(g["payload_b64"].as_str().unwrap());
                    if let Some(h) = w["hex"].as_str() {
                        assert_eq!(payload, hex(h), "{ctx}: payload");
                    } else if let Some(t) = w["text"].as_str() {
                        assert_eq!(payload, t.as_bytes(), "{ctx}: payload");
                    }
                    if let Some(digest) = w["sha256"].as_str() {
                        assert_eq!(sha256_hex(&payload), digest, "{ctx}: payload sha256");
                    }
                    if let Some(code) = w["close_code"].as_u64() {
                        assert_eq!(g["close_code"].as_u64(), Some(code), "{ctx}: close code");
                    }
                    if let Some(reason) = w["close_reason"].as_str() {
                        assert_eq!(g["close_reason"], reason, "{ctx}: close reason");
                    }
                    checked += 1;
                }
            }
        }
    }
    assert!(checked > 50, "only {checked} frames checked");
}

/// The packet list, in `--wireshark-compat` mode, is tshark's packet list line for line:
/// number, time, addresses, protocol, length and Info text.
#[test]
fn packet_list_matches_tshark_line_for_line() {
    let mut failures = Vec::new();
    for (name, capture) in samples_with_references() {
        let reference = std::fs::read_to_string(
            root().join(format!("samples/expected/{name}.tshark-list.tsv")),
        )
        .unwrap();
        let mut args = vec![
            "read".to_string(),
            capture.to_str().unwrap().to_string(),
            "--wireshark-compat".to_string(),
        ];
        args.extend(extra_args(&name));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args, None);
        assert!(out.status.success(), "{name}: exit {:?}", out.status);
        let ours = String::from_utf8(out.stdout).unwrap();
        // Diagnostic lines (indented) are wsdissect's additions, not packet lines.
        let ours: Vec<&str> = ours.lines().filter(|l| !l.starts_with("    ")).collect();
        let theirs: Vec<&str> = reference.lines().collect();
        let skip = deliberate_differences(&name, &jsonl(&capture, &extra_args(&name)));
        if ours.len() != theirs.len() {
            failures.push(format!(
                "{name}: {} lines, tshark {}",
                ours.len(),
                theirs.len()
            ));
        }
        for (o, t) in ours.iter().zip(&theirs) {
            let o: Vec<&str> = o.split('\t').collect();
            let t: Vec<&str> = t.split('\t').collect();
            // tshark prints 9 decimals, the packet list 6.
            let same_time = o.len() == 7
                && (o[1].parse::<f64>().unwrap() - t[1].parse::<f64>().unwrap()).abs() < 1.5e-6;
            let deliberate = t[0].parse::<u64>().is_ok_and(|n| skip.contains(&n));
            if !deliberate && (o.len() != 7 || o[0] != t[0] || !same_time || o[2..] != t[2..]) {
                failures.push(format!("{name}:\n  ours   {o:?}\n  tshark {t:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
