//! The discrete-event queue that drives simulation mode.
//!
//! Kernel counterpart: the timer wheel and hrtimers (`kernel/time/timer.c`,
//! `kernel/time/hrtimer.c`) plus whatever "happens next" on the simulated
//! wire or CPUs. Unlike the kernel, the order of simultaneous events is
//! total and defined: by time, then priority (lower first), then insertion
//! sequence number (earlier first). The queue is an ordered map keyed by that
//! triple — equivalent to a binary heap with a sequence tiebreak, but it also
//! supports O(log n) cancellation by handle without tombstones.
//!
//! An event scheduled before the queue's current time (the time of the last
//! popped event) fires at the current time, like an hrtimer armed with an
//! expiry already in the past.

use std::collections::BTreeMap;

/// Ordering among events at the same time: lower runs first.
pub type Priority = i32;

/// Handle of a scheduled event, for [`EventQueue::cancel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId {
    time: u64,
    prio: Priority,
    seq: u64,
}

impl EventId {
    /// The time the event fires at.
    pub fn time(&self) -> u64 {
        self.time
    }

    /// The event's priority.
    pub fn priority(&self) -> Priority {
        self.prio
    }

    /// The insertion sequence number (unique per queue).
    pub fn seq(&self) -> u64 {
        self.seq
    }
}

/// A popped event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event<E> {
    /// Its handle (time, priority, sequence).
    pub id: EventId,
    /// What was scheduled.
    pub payload: E,
}

/// A deterministic priority queue of timed events.
#[derive(Debug, Clone)]
pub struct EventQueue<E> {
    pending: BTreeMap<EventId, E>,
    next_seq: u64,
    now: u64,
}

impl<E> Default for EventQueue<E> {
    fn default() -> Self {
        EventQueue { pending: BTreeMap::new(), next_seq: 0, now: 0 }
    }
}

impl<E> EventQueue<E> {
    /// An empty queue at time 0.
    pub fn new() -> Self {
        Self::default()
    }

    /// The time of the last popped event (0 initially).
    pub fn now(&self) -> u64 {
        self.now
    }

    /// Schedules `payload` at `time` (clamped to [`EventQueue::now`]).
    pub fn schedule(&mut self, time: u64, prio: Priority, payload: E) -> EventId {
        let id = EventId { time: time.max(self.now), prio, seq: self.next_seq };
        self.next_seq += 1;
        self.pending.insert(id, payload);
        id
    }

    /// Cancels a pending event, returning its payload; `None` if it already
    /// fired or was cancelled.
    pub fn cancel(&mut self, id: EventId) -> Option<E> {
        self.pending.remove(&id)
    }

    /// Whether `id` is still pending.
    pub fn is_pending(&self, id: EventId) -> bool {
        self.pending.contains_key(&id)
    }

    /// The next event's handle without removing it.
    pub fn peek(&self) -> Option<EventId> {
        self.pending.keys().next().copied()
    }

    /// Removes and returns the next event.
    pub fn pop(&mut self) -> Option<Event<E>> {
        let (id, payload) = self.pending.pop_first()?;
        self.now = self.now.max(id.time);
        Some(Event { id, payload })
    }

    /// Removes and returns the next event if it fires at or before `time`.
    pub fn pop_until(&mut self, time: u64) -> Option<Event<E>> {
        if self.peek()?.time > time {
            return None;
        }
        self.pop()
    }

    /// Pops every event at or before `time`, in order, calling `f` on each;
    /// `f` may schedule more events (through the queue it is given), which
    /// run in the same pass if they are due. Returns the number handled.
    pub fn run_until(&mut self, time: u64, mut f: impl FnMut(&mut Self, Event<E>)) -> usize {
        let mut n = 0;
        while let Some(ev) = self.pop_until(time) {
            f(self, ev);
            n += 1;
        }
        self.now = self.now.max(time);
        n
    }

    /// Number of pending events.
    pub fn len(&self) -> usize {
        self.pending.len()
    }

    /// Whether no event is pending.
    pub fn is_empty(&self) -> bool {
        self.pending.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drain<E>(q: &mut EventQueue<E>) -> Vec<E> {
        std::iter::from_fn(|| q.pop().map(|e| e.payload)).collect()
    }

    #[test]
    fn total_order_time_prio_seq() {
        let mut q = EventQueue::new();
        q.schedule(20, 0, "t20");
        q.schedule(10, 5, "t10p5");
        q.schedule(10, -1, "t10p-1");
        q.schedule(10, 5, "t10p5-second");
        q.schedule(10, 0, "t10p0");
        assert_eq!(drain(&mut q), ["t10p-1", "t10p0", "t10p5", "t10p5-second", "t20"]);
        assert_eq!(q.now(), 20);
    }

    #[test]
    fn cancel_by_handle() {
        let mut q = EventQueue::new();
        let a = q.schedule(5, 0, 'a');
        let b = q.schedule(5, 0, 'b');
        assert!(q.is_pending(a));
        assert_eq!(q.cancel(a), Some('a'));
        assert_eq!(q.cancel(a), None);
        assert!(!q.is_pending(a));
        assert_eq!(q.len(), 1);
        assert_eq!(q.pop().map(|e| e.id), Some(b));
        assert_eq!(q.cancel(b), None);
        assert!(q.is_empty());
    }

    #[test]
    fn past_events_clamp_to_now() {
        let mut q = EventQueue::new();
        q.schedule(100, 0, 1);
        q.pop();
        let id = q.schedule(50, 0, 2);
        assert_eq!(id.time(), 100);
    }

    #[test]
    fn run_until_handles_due_and_rescheduled() {
        let mut q = EventQueue::new();
        q.schedule(10, 0, 1u32);
        q.schedule(30, 0, 3);
        q.schedule(100, 0, 9);
        let mut seen = Vec::new();
        let n = q.run_until(50, |q, ev| {
            seen.push((ev.id.time(), ev.payload));
            if ev.payload == 1 {
                q.schedule(ev.id.time() + 5, 0, 2);
            }
        });
        assert_eq!(n, 3);
        assert_eq!(seen, [(10, 1), (15, 2), (30, 3)]);
        assert_eq!(q.now(), 50);
        assert_eq!(q.peek().map(|id| id.time()), Some(100));
        assert!(q.pop_until(99).is_none());
    }
}
