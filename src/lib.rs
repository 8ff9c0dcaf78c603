//! wsdissect: WebSocket dissection of packet captures.
//!
//! The pipeline, one module per stage, data flowing one way:
//! [`capture`] (pcap/pcapng, stdin, live) → [`wire`] (link/IP/TCP) → [`flow`] (TCP
//! reassembly and analysis) → [`http`] (Upgrade and accept check) → [`ws`] (frames) →
//! [`conn`] (per-connection state) → [`event`] (the contract renderers read) → [`render`].
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod capture;
pub mod check;
pub mod conform;
pub mod conn;
pub mod dissect;
pub mod event;
pub mod filter;
pub mod flow;
pub mod http;
pub mod render;
pub mod wire;
pub mod ws;
