//! One direction of a TCP connection put back in order.
//!
//! Bytes are delivered in sequence order, each chunk tagged with the packet that carried it.
//! Only out-of-order data is buffered (copied), up to a cap.

use crate::flow::budget::HeldPayload;
use crate::flow::seq::seq_diff;
use std::collections::BTreeMap;
use std::io;

/// Where reassembly hands its deliveries; an error (from the stage above, e.g. a closed
/// output pipe) stops the delivery and is returned by the reassembler's method.
pub type Deliver<'f> = &'f mut dyn FnMut(Delivery<'_>) -> io::Result<()>;

/// Caps on what one direction may buffer.
#[derive(Debug, Clone, Copy)]
pub struct ReassemblyLimits {
    /// Most out-of-order bytes held per direction before the hole is declared a gap.
    pub max_buffered: usize,
}

impl Default for ReassemblyLimits {
    fn default() -> Self {
        ReassemblyLimits {
            max_buffered: 4 << 20,
        }
    }
}

/// What reassembly hands to the next stage, in stream order.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivery<'a> {
    /// In-order bytes carried by `packet`.
    Data {
        /// Packet number (1-based, as in the timeline) that carried these bytes.
        packet: u64,
        /// The bytes.
        bytes: &'a [u8],
    },
    /// `len` bytes that were sent but never captured; the stream continues after them.
    Gap {
        /// Number of missing bytes (may be huge if sequence numbers jumped).
        len: u64,
        /// The packet being processed when the gap was declared.
        packet: u64,
    },
}

/// Most recently delivered bytes kept per direction to tell a faithful retransmission from
/// one carrying different bytes ([`PushOutcome::conflicting_overlap`]).
const RECENT_BYTES: usize = 64 * 1024;
/// First capacity of the remembered bytes (see [`Recent::push`]).
const FIRST_RECENT_CAPACITY: usize = 1024;

/// The last delivered bytes of one direction, at most [`RECENT_BYTES`]: a ring that is
/// filled with block copies (a byte-wise deque cost more than the rest of reassembly).
#[derive(Debug, Default)]
struct Recent {
    /// Grows to `RECENT_BYTES`, then wraps.
    buf: Vec<u8>,
    /// Index of the oldest byte once `buf` is full (0 before).
    start: usize,
}

impl Recent {
    fn len(&self) -> usize {
        self.buf.len()
    }

    /// Appends `bytes`, forgetting the oldest bytes beyond the capacity.
    fn push(&mut self, bytes: &[u8]) {
        let mut bytes = bytes
            .get(bytes.len().saturating_sub(RECENT_BYTES)..)
            .unwrap_or(bytes);
        if self.buf.len() < RECENT_BYTES {
            let n = (RECENT_BYTES - self.buf.len()).min(bytes.len());
            if self.buf.capacity() == 0 {
                // One first allocation that holds a short connection's whole direction
                // (an upgrade request and a few frames), instead of regrowing from the
                // first segment's size: the regrowth was 3% of `check` on 100 000 short
                // connections (callgrind).
                self.buf.reserve(n.max(FIRST_RECENT_CAPACITY));
            }
            let (now, later) = bytes.split_at(n);
            self.buf.extend_from_slice(now);
            bytes = later;
        }
        while !bytes.is_empty() {
            let n = (RECENT_BYTES - self.start).min(bytes.len());
            let (now, later) = bytes.split_at(n);
            if let Some(dst) = self.buf.get_mut(self.start..self.start + n) {
                dst.copy_from_slice(now);
            }
            self.start = (self.start + n) % RECENT_BYTES;
            bytes = later;
        }
    }

    /// The remembered bytes from logical position `from` (0 = oldest), as two slices.
    fn from(&self, from: usize) -> (&[u8], &[u8]) {
        // Once wrapped, `buf[start..]` holds the oldest bytes and `buf[..start]` the newest.
        let (newest, oldest) = self.buf.split_at(self.start.min(self.buf.len()));
        match oldest.get(from..) {
            Some(first) => (first, newest),
            None => (&[], newest.get(from - oldest.len()..).unwrap_or_default()),
        }
    }

    /// Forgets everything (after a gap).
    fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
    }

    /// Forgets everything and gives the memory back (the direction is finished).
    fn release(&mut self) {
        *self = Recent::default();
    }
}

/// Most out-of-order chunks held at once (bounds the map's bookkeeping for tiny segments).
const MAX_CHUNKS: usize = 16 * 1024;

/// One buffered out-of-order chunk.
#[derive(Debug)]
struct Chunk {
    packet: u64,
    data: Vec<u8>,
}

