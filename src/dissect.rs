//! The dissector: packets in, events out. Owns the connection table and numbers
//! connections as Wireshark numbers TCP streams.

use crate::capture::{RawPacket, Timestamp};
use crate::event::{ConnId, Event, EventSink, PacketBody, PacketRecord, TcpRecord};
use crate::flow::budget::{HeldPayload, MemoryBudget};
use crate::flow::reassembly::Delivery;
use crate::flow::table::{ConnMap, FlowKey, Lingering};
use crate::flow::tcp::{StreamHandler, TcpConnection};
use crate::rules::{self, Finding};
use crate::session::{Cx, Session, Side};
use crate::tls::{KeyLog, KeyLogFile, SegmentLabel};
use crate::wire::{self, TcpFlags, Transport};
use std::collections::VecDeque;
use std::collections::hash_map::Entry;
use std::io;
use std::net::SocketAddr;
use std::path::Path;

pub use crate::flow::table::{CLOSED_LINGER_SECS, MAX_LINGERING};
pub use crate::session::ConnConfig;

/// What the dissector decodes and which of it is reported.
#[derive(Debug, Clone, Default)]
pub struct DissectConfig {
    /// Per-connection decoding settings.
    pub conn: ConnConfig,
    /// Report only connections with one of these ports (and no non-TCP packets);
    /// empty = everything.
    pub port_filter: Vec<u16>,
    /// Memory limit and idle timeout (`--memory-limit`, `--idle-timeout`).
    pub budget: MemoryBudget,
}

/// One tracked connection: its transport and everything above it.
#[derive(Debug)]
pub(crate) struct Connection {
    tcp: TcpConnection,
    session: Session,
    /// The end summary was reported.
    ended: bool,
    /// Scheduled for release from the table.
    release_scheduled: bool,
}

impl Connection {
    pub(crate) fn new(
        id: ConnId,
        src: SocketAddr,
        dst: SocketAddr,
        packet: u64,
        config: &ConnConfig,
    ) -> Self {
        let mut tcp = TcpConnection::new(packet, config.reassembly);
        tcp.set_budget(&config.reassembly_held);
        Connection {
            tcp,
            session: Session::new(id, src, dst, config),
            ended: false,
            release_scheduled: false,
        }
    }

    /// Flushes what TCP still holds up the chain and reports the connection, once.
    fn end(&mut self, cx: &mut Cx<'_>) -> io::Result<()> {
        if self.ended {
            return Ok(());
        }
        self.ended = true;
        self.tcp.flush(
            cx.packet,
            &mut Upper {
                session: &mut self.session,
                cx,
            },
        )?;
        let (first, last) = (self.tcp.first_packet, self.tcp.last_packet);
        self.session.end(cx, self.tcp.end_state(), first, last)
    }
}

/// Reassembled bytes go up the session's analyzer chain.
struct Upper<'a, 's> {
    session: &'a mut Session,
    cx: &'a mut Cx<'s>,
}

impl StreamHandler for Upper<'_, '_> {
    fn deliver(&mut self, side: Side, delivery: Delivery<'_>) -> io::Result<()> {
        self.session.deliver(self.cx, side, delivery)
    }

