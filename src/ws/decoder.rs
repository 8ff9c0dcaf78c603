//! Streaming frame decoder for one direction of one connection.
