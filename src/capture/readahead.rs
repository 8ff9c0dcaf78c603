//! Reading ahead: `FileSource::read_ahead` moves the reading (the kernel's copy out of
//! the page cache or the pipe, and decompression when the input is compressed) to a helper
//! thread, a few blocks ahead, so it runs on another core while this one dissects. Blocks
//! change hands without copying: each comes with room in front for the unfinished record
//! at the end of the previous one, which is the only thing copied.

use std::io::{self, ErrorKind, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError, sync_channel};
use std::time::Duration;

/// Read-ahead: bytes read per block.
pub(super) const AHEAD_BLOCK: usize = 512 << 10;
/// Read-ahead: room kept in front of each block for the unfinished end of the previous
/// one (larger than any record a 64 KiB-MTU interface produces); a longer record is
/// gathered by copying.
pub(super) const AHEAD_HEADROOM: usize = 128 << 10;
/// What a read of a full Linux pipe returns (its default buffer).
const PIPE_FULL: usize = 64 << 10;
/// Read-ahead: filled blocks waiting for the dissector.
const AHEAD_QUEUE: usize = 2;
/// How often a wait for input looks at the stop flag: an interrupt is seen this soon even
/// while a pipe sends nothing.
const STOP_POLL: Duration = Duration::from_millis(50);

/// The dissector's end of the read-ahead thread.
pub(super) struct Ahead {
    /// Blocks of input with the end of their data (which starts at `AHEAD_HEADROOM`), or
    /// the read error that ended it; the thread hanging up is the end of the input.
    blocks: Receiver<io::Result<(Vec<u8>, usize)>>,
    /// Spent blocks handed back for reuse.
    recycle: SyncSender<Vec<u8>>,
    /// Set (by a signal handler) to end the input where it is.
    stop: Option<Arc<AtomicBool>>,
}

impl Ahead {
    /// Starts the thread reading `reader` a few blocks ahead.
    /// `stop`, once set, ends the input: a wait for more returns the end instead.
    pub(super) fn spawn<S: Read + Send + 'static>(
        mut reader: S,
        stop: Option<Arc<AtomicBool>>,
    ) -> io::Result<Ahead> {
        let (tx, blocks) = sync_channel::<io::Result<(Vec<u8>, usize)>>(AHEAD_QUEUE);
        // Room for the blocks dissection threads hold (`--threads`: a few batches of
        // 2 MiB each) to come back rather than be freed.
        let (recycle, spent) = sync_channel::<Vec<u8>>(AHEAD_QUEUE + 16);
        std::thread::Builder::new()
            .name("wsdissect-read".into())
            .spawn(move || {
                loop {
                    // A spent block if one came back, else a new one. Blocks keep their
                    // full length, so only new memory is ever zero-filled (a pipe's reads
                    // are far shorter than a block).
                    let mut block: Vec<u8> = spent.try_recv().unwrap_or_default();
                    if block.len() != AHEAD_HEADROOM + AHEAD_BLOCK {
                        block.resize(AHEAD_HEADROOM + AHEAD_BLOCK, 0);
                    }
                    // A pipe hands out at most its buffer (64 KiB on Linux) per read. A
                    // read that returned a full pipe means the writer is blocked with more
                    // to write: read on, so a block holds up to AHEAD_BLOCK (a record
                    // rarely straddles blocks, the dissector takes a block 8 times less
                    // often). A shorter read means the writer is slower than the reading:
                    // the block goes now, so a live stream is shown as it arrives.
                    let mut filled = 0;
                    let read = loop {
                        let space = block.get_mut(AHEAD_HEADROOM + filled..).unwrap_or_default();
                        match reader.read(space) {
                            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                            Ok(n) if n == PIPE_FULL && filled + n < AHEAD_BLOCK => filled += n,
                            Ok(n) => break Ok(filled + n),
                            // What was read goes first; the error comes with the next read.
                            Err(_) if filled > 0 => break Ok(filled),
                            Err(e) => break Err(e),
                        }
                    };
                    let sent = match read {
                        // End of input: hanging up says so.
                        Ok(0) => return,
                        Ok(n) => tx.send(Ok((block, AHEAD_HEADROOM + n))),
                        Err(e) => tx.send(Err(e)),
                    };
                    if sent.is_err() {
                        // The source was dropped: nobody wants more.
                        return;
                    }
                }
            })?;
        Ok(Ahead {
            blocks,
            recycle,
            stop,
        })
    }
}

