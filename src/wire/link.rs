//! Link layers: Ethernet (+802.1Q), NULL/LOOP, Linux SLL and SLL2, raw IP.
//!
//! Each link header is peeled off to find what the network layer is and where it starts.

use super::OtherPacket;
use crate::capture::LinkType;
use etherparse::{Ethernet2HeaderSlice, SingleVlanHeaderSlice};

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;
/// EtherType of an 802.1Q VLAN tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType of an 802.1ad (QinQ) service tag.
pub const ETHERTYPE_QINQ: u16 = 0x88a8;
/// Pre-standard QinQ tag EtherType.
pub const ETHERTYPE_QINQ_OLD: u16 = 0x9100;
/// EtherType values up to this one are IEEE 802.3 length fields.
const ETHERTYPE_MAX_LENGTH: u16 = 1500;
/// Most VLAN tags followed before giving up.
const MAX_VLAN_TAGS: usize = 8;

/// Ethernet II header length.
const ETHERNET_HEADER_LEN: usize = 14;
/// 802.1Q tag length.
const VLAN_TAG_LEN: usize = 4;

/// NULL / LOOP header length (the address family).
const NULL_HEADER_LEN: usize = 4;
/// BSD `AF_INET`.
pub const AF_INET: u32 = 2;
/// `AF_INET6` on NetBSD/OpenBSD/BSD/OS.
pub const AF_INET6_BSD: u32 = 24;
/// `AF_INET6` on FreeBSD and DragonFly.
pub const AF_INET6_FREEBSD: u32 = 28;
/// `AF_INET6` on macOS and iOS.
pub const AF_INET6_DARWIN: u32 = 30;

/// Linux cooked capture v1 header length.
const SLL_HEADER_LEN: usize = 16;
/// Offset of the ARPHRD_ type in an SLL header.
const SLL_HATYPE: usize = 2;
/// Offset of the protocol (EtherType) in an SLL header.
const SLL_PROTOCOL: usize = 14;
/// Linux cooked capture v2 header length.
const SLL2_HEADER_LEN: usize = 20;
/// Offset of the protocol (EtherType) in an SLL2 header.
const SLL2_PROTOCOL: usize = 0;
/// Offset of the ARPHRD_ type in an SLL2 header.
const SLL2_HATYPE: usize = 8;
/// `ARPHRD_NETLINK`: the protocol field is a netlink family, not an EtherType.
const ARPHRD_NETLINK: u16 = 824;

/// IP version nibble values for raw IP.
const IP_VERSION_4: u8 = 4;
const IP_VERSION_6: u8 = 6;

/// The network layer found under the link header, borrowed from the packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Network<'a> {
    /// An IPv4 packet (header first).
    Ipv4(&'a [u8]),
    /// An IPv6 packet (header first).
    Ipv6(&'a [u8]),
    /// An ARP packet.
    Arp(&'a [u8]),
}

/// Removes the link header; anything that is not IPv4, IPv6 or ARP becomes an
/// [`OtherPacket`] naming the link layer.
pub fn network(link_type: LinkType, data: &[u8]) -> Result<Network<'_>, OtherPacket> {
    match link_type {
        LinkType::ETHERNET => ethernet(data),
        LinkType::NULL | LinkType::LOOP => null(link_type, data),
        LinkType::LINUX_SLL => sll(data),
        LinkType::LINUX_SLL2 => sll2(data),
        LinkType::RAW => raw_ip(data),
        LinkType::IPV4 => Ok(Network::Ipv4(data)),
        LinkType::IPV6 => Ok(Network::Ipv6(data)),
        LinkType(n) => Err(OtherPacket {
            protocol: link_type.name(),
            info: format!("Link type {n}"),
        }),
    }
}

fn truncated(link_type: LinkType, captured: usize, needed: usize) -> OtherPacket {
    OtherPacket {
        protocol: link_type.name(),
        info: format!(
            "{} header truncated ({captured} of {needed} bytes)",
            link_type.name()
        ),
    }
}

/// Maps an EtherType to the network layer.
fn by_ethertype(
    link_type: LinkType,
    ether_type: u16,
    payload: &[u8],
) -> Result<Network<'_>, OtherPacket> {
    match ether_type {
        ETHERTYPE_IPV4 => Ok(Network::Ipv4(payload)),
        ETHERTYPE_IPV6 => Ok(Network::Ipv6(payload)),
        ETHERTYPE_ARP => Ok(Network::Arp(payload)),
        _ => Err(OtherPacket {
            protocol: link_type.name(),
            info: format!("Ethertype 0x{ether_type:04x}"),
        }),
    }
}

