//! The dissection spread over threads, sharded by connection, with output identical to the
//! one-thread run ([`crate::app::run`]).
//!
//! The reading thread reads each record, decodes its link, IP and TCP headers and keeps
//! what is global: packet numbers and times, the connection table's keys and numbering
//! (in order of first packet, as Wireshark's `tcp.stream`), the linger and eviction
//! queues, the statistics. It does this with a replica of each connection's FIN/RST
//! state, which is all that numbering and eviction depend on. Everything per connection
//! (reassembly, the analyzer chain, the rules) runs on the worker its endpoints hash to:
//! workers get the packets in batches and give back each job's events, owned
//! ([`owned::Owned`]). The reading thread takes them back in packet order through a bounded
//! [`order::Reorder`] buffer and hands them to the one event sink, exactly as the
//! one-thread run would have: every output, view, check report and exit status stays the
//! same. Memory stays bounded: at most [`MAX_IN_FLIGHT`] jobs are in flight.
//!
//! One difference: the memory budget's payload accounts are shared by the workers, so
//! when `--memory-limit` is small enough to cut a payload display, which one gets cut can
//! depend on timing (the connection-count eviction is decided by the reading thread and
//! stays exact).

pub mod order;
mod owned;
mod sample;

use crate::app::RunOutcome;
use crate::capture::{Block, LinkType, PacketSource, RawPacket, Timestamp};
use crate::dissect::{
    Connection, DissectConfig, DissectStats, Dissector, PacketHead, end_connection,
    evict_connection, eviction_message, seconds, tcp_segment,
};
use crate::event::{CaptureProblem, ConnId, Event, EventSink, PacketBody, WorkerPart};
use crate::flow::table::{ConnMap, FlowKey, Lingering};
use crate::session::http::PollingSessions;
use crate::tls::{KeyLog, SegmentLabel};
use crate::wire::{self, TcpFlags, Transport};
use order::Reorder;
use owned::{AsPartEvents, Collected, Owned, PacketAt, ThroughPart};
use std::collections::{HashMap, VecDeque};
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

/// Packets (and other jobs) per batch handed to the workers.
const ROUND_JOBS: usize = 2048;
/// Captured bytes per batch.
const ROUND_BYTES: usize = 512 << 10;
/// Jobs handed out and not yet rendered: two batches, so the workers dissect one while
/// the reading thread renders the other.
pub const MAX_IN_FLIGHT: usize = 2 * ROUND_JOBS + 1024;

/// The threads to use by default: one per available core.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// How many threads one capture's connections are spread over.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Threads {
    /// This many (`--threads`, or one where more would not pay).
    Exactly(usize),
    /// One per core, unless most of the capture's first bytes are in large packets: then
    /// one (src/shard/sample.rs says why).
    PerCore,
}

/// The threads to spread one capture's connections over: `requested` (`--threads`), or
/// by default one per core when `sink` has a worker part (its per-event work then runs on
/// those threads too) and `dissector` holds no payload for display, else one. Without a
/// part the reading thread renders every event, and the threads cost more than they
/// bring (README "Performance"). Payloads held for display draw on one budget shared by
/// all connections: once it is spent, which payload is cut depends on how far each
/// thread has got, so the output would no longer be the one-thread output.
pub fn threads_for(
    requested: Option<usize>,
    sink: &dyn EventSink,
    dissector: &Dissector,
) -> Threads {
    match requested {
        Some(n) => Threads::Exactly(n.max(1)),
        None if sink.worker_part().is_some() && !dissector.holds_payloads() => Threads::PerCore,
        None => Threads::Exactly(1),
    }
}

/// Reads every packet of `source` through `dissector` into `sink` as [`crate::app::run`]
/// does, with the per-connection work on `threads` worker threads (1: exactly
/// [`crate::app::run`], on this thread). The events reach `sink` in the same order, with
/// the same content, as with one thread.
pub fn run(
    source: &mut dyn PacketSource,
    dissector: Dissector,
    threads: Threads,
    sink: &mut dyn EventSink,
) -> io::Result<RunOutcome> {
    match threads {
        Threads::Exactly(n) => run_on(source, dissector, n, sink),
        Threads::PerCore if default_threads() <= 1 => run_on(source, dissector, 1, sink),
        Threads::PerCore => {
            let mut sampled = sample::Sampled::read(source);
            let n = if sampled.mostly_large() {
                1
            } else {
                default_threads()
            };
            run_on(&mut sampled, dissector, n, sink)
        }
    }
}

