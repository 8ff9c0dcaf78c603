//! Live capture through libpcap (cargo feature `live`): an interface opened in immediate
//! mode with a BPF filter, read as a [`PacketSource`] so the rest of the pipeline is the
//! one `read` uses, and optionally saved to a pcap or pcapng file as it goes.
//!
//! A capture thread reads from libpcap, writes the save file itself and hands packets to
//! the dissector through a queue bounded in bytes ([`LiveConfig::queue_bytes`]): a slow
//! consumer (a terminal or pipe not read for a while) costs queue space, then packets that
//! do not fit are counted as dropped ([`LiveStats::queue_dropped`]; the save file still has
//! them), but the kernel buffer keeps being emptied. When the capture stops, what is
//! already queued is still delivered before the end.
//!
//! Stopping: a read blocked in libpcap is woken by `pcap_breakloop` (a [`Stopper`] for
//! Ctrl-C, a timer thread for the duration), and libpcap's read timeout brings it back every
//! [`READ_TIMEOUT_MS`] where the platform honours it without traffic (BSD/macOS; Linux only
//! starts the timer once a packet has arrived). After either, the loop looks at the stop
//! conditions again.

use super::writer::{InterfaceDescription, PcapngWriter, Resolution};
use super::{CaptureError, LinkType, PacketSource, RawPacket, Timestamp};
use std::collections::VecDeque;
use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Stops a running [`LiveSource`] from another thread (a Ctrl-C handler): the source's
/// `next_packet` returns `Ok(None)` soon after, even while waiting for traffic.
pub struct Stopper {
    flag: Arc<AtomicBool>,
    breaker: Arc<pcap::BreakLoop>,
}

impl Stopper {
    /// Asks the capture to stop; returns whether it had been asked before.
    pub fn stop(&self) -> bool {
        let before = self.flag.swap(true, Ordering::SeqCst);
        self.breaker.breakloop();
        before
    }
}

/// Bytes kept per packet: more than a loopback MTU (65536) plus link headers, so whole
/// packets are kept (tcpdump's default).
pub const SNAPLEN: u32 = 262_144;

/// Default kernel capture buffer: 32 MiB. On Linux each packet takes a ring slot sized for
/// the interface MTU (64 KiB on loopback), and loopback packets are seen twice (outgoing and
/// incoming copies), so libpcap's 2 MB default holds only about fifteen packets and a
/// burst of large WebSocket messages overflows it.
pub const DEFAULT_BUFFER_SIZE: u32 = 32 << 20;

/// libpcap read timeout: how often the capture loop looks at the stop conditions when no
/// packet arrives, where libpcap honours it. Immediate mode delivers packets as soon as they
/// arrive regardless.
pub const READ_TIMEOUT_MS: i32 = 100;

/// What to capture and when to stop.
#[derive(Debug, Clone, Default)]
pub struct LiveConfig {
    /// Interface name; `None` = the loopback interface ([`default_interface`]).
    pub interface: Option<String>,
    /// BPF filter expression (libpcap syntax); `None` = every packet.
    pub filter: Option<String>,
    /// Stop after this many packets.
    pub count: Option<u64>,
    /// Stop after this much time.
    pub duration: Option<Duration>,
    /// Also save the raw packets here: pcapng when the name ends in `.pcapng`, else pcap.
    pub save: Option<PathBuf>,
    /// Kernel capture buffer in bytes; `None` = [`DEFAULT_BUFFER_SIZE`].
    pub buffer_size: Option<u32>,
    /// Bytes of captured packets queued for the dissector; 0 = [`DEFAULT_QUEUE_BYTES`].
    pub queue_bytes: usize,
}

/// Default queue between the capture thread and the dissector: 64 MiB, about a thousand
/// loopback packets of 64 KiB or half a million small ones.
pub const DEFAULT_QUEUE_BYTES: usize = 64 << 20;

/// Bytes a queued packet is counted for beyond its data (its header and bookkeeping).
const QUEUED_OVERHEAD: usize = 64;

/// Why a live capture stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    /// The stop flag was raised (Ctrl-C).
    Interrupted,
    /// The packet count was reached.
    Count,
    /// The duration ran out.
    Duration,
}

/// Packet counters as libpcap reports them (see pcap_stats(3PCAP) for what each platform
/// counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LiveStats {
    /// Packets received (on Linux: packets that passed the filter).
    pub received: u64,
    /// Packets dropped because the capture buffer was full.
    pub dropped: u64,
    /// Packets dropped by the interface or its driver.
    pub if_dropped: u64,
    /// Packets captured (and saved) that the dissector's queue had no room for.
    pub queue_dropped: u64,
}

