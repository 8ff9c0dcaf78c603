//! Rails ActionCable, `actioncable-v1-json`: the server sends `{"type": "welcome" | "ping" |
//! "confirm_subscription" | "reject_subscription" | "disconnect", …}` and channel broadcasts
//! `{"identifier": …, "message": …}`; the client sends `{"command": "subscribe" |
//! "unsubscribe" | "message", "identifier": …, "data": …}`, where `identifier` and `data`
//! are JSON documents inside strings. A subscribe pairs with the confirm or reject of the
//! same identifier.

use super::bound::{self, Line};
use super::pending::{MAX_PENDING, Pending, Request, dropped_anomaly};
use super::{
    AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Outcome, Protocol,
};
use crate::flow::analysis::Direction;
use serde_json::{Map, Value};

/// Whether a message looks like ActionCable (for content sniffing).
pub fn looks_like(v: &Value) -> bool {
    let Some(o) = v.as_object() else {
        return false;
    };
    match (o.get("type").and_then(Value::as_str), o.get("command")) {
        (Some("welcome" | "confirm_subscription" | "reject_subscription"), _) => true,
        (Some("ping"), _) => o.get("message").is_some_and(Value::is_number),
        (None, Some(Value::String(c))) => {
            matches!(c.as_str(), "subscribe" | "unsubscribe" | "message")
                && o.get("identifier").is_some_and(Value::is_string)
        }
        _ => false,
    }
}

/// Per-connection ActionCable decoder.
#[derive(Debug)]
pub struct ActionCableDecoder {
    /// Key: the identifier string, as sent.
    pending: Pending<String, Request>,
    last: Option<(Direction, u64)>,
}

impl Default for ActionCableDecoder {
    fn default() -> Self {
        ActionCableDecoder {
            pending: Pending::new(MAX_PENDING),
            last: None,
        }
    }
}

/// The JSON document inside a string field, or the string itself when it is not JSON.
fn inner(v: &str) -> Value {
    bound::parse_json(v.as_bytes()).unwrap_or_else(|_| Value::String(v.to_string()))
}

/// `ChatChannel{"room":"1"}`: the channel and the other identifier parameters.
fn push_identifier(line: &mut Line, id: &Value) {
    match id {
        Value::Object(o) => {
            if let Some(c) = o.get("channel").and_then(Value::as_str) {
                line.push(&bound::cap_str(c, bound::MAX_ID));
            }
            let rest: Map<String, Value> = o
                .iter()
                .filter(|(k, _)| *k != "channel")
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            if !rest.is_empty() {
                bound::write_compact(line, &Value::Object(rest), &|_| None);
            }
        }
        other => bound::write_compact(line, other, &|_| None),
    }
}

