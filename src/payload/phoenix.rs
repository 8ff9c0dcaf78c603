//! Phoenix channels (the `phoenix` JS client and Phoenix.Socket serializers): V1 JSON objects
//! `{"topic","event","payload","ref","join_ref"}`, V2 JSON arrays
//! `[join_ref, ref, topic, event, payload]` and V2 binary pushes, replies and broadcasts.
//! A client push carrying a `ref` (phx_join, heartbeat, application events) is answered by
//! the server's `phx_reply` with the same ref, `{"status": "ok"|"error", "response": …}`.

use super::bound::{self, Line};
use super::pending::{MAX_PENDING, Pending, Request, dropped_anomaly};
use super::{
    AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Outcome, Protocol,
};
use crate::flow::analysis::Direction;
use serde_json::Value;

/// Whether `request_uri` is a Phoenix socket endpoint: a path ending in `/websocket` (the
/// transport segment Phoenix appends, e.g. `/socket/websocket`, `/live/websocket`) and a
/// `vsn=` query parameter. `Some(true)` also when only the path matches.
pub fn is_endpoint(request_uri: &str) -> Option<bool> {
    let (path, query) = request_uri.split_once('?').unwrap_or((request_uri, ""));
    if !path.trim_end_matches('/').ends_with("/websocket") {
        return None;
    }
    Some(query.split('&').any(|kv| kv.starts_with("vsn=")))
}

/// Whether a message looks like a Phoenix message (for content sniffing).
pub fn looks_like(v: &Value) -> bool {
    match v {
        Value::Array(a) => {
            a.len() == 5
                && a[0].is_string() | a[0].is_null()
                && a[1].is_string() | a[1].is_null()
                && a[2].is_string()
                && a[3].is_string()
        }
        Value::Object(o) => {
            o.get("topic").is_some_and(Value::is_string)
                && o.get("event").is_some_and(Value::is_string)
                && o.contains_key("payload")
                && o.contains_key("ref")
        }
        _ => false,
    }
}

/// One Phoenix message, whatever its encoding.
struct Msg {
    join_ref: Option<String>,
    mref: Option<String>,
    topic: String,
    event: String,
    payload: Value,
    version: &'static str,
}

/// A ref or join_ref: a string, a number (as text) or null.
fn ref_of(v: Option<&Value>) -> Result<Option<String>, &'static str> {
    match v {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(bound::cap_str(s, bound::MAX_ID))),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err("ref is neither a string nor null"),
    }
}

fn from_json(v: Value) -> Result<Msg, &'static str> {
    match v {
        Value::Array(a) => {
            if a.len() != 5 {
                return Err("V2 array without 5 elements");
            }
            let mut it = a.into_iter();
            let (Some(j), Some(r), Some(t), Some(e), Some(p)) =
                (it.next(), it.next(), it.next(), it.next(), it.next())
            else {
                return Err("V2 array without 5 elements");
            };
            let (Value::String(topic), Value::String(event)) = (t, e) else {
                return Err("topic or event is not a string");
            };
            Ok(Msg {
                join_ref: ref_of(Some(&j))?,
                mref: ref_of(Some(&r))?,
                topic,
                event,
                payload: p,
                version: "2.0.0",
            })
        }
        Value::Object(mut o) => {
            let (Some(Value::String(topic)), Some(Value::String(event))) =
                (o.remove("topic"), o.remove("event"))
            else {
                return Err("object without string topic and event");
            };
            Ok(Msg {
                join_ref: ref_of(o.get("join_ref"))?,
                mref: ref_of(o.get("ref"))?,
                topic,
                event,
                payload: o.remove("payload").unwrap_or(Value::Null),
                version: "1.0.0",
            })
        }
        _ => Err("neither a V2 array nor a V1 object"),
    }
}

