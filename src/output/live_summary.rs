//! The summary `wsdissect live` prints when a capture stops: what was seen (connections,
//! handshakes, frames and messages per direction, close codes, anomalies) and what the
//! capture itself reported (packets received and dropped), on one screen.
//!
//! [`Tally`] counts from the event stream alongside the chosen renderer; [`write_summary`]
//! prints the counts with facts only the capture knows ([`CaptureFacts`]).

use crate::event::{Event, EventSink, Severity};
use crate::ws::{CloseCode, OpCode};
use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::Duration;

/// Frame kinds counted per direction, in display order.
const FRAME_KINDS: [&str; 7] = [
    "text",
    "binary",
    "continuation",
    "ping",
    "pong",
    "close",
    "reserved",
];

fn kind_index(op: OpCode) -> usize {
    match op {
        OpCode::Text => 0,
        OpCode::Binary => 1,
        OpCode::Continuation => 2,
        OpCode::Ping => 3,
        OpCode::Pong => 4,
        OpCode::Close => 5,
        OpCode::ReservedData(_) | OpCode::ReservedControl(_) => 6,
    }
}

/// Counts gathered from the events of one run.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Connections that upgraded or tried to, by how far they got (from their end records).
    states: BTreeMap<&'static str, u64>,
    handshakes: u64,
    accept_ok: u64,
    accept_bad: u64,
    refused: u64,
    /// Frames per direction (c2s, s2c).
    frames: [u64; 2],
    /// Frames per kind ([`FRAME_KINDS`]) per direction.
    kinds: [[u64; 2]; FRAME_KINDS.len()],
    /// Complete data messages per direction (Text and Binary messages from the message
    /// layer: fragments joined).
    messages: [u64; 2],
    /// Declared payload bytes per direction.
    payload: [u64; 2],
    /// Close frames by code (`None`: no code in the body), per direction.
    closes: BTreeMap<Option<u16>, [u64; 2]>,
    /// Anomalies by kind, with the highest severity seen for the kind.
    anomalies: BTreeMap<&'static str, (Severity, u64)>,
    capture_errors: u64,
}

impl Tally {
    /// Nothing counted yet.
    pub fn new() -> Self {
        Tally::default()
    }

    /// Counts one event.
    pub fn observe(&mut self, event: &Event<'_>) {
        match event {
            Event::Handshake(h) => {
                self.handshakes += 1;
                if !h.upgraded {
                    self.refused += 1;
                } else if h.accept.is_valid() {
                    self.accept_ok += 1;
                } else {
                    self.accept_bad += 1;
                }
            }
            Event::Frame(f) => {
                let d = f.dir.index();
                let op = f.header.opcode;
                self.frames[d] += 1;
                self.kinds[kind_index(op)][d] += 1;
                self.payload[d] = self.payload[d].saturating_add(f.header.payload_len);
                if op == OpCode::Close {
                    self.closes
                        .entry(f.close_code.map(|c| c.code()))
                        .or_default()[d] += 1;
                }
            }
            Event::ConnectionEnd(c) => {
                *self.states.entry(c.state.as_str()).or_default() += 1;
            }
            Event::Anomaly(a) => {
                let entry = self.anomalies.entry(a.kind.name).or_insert((a.severity, 0));
                entry.0 = entry.0.max(a.severity);
                entry.1 += 1;
            }
            Event::CaptureError(_) => self.capture_errors += 1,
            Event::Tls(_) | Event::AppExchange(_) => {}
            Event::Packet(_)
            | Event::HttpRequest(_)
            | Event::HttpResponse(_)
            | Event::HttpPending(_)
            | Event::PingPong(_) => {}
            Event::Message(m) => {
                if matches!(m.opcode, OpCode::Text | OpCode::Binary) {
                    self.messages[m.dir.index()] += 1;
                }
            }
        }
    }