impl Ahead {
    /// The next block and the end of its data (which starts at [`AHEAD_HEADROOM`]):
    /// `Ok(None)` when `wait` is false and nothing is waiting; `Err(None)` at the end of
    /// the input, `Err(Some(e))` when reading failed.
    pub(super) fn next(&self, wait: bool) -> Result<Option<(Vec<u8>, usize)>, Option<io::Error>> {
        if self.stopped() {
            return Err(None);
        }
        let received = if wait && let Some(stop) = &self.stop {
            loop {
                match self.blocks.recv_timeout(STOP_POLL) {
                    Ok(block) => break Ok(block),
                    Err(RecvTimeoutError::Disconnected) => break Err(TryRecvError::Disconnected),
                    Err(RecvTimeoutError::Timeout) if stop.load(Ordering::Relaxed) => {
                        return Err(None);
                    }
                    Err(RecvTimeoutError::Timeout) => {}
                }
            }
        } else if wait {
            self.blocks.recv().map_err(|_| TryRecvError::Disconnected)
        } else {
            self.blocks.try_recv()
        };
        match received {
            Ok(Ok(block)) => Ok(Some(block)),
            Ok(Err(e)) => Err(Some(e)),
            Err(TryRecvError::Empty) => Ok(None),
            Err(TryRecvError::Disconnected) => Err(None),
        }
    }

    /// Whether the stop flag is set: the input ends here.
    pub(super) fn stopped(&self) -> bool {
        self.stop
            .as_ref()
            .is_some_and(|s| s.load(Ordering::Relaxed))
    }

    /// Hands a spent block back to the thread for reuse (dropped when it has enough).
    pub(super) fn recycle(&self, block: Vec<u8>) {
        let _ = self.recycle.try_send(block);
    }

