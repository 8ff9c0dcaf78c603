//! The connection table: connections by their two endpoints, and the release of closed
//! connections after a linger (by capture time and by count), so memory follows the open
//! connections, not the length of the capture.

use std::collections::HashMap;
use std::collections::VecDeque;
use std::net::SocketAddr;

/// Key of a TCP connection: the two endpoints in a canonical order, each packed into two
/// integers by [`endpoint_bits`], so hashing and comparing it is a few word operations
/// instead of walking two `SocketAddr` enums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FlowKey {
    lo: (u128, u32),
    hi: (u128, u32),
}

impl FlowKey {
    /// The key of the connection between `a` and `b`, whichever sent.
    pub fn new(a: SocketAddr, b: SocketAddr) -> Self {
        let (a, b) = (endpoint_bits(a), endpoint_bits(b));
        if a <= b {
            FlowKey { lo: a, hi: b }
        } else {
            FlowKey { lo: b, hi: a }
        }
    }
}

/// An endpoint as (address, port | family): IPv4 addresses are zero-extended and tagged
/// in bit 16 of the second word, so 1.2.3.4 and ::102:304 stay different keys.
fn endpoint_bits(addr: SocketAddr) -> (u128, u32) {
    const IPV4_TAG: u32 = 1 << 16;
    match addr {
        SocketAddr::V4(v4) => (
            u128::from(v4.ip().to_bits()),
            IPV4_TAG | u32::from(v4.port()),
        ),
        SocketAddr::V6(v6) => (v6.ip().to_bits(), u32::from(v6.port())),
    }
}

/// The map itself. foldhash instead of SipHash: the lookup is on every packet and SipHash
/// over two socket addresses cost more than the rest of the table work, while foldhash
/// still seeds itself per process, so a crafted capture cannot choose collisions.
pub type ConnMap<V> = HashMap<FlowKey, V, foldhash::fast::RandomState>;

/// How long (capture time) a closed connection is kept for late packets.
pub const CLOSED_LINGER_SECS: f64 = 10.0;

/// Most closed connections kept lingering at once: past it the oldest is released before
/// its [`CLOSED_LINGER_SECS`] are up. A busy capture closes thousands of connections in ten
/// seconds (75 000 in one of the benchmark's), and memory must follow the open connections,
/// not the closing rate; a connection's late packets (the last ACK, a retransmitted FIN)
/// come within a round trip, long before 4096 later connections have closed.
pub const MAX_LINGERING: usize = 4096;

/// Closed connections in closing order, waiting to be released.
#[derive(Debug, Default)]
pub struct Lingering {
    /// (time closed, key, connection number).
    closed: VecDeque<(f64, FlowKey, u32)>,
}

impl Lingering {
    /// Connection `id` under `key` closed at `time`.
    pub fn closed(&mut self, time: f64, key: FlowKey, id: u32) {
        self.closed.push_back((time, key, id));
    }

    /// Releases, from `map`, connections that closed more than [`CLOSED_LINGER_SECS`]
    /// before `now`, or beyond the [`MAX_LINGERING`] most recent. `id_of` tells which
    /// connection an entry holds now (a new one may have taken the key); `released` gets
    /// each one removed. Late packets of a released connection would start a new one,
    /// which the linger makes unlikely.
    pub fn release<V>(
        &mut self,
        now: f64,
        map: &mut ConnMap<V>,
        id_of: impl Fn(&V) -> u32,
        mut released: impl FnMut(V),
    ) {
        while let Some(&(closed_at, key, id)) = self.closed.front() {
            if now - closed_at < CLOSED_LINGER_SECS && self.closed.len() <= MAX_LINGERING {
                break;
            }
            self.closed.pop_front();
            if map.get(&key).is_some_and(|c| id_of(c) == id)
                && let Some(v) = map.remove(&key)
            {
                released(v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

    fn sa(ip: IpAddr, port: u16) -> SocketAddr {
        SocketAddr::new(ip, port)
    }

    #[test]
    fn flow_key_is_symmetric_and_tells_endpoints_apart() {
        let v4 = IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4));
        let v4b = IpAddr::V4(Ipv4Addr::new(1, 2, 3, 5));
        let mapped = IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0, 0x0102, 0x0304));
        let v6 = IpAddr::V6(Ipv6Addr::LOCALHOST);
        let endpoints = [
            sa(v4, 80),
            sa(v4, 81),
            sa(v4b, 80),
            sa(mapped, 80),
            sa(v6, 80),
            sa(v6, 0),
        ];
        for &a in &endpoints {
            for &b in &endpoints {
                assert_eq!(FlowKey::new(a, b), FlowKey::new(b, a));
                for &c in &endpoints {
                    for &d in &endpoints {
                        let same_pair = (a, b) == (c, d) || (a, b) == (d, c);
                        assert_eq!(FlowKey::new(a, b) == FlowKey::new(c, d), same_pair);
                    }
                }
            }
        }
    }
}
