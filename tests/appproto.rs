//! STOMP, MQTT, Phoenix channels and ActionCable decoders (src/payload/) on real captures:
//! the messages come from the library pipeline (Dissector + a collecting sink), the expected
//! values from what each generator recorded its application did (samples/NAME.sent.json:
//! frames asked for, packet ids the MQTT library gave, refs the Phoenix client gave, the
//! answers each received). Latencies are checked against the packets' own capture times.

use crate::util::decoded::{Decoded, decode};
use crate::util::{jsonl, manifest, of_type, sample};
use serde_json::{Value, json};
use wsdissect::flow::analysis::Direction;
use wsdissect::payload::{self, AppOutput, AppPacket, ChosenBy, Exchange, Outcome, Protocol};

const C2S: Direction = Direction::ClientToServer;
const S2C: Direction = Direction::ServerToClient;

fn text_hex(v: Option<&Value>) -> String {
    v.and_then(Value::as_str)
        .unwrap_or("")
        .bytes()
        .map(|b| format!("{b:02x}"))
        .collect()
}

// ---- STOMP: stompjs against RabbitMQ Web-STOMP ----

#[test]
fn stomp_frames_receipts_and_subscription_match_the_manifest() {
    let d = decode("stomp.pcap");
    assert_eq!(
        (d.choice.protocol, d.choice.chosen_by),
        (Protocol::Stomp, ChosenBy::Subprotocol)
    );
    let m = manifest("stomp");
    let sent = m["sent"].as_array().unwrap();
    // CONNECT answered by CONNECTED with the version the client saw
    let connect = &d.with(C2S, "command", json!("CONNECT"))[0];
    assert_eq!(connect.field("host"), Some(&json!("/")));
    let connected = &d.with(S2C, "command", json!("CONNECTED"))[0];
    assert_eq!(
        connected.field("version"),
        Some(&sent[0]["answer"]["version"])
    );
    assert_eq!(d.exchange_of(connect.packet).id, "connect");
    // every SEND, in order: destination, headers the application set, body
    let sends = d.with(C2S, "command", json!("SEND"));
    let want: Vec<&Value> = sent.iter().filter(|s| s["command"] == "SEND").collect();
    assert_eq!(sends.len(), want.len());
    for (p, w) in sends.iter().zip(&want) {
        assert_eq!(p.field("destination"), Some(&w["headers"]["destination"]));
        for (k, v) in w["headers"].as_object().unwrap() {
            assert_eq!(&p.field("headers").unwrap()[k], v, "{}", p.summary);
        }
        match w.get("body_hex") {
            Some(h) => assert_eq!(text_hex(p.field("body")), h.as_str().unwrap()),
            None => {
                assert_eq!(p.field("body_len"), Some(&w["body_len"]));
                let prefix = w["body_prefix"].as_str().unwrap();
                assert!(
                    p.field("body")
                        .unwrap()
                        .as_str()
                        .unwrap()
                        .starts_with(prefix)
                );
            }
        }
        // a receipt asked for is answered by RECEIPT with that receipt-id
        if let Some(r) = w["headers"].get("receipt") {
            let x = d.exchange_of(p.packet);
            assert_eq!(&json!(x.id), r);
            assert_eq!(x.outcome, Outcome::Result);
            let receipt = d.with(S2C, "receipt_id", r.clone());
            assert_eq!(receipt[0].packet, x.answer_packet);
        }
    }
    // the 40 000-byte SEND was split by stompjs over 10 messages
    let big = sends.last().unwrap();
    assert_eq!(big.field("content_length"), Some(&json!(40000)));
    let spanned = d
        .times
        .keys()
        .filter(|&&n| n >= big.first_packet && n <= big.packet)
        .count();
    assert!(big.first_packet < big.packet && spanned >= 10, "{spanned}");
    // SUBSCRIBE with its receipt; each MESSAGE tied to it, as received by the application
    let sub_sent = sent.iter().find(|s| s["command"] == "SUBSCRIBE").unwrap();
    let sub = &d.with(C2S, "command", json!("SUBSCRIBE"))[0];
    assert_eq!(sub.field("id"), Some(&sub_sent["headers"]["id"]));
    let msgs = d.with(S2C, "command", json!("MESSAGE"));
    let received = m["received"].as_array().unwrap();
    assert_eq!(msgs.len(), received.len());
    for (p, r) in msgs.iter().zip(received) {
        assert_eq!(p.field("destination"), Some(&r["destination"]));
        assert_eq!(p.field("subscription"), Some(&r["subscription"]));
        assert_eq!(text_hex(p.field("body")), r["body_hex"].as_str().unwrap());
        assert_eq!(p.field("subscribe_packet"), Some(&json!(sub.packet)));
        if let Some(note) = r.get("note").filter(|n| !n.is_null()) {
            // STOMP 1.2 header escaping: a\cb\nc on the wire
            assert_eq!(&p.field("headers").unwrap()["note"], note);
        }
    }
    let subx: Vec<&Exchange> = d
        .exchanges()
        .into_iter()
        .filter(|x| x.request_packet == sub.packet)
        .collect();
    // the receipt and the subscription itself (ended by UNSUBSCRIBE)
    assert_eq!(subx.len(), 2);
    let stream = subx
        .iter()
        .find(|x| x.outcome == Outcome::Cancelled)
        .unwrap();
    assert_eq!(stream.answers as usize, received.len());
    assert_eq!(stream.answer_packet, msgs[0].packet);
    // DISCONNECT carries stompjs' own receipt id; RabbitMQ 3.10 closes the connection
    // without the RECEIPT (the manifest says whether stompjs got it), so it is unanswered.
    let disc = &d.with(C2S, "command", json!("DISCONNECT"))[0];
    let answered = sent.last().unwrap()["receipt_answered"] == true;
    let unanswered: Vec<&payload::Unanswered> = d
        .out
        .iter()
        .filter_map(|o| match o {
            AppOutput::Unanswered(u) => Some(u),
            _ => None,
        })
        .collect();
    if answered {
        assert_eq!(d.exchange_of(disc.packet).outcome, Outcome::Result);
        assert!(unanswered.is_empty());
    } else {
        assert_eq!(unanswered.len(), 1);
        assert_eq!(Some(&json!(unanswered[0].id)), disc.field("receipt"));
        assert_eq!(unanswered[0].request_packet, disc.packet);
    }
    // heart-beats both ways
    let beats =
        d.with(C2S, "heartbeat", json!(true)).len() + d.with(S2C, "heartbeat", json!(true)).len();
    assert!(beats >= 2 && !d.with(S2C, "heartbeat", json!(true)).is_empty());
    d.check_latencies();
    assert!(d.anomalies().is_empty(), "{:?}", d.anomalies());
}

