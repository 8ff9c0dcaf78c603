//! TLS: record layer, handshake summaries and decryption with an NSS key log (issue 13).
//!
//! A byte-transforming room: one [`TlsConnection`] per TCP connection is fed each
//! direction's reassembled, in-order bytes and pushes [`TlsEvent`]s: every record, the
//! handshake messages it could read, alerts, and the decrypted application data
//! ([`TlsEvent::Plaintext`]) for the HTTP/WebSocket analyzers above it. Keys come from a
//! [`KeyLog`] (files, `SSLKEYLOGFILE`, pcapng Decryption Secrets Blocks).
//!
//! Nothing here prints or allocates by a length read from the input: a record is at most
//! [`MAX_RECORD_LEN`] bytes and a handshake message at most [`MAX_HANDSHAKE_LEN`].
//!
//! ```
//! use wsdissect::tls::{Dir, KeyLog, SegmentLabel, TlsConnection, TlsEvent};
//!
//! let keys = KeyLog::from_bytes(b"# SSLKEYLOGFILE contents\n");
//! let mut conn = TlsConnection::new();
//! let mut label = SegmentLabel::new();
//! // One TCP segment's worth of reassembled client bytes: here a lone record header.
//! conn.data(Dir::ClientToServer, &[22, 3, 1, 0, 4], &keys, &mut |ev| {
//!     label.push(&ev);
//!     if let TlsEvent::Plaintext { data, .. } = ev {
//!         let _ = data; // hand to the HTTP / WebSocket analyzers
//!     }
//! });
//! assert!(label.is_empty()); // the record is not complete yet
//! ```
//!
//! Where key logs come from (all write the NSS format): Chrome, Chromium, Edge and Firefox
//! with the `SSLKEYLOGFILE` environment variable (Chromium also `--ssl-key-log-file=F`);
//! curl with `SSLKEYLOGFILE`; Python's `ssl.SSLContext.keylog_filename` (and
//! `ssl.create_default_context()` honours `SSLKEYLOGFILE`); Node's `tls` `keylog` event or
//! `node --tls-keylog=F`; Go's `tls.Config.KeyLogWriter`; rustls' `KeyLogFile` (reads
//! `SSLKEYLOGFILE`); `openssl s_client -keylogfile F`; `editcap --inject-secrets tls,F`
//! embeds one in a pcapng.

mod anomaly;
mod conn;
pub mod crypto;
mod handshake;
mod keylog;
mod label;

pub use anomaly::TlsAnomalyKind;
pub use conn::{DecryptStatus, RecordInfo, TlsConnection, TlsEvent, TlsSummary};
pub use handshake::{ClientHello, HandshakeType, ServerHello};
pub use keylog::{
    ConnectionSecrets, KeyLog, KeyLogFile, KeyLogStats, MAX_SECRET_LEN, Secret,
    TLS_KEY_LOG_SECRETS_TYPE,
};
pub use label::{SegmentLabel, alert_description_name, version_name};

/// Length of a record header: type (1), version (2), length (2).
pub const HEADER_LEN: usize = 5;
/// Largest record body allowed on the wire: 2^14 plus 2048 bytes of protection
/// (RFC 5246 §6.2.3; RFC 8446 §5.2 allows less, 2^14 + 256).
pub const MAX_RECORD_LEN: usize = (1 << 14) + 2048;
/// Largest handshake message reassembled (certificate chains included); longer ones are
/// reported as [`TlsAnomalyKind::HandshakeTooLong`] and skipped.
pub const MAX_HANDSHAKE_LEN: usize = 256 * 1024;

/// Direction of a chunk of bytes, as the caller knows it (the SYN sender is the client).
/// If the ClientHello arrives the other way, the roles are taken from the ClientHello.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dir {
    /// From the connection's initiator.
    ClientToServer,
    /// Towards the initiator.
    ServerToClient,
}

impl Dir {
    fn index(self) -> usize {
        match self {
            Dir::ClientToServer => 0,
            Dir::ServerToClient => 1,
        }
    }

    fn from_index(i: usize) -> Dir {
        if i == 0 {
            Dir::ClientToServer
        } else {
            Dir::ServerToClient
        }
    }
}

