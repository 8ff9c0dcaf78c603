//! The `check` verdict over one capture: events in, [`Diagnostic`]s and a [`FileSummary`]
//! out. Applies `--allow` / `--deny warnings`, evaluates the CI expectations (close
//! handshake, allowed close codes, minimum number of WebSocket connections) and counts
//! what the capture held. Pure: it never prints; renderers turn its output into text,
//! JSON Lines or JUnit XML.

pub mod report;

use crate::event::{ConnId, ConnectionSummary, Event, FrameEvent, Severity, UpgradeState};
use crate::flow::analysis::Direction;
use crate::ws::{CloseCode, OpCode};
use std::collections::BTreeMap;

use crate::rules::{self, Kind};

/// The kinds that say a TLS connection was not decrypted (`--expect-decrypted` makes them
/// warnings).
const NOT_DECRYPTED: [Kind; 3] = [
    rules::TLS_NO_KEY,
    rules::TLS_MISSED_HANDSHAKE,
    rules::TLS_UNSUPPORTED_CIPHER,
];
pub use crate::rules::RuleGroup;
pub use crate::rules::check_kinds::{
    CAPTURE_ERROR, EXPECT_CLOSE_CODE, EXPECT_CLOSE_HANDSHAKE, EXPECT_MIN_CONNECTIONS, NO_PACKETS,
    NO_WEBSOCKET,
};

/// One finding of `check`: an anomaly the dissector reported or a failed expectation,
/// with its effective severity (after `--deny warnings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Effective severity.
    pub severity: Severity,
    /// Its kind (an anomaly kind or one of [`crate::rules::check_kinds`]).
    pub kind: Kind,
    /// Connection, when it concerns one.
    pub conn: Option<ConnId>,
    /// Direction, when it concerns one.
    pub dir: Option<Direction>,
    /// Packet where it was noticed; `None` for findings about the whole file.
    pub packet: Option<u64>,
    /// Human explanation (may quote capture bytes: escape before display).
    pub message: String,
}

/// Close codes a CI job accepts (`--allowed-close-codes`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AllowedCloseCodes {
    /// Status codes accepted.
    pub codes: Vec<u16>,
    /// Whether a Close frame without a status code (empty body) is accepted.
    pub no_code: bool,
}

impl AllowedCloseCodes {
    /// Whether a Close frame carrying `code` (`None`: no status code) is accepted.
    pub fn allows(&self, code: Option<u16>) -> bool {
        match code {
            Some(c) => self.codes.contains(&c),
            None => self.no_code,
        }
    }
}

impl std::fmt::Display for AllowedCloseCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for c in &self.codes {
            if !first {
                f.write_str(",")?;
            }
            first = false;
            write!(f, "{c}")?;
        }
        if self.no_code {
            if !first {
                f.write_str(",")?;
            }
            f.write_str("none")?;
        }
        Ok(())
    }
}

/// What a CI job expects of every capture, beyond the absence of errors.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Expectations {
    /// Every WebSocket connection ends with Close frames from both sides.
    pub close_handshake: bool,
    /// Only these close codes may appear (`None`: any).
    pub allowed_close_codes: Option<AllowedCloseCodes>,
    /// At least this many WebSocket connections (`None`: no minimum).
    pub min_connections: Option<u64>,
    /// Every TLS connection is decrypted: one that cannot be is a warning, not a note.
    pub decrypted: bool,
}

impl Expectations {
    /// Whether any expectation is set.
    pub fn any(&self) -> bool {
        self.close_handshake
            || self.allowed_close_codes.is_some()
            || self.min_connections.is_some()
            || self.decrypted
    }
}

/// How `check` judges a capture.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckConfig {
    /// Warnings count as errors (`--deny warnings`).
    pub deny_warnings: bool,
    /// Kinds dropped entirely (`--allow KIND`): neither reported nor counted.
    pub allow: Vec<String>,
    /// CI expectations.
    pub expect: Expectations,
}

impl CheckConfig {
    fn allowed(&self, kind: &str) -> bool {
        self.allow.iter().any(|k| k == kind)
    }

    fn effective(&self, severity: Severity) -> Severity {
        if self.deny_warnings && severity == Severity::Warning {
            Severity::Error
        } else {
            severity
        }
    }
}

/// Diagnostics of one kind, by effective severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KindCount {
    /// Notes.
    pub notes: u64,
    /// Warnings.
    pub warnings: u64,
    /// Errors.
    pub errors: u64,
}

impl KindCount {
    /// All diagnostics of the kind.
    pub fn total(&self) -> u64 {
        self.notes + self.warnings + self.errors
    }

