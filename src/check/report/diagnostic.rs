//! `check` diagnostics as compiler-style text lines and as JSON Lines records.
//!
//! Text: `FILE: packet 97, conn 0 c2s: error[unmasked-client-frame]: MESSAGE`, with the
//! location parts that the diagnostic has (a finding about the whole file has none).
//! JSON: `{"type":"diagnostic","file":..,"conn":..,"packet":..,"dir":..,"severity":..,
//! "kind":..,"message":..}`, absent parts as `null`.

use crate::check::Diagnostic;
use crate::term::escape::escape_line;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Longest message shown, in characters (a hostile capture can make messages quote
/// header values).
const MAX_MESSAGE_CHARS: usize = 1000;
/// Longest file name shown, in characters.
const MAX_FILE_CHARS: usize = 4096;

/// The file name as shown at the start of a line: escaped so that a name with control
/// characters cannot break the one-line-per-diagnostic layout.
pub fn display_file(file: &str) -> String {
    escape_line(file.as_bytes(), MAX_FILE_CHARS)
}

/// One diagnostic as a text line, without the newline.
pub fn text_line(file: &str, d: &Diagnostic) -> String {
    let mut line = display_file(file);
    line.push_str(": ");
    let mut located = false;
    if let Some(packet) = d.packet {
        let _ = write!(line, "packet {packet}");
        located = true;
    }
    if let Some(conn) = d.conn {
        if located {
            line.push_str(", ");
        }
        let _ = write!(line, "conn {conn}");
        if let Some(dir) = d.dir {
            line.push(' ');
            line.push_str(dir.short());
        }
        located = true;
    }
    if located {
        line.push_str(": ");
    }
    let _ = write!(line, "{}[{}]: ", d.severity.as_str(), d.kind);
    line.push_str(&escape_line(d.message.as_bytes(), MAX_MESSAGE_CHARS));
    line
}

/// Writes one diagnostic as a text line.
pub fn write_text<W: Write + ?Sized>(out: &mut W, file: &str, d: &Diagnostic) -> io::Result<()> {
    let mut line = text_line(file, d);
    line.push('\n');
    out.write_all(line.as_bytes())
}

/// Appends `s` as a JSON string literal, escaped as every JSON record is (serde_json's
/// escapes plus invisible and bidi characters as `\uXXXX`, see `escape::push_json_str`).
pub(crate) fn push_json_string(buf: &mut String, s: &str) {
    crate::term::escape::push_json_string(buf, s);
}

/// Appends `,"key":` (or `"key":` right after the opening brace).
pub(crate) fn push_key(buf: &mut String, key: &str) {
    if !buf.ends_with('{') {
        buf.push(',');
    }
    buf.push('"');
    buf.push_str(key);
    buf.push_str("\":");
}

/// Appends a number or `null`.
pub(crate) fn push_opt_num(buf: &mut String, value: Option<impl std::fmt::Display>) {
    match value {
        Some(v) => {
            let _ = write!(buf, "{v}");
        }
        None => buf.push_str("null"),
    }
}

/// One diagnostic as a JSON Lines record, newline included.
pub fn json_record(file: &str, d: &Diagnostic) -> String {
    let mut o = String::with_capacity(160 + d.message.len());
    o.push_str("{\"type\":\"diagnostic\"");
    push_key(&mut o, "file");
    push_json_string(&mut o, file);
    push_key(&mut o, "conn");
    push_opt_num(&mut o, d.conn);
    push_key(&mut o, "packet");
    push_opt_num(&mut o, d.packet);
    push_key(&mut o, "dir");
    match d.dir {
        Some(dir) => push_json_string(&mut o, dir.short()),
        None => o.push_str("null"),
    }
    push_key(&mut o, "severity");
    push_json_string(&mut o, d.severity.as_str());
    push_key(&mut o, "kind");
    push_json_string(&mut o, d.kind.name);
    push_key(&mut o, "message");
    push_json_string(&mut o, &d.message);
    o.push_str("}\n");
    o
}

/// Writes one diagnostic as a JSON Lines record.
pub fn write_json<W: Write + ?Sized>(out: &mut W, file: &str, d: &Diagnostic) -> io::Result<()> {
    out.write_all(json_record(file, d).as_bytes())
}

/// A file that could not be read at all, as a JSON Lines record
/// (`{"type":"read_error","file":..,"message":..}`).
pub fn read_error_record(file: &str, message: &str) -> String {
    let mut o = String::from("{\"type\":\"read_error\"");
    push_key(&mut o, "file");
    push_json_string(&mut o, file);
    push_key(&mut o, "message");
    push_json_string(&mut o, message);
    o.push_str("}\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Severity;
    use crate::flow::analysis::Direction;

    fn diag(conn: Option<u32>, dir: Option<Direction>, packet: Option<u64>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            kind: crate::rules::UNMASKED_CLIENT_FRAME,
            conn,
            dir,
            packet,
            message: "client frames must be masked (RFC 6455 §5.1)".into(),
        }
    }

    #[test]
    fn text_line_with_every_location_part() {
        let d = diag(Some(0), Some(Direction::ClientToServer), Some(97));
        assert_eq!(
            text_line("capture.pcap", &d),
            "capture.pcap: packet 97, conn 0 c2s: error[unmasked-client-frame]: client frames must be masked (RFC 6455 §5.1)"
        );
    }

    #[test]
    fn text_line_without_conn_dir_or_packet() {
        let d = diag(None, None, Some(5));
        assert_eq!(
            text_line("a.pcap", &d),
            "a.pcap: packet 5: error[unmasked-client-frame]: client frames must be masked (RFC 6455 §5.1)"
        );
        let d = diag(Some(3), None, Some(5));
        assert!(text_line("a.pcap", &d).starts_with("a.pcap: packet 5, conn 3: error["));
        let mut d = diag(None, None, None);
        d.severity = Severity::Warning;
        assert!(text_line("a.pcap", &d).starts_with("a.pcap: warning[unmasked-client-frame]: "));
    }

    #[test]
    fn capture_bytes_in_messages_and_names_are_escaped() {
        let mut d = diag(None, None, Some(1));
        d.message = "got \x1b[31mred\nline".into();
        let line = text_line("we\nird.pcap", &d);
        assert!(!line.contains('\n') && !line.contains('\x1b'), "{line}");
        assert!(line.starts_with("we\\nird.pcap: "));
    }

    #[test]
    fn json_record_keys_and_nulls() {
        let d = diag(Some(0), Some(Direction::ServerToClient), Some(97));
        let v: serde_json::Value = serde_json::from_str(&json_record("c.pcap", &d)).unwrap();
        assert_eq!(v["type"], "diagnostic");
        assert_eq!(v["file"], "c.pcap");
        assert_eq!(v["conn"], 0);
        assert_eq!(v["packet"], 97);
        assert_eq!(v["dir"], "s2c");
        assert_eq!(v["severity"], "error");
        assert_eq!(v["kind"], "unmasked-client-frame");
        assert_eq!(v["message"], "client frames must be masked (RFC 6455 §5.1)");
        let rec = json_record("c\"q.pcap", &diag(None, None, None));
        assert!(rec.starts_with("{\"type\":\"diagnostic\","), "{rec}");
        let v: serde_json::Value = serde_json::from_str(&rec).unwrap();
        assert!(v["conn"].is_null() && v["dir"].is_null() && v["packet"].is_null());
        assert_eq!(v["file"], "c\"q.pcap");
    }
}
