//! `check` results as JUnit XML, the report format CI servers display natively:
//! `<testsuites>` > one `<testsuite>` per capture > one `<testcase>` per rule group
//! (handshake, framing, messages/utf-8, close, tcp/connection, and expectations / other
//! when they apply). A group fails when it has a diagnostic at error severity; its
//! `<failure>` lists the group's diagnostics as text lines. Warnings and notes of a
//! passing group go to its `<system-out>`; the file's summary to the suite's.
//! A capture that could not be read is a suite with one `read` case in `<error>`.

use crate::check::report::diagnostic::text_line;
use crate::check::{Diagnostic, RuleGroup};
use crate::event::Severity;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};

/// Most diagnostic lines kept per test case; the rest are counted, so a capture with
/// millions of anomalies costs bounded memory.
pub const MAX_LINES_PER_CASE: usize = 1000;

/// Appends `s` escaped for XML character data (`attr = false`) or a double- or
/// single-quoted attribute value (`attr = true`). `& < > " '` become entities; in
/// attributes tab, CR and LF become character references so that they survive
/// attribute normalisation; other C0 controls and U+FFFE/U+FFFF, which XML 1.0 cannot
/// carry at all, are written as visible `\xNN` / `\u{NNNN}` text; DEL and C1 controls as
/// character references; other invisible or reordering characters (bidi controls, tags,
/// soft hyphen...) as visible `\u{NNNN}` text.
pub fn escape_into(out: &mut String, s: &str, attr: bool) {
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' if attr => {
                let _ = write!(out, "&#{};", c as u32);
            }
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            '\u{7f}'..='\u{9f}' => {
                let _ = write!(out, "&#x{:X};", c as u32);
            }
            '\u{fffe}' | '\u{ffff}' => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            // Bidi controls, zero-width and tag characters: visible text, not references
            // that a report viewer would turn back into hidden or reordering characters.
            c if crate::term::escape::is_invisible(c) => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// `s` escaped for XML (see [`escape_into`]).
pub fn escape(s: &str, attr: bool) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    escape_into(&mut out, s, attr);
    out
}

/// The diagnostics of one rule group of one capture.
#[derive(Debug, Default)]
struct Case {
    errors: u64,
    /// Kinds at error severity, in order of first appearance.
    error_kinds: Vec<&'static str>,
    lines: Vec<String>,
    more: u64,
}

/// The test suite of one capture, built while it is checked.
#[derive(Debug)]
pub struct JunitSuite {
    file: String,
    cases: BTreeMap<RuleGroup, Case>,
    summary: String,
    read_error: Option<String>,
}

impl JunitSuite {
    /// The suite of `file`, with no diagnostics yet.
    pub fn new(file: &str) -> Self {
        JunitSuite {
            file: file.to_string(),
            cases: BTreeMap::new(),
            summary: String::new(),
            read_error: None,
        }
    }

    /// The suite of a file that could not be read at all.
    pub fn unreadable(file: &str, message: &str) -> Self {
        let mut suite = JunitSuite::new(file);
        suite.read_error = Some(message.to_string());
        suite
    }

    /// Files a diagnostic under its rule group.
    pub fn diagnostic(&mut self, d: &Diagnostic) {
        let case = self.cases.entry(d.kind.group).or_default();
        if d.severity == Severity::Error {
            case.errors += 1;
            if !case.error_kinds.contains(&d.kind.name) {
                case.error_kinds.push(d.kind.name);
            }
        }
        if case.lines.len() < MAX_LINES_PER_CASE {
            case.lines.push(text_line(&self.file, d));
        } else {
            case.more += 1;
        }
    }

    /// Sets the summary text shown in the suite's `<system-out>`.
    pub fn set_summary(&mut self, text: String) {
        self.summary = text;
    }