/// The V2 binary serializer (the JS client's `serializer.js`): kind 0 push (from the
/// client: join_ref, ref, topic and event sizes; from the server: join_ref, topic and event
/// sizes, no ref), 1 reply (join_ref, ref, topic, status), 2 broadcast (topic, event); one
/// byte per size, then the strings, then the binary payload.
fn from_binary(b: &[u8], from_client: bool) -> Result<Msg, &'static str> {
    let kind = *b.first().ok_or("empty binary message")?;
    let nsizes = match kind {
        0 if from_client => 4,
        0 => 3,
        1 => 4,
        2 => 2,
        _ => return Err("unknown binary message kind"),
    };
    let sizes = b.get(1..1 + nsizes).ok_or("binary header cut short")?;
    let mut pos = 1 + nsizes;
    let mut strs = Vec::with_capacity(4);
    for &n in sizes {
        let s = b
            .get(pos..pos + usize::from(n))
            .ok_or("binary field past the end")?;
        strs.push(String::from_utf8_lossy(s).into_owned());
        pos += usize::from(n);
    }
    let data = b.get(pos..).unwrap_or_default();
    let payload = serde_json::json!({
        "binary_len": data.len(),
        "binary_hex": bound::hex_prefix(data, 64),
    });
    let mut s = strs.into_iter();
    let mut next = || s.next().unwrap_or_default();
    let opt = |x: String| (!x.is_empty()).then_some(x);
    Ok(match (kind, nsizes) {
        (0, 4) => {
            let (join_ref, mref, topic, event) = (opt(next()), opt(next()), next(), next());
            Msg {
                join_ref,
                mref,
                topic,
                event,
                payload,
                version: "2.0.0",
            }
        }
        (0, _) => {
            let (join_ref, topic, event) = (opt(next()), next(), next());
            Msg {
                join_ref,
                mref: None,
                topic,
                event,
                payload,
                version: "2.0.0",
            }
        }
        (1, _) => {
            let (join_ref, mref, topic, status) = (opt(next()), opt(next()), next(), next());
            Msg {
                join_ref,
                mref,
                topic,
                event: "phx_reply".into(),
                payload: serde_json::json!({"status": status, "response": payload}),
                version: "2.0.0",
            }
        }
        _ => {
            let (topic, event) = (next(), next());
            Msg {
                join_ref: None,
                mref: None,
                topic,
                event,
                payload,
                version: "2.0.0",
            }
        }
    })
}

/// Per-connection Phoenix channels decoder.
#[derive(Debug)]
pub struct PhoenixDecoder {
    /// Key: (who asked, ref).
    pending: Pending<(Direction, String), Request>,
    last: Option<(Direction, u64)>,
}

impl Default for PhoenixDecoder {
    fn default() -> Self {
        PhoenixDecoder {
            pending: Pending::new(MAX_PENDING),
            last: None,
        }
    }
}

impl Decoder for PhoenixDecoder {
    fn protocol(&self) -> Protocol {
        Protocol::Phoenix
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        self.last = Some((msg.dir, msg.packet));
        let parsed = if msg.text {
            bound::parse_json(msg.payload)
                .map_err(|_| "not JSON")
                .and_then(from_json)
        } else {
            from_binary(msg.payload, msg.dir == Direction::ClientToServer)
        };
        let m = match parsed {
            Ok(m) => m,
            Err(e) => {
                if msg.complete {
                    out.push(AppOutput::Anomaly(AppAnomaly::new(
                        AnomalyKind::PhoenixMalformedMessage,
                        msg,
                        e,
                    )));
                }
                return;
            }
        };
        let start = out.len();
        let mut line = Line::new(bound::MAX_SUMMARY);
        line.push("phoenix ");
        line.push(&bound::cap_str(&m.topic, bound::MAX_ID));
        line.push(" ");
        line.push(&bound::cap_str(&m.event, bound::MAX_ID));
        let mut fields: Vec<(&'static str, Value)> = vec![
            (
                "join_ref",
                m.join_ref.clone().map_or(Value::Null, Value::from),
            ),
            ("ref", m.mref.clone().map_or(Value::Null, Value::from)),
            (
                "topic",
                bound::cap_str(&m.topic, bound::MAX_FIELD_STRING).into(),
            ),
            (
                "event",
                bound::cap_str(&m.event, bound::MAX_FIELD_STRING).into(),
            ),
        ];
        let reply = m.event == "phx_reply";
        let mut shown = &m.payload;
        if reply {
            let status = m.payload.get("status").and_then(Value::as_str);
            if let Some(s) = status {
                line.push(" ");
                line.push(&bound::cap_str(s, 24));
                fields.push(("status", bound::cap_str(s, 64).into()));
            }
            if let Some(r) = m.payload.get("response") {
                fields.push(("response", bound::cap_value(r)));
                shown = r;
            }
        }
        if let Some(r) = &m.mref {
            line.push(" ref=");
            line.push(r);
        }
        if !(shown.is_null() || shown.as_object().is_some_and(|o| o.is_empty())) {
            line.push(" ");
            bound::write_compact(&mut line, shown, &|_| None);
        }
        if reply {
            match &m.mref {
                Some(r) => match self.pending.remove(&(msg.dir.reverse(), r.clone())) {
                    Some(req) => {
                        let ok = m.payload.get("status").and_then(Value::as_str) == Some("ok");
                        let outcome = if ok { Outcome::Result } else { Outcome::Error };
                        let x = req.finish(Protocol::Phoenix, r.clone(), msg, outcome, true);
                        line.push(&format!(" ({:.3} ms)", x.latency_ns as f64 / 1e6));
                        fields.push(("latency_ns", x.latency_ns.into()));
                        out.push(AppOutput::Exchange(x));
                    }
                    None => out.push(AppOutput::Anomaly(AppAnomaly::new(
                        AnomalyKind::PhoenixReplyUnknownRef,
                        msg,
                        format!("phx_reply ref={r} on {} answers no push", m.topic),
                    ))),
                },
                None => out.push(AppOutput::Anomaly(AppAnomaly::new(
                    AnomalyKind::PhoenixMalformedMessage,
                    msg,
                    "phx_reply without a ref",
                ))),
            }
        } else if let Some(r) = &m.mref
            && msg.dir == Direction::ClientToServer
        {
            let name = bound::cap_str(&format!("{} {}", m.topic, m.event), bound::MAX_ID);
            self.pending
                .insert((msg.dir, r.clone()), Request::new(msg, Some(name)));
        }
        fields.push(("payload", bound::cap_owned(m.payload)));
        fields.push(("version", m.version.into()));
        fields.push(("binary", (!msg.text).into()));
        out.insert(
            start.min(out.len()),
            AppOutput::Packet(AppPacket {
                protocol: Protocol::Phoenix,
                dir: msg.dir,
                first_packet: msg.packet,
                packet: msg.packet,
                messages: 1,
                summary: line.finish(),
                fields,
            }),
        );
    }

