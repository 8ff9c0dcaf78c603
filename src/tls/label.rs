//! Wireshark's packet-list view of TLS: the protocol column and the Info text of one TCP
//! segment, from the events of the records that ended in it (checked against tshark 4.0.17
//! on the samples in samples/expected/tls*).

use super::{ContentType, HandshakeType, TlsEvent};
use std::fmt;

/// Wireshark's name of a record-layer or negotiated version ("TLSv1.3", "SSLv3", ...).
pub fn version_name(v: u16) -> &'static str {
    match v {
        0x0002 => "SSLv2",
        0x0300 => "SSLv3",
        0x0301 => "TLSv1",
        0x0302 => "TLSv1.1",
        0x0303 => "TLSv1.2",
        0x0304 => "TLSv1.3",
        _ => "TLS",
    }
}

/// Wireshark's name of an alert description (RFC 8446 §6, RFC 5246 §7.2).
pub fn alert_description_name(d: u8) -> &'static str {
    match d {
        0 => "Close Notify",
        10 => "Unexpected Message",
        20 => "Bad Record MAC",
        21 => "Decryption Failed",
        22 => "Record Overflow",
        30 => "Decompression Failure",
        40 => "Handshake Failure",
        41 => "No Certificate",
        42 => "Bad Certificate",
        43 => "Unsupported Certificate",
        44 => "Certificate Revoked",
        45 => "Certificate Expired",
        46 => "Certificate Unknown",
        47 => "Illegal Parameter",
        48 => "Unknown CA",
        49 => "Access Denied",
        50 => "Decode Error",
        51 => "Decrypt Error",
        60 => "Export Restriction",
        70 => "Protocol Version",
        71 => "Insufficient Security",
        80 => "Internal Error",
        86 => "Inappropriate Fallback",
        90 => "User Canceled",
        100 => "No Renegotiation",
        109 => "Missing Extension",
        110 => "Unsupported Extension",
        111 => "Certificate Unobtainable",
        112 => "Unrecognized Name",
        113 => "Bad Certificate Status Response",
        114 => "Bad Certificate Hash Value",
        115 => "Unknown PSK Identity",
        116 => "Certificate Required",
        120 => "No application Protocol",
        _ => "Unknown",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Part {
    Handshake(HandshakeType),
    ChangeCipherSpec,
    Alert { level: u8, description: u8 },
    EncryptedHandshake,
    EncryptedAlert,
    ApplicationData,
    Heartbeat,
}

/// The TLS label of one TCP segment. Push every event of the records that ended in the
/// segment, in order; `Display` gives the Info text ("Server Hello, Change Cipher Spec,
/// Application Data"), [`SegmentLabel::protocol`] the protocol column ("TLSv1.3").
#[derive(Debug, Clone, Default)]
pub struct SegmentLabel {
    parts: Vec<Part>,
    version: Option<u16>,
    /// `--inject-secrets`: key log lines to write before this packet.
    secrets: InjectedSecrets,
    /// A proxy handshake message ended here instead (SOCKS before a tunnelled TLS
    /// connection): Wireshark's protocol column and Info for it.
    other: Option<(&'static str, &'static str)>,
}

/// Key log lines travelling with a packet to the `-w` writer. Key material: its `Debug`
/// says only how long it is, so no debug print shows a secret.
#[derive(Clone, Default)]
struct InjectedSecrets(Vec<u8>);

impl fmt::Debug for InjectedSecrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InjectedSecrets({} bytes)", self.0.len())
    }
}

impl SegmentLabel {
    /// An empty label.
    pub fn new() -> SegmentLabel {
        SegmentLabel::default()
    }

    /// Forgets everything (for the next segment), keeping the allocation.
    pub fn clear(&mut self) {
        self.parts.clear();
        self.version = None;
        self.secrets.0.clear();
        self.other = None;
    }

    /// Labels the segment as a message of another protocol below HTTP (a SOCKS handshake
    /// before a tunnel): `protocol` for the protocol column, `info` for the Info column.
    pub fn set_other(&mut self, protocol: &'static str, info: &'static str) {
        self.other = Some((protocol, info));
    }