    fn buffered_out_of_order(&mut self, side: Side) {
        if self.session.decodes_pdus(side) {
            // Held for later: part of a PDU that this packet does not complete.
            self.cx.delivered_into_pdu = true;
        }
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
    /// Connections evicted after --idle-timeout seconds without a packet.
    pub evicted_idle: u64,
    /// Connections evicted, oldest idle first, because the table was over its share of
    /// --memory-limit.
    pub evicted_budget: u64,
}

/// Packets in, events out.
pub struct Dissector {
    config: DissectConfig,
    /// Boxed: a connection is about 1.2 KB, and the map keeps up to twice its length in
    /// buckets; boxed, an empty bucket costs 48 bytes (measured: 5.4 KB per half-open
    /// connection unboxed with 8 192 connections tracked).
    connections: ConnMap<Box<Connection>>,
    next_conn: ConnId,
    first_timestamp: Option<Timestamp>,
    stats: DissectStats,
    /// Closed connections waiting for release.
    lingering: Lingering,
    /// Every tracked connection, roughly least recently active first: (capture time of
    /// its last packet when queued, key, number). One entry per connection, requeued
    /// lazily when found active, so keeping it costs O(1) per packet.
    recency: VecDeque<(f64, FlowKey, ConnId)>,
    max_connections: usize,
    /// TLS secrets known so far.
    keys: KeyLog,
    /// The TLS label of the packet being processed (kept to reuse its allocation).
    tls_label: SegmentLabel,
    /// Key log files, re-read as they grow when `watch_key_logs` is on.
    key_files: Vec<KeyLogFile>,
    watch_key_logs: bool,
}

impl Dissector {
    /// Whether outputs get payloads to show: the bytes are then held under the memory
    /// budget's display share, which all connections draw from.
    pub fn holds_payloads(&self) -> bool {
        self.config.conn.decoder.max_retained_payload > 0
            || self.config.conn.max_message_payload > 0
    }

    /// A dissector with nothing seen yet.
    pub fn new(mut config: DissectConfig) -> Self {
        config.conn.held_payload = HeldPayload::new(config.budget.held_payload());
        config.conn.reassembly_held = HeldPayload::new(config.budget.reassembly());
        Dissector {
            max_connections: config.budget.max_connections(),
            recency: VecDeque::new(),
            config,
            connections: ConnMap::default(),
            next_conn: 0,
            first_timestamp: None,
            stats: DissectStats::default(),
            lingering: Lingering::default(),
            keys: KeyLog::new(),
            tls_label: SegmentLabel::new(),
            key_files: Vec::new(),
            watch_key_logs: false,
        }
    }

    /// Reads the TLS key log at `path` (NSS format, as `SSLKEYLOGFILE` writes it); a file
    /// that does not exist yet reads as empty.
    pub fn add_key_log_file(&mut self, path: &Path) -> io::Result<()> {
        let mut file = KeyLogFile::new(path);
        file.refresh(&mut self.keys)?;
        self.key_files.push(file);
        Ok(())
    }

    /// Re-reads the key log files whenever the input waits (live capture: a browser
    /// appends a line per new connection, so connections that start later decrypt too).
    pub fn watch_key_logs(&mut self, watch: bool) {
        self.watch_key_logs = watch;
    }

    /// The input is waiting: picks up key log lines appended since the last look.
    pub fn idle(&mut self) {
        if self.watch_key_logs {
            for file in &mut self.key_files {
                // A file that became unreadable keeps the keys already read.
                let _ = file.refresh(&mut self.keys);
            }
        }
    }

    /// How many TLS connections' secrets are known.
    pub fn tls_keys(&self) -> usize {
        self.keys.len()
    }

    /// Learns TLS secrets (NSS key log lines: a key log file, a pcapng Decryption Secrets
    /// Block); connections seen later, and those still waiting for keys, use them.
    pub fn add_tls_keys(&mut self, key_log: &[u8]) {
        self.keys.add_bytes(key_log);
    }

