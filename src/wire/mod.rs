//! Link, network and transport headers: from raw link-layer bytes to a TCP segment view.
//!
//! Decoding is infallible at this level: whatever cannot be decoded becomes
//! [`Transport::Other`] carrying the protocol-column name and an info text, so the
//! timeline can still list the packet.

pub mod link;
pub mod tcp;

pub use tcp::{TcpFlags, TcpOption, TcpSegment};

use crate::capture::LinkType;
use std::net::IpAddr;

/// The network layer's addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetAddrs {
    /// Source address.
    pub src: IpAddr,
    /// Destination address.
    pub dst: IpAddr,
}

/// A decoded packet: addresses (when an IP layer was found) and the transport.
#[derive(Debug, Clone)]
pub struct Packet<'a> {
    /// IP source and destination, `None` for non-IP packets (ARP, unknown link types).
    pub addrs: Option<NetAddrs>,
    /// The transport layer.
    pub transport: Transport<'a>,
}

/// What the packet carries above the network layer.
#[derive(Debug, Clone)]
pub enum Transport<'a> {
    /// A TCP segment (the only transport wsdissect follows further).
    Tcp(TcpSegment<'a>),
    /// Anything else: UDP, ICMP, ARP, an unknown link type, a malformed header.
    Other(OtherPacket),
}

/// A packet wsdissect lists but does not follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherPacket {
    /// Protocol column text, as Wireshark would show it ("UDP", "ARP", "ICMPv6", "IPv4", ...).
    pub protocol: &'static str,
    /// Info column text (e.g. "53 → 40000 Len=32", or why decoding stopped).
    pub info: String,
}

/// Decodes one captured packet of the given link type.
pub fn decode(link_type: LinkType, data: &[u8]) -> Packet<'_> {
    let _ = (link_type, data);
    Packet {
        addrs: None,
        transport: Transport::Other(OtherPacket {
            protocol: link_type.name(),
            info: String::new(),
        }),
    } // TODO(helper)
}
