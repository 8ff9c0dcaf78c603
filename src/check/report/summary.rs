//! The per-file summary of `check`: a short text block (the diagnostics-by-kind part as a
//! table when the caller says the output is a terminal, plain aligned columns otherwise),
//! the JSON Lines `summary` record, and the closing line over several files.

use crate::check::report::diagnostic::{display_file, push_json_string, push_key, push_opt_num};
use crate::check::{FileSummary, Totals, plural};
use comfy_table::{CellAlignment, Table, presets::UTF8_FULL_CONDENSED};
use std::fmt::Write as _;
use std::io::{self, Write};

/// How the summary text is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SummaryStyle {
    /// Draw the diagnostics-by-kind table with box characters (for a terminal).
    pub table: bool,
}

/// `N error(s), N warning(s), N note(s)`.
pub fn counts_text(errors: u64, warnings: u64, notes: u64) -> String {
    format!(
        "{errors} error{}, {warnings} warning{}, {notes} note{}",
        plural(errors),
        plural(warnings),
        plural(notes)
    )
}

/// Close codes as `1000 (2), none (1)`, `-` when there were none.
fn close_codes_text(s: &FileSummary) -> String {
    if s.close_codes.is_empty() {
        return "-".to_string();
    }
    let parts: Vec<String> = s
        .close_codes
        .iter()
        .map(|(code, n)| match code {
            Some(c) => format!("{c} ({n})"),
            None => format!("no code ({n})"),
        })
        .collect();
    parts.join(", ")
}

/// The summary of one file as text, lines ending in `\n`.
pub fn text(file: &str, s: &FileSummary, style: SummaryStyle) -> String {
    let mut o = String::with_capacity(512);
    let _ = writeln!(o, "{}: summary", display_file(file));
    let rows: [(&str, String); 7] = [
        ("packets", s.packets.to_string()),
        (
            "connections",
            format!(
                "{} WebSocket, of {} that upgraded or tried to",
                s.websocket_connections, s.connections
            ),
        ),
        (
            "handshakes",
            format!("{} ok, {} failed", s.handshakes_ok, s.handshakes_failed),
        ),
        (
            "frames",
            format!(
                "{} ({} c2s, {} s2c)",
                s.total_frames(),
                s.frames[0],
                s.frames[1]
            ),
        ),
        (
            "messages",
            match s.messages {
                Some(n) => n.to_string(),
                None => "unknown (frames but no messages reported)".to_string(),
            },
        ),
        ("close codes", close_codes_text(s)),
        ("result", counts_text(s.errors, s.warnings, s.notes)),
    ];
    for (key, value) in rows {
        let _ = writeln!(o, "  {key:<12} {value}");
    }
    if s.by_kind.is_empty() {
        return o;
    }
    let table: Vec<[String; 3]> = s
        .by_kind
        .iter()
        .map(|(kind, c)| {
            [
                kind.to_string(),
                c.worst().as_str().to_string(),
                c.total().to_string(),
            ]
        })
        .collect();
    if style.table {
        let mut t = Table::new();
        t.load_style(UTF8_FULL_CONDENSED);
        t.set_header(vec!["kind", "severity", "count"]);
        for row in &table {
            t.add_row(row.to_vec());
        }
        if let Some(col) = t.column_mut(2) {
            col.set_cell_alignment(CellAlignment::Right);
        }
        for line in t.lines() {
            let _ = writeln!(o, "  {line}");
        }
    } else {
        let header = ["kind", "severity", "count"].map(String::from);
        let mut widths = [0usize; 3];
        for row in std::iter::once(&header).chain(&table) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        for row in std::iter::once(&header).chain(&table) {
            let _ = writeln!(
                o,
                "  {:<w0$}  {:<w1$}  {:>w2$}",
                row[0],
                row[1],
                row[2],
                w0 = widths[0],
                w1 = widths[1],
                w2 = widths[2]
            );
        }
    }
    o
}

/// Writes the text summary of one file.
pub fn write_text<W: Write + ?Sized>(
    out: &mut W,
    file: &str,
    s: &FileSummary,
    style: SummaryStyle,
) -> io::Result<()> {
    out.write_all(text(file, s, style).as_bytes())
}

/// `check --quiet`'s one line for a file: `FILE: 2 errors, 1 warning, 0 notes (436
/// WebSocket connections)`, newline included.
pub fn verdict_line(file: &str, s: &FileSummary) -> String {
    format!(
        "{}: {} ({} WebSocket connection{})\n",
        display_file(file),
        counts_text(s.errors, s.warnings, s.notes),
        s.websocket_connections,
        plural(s.websocket_connections)
    )
}

/// The closing line of a run over several files.
pub fn totals_text(t: &Totals) -> String {
    let mut line = format!(
        "checked {} file{}: {}",
        t.files,
        plural(t.files),
        counts_text(t.errors, t.warnings, t.notes)
    );
    if t.unreadable > 0 {
        let _ = write!(line, "; {} could not be read", t.unreadable);
    }
    line.push('\n');
    line
}

