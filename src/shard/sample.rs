//! The default thread count looks at the capture's first packets: when most of their bytes
//! are in large packets, the dissection is bound by copying and memory bandwidth rather
//! than by per-packet work, and one thread is faster than several.
//!
//! Measured on 200 MB of frames of 10-500 KiB (64 connections, packets of 37 KiB on
//! average; `bench/run.sh`'s large capture), `check`, best of 30 (hyperfine): one thread
//! 36 ms, two 50 ms (the worker threads compete with the read-ahead thread's kernel copy
//! for the two cores, and each batch of a few packets costs wake-ups). Small frames
//! (275-byte packets) go the other way: 258 ms on two threads, 336 ms on one. With TLS
//! decryption (same large capture over TLS, keys given) two threads gained 5%.
//!
//! The sampled packets are held (copied) and handed on first, so nothing is read twice
//! and the output is the one the chosen thread count gives on the whole capture.

use crate::capture::{CaptureError, LinkType, PacketSource, RawPacket, Timestamp};
use std::collections::VecDeque;

/// Packets looked at, at most.
const SAMPLE_PACKETS: usize = 2048;
/// Captured bytes looked at, at most.
const SAMPLE_BYTES: usize = 4 << 20;
/// A packet this long or longer is a large one.
const LARGE_PACKET: usize = 4096;
/// Share of the sampled bytes (in percent) in large packets from which one thread is
/// chosen. The first packets of a capture are often handshakes (small whatever follows),
/// so the share of bytes rather than the count of packets decides.
const LARGE_SHARE_PERCENT: usize = 75;

/// A sampled packet, owned.
struct Held {
    timestamp: Timestamp,
    link_type: LinkType,
    original_len: u32,
    data: Vec<u8>,
    /// TLS secrets the source had read by the time it returned this packet.
    secrets: Option<Vec<u8>>,
}

/// A source that hands out the sampled packets, then the rest of `rest`.
pub(super) struct Sampled<'s> {
    rest: &'s mut dyn PacketSource,
    held: VecDeque<Held>,
    /// The packet handed out last, whose bytes the caller borrows until its next call.
    current: Option<Held>,
    /// Secrets to return from the next `take_secrets`.
    secrets: Option<Vec<u8>>,
    /// How reading the sample ended before its limits: `Ok` at the end of the input, or
    /// the error, given out after the held packets.
    ended: Option<Result<(), CaptureError>>,
    /// Large packets' share of the sampled bytes, in percent.
    large_share: usize,
}

impl<'s> Sampled<'s> {
    /// Reads up to [`SAMPLE_PACKETS`] packets or [`SAMPLE_BYTES`] bytes of `rest`, never
    /// waiting for input (a stream that arrives slowly is shown as it arrives).
    pub(super) fn read(rest: &'s mut dyn PacketSource) -> Self {
        let mut held = VecDeque::new();
        let (mut bytes, mut large) = (0usize, 0usize);
        let mut ended = None;
        while held.len() < SAMPLE_PACKETS && bytes < SAMPLE_BYTES && rest.has_next_buffered() {
            match rest.next_packet() {
                Ok(Some(packet)) => {
                    let len = packet.data.len();
                    bytes += len;
                    if len >= LARGE_PACKET {
                        large += len;
                    }
                    let mut packet = Held {
                        timestamp: packet.timestamp,
                        link_type: packet.link_type,
                        original_len: packet.original_len,
                        data: packet.data.to_vec(),
                        secrets: None,
                    };
                    packet.secrets = rest.take_secrets();
                    held.push_back(packet);
                }
                Ok(None) => {
                    ended = Some(Ok(()));
                    break;
                }
                Err(e) => {
                    ended = Some(Err(e));
                    break;
                }
            }
        }
        Sampled {
            rest,
            held,
            current: None,
            secrets: None,
            ended,
            large_share: (large * 100).checked_div(bytes).unwrap_or(0),
        }
    }

    /// Whether most of the sampled bytes are in large packets.
    pub(super) fn mostly_large(&self) -> bool {
        self.large_share >= LARGE_SHARE_PERCENT
    }
}

impl PacketSource for Sampled<'_> {
    fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
        if let Some(mut packet) = self.held.pop_front() {
            self.secrets = join(self.secrets.take(), packet.secrets.take());
            let packet = self.current.insert(packet);
            return Ok(Some(RawPacket {
                timestamp: packet.timestamp,
                link_type: packet.link_type,
                data: &packet.data,
                original_len: packet.original_len,
                block: None,
            }));
        }
        self.current = None;
        match self.ended.take() {
            Some(Ok(())) => Ok(None),
            Some(Err(e)) => Err(e),
            None => self.rest.next_packet(),
        }
    }

    fn has_next_buffered(&mut self) -> bool {
        !self.held.is_empty() || self.ended.is_some() || self.rest.has_next_buffered()
    }

    fn take_secrets(&mut self) -> Option<Vec<u8>> {
        let past_the_sample =
            self.held.is_empty() && self.ended.is_none() && self.current.is_none();
        let mine = self.secrets.take();
        if past_the_sample {
            join(mine, self.rest.take_secrets())
        } else {
            mine
        }
    }
}

