//! The TLS analyzer: a byte-transforming layer. It parses each direction's TLS records,
//! decrypts them with the key log when it can, and hands the authenticated plaintext to its
//! child, the same HTTP analyzer (and WebSocket below it) that plain connections use.
//! Records that end in a packet label it for the packet list, as Wireshark's TLS
//! dissector does.

use super::http::HttpAnalyzer;
use super::{Analyzer, ConnState, Cx, Side};
use crate::event::{Event, TlsSessionEvent};
use crate::flow::analysis::Direction;
use crate::rules::{self, Kind};
use crate::tls::{Dir, TlsAnomalyKind, TlsConnection, TlsEvent};
use std::io;

/// The rule-table kind of a TLS anomaly.
pub fn rule_kind(kind: TlsAnomalyKind) -> Kind {
    match kind {
        TlsAnomalyKind::TagMismatch => rules::TLS_TAG_MISMATCH,
        TlsAnomalyKind::RecordTooLong => rules::TLS_RECORD_TOO_LONG,
        TlsAnomalyKind::BadRecordHeader => rules::TLS_BAD_RECORD_HEADER,
        TlsAnomalyKind::MalformedHandshake => rules::TLS_MALFORMED_HANDSHAKE,
        TlsAnomalyKind::HandshakeTooLong => rules::TLS_HANDSHAKE_TOO_LONG,
        TlsAnomalyKind::NoKey => rules::TLS_NO_KEY,
        TlsAnomalyKind::UnsupportedCipher => rules::TLS_UNSUPPORTED_CIPHER,
        TlsAnomalyKind::MissedHandshake => rules::TLS_MISSED_HANDSHAKE,
        TlsAnomalyKind::Gap => rules::TLS_GAP,
        TlsAnomalyKind::TruncatedRecord => rules::TLS_TRUNCATED_RECORD,
    }
}

/// TLS under the HTTP analyzer.
#[derive(Debug)]
pub struct TlsAnalyzer {
    tls: TlsConnection,
    child: HttpAnalyzer,
    /// ALPN selected HTTP/2: the plaintext is not HTTP/1.1, so the child gets none of it.
    h2: H2,
    /// `--inject-secrets`: attach the connection's key log lines to its packets.
    inject: bool,
    /// Length of the key log lines attached last (attached again only when they grew).
    injected: usize,
}

impl TlsAnalyzer {
    /// Nothing seen yet; up to `hold` bytes of encrypted records are kept per direction
    /// while no key is known (0: none).
    pub fn new(hold: usize) -> Self {
        TlsAnalyzer {
            tls: TlsConnection::with_hold_limit(hold),
            child: HttpAnalyzer::new(),
            h2: H2::No,
            inject: false,
            injected: 0,
        }
    }

    /// With `inject`, the first segment that ends a record once the connection's secrets
    /// are known (the ClientHello's, when the key log has them from the start) carries its
    /// key log lines, so `-w --inject-secrets` writes them before that packet.
    pub fn injecting_secrets(mut self, inject: bool) -> Self {
        self.inject = inject;
        self
    }

    fn attach_secrets(&mut self, cx: &mut Cx<'_>) {
        if !self.inject || cx.tls_label.is_empty() {
            return;
        }
        let Some(random) = self.tls.summary().client_hello.as_ref().map(|c| c.random) else {
            return;
        };
        let lines = cx.keys.export(&[random]);
        if lines.len() > self.injected {
            self.injected = lines.len();
            cx.tls_label.set_secrets(&lines);
        }
    }
}

/// HTTP/2 by ALPN (RFC 8441 WebSocket is not decoded yet): what is known for the
/// `tls-alpn-h2` note, which waits for the server's first SETTINGS frame (RFC 9113 §6.5) to
/// say whether it enabled the extended CONNECT that carries WebSocket (RFC 8441 §3).
#[derive(Debug)]
enum H2 {
    /// Not HTTP/2.
    No,
    /// HTTP/2: the server's plaintext so far, until its SETTINGS frame; `side` is the
    /// server's (the note is about it).
    Sniffing { side: Side, buf: Vec<u8> },
    /// The note was given.
    Reported,
}

/// Server plaintext looked at for the SETTINGS frame; it is the server's first frame
/// (RFC 9113 §3.4), so little is ever needed.
const H2_SNIFF_LIMIT: usize = 16 << 10;
/// HTTP/2 frame header length and the SETTINGS frame type (RFC 9113 §4.1, §6.5).
const H2_FRAME_HEADER: usize = 9;
const H2_SETTINGS: u8 = 4;
/// SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3).
const H2_ENABLE_CONNECT_PROTOCOL: u16 = 8;

