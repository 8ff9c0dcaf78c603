//! Typed TLS anomalies: stable kebab-case names, severity and a one-line description.

use crate::rules::Severity;

/// Something wrong or noteworthy in a TLS stream. Decoding goes on after each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TlsAnomalyKind {
    /// A protected record failed authentication (tag, MAC or padding): wrong key or corruption.
    TagMismatch,
    /// A record header declares more than 2^14 + 2048 bytes.
    RecordTooLong,
    /// Bytes where a record header should be are not one (unknown type or version).
    BadRecordHeader,
    /// A handshake message could not be parsed.
    MalformedHandshake,
    /// A handshake message declares more than the reassembly limit.
    HandshakeTooLong,
    /// The key log has no secret for this connection's client random.
    NoKey,
    /// The negotiated cipher suite is not one this tool decrypts.
    UnsupportedCipher,
    /// Encrypted records were seen without the handshake (capture started too late).
    MissedHandshake,
    /// Bytes of the stream are missing: the records they held are lost.
    Gap,
    /// The stream ended inside a record.
    TruncatedRecord,
}

impl TlsAnomalyKind {
    /// Every kind, in table order.
    pub const ALL: [TlsAnomalyKind; 10] = [
        TlsAnomalyKind::TagMismatch,
        TlsAnomalyKind::RecordTooLong,
        TlsAnomalyKind::BadRecordHeader,
        TlsAnomalyKind::MalformedHandshake,
        TlsAnomalyKind::HandshakeTooLong,
        TlsAnomalyKind::NoKey,
        TlsAnomalyKind::UnsupportedCipher,
        TlsAnomalyKind::MissedHandshake,
        TlsAnomalyKind::Gap,
        TlsAnomalyKind::TruncatedRecord,
    ];

    /// Stable kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            TlsAnomalyKind::TagMismatch => "tls-tag-mismatch",
            TlsAnomalyKind::RecordTooLong => "tls-record-too-long",
            TlsAnomalyKind::BadRecordHeader => "tls-bad-record-header",
            TlsAnomalyKind::MalformedHandshake => "tls-malformed-handshake",
            TlsAnomalyKind::HandshakeTooLong => "tls-handshake-too-long",
            TlsAnomalyKind::NoKey => "tls-no-key",
            TlsAnomalyKind::UnsupportedCipher => "tls-unsupported-cipher",
            TlsAnomalyKind::MissedHandshake => "tls-missed-handshake",
            TlsAnomalyKind::Gap => "tls-gap",
            TlsAnomalyKind::TruncatedRecord => "tls-truncated-record",
        }
    }

    /// How bad it is.
    pub fn severity(self) -> Severity {
        match self {
            TlsAnomalyKind::TagMismatch
            | TlsAnomalyKind::RecordTooLong
            | TlsAnomalyKind::BadRecordHeader
            | TlsAnomalyKind::MalformedHandshake => Severity::Error,
            TlsAnomalyKind::HandshakeTooLong
            | TlsAnomalyKind::Gap
            | TlsAnomalyKind::TruncatedRecord => Severity::Warning,
            TlsAnomalyKind::NoKey
            | TlsAnomalyKind::UnsupportedCipher
            | TlsAnomalyKind::MissedHandshake => Severity::Note,
        }
    }

    /// One line saying what happened.
    pub fn description(self) -> &'static str {
        match self {
            TlsAnomalyKind::TagMismatch => {
                "a TLS record failed authentication (wrong key or corrupted bytes); its content is not used"
            }
            TlsAnomalyKind::RecordTooLong => {
                "a TLS record header declares more than 2^14 + 2048 bytes (RFC 5246 §6.2.3)"
            }
            TlsAnomalyKind::BadRecordHeader => {
                "bytes where a TLS record header belongs are not one; the rest of this direction is not parsed"
            }
            TlsAnomalyKind::MalformedHandshake => "a TLS handshake message could not be parsed",
            TlsAnomalyKind::HandshakeTooLong => {
                "a TLS handshake message is longer than the reassembly limit and was skipped"
            }
            TlsAnomalyKind::NoKey => {
                "the key log has no secret for this connection's client random"
            }
            TlsAnomalyKind::UnsupportedCipher => {
                "the negotiated TLS cipher suite cannot be decrypted"
            }
            TlsAnomalyKind::MissedHandshake => {
                "the capture started after the TLS handshake: the connection cannot be decrypted"
            }
            TlsAnomalyKind::Gap => {
                "bytes of the TLS stream were not captured: the records they held are lost, decryption resumes only if the next record boundary and sequence number are found"
            }
            TlsAnomalyKind::TruncatedRecord => "the TLS stream ended inside a record",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case() {
        let mut names: Vec<_> = TlsAnomalyKind::ALL.iter().map(|k| k.name()).collect();
        assert!(names.iter().all(
            |n| n.starts_with("tls-") && n.bytes().all(|b| b.is_ascii_lowercase() || b == b'-')
        ));
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), TlsAnomalyKind::ALL.len());
    }
}
