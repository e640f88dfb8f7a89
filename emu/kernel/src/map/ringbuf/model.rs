//! An exhaustive interleaving check of the ring buffer protocol (the role
//! of the kernel's litmus tests in Documentation/litmus-tests/bpf-rb/).
//!
//! A small model of [`super::RingBuf`] — word-sized cells, a ring of 8
//! words, records of a header word and 1 or 2 payload words — with every
//! step a producer or the consumer takes as one atomic transition:
//! producer: load the consumer position; take the lock, check space, write
//! the BUSY header, publish the producer position, unlock (one step: the
//! lock excludes other producers, the consumer takes no lock); write each
//! payload word; commit (clear BUSY, maybe set DISCARD). Consumer: load the
//! producer position; load the header at its position (BUSY: start over);
//! read each payload word; store the consumer position. A depth-first search
//! over all interleavings (states deduplicated) checks in every state that
//! no producer writes outside the space it owns, and at every end state
//! that the records delivered are exactly the committed, non-discarded ones,
//! each with the bytes its producer wrote (not torn), in reservation order.
//! The model is sequentially consistent: the acquire/release pairs of the
//! real code are what makes it behave so (each names its pair there); the
//! real-thread stress test (`tests/ringbuf_stress.rs` in bpfemu-user)
//! exercises them on hardware.

use std::collections::HashSet;

const SIZE: u64 = 8;
const MASK: u64 = SIZE - 1;
const BUSY: u64 = 1 << 63;
const DISCARD: u64 = 1 << 62;

/// One record a producer will try to emit: payload words and discard.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct Plan {
    words: u64,
    discard: bool,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Prod {
    /// About to load the consumer position for record `i`.
    Start(usize),
    /// Loaded `cons`; about to lock and reserve.
    Loaded(usize, u64),
    /// Reserved at `pos`; `w` payload words written.
    Writing(usize, u64, u64),
    Done,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
enum Cons {
    /// About to load the producer position.
    Start,
    /// Loaded `prod`.
    Loaded(u64),
    /// Reading the record of `len` words at the consumer position: `got`
    /// words read so far.
    Reading(u64, u64, Vec<u64>),
}

#[derive(Clone, Debug, Hash, PartialEq, Eq)]
struct State {
    cells: [u64; SIZE as usize],
    prod_pos: u64,
    cons_pos: u64,
    prods: Vec<Prod>,
    cons: Cons,
    /// (producer, record) in reservation order, with their start position.
    reserved: Vec<(usize, usize, u64)>,
    delivered: Vec<(usize, usize)>,
    dropped: Vec<(usize, usize)>,
}

fn value(p: usize, i: usize, w: u64) -> u64 {
    ((p as u64 + 1) << 16) | ((i as u64 + 1) << 8) | (w + 1)
}

struct Checker<'a> {
    plans: &'a [Vec<Plan>],
    seen: HashSet<State>,
    ends: u64,
}

