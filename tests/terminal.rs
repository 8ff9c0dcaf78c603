//! The packet list and the views on a terminal: tshark's aligned columns, Wireshark's
//! colouring rules, every line fitted to the width (80 and 200 columns), Ctrl-C during a
//! read, the progress line.
//!
//! Oracles: tshark 4.0.17's own output of the same samples (`samples/expected/NAME.tshark-
//! text.txt`: its default aligned lines; `NAME.tshark-color.tsv`: the colours `tshark
//! --color` paints each packet with; both made by `samples/gen/make_expected_term.sh`), and
//! the generators' manifests (`samples/NAME.sent.json`) for message texts. Terminal runs go
//! through a pseudo-terminal (`script`, util-linux) and a real terminal (`tmux`), when
//! installed.

use crate::util::{manifest, sample};
use std::io::{Read, Write};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Samples with tshark's terminal references, and the capture file of each.
const SAMPLES: &[(&str, &str)] = &[
    ("basic", "basic.pcap"),
    ("ipv6", "ipv6.pcap"),
    ("refused", "refused.pcap"),
    ("keepalive-then-upgrade", "keepalive-then-upgrade.pcap"),
    ("viol-close", "viol-close.pcap"),
    ("large", "large.pcap"),
    ("chromium", "chromium.pcapng"),
];

fn expected(name: &str, ext: &str) -> String {
    let path = crate::util::root()
        .join("samples/expected")
        .join(format!("{name}.{ext}"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs the binary with stdout a pipe, `COLUMNS` only when given, no `NO_COLOR`, and
/// `COLORTERM` as given.
fn run(args: &[&str], columns: Option<usize>, colorterm: Option<&str>) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_wsdissect"));
    cmd.args(args)
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .env_remove("COLORTERM")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(c) = columns {
        cmd.env("COLUMNS", c.to_string());
    }
    if let Some(c) = colorterm {
        cmd.env("COLORTERM", c);
    }
    let out = cmd.output().expect("binary runs");
    assert!(
        out.status.success(),
        "{args:?}: {:?} {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn stdout(args: &[&str], columns: Option<usize>) -> String {
    String::from_utf8(run(args, columns, None).stdout).expect("UTF-8")
}

fn path_of(file: &str) -> String {
    sample(file).to_str().expect("UTF-8 path").to_string()
}

/// Display width, colour and erase-line sequences removed.
fn width(line: &str) -> usize {
    wsdissect::term::width::display_width(&wsdissect::term::style::strip(line))
}

/// tshark's line as wsdissect must print it at `columns`: whole when it fits, else cut
/// with `…` (trailing spaces are not compared: a terminal does not show them).
fn fitted(tshark_line: &str, columns: Option<usize>) -> String {
    match columns {
        Some(c) => wsdissect::term::width::fit_width(tshark_line, c),
        None => tshark_line.to_string(),
    }
}

/// The packet lines (not wsdissect's `!` diagnostics or their continuation lines).
fn packet_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with("    !") && !l.starts_with("      "))
        .collect()
}

/// Samples whose Time column tshark prints like wsdissect (chromium.pcapng has nanosecond
/// timestamps: tshark prints 9 decimals, wsdissect 6, a -t difference outside the layout).
fn layout_samples() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    SAMPLES.iter().filter(|(name, _)| *name != "chromium")
}

#[test]
fn aligned_columns_are_tsharks_own_lines() {
    for (name, file) in layout_samples() {
        let tshark = expected(name, "tshark-text.txt");
        for columns in [None, Some(80), Some(200)] {
            let out = stdout(
                &[
                    "read",
                    &path_of(file),
                    "--columns",
                    "aligned",
                    "--wireshark-compat",
                ],
                columns,
            );
            let ours = packet_lines(&out);
            let theirs: Vec<&str> = tshark.lines().collect();
            assert_eq!(ours.len(), theirs.len(), "{name} at {columns:?}");
            for (o, t) in ours.iter().zip(&theirs) {
                assert_eq!(
                    o.trim_end(),
                    fitted(t, columns).trim_end(),
                    "{name} at {columns:?}"
                );
            }
            if let Some(c) = columns {
                for line in out.lines() {
                    assert!(width(line) <= c, "{name} at {c}: {line}");
                }
            }
        }
    }
}

