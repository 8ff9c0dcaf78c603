//! `wsdissect check FILE...`: dissects each capture, prints its diagnostics as they come
//! and a summary per file (text, JSON Lines or, at the end, JUnit XML), and maps the
//! verdict to the exit status: 0 nothing at error severity, 1 errors found, 2 an input
//! could not be read at all (the other files are still checked).

use crate::cli::{CheckArgs, CheckFormat, DenyLevel, Terminal};
use std::collections::BTreeMap;
use std::io::{self, BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicUsize, Ordering};
use wsdissect::app::{EXIT_BAD_INPUT, EXIT_FAILED, EXIT_OK};
use wsdissect::capture::{self, STDIN_PATH};
use wsdissect::check::report::diagnostic;
use wsdissect::check::report::junit::{JunitReport, JunitSuite};
use wsdissect::check::report::summary::{self, SummaryStyle};
use wsdissect::check::{
    AllowedCloseCodes, CheckConfig, CheckCounts, Diagnostic, Expectations, FileCheck, FileSummary,
    Totals,
};
use wsdissect::dissect::Dissector;
use wsdissect::event::{Event, EventSink, WorkerPart};
use wsdissect::filter::Filter;
use wsdissect::output::select::Select;
use wsdissect::shard;
use wsdissect::values::Registry;
use wsdissect::views::conversations::{ConversationTable, SUMMARY_ROWS};

/// Name shown for standard input.
const STDIN_NAME: &str = "<stdin>";

/// The verdict configuration from the flags.
fn check_config(args: &CheckArgs) -> CheckConfig {
    CheckConfig {
        deny_warnings: args.deny.contains(&DenyLevel::Warnings),
        allow: args.allow.clone(),
        expect: Expectations {
            close_handshake: args.expect_close_handshake,
            allowed_close_codes: args
                .allowed_close_codes
                .as_ref()
                .map(|list| AllowedCloseCodes {
                    codes: list.iter().filter_map(|c| c.0).collect(),
                    no_code: list.iter().any(|c| c.0.is_none()),
                }),
            min_connections: args.min_connections,
            decrypted: args.expect_decrypted,
        },
    }
}

/// Every `--allow KIND` must name a kind of the rules table: a typo would otherwise
/// silently allow nothing. The error suggests the nearest kind.
fn check_allowed_kinds(allow: &[String]) -> Result<(), String> {
    for name in allow {
        if wsdissect::rules::kind(name).is_none() {
            let hint = match wsdissect::rules::nearest_kind(name) {
                Some(k) => format!("; did you mean `{}`?", k.name),
                None => String::new(),
            };
            return Err(format!(
                "--allow {name}: no such kind{hint} (README lists the kinds)"
            ));
        }
    }
    Ok(())
}

/// Where a file's diagnostics go as they come; `flush` for a stream on stdin (e.g. from a
/// live `tcpdump -w -`), so that each diagnostic shows when it is found.
enum Output<'a> {
    Text { out: &'a mut dyn Write, flush: bool },
    Jsonl { out: &'a mut dyn Write, flush: bool },
    Junit(&'a mut JunitSuite),
}

impl Output<'_> {
    fn diagnostic(&mut self, file: &str, d: &Diagnostic) -> io::Result<()> {
        let (out, flush) = match self {
            Output::Text { out, flush } => {
                diagnostic::write_text(*out, file, d)?;
                (out, *flush)
            }
            Output::Jsonl { out, flush } => {
                diagnostic::write_json(*out, file, d)?;
                (out, *flush)
            }
            Output::Junit(suite) => {
                suite.diagnostic(d);
                return Ok(());
            }
        };
        if flush { out.flush() } else { Ok(()) }
    }
}

/// Feeds the dissector's events to the file's check and renders what it finds.
struct CheckSink<'a, 'c> {
    check: FileCheck<'c>,
    file: &'a str,
    out: Output<'a>,
    /// The conversations table printed after the text summary; `None` when nothing
    /// prints it (JSON Lines, JUnit, `--quiet`), which spares a lookup per event.
    conversations: Option<ConversationTable>,
}

impl EventSink for CheckSink<'_, '_> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        if let Some(table) = &mut self.conversations {
            table.observe(event);
        }
        self.part_event(event)
    }

    fn worker_part(&self) -> Option<Box<dyn WorkerPart>> {
        Some(Box::new(CheckPart {
            counts: CheckCounts::default(),
            conversations: self
                .conversations
                .as_ref()
                .map(|_| ConversationTable::new()),
        }))
    }

    fn part_event(&mut self, event: &Event<'_>) -> io::Result<()> {
        // The check's rules (a worker part kept its connections' rows already).
        let CheckSink {
            check, file, out, ..
        } = self;
        let mut result = Ok(());
        check.observe(event, &mut |d| {
            if result.is_ok() {
                result = out.diagnostic(file, d);
            }
        });
        result
    }

    fn merge_part(&mut self, part: Box<dyn WorkerPart>) -> io::Result<()> {
        if let Ok(part) = part.into_any().downcast::<CheckPart>() {
            self.check.add_counts(part.counts);
            if let (Some(mine), Some(theirs)) = (&mut self.conversations, part.conversations) {
                mine.merge(theirs);
            }
        }
        Ok(())
    }
}

