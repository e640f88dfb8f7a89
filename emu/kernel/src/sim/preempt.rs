//! Named preemption points and the hooks a scenario attaches to them.
//!
//! Kernel counterpart: none directly — in the kernel, an NMI or a reschedule
//! can land between any two instructions. Simulation mode only interleaves
//! at *named* points that kernel code marks, e.g.
//! `sim.preempt_point("ringbuf_reserve_locked")` right after taking the ring
//! buffer's spinlock. At each point:
//! 1. the hooks registered for that name run in registration order (a hook
//!    can, say, push an NMI context on the CPU and run a perf-event program
//!    there); then
//! 2. the seeded scheduler (see [`super::SchedPolicy`]) may switch the CPU
//!    to another runnable task, if the CPU is preemptible (`preempt_count()
//!    == 0`, as in `preempt_schedule()`).
//!
//! Hooks are one-shot, fire a fixed number of times, or repeat; a hook may
//! register or unregister hooks (including itself) while it runs, and may
//! hit other points (an injected NMI runs code that has points of its own).
//! While a point's hooks run, hitting the same point again counts the hit
//! but does not re-run them, so a hook cannot recurse into itself. Points
//! are plain strings so scenario files can name them; hit counts are kept
//! per name in name order.

use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::sync::Arc;

/// How often a hook fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HookMode {
    /// At the next hit only.
    Once,
    /// At each of the next `n` hits.
    Times(u32),
    /// At every hit until unregistered.
    Always,
}

/// Handle of a registered hook.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HookId(u64);

type HookFn<S> = Box<dyn FnMut(&mut S)>;

struct Hook<S> {
    id: HookId,
    remaining: Option<u32>,
    f: HookFn<S>,
}

/// The hook registry of a state `S` that contains it.
pub struct PreemptHooks<S> {
    hooks: BTreeMap<String, Vec<Hook<S>>>,
    hits: BTreeMap<String, u64>,
    firing: BTreeSet<HookId>,
    removed_while_firing: BTreeSet<HookId>,
    next_id: u64,
}

impl<S> fmt::Debug for PreemptHooks<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let hooks: BTreeMap<&str, Vec<HookId>> =
            self.hooks.iter().map(|(k, v)| (k.as_str(), v.iter().map(|h| h.id).collect())).collect();
        f.debug_struct("PreemptHooks").field("hooks", &hooks).field("hits", &self.hits).finish()
    }
}

impl<S> Default for PreemptHooks<S> {
    fn default() -> Self {
        PreemptHooks {
            hooks: BTreeMap::new(),
            hits: BTreeMap::new(),
            firing: BTreeSet::new(),
            removed_while_firing: BTreeSet::new(),
            next_id: 0,
        }
    }
}

impl<S> PreemptHooks<S> {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `f` to run at `point`.
    pub fn register(&mut self, point: &str, mode: HookMode, f: impl FnMut(&mut S) + 'static) -> HookId {
        let id = HookId(self.next_id);
        self.next_id += 1;
        let remaining = match mode {
            HookMode::Once => Some(1),
            HookMode::Times(n) => Some(n),
            HookMode::Always => None,
        };
        if remaining != Some(0) {
            let hook = Hook { id, remaining, f: Box::new(f) };
            self.hooks.entry(point.to_string()).or_default().push(hook);
        }
        id
    }

    /// Removes a hook; returns whether it was registered.
    pub fn unregister(&mut self, id: HookId) -> bool {
        for list in self.hooks.values_mut() {
            if let Some(i) = list.iter().position(|h| h.id == id) {
                list.remove(i);
                return true;
            }
        }
        self.firing.contains(&id) && self.removed_while_firing.insert(id)
    }

    /// How many times `point` was hit.
    pub fn hits(&self, point: &str) -> u64 {
        self.hits.get(point).copied().unwrap_or(0)
    }

    /// Every point hit so far with its count, in name order.
    pub fn points(&self) -> impl Iterator<Item = (&str, u64)> {
        self.hits.iter().map(|(k, &v)| (k.as_str(), v))
    }

    /// Number of live hooks.
    pub fn len(&self) -> usize {
        self.hooks.values().map(Vec::len).sum()
    }

