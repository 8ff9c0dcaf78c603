//! Protocol-column names and info texts for packets wsdissect lists but does not follow:
//! UDP, ICMP, ICMPv6, ARP and other IP protocols.

use super::OtherPacket;
use super::ip::protocol_name;
use std::fmt::Write as _;
use std::net::Ipv4Addr;

/// UDP header length.
const UDP_HEADER_LEN: usize = 8;
/// Offset of the UDP length field.
const UDP_LENGTH: usize = 4;

/// ICMP / ICMPv6 header fields.
const ICMP_TYPE: usize = 0;
const ICMP_CODE: usize = 1;
const ICMP_ECHO_ID: usize = 4;
const ICMP_ECHO_SEQ: usize = 6;

/// ARP fixed part and field offsets.
const ARP_FIXED_LEN: usize = 8;
const ARP_PTYPE: usize = 2;
const ARP_HLEN: usize = 4;
const ARP_PLEN: usize = 5;
const ARP_OPER: usize = 6;
const ARP_REQUEST: u16 = 1;
const ARP_REPLY: u16 = 2;
const ARP_PTYPE_IPV4: u16 = 0x0800;
const MAC_LEN: usize = 6;
const IPV4_LEN: usize = 4;

fn be16(data: &[u8], offset: usize) -> Option<u16> {
    match data.get(offset..offset + 2) {
        Some(&[a, b]) => Some(u16::from_be_bytes([a, b])),
        _ => None,
    }
}

fn other(protocol: &'static str, info: String) -> OtherPacket {
    OtherPacket { protocol, info }
}

/// UDP: `"53 → 40000 Len=32"` (Len from the UDP length field).
pub fn udp(data: &[u8]) -> OtherPacket {
    let (Some(src), Some(dst), Some(len)) = (be16(data, 0), be16(data, 2), be16(data, UDP_LENGTH))
    else {
        return other(
            "UDP",
            format!(
                "UDP header truncated ({} of {UDP_HEADER_LEN} bytes)",
                data.len().min(UDP_HEADER_LEN)
            ),
        );
    };
    let info = match usize::from(len).checked_sub(UDP_HEADER_LEN) {
        Some(payload) => format!("{src} → {dst} Len={payload}"),
        None => {
            format!("{src} → {dst} Bogus UDP length ({len}, must be at least {UDP_HEADER_LEN})")
        }
    };
    other("UDP", info)
}

/// ICMP (IPv4): type name, with id and sequence for echo.
pub fn icmp(data: &[u8]) -> OtherPacket {
    let (Some(&kind), Some(&code)) = (data.get(ICMP_TYPE), data.get(ICMP_CODE)) else {
        return other("ICMP", "ICMP header truncated".to_string());
    };
    let name = match kind {
        0 => "Echo (ping) reply".to_string(),
        8 => "Echo (ping) request".to_string(),
        3 => format!(
            "Destination unreachable ({})",
            match code {
                0 => "Network unreachable",
                1 => "Host unreachable",
                2 => "Protocol unreachable",
                3 => "Port unreachable",
                4 => "Fragmentation needed",
                13 => "Communication administratively filtered",
                _ => "Unknown code",
            }
        ),
        5 => "Redirect".to_string(),
        11 => format!(
            "Time-to-live exceeded ({})",
            if code == 0 {
                "Time to live exceeded in transit"
            } else {
                "Fragment reassembly time exceeded"
            }
        ),
        12 => "Parameter problem".to_string(),
        13 => "Timestamp request".to_string(),
        14 => "Timestamp reply".to_string(),
        _ => format!("Type {kind}, code {code}"),
    };
    let is_echo = matches!(kind, 0 | 8);
    other("ICMP", with_echo(name, is_echo, data))
}

/// ICMPv6: type name, with id and sequence for echo.
pub fn icmpv6(data: &[u8]) -> OtherPacket {
    let (Some(&kind), Some(&code)) = (data.get(ICMP_TYPE), data.get(ICMP_CODE)) else {
        return other("ICMPv6", "ICMPv6 header truncated".to_string());
    };
    let name = match kind {
        1 => "Destination Unreachable",
        2 => "Packet Too Big",
        3 => "Time Exceeded",
        4 => "Parameter Problem",
        128 => "Echo (ping) request",
        129 => "Echo (ping) reply",
        130 => "Multicast Listener Query",
        131 => "Multicast Listener Report",
        133 => "Router Solicitation",
        134 => "Router Advertisement",
        135 => "Neighbor Solicitation",
        136 => "Neighbor Advertisement",
        137 => "Redirect",
        143 => "Multicast Listener Report Message v2",
        _ => return other("ICMPv6", format!("Type {kind}, code {code}")),
    };
    let is_echo = matches!(kind, 128 | 129);
    other("ICMPv6", with_echo(name.to_string(), is_echo, data))
}

fn with_echo(mut name: String, is_echo: bool, data: &[u8]) -> String {
    if is_echo && let (Some(id), Some(seq)) = (be16(data, ICMP_ECHO_ID), be16(data, ICMP_ECHO_SEQ))
    {
        let _ = write!(name, "  id=0x{id:04x}, seq={seq}");
    }
    name
}

