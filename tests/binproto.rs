//! SignalR and binary-content decoders (src/payload/signalr.rs, msgpack.rs, cbor.rs,
//! protobuf.rs, zlibstream.rs) on real captures, through the binary's JSON Lines: the
//! expected values come from what each generator recorded (samples/NAME.sent.json):
//! SignalR from the hub written for the test (what it sent and what it parsed) and the
//! official @microsoft/signalr client's own log of calls and results; MessagePack, CBOR and
//! protobuf values from the reference libraries' inputs (msgpack, cbor2, Python protobuf);
//! zlib-stream payloads from the server's JSON before compression. Latencies are checked
//! against the capture timestamps of the messages they pair.

use crate::util::{
    Conversation, RFC_ACCEPT, client_frame, jsonl, manifest, of_type, root, run, sample,
};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Every application packet of `conn`'s messages in `dir`, in order (several per message
/// come as `app_packets`).
fn app_packets(records: &[Value], conn: u64, dir: &str) -> Vec<Value> {
    let mut out = Vec::new();
    for m in of_type(records, "message") {
        if m["conn"] != conn || m["dir"] != dir {
            continue;
        }
        match (m.get("app_packets"), m.get("app")) {
            (Some(Value::Array(all)), _) => out.extend(all.iter().cloned()),
            (None, Some(app)) => out.push(app.clone()),
            _ => {}
        }
    }
    out
}

/// Connection indexes of upgraded connections, in order.
fn conns(records: &[Value]) -> Vec<u64> {
    let mut c: Vec<u64> = of_type(records, "message")
        .iter()
        .filter_map(|m| m["conn"].as_u64())
        .collect();
    c.dedup();
    c
}

fn anomaly_rules(records: &[Value]) -> Vec<String> {
    of_type(records, "anomaly")
        .iter()
        .filter_map(|a| a["kind"].as_str().map(str::to_string))
        .collect()
}

/// Message capture time by the packet that completed it, seconds.
fn times(records: &[Value]) -> HashMap<u64, f64> {
    of_type(records, "message")
        .iter()
        .filter_map(|m| Some((m["last_packet"].as_u64()?, m["time"].as_f64()?)))
        .collect()
}

/// The hub message (as the generator's JSON form) a decoded SignalR packet stands for.
fn hub_of(p: &Value) -> Value {
    let names = [
        "",
        "invocation",
        "stream_item",
        "completion",
        "stream_invocation",
        "cancel_invocation",
        "ping",
        "close",
    ];
    let ty = p["type"].as_str().unwrap_or_default();
    if ty == "handshake" {
        return json!({"handshake": {"protocol": p["hub_protocol"], "version": p["version"]}});
    }
    if ty == "handshake_response" {
        return json!({"handshake_response": {}});
    }
    let n = names.iter().position(|x| *x == ty).expect("known type");
    let mut m = serde_json::Map::new();
    m.insert("type".into(), n.into());
    for (from, to) in [
        ("target", "target"),
        ("arguments", "arguments"),
        ("invocation_id", "invocationId"),
        ("stream_ids", "streamIds"),
        ("item", "item"),
        ("result", "result"),
        ("error", "error"),
    ] {
        if let Some(v) = p.get(from) {
            m.insert(to.into(), v.clone());
        }
    }
    Value::Object(m)
}

/// Sorted keys so object member order does not matter.
fn canon(v: &Value) -> Value {
    match v {
        Value::Object(o) => {
            let mut keys: Vec<&String> = o.keys().collect();
            keys.sort();
            let mut m = serde_json::Map::new();
            for k in keys {
                m.insert(k.clone(), canon(&o[k]));
            }
            Value::Object(m)
        }
        Value::Array(a) => Value::Array(a.iter().map(canon).collect()),
        other => other.clone(),
    }
}

