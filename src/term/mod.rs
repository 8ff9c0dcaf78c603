//! What reaches a terminal: escaping of capture bytes, colour, progress on stderr.
//! Nothing here knows about packets or events.

pub mod escape;
pub mod progress;
pub mod style;
