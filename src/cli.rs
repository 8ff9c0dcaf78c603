//! Command-line arguments (clap derive), kept apart from the engine.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use wsdissect::dissect::DissectConfig;
use wsdissect::output::timeline::Columns;
use wsdissect::printer::OutputConfig;
use wsdissect::session::ConnConfig;
use wsdissect::term::output_width;
use wsdissect::term::style::{ColorChoice, ColorDepth, Style};
use wsdissect::views::{View, ViewOptions};
use wsdissect::ws::DecoderLimits;

/// What the process learnt about where its output goes, asked once at start-up.
#[derive(Debug, Clone)]
pub struct Terminal {
    /// Standard output is a terminal.
    pub stdout: bool,
    /// Standard error is a terminal.
    pub stderr: bool,
    /// The value of `NO_COLOR`, when set.
    pub no_color: Option<std::ffi::OsString>,
    /// Columns of the output (`COLUMNS`, else the terminal's), when known.
    pub width: Option<usize>,
    /// The colours the terminal shows (`COLORTERM`).
    pub depth: ColorDepth,
}

impl Terminal {
    /// Asks the environment.
    pub fn probe() -> Self {
        use std::io::IsTerminal;
        let stdout = std::io::stdout().is_terminal();
        Terminal {
            stdout,
            stderr: std::io::stderr().is_terminal(),
            no_color: std::env::var_os("NO_COLOR"),
            width: output_width(stdout),
            depth: ColorDepth::from_colorterm(std::env::var("COLORTERM").ok().as_deref()),
        }
    }

    /// The style of the end-of-run tables (check and live summaries): colour only on a
    /// terminal (`on_terminal`) and without `NO_COLOR`.
    pub fn summary_style(&self, on_terminal: bool) -> Style {
        Style::new(on_terminal && self.no_color.is_none()).with_depth(self.depth)
    }
}

/// The key logs to read: the `--keylog` files, then `SSLKEYLOGFILE` when it is set. A
/// `--keylog` file that does not exist is an error (`Err` names it); `SSLKEYLOGFILE` may
/// name a file not written yet.
pub fn key_logs(explicit: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut paths = Vec::new();
    for path in explicit {
        if !path.is_file() {
            return Err(format!("{}: no such key log file", path.display()));
        }
        paths.push(path.clone());
    }
    if let Some(env) = std::env::var_os("SSLKEYLOGFILE").filter(|v| !v.is_empty()) {
        paths.push(PathBuf::from(env));
    }
    Ok(paths)
}

