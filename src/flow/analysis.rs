//! Wireshark's TCP analysis for the packet list: relative sequence numbers, scaled
//! windows, and the `[TCP ...]` flags (tcp.analysis.*).

use crate::flow::seq::{seq_gt, seq_le, seq_lt};
use crate::wire::{TcpFlags, TcpSegment};
use std::collections::BTreeMap;

/// Which way a segment travels within its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    /// Client to server (the side that sent the SYN, or the HTTP request).
    ClientToServer,
    /// Server to client.
    ServerToClient,
}

impl Direction {
    /// Index 0 for client-to-server, 1 for server-to-client.
    pub fn index(self) -> usize {
        match self {
            Direction::ClientToServer => 0,
            Direction::ServerToClient => 1,
        }
    }

    /// The other direction.
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }

    /// `c2s` or `s2c`.
    pub fn short(self) -> &'static str {
        match self {
            Direction::ClientToServer => "c2s",
            Direction::ServerToClient => "s2c",
        }
    }
}

/// tcp.analysis flags, as a bit set (Wireshark shows them as `[TCP ...]` before the info).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AnalysisFlags(pub u16);

impl AnalysisFlags {
    /// `[TCP Retransmission]`
    pub const RETRANSMISSION: u16 = 1 << 0;
    /// `[TCP Spurious Retransmission]`
    pub const SPURIOUS_RETRANSMISSION: u16 = 1 << 1;
    /// `[TCP Fast Retransmission]`
    pub const FAST_RETRANSMISSION: u16 = 1 << 2;
    /// `[TCP Out-Of-Order]`
    pub const OUT_OF_ORDER: u16 = 1 << 3;
    /// `[TCP Previous segment not captured]`
    pub const PREVIOUS_SEGMENT_NOT_CAPTURED: u16 = 1 << 4;
    /// `[TCP ACKed unseen segment]`
    pub const ACKED_UNSEEN_SEGMENT: u16 = 1 << 5;
    /// `[TCP Window Update]`
    pub const WINDOW_UPDATE: u16 = 1 << 6;
    /// `[TCP Window Full]`
    pub const WINDOW_FULL: u16 = 1 << 7;
    /// `[TCP ZeroWindow]`
    pub const ZERO_WINDOW: u16 = 1 << 8;
    /// `[TCP Keep-Alive]`
    pub const KEEP_ALIVE: u16 = 1 << 9;
    /// `[TCP Keep-Alive ACK]`
    pub const KEEP_ALIVE_ACK: u16 = 1 << 10;
    /// `[TCP Dup ACK N#M]` (see [`SegmentAnalysis::dup_ack`]).
    pub const DUP_ACK: u16 = 1 << 11;
    /// `[TCP Port numbers reused]`
    pub const PORTS_REUSED: u16 = 1 << 12;
    /// `[TCP ZeroWindowProbe]`
    pub const ZERO_WINDOW_PROBE: u16 = 1 << 13;
    /// `[TCP ZeroWindowProbeAck]`
    pub const ZERO_WINDOW_PROBE_ACK: u16 = 1 << 14;

    /// Wireshark's bracket texts (without brackets) in the order they appear in the Info
    /// column. Wireshark prepends each label, so the column shows them in the reverse of the
    /// order `tcp_print_sequence_number_analysis` adds them. `"TCP Dup ACK"` is followed in
    /// Wireshark by ` <frame>#<count>` from [`SegmentAnalysis::dup_ack`].
    const LABELS: [(u16, &'static str); 15] = [
        (Self::ZERO_WINDOW_PROBE_ACK, "TCP ZeroWindowProbeAck"),
        (Self::ZERO_WINDOW, "TCP ZeroWindow"),
        (Self::ZERO_WINDOW_PROBE, "TCP ZeroWindowProbe"),
        (Self::DUP_ACK, "TCP Dup ACK"),
        (Self::KEEP_ALIVE_ACK, "TCP Keep-Alive ACK"),
        (Self::KEEP_ALIVE, "TCP Keep-Alive"),
        (Self::WINDOW_FULL, "TCP Window Full"),
        (Self::WINDOW_UPDATE, "TCP Window Update"),
        (Self::ACKED_UNSEEN_SEGMENT, "TCP ACKed unseen segment"),
        (
            Self::PREVIOUS_SEGMENT_NOT_CAPTURED,
            "TCP Previous segment not captured",
        ),
        (Self::OUT_OF_ORDER, "TCP Out-Of-Order"),
        (Self::SPURIOUS_RETRANSMISSION, "TCP Spurious Retransmission"),
        (Self::FAST_RETRANSMISSION, "TCP Fast Retransmission"),
        (Self::RETRANSMISSION, "TCP Retransmission"),
        (Self::PORTS_REUSED, "TCP Port numbers reused"),
    ];

    /// Whether `flag` is set.
    pub fn has(self, flag: u16) -> bool {
        self.0 & flag != 0
    }

    /// The set flags' Wireshark texts, in Info-column order (see the `LABELS` note):
    /// e.g. `["TCP Dup ACK", "TCP Retransmission"]`.
    pub fn labels(self) -> impl Iterator<Item = &'static str> {
        Self::LABELS
            .into_iter()
            .filter(move |(flag, _)| self.has(*flag))
            .map(|(_, label)| label)
    }