/// What a check does on the thread that dissects the connections: their conversation
/// rows, and the counting of the events that need nothing more (most of them), so the
/// reading thread sees only the few events a rule looks at. On small-20.pcap with
/// `--threads 2` (callgrind) the reading thread went from 227 M instructions (release
/// build, every event sent back and rendered there) to 107 M (prof build, with the
/// shared read buffers), the two workers from 128 M + 130 M to 158 M + 147 M.
#[derive(Debug)]
struct CheckPart {
    counts: CheckCounts,
    conversations: Option<ConversationTable>,
}

impl WorkerPart for CheckPart {
    fn event(&mut self, event: &Event<'_>, _out: &mut Vec<u8>) -> bool {
        if let Some(table) = &mut self.conversations {
            table.observe(event);
        }
        !self.counts.count(event)
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

/// A writer that puts one blank line before the first bytes written after
/// [`Separated::arm`]: text blocks of successive files are separated without a blank line
/// for files that printed nothing (unreadable ones go to stderr).
struct Separated<'w> {
    inner: &'w mut dyn Write,
    pending: bool,
}

impl Separated<'_> {
    fn arm(&mut self) {
        self.pending = true;
    }
}

impl Write for Separated<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.pending && !buf.is_empty() {
            self.inner.write_all(b"\n")?;
            self.pending = false;
        }
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Where a file's report goes: its standard output, and its lines for standard error
/// (which come after what was written before them).
trait Report: Write {
    fn error_line(&mut self, line: &str) -> io::Result<()>;
}

impl Report for Separated<'_> {
    fn error_line(&mut self, line: &str) -> io::Result<()> {
        // Whatever was written before comes before this line on a terminal.
        self.flush()?;
        eprintln!("{line}");
        Ok(())
    }
}

/// A file's report held while other files are checked in parallel: the bytes for standard
/// output, and each line for standard error with the output length it came after.
#[derive(Default)]
struct Held {
    out: Vec<u8>,
    errors: Vec<(usize, String)>,
}