#[test]
fn signalr_json_and_messagepack_hub_protocols() {
    let recs = jsonl(&sample("signalr.pcap"), &[]);
    let m = manifest("signalr");
    let cs = conns(&recs);
    assert_eq!(cs.len(), 2, "one JSON and one MessagePack connection");
    for (conn, expected) in cs.iter().zip(m["hub_connections"].as_array().unwrap()) {
        let proto = expected["protocol"].as_str().unwrap();
        let c2s = app_packets(&recs, *conn, "c2s");
        let s2c = app_packets(&recs, *conn, "s2c");
        assert!(c2s.iter().chain(&s2c).all(|p| p["protocol"] == "signalr"));
        assert_eq!(c2s[0]["chosen_by"], "content");
        let got_c2s: Vec<Value> = c2s.iter().map(|p| canon(&hub_of(p))).collect();
        let want_c2s: Vec<Value> = expected["server_received"]
            .as_array()
            .unwrap()
            .iter()
            .map(canon)
            .collect();
        assert_eq!(got_c2s, want_c2s, "{proto}: what the client sent");
        let got_s2c: Vec<Value> = s2c.iter().map(|p| canon(&hub_of(p))).collect();
        let want_s2c: Vec<Value> = expected["server_sent"]
            .as_array()
            .unwrap()
            .iter()
            .map(canon)
            .collect();
        assert_eq!(got_s2c, want_s2c, "{proto}: what the server sent");
        let enc = if proto == "json" {
            "json"
        } else {
            "messagepack"
        };
        assert!(
            c2s.iter()
                .skip(1)
                .chain(s2c.iter().skip(1))
                .all(|p| p["encoding"] == enc)
        );
    }
    // Exchanges: the client's own log says what each call returned.
    let xs = of_type(&recs, "app_exchange");
    let t = times(&recs);
    let log = m["client_log"].as_array().unwrap();
    for (conn, proto) in cs.iter().zip(["json", "messagepack"]) {
        let mine: Vec<&&Value> = xs.iter().filter(|x| x["conn"] == *conn).collect();
        let calls: Vec<&Value> = log
            .iter()
            .filter(|l| l["protocol"] == proto && (l["call"] == "invoke" || l["call"] == "stream"))
            .collect();
        assert_eq!(mine.len(), calls.len(), "{proto}");
        for (x, call) in mine.iter().zip(&calls) {
            assert_eq!(x["name"], call["target"]);
            assert_eq!(x["answered"], true);
            let outcome = match (call["call"].as_str(), call.get("error")) {
                (_, Some(_)) => "error",
                (Some("stream"), None) => "complete",
                _ => "result",
            };
            assert_eq!(x["outcome"], outcome, "{call}");
            if call["call"] == "stream" {
                assert_eq!(x["answers"], call["items"].as_array().unwrap().len());
            }
            let dt = |a: &str, b: &str| t[&x[a].as_u64().unwrap()] - t[&x[b].as_u64().unwrap()];
            let latency = x["latency_ns"].as_f64().unwrap() / 1e9;
            assert!(
                (latency - dt("answer_packet", "request_packet")).abs() < 2e-6,
                "{x}"
            );
            let duration = x["duration_ns"].as_f64().unwrap() / 1e9;
            assert!(
                (duration - dt("end_packet", "request_packet")).abs() < 2e-6,
                "{x}"
            );
        }
    }
    assert!(
        !anomaly_rules(&recs)
            .iter()
            .any(|r| r.starts_with("signalr")),
        "{:?}",
        anomaly_rules(&recs)
    );
}