    /// Adds the counts of another tally (of other connections' events).
    pub fn merge(&mut self, other: Tally) {
        for (state, n) in other.states {
            *self.states.entry(state).or_default() += n;
        }
        self.handshakes += other.handshakes;
        self.accept_ok += other.accept_ok;
        self.accept_bad += other.accept_bad;
        self.refused += other.refused;
        for d in 0..2 {
            self.frames[d] += other.frames[d];
            self.messages[d] += other.messages[d];
            self.payload[d] = self.payload[d].saturating_add(other.payload[d]);
            for (mine, theirs) in self.kinds.iter_mut().zip(other.kinds) {
                mine[d] += theirs[d];
            }
        }
        for (code, n) in other.closes {
            let mine = self.closes.entry(code).or_default();
            mine[0] += n[0];
            mine[1] += n[1];
        }
        for (kind, (severity, n)) in other.anomalies {
            let entry = self.anomalies.entry(kind).or_insert((severity, 0));
            entry.0 = entry.0.max(severity);
            entry.1 += n;
        }
        self.capture_errors += other.capture_errors;
    }

    /// WebSocket connections seen (upgraded or tried to).
    pub fn websocket_connections(&self) -> u64 {
        self.states.values().sum()
    }
}

impl EventSink for Tally {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.observe(event);
        Ok(())
    }
}

/// libpcap's packet counters.
#[derive(Debug, Clone, Copy, Default)]
pub struct PcapCounters {
    /// Packets received.
    pub received: u64,
    /// Dropped because the capture buffer was full.
    pub dropped: u64,
    /// Dropped by the interface or driver.
    pub if_dropped: u64,
    /// Captured (and saved with -w) but not dissected: the queue to the dissector was full.
    pub queue_dropped: u64,
}

/// What the capture knows that the events do not.
#[derive(Debug, Clone, Copy)]
pub struct CaptureFacts<'a> {
    /// Interface captured.
    pub interface: &'a str,
    /// BPF filter, if any.
    pub filter: Option<&'a str>,
    /// What stopped the capture, in words ("Ctrl-C", "--count 100", ...).
    pub stopped_by: &'a str,
    /// How long it ran.
    pub elapsed: Duration,
    /// Packets dissected.
    pub packets: u64,
    /// TCP connections seen (every one, WebSocket or not).
    pub tcp_connections: u64,
    /// libpcap's counters, when it could give them.
    pub pcap: Option<PcapCounters>,
}

/// Writes the summary: about fifteen lines.
pub fn write_summary(
    out: &mut dyn Write,
    tally: &Tally,
    facts: &CaptureFacts<'_>,
) -> io::Result<()> {
    write_summary_fitted(out, tally, facts, None)
}

/// [`write_summary`] with its long lists (connection states, close codes, anomalies)
/// wrapped to `width` columns under their label, when the width is known.
pub fn write_summary_fitted(
    out: &mut dyn Write,
    tally: &Tally,
    facts: &CaptureFacts<'_>,
    width: Option<usize>,
) -> io::Result<()> {
    let head = format!(
        "--- capture on {} ({}) stopped by {} after {:.1} s",
        facts.interface,
        match facts.filter {
            Some(f) => format!("filter: {f}"),
            None => "no filter".to_string(),
        },
        facts.stopped_by,
        facts.elapsed.as_secs_f64()
    );
    labelled(out, "", &head, width)?;
    match facts.pcap {
        Some(p) => labelled(
            out,
            "packets:",
            &format!(
                "{} dissected; libpcap: {} received, {} dropped (buffer full), {} dropped by the interface",
                facts.packets, p.received, p.dropped, p.if_dropped
            ),
            width,
        )?,
        None => labelled(
            out,
            "packets:",
            &format!("{} dissected; libpcap gave no counters", facts.packets),
            width,
        )?,
    }
    if let Some(p) = facts.pcap
        && p.queue_dropped > 0
    {
        labelled(
            out,
            "queue full:",
            &format!(
                "{} packets captured (and saved with -w) but not dissected: the output was read too slowly (raise --queue-size)",
                p.queue_dropped
            ),
            width,
        )?;
    }
    write_counts(out, tally, facts.tcp_connections, width)
}