/// [`run`] on exactly `threads` threads.
fn run_on(
    source: &mut dyn PacketSource,
    dissector: Dissector,
    threads: usize,
    sink: &mut dyn EventSink,
) -> io::Result<RunOutcome> {
    if threads <= 1 {
        let mut dissector = dissector;
        return crate::app::run(source, &mut dissector, sink);
    }
    let (config, keys) = dissector.into_parts();
    let keys = Arc::new(keys);
    std::thread::scope(|scope| {
        let mut to_workers = Vec::new();
        let mut from_workers = Vec::new();
        let mut workers = Vec::new();
        let parted = sink.worker_part().is_some();
        for _ in 0..threads {
            let (job_tx, job_rx) = sync_channel::<Batch>(2);
            let (done_tx, done_rx) = sync_channel::<io::Result<Collected>>(2);
            let (config, keys) = (config.clone(), keys.clone());
            let part = sink.worker_part();
            // Built on its own thread: a connection's analyzers never cross threads.
            workers.push(scope.spawn(move || Worker::new(config, keys, part).run(job_rx, done_tx)));
            to_workers.push(job_tx);
            from_workers.push(done_rx);
        }
        let mut driver = Driver::new(config.clone(), (*keys).clone(), to_workers, from_workers);
        driver.parted = parted;
        let outcome = driver.drive(source, sink);
        // The driver's channels close: the workers see their inputs closed (or their
        // outputs gone), end, and give back their parts of the sink.
        drop(driver);
        let mut parts = Vec::new();
        for worker in workers {
            parts.push(
                worker
                    .join()
                    .map_err(|_| io::Error::other("a dissection thread failed"))?,
            );
        }
        let outcome = outcome?;
        for part in parts.into_iter().flatten() {
            sink.merge_part(part)?;
        }
        sink.finish()?;
        Ok(outcome)
    })
}

/// One unit of work for a worker.
#[derive(Debug)]
enum Job {
    /// A TCP packet of connection `conn` (created by it when `new`); `whole`: see
    /// [`WorkerPart::job`] (the first packet after an eviction).
    Packet {
        at: Slice,
        conn: ConnId,
        new: bool,
        whole: bool,
    },
    /// Evict connection `conn` at packet `packet`.
    Evict {
        conn: ConnId,
        packet: u64,
        message: String,
    },
    /// End connection `conn` at packet `packet` (end of capture).
    End { conn: ConnId, packet: u64 },
    /// Forget connection `conn` (released after its linger; nothing to report).
    Drop(ConnId),
    /// The TLS secrets known from the next job on.
    Keys(Arc<KeyLog>),
}

impl Job {
    /// Whether the job reports (has a place in the output order).
    fn reports(&self) -> bool {
        matches!(
            self,
            Job::Packet { .. } | Job::Evict { .. } | Job::End { .. }
        )
    }
}

/// A packet of a batch: where its bytes are in the batch's [`Bytes`], and its record's
/// fields.
#[derive(Debug, Clone, Copy)]
struct Slice {
    /// 0: [`Bytes::copied`]; `i + 1`: `Bytes::blocks[i]`.
    segment: u32,
    start: usize,
    end: usize,
    number: u64,
    timestamp: Timestamp,
    rel_time: f64,
    time_ns: i128,
    wire_len: u32,
    link_type: LinkType,
}

impl Slice {
    fn head<'a>(&self, bytes: &'a Bytes, addrs: Option<wire::NetAddrs>) -> PacketHead<'a> {
        let data = match self.segment.checked_sub(1) {
            None => bytes.copied.as_slice(),
            Some(i) => bytes
                .blocks
                .get(i as usize)
                .map_or(&[][..], |b| b.as_slice()),
        };
        PacketHead {
            number: self.number,
            timestamp: self.timestamp,
            rel_time: self.rel_time,
            time_ns: self.time_ns,
            wire_len: self.wire_len,
            addrs,
            data: data.get(self.start..self.end).unwrap_or_default(),
            link_type: self.link_type,
        }
    }
}