/// MessagePack and CBOR: every decoded value equals the value the generator encoded.
fn value_sample(name: &str, protocol: &str) {
    let recs = jsonl(&sample(&format!("{name}.pcap")), &[]);
    let m = manifest(name);
    let conn = conns(&recs)[0];
    for side in ["client", "server"] {
        let dir = if side == "client" { "c2s" } else { "s2c" };
        let got = app_packets(&recs, conn, dir);
        let want: Vec<&Value> = m["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|x| x["side"] == side)
            .collect();
        assert_eq!(got.len(), want.len(), "{name} {side}");
        for (g, w) in got.iter().zip(&want) {
            assert_eq!(g["protocol"], protocol);
            assert_eq!(g["chosen_by"], "subprotocol");
            assert_eq!(canon(&g["data"]), canon(&w["value"]), "{name} {side}");
        }
    }
    assert!(
        anomaly_rules(&recs).is_empty(),
        "{:?}",
        anomaly_rules(&recs)
    );
}

#[test]
fn msgpack_values_match_the_reference_encoder() {
    value_sample("msgpack", "msgpack");
}

#[test]
fn cbor_values_match_the_reference_encoder() {
    value_sample("cbor", "cbor");
}

#[test]
fn protobuf_without_a_schema_shows_field_numbers_and_wire_types() {
    let recs = jsonl(&sample("protobuf.pcap"), &[]);
    let m = manifest("protobuf");
    let conn = conns(&recs)[0];
    let mut got = app_packets(&recs, conn, "c2s");
    got.extend(app_packets(&recs, conn, "s2c"));
    let msgs = m["messages"].as_array().unwrap();
    let mut want: Vec<&Value> = msgs.iter().filter(|x| x["side"] == "client").collect();
    want.extend(msgs.iter().filter(|x| x["side"] == "server"));
    assert_eq!(got.len(), want.len());
    for (g, w) in got.iter().zip(&want) {
        assert_eq!(g["protocol"], "protobuf");
        assert_eq!(g["chosen_by"], "content");
        assert_eq!(canon(&g["wire_types"]), canon(&w["wire_types"]), "{w}");
        assert_eq!(g["length"], w["hex"].as_str().unwrap().len() / 2);
    }
}

#[test]
fn protobuf_with_a_proto_file_or_a_descriptor_set() {
    let m = manifest("protobuf");
    let msgs = m["messages"].as_array().unwrap();
    let proto = root().join("samples/gen/binproto_chat.proto");
    let desc = root().join("samples/gen/binproto_chat.desc");
    // By subprotocol, with the .proto compiled here; by connection, with protoc's
    // descriptor set: the same decoding.
    for (schema, spec) in [
        (&proto, "chat.v1:chat.Envelope,chat.Ack"),
        (&desc, "conn=0:.chat.Envelope,.chat.Ack"),
    ] {
        let extra = vec![
            "--proto".to_string(),
            schema.to_str().unwrap().to_string(),
            "--proto-message".to_string(),
            spec.to_string(),
        ];
        let recs = jsonl(&sample("protobuf.pcap"), &extra);
        for side in ["client", "server"] {
            let dir = if side == "client" { "c2s" } else { "s2c" };
            let got = app_packets(&recs, 0, dir);
            let want: Vec<&Value> = msgs.iter().filter(|x| x["side"] == side).collect();
            assert_eq!(got.len(), want.len(), "{spec}");
            for (g, w) in got.iter().zip(&want) {
                assert_eq!(g["message"], w["message"]);
                assert_eq!(canon(&g["data"]), canon(&w["value"]), "{spec} {side}");
            }
        }
        assert!(
            anomaly_rules(&recs).is_empty(),
            "{:?}",
            anomaly_rules(&recs)
        );
    }
    // A name the schema lacks is refused with the names it has.
    let out = run(
        &[
            "read",
            sample("protobuf.pcap").to_str().unwrap(),
            "--proto",
            proto.to_str().unwrap(),
            "--proto-message",
            "chat.Nope",
        ],
        None,
    );
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("chat.Nope") && err.contains("chat.Envelope"),
        "{err}"
    );
}

#[test]
fn zlib_stream_inflated_across_messages() {
    let recs = jsonl(&sample("zlib-stream.pcap"), &[]);
    let m = manifest("zlib-stream");
    let conn = conns(&recs)[0];
    let s2c = app_packets(&recs, conn, "s2c");
    let msgs = m["messages"].as_array().unwrap();
    let sent: Vec<&Value> = msgs.iter().filter(|x| x["side"] == "server").collect();
    assert_eq!(s2c.len(), sent.len());
    for (g, w) in s2c.iter().zip(&sent) {
        assert_eq!(g["protocol"], "zlib-stream");
        assert_eq!(g["chosen_by"], "path");
        assert_eq!(g["content"], "json");
        assert_eq!(g["inflated"], w["inflated"]);
        assert_eq!(g["compressed"], w["compressed"]);
        assert_eq!(g["op"], w["value"]["op"]);
        if w["value"]["t"].is_string() {
            assert_eq!(g["t"], w["value"]["t"]);
        }
        if w["whole"] == true {
            assert_eq!(canon(&g["data"]), canon(&w["value"]));
        }
    }
    // The split payload: its first message shows nothing, its second the whole payload.
    let binary_s2c = of_type(&recs, "message")
        .iter()
        .filter(|r| r["dir"] == "s2c" && r["opcode_name"] == "Binary")
        .count() as u64;
    let messages: u64 = sent.iter().map(|w| w["messages"].as_u64().unwrap()).sum();
    assert_eq!(binary_s2c, messages);
    let c2s = app_packets(&recs, conn, "c2s");
    let client: Vec<&Value> = msgs.iter().filter(|x| x["side"] == "client").collect();
    assert_eq!(c2s.len(), client.len());
    for (g, w) in c2s.iter().zip(&client) {
        assert_eq!(canon(&g["data"]), canon(&w["value"]));
    }
    assert!(
        anomaly_rules(&recs).is_empty(),
        "{:?}",
        anomaly_rules(&recs)
    );
}

