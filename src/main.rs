//! wsdissect command line: parse arguments, wire the stages together, map the outcome to
//! an exit code (0 ok, 1 check failures, 2 unusable input or arguments).

mod cli;
mod cmd;

use clap::Parser;
use cli::{Cli, Command, DissectArgs, Format, ReadArgs};
use std::io::{self, BufWriter, Write};
use std::process::ExitCode;
use wsdissect::app;
use wsdissect::capture::{self, PacketSource};
use wsdissect::dissect::{DissectConfig, Dissector};
use wsdissect::event::EventSink;
use wsdissect::output::{JsonLines, Timeline, TimelineOptions};
use wsdissect::session::ConnConfig;
use wsdissect::term::progress;
use wsdissect::views;
use wsdissect::ws::DecoderLimits;

const EXIT_OK: u8 = 0;
const EXIT_BAD_INPUT: u8 = 2;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                EXIT_BAD_INPUT
            } else {
                EXIT_OK
            });
        }
    };
    match cli.command {
        Command::Read(args) => read(&args),
        Command::Check(args) => cmd::check::run(&args),
        Command::Live(args) => cmd::live::run(&args),
    }
}

fn dissect_config(args: &DissectArgs) -> DissectConfig {
    // The packet list without -V never shows a data payload: keeping none makes large
    // frames cost no memory (control frames are still kept whole: their contents are
    // interpreted). Every other output (-V, JSON Lines, the views) shows payloads.
    // (The same choice as `renderer`.)
    let packet_list = args.view.options(false).is_packet_list()
        && args.format == Format::Timeline
        && !args.verbose;
    let shown = if packet_list { 0 } else { args.max_payload };
    DissectConfig {
        conn: ConnConfig {
            ws_ports: args.ws_ports.clone(),
            decoder: DecoderLimits {
                max_retained_payload: shown,
            },
            max_message_payload: shown,
            max_inflated: args.max_inflated,
            ..ConnConfig::default()
        },
        port_filter: args.ports.clone(),
    }
}

/// Builds the renderer chosen by the flags.
fn renderer<'w>(
    args: &DissectArgs,
    out: &'w mut dyn Write,
    streaming: bool,
) -> Box<dyn EventSink + 'w> {
    let view = args.view.options(streaming);
    if !view.is_packet_list() {
        return views::view_renderer(&view, out);
    }
    match args.format {
        Format::Timeline => Box::new(Timeline::new(
            out,
            TimelineOptions {
                verbose: args.verbose,
                wireshark_compat: args.wireshark_compat,
                flush_each_packet: streaming,
            },
        )),
        Format::Jsonl => Box::new(JsonLines::new(out, streaming)),
    }
}

fn read(args: &ReadArgs) -> ExitCode {
    let name = args.file.display().to_string();
    let from_stdin = name == "-";
    if let Err(e) = args.dissect.view.kind() {
        eprintln!("wsdissect: {e}");
        return ExitCode::from(EXIT_BAD_INPUT);
    }
    let wants_progress = progress::wanted(args.dissect.view.options(from_stdin).writes_at_end());
    let opened = capture::Input::open(&args.file).and_then(|input| {
        if wants_progress {
            let (count, handle) = progress::track(input.size());
            let source = input.on_bytes(count).into_source()?;
            Ok((source, Some(handle)))
        } else {
            Ok((input.into_source()?, None))
        }
    });
    let (mut source, progress): (Box<dyn PacketSource>, _) = match opened {
        Ok(s) => s,
        Err(e) => {
            eprintln!("wsdissect: {name}: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
    };
    let stdout = io::stdout();
    let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
    let mut dissector = Dissector::new(dissect_config(&args.dissect));
    let result = {
        let mut sink = renderer(&args.dissect, &mut out, false);
        let result = app::run(source.as_mut(), &mut dissector, sink.as_mut());
        if let Some(progress) = &progress {
            progress.finish();
        }
        drop(sink);
        result
    };
    let flushed = out.flush();
    match (result, flushed) {
        (Err(e), _) | (Ok(_), Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            ExitCode::from(EXIT_OK)
        }
        (Err(e), _) | (Ok(_), Err(e)) => {
            eprintln!("wsdissect: writing output: {e}");
            ExitCode::from(EXIT_BAD_INPUT)
        }
        (Ok(outcome), Ok(())) => match outcome.error {
            None => ExitCode::from(EXIT_OK),
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