#[test]
fn diagnostics_wrap_under_their_marker_and_keep_every_word() {
    let file = path_of("viol-close.pcap");
    let whole = stdout(&["read", &file, "--columns", "aligned"], None);
    for columns in [80, 200] {
        let out = stdout(&["read", &file, "--columns", "aligned"], Some(columns));
        assert!(out.lines().all(|l| width(l) <= columns), "{out}");
        let notes = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| l.starts_with("    !") || l.starts_with("      "))
                .flat_map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
                .collect()
        };
        assert_eq!(notes(&out), notes(&whole), "at {columns}");
        assert!(notes(&whole).len() > 20, "viol-close has diagnostics");
    }
}

/// The colours of each packet row: (frame number, foreground, background), from lines that
/// start with tshark's 24-bit sequences.
fn row_colours(text: &str) -> Vec<(u64, String, String)> {
    let mut rows = Vec::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix("\x1b[38;2;") else {
            continue;
        };
        let (params, after) = rest.split_once('m').expect("SGR ends in m");
        let (fg, bg) = params
            .split_once(";48;2;")
            .expect("foreground then background");
        let number = after
            .trim_start()
            .split(|c: char| !c.is_ascii_digit())
            .next()
            .and_then(|n| n.parse().ok())
            .expect("a packet number");
        rows.push((number, fg.replace(';', ","), bg.replace(';', ",")));
    }
    rows
}

#[test]
fn rows_are_painted_as_tshark_paints_them() {
    for (name, file) in SAMPLES {
        let reference: Vec<(u64, String, String)> = expected(name, "tshark-color.tsv")
            .lines()
            .map(|l| {
                let mut f = l.split('\t');
                (
                    f.next().and_then(|n| n.parse().ok()).expect("number"),
                    f.next().expect("fg").to_string(),
                    f.next().expect("bg").to_string(),
                )
            })
            .collect();
        assert!(reference.iter().all(|(_, fg, _)| fg != "-"), "{name}");
        for columns in ["tabs", "aligned"] {
            let out = run(
                &[
                    "read",
                    &path_of(file),
                    "--color",
                    "always",
                    "--columns",
                    columns,
                ],
                Some(100),
                Some("truecolor"),
            );
            let text = String::from_utf8(out.stdout).expect("UTF-8");
            assert_eq!(row_colours(&text), reference, "{name} {columns}");
        }
    }
    // The rules met: TCP, TCP SYN/FIN, HTTP, Bad TCP (large: a window full / zero window)
    // and TCP RST (viol-close).
    let all: String = SAMPLES
        .iter()
        .map(|(name, _)| expected(name, "tshark-color.tsv"))
        .collect();
    for bg in [
        "231,230,255",
        "160,160,160",
        "228,255,199",
        "18,39,46",
        "164,0,0",
    ] {
        assert!(all.contains(bg), "no reference row painted {bg}");
    }
}

#[test]
fn without_24_bit_colour_rows_use_the_256_colour_palette() {
    let out = run(
        &["read", &path_of("basic.pcap"), "--color", "always"],
        None,
        None,
    );
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    // TCP SYN/FIN's grey 160,160,160 is palette entry 247 (8 + 10 × 15); the dark
    // foreground 18,39,46 is the grey 235 (8 + 10 × 3 = 38 is nearer than any cube colour).
    assert!(
        text.lines()
            .next()
            .is_some_and(|l| l.starts_with("\x1b[38;5;235;48;5;247m1\t")),
        "{text}"
    );
    assert!(!text.contains("38;2;"));
}

#[test]
fn piped_output_stays_tab_separated_and_plain() {
    for (_, file) in SAMPLES {
        let file = path_of(file);
        let default = stdout(&["read", &file], Some(80));
        let tabs = stdout(&["read", &file, "--columns", "tabs"], None);
        assert_eq!(default, tabs);
        assert!(!default.contains('\x1b'));
        let auto_compat = stdout(&["read", &file, "--wireshark-compat"], Some(80));
        assert!(packet_lines(&auto_compat).iter().all(|l| l.contains('\t')));
    }
}

