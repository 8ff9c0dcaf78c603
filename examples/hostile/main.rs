//! Writes one hostile capture of issue 15 as pcap, at a chosen size.
//!
//! ```text
//! cargo run --release --example hostile -- CASE [A [B]] --out FILE
//! ```
//!
//! Cases (defaults are the issue's sizes):
//! `syns [N=1000000]`, `open-ws [N=100000]`, `early-data [N=200000]`,
//! `acks [N=1000000 [UNACKED=10000]]`, `deflate-zeros [CONNS=200 [MIB=16]]`,
//! `tiny-frames [BYTES=65000]`, `invisible`.

mod cases;

use cases::Case;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let mut out = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if a == "--out" {
            out = it.next().cloned();
        } else {
            positional.push(a.clone());
        }
    }
    let usage = format!(
        "usage: hostile CASE [A [B]] --out FILE   (CASE: {})",
        Case::NAMES.join(", ")
    );
    let (Some(name), Some(out)) = (positional.first(), out) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let num = |i: usize| {
        positional
            .get(i)
            .and_then(|s| s.replace('_', "").parse().ok())
    };
    let Some(case) = Case::parse(name, num(1), num(2)) else {
        eprintln!("{usage}");
        return ExitCode::from(2);
    };
    let result = if out == "-" {
        cases::write_case(case, std::io::stdout().lock())
    } else {
        std::fs::File::create(&out).and_then(|f| cases::write_case(case, f))
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hostile: {out}: {e}");
            ExitCode::FAILURE
        }
    }
}