    fn end(&mut self, out: &mut Vec<AppOutput>) {
        for ((_, r), req) in self.pending.drain() {
            out.push(AppOutput::Unanswered(req.unanswered(Protocol::Phoenix, r)));
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
    Box::new(PhoenixDecoder::default())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    // The V2 JSON messages of Phoenix's channel documentation and of the JS client: join,
    // its ok reply, a push answered by an error, a broadcast (no refs), a heartbeat.
    #[test]
    fn v2_join_push_reply_broadcast_heartbeat() {
        let mut d = PhoenixDecoder::default();
        let out = run(
            &mut d,
            &[
                (C2S, r#"["1","1","room:lobby","phx_join",{"user":"ana"}]"#),
                (
                    S2C,
                    r#"["1","1","room:lobby","phx_reply",{"response":{},"status":"ok"}]"#,
                ),
                (C2S, r#"["1","2","room:lobby","new_msg",{"body":"hi"}]"#),
                (S2C, r#"[null,null,"room:lobby","new_msg",{"body":"hi"}]"#),
                (
                    S2C,
                    r#"["1","2","room:lobby","phx_reply",{"response":{"reason":"nope"},"status":"error"}]"#,
                ),
                (C2S, r#"[null,"3","phoenix","heartbeat",{}]"#),
                (
                    S2C,
                    r#"[null,"3","phoenix","phx_reply",{"response":{},"status":"ok"}]"#,
                ),
                (S2C, r#"[null,"9","phoenix","phx_reply",{"status":"ok"}]"#),
            ],
        );
        let p = packets(&out);
        assert_eq!(
            p[0].summary,
            r#"phoenix room:lobby phx_join ref=1 {"user":"ana"}"#
        );
        assert_eq!(
            p[1].summary,
            "phoenix room:lobby phx_reply ok ref=1 (1.000 ms)"
        );
        assert_eq!(p[3].summary, r#"phoenix room:lobby new_msg {"body":"hi"}"#);
        assert_eq!(
            p[4].summary,
            r#"phoenix room:lobby phx_reply error ref=2 {"reason":"nope"} (2.000 ms)"#
        );
        assert_eq!(p[0].field("join_ref"), Some(&json!("1")));
        assert_eq!(p[3].field("ref"), Some(&Value::Null));
        assert_eq!(p[4].field("status"), Some(&json!("error")));
        let x = exchanges(&out);
        let got: Vec<(&str, Option<&str>, Outcome)> = x
            .iter()
            .map(|x| (x.id.as_str(), x.name.as_deref(), x.outcome))
            .collect();
        assert_eq!(
            got,
            vec![
                ("1", Some("room:lobby phx_join"), Outcome::Result),
                ("2", Some("room:lobby new_msg"), Outcome::Error),
                ("3", Some("phoenix heartbeat"), Outcome::Result),
            ]
        );
        assert_eq!(anomalies(&out), vec![AnomalyKind::PhoenixReplyUnknownRef]);
    }

    // V1 (vsn=1.0.0) objects.
    #[test]
    fn v1_objects() {
        let mut d = PhoenixDecoder::default();
        let out = run(
            &mut d,
            &[
                (
                    C2S,
                    r#"{"topic":"rooms:1","event":"phx_join","payload":{},"ref":"1","join_ref":"1"}"#,
                ),
                (
                    S2C,
                    r#"{"topic":"rooms:1","event":"phx_reply","payload":{"status":"ok","response":{}},"ref":"1"}"#,
                ),
                (C2S, r#"{"topic":"rooms:1","event":"x"}"#),
                (C2S, r#"[1,2]"#),
            ],
        );
        assert_eq!(exchanges(&out).len(), 1);
        assert_eq!(packets(&out)[0].field("version"), Some(&json!("1.0.0")));
        assert_eq!(anomalies(&out), vec![AnomalyKind::PhoenixMalformedMessage]);
    }

    // The V2 binary serializer (phoenix 1.8 serializer.js binaryEncode / decodeReply /
    // decodePush / decodeBroadcast): a client push, its reply, a server push (no ref) and a
    // broadcast.
    #[test]
    fn v2_binary() {
        let push = [&[0u8, 1, 1, 3, 3][..], b"12r:1evt", &[0xde, 0xad]].concat();
        let reply = [&[1u8, 1, 1, 3, 2][..], b"12r:1ok", &[0xbe]].concat();
        let server_push = [&[0u8, 1, 3, 2][..], b"1r:1ev", &[1]].concat();
        let broadcast = [&[2u8, 3, 1][..], b"r:1b", &[2, 3]].concat();
        let mut d = PhoenixDecoder::default();
        let mut out = Vec::new();
        d.message(&input(C2S, false, &push, 1), &mut out);
        d.message(&input(S2C, false, &reply, 2), &mut out);
        d.message(&input(S2C, false, &server_push, 3), &mut out);
        d.message(&input(S2C, false, &broadcast, 4), &mut out);
        d.end(&mut out);
        let p = packets(&out);
        assert_eq!(
            (p[2].field("topic"), p[2].field("event"), p[2].field("ref")),
            (Some(&json!("r:1")), Some(&json!("ev")), Some(&Value::Null))
        );
        assert_eq!(p[3].field("event"), Some(&json!("b")));
        assert_eq!(
            p[3].field("payload"),
            Some(&json!({"binary_len": 2, "binary_hex": "0203"}))
        );
        let p = packets(&out);
        assert_eq!(p[0].field("event"), Some(&json!("evt")));
        assert_eq!(
            p[0].field("payload"),
            Some(&json!({"binary_len": 2, "binary_hex": "dead"}))
        );
        assert_eq!(p[1].field("status"), Some(&json!("ok")));
        assert_eq!(exchanges(&out).len(), 1);
    }

    #[test]
    fn endpoint_and_sniffing() {
        assert_eq!(
            is_endpoint("/socket/websocket?token=x&vsn=2.0.0"),
            Some(true)
        );
        assert_eq!(is_endpoint("/live/websocket"), Some(false));
        assert_eq!(is_endpoint("/socket.io/?EIO=4"), None);
        assert!(looks_like(&json!([null, "1", "t", "e", {}])));
        assert!(!looks_like(&json!([1, 2, 3, 4, 5])));
        assert!(looks_like(
            &json!({"topic":"t","event":"e","payload":{},"ref":null})
        ));
    }

    #[test]
    fn mutated_inputs_do_not_panic() {
        let make = || -> Box<dyn Decoder> { Box::new(PhoenixDecoder::default()) };
        mutate_all(
            &make,
            &[
                br#"["1","1","room:lobby","phx_join",{"user":"ana"}]"#,
                br#"[null,"3","phoenix","phx_reply",{"response":{},"status":"ok"}]"#,
                b"\x00\x01\x01\x04\x0312r:1evt\xde\xad",
                b"\x02\x03\x01abcde",
            ],
        );
    }
}
