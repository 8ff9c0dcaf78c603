//! Application-payload decoders (src/payload/) on real captures made by real libraries:
//! the messages come from the library pipeline (Dissector + a collecting sink), the
//! expected values from what each generator recorded it sent (samples/NAME.sent.json) and,
//! for Engine.IO long-polling bodies, from tshark's reading of the HTTP exchanges
//! (samples/expected/socketio.tshark-http.tsv). Latencies are checked against the packets'
//! own capture timestamps.

use crate::util::decoded::decode;
use crate::util::{manifest, root};
use serde_json::{Value, json};
use std::collections::HashMap;
use wsdissect::flow::analysis::Direction;
use wsdissect::payload::{
    self, AnomalyKind, AppInput, AppOutput, AppPacket, ChosenBy, Exchange, Outcome, Protocol,
};

fn side(dir: Direction) -> &'static str {
    match dir {
        Direction::ClientToServer => "client",
        Direction::ServerToClient => "server",
    }
}

/// Socket.IO args with binary placeholders replaced by the generator's `{"binary_hex": …}`.
fn socketio_args(p: &AppPacket) -> Value {
    let atts = p.field("attachments").cloned().unwrap_or(json!([]));
    let mut args = p.field("args").cloned().unwrap_or(json!([]));
    if let Value::Array(a) = &mut args {
        for v in a.iter_mut() {
            if v.get("_placeholder") == Some(&json!(true)) {
                let n = v["num"].as_u64().unwrap() as usize;
                *v = json!({"binary_hex": atts[n]["data_hex"]});
            }
        }
    }
    args
}

