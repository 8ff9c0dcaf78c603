//! Records the git commit the binary is built from, for `wsdissect --version`. Outside a git
//! checkout (a source tarball, a crates.io download) or without git, it says "unknown".

use std::process::Command;

fn main() {
    let commit = Command::new("git")
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit()))
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=WSDISSECT_GIT_COMMIT={commit}");
    // Rebuild when HEAD moves (a commit, a checkout). In a worktree HEAD is in its own git
    // directory and the branch refs in the common one.
    let git = |arg: &str| {
        Command::new("git")
            .args(["rev-parse", arg])
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| std::path::PathBuf::from(s.trim()))
    };
    if let (Some(git_dir), Some(common)) = (git("--git-dir"), git("--git-common-dir")) {
        let mut watched = vec![git_dir.join("HEAD"), common.join("packed-refs")];
        if let Ok(head) = std::fs::read_to_string(git_dir.join("HEAD"))
            && let Some(reference) = head.trim().strip_prefix("ref: ")
        {
            watched.push(common.join(reference));
        }
        // A path that does not exist would make cargo rerun this script on every build.
        for path in watched.iter().filter(|p| p.exists()) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