// ---- MQTT: paho-mqtt against mosquitto ----

/// The client's PUBLISH, SUBSCRIBE and UNSUBSCRIBE packets against the manifest's
/// operations; the broker's PUBLISH packets against what paho received.
fn mqtt_matches(name: &str, level: u8) -> Decoded {
    let d = decode(&format!("{name}.pcap"));
    assert_eq!(
        (d.choice.protocol, d.choice.chosen_by),
        (Protocol::Mqtt, ChosenBy::Subprotocol)
    );
    let m = manifest(name);
    let ops = m["sent"].as_array().unwrap();
    let connect = &d.with(C2S, "type", json!("CONNECT"))[0];
    assert_eq!(connect.field("clientid"), Some(&ops[0]["client_id"]));
    assert_eq!(connect.field("ver"), Some(&json!(level)));
    assert_eq!(connect.field("kalive"), Some(&ops[0]["keepalive"]));
    let x = d.exchange_of(connect.packet);
    assert_eq!((x.id.as_str(), x.outcome), ("connect", Outcome::Result));
    // publishes in order
    let pubs = d.with(C2S, "type", json!("PUBLISH"));
    let want: Vec<&Value> = ops.iter().filter(|o| o["op"] == "publish").collect();
    assert_eq!(pubs.len(), want.len());
    for (p, w) in pubs.iter().zip(&want) {
        assert_eq!(p.field("topic"), Some(&w["topic"]));
        assert_eq!(p.field("qos"), Some(&w["qos"]));
        assert_eq!(p.field("retain"), Some(&w["retain"]));
        assert_eq!(p.field("msg_len"), Some(&w["payload_len"]));
        if let Some(text) = w.get("payload") {
            assert_eq!(p.field("msg_text"), Some(text));
        }
        let qos = w["qos"].as_u64().unwrap();
        if qos == 0 {
            assert_eq!(p.field("msgid"), None);
            continue;
        }
        assert_eq!(p.field("msgid"), Some(&w["mid"]));
        let x = d.exchange_of(p.packet);
        assert_eq!(x.id, w["mid"].to_string());
        assert_eq!(x.outcome, Outcome::Result);
        // QoS 1: PUBACK; QoS 2: PUBREC first, PUBCOMP last
        let first = &d
            .packets()
            .into_iter()
            .find(|a| {
                a.packet == x.answer_packet && a.dir == S2C && a.field("msgid") == Some(&w["mid"])
            })
            .unwrap()
            .field("type")
            .cloned();
        if qos == 1 {
            assert_eq!(first, &Some(json!("PUBACK")));
            assert_eq!(x.answers, 1);
        } else {
            assert_eq!(first, &Some(json!("PUBREC")));
            assert_eq!(x.answers, 2);
            assert!(x.end_packet > x.answer_packet);
        }
        if let Some(props) = w.get("properties") {
            let got = p.field("properties").unwrap();
            assert_eq!(got["content_type"], props["ContentType"]);
            assert_eq!(got["response_topic"], props["ResponseTopic"]);
            assert_eq!(got["correlation_data"], props["CorrelationData"]);
            assert_eq!(
                got["message_expiry_interval"],
                props["MessageExpiryInterval"]
            );
            assert_eq!(got["user_property"], props["UserProperty"]);
        }
    }
    // subscribe / unsubscribe with their ids, paired with SUBACK / UNSUBACK
    for (op, ty) in [("subscribe", "SUBSCRIBE"), ("unsubscribe", "UNSUBSCRIBE")] {
        for w in ops.iter().filter(|o| o["op"] == op) {
            let p = &d
                .with(C2S, "msgid", w["mid"].clone())
                .into_iter()
                .find(|p| p.field("type") == Some(&json!(ty)))
                .unwrap()
                .clone();
            let topics: Vec<Value> = p
                .field("topics")
                .unwrap()
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.get("topic").cloned().unwrap_or(t.clone()))
                .collect();
            let want: Vec<Value> = w["topics"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.get(0).cloned().unwrap_or(t.clone()))
                .collect();
            assert_eq!(topics, want);
            let x = d.exchange_of(p.packet);
            if let Some(granted) = w.get("granted") {
                let ack = d
                    .packets()
                    .into_iter()
                    .find(|a| a.packet == x.answer_packet && a.dir == S2C)
                    .unwrap();
                assert_eq!(ack.field("reason_codes"), Some(granted));
            }
        }
    }
    // what the broker delivered, as paho received it
    let delivered = d.with(S2C, "type", json!("PUBLISH"));
    let received = m["received"].as_array().unwrap();
    assert_eq!(delivered.len(), received.len());
    for (p, r) in delivered.iter().zip(received) {
        assert_eq!(p.field("topic"), Some(&r["topic"]));
        assert_eq!(p.field("qos"), Some(&r["qos"]));
        assert_eq!(p.field("retain"), Some(&r["retain"]));
        assert_eq!(p.field("msg_text"), Some(&r["payload"]));
        if r["qos"] != 0 {
            assert_eq!(p.field("msgid"), Some(&r["mid"]));
            // the client's acknowledgement pairs with the broker's publish
            assert_eq!(d.exchange_of(p.packet).request_dir, S2C);
        }
        if let Some(props) = r["properties"].as_object().filter(|o| !o.is_empty()) {
            let got = p.field("properties").unwrap();
            assert_eq!(got["content_type"], props["ContentType"]);
            assert_eq!(got["user_property"], props["UserProperty"]);
            assert_eq!(got["correlation_data"], props["CorrelationData"]);
        }
    }
    d.check_clean();
    d
}