/// Reassembly of one direction of one connection.
///
/// Positions are kept as 64-bit stream offsets (0 = first byte of the stream), so sequence
/// wrap-around is dealt with once, when a segment's sequence number is placed relative to the
/// next expected byte (within ±2^31).
///
/// Overlaps: the copy that arrived first wins, whether it was already delivered or is still
/// buffered. `conflicting_overlap` compares a retransmitted byte with the first copy when
/// that copy is either still buffered or among the last 64 KiB delivered in this direction;
/// older bytes, and bytes retransmitted after the direction finished (FIN reached, when the
/// remembered bytes are released), are counted as duplicates without comparison.
#[derive(Debug)]
pub struct Reassembler {
    limits: ReassemblyLimits,
    /// Sequence number of stream offset 0, once the first segment was seen.
    base: Option<u32>,
    /// Stream offset of the next byte to deliver.
    next: u64,
    /// Stream offset of the FIN, once seen.
    fin: Option<u64>,
    /// Out-of-order chunks by stream offset: non-overlapping, all starting after `next`.
    ooo: BTreeMap<u64, Chunk>,
    /// Sum of the chunk lengths in `ooo`.
    buffered: usize,
    /// The last delivered bytes: stream offsets `next - recent.len() .. next`.
    recent: Recent,
    /// The memory budget's account the out-of-order bytes are reserved from (all of
    /// `buffered` is reserved).
    held: HeldPayload,
}

impl Reassembler {
    /// A direction with nothing seen yet.
    pub fn new(limits: ReassemblyLimits) -> Self {
        Reassembler {
            limits,
            base: None,
            next: 0,
            fin: None,
            ooo: BTreeMap::new(),
            buffered: 0,
            recent: Recent::default(),
            held: HeldPayload::default(),
        }
    }

    /// Reserves the out-of-order bytes it holds from `held`, the memory budget's account
    /// shared by every connection: when the account is spent, a hole is declared a gap as
    /// when [`ReassemblyLimits::max_buffered`] is reached.
    pub fn set_budget(&mut self, held: HeldPayload) {
        self.held = held;
    }

    /// `n` buffered bytes left the buffer.
    fn unbuffer(&mut self, n: usize) {
        self.buffered -= n;
        self.held.release(n);
    }

    /// Feeds one segment of this direction. `seq` is the segment's sequence number as sent
    /// (with `syn` set, the first payload byte is `seq + 1`). Calls `out` for every chunk
    /// that became deliverable, in order; returns what was noticed about the segment.
    ///
    /// The first segment seen fixes the start of the stream: `seq + 1` for a SYN, `seq`
    /// otherwise (capture started mid-connection; earlier bytes are then ignored).
    /// Keep-alive probes (at most one byte at the sequence number just before the next
    /// expected byte) are ignored. Bytes at or after a FIN reported by [`Reassembler::fin`]
    /// are ignored.
    pub fn push(
        &mut self,
        packet: u64,
        seq: u32,
        syn: bool,
        payload: &[u8],
        out: Deliver<'_>,
    ) -> io::Result<PushOutcome> {
        let mut outcome = PushOutcome::default();
        let data_seq = if syn { seq.wrapping_add(1) } else { seq };
        let base = *self.base.get_or_insert(data_seq);
        let off = self.offset_of(base, data_seq);
        let next = i128::from(self.next);
        if !syn && payload.len() <= 1 && off == next - 1 {
            // Keep-alive probe: the byte (if any) is garbage, never data.
            return Ok(outcome);
        }
        if payload.is_empty() {
            return Ok(outcome);
        }
        // Nothing after the FIN belongs to the stream.
        let mut bytes = payload;
        if let Some(fin) = self.fin {
            let room = (i128::from(fin) - off).max(0);
            if room < bytes.len() as i128 {
                bytes = bytes.get(..room as usize).unwrap_or(&[]);
            }
        }
        if !bytes.is_empty() {
            self.place(packet, off, bytes, out, &mut outcome)?;
        }
        Ok(outcome)
    }

    /// Reports the FIN of this direction: `seq_of_fin` is the sequence number the FIN flag
    /// occupies (the segment's `seq` plus its payload length). Data at or after it is
    /// ignored from now on; [`Reassembler::flush`] reports missing bytes before it as a gap.
    /// A second FIN at another position is ignored (the first one wins).
    pub fn fin(&mut self, packet: u64, seq_of_fin: u32) {
        let _ = packet;
        let base = *self.base.get_or_insert(seq_of_fin);
        let off = self.offset_of(base, seq_of_fin);
        if off < i128::from(self.next) || self.fin.is_some() {
            return;
        }
        let fin = off as u64;
        self.fin = Some(fin);
        if self.is_finished() {
            self.recent.release();
        }
        // Drop buffered bytes at or beyond the FIN.
        let beyond: Vec<u64> = self.ooo.range(fin..).map(|(k, _)| *k).collect();
        for k in beyond {
            if let Some(chunk) = self.ooo.remove(&k) {
                self.unbuffer(chunk.data.len());
            }
        }
        if let Some((&k, chunk)) = self.ooo.range_mut(..fin).next_back() {
            let keep = (fin - k) as usize;
            if chunk.data.len() > keep {
                let cut = chunk.data.len() - keep;
                chunk.data.truncate(keep);
                self.unbuffer(cut);
            }
        }
    }

