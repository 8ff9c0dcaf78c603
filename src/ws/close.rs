//! Close status codes (RFC 6455 §7.4, IANA WebSocket Close Code Number Registry) and the
//! Close frame body (RFC 6455 §5.5.1).

use std::fmt;

/// A close status code; every u16 maps to exactly one variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    Normal,
    /// 1001: an endpoint is going away (server down, page left).
    Away,
    /// 1002: protocol error.
    Protocol,
    /// 1003: a type of data the endpoint cannot accept.
    Unsupported,
    /// 1004: reserved; must not be sent.
    Reserved,
    /// 1005: no status code was present; must not be sent.
    NoStatus,
    /// 1006: closed without a Close frame; must not be sent.
    Abnormal,
    /// 1007: data inconsistent with the message type (e.g. non-UTF-8 text).
    InvalidPayload,
    /// 1008: a message violated the endpoint's policy.
    Policy,
    /// 1009: a message too big to process.
    TooBig,
    /// 1010: the client needed an extension the server did not negotiate.
    MandatoryExtension,
    /// 1011: the server met an unexpected condition.
    InternalError,
    /// 1012: the service is restarting.
    ServiceRestart,
    /// 1013: temporary condition; try again later.
    TryAgainLater,
    /// 1014: a gateway or proxy got an invalid upstream response.
    BadGateway,
    /// 1015: TLS handshake failure; must not be sent.
    TlsHandshake,
    /// 1016-2999: not assigned (reserved for this RFC, future revisions and extensions).
    Unassigned(u16),
    /// 3000-3999: registered with IANA by libraries, frameworks and applications.
    Iana(u16),
    /// 4000-4999: private use by applications.
    Private(u16),
    /// 0-999 and 5000-65535: never valid on the wire.
    Invalid(u16),
}

impl CloseCode {
    /// The numeric status code.
    pub fn code(self) -> u16 {
        u16::from(self)
    }

    /// The IANA registry name, or the name of the range for codes without their own entry.
    pub fn name(self) -> &'static str {
        match self {
            CloseCode::Normal => "Normal Closure",
            CloseCode::Away => "Going Away",
            CloseCode::Protocol => "Protocol error",
            CloseCode::Unsupported => "Unsupported Data",
            CloseCode::Reserved => "Reserved",
            CloseCode::NoStatus => "No Status Rcvd",
            CloseCode::Abnormal => "Abnormal Closure",
            CloseCode::InvalidPayload => "Invalid frame payload data",
            CloseCode::Policy => "Policy Violation",
            CloseCode::TooBig => "Message Too Big",
            CloseCode::MandatoryExtension => "Mandatory Ext.",
            CloseCode::InternalError => "Internal Error",
            CloseCode::ServiceRestart => "Service Restart",
            CloseCode::TryAgainLater => "Try Again Later",
            CloseCode::BadGateway => "Bad Gateway",
            CloseCode::TlsHandshake => "TLS handshake",
            CloseCode::Unassigned(_) => "Unassigned",
            CloseCode::Iana(_) => "Registered (IANA)",
            CloseCode::Private(_) => "Private use",
            CloseCode::Invalid(_) => "Invalid",
        }
    }

    /// Whether an endpoint may put this code in a Close frame (RFC 6455 §7.4.1, §7.4.2):
    /// false for 1004, 1005, 1006, 1015, unassigned and out-of-range codes.
    pub fn may_be_sent(self) -> bool {
        !matches!(
            self,
            CloseCode::Reserved
                | CloseCode::NoStatus
                | CloseCode::Abnormal
                | CloseCode::TlsHandshake
                | CloseCode::Unassigned(_)
                | CloseCode::Invalid(_)
        )
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        match code {
            1000 => CloseCode::Normal,
            1001 => CloseCode::Away,
            1002 => CloseCode::Protocol,
            1003 => CloseCode::Unsupported,
            1004 => CloseCode::Reserved,
            1005 => CloseCode::NoStatus,
            1006 => CloseCode::Abnormal,
            1007 => CloseCode::InvalidPayload,
            1008 => CloseCode::Policy,
            1009 => CloseCode::TooBig,
            1010 => CloseCode::MandatoryExtension,
            1011 => CloseCode::InternalError,
            1012 => CloseCode::ServiceRestart,
            1013 => CloseCode::TryAgainLater,
            1014 => CloseCode::BadGateway,
            1015 => CloseCode::TlsHandshake,
            1016..=2999 => CloseCode::Unassigned(code),
            3000..=3999 => CloseCode::Iana(code),
            4000..=4999 => CloseCode::Private(code),
            _ => CloseCode::Invalid(code),
        }
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> u16 {
        match code {
            CloseCode::Normal => 1000,
            CloseCode::Away => 1001,
            CloseCode::Protocol => 1002,
            CloseCode::Unsupported => 1003,
            CloseCode::Reserved => 1004,
            CloseCode::NoStatus => 1005,
            CloseCode::Abnormal => 1006,
            CloseCode::InvalidPayload => 1007,
            CloseCode::Policy => 1008,
            CloseCode::TooBig => 1009,
            CloseCode::MandatoryExtension => 1010,
            CloseCode::InternalError => 1011,
            CloseCode::ServiceRestart => 1012,
            CloseCode::TryAgainLater => 1013,
            CloseCode::BadGateway => 1014,
            CloseCode::TlsHandshake => 1015,
            CloseCode::Unassigned(n)
            | CloseCode::Iana(n)
            | CloseCode::Private(n)
            | CloseCode::Invalid(n) => n,
        }
    }
}

