//! Detail trees (`-V`), laid out like Wireshark's packet details pane.

use crate::event::{FrameEvent, HttpRequestEvent, HttpResponseEvent, MessageEvent};
use crate::http::accept::AcceptVerdict;
use crate::http::head::Header;
use crate::term::escape::{escape_into, escape_line, hex_dump_into};
use crate::ws::{LengthEncoding, OpCode};
use std::fmt::Write;

/// Most payload bytes shown in a tree.
const MAX_PAYLOAD_SHOWN: usize = 4096;

fn bits(byte: u8, mask: u8) -> String {
    // Wireshark's bit-field picture: "1... ....", ".000 ....", ".... 0001".
    let mut s = String::with_capacity(9);
    for i in (0..8).rev() {
        if i == 3 {
            s.push(' ');
        }
        let bit = 1u8 << i;
        s.push(if mask & bit == 0 {
            '.'
        } else if byte & bit != 0 {
            '1'
        } else {
            '0'
        });
    }
    s
}

fn write_headers(out: &mut String, headers: &[Header]) {
    for h in headers {
        let _ = writeln!(
            out,
            "    {}: {}\\r\\n",
            escape_line(h.name.as_bytes(), 200),
            escape_line(h.value.as_bytes(), 400)
        );
    }
    out.push_str("    \\r\\n\n");
}

/// Appends the tree of an HTTP request head.
pub fn write_request(out: &mut String, ev: &HttpRequestEvent<'_>) {
    let r = ev.request;
    out.push_str("Hypertext Transfer Protocol\n");
    let _ = writeln!(
        out,
        "    {} {} HTTP/1.{}\\r\\n",
        escape_line(r.method.as_bytes(), 40),
        escape_line(r.path.as_bytes(), 400),
        r.version
    );
    write_headers(out, &r.headers);
    if r.is_websocket_upgrade() {
        let _ = writeln!(
            out,
            "    [WebSocket upgrade request, connection {}]",
            ev.conn
        );
    }
}

/// Appends the tree of an HTTP response head, with the accept verdict when it answers an
/// upgrade.
pub fn write_response(out: &mut String, ev: &HttpResponseEvent<'_>) {
    let r = ev.response;
    out.push_str("Hypertext Transfer Protocol\n");
    let _ = writeln!(
        out,
        "    HTTP/1.{} {} {}\\r\\n",
        r.version,
        r.status,
        escape_line(r.reason.as_bytes(), 200)
    );
    write_headers(out, &r.headers);
    if let Some(verdict) = ev.accept {
        match verdict {
            AcceptVerdict::Valid => {
                out.push_str("    [Sec-WebSocket-Accept: valid, SHA-1(key + GUID) matches]\n")
            }
            other => {
                let _ = writeln!(out, "    [Sec-WebSocket-Accept: {other}]");
            }
        }
    }
}

/// Appends the tree of one WebSocket frame.
pub fn write_frame(out: &mut String, ev: &FrameEvent<'_>) {
    let h = &ev.header;
    let b0 = (u8::from(h.fin) << 7) | (h.rsv << 4) | u8::from(h.opcode);
    let len7: u8 = match h.length_encoding {
        LengthEncoding::Short => h.payload_len as u8,
        LengthEncoding::Extended16 => 126,
        LengthEncoding::Extended64 => 127,
    };
    let b1 = (u8::from(h.mask.is_some()) << 7) | len7;
    out.push_str("WebSocket\n");
    let _ = writeln!(
        out,
        "    {} = Fin: {}",
        bits(b0, 0x80),
        if h.fin { "True" } else { "False" }
    );
    let _ = writeln!(out, "    {} = Reserved: 0x{:x}", bits(b0, 0x70), h.rsv);
    let _ = writeln!(
        out,
        "    {} = Opcode: {} ({})",
        bits(b0, 0x0f),
        h.opcode,
        u8::from(h.opcode)
    );
    let _ = writeln!(
        out,
        "    {} = Mask: {}",
        bits(b1, 0x80),
        if h.mask.is_some() { "True" } else { "False" }
    );
    let _ = writeln!(out, "    {} = Payload length: {}", bits(b1, 0x7f), len7);
    match h.length_encoding {
        LengthEncoding::Short => {}
        LengthEncoding::Extended16 => {
            let _ = writeln!(
                out,
                "    Extended Payload length (16 bits): {}",
                h.payload_len
            );
        }
        LengthEncoding::Extended64 => {
            let _ = writeln!(
                out,
                "    Extended Payload length (64 bits): {}",
                h.payload_len
            );
        }
    }
    if let Some(key) = h.mask {
        let _ = writeln!(
            out,
            "    Masking-Key: {:02x}{:02x}{:02x}{:02x}",
            key[0], key[1], key[2], key[3]
        );
    }
    if !ev.payload_complete {
        let _ = writeln!(
            out,
            "    [Payload incomplete: {} of {} bytes available]",
            ev.payload.len(),
            h.payload_len
        );
    }
    match h.opcode {
        OpCode::Close => {
            out.push_str("    Payload\n");
            match ev.close_code {
                Some(code) => {
                    let _ = writeln!(out, "        Close: {} ({})", code.name(), code.code());
                    if !ev.close_reason.is_empty() {
                        let _ =
                            writeln!(out, "        Reason: {}", escape_line(ev.close_reason, 400));
                    }
                }
                None if ev.payload.is_empty() => out.push_str("        [No status code]\n"),
                None => {
                    out.push_str("        [Malformed close body]\n");
                    hex_dump_into(out, ev.payload, "        ", MAX_PAYLOAD_SHOWN);
                }
            }
        }
        _ if ev.payload.is_empty() => {}
        _ => write_payload(out, ev),
    }
}

