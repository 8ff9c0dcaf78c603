//! Command-line arguments (clap derive), kept apart from the engine.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use wsdissect::term::style::{ColorChoice, Style};
use wsdissect::views::{View, ViewOptions, output_width};

/// WebSocket dissector for packet captures: TCP reassembly, HTTP Upgrade, accept-key
/// check, frame decoding, and a Wireshark-style packet list.
#[derive(Debug, Parser)]
#[command(name = "wsdissect", version, about, long_about = None)]
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
    /// Capture live with libpcap (default: the loopback interface) and print as packets
    /// arrive; needs the `live` build feature and capture permission.
    Live(LiveArgs),
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Packet list like Wireshark's (one line per packet).
    Timeline,
    /// JSON Lines records (handshake, frame, connection, anomaly, capture_error).
    Jsonl,
}

/// Options shared by everything that dissects.
#[derive(Debug, Args)]
pub struct DissectArgs {
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
    /// Print exactly Wireshark's Info text, without wsdissect's annotations.
    #[arg(long)]
    pub wireshark_compat: bool,
    /// Most payload bytes shown per frame and per message (-V, JSON Lines, the views); the
    /// rest is still decoded, UTF-8-validated and inflated. The packet list without -V
    /// shows no payloads and keeps none.
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub max_payload: usize,
    /// Most bytes a compressed message may inflate to (permessage-deflate); beyond it the
    /// message is marked incomplete and a decompression-limit warning is raised.
    #[arg(long, value_name = "BYTES", default_value_t = wsdissect::ws::deflate::DEFAULT_MAX_INFLATED)]
    pub max_inflated: u64,
    /// Human views and colour.
    #[command(flatten)]
    pub view: ViewArgs,
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
    /// With --follow: write each message payload to DIR/conn{N}-{c2s|s2c}-{index}.{ext},
    /// listed in DIR/index.tsv.
    #[arg(long, value_name = "DIR", requires = "follow")]
    pub export: Option<PathBuf>,
    /// Colour in the views: auto, always or never.
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

    /// The renderer options, given whether output is streamed (stdin, live).
    pub fn options(&self, streaming: bool) -> ViewOptions {
        use std::io::IsTerminal;
        let terminal = std::io::stdout().is_terminal();
        let no_color = std::env::var("NO_COLOR").ok();
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
            style: Style::new(choice.resolve(terminal, no_color.as_deref())),
            width: output_width(terminal),
            streaming,
        }
    }
}

/// `wsdissect read`.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Capture file (pcap or pcapng), or `-` for standard input.
    pub file: PathBuf,
    /// Dissection and output options.
    #[command(flatten)]
    pub dissect: DissectArgs,
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
    /// Kernel capture buffer in MiB (raise it if the summary reports drops).
    #[arg(long, value_name = "MIB", default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=2047))]
    pub buffer_size: u32,
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
