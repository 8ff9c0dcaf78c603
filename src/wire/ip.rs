//! IPv4 and IPv6: addresses, the transport protocol, and the transport bytes bounded by the
//! IP length (link-layer padding excluded, snaplen cut counted).

use super::{NetAddrs, OtherPacket};
use etherparse::err::{ipv4, ipv6};
use etherparse::{
    IpNumber, Ipv4HeaderSlice, Ipv6ExtensionSlice, Ipv6ExtensionsSlice, Ipv6HeaderSlice,
};
use std::net::IpAddr;

/// Minimum IPv4 header length.
pub const IPV4_MIN_HEADER_LEN: usize = 20;
/// IPv6 fixed header length.
pub const IPV6_HEADER_LEN: usize = 40;

/// IP protocol numbers used here.
pub mod proto {
    /// ICMP.
    pub const ICMP: u8 = 1;
    /// TCP.
    pub const TCP: u8 = 6;
    /// UDP.
    pub const UDP: u8 = 17;
    /// ICMPv6.
    pub const ICMPV6: u8 = 58;
}

/// The transport part of an IP packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpPayload<'a> {
    /// Source and destination.
    pub addrs: NetAddrs,
    /// Transport protocol number (after IPv6 extension headers).
    pub protocol: u8,
    /// Captured transport bytes, ending where the IP length says the packet ends.
    pub data: &'a [u8],
    /// Bytes the IP length promised beyond the capture (snaplen).
    pub missing: u32,
    /// Whether this came from IPv6.
    pub is_ipv6: bool,
}

/// Why an IP packet is not followed: the addresses (when already read) and the listing.
pub type IpStop = (Option<NetAddrs>, OtherPacket);

fn stop(addrs: Option<NetAddrs>, protocol: &'static str, info: String) -> IpStop {
    (addrs, OtherPacket { protocol, info })
}

/// Bounds the transport bytes: `data[header_len..ip_len]` as far as captured.
pub(super) fn bound(data: &[u8], header_len: usize, ip_len: usize) -> (&[u8], u32) {
    let end = ip_len.min(data.len());
    let payload = data.get(header_len..end).unwrap_or_default();
    let missing = ip_len.saturating_sub(data.len());
    (payload, u32::try_from(missing).unwrap_or(u32::MAX))
}

/// Parses an IPv4 packet.
pub fn ipv4(data: &[u8]) -> Result<IpPayload<'_>, IpStop> {
    let header = Ipv4HeaderSlice::from_slice(data).map_err(|e| {
        let info = match e {
            ipv4::HeaderSliceError::Len(len) => format!(
                "IPv4 header truncated ({} of {} bytes)",
                len.len, len.required_len
            ),
            ipv4::HeaderSliceError::Content(ipv4::HeaderError::UnexpectedVersion {
                version_number,
            }) => format!("Bogus IP version ({version_number})"),
            ipv4::HeaderSliceError::Content(ipv4::HeaderError::HeaderLengthSmallerThanHeader {
                ihl,
            }) => format!(
                "Bogus IP header length ({}, must be at least {IPV4_MIN_HEADER_LEN})",
                u32::from(ihl) * 4
            ),
        };
        stop(None, "IPv4", info)
    })?;
    let addrs = NetAddrs {
        src: IpAddr::V4(header.source_addr()),
        dst: IpAddr::V4(header.destination_addr()),
    };
    let header_len = header.slice().len();
    let protocol = header.protocol().0;
    // Total length 0: segmentation offload on the capturing host; trust the capture.
    let total_len = match usize::from(header.total_len()) {
        0 => data.len(),
        n => n,
    };
    if total_len < header_len {
        return Err(stop(
            Some(addrs),
            "IPv4",
            format!("Bogus IP length ({total_len}, less than header length {header_len})"),
        ));
    }
    let offset = header.fragments_offset().value();
    if offset != 0 || header.more_fragments() {
        return Err(stop(
            Some(addrs),
            "IPv4",
            format!(
                "Fragmented IP protocol (proto={} {protocol}, off={}, ID={:04x})",
                protocol_name(protocol).unwrap_or("Unknown"),
                u32::from(offset) * 8,
                header.identification()
            ),
        ));
    }
    let (data, missing) = bound(data, header_len, total_len);
    Ok(IpPayload {
        addrs,
        protocol,
        data,
        missing,
        is_ipv6: false,
    })
}

