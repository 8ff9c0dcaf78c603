//! wsdissect command line: parse arguments, wire the stages together, map the outcome to
//! an exit code (0 ok, 1 check failures, 2 unusable input or arguments).

mod cli;
mod cmd;

use clap::Parser;
use cli::{Cli, Command, ReadArgs, Terminal};
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wsdissect::app::{EXIT_BAD_INPUT, EXIT_OK};
use wsdissect::capture::{self, PacketSource};
use wsdissect::dissect::Dissector;
use wsdissect::event::{Event, EventSink, WorkerPart};
use wsdissect::output::live_summary::{Tally, write_counts};
use wsdissect::printer;
use wsdissect::term::progress;
use wsdissect::views::follow::{NoSuchConnection, check_export_dir};

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return cli::usage_error(e),
    };
    let term = Terminal::probe();
    match cli.command {
        Command::Read(args) => read(&args, &term),
        Command::Check(args) => cmd::check::run(&args, &term),
        Command::Live(args) => cmd::live::run(&args, &term),
        Command::Decoders => decoders(),
        Command::Completions(args) => cli::completions(args.shell),
        Command::Man => cli::man_page(),
        Command::Fields => list_fields(),
    }
}

/// `wsdissect decoders`: the payload decoders, one block each.
fn decoders() -> ExitCode {
    let mut out = String::new();
    for d in wsdissect::payload::DECODERS {
        let names: Vec<&str> = std::iter::once(d.protocol.name())
            .chain(d.aliases.iter().copied())
            .collect();
        out.push_str(&format!("{}\n    {}\n", names.join(", "), d.description));
        if !d.subprotocols.is_empty() {
            out.push_str(&format!(
                "    chosen by Sec-WebSocket-Protocol: {}\n",
                d.subprotocols.join(", ")
            ));
        }
        for (field, meaning) in d.fields {
            out.push_str(&format!(
                "    {}.{field}: {meaning}\n",
                d.protocol.field_prefix()
            ));
        }
    }
    match io::stdout().lock().write_all(out.as_bytes()) {
        Ok(()) => ExitCode::from(EXIT_OK),
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => ExitCode::from(EXIT_OK),
        Err(e) => {
            eprintln!("wsdissect: writing output: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
    }
}

/// `wsdissect fields`: one line per field usable with -Y and -e: name, type, description.
fn list_fields() -> ExitCode {
    let mut out = BufWriter::new(io::stdout().lock());
    let listed = wsdissect::fields::ALL
        .iter()
        .filter(|f| wsdissect::values::per_packet(f))
        .try_for_each(|f| writeln!(out, "{}\t{}\t{}", f.name, f.ty.name(), f.description))
        .and_then(|()| {
            // The application protocols' fields, from the payload decoders.
            wsdissect::payload::app_fields()
                .iter()
                .try_for_each(|f| writeln!(out, "{}\t{}\t{}", f.name, f.ty.name(), f.description))
        })
        .and_then(|()| out.flush());
    match listed {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => {
            eprintln!("wsdissect: writing output: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        _ => ExitCode::from(EXIT_OK),
    }
}

/// Exit status after a second Ctrl-C (128 + SIGINT), as shells report an interrupt.
const EXIT_INTERRUPTED: i32 = 130;

/// A flag the first Ctrl-C (or SIGTERM, SIGHUP) sets, ending the reading cleanly before
/// the next packet; a second one leaves at once, should the output be stuck. Without a
/// handler (it could not be installed) the flag is never set and a signal ends the process
/// as usual.
fn interrupt_flag() -> Arc<AtomicBool> {
    let flag = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&flag);
    if ctrlc::set_handler(move || {
        if set.swap(true, Ordering::Relaxed) {
            std::process::exit(EXIT_INTERRUPTED);
        }
    })
    .is_err()
    {
        // Another handler is installed (not in this program): keep the default behaviour.
    }
    flag
}

/// The renderer, with what happens as the reading ends: the progress line is erased
/// before the renderer's end output (a table, a HAR) reaches the same terminal, and every
/// event is counted for the summary an interrupted read prints.
struct EndOfReading<'a> {
    out: &'a mut dyn EventSink,
    progress: Option<&'a progress::ProgressHandle>,
    tally: &'a mut Tally,
}

impl EventSink for EndOfReading<'_> {
    fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.tally.observe(event);
        self.out.event(event)
    }

    fn worker_part(&self) -> Option<Box<dyn WorkerPart>> {
        let inner = self.out.worker_part()?;
        Some(Box::new(TallyPart {
            tally: Tally::new(),
            inner,
        }))
    }

    fn part_event(&mut self, event: &Event<'_>) -> io::Result<()> {
        self.tally.observe(event);
        self.out.part_event(event)
    }

    fn part_output(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.part_output(bytes)
    }

    fn merge_part(&mut self, part: Box<dyn WorkerPart>) -> io::Result<()> {
        match part.into_any().downcast::<TallyPart>() {
            Ok(part) => {
                self.tally.merge(part.tally);
                self.out.merge_part(part.inner)
            }
            Err(_) => Ok(()),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }

    fn finish(&mut self) -> io::Result<()> {
        if let Some(progress) = self.progress {
            progress.finish();
        }
        self.out.finish()
    }
}

/// [`EndOfReading`]'s counting done beside the output's own worker part: the events
/// that part keeps are counted there.
struct TallyPart {
    tally: Tally,
    inner: Box<dyn WorkerPart>,
}

impl WorkerPart for TallyPart {
    fn job(&mut self, whole: bool) {
        self.inner.job(whole);
    }

    fn polled_head(&mut self, event: &Event<'_>, out: &mut Vec<u8>) {
        // Passed on: counted where it arrives.
        self.inner.polled_head(event, out);
    }

    fn event(&mut self, event: &Event<'_>, out: &mut Vec<u8>) -> bool {
        let pass = self.inner.event(event, out);
        if !pass {
            self.tally.observe(event);
        }
        pass
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any> {
        self
    }
}

fn read(args: &ReadArgs, term: &Terminal) -> ExitCode {
    let name = args.file.display().to_string();
    if let Err(e) = args.dissect.view.kind() {
        eprintln!("wsdissect: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if let Err(e) = args.dissect.proto_schemas() {
        eprintln!("wsdissect: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    if let Some(dir) = &args.dissect.view.export {
        if let Err(e) = check_export_dir(dir, args.dissect.view.force) {
            eprintln!("wsdissect: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        // --force: what an earlier export wrote goes first, so runs never mix.
        if args.dissect.view.force
            && let Err(e) = wsdissect::views::follow::remove_previous_export(dir)
        {
            eprintln!(
                "wsdissect: {}: removing the earlier export: {e}",
                dir.display()
            );
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    }
    let output = args.dissect.output(term);
    let mut select = match args.dissect.select.options() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wsdissect: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    select.save = args.write.clone();
    if args.inject_secrets {
        if !args
            .write
            .as_deref()
            .is_some_and(wsdissect::capture::writer::is_pcapng_file_name)
        {
            eprintln!(
                "wsdissect: --inject-secrets writes pcapng Decryption Secrets Blocks: \
                 give -w a file name ending in .pcapng"
            );
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        select.inject_secrets = true;
    }
    // A HAR is written at the end too, so a progress line cannot mix with it.
    let at_end = output.view.writes_at_end()
        || (output.view.is_packet_list() && output.format == printer::Format::Har);
    let wants_progress = progress::wanted(at_end);
    let interrupted = interrupt_flag();
    let opened = capture::Input::open(&args.file).and_then(|input| {
        let input = input.stop_when(Arc::clone(&interrupted));
        if wants_progress {
            let width = wsdissect::term::output_width(term.stderr);
            let (count, handle) = progress::track(input.size(), width);
            let source = input.on_bytes(count).into_source()?;
            Ok((source, Some(handle)))
        } else {
            Ok((input.into_source()?, None))
        }
    });
    let (mut source, progress): (Box<dyn PacketSource>, _) = match opened {
        Ok((s, p)) => match args.count {
            Some(n) => (
                Box::new(capture::Take::new(s, n)) as Box<dyn PacketSource>,
                p,
            ),
            None => (s, p),
        },
        Err(e) => {
            eprintln!("wsdissect: {name}: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut config = args.dissect.dissect_config(&output);
    if cli::SelectArgs::needs_payloads(&select) {
        cli::retain_payloads(&mut config, args.dissect.max_payload);
    }
    config.conn.inject_secrets = args.inject_secrets;
    if cli::SelectArgs::needs_app_fields(&select) {
        config.conn.app_fields = true;
    }
    let mut dissector = Dissector::new(config);
    if let Err(e) = cli::key_logs(&args.dissect.keylogs)
        .and_then(|paths| cli::load_key_logs(&mut dissector, &paths))
    {
        eprintln!("wsdissect: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let mut tally = Tally::new();
    let result = {
        let mut sink = match printer::selected_printer(&output, select, &mut out) {
            Ok(sink) => sink,
            Err(e) => {
                let path = args.write.as_deref().unwrap_or(std::path::Path::new("-"));
                eprintln!("wsdissect: {}: {e}", path.display());
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        };
        let mut end = EndOfReading {
            out: sink.as_mut(),
            progress: progress.as_ref(),
            tally: &mut tally,
        };
        let threads =
            wsdissect::shard::threads_for(args.dissect.budget.shard_threads(), &end, &dissector);
        let result = wsdissect::shard::run(source.as_mut(), dissector, threads, &mut end);
        if let Some(progress) = &progress {
            progress.finish();
        }
        drop(sink);
        result
    };
    let flushed = out.flush();
    if let (true, Ok(outcome)) = (interrupted.load(Ordering::Relaxed), &result) {
        // Like tshark, which ends a read on Ctrl-C with what it read and exit status 0;
        // like `live`, a summary of what was seen goes to stderr.
        let stats = outcome.stats;
        let mut err = io::stderr().lock();
        let _ = writeln!(
            err,
            "--- reading {name} stopped by a signal (Ctrl-C) after {} packets",
            stats.packets
        );
        let _ = write_counts(
            &mut err,
            &tally,
            stats.connections,
            wsdissect::term::output_width(term.stderr),
        );
    }
    match (result, flushed) {
        (Err(e), _) | (Ok(_), Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::from(EXIT_OK)
        }
        (Err(e), _) if NoSuchConnection::within(&e).is_some() => {
            eprintln!("wsdissect: {name}: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        // An export error says where already ("exporting to DIR: ...").
        (Err(e), _) if e.to_string().starts_with("exporting to ") => {
            eprintln!("wsdissect: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        (Err(e), _) | (Ok(_), Err(e)) => {
            eprintln!("wsdissect: writing output: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        (Ok(outcome), Ok(())) => match outcome.error {
            None => {
                if outcome.packets == 0 {
                    // A header-only capture reads without error; say why nothing shows.
                    eprintln!("wsdissect: {name}: no packets");
                }
                ExitCode::from(EXIT_OK)
            }
            Some(e) => {
                eprintln!("wsdissect: {name}: {e}");
                if outcome.packets == 0 {
                    ExitCode::from(EXIT_BAD_INPUT)
                } else {
                    eprintln!(
                        "wsdissect: {name}: the {} packets before the problem were decoded",
                        outcome.packets
                    );
                    ExitCode::from(EXIT_OK)
                }
            }
        },
    }
}
