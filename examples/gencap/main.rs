//! Writes a deterministic synthetic WebSocket capture for benchmarks and prints what it
//! holds as JSON on stdout.
//!
//! ```text
//! cargo run --release --example gencap -- --size-mb 1000 --frames small --conns 64 \
//!     --seed 1 --out bench/data/small-1000.pcap
//! ```
//!
//! Options: `--size-mb N` (10^6 bytes; the file ends on the first whole-frame boundary
//! after it), `--frames small|large`, `--conns N` (open at once, default 64), `--seed N`
//! (default 1), `--mss N` (default 65495, the loopback interface's), `--actions MIN-MAX`
//! (messages, pings and bursts per connection before it closes; small connections make
//! many connections), `--out FILE` (`-` for stdout), `--tls KEYLOG` (every connection in
//! TLS 1.3 with TLS_AES_128_GCM_SHA256; the NSS key log that decrypts it goes to KEYLOG).

mod core;

use core::{Config, FrameMix};
use std::io::{self, BufWriter};
use std::process::ExitCode;

const USAGE: &str = "usage: gencap --size-mb N --frames small|large [--conns N] [--seed N] \
                     [--mss N] [--actions MIN-MAX] [--tls KEYLOG] --out FILE";

fn parse_args() -> Result<(Config, String, Option<String>), String> {
    let mut cfg = Config::new(20_000_000, FrameMix::Small);
    let mut out = None;
    let mut key_log = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let mut value = || args.next().ok_or(format!("{flag} needs a value"));
        let number = |v: String| v.parse::<u64>().map_err(|e| format!("{flag} {v}: {e}"));
        match flag.as_str() {
            "--size-mb" => cfg.size_bytes = number(value()?)? * 1_000_000,
            "--frames" => {
                let v = value()?;
                cfg.mix = FrameMix::parse(&v).ok_or(format!("--frames {v}: small or large"))?;
            }
            "--conns" => cfg.conns = number(value()?)?.max(1) as usize,
            "--seed" => cfg.seed = number(value()?)?,
            "--mss" => {
                let v = number(value()?)?;
                cfg.mss = u16::try_from(v.clamp(64, 65495)).unwrap_or(core::LOOPBACK_MSS);
            }
            "--actions" => {
                let v = value()?;
                let (lo, hi) = v.split_once('-').unwrap_or((&v, &v));
                let lo = number(lo.to_string())? as u32;
                let hi = number(hi.to_string())? as u32;
                cfg.actions_per_conn = Some((lo, hi.max(lo)));
            }
            "--out" => out = Some(value()?),
            "--tls" => {
                key_log = Some(value()?);
                cfg.tls = true;
            }
            "-h" | "--help" => return Err(USAGE.to_string()),
            other => return Err(format!("unknown option {other}\n{USAGE}")),
        }
    }
    let out = out.ok_or(format!("--out is required\n{USAGE}"))?;
    Ok((cfg, out, key_log))
}

fn main() -> ExitCode {
    let (cfg, path, key_log) = match parse_args() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("gencap: {e}");
            return ExitCode::from(2);
        }
    };
    let result = if path == "-" {
        core::generate_with_key_log(&cfg, BufWriter::with_capacity(1 << 20, io::stdout().lock()))
    } else {
        match std::fs::File::create(&path) {
            Ok(f) => core::generate_with_key_log(&cfg, BufWriter::with_capacity(4 << 20, f)),
            Err(e) => Err(e),
        }
    };
    let result = result.and_then(|(counts, lines)| match &key_log {
        Some(k) => std::fs::write(k, lines).map(|()| counts),
        None => Ok(counts),
    });
    match result {
        Ok(counts) => {
            if path == "-" {
                eprintln!("{}", counts.to_json());
            } else {
                println!("{}", counts.to_json());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("gencap: {path}: {e}");
            ExitCode::from(1)
        }
    }
}