    /// The protocol column of the last TLS record ended here ("TLSv1.2", "TLSv1.3";
    /// "TLSv1" for a ClientHello whose record says 1.0), `None` when none did (even when
    /// [`SegmentLabel::set_other`] labelled the segment).
    pub fn tls_protocol(&self) -> Option<&'static str> {
        self.version.map(version_name)
    }

    /// Attaches the NSS key log lines of this segment's connection, for
    /// `-w --inject-secrets` (written as a pcapng Decryption Secrets Block before the packet).
    pub fn set_secrets(&mut self, key_log_lines: &[u8]) {
        self.secrets.0.clear();
        self.secrets.0.extend_from_slice(key_log_lines);
    }

    /// The key log lines attached by [`SegmentLabel::set_secrets`] (empty when none). Key
    /// material: only the `-w --inject-secrets` writer reads it.
    pub fn secrets(&self) -> &[u8] {
        &self.secrets.0
    }

    /// Whether no record (and no other labelled message) ended in the segment.
    pub fn is_empty(&self) -> bool {
        self.version.is_none() && self.other.is_none()
    }

    /// Takes one event of the segment.
    pub fn push(&mut self, ev: &TlsEvent<'_>) {
        match ev {
            TlsEvent::Handshake { msg_type, .. } => self.parts.push(Part::Handshake(*msg_type)),
            TlsEvent::ChangeCipherSpec { .. } => self.parts.push(Part::ChangeCipherSpec),
            TlsEvent::Alert {
                level, description, ..
            } => self.parts.push(Part::Alert {
                level: *level,
                description: *description,
            }),
            TlsEvent::Record(r) => {
                self.version = Some(r.display_version);
                if r.encrypted && !r.decrypted {
                    self.parts.push(match r.header.content_type {
                        ContentType::Handshake => Part::EncryptedHandshake,
                        ContentType::Alert => Part::EncryptedAlert,
                        _ => Part::ApplicationData,
                    });
                } else {
                    match r.inner_type {
                        ContentType::ApplicationData => self.parts.push(Part::ApplicationData),
                        ContentType::Heartbeat => self.parts.push(Part::Heartbeat),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// The protocol column: the version of the last record ("TLSv1.2", "TLSv1.3"; "TLSv1"
    /// for a ClientHello whose record says 1.0), else the other protocol's name ("Socks"),
    /// `None` when nothing ended here.
    pub fn protocol(&self) -> Option<&'static str> {
        self.version
            .map(version_name)
            .or(self.other.map(|(p, _)| p))
    }
}

impl SegmentLabel {
    /// What Wireshark appends to the Info of a decrypted PDU that a record of this segment
    /// carried: the records after the last application data record, each after ", "
    /// (`, Alert (Level: Warning, Description: Close Notify)` after a close frame).
    pub fn trailing_records(&self) -> TrailingRecords<'_> {
        let after = self
            .parts
            .iter()
            .rposition(|p| *p == Part::ApplicationData)
            .map_or(&[][..], |i| &self.parts[i + 1..]);
        TrailingRecords(after)
    }
}

/// See [`SegmentLabel::trailing_records`]; empty when nothing follows.
pub struct TrailingRecords<'a>(&'a [Part]);

impl fmt::Display for TrailingRecords<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.0 {
            f.write_str(", ")?;
            write_part(f, p)?;
        }
        Ok(())
    }
}

fn write_part(f: &mut fmt::Formatter<'_>, p: &Part) -> fmt::Result {
    match p {
        Part::Handshake(t) => f.write_str(t.name()),
        Part::ChangeCipherSpec => f.write_str("Change Cipher Spec"),
        Part::Alert { level, description } => write!(
            f,
            "Alert (Level: {}, Description: {})",
            match level {
                1 => "Warning",
                2 => "Fatal",
                _ => "Unknown",
            },
            alert_description_name(*description)
        ),
        Part::EncryptedHandshake => f.write_str("Encrypted Handshake Message"),
        Part::EncryptedAlert => f.write_str("Encrypted Alert"),
        Part::ApplicationData => f.write_str("Application Data"),
        Part::Heartbeat => f.write_str("Heartbeat"),
    }
}

impl fmt::Display for SegmentLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.version.is_none()
            && let Some((_, info)) = self.other
        {
            return f.write_str(info);
        }
        for (n, p) in self.parts.iter().enumerate() {
            if n > 0 {
                f.write_str(", ")?;
            }
            write_part(f, p)?;
        }
        Ok(())
    }
}
