//! One TCP connection's transport: both directions' reassembly, Wireshark's TCP analysis,
//! and how it ended. What the bytes mean is decided above, by whoever takes the
//! deliveries ([`StreamHandler`]).

use crate::flow::TcpEnd;
use crate::flow::analysis::{Direction, SegmentAnalysis, TcpAnalyzer};
use crate::flow::reassembly::{Delivery, Reassembler, ReassemblyLimits};
use crate::wire::{TcpFlags, TcpSegment};
use std::io;

/// Takes what reassembly delivers, side by side (side 0 is the connection's first sender).
pub trait StreamHandler {
    /// In-order bytes or a gap of side `side`.
    fn deliver(&mut self, side: usize, delivery: Delivery<'_>) -> io::Result<()>;
    /// A segment of side `side` was buffered ahead of a hole (called right after placing it).
    fn buffered_out_of_order(&mut self, side: usize);
}

/// The transport state of one connection.
#[derive(Debug)]
pub struct TcpConnection {
    reassemblers: [Reassembler; 2],
    analyzer: TcpAnalyzer,
    /// First packet of the connection.
    pub first_packet: u64,
    /// Last packet seen.
    pub last_packet: u64,
    /// Capture time of `last_packet`, seconds since the first packet of the capture.
    pub last_time: f64,
    fin: [bool; 2],
    reset: bool,
}

impl TcpConnection {
    /// A connection whose first packet is `first_packet`.
    pub fn new(first_packet: u64, limits: ReassemblyLimits) -> Self {
        TcpConnection {
            reassemblers: [Reassembler::new(limits), Reassembler::new(limits)],
            analyzer: TcpAnalyzer::new(),
            first_packet,
            last_packet: first_packet,
            last_time: 0.0,
            fin: [false; 2],
            reset: false,
        }
    }

    /// Reserves both directions' out-of-order bytes from the memory budget's account.
    pub fn set_budget(&mut self, held: &crate::flow::budget::HeldPayload) {
        for r in &mut self.reassemblers {
            r.set_budget(held.clone());
        }
    }

    /// Whether the connection is over (FIN both ways, or RST).
    pub fn is_closed(&self) -> bool {
        self.reset || (self.fin[0] && self.fin[1])
    }

    /// How the connection ended (so far).
    pub fn end_state(&self) -> TcpEnd {
        if self.reset {
            TcpEnd::Reset
        } else if self.fin[0] && self.fin[1] {
            TcpEnd::Closed
        } else if self.fin[0] || self.fin[1] {
            TcpEnd::HalfClosed
        } else {
            TcpEnd::Open
        }
    }

    /// Processes one segment from `side`, captured at `time_ns` (nanoseconds since the
    /// first packet): Wireshark's analysis of it, then the bytes it made deliverable (its
    /// own, and the peer's that its ACK gave up waiting for) to `up`.
    pub fn segment(
        &mut self,
        packet: u64,
        time_ns: i128,
        side: usize,
        seg: &TcpSegment<'_>,
        up: &mut dyn StreamHandler,
    ) -> io::Result<SegmentAnalysis> {
        self.last_packet = packet;
        self.last_time = time_ns as f64 / 1e9;
        let flags = seg.flags;
        // The analysis only needs a stable orientation: side 0 → 1 is "client to server".
        let orientation = if side == 0 {
            Direction::ClientToServer
        } else {
            Direction::ServerToClient
        };
        let analysis = self.analyzer.analyze_at(packet, time_ns, orientation, seg);
        let other = 1 - side;
        if !flags.has(TcpFlags::RST) {
            let pushed = self.reassemblers[side].push(
                packet,
                seg.seq,
                flags.has(TcpFlags::SYN),
                seg.payload,
                &mut |d| up.deliver(side, d),
            )?;
            if pushed.buffered_out_of_order {
                up.buffered_out_of_order(side);
            }
            if seg.missing_payload > 0 {
                // Snaplen cut the segment: the rest was sent but never captured.
                self.reassemblers[side].flush(packet, &mut |d| up.deliver(side, d))?;
            }
        }
        if flags.has(TcpFlags::ACK) {
            self.reassemblers[other].peer_acked(packet, seg.ack, &mut |d| up.deliver(other, d))?;
        }
        if flags.has(TcpFlags::FIN) {
            self.fin[side] = true;
            let fin_seq = seg
                .seq
                .wrapping_add(u32::from(flags.has(TcpFlags::SYN)))
                .wrapping_add(seg.wire_len());
            self.reassemblers[side].fin(packet, fin_seq);
        }
        if flags.has(TcpFlags::RST) {
            self.reset = true;
        }
        Ok(analysis)
    }

    /// The connection or the capture ended: delivers everything still buffered, with gaps,
    /// side 0 first.
    pub fn flush(&mut self, packet: u64, up: &mut dyn StreamHandler) -> io::Result<()> {
        for (side, reassembler) in self.reassemblers.iter_mut().enumerate() {
            reassembler.flush(packet, &mut |d| up.deliver(side, d))?;
        }
        Ok(())
    }
}
