//! Renderers: each turns the event stream into one output format, generic over
//! `io::Write`. Renderers never parse packets; they only read events.

pub mod escape;
pub mod jsonl;
pub mod live_summary;
pub mod tcpinfo;
pub mod timeline;
pub mod tree;

pub use jsonl::JsonLines;
pub use timeline::{Timeline, TimelineOptions};