/// ARP: "Who has 10.0.0.1? Tell 10.0.0.2" / "10.0.0.1 is at aa:bb:cc:dd:ee:ff".
pub fn arp(data: &[u8]) -> OtherPacket {
    let (Some(ptype), Some(&hlen), Some(&plen), Some(oper)) = (
        be16(data, ARP_PTYPE),
        data.get(ARP_HLEN),
        data.get(ARP_PLEN),
        be16(data, ARP_OPER),
    ) else {
        return other(
            "ARP",
            format!(
                "ARP header truncated ({} of {ARP_FIXED_LEN} bytes)",
                data.len()
            ),
        );
    };
    let (hlen, plen) = (usize::from(hlen), usize::from(plen));
    let addrs = data.get(ARP_FIXED_LEN..ARP_FIXED_LEN + 2 * (hlen + plen));
    let ethernet_ipv4 = ptype == ARP_PTYPE_IPV4 && hlen == MAC_LEN && plen == IPV4_LEN;
    let (Some(addrs), true) = (addrs, ethernet_ipv4) else {
        return other("ARP", format!("ARP opcode {oper}"));
    };
    let ip = |at: usize| match addrs.get(at..at + IPV4_LEN) {
        Some(&[a, b, c, d]) => Ipv4Addr::new(a, b, c, d),
        _ => Ipv4Addr::UNSPECIFIED,
    };
    let sender_mac = addrs.get(..MAC_LEN).unwrap_or_default();
    let sender_ip = ip(MAC_LEN);
    let target_ip = ip(2 * MAC_LEN + IPV4_LEN);
    let info = match oper {
        ARP_REQUEST if sender_ip == target_ip => {
            format!("Gratuitous ARP for {sender_ip} (Request)")
        }
        ARP_REQUEST if sender_ip.is_unspecified() => format!("Who has {target_ip}? (ARP Probe)"),
        ARP_REQUEST => format!("Who has {target_ip}? Tell {sender_ip}"),
        ARP_REPLY => format!("{sender_ip} is at {}", mac(sender_mac)),
        _ => format!("ARP opcode {oper}"),
    };
    other("ARP", info)
}

/// `aa:bb:cc:dd:ee:ff`.
fn mac(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(':');
        }
        let _ = write!(out, "{b:02x}");
    }
    out
}

/// Any other IP protocol: its name when known, else the IP version.
pub fn ip_protocol(protocol: u8, is_ipv6: bool) -> OtherPacket {
    let version = if is_ipv6 { "IPv6" } else { "IPv4" };
    match protocol_name(protocol) {
        Some(name) => other(name, format!("IP protocol {protocol} ({name})")),
        None => other(version, format!("Unknown IP protocol {protocol}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn udp_info() {
        let mut d = 53u16.to_be_bytes().to_vec();
        d.extend(40000u16.to_be_bytes());
        d.extend(40u16.to_be_bytes());
        d.extend([0, 0]);
        assert_eq!(udp(&d).info, "53 → 40000 Len=32");
        assert_eq!(udp(&d).protocol, "UDP");
        for cut in 0..6 {
            assert!(udp(&d[..cut]).info.contains("truncated"));
        }
        d[4..6].copy_from_slice(&3u16.to_be_bytes());
        assert!(udp(&d).info.contains("Bogus UDP length (3"));
    }

    #[test]
    fn icmp_info() {
        assert_eq!(
            icmp(&[8, 0, 0, 0, 0, 1, 0, 2]).info,
            "Echo (ping) request  id=0x0001, seq=2"
        );
        assert_eq!(
            icmp(&[3, 3, 0, 0]).info,
            "Destination unreachable (Port unreachable)"
        );
        assert_eq!(icmp(&[200, 1]).info, "Type 200, code 1");
        assert!(icmp(&[8]).info.contains("truncated"));
        assert_eq!(
            icmpv6(&[129, 0, 0, 0, 0, 1, 0, 2]).info,
            "Echo (ping) reply  id=0x0001, seq=2"
        );
        assert_eq!(icmpv6(&[135, 0]).info, "Neighbor Solicitation");
        assert_eq!(icmpv6(&[135, 0]).protocol, "ICMPv6");
    }

    #[test]
    fn arp_info() {
        let mut req = vec![0, 1, 8, 0, 6, 4, 0, 1];
        req.extend([0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0x0f, 10, 0, 0, 2]);
        req.extend([0, 0, 0, 0, 0, 0, 10, 0, 0, 1]);
        assert_eq!(arp(&req).info, "Who has 10.0.0.1? Tell 10.0.0.2");
        let mut reply = req.clone();
        reply[7] = 2;
        assert_eq!(arp(&reply).info, "10.0.0.2 is at aa:bb:cc:dd:ee:0f");
        let mut grat = req.clone();
        grat[24..28].copy_from_slice(&[10, 0, 0, 2]);
        assert_eq!(arp(&grat).info, "Gratuitous ARP for 10.0.0.2 (Request)");
        for cut in 0..req.len() {
            assert_eq!(arp(&req[..cut]).protocol, "ARP");
        }
    }

    #[test]
    fn other_protocols() {
        assert_eq!(
            ip_protocol(47, false),
            other("GRE", "IP protocol 47 (GRE)".to_string())
        );
        assert_eq!(
            ip_protocol(253, true),
            other("IPv6", "Unknown IP protocol 253".to_string())
        );
    }
}
