//! A bounded table of requests waiting for answers: lookups by key, the oldest dropped
//! (and counted) when full.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;

/// Most requests one connection keeps waiting per decoder.
pub const MAX_PENDING: usize = 4096;

#[derive(Debug)]
pub struct Pending<K, V> {
    by_key: HashMap<K, (u64, V)>,
    order: BTreeMap<u64, K>,
    next: u64,
    cap: usize,
    /// Requests dropped because the table was full.
    pub dropped: u64,
}

impl<K: Eq + Hash + Clone, V> Pending<K, V> {
    pub fn new(cap: usize) -> Self {
        Pending {
            by_key: HashMap::new(),
            order: BTreeMap::new(),
            next: 0,
            cap: cap.max(1),
            dropped: 0,
        }
    }

    /// Inserts; returns the value it replaced under the same key, if any.
    pub fn insert(&mut self, key: K, value: V) -> Option<V> {
        let old = self.remove(&key);
        if self.by_key.len() >= self.cap
            && let Some((_, k)) = self.order.pop_first()
        {
            self.by_key.remove(&k);
            self.dropped += 1;
        }
        let seq = self.next;
        self.next += 1;
        self.order.insert(seq, key.clone());
        self.by_key.insert(key, (seq, value));
        old
    }

    pub fn get_mut(&mut self, key: &K) -> Option<&mut V> {
        self.by_key.get_mut(key).map(|(_, v)| v)
    }

    pub fn remove(&mut self, key: &K) -> Option<V> {
        let (seq, v) = self.by_key.remove(key)?;
        self.order.remove(&seq);
        Some(v)
    }

    /// Everything left, oldest first.
    pub fn drain(&mut self) -> Vec<(K, V)> {
        let order = std::mem::take(&mut self.order);
        let mut out = Vec::with_capacity(order.len());
        for (_, k) in order {
            if let Some((_, v)) = self.by_key.remove(&k) {
                out.push((k, v));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oldest_dropped_when_full() {
        let mut p = Pending::new(2);
        p.insert(1, "a");
        p.insert(2, "b");
        p.insert(3, "c");
        assert_eq!(p.dropped, 1);
        assert!(p.remove(&1).is_none());
        assert_eq!(p.insert(2, "B"), Some("b"));
        assert_eq!(p.drain(), vec![(3, "c"), (2, "B")]);
    }
}

use super::{AppInput, Exchange, Outcome, Protocol, Unanswered};
use crate::flow::analysis::Direction;

/// A request waiting for its answer(s).
#[derive(Debug, Clone)]
pub struct Request {
    pub name: Option<String>,
    pub dir: Direction,
    pub packet: u64,
    pub time_ns: u64,
    pub answers: u32,
    /// Packet and time of the first answer (streams).
    pub first: Option<(u64, u64)>,
}

impl Request {
    pub fn new(msg: &AppInput<'_>, name: Option<String>) -> Self {
        Request {
            name,
            dir: msg.dir,
            packet: msg.packet,
            time_ns: msg.time_ns,
            answers: 0,
            first: None,
        }
    }

    /// Counts a stream item.
    pub fn item(&mut self, msg: &AppInput<'_>) {
        self.answers = self.answers.saturating_add(1);
        if self.first.is_none() {
            self.first = Some((msg.packet, msg.time_ns));
        }
    }

    /// The exchange ended by `end`; `counts` says whether `end` itself is an answer.
    pub fn finish(
        self,
        protocol: Protocol,
        id: String,
        end: &AppInput<'_>,
        outcome: Outcome,
        counts: bool,
    ) -> Exchange {
        let answers = if counts {
            self.answers.saturating_add(1)
        } else {
            self.answers
        };
        let (answer_packet, answer_time) = self.first.unwrap_or((end.packet, end.time_ns));
        Exchange {
            protocol,
            id,
            name: self.name,
            request_dir: self.dir,
            request_packet: self.packet,
            answer_packet,
            latency_ns: answer_time.saturating_sub(self.time_ns),
            end_packet: end.packet,
            duration_ns: end.time_ns.saturating_sub(self.time_ns),
            answers,
            outcome,
        }
    }

    pub fn unanswered(self, protocol: Protocol, id: String) -> Unanswered {
        Unanswered {
            protocol,
            id,
            name: self.name,
            request_dir: self.dir,
            request_packet: self.packet,
            answers: self.answers,
        }
    }
}

/// The `app-pending-dropped` anomaly for `dropped` requests, reported at the end.
pub fn dropped_anomaly(dropped: u64, dir: Direction, packet: u64) -> super::AppAnomaly {
    super::AppAnomaly {
        kind: super::AnomalyKind::PendingDropped,
        dir,
        packet,
        detail: format!("{dropped} requests dropped (more than {MAX_PENDING} waiting)"),
    }
}