fn messages_of(name: &str) -> Vec<String> {
    manifest(name)["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .flat_map(|c| c["messages"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["text"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn messages_view_fits_80_and_200_columns() {
    for name in ["basic", "deflate-python", "chromium-har", "deflate-node"] {
        let file = path_of(&format!("{name}.pcap"));
        let whole = stdout(&["read", &file, "--view", "messages"], None);
        let texts = messages_of(name);
        assert!(!texts.is_empty(), "{name}");
        for columns in [80, 200] {
            let out = stdout(&["read", &file, "--view", "messages"], Some(columns));
            for line in out.lines() {
                assert!(width(line) <= columns, "{name} at {columns}: {line}");
            }
            // Every text message the generator sent is there, whole or cut with `…` (by
            // the width, or by the view's 80-character preview).
            for text in &texts {
                let text = &wsdissect::term::escape::escape_line(text.as_bytes(), usize::MAX);
                let shown = out.lines().any(|l| {
                    l.contains(&format!("\"{text}\""))
                        || l.split_once('"').is_some_and(|(_, rest)| {
                            let cut = rest.strip_suffix('"').unwrap_or(rest);
                            let Some(prefix) = cut.strip_suffix('…') else {
                                return false;
                            };
                            let prefix = prefix.strip_suffix('"').unwrap_or(prefix);
                            !prefix.is_empty() && text.starts_with(prefix)
                        })
                });
                assert!(shown, "{name} at {columns}: {text:?} in\n{out}");
            }
            // Lines that fit are the unfitted lines themselves.
            for (o, w) in out.lines().zip(whole.lines()) {
                if width(w) <= columns {
                    assert_eq!(o, w);
                }
            }
        }
        let wide = stdout(&["read", &file, "--view", "messages"], Some(1000));
        assert_eq!(wide, whole, "{name}: nothing to cut at 1000 columns");
    }
}

#[test]
fn every_view_fits_80_and_200_columns() {
    let views: &[&[&str]] = &[
        &["--view", "messages"],
        &["--view", "explain"],
        &["--view", "conversations"],
        &["--view", "flow"],
        &["--view", "flow", "--frames-only"],
        &["-V", "--columns", "aligned"],
        &["--columns", "aligned"],
        &["--follow", "0"],
    ];
    for file in [
        "basic.pcap",
        "ipv6.pcap",
        "viol-rsv-opcode.pcap",
        "viol-control.pcap",
        "bad-accept.pcap",
        "seed000.pcap",
        "deflate-window-bits.pcap",
        "socketio.pcap",
        "graphql-ws.pcap",
    ] {
        for view in views {
            for columns in [80, 200] {
                for colour in ["never", "always"] {
                    let mut args = vec!["read", "", "--color", colour];
                    let path = path_of(file);
                    args[1] = &path;
                    args.extend_from_slice(view);
                    let out = stdout(&args, Some(columns));
                    for line in out.lines() {
                        assert!(
                            width(line) <= columns,
                            "{file} {view:?} at {columns}: {} columns\n{line}",
                            width(line)
                        );
                    }
                }
            }
        }
    }
}

/// Whether `program` runs here.
fn have(program: &str) -> bool {
    Command::new(program)
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs the binary with its stdout and stderr on a pseudo-terminal (util-linux `script`),
/// with `env`; returns what the terminal received, carriage returns the terminal adds
/// before newlines removed. `None` where `script` is missing.
fn on_pty(args: &[&str], env: &[(&str, &str)]) -> Option<String> {
    if !cfg!(target_os = "linux") || !have("script") {
        eprintln!("skipped: util-linux `script` is not installed");
        return None;
    }
    let mut line = String::from(env!("CARGO_BIN_EXE_wsdissect"));
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &line, "/dev/null"])
        .env_remove("COLUMNS")
        .env_remove("NO_COLOR")
        .env_remove("COLORTERM")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("script runs");
    assert!(out.status.success(), "{args:?}: {out:?}");
    Some(String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n"))
}

#[test]
fn on_a_terminal_the_list_is_aligned_coloured_and_fitted() {
    let file = path_of("basic.pcap");
    let Some(out) = on_pty(
        &["read", &file],
        &[("COLUMNS", "80"), ("COLORTERM", "truecolor")],
    ) else {
        return;
    };
    let tshark = expected("basic", "tshark-text.txt");
    let colours = expected("basic", "tshark-color.tsv");
    let rows = row_colours(&out);
    assert_eq!(rows.len(), 36, "{out}");
    for ((number, fg, bg), reference) in rows.iter().zip(colours.lines()) {
        assert_eq!(format!("{number}\t{fg}\t{bg}"), reference);
    }
    let plain = wsdissect::term::style::strip(&out);
    for (ours, theirs) in plain.lines().zip(tshark.lines()) {
        // wsdissect's Info adds `[accept OK]` to the 101 response.
        let theirs = theirs.replace(
            "101 Switching Protocols ",
            "101 Switching Protocols [accept OK]",
        );
        assert_eq!(ours.trim_end(), fitted(&theirs, Some(80)).trim_end());
    }
    // NO_COLOR: aligned, no colour; --wireshark-compat: tab-separated for scripts;
    // --columns tabs: tab-separated.
    let no_colour = on_pty(&["read", &file], &[("COLUMNS", "80"), ("NO_COLOR", "1")])
        .expect("script ran before");
    assert!(!no_colour.contains('\x1b'));
    assert_eq!(no_colour, plain);
    for args in [
        &["read", &file, "--wireshark-compat", "--color", "never"][..],
        &["read", &file, "--columns", "tabs", "--color", "never"][..],
    ] {
        let tabs = on_pty(args, &[("COLUMNS", "80")]).expect("script ran before");
        assert!(tabs.lines().all(|l| l.contains('\t')), "{args:?}: {tabs}");
    }
}

/// Runs `args` in a detached tmux session `columns` wide, waits for it to end and returns
/// the screen and its history, one line per terminal row. `None` where tmux is missing.
fn in_tmux(args: &[&str], columns: usize) -> Option<String> {
    if !have("tmux") {
        eprintln!("skipped: tmux is not installed");
        return None;
    }
    static RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let socket = format!("wsdissect-test-{}-{run}", std::process::id());
    let done = std::env::temp_dir().join(format!("{socket}.done"));
    let _ = std::fs::remove_file(&done);
    let mut line = String::from("env -u COLUMNS -u NO_COLOR ");
    line.push_str(env!("CARGO_BIN_EXE_wsdissect"));
    for a in args {
        line.push_str(&format!(" '{a}'"));
    }
    line.push_str(&format!(
        " > /dev/tty 2>/dev/null; touch '{}'; sleep 60",
        done.display()
    ));
    let tmux = |extra: &[&str]| {
        Command::new("tmux")
            .args(["-L", &socket, "-f", "/dev/null"])
            .args(extra)
            .env_remove("TMUX")
            .output()
            .expect("tmux runs")
    };
    let started = tmux(&[
        "new-session",
        "-d",
        "-x",
        &columns.to_string(),
        "-y",
        "50",
        &line,
    ]);
    assert!(started.status.success(), "{started:?}");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done.exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    let captured = tmux(&["capture-pane", "-p", "-S", "-", "-E", "-"]);
    tmux(&["kill-server"]);
    let _ = std::fs::remove_file(&done);
    assert!(captured.status.success());
    let mut screen = String::from_utf8_lossy(&captured.stdout).to_string();
    // The pane's empty rows below the output.
    let mut rows: Vec<&str> = screen.lines().map(str::trim_end).collect();
    while rows.last().is_some_and(|r| r.is_empty()) {
        rows.pop();
    }
    screen = rows.join("\n");
    Some(screen)
}

#[test]
fn in_a_real_terminal_of_80_and_200_columns_nothing_wraps() {
    let basic = path_of("basic.pcap");
    let tshark = expected("basic", "tshark-text.txt");
    for columns in [80, 200] {
        // The packet list: each packet one terminal row, tshark's line cut to the width
        // the terminal reports (no COLUMNS here).
        let Some(screen) = in_tmux(
            &["read", &basic, "--wireshark-compat", "--columns", "aligned"],
            columns,
        ) else {
            return;
        };
        let rows: Vec<&str> = screen.lines().collect();
        assert_eq!(rows.len(), 36, "{screen}");
        for (row, theirs) in rows.iter().zip(tshark.lines()) {
            assert_eq!(
                row.trim_end(),
                fitted(theirs, Some(columns)).trim_end(),
                "at {columns}"
            );
        }
        // The views: the terminal shows exactly the lines written with COLUMNS forced,
        // so none of them wrapped.
        for view in [
            &["--view", "messages"][..],
            &["--view", "explain"][..],
            &["--view", "conversations"][..],
            &["--view", "flow"][..],
            &["-V"][..],
        ] {
            for file in ["viol-rsv-opcode.pcap", "chromium-har.pcap"] {
                let mut args = vec!["read", "", "--color", "never"];
                let path = path_of(file);
                args[1] = &path;
                args.extend_from_slice(view);
                let screen = in_tmux(&args, columns).expect("tmux ran before");
                let mut forced = args.clone();
                if view.first() == Some(&"-V") {
                    forced.extend_from_slice(&["--columns", "aligned"]);
                }
                let piped = stdout(&forced, Some(columns));
                let rows: Vec<&str> = screen.lines().map(str::trim_end).collect();
                let lines: Vec<&str> = piped.lines().map(str::trim_end).collect();
                for (i, (row, line)) in rows.iter().zip(&lines).enumerate() {
                    assert_eq!(row, line, "{file} {view:?} at {columns}, row {i}");
                }
                assert_eq!(rows.len(), lines.len(), "{file} {view:?} at {columns}");
            }
        }
    }
}

/// Feeds `first` to `wsdissect read -` (plus `extra`), waits until `ready` holds for its
/// output, sends SIGINT while the pipe stays open, and returns the output.
fn interrupt_read(first: &[u8], extra: &[&str], ready: impl Fn(&str) -> bool) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_wsdissect"))
        .args(["read", "-"])
        .args(extra)
        .env_remove("COLUMNS")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("binary starts");
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(first).expect("feed");
    stdin.flush().expect("flush");
    let mut out = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !ready(&String::from_utf8_lossy(&seen)) {
        assert!(Instant::now() < deadline, "no output: {seen:?}");
        if let Ok(bytes) = rx.recv_timeout(Duration::from_millis(100)) {
            seen.extend(bytes);
        }
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    // The pipe stays open until the process has ended: the interrupt alone ends it.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "still running after SIGINT");
        std::thread::sleep(Duration::from_millis(20));
    };
    drop(stdin);
    reader.join().expect("reader");
    while let Ok(bytes) = rx.try_recv() {
        seen.extend(bytes);
    }
    let mut stderr = Vec::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_end(&mut stderr)
        .expect("stderr read");
    Output {
        status,
        stdout: seen,
        stderr,
    }
}