/// Jobs for one worker, with the packet bytes they refer to.
struct Batch {
    data: Arc<Bytes>,
    jobs: Vec<Job>,
}

/// The packet bytes of a batch: the source's buffers, held (the source writes no byte of
/// a held buffer), and a copy of the packets of sources that cannot share theirs.
/// Holding instead of copying took the reading thread's copy (20.7 M of its 25 M
/// instructions on large-20.pcap, 10 M of 113 M on small-20.pcap) out of `--threads`.
#[derive(Debug, Default)]
struct Bytes {
    copied: Vec<u8>,
    blocks: Vec<Arc<Block>>,
    /// Packet bytes referred to (held or copied).
    len: usize,
}

impl Bytes {
    /// Keeps `data`, from `block` when it lies there: where it is kept, for [`Slice`].
    fn keep(&mut self, data: &[u8], block: Option<&Arc<Block>>) -> (u32, usize) {
        self.len += data.len();
        if let Some(block) = block
            && let Some(offset) = (data.as_ptr() as usize).checked_sub(block.as_ptr() as usize)
            && block
                .get(offset..offset + data.len())
                .is_some_and(|within| std::ptr::eq(within.as_ptr(), data.as_ptr()))
        {
            if !self
                .blocks
                .last()
                .is_some_and(|last| Arc::ptr_eq(last, block))
            {
                self.blocks.push(block.clone());
            }
            return (self.blocks.len() as u32, offset);
        }
        let start = self.copied.len();
        self.copied.extend_from_slice(data);
        (0, start)
    }
}

/// A worker: the connections whose endpoints hash to it.
struct Worker {
    config: DissectConfig,
    keys: Arc<KeyLog>,
    connections: HashMap<ConnId, Box<Connection>, foldhash::fast::RandomState>,
    tls_label: SegmentLabel,
    /// The sink's work done here, if it has such a part.
    part: Option<Box<dyn WorkerPart>>,
}

impl Worker {
    fn new(
        mut config: DissectConfig,
        keys: Arc<KeyLog>,
        part: Option<Box<dyn WorkerPart>>,
    ) -> Self {
        // Polling bodies of Engine.IO sessions that span connections are decoded by the
        // reading thread, in packet order (see `PollingSessions`).
        config.conn.polling = PollingSessions::deferred();
        Worker {
            config,
            keys,
            connections: HashMap::default(),
            tls_label: SegmentLabel::new(),
            part,
        }
    }

    /// Works until the reading thread closes its channels; gives back the sink's part.
    fn run(
        mut self,
        jobs: Receiver<Batch>,
        done: SyncSender<io::Result<Collected>>,
    ) -> Option<Box<dyn WorkerPart>> {
        let mut size = (0, 0, 0);
        while let Ok(batch) = jobs.recv() {
            // Room for what the last batch held: no regrowing, no copying.
            let mut out = Collected::like(size);
            out.polls = Some(self.config.conn.polling.clone());
            let result = batch
                .jobs
                .into_iter()
                .try_for_each(|job| self.job(job, &batch.data, &mut out))
                .map(|()| {
                    size = out.size();
                    out
                });
            if done.send(result).is_err() {
                break;
            }
        }
        self.part
    }

