//! Renderers: each turns the event stream into one output format, generic over
//! `io::Write`. Renderers never parse packets; they only read events.

pub mod conversations;
pub mod diagnostic;
pub mod escape;
pub mod explain;
pub mod flowgraph;
pub mod follow;
pub mod info;
pub mod jsonl;
pub mod junit;
pub mod live_summary;
pub mod messages;
pub mod progress;
pub mod style;
pub mod summary;
pub mod tcpinfo;
pub mod timeline;
pub mod tree;
pub mod views;

pub use jsonl::JsonLines;
pub use messages::Messages;
pub use timeline::{Timeline, TimelineOptions};