#[test]
fn socketio_events_acks_and_binary_match_the_manifest() {
    let d = decode("socketio.pcap");
    assert_eq!(
        (d.choice.protocol, d.choice.chosen_by),
        (Protocol::SocketIo, ChosenBy::Path)
    );
    let m = manifest("socketio");
    let sent: Vec<&Value> = m["sent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["transport"] == "websocket")
        .collect();
    let events: Vec<&AppPacket> = d
        .packets()
        .into_iter()
        .filter(|p| p.protocol == Protocol::SocketIo && p.field("event").is_some())
        .collect();
    assert_eq!(events.len(), sent.len());
    for (p, e) in events.iter().zip(&sent) {
        assert_eq!(side(p.dir), e["side"]);
        assert_eq!(p.field("namespace").unwrap(), &e["namespace"]);
        assert_eq!(p.field("event").unwrap(), &e["event"]);
        assert_eq!(socketio_args(p), e["args"], "{}", p.summary);
        assert_eq!(p.field("ack_id").is_some(), e.get("ack").is_some());
        // the ACK paired with this event carries what the handler returned
        if let Some(ack) = e.get("ack") {
            let x = d
                .exchanges()
                .into_iter()
                .find(|x| x.request_packet == p.packet)
                .expect("event answered");
            assert_eq!(x.name.as_deref(), e["event"].as_str());
            assert_eq!(x.id, p.field("ack_id").unwrap().to_string());
            let answer = d.packet_at(x.answer_packet);
            assert_eq!(answer.len(), 1);
            assert!(
                answer[0]
                    .field("type")
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .ends_with("ACK")
            );
            assert_eq!(answer[0].field("args").unwrap(), &ack["args"]);
        }
    }
    // a binary event spans its text message and one attachment message
    let upload = events
        .iter()
        .find(|p| p.field("event") == Some(&json!("upload")))
        .unwrap();
    assert_eq!(upload.messages, 2);
    assert!(upload.first_packet < upload.packet);
    assert_eq!(
        upload.summary,
        r#"socket.io BINARY_EVENT /chat "upload" [<binary 4 B>,"a.bin"] ack=2"#
    );
    // both namespace CONNECTs answered, plus the 5 acks
    let xs: Vec<&Exchange> = d
        .exchanges()
        .into_iter()
        .filter(|x| x.protocol == Protocol::SocketIo)
        .collect();
    assert_eq!(
        xs.len(),
        2 + sent.iter().filter(|e| e.get("ack").is_some()).count()
    );
    assert!(xs.iter().all(|x| x.outcome == Outcome::Result));
    // the upgrade probe (2probe -> 3probe) is paired too
    let eio: Vec<&Exchange> = d
        .exchanges()
        .into_iter()
        .filter(|x| x.protocol == Protocol::EngineIo)
        .collect();
    assert_eq!(eio.len(), 1);
    assert_eq!(
        (eio[0].id.as_str(), eio[0].request_dir),
        ("probe", Direction::ClientToServer)
    );
    d.check_latencies();
    // the upgrade probe is there, as Engine.IO packets
    let eio: Vec<&str> = d
        .packets()
        .into_iter()
        .filter(|p| p.protocol == Protocol::EngineIo)
        .map(|p| p.summary.as_str())
        .collect();
    assert_eq!(
        &eio[..3],
        [
            "engine.io ping probe",
            "engine.io pong probe",
            "engine.io upgrade"
        ]
    );
    assert!(d.anomalies().is_empty(), "{:?}", d.anomalies());
    assert_eq!(d.unanswered(), 0);
}

#[test]
fn socketio_polling_bodies_match_the_manifest() {
    // tshark's reading of the HTTP exchanges: frame, method, URI, status, URI answered, body.
    let tsv = std::fs::read_to_string(root().join("samples/expected/socketio.tshark-http.tsv"))
        .expect("make_payload.sh wrote it");
    let mut decoders: HashMap<String, payload::socketio::SocketIoDecoder> = HashMap::new();
    let mut out = Vec::new();
    for line in tsv.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (frame, method, uri, status, answered, body) = (f[0], f[1], f[2], f[3], f[4], f[5]);
        let (dir, uri) = if method.is_empty() {
            if status != "200" {
                continue; // the 400 after the close has no Engine.IO body
            }
            let path = answered.splitn(4, '/').nth(3).unwrap_or("");
            (Direction::ServerToClient, format!("/{path}"))
        } else {
            (Direction::ClientToServer, uri.to_string())
        };
        let Some(r) = payload::engineio::request(&uri).filter(|r| r.is_polling()) else {
            continue;
        };
        if body.is_empty() {
            continue;
        }
        let key = r.sid.clone().unwrap_or_else(|| frame.to_string());
        let d = decoders
            .entry(key)
            .or_insert_with(|| payload::socketio::SocketIoDecoder::polling(&uri).unwrap());
        let n: u64 = frame.parse().unwrap();
        use payload::Decoder as _;
        d.message(
            &AppInput {
                dir,
                text: true,
                payload: body.as_bytes(),
                complete: true,
                packet: n,
                time_ns: n,
            },
            &mut out,
        );
    }
    let sums: Vec<String> = out
        .iter()
        .filter_map(|o| {
            if let AppOutput::Packet(p) = o {
                Some(p.summary.clone())
            } else {
                None
            }
        })
        .collect();
    // the polling-only client (manifest entries with transport "polling")
    let m = manifest("socketio");
    let polled: Vec<&Value> = m["sent"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["transport"] == "polling")
        .collect();
    assert_eq!(polled.len(), 1);
    let e = polled[0];
    let want_event = format!(
        "socket.io EVENT {} {} {} ack=1",
        e["namespace"].as_str().unwrap(),
        e["event"],
        e["args"]
    );
    assert!(sums.contains(&want_event), "{sums:#?}");
    let want_ack = format!(
        "socket.io ACK {} {} ack=1",
        e["namespace"].as_str().unwrap(),
        e["ack"]["args"]
    );
    assert!(sums.contains(&want_ack), "{sums:#?}");
    // one body carried two packets separated by 0x1e: DISCONNECT /chat, then Engine.IO close
    let i = sums
        .iter()
        .position(|s| s == "socket.io DISCONNECT /chat")
        .expect("disconnect");
    assert_eq!(sums[i + 1], "engine.io close");
    assert!(
        sums.iter()
            .filter(|s| s.starts_with("engine.io open sid="))
            .count()
            == 2
    );
    assert!(
        !out.iter().any(|o| matches!(o, AppOutput::Anomaly(_))),
        "{out:#?}"
    );
}