    /// The highest severity present (`Note` when empty).
    pub fn worst(&self) -> Severity {
        if self.errors > 0 {
            Severity::Error
        } else if self.warnings > 0 {
            Severity::Warning
        } else {
            Severity::Note
        }
    }
}

/// What one capture held and what `check` found in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileSummary {
    /// Packets reported (those passing `--port`).
    pub packets: u64,
    /// Connections that upgraded to WebSocket or tried to (a handshake or a WebSocket
    /// connection record was seen).
    pub connections: u64,
    /// Connections decoded as WebSocket: upgraded with a 101, or assumed (`--ws-port`).
    pub websocket_connections: u64,
    /// Upgrades answered with 101 and a valid Sec-WebSocket-Accept.
    pub handshakes_ok: u64,
    /// Upgrades refused, or answered with a missing or wrong accept key.
    pub handshakes_failed: u64,
    /// WebSocket frames per direction (c2s, s2c).
    pub frames: [u64; 2],
    /// Data messages (Text, Binary, reserved data opcodes), fragments joined; `None` when
    /// frames were decoded but no message was reported, i.e. the count is unknown.
    pub messages: Option<u64>,
    /// Close frames by status code (`None`: a Close frame without a code).
    pub close_codes: BTreeMap<Option<u16>, u64>,
    /// Diagnostics by kind (anomalies and failed expectations, after `--allow`).
    pub by_kind: BTreeMap<&'static str, KindCount>,
    /// Diagnostics at error severity (after `--deny warnings`).
    pub errors: u64,
    /// Diagnostics at warning severity.
    pub warnings: u64,
    /// Diagnostics at note severity.
    pub notes: u64,
}

impl FileSummary {
    /// Frames in both directions.
    pub fn total_frames(&self) -> u64 {
        self.frames[0] + self.frames[1]
    }
}

/// What a check does with the events it only counts (packets, frames other than Close,
/// messages): kept apart so that a dissection thread can count its own connections'
/// events and hand [`FileCheck`] only the others ([`FileCheck::add_counts`]).
#[derive(Debug, Default, Clone, Copy)]
pub struct CheckCounts {
    packets: u64,
    handshakes_ok: u64,
    handshakes_failed: u64,
    frames: [u64; 2],
    data_messages: u64,
    any_message: bool,
}

impl CheckCounts {
    /// Counts `event` when counting is all a check does with it; `false` when the check
    /// must see the event itself.
    pub fn count(&mut self, event: &Event<'_>) -> bool {
        match event {
            Event::Packet(_) => self.packets += 1,
            Event::Frame(f) if f.header.opcode != OpCode::Close => {
                self.frames[f.dir.index()] += 1;
            }
            Event::Message(m) => {
                self.any_message = true;
                if m.opcode.is_data() {
                    self.data_messages += 1;
                }
            }
            Event::Handshake(h) => {
                if h.upgraded && h.accept.is_valid() {
                    self.handshakes_ok += 1;
                } else {
                    self.handshakes_failed += 1;
                }
            }
            Event::PingPong(_)
            | Event::Tls(_)
            | Event::AppExchange(_)
            | Event::HttpPending(_)
            | Event::HttpRequest(_)
            | Event::HttpResponse(_) => {}
            Event::Frame(_)
            | Event::Anomaly(_)
            | Event::ConnectionEnd(_)
            | Event::CaptureError(_) => return false,
        }
        true
    }

    fn add(&mut self, other: CheckCounts) {
        self.packets += other.packets;
        self.handshakes_ok += other.handshakes_ok;
        self.handshakes_failed += other.handshakes_failed;
        self.frames[0] += other.frames[0];
        self.frames[1] += other.frames[1];
        self.data_messages += other.data_messages;
        self.any_message |= other.any_message;
    }
}

/// The check of one capture in progress: feed it every event with [`FileCheck::observe`],
/// then call [`FileCheck::finish`].
#[derive(Debug)]
pub struct FileCheck<'c> {
    config: &'c CheckConfig,
    summary: FileSummary,
    counts: CheckCounts,
    unreadable: Option<String>,
    /// A TLS connection could not be decrypted: a capture without visible WebSocket may
    /// hold it inside (wss://).
    tls_seen: bool,
}

impl<'c> FileCheck<'c> {
    /// A check with nothing seen yet.
    pub fn new(config: &'c CheckConfig) -> Self {
        FileCheck {
            config,
            summary: FileSummary::default(),
            counts: CheckCounts::default(),
            unreadable: None,
            tls_seen: false,
        }
    }

