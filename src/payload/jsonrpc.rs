//! JSON-RPC 2.0 (and 1.0): requests, notifications, results, errors and batches; each
//! response paired with the request of the same id from the other side.

use super::bound::{self, Line};
use super::pending::{MAX_PENDING, Pending, Request, dropped_anomaly};
use super::{
    AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Outcome, Protocol,
};
use crate::flow::analysis::Direction;
use serde_json::{Map, Value};

/// Per-connection JSON-RPC decoder.
#[derive(Debug)]
pub struct JsonRpcDecoder {
    /// Key: who asked, the id as compact JSON (so `1` and `"1"` differ, as in the spec).
    pending: Pending<(Direction, String), Request>,
    last: Option<(Direction, u64)>,
}

impl Default for JsonRpcDecoder {
    fn default() -> Self {
        JsonRpcDecoder {
            pending: Pending::new(MAX_PENDING),
            last: None,
        }
    }
}

fn anomaly(msg: &AppInput<'_>, kind: AnomalyKind, detail: String, out: &mut Vec<AppOutput>) {
    out.push(AppOutput::Anomaly(AppAnomaly::new(kind, msg, detail)));
}

/// `(1,2)` for array params, `({"a":1})` for object params, `()` when absent.
fn write_params(line: &mut Line, params: Option<&Value>) {
    line.push("(");
    match params {
        Some(Value::Array(a)) => {
            for (i, v) in a.iter().enumerate() {
                if line.is_full() {
                    return;
                }
                if i > 0 {
                    line.push(",");
                }
                bound::write_compact(line, v, &|_| None);
            }
        }
        Some(v) => bound::write_compact(line, v, &|_| None),
        None => {}
    }
    line.push(")");
}

