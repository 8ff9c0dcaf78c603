//! Command-line arguments (clap derive), kept apart from the engine.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use wsdissect::render::style::{ColorChoice, Style};
use wsdissect::render::views::{View, ViewOptions, output_width};

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
    /// Most payload bytes kept per frame for display (the rest is still decoded).
    #[arg(long, value_name = "BYTES", default_value_t = 16 << 20)]
    pub max_payload: usize,
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
