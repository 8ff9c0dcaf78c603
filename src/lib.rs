//! wsdissect: WebSocket dissection of packet captures.
//!
//! The pipeline, one module per stage, data flowing one way:
//! [`capture`] (pcap/pcapng, stdin, live) → [`wire`] (link/IP/TCP) → [`flow`] (connection
//! table, TCP reassembly and analysis) → [`session`] (per connection, a chain of
//! analyzers: TLS → HTTP → WebSocket, built on the parsers [`tls`], [`http`], [`ws`] and
//! checked by the [`rules`]) → [`event`] (the contract every output reads) → [`printer`]
//! (one factory: the packet list and JSON Lines of [`output`], the [`views`]) or the
//! [`check`] reports. [`fields`] names every field; [`term`] is what reaches a terminal;
//! [`dissect`] and [`app`] drive the loop.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod app;
pub mod capture;
pub mod check;
pub mod dissect;
pub mod event;
pub mod fields;
pub mod filter;
pub mod flow;
pub mod http;
pub mod output;
pub mod payload;
pub mod printer;
pub mod rules;
pub mod session;
pub mod shard;
pub mod term;
pub mod tls;
pub mod values;
pub mod views;
pub mod wire;
pub mod ws;

/// The layers, lowest first: a module may use only the modules before it (and itself).
/// `layering` below holds the source to it.
pub const LAYERS: &[&str] = &[
    "capture", "wire", "flow", "http", "ws", "term", "fields", "filter", "rules", "tls", "payload",
    "event", "session", "dissect", "app", "shard", "values", "output", "check", "views", "printer",
];

#[cfg(test)]
mod layering {
    use super::LAYERS;
    use std::path::Path;

    /// The `crate::X` modules a file's code (not its comments, not its tests) names.
    fn uses(source: &str) -> Vec<String> {
        let mut found = Vec::new();
        for line in source.lines() {
            let code = line.trim_start();
            if code.starts_with("#[cfg(test)]") {
                break;
            }
            if code.starts_with("//") {
                continue;
            }
            let mut rest = code;
            while let Some(at) = rest.find("crate::") {
                rest = &rest[at + "crate::".len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                found.push(name);
            }
        }
        found
    }

    fn files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                files(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }

    #[test]
    fn no_module_uses_a_higher_layer() {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
        let mut checked = 0;
        for (rank, layer) in LAYERS.iter().enumerate() {
            let mut paths = Vec::new();
            files(&src.join(layer), &mut paths);
            paths.push(src.join(format!("{layer}.rs")));
            for path in paths.iter().filter(|p| p.exists()) {
                let source = std::fs::read_to_string(path).unwrap();
                for used in uses(&source) {
                    let Some(used_rank) = LAYERS.iter().position(|l| *l == used) else {
                        continue;
                    };
                    assert!(
                        used_rank <= rank,
                        "{} ({layer}) uses crate::{used}, a higher layer",
                        path.display()
                    );
                }
                checked += 1;
            }
        }
        assert!(checked > 60, "only {checked} files checked");
    }

    #[test]
    fn every_module_has_a_layer() {
        let lib = include_str!("lib.rs");
        for line in lib.lines() {
            if let Some(name) = line.strip_prefix("pub mod ") {
                let name = name.trim_end_matches(';');
                assert!(LAYERS.contains(&name), "{name} is in no layer");
            }
        }
    }
}
