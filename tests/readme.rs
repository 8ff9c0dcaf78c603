//! README's examples run: every code block that starts with `$ wsdissect ARGS` (or
//! `$ cargo run --release -- ARGS`) is run with the built binary, and every line the block
//! shows after the command must appear in the output, in that order (a block may show an
//! excerpt: lines may be left out, none may differ). A note after the command in parentheses
//! (`(packets 89-104)`) is not part of it. So an example that drifts from what the tool
//! prints fails the tests.

use crate::util::root;

/// Splits a command line like a shell does for the simple quoting README uses.
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote = None;
    let mut any = false;
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => {
                quote = Some(c);
                any = true;
            }
            (Some(q), c) if c == q => quote = None,
            (None, c) if c.is_whitespace() => {
                if any {
                    out.push(std::mem::take(&mut cur));
                    any = false;
                }
            }
            (_, c) => {
                cur.push(c);
                any = true;
            }
        }
    }
    if any {
        out.push(cur);
    }
    out
}

/// (line number, arguments, expected lines) of every runnable example.
fn examples() -> Vec<(usize, String, Vec<String>)> {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let lines: Vec<&str> = readme.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if !lines[i].starts_with("```") {
            i += 1;
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while end < lines.len() && !lines[end].starts_with("```") {
            end += 1;
        }
        // A block may hold several `$ ...` commands, each followed by its output.
        let mut k = start;
        while k < end {
            // `$ [NAME=value ...] wsdissect ARGS`, or README's cargo run form.
            let command = lines[k]
                .strip_prefix("$ cargo run --release -- ")
                .map(str::to_string)
                .or_else(|| {
                    let rest = lines[k].strip_prefix("$ ")?;
                    let words = words(rest);
                    let env = words.iter().take_while(|w| w.contains('=')).count();
                    (words.get(env).map(String::as_str) == Some("wsdissect"))
                        .then(|| rest.to_string())
                });
            let mut next = k + 1;
            while next < end && !lines[next].starts_with("$ ") {
                next += 1;
            }
            if let Some(command) = command {
                // "ARGS    (note)": the note is not part of the command.
                let command = match command.find("  (") {
                    Some(at) => &command[..at],
                    None => command.as_str(),
                };
                let expected = lines[k + 1..next]
                    .iter()
                    .filter(|l| l.trim() != "...")
                    .map(|l| l.to_string())
                    .collect();
                out.push((k + 1, command.to_string(), expected));
            }
            k = next;
        }
        i = end + 1;
    }
    out
}

#[test]
fn every_readme_example_prints_what_readme_shows() {
    let examples = examples();
    assert!(
        examples.len() >= 10,
        "only {} examples found",
        examples.len()
    );
    let mut failures = Vec::new();
    for (line, command, expected) in examples {
        // `| cut -c1-N` and `| head -N` are shown as a shell would run them; other pipes
        // are not run.
        let mut parts = command.split(" | ");
        let args = words(parts.next().unwrap_or_default());
        let mut width = None;
        let mut supported = true;
        for stage in parts {
            let stage = stage.trim();
            if let Some(n) = stage.strip_prefix("cut -c1-") {
                width = n.parse::<usize>().ok();
            } else if !stage.starts_with("head ") {
                supported = false;
            }
        }
        if !supported {
            continue;
        }
        // `NAME=value wsdissect ...`: the environment of that one command.
        let env: Vec<(&str, &str)> = args
            .iter()
            .map_while(|w| {
                w.split_once('=')
                    .filter(|(k, _)| k.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            })
            .collect();
        let args: Vec<&str> = args[env.len()..]
            .iter()
            .map(String::as_str)
            .skip_while(|w| *w == "wsdissect")
            .collect();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_wsdissect"))
            .args(&args)
            // Only the example's own environment decides the width.
            .env_remove("COLUMNS")
            .envs(env.iter().copied())
            .stdin(std::process::Stdio::null())
            .output()
            .expect("binary runs");
        let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
        text.push_str(&String::from_utf8_lossy(&out.stderr));
        let got: Vec<String> = text
            .lines()
            .map(|l| match width {
                Some(w) => l.chars().take(w).collect(),
                None => l.to_string(),
            })
            .collect();
        let mut at = 0;
        for want in &expected {
            match got[at..].iter().position(|g| g == want) {
                Some(k) => at += k + 1,
                None => {
                    failures.push(format!(
                        "README.md:{line}: `{command}`: line not in the output (in order): {want:?}"
                    ));
                    break;
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn words_split_like_a_shell() {
    assert_eq!(
        words(r#"read F -Y 'a == "b c"' -e x"#),
        ["read", "F", "-Y", r#"a == "b c""#, "-e", "x"]
    );
}
