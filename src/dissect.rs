//! The dissector: packets in, events out. Owns the connection table and numbers
//! connections as Wireshark numbers TCP streams.

use crate::capture::{RawPacket, Timestamp};
use crate::conn::{ConnConfig, Connection};
use crate::event::{ConnId, Event, EventSink, PacketBody, PacketRecord, TcpRecord};
use crate::wire::{self, TcpFlags, Transport};
use std::collections::hash_map::Entry;
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;

/// What the dissector decodes and which of it is reported.
#[derive(Debug, Clone, Default)]
pub struct DissectConfig {
    /// Per-connection decoding settings.
    pub conn: ConnConfig,
    /// Report only connections with one of these ports (and no non-TCP packets);
    /// empty = everything.
    pub port_filter: Vec<u16>,
}

/// The connection table. foldhash instead of SipHash: the lookup is on every packet and
/// SipHash over two socket addresses cost more than the rest of the table work, while
/// foldhash still seeds itself per process, so a crafted capture cannot choose collisions.
type ConnTable = HashMap<FlowKey, Connection, foldhash::fast::RandomState>;

/// Key of a TCP connection: the two endpoints in a canonical order, each packed into two
/// integers by [`endpoint_bits`], so hashing and comparing it is a few word operations
/// instead of walking two `SocketAddr` enums.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct FlowKey {
    lo: (u128, u32),
    hi: (u128, u32),
}