/// Key log texts read one after the other, as one ([`PacketSource::take_secrets`]).
fn join(first: Option<Vec<u8>>, then: Option<Vec<u8>>) -> Option<Vec<u8>> {
    match (first, then) {
        (a, None) => a,
        (None, b) => b,
        (Some(mut a), Some(b)) => {
            if !a.ends_with(b"\n") {
                a.push(b'\n');
            }
            a.extend_from_slice(&b);
            Some(a)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a source gives: a packet of this many bytes with these secrets read by then,
    /// or the end (with secrets), or an error.
    #[derive(Clone)]
    enum Scripted {
        Packet(usize, Option<&'static [u8]>),
        End(Option<&'static [u8]>),
        Truncated,
    }

    struct Script {
        items: VecDeque<Scripted>,
        data: Vec<u8>,
        secrets: Option<Vec<u8>>,
        /// `has_next_buffered` turns false after this many packets.
        buffered: usize,
        given: usize,
    }

    impl PacketSource for Script {
        fn next_packet(&mut self) -> Result<Option<RawPacket<'_>>, CaptureError> {
            match self.items.pop_front() {
                Some(Scripted::Packet(len, secrets)) => {
                    self.secrets = join(self.secrets.take(), secrets.map(<[u8]>::to_vec));
                    self.given += 1;
                    self.data = (0..len).map(|i| (i + self.given) as u8).collect();
                    Ok(Some(RawPacket {
                        timestamp: Timestamp::default(),
                        link_type: LinkType(1),
                        data: &self.data,
                        original_len: len as u32,
                        block: None,
                    }))
                }
                Some(Scripted::End(secrets)) => {
                    self.secrets = join(self.secrets.take(), secrets.map(<[u8]>::to_vec));
                    Ok(None)
                }
                Some(Scripted::Truncated) => Err(CaptureError::Truncated {
                    packets_read: self.given as u64,
                }),
                None => Ok(None),
            }
        }

        fn has_next_buffered(&mut self) -> bool {
            self.given < self.buffered
        }

        fn take_secrets(&mut self) -> Option<Vec<u8>> {
            self.secrets.take()
        }
    }

    fn script(items: &[Scripted], buffered: usize) -> Script {
        Script {
            items: items.iter().cloned().collect(),
            data: Vec::new(),
            secrets: None,
            buffered,
            given: 0,
        }
    }

    /// A packet's bytes and the secrets taken after it.
    type Seen = (Vec<u8>, Option<Vec<u8>>);

    /// Everything a reader sees: each packet, then the end (its secrets) or the error.
    fn read_all(source: &mut dyn PacketSource) -> (Vec<Seen>, String) {
        let mut seen = Vec::new();
        loop {
            match source.next_packet() {
                Ok(Some(p)) => {
                    let data = p.data.to_vec();
                    seen.push((data, source.take_secrets()));
                }
                Ok(None) => return (seen, format!("end {:?}", source.take_secrets())),
                Err(e) => return (seen, format!("error {e}")),
            }
        }
    }

    #[test]
    fn the_sampled_source_gives_what_the_source_gives() {
        use Scripted::*;
        let cases: Vec<Vec<Scripted>> = vec![
            vec![],
            vec![End(Some(b"k0"))],
            vec![
                Packet(10, Some(b"k1")),
                Packet(5000, None),
                End(Some(b"k2")),
            ],
            vec![Packet(10, None), Packet(20, Some(b"a\n")), Truncated],
            (0..3000)
                .map(|i| Packet(100 + i % 7, (i % 500 == 0).then_some(&b"k"[..])))
                .chain([End(Some(b"last"))])
                .collect(),
            (0..2000)
                .map(|_| Packet(5000, None))
                .chain([End(None)])
                .collect(),
        ];
        for items in &cases {
            for buffered in [0, 1, 3, usize::MAX] {
                let want = read_all(&mut script(items, usize::MAX));
                let mut rest = script(items, buffered);
                let mut sampled = Sampled::read(&mut rest);
                assert_eq!(
                    read_all(&mut sampled),
                    want,
                    "{} items, buffered {buffered}",
                    items.len()
                );
            }
        }
    }

    #[test]
    fn mostly_large_counts_bytes_not_packets() {
        use Scripted::*;
        // 400 handshake-sized packets then large ones: most bytes are large.
        let items: Vec<Scripted> = (0..400)
            .map(|_| Packet(200, None))
            .chain((0..100).map(|_| Packet(40_000, None)))
            .collect();
        assert!(Sampled::read(&mut script(&items, usize::MAX)).mostly_large());
        // Small frames with the odd large packet.
        let items: Vec<Scripted> = (0..2000)
            .map(|i| Packet(if i % 100 == 0 { 8000 } else { 275 }, None))
            .collect();
        assert!(!Sampled::read(&mut script(&items, usize::MAX)).mostly_large());
        // Nothing waiting: nothing sampled, nothing large.
        assert!(!Sampled::read(&mut script(&items, 0)).mostly_large());
    }
}
