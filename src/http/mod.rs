//! HTTP/1.1 message heads: incremental parsing, WebSocket Upgrade detection, and the
//! Sec-WebSocket-Accept check (RFC 6455 §4).

pub mod accept;
pub mod head;