/// An interface libpcap can capture on.
#[derive(Debug, Clone)]
pub struct Interface {
    /// Name to pass to `-i`.
    pub name: String,
    /// libpcap's description, when it has one.
    pub description: Option<String>,
    /// A loopback interface.
    pub loopback: bool,
    /// Administratively up.
    pub up: bool,
    /// Running (operationally up).
    pub running: bool,
    /// Its IP addresses.
    pub addresses: Vec<IpAddr>,
}

/// Why a live capture could not start.
#[derive(Debug, Clone)]
pub enum LiveError {
    /// The process may not capture on this interface.
    NoPermission {
        /// The interface.
        interface: String,
        /// libpcap's message.
        detail: String,
    },
    /// The interface does not exist.
    NoSuchInterface {
        /// The name asked for.
        name: String,
        /// The interfaces that do exist.
        available: Vec<String>,
    },
    /// No interface has the loopback flag.
    NoLoopback {
        /// The interfaces that do exist.
        available: Vec<String>,
    },
    /// libpcap could not compile or install the filter.
    BadFilter {
        /// The expression.
        filter: String,
        /// libpcap's message.
        detail: String,
    },
    /// The file for the saved packets could not be created.
    Save {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// Any other libpcap failure.
    Pcap {
        /// What was being done.
        context: String,
        /// libpcap's message.
        detail: String,
    },
}

impl fmt::Display for LiveError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LiveError::NoPermission { interface, detail } => write!(
                f,
                "no permission to capture on {interface} (libpcap: {detail})"
            ),
            LiveError::NoSuchInterface { name, available } => write!(
                f,
                "no such interface: {name} (available: {})",
                names(available)
            ),
            LiveError::NoLoopback { available } => write!(
                f,
                "no loopback interface found (available: {})",
                names(available)
            ),
            LiveError::BadFilter { filter, detail } => {
                write!(f, "bad capture filter \"{filter}\": {detail}")
            }
            LiveError::Save { path, detail } => {
                write!(f, "cannot save packets to {}: {detail}", path.display())
            }
            LiveError::Pcap { context, detail } => write!(f, "{context}: {detail}"),
        }
    }
}

impl std::error::Error for LiveError {}

fn names(list: &[String]) -> String {
    if list.is_empty() {
        "none".to_string()
    } else {
        list.join(", ")
    }
}

/// libpcap's own message, without the crate's "libpcap error: " prefix.
fn pcap_detail(e: &pcap::Error) -> String {
    match e {
        pcap::Error::PcapError(message) => message.clone(),
        other => other.to_string(),
    }
}

/// Whether libpcap's message for a failed activation means "not allowed" (Linux: EPERM on
/// the packet socket; BSD/macOS: EACCES on /dev/bpf*).
fn is_permission_error(detail: &str) -> bool {
    let lower = detail.to_ascii_lowercase();
    lower.contains("permission") || lower.contains("not permitted")
}

/// Whether libpcap's message for a failed activation means "no such interface".
fn is_no_such_device(detail: &str) -> bool {
    let lower = detail.to_ascii_lowercase();
    lower.contains("no such device")
}

/// The interfaces libpcap can capture on, in its order.
pub fn interfaces() -> Result<Vec<Interface>, LiveError> {
    let devices = pcap::Device::list().map_err(|e| LiveError::Pcap {
        context: "listing interfaces".to_string(),
        detail: pcap_detail(&e),
    })?;
    Ok(devices
        .into_iter()
        .map(|d| Interface {
            loopback: d.flags.is_loopback(),
            up: d.flags.is_up(),
            running: d.flags.is_running(),
            addresses: d.addresses.iter().map(|a| a.addr).collect(),
            name: d.name,
            description: d.desc,
        })
        .collect())
}

/// The loopback interface (`lo` on Linux, `lo0` on macOS/BSD), as libpcap flags it.
pub fn default_interface() -> Result<String, LiveError> {
    let all = interfaces()?;
    match all.iter().find(|i| i.loopback) {
        Some(lo) => Ok(lo.name.clone()),
        None => Err(LiveError::NoLoopback {
            available: all.into_iter().map(|i| i.name).collect(),
        }),
    }
}