    fn job(&mut self, job: Job, data: &Bytes, out: &mut Collected) -> io::Result<()> {
        let reports = job.reports();
        if let Some(part) = self.part.as_deref_mut() {
            part.job(match &job {
                Job::Packet { whole, .. } => *whole,
                Job::Evict { .. } | Job::End { .. } => true,
                Job::Drop(_) | Job::Keys(_) => false,
            });
        }
        let port_filter = &self.config.port_filter;
        let keys = &*self.keys;
        let label = &mut self.tls_label;
        let mut through;
        let sink: &mut dyn EventSink = match self.part.as_deref_mut() {
            Some(part) => {
                through = ThroughPart {
                    part,
                    out: &mut *out,
                };
                &mut through
            }
            None => &mut *out,
        };
        match job {
            Job::Packet { at, conn, new, .. } => {
                let head = at.head(data, None);
                let packet = wire::decode(head.link_type, head.data);
                if let (Transport::Tcp(seg), Some(addrs)) = (&packet.transport, packet.addrs) {
                    let src = SocketAddr::new(addrs.src, seg.src_port);
                    let dst = SocketAddr::new(addrs.dst, seg.dst_port);
                    if new {
                        self.connections.insert(
                            conn,
                            Box::new(Connection::new(
                                conn,
                                src,
                                dst,
                                head.number,
                                &self.config.conn,
                            )),
                        );
                    }
                    if let Some(c) = self.connections.get_mut(&conn) {
                        let head = at.head(data, packet.addrs);
                        tcp_segment(c, &head, seg, src, port_filter, (keys, label), sink)?;
                    }
                }
            }
            Job::Evict {
                conn,
                packet,
                message,
            } => {
                if let Some(mut c) = self.connections.remove(&conn) {
                    evict_connection(&mut c, packet, message, port_filter, (keys, label), sink)?;
                }
            }
            Job::End { conn, packet } => {
                if let Some(mut c) = self.connections.remove(&conn) {
                    end_connection(&mut c, packet, port_filter, (keys, label), sink)?;
                }
            }
            Job::Drop(conn) => {
                self.connections.remove(&conn);
            }
            Job::Keys(new) => self.keys = new,
        }
        if reports {
            out.end_job();
        }
        Ok(())
    }
}

/// What the reading thread knows of a connection: enough to number connections and
/// evict them exactly as the one-thread dissector does.
#[derive(Debug)]
struct Tracked {
    id: ConnId,
    /// Its first sender (side 0).
    first: SocketAddr,
    fin: [bool; 2],
    reset: bool,
    /// Capture time of its last packet (as [`crate::flow::tcp::TcpConnection`] keeps it).
    last_time: f64,
    release_scheduled: bool,
    worker: usize,
}

impl Tracked {
    /// FIN both ways, or RST: closed, and so already ended (reported).
    fn closed(&self) -> bool {
        self.reset || (self.fin[0] && self.fin[1])
    }
}

/// Where the next output comes from, in order.
enum Slot {
    /// A worker's job; `packet` for a packet (the round and the slice).
    Worker(Option<(u64, Slice)>),
    /// A packet the reading thread lists itself (not TCP).
    Local(u64, Slice),
}

/// What a lane delivers to the reorder buffer.
enum Out {
    Job(Rc<Collected>, usize),
    Local,
}

/// The reading thread: the global state, the batches being filled, the reorder buffer.
struct Driver {
    config: DissectConfig,
    keys: KeyLog,
    table: ConnMap<Tracked>,
    next_conn: ConnId,
    stats: DissectStats,
    first_timestamp: Option<Timestamp>,
    lingering: Lingering,
    recency: VecDeque<(f64, FlowKey, ConnId)>,
    max_connections: usize,
    to_workers: Vec<SyncSender<Batch>>,
    from_workers: Vec<Receiver<io::Result<Collected>>>,
    /// The batch being filled: its bytes and each worker's jobs.
    data: Bytes,
    jobs: Vec<Vec<Job>>,
    round: u64,
    /// Batches handed out and not fully rendered: (round, bytes).
    rounds: VecDeque<(u64, Arc<Bytes>)>,
    /// Each output in order: where it comes from.
    slots: VecDeque<Slot>,
    reorder: Reorder<Out>,
    /// Jobs in the batch being filled that report.
    filling: usize,
    /// Batches handed to each worker whose results were not taken yet.
    outstanding: Vec<usize>,
    /// The sink has worker parts: what workers collected goes to it as part events.
    parted: bool,
    /// A connection was evicted: the next packet's job is whole ([`WorkerPart::job`]).
    whole_next: bool,
}