fn ethernet(data: &[u8]) -> Result<Network<'_>, OtherPacket> {
    let header = Ethernet2HeaderSlice::from_slice(data)
        .map_err(|e| truncated(LinkType::ETHERNET, e.len, ETHERNET_HEADER_LEN))?;
    let mut ether_type = header.ether_type().0;
    let mut rest = data.get(ETHERNET_HEADER_LEN..).unwrap_or_default();
    for _ in 0..MAX_VLAN_TAGS {
        if !matches!(
            ether_type,
            ETHERTYPE_VLAN | ETHERTYPE_QINQ | ETHERTYPE_QINQ_OLD
        ) {
            break;
        }
        let tag = SingleVlanHeaderSlice::from_slice(rest).map_err(|e| OtherPacket {
            protocol: "802.1Q",
            info: format!("VLAN tag truncated ({} of {VLAN_TAG_LEN} bytes)", e.len),
        })?;
        ether_type = tag.ether_type().0;
        rest = rest.get(VLAN_TAG_LEN..).unwrap_or_default();
    }
    if ether_type <= ETHERTYPE_MAX_LENGTH {
        return Err(OtherPacket {
            protocol: "LLC",
            info: format!("IEEE 802.3 frame, length {ether_type}"),
        });
    }
    by_ethertype(LinkType::ETHERNET, ether_type, rest)
}

/// NULL (host byte order) and LOOP (network byte order): either order is accepted, the
/// one giving a known address family wins.
fn null(link_type: LinkType, data: &[u8]) -> Result<Network<'_>, OtherPacket> {
    let Some(&[a, b, c, d]) = data.get(..NULL_HEADER_LEN) else {
        return Err(truncated(link_type, data.len(), NULL_HEADER_LEN));
    };
    let rest = data.get(NULL_HEADER_LEN..).unwrap_or_default();
    let le = u32::from_le_bytes([a, b, c, d]);
    let be = u32::from_be_bytes([a, b, c, d]);
    for family in [le, be] {
        match family {
            AF_INET => return Ok(Network::Ipv4(rest)),
            AF_INET6_BSD | AF_INET6_FREEBSD | AF_INET6_DARWIN => return Ok(Network::Ipv6(rest)),
            _ => {}
        }
    }
    Err(OtherPacket {
        protocol: link_type.name(),
        info: format!("Unknown address family {}", le.min(be)),
    })
}

fn sll(data: &[u8]) -> Result<Network<'_>, OtherPacket> {
    let (Some(&[h0, h1]), Some(&[p0, p1]), Some(rest)) = (
        data.get(SLL_HATYPE..SLL_HATYPE + 2),
        data.get(SLL_PROTOCOL..SLL_PROTOCOL + 2),
        data.get(SLL_HEADER_LEN..),
    ) else {
        return Err(truncated(LinkType::LINUX_SLL, data.len(), SLL_HEADER_LEN));
    };
    cooked(
        LinkType::LINUX_SLL,
        u16::from_be_bytes([h0, h1]),
        u16::from_be_bytes([p0, p1]),
        rest,
    )
}

fn sll2(data: &[u8]) -> Result<Network<'_>, OtherPacket> {
    let (Some(&[p0, p1]), Some(&[h0, h1]), Some(rest)) = (
        data.get(SLL2_PROTOCOL..SLL2_PROTOCOL + 2),
        data.get(SLL2_HATYPE..SLL2_HATYPE + 2),
        data.get(SLL2_HEADER_LEN..),
    ) else {
        return Err(truncated(LinkType::LINUX_SLL2, data.len(), SLL2_HEADER_LEN));
    };
    cooked(
        LinkType::LINUX_SLL2,
        u16::from_be_bytes([h0, h1]),
        u16::from_be_bytes([p0, p1]),
        rest,
    )
}

/// Common part of SLL and SLL2 once the fields are read.
fn cooked(
    link_type: LinkType,
    hatype: u16,
    protocol: u16,
    rest: &[u8],
) -> Result<Network<'_>, OtherPacket> {
    if hatype == ARPHRD_NETLINK {
        return Err(OtherPacket {
            protocol: "Netlink",
            info: format!("Netlink family {protocol}"),
        });
    }
    by_ethertype(link_type, protocol, rest)
}