fn write_payload(out: &mut String, ev: &FrameEvent<'_>) {
    let payload = ev.payload;
    let is_text_opcode = ev.header.opcode == OpCode::Text;
    let utf8 = std::str::from_utf8(payload).is_ok();
    if (is_text_opcode || ev.header.opcode == OpCode::Continuation) && utf8 {
        let lines = payload.split(|&b| b == b'\n').count();
        let _ = writeln!(
            out,
            "Line-based text data ({lines} line{})",
            if lines == 1 { "" } else { "s" }
        );
        let shown = &payload[..payload.len().min(MAX_PAYLOAD_SHOWN)];
        let mut rest = shown;
        while !rest.is_empty() {
            let (line, next) = match rest.iter().position(|&b| b == b'\n') {
                Some(i) => (&rest[..=i], &rest[i + 1..]),
                None => (rest, &[][..]),
            };
            out.push_str("    ");
            escape_into(out, line, usize::MAX);
            out.push('\n');
            rest = next;
        }
        if payload.len() > shown.len() {
            let _ = writeln!(out, "    … {} more bytes", payload.len() - shown.len());
        }
    } else {
        let _ = writeln!(out, "Data ({} bytes)", payload.len());
        hex_dump_into(out, payload, "    ", MAX_PAYLOAD_SHOWN);
    }
}

/// Most lines of one application packet's subtree (its fields and nested values).
const MAX_APP_LINES: usize = 64;
/// Deepest nesting of JSON values shown.
const MAX_APP_DEPTH: usize = 6;
/// Longest string value shown.
const MAX_APP_STRING: usize = 200;

/// One node of the tree at `depth` (0: a protocol line), escaped by the caller.
fn node(out: &mut String, depth: usize, text: &str) {
    for _ in 0..depth {
        out.push_str("    ");
    }
    out.push_str(text);
    out.push('\n');
}

/// Appends the application layer of a whole message, as Wireshark shows a dissected
/// sub-protocol under the WebSocket payload: per application packet a protocol line (with
/// the decoder and how it was chosen), its summary, then its fields with nested JSON
/// values indented, at most [`MAX_APP_LINES`] lines per packet.
pub fn write_app(out: &mut String, m: &MessageEvent<'_>) {
    for p in m.app {
        let title = match m.app_decoder {
            Some((decoder, by)) if decoder == p.protocol => {
                format!("{} (chosen by {})", p.protocol.name(), by.name())
            }
            Some((decoder, by)) => format!(
                "{} (read by the {} decoder, chosen by {})",
                p.protocol.name(),
                decoder.name(),
                by.name()
            ),
            None => p.protocol.name().to_string(),
        };
        node(out, 0, &title);
        node(
            out,
            1,
            &format!("[{}]", escape_line(p.summary.as_bytes(), MAX_APP_STRING)),
        );
        if p.messages > 1 {
            node(
                out,
                1,
                &format!(
                    "[{} messages, packets {}-{}]",
                    p.messages, p.first_packet, p.packet
                ),
            );
        }
        let mut budget = MAX_APP_LINES;
        for (name, value) in &p.fields {
            if !json_node(out, 1, name, value, &mut budget) {
                node(out, 1, "[… more fields not shown]");
                break;
            }
        }
    }
}

