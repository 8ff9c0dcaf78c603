//! Generic JSON content: validated, a one-line compact summary, and the (capped) value for
//! a tree view.

use super::bound::{self, Line};
use super::{AnomalyKind, AppAnomaly, AppInput, AppOutput, AppPacket, Context, Decoder, Protocol};
use serde_json::Value;

/// Per-connection JSON decoder (stateless).
#[derive(Debug, Default)]
pub struct JsonDecoder {
    /// Validate and summarise only; no `data` value.
    pub summary_only: bool,
}

/// The kind of the JSON text starting with `first` (a valid text's first non-space byte).
fn kind_of_text(first: u8) -> &'static str {
    match first {
        b'{' => "object",
        b'[' => "array",
        b'"' => "string",
        b't' | b'f' => "boolean",
        b'n' => "null",
        _ => "number",
    }
}

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
        // Validation without a value costs a fraction of building one (benches/payload.rs).
        let parsed = if self.summary_only {
            serde_json::from_slice::<serde::de::IgnoredAny>(msg.payload).map(|_| None)
        } else {
            bound::parse_json(msg.payload).map(Some)
        };
        let value = match parsed {
            Ok(v) => v,
            // Binary messages beside JSON text are not expected to be JSON.
            Err(e) if msg.complete && msg.text => {
                out.push(AppOutput::Anomaly(AppAnomaly::new(
                    AnomalyKind::JsonInvalid,
                    msg,
                    e.to_string(),
                )));
                return;
            }
            Err(_) => return,
        };
        // Valid JSON is valid UTF-8.
        let text = std::str::from_utf8(msg.payload).unwrap_or_default();
        let first = text.trim_start().bytes().next().unwrap_or(b'n');
        let mut line = Line::new(bound::MAX_SUMMARY);
        line.push("json ");
        bound::minify_into(&mut line, text);
        let mut fields = vec![("type", kind_of_text(first).into())];
        if let Some(v) = value {
            debug_assert_eq!(kind(&v), kind_of_text(first));
            fields.push(("data", bound::cap_owned(v)));
        }
        out.push(AppOutput::Packet(AppPacket {
            protocol: Protocol::Json,
            dir: msg.dir,
            first_packet: msg.packet,
            packet: msg.packet,
            messages: 1,
            summary: line.finish(),
            fields,
        }));
    }

    fn end(&mut self, _: &mut Vec<AppOutput>) {}
}

/// Registry constructor.
pub fn new_decoder(ctx: &Context<'_>) -> Box<dyn Decoder> {
    Box::new(JsonDecoder {
        summary_only: ctx.summary_only,
    })
}

#[cfg(test)]
mod tests {
    use super::super::testutil::*;
    use super::*;
    use serde_json::json;

    // Examples from RFC 8259 section 13 and invalid texts.
    #[test]
    fn valid_and_invalid() {
        let mut d = JsonDecoder::default();
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
    fn summary_only_validates_without_a_value() {
        let mut d = JsonDecoder { summary_only: true };
        let out = run(
            &mut d,
            &[(C2S, " [ 1, {\"z\": 2, \"a\": 1.50} ] "), (C2S, "[1,]")],
        );
        let p = packets(&out);
        assert_eq!(p[0].summary, r#"json [1,{"z":2,"a":1.50}]"#);
        assert_eq!(p[0].fields, vec![("type", json!("array"))]);
        assert_eq!(anomalies(&out), vec![AnomalyKind::JsonInvalid]);
    }

    #[test]
    fn binary_that_is_not_json_is_not_an_anomaly() {
        let mut out = Vec::new();
        let mut d = JsonDecoder::default();
        d.message(&input(C2S, false, &[0xde, 0xad], 1), &mut out);
        d.message(&input(C2S, false, b"[1]", 2), &mut out);
        assert!(anomalies(&out).is_empty());
        assert_eq!(packets(&out)[0].summary, "json [1]");
    }

    #[test]
    fn incomplete_payload_is_not_an_anomaly() {
        let mut out = Vec::new();
        let mut m = input(C2S, true, b"{\"a\":", 1);
        m.complete = false;
        JsonDecoder::default().message(&m, &mut out);
        assert!(out.is_empty());
    }

    #[test]
    fn deep_nesting_does_not_overflow() {
        let deep = "[".repeat(100_000);
        let mut out = Vec::new();
        JsonDecoder::default().message(&input(C2S, true, deep.as_bytes(), 1), &mut out);
        assert_eq!(anomalies(&out), vec![AnomalyKind::JsonInvalid]);
    }
}
