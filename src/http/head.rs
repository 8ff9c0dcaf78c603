//! Incremental HTTP/1.1 request/response head parser.