/// The server's first non-ACK SETTINGS frame in `buf`: whether it sets
/// SETTINGS_ENABLE_CONNECT_PROTOCOL to 1; `None` while it is not whole yet.
fn h2_extended_connect(buf: &[u8]) -> Option<bool> {
    let mut at = 0;
    loop {
        let head = buf.get(at..at + H2_FRAME_HEADER)?;
        let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
        let body = buf.get(at + H2_FRAME_HEADER..at + H2_FRAME_HEADER + len)?;
        if head[3] == H2_SETTINGS && head[4] & 1 == 0 {
            return Some(body.chunks_exact(6).any(|p| {
                u16::from_be_bytes([p[0], p[1]]) == H2_ENABLE_CONNECT_PROTOCOL
                    && p[2..6] == [0, 0, 0, 1]
            }));
        }
        at += H2_FRAME_HEADER + len;
    }
}

/// Gives the `tls-alpn-h2` note (once), saying whether the server enabled the extended
/// CONNECT when that is known.
fn report_h2(
    h2: &mut H2,
    conn: &mut ConnState,
    cx: &mut Cx<'_>,
    extended_connect: Option<bool>,
) -> io::Result<()> {
    let H2::Sniffing { side, .. } = *h2 else {
        return Ok(());
    };
    *h2 = H2::Reported;
    let message = match extended_connect {
        Some(true) => "the server selected HTTP/2 by ALPN and enabled the extended CONNECT \
                       (SETTINGS_ENABLE_CONNECT_PROTOCOL = 1): WebSocket over HTTP/2 (RFC 8441) \
                       may be inside, not decoded yet"
            .to_string(),
        _ => rules::TLS_ALPN_H2.description.to_string(),
    };
    conn.anomaly(cx, Some(side), rules::TLS_ALPN_H2, message)
}

fn tls_dir(dir: Direction) -> Dir {
    match dir {
        Direction::ClientToServer => Dir::ClientToServer,
        Direction::ServerToClient => Dir::ServerToClient,
    }
}

/// The side whose bytes travel in `dir`.
fn side_of(conn: &ConnState, dir: Dir) -> Side {
    if tls_dir(conn.direction(0)) == dir {
        0
    } else {
        1
    }
}

/// Hands one TLS event on: plaintext and losses to the child, labels to the packet,
/// anomalies to the sink.
fn forward(
    (child, h2): (&mut HttpAnalyzer, &mut H2),
    conn: &mut ConnState,
    cx: &mut Cx<'_>,
    packet: u64,
    ev: TlsEvent<'_>,
) -> io::Result<()> {
    let alpn = match &ev {
        TlsEvent::ServerHello { hello, .. } => hello.alpn.as_deref(),
        TlsEvent::EncryptedExtensions { alpn, .. } => *alpn,
        _ => None,
    };
    if alpn == Some("h2") && matches!(h2, H2::No) {
        let side = match &ev {
            TlsEvent::ServerHello { dir, .. } | TlsEvent::EncryptedExtensions { dir, .. } => {
                side_of(conn, *dir)
            }
            _ => 0,
        };
        *h2 = H2::Sniffing {
            side,
            buf: Vec::new(),
        };
    }
    match ev {
        TlsEvent::Plaintext { dir, data } if !matches!(h2, H2::No) => {
            if let H2::Sniffing { side, buf } = h2
                && side_of(conn, dir) == *side
            {
                buf.extend_from_slice(
                    data.get(..H2_SNIFF_LIMIT.saturating_sub(buf.len()))
                        .unwrap_or(data),
                );
                let found = h2_extended_connect(buf);
                if found.is_some() || buf.len() >= H2_SNIFF_LIMIT {
                    report_h2(h2, conn, cx, found)?;
                }
            }
            Ok(())
        }
        TlsEvent::PlaintextGap { .. } if !matches!(h2, H2::No) => report_h2(h2, conn, cx, None),
        TlsEvent::Plaintext { dir, data } => {
            let side = side_of(conn, dir);
            child.data(conn, cx, side, packet, data)
        }
        TlsEvent::PlaintextGap { dir, len } => {
            let side = side_of(conn, dir);
            // Decryption of the direction stopped: everything after is lost to the child.
            child.gap(conn, cx, side, len.unwrap_or(u64::MAX / 2))
        }
        TlsEvent::Anomaly { dir, kind, .. } => {
            let side = side_of(conn, dir);
            let kind = rule_kind(kind);
            conn.anomaly(cx, Some(side), kind, kind.description.to_string())
        }
        TlsEvent::Record(info) => {
            cx.tls_label.push(&TlsEvent::Record(info));
            // A record is a PDU of its own: the segment that completes it is not
            // "a segment of a reassembled PDU".
            cx.pdus_completed += 1;
            Ok(())
        }
        other => {
            cx.tls_label.push(&other);
            Ok(())
        }
    }
}