/// Parses an IPv6 packet, skipping hop-by-hop, routing, fragment, destination options
/// (and authentication) extension headers.
pub fn ipv6(data: &[u8]) -> Result<IpPayload<'_>, IpStop> {
    let header = Ipv6HeaderSlice::from_slice(data).map_err(|e| {
        let info = match e {
            ipv6::HeaderSliceError::Len(len) => format!(
                "IPv6 header truncated ({} of {} bytes)",
                len.len, len.required_len
            ),
            ipv6::HeaderSliceError::Content(ipv6::HeaderError::UnexpectedVersion {
                version_number,
            }) => format!("Bogus IP version ({version_number})"),
        };
        stop(None, "IPv6", info)
    })?;
    let addrs = NetAddrs {
        src: IpAddr::V6(header.source_addr()),
        dst: IpAddr::V6(header.destination_addr()),
    };
    // Payload length 0: a jumbogram or segmentation offload; trust the capture.
    let ip_len = match usize::from(header.payload_length()) {
        0 => data.len(),
        n => IPV6_HEADER_LEN + n,
    };
    let (after_header, missing) = bound(data, IPV6_HEADER_LEN, ip_len);
    let (exts, next, rest) = Ipv6ExtensionsSlice::from_slice(header.next_header(), after_header)
        .map_err(|e| stop(Some(addrs), "IPv6", format!("IPv6 extension header: {e}")))?;
    if exts.is_fragmenting_payload() {
        let mut info = format!("IPv6 fragment (nxt={})", next.0);
        for ext in exts {
            if let Ipv6ExtensionSlice::Fragment(frag) = ext {
                info = format!(
                    "IPv6 fragment (off={} more={} ident=0x{:08x} nxt={})",
                    u32::from(frag.fragment_offset().value()) * 8,
                    if frag.more_fragments() { 'y' } else { 'n' },
                    frag.identification(),
                    frag.next_header().0
                );
            }
        }
        return Err(stop(Some(addrs), "IPv6", info));
    }
    let IpNumber(protocol) = next;
    Ok(IpPayload {
        addrs,
        protocol,
        data: rest,
        missing,
        is_ipv6: true,
    })
}

