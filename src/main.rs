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
use wsdissect::conn::ConnConfig;
use wsdissect::dissect::{DissectConfig, Dissector};
use wsdissect::event::EventSink;
use wsdissect::render::{JsonLines, Timeline, TimelineOptions};
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
        Command::Live(args) => cmd::live::run(&args),
    }
}

fn dissect_config(args: &DissectArgs) -> DissectConfig {
    DissectConfig {
        conn: ConnConfig {
            ws_ports: args.ws_ports.clone(),
            decoder: DecoderLimits {
                max_retained_payload: args.max_payload,
            },
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
    let mut source: Box<dyn PacketSource> = match capture::open_path(&args.file) {
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
        let mut sink = renderer(&args.dissect, &mut out, from_stdin);
        let result = app::run(source.as_mut(), &mut dissector, sink.as_mut());
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
