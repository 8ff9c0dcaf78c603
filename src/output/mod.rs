//! Event renderers of the packet list family: the Wireshark-style packet list (with its
//! Info column and `-V` detail tree), JSON Lines, and the live end-of-capture summary.
//! Renderers never parse packets; they only read events.

pub mod coloring;
pub mod har;
pub mod info;
pub mod jsonl;
pub mod live_summary;
pub mod select;
pub mod tcpinfo;
pub mod timefmt;
pub mod timeline;
pub mod tree;
pub mod treestyle;

pub use jsonl::JsonLines;
pub use timeline::{Timeline, TimelineOptions};
