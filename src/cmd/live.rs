//! `wsdissect live`: capture with libpcap and print as packets arrive, through the same
//! dissector and renderers as `read`; a summary on stderr when the capture stops.
//!
//! Without the `live` build feature the subcommand still exists and says how to rebuild.

use crate::cli::{LiveArgs, Terminal};
use std::process::ExitCode;

/// Runs `wsdissect live`.
pub fn run(args: &LiveArgs, term: &Terminal) -> ExitCode {
    #[cfg(feature = "live")]
    {
        enabled::run(args, term)
    }
    #[cfg(not(feature = "live"))]
    {
        let _ = (args, term);
        eprintln!(
            "wsdissect: this wsdissect was built without live capture; rebuild with: \
             cargo build --release --features live, or install with: \
             cargo install --path . --features live (needs libpcap's development package: \
             libpcap-dev on Debian/Ubuntu, libpcap-devel on Fedora, built in on macOS, \
             the Npcap SDK on Windows; see README, Install)"
        );
        ExitCode::from(wsdissect::app::EXIT_BAD_INPUT)
    }
}

#[cfg(feature = "live")]
mod enabled {
    use crate::cli::{LiveArgs, Terminal};
    use std::io::{self, BufWriter, Write};
    use std::process::ExitCode;
    use wsdissect::app;
    use wsdissect::app::{EXIT_BAD_INPUT, EXIT_OK};
    use wsdissect::capture::live::{self, LiveConfig, LiveError, LiveSource, StopReason};
    use wsdissect::dissect::Dissector;
    use wsdissect::event::{Event, EventSink};
    use wsdissect::output::live_summary::{
        CaptureFacts, PcapCounters, Tally, write_summary_fitted,
    };
    use wsdissect::printer;
    use wsdissect::term::output_width;
    use wsdissect::views::conversations::{ConversationTable, SUMMARY_ROWS};
    use wsdissect::views::follow::{NoSuchConnection, check_export_dir};

    /// Exit status after a second Ctrl-C (128 + SIGINT), as shells report an interrupt.
    const EXIT_INTERRUPTED: i32 = 130;