#[test]
fn mqtt_311_publishes_subscriptions_and_pings_match_the_manifest() {
    let d = mqtt_matches("mqtt", 4);
    let m = manifest("mqtt");
    let connect = &d.with(C2S, "type", json!("CONNECT"))[0];
    assert_eq!(
        connect.field("willtopic"),
        Some(&m["sent"][0]["will"]["topic"])
    );
    assert_eq!(
        connect.field("will_qos"),
        Some(&m["sent"][0]["will"]["qos"])
    );
    // the 100 000-byte publish, in one message
    let big = &d.with(C2S, "topic", json!("wsd/big"))[0];
    assert_eq!(
        big.summary,
        format!(
            "mqtt PUBLISH topic=wsd/big qos=1 id={} (100000 B)",
            m["sent"]
                .as_array()
                .unwrap()
                .iter()
                .find(|o| o["topic"] == "wsd/big")
                .unwrap()["mid"]
        )
    );
    // keep alive 2 s: PINGREQ answered by PINGRESP
    let ping = &d.with(C2S, "type", json!("PINGREQ"))[0];
    assert_eq!(d.exchange_of(ping.packet).id, "ping");
}

#[test]
fn mqtt_5_properties_and_flows_match_the_manifest() {
    let d = mqtt_matches("mqtt5", 5);
    let connect = &d.with(C2S, "type", json!("CONNECT"))[0];
    assert_eq!(
        connect.field("properties").unwrap()["session_expiry_interval"],
        manifest("mqtt5")["sent"][0]["properties"]["SessionExpiryInterval"]
    );
}