impl fmt::Display for CloseCode {
    /// The number and its name, e.g. "1000 (Normal Closure)".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.code(), self.name())
    }
}

/// A parsed Close frame body: an optional status code followed by reason bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseBody<'a> {
    /// The status code, `None` when the body is empty.
    pub code: Option<CloseCode>,
    /// The reason bytes after the code (should be UTF-8; not checked here).
    pub reason: &'a [u8],
}

/// Why a Close body could not be split into code and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseBodyError {
    /// A one-byte body: too short for a status code (RFC 6455 §5.5.1).
    OneByteBody,
}

impl fmt::Display for CloseBodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CloseBodyError::OneByteBody => {
                f.write_str("close body of 1 byte: too short for a status code")
            }
        }
    }
}

impl std::error::Error for CloseBodyError {}

/// Splits an (unmasked) Close payload into status code and reason.
pub fn parse_close_body(payload: &[u8]) -> Result<CloseBody<'_>, CloseBodyError> {
    match payload {
        [] => Ok(CloseBody {
            code: None,
            reason: &[],
        }),
        [_] => Err(CloseBodyError::OneByteBody),
        [hi, lo, reason @ ..] => Ok(CloseBody {
            code: Some(CloseCode::from(u16::from_be_bytes([*hi, *lo]))),
            reason,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_u16_round_trips() {
        for n in 0..=u16::MAX {
            assert_eq!(CloseCode::from(n).code(), n);
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(CloseCode::from(999), CloseCode::Invalid(999));
        assert_eq!(CloseCode::from(0), CloseCode::Invalid(0));
        assert_eq!(CloseCode::from(1016), CloseCode::Unassigned(1016));
        assert_eq!(CloseCode::from(2999), CloseCode::Unassigned(2999));
        assert_eq!(CloseCode::from(3000), CloseCode::Iana(3000));
        assert_eq!(CloseCode::from(3999), CloseCode::Iana(3999));
        assert_eq!(CloseCode::from(4000), CloseCode::Private(4000));
        assert_eq!(CloseCode::from(4999), CloseCode::Private(4999));
        assert_eq!(CloseCode::from(5000), CloseCode::Invalid(5000));
        assert_eq!(CloseCode::from(1012), CloseCode::ServiceRestart);
        assert_eq!(CloseCode::from(1015), CloseCode::TlsHandshake);
    }

    #[test]
    fn may_be_sent() {
        for n in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999,
        ] {
            assert!(CloseCode::from(n).may_be_sent(), "{n}");
        }
        for n in [0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000, u16::MAX] {
            assert!(!CloseCode::from(n).may_be_sent(), "{n}");
        }
    }

    #[test]
    fn display() {
        assert_eq!(CloseCode::Normal.to_string(), "1000 (Normal Closure)");
        assert_eq!(CloseCode::from(1002).to_string(), "1002 (Protocol error)");
        assert_eq!(CloseCode::from(1005).to_string(), "1005 (No Status Rcvd)");
        assert_eq!(CloseCode::from(4001).to_string(), "4001 (Private use)");
        assert_eq!(
            CloseCode::from(3001).to_string(),
            "3001 (Registered (IANA))"
        );
        assert_eq!(CloseCode::from(2000).to_string(), "2000 (Unassigned)");
        assert_eq!(CloseCode::from(12).to_string(), "12 (Invalid)");
    }

    #[test]
    fn close_bodies() {
        assert_eq!(
            parse_close_body(&[]),
            Ok(CloseBody {
                code: None,
                reason: &[]
            })
        );
        assert_eq!(parse_close_body(&[0x03]), Err(CloseBodyError::OneByteBody));
        assert_eq!(
            parse_close_body(&[0x03, 0xE8]),
            Ok(CloseBody {
                code: Some(CloseCode::Normal),
                reason: &[]
            })
        );
        let body = parse_close_body(b"\x03\xe9bye").unwrap();
        assert_eq!(body.code, Some(CloseCode::Away));
        assert_eq!(body.reason, b"bye");
    }
}