impl JsonRpcDecoder {
    fn element(
        &mut self,
        msg: &AppInput<'_>,
        v: Value,
        batch: Option<(usize, usize)>,
        out: &mut Vec<AppOutput>,
    ) {
        // The packet goes before the exchanges and anomalies it causes.
        let start = out.len();
        let Value::Object(mut o) = v else {
            return anomaly(
                msg,
                AnomalyKind::JsonrpcMalformed,
                "batch element is not an object".into(),
                out,
            );
        };
        let version = match o.get("jsonrpc") {
            None => "1.0",
            Some(Value::String(s)) if s == "2.0" => "2.0",
            Some(other) => {
                anomaly(
                    msg,
                    AnomalyKind::JsonrpcInvalidVersion,
                    format!("jsonrpc={}", bound::compact(other, 40)),
                    out,
                );
                "2.0"
            }
        };
        let v2 = version == "2.0";
        let mut line = Line::new(bound::MAX_SUMMARY);
        line.push("jsonrpc ");
        let mut fields: Vec<(&'static str, Value)> = Vec::new();
        let id_owned = o.remove("id");
        let id = id_owned.as_ref();
        let id_key = id.map(|i| bound::compact(i, bound::MAX_ID + 1));
        let id_shown = id.map(bound::id_text);
        if let Some(method) = o.get("method") {
            let Some(method) = method.as_str() else {
                return anomaly(
                    msg,
                    AnomalyKind::JsonrpcMalformed,
                    "method is not a string".into(),
                    out,
                );
            };
            let method = bound::cap_str(method, bound::MAX_ID);
            let notification = if v2 {
                id.is_none()
            } else {
                id.is_none_or(Value::is_null)
            };
            let ty = if notification {
                "notification"
            } else {
                "request"
            };
            line.push("→ ");
            push_batch(&mut line, batch);
            line.push(&method);
            write_params(&mut line, o.get("params"));
            fields.push(("type", ty.into()));
            fields.push(("method", method.clone().into()));
            if let Some(p) = o.remove("params") {
                fields.push(("params", bound::cap_owned(p)));
            }
            if let (false, Some(key), Some(shown)) = (notification, id_key, &id_shown) {
                line.push(" id=");
                line.push(shown);
                fields.push(("id", bound::cap_value(id.unwrap_or(&Value::Null))));
                if self
                    .pending
                    .insert((msg.dir, key), Request::new(msg, Some(method)))
                    .is_some()
                {
                    anomaly(
                        msg,
                        AnomalyKind::JsonrpcDuplicateId,
                        format!("id={shown} already pending"),
                        out,
                    );
                }
            }
        } else {
            let result = o.get("result").filter(|r| v2 || !r.is_null());
            let error = o.get("error").filter(|e| v2 || !e.is_null());
            if v2 && (result.is_some() == error.is_some()) {
                anomaly(
                    msg,
                    AnomalyKind::JsonrpcResultAndError,
                    if result.is_some() {
                        "both result and error".into()
                    } else {
                        "neither result nor error nor method".into()
                    },
                    out,
                );
            }
            if result.is_none() && error.is_none() && !o.contains_key("result") {
                return anomaly(
                    msg,
                    AnomalyKind::JsonrpcMalformed,
                    "neither a request nor a response".into(),
                    out,
                );
            }
            line.push("← ");
            push_batch(&mut line, batch);
            let is_error = error.is_some();
            if let Some(e) = error {
                line.push("error");
                fields.push(("type", "error".into()));
                let eo: Option<&Map<String, Value>> = e.as_object();
                if let Some(code) = eo.and_then(|m| m.get("code")) {
                    line.push(" ");
                    line.push(&bound::compact(code, 24));
                    fields.push(("code", bound::cap_value(code)));
                }
                if let Some(m) = eo.and_then(|m| m.get("message")) {
                    line.push(" ");
                    bound::write_compact(&mut line, m, &|_| None);
                    fields.push(("message", bound::cap_value(m)));
                }
                if eo.is_none() {
                    line.push(" ");
                    bound::write_compact(&mut line, e, &|_| None);
                }
                let e = e.clone();
                fields.push(("error", bound::cap_owned(e)));
            } else {
                let r = o.remove("result").unwrap_or(Value::Null);
                line.push("result ");
                bound::write_compact(&mut line, &r, &|_| None);
                fields.push(("type", "result".into()));
                fields.push(("result", bound::cap_owned(r)));
            }
            if let Some(shown) = &id_shown {
                line.push(" id=");
                line.push(shown);
                fields.push(("id", bound::cap_value(id.unwrap_or(&Value::Null))));
            }
            match id_key {
                Some(key) if !id.is_some_and(Value::is_null) => {
                    match self.pending.remove(&(msg.dir.reverse(), key)) {
                        Some(req) => {
                            let outcome = if is_error {
                                Outcome::Error
                            } else {
                                Outcome::Result
                            };
                            let x = req.finish(
                                Protocol::JsonRpc,
                                id_shown.clone().unwrap_or_default(),
                                msg,
                                outcome,
                                true,
                            );
                            line.push(&format!(" ({:.3} ms)", x.latency_ns as f64 / 1e6));
                            fields.push(("latency_ns", x.latency_ns.into()));
                            out.push(AppOutput::Exchange(x));
                        }
                        None => anomaly(
                            msg,
                            AnomalyKind::JsonrpcUnknownId,
                            format!(
                                "id={} matches no pending request",
                                id_shown.clone().unwrap_or_default()
                            ),
                            out,
                        ),
                    }
                }
                // id null: the server could not read the request's id (parse error).
                _ => {}
            }
        }
        fields.push(("version", version.into()));
        if let Some((i, n)) = batch {
            fields.push(("batch_index", i.into()));
            fields.push(("batch_size", n.into()));
        }
        let start = start.min(out.len());
        out.insert(
            start,
            AppOutput::Packet(AppPacket {
                protocol: Protocol::JsonRpc,
                dir: msg.dir,
                first_packet: msg.packet,
                packet: msg.packet,
                messages: 1,
                summary: line.finish(),
                fields,
            }),
        );
    }
}

/// `[2/3] ` for the second of three batch elements.
fn push_batch(line: &mut Line, batch: Option<(usize, usize)>) {
    if let Some((i, n)) = batch {
        line.push(&format!("[{}/{}] ", i + 1, n));
    }
}

impl Decoder for JsonRpcDecoder {
    fn protocol(&self) -> Protocol {
        Protocol::JsonRpc
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        self.last = Some((msg.dir, msg.packet));
        match bound::parse_json(msg.payload) {
            Ok(Value::Array(a)) if a.is_empty() => {
                anomaly(msg, AnomalyKind::JsonrpcEmptyBatch, "[]".into(), out);
            }
            Ok(Value::Array(a)) => {
                let n = a.len();
                for (i, v) in a.into_iter().enumerate() {
                    self.element(msg, v, Some((i, n)), out);
                }
            }
            Ok(v) => self.element(msg, v, None, out),
            Err(e) if msg.complete => anomaly(
                msg,
                AnomalyKind::JsonrpcMalformed,
                format!("not JSON: {e}"),
                out,
            ),
            Err(_) => {}
        }
    }