/// Loads `paths` into `dissector`; the error names the file.
pub fn load_key_logs(
    dissector: &mut wsdissect::dissect::Dissector,
    paths: &[PathBuf],
) -> Result<(), String> {
    for path in paths {
        dissector
            .add_key_log_file(path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

/// The dissector's settings; `retained` is how many payload bytes per frame and per
/// message outputs may show (0: none kept).
pub fn dissect_config(
    ws_ports: &[u16],
    ports: &[u16],
    max_inflated: u64,
    retained: usize,
) -> DissectConfig {
    DissectConfig {
        conn: ConnConfig {
            ws_ports: ws_ports.to_vec(),
            decoder: DecoderLimits {
                max_retained_payload: retained,
            },
            max_message_payload: retained,
            max_inflated,
            ..ConnConfig::default()
        },
        port_filter: ports.to_vec(),
        budget: Default::default(),
    }
}

/// `--version`: the crate version and the git commit it was built from ("unknown" outside a
/// git checkout; see build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("WSDISSECT_GIT_COMMIT"),
    ")"
);
/// Makes the dissector keep up to `bytes` of each data payload (a filter or column reads
/// them even when the output shows none).
pub fn retain_payloads(config: &mut DissectConfig, bytes: usize) {
    config.conn.decoder.max_retained_payload = bytes;
    config.conn.max_message_payload = bytes;
}

/// `--memory-limit` and `--idle-timeout`: the memory budget (README "Limits").
#[derive(Debug, Clone, Args)]
pub struct BudgetArgs {
    /// Memory for payload held for display and the connection table together (bytes, or
    /// with K, M, G: 256M); past it message displays are cut and the longest-idle
    /// connections released, each reported. 0: no limit.
    #[arg(long, value_name = "BYTES", default_value = "96M", value_parser = parse_size)]
    pub memory_limit: u64,
    /// Seconds of capture time without a packet after which a connection is released
    /// (reported; a later packet starts a new, mid-stream connection). 0: never.
    #[arg(long, value_name = "SECONDS", default_value_t = wsdissect::flow::budget::DEFAULT_IDLE_TIMEOUT)]
    pub idle_timeout: f64,
    /// Threads: `check` of several files checks that many at once (default: one per
    /// core); one capture's connections are spread over N threads (default: one per core
    /// for `check` and the packet list, whose per-event work runs on them, unless the
    /// capture's first packets are mostly large; one for the other outputs, see README
    /// "Threads"). The output is the same whatever the number; 1: everything on one
    /// thread. `live` uses one.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,
}

impl BudgetArgs {
    /// `--threads`, or one per core: for independent files.
    pub fn threads(&self) -> usize {
        self.threads
            .map_or_else(wsdissect::shard::default_threads, usize::from)
    }

    /// Threads one capture's connections are spread over: `--threads`, or `None` for the
    /// default ([`wsdissect::shard::threads_for`]).
    pub fn shard_threads(&self) -> Option<usize> {
        self.threads.map(usize::from)
    }

    /// The budget these options describe.
    pub fn budget(&self) -> wsdissect::flow::budget::MemoryBudget {
        wsdissect::flow::budget::MemoryBudget {
            limit: self.memory_limit,
            idle_timeout: self.idle_timeout,
        }
    }
}

/// A byte count: digits, optionally followed by K, M or G (powers of 1024).
fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'k' | 'K')) => (&t[..i], 10),
        Some((i, 'm' | 'M')) => (&t[..i], 20),
        Some((i, 'g' | 'G')) => (&t[..i], 30),
        _ => (t, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{text:?} is not a byte count (e.g. 268435456 or 256M)"))?;
    n.checked_mul(1 << shift)
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// WebSocket dissector for packet captures: TCP reassembly, HTTP Upgrade, accept-key
/// check, frame decoding, and a Wireshark-style packet list.
#[derive(Debug, Parser)]
#[command(name = "wsdissect", version = VERSION, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Read a pcap or pcapng capture (`-` for stdin) and print what it holds.
    Read(ReadArgs),
    /// Check captures for protocol violations and CI expectations; exit 1 on errors.
    Check(CheckArgs),
    /// List the fields `-Y` and `-e` know (name, type, description), like `tshark -G fields`.
    Fields,
    /// Capture live with libpcap (default: the loopback interface) and print as packets
    /// arrive; needs the `live` build feature and capture permission.
    Live(LiveArgs),
    /// List the application-protocol decoders (Socket.IO, GraphQL, JSON-RPC, ...): the
    /// names `--decode-as` takes, the subprotocols that select them, their fields.
    Decoders,
    /// Print a shell completion script (bash, zsh, fish or powershell) to standard output.
    Completions(CompletionsArgs),
    /// Print the man page (roff) to standard output.
    Man,
}

/// `wsdissect completions`.
#[derive(Debug, Args)]
#[command(after_help = "Examples:\n  \
    wsdissect completions bash > ~/.local/share/bash-completion/completions/wsdissect\n  \
    wsdissect completions zsh > ~/.zfunc/_wsdissect\n  \
    wsdissect completions fish > ~/.config/fish/completions/wsdissect.fish")]
pub struct CompletionsArgs {
    /// The shell to write completions for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Packet list like Wireshark's (one line per packet).
    Timeline,
    /// JSON Lines records (handshake, frame, connection, anomaly, capture_error).
    Jsonl,
    /// A HAR 1.2 file: one entry per WebSocket connection (its upgrade) with Chrome's
    /// `_webSocketMessages`; opens in Chrome DevTools and HAR viewers.
    Har,
}

/// `--columns`: the packet list's layout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColumnsLayout {
    /// Aligned on a terminal (unless --wireshark-compat), tabs otherwise.
    Auto,
    /// Aligned as tshark's, fitted to the width.
    Aligned,
    /// Tab-separated.
    Tabs,
}

