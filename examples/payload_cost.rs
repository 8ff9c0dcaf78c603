//! Instructions per decoded message, for `perf stat -e instructions:u` (timings on a shared
//! machine are too noisy): decodes COUNT copies of one small message with one decoder.
//!
//! `payload_cost KIND COUNT` with KIND json, json-summary, socketio, jsonrpc, choose, none.

use std::hint::black_box;
use wsdissect::flow::analysis::Direction;
use wsdissect::payload::{self, AppInput, Context, Protocol};

fn main() {
    let mut args = std::env::args().skip(1);
    let kind = args.next().unwrap_or_else(|| "json".into());
    let count: u64 = args.next().and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let (protocol, uri, msg, summary_only): (Protocol, &str, &[u8], bool) = match kind.as_str() {
        "json" | "choose" | "none" => (Protocol::Json, "/", br#"{"type":"update","id":1,"payload":{"name":"wsdissect","values":[1,2,3,4,5],"ok":true}}"#, false),
        "json-summary" => (Protocol::Json, "/", br#"{"type":"update","id":1,"payload":{"name":"wsdissect","values":[1,2,3,4,5],"ok":true}}"#, true),
        "socketio" => (Protocol::SocketIo, "/socket.io/?EIO=4&transport=websocket", br#"42/chat,["chat message","hi"]"#, false),
        "jsonrpc" => (Protocol::JsonRpc, "/", br#"{"jsonrpc": "2.0", "method": "log", "params": [1, 2]}"#, false),
        other => panic!("unknown kind {other}"),
    };
    let ctx = Context {
        request_uri: uri,
        subprotocol: None,
        summary_only,
        ..Context::default()
    };
    let mut d = payload::new_decoder(protocol, &ctx).expect("registered");
    let mut out = Vec::new();
    for n in 0..count {
        match kind.as_str() {
            "none" => {
                black_box(msg);
            }
            "choose" => {
                black_box(payload::choose(None, "/chat", Some((true, black_box(msg)))));
            }
            _ => {
                let input = AppInput {
                    dir: Direction::ClientToServer,
                    text: true,
                    payload: black_box(msg),
                    complete: true,
                    packet: n,
                    time_ns: n,
                };
                d.message(&input, &mut out);
                black_box(&out);
                out.clear();
            }
        }
    }
}