    fn end(&mut self, out: &mut Vec<AppOutput>) {
        for ((_, key), req) in self.pending.drain() {
            let id = bound::parse_json(key.as_bytes())
                .map(|v| bound::id_text(&v))
                .unwrap_or(key);
            out.push(AppOutput::Unanswered(req.unanswered(Protocol::JsonRpc, id)));
        }
        if self.pending.dropped > 0 {
            let (dir, packet) = self.last.unwrap_or((Direction::ClientToServer, 0));
            out.push(AppOutput::Anomaly(dropped_anomaly(
                self.pending.dropped,
                dir,
                packet,
            )));
        }
    }
}

/// Registry constructor.
pub fn new_decoder(_: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(JsonRpcDecoder::default())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    fn sums(out: &[AppOutput]) -> Vec<String> {
        packets(out).iter().map(|p| p.summary.clone()).collect()
    }

    // Examples of the JSON-RPC 2.0 specification, section 7.
    #[test]
    fn spec_examples() {
        let mut d = JsonRpcDecoder::default();
        let out = run(
            &mut d,
            &[
                (
                    C2S,
                    r#"{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}"#,
                ),
                (S2C, r#"{"jsonrpc": "2.0", "result": 19, "id": 1}"#),
                (
                    C2S,
                    r#"{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}"#,
                ),
                (S2C, r#"{"jsonrpc": "2.0", "result": 19, "id": 3}"#),
                (
                    C2S,
                    r#"{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}"#,
                ),
                (C2S, r#"{"jsonrpc": "2.0", "method": "foobar", "id": "1"}"#),
                (
                    S2C,
                    r#"{"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "1"}"#,
                ),
                (
                    C2S,
                    r#"{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]"#,
                ),
                (
                    S2C,
                    r#"{"jsonrpc": "2.0", "error": {"code": -32700, "message": "Parse error"}, "id": null}"#,
                ),
                (C2S, r#"[]"#),
                (
                    C2S,
                    r#"[
                    {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
                    {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
                    {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
                    {"foo": "boo"},
                    {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
                    {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
                ]"#,
                ),
                (
                    S2C,
                    r#"[
                    {"jsonrpc": "2.0", "result": 7, "id": "1"},
                    {"jsonrpc": "2.0", "result": 19, "id": "2"},
                    {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": null},
                    {"jsonrpc": "2.0", "error": {"code": -32601, "message": "Method not found"}, "id": "5"},
                    {"jsonrpc": "2.0", "result": ["hello", 5], "id": "9"}
                ]"#,
                ),
                (S2C, r#"{"jsonrpc": "2.0", "result": 1, "id": 99}"#),
            ],
        );
        let s = sums(&out);
        assert_eq!(s[0], "jsonrpc → subtract(42,23) id=1");
        assert_eq!(s[1], "jsonrpc ← result 19 id=1 (1.000 ms)");
        assert_eq!(
            s[2],
            r#"jsonrpc → subtract({"subtrahend":23,"minuend":42}) id=3"#
        );
        assert_eq!(s[4], "jsonrpc → update(1,2,3,4,5)");
        assert_eq!(
            s[6],
            r#"jsonrpc ← error -32601 "Method not found" id=1 (1.000 ms)"#
        );
        assert_eq!(s[7], r#"jsonrpc ← error -32700 "Parse error" id=null"#);
        assert_eq!(s[8], "jsonrpc → [1/6] sum(1,2,4) id=1");
        let x = exchanges(&out);
        // 1, 3, "1", then batch "1", "2", "5", "9"
        assert_eq!(x.len(), 7);
        assert!(x.iter().all(|x| x.request_dir == C2S));
        assert_eq!(
            (x[3].request_packet, x[3].answer_packet, x[3].outcome),
            (11, 12, Outcome::Result)
        );
        assert_eq!(x[5].outcome, Outcome::Error);
        assert_eq!(
            anomalies(&out),
            vec![
                AnomalyKind::JsonrpcMalformed,
                AnomalyKind::JsonrpcEmptyBatch,
                AnomalyKind::JsonrpcMalformed,
                AnomalyKind::JsonrpcUnknownId,
            ]
        );
        let p = packets(&out);
        assert_eq!(p[0].field("method"), Some(&json!("subtract")));
        assert_eq!(p[0].field("id"), Some(&json!(1)));
        assert!(unanswered(&out).is_empty());
    }

    // JSON-RPC 1.0: notifications have id null, responses carry both result and error.
    #[test]
    fn version_1() {
        let mut d = JsonRpcDecoder::default();
        let out = run(
            &mut d,
            &[
                (
                    C2S,
                    r#"{"method": "echo", "params": ["Hello JSON-RPC"], "id": 1}"#,
                ),
                (
                    S2C,
                    r#"{"result": "Hello JSON-RPC", "error": null, "id": 1}"#,
                ),
                (
                    S2C,
                    r#"{"method": "postMessage", "params": ["Hello all!"], "id": null}"#,
                ),
                (C2S, r#"{"method": "x", "params": [], "id": 2}"#),
                (S2C, r#"{"jsonrpc": "1.0", "result": 1, "id": 3}"#),
            ],
        );
        let s = sums(&out);
        assert_eq!(s[1], r#"jsonrpc ← result "Hello JSON-RPC" id=1 (1.000 ms)"#);
        assert_eq!(packets(&out)[2].field("type"), Some(&json!("notification")));
        assert_eq!(exchanges(&out).len(), 1);
        assert_eq!(
            anomalies(&out),
            vec![
                AnomalyKind::JsonrpcInvalidVersion,
                AnomalyKind::JsonrpcUnknownId
            ]
        );
        assert_eq!(unanswered(&out)[0].id, "2");
    }

    #[test]
    fn result_and_error_together() {
        let mut d = JsonRpcDecoder::default();
        let out = run(
            &mut d,
            &[
                (C2S, r#"{"jsonrpc":"2.0","method":"a","id":1}"#),
                (
                    S2C,
                    r#"{"jsonrpc":"2.0","result":1,"error":{"code":1,"message":"m"},"id":1}"#,
                ),
            ],
        );
        assert_eq!(anomalies(&out), vec![AnomalyKind::JsonrpcResultAndError]);
    }

    #[test]
    fn server_to_client_calls_pair_too() {
        let mut d = JsonRpcDecoder::default();
        let out = run(
            &mut d,
            &[
                (S2C, r#"{"jsonrpc":"2.0","method":"ping","id":1}"#),
                (C2S, r#"{"jsonrpc":"2.0","method":"q","id":1}"#),
                (C2S, r#"{"jsonrpc":"2.0","result":"pong","id":1}"#),
                (S2C, r#"{"jsonrpc":"2.0","result":"a","id":1}"#),
            ],
        );
        let x = exchanges(&out);
        assert_eq!((x[0].request_packet, x[0].answer_packet), (1, 3));
        assert_eq!((x[1].request_packet, x[1].answer_packet), (2, 4));
    }

    #[test]
    fn mutated_inputs_do_not_panic() {
        let make = || -> Box<dyn Decoder> { Box::new(JsonRpcDecoder::default()) };
        mutate_all(
            &make,
            &[
                br#"[{"jsonrpc":"2.0","method":"sum","params":[1,2],"id":4},{"jsonrpc":"2.0","result":3,"id":4}]"#,
                br#"{"jsonrpc":"2.0","error":{"code":-32600,"message":"x"},"id":"a"}"#,
            ],
        );
    }
}