/// Options shared by everything that dissects.
#[derive(Debug, Args)]
pub struct DissectArgs {
    /// Memory budget.
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Timeline)]
    pub format: Format,
    /// Show a detail tree after each HTTP and WebSocket packet (timeline format).
    #[arg(short = 'V', long = "verbose")]
    pub verbose: bool,
    /// Only show connections using this port (repeatable); non-TCP packets are hidden.
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,
    /// Decode connections on this port as WebSocket even without a captured handshake
    /// (like Wireshark's "Decode As"; repeatable).
    #[arg(long = "ws-port", value_name = "PORT")]
    pub ws_ports: Vec<u16>,
    /// Print exactly Wireshark's Info text, without wsdissect's annotations (and, unless
    /// --columns says otherwise, tab-separated columns).
    #[arg(long)]
    pub wireshark_compat: bool,
    /// Packet list layout: `aligned` as tshark prints on a terminal, each line cut to the
    /// terminal width (COLUMNS) with `…`; `tabs`, tab-separated, one whole line per packet
    /// (for scripts); `auto`, aligned when standard output is a terminal, else tabs.
    #[arg(long, value_enum, value_name = "LAYOUT", default_value_t = ColumnsLayout::Auto)]
    pub columns: ColumnsLayout,
    /// Most payload bytes shown per frame and per message (-V, JSON Lines, the views); the
    /// rest is still decoded, UTF-8-validated and inflated. The packet list without -V
    /// shows no payloads and keeps none.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub max_payload: usize,
    /// Most bytes a compressed message may inflate to (permessage-deflate); beyond it the
    /// message is marked incomplete and a decompression-limit warning is raised.
    #[arg(long, value_name = "BYTES", default_value_t = wsdissect::ws::deflate::DEFAULT_MAX_INFLATED)]
    pub max_inflated: u64,
    /// Decode WebSocket messages as this application protocol: `PORT:PROTO`,
    /// `conn=N:PROTO`, `PROTO` (every connection) or `none` (repeatable; see
    /// `wsdissect decoders`). Without it, the decoder is chosen by subprotocol, URL path,
    /// then the first message's content.
    #[arg(long = "decode-as", value_name = "SPEC", value_parser = parse_decode_as)]
    pub decode_as: Vec<wsdissect::payload::DecodeAs>,
    /// Protocol Buffers schema: a `.proto` file (compiled here; imports from its directory)
    /// or a descriptor set (`protoc -o FILE`), repeatable. Used with --proto-message.
    #[arg(long = "proto", value_name = "FILE")]
    pub proto: Vec<PathBuf>,
    /// The message type of protobuf payloads: `[TARGET:]NAME[,NAME]` with TARGET `conn=N`,
    /// a port or a subprotocol (none: every protobuf connection); one name for both
    /// directions, or the client's then the server's (repeatable). A connection named by
    /// index, port or subprotocol is decoded as protobuf without --decode-as.
    #[arg(long = "proto-message", value_name = "SPEC", value_parser = parse_proto_message, requires = "proto")]
    pub proto_message: Vec<wsdissect::payload::protobuf::ProtoMessageSpec>,
    /// TLS key log (NSS format, as SSLKEYLOGFILE writes it) to decrypt wss:// with
    /// (repeatable); `SSLKEYLOGFILE`, when set, is read too, and pcapng files may carry their
    /// own secrets.
    #[arg(long = "keylog", value_name = "FILE")]
    pub keylogs: Vec<PathBuf>,
    /// Human views and colour.
    #[command(flatten)]
    pub view: ViewArgs,
    /// Display filters and `-T fields`.
    #[command(flatten)]
    pub select: SelectArgs,
    /// The packet list's Time column as tshark's -t: r (relative, default), a, ad, adoy
    /// (local time), u, ud, udoy (UTC), e (epoch), d, dd (delta).
    #[arg(short = 't', value_name = "FORMAT", value_parser = parse_time_format)]
    pub time_format: Option<wsdissect::output::timefmt::TimeFormat>,
}

fn parse_time_format(s: &str) -> Result<wsdissect::output::timefmt::TimeFormat, String> {
    wsdissect::output::timefmt::TimeFormat::parse(s)
        .ok_or_else(|| format!("`{s}` is not one of r, a, ad, adoy, d, dd, e, u, ud, udoy"))
}

/// `-T`: output of named fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FieldsFormat {
    /// One line per packet with the `-e` fields, as `tshark -T fields`.
    Fields,
}

/// Wireshark display filters and field output, as tshark's `-Y`, `-T fields`, `-e`, `-E`.
#[derive(Debug, Args, Default)]
pub struct SelectArgs {
    /// Display filter in Wireshark's syntax: only packets it matches are shown
    /// (`websocket.opcode == 1`, `tcp.stream in {0, 2}`); `wsdissect fields` lists the fields.
    #[arg(short = 'Y', long = "display-filter", value_name = "FILTER")]
    pub display_filter: Option<String>,
    /// `-T fields`: print the `-e` fields of each packet, one line per packet.
    #[arg(short = 'T', value_enum, value_name = "FORMAT", requires = "fields")]
    pub output_format: Option<FieldsFormat>,
    /// A field to print with `-T fields` (repeatable, in column order).
    #[arg(short = 'e', value_name = "FIELD", requires = "output_format")]
    pub fields: Vec<String>,
    /// `-T fields` options as tshark's: header=y|n, separator=/t|/s|C, quote=d|s|n,
    /// occurrence=f|l|a, aggregator=,|/s|C (repeatable).
    #[arg(short = 'E', value_name = "OPTION", requires = "output_format")]
    pub fields_options: Vec<String>,
}