impl Driver {
    fn new(
        config: DissectConfig,
        keys: KeyLog,
        to_workers: Vec<SyncSender<Batch>>,
        from_workers: Vec<Receiver<io::Result<Collected>>>,
    ) -> Self {
        let workers = to_workers.len();
        Driver {
            max_connections: config.budget.max_connections(),
            config,
            keys,
            table: ConnMap::default(),
            next_conn: 0,
            stats: DissectStats::default(),
            first_timestamp: None,
            lingering: Lingering::default(),
            recency: VecDeque::new(),
            to_workers,
            from_workers,
            data: Bytes::default(),
            jobs: (0..workers).map(|_| Vec::new()).collect(),
            round: 0,
            rounds: VecDeque::new(),
            slots: VecDeque::new(),
            // Lane `workers` is the reading thread's own (packets that are not TCP).
            reorder: Reorder::new(workers + 1, MAX_IN_FLIGHT),
            filling: 0,
            outstanding: vec![0; workers],
            parted: false,
            whole_next: false,
        }
    }

    fn workers(&self) -> usize {
        self.to_workers.len()
    }

    /// The whole run: as [`crate::app::run`].
    fn drive(
        &mut self,
        source: &mut dyn PacketSource,
        sink: &mut dyn EventSink,
    ) -> io::Result<RunOutcome> {
        let mut packets = 0u64;
        let mut error = None;
        loop {
            match source.next_packet() {
                Ok(Some(packet)) => {
                    packets += 1;
                    self.packet(&packet, sink)?;
                    if let Some(secrets) = source.take_secrets() {
                        self.add_keys(&secrets);
                    }
                    if !source.has_next_buffered() {
                        // Waiting for input: everything so far goes out now.
                        self.render_all(sink)?;
                        sink.flush()?;
                    } else if self.filling >= ROUND_JOBS || self.data.len >= ROUND_BYTES {
                        let handed = self.filling;
                        self.dispatch()?;
                        // The workers dissect this batch while the one before is rendered:
                        // at most two batches per worker are ever out, so neither side
                        // waits on a full channel for the other (a batch of a few large
                        // packets holds few jobs: counting jobs alone would let batches
                        // pile up).
                        self.render_until(handed, sink)?;
                    }
                }
                Ok(None) => {
                    if let Some(secrets) = source.take_secrets() {
                        self.add_keys(&secrets);
                    }
                    break;
                }
                Err(e) => {
                    self.render_all(sink)?;
                    let problem = CaptureProblem {
                        packets_read: packets,
                        message: e.to_string(),
                    };
                    sink.event(&Event::CaptureError(&problem))?;
                    error = Some(e);
                    break;
                }
            }
        }
        self.finish(sink)?;
        self.render_all(sink)?;
        Ok(RunOutcome {
            packets,
            error,
            stats: self.stats,
        })
    }

    /// Learns TLS secrets: every worker uses them from its next job on.
    fn add_keys(&mut self, secrets: &[u8]) {
        self.keys.add_bytes(secrets);
        let keys = Arc::new(self.keys.clone());
        for jobs in &mut self.jobs {
            jobs.push(Job::Keys(keys.clone()));
        }
    }

    /// Adds a job for `worker` (with its place in the output order when it reports),
    /// rendering first when the reorder buffer is full.
    fn push(
        &mut self,
        worker: usize,
        job: Job,
        slot: Slot,
        sink: &mut dyn EventSink,
    ) -> io::Result<()> {
        if job.reports() {
            if self.reorder.in_flight() >= MAX_IN_FLIGHT {
                self.render_all(sink)?;
            }
            self.reorder.assign(worker);
            self.slots.push_back(slot);
            self.filling += 1;
        }
        if let Some(jobs) = self.jobs.get_mut(worker) {
            jobs.push(job);
        }
        Ok(())
    }

    /// A packet the reading thread lists itself.
    fn push_local(&mut self, at: Slice, sink: &mut dyn EventSink) -> io::Result<()> {
        if self.reorder.in_flight() >= MAX_IN_FLIGHT {
            self.render_all(sink)?;
        }
        let lane = self.workers();
        self.reorder.assign(lane);
        self.reorder.deliver(lane, Out::Local);
        self.slots.push_back(Slot::Local(self.round, at));
        Ok(())
    }