#[test]
fn ctrl_c_during_a_read_prints_what_was_read_and_a_summary() {
    let capture = std::fs::read(sample("basic.pcap")).expect("sample");
    // tshark's packet list of the same file: its 36 packets.
    let tshark = expected("basic", "tshark-list.tsv");
    let out = interrupt_read(&capture, &[], |s| s.lines().count() >= 36);
    // As tshark: what was read so far, exit status 0.
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    let numbers: Vec<&str> = text.lines().filter_map(|l| l.split('\t').next()).collect();
    let expected_numbers: Vec<&str> = tshark
        .lines()
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(numbers, expected_numbers);
    let err = String::from_utf8(out.stderr).expect("UTF-8");
    assert!(
        err.contains("--- reading - stopped by a signal (Ctrl-C) after 36 packets"),
        "{err}"
    );
    // The generator closed with 1000 both ways (basic.sent.json).
    let close = &manifest("basic")["connections"][0]["close"];
    assert!(close.to_string().contains("1000"), "{close}");
    assert!(
        err.contains("close codes:  1000 Normal Closure (c2s 1, s2c 1)"),
        "{err}"
    );
    assert!(
        err.contains("connections:  1 TCP, 1 WebSocket (1 upgraded)"),
        "{err}"
    );

    // A view written at the end is written on Ctrl-C too; a record cut by the interrupt is
    // not reported as a damaged capture.
    let cut = &capture[..capture.len() - 20];
    // The view prints nothing before the end: give the reading a second to take the bytes in.
    let fed = Instant::now();
    let out = interrupt_read(cut, &["--view", "conversations"], |_| {
        fed.elapsed() > Duration::from_secs(1)
    });
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = String::from_utf8(out.stdout).expect("UTF-8");
    assert!(text.contains("127.0.0.1:9101"), "{text}");
    let err = String::from_utf8(out.stderr).expect("UTF-8");
    assert!(!err.contains("cut off"), "{err}");
    assert!(err.contains("stopped by a signal (Ctrl-C)"), "{err}");
}