    /// Takes one event; calls `emit` for each diagnostic it causes, as it happens.
    pub fn observe(&mut self, event: &Event<'_>, emit: &mut dyn FnMut(&Diagnostic)) {
        if self.counts.count(event) {
            return;
        }
        match event {
            Event::Frame(f) => {
                // Close frames: the others were counted.
                self.summary.frames[f.dir.index()] += 1;
                self.close_frame(f, emit);
            }
            Event::Anomaly(a) => {
                self.tls_seen |= NOT_DECRYPTED.contains(&a.kind);
                self.report(
                    Diagnostic {
                        severity: if self.config.expect.decrypted && NOT_DECRYPTED.contains(&a.kind)
                        {
                            Severity::Warning.max(a.severity)
                        } else {
                            a.severity
                        },
                        kind: a.kind,
                        conn: a.conn,
                        dir: a.dir,
                        packet: Some(a.packet),
                        message: a.message.clone(),
                    },
                    emit,
                )
            }
            Event::ConnectionEnd(c) => self.connection_end(c, emit),
            Event::CaptureError(p) => {
                if p.packets_read == 0 {
                    // Nothing could be read: the caller reports the file as unreadable.
                    self.unreadable = Some(p.message.clone());
                } else {
                    self.report(
                        Diagnostic {
                            severity: Severity::Warning,
                            kind: CAPTURE_ERROR,
                            conn: None,
                            dir: None,
                            packet: None,
                            message: format!(
                                "{} (only the {} packets before it were checked)",
                                p.message, p.packets_read
                            ),
                        },
                        emit,
                    );
                }
            }
            Event::HttpRequest(_)
            | Event::HttpResponse(_)
            | Event::Handshake(_)
            | Event::Packet(_)
            | Event::Message(_)
            | Event::HttpPending(_)
            | Event::PingPong(_)
            | Event::Tls(_)
            | Event::AppExchange(_) => {}
        }
    }

    /// Takes in what a [`CheckCounts`] counted of events this check did not see.
    pub fn add_counts(&mut self, counts: CheckCounts) {
        self.counts.add(counts);
    }

    /// Why the capture could not be read at all, if that is what happened (no packet
    /// before the error).
    pub fn unreadable(&self) -> Option<&str> {
        self.unreadable.as_deref()
    }

    /// Evaluates the whole-file expectations (emitting their diagnostics) and returns the
    /// summary.
    pub fn finish(mut self, emit: &mut dyn FnMut(&Diagnostic)) -> FileSummary {
        self.summary.packets += self.counts.packets;
        self.summary.handshakes_ok += self.counts.handshakes_ok;
        self.summary.handshakes_failed += self.counts.handshakes_failed;
        self.summary.frames[0] += self.counts.frames[0];
        self.summary.frames[1] += self.counts.frames[1];
        if let Some(min) = self.config.expect.min_connections {
            let n = self.summary.websocket_connections;
            if n < min {
                self.report(
                    Diagnostic {
                        severity: Severity::Error,
                        kind: EXPECT_MIN_CONNECTIONS,
                        conn: None,
                        dir: None,
                        packet: None,
                        message: format!(
                            "{n} WebSocket connection{}, expected at least {min}",
                            plural(n)
                        ),
                    },
                    emit,
                );
            }
        }
        // A file with nothing to check passes no CI silently.
        if self.summary.packets == 0 {
            self.report(
                Diagnostic {
                    severity: Severity::Warning,
                    kind: NO_PACKETS,
                    conn: None,
                    dir: None,
                    packet: None,
                    message: "no packets to check: the capture holds none, or none passed --port"
                        .to_string(),
                },
                emit,
            );
        } else if self.summary.websocket_connections == 0
            && self.config.expect.min_connections.is_none()
        {
            let tried = self.summary.connections;
            self.report(
                Diagnostic {
                    severity: Severity::Warning,
                    kind: NO_WEBSOCKET,
                    conn: None,
                    dir: None,
                    packet: None,
                    message: format!(
                        "no WebSocket connection in {} packet{}{}{} (--min-connections 0 accepts that)",
                        self.summary.packets,
                        plural(self.summary.packets),
                        if tried > 0 {
                            format!(", {tried} upgrade{} refused or failed", plural(tried))
                        } else {
                            String::new()
                        },
                        if self.tls_seen {
                            "; a TLS connection was not decrypted: wss:// needs its key log (--keylog)"
                        } else {
                            ""
                        }
                    ),
                },
                emit,
            );
        }
        self.summary.messages = if self.counts.any_message || self.summary.total_frames() == 0 {
            Some(self.counts.data_messages)
        } else {
            None
        };
        self.summary
    }

