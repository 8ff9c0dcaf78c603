//! The memory budget, like the IDS engines' (Suricata's stream and flow memcaps, Zeek's
//! connection timeouts): one limit split between the payload held for display, the
//! out-of-order bytes held by TCP reassembly and the connection table, and the idle timeout after which a silent connection is released.
//! What a limit drops is reported, never silently lost: the payload display of a message
//! is cut (an anomaly), an evicted connection ends early (an anomaly, counted in the
//! summaries), and its later packets start a new, mid-stream connection.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Default `--memory-limit`: every hostile case of `examples/hostile` stays under
/// 128 MiB of peak resident memory with it (the rest is the allocator's slack, the
/// output's buffers and the program itself).
pub const DEFAULT_MEMORY_LIMIT: u64 = 96 << 20;

/// Default `--idle-timeout`, seconds of capture time: 0, none. Wireshark never ends a TCP
/// stream for silence, and connection numbers must stay its `tcp.stream` numbers (a
/// WebSocket may be quiet for minutes); the count budget already bounds the table. Suricata
/// and Zeek use 300 s (`--idle-timeout 300` does the same).
pub const DEFAULT_IDLE_TIMEOUT: f64 = 0.0;

/// Estimated bytes one tracked connection costs (the table entry, the transport and
/// session state, their first allocations). Measured with `examples/hostile` and
/// `/usr/bin/time -v` with 8 192 connections tracked: about 1.9 KB per half-open
/// connection and 5.2 KB per open WebSocket connection (without permessage-deflate) over
/// the 5 MiB the program needs anyway; rounded up for the state that grows with use
/// (an inflater's window, a held HTTP head).
pub const CONNECTION_COST: u64 = 8 << 10;

/// The limits of one dissection.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryBudget {
    /// Bytes for held payload and the connection table together; 0: no limit.
    pub limit: u64,
    /// Seconds of capture time after which a connection with no packet is evicted;
    /// 0 or less: never.
    pub idle_timeout: f64,
}

impl Default for MemoryBudget {
    fn default() -> Self {
        MemoryBudget {
            limit: DEFAULT_MEMORY_LIMIT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
        }
    }
}

impl MemoryBudget {
    /// No limit at all (library users that bound their input themselves).
    pub fn unlimited() -> Self {
        MemoryBudget {
            limit: 0,
            idle_timeout: 0.0,
        }
    }

    /// Bytes of payload that may be held for display at once, by all connections: a
    /// quarter of the budget (24 MiB by default: a whole message at the default
    /// --max-payload, and more).
    pub fn held_payload(&self) -> u64 {
        if self.limit == 0 {
            u64::MAX
        } else {
            self.limit / 4
        }
    }

    /// Out-of-order bytes TCP reassembly may hold at once, by all connections: a quarter
    /// of the budget (each direction is also capped by its own
    /// [`ReassemblyLimits`](super::reassembly::ReassemblyLimits)).
    pub fn reassembly(&self) -> u64 {
        self.held_payload()
    }

    /// Most connections tracked at once: the other half of the budget, at
    /// [`CONNECTION_COST`] each (at least 1024, so a tiny budget still follows traffic).
    pub fn max_connections(&self) -> usize {
        if self.limit == 0 {
            usize::MAX
        } else {
            usize::try_from((self.limit - 2 * (self.limit / 4)) / CONNECTION_COST)
                .unwrap_or(usize::MAX)
                .max(1024)
        }
    }
}

/// The shared account of payload held for display: every connection's message assembler
/// reserves from it before keeping bytes, and gives them back once the message has been
/// rendered. Cloning shares the account.
#[derive(Debug, Clone, Default)]
pub struct HeldPayload(Option<Arc<Account>>);

#[derive(Debug)]
struct Account {
    limit: u64,
    used: AtomicU64,
}

impl HeldPayload {
    /// An account of `limit` bytes (`u64::MAX`: unlimited).
    pub fn new(limit: u64) -> Self {
        if limit == u64::MAX {
            HeldPayload(None)
        } else {
            HeldPayload(Some(Arc::new(Account {
                limit,
                used: AtomicU64::new(0),
            })))
        }
    }

    /// Reserves up to `want` bytes; returns how many were granted.
    pub fn reserve(&self, want: usize) -> usize {
        let Some(account) = &self.0 else { return want };
        let want = want as u64;
        let mut granted = 0;
        // Relaxed: one dissector thread uses the account; the atomic only makes it Sync.
        let _ = account
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                granted = want.min(account.limit.saturating_sub(used));
                Some(used + granted)
            });
        usize::try_from(granted).unwrap_or(usize::MAX)
    }

    /// Gives back `n` bytes reserved before.
    pub fn release(&self, n: usize) {
        if let Some(account) = &self.0 {
            let n = n as u64;
            let _ = account
                .used
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                    Some(used.saturating_sub(n))
                });
        }
    }

    /// Bytes reserved now.
    pub fn used(&self) -> u64 {
        self.0
            .as_ref()
            .map_or(0, |a| a.used.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_grants_up_to_the_limit_and_takes_back() {
        let held = HeldPayload::new(100);
        let other = held.clone();
        assert_eq!(held.reserve(60), 60);
        assert_eq!(other.reserve(60), 40);
        assert_eq!(held.reserve(1), 0);
        other.release(40);
        assert_eq!(held.used(), 60);
        assert_eq!(held.reserve(50), 40);
        held.release(1000);
        assert_eq!(held.used(), 0);
        assert_eq!(HeldPayload::default().reserve(usize::MAX), usize::MAX);
    }

    #[test]
    fn budget_splits() {
        let b = MemoryBudget {
            limit: 96 << 20,
            idle_timeout: 300.0,
        };
        assert_eq!(b.held_payload(), 24 << 20);
        assert_eq!(b.reassembly(), 24 << 20);
        assert_eq!(b.max_connections(), 6144);
        assert_eq!(MemoryBudget::unlimited().max_connections(), usize::MAX);
    }
}
