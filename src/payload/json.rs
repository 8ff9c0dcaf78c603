//! Generic JSON content: validated, a one-line compact summary, and the (capped) value for
//! a tree view.

use super::bound::{self, Line};
use super::{AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Protocol};
use serde_json::Value;

/// Per-connection JSON decoder (stateless).
#[derive(Debug, Default)]
pub struct JsonDecoder;

/// `object`, `array`, `string`, `number`, `boolean` or `null`.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Number(_) => "number",
        Value::Bool(_) => "boolean",
        Value::Null => "null",
    }
}

/// `v` pretty-printed (two-space indent) for a tree view, at most `max_lines` lines (the
/// last one `…` when cut). Works on the capped value kept in the fields.
pub fn pretty_lines(v: &Value, max_lines: usize) -> Vec<String> {
    let text = serde_json::to_string_pretty(v).unwrap_or_default();
    let mut lines: Vec<String> = text.lines().take(max_lines).map(str::to_string).collect();
    if text.lines().nth(max_lines).is_some()
        && let Some(last) = lines.last_mut()
    {
        *last = "…".into();
    }
    lines
}

impl Decoder for JsonDecoder {
    fn protocol(&self) -> Protocol {
        Protocol::Json
    }

    fn message(&mut self, msg: &AppInput<'_>, out: &mut Vec<AppOutput>) {
        match bound::parse_json(msg.payload) {
            Ok(v) => {
                let mut line = Line::new(bound::MAX_SUMMARY);
                line.push("json ");
                bound::write_compact(&mut line, &v, &|_| None);
                out.push(AppOutput::Packet(AppPacket {
                    protocol: Protocol::Json,
                    dir: msg.dir,
                    first_packet: msg.packet,
                    packet: msg.packet,
                    messages: 1,
                    summary: line.finish(),
                    fields: vec![("type", kind(&v).into()), ("data", bound::cap_owned(v))],
                }));
            }
            Err(e) if msg.complete => out.push(AppOutput::Anomaly(AppAnomaly::new(
                AnomalyKind::JsonInvalid,
                msg,
                e.to_string(),
            ))),
            Err(_) => {}
        }
    }

    fn end(&mut self, _: &mut Vec<AppOutput>) {}
}

/// Registry constructor.
pub fn new_decoder(_: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(JsonDecoder)
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    // Examples from RFC 8259 section 13 and invalid texts.
    #[test]
    fn valid_and_invalid() {
        let mut d = JsonDecoder;
        let out = run(
            &mut d,
            &[
                (
                    C2S,
                    r#"{"Image": {"Width": 800, "Height": 600, "Title": "View from 15th Floor", "IDs": [116, 943, 234, 38793]}}"#,
                ),
                (S2C, "3"),
                (S2C, r#""Hello world!""#),
                (C2S, "{\"a\":1,}"),
                (C2S, "{\"a\":1} x"),
            ],
        );
        let p = packets(&out);
        assert_eq!(p.len(), 3);
        assert_eq!(
            p[0].summary,
            r#"json {"Image":{"Width":800,"Height":600,"Title":"View from 15th Floor","IDs":[116,943,234,38793]}}"#
        );
        assert_eq!(p[1].field("type"), Some(&json!("number")));
        assert_eq!(
            anomalies(&out),
            vec![AnomalyKind::JsonInvalid, AnomalyKind::JsonInvalid]
        );
        let lines = pretty_lines(p[0].field("data").unwrap(), 4);
        assert_eq!(
            lines,
            vec!["{", "  \"Image\": {", "    \"Width\": 800,", "…"]
        );
    }

    #[test]
    fn incomplete_payload_is_not_an_anomaly() {
        let mut out = Vec::new();
        let mut m = input(C2S, true, b"{\"a\":", 1);
        m.complete = false;
        JsonDecoder.message(&m, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = "[".repeat(100_000);
        let mut out = Vec::new();
        JsonDecoder.message(&input(C2S, true, deep.as_bytes(), 1), &mut out);
        assert_eq!(anomalies(&out), vec![AnomalyKind::JsonInvalid]);
    }
}
