//! Wireshark's default colouring rules (its `colorfilters` file, as installed with
//! Wireshark 4.0: `/usr/share/wireshark/colorfilters`), for the packets wsdissect shows.
//!
//! Rules are tried in the file's order and the first that matches paints the row, as in
//! Wireshark. Only the rules wsdissect can evaluate are here; those about protocols it does
//! not decode (SMB, DCERPC, routing protocols, ...) or fields it does not check (checksums,
//! IP TTL, ICMP types) are left out, so such packets get the next rule that matches
//! (usually TCP or UDP), as in Wireshark with those rules disabled. WebSocket has no rule
//! of its own in Wireshark: its packets are painted as TCP.

use crate::capture::LinkType;
use crate::event::{PacketBody, PacketRecord};
use crate::flow::analysis::AnalysisFlags;
use crate::term::style::Rgb;
use crate::wire::TcpFlags;

/// One of Wireshark's default colouring rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// `tcp.analysis.flags && !tcp.analysis.window_update && !tcp.analysis.keep_alive &&
    /// !tcp.analysis.keep_alive_ack`
    BadTcp,
    /// `arp`
    Arp,
    /// `icmp || icmpv6`
    Icmp,
    /// `tcp.flags.reset eq 1`
    TcpRst,
    /// `http || tcp.port == 80 || http2`
    Http,
    /// `tcp.flags & 0x02 || tcp.flags.fin == 1`
    TcpSynFin,
    /// `tcp`
    Tcp,
    /// `udp`
    Udp,
    /// `eth[0] & 1`
    Broadcast,
}

impl Rule {
    /// The rule's name in Wireshark's colouring rules dialog.
    pub fn name(self) -> &'static str {
        match self {
            Rule::BadTcp => "Bad TCP",
            Rule::Arp => "ARP",
            Rule::Icmp => "ICMP",
            Rule::TcpRst => "TCP RST",
            Rule::Http => "HTTP",
            Rule::TcpSynFin => "TCP SYN/FIN",
            Rule::Tcp => "TCP",
            Rule::Udp => "UDP",
            Rule::Broadcast => "Broadcast",
        }
    }

    /// Foreground and background, as the colorfilters file gives them (16-bit channels,
    /// background first there).
    pub fn colors(self) -> (Rgb, Rgb) {
        // Wireshark's dark foreground of most rules.
        const DARK: Rgb = Rgb::from_wireshark(4718, 10030, 11796);
        match self {
            Rule::BadTcp => (Rgb::from_wireshark(63479, 34695, 34695), DARK),
            Rule::Arp => (DARK, Rgb::from_wireshark(64250, 61680, 55255)),
            Rule::Icmp => (DARK, Rgb::from_wireshark(64764, 57568, 65535)),
            Rule::TcpRst => (
                Rgb::from_wireshark(65535, 64764, 40092),
                Rgb::from_wireshark(42148, 0, 0),
            ),
            Rule::Http => (DARK, Rgb::from_wireshark(58596, 65535, 51143)),
            Rule::TcpSynFin => (DARK, Rgb::from_wireshark(41026, 41026, 41026)),
            Rule::Tcp => (DARK, Rgb::from_wireshark(59345, 58980, 65535)),
            Rule::Udp => (DARK, Rgb::from_wireshark(56026, 61166, 65535)),
            Rule::Broadcast => (
                Rgb::from_wireshark(47802, 48573, 46774),
                Rgb::from_wireshark(65535, 65535, 65535),
            ),
        }
    }
}

/// The port Wireshark's HTTP rule names.
const HTTP_PORT: u16 = 80;

/// The first rule that matches packet `p`; `http` says whether an HTTP message ended in it
/// (Wireshark's `http` layer is in the packet).
pub fn rule(p: &PacketRecord<'_>, http: bool) -> Option<Rule> {
    match &p.body {
        PacketBody::Tcp(rec) => {
            let flags = rec.analysis.flags.0;
            let benign = AnalysisFlags::WINDOW_UPDATE
                | AnalysisFlags::KEEP_ALIVE
                | AnalysisFlags::KEEP_ALIVE_ACK;
            let tcp = rec.segment.flags.0;
            Some(if flags != 0 && flags & benign == 0 {
                Rule::BadTcp
            } else if tcp & TcpFlags::RST != 0 {
                Rule::TcpRst
            } else if http || rec.segment.src_port == HTTP_PORT || rec.segment.dst_port == HTTP_PORT
            {
                Rule::Http
            } else if tcp & (TcpFlags::SYN | TcpFlags::FIN) != 0 {
                Rule::TcpSynFin
            } else {
                Rule::Tcp
            })
        }
        PacketBody::Other(o) => match o.protocol {
            "ARP" => Some(Rule::Arp),
            "ICMP" | "ICMPv6" => Some(Rule::Icmp),
            "UDP" => Some(Rule::Udp),
            _ if p.link_type == LinkType::ETHERNET
                && p.data.first().is_some_and(|b| b & 1 != 0) =>
            {
                Some(Rule::Broadcast)
            }
            _ => None,
        },
    }
}