impl SelectArgs {
    /// The compiled filter and columns; the error is the message to print (a filter error
    /// with a caret under the position).
    pub fn options(&self) -> Result<wsdissect::output::select::SelectOptions, String> {
        use wsdissect::filter::tfields::{Column, FieldsOptions, FieldsWriter};
        use wsdissect::filter::{FieldRegistry, Filter};
        use wsdissect::output::select::{FieldsOutput, SelectOptions};
        let reg = wsdissect::values::Registry::new();
        let filter = match &self.display_filter {
            Some(expr) => Some(Filter::compile(expr, &reg).map_err(|e| e.render())?),
            None => None,
        };
        let fields = match self.output_format {
            None => None,
            Some(FieldsFormat::Fields) => {
                let mut opts = FieldsOptions::default();
                for o in &self.fields_options {
                    opts.apply(o).map_err(|e| format!("-E {o}: {e}"))?;
                }
                let mut cols = Vec::new();
                for name in &self.fields {
                    let Some((id, _)) = reg.lookup(name) else {
                        let hint = Filter::compile(name, &reg)
                            .err()
                            .and_then(|e| e.suggestion)
                            .map(|s| format!(" (did you mean {s}?)"))
                            .unwrap_or_default();
                        return Err(format!(
                            "-e {name}: no such field{hint}; `wsdissect fields` lists them"
                        ));
                    };
                    cols.push(Column {
                        field: id,
                        display: reg.display(id),
                    });
                }
                Some(FieldsOutput {
                    writer: FieldsWriter::new(opts, cols),
                    names: self.fields.clone(),
                })
            }
        };
        Ok(SelectOptions {
            filter,
            fields,
            save: None,
            flush_each_packet: false,
            inject_secrets: false,
        })
    }

    /// Whether the filter or the columns read application protocols' fields (the payload
    /// decoders must build them, see [`needs_payloads`](Self::needs_payloads)).
    pub fn needs_app_fields(options: &wsdissect::output::select::SelectOptions) -> bool {
        Self::ids(options, |reg, ids| reg.needs_app_fields(ids))
    }

    /// Whether the filter or the columns read data payloads (the dissector must keep them).
    pub fn needs_payloads(options: &wsdissect::output::select::SelectOptions) -> bool {
        Self::ids(options, |reg, ids| reg.needs_payloads(ids))
    }

    /// `test` on the fields the filter and the columns name.
    fn ids(
        options: &wsdissect::output::select::SelectOptions,
        test: impl Fn(&wsdissect::values::Registry, &[wsdissect::filter::FieldId]) -> bool,
    ) -> bool {
        let reg = wsdissect::values::Registry::new();
        let mut ids: Vec<wsdissect::filter::FieldId> = Vec::new();
        if let Some(f) = &options.filter {
            ids.extend_from_slice(f.fields());
        }
        if let Some(f) = &options.fields {
            ids.extend(
                f.names
                    .iter()
                    .filter_map(|n| wsdissect::filter::FieldRegistry::lookup(&reg, n).map(|x| x.0)),
            );
        }
        test(&reg, &ids)
    }
}

/// What a person reads instead of the packet list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ViewKind {
    /// The packet list (or JSON Lines with --format jsonl).
    Packets,
    /// A walk-through of each WebSocket connection, packet by packet, grouped by phase.
    Explain,
    /// A table: one row per connection that tried to upgrade.
    Conversations,
    /// A sequence diagram per WebSocket connection (client left, server right).
    Flow,
    /// One line per WebSocket message (fragments joined, inflated) and control frame.
    Messages,
}

/// When to colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorWhen {
    /// When stdout is a terminal and NO_COLOR is not set.
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

