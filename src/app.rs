//! The one loop: source → dissector → events → renderer.

use crate::capture::{CaptureError, PacketSource};
use crate::dissect::{DissectStats, Dissector};
use crate::event::{CaptureProblem, Event, EventSink};
use std::io;

/// Exit status: everything went fine.
pub const EXIT_OK: u8 = 0;
/// Exit status: `check` found errors (or failed expectations).
pub const EXIT_FAILED: u8 = 1;
/// Exit status: an input or the arguments could not be used.
pub const EXIT_BAD_INPUT: u8 = 2;

/// How a run over a capture ended.
#[derive(Debug)]
pub struct RunOutcome {
    /// Packets read and processed.
    pub packets: u64,
    /// Why reading stopped early, if it did (everything before was processed).
    pub error: Option<CaptureError>,
    /// The dissector's counters at the end (packets, connections, evictions).
    pub stats: DissectStats,
}

/// Reads every packet of `source` through `dissector` into `sink`, then flushes the
/// dissector. A capture error ends the reading but not the run: it is reported as an
/// event and returned. Only a failing sink (e.g. a closed pipe) is an `Err`.
pub fn run(
    source: &mut dyn PacketSource,
    dissector: &mut Dissector,
    sink: &mut dyn EventSink,
) -> io::Result<RunOutcome> {
    let mut packets = 0u64;
    let mut error = None;
    loop {
        match source.next_packet() {
            Ok(Some(packet)) => {
                packets += 1;
                dissector.process(&packet, sink)?;
                // A pcapng Decryption Secrets Block read with this packet applies from the
                // next one on (editcap puts it before every packet).
                if let Some(secrets) = source.take_secrets() {
                    dissector.add_tls_keys(&secrets);
                }
                if !source.has_next_buffered() {
                    // Waiting for input (stdin, live): let the reader see output so far.
                    sink.flush()?;
                    dissector.idle();
                }
            }
            Ok(None) => {
                if let Some(secrets) = source.take_secrets() {
                    dissector.add_tls_keys(&secrets);
                }
                break;
            }
            Err(e) => {
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
    dissector.finish(sink)?;
    sink.finish()?;
    Ok(RunOutcome {
        packets,
        error,
        stats: dissector.stats(),
    })
}