// ---- Phoenix channels: the phoenix JS client ----

#[test]
fn phoenix_pushes_and_replies_match_the_manifest() {
    let d = decode("phoenix.pcap");
    assert_eq!(
        (d.choice.protocol, d.choice.chosen_by),
        (Protocol::Phoenix, ChosenBy::Path)
    );
    let m = manifest("phoenix");
    let pushes: Vec<&AppPacket> = d
        .packets()
        .into_iter()
        .filter(|p| p.dir == C2S && p.field("topic") != Some(&json!("phoenix")))
        .collect();
    let sent = m["sent"].as_array().unwrap();
    assert_eq!(pushes.len(), sent.len());
    for (p, w) in pushes.iter().zip(sent) {
        assert_eq!(p.field("topic"), Some(&w["topic"]));
        assert_eq!(p.field("event"), Some(&w["event"]));
        assert_eq!(p.field("ref"), Some(&w["ref"]));
        assert_eq!(p.field("join_ref"), Some(&w["join_ref"]));
        let x = d.exchange_of(p.packet);
        assert_eq!(&json!(x.id), &w["ref"]);
        let reply = d
            .packets()
            .into_iter()
            .find(|r| r.packet == x.answer_packet && r.field("event") == Some(&json!("phx_reply")))
            .unwrap();
        assert_eq!(reply.field("status"), Some(&w["reply"]["status"]));
        let want_outcome = if w["reply"]["status"] == "ok" {
            Outcome::Result
        } else {
            Outcome::Error
        };
        assert_eq!(x.outcome, want_outcome);
        if w["event"] == "upload" {
            // V2 binary push and binary reply
            assert_eq!(p.field("binary"), Some(&json!(true)));
            assert_eq!(
                p.field("payload").unwrap()["binary_hex"],
                w["payload"]["binary_hex"]
            );
            assert_eq!(
                reply.field("response").unwrap()["binary_hex"],
                w["reply"]["response"]["binary_hex"]
            );
        } else {
            assert_eq!(p.field("payload"), Some(&w["payload"]));
            assert_eq!(reply.field("response"), Some(&w["reply"]["response"]));
        }
    }
    // heartbeats, each answered
    let beats = d.with(C2S, "event", json!("heartbeat"));
    assert!(!beats.is_empty());
    for b in beats {
        assert_eq!(
            d.exchange_of(b.packet).name.as_deref(),
            Some("phoenix heartbeat")
        );
    }
    // the broadcast the application received
    let bc: Vec<&AppPacket> = d
        .with(S2C, "event", json!("new_msg"))
        .into_iter()
        .filter(|p| p.field("ref") == Some(&Value::Null))
        .collect();
    let received = m["received"].as_array().unwrap();
    assert_eq!(bc.len(), received.len());
    assert_eq!(bc[0].field("payload"), Some(&received[0]["payload"]));
    d.check_clean();
}