fn raw_ip(data: &[u8]) -> Result<Network<'_>, OtherPacket> {
    match data.first().map(|b| b >> 4) {
        Some(IP_VERSION_4) => Ok(Network::Ipv4(data)),
        Some(IP_VERSION_6) => Ok(Network::Ipv6(data)),
        Some(v) => Err(OtherPacket {
            protocol: LinkType::RAW.name(),
            info: format!("Unknown IP version {v}"),
        }),
        None => Err(truncated(LinkType::RAW, 0, 1)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IP: &[u8] = &[0x45, 0, 0, 20];
    const IP6: &[u8] = &[0x60, 0, 0, 0];

    fn eth(ether_type: u16, tags: &[u16], payload: &[u8]) -> Vec<u8> {
        let mut v = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        for tag in tags {
            v.extend(tag.to_be_bytes());
            v.extend(0x0064u16.to_be_bytes()); // VLAN 100
        }
        v.extend(ether_type.to_be_bytes());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn ethernet_plain_and_vlans() {
        assert_eq!(
            network(LinkType::ETHERNET, &eth(ETHERTYPE_IPV4, &[], IP)),
            Ok(Network::Ipv4(IP))
        );
        let one = eth(ETHERTYPE_IPV6, &[ETHERTYPE_VLAN], IP6);
        assert_eq!(network(LinkType::ETHERNET, &one), Ok(Network::Ipv6(IP6)));
        let qinq = eth(ETHERTYPE_ARP, &[ETHERTYPE_QINQ, ETHERTYPE_VLAN], IP);
        assert_eq!(network(LinkType::ETHERNET, &qinq), Ok(Network::Arp(IP)));
        let lldp = network(LinkType::ETHERNET, &eth(0x88cc, &[], b"")).unwrap_err();
        assert_eq!(
            (lldp.protocol, lldp.info.as_str()),
            ("Ethernet", "Ethertype 0x88cc")
        );
        let llc = network(LinkType::ETHERNET, &eth(38, &[], b"")).unwrap_err();
        assert_eq!(llc.protocol, "LLC");
    }

    #[test]
    fn ethernet_truncations() {
        let frame = eth(ETHERTYPE_IPV4, &[ETHERTYPE_VLAN], IP);
        for cut in 0..18 {
            let err = network(LinkType::ETHERNET, &frame[..cut]).unwrap_err();
            if cut < 14 {
                assert_eq!(
                    err.info,
                    format!("Ethernet header truncated ({cut} of 14 bytes)")
                );
            } else {
                assert_eq!(err.protocol, "802.1Q");
            }
        }
        assert_eq!(
            network(LinkType::ETHERNET, &frame[..18]),
            Ok(Network::Ipv4(&[]))
        );
    }

    #[test]
    fn null_and_loop_either_byte_order() {
        for link in [LinkType::NULL, LinkType::LOOP] {
            for family in [AF_INET, AF_INET6_BSD, AF_INET6_FREEBSD, AF_INET6_DARWIN] {
                for header in [family.to_le_bytes(), family.to_be_bytes()] {
                    let mut v = header.to_vec();
                    v.extend_from_slice(IP);
                    let expected = if family == AF_INET {
                        Network::Ipv4(IP)
                    } else {
                        Network::Ipv6(IP)
                    };
                    assert_eq!(network(link, &v), Ok(expected));
                }
            }
            let err = network(link, &[17, 0, 0, 0]).unwrap_err();
            assert_eq!(err.info, "Unknown address family 17");
            assert!(
                network(link, &[2, 0, 0])
                    .unwrap_err()
                    .info
                    .contains("truncated (3 of 4")
            );
        }
    }

    #[test]
    fn linux_cooked() {
        let mut sll = vec![0, 0, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0];
        sll.extend(ETHERTYPE_IPV6.to_be_bytes());
        sll.extend_from_slice(IP6);
        assert_eq!(network(LinkType::LINUX_SLL, &sll), Ok(Network::Ipv6(IP6)));
        // Loopback (ARPHRD_LOOPBACK 772) carries IPv4 just the same.
        sll[2..4].copy_from_slice(&772u16.to_be_bytes());
        sll[14..16].copy_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
        assert_eq!(network(LinkType::LINUX_SLL, &sll), Ok(Network::Ipv4(IP6)));
        sll[2..4].copy_from_slice(&ARPHRD_NETLINK.to_be_bytes());
        assert_eq!(
            network(LinkType::LINUX_SLL, &sll).unwrap_err().protocol,
            "Netlink"
        );

        let mut sll2 = ETHERTYPE_IPV4.to_be_bytes().to_vec();
        sll2.extend([0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 1, 2, 3, 4, 5, 6, 0, 0]);
        sll2.extend_from_slice(IP);
        assert_eq!(network(LinkType::LINUX_SLL2, &sll2), Ok(Network::Ipv4(IP)));
        sll2[0..2].copy_from_slice(&0x0004u16.to_be_bytes());
        let err = network(LinkType::LINUX_SLL2, &sll2).unwrap_err();
        assert_eq!(
            (err.protocol, err.info.as_str()),
            ("Linux SLL2", "Ethertype 0x0004")
        );

        for cut in 0..16 {
            assert!(network(LinkType::LINUX_SLL, &sll[..cut]).is_err());
        }
        for cut in 0..20 {
            assert!(network(LinkType::LINUX_SLL2, &sll2[..cut]).is_err());
        }
    }

    #[test]
    fn raw_ip_and_unknown_link() {
        assert_eq!(network(LinkType::RAW, IP), Ok(Network::Ipv4(IP)));
        assert_eq!(network(LinkType::RAW, IP6), Ok(Network::Ipv6(IP6)));
        assert_eq!(network(LinkType::IPV4, IP6), Ok(Network::Ipv4(IP6)));
        assert_eq!(network(LinkType::IPV6, IP), Ok(Network::Ipv6(IP)));
        assert_eq!(
            network(LinkType::RAW, &[0x50]).unwrap_err().info,
            "Unknown IP version 5"
        );
        assert!(network(LinkType::RAW, &[]).is_err());
        let err = network(LinkType(147), b"x").unwrap_err();
        assert_eq!(
            (err.protocol, err.info.as_str()),
            ("Unknown link type", "Link type 147")
        );
    }
}