impl Decoder for ActionCableDecoder {
    fn protocol(&self) -> Protocol {
        Protocol::ActionCable
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        self.last = Some((msg.dir, msg.packet));
        let malformed = |out: &mut Vec<AppOutput>, what: &str| {
            if msg.complete {
                out.push(AppOutput::Anomaly(AppAnomaly::new(
                    AnomalyKind::ActioncableMalformedMessage,
                    msg,
                    what,
                )));
            }
        };
        let Ok(Value::Object(mut o)) = bound::parse_json(msg.payload) else {
            return malformed(out, "not a JSON object");
        };
        let command = o.get("command").and_then(Value::as_str).map(str::to_string);
        let ty = match (o.get("type").and_then(Value::as_str), &command) {
            (Some(t), _) => t.to_string(),
            (None, Some(c)) => c.clone(),
            (None, None) if o.contains_key("identifier") && o.contains_key("message") => {
                "message".into()
            }
            _ => return malformed(out, "neither a type, a command nor a broadcast"),
        };
        let start = out.len();
        let mut line = Line::new(bound::MAX_SUMMARY);
        line.push("actioncable ");
        line.push(&bound::cap_str(&ty, bound::MAX_ID));
        let mut fields: Vec<(&'static str, Value)> =
            vec![("type", bound::cap_str(&ty, bound::MAX_ID).into())];
        if let Some(c) = &command {
            fields.push(("command", bound::cap_str(c, bound::MAX_ID).into()));
        }
        let ident = o
            .get("identifier")
            .and_then(Value::as_str)
            .map(str::to_string);
        if let Some(id) = &ident {
            let parsed = inner(id);
            line.push(" ");
            push_identifier(&mut line, &parsed);
            fields.push((
                "identifier",
                bound::cap_str(id, bound::MAX_FIELD_STRING).into(),
            ));
            if let Some(c) = parsed.get("channel").and_then(Value::as_str) {
                fields.push(("channel", bound::cap_str(c, bound::MAX_FIELD_STRING).into()));
            }
            fields.push(("params", bound::cap_owned(parsed)));
        }
        if let Some(d) = o.remove("data") {
            let data = match d {
                Value::String(s) => inner(&s),
                other => other,
            };
            if let Some(a) = data.get("action").and_then(Value::as_str) {
                line.push(" action=");
                line.push(&bound::cap_str(a, bound::MAX_ID));
                fields.push(("action", bound::cap_str(a, bound::MAX_FIELD_STRING).into()));
            }
            line.push(" ");
            bound::write_compact(&mut line, &data, &|_| None);
            fields.push(("data", bound::cap_owned(data)));
        }
        if let Some(m) = o.remove("message") {
            line.push(" ");
            bound::write_compact(&mut line, &m, &|_| None);
            fields.push(("message", bound::cap_owned(m)));
        }
        if let Some(r) = o.get("reason") {
            line.push(" reason=");
            bound::write_compact(&mut line, r, &|_| None);
            fields.push(("reason", bound::cap_value(r)));
        }
        if let Some(r) = o.get("reconnect") {
            fields.push(("reconnect", bound::cap_value(r)));
        }
        match (ty.as_str(), &ident) {
            ("subscribe", Some(id)) if msg.dir == Direction::ClientToServer => {
                let name = {
                    let mut l = Line::new(bound::MAX_ID);
                    l.push("subscribe ");
                    push_identifier(&mut l, &inner(id));
                    l.finish()
                };
                self.pending.insert(
                    bound::cap_str(id, bound::MAX_FIELD_STRING),
                    Request::new(msg, Some(name)),
                );
            }
            ("confirm_subscription" | "reject_subscription", Some(id)) => {
                let key = bound::cap_str(id, bound::MAX_FIELD_STRING);
                match self.pending.remove(&key) {
                    Some(req) => {
                        let outcome = if ty == "confirm_subscription" {
                            Outcome::Result
                        } else {
                            Outcome::Error
                        };
                        let shown = bound::cap_str(id, bound::MAX_ID);
                        let x = req.finish(Protocol::ActionCable, shown, msg, outcome, true);
                        line.push(&format!(" ({:.3} ms)", x.latency_ns as f64 / 1e6));
                        fields.push(("latency_ns", x.latency_ns.into()));
                        out.push(AppOutput::Exchange(x));
                    }
                    None => out.push(AppOutput::Anomaly(AppAnomaly::new(
                        AnomalyKind::ActioncableUnknownSubscription,
                        msg,
                        format!(
                            "{ty} for {}, which no subscribe asked for",
                            bound::cap_str(id, 80)
                        ),
                    ))),
                }
            }
            _ => {}
        }
        out.insert(
            start.min(out.len()),
            AppOutput::Packet(AppPacket {
                protocol: Protocol::ActionCable,
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
        for (id, req) in self.pending.drain() {
            out.push(AppOutput::Unanswered(req.unanswered(
                Protocol::ActionCable,
                bound::cap_str(&id, bound::MAX_ID),
            )));
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
    Box::new(ActionCableDecoder::default())
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    // The message shapes of Action Cable's protocol (actioncable/app/javascript/action_cable/
    // internal.js message_types, and the Rails guide's ChatChannel example).
    #[test]
    fn welcome_subscribe_confirm_message_ping() {
        let id = r#"{\"channel\":\"ChatChannel\",\"room\":\"Best Room\"}"#;
        let mut d = ActionCableDecoder::default();
        let out = run(
            &mut d,
            &[
                (S2C, r#"{"type":"welcome"}"#),
                (
                    C2S,
                    &format!(r#"{{"command":"subscribe","identifier":"{id}"}}"#),
                ),
                (
                    S2C,
                    &format!(r#"{{"identifier":"{id}","type":"confirm_subscription"}}"#),
                ),
                (
                    C2S,
                    &format!(
                        r#"{{"command":"message","identifier":"{id}","data":"{{\"body\":\"hi\",\"action\":\"speak\"}}"}}"#
                    ),
                ),
                (
                    S2C,
                    &format!(r#"{{"identifier":"{id}","message":{{"body":"hi"}}}}"#),
                ),
                (S2C, r#"{"type":"ping","message":1700000000}"#),
                (
                    S2C,
                    r#"{"type":"reject_subscription","identifier":"{\"channel\":\"X\"}"}"#,
                ),
                (
                    S2C,
                    r#"{"type":"disconnect","reason":"unauthorized","reconnect":false}"#,
                ),
                (C2S, r#"{"hello":1}"#),
            ],
        );
        let p = packets(&out);
        let s: Vec<&str> = p.iter().map(|p| p.summary.as_str()).collect();
        assert_eq!(s[0], "actioncable welcome");
        assert_eq!(
            s[1],
            r#"actioncable subscribe ChatChannel{"room":"Best Room"}"#
        );
        assert_eq!(
            s[2],
            r#"actioncable confirm_subscription ChatChannel{"room":"Best Room"} (1.000 ms)"#
        );
        assert_eq!(
            s[3],
            r#"actioncable message ChatChannel{"room":"Best Room"} action=speak {"body":"hi","action":"speak"}"#
        );
        assert_eq!(
            s[4],
            r#"actioncable message ChatChannel{"room":"Best Room"} {"body":"hi"}"#
        );
        assert_eq!(s[5], "actioncable ping 1700000000");
        assert_eq!(s[7], r#"actioncable disconnect reason="unauthorized""#);
        assert_eq!(p[1].field("channel"), Some(&json!("ChatChannel")));
        assert_eq!(p[1].field("command"), Some(&json!("subscribe")));
        assert_eq!(p[3].field("action"), Some(&json!("speak")));
        assert_eq!(p[4].field("message"), Some(&json!({"body": "hi"})));
        assert_eq!(p[7].field("reconnect"), Some(&json!(false)));
        let x = exchanges(&out);
        assert_eq!(x.len(), 1);
        assert_eq!(
            x[0].name.as_deref(),
            Some(r#"subscribe ChatChannel{"room":"Best Room"}"#)
        );
        assert_eq!(
            anomalies(&out),
            vec![
                AnomalyKind::ActioncableUnknownSubscription,
                AnomalyKind::ActioncableMalformedMessage
            ]
        );
        assert!(looks_like(&json!({"type": "welcome"})));
        assert!(!looks_like(&json!({"type": "next"})));
    }

    #[test]
    fn mutated_inputs_do_not_panic() {
        let make = || -> Box<dyn Decoder> { Box::new(ActionCableDecoder::default()) };
        mutate_all(
            &make,
            &[
                br#"{"command":"subscribe","identifier":"{\"channel\":\"ChatChannel\"}"}"#,
                br#"{"identifier":"{\"channel\":\"ChatChannel\"}","type":"confirm_subscription"}"#,
                br#"{"command":"message","identifier":"{}","data":"{\"action\":\"a\"}"}"#,
            ],
        );
    }
}

#[cfg(test)]
mod declared_fields {
    use super::super::testutil::*;
    use super::super::{AppOutput, Context, Protocol, decoder_info, new_decoder};

    /// Every field the STOMP, MQTT, Phoenix and ActionCable decoders emit is declared in
    /// their registry entries (filter fields and JSON Lines keys come from there).
    #[test]
    fn every_emitted_field_is_declared() {
        let inputs: &[(Protocol, &[&[u8]])] = &[
            (
                Protocol::Stomp,
                &[
                    b"CONNECT\naccept-version:1.2\nhost:h\nheart-beat:0,0\n\n\0",
                    b"CONNECTED\nversion:1.2\n\n\0",
                    b"SUBSCRIBE\nid:0\ndestination:/q\nack:client\nreceipt:1\n\n\0",
                    b"MESSAGE\nsubscription:0\nmessage-id:1\ndestination:/q\ncontent-type:a/b\ncontent-length:2\n\n\xff\xfe\0",
                    b"BEGIN\ntransaction:t\n\n\0",
                    b"RECEIPT\nreceipt-id:1\n\n\0",
                    b"\n",
                    b"ERROR\nmessage:m\n\nx\0",
                ],
            ),
            (
                Protocol::Mqtt,
                &[
                    b"\x10\x1b\x00\x04MQTT\x05\xee\x00\x0a\x00\x00\x01c\x00\x00\x01t\x00\x01m\x00\x01u\x00\x01p",
                    b"\x20\x03\x01\x00\x00",
                    b"\x32\x0a\x00\x01t\x00\x01\x02\x01\x01\xff\xfe",
                    b"\x40\x04\x00\x01\x00\x00",
                    b"\x82\x07\x00\x02\x00\x00\x01a\x01",
                    b"\x90\x04\x00\x02\x00\x01",
                    b"\xe0\x01\x00",
                ],
            ),
            (
                Protocol::Phoenix,
                &[
                    br#"["1","1","t","phx_join",{}]"#,
                    br#"["1","1","t","phx_reply",{"status":"ok","response":{}}]"#,
                ],
            ),
            (
                Protocol::ActionCable,
                &[
                    br#"{"command":"subscribe","identifier":"{\"channel\":\"C\",\"id\":1}"}"#,
                    br#"{"identifier":"{\"channel\":\"C\",\"id\":1}","type":"confirm_subscription"}"#,
                    br#"{"command":"message","identifier":"{\"channel\":\"C\"}","data":"{\"action\":\"a\"}"}"#,
                    br#"{"identifier":"{\"channel\":\"C\"}","message":{"x":1}}"#,
                    br#"{"type":"disconnect","reason":"r","reconnect":true}"#,
                ],
            ),
        ];
        for (proto, msgs) in inputs {
            let info = decoder_info(*proto).unwrap();
            let mut d = new_decoder(*proto, &Context::default()).unwrap();
            let mut out = Vec::new();
            for (i, m) in msgs.iter().enumerate() {
                let dir = if i % 2 == 0 { C2S } else { S2C };
                d.message(
                    &input(dir, *proto != Protocol::Mqtt, m, i as u64 + 1),
                    &mut out,
                );
            }
            d.end(&mut out);
            let mut seen = 0;
            for o in &out {
                if let AppOutput::Packet(p) = o {
                    seen += 1;
                    for (name, _) in &p.fields {
                        assert!(
                            info.fields.iter().any(|(n, _)| n == name),
                            "{proto}: {name} not declared"
                        );
                    }
                }
            }
            assert_eq!(seen, msgs.len(), "{proto}: {out:?}");
            let anomalies = out
                .iter()
                .filter(|o| matches!(o, AppOutput::Anomaly(_)))
                .count();
            assert_eq!(anomalies, 0, "{proto}: {out:?}");
        }
    }
}