/// An unmasked server frame (RFC 6455 §5.2), payloads under 126 bytes.
fn server_frame(b0: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![b0, payload.len() as u8];
    f.extend_from_slice(payload);
    f
}

/// Hand-crafted (no library sends these): a SignalR record without its 0x1E, a completion
/// for an id nobody invoked, and a CBOR message cut short under `--decode-as`, each an
/// anomaly of the rule table in JSON Lines.
#[test]
fn broken_hub_messages_and_values_are_anomalies() {
    let key = [1, 2, 3, 4];
    let mut c = Conversation::upgraded(RFC_ACCEPT);
    c.c2s(&client_frame(
        0x81,
        key,
        b"{\"protocol\":\"json\",\"version\":1}\x1e",
    ));
    c.s2c(&server_frame(0x81, b"{}\x1e"));
    c.c2s(&client_frame(
        0x81,
        key,
        br#"{"type":1,"invocationId":"1","target":"A","arguments":[]}"#,
    ));
    c.s2c(&server_frame(
        0x81,
        b"{\"type\":3,\"invocationId\":\"1\",\"result\":2}\x1e",
    ));
    c.s2c(&server_frame(
        0x81,
        b"{\"type\":3,\"invocationId\":\"9\"}\x1e",
    ));
    let path = c.write("binproto-signalr-broken.pcap");
    let recs = jsonl(&path, &[]);
    assert_eq!(
        anomaly_rules(&recs),
        vec!["signalr-missing-separator", "signalr-unknown-invocation-id"]
    );
    let severities: Vec<&Value> = of_type(&recs, "anomaly")
        .iter()
        .map(|a| &a["severity"])
        .collect();
    assert_eq!(severities, vec!["error", "warning"]);
    // The record without its separator is still read, and answered.
    let xs = of_type(&recs, "app_exchange");
    assert_eq!(xs.len(), 1);
    assert_eq!(
        (&xs[0]["name"], &xs[0]["outcome"]),
        (&json!("A"), &json!("result"))
    );

    let mut c = Conversation::upgraded(RFC_ACCEPT);
    c.c2s(&client_frame(0x82, key, &[0xa2, 0x61, b'a', 0x01]));
    c.c2s(&client_frame(0x82, key, &[0xa1, 0x61, b'a', 0x01]));
    let path = c.write("binproto-cbor-broken.pcap");
    let recs = jsonl(&path, &["--decode-as".into(), "cbor".into()]);
    assert_eq!(anomaly_rules(&recs), vec!["cbor-malformed"]);
    let p = app_packets(&recs, 0, "c2s");
    assert_eq!(p.len(), 1);
    assert_eq!(
        (&p[0]["chosen_by"], &p[0]["data"]),
        (&json!("decode-as"), &json!({"a": 1}))
    );
}

/// A binary format only guessed from the first message: a later message that is not of it
/// breaks no rule the peers agreed on (no anomaly, no packet); forced by `--decode-as`, it is
/// one.
#[test]
fn guessed_binary_formats_raise_no_anomaly() {
    let key = [9, 8, 7, 6];
    let mut c = Conversation::upgraded(RFC_ACCEPT);
    c.c2s(&client_frame(
        0x82,
        key,
        &[0x08, 0x96, 0x01, 0x12, 0x01, b'x'],
    ));
    c.c2s(&client_frame(0x82, key, &[0xff, 0xff]));
    let path = c.write("binproto-guessed.pcap");
    let recs = jsonl(&path, &[]);
    let p = app_packets(&recs, 0, "c2s");
    assert_eq!(p.len(), 1);
    assert_eq!(
        (&p[0]["protocol"], &p[0]["chosen_by"], &p[0]["data"]),
        (
            &json!("protobuf"),
            &json!("content"),
            &json!({"1": 150, "2": "x"})
        )
    );
    assert!(anomaly_rules(&recs).is_empty());
    let recs = jsonl(&path, &["--decode-as".into(), "protobuf".into()]);
    assert_eq!(anomaly_rules(&recs), vec!["protobuf-malformed"]);
}