    fn set(&mut self, flag: u16) {
        self.0 |= flag;
    }
}

/// What the analysis says about one segment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SegmentAnalysis {
    /// Sequence number relative to this direction's initial sequence number.
    pub rel_seq: u32,
    /// Acknowledgment number relative to the other direction's ISN (0 if unknown).
    pub rel_ack: u32,
    /// Window size in bytes after scaling (raw value when the scale is unknown or on SYNs).
    pub window: u64,
    /// Analysis flags.
    pub flags: AnalysisFlags,
    /// For Dup ACKs: (frame number of the original ACK, duplicate count) as in `Dup ACK 94#1`.
    pub dup_ack: Option<(u64, u32)>,
}

/// Most unacknowledged segments remembered per direction (Wireshark's
/// `TCP_MAX_UNACKED_SEGMENTS`): beyond it, SYN/FIN no longer advance the expected sequence
/// number, exactly as in Wireshark.
const MAX_UNACKED_SEGMENTS: usize = 10_000;

/// Wireshark's fast-retransmission window after the last duplicate ACK: 20 ms.
const FAST_RETRANSMISSION_NS: i128 = 20_000_000;

/// Wireshark's out-of-order threshold when no handshake RTT is known: 3 ms.
const DEFAULT_OOO_THRESHOLD_NS: i128 = 3_000_000;

/// Largest window shift RFC 7323 §2.3 allows; larger values are treated as 14.
const MAX_WINDOW_SHIFT: u8 = 14;

/// TCP option kinds used here (RFC 9293, RFC 7323).
const OPT_END: u8 = 0;
const OPT_NOP: u8 = 1;
const OPT_WINDOW_SCALE: u8 = 3;
const OPT_WINDOW_SCALE_LEN: u8 = 3;

/// Window scaling known for one direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum WinScale {
    /// No SYN seen yet (Wireshark's -1): windows are shown raw.
    #[default]
    Unknown,
    /// The handshake showed scaling is not used (Wireshark's -2).
    NotUsed,
    /// Shift count from the window scale option.
    Shift(u8),
}

/// What Wireshark keeps per direction (`tcp_flow_t` and its `tcp_analyze_seq_info`).
#[derive(Debug, Default)]
struct DirState {
    base_seq: u32,
    base_set: bool,
    win_scale: WinScale,
    /// Raw (unscaled) window of the last segment.
    window: u16,
    /// Highest sequence number expected next (0 = nothing seen, as in Wireshark).
    nextseq: u32,
    nextseq_time: i128,
    maxseqtobeacked: u32,
    lastack: u32,
    lastack_time: i128,
    dupacknum: i32,
    lastnondupack: u64,
    lastsegmentflags: u16,
    is_first_ack: bool,
    /// End sequence numbers of segments not yet acknowledged by the peer.
    unacked: UnackedEnds,
}

/// The end sequence numbers of segments not yet acknowledged, as a multiset.
///
/// Only how many there are matters to the analysis (the `MAX_UNACKED_SEGMENTS` cap), and an
/// acknowledgment forgets every end at or before it (by [`seq_le`]). Kept sorted by value so
/// an acknowledgment removes what it covers from the ends of the map instead of scanning the
/// whole list: a list scanned on every packet made a hostile capture (1 000 000 bare ACKs
/// behind 10 000 unacknowledged segments) quadratic, 10.8 s instead of 0.5 s.
#[derive(Debug, Default)]
struct UnackedEnds {
    /// While few: the ends in a plain list, scanned on each ACK (what a connection has
    /// almost always; measured ~5% of `check`'s instructions cheaper than the map below).
    few: Vec<u32>,
    /// Once more than [`FEW_UNACKED`] were outstanding: end sequence number -> how many
    /// unacknowledged segments end there, so an ACK costs a lookup, not a scan (1 000 000
    /// bare ACKs behind 10 000 unacked segments took 10.8 s with the scan).
    ends: BTreeMap<u32, u32>,
    len: usize,
}

/// Most unacked ends kept in the plain list.
const FEW_UNACKED: usize = 64;

impl UnackedEnds {
    fn len(&self) -> usize {
        self.len
    }

    fn push(&mut self, end: u32) {
        if self.ends.is_empty() && self.few.len() < FEW_UNACKED {
            if self.few.capacity() == 0 {
                // 64 bytes at once rather than regrowing 4 -> 8 -> 16 (one allocation per
                // direction instead of three on short connections).
                self.few.reserve(16);
            }
            self.few.push(end);
        } else {
            for e in self.few.drain(..) {
                *self.ends.entry(e).or_insert(0) += 1;
            }
            *self.ends.entry(end).or_insert(0) += 1;
        }
        self.len += 1;
    }