    /// The configuration and the TLS secrets known so far (the sharded run splits a
    /// configured dissector across its threads).
    pub(crate) fn into_parts(self) -> (DissectConfig, KeyLog) {
        (self.config, self.keys)
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
        let rel_time = seconds(time_ns);
        self.lingering
            .release(rel_time, &mut self.connections, |c| c.session.id(), drop);
        self.evict(number, rel_time, sink)?;
        let packet = wire::decode(raw.link_type, raw.data);
        let head = PacketHead {
            number,
            timestamp: raw.timestamp,
            rel_time,
            time_ns,
            wire_len: raw.original_len,
            addrs: packet.addrs,
            data: raw.data,
            link_type: raw.link_type,
        };
        match (&packet.transport, packet.addrs) {
            (Transport::Tcp(seg), Some(addrs)) => {
                if self.watch_key_logs
                    && (seg.flags.has(TcpFlags::FIN) || seg.flags.has(TcpFlags::RST))
                {
                    // A TLS connection that ends here may be waiting for its key log line,
                    // written since the last look (live: packets can come in a burst).
                    self.idle();
                }
                let src = SocketAddr::new(addrs.src, seg.src_port);
                let dst = SocketAddr::new(addrs.dst, seg.dst_port);
                let key = FlowKey::new(src, dst);
                let created = self.next_conn;
                let conn = connection_for(
                    &mut self.connections,
                    &mut self.next_conn,
                    &mut self.stats,
                    &self.config,
                    (key, src, dst),
                    seg.flags,
                    number,
                    sink,
                    (&self.keys, &mut self.tls_label),
                )?;
                if self.next_conn != created {
                    self.recency.push_back((rel_time, key, created));
                }
                let closed = tcp_segment(
                    conn,
                    &head,
                    seg,
                    src,
                    &self.config.port_filter,
                    (&self.keys, &mut self.tls_label),
                    sink,
                )?;
                if closed {
                    self.lingering.closed(rel_time, key, conn.session.id());
                }
            }
            (Transport::Other(other), _) => {
                if self.config.port_filter.is_empty() {
                    sink.event(&Event::Packet(&head.record(PacketBody::Other(other))))?;
                }
            }
            // A TCP segment always comes with addresses; nothing to follow without them.
            (Transport::Tcp(_), None) => {}
        }
        Ok(())
    }

    /// Evicts connections idle past the timeout, then, oldest idle first, those over the
    /// table's share of the budget; each is ended (reported) with a `connection-evicted`
    /// note. A connection found active since it was queued is requeued instead.
    fn evict(&mut self, packet: u64, now: f64, sink: &mut dyn EventSink) -> io::Result<()> {
        let idle = self.config.budget.idle_timeout;
        while let Some(&(queued, key, id)) = self.recency.front() {
            let over = self.connections.len() > self.max_connections;
            let timed_out = idle > 0.0 && now - queued > idle;
            let current = self
                .connections
                .get(&key)
                .filter(|c| c.session.id() == id)
                .map(|c| c.tcp.last_time);
            if current.is_some() && !over && !timed_out {
                break;
            }
            self.recency.pop_front();
            let Some(last) = current else {
                // Released already (closed and lingered, or replaced).
                continue;
            };
            if last > queued {
                self.recency.push_back((last, key, id));
                continue;
            }
            let Some(mut conn) = self.connections.remove(&key) else {
                continue;
            };
            if conn.ended {
                // Closed and reported: an early release, nothing lost.
                continue;
            }
            if timed_out {
                self.stats.evicted_idle += 1;
            } else {
                self.stats.evicted_budget += 1;
            }
            let message = eviction_message(timed_out, now - last, idle, self.max_connections);
            evict_connection(
                &mut conn,
                packet,
                message,
                &self.config.port_filter,
                (&self.keys, &mut self.tls_label),
                sink,
            )?;
        }
        // Entries of released connections wait at their place in the queue; dropping them
        // once they outnumber the live ones keeps the queue in proportion to the table.
        if self.recency.len() > 2 * self.connections.len() + 1024 {
            let table = &self.connections;
            self.recency
                .retain(|(_, key, id)| table.get(key).is_some_and(|c| c.session.id() == *id));
        }
        Ok(())
    }