impl Analyzer for TlsAnalyzer {
    fn data(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        packet: u64,
        bytes: &[u8],
    ) -> io::Result<()> {
        let keys = cx.keys;
        let dir = tls_dir(conn.direction(side));
        let TlsAnalyzer { tls, child, h2, .. } = self;
        // The TLS layer reports through a callback that cannot fail; the first sink error
        // is kept for this call only and returned when it ends.
        let mut result = Ok(());
        tls.data(dir, bytes, keys, &mut |ev| {
            if result.is_ok() {
                result = forward((child, h2), conn, cx, packet, ev);
            }
        });
        if tls.buffered_bytes() > 0 {
            cx.delivered_into_pdu = true;
        }
        self.attach_secrets(cx);
        result
    }

    fn gap(
        &mut self,
        conn: &mut ConnState,
        cx: &mut Cx<'_>,
        side: Side,
        len: u64,
    ) -> io::Result<()> {
        let dir = tls_dir(conn.direction(side));
        let packet = cx.packet;
        let TlsAnalyzer { tls, child, h2, .. } = self;
        let mut result = Ok(());
        tls.gap(dir, len, &mut |ev| {
            if result.is_ok() {
                result = forward((child, h2), conn, cx, packet, ev);
            }
        });
        result
    }

    fn end(&mut self, conn: &mut ConnState, cx: &mut Cx<'_>) -> io::Result<()> {
        let packet = cx.packet;
        let TlsAnalyzer { tls, child, h2, .. } = self;
        let mut result = Ok(());
        // A key that arrived since the last record (live) still opens what was held.
        tls.retry_keys(cx.keys, &mut |ev| {
            if result.is_ok() {
                result = forward((child, h2), conn, cx, packet, ev);
            }
        });
        for dir in [Dir::ClientToServer, Dir::ServerToClient] {
            tls.end(dir, &mut |ev| {
                if result.is_ok() {
                    result = forward((child, h2), conn, cx, packet, ev);
                }
            });
        }
        result?;
        // HTTP/2 whose server SETTINGS never showed (not decrypted): the note all the same.
        report_h2(h2, conn, cx, None)?;
        child.end(conn, cx)?;
        let summary = tls.summary();
        let event = TlsSessionEvent {
            conn: conn.id,
            endpoints: conn.endpoints(),
            version: summary.version(),
            cipher_suite: summary.cipher_suite(),
            sni: summary.sni(),
            alpn: summary.alpn.as_deref(),
            status: tls.status(),
            records: summary.records,
            decrypted_records: summary.decrypted_records,
        };
        cx.emit(&Event::Tls(&event))
    }

    fn decodes_pdus(&self, _side: Side) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames laid out as RFC 9113 §4.1 and §6.5 give them.
    #[test]
    fn the_server_settings_say_whether_extended_connect_is_on() {
        let frame = |ty: u8, flags: u8, body: &[u8]| {
            let mut f = (body.len() as u32).to_be_bytes()[1..].to_vec();
            f.extend_from_slice(&[ty, flags, 0, 0, 0, 0]);
            f.extend_from_slice(body);
            f
        };
        // SETTINGS: MAX_CONCURRENT_STREAMS (3) = 100, ENABLE_CONNECT_PROTOCOL (8) = 1.
        let on = frame(4, 0, &[0, 3, 0, 0, 0, 100, 0, 8, 0, 0, 0, 1]);
        assert_eq!(h2_extended_connect(&on), Some(true));
        assert_eq!(h2_extended_connect(&on[..on.len() - 1]), None);
        let off = frame(4, 0, &[0, 3, 0, 0, 0, 100]);
        assert_eq!(h2_extended_connect(&off), Some(false));
        // An ACK (flag 1) carries no settings: the next SETTINGS counts.
        let mut acked = frame(4, 1, &[]);
        acked.extend_from_slice(&on);
        assert_eq!(h2_extended_connect(&acked), Some(true));
        assert_eq!(h2_extended_connect(&[]), None);
    }

    #[test]
    fn every_tls_finding_maps_to_its_rule_of_the_same_name_and_severity() {
        for kind in TlsAnomalyKind::ALL {
            let rule = rule_kind(kind);
            assert_eq!(rule.name, kind.name());
            assert_eq!(rule.severity, kind.severity(), "{}", kind.name());
            assert_eq!(rule.group, rules::RuleGroup::Tls);
        }
    }
}
