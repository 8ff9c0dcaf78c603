//! Frame header view (RFC 6455 §5.2).