    /// The peer acknowledged everything before `ack`: bytes still missing below it will
    /// never be retransmitted, so they are delivered as a gap and buffered data after it
    /// flows on.
    pub fn peer_acked(&mut self, packet: u64, ack: u32, out: Deliver<'_>) -> io::Result<()> {
        let Some(base) = self.base else {
            return Ok(());
        };
        let mut target = self.offset_of(base, ack);
        if let Some(fin) = self.fin {
            // The FIN itself is acknowledged too; it is not a missing byte.
            target = target.min(i128::from(fin));
        }
        while i128::from(self.next) < target {
            let next = self.next;
            match self.ooo.first_key_value().map(|(k, _)| *k) {
                Some(k) if k == next => {}
                Some(k) if i128::from(k) < target => self.gap(k - next, packet, out)?,
                _ => self.gap((target - i128::from(next)) as u64, packet, out)?,
            }
            self.drain_contiguous(out)?;
        }
        Ok(())
    }

    /// End of capture or of the connection: deliver everything still buffered, with gaps.
    pub fn flush(&mut self, packet: u64, out: Deliver<'_>) -> io::Result<()> {
        while let Some(k) = self.ooo.first_key_value().map(|(k, _)| *k) {
            if k > self.next {
                self.gap(k - self.next, packet, out)?;
            }
            self.drain_contiguous(out)?;
        }
        if let Some(fin) = self.fin.filter(|&f| f > self.next) {
            self.gap(fin - self.next, packet, out)?;
        }
        Ok(())
    }

    /// Bytes currently held out of order.
    pub fn buffered_bytes(&self) -> usize {
        self.buffered
    }

    /// The sequence number of the next byte expected, once the stream has started.
    pub fn next_seq(&self) -> Option<u32> {
        self.base.map(|b| b.wrapping_add(self.next as u32))
    }

    /// Whether a FIN was reported and every byte before it has been delivered (or gapped).
    pub fn is_finished(&self) -> bool {
        self.fin == Some(self.next)
    }

    /// Places `seq` on the stream-offset line, relative to the next expected byte.
    fn offset_of(&self, base: u32, seq: u32) -> i128 {
        let expected = base.wrapping_add(self.next as u32);
        i128::from(self.next) + i128::from(seq_diff(seq, expected))
    }

    /// Places `bytes` starting at stream offset `off` (any value): drops what was already
    /// delivered, delivers what is in order, buffers the rest.
    fn place(
        &mut self,
        packet: u64,
        mut off: i128,
        mut bytes: &[u8],
        out: Deliver<'_>,
        outcome: &mut PushOutcome,
    ) -> io::Result<()> {
        loop {
            let next = i128::from(self.next);
            let end = off + bytes.len() as i128;
            if end <= next {
                self.note_delivered_overlap(off, bytes, outcome);
                return Ok(());
            }
            if off < next {
                let dup = (next - off) as usize;
                let (old, new) = bytes.split_at(dup.min(bytes.len()));
                self.note_delivered_overlap(off, old, outcome);
                bytes = new;
                off = next;
            }
            if off == next {
                return self.deliver_in_order(packet, bytes, out, outcome);
            }
            // Ahead of a hole.
            let fits = self.buffered + bytes.len() <= self.limits.max_buffered
                && self.ooo.len() < MAX_CHUNKS
                && {
                    let granted = self.held.reserve(bytes.len());
                    if granted < bytes.len() {
                        self.held.release(granted);
                    }
                    granted == bytes.len()
                };
            if fits {
                let kept = self.buffer(packet, off as u64, bytes, outcome);
                // Bytes already buffered (overlaps) were reserved twice.
                self.held.release(bytes.len() - kept);
                return Ok(());
            }
            // Buffer full: stop waiting for the oldest hole.
            outcome.dropped_over_cap = true;
            match self.ooo.first_key_value().map(|(k, _)| *k) {
                Some(k) if i128::from(k) < off => {
                    self.gap(k - self.next, packet, out)?;
                    self.drain_contiguous(out)?;
                }
                _ => self.gap((off - next) as u64, packet, out)?,
            }
        }
    }