// ---- ActionCable: the @rails/actioncable consumer ----

#[test]
fn actioncable_commands_and_subscriptions_match_the_manifest() {
    let d = decode("actioncable.pcap");
    assert_eq!(
        (d.choice.protocol, d.choice.chosen_by),
        (Protocol::ActionCable, ChosenBy::Subprotocol)
    );
    let m = manifest("actioncable");
    let cmds: Vec<&AppPacket> = d.packets().into_iter().filter(|p| p.dir == C2S).collect();
    let sent = m["sent"].as_array().unwrap();
    assert_eq!(cmds.len(), sent.len());
    for (p, w) in cmds.iter().zip(sent) {
        assert_eq!(p.field("command"), Some(&w["command"]));
        assert_eq!(p.field("identifier"), Some(&w["identifier"]));
        if let Some(data) = w.get("data") {
            assert_eq!(p.field("data"), Some(data));
            assert_eq!(p.field("action"), Some(&data["action"]));
        }
        if let Some(outcome) = w.get("outcome") {
            let x = d.exchange_of(p.packet);
            let want = if outcome == "confirmed" {
                Outcome::Result
            } else {
                Outcome::Error
            };
            assert_eq!(x.outcome, want, "{}", p.summary);
        }
    }
    // broadcasts as the application received them
    let bc = d.with(S2C, "type", json!("message"));
    let received: Vec<&Value> = m["received"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("message").is_some())
        .collect();
    assert_eq!(bc.len(), received.len());
    for (p, r) in bc.iter().zip(received) {
        assert_eq!(p.field("identifier"), Some(&r["identifier"]));
        assert_eq!(p.field("message"), Some(&r["message"]));
    }
    assert_eq!(d.with(S2C, "type", json!("welcome")).len(), 1);
    assert!(!d.with(S2C, "type", json!("ping")).is_empty());
    let bye = &d.with(S2C, "type", json!("disconnect"))[0];
    assert_eq!(bye.field("reconnect"), Some(&json!(false)));
    d.check_clean();
}

// ---- The whole pipeline: `read --format jsonl` ----

/// Oracle: the MQTT manifest's packet ids and the packets' capture times. Message records
/// carry `app` with Wireshark's MQTT field names; every `app_exchange` latency is the answer's
/// time minus the request's.
#[test]
fn jsonl_app_fields_and_exchanges() {
    let m = manifest("mqtt");
    let records = jsonl(&sample("mqtt.pcap"), &[]);
    let msgs = of_type(&records, "message");
    let pubs: Vec<&&Value> = msgs
        .iter()
        .filter(|r| r["dir"] == "c2s" && r["app"]["msgtype"] == 3)
        .collect();
    let want: Vec<&Value> = m["sent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["op"] == "publish")
        .collect();
    assert_eq!(pubs.len(), want.len());
    for (r, w) in pubs.iter().zip(&want) {
        assert_eq!(r["app"]["protocol"], "mqtt");
        assert_eq!(r["app"]["chosen_by"], "subprotocol");
        assert_eq!(r["app"]["topic"], w["topic"]);
        assert_eq!(r["app"]["qos"], w["qos"]);
        if w["qos"] != 0 {
            assert_eq!(r["app"]["msgid"], w["mid"]);
        }
    }
    let mut checked = 0;
    for name in ["mqtt", "stomp", "phoenix", "actioncable"] {
        let records = if name == "mqtt" {
            records.clone()
        } else {
            jsonl(&sample(&format!("{name}.pcap")), &[])
        };
        let time_of = |packet: &Value| {
            of_type(&records, "message")
                .iter()
                .find(|r| &r["last_packet"] == packet)
                .map(|r| r["time"].as_f64().unwrap())
        };
        for x in of_type(&records, "app_exchange") {
            assert_eq!(x["protocol"], name);
            let (Some(asked), Some(answered)) =
                (time_of(&x["request_packet"]), time_of(&x["answer_packet"]))
            else {
                continue;
            };
            let latency = x["latency_ns"].as_f64().unwrap() / 1e9;
            assert!((latency - (answered - asked)).abs() < 2e-6, "{name}: {x}");
            checked += 1;
        }
    }
    assert!(checked >= 25, "only {checked} exchanges checked");
}

/// MQTT 5 property names by identifier (MQTT 5 §2.2.2.2), for tshark's `mqtt.property_id`.
fn property_name(id: u64) -> &'static str {
    match id {
        0x01 => "payload_format_indicator",
        0x02 => "message_expiry_interval",
        0x03 => "content_type",
        0x08 => "response_topic",
        0x09 => "correlation_data",
        0x11 => "session_expiry_interval",
        0x21 => "receive_maximum",
        0x22 => "topic_alias_maximum",
        0x26 => "user_property",
        _ => "other",
    }
}

