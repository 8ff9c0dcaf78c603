//! Subcommands that are more than one renderer over one capture.

pub mod check;