    /// Forgets every end `e` with `seq_le(e, ack)`; keeps those with `seq_gt(e, ack)`, which
    /// are the values `ack + 1 ..= ack + 2^31 - 1` modulo 2^32.
    fn acknowledge(&mut self, ack: u32) {
        if self.len == 0 {
            return;
        }
        if self.ends.is_empty() {
            self.few.retain(|&end| seq_gt(end, ack));
            self.len = self.few.len();
            return;
        }
        let lo = ack.wrapping_add(1);
        let hi = ack.wrapping_add(0x7FFF_FFFF);
        if lo <= hi {
            // Kept range does not wrap: what goes lies below `lo` or above `hi`.
            while let Some(entry) = self.ends.first_entry().filter(|e| *e.key() < lo) {
                self.len -= entry.remove() as usize;
            }
            while let Some(entry) = self.ends.last_entry().filter(|e| *e.key() > hi) {
                self.len -= entry.remove() as usize;
            }
        } else {
            // Kept range wraps past u32::MAX: what goes lies strictly between `hi` and `lo`.
            while let Some((&key, _)) = self.ends.range(hi.wrapping_add(1)..lo).next() {
                if let Some(n) = self.ends.remove(&key) {
                    self.len -= n as usize;
                }
            }
        }
    }
}

/// Per-connection analysis state (both directions).
///
/// Reproduces Wireshark 4.0's `tcp_analyze_sequence_number` for one conversation, fed in
/// capture order. Memory is bounded: a few counters per direction plus at most
/// 10 000 unacknowledged segment ends.
#[derive(Debug, Default)]
pub struct TcpAnalyzer {
    dirs: [DirState; 2],
    /// Time of the most recent pure SYN, for the handshake RTT.
    syn_time: Option<i128>,
    /// Handshake RTT (SYN to first pure ACK); 0 while unknown, as in Wireshark.
    first_rtt: i128,
}

impl TcpAnalyzer {
    /// A connection with nothing seen yet.
    pub fn new() -> Self {
        TcpAnalyzer::default()
    }

    /// Analyses one segment travelling in `dir`, as packet number `packet`, without
    /// timestamps: behaves as [`TcpAnalyzer::analyze_at`] with every packet at time 0 (as
    /// Wireshark on a capture whose packets share one timestamp), so a segment below the
    /// expected sequence number is Out-Of-Order rather than a Retransmission unless it
    /// exactly repeats the last one. Use `analyze_at` when times are known.
    pub fn analyze(
        &mut self,
        packet: u64,
        dir: Direction,
        seg: &TcpSegment<'_>,
    ) -> SegmentAnalysis {
        self.analyze_at(packet, 0, dir, seg)
    }

    /// Analyses one segment travelling in `dir`, as packet number `packet`, captured at
    /// `time_ns` (nanoseconds on any fixed epoch; only differences matter). Segments must be
    /// fed in capture order.
    pub fn analyze_at(
        &mut self,
        packet: u64,
        time_ns: i128,
        dir: Direction,
        seg: &TcpSegment<'_>,
    ) -> SegmentAnalysis {
        let f = seg.flags;
        let syn = f.has(TcpFlags::SYN);
        let ack_flag = f.has(TcpFlags::ACK);
        let mut flags = AnalysisFlags::default();
        let (fi, ri) = (dir.index(), dir.reverse().index());

        // A SYN whose ISN differs from the one seen: a new connection on the same ports.
        if syn && self.dirs[fi].base_set && seg.seq != self.dirs[fi].base_seq {
            if ack_flag {
                self.dirs[fi].base_seq = seg.seq;
            } else {
                *self = TcpAnalyzer::default();
            }
            flags.set(AnalysisFlags::PORTS_REUSED);
        }

        let dup_ack = self.sequence_analysis(packet, time_ns, fi, ri, seg, &mut flags);

        // Relative numbers and the scaled window, as shown in the Info column.
        let rel_seq = seg.seq.wrapping_sub(self.dirs[fi].base_seq);
        let rel_ack = if ack_flag {
            seg.ack.wrapping_sub(self.dirs[ri].base_seq)
        } else {
            0
        };
        let window = match self.dirs[fi].win_scale {
            WinScale::Shift(s) if !syn => u64::from(seg.window) << s,
            _ => u64::from(seg.window),
        };

        if syn {
            if !ack_flag {
                self.syn_time = Some(time_ns);
            }
            if let Some(shift) = window_scale_option(seg.options) {
                self.dirs[fi].win_scale = WinScale::Shift(shift.min(MAX_WINDOW_SHIFT));
            }
            self.verify_window_scaling(fi, ri, ack_flag);
            self.dirs[fi].is_first_ack = true;
        } else if ack_flag {
            if let Some(t) = self.syn_time.filter(|_| self.first_rtt == 0) {
                self.first_rtt = time_ns.saturating_sub(t);
            }
            self.dirs[fi].is_first_ack = false;
        }

        SegmentAnalysis {
            rel_seq,
            rel_ack,
            window,
            flags,
            dup_ack,
        }
    }