/// Options of the human views (`--view`, `--follow`).
#[derive(Debug, Args)]
pub struct ViewArgs {
    /// What to show.
    #[arg(long, value_enum, default_value_t = ViewKind::Packets, conflicts_with = "format")]
    pub view: ViewKind,
    /// Flow view: one arrow per HTTP message and WebSocket frame, no TCP-only packets
    /// (implies --view flow).
    #[arg(long)]
    pub frames_only: bool,
    /// Flow view: write a Mermaid sequenceDiagram (implies --view flow).
    #[arg(long)]
    pub mermaid: bool,
    /// Show only connection N's messages, as a transcript (Follow WebSocket Stream).
    #[arg(long, value_name = "N", conflicts_with_all = ["view", "format", "frames_only", "mermaid"])]
    pub follow: Option<u32>,
    /// Write each message payload to DIR/conn{N}-{c2s|s2c}-{index}.{ext}, listed in
    /// DIR/index.tsv: connection N's with --follow N, else every connection's, one
    /// subfolder DIR/conn{N} each. DIR must be empty or new unless --force.
    #[arg(long, value_name = "DIR", conflicts_with_all = ["view", "format", "frames_only", "mermaid"])]
    pub export: Option<PathBuf>,
    /// With --export: write into DIR even when it is not empty (files of the same name are
    /// replaced; symbolic links are never followed).
    #[arg(long, requires = "export")]
    pub force: bool,
    /// With --export: most payload bytes written in all (a capture decides how much its
    /// compressed messages inflate to); past it the export stops with a message.
    #[arg(long, value_name = "BYTES", requires = "export", default_value_t = wsdissect::views::follow::DEFAULT_EXPORT_LIMIT)]
    pub export_limit: u64,
    /// Colour: auto (when stdout is a terminal and NO_COLOR is unset), always or never. The
    /// packet list is painted with Wireshark's default colouring rules (24-bit colour when
    /// COLORTERM is truecolor or 24bit, else the 256-colour palette); -V and the views
    /// colour directions, verdicts and diagnostics.
    #[arg(long, value_enum, default_value_t = ColorWhen::Auto, value_name = "WHEN")]
    pub color: ColorWhen,
}

impl ViewArgs {
    /// The view to write: `--frames-only` and `--mermaid` choose the flow view.
    pub fn kind(&self) -> Result<ViewKind, String> {
        match self.view {
            ViewKind::Packets | ViewKind::Flow if self.frames_only || self.mermaid => {
                Ok(ViewKind::Flow)
            }
            other if self.frames_only || self.mermaid => Err(format!(
                "--frames-only and --mermaid go with --view flow, not --view {}",
                other
                    .to_possible_value()
                    .map(|v| v.get_name().to_string())
                    .unwrap_or_default()
            )),
            other => Ok(other),
        }
    }

    /// The renderer options, given the terminal and whether output is streamed.
    pub fn options(&self, term: &Terminal, streaming: bool) -> ViewOptions {
        let no_color = term.no_color.as_ref().and_then(|v| v.to_str());
        let choice = match self.color {
            ColorWhen::Auto => ColorChoice::Auto,
            ColorWhen::Always => ColorChoice::Always,
            ColorWhen::Never => ColorChoice::Never,
        };
        ViewOptions {
            view: match self.kind().unwrap_or(self.view) {
                ViewKind::Packets => View::Packets,
                ViewKind::Explain => View::Explain,
                ViewKind::Conversations => View::Conversations,
                ViewKind::Flow => View::Flow,
                ViewKind::Messages => View::Messages,
            },
            frames_only: self.frames_only,
            mermaid: self.mermaid,
            follow: self.follow,
            export: self.export.clone(),
            export_limit: self.export_limit,
            style: Style::new(choice.resolve(term.stdout, no_color)).with_depth(term.depth),
            width: term.width,
            streaming,
            time: Default::default(),
        }
    }
}

impl DissectArgs {
    /// How events are printed.
    pub fn output(&self, term: &Terminal) -> OutputConfig {
        OutputConfig {
            format: match self.format {
                Format::Timeline => wsdissect::printer::Format::PacketList,
                Format::Jsonl => wsdissect::printer::Format::Jsonl,
                Format::Har => wsdissect::printer::Format::Har,
            },
            verbose: self.verbose,
            wireshark_compat: self.wireshark_compat,
            view: ViewOptions {
                time: self.time_format.unwrap_or_default(),
                ..self.view.options(term, false)
            },
            time_format: self.time_format.unwrap_or_default(),
            columns: match self.columns {
                ColumnsLayout::Aligned => Columns::Aligned,
                ColumnsLayout::Tabs => Columns::Tabs,
                // Scripts compare --wireshark-compat's lines with tshark's fields: they
                // stay tab-separated unless asked.
                ColumnsLayout::Auto if term.stdout && !self.wireshark_compat => Columns::Aligned,
                ColumnsLayout::Auto => Columns::Tabs,
            },
        }
    }

    /// The dissector's settings for `output`: the packet list without -V shows no data
    /// payload, so none is kept (control frames still are, whole: their contents are
    /// interpreted); every other output shows payloads up to --max-payload.
    pub fn dissect_config(&self, output: &OutputConfig) -> DissectConfig {
        let retained = if output.shows_payloads() {
            self.max_payload
        } else {
            0
        };
        let mut config = DissectConfig {
            budget: self.budget.budget(),
            ..dissect_config(&self.ws_ports, &self.ports, self.max_inflated, retained)
        };
        config.conn.decode_as = self.decode_as.clone();
        // Checked before (check_proto): a failure here leaves protobuf schema-less.
        config.conn.protobuf = self.proto_schemas().ok().flatten();
        // Only JSON Lines and -V show the decoders' fields; the views need summaries.
        config.conn.app_fields = output.format == wsdissect::printer::Format::Jsonl || self.verbose;
        config.conn.app_json_value = self.verbose;
        config
    }
}