/// Width of the summary's labels (`connections:  `).
const LABEL_WIDTH: usize = 14;

/// One summary line, `label` padded to [`LABEL_WIDTH`] (no padding for an empty label),
/// the text wrapped at spaces under itself when `width` is known.
fn labelled(out: &mut dyn Write, label: &str, text: &str, width: Option<usize>) -> io::Result<()> {
    let first = if label.is_empty() {
        String::new()
    } else {
        format!("{label:<LABEL_WIDTH$}")
    };
    let indent = " ".repeat(first.len());
    let mut lines = String::new();
    crate::term::width::push_wrapped(
        &mut lines,
        &first,
        &indent,
        text,
        width,
        crate::term::style::Style::plain(),
        crate::term::style::Role::Dim,
    );
    out.write_all(lines.as_bytes())
}

/// The counts of [`write_summary`] after its capture lines: connections, handshakes,
/// frames per kind and direction, close codes, anomalies; lists wrapped to `width`.
pub fn write_counts(
    out: &mut dyn Write,
    tally: &Tally,
    tcp_connections: u64,
    width: Option<usize>,
) -> io::Result<()> {
    let mut states: Vec<String> = tally
        .states
        .iter()
        .map(|(state, n)| format!("{n} {state}"))
        .collect();
    if states.is_empty() {
        states.push("none".to_string());
    }
    labelled(
        out,
        "connections:",
        &format!(
            "{} TCP, {} WebSocket ({})",
            tcp_connections,
            tally.websocket_connections(),
            states.join(", ")
        ),
        width,
    )?;
    labelled(
        out,
        "handshakes:",
        &format!(
            "{} ({} accept OK, {} accept failed, {} refused)",
            tally.handshakes, tally.accept_ok, tally.accept_bad, tally.refused
        ),
        width,
    )?;
    writeln!(out, "{:<14}{:>10}{:>10}", "frames", "c2s", "s2c")?;
    let row = |out: &mut dyn Write, label: &str, v: [u64; 2]| {
        writeln!(out, "  {label:<12}{:>10}{:>10}", v[0], v[1])
    };
    row(out, "all", tally.frames)?;
    for (i, name) in FRAME_KINDS.iter().enumerate() {
        // Reserved opcodes only when there were some: they are rare and always anomalous.
        if *name != "reserved" || tally.kinds[i] != [0, 0] {
            row(out, name, tally.kinds[i])?;
        }
    }
    row(out, "messages", tally.messages)?;
    row(out, "payload B", tally.payload)?;
    if tally.closes.is_empty() {
        writeln!(out, "close codes:  none")?;
    } else {
        let closes: Vec<String> = tally
            .closes
            .iter()
            .map(|(code, n)| match code {
                Some(code) => format!(
                    "{code} {} (c2s {}, s2c {})",
                    CloseCode::from(*code).name(),
                    n[0],
                    n[1]
                ),
                None => format!("no code (c2s {}, s2c {})", n[0], n[1]),
            })
            .collect();
        labelled(out, "close codes:", &closes.join("; "), width)?;
    }
    if tally.anomalies.is_empty() {
        writeln!(out, "anomalies:    none")?;
    } else {
        let list: Vec<String> = tally
            .anomalies
            .iter()
            .map(|(kind, (severity, n))| format!("{kind} ×{n} ({})", severity.as_str()))
            .collect();
        labelled(out, "anomalies:", &list.join(", "), width)?;
    }
    if tally.capture_errors > 0 {
        writeln!(out, "capture errors: {}", tally.capture_errors)?;
    }
    out.flush()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{
        Anomaly, ConnectionSummary, Endpoints, FrameEvent, MessageEvent, TcpEnd, UpgradeState,
    };
    use crate::flow::analysis::Direction;
    use crate::ws::FrameHeader;

    fn frame(dir: Direction, bytes: &[u8]) -> (FrameHeader, Direction) {
        (FrameHeader::parse(bytes).expect("whole header"), dir)
    }

    fn feed(t: &mut Tally, header: FrameHeader, dir: Direction, close: Option<u16>) {
        let ev = FrameEvent {
            conn: 0,
            dir,
            packet: 1,
            first_packet: 1,
            rel_time: 0.0,
            header,
            payload: &[],
            payload_complete: true,
            close_code: close.map(CloseCode::from),
            close_reason: &[],
        };
        t.observe(&Event::Frame(&ev));
    }

    /// Two tallies of alternate events, merged, count what one tally of them all counts
    /// (the dissection threads' tallies are merged so).
    #[test]
    fn merged_tallies_count_as_one() {
        let c2s = Direction::ClientToServer;
        let s2c = Direction::ServerToClient;
        let frames = [
            (&[0x01u8, 0x03][..], s2c, None),
            (&[0x80, 0x02][..], s2c, None),
            (&[0x89, 0x85, 1, 2, 3, 4][..], c2s, None),
            (&[0x88, 0x02][..], s2c, Some(1000)),
            (&[0x88, 0x82, 0, 0, 0, 0][..], c2s, Some(1001)),
            (&[0x88, 0x82, 0, 0, 0, 0][..], c2s, Some(1000)),
        ];
        let (mut all, mut even, mut odd) = (Tally::new(), Tally::new(), Tally::new());
        for (i, (bytes, dir, close)) in frames.into_iter().enumerate() {
            let (h, d) = frame(dir, bytes);
            feed(&mut all, h, d, close);
            feed(if i % 2 == 0 { &mut even } else { &mut odd }, h, d, close);
        }
        for (i, severity) in [Severity::Note, Severity::Error, Severity::Warning]
            .into_iter()
            .enumerate()
        {
            let anomaly = Anomaly {
                kind: crate::rules::TCP_GAP,
                severity,
                conn: Some(0),
                dir: None,
                packet: 3,
                message: String::new(),
            };
            all.observe(&Event::Anomaly(&anomaly));
            (if i % 2 == 0 { &mut even } else { &mut odd }).observe(&Event::Anomaly(&anomaly));
        }
        even.merge(odd);
        assert_eq!(format!("{even:?}"), format!("{all:?}"));
        assert_eq!(even.anomalies.get("tcp-gap"), Some(&(Severity::Error, 3)));
    }

    /// A fragmented text message (RFC 6455 §5.7: "Hel" + "lo"), a ping, and a close each way.
    #[test]
    fn counts_frames_messages_and_closes() {
        let mut t = Tally::new();
        let c2s = Direction::ClientToServer;
        let s2c = Direction::ServerToClient;
        for (bytes, dir, close) in [
            (&[0x01u8, 0x03][..], s2c, None),           // Text, not FIN
            (&[0x80, 0x02][..], s2c, None),             // Continuation, FIN
            (&[0x89, 0x85, 1, 2, 3, 4][..], c2s, None), // masked Ping, 5 bytes
            (&[0x82, 0x7E, 0x01, 0x00][..], s2c, None), // Binary, 256 bytes, FIN
            (&[0x88, 0x02][..], s2c, Some(1000)),
            (&[0x88, 0x82, 0, 0, 0, 0][..], c2s, Some(1000)),
        ] {
            let (h, d) = frame(dir, bytes);
            feed(&mut t, h, d, close);
        }
        // The message layer reports the joined "Hello" and the binary; the ping is a control
        // frame, not a data message.
        for (opcode, dir) in [
            (OpCode::Text, s2c),
            (OpCode::Ping, c2s),
            (OpCode::Binary, s2c),
        ] {
            let m = MessageEvent {
                conn: 0,
                dir,
                opcode,
                len: 0,
                frames: 1,
                first_packet: 1,
                last_packet: 1,
                first_time: 0.0,
                rel_time: 0.0,
                payload: &[],
                payload_complete: true,
                compressed: false,
                wire_len: 0,
                close_code: None,
                close_reason: &[],
                subprotocol: None,
                app: &[],
                app_decoder: None,
                app_first: false,
            };
            t.observe(&Event::Message(&m));
        }
        assert_eq!(t.frames, [2, 4]);
        assert_eq!(t.messages, [0, 2]);
        assert_eq!(t.kinds[0], [0, 1]); // text
        assert_eq!(t.kinds[2], [0, 1]); // continuation
        assert_eq!(t.kinds[3], [1, 0]); // ping
        assert_eq!(t.payload, [5 + 2, 3 + 2 + 256 + 2]);
        assert_eq!(t.closes.get(&Some(1000)), Some(&[1, 1]));

        let anomaly = Anomaly {
            kind: crate::rules::TCP_GAP,
            severity: Severity::Warning,
            conn: Some(0),
            dir: None,
            packet: 3,
            message: String::new(),
        };
        t.observe(&Event::Anomaly(&anomaly));
        t.observe(&Event::Anomaly(&anomaly));
        let end = ConnectionSummary {
            conn: 0,
            endpoints: Endpoints {
                client: "127.0.0.1:1".parse().unwrap(),
                server: "127.0.0.1:2".parse().unwrap(),
            },
            first_packet: 1,
            last_packet: 9,
            state: UpgradeState::Upgraded,
            path: None,
            status: Some(101),
            frames: [2, 4],
            payload_bytes: [7, 263],
            close: [Some(Some(1000)), Some(Some(1000))],
            tcp_end: TcpEnd::Closed,
        };
        t.observe(&Event::ConnectionEnd(&end));

        let mut out = Vec::new();
        let facts = CaptureFacts {
            interface: "lo",
            filter: Some("tcp port 9002"),
            stopped_by: "Ctrl-C",
            elapsed: Duration::from_millis(2500),
            packets: 20,
            tcp_connections: 2,
            pcap: Some(PcapCounters {
                received: 20,
                dropped: 0,
                if_dropped: 0,
                queue_dropped: 0,
            }),
        };
        write_summary(&mut out, &t, &facts).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(
            text.contains("capture on lo (filter: tcp port 9002) stopped by Ctrl-C after 2.5 s")
        );
        assert!(text.contains("20 received, 0 dropped"), "{text}");
        assert!(text.contains("2 TCP, 1 WebSocket (1 upgraded)"), "{text}");
        assert!(
            text.contains("1000 Normal Closure (c2s 1, s2c 1)"),
            "{text}"
        );
        assert!(text.contains("tcp-gap ×2 (warning)"), "{text}");
        assert!(
            text.contains("  messages             0         2"),
            "{text}"
        );
        assert!(!text.contains("reserved"), "{text}");
        assert!(text.lines().count() <= 20, "{text}");

        // Fitted to 60 columns, the same words wrap under their label.
        let mut out = Vec::new();
        write_summary_fitted(&mut out, &t, &facts, Some(60)).unwrap();
        let fitted = String::from_utf8(out).unwrap();
        assert!(
            fitted
                .lines()
                .all(|l| crate::term::width::display_width(l) <= 60),
            "{fitted}"
        );
        let words = |s: &str| s.split_whitespace().map(str::to_string).collect::<Vec<_>>();
        assert_eq!(words(&fitted), words(&text));
        assert!(
            fitted.contains(
                "\npackets:      20 dissected; libpcap: 20 received, 0 dropped\n              (buffer full)"
            ),
            "{fitted}"
        );
    }
}