    /// Hands the batch being filled to the workers.
    fn dispatch(&mut self) -> io::Result<()> {
        let room = self.data.copied.capacity();
        let data = Arc::new(std::mem::replace(
            &mut self.data,
            Bytes {
                copied: Vec::with_capacity(room),
                ..Bytes::default()
            },
        ));
        self.rounds.push_back((self.round, data.clone()));
        for worker in 0..self.workers() {
            let Some(jobs) = self.jobs.get_mut(worker) else {
                continue;
            };
            if jobs.is_empty() {
                continue;
            }
            let room = jobs.len();
            let batch = Batch {
                data: data.clone(),
                jobs: std::mem::replace(jobs, Vec::with_capacity(room)),
            };
            // At most two batches out per worker: its channels (two places each way)
            // never fill, so neither side can wait on the other for ever.
            while self.outstanding.get(worker).is_some_and(|n| *n >= 2) {
                self.receive(worker)?;
            }
            self.to_workers
                .get(worker)
                .ok_or_else(|| io::Error::other("no such dissection thread"))?
                .send(batch)
                .map_err(|_| io::Error::other("a dissection thread ended early"))?;
            if let Some(n) = self.outstanding.get_mut(worker) {
                *n += 1;
            }
        }
        self.round += 1;
        self.filling = 0;
        Ok(())
    }

    /// Dispatches what is being filled and renders everything.
    fn render_all(&mut self, sink: &mut dyn EventSink) -> io::Result<()> {
        self.dispatch()?;
        self.render_until(0, sink)
    }

    /// Renders, in order, until at most `left` outputs are in flight.
    fn render_until(&mut self, left: usize, sink: &mut dyn EventSink) -> io::Result<()> {
        while self.reorder.in_flight() > left {
            if let Some(lane) = self.reorder.waiting_on() {
                self.receive(lane)?;
                continue;
            }
            let Some((_, out)) = self.reorder.pop() else {
                break;
            };
            let Some(slot) = self.slots.pop_front() else {
                break;
            };
            self.render(slot, out, sink)?;
        }
        // Batches no output refers to any more are released.
        let oldest = self
            .slots
            .iter()
            .find_map(|s| match s {
                Slot::Worker(Some((round, _))) | Slot::Local(round, _) => Some(*round),
                Slot::Worker(None) => None,
            })
            .unwrap_or(self.round);
        while self
            .rounds
            .front()
            .is_some_and(|(round, _)| *round < oldest)
        {
            self.rounds.pop_front();
        }
        Ok(())
    }

    /// Takes worker `worker`'s oldest batch of results into the reorder buffer (waiting
    /// for it).
    fn receive(&mut self, worker: usize) -> io::Result<()> {
        let receiver = self
            .from_workers
            .get(worker)
            .ok_or_else(|| io::Error::other("no such dissection thread"))?;
        let collected = receiver
            .recv()
            .map_err(|_| io::Error::other("a dissection thread ended early"))??;
        if let Some(n) = self.outstanding.get_mut(worker) {
            *n = n.saturating_sub(1);
        }
        let collected = Rc::new(collected);
        for i in 0..collected.ends.len() {
            self.reorder.deliver(worker, Out::Job(collected.clone(), i));
        }
        Ok(())
    }

    fn round_data(&self, round: u64) -> &Bytes {
        const NONE: &Bytes = &Bytes {
            copied: Vec::new(),
            blocks: Vec::new(),
            len: 0,
        };
        self.rounds
            .iter()
            .find(|(r, _)| *r == round)
            .map_or(NONE, |(_, data)| data)
    }