    /// Delivers `bytes`, which start exactly at `next`, interleaving buffered chunks that
    /// start inside them (those arrived first and win), then whatever became contiguous.
    fn deliver_in_order(
        &mut self,
        packet: u64,
        bytes: &[u8],
        out: Deliver<'_>,
        outcome: &mut PushOutcome,
    ) -> io::Result<()> {
        let start = self.next;
        let end = start + bytes.len() as u64;
        loop {
            let cur = (self.next.saturating_sub(start) as usize).min(bytes.len());
            let Some(k) = self.ooo.first_key_value().map(|(k, _)| *k) else {
                break;
            };
            if k >= end {
                break;
            }
            if k > self.next {
                let upto = ((k - start) as usize).min(bytes.len());
                if let Some(piece) = bytes.get(cur..upto) {
                    self.emit(packet, piece, out)?;
                }
            }
            let Some((_, chunk)) = self.ooo.pop_first() else {
                break;
            };
            self.unbuffer(chunk.data.len());
            let cur = (self.next.saturating_sub(start) as usize).min(bytes.len());
            let rest = bytes.get(cur..).unwrap_or(&[]);
            let overlap = rest.len().min(chunk.data.len());
            note_overlap(&chunk.data[..overlap], &rest[..overlap], outcome);
            self.emit(chunk.packet, &chunk.data, out)?;
        }
        let cur = (self.next.saturating_sub(start) as usize).min(bytes.len());
        if let Some(rest) = bytes.get(cur..) {
            self.emit(packet, rest, out)?;
        }
        self.drain_contiguous(out)
    }

    /// Buffers `bytes` at `off` (> next), keeping earlier buffered copies where they overlap.
    /// Buffers what of `bytes` is not buffered yet; returns how many bytes that was.
    fn buffer(&mut self, packet: u64, off: u64, bytes: &[u8], outcome: &mut PushOutcome) -> usize {
        let end = off + bytes.len() as u64;
        let mut pieces: Vec<(u64, u64)> = Vec::new();
        let mut cur = off;
        let before = self.ooo.range(..off).next_back();
        let overlapping = before
            .into_iter()
            .chain(self.ooo.range(off..end))
            .filter(|(k, c)| **k + c.data.len() as u64 > off);
        for (&k, chunk) in overlapping {
            let k_end = k + chunk.data.len() as u64;
            if k > cur {
                pieces.push((cur, k));
            }
            let (o_start, o_end) = (k.max(off), k_end.min(end));
            if o_start < o_end {
                let theirs = &chunk.data[(o_start - k) as usize..(o_end - k) as usize];
                let ours = &bytes[(o_start - off) as usize..(o_end - off) as usize];
                note_overlap(theirs, ours, outcome);
            }
            cur = cur.max(k_end);
        }
        if cur < end {
            pieces.push((cur, end));
        }
        let mut kept = 0;
        for (s, e) in pieces {
            let data = bytes[(s - off) as usize..(e - off) as usize].to_vec();
            kept += data.len();
            self.buffered += data.len();
            self.ooo.insert(s, Chunk { packet, data });
            outcome.buffered_out_of_order = true;
        }
        kept
    }

    /// Delivers buffered chunks while they are contiguous with `next`.
    fn drain_contiguous(&mut self, out: Deliver<'_>) -> io::Result<()> {
        while let Some(k) = self.ooo.first_key_value().map(|(k, _)| *k) {
            if k > self.next {
                break;
            }
            let Some((_, chunk)) = self.ooo.pop_first() else {
                break;
            };
            self.unbuffer(chunk.data.len());
            let skip = (self.next - k) as usize;
            if let Some(rest) = chunk.data.get(skip..) {
                self.emit(chunk.packet, rest, out)?;
            }
        }
        Ok(())
    }

    /// Hands `bytes` (starting at `next`) to `out` and remembers them.
    fn emit(&mut self, packet: u64, bytes: &[u8], out: Deliver<'_>) -> io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        out(Delivery::Data { packet, bytes })?;
        self.next += bytes.len() as u64;
        if self.is_finished() {
            // Nothing can be delivered any more: retransmissions are counted unchecked.
            self.recent.release();
        } else {
            self.recent.push(bytes);
        }
        Ok(())
    }

    /// Declares `len` missing bytes at `next`.
    fn gap(&mut self, len: u64, packet: u64, out: Deliver<'_>) -> io::Result<()> {
        if len == 0 {
            return Ok(());
        }
        out(Delivery::Gap { len, packet })?;
        self.next += len;
        self.recent.clear();
        Ok(())
    }

