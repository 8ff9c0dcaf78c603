//! What the payload decoders read, as every output shows it: filter fields (`-Y`, `-e`),
//! `--follow`, `--view explain`, `-V`, the conversations table, Engine.IO long-polling
//! bodies and `check`. Expected values come from what each generator recorded it sent
//! (samples/NAME.sent.json), from tshark's reading of the polling HTTP exchanges
//! (samples/expected/socketio.tshark-http.tsv), and from the specifications (JSON-RPC 2.0
//! for the hand-built capture). Packet numbers of WebSocket messages come from the message
//! layer (`wsd.message.text`, checked against tshark elsewhere), matched to the manifest's
//! messages by their text.

use crate::util::*;
use serde_json::Value;
use std::collections::HashMap;

fn read(args: &[&str]) -> String {
    let mut all = vec!["read"];
    all.extend_from_slice(args);
    let out = run(&all, None);
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn sample_path(name: &str) -> String {
    sample(name).to_str().unwrap().to_string()
}

/// `-T fields` rows of `read SAMPLE -Y FILTER -e F...`.
fn rows(name: &str, filter: &str, fields: &[&str]) -> Vec<Vec<String>> {
    let path = sample_path(name);
    let mut args = vec![path.as_str(), "-Y", filter, "-T", "fields"];
    for f in fields {
        args.push("-e");
        args.push(f);
    }
    read(&args)
        .lines()
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Packet numbers `filter` selects.
fn packets(name: &str, filter: &str) -> Vec<u64> {
    rows(name, filter, &["frame.number"])
        .iter()
        .map(|r| r[0].parse().expect("number"))
        .collect()
}

/// The packet that completed each text message, matched in order to the manifest's texts.
fn text_packets(name: &str, texts: &[String]) -> Vec<u64> {
    let got = rows(
        name,
        "wsd.message.text",
        &["frame.number", "wsd.message.text"],
    );
    let got_texts: Vec<&str> = got.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(got_texts, texts, "{name}: the messages are the manifest's");
    got.iter().map(|r| r[0].parse().unwrap()).collect()
}

/// JSON-RPC manifest: (packet, parsed message or None when it is not JSON).
fn jsonrpc_messages() -> Vec<(u64, Option<Value>)> {
    let m = manifest("jsonrpc");
    let texts: Vec<String> = m["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["text"].as_str().unwrap().to_string())
        .collect();
    let packets = text_packets("jsonrpc.pcap", &texts);
    packets
        .into_iter()
        .zip(texts.iter().map(|t| serde_json::from_str(t).ok()))
        .collect()
}

/// The objects of a JSON-RPC message (the elements of a batch).
fn objects(v: &Value) -> Vec<&Value> {
    match v {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

#[test]
fn jsonrpc_filter_fields_select_the_messages_the_manifest_names() {
    let msgs = jsonrpc_messages();
    let want = |pred: &dyn Fn(&Value) -> bool| -> Vec<u64> {
        msgs.iter()
            .filter(|(_, v)| v.as_ref().is_some_and(|v| objects(v).into_iter().any(pred)))
            .map(|(p, _)| *p)
            .collect()
    };
    let sum = want(&|o| o["method"] == "sum");
    assert_eq!(sum.len(), 2, "a call and a batch holding one");
    assert_eq!(packets("jsonrpc.pcap", "jsonrpc.method == sum"), sum);
    assert_eq!(
        packets("jsonrpc.pcap", "jsonrpc.type == error"),
        want(&|o| o.get("error").is_some())
    );
    assert_eq!(
        packets("jsonrpc.pcap", "jsonrpc.type == notification"),
        want(&|o| o.get("method").is_some() && o.get("id").is_none())
    );
    // A number id compares as its text: the batch call and its answer.
    assert_eq!(
        packets("jsonrpc.pcap", "jsonrpc.id == 4"),
        want(&|o| o["id"] == 4)
    );
    assert_eq!(
        packets("jsonrpc.pcap", "jsonrpc"),
        msgs.iter()
            .filter(|(_, v)| v.is_some())
            .map(|(p, _)| *p)
            .collect::<Vec<_>>(),
        "every message that is JSON carries JSON-RPC packets"
    );
    // -e: the methods of the batch, in order.
    let batch = msgs
        .iter()
        .find(|(_, v)| {
            v.as_ref()
                .is_some_and(|v| v.is_array() && v[0]["method"] == "sum")
        })
        .unwrap();
    let methods: Vec<&str> = objects(batch.1.as_ref().unwrap())
        .iter()
        .map(|o| o["method"].as_str().unwrap())
        .collect();
    let got = rows(
        "jsonrpc.pcap",
        &format!("frame.number == {}", batch.0),
        &["jsonrpc.method"],
    );
    assert_eq!(got, vec![vec![methods.join(",")]]);
}

#[test]
fn socketio_filter_fields_match_the_manifest() {
    let m = manifest("socketio");
    let sent = m["sent"].as_array().unwrap();
    // Every event, over WebSocket and over long-polling, in the order sent.
    let got = rows(
        "socketio.pcap",
        "socketio.event",
        &["socketio.namespace", "socketio.event"],
    );
    let want: Vec<Vec<String>> = sent
        .iter()
        .map(|e| {
            vec![
                e["namespace"].as_str().unwrap().to_string(),
                e["event"].as_str().unwrap().to_string(),
            ]
        })
        .collect();
    assert_eq!(got, want);
    // The acknowledgements carry the arguments the manifest says, in order.
    let acks = rows(
        "socketio.pcap",
        "socketio.type == ACK",
        &["socketio.namespace", "socketio.args"],
    );
    let want: Vec<(String, Value)> = sent
        .iter()
        .filter(|e| e.get("ack").is_some())
        .map(|e| {
            (
                e["namespace"].as_str().unwrap().to_string(),
                e["ack"]["args"].clone(),
            )
        })
        .collect();
    let got: Vec<(String, Value)> = acks
        .iter()
        .map(|r| {
            (
                r[0].clone(),
                serde_json::from_str(&r[1]).expect("JSON args"),
            )
        })
        .collect();
    assert_eq!(got, want);
    // Engine.IO's own packets are fields too: the probe ping of the upgrade.
    assert_eq!(
        rows("socketio.pcap", "engineio.type == ping", &["engineio.data"]),
        vec![vec!["probe".to_string()]]
    );
}

#[test]
fn graphql_filter_fields_match_the_manifest() {
    let m = manifest("graphql-ws");
    let subscribes: Vec<&Value> = m["messages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["message"])
        .filter(|msg| msg["type"] == "subscribe")
        .collect();
    let got = rows(
        "graphql-ws.pcap",
        "graphql.type == subscribe",
        &["graphql.id", "graphql.operation_name"],
    );
    assert_eq!(got.len(), subscribes.len());
    for (row, msg) in got.iter().zip(&subscribes) {
        assert_eq!(row[0], msg["id"].as_str().unwrap());
        if let Some(name) = msg["payload"]["operationName"].as_str() {
            assert_eq!(row[1], name);
        }
    }
    let nexts = m["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["message"]["type"] == "next")
        .count();
    assert_eq!(
        packets("graphql-ws.pcap", "graphql.type == next").len(),
        nexts
    );
}

#[test]
fn every_decoder_field_is_listed_and_usable() {
    let out = run(&["fields"], None);
    let listed = String::from_utf8(out.stdout).unwrap();
    for d in wsdissect::payload::DECODERS {
        let prefix = d.protocol.field_prefix();
        assert!(
            listed
                .lines()
                .any(|l| l.starts_with(&format!("{prefix}\t"))),
            "{prefix}"
        );
        for (name, _) in d.fields {
            let field = format!("{prefix}.{name}");
            assert!(
                listed.lines().any(|l| l.starts_with(&format!("{field}\t"))),
                "{field} not listed"
            );
            // Every one compiles as a filter.
            let out = run(
                &["read", &sample_path("basic.pcap"), "-Y", &field, "-c", "1"],
                None,
            );
            assert!(
                out.status.success(),
                "{field}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

/// Capture times of packets (`frame.time_relative`, nanoseconds).
fn times(name: &str) -> HashMap<u64, i64> {
    rows(
        name,
        "frame.number",
        &["frame.number", "frame.time_relative"],
    )
    .iter()
    .map(|r| {
        let secs: f64 = r[1].parse().unwrap();
        (r[0].parse().unwrap(), (secs * 1e9).round() as i64)
    })
    .collect()
}

#[test]
fn follow_and_explain_show_each_application_message_and_the_latencies() {
    let path = sample_path("socketio.pcap");
    let m = manifest("socketio");
    let follow = read(&[&path, "--follow", "0"]);
    assert!(
        follow.contains("» decoded as socket.io (chosen by path)\n"),
        "{follow}"
    );
    let explain = read(&[&path, "--view", "explain"]);
    assert!(
        explain.contains("the payload is decoded as socket.io (chosen by path)"),
        "{explain}"
    );
    for e in m["sent"].as_array().unwrap() {
        if e["transport"] != "websocket" || e["args"].to_string().contains("binary_hex") {
            continue;
        }
        let ns = e["namespace"].as_str().unwrap();
        let line = format!("socket.io EVENT {ns} {} {}", e["event"], e["args"]);
        assert!(follow.contains(&format!("» {line}")), "{line}\n{follow}");
        assert!(explain.contains(&format!("application: {line}")), "{line}");
    }
    // Each answered request: the latency is the time between the two packets it names.
    let t = times("socketio.pcap");
    let mut answered = 0;
    for line in follow
        .lines()
        .filter(|l| l.contains(") answered in packet "))
    {
        let num = |after: &str| -> u64 {
            let rest = &line[line.find(after).unwrap() + after.len()..];
            rest.split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let (req, ans) = (num("(packet "), num("answered in packet "));
        let ms: f64 = line[line.find(" after ").unwrap() + 7..]
            .trim_end_matches(" ms")
            .parse()
            .unwrap();
        let want = (t[&ans] - t[&req]) as f64 / 1e6;
        assert!((ms - want).abs() < 0.0015, "{line}: {want} ms");
        answered += 1;
    }
    let acks = m["sent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["transport"] == "websocket" && e.get("ack").is_some())
        .count();
    // The acknowledged events, plus the two namespace CONNECTs and the probe ping.
    assert_eq!(answered, acks + 3, "{follow}");
}

#[test]
fn verbose_tree_shows_the_application_layer_under_the_payload() {
    let path = sample_path("socketio.pcap");
    let m = manifest("socketio");
    let upload = m["sent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["event"] == "upload")
        .unwrap();
    let hex = upload["args"][0]["binary_hex"].as_str().unwrap();
    let tree = read(&[&path, "-V", "-Y", "socketio.event == upload"]);
    assert!(tree.contains("\nsocket.io (chosen by path)\n"), "{tree}");
    assert!(tree.contains("\n    event: \"upload\"\n"), "{tree}");
    assert!(tree.contains(&format!("data_hex: \"{hex}\"")), "{tree}");
    assert!(
        tree.contains(&format!("\n        [1]: {}\n", upload["args"][1])),
        "{tree}"
    );
}

#[test]
fn conversations_show_the_application_protocol_and_tls() {
    let socketio = read(&[&sample_path("socketio.pcap"), "--view", "conversations"]);
    assert!(socketio.contains("  socket.io (path)"), "{socketio}");
    let graphql = read(&[&sample_path("graphql-ws.pcap"), "--view", "conversations"]);
    assert!(
        graphql.contains("  graphql-transport-ws (subprotocol)"),
        "{graphql}"
    );
    // The generator recorded each connection's suite, SNI and ALPN; the second
    // connection's key log lines were removed.
    let m = manifest("tls13-missing-key");
    let conns: Value = serde_json::from_str(
        &m["connections"]
            .as_str()
            .map(|s| {
                s.replace('\'', "\"")
                    .replace("True", "true")
                    .replace("False", "false")
            })
            .unwrap_or_else(|| m["connections"].to_string()),
    )
    .expect("connections");
    let tls = &conns[0]["tls"];
    assert_eq!(tls["cipher_python"][0], "TLS_AES_256_GCM_SHA384");
    let keys = sample_path("tls13-missing-key.keys");
    let table = read(&[
        &sample_path("tls13-missing-key.pcap"),
        "--keylog",
        &keys,
        "--view",
        "conversations",
    ]);
    let lines: Vec<&str> = table.lines().collect();
    let sni = tls["sni"].as_str().unwrap();
    let alpn = tls["alpn"].as_str().unwrap();
    assert!(
        lines[1].ends_with(&format!("1.3 AES_256_GCM sni={sni} alpn={alpn} ✓")),
        "{table}"
    );
    assert!(
        lines[2].ends_with("✗ no key for this client random") && lines[2].contains("encrypted"),
        "{table}"
    );
}

#[test]
fn polling_bodies_are_decoded_where_tshark_sees_them() {
    // tshark's reading: frame, method, URI, status, URI answered, body.
    let tsv = std::fs::read_to_string(root().join("samples/expected/socketio.tshark-http.tsv"))
        .expect("tsv");
    let mut want = Vec::new();
    let mut post_event = None;
    let mut ack_response = None;
    for line in tsv.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (frame, method, uri, status, answered, body) = (f[0], f[1], f[2], f[3], f[4], f[5]);
        let polling = uri.contains("transport=polling") || answered.contains("transport=polling");
        // Engine.IO bodies: POSTs' and 200 answers to GETs (a POST's answer is "ok").
        if !polling
            || body.is_empty()
            || body.eq_ignore_ascii_case("ok")
            || (method.is_empty() && status != "200")
        {
            continue;
        }
        let frame: u64 = frame.parse().unwrap();
        want.push(frame);
        if method == "POST" && body.contains("chat message") {
            post_event = Some(frame);
        }
        if method.is_empty() && body.starts_with("43") {
            ack_response = Some(frame);
        }
    }
    let records = jsonl(&sample("socketio.pcap"), &[]);
    let apps = of_type(&records, "app");
    let got: Vec<u64> = apps.iter().map(|r| r["packet"].as_u64().unwrap()).collect();
    assert_eq!(got, want);
    for r in &apps {
        assert_eq!(r["app"]["chosen_by"], "path");
    }
    // The polled event of the manifest, and its ACK answered on another connection.
    let m = manifest("socketio");
    let e = m["sent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["transport"] == "polling")
        .unwrap();
    let post = apps
        .iter()
        .find(|r| r["packet"] == post_event.unwrap())
        .unwrap();
    assert_eq!(post["method"], "POST");
    assert_eq!(post["app"]["event"], e["event"]);
    assert_eq!(post["app"]["args"], e["args"]);
    let x = of_type(&records, "app_exchange")
        .into_iter()
        .find(|x| x["request_packet"] == post_event.unwrap())
        .expect("paired");
    assert_eq!(x["answer_packet"], ack_response.unwrap());
    assert_ne!(
        post["conn"], x["conn"],
        "the answer came on another connection"
    );
    // The explanation of the upgraded connection names the handshake body of packet 6 (the
    // only polling exchange of that connection, tshark's frame 6: `0{"sid":...}`).
    let first = tsv.lines().find(|l| l.starts_with("6\t")).unwrap();
    let body = first.split('\t').nth(5).unwrap();
    let open: Value = serde_json::from_str(&body[1..]).unwrap();
    let explain = read(&[&sample_path("socketio.pcap"), "--view", "explain"]);
    let want = format!(
        "Engine.IO long-polling body: engine.io open sid=\"{}\"",
        open["sid"].as_str().unwrap()
    );
    assert!(explain.contains(&want), "{explain}");
    let messages = read(&[&sample_path("socketio.pcap"), "--view", "messages"]);
    let line = format!(
        "POST        polling  socket.io EVENT {} {} {} ack=1",
        e["namespace"].as_str().unwrap(),
        e["event"],
        e["args"]
    );
    assert!(messages.contains(&line), "{messages}");
}

/// A JSON-RPC client whose call 1 gets an answer for id 2 (JSON-RPC 2.0 §5: the response
/// id must be the request's), and whose call 3 gets none.
fn jsonrpc_mismatch() -> std::path::PathBuf {
    let mut c = Conversation::upgraded(RFC_ACCEPT);
    let call = br#"{"jsonrpc":"2.0","method":"subtract","params":[42,23],"id":1}"#;
    c.c2s(&client_frame(0x81, [1, 2, 3, 4], call));
    let answer = br#"{"jsonrpc":"2.0","result":19,"id":2}"#;
    let mut frame = vec![0x81, answer.len() as u8];
    frame.extend_from_slice(answer);
    c.s2c(&frame);
    c.close();
    c.write("appviews-jsonrpc-mismatch.pcap")
}

#[test]
fn check_runs_decoders_named_by_the_peers_or_by_hand() {
    // jsonrpc.pcap: no subprotocol, no path: check sniffs nothing, so finds nothing.
    let path = sample_path("jsonrpc.pcap");
    let out = run(&["check", &path], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains("jsonrpc-"), "{text}");
    // Named by hand: the message the manifest says was cut short is malformed.
    let msgs = jsonrpc_messages();
    let bad = msgs.iter().find(|(_, v)| v.is_none()).unwrap().0;
    let out = run(&["check", &path, "--decode-as", "jsonrpc"], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "packet {bad}, conn 0 c2s: warning[jsonrpc-malformed]"
        )),
        "{text}"
    );
    assert!(text.contains("jsonrpc (decode-as)"), "{text}");
    // Hand-built: an answer to no pending call, and a call never answered.
    let cap = jsonrpc_mismatch();
    let cap = cap.to_str().unwrap();
    let out = run(&["check", cap, "--decode-as", "jsonrpc"], None);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("warning[jsonrpc-unknown-id]"), "{text}");
    assert!(
        text.contains("note[app-unanswered-request]") && text.contains("jsonrpc \"subtract\" id=1"),
        "{text}"
    );
    // The views say the same.
    let follow = read(&[cap, "--decode-as", "jsonrpc", "--follow", "0"]);
    assert!(
        follow.contains("» unanswered: jsonrpc \"subtract\" id=1 sent by the client in packet"),
        "{follow}"
    );
}
