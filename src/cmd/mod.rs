//! One module per subcommand that needs more than a few lines of wiring.

pub mod check;
pub mod live;
