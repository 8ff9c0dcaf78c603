//! HTTP/1.1 message heads: incremental parsing, body skipping, WebSocket Upgrade
//! detection, the Sec-WebSocket-Accept check (RFC 6455 §4), and the
//! Sec-WebSocket-Extensions grammar with permessage-deflate negotiation (RFC 7692).

pub mod accept;
pub mod body;
pub mod extensions;
pub mod head;

pub use accept::{AcceptVerdict, WEBSOCKET_GUID, expected_accept, key_is_valid_nonce, verify};
pub use body::BodySkipper;
pub use extensions::{DeflateParams, Extension, Negotiation, negotiate};
pub use head::{
    BodyLength, HeadBuffer, HeadError, HeadProgress, Header, Request, Response, looks_like_request,
    looks_like_response, parse_request, parse_response,
};