/// A record's content type (RFC 8446 §5.1, RFC 6520 for heartbeat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ContentType {
    /// 20.
    ChangeCipherSpec,
    /// 21.
    Alert,
    /// 22.
    Handshake,
    /// 23 (also the outer type of every TLS 1.3 protected record).
    ApplicationData,
    /// 24.
    Heartbeat,
    /// Anything else.
    Unknown(u8),
}

impl ContentType {
    /// The type of a wire value.
    pub fn from_u8(v: u8) -> ContentType {
        match v {
            20 => ContentType::ChangeCipherSpec,
            21 => ContentType::Alert,
            22 => ContentType::Handshake,
            23 => ContentType::ApplicationData,
            24 => ContentType::Heartbeat,
            v => ContentType::Unknown(v),
        }
    }

    /// The wire value.
    pub fn to_u8(self) -> u8 {
        match self {
            ContentType::ChangeCipherSpec => 20,
            ContentType::Alert => 21,
            ContentType::Handshake => 22,
            ContentType::ApplicationData => 23,
            ContentType::Heartbeat => 24,
            ContentType::Unknown(v) => v,
        }
    }
}

/// A checked record header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordHeader {
    /// Content type as sent.
    pub content_type: ContentType,
    /// Record-layer version as sent (0x0303 for every TLS 1.3 record but the first).
    pub version: u16,
    /// Length of the body that follows.
    pub length: u16,
}

impl RecordHeader {
    /// The header at the start of `bytes`, `None` with fewer than [`HEADER_LEN`] bytes.
    pub fn parse(bytes: &[u8]) -> Option<RecordHeader> {
        let h: &[u8; HEADER_LEN] = bytes.get(..HEADER_LEN)?.try_into().ok()?;
        Some(RecordHeader {
            content_type: ContentType::from_u8(h[0]),
            version: u16::from_be_bytes([h[1], h[2]]),
            length: u16::from_be_bytes([h[3], h[4]]),
        })
    }

    /// Whether the header could start a TLS record: a known content type (20..=24), an
    /// SSL 3.0..TLS 1.3 version and a length within [`MAX_RECORD_LEN`].
    pub fn is_plausible(&self) -> bool {
        matches!(self.content_type.to_u8(), 20..=24)
            && (0x0300..=0x0304).contains(&self.version)
            && usize::from(self.length) <= MAX_RECORD_LEN
    }
}

/// Whether the first bytes of a TCP stream look like TLS (a record-header heuristic like
/// Wireshark's: content type 20..=23, version SSL 3.0..TLS 1.3, a non-zero length within the
/// record limit). A first record is nearly always a handshake, so the caller may be stricter.
pub fn looks_like_tls(first_bytes: &[u8]) -> bool {
    RecordHeader::parse(first_bytes).is_some_and(|h| {
        matches!(h.content_type.to_u8(), 20..=23) && h.is_plausible() && h.length > 0
    }) || handshake::parse_sslv2_client_hello(first_bytes).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_heuristic() {
        assert!(looks_like_tls(&[22, 3, 1, 0, 200]));
        assert!(looks_like_tls(&[23, 3, 3, 0x40, 0x00]));
        assert!(!looks_like_tls(&[22, 3, 1, 0]));
        assert!(!looks_like_tls(b"GET / HTTP/1.1\r\n"));
        assert!(!looks_like_tls(&[22, 3, 5, 0, 10]));
        assert!(!looks_like_tls(&[22, 3, 3, 0x50, 0x01]));
        assert!(!looks_like_tls(&[22, 3, 3, 0, 0]));
        assert!(!looks_like_tls(&[0x81, 0x05, b'h', b'e', b'l']));
        // An SSL 2.0-compatible ClientHello (RFC 5246 Appendix E.2), 3 specs, 16-byte challenge.
        let mut v2 = vec![0x80, 9 + 9 + 16, 1, 3, 1, 0, 9, 0, 0, 0, 16];
        v2.extend_from_slice(&[0, 0, 0x2F, 0, 0, 0x35, 0, 0, 0xFF]);
        v2.extend_from_slice(&[7; 16]);
        assert!(looks_like_tls(&v2));
    }
}