/// How the packets are saved.
enum Saver {
    /// Classic pcap, written by libpcap itself.
    Pcap(pcap::Savefile),
    /// pcapng, written by [`PcapngWriter`].
    Pcapng(PcapngWriter<BufWriter<File>>),
}

/// Whether `path` names a pcapng file (by its extension, case-insensitively).
pub fn is_pcapng_path(path: &Path) -> bool {
    path.extension()
        .is_some_and(|ext| ext.eq_ignore_ascii_case("pcapng"))
}

/// A running live capture.
pub struct LiveSource {
    interface: String,
    filter: Option<String>,
    link_type: LinkType,
    stop: Arc<AtomicBool>,
    breaker: Arc<pcap::BreakLoop>,
    started: Instant,
    delivered: u64,
    channel: Arc<Channel>,
    thread: Option<std::thread::JoinHandle<()>>,
    /// What the capture thread said when it ended, once it has.
    finish: Option<Finish>,
    error_reported: bool,
    /// The current packet, taken from the queue.
    current: Queued,
}

/// A packet on its way from the capture thread to the dissector.
#[derive(Default)]
struct Queued {
    timestamp: Timestamp,
    original_len: u32,
    data: Vec<u8>,
}

/// What the capture thread reports when it ends.
#[derive(Clone)]
struct Finish {
    reason: Option<StopReason>,
    ran_for: Duration,
    error: Option<String>,
    stats: Result<LiveStats, LiveError>,
}

/// The queue and the capture thread's counters, shared with the dissector's side.
#[derive(Default)]
struct Shared {
    queue: VecDeque<Queued>,
    bytes: usize,
    dropped: u64,
    finish: Option<Finish>,
}

struct Channel {
    shared: Mutex<Shared>,
    ready: Condvar,
}

impl Channel {
    fn lock(&self) -> std::sync::MutexGuard<'_, Shared> {
        // A panic in the other thread leaves the queue usable: take it anyway.
        self.shared.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// How long a capture stopped by Ctrl-C keeps taking what the kernel had already captured
/// (it is there at once; the wait only bounds a read that finds nothing).
const DRAIN_TIME: Duration = Duration::from_millis(300);

/// Saves one captured packet (`-w`) and queues it for the dissector (or counts it as
/// dropped when the queue is full); an error says what failed.
fn take_packet(
    save: &mut Option<(Saver, PathBuf)>,
    link_type: LinkType,
    channel: &Channel,
    queue_limit: usize,
    packet: &pcap::Packet<'_>,
) -> Result<(), String> {
    if let Some((saver, path)) = save {
        let saved = match saver {
            Saver::Pcap(file) => {
                file.write(packet);
                file.flush().map_err(|e| pcap_detail(&e))
            }
            Saver::Pcapng(writer) => {
                let raw = RawPacket {
                    timestamp: timestamp_of(packet.header),
                    link_type,
                    data: packet.data,
                    original_len: packet.header.len,
                    block: None,
                };
                writer
                    .write_packet(&raw)
                    .and_then(|()| writer.flush())
                    .map_err(|e: io::Error| e.to_string())
            }
        };
        if let Err(detail) = saved {
            return Err(format!("saving packets to {}: {detail}", path.display()));
        }
    }
    let cost = packet.data.len() + QUEUED_OVERHEAD;
    let mut shared = channel.lock();
    // An empty queue takes any packet, so one larger than the limit passes.
    if shared.queue.is_empty() || shared.bytes + cost <= queue_limit {
        shared.bytes += cost;
        shared.queue.push_back(Queued {
            timestamp: timestamp_of(packet.header),
            original_len: packet.header.len,
            data: packet.data.to_vec(),
        });
        drop(shared);
        channel.ready.notify_one();
    } else {
        shared.dropped += 1;
    }
    Ok(())
}

/// The capture thread's side.
struct Capturer {
    cap: pcap::Capture<pcap::Active>,
    interface: String,
    link_type: LinkType,
    stop: Arc<AtomicBool>,
    count: Option<u64>,
    deadline: Option<Instant>,
    started: Instant,
    save: Option<(Saver, PathBuf)>,
    queue_limit: usize,
    channel: Arc<Channel>,
}

impl Capturer {
    /// The stop condition that holds now, if any.
    fn should_stop(&self, captured: u64) -> Option<StopReason> {
        if self.stop.load(Ordering::Relaxed) {
            Some(StopReason::Interrupted)
        } else if self.count.is_some_and(|n| captured >= n) {
            Some(StopReason::Count)
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Some(StopReason::Duration)
        } else {
            None
        }
    }