    /// Counts `bytes` at `off` (entirely before `next`) as duplicates and compares them with
    /// the remembered delivered bytes.
    fn note_delivered_overlap(&self, off: i128, bytes: &[u8], outcome: &mut PushOutcome) {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        outcome.duplicate_bytes = outcome.duplicate_bytes.saturating_add(len);
        let next = i128::from(self.next);
        let recent_start = next - self.recent.len() as i128;
        let from = off.max(recent_start);
        let to = (off + bytes.len() as i128).min(next);
        if from >= to {
            return;
        }
        let ours = &bytes[(from - off) as usize..(to - off) as usize];
        let (first, second) = self.recent.from((from - recent_start) as usize);
        let (ours_first, ours_second) = ours.split_at(first.len().min(ours.len()));
        let theirs_second = second.get(..ours_second.len()).unwrap_or(second);
        if first.get(..ours_first.len()) != Some(ours_first) || theirs_second != ours_second {
            outcome.conflicting_overlap = true;
        }
    }
}

/// Records an overlap between a first copy (`theirs`) and a later one (`ours`).
fn note_overlap(theirs: &[u8], ours: &[u8], outcome: &mut PushOutcome) {
    let len = u32::try_from(ours.len()).unwrap_or(u32::MAX);
    outcome.duplicate_bytes = outcome.duplicate_bytes.saturating_add(len);
    if theirs != ours {
        outcome.conflicting_overlap = true;
    }
}

/// What `push` noticed about one segment (for anomalies; the timeline flags come from
/// [`crate::flow::analysis`]).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct PushOutcome {
    /// Bytes of this segment already delivered earlier, or already buffered from an earlier
    /// segment (retransmitted or overlapping); the first copy is the one kept.
    pub duplicate_bytes: u32,
    /// The overlapping bytes differed from what was delivered first (first copy kept).
    pub conflicting_overlap: bool,
    /// The segment arrived ahead of a hole and was buffered.
    pub buffered_out_of_order: bool,
    /// The out-of-order buffer was full when this segment arrived: instead of dropping it,
    /// the oldest hole was given up on and delivered as a [`Delivery::Gap`], so no byte of
    /// this segment was lost.
    pub dropped_over_cap: bool,
}