    fn close_frame(&mut self, f: &FrameEvent<'_>, emit: &mut dyn FnMut(&Diagnostic)) {
        let code = f.close_code.map(CloseCode::code);
        *self.summary.close_codes.entry(code).or_insert(0) += 1;
        let Some(allowed) = &self.config.expect.allowed_close_codes else {
            return;
        };
        if allowed.allows(code) {
            return;
        }
        let what = match f.close_code {
            Some(c) => format!("close code {} ({})", c.code(), c.name()),
            None => "a Close frame without a status code".to_string(),
        };
        let message = format!("{what} is not in the allowed set {allowed}");
        self.report(
            Diagnostic {
                severity: Severity::Error,
                kind: EXPECT_CLOSE_CODE,
                conn: Some(f.conn),
                dir: Some(f.dir),
                packet: Some(f.packet),
                message,
            },
            emit,
        );
    }

    fn connection_end(&mut self, c: &ConnectionSummary, emit: &mut dyn FnMut(&Diagnostic)) {
        self.summary.connections += 1;
        let websocket = matches!(c.state, UpgradeState::Upgraded | UpgradeState::Assumed);
        if !websocket {
            return;
        }
        self.summary.websocket_connections += 1;
        if !self.config.expect.close_handshake {
            return;
        }
        let missing: Vec<&str> = [(0, "client"), (1, "server")]
            .into_iter()
            .filter(|&(i, _)| c.close[i].is_none())
            .map(|(_, who)| who)
            .collect();
        if missing.is_empty() {
            return;
        }
        let message = format!(
            "connection ended without a close handshake: no Close frame from the {} (TCP {})",
            missing.join(" or the "),
            c.tcp_end.as_str()
        );
        self.report(
            Diagnostic {
                severity: Severity::Error,
                kind: EXPECT_CLOSE_HANDSHAKE,
                conn: Some(c.conn),
                dir: None,
                packet: Some(c.last_packet),
                message,
            },
            emit,
        );
    }

    /// Applies `--allow` and `--deny`, counts, and passes the diagnostic on.
    fn report(&mut self, mut d: Diagnostic, emit: &mut dyn FnMut(&Diagnostic)) {
        if self.config.allowed(d.kind.name) {
            return;
        }
        d.severity = self.config.effective(d.severity);
        let count = self.summary.by_kind.entry(d.kind.name).or_default();
        match d.severity {
            Severity::Error => {
                count.errors += 1;
                self.summary.errors += 1;
            }
            Severity::Warning => {
                count.warnings += 1;
                self.summary.warnings += 1;
            }
            Severity::Note => {
                count.notes += 1;
                self.summary.notes += 1;
            }
        }
        emit(&d);
    }
}

/// Counts over every file of a `check` run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Totals {
    /// Files given.
    pub files: u64,
    /// Files that could not be read at all.
    pub unreadable: u64,
    /// Diagnostics at error severity.
    pub errors: u64,
    /// Diagnostics at warning severity.
    pub warnings: u64,
    /// Diagnostics at note severity.
    pub notes: u64,
}

impl Totals {
    /// Adds a file that was checked.
    pub fn add(&mut self, summary: &FileSummary) {
        self.files += 1;
        self.errors += summary.errors;
        self.warnings += summary.warnings;
        self.notes += summary.notes;
    }

    /// Adds a file that could not be read.
    pub fn add_unreadable(&mut self) {
        self.files += 1;
        self.unreadable += 1;
    }
}

