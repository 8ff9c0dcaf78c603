//! The reorder buffer: work handed out to several lanes (worker threads), each answering
//! in its own order, taken back in the order it was handed out. Bounded: at most `limit`
//! items may be handed out and not yet taken back; past it, [`Reorder::assign`] refuses
//! and the caller must take results first (backpressure).

use std::collections::VecDeque;

/// Results of lanes, taken back in hand-out order.
#[derive(Debug)]
pub struct Reorder<T> {
    /// Lane of each item handed out and not taken back yet, in hand-out order.
    order: VecDeque<usize>,
    /// Results delivered by each lane, oldest first (a lane answers in its own order).
    lanes: Vec<VecDeque<T>>,
    limit: usize,
}

impl<T> Reorder<T> {
    /// A buffer for `lanes` lanes holding at most `limit` items in flight.
    pub fn new(lanes: usize, limit: usize) -> Self {
        Reorder {
            order: VecDeque::new(),
            lanes: (0..lanes).map(|_| VecDeque::new()).collect(),
            limit: limit.max(1),
        }
    }

    /// Records that the next item goes to `lane`; false (nothing recorded) when `limit`
    /// items are in flight already.
    pub fn assign(&mut self, lane: usize) -> bool {
        if self.order.len() >= self.limit || lane >= self.lanes.len() {
            return false;
        }
        self.order.push_back(lane);
        true
    }

    /// `lane` finished its oldest item still undelivered with `result`.
    pub fn deliver(&mut self, lane: usize, result: T) {
        if let Some(queue) = self.lanes.get_mut(lane) {
            queue.push_back(result);
        }
    }

    /// The next item in hand-out order, with its lane, if its lane delivered it.
    pub fn pop(&mut self) -> Option<(usize, T)> {
        let lane = *self.order.front()?;
        let result = self.lanes.get_mut(lane)?.pop_front()?;
        self.order.pop_front();
        Some((lane, result))
    }

    /// The lane whose result is needed next, when it has not delivered it yet.
    pub fn waiting_on(&self) -> Option<usize> {
        let lane = *self.order.front()?;
        self.lanes
            .get(lane)
            .is_some_and(VecDeque::is_empty)
            .then_some(lane)
    }

    /// Items handed out and not taken back.
    pub fn in_flight(&self) -> usize {
        self.order.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_come_back_in_hand_out_order_whatever_the_lanes_answer_order() {
        let mut r = Reorder::new(3, 100);
        let lanes = [0, 1, 2, 1, 0, 0, 2];
        for &lane in &lanes {
            assert!(r.assign(lane));
        }
        // Lane 2 answers first, then lane 0, then lane 1: each in its own order.
        for (i, &lane) in lanes.iter().enumerate().filter(|(_, l)| **l == 2) {
            r.deliver(lane, i);
        }
        assert_eq!(r.waiting_on(), Some(0));
        assert_eq!(r.pop(), None);
        for (i, &lane) in lanes.iter().enumerate().filter(|(_, l)| **l == 0) {
            r.deliver(lane, i);
        }
        assert_eq!(r.pop(), Some((0, 0)));
        assert_eq!(r.waiting_on(), Some(1));
        assert_eq!(r.pop(), None);
        for (i, &lane) in lanes.iter().enumerate().filter(|(_, l)| **l == 1) {
            r.deliver(lane, i);
        }
        let rest: Vec<(usize, usize)> = std::iter::from_fn(|| r.pop()).collect();
        assert_eq!(rest, [(1, 1), (2, 2), (1, 3), (0, 4), (0, 5), (2, 6)]);
        assert_eq!(r.in_flight(), 0);
        assert_eq!(r.waiting_on(), None);
    }

    #[test]
    fn the_limit_holds_work_back_until_results_are_taken() {
        let mut r = Reorder::new(2, 2);
        assert!(r.assign(0));
        assert!(r.assign(1));
        assert!(!r.assign(0), "a third item in flight is refused");
        r.deliver(1, "b");
        assert_eq!(r.pop(), None, "the first item is still out");
        r.deliver(0, "a");
        assert_eq!(r.pop(), Some((0, "a")));
        assert!(r.assign(0), "room again");
        assert_eq!(r.pop(), Some((1, "b")));
        assert!(!r.assign(5), "no such lane");
    }

    /// Random lanes and random answer orders (a fixed LCG, so the test is repeatable):
    /// whatever the interleaving, the items come back 0, 1, 2, ...
    #[test]
    fn random_interleavings_keep_the_order() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (seed >> 33) as usize
        };
        for lanes in 1..5 {
            let mut r = Reorder::new(lanes, 16);
            let mut pending: Vec<VecDeque<usize>> = vec![VecDeque::new(); lanes];
            let (mut handed, mut taken) = (0, 0);
            while taken < 500 {
                if handed < 500 && next() % 2 == 0 {
                    let lane = next() % lanes;
                    if r.assign(lane) {
                        pending[lane].push_back(handed);
                        handed += 1;
                    }
                }
                let lane = next() % lanes;
                if let Some(item) = pending[lane].pop_front() {
                    r.deliver(lane, item);
                }
                while let Some((_, item)) = r.pop() {
                    assert_eq!(item, taken);
                    taken += 1;
                }
                assert!(r.in_flight() <= 16);
            }
        }
    }
}