impl Write for Held {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Report for Held {
    fn error_line(&mut self, line: &str) -> io::Result<()> {
        self.errors.push((self.out.len(), line.to_string()));
        Ok(())
    }
}

impl Held {
    /// Writes the report as the file would have written it when checked alone.
    fn replay(self, out: &mut dyn Report) -> io::Result<()> {
        let mut at = 0;
        for (end, line) in self.errors {
            out.write_all(self.out.get(at..end).unwrap_or_default())?;
            out.error_line(&line)?;
            at = end;
        }
        out.write_all(self.out.get(at..).unwrap_or_default())
    }
}

/// How one file went.
enum FileOutcome {
    Checked(FileSummary),
    Unreadable,
}

/// Runs `check` over every file; the exit status.
pub fn run(args: &CheckArgs, term: &Terminal) -> ExitCode {
    if let Err(e) = check_allowed_kinds(&args.allow) {
        eprintln!("wsdissect: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if let Some(expr) = &args.display_filter
        && let Err(e) = Filter::compile(expr, &Registry::new())
    {
        eprintln!("wsdissect: {}", e.render());
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let config = check_config(args);
    let stdout = io::stdout();
    let style = SummaryStyle { table: term.stdout };
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    match run_files(args, &config, term, style, &mut out).and_then(|status| {
        out.flush()?;
        Ok(status)
    }) {
        Ok(status) => ExitCode::from(status),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!("wsdissect: writing output: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

fn run_files(
    args: &CheckArgs,
    config: &CheckConfig,
    term: &Terminal,
    style: SummaryStyle,
    out: &mut dyn Write,
) -> io::Result<u8> {
    let mut junit =
        (args.format == CheckFormat::Junit).then(|| JunitReport::new(config.expect.any()));
    let mut totals = Totals::default();
    let key_logs = match crate::cli::key_logs(&args.keylogs) {
        Ok(paths) => paths,
        Err(e) => {
            eprintln!("wsdissect: {e}");
            return Ok(EXIT_BAD_INPUT);
        }
    };
    let mut out = Separated {
        inner: out,
        pending: false,
    };
    let threads = args.budget.threads();
    let shard_threads = args.budget.shard_threads();
    let text_blocks = args.format == CheckFormat::Text && !args.quiet;
    // Independent files are checked in parallel (one thread each), their reports printed
    // in the order given; standard input streams, and JUnit gathers one report: those
    // go one file at a time, each file's connections spread over the threads.
    let parallel = threads > 1
        && args.files.len() > 1
        && junit.is_none()
        && !args.files.iter().any(|p| p.as_os_str() == STDIN_PATH);
    if parallel {
        check_in_parallel(args, config, term, style, &key_logs, threads, &mut |held| {
            let (outcome, held) = held?;
            held.replay(&mut out)?;
            match outcome {
                FileOutcome::Checked(summary) => totals.add(&summary),
                FileOutcome::Unreadable => totals.add_unreadable(),
            }
            if text_blocks {
                out.arm();
            }
            Ok(())
        })?;
    }
    for path in args.files.iter().filter(|_| !parallel) {
        match check_file(
            &key_logs,
            path,
            args,
            config,
            term,
            style,
            &mut out,
            junit.as_mut(),
            shard_threads,
        )? {
            FileOutcome::Checked(summary) => totals.add(&summary),
            FileOutcome::Unreadable => totals.add_unreadable(),
        }
        if text_blocks {
            out.arm();
        }
    }
    match (&junit, args.format) {
        (Some(report), _) => report.write(&mut out)?,
        (None, CheckFormat::Text) if totals.files > 1 && !args.quiet => {
            out.write_all(summary::totals_text(&totals).as_bytes())?;
        }
        _ => {}
    }
    Ok(if totals.unreadable > 0 {
        EXIT_BAD_INPUT
    } else if totals.errors > 0 {
        EXIT_FAILED
    } else {
        EXIT_OK
    })
}

/// Checks `args.files` on `threads` threads, a file each, handing each file's outcome and
/// held report to `report` in the order given.
#[allow(clippy::too_many_arguments)]
fn check_in_parallel(
    args: &CheckArgs,
    config: &CheckConfig,
    term: &Terminal,
    style: SummaryStyle,
    key_logs: &[std::path::PathBuf],
    threads: usize,
    report: &mut dyn FnMut(io::Result<(FileOutcome, Held)>) -> io::Result<()>,
) -> io::Result<()> {
    let next = AtomicUsize::new(0);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..threads.min(args.files.len()) {
            let (tx, next) = (tx.clone(), &next);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = args.files.get(i) else {
                        return;
                    };
                    let mut held = Held::default();
                    let checked = check_file(
                        key_logs,
                        path,
                        args,
                        config,
                        term,
                        style,
                        &mut held,
                        None,
                        Some(1),
                    )
                    .map(|outcome| (outcome, held));
                    if tx.send((i, checked)).is_err() {
                        // The reports are no longer wanted (output closed).
                        return;
                    }
                }
            });
        }
        drop(tx);
        // Files finished ahead of their turn wait here.
        let mut ahead = BTreeMap::new();
        let mut turn = 0;
        for (i, checked) in rx {
            ahead.insert(i, checked);
            while let Some(checked) = ahead.remove(&turn) {
                report(checked)?;
                turn += 1;
            }
        }
        Ok(())
    })
}

/// Reports a file that could not be read at all: stderr always, and a record in the
/// machine-readable formats.
fn unreadable(
    name: &str,
    message: &str,
    format: CheckFormat,
    out: &mut dyn Report,
    junit: Option<&mut JunitReport>,
) -> io::Result<FileOutcome> {
    out.error_line(&format!("wsdissect: {name}: {message}"))?;
    match (format, junit) {
        (CheckFormat::Jsonl, _) => {
            out.write_all(diagnostic::read_error_record(name, message).as_bytes())?
        }
        (CheckFormat::Junit, Some(report)) => report.push(JunitSuite::unreadable(name, message)),
        _ => {}
    }
    Ok(FileOutcome::Unreadable)
}

#[allow(clippy::too_many_arguments)]
fn check_file(
    key_logs: &[std::path::PathBuf],
    path: &Path,
    args: &CheckArgs,
    config: &CheckConfig,
    term: &Terminal,
    style: SummaryStyle,
    out: &mut dyn Report,
    junit: Option<&mut JunitReport>,
    threads: Option<usize>,
) -> io::Result<FileOutcome> {
    let streaming = path.as_os_str() == STDIN_PATH;
    let name = if streaming {
        STDIN_NAME.to_string()
    } else {
        path.display().to_string()
    };
    let mut source = match capture::open_path(path) {
        Ok(s) => s,
        Err(e) => return unreadable(&name, &e.to_string(), args.format, out, junit),
    };
    let filter = match &args.display_filter {
        // Compiled once in `run`; a failure here cannot happen.
        Some(expr) => Filter::compile(expr, &Registry::new()).ok(),
        None => None,
    };
    let mut dissect_config = args.dissect_config();
    if let Some(f) = &filter
        && Registry::new().needs_payloads(f.fields())
    {
        crate::cli::retain_payloads(&mut dissect_config, 16 << 20);
        dissect_config.conn.app_fields |= Registry::new().needs_app_fields(f.fields());
    }
    let mut dissector = Dissector::new(dissect_config);
    if let Err(e) = crate::cli::load_key_logs(&mut dissector, key_logs) {
        return unreadable(&name, &e, args.format, out, junit);
    }
    let mut suite = JunitSuite::new(&name);
    let mut sink = CheckSink {
        check: FileCheck::new(config),
        file: &name,
        out: match args.format {
            CheckFormat::Text => Output::Text {
                out: &mut *out,
                flush: streaming,
            },
            CheckFormat::Jsonl => Output::Jsonl {
                out: &mut *out,
                flush: streaming,
            },
            CheckFormat::Junit => Output::Junit(&mut suite),
        },
        conversations: (args.format == CheckFormat::Text && !args.quiet)
            .then(ConversationTable::new),
    };
    let outcome = match filter {
        None => {
            let threads = shard::threads_for(threads, &sink, &dissector);
            shard::run(source.as_mut(), dissector, threads, &mut sink)?
        }
        Some(f) => {
            let mut selected = Select::around(f, &mut sink);
            let threads = shard::threads_for(threads, &selected, &dissector);
            shard::run(source.as_mut(), dissector, threads, &mut selected)?
        }
    };
    let CheckSink {
        check,
        out: mut sink_out,
        conversations,
        ..
    } = sink;
    if let Some(message) = check.unreadable() {
        let message = message.to_string();
        return unreadable(&name, &message, args.format, out, junit);
    }
    let mut result = Ok(());
    let summary = check.finish(&mut |d| {
        if result.is_ok() {
            result = sink_out.diagnostic(&name, d);
        }
    });
    result?;
    if let Some(e) = &outcome.error {
        out.error_line(&format!(
            "wsdissect: {name}: {e} (the {} packets before it were checked)",
            outcome.packets
        ))?;
    }
    match (args.format, junit) {
        (CheckFormat::Text, _) if args.quiet => {
            out.write_all(summary::verdict_line(&name, &summary).as_bytes())?
        }
        (CheckFormat::Text, _) => {
            summary::write_text(out, &name, &summary, style)?;
            if let Some(conversations) = conversations.filter(|t| !t.is_empty()) {
                // The conversations view: one row per connection that tried to upgrade.
                let table_style = term.summary_style(term.stdout);
                let table_width = term.width;
                out.write_all(
                    conversations
                        .render_summary(table_style, table_width, SUMMARY_ROWS)
                        .as_bytes(),
                )?;
            }
        }
        (CheckFormat::Jsonl, _) => {
            out.write_all(summary::json_record(&name, &summary).as_bytes())?
        }
        (CheckFormat::Junit, Some(report)) => {
            suite.set_summary(summary::text(&name, &summary, SummaryStyle::default()));
            report.push(suite);
        }
        (CheckFormat::Junit, None) => {}
    }
    out.flush()?;
    Ok(FileOutcome::Checked(summary))
}