#[test]
fn graphql_ws_operations_match_the_manifest() {
    let d = decode("graphql-ws.pcap");
    assert_eq!(
        (d.choice.protocol, d.choice.chosen_by, d.choice.confidence),
        (Protocol::GraphqlTransportWs, ChosenBy::Subprotocol, 100)
    );
    let m = manifest("graphql-ws");
    for who in [Direction::ClientToServer, Direction::ServerToClient] {
        let want: Vec<(Value, Value)> = m["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["side"] == side(who))
            .map(|e| {
                (
                    e["message"]["type"].clone(),
                    e["message"].get("id").cloned().unwrap_or(Value::Null),
                )
            })
            .collect();
        let got: Vec<(Value, Value)> = d
            .packets()
            .into_iter()
            .filter(|p| p.dir == who)
            .map(|p| {
                (
                    p.field("type").unwrap().clone(),
                    p.field("id").cloned().unwrap_or(Value::Null),
                )
            })
            .collect();
        assert_eq!(got, want, "{}", side(who));
    }
    let ops = m["operations"].as_array().unwrap();
    let xs = d.exchanges();
    assert_eq!(xs.len(), ops.len());
    for (x, op) in xs.iter().zip(ops) {
        assert_eq!(x.outcome, Outcome::Complete);
        assert_eq!(x.answers as usize, op["results"].as_array().unwrap().len());
        assert_eq!(x.name.as_deref(), op["payload"]["operationName"].as_str());
        // each next carried what the client's next() callback received
        let nexts: Vec<Value> = d
            .packets()
            .into_iter()
            .filter(|p| {
                p.field("type") == Some(&json!("next")) && p.field("id") == Some(&json!(x.id))
            })
            .map(|p| p.field("payload").unwrap().clone())
            .collect();
        assert_eq!(&Value::Array(nexts), &op["results"]);
    }
    let sub = d
        .packets()
        .into_iter()
        .find(|p| p.field("operation_name") == Some(&json!("Count")))
        .unwrap();
    assert_eq!(sub.field("operation"), Some(&json!("subscription")));
    d.check_clean();
}

#[test]
fn jsonrpc_calls_match_the_manifest() {
    let d = decode("jsonrpc.pcap");
    assert_eq!(
        (d.choice.protocol, d.choice.chosen_by),
        (Protocol::JsonRpc, ChosenBy::Content)
    );
    let m = manifest("jsonrpc");
    for who in [Direction::ClientToServer, Direction::ServerToClient] {
        // every element the side sent that is JSON (the deliberate parse error is not)
        let want: Vec<Value> = m["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["side"] == side(who))
            .filter_map(|e| serde_json::from_str::<Value>(e["text"].as_str().unwrap()).ok())
            .flat_map(|v| match v {
                Value::Array(a) => a,
                v => vec![v],
            })
            .collect();
        let got: Vec<&AppPacket> = d.packets().into_iter().filter(|p| p.dir == who).collect();
        assert_eq!(got.len(), want.len(), "{}", side(who));
        for (p, w) in got.iter().zip(&want) {
            for k in ["method", "params", "id", "result", "error"] {
                assert_eq!(p.field(k), w.get(k), "{k} in {}", p.summary);
            }
        }
    }
    let xs = d.exchanges();
    let ids: Vec<&str> = xs.iter().map(|x| x.id.as_str()).collect();
    assert_eq!(ids, ["1", "2", "3", "4", "5"]);
    let outcomes: Vec<Outcome> = xs.iter().map(|x| x.outcome).collect();
    use Outcome::*;
    assert_eq!(outcomes, [Result, Error, Error, Result, Result]);
    // the batch: both answers in the same response message
    assert_eq!(xs[3].answer_packet, xs[4].answer_packet);
    assert_eq!(xs[3].request_packet, xs[4].request_packet);
    d.check_latencies();
    let s: Vec<&str> = d
        .packets()
        .into_iter()
        .map(|p| p.summary.as_str())
        .collect();
    assert_eq!(s[0], "jsonrpc → sum(1,2) id=1");
    assert!(s[1].starts_with("jsonrpc ← result 3 id=1 ("), "{}", s[1]);
    // the one message the generator sent as invalid JSON on purpose
    assert_eq!(d.anomalies(), [AnomalyKind::JsonrpcMalformed]);
    assert_eq!(d.unanswered(), 0);
}

#[test]
fn generic_json_on_inflated_messages_matches_the_manifest() {
    // deflate-node.pcap (Node ws, permessage-deflate): the decoder sees the inflated messages.
    let d = decode("deflate-node.pcap");
    assert_eq!(
        (d.choice.protocol, d.choice.chosen_by),
        (Protocol::Json, ChosenBy::Content)
    );
    let m = manifest("deflate-node");
    let texts: Vec<&Value> = m["connections"][0]["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["type"] == "text")
        .collect();
    let json_sent: Vec<(String, Value)> = texts
        .iter()
        .filter_map(|e| {
            let t = e["text"].as_str().unwrap();
            serde_json::from_str::<Value>(t)
                .ok()
                .map(|v| (e["dir"].as_str().unwrap().to_string(), v))
        })
        .collect();
    let got: Vec<(String, Value)> = d
        .packets()
        .iter()
        .map(|p| (p.dir.short().to_string(), p.field("data").unwrap().clone()))
        .collect();
    // the manifest lists each side's messages in order, one side after the other
    let (mut got, mut json_sent) = (got, json_sent);
    got.sort_by(|a, b| a.0.cmp(&b.0));
    json_sent.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, json_sent);
    // the summary is the sender's text, members in its order
    let first = texts[0]["text"].as_str().unwrap();
    assert_eq!(d.packets()[0].summary, format!("json {first}"));
    // the non-JSON text messages ("part-1 part-2 part-3", "short", each way) are reported
    let not_json = texts.len() - json_sent.len();
    assert_eq!(not_json, 4);
    assert_eq!(d.anomalies(), vec![AnomalyKind::JsonInvalid; not_json]);
}

#[test]
fn legacy_graphql_ws_operations_match_the_manifest() {
    let d = decode("graphql-legacy.pcap");
    assert_eq!(
        (d.choice.protocol, d.choice.chosen_by),
        (Protocol::GraphqlWs, ChosenBy::Subprotocol)
    );
    let m = manifest("graphql-legacy");
    for who in [Direction::ClientToServer, Direction::ServerToClient] {
        let want: Vec<(Value, Value)> = m["messages"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["side"] == side(who))
            .map(|e| {
                let id = e["message"].get("id").cloned().unwrap_or(Value::Null);
                (e["message"]["type"].clone(), id)
            })
            .collect();
        let got: Vec<(Value, Value)> = d
            .packets()
            .into_iter()
            .filter(|p| p.dir == who)
            .map(|p| {
                let id = p.field("id").cloned().unwrap_or(Value::Null);
                (p.field("type").unwrap().clone(), id)
            })
            .collect();
        assert_eq!(got, want, "{}", side(who));
    }
    let ops = m["operations"].as_array().unwrap();
    let xs = d.exchanges();
    assert_eq!(xs.len(), ops.len());
    for (x, op) in xs.iter().zip(ops) {
        assert_eq!(x.name.as_deref(), op["payload"]["operationName"].as_str());
        // what the client's observer received before the end (or before its stop)
        assert_eq!(x.answers as usize, op["results"].as_array().unwrap().len());
        let want = if op.get("stopped_after").is_some() {
            Outcome::Cancelled
        } else {
            Outcome::Complete
        };
        assert_eq!(x.outcome, want);
    }
    d.check_latencies();
    // data and complete after the client's stop answer the stop: no anomaly
    assert!(d.anomalies().is_empty(), "{:?}", d.anomalies());
    assert_eq!(d.unanswered(), 0);
}

// ---- The whole pipeline: `read --format jsonl` and `--view messages` ----

mod pipeline {
    use crate::util::{jsonl, manifest, of_type, run, sample};
    use serde_json::Value;

    /// Oracle: graphql-ws's manifest lists every message the applications sent, in order;
    /// each message record's `app.type` is that message's `type`, and the decoder was chosen
    /// by the subprotocol the server accepted.
    #[test]
    fn graphql_message_records_carry_what_the_library_sent() {
        let m = manifest("graphql-ws");
        let records = jsonl(&sample("graphql-ws.pcap"), &[]);
        let got: Vec<(String, String)> = of_type(&records, "message")
            .iter()
            .filter(|r| r.get("app").is_some())
            .map(|r| {
                assert_eq!(r["app"]["protocol"], "graphql-transport-ws");
                assert_eq!(r["app"]["chosen_by"], "subprotocol");
                let side = if r["dir"] == "c2s" {
                    "client"
                } else {
                    "server"
                };
                (
                    side.to_string(),
                    r["app"]["type"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let want: Vec<(String, String)> = m["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                (
                    x["side"].as_str().unwrap().to_string(),
                    x["message"]["type"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(got, want);
    }

    /// Oracle: the packets' own capture times. Every app_exchange's latency is the answer's
    /// time minus the request's (the message records' `time`, microsecond precision).
    #[test]
    fn exchange_latencies_are_the_packets_time_difference() {
        let mut checked = 0;
        for name in ["socketio", "graphql-ws", "jsonrpc"] {
            let records = jsonl(&sample(&format!("{name}.pcap")), &[]);
            let time_of = |packet: &Value| {
                of_type(&records, "message")
                    .iter()
                    .find(|r| &r["last_packet"] == packet)
                    .map(|r| r["time"].as_f64().unwrap())
            };
            for x in of_type(&records, "app_exchange") {
                if x["answered"] != true {
                    continue;
                }
                let (Some(asked), Some(answered)) =
                    (time_of(&x["request_packet"]), time_of(&x["answer_packet"]))
                else {
                    continue;
                };
                let latency = x["latency_ns"].as_f64().unwrap() / 1e9;
                assert!(
                    (latency - (answered - asked)).abs() < 2e-6,
                    "{name}: {x} vs {asked} .. {answered}"
                );
                checked += 1;
            }
        }
        assert!(checked >= 10, "only {checked} exchanges checked");
    }

    /// Oracle: the jsonrpc manifest's texts; each JSON-RPC request the client sent with an
    /// id is answered, and the deliberately broken message is reported, not hidden.
    #[test]
    fn jsonrpc_view_names_methods_and_flags_the_broken_message() {
        let out = run(
            &[
                "read",
                sample("jsonrpc.pcap").to_str().unwrap(),
                "--view",
                "messages",
            ],
            None,
        );
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("decoded as jsonrpc (chosen by content)"),
            "{text}"
        );
        let m = manifest("jsonrpc");
        for msg in m["messages"].as_array().unwrap() {
            let t = msg["text"].as_str().unwrap();
            if let Ok(v) = serde_json::from_str::<Value>(t)
                && let Some(method) = v.get("method").and_then(Value::as_str)
            {
                assert!(text.contains(&format!("{method}(")), "{method}: {text}");
            }
        }
        assert!(text.contains("warning[jsonrpc-malformed]"), "{text}");
    }

    #[test]
    fn decode_as_overrides_the_choice_and_none_turns_it_off() {
        let capture = sample("jsonrpc.pcap");
        let records = jsonl(&capture, &["--decode-as".into(), "json".into()]);
        let first = of_type(&records, "message")[0];
        assert_eq!(first["app"]["protocol"], "json");
        assert_eq!(first["app"]["chosen_by"], "decode-as");
        let records = jsonl(&capture, &["--decode-as".into(), "none".into()]);
        assert!(
            of_type(&records, "message")
                .iter()
                .all(|r| r.get("app").is_none())
        );
        assert!(of_type(&records, "app_exchange").is_empty());
    }
}