    fn run(mut self) {
        let mut captured = 0u64;
        let (reason, mut error) = loop {
            if let Some(reason) = self.should_stop(captured) {
                break (Some(reason), None);
            }
            match self.cap.next_packet() {
                Ok(packet) => {
                    if let Err(e) = take_packet(
                        &mut self.save,
                        self.link_type,
                        &self.channel,
                        self.queue_limit,
                        &packet,
                    ) {
                        break (None, Some(e));
                    }
                    captured += 1;
                }
                // No packet within the read timeout, or woken by pcap_breakloop (which the
                // pcap crate reports as NoMorePackets): look at the stop conditions again.
                Err(pcap::Error::TimeoutExpired | pcap::Error::NoMorePackets) => continue,
                Err(e) => {
                    break (
                        None,
                        Some(format!(
                            "reading from {}: {}",
                            self.interface,
                            pcap_detail(&e)
                        )),
                    );
                }
            }
        };
        if reason == Some(StopReason::Interrupted) && error.is_none() {
            // Ctrl-C: what the kernel already captured is still taken (saved and dissected).
            // A read blocks when nothing is left, so a timer wakes it after DRAIN_TIME; a
            // wake-up before then is the Ctrl-C's own, not yet consumed.
            let until = Instant::now() + DRAIN_TIME;
            let breaker = self.cap.breakloop_handle();
            std::thread::spawn(move || {
                std::thread::sleep(DRAIN_TIME);
                breaker.breakloop();
            });
            loop {
                match self.cap.next_packet() {
                    Ok(packet) => {
                        if let Err(e) = take_packet(
                            &mut self.save,
                            self.link_type,
                            &self.channel,
                            self.queue_limit,
                            &packet,
                        ) {
                            error = Some(e);
                            break;
                        }
                    }
                    Err(pcap::Error::NoMorePackets | pcap::Error::TimeoutExpired)
                        if Instant::now() < until => {}
                    Err(_) => break,
                }
            }
        }
        let ran_for = self.started.elapsed();
        let stats = self.cap.stats().map_err(|e| LiveError::Pcap {
            context: "reading capture statistics".to_string(),
            detail: pcap_detail(&e),
        });
        // The save file is complete before the dissector's side learns the end.
        drop(self.save.take());
        let mut shared = self.channel.lock();
        shared.finish = Some(Finish {
            reason,
            ran_for,
            error,
            stats: stats.map(|s| LiveStats {
                received: u64::from(s.received),
                dropped: u64::from(s.dropped),
                if_dropped: u64::from(s.if_dropped),
                queue_dropped: 0,
            }),
        });
        drop(shared);
        self.channel.ready.notify_all();
    }
}

impl LiveSource {
    /// Opens the interface (immediate mode, [`SNAPLEN`], not promiscuous), installs the
    /// filter and creates the save file. Reading stops at the count or duration of
    /// `config`, or when a [`Stopper`] says so.
    pub fn open(config: &LiveConfig) -> Result<Self, LiveError> {
        let interface = match &config.interface {
            Some(name) => {
                // Checked first so that a typo is named as such even without permission.
                if let Ok(all) = interfaces()
                    && !all.iter().any(|i| &i.name == name)
                {
                    return Err(LiveError::NoSuchInterface {
                        name: name.clone(),
                        available: all.into_iter().map(|i| i.name).collect(),
                    });
                }
                name.clone()
            }
            None => default_interface()?,
        };
        let activation_error = |e: pcap::Error| {
            let detail = pcap_detail(&e);
            if is_permission_error(&detail) {
                LiveError::NoPermission {
                    interface: interface.clone(),
                    detail,
                }
            } else if is_no_such_device(&detail) {
                LiveError::NoSuchInterface {
                    name: interface.clone(),
                    available: interfaces()
                        .map(|all| all.into_iter().map(|i| i.name).collect())
                        .unwrap_or_default(),
                }
            } else {
                LiveError::Pcap {
                    context: format!("opening {interface}"),
                    detail,
                }
            }
        };
        let mut cap = pcap::Capture::from_device(interface.as_str())
            .map_err(activation_error)?
            .snaplen(SNAPLEN as i32)
            .promisc(false)
            .immediate_mode(true)
            .timeout(READ_TIMEOUT_MS)
            .buffer_size(
                i32::try_from(config.buffer_size.unwrap_or(DEFAULT_BUFFER_SIZE))
                    .unwrap_or(i32::MAX),
            )
            .open()
            .map_err(activation_error)?;
        if let Some(filter) = &config.filter {
            cap.filter(filter, true).map_err(|e| LiveError::BadFilter {
                filter: filter.clone(),
                detail: pcap_detail(&e),
            })?;
        }
        let link_type = LinkType(cap.get_datalink().0 as u32);
        let save = match &config.save {
            Some(path) => Some((open_saver(&cap, path, link_type, &interface)?, path.clone())),
            None => None,
        };
        let started = Instant::now();
        if let Some(duration) = config.duration {
            // Wakes a read waiting for traffic when the time is up. The handle is weak: once
            // the capture is gone the call does nothing, so the thread may outlive it.
            let breaker = cap.breakloop_handle();
            std::thread::spawn(move || {
                std::thread::sleep(duration);
                breaker.breakloop();
            });
        }
        let stop = Arc::new(AtomicBool::new(false));
        let channel = Arc::new(Channel {
            shared: Mutex::new(Shared::default()),
            ready: Condvar::new(),
        });
        let breaker = Arc::new(cap.breakloop_handle());
        let capturer = Capturer {
            cap,
            interface: interface.clone(),
            link_type,
            stop: Arc::clone(&stop),
            count: config.count,
            deadline: config.duration.map(|d| started + d),
            started,
            save,
            queue_limit: if config.queue_bytes == 0 {
                DEFAULT_QUEUE_BYTES
            } else {
                config.queue_bytes
            },
            channel: Arc::clone(&channel),
        };
        let thread = std::thread::Builder::new()
            .name("capture".to_string())
            .spawn(move || capturer.run())
            .map_err(|e| LiveError::Pcap {
                context: "starting the capture thread".to_string(),
                detail: e.to_string(),
            })?;
        Ok(LiveSource {
            interface,
            filter: config.filter.clone(),
            link_type,
            stop,
            breaker,
            started,
            delivered: 0,
            channel,
            thread: Some(thread),
            finish: None,
            error_reported: false,
            current: Queued::default(),
        })
    }