    pub fn run(args: &LiveArgs, term: &Terminal) -> ExitCode {
        if args.list_interfaces {
            return list_interfaces();
        }
        let mut select = match args.dissect.select.options() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("wsdissect: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        };
        // Live lines come as packets arrive.
        select.flush_each_packet = true;
        // --inject-secrets: the capture is saved as it comes to FILE.raw.pcapng, then
        // rewritten into FILE with the secrets known at the end (a browser writes a
        // connection's key log line after its first records went by).
        let raw_save = match (&args.write, args.inject_secrets) {
            (Some(path), true) => {
                if !wsdissect::capture::writer::is_pcapng_file_name(path) {
                    eprintln!(
                        "wsdissect: --inject-secrets writes pcapng Decryption Secrets Blocks: \
                         give -w a file name ending in .pcapng"
                    );
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
                Some(path.with_extension("raw.pcapng"))
            }
            _ => None,
        };
        let config = LiveConfig {
            interface: args.interface.clone(),
            filter: capture_filter(&args.dissect.ports, args.filter.as_deref()),
            count: args.count,
            duration: args.duration,
            save: raw_save.clone().or_else(|| args.write.clone()),
            buffer_size: Some(args.buffer_size << 20),
            queue_bytes: usize::try_from(args.queue_size << 20).unwrap_or(usize::MAX),
        };
        let mut source = match LiveSource::open(&config) {
            Ok(source) => source,
            Err(e) => {
                report_open_error(&e);
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        };
        let stopper = source.stopper();
        // The first Ctrl-C asks the capture to stop; a second one leaves at once, should
        // the output be stuck.
        if let Err(e) = ctrlc::set_handler(move || {
            if stopper.stop() {
                std::process::exit(EXIT_INTERRUPTED);
            }
        }) {
            eprintln!("wsdissect: warning: Ctrl-C will not stop the capture cleanly: {e}");
        }
        eprintln!(
            "wsdissect: capturing on {} ({}, {}){}; stop with Ctrl-C",
            source.interface(),
            source.link_type().name(),
            match source.filter() {
                Some(f) => format!("filter: {f}"),
                None => "no filter".to_string(),
            },
            match &config.save {
                Some(path) => format!(", saving to {}", path.display()),
                None => String::new(),
            }
        );

        if let Some(dir) = &args.dissect.view.export
            && let Err(e) = check_export_dir(dir, args.dissect.view.force)
        {
            eprintln!("wsdissect: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        if let Err(e) = args.dissect.proto_schemas() {
            eprintln!("wsdissect: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        let stdout = io::stdout();
        let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
        let output = args.dissect.output(term);
        let mut config = args.dissect.dissect_config(&output);
        if crate::cli::SelectArgs::needs_payloads(&select) {
            crate::cli::retain_payloads(&mut config, args.dissect.max_payload);
        }
        if crate::cli::SelectArgs::needs_app_fields(&select) {
            config.conn.app_fields = true;
        }
        // A browser writes a connection's key log line when its handshake ends, after the
        // first encrypted records went by: hold them until the line is read.
        config.conn.tls_hold = 1 << 20;
        let mut dissector = Dissector::new(config);
        if let Err(e) = crate::cli::key_logs(&args.dissect.keylogs)
            .and_then(|paths| crate::cli::load_key_logs(&mut dissector, &paths))
        {
            eprintln!("wsdissect: {e}");
            return ExitCode::from(EXIT_BAD_INPUT);
        }
        dissector.watch_key_logs(true);
        let mut tally = Tally::new();
        let mut conversations = ConversationTable::new();
        let result = {
            let mut sink = match printer::selected_printer(&output, select, &mut out) {
                Ok(sink) => sink,
                Err(e) => {
                    eprintln!("wsdissect: {e}");
                    return ExitCode::from(EXIT_BAD_INPUT);
                }
            };
            let mut tee = Tee {
                tally: &mut tally,
                conversations: &mut conversations,
                out: sink.as_mut(),
            };
            app::run(&mut source, &mut dissector, &mut tee)
        };
        let flushed = out.flush();

        let mut status = EXIT_OK;
        let mut capture_error = false;
        match (result, flushed) {
            // The reader went away (`| head`): not a failure of the capture.
            (Err(e), _) | (Ok(_), Err(e)) if e.kind() == io::ErrorKind::BrokenPipe => {}
            (Err(e), _) if NoSuchConnection::within(&e).is_some() => {
                eprintln!("wsdissect: live: {e}");
                status = EXIT_BAD_INPUT;
            }
            (Err(e), _) | (Ok(_), Err(e)) => {
                eprintln!("wsdissect: writing output: {e}");
                status = EXIT_BAD_INPUT;
            }
            (Ok(outcome), Ok(())) => {
                if let Some(e) = outcome.error {
                    eprintln!("wsdissect: {e}");
                    capture_error = true;
                    status = EXIT_BAD_INPUT;
                }
            }
        }
        let pcap = match source.stats() {
            Ok(s) => Some(PcapCounters {
                received: s.received,
                dropped: s.dropped,
                if_dropped: s.if_dropped,
                queue_dropped: s.queue_dropped,
            }),
            Err(e) => {
                eprintln!("wsdissect: {e}");
                None
            }
        };
        let stopped_by = match source.stop_reason() {
            Some(StopReason::Interrupted) => "a signal (Ctrl-C)".to_string(),
            Some(StopReason::Count) => format!("--count {}", source.packets()),
            Some(StopReason::Duration) => match args.duration {
                Some(d) => format!("--duration {}", d.as_secs_f64()),
                None => "--duration".to_string(),
            },
            None if capture_error => "an error".to_string(),
            None => "the output closing".to_string(),
        };
        let facts = CaptureFacts {
            interface: source.interface(),
            filter: source.filter(),
            stopped_by: &stopped_by,
            elapsed: source.elapsed(),
            packets: dissector.stats().packets,
            tcp_connections: dissector.stats().connections,
            pcap,
        };
        let stderr = io::stderr();
        let mut err = stderr.lock();
        let _ = write_summary_fitted(&mut err, &tally, &facts, output_width(term.stderr));
        if !conversations.is_empty() {
            // The conversations view, as the end summary's table of connections.
            let terminal = term.stderr;
            let style = term.summary_style(terminal);
            let _ = writeln!(err);
            let _ = err.write_all(
                conversations
                    .render_summary(style, output_width(terminal), SUMMARY_ROWS)
                    .as_bytes(),
            );
        }
        drop(err);
        // The capture thread has ended: the raw file is complete.
        drop(source);
        if let (Some(raw), Some(path)) = (&raw_save, &args.write) {
            let keys = crate::cli::key_logs(&args.dissect.keylogs).unwrap_or_default();
            match wsdissect::output::select::rewrite_with_secrets(raw, path, &keys) {
                Ok(_) => {
                    let _ = std::fs::remove_file(raw);
                }
                Err(e) => {
                    eprintln!(
                        "wsdissect: writing {} with its TLS secrets: {e} (the capture is in {})",
                        path.display(),
                        raw.display()
                    );
                    status = EXIT_BAD_INPUT;
                }
            }
        }
        ExitCode::from(status)
    }

    /// Sends every event to the renderer and counts it for the summary.
    struct Tee<'a> {
        tally: &'a mut Tally,
        conversations: &'a mut ConversationTable,
        out: &'a mut dyn EventSink,
    }

    impl EventSink for Tee<'_> {
        fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
            self.tally.observe(event);
            self.conversations.observe(event);
            self.out.event(event)
        }

        fn flush(&mut self) -> io::Result<()> {
            self.out.flush()
        }

        fn finish(&mut self) -> io::Result<()> {
            self.out.finish()
        }
    }

    /// The BPF filter: `--port A --port B` gives `tcp port A or tcp port B`; with `-f EXPR`
    /// both must hold.
    pub(super) fn capture_filter(ports: &[u16], filter: Option<&str>) -> Option<String> {
        let mut unique: Vec<u16> = Vec::with_capacity(ports.len());
        for &p in ports {
            if !unique.contains(&p) {
                unique.push(p);
            }
        }
        let by_port = (!unique.is_empty()).then(|| {
            unique
                .iter()
                .map(|p| format!("tcp port {p}"))
                .collect::<Vec<_>>()
                .join(" or ")
        });
        match (filter, by_port) {
            (None, None) => None,
            (Some(f), None) => Some(f.to_string()),
            (None, Some(p)) => Some(p),
            (Some(f), Some(p)) => Some(format!("({f}) and ({p})")),
        }
    }

    /// Prints the error, and for a permission problem how to grant capture rights.
    fn report_open_error(e: &LiveError) {
        eprintln!("wsdissect: {e}");
        if let LiveError::NoPermission { .. } = e {
            let exe = std::env::current_exe()
                .ok()
                .and_then(|p| p.to_str().map(str::to_string))
                .unwrap_or_else(|| "$(which wsdissect)".to_string());
            eprintln!(
                "wsdissect: capturing needs root or CAP_NET_RAW and CAP_NET_ADMIN; \
                 grant them with: sudo setcap cap_net_raw,cap_net_admin=eip {exe}"
            );
        }
    }

    /// `--list-interfaces`: name, flags, addresses, description; one interface a line.
    fn list_interfaces() -> ExitCode {
        let all = match live::interfaces() {
            Ok(all) => all,
            Err(e) => {
                eprintln!("wsdissect: {e}");
                return ExitCode::from(EXIT_BAD_INPUT);
            }
        };
        let default = all.iter().find(|i| i.loopback).map(|i| i.name.clone());
        let stdout = io::stdout();
        let mut out = stdout.lock();
        for i in &all {
            let mut flags = Vec::new();
            if default.as_deref() == Some(i.name.as_str()) {
                flags.push("default");
            }
            if i.loopback {
                flags.push("loopback");
            }
            if i.up {
                flags.push("up");
            }
            if i.running {
                flags.push("running");
            }
            let addresses: Vec<String> = i.addresses.iter().map(|a| a.to_string()).collect();
            let line = format!(
                "{}\t{}\t{}\t{}",
                i.name,
                flags.join(","),
                addresses.join(" "),
                i.description.as_deref().unwrap_or("")
            );
            if writeln!(out, "{}", line.trim_end()).is_err() {
                break;
            }
        }
        ExitCode::from(EXIT_OK)
    }

    #[cfg(test)]
    mod tests {
        use super::capture_filter;

        #[test]
        fn filter_from_ports_and_expression() {
            assert_eq!(capture_filter(&[], None), None);
            assert_eq!(
                capture_filter(&[9002], None).as_deref(),
                Some("tcp port 9002")
            );
            assert_eq!(
                capture_filter(&[9002, 2021, 9002], None).as_deref(),
                Some("tcp port 9002 or tcp port 2021")
            );
            assert_eq!(
                capture_filter(&[], Some("host ::1")).as_deref(),
                Some("host ::1")
            );
            assert_eq!(
                capture_filter(&[80], Some("host 127.0.0.1 or udp")).as_deref(),
                Some("(host 127.0.0.1 or udp) and (tcp port 80)")
            );
        }
    }
}