#[test]
fn progress_shows_the_time_left_and_is_erased_before_the_output() {
    // A capture that takes longer to read than the progress line's delay (half a second):
    // basic.pcap's packets many times over (the same connection again and again), larger
    // until the reading is slow enough on this machine and build.
    let dir = std::env::temp_dir().join(format!("wsdissect-progress-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let big = dir.join("big.pcap");
    let source = std::fs::read(sample("basic.pcap")).expect("sample");
    let (header, records) = source.split_at(24);
    let mut copies = 3000;
    let out = loop {
        let mut file = std::fs::File::create(&big).expect("create");
        file.write_all(header).expect("write");
        for _ in 0..copies {
            file.write_all(records).expect("write");
        }
        drop(file);
        let started = Instant::now();
        let Some(out) = on_pty(
            &[
                "read",
                big.to_str().expect("path"),
                "--view",
                "conversations",
            ],
            &[("COLUMNS", "300")],
        ) else {
            let _ = std::fs::remove_dir_all(&dir);
            return;
        };
        if out.contains("ETA ") || started.elapsed() > Duration::from_secs(5) || copies > 100_000 {
            break out;
        }
        copies *= 8;
    };
    let _ = std::fs::remove_dir_all(&dir);
    let table = out.find("conn  client").expect("the table");
    let before = &out[..table];
    assert!(before.contains("ETA "), "no ETA: {before:?}");
    assert!(before.contains("% "), "{before:?}");
    // The last thing before the table is the erased progress line: a carriage return,
    // spaces, a carriage return.
    let erased = before.rfind('\r').expect("erased line");
    assert!(
        before[..erased].trim_end_matches(' ').ends_with('\r'),
        "{:?}",
        &before[before.len().saturating_sub(300)..]
    );
    assert!(before[erased + 1..].trim().is_empty(), "{before:?}");
    // Every progress line fitted the terminal.
    for drawn in before.split('\r') {
        assert!(width(drawn) < 300, "{drawn:?}");
    }
}

#[test]
fn conversations_blocks_wrap_long_values_instead_of_cutting_them() {
    // The generator's negotiated extension (deflate-window-bits.sent.json) is longer than
    // the table's cell limit; at 80 columns each connection is a block, and the value wraps
    // under its name, whole.
    let accepted = manifest("deflate-window-bits")["connections"][0]["extensions"]["accepted"]
        .as_str()
        .expect("accepted extension")
        .to_string();
    let file = path_of("deflate-window-bits.pcap");
    for columns in [50, 80] {
        let out = stdout(&["read", &file, "--view", "conversations"], Some(columns));
        assert!(out.lines().all(|l| width(l) <= columns), "{out}");
        let mut value = String::new();
        let mut inside = false;
        for line in out.lines() {
            if let Some(rest) = line.trim_start().strip_prefix("extensions") {
                inside = true;
                value.push_str(rest.trim());
            } else if inside && line.starts_with("                        ") {
                value.push(' ');
                value.push_str(line.trim());
            } else {
                inside = false;
            }
        }
        assert!(!value.contains('…'), "{out}");
        let squeeze = |s: &str| s.replace(' ', "");
        assert_eq!(squeeze(&value), squeeze(&accepted), "at {columns}");
    }
}