impl Checker<'_> {
    fn successors(&self, s: &State) -> Vec<State> {
        let mut out = Vec::new();
        for (p, st) in s.prods.iter().enumerate() {
            let mut n = s.clone();
            match *st {
                Prod::Start(i) => {
                    n.prods[p] =
                        if i < self.plans[p].len() { Prod::Loaded(i, s.cons_pos) } else { Prod::Done };
                }
                Prod::Loaded(i, cons) => {
                    let plan = self.plans[p][i];
                    let len = plan.words + 1;
                    if s.prod_pos + len - cons > MASK {
                        n.dropped.push((p, i));
                        n.prods[p] = Prod::Start(i + 1);
                    } else {
                        let pos = s.prod_pos;
                        n.cells[(pos & MASK) as usize] = plan.words | BUSY;
                        n.prod_pos = pos + len;
                        n.reserved.push((p, i, pos));
                        n.prods[p] = Prod::Writing(i, pos, 0);
                    }
                }
                Prod::Writing(i, pos, w) => {
                    let plan = self.plans[p][i];
                    if w < plan.words {
                        let at = pos + 1 + w;
                        // The producer owns [pos, pos+len): never space the
                        // consumer has not released.
                        assert!(at - s.cons_pos < SIZE, "producer overwrote unconsumed data: {s:?}");
                        n.cells[(at & MASK) as usize] = value(p, i, w);
                        n.prods[p] = Prod::Writing(i, pos, w + 1);
                    } else {
                        let hdr = &mut n.cells[(pos & MASK) as usize];
                        assert_eq!(*hdr, plan.words | BUSY, "header changed under its producer");
                        *hdr = plan.words | if plan.discard { DISCARD } else { 0 };
                        n.prods[p] = Prod::Start(i + 1);
                    }
                }
                Prod::Done => continue,
            }
            out.push(n);
        }
        let mut n = s.clone();
        match &s.cons {
            Cons::Start => {
                if s.cons_pos == s.prod_pos && s.prods.iter().all(|p| *p == Prod::Done) {
                    return out;
                }
                n.cons = Cons::Loaded(s.prod_pos);
            }
            Cons::Loaded(prod) => {
                if s.cons_pos >= *prod {
                    n.cons = Cons::Start;
                } else {
                    let h = s.cells[(s.cons_pos & MASK) as usize];
                    if h & BUSY != 0 {
                        n.cons = Cons::Start;
                    } else if h & DISCARD != 0 {
                        n.cons_pos += (h & !(BUSY | DISCARD)) + 1;
                    } else {
                        n.cons = Cons::Reading(h, 0, Vec::new());
                    }
                }
            }
            Cons::Reading(len, got, words) => {
                if got < len {
                    let mut words = words.clone();
                    words.push(s.cells[((s.cons_pos + 1 + got) & MASK) as usize]);
                    n.cons = Cons::Reading(*len, got + 1, words);
                } else {
                    // Which record is this? The one reserved at cons_pos.
                    let &(p, i, _) = s
                        .reserved
                        .iter()
                        .find(|r| r.2 == s.cons_pos)
                        .expect("a record was reserved at the consumer position");
                    for (w, v) in words.iter().enumerate() {
                        assert_eq!(*v, value(p, i, w as u64), "torn record {p}/{i}: {s:?}");
                    }
                    n.delivered.push((p, i));
                    n.cons_pos += len + 1;
                    n.cons = Cons::Loaded(match s.cons {
                        Cons::Reading(..) => s.prod_pos,
                        _ => unreachable!(),
                    });
                }
            }
        }
        out.push(n);
        out
    }

    fn check_end(&mut self, s: &State) {
        self.ends += 1;
        let want: Vec<(usize, usize)> = s
            .reserved
            .iter()
            .filter(|&&(p, i, _)| !self.plans[p][i].discard)
            .map(|&(p, i, _)| (p, i))
            .collect();
        assert_eq!(s.delivered, want, "delivered vs reservation order: {s:?}");
        let total: usize = self.plans.iter().map(Vec::len).sum();
        assert_eq!(s.reserved.len() + s.dropped.len(), total, "lost record: {s:?}");
    }

    fn run(&mut self, init: State) {
        let mut stack = vec![init];
        while let Some(s) = stack.pop() {
            if !self.seen.insert(s.clone()) {
                continue;
            }
            let next = self.successors(&s);
            if next.is_empty() {
                self.check_end(&s);
            }
            stack.extend(next);
        }
    }
}

/// Explores every interleaving of `plans` (one list per producer); returns
/// (states, end states).
fn explore(plans: &[Vec<Plan>]) -> (usize, u64) {
    let init = State {
        cells: [0; SIZE as usize],
        prod_pos: 0,
        cons_pos: 0,
        prods: vec![Prod::Start(0); plans.len()],
        cons: Cons::Start,
        reserved: Vec::new(),
        delivered: Vec::new(),
        dropped: Vec::new(),
    };
    let mut c = Checker { plans, seen: HashSet::new(), ends: 0 };
    c.run(init);
    (c.seen.len(), c.ends)
}

#[test]
fn two_producers_with_wrap_discard_and_full_ring() {
    let a = Plan { words: 1, discard: false };
    let b = Plan { words: 2, discard: false };
    let d = Plan { words: 1, discard: true };
    let (states, ends) = explore(&[vec![a, b, a], vec![b, d]]);
    assert!(states > 1000 && ends > 1, "{states} states, {ends} ends");
}

#[test]
fn three_producers() {
    let a = Plan { words: 1, discard: false };
    let d = Plan { words: 2, discard: true };
    let (states, ends) = explore(&[vec![a, a], vec![d], vec![a]]);
    assert!(states > 1000 && ends > 1, "{states} states, {ends} ends");
}