    /// Where a spent block goes back to (see [`super::Block`]).
    pub(super) fn home(&self) -> SyncSender<Vec<u8>> {
        self.recycle.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::capture::testutil::*;
    use crate::capture::{CaptureError, FileSource, PacketSource};

    #[test]
    fn read_ahead_reads_exactly_what_direct_reading_does() {
        let mut files = vec![sample_pcap_usec_le(), sample_pcapng_le()];
        // Many records, so blocks end inside records at many offsets.
        let records: Vec<(u32, u32, Vec<u8>, u32)> = (0..20_000u32)
            .map(|i| (i, i % 1_000_000, vec![i as u8; (i % 173) as usize], i % 173))
            .collect();
        let refs: Vec<(u32, u32, &[u8], u32)> = records
            .iter()
            .map(|(a, b, d, o)| (*a, *b, &d[..], *o))
            .collect();
        files.push(pcap(Order::Be, true, 1, &refs));
        // Records longer than the headroom (gathered by copying) between short ones.
        let big = vec![0x5a; 3 << 20];
        let mid = vec![0xa5; AHEAD_HEADROOM + 5];
        files.push(pcap(
            Order::Le,
            false,
            1,
            &[
                (1, 0, b"a", 1),
                (2, 0, &big, 3 << 20),
                (3, 0, &mid, 1),
                (4, 0, b"z", 1),
            ],
        ));
        // Cut short, and not a capture at all.
        let cut = files[2].len() - 7;
        files.push(files[2][..cut].to_vec());
        files.push(b"GET / HTTP/1.1\r\n".to_vec());
        files.push(Vec::new());
        for file in &files {
            for chunk in [1, 7, 1000, 1 << 20] {
                if file.len() > 100_000 && chunk < 1000 {
                    continue;
                }
                let direct = outcome(FileSource::new(Trickle { data: file, chunk }));
                let ahead = outcome(FileSource::read_ahead(OwnedTrickle {
                    data: file.clone(),
                    pos: 0,
                    chunk,
                }));
                assert_eq!(direct, ahead, "chunk {chunk}, {} bytes", file.len());
            }
        }
    }

    #[test]
    fn read_ahead_keeps_read_errors() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
        }
        match FileSource::read_ahead(Failing) {
            Err(CaptureError::Io(e)) => assert_eq!(e.to_string(), "disk on fire"),
            _ => panic!("expected an io error"),
        }
    }

    /// A pipe fed from the test: reads block until the test sends bytes or hangs up.
    struct Fed(std::sync::mpsc::Receiver<Vec<u8>>, Vec<u8>);

    impl Read for Fed {
        fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
            if self.1.is_empty() {
                match self.0.recv() {
                    Ok(bytes) => self.1 = bytes,
                    Err(_) => return Ok(0),
                }
            }
            let n = out.len().min(self.1.len());
            out[..n].copy_from_slice(&self.1[..n]);
            self.1.drain(..n);
            Ok(n)
        }
    }

    /// `has_next_buffered` says whether the next packet can be had without waiting: true
    /// while whole records are buffered, false when the input has not sent more yet, true
    /// again at the end (the next call returns at once).
    #[test]
    fn knows_when_the_next_packet_would_wait() {
        let file = pcap(
            Order::Le,
            false,
            1,
            &[
                (1, 0, &[1; 60], 60),
                (2, 0, &[2; 60], 60),
                (3, 0, &[3; 60], 60),
            ],
        );
        let (header_and_two, last) = file.split_at(24 + 2 * (16 + 60));
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(header_and_two.to_vec()).unwrap();
        let mut source = FileSource::read_ahead(Fed(rx, Vec::new())).unwrap();
        assert_eq!(source.next_packet().unwrap().unwrap().data, &[1; 60]);
        assert!(source.has_next_buffered());
        assert_eq!(source.next_packet().unwrap().unwrap().data, &[2; 60]);
        assert!(
            !source.has_next_buffered(),
            "the third record has not been sent"
        );
        tx.send(last[..10].to_vec()).unwrap();
        tx.send(last[10..].to_vec()).unwrap();
        drop(tx);
        assert_eq!(source.next_packet().unwrap().unwrap().data, &[3; 60]);
        // Wait for the reader thread to see the end.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while !source.has_next_buffered() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        assert!(source.has_next_buffered());
        assert!(source.next_packet().unwrap().is_none());
    }

    /// A stop flag set while the input is open and silent ends it cleanly, even with half a
    /// record buffered: the packets before it are the whole capture.
    #[test]
    fn a_stop_ends_a_silent_pipe_cleanly() {
        let file = pcap(
            Order::Le,
            false,
            1,
            &[(1, 0, &[1; 60], 60), (2, 0, &[2; 60], 60)],
        );
        let (whole, half) = file.split_at(24 + 16 + 60);
        let (tx, rx) = std::sync::mpsc::channel();
        tx.send(whole.to_vec()).unwrap();
        tx.send(half[..30].to_vec()).unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let mut source =
            FileSource::read_ahead_until(Fed(rx, Vec::new()), Some(Arc::clone(&stop))).unwrap();
        assert_eq!(source.next_packet().unwrap().unwrap().data, &[1; 60]);
        let setter = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(200));
                stop.store(true, Ordering::Relaxed);
            })
        };
        let started = std::time::Instant::now();
        // Waits for the rest of packet 2, which never comes, until the stop.
        assert!(source.next_packet().unwrap().is_none());
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(source.next_packet().unwrap().is_none());
        setter.join().unwrap();
        drop(tx);
    }
}
