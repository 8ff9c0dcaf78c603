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