impl Drop for Reassembler {
    fn drop(&mut self) {
        self.held.release(self.buffered);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What came out, owned: (packet, bytes) for data, (packet, len) as `Err` for gaps.
    type Out = Vec<Result<(u64, Vec<u8>), (u64, u64)>>;

    fn collect(out: &mut Out) -> impl FnMut(Delivery<'_>) -> io::Result<()> + '_ {
        |d| {
            match d {
                Delivery::Data { packet, bytes } => out.push(Ok((packet, bytes.to_vec()))),
                Delivery::Gap { len, packet } => out.push(Err((packet, len))),
            }
            Ok(())
        }
    }

    fn stream(out: &Out) -> Vec<u8> {
        out.iter()
            .filter_map(|d| d.as_ref().ok())
            .flat_map(|(_, b)| b.clone())
            .collect()
    }

    fn small(max: usize) -> Reassembler {
        Reassembler::new(ReassemblyLimits { max_buffered: max })
    }

    #[test]
    fn recent_ring_keeps_the_last_bytes_in_order() {
        let mut ring = Recent::default();
        let mut model: Vec<u8> = Vec::new();
        let mut seed = 7u32;
        for round in 0..200 {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            let len = (seed as usize) % (RECENT_BYTES / 3 + 1) + usize::from(round % 7 == 0);
            let bytes: Vec<u8> = (0..len).map(|i| (i as u32 ^ seed) as u8).collect();
            ring.push(&bytes);
            model.extend_from_slice(&bytes);
            let keep = model.len().saturating_sub(RECENT_BYTES);
            model.drain(..keep);
            assert_eq!(ring.len(), model.len());
            for from in [
                0,
                1,
                model.len() / 2,
                model.len().saturating_sub(1),
                model.len(),
            ] {
                let (a, b) = ring.from(from);
                assert_eq!(
                    [a, b].concat(),
                    model[from.min(model.len())..],
                    "from {from}"
                );
            }
        }
    }

    #[test]
    fn in_order_zero_copy() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        let payload = b"hello".to_vec();
        r.push(1, 1000, true, &[], &mut collect(&mut out)).unwrap();
        let mut seen_ptr = None;
        r.push(2, 1001, false, &payload, &mut |d| {
            if let Delivery::Data { bytes, .. } = d {
                seen_ptr = Some(bytes.as_ptr());
            }
            Ok(())
        })
        .unwrap();
        assert_eq!(
            seen_ptr,
            Some(payload.as_ptr()),
            "delivered straight from the slice"
        );
        r.push(3, 1006, false, b" world", &mut collect(&mut out))
            .unwrap();
        assert_eq!(out, vec![Ok((3, b" world".to_vec()))]);
        assert_eq!(r.buffered_bytes(), 0);
        assert_eq!(r.next_seq(), Some(1012));
    }

    #[test]
    fn shared_budget_turns_a_hole_into_a_gap_and_is_given_back() {
        let held = HeldPayload::new(5);
        let mut a = Reassembler::new(ReassemblyLimits::default());
        let mut b = Reassembler::new(ReassemblyLimits::default());
        a.set_budget(held.clone());
        b.set_budget(held.clone());
        let mut out = Out::new();
        a.push(1, 99, true, &[], &mut collect(&mut out)).unwrap();
        b.push(2, 99, true, &[], &mut collect(&mut out)).unwrap();
        let o = a
            .push(3, 103, false, b"defg", &mut collect(&mut out))
            .unwrap();
        assert!(o.buffered_out_of_order && out.is_empty());
        assert_eq!(held.used(), 4);
        // The account has 1 byte left: b's hole of 3 bytes becomes a gap at once.
        let o = b
            .push(4, 103, false, b"wxyz", &mut collect(&mut out))
            .unwrap();
        assert!(o.dropped_over_cap);
        assert_eq!(out, vec![Err((4, 3)), Ok((4, b"wxyz".to_vec()))]);
        out.clear();
        a.push(5, 100, false, b"abc", &mut collect(&mut out))
            .unwrap();
        assert_eq!(
            out,
            vec![Ok((5, b"abc".to_vec())), Ok((3, b"defg".to_vec()))]
        );
        assert_eq!(held.used(), 0);
        a.push(6, 110, false, b"late", &mut collect(&mut out))
            .unwrap();
        assert_eq!(held.used(), 4);
        drop(a);
        assert_eq!(held.used(), 0);
    }

    #[test]
    fn out_of_order_two_one_three() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        r.push(1, 99, true, &[], &mut collect(&mut out)).unwrap();
        let o = r
            .push(11, 103, false, b"def", &mut collect(&mut out))
            .unwrap();
        assert!(o.buffered_out_of_order);
        assert!(out.is_empty());
        assert_eq!(r.buffered_bytes(), 3);
        r.push(10, 100, false, b"abc", &mut collect(&mut out))
            .unwrap();
        r.push(12, 106, false, b"ghi", &mut collect(&mut out))
            .unwrap();
        assert_eq!(
            out,
            vec![
                Ok((10, b"abc".to_vec())),
                Ok((11, b"def".to_vec())),
                Ok((12, b"ghi".to_vec()))
            ]
        );
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn retransmission_compared_across_the_ring_wrap() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        // 100 KB in 10 KB segments: the ring has wrapped.
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 251) as u8).collect();
        for (k, seg) in data.chunks(10_000).enumerate() {
            r.push(
                k as u64 + 1,
                (k * 10_000) as u32,
                false,
                seg,
                &mut collect(&mut out),
            )
            .unwrap();
        }
        // A faithful retransmission of 60 000..90 000 (inside the last 64 KiB).
        let o = r
            .push(
                20,
                60_000,
                false,
                &data[60_000..90_000],
                &mut collect(&mut out),
            )
            .unwrap();
        assert_eq!(o.duplicate_bytes, 30_000);
        assert!(!o.conflicting_overlap);
        // The same range with one byte changed.
        let mut bad = data[60_000..90_000].to_vec();
        bad[29_999] ^= 1;
        let o = r
            .push(21, 60_000, false, &bad, &mut collect(&mut out))
            .unwrap();
        assert!(o.conflicting_overlap);
        // Older than the last 64 KiB: counted, not compared.
        let mut old = data[..10_000].to_vec();
        old[0] ^= 1;
        let o = r.push(22, 0, false, &old, &mut collect(&mut out)).unwrap();
        assert_eq!(o.duplicate_bytes, 10_000);
        assert!(!o.conflicting_overlap);
        assert_eq!(stream(&out), data);
    }

    #[test]
    fn retransmission_counted_not_redelivered() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        r.push(1, 0, false, b"abcdef", &mut collect(&mut out))
            .unwrap();
        let o = r
            .push(2, 0, false, b"abcdef", &mut collect(&mut out))
            .unwrap();
        assert_eq!(o.duplicate_bytes, 6);
        assert!(!o.conflicting_overlap);
        // Partial overlap: 3 old bytes, 3 new ones.
        let o = r
            .push(3, 3, false, b"defghi", &mut collect(&mut out))
            .unwrap();
        assert_eq!(o.duplicate_bytes, 3);
        assert!(!o.conflicting_overlap);
        assert_eq!(stream(&out), b"abcdefghi");
        assert_eq!(out.len(), 2);
    }

    #[test]
    fn conflicting_overlap_first_copy_wins() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        r.push(1, 0, false, b"abcdef", &mut collect(&mut out))
            .unwrap();
        let o = r.push(2, 2, false, b"XY", &mut collect(&mut out)).unwrap();
        assert!(o.conflicting_overlap);
        assert_eq!(o.duplicate_bytes, 2);
        assert_eq!(stream(&out), b"abcdef");
    }

    #[test]
    fn overlap_with_buffered_chunks_first_copy_wins() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        r.push(1, 0, false, b"ab", &mut collect(&mut out)).unwrap();
        r.push(2, 4, false, b"efgh", &mut collect(&mut out))
            .unwrap();
        // Overlaps the buffered chunk with different bytes.
        let o = r
            .push(3, 6, false, b"XXij", &mut collect(&mut out))
            .unwrap();
        assert!(o.conflicting_overlap);
        assert_eq!(o.duplicate_bytes, 2);
        // Fills the hole and overlaps the buffered chunk: the buffered copy wins.
        let o = r
            .push(4, 2, false, b"cdEF", &mut collect(&mut out))
            .unwrap();
        assert!(o.conflicting_overlap);
        assert_eq!(stream(&out), b"abcdefghij");
        let packets: Vec<u64> = out
            .iter()
            .filter_map(|d| d.as_ref().ok())
            .map(|d| d.0)
            .collect();
        assert_eq!(packets, vec![1, 4, 2, 3]);
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn gap_via_peer_acked() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        r.push(1, 0, false, b"abc", &mut collect(&mut out)).unwrap();
        r.push(3, 6, false, b"ghi", &mut collect(&mut out)).unwrap();
        r.peer_acked(4, 3, &mut collect(&mut out)).unwrap();
        assert_eq!(out.len(), 1, "ack below the hole changes nothing");
        r.peer_acked(5, 9, &mut collect(&mut out)).unwrap();
        assert_eq!(
            out,
            vec![
                Ok((1, b"abc".to_vec())),
                Err((5, 3)),
                Ok((3, b"ghi".to_vec()))
            ]
        );
        // The lost segment's retransmission arrives late: duplicate, not redelivered.
        let o = r.push(6, 3, false, b"def", &mut collect(&mut out)).unwrap();
        assert_eq!(o.duplicate_bytes, 3);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn peer_acked_beyond_everything_and_fin() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        r.push(1, 10, true, b"", &mut collect(&mut out)).unwrap();
        r.push(2, 11, false, b"ab", &mut collect(&mut out)).unwrap();
        r.fin(2, 13);
        // The ACK of the FIN is not a missing byte.
        r.peer_acked(3, 14, &mut collect(&mut out)).unwrap();
        assert_eq!(out, vec![Ok((2, b"ab".to_vec()))]);
        assert!(r.is_finished());
        // Data after the FIN is ignored.
        r.push(4, 13, false, b"zz", &mut collect(&mut out)).unwrap();
        assert_eq!(out.len(), 1);
    }

    #[test]
    fn gap_via_flush() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        r.push(1, 0, false, b"a", &mut collect(&mut out)).unwrap();
        r.push(2, 3, false, b"d", &mut collect(&mut out)).unwrap();
        r.push(3, 6, false, b"g", &mut collect(&mut out)).unwrap();
        r.flush(9, &mut collect(&mut out)).unwrap();
        assert_eq!(
            out,
            vec![
                Ok((1, b"a".to_vec())),
                Err((9, 2)),
                Ok((2, b"d".to_vec())),
                Err((9, 2)),
                Ok((3, b"g".to_vec()))
            ]
        );
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn flush_reports_missing_bytes_before_fin() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        r.push(1, 0, false, b"ab", &mut collect(&mut out)).unwrap();
        r.fin(2, 10);
        r.flush(3, &mut collect(&mut out)).unwrap();
        assert_eq!(out, vec![Ok((1, b"ab".to_vec())), Err((3, 8))]);
        assert!(r.is_finished());
    }

    #[test]
    fn cap_exceeded_declares_gap_without_growth() {
        let mut r = small(10);
        let mut out = Out::new();
        r.push(1, 0, false, b"a", &mut collect(&mut out)).unwrap();
        // Byte 1 is lost; 4-byte segments pile up behind it.
        let mut seq = 2u32;
        for p in 2..50u64 {
            let o = r
                .push(p, seq, false, b"wxyz", &mut collect(&mut out))
                .unwrap();
            assert!(r.buffered_bytes() <= 10);
            if p == 4 {
                assert!(o.dropped_over_cap);
            }
            seq += 4;
        }
        assert_eq!(out.get(1), Some(&Err((4, 1))));
        r.flush(99, &mut collect(&mut out)).unwrap();
        let data: usize = out
            .iter()
            .filter_map(|d| d.as_ref().ok())
            .map(|d| d.1.len())
            .sum();
        assert_eq!(data, 1 + 48 * 4, "every captured byte delivered once");
    }

    #[test]
    fn single_segment_larger_than_cap() {
        let mut r = small(4);
        let mut out = Out::new();
        r.push(1, 0, false, b"a", &mut collect(&mut out)).unwrap();
        let o = r
            .push(2, 5, false, b"0123456789", &mut collect(&mut out))
            .unwrap();
        assert!(o.dropped_over_cap);
        assert_eq!(
            out,
            vec![
                Ok((1, b"a".to_vec())),
                Err((2, 4)),
                Ok((2, b"0123456789".to_vec()))
            ]
        );
        assert_eq!(r.buffered_bytes(), 0);
    }

    #[test]
    fn sequence_wrap_around() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        let isn = 0xFFFF_FF00u32;
        r.push(1, isn, true, &[], &mut collect(&mut out)).unwrap();
        let data: Vec<u8> = (0..1024u32).map(|i| (i % 251) as u8).collect();
        // 4 segments of 256 bytes, the 2nd (which crosses 2^32) sent after the 3rd.
        let seg = |i: usize| &data[i * 256..(i + 1) * 256];
        let seq = |i: u32| isn.wrapping_add(1).wrapping_add(i * 256);
        r.push(2, seq(0), false, seg(0), &mut collect(&mut out))
            .unwrap();
        r.push(3, seq(2), false, seg(2), &mut collect(&mut out))
            .unwrap();
        r.push(4, seq(1), false, seg(1), &mut collect(&mut out))
            .unwrap();
        let o = r
            .push(5, seq(1), false, seg(1), &mut collect(&mut out))
            .unwrap();
        assert_eq!(o.duplicate_bytes, 256);
        r.push(6, seq(3), false, seg(3), &mut collect(&mut out))
            .unwrap();
        assert_eq!(stream(&out), data);
        let packets: Vec<u64> = out
            .iter()
            .filter_map(|d| d.as_ref().ok())
            .map(|d| d.0)
            .collect();
        assert_eq!(packets, vec![2, 4, 3, 6]);
        assert_eq!(r.next_seq(), Some(isn.wrapping_add(1025)));
    }

    #[test]
    fn mid_connection_start() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        r.push(7, 5000, false, b"xyz", &mut collect(&mut out))
            .unwrap();
        r.push(8, 5003, false, b"!", &mut collect(&mut out))
            .unwrap();
        // Bytes before the first segment seen are not part of the stream.
        let o = r
            .push(9, 4990, false, b"0123456789", &mut collect(&mut out))
            .unwrap();
        assert_eq!(o.duplicate_bytes, 10);
        assert_eq!(out, vec![Ok((7, b"xyz".to_vec())), Ok((8, b"!".to_vec()))]);
    }

    #[test]
    fn keep_alive_ignored() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        r.push(1, 100, false, b"abc", &mut collect(&mut out))
            .unwrap();
        // One garbage byte at next-1 (Linux sends the last byte, BSD a zero byte).
        let o = r.push(2, 102, false, &[0], &mut collect(&mut out)).unwrap();
        assert_eq!(o, PushOutcome::default());
        let o = r.push(3, 102, false, &[], &mut collect(&mut out)).unwrap();
        assert_eq!(o, PushOutcome::default());
        r.push(4, 103, false, b"d", &mut collect(&mut out)).unwrap();
        assert_eq!(stream(&out), b"abcd");
    }

    #[test]
    fn syn_retransmission_and_syn_with_data() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        r.push(1, 41, true, b"tfo", &mut collect(&mut out)).unwrap();
        let o = r.push(2, 41, true, b"tfo", &mut collect(&mut out)).unwrap();
        assert_eq!(o.duplicate_bytes, 3);
        r.push(3, 45, false, b"!", &mut collect(&mut out)).unwrap();
        assert_eq!(stream(&out), b"tfo!");
    }

    #[test]
    fn fin_truncates_buffered_data() {
        let mut r = Reassembler::new(ReassemblyLimits::default());
        let mut out = Out::new();
        r.push(1, 0, false, b"a", &mut collect(&mut out)).unwrap();
        r.push(2, 2, false, b"cdef", &mut collect(&mut out))
            .unwrap();
        r.fin(3, 4);
        assert_eq!(r.buffered_bytes(), 2);
        r.push(4, 1, false, b"b", &mut collect(&mut out)).unwrap();
        assert_eq!(stream(&out), b"abcd");
        assert!(r.is_finished());
    }
}