    /// Whether no hook is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Counts a hit of `point` and runs its hooks on `state`, which owns the
    /// registry (reached through `registry`). Returns how many hooks ran.
    pub fn fire(state: &mut S, registry: fn(&mut S) -> &mut PreemptHooks<S>, point: &str) -> usize {
        let reg = registry(state);
        *reg.hits.entry(point.to_string()).or_default() += 1;
        let Some(mut taken) = reg.hooks.remove(point) else {
            return 0;
        };
        let ids: Vec<HookId> = taken.iter().map(|h| h.id).collect();
        reg.firing.extend(ids.iter().copied());
        let mut ran = 0;
        for hook in &mut taken {
            if registry(state).removed_while_firing.contains(&hook.id) {
                continue;
            }
            (hook.f)(state);
            ran += 1;
            if let Some(n) = &mut hook.remaining {
                *n -= 1;
            }
        }
        let reg = registry(state);
        taken.retain(|h| h.remaining != Some(0) && !reg.removed_while_firing.contains(&h.id));
        // Only this firing's ids: an outer firing (a hook that hit another
        // point) keeps its own bookkeeping.
        for id in &ids {
            reg.firing.remove(id);
            reg.removed_while_firing.remove(id);
        }
        // Hooks registered while firing come after the older ones.
        let list = reg.hooks.entry(point.to_string()).or_default();
        taken.append(list);
        *list = taken;
        if list.is_empty() {
            reg.hooks.remove(point);
        }
        ran
    }
}

/// What a hook at an in-run point does; returns a line for the log (e.g.
/// "NMI on cpu 0 ran prog X: r0=0").
pub type RunAction = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(Clone)]
struct RunHook {
    id: HookId,
    point: String,
    remaining: Option<u32>,
    action: RunAction,
}

#[derive(Default)]
struct RunPointsInner {
    hooks: Vec<RunHook>,
    hits: BTreeMap<String, u64>,
    firing: BTreeSet<String>,
    log: Vec<String>,
    next_id: u64,
}

/// Named points hit *inside a running program* — a helper that holds a
/// lock, such as `bpf_ringbuf_reserve` right after taking the ring
/// buffer's spinlock (`ringbuf_reserve_locked`). The code that hit the
/// point cannot be suspended, so a hook runs nested, on the same CPU and
/// host thread, before the helper goes on: exactly what a real NMI
/// landing there does. The kernel keeps one registry
/// (`Kernel::run_points`) and hands it to every run through
/// [`crate::runctx::RunCtx::points`]; helpers call
/// [`crate::runctx::preempt_point`]. Same rules as [`PreemptHooks`]:
/// registration order, once / n times / always, no recursion into a
/// point's hooks while they run, hit counts per name.
#[derive(Default)]
pub struct RunPoints {
    inner: Mutex<RunPointsInner>,
}

impl fmt::Debug for RunPoints {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let i = self.inner.lock();
        let hooks: Vec<(&str, HookId)> = i.hooks.iter().map(|h| (h.point.as_str(), h.id)).collect();
        f.debug_struct("RunPoints").field("hooks", &hooks).field("hits", &i.hits).finish()
    }
}

impl RunPoints {
    /// Registers `action` at `point`.
    pub fn register(&self, point: &str, mode: HookMode, action: RunAction) -> HookId {
        let mut i = self.inner.lock();
        let id = HookId(i.next_id);
        i.next_id += 1;
        let remaining = match mode {
            HookMode::Once => Some(1),
            HookMode::Times(n) => Some(n),
            HookMode::Always => None,
        };
        if remaining != Some(0) {
            i.hooks.push(RunHook { id, point: point.to_string(), remaining, action });
        }
        id
    }

    /// Removes a hook; whether it was registered.
    pub fn unregister(&self, id: HookId) -> bool {
        let mut i = self.inner.lock();
        let before = i.hooks.len();
        i.hooks.retain(|h| h.id != id);
        i.hooks.len() != before
    }

    /// How many times `point` was hit inside runs.
    pub fn hits(&self, point: &str) -> u64 {
        self.inner.lock().hits.get(point).copied().unwrap_or(0)
    }

    /// Number of live hooks.
    pub fn len(&self) -> usize {
        self.inner.lock().hooks.len()
    }

    /// Whether no hook is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The lines the actions returned since the last call, in order.
    pub fn take_log(&self) -> Vec<String> {
        std::mem::take(&mut self.inner.lock().log)
    }

