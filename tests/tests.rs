//! The one integration test binary (ripgrep's layout): a module per area, shared helpers in
//! `util/`. One binary links the library once instead of once per file, and `cargo test
//! --test integration MODULE::` still picks an area.

mod util;

mod appproto;
mod appviews;
mod binproto;
mod check;
mod cli;
#[cfg(not(feature = "live"))]
mod cli_live_disabled;
mod conformance;
mod everyday;
mod filters;
mod gencap;
mod hostile;
mod inputs;
#[cfg(feature = "live")]
mod live;
mod manifests;
mod payload;
mod readme;
mod reassembly;
mod samples;
mod seed;
mod streaming;
mod terminal;
mod threads;
mod tls;
mod views;
