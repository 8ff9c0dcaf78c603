//! Command-line arguments (clap derive), kept apart from the engine.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