/// The protocol-column name of an IP protocol number, for the ones worth naming.
pub fn protocol_name(protocol: u8) -> Option<&'static str> {
    Some(match protocol {
        0 => "IPv6 Hop-by-Hop",
        proto::ICMP => "ICMP",
        2 => "IGMP",
        4 => "IPv4",
        proto::TCP => "TCP",
        proto::UDP => "UDP",
        41 => "IPv6",
        43 => "IPv6 Routing",
        44 => "IPv6 Fragment",
        47 => "GRE",
        50 => "ESP",
        51 => "AH",
        proto::ICMPV6 => "ICMPv6",
        59 => "IPv6 No Next Header",
        60 => "IPv6 Destination Options",
        89 => "OSPF",
        103 => "PIM",
        112 => "VRRP",
        132 => "SCTP",
        136 => "UDPLite",
        _ => return None,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    /// An IPv4 header (no options) followed by `payload`; `total` overrides the length.
    pub(crate) fn v4(protocol: u8, payload: &[u8], total: Option<u16>, frag: u16) -> Vec<u8> {
        let total = total.unwrap_or((20 + payload.len()) as u16);
        let mut v = vec![0x45, 0];
        v.extend(total.to_be_bytes());
        v.extend(0x1234u16.to_be_bytes());
        v.extend(frag.to_be_bytes());
        v.extend([64, protocol, 0, 0]);
        v.extend([10, 0, 0, 1, 10, 0, 0, 2]);
        v.extend_from_slice(payload);
        v
    }

    /// An IPv6 header followed by `payload` (extension headers included in it).
    pub(crate) fn v6(next: u8, payload: &[u8], payload_len: Option<u16>) -> Vec<u8> {
        let len = payload_len.unwrap_or(payload.len() as u16);
        let mut v = vec![0x60, 0, 0, 0];
        v.extend(len.to_be_bytes());
        v.extend([next, 64]);
        v.extend(Ipv6Addr::LOCALHOST.octets());
        v.extend("2001:db8::2".parse::<Ipv6Addr>().unwrap().octets());
        v.extend_from_slice(payload);
        v
    }

    #[test]
    fn ipv4_padding_excluded_and_snaplen_counted() {
        let mut packet = v4(proto::TCP, b"abcd", None, 0);
        packet.extend([0; 6]); // Ethernet padding
        let p = ipv4(&packet).unwrap();
        assert_eq!(p.data, b"abcd");
        assert_eq!(p.missing, 0);
        assert_eq!(p.addrs.src, IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)));
        assert_eq!(p.protocol, proto::TCP);

        let packet = v4(proto::TCP, b"abcd", Some(1000), 0);
        let p = ipv4(&packet).unwrap();
        assert_eq!((p.data, p.missing), (&b"abcd"[..], 976));

        let tso = v4(proto::TCP, b"abcd", Some(0), 0);
        assert_eq!(ipv4(&tso).unwrap().data, b"abcd");
    }

    #[test]
    fn ipv4_errors() {
        let packet = v4(proto::TCP, b"abcd", None, 0);
        for cut in 0..20 {
            let (addrs, other) = ipv4(&packet[..cut]).unwrap_err();
            assert!(addrs.is_none());
            assert_eq!(
                other.info,
                format!("IPv4 header truncated ({cut} of 20 bytes)")
            );
        }
        let (addrs, other) = ipv4(&v4(proto::TCP, b"", Some(12), 0)).unwrap_err();
        assert!(addrs.is_some());
        assert_eq!(
            other.info,
            "Bogus IP length (12, less than header length 20)"
        );
        let (_, other) = ipv4(&v4(proto::TCP, b"x", None, 0x2000)).unwrap_err();
        assert_eq!(
            other.info,
            "Fragmented IP protocol (proto=TCP 6, off=0, ID=1234)"
        );
        let (_, other) = ipv4(&v4(proto::UDP, b"x", None, 0x0003)).unwrap_err();
        assert_eq!(
            other.info,
            "Fragmented IP protocol (proto=UDP 17, off=24, ID=1234)"
        );
        // Don't-fragment alone is fine.
        assert!(ipv4(&v4(proto::TCP, b"x", None, 0x4000)).is_ok());
        let mut bad = v4(proto::TCP, b"x", None, 0);
        bad[0] = 0x43;
        assert_eq!(
            ipv4(&bad).unwrap_err().1.info,
            "Bogus IP header length (12, must be at least 20)"
        );
        bad[0] = 0x65;
        assert_eq!(ipv4(&bad).unwrap_err().1.info, "Bogus IP version (6)");
    }

    #[test]
    fn ipv6_with_extension_headers() {
        // Hop-by-hop (8 bytes) then destination options (8 bytes) then TCP.
        let mut payload = vec![60, 0, 1, 4, 0, 0, 0, 0];
        payload.extend([proto::TCP, 0, 1, 4, 0, 0, 0, 0]);
        payload.extend(b"tcp!");
        let mut packet = v6(0, &payload, None);
        packet.extend([0; 4]); // padding
        let p = ipv6(&packet).unwrap();
        assert_eq!(p.protocol, proto::TCP);
        assert_eq!(p.data, b"tcp!");
        assert_eq!(p.missing, 0);
        assert!(p.is_ipv6);
        assert_eq!(p.addrs.src, IpAddr::V6(Ipv6Addr::LOCALHOST));

        let cut = v6(proto::TCP, b"ab", Some(100));
        assert_eq!(ipv6(&cut).unwrap().missing, 98);

        // Fragment header (first fragment, more follow).
        let frag = [proto::TCP, 0, 0, 1, 0, 0, 0, 9, b'x'];
        let (_, other) = ipv6(&v6(44, &frag, None)).unwrap_err();
        assert_eq!(
            other.info,
            "IPv6 fragment (off=0 more=y ident=0x00000009 nxt=6)"
        );
        // Atomic fragment (offset 0, no more): not fragmenting, followed.
        let atomic = [proto::TCP, 0, 0, 0, 0, 0, 0, 9, b'x'];
        assert_eq!(ipv6(&v6(44, &atomic, None)).unwrap().data, b"x");

        for cut in 0..40 {
            assert!(ipv6(&packet[..cut]).unwrap_err().0.is_none());
        }
        for cut in 40..56 {
            let (addrs, other) = ipv6(&packet[..cut]).unwrap_err();
            assert!(addrs.is_some());
            assert_eq!(other.protocol, "IPv6");
        }
    }
}