    /// The capture ended: flushes every connection (in connection order) and reports them.
    pub fn finish(&mut self, sink: &mut dyn EventSink) -> io::Result<()> {
        // The last key log lines, for the connections still waiting for theirs.
        self.idle();
        let last = self.stats.packets;
        let mut conns: Vec<Box<Connection>> = self.connections.drain().map(|(_, c)| c).collect();
        conns.sort_by_key(|c| c.session.id());
        for mut conn in conns {
            end_connection(
                &mut conn,
                last,
                &self.config.port_filter,
                (&self.keys, &mut self.tls_label),
                sink,
            )?;
        }
        Ok(())
    }
}

/// The parts of a packet's record that do not depend on its connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PacketHead<'a> {
    pub(crate) number: u64,
    pub(crate) timestamp: Timestamp,
    pub(crate) rel_time: f64,
    /// Nanoseconds since the first packet of the capture.
    pub(crate) time_ns: i128,
    pub(crate) wire_len: u32,
    pub(crate) addrs: Option<wire::NetAddrs>,
    pub(crate) data: &'a [u8],
    pub(crate) link_type: crate::capture::LinkType,
}

impl<'a> PacketHead<'a> {
    /// The packet's record with `body`.
    pub(crate) fn record<'b>(&self, body: PacketBody<'b>) -> PacketRecord<'b>
    where
        'a: 'b,
    {
        PacketRecord {
            number: self.number,
            timestamp: self.timestamp,
            rel_time: self.rel_time,
            wire_len: self.wire_len,
            captured_len: self.data.len() as u32,
            addrs: self.addrs,
            body,
            data: self.data,
            link_type: self.link_type,
        }
    }
}

/// One TCP segment through its connection: transport, the analyzer chain, the end of the
/// connection when the segment closed it, then the packet's record. True when the
/// connection closed now and its release is to be scheduled (once). Shared by the
/// one-thread [`Dissector`] and the sharded workers, so both do exactly the same.
pub(crate) fn tcp_segment(
    conn: &mut Connection,
    head: &PacketHead<'_>,
    seg: &wire::TcpSegment<'_>,
    src: SocketAddr,
    port_filter: &[u16],
    (keys, tls_label): (&KeyLog, &mut SegmentLabel),
    sink: &mut dyn EventSink,
) -> io::Result<bool> {
    let number = head.number;
    let visible = is_visible(port_filter, &conn.session);
    let session = &mut conn.session;
    let side = session.side_of(src);
    session.note_packet(number, head.rel_time);
    let flags = seg.flags;
    if flags.has(TcpFlags::SYN) {
        session.syn(side, !flags.has(TcpFlags::ACK));
    }
    let dir = session.direction(side);
    tls_label.clear();
    let mut cx = Cx::new(number, head.rel_time, sink, visible, keys, tls_label);
    let analysis = conn.tcp.segment(
        number,
        head.time_ns,
        side,
        seg,
        &mut Upper {
            session: &mut conn.session,
            cx: &mut cx,
        },
    )?;
    // Only a segment whose own payload went into an unfinished PDU is marked.
    let partial_pdu = seg.wire_len() > 0 && cx.pdus_completed == 0 && cx.delivered_into_pdu;
    let pdus_completed = cx.pdus_completed;
    let mut schedule_release = false;
    if conn.tcp.is_closed() {
        conn.end(&mut cx)?;
        if !conn.release_scheduled {
            conn.release_scheduled = true;
            schedule_release = true;
        }
    }
    let tcp = TcpRecord {
        segment: seg,
        conn: conn.session.id(),
        dir,
        analysis,
        partial_pdu,
        pdus_completed,
        tls: (!tls_label.is_empty()).then_some(&*tls_label),
    };
    if visible {
        sink.event(&Event::Packet(&head.record(PacketBody::Tcp(tcp))))?;
    }
    Ok(schedule_release)
}