impl FlowKey {
    fn new(a: SocketAddr, b: SocketAddr) -> Self {
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

/// Counters over the whole capture.
#[derive(Debug, Default, Clone, Copy)]
pub struct DissectStats {
    /// Packets processed.
    pub packets: u64,
    /// Bytes captured.
    pub bytes: u64,
    /// TCP connections seen.
    pub connections: u64,
}

/// Packets in, events out.
pub struct Dissector {
    config: DissectConfig,
    connections: ConnTable,
    next_conn: ConnId,
    first_timestamp: Option<Timestamp>,
    stats: DissectStats,
    /// Closed connections in closing order: (time closed, key, id), for release.
    closed: VecDeque<(f64, FlowKey, ConnId)>,
}

/// How long (capture time) a closed connection is kept for late packets.
pub const CLOSED_LINGER_SECS: f64 = 10.0;

/// Most closed connections kept lingering at once: past it the oldest is released before
/// its [`CLOSED_LINGER_SECS`] are up. A busy capture closes thousands of connections in ten
/// seconds (75 000 in one of the benchmark's), and memory must follow the open connections,
/// not the closing rate; a connection's late packets (the last ACK, a retransmitted FIN)
/// come within a round trip, long before 4096 later connections have closed.
pub const MAX_LINGERING: usize = 4096;

impl Dissector {
    /// A dissector with nothing seen yet.
    pub fn new(config: DissectConfig) -> Self {
        Dissector {
            config,
            connections: ConnTable::default(),
            next_conn: 0,
            first_timestamp: None,
            stats: DissectStats::default(),
            closed: VecDeque::new(),
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> DissectStats {
        self.stats
    }

    /// Connections held now: open ones and closed ones lingering for late packets.
    pub fn tracked_connections(&self) -> usize {
        self.connections.len()
    }

    /// Processes the next packet of the capture.
    pub fn process(&mut self, raw: &RawPacket<'_>, sink: &mut dyn EventSink) -> io::Result<()> {
        self.stats.packets += 1;
        self.stats.bytes += raw.data.len() as u64;
        let number = self.stats.packets;
        let first = *self.first_timestamp.get_or_insert(raw.timestamp);
        let time_ns = raw.timestamp.nanos_since(first);
        // The same rounding as from i128, but without the slow 128-bit conversion.
        let rel_time = match i64::try_from(time_ns) {
            Ok(ns) => ns as f64 / 1e9,
            Err(_) => time_ns as f64 / 1e9,
        };
        self.release_closed(rel_time);
        let packet = wire::decode(raw.link_type, raw.data);
        let record = |body| PacketRecord {
            number,
            timestamp: raw.timestamp,
            rel_time,
            wire_len: raw.original_len,
            captured_len: raw.data.len() as u32,
            addrs: packet.addrs,
            body,
        };
        match (&packet.transport, packet.addrs) {
            (Transport::Tcp(seg), Some(addrs)) => {
                let src = SocketAddr::new(addrs.src, seg.src_port);
                let dst = SocketAddr::new(addrs.dst, seg.dst_port);
                let key = FlowKey::new(src, dst);
                let conn = connection_for(
                    &mut self.connections,
                    &mut self.next_conn,
                    &mut self.stats,
                    &self.config,
                    (key, src, dst),
                    seg.flags,
                    number,
                    sink,
                )?;
                let visible = is_visible(&self.config.port_filter, conn);
                let side = conn.side_of(src);
                let (dir, analysis, outcome) =
                    conn.on_segment(number, time_ns, side, seg, sink, visible)?;
                if conn.is_closed() && !conn.release_scheduled {
                    conn.release_scheduled = true;
                    self.closed.push_back((rel_time, key, conn.id()));
                }
                let tcp = TcpRecord {
                    segment: seg,
                    conn: conn.id(),
                    dir,
                    analysis,
                    partial_pdu: outcome.partial_pdu,
                    pdus_completed: outcome.pdus_completed,
                };
                if visible {
                    sink.event(&Event::Packet(&record(PacketBody::Tcp(tcp))))?;
                }
            }
            (Transport::Other(other), _) => {
                if self.config.port_filter.is_empty() {
                    sink.event(&Event::Packet(&record(PacketBody::Other(other))))?;
                }
            }
            // A TCP segment always comes with addresses; nothing to follow without them.
            (Transport::Tcp(_), None) => {}
        }
        Ok(())
    }

    /// Forgets connections that closed more than [`CLOSED_LINGER_SECS`] ago, or beyond the
    /// [`MAX_LINGERING`] most recent, so memory follows the open connections, not the file. Late packets of a forgotten connection
    /// (a last ACK) would start a new one, which the linger makes unlikely.
    fn release_closed(&mut self, now: f64) {
        while let Some(&(closed_at, key, id)) = self.closed.front() {
            if now - closed_at < CLOSED_LINGER_SECS && self.closed.len() <= MAX_LINGERING {
                break;
            }
            self.closed.pop_front();
            if self.connections.get(&key).is_some_and(|c| c.id() == id) {
                self.connections.remove(&key);
            }
        }
    }

    /// The capture ended: flushes every connection (in connection order) and reports them.
    pub fn finish(&mut self, sink: &mut dyn EventSink) -> io::Result<()> {
        let last = self.stats.packets;
        let mut conns: Vec<Connection> = self.connections.drain().map(|(_, c)| c).collect();
        conns.sort_by_key(|c| c.id());
        for mut conn in conns {
            let visible = is_visible(&self.config.port_filter, &conn);
            conn.finish(last, sink, visible)?;
        }
        Ok(())
    }
}

/// The connection a segment belongs to, creating it (and retiring a finished one on the
/// same port pair) as Wireshark starts a new TCP stream. One table lookup.
#[allow(clippy::too_many_arguments)]
fn connection_for<'t>(
    table: &'t mut ConnTable,
    next_conn: &mut ConnId,
    stats: &mut DissectStats,
    config: &DissectConfig,
    (key, src, dst): (FlowKey, SocketAddr, SocketAddr),
    flags: TcpFlags,
    packet: u64,
    sink: &mut dyn EventSink,
) -> io::Result<&'t mut Connection> {
    let new_syn = flags.has(TcpFlags::SYN) && !flags.has(TcpFlags::ACK);
    let conn = match table.entry(key) {
        Entry::Occupied(entry) => {
            let conn = entry.into_mut();
            if !(new_syn && conn.is_closed()) {
                return Ok(conn);
            }
            let visible = is_visible(&config.port_filter, conn);
            conn.finish(packet, sink, visible)?;
            *conn = Connection::new(*next_conn, src, dst, packet, &config.conn);
            conn
        }
        Entry::Vacant(entry) => {
            entry.insert(Connection::new(*next_conn, src, dst, packet, &config.conn))
        }
    };
    *next_conn += 1;
    stats.connections += 1;
    Ok(conn)
}

/// Whether a connection passes the `--port` filter.
fn is_visible(port_filter: &[u16], conn: &Connection) -> bool {
    port_filter.is_empty() || port_filter.iter().any(|p| conn.has_port(*p))
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