    /// Wireshark's `verify_tcp_window_scaling`, run after a SYN's options were read.
    fn verify_window_scaling(&mut self, fi: usize, ri: usize, synack: bool) {
        if self.dirs[fi].win_scale == WinScale::Unknown {
            self.dirs[fi].win_scale = WinScale::NotUsed;
            self.dirs[ri].win_scale = WinScale::NotUsed;
        } else if synack && self.dirs[ri].win_scale == WinScale::NotUsed {
            self.dirs[fi].win_scale = WinScale::NotUsed;
        }
    }

    /// The rules of Wireshark's `tcp_analyze_sequence_number`, in its order. Returns the
    /// Dup ACK (original frame, count) if this is one.
    fn sequence_analysis(
        &mut self,
        packet: u64,
        now: i128,
        fi: usize,
        ri: usize,
        seg: &TcpSegment<'_>,
        flags: &mut AnalysisFlags,
    ) -> Option<(u64, u32)> {
        let (seq, ack, window) = (seg.seq, seg.ack, seg.window);
        let seglen = seg.wire_len();
        let tf = seg.flags;
        let syn_fin = tf.0 & (TcpFlags::SYN | TcpFlags::FIN) != 0;
        let syn_fin_rst = tf.0 & (TcpFlags::SYN | TcpFlags::FIN | TcpFlags::RST) != 0;
        let mut dup_ack = None;

        // Bases for relative numbers: the SYN's ISN, else one before the first seq seen;
        // for the peer, one before the first acknowledgment number seen.
        if !self.dirs[fi].base_set {
            self.dirs[fi].base_seq = if tf.has(TcpFlags::SYN) {
                seq
            } else {
                seq.wrapping_sub(1)
            };
            self.dirs[fi].base_set = true;
        }
        if !self.dirs[ri].base_set && tf.has(TcpFlags::ACK) {
            self.dirs[ri].base_seq = ack.wrapping_sub(1);
            self.dirs[ri].base_set = true;
        }

        let threshold = if self.first_rtt == 0 {
            DEFAULT_OOO_THRESHOLD_NS
        } else {
            self.first_rtt
        };
        let (fwd, rev) = self.pair(fi, ri);
        'fwd: {
            if seglen == 1 && seq == fwd.nextseq && rev.window == 0 {
                flags.set(AnalysisFlags::ZERO_WINDOW_PROBE);
                break 'fwd;
            }
            if window == 0 && !syn_fin_rst {
                flags.set(AnalysisFlags::ZERO_WINDOW);
            }
            if fwd.nextseq != 0 && seq_gt(seq, fwd.nextseq) && !tf.has(TcpFlags::RST) {
                flags.set(AnalysisFlags::PREVIOUS_SEGMENT_NOT_CAPTURED);
            }
            if seglen <= 1 && seq == fwd.nextseq.wrapping_sub(1) && !syn_fin_rst {
                flags.set(AnalysisFlags::KEEP_ALIVE);
            }
            let same_seq_ack = seq == fwd.nextseq && ack == fwd.lastack && !syn_fin_rst;
            if seglen == 0 && window != 0 && window != fwd.window && same_seq_ack {
                flags.set(AnalysisFlags::WINDOW_UPDATE);
            }
            if seglen > 0 && rev.win_scale != WinScale::Unknown && !syn_fin_rst {
                let shift = match rev.win_scale {
                    WinScale::Shift(s) if !rev.is_first_ack => s,
                    _ => 0,
                };
                let edge = rev.lastack.wrapping_add(u32::from(rev.window) << shift);
                if seq.wrapping_add(seglen) == edge {
                    flags.set(AnalysisFlags::WINDOW_FULL);
                }
            }
            let repeat = seglen == 0 && window == fwd.window && same_seq_ack;
            if repeat && window != 0 && rev.lastsegmentflags & AnalysisFlags::KEEP_ALIVE != 0 {
                flags.set(AnalysisFlags::KEEP_ALIVE_ACK);
                break 'fwd;
            }
            if repeat && window == 0 && rev.lastsegmentflags & AnalysisFlags::ZERO_WINDOW_PROBE != 0
            {
                flags.set(AnalysisFlags::ZERO_WINDOW_PROBE_ACK);
                break 'fwd;
            }
            if repeat && window != 0 {
                fwd.dupacknum = if fwd.dupacknum < 0 {
                    1
                } else {
                    fwd.dupacknum.saturating_add(1)
                };
                flags.set(AnalysisFlags::DUP_ACK);
                dup_ack = Some((fwd.lastnondupack, fwd.dupacknum.max(0) as u32));
            }
        }
        if ack != fwd.lastack {
            fwd.lastnondupack = packet;
            fwd.dupacknum = 0;
        }