impl DissectArgs {
    /// The compiled `--proto` files and `--proto-message` specs; `None` without --proto.
    pub fn proto_schemas(
        &self,
    ) -> Result<Option<wsdissect::payload::protobuf::SharedSchemas>, String> {
        if self.proto.is_empty() {
            return Ok(None);
        }
        wsdissect::payload::protobuf::ProtoSchemas::new(&self.proto, &self.proto_message)
            .map(|s| Some(std::sync::Arc::new(s)))
    }
}

fn parse_proto_message(
    spec: &str,
) -> Result<wsdissect::payload::protobuf::ProtoMessageSpec, String> {
    spec.parse()
}

fn parse_decode_as(spec: &str) -> Result<wsdissect::payload::DecodeAs, String> {
    spec.parse()
        .map_err(|e: wsdissect::payload::DecodeAsError| e.to_string())
}

/// `wsdissect read`.
#[derive(Debug, Args)]
#[command(
    after_help = "On a terminal the packet list is aligned and coloured like tshark's \
    (see --columns, --color); into a pipe it is tab-separated and plain. Ctrl-C ends the \
    reading where it is: what was read is printed, a summary goes to standard error, and \
    the exit status is 0 (as tshark's); a second Ctrl-C leaves at once."
)]
pub struct ReadArgs {
    /// Capture file (pcap or pcapng), or `-` for standard input.
    pub file: PathBuf,
    /// Dissection and output options.
    #[command(flatten)]
    pub dissect: DissectArgs,
    /// Stop after reading this many packets (as tshark's -c).
    #[arg(short = 'c', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Save the packets shown (those matching -Y) to FILE: pcapng when it ends in .pcapng,
    /// else pcap; original link type and timestamps.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// With -w FILE.pcapng: also write the TLS secrets (from --keylog, SSLKEYLOGFILE or the
    /// input's own secrets blocks) of the connections seen in the capture, and only those,
    /// as Decryption Secrets Blocks before the packets that need them, as `editcap
    /// --inject-secrets tls,KEYLOG` does: the file then decrypts without a key log.
    #[arg(long, requires = "write")]
    pub inject_secrets: bool,
}

/// Output format of `check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Compiler-style diagnostics and a summary per file.
    Text,
    /// JSON Lines: `diagnostic` records and a `summary` record per file.
    Jsonl,
    /// JUnit XML: a test suite per file, a test case per rule group.
    Junit,
}

/// Severity levels `--deny` can turn into errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DenyLevel {
    /// Warnings count as errors.
    Warnings,
}

/// One entry of `--allowed-close-codes`: a status code, or `none` for a Close frame
/// without one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseCodeArg(pub Option<u16>);

fn parse_close_code(s: &str) -> Result<CloseCodeArg, String> {
    let s = s.trim();
    if s.eq_ignore_ascii_case("none") {
        return Ok(CloseCodeArg(None));
    }
    s.parse::<u16>()
        .map(|c| CloseCodeArg(Some(c)))
        .map_err(|_| format!("`{s}` is not a close code (0-65535) or `none`"))
}

