//! A build without the `live` feature still has the subcommand, and says how to get it.
#![cfg(not(feature = "live"))]

use std::process::{Command, Stdio};

#[test]
fn live_without_the_feature_exits_2_saying_how_to_rebuild() {
    let out = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(["live", "--port", "9002"])
        .stdin(Stdio::null())
        .output()
        .expect("binary runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains("this wsdissect was built without live capture"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cargo build --release --features live"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cargo install --path . --features live"),
        "{stderr}"
    );
    assert!(stderr.contains("libpcap-dev"), "{stderr}");
    assert!(stderr.contains("libpcap-devel"), "{stderr}");
    assert!(out.stdout.is_empty());
}
