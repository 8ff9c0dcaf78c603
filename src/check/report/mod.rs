//! `check` reports: compiler-style text diagnostics, JSON Lines records, JUnit XML, and
//! the per-file summary.

pub mod diagnostic;
pub mod junit;
pub mod summary;