    /// Counts a hit of `point` and runs its due hooks (not while they are
    /// already running for an outer hit). Returns how many ran.
    pub fn fire(&self, point: &str) -> usize {
        let due: Vec<RunAction> = {
            let mut i = self.inner.lock();
            *i.hits.entry(point.to_string()).or_default() += 1;
            if i.firing.contains(point) {
                return 0;
            }
            let mut due = Vec::new();
            for h in i.hooks.iter_mut().filter(|h| h.point == point) {
                due.push(h.action.clone());
                if let Some(n) = &mut h.remaining {
                    *n -= 1;
                }
            }
            i.hooks.retain(|h| h.remaining != Some(0));
            if !due.is_empty() {
                i.firing.insert(point.to_string());
            }
            due
        };
        // The registry lock is not held while actions run: they may hit
        // other points or register hooks.
        for a in &due {
            let line = a();
            self.inner.lock().log.push(line);
        }
        if !due.is_empty() {
            self.inner.lock().firing.remove(point);
        }
        due.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Default)]
    struct St {
        hooks: PreemptHooks<St>,
        log: Vec<&'static str>,
        victim: Option<HookId>,
    }

    fn reg(s: &mut St) -> &mut PreemptHooks<St> {
        &mut s.hooks
    }

    fn hit(s: &mut St, point: &str) -> usize {
        PreemptHooks::fire(s, reg, point)
    }

    #[test]
    fn modes_and_order() {
        let mut s = St::default();
        s.hooks.register("p", HookMode::Always, |s: &mut St| s.log.push("always"));
        s.hooks.register("p", HookMode::Once, |s: &mut St| s.log.push("once"));
        s.hooks.register("p", HookMode::Times(2), |s: &mut St| s.log.push("twice"));
        s.hooks.register("p", HookMode::Times(0), |s: &mut St| s.log.push("never"));
        s.hooks.register("q", HookMode::Always, |s: &mut St| s.log.push("q"));
        assert_eq!(s.hooks.len(), 4);
        assert_eq!(hit(&mut s, "p"), 3);
        assert_eq!(hit(&mut s, "p"), 2);
        assert_eq!(hit(&mut s, "p"), 1);
        assert_eq!(hit(&mut s, "other"), 0);
        assert_eq!(s.log, ["always", "once", "twice", "always", "twice", "always"]);
        assert_eq!(s.hooks.hits("p"), 3);
        assert_eq!(s.hooks.points().collect::<Vec<_>>(), [("other", 1), ("p", 3)]);
    }

    #[test]
    fn register_and_unregister_while_firing() {
        let mut s = St::default();
        // The killer runs first (registration order) and removes the victim,
        // which then doesn't run; a hook registered meanwhile runs next hit.
        s.hooks.register("p", HookMode::Once, |s: &mut St| {
            s.log.push("killer");
            let v = s.victim.take().unwrap();
            assert!(s.hooks.unregister(v));
            s.hooks.register("p", HookMode::Once, |s: &mut St| s.log.push("new"));
        });
        let v = s.hooks.register("p", HookMode::Always, |s: &mut St| s.log.push("victim"));
        s.victim = Some(v);
        assert_eq!(hit(&mut s, "p"), 1);
        assert_eq!(hit(&mut s, "p"), 1);
        assert_eq!(hit(&mut s, "p"), 0);
        assert_eq!(s.log, ["killer", "new"]);
        assert!(s.hooks.is_empty());
        assert!(!s.hooks.unregister(v));
    }

    #[test]
    fn nested_points() {
        let mut s = St::default();
        s.hooks.register("outer", HookMode::Always, |s: &mut St| {
            s.log.push("outer");
            assert_eq!(hit(s, "inner"), 1);
            assert_eq!(hit(s, "outer"), 0, "no recursion into the running hooks");
            let v = s.victim.unwrap();
            assert!(s.hooks.unregister(v));
        });
        s.hooks.register("inner", HookMode::Once, |s: &mut St| s.log.push("inner"));
        let v = s.hooks.register("outer", HookMode::Always, |s: &mut St| s.log.push("victim"));
        s.victim = Some(v);
        assert_eq!(hit(&mut s, "outer"), 1);
        assert_eq!(s.log, ["outer", "inner"]);
        assert_eq!(s.hooks.hits("outer"), 2);
        assert_eq!(s.hooks.len(), 1);
    }

    #[test]
    fn self_unregister() {
        let mut s = St::default();
        let id = s.hooks.register("p", HookMode::Always, |s: &mut St| {
            s.log.push("me");
            let me = s.victim.unwrap();
            assert!(s.hooks.unregister(me));
        });
        s.victim = Some(id);
        hit(&mut s, "p");
        hit(&mut s, "p");
        assert_eq!(s.log, ["me"]);
        assert!(format!("{:?}", s.hooks).contains("\"p\": 2"));
    }

    #[test]
    fn run_points_fire_nested_once() {
        let pts = Arc::new(RunPoints::default());
        let p2 = pts.clone();
        pts.register("lock", HookMode::Once, Arc::new(move || format!("inner ran {}", p2.fire("lock"))));
        pts.register("lock", HookMode::Times(2), Arc::new(|| "twice".to_string()));
        assert_eq!(pts.fire("lock"), 2);
        assert_eq!(pts.take_log(), ["inner ran 0", "twice"]);
        assert_eq!(pts.fire("lock"), 1);
        assert_eq!(pts.fire("lock"), 0);
        assert_eq!(pts.hits("lock"), 4);
        assert!(pts.is_empty());
        let id = pts.register("x", HookMode::Always, Arc::new(String::new));
        assert!(pts.unregister(id));
        assert!(!pts.unregister(id));
    }
}