    /// A handle that stops this capture from another thread.
    pub fn stopper(&mut self) -> Stopper {
        Stopper {
            flag: Arc::clone(&self.stop),
            breaker: Arc::clone(&self.breaker),
        }
    }

    /// The interface being captured.
    pub fn interface(&self) -> &str {
        &self.interface
    }

    /// The BPF filter installed, if any.
    pub fn filter(&self) -> Option<&str> {
        self.filter.as_deref()
    }

    /// The interface's link-layer header type.
    pub fn link_type(&self) -> LinkType {
        self.link_type
    }

    /// Packets delivered so far.
    pub fn packets(&self) -> u64 {
        self.delivered
    }

    /// How long the capture ran: until it stopped, or until now.
    pub fn elapsed(&self) -> Duration {
        self.finish
            .as_ref()
            .map_or_else(|| self.started.elapsed(), |f| f.ran_for)
    }

    /// Why the capture stopped, once it has.
    pub fn stop_reason(&self) -> Option<StopReason> {
        self.finish.as_ref().and_then(|f| f.reason)
    }

    /// libpcap's counters, and the queue's drops, once the capture has stopped (it is
    /// stopped, and its thread waited for, if it was still running).
    pub fn stats(&mut self) -> Result<LiveStats, LiveError> {
        self.join();
        let queue_dropped = self.channel.lock().dropped;
        match &self.finish {
            Some(f) => f.stats.clone().map(|s| LiveStats { queue_dropped, ..s }),
            None => Err(LiveError::Pcap {
                context: "reading capture statistics".to_string(),
                detail: "the capture thread ended without a word".to_string(),
            }),
        }
    }