        // ACKed unseen segment: acknowledges beyond what the peer was seen sending.
        if rev.maxseqtobeacked != 0 && seq_gt(ack, rev.maxseqtobeacked) && tf.has(TcpFlags::ACK) {
            if rev.maxseqtobeacked > rev.nextseq {
                rev.maxseqtobeacked = rev.nextseq;
                flags.set(AnalysisFlags::ACKED_UNSEEN_SEGMENT);
            } else {
                if rev.dupacknum == 0 {
                    flags.set(AnalysisFlags::ACKED_UNSEEN_SEGMENT);
                }
                rev.dupacknum = -1;
            }
        }

        // Retransmission / Fast Retransmission / Spurious Retransmission / Out-Of-Order.
        'retrans: {
            if !(seglen > 0 || syn_fin) || flags.has(AnalysisFlags::KEEP_ALIVE) {
                break 'retrans;
            }
            let mut not_advanced = fwd.nextseq != 0 && seq_lt(seq, fwd.nextseq);
            if seglen > 1 && fwd.nextseq.wrapping_sub(1) == seq {
                not_advanced = false;
            }
            if seglen > 0 && rev.lastack != 0 && seq_le(seq.wrapping_add(seglen), rev.lastack) {
                flags.set(AnalysisFlags::SPURIOUS_RETRANSMISSION);
                break 'retrans;
            }
            let since_dup = now.saturating_sub(rev.lastack_time);
            if not_advanced
                && rev.dupacknum >= 2
                && rev.lastack == seq
                && (0..FAST_RETRANSMISSION_NS).contains(&since_dup)
            {
                flags.set(AnalysisFlags::FAST_RETRANSMISSION);
                break 'retrans;
            }
            let since_next = now.saturating_sub(fwd.nextseq_time);
            let end = seq.wrapping_add(seglen).wrapping_add(u32::from(syn_fin));
            if not_advanced && (0..threshold).contains(&since_next) && fwd.nextseq != end {
                flags.set(AnalysisFlags::OUT_OF_ORDER);
                break 'retrans;
            }
            if not_advanced {
                flags.set(AnalysisFlags::RETRANSMISSION);
            }
        }

        let (fwd, rev) = self.pair(fi, ri);
        let mut nextseq = seq.wrapping_add(seglen);
        if (seglen > 0 || syn_fin) && fwd.unacked.len() < MAX_UNACKED_SEGMENTS {
            if syn_fin {
                nextseq = nextseq.wrapping_add(1);
            }
            fwd.unacked.push(nextseq);
        }
        let zwp = flags.has(AnalysisFlags::ZERO_WINDOW_PROBE);
        if (seq_gt(nextseq, fwd.nextseq) || fwd.nextseq == 0) && !zwp {
            fwd.nextseq = nextseq;
            fwd.nextseq_time = now;
        }
        if (seq == fwd.maxseqtobeacked || fwd.maxseqtobeacked == 0) && !zwp {
            fwd.maxseqtobeacked = fwd.nextseq;
        }
        fwd.window = window;
        fwd.lastack = ack;
        fwd.lastack_time = now;
        fwd.lastsegmentflags = flags.0;
        // Forget the peer's segments this acknowledges.
        rev.unacked.acknowledge(ack);
        dup_ack
    }

    /// Mutable access to this direction's state and the peer's at once.
    fn pair(&mut self, fi: usize, ri: usize) -> (&mut DirState, &mut DirState) {
        let [a, b] = &mut self.dirs;
        if fi == 0 && ri == 1 { (a, b) } else { (b, a) }
    }
}