/// Ends `conn`, evicted at packet `packet` for the reason `message`: the
/// `connection-evicted` note, then its end (reported).
pub(crate) fn evict_connection(
    conn: &mut Connection,
    packet: u64,
    message: String,
    port_filter: &[u16],
    (keys, tls_label): (&KeyLog, &mut SegmentLabel),
    sink: &mut dyn EventSink,
) -> io::Result<()> {
    let id = conn.session.id();
    let visible = is_visible(port_filter, &conn.session);
    tls_label.clear();
    let mut cx = Cx::new(packet, conn.tcp.last_time, sink, visible, keys, tls_label);
    cx.finding(
        id,
        Finding {
            kind: rules::CONNECTION_EVICTED,
            dir: None,
            message,
        },
    )?;
    conn.end(&mut cx)
}

/// Ends `conn` at packet `packet` (the capture ended, or a new connection took its
/// endpoints): flushes it and reports it, unless it was reported already.
pub(crate) fn end_connection(
    conn: &mut Connection,
    packet: u64,
    port_filter: &[u16],
    (keys, tls_label): (&KeyLog, &mut SegmentLabel),
    sink: &mut dyn EventSink,
) -> io::Result<()> {
    let visible = is_visible(port_filter, &conn.session);
    tls_label.clear();
    let mut cx = Cx::new(packet, conn.tcp.last_time, sink, visible, keys, tls_label);
    conn.end(&mut cx)
}

/// The message of a `connection-evicted` note: idle past `--idle-timeout` (`idle_for`
/// seconds without a packet), or over the table's share of the memory budget.
pub(crate) fn eviction_message(
    timed_out: bool,
    idle_for: f64,
    idle: f64,
    max_connections: usize,
) -> String {
    if timed_out {
        format!(
            "no packet for {idle_for:.0} s (--idle-timeout {idle} s): released; a later packet of these endpoints starts a new, mid-stream connection"
        )
    } else {
        format!(
            "the connection table was over its share of --memory-limit ({max_connections} connections): this one, idle longest, was released; a later packet of these endpoints starts a new, mid-stream connection"
        )
    }
}

/// The connection a segment belongs to, creating it (and retiring a finished one on the
/// same port pair) as Wireshark starts a new TCP stream. One table lookup.
#[allow(clippy::too_many_arguments)]
fn connection_for<'t>(
    table: &'t mut ConnMap<Box<Connection>>,
    next_conn: &mut ConnId,
    stats: &mut DissectStats,
    config: &DissectConfig,
    (key, src, dst): (FlowKey, SocketAddr, SocketAddr),
    flags: TcpFlags,
    packet: u64,
    sink: &mut dyn EventSink,
    (keys, tls_label): (&KeyLog, &mut SegmentLabel),
) -> io::Result<&'t mut Connection> {
    let new_syn = flags.has(TcpFlags::SYN) && !flags.has(TcpFlags::ACK);
    let conn = match table.entry(key) {
        Entry::Occupied(entry) => {
            let conn = entry.into_mut();
            if !(new_syn && conn.tcp.is_closed()) {
                return Ok(conn);
            }
            end_connection(conn, packet, &config.port_filter, (keys, tls_label), sink)?;
            **conn = Connection::new(*next_conn, src, dst, packet, &config.conn);
            conn
        }
        Entry::Vacant(entry) => entry.insert(Box::new(Connection::new(
            *next_conn,
            src,
            dst,
            packet,
            &config.conn,
        ))),
    };
    *next_conn += 1;
    stats.connections += 1;
    Ok(conn)
}

/// Nanoseconds as seconds: the same rounding as from i128, but without the slow 128-bit
/// conversion.
pub(crate) fn seconds(time_ns: i128) -> f64 {
    match i64::try_from(time_ns) {
        Ok(ns) => ns as f64 / 1e9,
        Err(_) => time_ns as f64 / 1e9,
    }
}