/// Oracle: tshark 4.0's MQTT dissector on the broker's TCP leg of the same capture (the
/// bridge forwards the bytes unchanged; samples/expected/NAME.tshark-mqtt.jsonl, one record
/// per MQTT packet). Each direction's packets, in order, carry the same type, remaining
/// length, flags, topics, packet id, client id, version, keep alive, reason codes and
/// property names.
#[test]
fn mqtt_packets_match_tsharks_dissection_of_the_broker_leg() {
    for name in ["mqtt", "mqtt5"] {
        let d = decode(&format!("{name}.pcap"));
        let text = std::fs::read_to_string(
            crate::util::root().join(format!("samples/expected/{name}.tshark-mqtt.jsonl")),
        )
        .expect("make_appproto.sh wrote it");
        let want: Vec<Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        for (dir, tag) in [(C2S, "c2s"), (S2C, "s2c")] {
            let want: Vec<&Value> = want.iter().filter(|w| w["dir"] == tag).collect();
            let got: Vec<&AppPacket> = d.packets().into_iter().filter(|p| p.dir == dir).collect();
            assert_eq!(got.len(), want.len(), "{name} {tag}");
            for (p, w) in got.iter().zip(want) {
                let f = |k: &str| p.field(k).cloned().unwrap_or(Value::Null);
                assert_eq!(f("msgtype"), w["msgtype"], "{name}: {}", p.summary);
                assert_eq!(f("len"), w["len"], "{}", p.summary);
                for k in [
                    "qos", "retain", "dupflag", "msgid", "clientid", "ver", "kalive",
                ] {
                    assert_eq!(f(k), w[k], "{k}: {}", p.summary);
                }
                let topics: Value = match (p.field("topic"), p.field("topics")) {
                    (Some(t), _) => json!([t]),
                    (None, Some(Value::Array(ts))) => ts
                        .iter()
                        .map(|t| t.get("topic").cloned().unwrap_or(t.clone()))
                        .collect(),
                    _ => Value::Null,
                };
                assert_eq!(topics, w["topics"], "{}", p.summary);
                let codes: Value = match (p.field("reason_code"), p.field("reason_codes")) {
                    (Some(c), _) => json!([c]),
                    (None, Some(cs)) => cs.clone(),
                    _ => Value::Null,
                };
                assert_eq!(codes, w["codes"], "{}", p.summary);
                if let Some(ids) = w.get("property_ids") {
                    let mut want: Vec<&str> = ids
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|i| property_name(i.as_u64().unwrap()))
                        .collect();
                    want.sort_unstable();
                    want.dedup();
                    let mut got: Vec<&str> = p
                        .field("properties")
                        .unwrap()
                        .as_object()
                        .unwrap()
                        .keys()
                        .map(String::as_str)
                        .collect();
                    got.sort_unstable();
                    assert_eq!(got, want, "{}", p.summary);
                    assert_eq!(
                        p.field("properties").unwrap().get("content_type"),
                        w.get("content_type")
                    );
                }
            }
        }
    }
}