/// The shift count of the window scale option (kind 3) in raw TCP option bytes, if present.
/// Stops at the end-of-list option or at the first malformed option.
fn window_scale_option(mut raw: &[u8]) -> Option<u8> {
    while let Some((&kind, rest)) = raw.split_first() {
        match kind {
            OPT_END => return None,
            OPT_NOP => raw = rest,
            _ => {
                let len = *rest.first()?;
                if len < 2 || usize::from(len) > raw.len() {
                    return None;
                }
                if kind == OPT_WINDOW_SCALE && len == OPT_WINDOW_SCALE_LEN {
                    return rest.get(1).copied();
                }
                raw = raw.get(usize::from(len)..)?;
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYN: u16 = TcpFlags::SYN;
    const ACK: u16 = TcpFlags::ACK;
    const PSH_ACK: u16 = TcpFlags::PSH | TcpFlags::ACK;
    const FIN_ACK: u16 = TcpFlags::FIN | TcpFlags::ACK;
    const RST_ACK: u16 = TcpFlags::RST | TcpFlags::ACK;
    /// MSS 16344, NOP, WS 6 (x64), as macOS sends on lo0.
    const OPTS_WS6: [u8; 8] = [2, 4, 0x3f, 0xd8, 1, 3, 3, 6];

    fn seg(
        seq: u32,
        ack: u32,
        flags: u16,
        window: u16,
        len: u32,
        options: &[u8],
    ) -> TcpSegment<'_> {
        TcpSegment {
            src_port: 1,
            dst_port: 2,
            seq,
            ack,
            flags: TcpFlags(flags),
            window,
            urgent: 0,
            options,
            payload: &[],
            missing_payload: len,
        }
    }

    /// The labels as Wireshark prints them, Dup ACK with its frame and count.
    fn shown(a: &SegmentAnalysis) -> Vec<String> {
        a.flags
            .labels()
            .map(|l| match (l, a.dup_ack) {
                ("TCP Dup ACK", Some((frame, n))) => format!("{l} {frame}#{n}"),
                _ => l.to_string(),
            })
            .collect()
    }

    /// Replays a fixture made by `testdata/extract.py` and compares with tshark's columns.
    ///
    /// The captures were made on Linux `lo` with `tcpdump -i lo -w X.pcap -U "tcp port P"`
    /// while a small Python socket script ran the scenario (normal exchange; keep-alive with
    /// TCP_KEEPIDLE=1/TCP_KEEPINTVL=1; receiver with SO_RCVBUF=4096 not reading for 1 s;
    /// two connections from the same bound port closed with SO_LINGER 0). `mangled` is
    /// `zerowin` rewritten in Python: SYN duplicated, a data segment re-sent after its ACK,
    /// two segments swapped 20 us apart, one dropped, three duplicated ACKs followed by the
    /// segment they ask for, a late copy 400 ms after the original. `midstream` is `normal`
    /// without its handshake. Then `python3 extract.py X.pcap > X.txt` (tshark 4.0.17).
    fn replay(name: &str, fixture: &str) {
        let mut analyzer = TcpAnalyzer::new();
        for (i, line) in fixture.lines().enumerate() {
            let frame = i as u64 + 1;
            let f: Vec<&str> = line.split('\t').collect();
            assert_eq!(f.len(), 13, "{name} line {frame}");
            let num = |s: &str| {
                s.parse::<u64>()
                    .unwrap_or_else(|_| panic!("{name}:{frame} {s}"))
            };
            let flags = u16::from_str_radix(f[4], 16).expect("flags");
            let opts: Vec<u8> = if f[7] == "-" {
                Vec::new()
            } else {
                (0..f[7].len() / 2)
                    .map(|k| u8::from_str_radix(&f[7][2 * k..2 * k + 2], 16).expect("hex"))
                    .collect()
            };
            let dir = if f[1] == "c" {
                Direction::ClientToServer
            } else {
                Direction::ServerToClient
            };
            let s = seg(
                num(f[2]) as u32,
                num(f[3]) as u32,
                flags,
                num(f[5]) as u16,
                num(f[6]) as u32,
                &opts,
            );
            let got = analyzer.analyze_at(frame, i128::from(num(f[0])), dir, &s);
            let want_labels: Vec<String> = if f[12] == "-" {
                Vec::new()
            } else {
                f[12].split(';').map(str::to_string).collect()
            };
            assert_eq!(
                got.rel_seq as u64,
                num(f[9]),
                "{name} frame {frame} rel seq"
            );
            if flags & ACK != 0 {
                assert_eq!(
                    got.rel_ack as u64,
                    num(f[10]),
                    "{name} frame {frame} rel ack"
                );
            }
            assert_eq!(got.window, num(f[11]), "{name} frame {frame} window");
            assert_eq!(shown(&got), want_labels, "{name} frame {frame} flags");
        }
    }

    #[test]
    fn matches_tshark_normal() {
        replay("normal", include_str!("testdata/normal.txt"));
    }

    #[test]
    fn matches_tshark_keepalive() {
        replay("keepalive", include_str!("testdata/keepalive.txt"));
    }

    #[test]
    fn matches_tshark_zero_window() {
        replay("zerowin", include_str!("testdata/zerowin.txt"));
    }

    #[test]
    fn matches_tshark_port_reuse() {
        replay("reuse", include_str!("testdata/reuse.txt"));
    }

    #[test]
    fn matches_tshark_retransmissions_and_losses() {
        replay("mangled", include_str!("testdata/mangled.txt"));
    }

    #[test]
    fn matches_tshark_midstream() {
        replay("midstream", include_str!("testdata/midstream.txt"));
    }

    /// The seed capture (macOS lo0, packets 89-110): every Seq/Ack/Win as Wireshark shows
    /// them, and the one `[TCP Window Update]` on packet 92.
    #[test]
    fn seed_capture_packets_89_to_110() {
        use Direction::{ClientToServer as C, ServerToClient as S};
        let (ci, si) = (0x1234_5678u32, 0xFFFF_FF00u32); // arbitrary ISNs, one wrapping
        // (packet, dir, flags, rel seq, rel ack, raw window, len, options, shown Win, update)
        type Row = (
            u64,
            Direction,
            u16,
            u32,
            u32,
            u16,
            u32,
            &'static [u8],
            u64,
            bool,
        );
        #[rustfmt::skip]
        let rows: [Row; 20] = [
            (89, C, SYN, 0, 0, 65535, 0, &OPTS_WS6, 65535, false),
            (90, S, SYN | ACK, 0, 1, 65535, 0, &OPTS_WS6, 65535, false),
            (91, C, ACK, 1, 1, 6379, 0, &[], 408256, false),
            (92, S, ACK, 1, 1, 6379, 0, &[], 408256, true),
            (93, C, PSH_ACK, 1, 1, 6379, 312, &[], 408256, false),
            (94, S, ACK, 1, 313, 6374, 0, &[], 407936, false),
            (95, S, PSH_ACK, 1, 313, 6374, 268, &[], 407936, false),
            (96, C, ACK, 313, 269, 6375, 0, &[], 408000, false),
            (97, C, PSH_ACK, 313, 269, 6375, 37, &[], 408000, false),
            (98, S, ACK, 269, 350, 6374, 0, &[], 407936, false),
            (99, S, PSH_ACK, 269, 350, 6374, 29, &[], 407936, false),
            (100, C, ACK, 350, 298, 6375, 0, &[], 408000, false),
            (101, S, PSH_ACK, 298, 350, 6374, 4, &[], 407936, false),
            (102, C, ACK, 350, 302, 6374, 0, &[], 407936, false),
            (103, C, PSH_ACK, 350, 302, 6374, 8, &[], 407936, false),
            (104, S, ACK, 302, 358, 6374, 0, &[], 407936, false),
            (105, C, FIN_ACK, 358, 302, 6374, 0, &[], 407936, false),
            (106, S, ACK, 302, 359, 6374, 0, &[], 407936, false),
            (107, S, FIN_ACK, 302, 359, 6374, 0, &[], 407936, false),
            (108, C, ACK, 359, 303, 6374, 0, &[], 407936, false),
        ];
        let mut a = TcpAnalyzer::new();
        for (packet, dir, flags, rseq, rack, win, len, opts, shown_win, update) in rows {
            let (own, peer) = match dir {
                C => (ci, si),
                S => (si, ci),
            };
            let ack = if flags & ACK != 0 {
                peer.wrapping_add(rack)
            } else {
                0
            };
            let s = seg(own.wrapping_add(rseq), ack, flags, win, len, opts);
            let r = a.analyze(packet, dir, &s);
            assert_eq!(
                (r.rel_seq, r.rel_ack, r.window),
                (rseq, rack, shown_win),
                "#{packet}"
            );
            let want = if update {
                AnalysisFlags::WINDOW_UPDATE
            } else {
                0
            };
            assert_eq!(r.flags, AnalysisFlags(want), "#{packet}");
            assert_eq!(r.dup_ack, None);
        }
        // 109-110: another connection (::1, 58902 -> 9229) refused with RST.
        let mut b = TcpAnalyzer::new();
        let r = b.analyze(109, C, &seg(777, 0, SYN, 65535, 0, &OPTS_WS6));
        assert_eq!((r.rel_seq, r.window, r.flags), (0, 65535, AnalysisFlags(0)));
        let r = b.analyze(110, S, &seg(0, 778, RST_ACK, 0, 0, &[]));
        assert_eq!((r.rel_seq, r.rel_ack, r.window), (1, 1, 0));
        assert_eq!(r.flags, AnalysisFlags(0), "RST is never ZeroWindow");
    }

    /// `UnackedEnds` keeps exactly what the list it replaced kept: a `Vec` of ends filtered
    /// with `seq_gt(end, ack)` on every acknowledgment (Wireshark's rule). Values are drawn
    /// near 0, near 2^31 and near 2^32 so both the wrapping and the plain ranges are crossed.
    #[test]
    fn unacked_ends_match_a_filtered_list() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let bases = [0u32, 0x7FFF_FFF0, 0xFFFF_FFF0, 0x8000_0000, 12345];
        for round in 0..200 {
            let mut ends = UnackedEnds::default();
            let mut model: Vec<u32> = Vec::new();
            let base = bases[round % bases.len()];
            for _ in 0..300 {
                let r = next();
                let v = base.wrapping_add((r >> 8) as u32 % 64).wrapping_sub(32);
                let v = if r & 0x80 != 0 {
                    v.wrapping_add(0x8000_0000)
                } else {
                    v
                };
                if r % 3 == 0 {
                    ends.acknowledge(v);
                    model.retain(|&e| seq_gt(e, v));
                } else {
                    ends.push(v);
                    model.push(v);
                }
                assert_eq!(ends.len(), model.len(), "round {round}");
            }
        }
    }

    /// Bare ACKs below the unacknowledged ends forget nothing; one ACK covering all forgets all.
    #[test]
    fn bare_acks_keep_unacked_ends_until_covered() {
        let mut analyzer = TcpAnalyzer::new();
        let c2s = Direction::ClientToServer;
        let s2c = Direction::ServerToClient;
        analyzer.analyze(1, c2s, &seg(1000, 0, SYN, 65535, 0, &[]));
        analyzer.analyze(2, s2c, &seg(5000, 1001, SYN | ACK, 65535, 0, &[]));
        analyzer.analyze(3, c2s, &seg(1001, 5001, ACK, 65535, 0, &[]));
        assert_eq!(analyzer.dirs[1].unacked.len(), 0);
        let mut seq = 5001u32;
        for i in 0..MAX_UNACKED_SEGMENTS as u64 {
            analyzer.analyze(4 + i, s2c, &seg(seq, 1001, PSH_ACK, 65535, 10, &[]));
            seq = seq.wrapping_add(10);
        }
        assert_eq!(analyzer.dirs[1].unacked.len(), MAX_UNACKED_SEGMENTS);
        for i in 0..100_000u64 {
            analyzer.analyze(20_000 + i, c2s, &seg(1001, 5001, ACK, 65535, 0, &[]));
        }
        assert_eq!(analyzer.dirs[1].unacked.len(), MAX_UNACKED_SEGMENTS);
        analyzer.analyze(200_000, c2s, &seg(1001, seq, ACK, 65535, 0, &[]));
        assert_eq!(analyzer.dirs[1].unacked.len(), 0);
    }

    #[test]
    fn labels_in_wireshark_order() {
        let f = AnalysisFlags(
            AnalysisFlags::RETRANSMISSION
                | AnalysisFlags::WINDOW_UPDATE
                | AnalysisFlags::ZERO_WINDOW
                | AnalysisFlags::PORTS_REUSED
                | AnalysisFlags::PREVIOUS_SEGMENT_NOT_CAPTURED
                | AnalysisFlags::WINDOW_FULL,
        );
        let labels: Vec<&str> = f.labels().collect();
        assert_eq!(
            labels,
            [
                "TCP ZeroWindow",
                "TCP Window Full",
                "TCP Window Update",
                "TCP Previous segment not captured",
                "TCP Retransmission",
                "TCP Port numbers reused"
            ]
        );
        assert_eq!(AnalysisFlags::default().labels().count(), 0);
        let all = AnalysisFlags(u16::MAX).labels().count();
        assert_eq!(all, 15);
    }

    #[test]
    fn dup_acks_counted_with_original_frame() {
        let mut a = TcpAnalyzer::new();
        use Direction::{ClientToServer as C, ServerToClient as S};
        a.analyze(1, C, &seg(100, 0, SYN, 1000, 0, &[]));
        a.analyze(2, S, &seg(500, 101, SYN | ACK, 1000, 0, &[]));
        a.analyze(3, C, &seg(101, 501, ACK, 1000, 10, &[]));
        a.analyze(4, S, &seg(501, 111, ACK, 1000, 0, &[]));
        let r = a.analyze(5, S, &seg(501, 111, ACK, 1000, 0, &[]));
        assert_eq!(r.dup_ack, Some((4, 1)));
        let r = a.analyze(6, S, &seg(501, 111, ACK, 1000, 0, &[]));
        assert_eq!(r.dup_ack, Some((4, 2)));
        assert!(r.flags.has(AnalysisFlags::DUP_ACK));
        // A window change is an update, not a duplicate.
        let r = a.analyze(7, S, &seg(501, 111, ACK, 2000, 0, &[]));
        assert_eq!(
            (r.flags, r.dup_ack),
            (AnalysisFlags(AnalysisFlags::WINDOW_UPDATE), None)
        );
    }

    #[test]
    fn window_scale_option_scan() {
        assert_eq!(window_scale_option(&OPTS_WS6), Some(6));
        assert_eq!(window_scale_option(&[1, 1, 3, 3, 14]), Some(14));
        assert_eq!(
            window_scale_option(&[0, 3, 3, 7]),
            None,
            "after end of list"
        );
        assert_eq!(window_scale_option(&[2, 4, 5]), None, "truncated option");
        assert_eq!(
            window_scale_option(&[2, 0, 3, 3, 7]),
            None,
            "bad length stops"
        );
        assert_eq!(window_scale_option(&[3, 3]), None);
        assert_eq!(window_scale_option(&[]), None);
        // Shift above 14 is treated as 14 (RFC 7323 §2.3).
        let mut a = TcpAnalyzer::new();
        a.analyze(
            1,
            Direction::ClientToServer,
            &seg(1, 0, SYN, 10, 0, &[3, 3, 20]),
        );
        a.analyze(
            2,
            Direction::ServerToClient,
            &seg(9, 2, SYN | ACK, 10, 0, &[3, 3, 20]),
        );
        let r = a.analyze(3, Direction::ClientToServer, &seg(2, 10, ACK, 1, 0, &[]));
        assert_eq!(r.window, 1 << 14);
    }

    #[test]
    fn scaling_needs_both_syns() {
        use Direction::{ClientToServer as C, ServerToClient as S};
        let mut a = TcpAnalyzer::new();
        a.analyze(1, C, &seg(1, 0, SYN, 100, 0, &OPTS_WS6));
        a.analyze(2, S, &seg(9, 2, SYN | ACK, 100, 0, &[]));
        let r = a.analyze(3, C, &seg(2, 10, ACK, 100, 0, &[]));
        assert_eq!(r.window, 100, "SYN-ACK without WS: no scaling");
    }
}
