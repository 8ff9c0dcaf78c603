//! Close status codes (RFC 6455 §7.4, IANA WebSocket Close Code Number Registry).

/// A close status code; every u16 maps to exactly one variant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseCode {
    /// 1000
    Normal,
}