    /// Stops the capture thread and waits for it.
    fn join(&mut self) {
        if let Some(thread) = self.thread.take() {
            self.stop.store(true, Ordering::SeqCst);
            self.breaker.breakloop();
            let _ = thread.join();
            if self.finish.is_none() {
                self.finish = self.channel.lock().finish.clone();
            }
        }
    }
}

impl Drop for LiveSource {
    fn drop(&mut self) {
        self.join();
    }
}

/// Creates the save file: libpcap's writer for pcap, [`PcapngWriter`] for pcapng.
fn open_saver(
    cap: &pcap::Capture<pcap::Active>,
    path: &Path,
    link_type: LinkType,
    interface: &str,
) -> Result<Saver, LiveError> {
    let save_error = |detail: String| LiveError::Save {
        path: path.to_path_buf(),
        detail,
    };
    if is_pcapng_path(path) {
        // Not through a symbolic link planted where the capture is saved.
        let file = super::writer::create_no_follow(path).map_err(|e| save_error(e.to_string()))?;
        let description = InterfaceDescription {
            link_type,
            snaplen: SNAPLEN,
            name: Some(interface),
            resolution: Resolution::Micros,
        };
        let application = concat!("wsdissect ", env!("CARGO_PKG_VERSION"));
        let mut writer = PcapngWriter::new(BufWriter::new(file), application, &description)
            .map_err(|e| save_error(e.to_string()))?;
        // The header goes out now, so even an empty capture leaves a valid file.
        writer.flush().map_err(|e| save_error(e.to_string()))?;
        Ok(Saver::Pcapng(writer))
    } else {
        // The pcap crate needs the path as UTF-8 text.
        if path.to_str().is_none() {
            return Err(save_error("the file name is not valid UTF-8".to_string()));
        }
        let mut file = cap
            .savefile(path)
            .map_err(|e| save_error(pcap_detail(&e)))?;
        file.flush().map_err(|e| save_error(pcap_detail(&e)))?;
        Ok(Saver::Pcap(file))
    }
}

/// A libpcap timestamp (microseconds) as a [`Timestamp`].
#[allow(
    clippy::unnecessary_cast,
    reason = "time_t and suseconds_t are i64 on 64-bit Linux but not everywhere"
)]
fn timestamp_of(header: &pcap::PacketHeader) -> Timestamp {
    let micros = (header.ts.tv_usec as i64).clamp(0, 999_999);
    Timestamp {
        secs: header.ts.tv_sec as i64,
        nanos: (micros * 1000) as u32,
    }
}

impl PacketSource for LiveSource {
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        let mut shared = self.channel.lock();
        loop {
            if let Some(packet) = shared.queue.pop_front() {
                shared.bytes = shared
                    .bytes
                    .saturating_sub(packet.data.len() + QUEUED_OVERHEAD);
                drop(shared);
                self.current = packet;
                self.delivered += 1;
                return Ok(Some(RawPacket {
                    timestamp: self.current.timestamp,
                    link_type: self.link_type,
                    data: &self.current.data,
                    original_len: self.current.original_len,
                    block: None,
                }));
            }
            if let Some(finish) = &shared.finish {
                let finish = finish.clone();
                drop(shared);
                let error = finish.error.clone();
                self.finish = Some(finish);
                if let Some(e) = error
                    && !self.error_reported
                {
                    self.error_reported = true;
                    return Err(CaptureError::Live(e));
                }
                return Ok(None);
            }
            shared = self
                .channel
                .ready
                .wait(shared)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    fn has_next_buffered(&mut self) -> bool {
        let shared = self.channel.lock();
        !shared.queue.is_empty() || shared.finish.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pcapng_chosen_by_extension() {
        assert!(is_pcapng_path(Path::new("session.pcapng")));
        assert!(is_pcapng_path(Path::new("/tmp/A.PCAPNG")));
        assert!(!is_pcapng_path(Path::new("session.pcap")));
        assert!(!is_pcapng_path(Path::new("session")));
        assert!(!is_pcapng_path(Path::new("pcapng")));
    }

    /// Messages libpcap 1.10 gives for a failed activation (pcap-linux.c, pcap-bpf.c).
    #[test]
    fn activation_errors_are_classified() {
        assert!(is_permission_error(
            "You don't have permission to perform this capture on that device (socket: Operation not permitted)"
        ));
        assert!(is_permission_error(
            "(cannot open BPF device) /dev/bpf0: Permission denied"
        ));
        assert!(!is_permission_error("No such device exists"));
        assert!(is_no_such_device(
            "SIOCGIFINDEX: No such device (No such device exists)"
        ));
    }

    /// Without the loopback flag anywhere, the error lists what exists; with it, the
    /// loopback interface is the default. Needs no permission: libpcap lists interfaces
    /// for anyone.
    #[test]
    fn default_interface_is_the_loopback_one() {
        let all = interfaces().expect("libpcap lists interfaces");
        let lo = default_interface().expect("this machine has a loopback interface");
        assert!(all.iter().any(|i| i.name == lo && i.loopback));
    }
}