    /// The groups reported as test cases.
    fn groups(&self, with_expectations: bool) -> impl Iterator<Item = RuleGroup> + '_ {
        RuleGroup::ALL.into_iter().filter(move |g| match g {
            RuleGroup::Expectations => with_expectations || self.cases.contains_key(g),
            // Only captures with TLS findings have a TLS test case.
            RuleGroup::Tls | RuleGroup::App => self.cases.contains_key(g),
            _ => true,
        })
    }

    /// (tests, failures, errors)
    fn counts(&self, with_expectations: bool) -> (u64, u64, u64) {
        if self.read_error.is_some() {
            return (1, 0, 1);
        }
        let mut tests = 0;
        let mut failures = 0;
        for g in self.groups(with_expectations) {
            tests += 1;
            if self.cases.get(&g).is_some_and(|c| c.errors > 0) {
                failures += 1;
            }
        }
        (tests, failures, 0)
    }

    fn write_xml(&self, o: &mut String, with_expectations: bool) {
        let (tests, failures, errors) = self.counts(with_expectations);
        let name = escape(&self.file, true);
        let _ = writeln!(
            o,
            "  <testsuite name=\"{name}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"0\">"
        );
        if let Some(message) = &self.read_error {
            let _ = writeln!(o, "    <testcase name=\"read\" classname=\"{name}\">");
            let _ = writeln!(
                o,
                "      <error message=\"{}\" type=\"read-error\"/>",
                escape(message, true)
            );
            o.push_str("    </testcase>\n");
            o.push_str("  </testsuite>\n");
            return;
        }
        for g in self.groups(with_expectations) {
            let _ = write!(
                o,
                "    <testcase name=\"{}\" classname=\"{name}\"",
                escape(g.name(), true)
            );
            let Some(case) = self.cases.get(&g) else {
                o.push_str("/>\n");
                continue;
            };
            o.push_str(">\n");
            let mut body = String::new();
            for line in &case.lines {
                body.push_str(line);
                body.push('\n');
            }
            if case.more > 0 {
                let _ = writeln!(body, "... and {} more", case.more);
            }
            if case.errors > 0 {
                let message = format!(
                    "{} error{}: {}",
                    case.errors,
                    crate::check::plural(case.errors),
                    case.error_kinds.join(", ")
                );
                let kind = case.error_kinds.first().copied().unwrap_or("");
                let _ = write!(
                    o,
                    "      <failure message=\"{}\" type=\"{}\">",
                    escape(&message, true),
                    escape(kind, true)
                );
                escape_into(o, &body, false);
                o.push_str("</failure>\n");
            } else {
                o.push_str("      <system-out>");
                escape_into(o, &body, false);
                o.push_str("</system-out>\n");
            }
            o.push_str("    </testcase>\n");
        }
        if !self.summary.is_empty() {
            o.push_str("    <system-out>");
            escape_into(o, &self.summary, false);
            o.push_str("</system-out>\n");
        }
        o.push_str("  </testsuite>\n");
    }
}

/// The whole JUnit report of a `check` run: suites are collected, then written at once
/// (the totals come first in the XML).
#[derive(Debug, Default)]
pub struct JunitReport {
    with_expectations: bool,
    suites: Vec<JunitSuite>,
}

impl JunitReport {
    /// An empty report; `with_expectations` adds an `expectations` test case to every
    /// suite (set when the run asserted any expectation).
    pub fn new(with_expectations: bool) -> Self {
        JunitReport {
            with_expectations,
            suites: Vec::new(),
        }
    }

    /// Adds a finished suite.
    pub fn push(&mut self, suite: JunitSuite) {
        self.suites.push(suite);
    }

    /// The report as an XML document.
    pub fn xml(&self) -> String {
        let mut body = String::new();
        let (mut tests, mut failures, mut errors) = (0, 0, 0);
        for suite in &self.suites {
            let (t, f, e) = suite.counts(self.with_expectations);
            tests += t;
            failures += f;
            errors += e;
            suite.write_xml(&mut body, self.with_expectations);
        }
        let mut o = String::with_capacity(body.len() + 160);
        o.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
        let _ = writeln!(
            o,
            "<testsuites name=\"wsdissect check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"{errors}\">"
        );
        o.push_str(&body);
        o.push_str("</testsuites>\n");
        o
    }

