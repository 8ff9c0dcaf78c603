//! Sequence-number arithmetic modulo 2^32 (RFC 793 §3.3, RFC 1982).