/// `wsdissect check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Capture files (pcap or pcapng), `-` for standard input.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Payload decoder by hand, as for read: PORT:PROTO, conn=N:PROTO, PROTO or none
    /// (check decodes payloads only of connections whose decoder is named by
    /// Sec-WebSocket-Protocol, the URL path or this option).
    #[arg(long = "decode-as", value_name = "SPEC", value_parser = parse_decode_as)]
    pub decode_as: Vec<wsdissect::payload::DecodeAs>,
    /// Memory budget.
    #[command(flatten)]
    pub budget: BudgetArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
    pub format: CheckFormat,
    /// `--deny warnings`: warnings count as errors.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub deny: Vec<DenyLevel>,
    /// Drop every diagnostic of this kind (repeatable).
    #[arg(long, value_name = "KIND")]
    pub allow: Vec<String>,
    /// Expect every WebSocket connection to end with Close frames from both sides.
    #[arg(long)]
    pub expect_close_handshake: bool,
    /// Only these close codes may appear (comma-separated; `none` for a Close frame
    /// without a code).
    #[arg(long, value_name = "CODES", value_delimiter = ',', value_parser = parse_close_code)]
    pub allowed_close_codes: Option<Vec<CloseCodeArg>>,
    /// Expect at least N WebSocket connections in each capture.
    #[arg(long, value_name = "N")]
    pub min_connections: Option<u64>,
    /// Only check connections using this port (repeatable).
    #[arg(long = "port", value_name = "PORT")]
    pub ports: Vec<u16>,
    /// Decode connections on this port as WebSocket even without a captured handshake
    /// (repeatable).
    #[arg(long = "ws-port", value_name = "PORT")]
    pub ws_ports: Vec<u16>,
    /// Most bytes a compressed message may inflate to (permessage-deflate).
    #[arg(long, value_name = "BYTES", default_value_t = wsdissect::ws::deflate::DEFAULT_MAX_INFLATED)]
    pub max_inflated: u64,
    /// TLS key log to decrypt wss:// with (repeatable; `SSLKEYLOGFILE` is read too).
    #[arg(long = "keylog", value_name = "FILE")]
    pub keylogs: Vec<PathBuf>,
    /// A TLS connection that cannot be decrypted is a warning, not a note.
    #[arg(long)]
    pub expect_decrypted: bool,
    /// Text format: only the diagnostics and one verdict line per file
    /// (`FILE: 2 errors, 1 warning (436 connections)`), no summary or table.
    #[arg(short = 'q', long, conflicts_with = "summary")]
    pub quiet: bool,
    /// Text format: the diagnostics, the summary and the conversations table per file (the
    /// default).
    #[arg(long)]
    pub summary: bool,
    /// Display filter in Wireshark's syntax: check only the packets it matches (and the
    /// connections they belong to).
    #[arg(short = 'Y', long = "display-filter", value_name = "FILTER")]
    pub display_filter: Option<String>,
}

impl CheckArgs {
    /// The dissector's settings: diagnostics show no payloads, so none are kept (control
    /// frames still are, whole, for close codes and ping/pong pairing); every byte is
    /// still unmasked, counted, inflated and UTF-8-validated as it passes.
    pub fn dissect_config(&self) -> DissectConfig {
        let mut config = DissectConfig {
            budget: self.budget.budget(),
            ..dissect_config(&self.ws_ports, &self.ports, self.max_inflated, 0)
        };
        config.conn.decode_as = self.decode_as.clone();
        // Diagnostics need the decoders' findings and pairs, not their fields.
        config.conn.app_fields = false;
        config
    }
}

/// `wsdissect live`.
#[derive(Debug, Args)]
#[command(after_help = "With live, --port N also builds the capture filter \
    (tcp port A or tcp port B ...). A summary goes to standard error when the capture stops.")]
#[cfg_attr(not(feature = "live"), allow(dead_code))]
pub struct LiveArgs {
    /// Interface to capture on (default: the loopback interface, lo or lo0).
    #[arg(short = 'i', long = "interface", value_name = "IFACE")]
    pub interface: Option<String>,
    /// Capture filter in libpcap (BPF) syntax; with --port, both must match.
    #[arg(short = 'f', long = "filter", value_name = "BPF")]
    pub filter: Option<String>,
    /// List the interfaces libpcap can capture on, and exit.
    #[arg(long)]
    pub list_interfaces: bool,
    /// Stop after this many packets.
    #[arg(short = 'c', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Stop after this many seconds (fractions allowed).
    #[arg(long, value_name = "SECONDS", value_parser = parse_seconds)]
    pub duration: Option<std::time::Duration>,
    /// Also save the raw packets: pcapng when FILE ends in .pcapng, else pcap.
    #[arg(short = 'w', long = "write", value_name = "FILE")]
    pub write: Option<PathBuf>,
    /// With -w FILE.pcapng: when the capture stops, FILE is rewritten with the TLS secrets
    /// of the connections it holds (Decryption Secrets Blocks before their ClientHellos, as
    /// `editcap --inject-secrets`), read from the key logs as they are then; the capture
    /// goes to FILE.raw.pcapng meanwhile (removed once FILE is written).
    #[arg(long, requires = "write")]
    pub inject_secrets: bool,
    /// Kernel capture buffer in MiB (raise it if the summary reports drops).
    #[arg(long, value_name = "MIB", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=2047))]
    pub buffer_size: u32,
    /// Captured packets held in memory (MiB) while the output is read slowly: a capture
    /// thread keeps reading and saving (-w), and beyond this queue packets are saved but
    /// not dissected, counted in the summary.
    #[arg(long, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    pub queue_size: u64,
    /// Dissection and output options; --port also builds the capture filter.
    #[command(flatten)]
    pub dissect: DissectArgs,
}