/// `""` or `"s"`.
pub fn plural(n: u64) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{Anomaly, CaptureProblem, Endpoints, TcpEnd};
    use crate::ws::FrameHeader;

    fn anomaly(name: &'static str, severity: Severity, packet: u64) -> Anomaly {
        let kind = crate::rules::kind(name).expect("a kind of the table");
        Anomaly {
            kind,
            severity,
            conn: Some(0),
            dir: Some(Direction::ServerToClient),
            packet,
            message: format!("{kind} here"),
        }
    }

    fn conn_end(
        conn: ConnId,
        state: UpgradeState,
        close: [Option<Option<u16>>; 2],
    ) -> ConnectionSummary {
        let addr = "127.0.0.1:1".parse().unwrap();
        ConnectionSummary {
            conn,
            endpoints: Endpoints {
                client: addr,
                server: addr,
            },
            first_packet: 1,
            last_packet: 40,
            state,
            path: None,
            status: None,
            frames: [0, 0],
            payload_bytes: [0, 0],
            close,
            tcp_end: TcpEnd::Reset,
        }
    }

    fn close_frame(code: Option<u16>, packet: u64) -> (FrameHeader, Option<CloseCode>, u64) {
        let payload_len = if code.is_some() { 2 } else { 0 };
        let header = FrameHeader {
            fin: true,
            rsv: 0,
            opcode: OpCode::Close,
            mask: None,
            payload_len,
            header_len: 2,
            length_encoding: crate::ws::LengthEncoding::Short,
        };
        (header, code.map(CloseCode::from), packet)
    }

    /// Feeds `events` through a check with `config`; returns diagnostics and summary. The
    /// events here are a rule's, without the packets around them, so the whole-file
    /// `no-packets` and `no-websocket` warnings are allowed (they have tests of their own,
    /// through [`run_file`]).
    fn run(config: &CheckConfig, events: &[Event<'_>]) -> (Vec<Diagnostic>, FileSummary) {
        let mut config = config.clone();
        config
            .allow
            .extend([NO_PACKETS.name.into(), NO_WEBSOCKET.name.into()]);
        run_file(&config, events)
    }

    /// [`run`] without allowing anything.
    fn run_file(config: &CheckConfig, events: &[Event<'_>]) -> (Vec<Diagnostic>, FileSummary) {
        let mut check = FileCheck::new(config);
        let mut out = Vec::new();
        for e in events {
            check.observe(e, &mut |d| out.push(d.clone()));
        }
        let summary = check.finish(&mut |d| out.push(d.clone()));
        (out, summary)
    }

    #[test]
    fn anomalies_pass_through_and_are_counted() {
        let a = anomaly("accept-mismatch", Severity::Error, 6);
        let w = anomaly("upgrade-refused", Severity::Warning, 16);
        let (diags, s) = run(
            &CheckConfig::default(),
            &[Event::Anomaly(&a), Event::Anomaly(&w), Event::Anomaly(&w)],
        );
        assert_eq!(diags.len(), 3);
        assert_eq!(diags[0].packet, Some(6));
        assert_eq!(diags[0].kind.name, "accept-mismatch");
        assert_eq!((s.errors, s.warnings, s.notes), (1, 2, 0));
        assert_eq!(s.by_kind["upgrade-refused"].warnings, 2);
        assert_eq!(s.by_kind["accept-mismatch"].worst(), Severity::Error);
    }

    #[test]
    fn an_empty_capture_is_a_no_packets_warning() {
        let (diags, s) = run_file(&CheckConfig::default(), &[]);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].kind, NO_PACKETS);
        assert_eq!(diags[0].severity, Severity::Warning);
        assert_eq!((s.errors, s.warnings), (0, 1));
        // --deny warnings makes it fail the job.
        let deny = CheckConfig {
            deny_warnings: true,
            ..CheckConfig::default()
        };
        assert_eq!(run_file(&deny, &[]).1.errors, 1);
    }

    #[test]
    fn packets_without_websocket_are_a_no_websocket_warning() {
        // A connection that tried to upgrade and was refused: packets, no WebSocket.
        let refused = conn_end(0, UpgradeState::Refused, [None, None]);
        let default = CheckConfig::default();
        let mut check = FileCheck::new(&default);
        check.summary.packets = 12;
        let mut diags = Vec::new();
        check.observe(&Event::ConnectionEnd(&refused), &mut |d| {
            diags.push(d.clone())
        });
        let s = check.finish(&mut |d| diags.push(d.clone()));
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(diags[0].kind, NO_WEBSOCKET);
        assert!(
            diags[0].message.contains("12 packets"),
            "{}",
            diags[0].message
        );
        assert_eq!(s.warnings, 1);
        // One WebSocket connection: no warning.
        let upgraded = conn_end(0, UpgradeState::Upgraded, [Some(Some(1000)); 2]);
        let mut check = FileCheck::new(&default);
        check.summary.packets = 12;
        check.observe(&Event::ConnectionEnd(&upgraded), &mut |_| {});
        let mut none = Vec::new();
        check.finish(&mut |d| none.push(d.clone()));
        assert!(none.is_empty(), "{none:?}");
        // --min-connections 0 accepts a capture without WebSocket.
        let config = CheckConfig {
            expect: Expectations {
                min_connections: Some(0),
                ..Expectations::default()
            },
            ..CheckConfig::default()
        };
        let mut check = FileCheck::new(&config);
        check.summary.packets = 12;
        let mut none = Vec::new();
        check.finish(&mut |d| none.push(d.clone()));
        assert!(none.is_empty(), "{none:?}");
    }

    #[test]
    fn allow_drops_a_kind_and_deny_promotes_warnings() {
        let a = anomaly("accept-mismatch", Severity::Error, 6);
        let w = anomaly("upgrade-refused", Severity::Warning, 16);
        let n = anomaly("inflate-context-lost", Severity::Note, 17);
        let config = CheckConfig {
            deny_warnings: true,
            allow: vec!["accept-mismatch".into()],
            ..CheckConfig::default()
        };
        let (diags, s) = run(
            &config,
            &[Event::Anomaly(&a), Event::Anomaly(&w), Event::Anomaly(&n)],
        );
        assert_eq!(diags.len(), 2);
        assert_eq!(diags[0].kind.name, "upgrade-refused");
        assert_eq!(diags[0].severity, Severity::Error);
        assert_eq!(diags[1].severity, Severity::Note);
        assert_eq!((s.errors, s.warnings, s.notes), (1, 0, 1));
        assert!(!s.by_kind.contains_key("accept-mismatch"));
    }

    #[test]
    fn close_handshake_expectation() {
        let config = CheckConfig {
            expect: Expectations {
                close_handshake: true,
                ..Expectations::default()
            },
            ..CheckConfig::default()
        };
        let both = conn_end(0, UpgradeState::Upgraded, [Some(Some(1000)), Some(None)]);
        let server_missing = conn_end(1, UpgradeState::Upgraded, [Some(Some(1000)), None]);
        let none = conn_end(2, UpgradeState::Assumed, [None, None]);
        let refused = conn_end(3, UpgradeState::Refused, [None, None]);
        let (diags, s) = run(
            &config,
            &[
                Event::ConnectionEnd(&both),
                Event::ConnectionEnd(&server_missing),
                Event::ConnectionEnd(&none),
                Event::ConnectionEnd(&refused),
            ],
        );
        assert_eq!(s.connections, 4);
        assert_eq!(s.websocket_connections, 3);
        let kinds: Vec<_> = diags.iter().map(|d| (d.kind, d.conn)).collect();
        assert_eq!(
            kinds,
            [
                (EXPECT_CLOSE_HANDSHAKE, Some(1)),
                (EXPECT_CLOSE_HANDSHAKE, Some(2))
            ]
        );
        assert!(diags[0].message.contains("from the server (TCP reset)"));
        assert!(diags[1].message.contains("from the client or the server"));
        assert_eq!(diags[0].packet, Some(40));
        assert_eq!(diags[0].severity, Severity::Error);
    }

    #[test]
    fn allowed_close_codes_expectation() {
        let config = CheckConfig {
            expect: Expectations {
                allowed_close_codes: Some(AllowedCloseCodes {
                    codes: vec![1000],
                    no_code: false,
                }),
                ..Expectations::default()
            },
            ..CheckConfig::default()
        };
        let frames: Vec<_> = [(Some(1000), 10), (Some(1001), 11), (None, 12)]
            .into_iter()
            .map(|(code, packet)| close_frame(code, packet))
            .collect();
        let events: Vec<FrameEvent<'_>> = frames
            .iter()
            .map(|&(header, close_code, packet)| FrameEvent {
                conn: 0,
                dir: Direction::ClientToServer,
                packet,
                first_packet: packet,
                rel_time: 0.0,
                header,
                payload: &[],
                payload_complete: true,
                close_code,
                close_reason: &[],
            })
            .collect();
        let events: Vec<Event<'_>> = events.iter().map(Event::Frame).collect();
        let (diags, s) = run(&config, &events);
        assert_eq!(diags.len(), 2);
        assert_eq!(diags[0].kind, EXPECT_CLOSE_CODE);
        assert_eq!(diags[0].packet, Some(11));
        assert_eq!(
            diags[0].message,
            "close code 1001 (Going Away) is not in the allowed set 1000"
        );
        assert_eq!(diags[1].packet, Some(12));
        assert_eq!(s.close_codes[&Some(1000)], 1);
        assert_eq!(s.close_codes[&None], 1);
        assert_eq!(s.frames, [3, 0]);
        // Frames but no message events: the message count is unknown, not zero.
        assert_eq!(s.messages, None);
    }

    #[test]
    fn min_connections_expectation_and_allow_of_an_expectation() {
        let mut config = CheckConfig {
            expect: Expectations {
                min_connections: Some(2),
                ..Expectations::default()
            },
            ..CheckConfig::default()
        };
        let one = conn_end(0, UpgradeState::Upgraded, [None, None]);
        let (diags, s) = run(&config, &[Event::ConnectionEnd(&one)]);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].kind, EXPECT_MIN_CONNECTIONS);
        assert_eq!(diags[0].packet, None);
        assert_eq!(
            diags[0].message,
            "1 WebSocket connection, expected at least 2"
        );
        assert_eq!(s.errors, 1);
        assert_eq!(s.messages, Some(0));
        config.allow.push(EXPECT_MIN_CONNECTIONS.name.into());
        let (diags, s) = run(&config, &[Event::ConnectionEnd(&one)]);
        assert!(diags.is_empty());
        assert_eq!(s.errors, 0);
    }

    #[test]
    fn capture_errors() {
        let config = CheckConfig::default();
        let none = CaptureProblem {
            packets_read: 0,
            message: "bad".into(),
        };
        let mut check = FileCheck::new(&config);
        check.observe(&Event::CaptureError(&none), &mut |_| {
            panic!("no diagnostic")
        });
        assert_eq!(check.unreadable(), Some("bad"));
        let some = CaptureProblem {
            packets_read: 35,
            message: "capture cut off in the middle of packet 36".into(),
        };
        let (diags, _) = run(&config, &[Event::CaptureError(&some)]);
        assert_eq!(diags[0].kind, CAPTURE_ERROR);
        assert_eq!(diags[0].severity, Severity::Warning);
    }

    #[test]
    fn every_kind_lands_in_its_own_group() {
        // Independent of the table: each kind's group from the part of RFC 6455 / 7692 it
        // enforces (§4 handshake, §5.1-5.5 framing, §5.5.1 and §7 closing, §5.6/§8.1 and
        // RFC 7692 §7.2 message contents, TCP and whole-connection findings).
        use crate::rules::{self, RuleGroup::*};
        let expected = [
            (rules::METHOD_NOT_GET, Handshake),
            (rules::HTTP_VERSION_TOO_OLD, Handshake),
            (rules::MISSING_HOST, Handshake),
            (rules::MISSING_KEY, Handshake),
            (rules::BAD_KEY, Handshake),
            (rules::BAD_VERSION, Handshake),
            (rules::BAD_EXTENSION_OFFER, Handshake),
            (rules::FRAMES_BEFORE_101, Handshake),
            (rules::UPGRADE_REFUSED, Handshake),
            (rules::UPGRADE_NOT_WEBSOCKET, Handshake),
            (rules::MISSING_UPGRADE_HEADER, Handshake),
            (rules::MISSING_CONNECTION_UPGRADE, Handshake),
            (rules::MISSING_ACCEPT, Handshake),
            (rules::ACCEPT_MISMATCH, Handshake),
            (rules::UNOFFERED_SUBPROTOCOL, Handshake),
            (rules::UNOFFERED_EXTENSION, Handshake),
            (rules::BAD_EXTENSION_RESPONSE, Handshake),
            (rules::UNREQUESTED_101, Handshake),
            (rules::HTTP_HEAD_TOO_LARGE, Handshake),
            (rules::HTTP_MALFORMED, Handshake),
            (rules::UNMASKED_CLIENT_FRAME, Framing),
            (rules::MASKED_SERVER_FRAME, Framing),
            (rules::RSV_WITHOUT_EXTENSION, Framing),
            (rules::RESERVED_OPCODE, Framing),
            (rules::CONTROL_FRAME_TOO_LONG, Framing),
            (rules::FRAGMENTED_CONTROL_FRAME, Framing),
            (rules::CONTINUATION_WITHOUT_MESSAGE, Framing),
            (rules::NEW_MESSAGE_WHILE_FRAGMENTED, Framing),
            (rules::LENGTH_TOP_BIT, Framing),
            (rules::NON_MINIMAL_LENGTH, Framing),
            (rules::TRUNCATED_FRAME, Framing),
            (rules::CLOSE_BODY_ONE_BYTE, Close),
            (rules::CLOSE_CODE_FORBIDDEN, Close),
            (rules::CLOSE_CODE_UNASSIGNED, Close),
            (rules::DATA_AFTER_CLOSE, Close),
            (rules::INVALID_UTF8, Messages),
            (rules::INFLATE_FAILED, Messages),
            (rules::INFLATE_CONTEXT_LOST, Messages),
            (rules::DECOMPRESSION_LIMIT, Messages),
            (rules::NO_CLOSE_HANDSHAKE, Connection),
            (rules::CLOSE_NOT_ANSWERED, Connection),
            (rules::TCP_GAP, Connection),
            (rules::PAYLOAD_DISPLAY_CUT, Connection),
            (rules::CONNECTION_EVICTED, Connection),
            (rules::TLS_TAG_MISMATCH, Tls),
            (rules::TLS_RECORD_TOO_LONG, Tls),
            (rules::TLS_BAD_RECORD_HEADER, Tls),
            (rules::TLS_MALFORMED_HANDSHAKE, Tls),
            (rules::TLS_HANDSHAKE_TOO_LONG, Tls),
            (rules::TLS_NO_KEY, Tls),
            (rules::TLS_UNSUPPORTED_CIPHER, Tls),
            (rules::TLS_MISSED_HANDSHAKE, Tls),
            (rules::TLS_GAP, Tls),
            (rules::TLS_TRUNCATED_RECORD, Tls),
            (rules::TLS_ALPN_H2, Tls),
            (rules::APP_ENGINEIO_MALFORMED_PACKET, App),
            (rules::APP_ENGINEIO_MALFORMED_PAYLOAD, App),
            (rules::APP_SOCKETIO_MALFORMED_PACKET, App),
            (rules::APP_SOCKETIO_ACK_WITHOUT_EVENT, App),
            (rules::APP_SOCKETIO_DUPLICATE_ACK_ID, App),
            (rules::APP_SOCKETIO_MISSING_ATTACHMENTS, App),
            (rules::APP_SOCKETIO_UNEXPECTED_BINARY, App),
            (rules::APP_GRAPHQL_MALFORMED_MESSAGE, App),
            (rules::APP_GRAPHQL_NEXT_UNKNOWN_ID, App),
            (rules::APP_GRAPHQL_DUPLICATE_ID, App),
            (rules::APP_GRAPHQL_SUBSCRIBE_BEFORE_ACK, App),
            (rules::APP_GRAPHQL_DUPLICATE_INIT, App),
            (rules::APP_GRAPHQL_WRONG_DIRECTION, App),
            (rules::APP_JSONRPC_MALFORMED, App),
            (rules::APP_JSONRPC_INVALID_VERSION, App),
            (rules::APP_JSONRPC_RESULT_AND_ERROR, App),
            (rules::APP_JSONRPC_UNKNOWN_ID, App),
            (rules::APP_JSONRPC_DUPLICATE_ID, App),
            (rules::APP_JSONRPC_EMPTY_BATCH, App),
            (rules::APP_MQTT_MALFORMED_REMAINING_LENGTH, App),
            (rules::APP_MQTT_MALFORMED_PACKET, App),
            (rules::APP_MQTT_INCOMPLETE_PACKET, App),
            (rules::APP_MQTT_UNKNOWN_PACKET_ID, App),
            (rules::APP_STOMP_FRAME_WITHOUT_NUL, App),
            (rules::APP_STOMP_BAD_CONTENT_LENGTH, App),
            (rules::APP_STOMP_MALFORMED_FRAME, App),
            (rules::APP_STOMP_UNKNOWN_RECEIPT, App),
            (rules::APP_STOMP_UNKNOWN_SUBSCRIPTION, App),
            (rules::APP_PHOENIX_MALFORMED_MESSAGE, App),
            (rules::APP_PHOENIX_REPLY_UNKNOWN_REF, App),
            (rules::APP_ACTIONCABLE_MALFORMED_MESSAGE, App),
            (rules::APP_ACTIONCABLE_UNKNOWN_SUBSCRIPTION, App),
            (rules::APP_JSON_INVALID, App),
            (rules::APP_SIGNALR_MALFORMED_MESSAGE, App),
            (rules::APP_SIGNALR_MISSING_SEPARATOR, App),
            (rules::APP_SIGNALR_UNKNOWN_INVOCATION_ID, App),
            (rules::APP_SIGNALR_RESULT_AND_ERROR, App),
            (rules::APP_MSGPACK_MALFORMED, App),
            (rules::APP_CBOR_MALFORMED, App),
            (rules::APP_PROTOBUF_MALFORMED, App),
            (rules::APP_ZLIB_STREAM_CORRUPT, App),
            (rules::APP_ZLIB_STREAM_TOO_LARGE, App),
            (rules::APP_PENDING_DROPPED, App),
            (rules::APP_UNANSWERED_REQUEST, App),
            (CAPTURE_ERROR, Connection),
            (EXPECT_CLOSE_HANDSHAKE, Expectations),
            (EXPECT_CLOSE_CODE, Expectations),
            (EXPECT_MIN_CONNECTIONS, Expectations),
            (NO_PACKETS, Expectations),
            (NO_WEBSOCKET, Expectations),
        ];
        let table: Vec<_> = rules::ALL.iter().chain(rules::check_kinds::ALL).collect();
        assert_eq!(
            table.len(),
            expected.len(),
            "a kind is missing from this test"
        );
        for kind in table {
            let (_, group) = expected
                .iter()
                .find(|(k, _)| k.name == kind.name)
                .unwrap_or_else(|| panic!("{} has no expected group", kind.name));
            assert_eq!(kind.group, *group, "{}", kind.name);
        }
    }
}