/// The JSON Lines `summary` record of one file, newline included.
pub fn json_record(file: &str, s: &FileSummary) -> String {
    let mut o = String::with_capacity(400);
    o.push_str("{\"type\":\"summary\"");
    push_key(&mut o, "file");
    push_json_string(&mut o, file);
    let counts = [
        ("packets", s.packets),
        ("connections", s.connections),
        ("websocket_connections", s.websocket_connections),
        ("handshakes_ok", s.handshakes_ok),
        ("handshakes_failed", s.handshakes_failed),
        ("frames", s.total_frames()),
        ("frames_c2s", s.frames[0]),
        ("frames_s2c", s.frames[1]),
    ];
    for (key, n) in counts {
        push_key(&mut o, key);
        let _ = write!(o, "{n}");
    }
    push_key(&mut o, "messages");
    push_opt_num(&mut o, s.messages);
    push_key(&mut o, "close_codes");
    o.push('{');
    for (code, n) in &s.close_codes {
        match code {
            Some(c) => push_key(&mut o, &c.to_string()),
            None => push_key(&mut o, "none"),
        }
        let _ = write!(o, "{n}");
    }
    o.push('}');
    push_key(&mut o, "anomalies");
    o.push('{');
    for (kind, c) in &s.by_kind {
        o.push_str(if o.ends_with('{') { "" } else { "," });
        push_json_string(&mut o, kind);
        let _ = write!(o, ":{}", c.total());
    }
    o.push('}');
    for (key, n) in [
        ("errors", s.errors),
        ("warnings", s.warnings),
        ("notes", s.notes),
    ] {
        push_key(&mut o, key);
        let _ = write!(o, "{n}");
    }
    o.push_str("}\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::KindCount;

    fn summary() -> FileSummary {
        let mut s = FileSummary {
            packets: 19,
            connections: 1,
            websocket_connections: 1,
            handshakes_ok: 0,
            handshakes_failed: 1,
            frames: [2, 3],
            messages: None,
            errors: 1,
            warnings: 2,
            notes: 0,
            ..FileSummary::default()
        };
        s.close_codes.insert(Some(1002), 2);
        s.close_codes.insert(None, 1);
        s.by_kind.insert(
            "accept-mismatch",
            KindCount {
                errors: 1,
                ..KindCount::default()
            },
        );
        s.by_kind.insert(
            "tcp-gap",
            KindCount {
                warnings: 2,
                ..KindCount::default()
            },
        );
        s
    }

    #[test]
    fn plain_text_block() {
        let got = text("x.pcap", &summary(), SummaryStyle::default());
        let want = "\
x.pcap: summary
  packets      19
  connections  1 WebSocket, of 1 that upgraded or tried to
  handshakes   0 ok, 1 failed
  frames       5 (2 c2s, 3 s2c)
  messages     unknown (frames but no messages reported)
  close codes  no code (1), 1002 (2)
  result       1 error, 2 warnings, 0 notes
  kind             severity  count
  accept-mismatch  error         1
  tcp-gap          warning       2
";
        assert_eq!(got, want);
    }

    #[test]
    fn terminal_table_has_the_same_rows() {
        let got = text("x.pcap", &summary(), SummaryStyle { table: true });
        assert!(got.contains('┌'), "{got}");
        let row = got.lines().find(|l| l.contains("tcp-gap")).unwrap();
        assert!(row.contains("warning") && row.contains('2'), "{row}");
    }

    #[test]
    fn json_record_parses_with_the_documented_keys() {
        let rec = json_record("x.pcap", &summary());
        assert!(rec.starts_with("{\"type\":\"summary\",\"file\":\"x.pcap\","));
        let v: serde_json::Value = serde_json::from_str(&rec).unwrap();
        assert_eq!(v["frames"], 5);
        assert_eq!(v["frames_c2s"], 2);
        assert!(v["messages"].is_null());
        assert_eq!(v["close_codes"]["1002"], 2);
        assert_eq!(v["close_codes"]["none"], 1);
        assert_eq!(v["anomalies"]["tcp-gap"], 2);
        assert_eq!(v["errors"], 1);
        assert_eq!(v["warnings"], 2);
        let empty = json_record("e.pcap", &FileSummary::default());
        let v: serde_json::Value = serde_json::from_str(&empty).unwrap();
        assert_eq!(v["close_codes"], serde_json::json!({}));
        assert_eq!(v["anomalies"], serde_json::json!({}));
    }

    #[test]
    fn totals_line() {
        let t = Totals {
            files: 3,
            unreadable: 1,
            errors: 1,
            warnings: 0,
            notes: 1,
        };
        assert_eq!(
            totals_text(&t),
            "checked 3 files: 1 error, 0 warnings, 1 note; 1 could not be read\n"
        );
    }
}
