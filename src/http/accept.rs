//! Sec-WebSocket-Accept computation and verdict (RFC 6455 §4.2.2).
