//! wsdissect: WebSocket dissection of packet captures.
//!
//! The pipeline, one module per stage, data flowing one way:
//! [`capture`] (pcap/pcapng, stdin, live) → [`wire`] (link/IP/TCP) → [`flow`] (TCP
//! reassembly and analysis) → [`http`] (Upgrade and accept check) → [`ws`] (frames) →
//! [`conn`] (per-connection state) → [`event`] (the contract renderers read) → [`render`].
//! [`tls`] (TLS records, handshake and decryption with a key log) is a byte-transforming
//! layer between [`flow`] and [`http`], not wired into the pipeline yet.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod capture;
pub mod check;
pub mod conform;
pub mod conn;
pub mod dissect;
pub mod event;
pub mod flow;
pub mod http;
pub mod render;
pub mod tls;
pub mod wire;
pub mod ws;