/// Whether a connection passes the `--port` filter.
fn is_visible(port_filter: &[u16], session: &Session) -> bool {
    port_filter.is_empty() || port_filter.iter().any(|p| session.has_port(*p))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::LinkType;
    use crate::flow::budget::MemoryBudget;

    /// Ethernet, IPv4 (RFC 791) and TCP (RFC 9293) headers, no options, then `payload`;
    /// 10.0.0.1:40000 is the client, 10.0.0.2:80 the server.
    fn segment(from_client: bool, seq: u32, ack: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let (src, dst, sport, dport) = if from_client {
            ([10, 0, 0, 1], [10, 0, 0, 2], 40000u16, 80u16)
        } else {
            ([10, 0, 0, 2], [10, 0, 0, 1], 80, 40000)
        };
        let mut b = vec![2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00];
        let total = (40 + payload.len()) as u16;
        b.extend_from_slice(&[0x45, 0]);
        b.extend_from_slice(&total.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0x40, 0, 64, 6, 0, 0]);
        b.extend_from_slice(&src);
        b.extend_from_slice(&dst);
        b.extend_from_slice(&sport.to_be_bytes());
        b.extend_from_slice(&dport.to_be_bytes());
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(&ack.to_be_bytes());
        b.extend_from_slice(&[0x50, flags, 0xff, 0xff, 0, 0, 0, 0]);
        b.extend_from_slice(payload);
        b
    }

    #[derive(Default)]
    struct Seen {
        evicted: Vec<Option<ConnId>>,
        /// Connection number of each TCP packet, in order.
        conns: Vec<ConnId>,
    }

    impl EventSink for Seen {
        fn event(&mut self, event: &Event<'_>) -> io::Result<()> {
            match event {
                Event::Anomaly(a) if a.kind == rules::CONNECTION_EVICTED => {
                    self.evicted.push(a.conn)
                }
                Event::Packet(p) => {
                    if let PacketBody::Tcp(t) = &p.body {
                        self.conns.push(t.conn)
                    }
                }
                _ => {}
            }
            Ok(())
        }
    }

    /// A handshake, then silence for 400 s, then data: past a 300 s idle timeout the
    /// connection is evicted (one note, on connection 0) and the late segment starts
    /// connection 1, mid-stream; with no timeout it stays connection 0.
    fn run(idle_timeout: f64) -> (Seen, DissectStats) {
        const SYN: u8 = 0x02;
        const ACK: u8 = 0x10;
        const PSH: u8 = 0x08;
        let packets = [
            (0, segment(true, 100, 0, SYN, &[])),
            (1, segment(false, 500, 101, SYN | ACK, &[])),
            (2, segment(true, 101, 501, ACK, &[])),
            (400_000, segment(true, 101, 501, PSH | ACK, b"x")),
        ];
        let mut dissector = Dissector::new(DissectConfig {
            budget: MemoryBudget {
                limit: 0,
                idle_timeout,
            },
            ..DissectConfig::default()
        });
        let mut seen = Seen::default();
        for (ms, data) in &packets {
            let raw = RawPacket {
                timestamp: Timestamp {
                    secs: 1_000 + ms / 1000,
                    nanos: (ms % 1000) as u32 * 1_000_000,
                },
                link_type: LinkType(1),
                data,
                original_len: data.len() as u32,
                block: None,
            };
            dissector.process(&raw, &mut seen).unwrap();
        }
        dissector.finish(&mut seen).unwrap();
        (seen, dissector.stats())
    }

    #[test]
    fn idle_connection_is_evicted_and_comes_back_as_a_new_one() {
        let (seen, stats) = run(300.0);
        assert_eq!(seen.evicted, [Some(0)]);
        assert_eq!(seen.conns, [0, 0, 0, 1]);
        assert_eq!((stats.connections, stats.evicted_idle), (2, 1));

        let (seen, stats) = run(0.0);
        assert!(seen.evicted.is_empty());
        assert_eq!(seen.conns, [0, 0, 0, 0]);
        assert_eq!((stats.connections, stats.evicted_idle), (1, 0));
    }
}
