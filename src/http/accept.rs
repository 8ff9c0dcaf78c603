//! Sec-WebSocket-Accept computation and verdict (RFC 6455 §4.2.2).

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha1::{Digest, Sha1};
use std::fmt;

/// The GUID appended to the client's key before hashing (RFC 6455 §1.3).
pub const WEBSOCKET_GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// Size of the decoded Sec-WebSocket-Key nonce (RFC 6455 §4.1).
pub const NONCE_LEN: usize = 16;

/// The Sec-WebSocket-Accept value a server must send for `key`:
/// base64(SHA-1(trimmed key + GUID)).
pub fn expected_accept(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.trim().as_bytes());
    sha.update(WEBSOCKET_GUID.as_bytes());
    STANDARD.encode(sha.finalize())
}

/// True when `key` is base64 for exactly 16 bytes, as RFC 6455 §4.1 requires.
pub fn key_is_valid_nonce(key: &str) -> bool {
    let mut nonce = [0u8; NONCE_LEN];
    // A 16-byte nonce is 24 base64 characters; anything longer cannot fit the buffer.
    matches!(STANDARD.decode_slice(key.trim(), &mut nonce), Ok(NONCE_LEN))
}

/// The outcome of checking a handshake's Sec-WebSocket-Accept against its key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AcceptVerdict {
    /// The accept value matches the key.
    Valid,
    /// The accept value differs from what the key requires.
    Mismatch {
        /// What RFC 6455 §4.2.2 requires for the request's key.
        expected: String,
        /// What the response carried (trimmed).
        actual: String,
    },
    /// The request had no Sec-WebSocket-Key.
    MissingKey,
    /// The response had no Sec-WebSocket-Accept.
    MissingAccept,
}

impl AcceptVerdict {
    /// True only for [`AcceptVerdict::Valid`].
    pub fn is_valid(&self) -> bool {
        matches!(self, AcceptVerdict::Valid)
    }
}

impl fmt::Display for AcceptVerdict {
    /// A one-line human description.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AcceptVerdict::Valid => f.write_str("accept key valid"),
            AcceptVerdict::Mismatch { expected, actual } => {
                write!(f, "accept key mismatch: expected {expected}, got {actual}")
            }
            AcceptVerdict::MissingKey => f.write_str("no Sec-WebSocket-Key in request"),
            AcceptVerdict::MissingAccept => f.write_str("no Sec-WebSocket-Accept in response"),
        }
    }
}

/// Checks the response's Sec-WebSocket-Accept against the request's Sec-WebSocket-Key.
/// A missing key is reported first; values are compared exactly after trimming.
pub fn verify(key: Option<&str>, accept: Option<&str>) -> AcceptVerdict {
    match (key, accept) {
        (None, _) => AcceptVerdict::MissingKey,
        (Some(_), None) => AcceptVerdict::MissingAccept,
        (Some(key), Some(_)) => verify_expected(Some(&expected_accept(key)), accept),
    }
}

/// [`verify`] for a caller that already holds [`expected_accept`] of the key (`None`: the
/// request had no key), so the SHA-1 is computed once per handshake.
pub fn verify_expected(expected: Option<&str>, accept: Option<&str>) -> AcceptVerdict {
    let Some(expected) = expected else {
        return AcceptVerdict::MissingKey;
    };
    let Some(accept) = accept else {
        return AcceptVerdict::MissingAccept;
    };
    let actual = accept.trim();
    if expected == actual {
        AcceptVerdict::Valid
    } else {
        AcceptVerdict::Mismatch {
            expected: expected.to_owned(),
            actual: actual.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc6455_section_1_3_example() {
        assert_eq!(
            expected_accept("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
        assert_eq!(
            verify(
                Some("dGhlIHNhbXBsZSBub25jZQ=="),
                Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=")
            ),
            AcceptVerdict::Valid
        );
    }

    #[test]
    fn seed_pair_checked_with_python() {
        // python3: base64.b64encode(hashlib.sha1((key + GUID).encode()).digest())
        assert_eq!(
            expected_accept("pNgZr2dChVwcNts30DxZiQ=="),
            "W3UNJiLyRMXlwQ2lsHe8hNFegRU="
        );
    }

    #[test]
    fn trims_whitespace() {
        assert_eq!(
            verify(
                Some("  dGhlIHNhbXBsZSBub25jZQ==\t"),
                Some(" s3pPLMBiTxaQ9kYGzzhZRbK+xOo= ")
            ),
            AcceptVerdict::Valid
        );
    }

    #[test]
    fn verdicts() {
        assert_eq!(verify(None, None), AcceptVerdict::MissingKey);
        assert_eq!(verify(None, Some("x")), AcceptVerdict::MissingKey);
        assert_eq!(verify(Some("k"), None), AcceptVerdict::MissingAccept);
        let v = verify(
            Some("dGhlIHNhbXBsZSBub25jZQ=="),
            Some("s3pPLMBiTxaQ9kYGzzhZRbK+xOO="),
        );
        assert!(!v.is_valid());
        assert_eq!(
            v.to_string(),
            "accept key mismatch: expected s3pPLMBiTxaQ9kYGzzhZRbK+xOo=, got s3pPLMBiTxaQ9kYGzzhZRbK+xOO="
        );
        assert_eq!(AcceptVerdict::Valid.to_string(), "accept key valid");
        assert_eq!(
            AcceptVerdict::MissingKey.to_string(),
            "no Sec-WebSocket-Key in request"
        );
        assert_eq!(
            AcceptVerdict::MissingAccept.to_string(),
            "no Sec-WebSocket-Accept in response"
        );
    }

    #[test]
    fn nonce_validity() {
        assert!(key_is_valid_nonce("dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(key_is_valid_nonce("pNgZr2dChVwcNts30DxZiQ=="));
        assert!(!key_is_valid_nonce(""));
        assert!(!key_is_valid_nonce("dGhlIHNhbXBsZQ=="));
        assert!(!key_is_valid_nonce("dGhlIHNhbXBsZSBub25jZSEh"));
        assert!(!key_is_valid_nonce(
            "dGhlIHNhbXBsZSBub25jZSBsb25nZXIgdGhhbiAxNg=="
        ));
        assert!(!key_is_valid_nonce("not base64 at all!!!!!!!"));
    }
}