    fn render(&self, slot: Slot, out: Out, sink: &mut dyn EventSink) -> io::Result<()> {
        match (slot, out) {
            (Slot::Local(round, at), _) => {
                let data = self.round_data(round);
                let head = at.head(data, None);
                let packet = wire::decode(head.link_type, head.data);
                if let Transport::Other(other) = &packet.transport {
                    let head = at.head(data, packet.addrs);
                    sink.event(&Event::Packet(&head.record(PacketBody::Other(other))))?;
                }
                Ok(())
            }
            (Slot::Worker(packet), Out::Job(collected, i)) => {
                let events = collected.job(i);
                if events.is_empty() {
                    // Nothing to show (a worker part kept it all): no need to decode the
                    // packet again.
                    return Ok(());
                }
                let mut as_part;
                let sink: &mut dyn EventSink = if self.parted {
                    as_part = AsPartEvents(sink);
                    &mut as_part
                } else {
                    sink
                };
                let data;
                let decoded;
                // Only a packet record needs its packet decoded again (a worker part's
                // bytes do not: the messages view's reading thread, 140 M -> 121 M instructions).
                let wanted =
                    packet.filter(|_| events.iter().any(|e| matches!(e, Owned::Packet(_))));
                let at = match wanted {
                    Some((round, at)) => {
                        data = self.round_data(round);
                        let head = at.head(data, None);
                        decoded = wire::decode(head.link_type, head.data);
                        let segment = match &decoded.transport {
                            Transport::Tcp(seg) => Some(*seg),
                            Transport::Other(_) => None,
                        };
                        Some(PacketAt {
                            head: at.head(data, decoded.addrs),
                            segment,
                        })
                    }
                    None => None,
                };
                for event in events {
                    event.emit(&collected, at.as_ref(), &self.config.conn.polling, sink)?;
                }
                Ok(())
            }
            (Slot::Worker(_), Out::Local) => Ok(()),
        }
    }

    /// The next packet: the global bookkeeping of [`Dissector::process`], the
    /// per-connection work handed to a worker.
    fn packet(&mut self, raw: &RawPacket<'_>, sink: &mut dyn EventSink) -> io::Result<()> {
        self.stats.packets += 1;
        self.stats.bytes += raw.data.len() as u64;
        let number = self.stats.packets;
        let first = *self.first_timestamp.get_or_insert(raw.timestamp);
        let time_ns = raw.timestamp.nanos_since(first);
        let rel_time = seconds(time_ns);
        let mut released = Vec::new();
        self.lingering
            .release(rel_time, &mut self.table, |c| c.id, |c| released.push(c));
        for c in released {
            self.push(c.worker, Job::Drop(c.id), Slot::Worker(None), sink)?;
        }
        self.evict(number, rel_time, sink)?;
        let packet = wire::decode(raw.link_type, raw.data);
        if self.reorder.in_flight() >= MAX_IN_FLIGHT {
            // Room for this packet's output before its bytes join the batch.
            self.render_all(sink)?;
        }
        // Where its bytes are is set when they are kept.
        let mut at = Slice {
            segment: 0,
            start: 0,
            end: 0,
            number,
            timestamp: raw.timestamp,
            rel_time,
            time_ns,
            wire_len: raw.original_len,
            link_type: raw.link_type,
        };
        match (&packet.transport, packet.addrs) {
            (Transport::Tcp(seg), Some(addrs)) => {
                let src = SocketAddr::new(addrs.src, seg.src_port);
                let dst = SocketAddr::new(addrs.dst, seg.dst_port);
                let key = FlowKey::new(src, dst);
                let flags = seg.flags;
                let new_syn = flags.has(TcpFlags::SYN) && !flags.has(TcpFlags::ACK);
                let id = self.next_conn;
                let workers = self.workers() as u64;
                let fresh = |worker| Tracked {
                    id,
                    first: src,
                    fin: [false; 2],
                    reset: false,
                    last_time: 0.0,
                    release_scheduled: false,
                    worker,
                };
                let mut replaced = None;
                // One table lookup per packet; the worker is hashed once per connection.
                let conn = match self.table.entry(key) {
                    std::collections::hash_map::Entry::Occupied(entry) => {
                        let conn = entry.into_mut();
                        if new_syn && conn.closed() {
                            // Closed, so ended already: a new connection takes the key.
                            replaced = Some(conn.id);
                            *conn = fresh(conn.worker);
                        }
                        conn
                    }
                    std::collections::hash_map::Entry::Vacant(entry) => {
                        // Connections are dealt out in turn: a hash of the key left one
                        // worker with 40% more work than the other on small-20.pcap's 64
                        // connections (callgrind: 175 M vs 127 M instructions).
                        entry.insert(fresh((u64::from(id) % workers) as usize))
                    }
                };
                let new = conn.id == id;
                let side = usize::from(src != conn.first);
                conn.last_time = time_ns as f64 / 1e9;
                if flags.has(TcpFlags::FIN) {
                    conn.fin[side] = true;
                }
                if flags.has(TcpFlags::RST) {
                    conn.reset = true;
                }
                let conn_id = conn.id;
                let worker = conn.worker;
                let schedule_release = conn.closed() && !conn.release_scheduled;
                conn.release_scheduled |= schedule_release;
                if schedule_release {
                    self.lingering.closed(rel_time, key, conn_id);
                }
                if let Some(old) = replaced {
                    self.push(worker, Job::Drop(old), Slot::Worker(None), sink)?;
                }
                if new {
                    self.next_conn += 1;
                    self.stats.connections += 1;
                    self.recency.push_back((rel_time, key, id));
                }
                (at.segment, at.start) = self.data.keep(raw.data, raw.block);
                at.end = at.start + raw.data.len();
                let job = Job::Packet {
                    at,
                    conn: conn_id,
                    new,
                    whole: std::mem::take(&mut self.whole_next),
                };
                self.push(worker, job, Slot::Worker(Some((self.round, at))), sink)?;
            }
            (Transport::Other(_), _) => {
                if self.config.port_filter.is_empty() {
                    (at.segment, at.start) = self.data.keep(raw.data, raw.block);
                    at.end = at.start + raw.data.len();
                    self.push_local(at, sink)?;
                }
            }
            // A TCP segment always comes with addresses; nothing to follow without them.
            (Transport::Tcp(_), None) => {}
        }
        Ok(())
    }