/// `name: value` for a scalar, `name` then its members one level deeper for an object or
/// array. Returns false once the line budget is spent.
fn json_node(
    out: &mut String,
    depth: usize,
    name: &str,
    value: &serde_json::Value,
    budget: &mut usize,
) -> bool {
    use serde_json::Value;
    if *budget == 0 {
        return false;
    }
    *budget -= 1;
    let name = escape_line(name.as_bytes(), 80);
    match value {
        Value::Object(map) if depth < MAX_APP_DEPTH && !map.is_empty() => {
            let n = map.len();
            let s = if n == 1 { "" } else { "s" };
            node(out, depth, &format!("{name}: {{{n} member{s}}}"));
            map.iter()
                .all(|(k, v)| json_node(out, depth + 1, k, v, budget))
        }
        Value::Array(items) if depth < MAX_APP_DEPTH && !items.is_empty() => {
            let n = items.len();
            let s = if n == 1 { "" } else { "s" };
            node(out, depth, &format!("{name}: [{n} item{s}]"));
            items
                .iter()
                .enumerate()
                .all(|(i, v)| json_node(out, depth + 1, &format!("[{i}]"), v, budget))
        }
        Value::String(text) => {
            node(
                out,
                depth,
                &format!(
                    "{name}: \"{}\"",
                    escape_line(text.as_bytes(), MAX_APP_STRING)
                ),
            );
            true
        }
        other => {
            let text = other.to_string();
            node(
                out,
                depth,
                &format!("{name}: {}", escape_line(text.as_bytes(), MAX_APP_STRING)),
            );
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::bits;

    #[test]
    fn bit_pictures_match_wireshark() {
        // The seed 001 tree: first byte 0x81, second 0xb9 (masked, length 57).
        assert_eq!(bits(0x81, 0x80), "1... ....");
        assert_eq!(bits(0x81, 0x70), ".000 ....");
        assert_eq!(bits(0x81, 0x0f), ".... 0001");
        assert_eq!(bits(0xb9, 0x80), "1... ....");
        assert_eq!(bits(0xb9, 0x7f), ".011 1001");
    }

    #[test]
    fn application_subtree_is_capped_and_escaped() {
        use crate::flow::analysis::Direction;
        use crate::payload::{AppPacket, ChosenBy, Protocol};
        use crate::ws::OpCode;
        // 20 levels deep, then 1000 items: the tree stops at its depth and line caps.
        let mut deep = serde_json::json!("\u{1b}[31mred");
        for _ in 0..20 {
            deep = serde_json::json!({ "k": deep });
        }
        let wide = serde_json::Value::Array((0..1000).map(serde_json::Value::from).collect());
        let app = [AppPacket {
            protocol: Protocol::Json,
            dir: Direction::ClientToServer,
            first_packet: 1,
            packet: 1,
            messages: 1,
            summary: "json \u{1b}]0;title\u{7}".into(),
            fields: vec![("deep", deep), ("wide", wide)],
        }];
        let mut m = crate::views::fixtures::message(
            0,
            Direction::ClientToServer,
            OpCode::Text,
            b"{}",
            1,
            1,
        );
        m.app = &app;
        m.app_decoder = Some((Protocol::Json, ChosenBy::Content));
        let mut out = String::new();
        super::write_app(&mut out, &m);
        assert!(out.starts_with("json (chosen by content)\n"), "{out}");
        assert!(!out.contains('\u{1b}') && !out.contains('\u{7}'), "{out}");
        let lines = out.lines().count();
        // Title, summary, at most MAX_APP_LINES field lines, the "more" line.
        assert!(lines <= super::MAX_APP_LINES + 3, "{lines} lines");
        assert!(out.contains("[… more fields not shown]"), "{out}");
        let deepest = out
            .lines()
            .map(|l| l.len() - l.trim_start().len())
            .max()
            .unwrap_or(0);
        assert!(deepest <= 4 * super::MAX_APP_DEPTH, "{out}");
    }
}