/// A positive number of seconds.
fn parse_seconds(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("not a number of seconds: {text}"))?;
    if secs.is_nan() || secs <= 0.0 {
        return Err("must be more than 0".to_string());
    }
    std::time::Duration::try_from_secs_f64(secs).map_err(|e| e.to_string())
}

/// tshark's one-letter options (tshark 4.0's manual). One that wsdissect's parser does
/// not know gets a hint instead of clap's "to pass '-Y' as a value, use '-- -Y'"; an option
/// wsdissect has (e.g. -V) never reaches this list, since clap accepts it.
const TSHARK_SHORT_OPTIONS: &str = "2aAbBcCdDeEfFgGHiIjJkKlLnNoOpPqQrRsStTuUvVwWxXyYz";

/// The hint for `arg`, an option clap did not know, when it is one of tshark's.
pub fn tshark_hint(arg: &str, subcommand: &str) -> Option<String> {
    let letter = arg
        .strip_prefix('-')
        .filter(|rest| !rest.starts_with('-'))?;
    let mut chars = letter.chars();
    let c = chars.next()?;
    if !TSHARK_SHORT_OPTIONS.contains(c) {
        return None;
    }
    if c == 'r' {
        return Some(format!(
            "wsdissect does not have tshark's -r; the capture is an argument: wsdissect {subcommand} FILE"
        ));
    }
    Some(format!(
        "wsdissect does not have tshark's -{c}; see wsdissect {subcommand} --help"
    ))
}

/// Prints a command-line error in wsdissect's style (`wsdissect: ` and clap's text, or a
/// hint for a tshark option) and gives the exit status: 2, or 0 for --help and --version.
pub fn usage_error(e: clap::Error) -> std::process::ExitCode {
    use clap::error::{ContextKind, ContextValue, ErrorKind};
    use wsdissect::app::{EXIT_BAD_INPUT, EXIT_OK};
    if !e.use_stderr() {
        // --help, --version: clap's output as it is.
        let _ = e.print();
        return std::process::ExitCode::from(EXIT_OK);
    }
    let subcommand = std::env::args()
        .nth(1)
        .filter(|a| ["read", "check", "live"].contains(&a.as_str()))
        .unwrap_or_else(|| "read".to_string());
    if e.kind() == ErrorKind::UnknownArgument
        && let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg)
        && let Some(hint) = tshark_hint(arg, &subcommand)
    {
        eprintln!("wsdissect: {hint}");
        return std::process::ExitCode::from(EXIT_BAD_INPUT);
    }
    eprint!("{}", wsdissect_style(&e.render().to_string()));
    std::process::ExitCode::from(EXIT_BAD_INPUT)
}

/// clap's error text with `wsdissect: ` in place of its `error: `.
pub fn wsdissect_style(clap_text: &str) -> String {
    let text = clap_text.strip_prefix("error: ").unwrap_or(clap_text);
    format!("wsdissect: {text}")
}

/// `wsdissect completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> std::process::ExitCode {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "wsdissect", &mut out);
    write_stdout(&out)
}

/// `wsdissect man`.
pub fn man_page() -> std::process::ExitCode {
    use clap::CommandFactory;
    let mut out = Vec::new();
    if let Err(e) = clap_mangen::Man::new(Cli::command()).render(&mut out) {
        eprintln!("wsdissect: man page: {e}");
        return std::process::ExitCode::from(wsdissect::app::EXIT_BAD_INPUT);
    }
    write_stdout(&out)
}

fn write_stdout(bytes: &[u8]) -> std::process::ExitCode {
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Ok(()) => std::process::ExitCode::from(wsdissect::app::EXIT_OK),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {
            std::process::ExitCode::from(wsdissect::app::EXIT_OK)
        }
        Err(e) => {
            eprintln!("wsdissect: writing output: {e}");
            std::process::ExitCode::from(wsdissect::app::EXIT_BAD_INPUT)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tshark_options_get_a_hint_and_others_none() {
        assert_eq!(
            tshark_hint("-x", "read").as_deref(),
            Some("wsdissect does not have tshark's -x; see wsdissect read --help")
        );
        assert!(tshark_hint("-r", "read").is_some_and(|h| h.contains("wsdissect read FILE")));
        assert_eq!(tshark_hint("--bogus", "read"), None);
        assert_eq!(tshark_hint("-%", "read"), None);
    }

    #[test]
    fn clap_errors_start_with_wsdissect() {
        assert_eq!(
            wsdissect_style("error: unexpected argument\n"),
            "wsdissect: unexpected argument\n"
        );
    }

    #[test]
    fn the_command_line_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