    /// [`Dissector`]'s eviction, decided here, carried out by the connection's worker.
    fn evict(&mut self, packet: u64, now: f64, sink: &mut dyn EventSink) -> io::Result<()> {
        let idle = self.config.budget.idle_timeout;
        while let Some(&(queued, key, id)) = self.recency.front() {
            let over = self.table.len() > self.max_connections;
            let timed_out = idle > 0.0 && now - queued > idle;
            let current = self
                .table
                .get(&key)
                .filter(|c| c.id == id)
                .map(|c| c.last_time);
            if current.is_some() && !over && !timed_out {
                break;
            }
            self.recency.pop_front();
            let Some(last) = current else {
                continue;
            };
            if last > queued {
                self.recency.push_back((last, key, id));
                continue;
            }
            let Some(conn) = self.table.remove(&key) else {
                continue;
            };
            if conn.closed() {
                self.push(conn.worker, Job::Drop(id), Slot::Worker(None), sink)?;
                continue;
            }
            if timed_out {
                self.stats.evicted_idle += 1;
            } else {
                self.stats.evicted_budget += 1;
            }
            let message = eviction_message(timed_out, now - last, idle, self.max_connections);
            let job = Job::Evict {
                conn: id,
                packet,
                message,
            };
            self.whole_next = true;
            self.push(conn.worker, job, Slot::Worker(None), sink)?;
        }
        if self.recency.len() > 2 * self.table.len() + 1024 {
            let table = &self.table;
            self.recency
                .retain(|(_, key, id)| table.get(key).is_some_and(|c| c.id == *id));
        }
        Ok(())
    }

    /// The capture ended: every connection still open is ended, in connection order.
    fn finish(&mut self, sink: &mut dyn EventSink) -> io::Result<()> {
        let last = self.stats.packets;
        let mut conns: Vec<Tracked> = self.table.drain().map(|(_, c)| c).collect();
        conns.sort_by_key(|c| c.id);
        for conn in conns {
            let job = if conn.closed() {
                Job::Drop(conn.id)
            } else {
                Job::End {
                    conn: conn.id,
                    packet: last,
                }
            };
            self.push(conn.worker, job, Slot::Worker(None), sink)?;
        }
        Ok(())
    }
}