    /// Writes the report.
    pub fn write<W: Write + ?Sized>(&self, out: &mut W) -> io::Result<()> {
        out.write_all(self.xml().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::analysis::Direction;

    #[test]
    fn escaping_quotes_markup_and_controls() {
        assert_eq!(
            escape("a\"b'c<d>&e", true),
            "a&quot;b&apos;c&lt;d&gt;&amp;e"
        );
        assert_eq!(escape("l1\nl2\tx\ry", true), "l1&#10;l2&#9;x&#13;y");
        assert_eq!(escape("l1\nl2\tx\ry", false), "l1\nl2\tx&#13;y");
        // NUL, ESC and BEL cannot appear in XML 1.0, even as references.
        assert_eq!(escape("\0\x1b[1m\x07", false), "\\x00\\x1b[1m\\x07");
        assert_eq!(escape("\u{7f}\u{85}", false), "&#x7F;&#x85;");
        assert_eq!(escape("\u{fffe}", true), "\\u{fffe}");
        assert_eq!(escape("é — ✓", false), "é — ✓");
        let all: String = (0u32..0x300).filter_map(char::from_u32).collect();
        let escaped = escape(&all, true);
        assert!(
            escaped
                .chars()
                .all(|c| !c.is_control() && !matches!(c, '<' | '>' | '"' | '\'')),
            "{escaped}"
        );
        // Every `&` starts an entity or a character reference.
        for (i, _) in escaped.match_indices('&') {
            let rest = &escaped[i..];
            assert!(
                ["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#"]
                    .iter()
                    .any(|p| rest.starts_with(p)),
                "{rest}"
            );
        }
    }

    fn diag(name: &'static str, severity: Severity, packet: u64) -> Diagnostic {
        let kind = crate::rules::kind(name).expect("a kind of the table");
        Diagnostic {
            severity,
            kind,
            conn: Some(0),
            dir: Some(Direction::ServerToClient),
            packet: Some(packet),
            message: format!("<{kind}> & \"more\""),
        }
    }

    #[test]
    fn suites_cases_and_failures() {
        let mut report = JunitReport::new(false);
        let mut suite = JunitSuite::new("a&b.pcap");
        suite.diagnostic(&diag("accept-mismatch", Severity::Error, 6));
        suite.diagnostic(&diag("missing-key", Severity::Error, 6));
        suite.diagnostic(&diag("tcp-gap", Severity::Warning, 9));
        suite.diagnostic(&diag("close-not-answered", Severity::Note, 10));
        suite.set_summary("a&b.pcap: summary\n".into());
        report.push(suite);
        report.push(JunitSuite::unreadable("gone.pcap", "No such file"));
        let xml = report.xml();
        // 5 fixed groups; one failing (handshake); the unreadable file: 1 error.
        assert!(
            xml.contains(
                "<testsuites name=\"wsdissect check\" tests=\"6\" failures=\"1\" errors=\"1\">"
            ),
            "{xml}"
        );
        assert!(xml.contains(
            "<testsuite name=\"a&amp;b.pcap\" tests=\"5\" failures=\"1\" errors=\"0\" skipped=\"0\">"
        ));
        assert!(xml.contains(
            "<failure message=\"2 errors: accept-mismatch, missing-key\" type=\"accept-mismatch\">"
        ));
        assert!(
            xml.contains("error[accept-mismatch]: &lt;accept-mismatch&gt; &amp; &quot;more&quot;")
        );
        // close-not-answered is a connection finding, not a Close-frame one.
        assert!(xml.contains("<testcase name=\"tcp/connection\" classname=\"a&amp;b.pcap\">"));
        assert!(xml.contains("<testcase name=\"close\" classname=\"a&amp;b.pcap\"/>"));
        assert!(!xml.contains("name=\"other\""));
        assert!(xml.contains("<testcase name=\"framing\" classname=\"a&amp;b.pcap\"/>"));
        assert!(!xml.contains("name=\"expectations\""));
        assert!(xml.contains("<error message=\"No such file\" type=\"read-error\"/>"));
        assert_eq!(xml.matches("<testcase ").count(), 6);
    }

    #[test]
    fn expectations_case_when_asked_and_lines_capped() {
        let mut report = JunitReport::new(true);
        let mut suite = JunitSuite::new("x.pcap");
        for p in 0..(MAX_LINES_PER_CASE as u64 + 5) {
            suite.diagnostic(&diag("tcp-gap", Severity::Warning, p));
        }
        report.push(suite);
        let xml = report.xml();
        assert!(xml.contains("<testcase name=\"expectations\" classname=\"x.pcap\"/>"));
        assert!(xml.contains("... and 5 more"));
        assert!(xml.contains("tests=\"6\" failures=\"0\""));
    }
}
