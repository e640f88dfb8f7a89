//! The deterministic simulation core of simulation mode.
//!
//! [`Sim`] ties together what the rest of the kernel runs on: the virtual
//! [`clock`], the discrete-event queue ([`events`]), the seeded RNG
//! ([`rng`]), the CPUs with their context stacks ([`cpu`]), processes and
//! their fd tables ([`process`], [`fd`]) and named preemption points
//! ([`preempt`]). One host thread drives it; nothing reads host time or host
//! randomness, and everything observable iterates in a defined order, so the
//! same seed and the same operations give the same results.
//!
//! `Sim<E, F>` is generic over the event payload `E` and the fd-table
//! handle `F`, both chosen by the kernel layers built on top.
//!
//! ```
//! use bpfemu_kernel::sim::cpu::Context;
//! use bpfemu_kernel::sim::preempt::HookMode;
//! use bpfemu_kernel::sim::{Sim, SimConfig};
//!
//! let mut sim: Sim<&str> = Sim::new(SimConfig { cpus: 2, seed: 42, ..SimConfig::default() });
//! // A scenario asks for an NMI while the ring buffer lock is held.
//! sim.register_hook("ringbuf_reserve_locked", HookMode::Once, |sim: &mut Sim<&str>| {
//!     sim.this_cpu_mut().enter(Context::Nmi).unwrap();
//!     assert!(sim.this_cpu().in_nmi());
//!     sim.this_cpu_mut().exit(Context::Nmi).unwrap();
//! });
//! sim.schedule_in(1_000, 0, "packet");
//! sim.run_until(5_000, |sim, ev| {
//!     assert_eq!((sim.now(), ev.payload), (1_000, "packet"));
//!     assert_eq!(sim.preempt_point("ringbuf_reserve_locked").hooks_run, 1);
//! });
//! assert_eq!(sim.now(), 5_000);
//! ```

pub mod clock;
pub mod cpu;
pub mod events;
pub mod fd;
pub mod preempt;
pub mod process;
pub mod rng;

use std::fmt;

use crate::errno::Errno;
use clock::Clock;
use cpu::Cpu;
use events::{Event, EventId, EventQueue, Priority};
use preempt::{HookId, HookMode, PreemptHooks};
use process::{Pid, Process, ProcessTable};
use rng::SimRng;

/// Stream id (see [`SimRng::fork`]) of the scheduler's random decisions.
/// Allocated stream ids: 0 is the root ([`Sim::rng`]), 1 the scheduler,
/// [`STREAM_CPU_BASE`]` + n` CPU n's `bpf_get_prandom_u32` state; later
/// subsystems take ids from 0x1000 up.
pub const STREAM_SCHED: u64 = 1;
/// Stream id of CPU 0's random state; CPU n uses `STREAM_CPU_BASE + n`.
pub const STREAM_CPU_BASE: u64 = 0x100;
/// Default number of CPUs.
pub const DEFAULT_CPUS: u32 = 4;

/// What the seeded scheduler does at preemption points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SchedPolicy {
    /// Never switches: tasks run until they block or the scenario switches.
    #[default]
    Off,
    /// At a point where the CPU is preemptible and has runnable tasks,
    /// switches with probability `num / den` to one of them chosen uniformly.
    Random {
        /// Numerator of the switch probability.
        num: u64,
        /// Denominator of the switch probability.
        den: u64,
    },
}

/// How to build a [`Sim`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SimConfig {
    /// Number of CPUs (at least 1; 0 is treated as 1).
    pub cpus: u32,
    /// The seed every random value derives from.
    pub seed: u64,
    /// Scheduler decisions at preemption points.
    pub sched: SchedPolicy,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig { cpus: DEFAULT_CPUS, seed: 0, sched: SchedPolicy::Off }
    }
}

/// What happened at a preemption point.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PreemptOutcome {
    /// Hooks that ran.
    pub hooks_run: usize,
    /// `(prev, next)` if the scheduler switched tasks on this CPU.
    pub switched: Option<(Pid, Pid)>,
}

/// The simulation state.
pub struct Sim<E = (), F: Clone = ()> {
    config: SimConfig,
    /// Virtual time.
    pub clock: Clock,
    events: EventQueue<E>,
    rng: SimRng,
    sched_rng: SimRng,
    cpus: Vec<Cpu>,
    this_cpu: usize,
    /// Tasks and fd tables.
    pub procs: ProcessTable<F>,
    hooks: PreemptHooks<Sim<E, F>>,
}

impl<E: fmt::Debug, F: Clone + fmt::Debug> fmt::Debug for Sim<E, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sim")
            .field("config", &self.config)
            .field("clock", &self.clock)
            .field("events", &self.events)
            .field("this_cpu", &self.this_cpu)
            .field("cpus", &self.cpus)
            .field("procs", &self.procs)
            .field("hooks", &self.hooks)
            .finish_non_exhaustive()
    }
}

impl<E, F: Clone> Sim<E, F> {
    /// A simulation at time 0 on CPU 0, every CPU idle.
    pub fn new(config: SimConfig) -> Self {
        let rng = SimRng::new(config.seed);
        let cpus = (0..config.cpus.max(1)).map(|id| Cpu::new(id, &rng)).collect();
        Sim {
            clock: Clock::default(),
            events: EventQueue::new(),
            sched_rng: rng.fork(STREAM_SCHED),
            rng,
            cpus,
            this_cpu: 0,
            procs: ProcessTable::new(),
            hooks: PreemptHooks::new(),
            config,
        }
    }

    /// The configuration it was built with.
    pub fn config(&self) -> &SimConfig {
        &self.config
    }

    /// `ktime_get_ns()`.
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// The root random stream (for subsystems without their own fork).
    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.rng
    }

    /// A new independent stream for a subsystem, from the seed and `stream_id`.
    pub fn fork_rng(&self, stream_id: u64) -> SimRng {
        self.rng.fork(stream_id)
    }

    // --- CPUs ---

    /// `num_possible_cpus()`.
    pub fn nr_cpus(&self) -> u32 {
        self.cpus.len() as u32
    }

    /// `smp_processor_id()`: the CPU the simulation is executing on.
    pub fn smp_processor_id(&self) -> u32 {
        self.this_cpu as u32
    }

    /// Moves execution to `cpu`; `EINVAL` if it doesn't exist.
    pub fn set_this_cpu(&mut self, cpu: u32) -> Result<(), Errno> {
        if cpu as usize >= self.cpus.len() {
            return Err(Errno::EINVAL);
        }
        self.this_cpu = cpu as usize;
        Ok(())
    }

    /// The CPU executing now.
    pub fn this_cpu(&self) -> &Cpu {
        &self.cpus[self.this_cpu]
    }

    /// The CPU executing now, mutably.
    pub fn this_cpu_mut(&mut self) -> &mut Cpu {
        &mut self.cpus[self.this_cpu]
    }

    /// CPU `id`.
    pub fn cpu(&self, id: u32) -> Option<&Cpu> {
        self.cpus.get(id as usize)
    }

    /// CPU `id`, mutably.
    pub fn cpu_mut(&mut self, id: u32) -> Option<&mut Cpu> {
        self.cpus.get_mut(id as usize)
    }

    /// All CPUs in id order.
    pub fn cpus(&self) -> &[Cpu] {
        &self.cpus
    }

    /// `current` on the executing CPU.
    pub fn current(&self) -> Pid {
        self.this_cpu().current()
    }

    /// The `task_struct` of `current` (`None` for the idle task).
    pub fn current_task(&self) -> Option<&Process> {
        self.procs.get(self.current())
    }

    /// A task exits: it leaves every CPU's runqueue, a CPU running it goes
    /// idle, and the fd table comes back when the last thread of its group
    /// exits (see [`ProcessTable::exit`]).
    pub fn exit_task(&mut self, pid: Pid) -> Result<Option<fd::FdTable<F>>, Errno> {
        let files = self.procs.exit(pid)?;
        for cpu in &mut self.cpus {
            cpu.dequeue(pid);
            if cpu.current() == pid {
                cpu.set_current(Pid::IDLE);
            }
        }
        Ok(files)
    }

    // --- events ---

    /// Schedules `payload` at absolute time `time` (not before now).
    pub fn schedule_at(&mut self, time: u64, prio: Priority, payload: E) -> EventId {
        self.events.schedule(time.max(self.clock.now()), prio, payload)
    }

    /// Schedules `payload` `delay` nanoseconds from now.
    pub fn schedule_in(&mut self, delay: u64, prio: Priority, payload: E) -> EventId {
        self.schedule_at(self.clock.now().saturating_add(delay), prio, payload)
    }

    /// Cancels a pending event.
    pub fn cancel(&mut self, id: EventId) -> Option<E> {
        self.events.cancel(id)
    }

    /// The pending events.
    pub fn events(&self) -> &EventQueue<E> {
        &self.events
    }

    /// Pops the next event and advances the clock to its time (an event
    /// left behind by a manual [`Clock::advance`] fires at the current time).
    pub fn step(&mut self) -> Option<Event<E>> {
        let ev = self.events.pop()?;
        self.clock.advance_to(ev.id.time());
        Some(ev)
    }

    /// Runs every event due at or before `time` through `handler` (which
    /// may schedule more), advancing the clock to each event's time, then
    /// to `time`. Returns the number of events handled.
    pub fn run_until(&mut self, time: u64, mut handler: impl FnMut(&mut Self, Event<E>)) -> usize {
        let mut n = 0;
        while let Some(ev) = self.events.pop_until(time) {
            self.clock.advance_to(ev.id.time());
            handler(self, ev);
            n += 1;
        }
        self.clock.advance_to(time);
        n
    }

    // --- preemption points ---

    /// Registers a hook for the named preemption point.
    pub fn register_hook(
        &mut self,
        point: &str,
        mode: HookMode,
        f: impl FnMut(&mut Self) + 'static,
    ) -> HookId {
        self.hooks.register(point, mode, f)
    }

    /// Removes a hook; returns whether it was registered.
    pub fn unregister_hook(&mut self, id: HookId) -> bool {
        self.hooks.unregister(id)
    }

    /// The hook registry (hit counts, live hooks).
    pub fn hooks(&self) -> &PreemptHooks<Self> {
        &self.hooks
    }

    /// A named preemption point: runs its hooks, then lets the seeded
    /// scheduler switch tasks on the executing CPU if it is preemptible.
    pub fn preempt_point(&mut self, point: &str) -> PreemptOutcome {
        let hooks_run = PreemptHooks::fire(self, |s| &mut s.hooks, point);
        let switched = self.maybe_switch();
        PreemptOutcome { hooks_run, switched }
    }

    fn maybe_switch(&mut self) -> Option<(Pid, Pid)> {
        let SchedPolicy::Random { num, den } = self.config.sched else {
            return None;
        };
        let cpu = &mut self.cpus[self.this_cpu];
        if !cpu.preemptible() || cpu.runqueue().is_empty() {
            return None;
        }
        if !self.sched_rng.chance(num, den) {
            return None;
        }
        let index = self.sched_rng.below(cpu.runqueue().len() as u64) as usize;
        cpu.switch_to(index)
    }
}

#[cfg(test)]
mod tests {
    use super::cpu::Context;
    use super::process::SpawnArgs;
    use super::*;

    type TestSim = Sim<u32, u32>;

    fn sim(seed: u64, sched: SchedPolicy) -> TestSim {
        Sim::new(SimConfig { cpus: 2, seed, sched })
    }

    #[test]
    fn defaults() {
        let s: Sim = Sim::new(SimConfig::default());
        assert_eq!(s.nr_cpus(), 4);
        assert_eq!(s.smp_processor_id(), 0);
        assert_eq!(s.current(), Pid::IDLE);
        assert!(s.current_task().is_none());
        assert_eq!(s.now(), 0);
        let one: Sim = Sim::new(SimConfig { cpus: 0, ..SimConfig::default() });
        assert_eq!(one.nr_cpus(), 1);
    }

    #[test]
    fn cpus_and_current() {
        let mut s = sim(1, SchedPolicy::Off);
        let p = s.procs.spawn(SpawnArgs::root("app"));
        s.set_this_cpu(1).unwrap();
        s.this_cpu_mut().set_current(p);
        assert_eq!(s.smp_processor_id(), 1);
        assert_eq!(s.current_task().map(|t| t.comm.to_string()), Some("app".to_string()));
        assert_eq!(s.cpu(0).unwrap().current(), Pid::IDLE);
        assert_eq!(s.set_this_cpu(2), Err(Errno::EINVAL));
        assert!(s.cpu_mut(5).is_none());
        assert_eq!(s.cpus().len(), 2);
        // Per-CPU random streams differ.
        let a = s.cpu_mut(0).unwrap().rng().next_u64();
        let b = s.cpu_mut(1).unwrap().rng().next_u64();
        assert_ne!(a, b);
    }

    #[test]
    fn events_drive_the_clock() {
        let mut s = sim(1, SchedPolicy::Off);
        s.schedule_in(100, 0, 1);
        let id = s.schedule_in(50, 0, 2);
        s.schedule_in(50, -1, 3);
        assert_eq!(s.cancel(id), Some(2));
        let mut seen = Vec::new();
        let n = s.run_until(1_000, |s, ev| {
            seen.push((s.now(), ev.payload));
            if ev.payload == 3 {
                s.schedule_in(10, 0, 4);
            }
        });
        assert_eq!(n, 3);
        assert_eq!(seen, [(50, 3), (60, 4), (100, 1)]);
        assert_eq!(s.now(), 1_000);
        s.clock.advance(500);
        let late = s.schedule_at(10, 0, 5);
        assert_eq!(late.time(), 1_500);
        assert_eq!(s.events().len(), 1);
        assert_eq!(s.step().map(|e| e.payload), Some(5));
        assert!(s.step().is_none());
    }

    #[test]
    fn hook_injects_nmi_at_point() {
        let mut s = sim(1, SchedPolicy::Off);
        s.this_cpu_mut().preempt_disable();
        s.register_hook("ringbuf_reserve_locked", HookMode::Once, |s: &mut TestSim| {
            let cpu = s.this_cpu_mut();
            cpu.enter(Context::Nmi).unwrap();
            assert!(cpu.in_nmi());
            // A perf-event program would run here.
            cpu.exit(Context::Nmi).unwrap();
            s.schedule_in(7, 0, 42);
        });
        let out = s.preempt_point("ringbuf_reserve_locked");
        assert_eq!(out, PreemptOutcome { hooks_run: 1, switched: None });
        assert_eq!(s.preempt_point("ringbuf_reserve_locked").hooks_run, 0);
        assert_eq!(s.hooks().hits("ringbuf_reserve_locked"), 2);
        assert_eq!(s.step().map(|e| (e.id.time(), e.payload)), Some((7, 42)));
    }

    #[derive(Debug, PartialEq)]
    struct Run {
        order: Vec<(u64, u32)>,
        switches: Vec<Option<(Pid, Pid)>>,
        draws: Vec<u64>,
    }

    fn run_script(seed: u64) -> Run {
        let mut s = sim(seed, SchedPolicy::Random { num: 1, den: 2 });
        let pids: Vec<Pid> = (0..4).map(|i| s.procs.spawn(SpawnArgs::root(&format!("t{i}")))).collect();
        for &p in &pids {
            s.this_cpu_mut().enqueue(p);
        }
        for i in 0..20 {
            let delay = s.rng().below(1_000);
            let prio = s.rng().below(3) as i32;
            s.schedule_in(delay, prio, i);
        }
        let mut order = Vec::new();
        let mut switches = Vec::new();
        s.run_until(u64::MAX, |s, ev| {
            order.push((s.now(), ev.payload));
            switches.push(s.preempt_point("tick").switched);
        });
        let draws = (0..8).map(|_| s.this_cpu_mut().rng().next_u64()).collect();
        Run { order, switches, draws }
    }

    #[test]
    fn same_seed_same_run_different_seed_differs() {
        let a = run_script(42);
        let b = run_script(42);
        let c = run_script(43);
        assert_eq!(a, b);
        assert_ne!(a.order, c.order);
        assert_ne!(a.switches, c.switches);
        assert_ne!(a.draws, c.draws);
        assert!(a.switches.iter().any(Option::is_some), "the scheduler switched at least once");
        assert!(a.switches.iter().any(Option::is_none), "and declined at least once");
    }

    #[test]
    fn scheduler_respects_preempt_count() {
        let mut s = sim(3, SchedPolicy::Random { num: 1, den: 1 });
        let p = s.procs.spawn(SpawnArgs::root("a"));
        s.this_cpu_mut().enqueue(p);
        s.this_cpu_mut().preempt_disable();
        assert_eq!(s.preempt_point("x").switched, None);
        s.this_cpu_mut().preempt_enable().unwrap();
        s.this_cpu_mut().enter(Context::Softirq).unwrap();
        assert_eq!(s.preempt_point("x").switched, None);
        s.this_cpu_mut().exit(Context::Softirq).unwrap();
        assert_eq!(s.preempt_point("x").switched, Some((Pid::IDLE, p)));
        assert_eq!(s.current(), p);
        assert_eq!(s.exit_task(p).map(|f| f.is_some()), Ok(true));
        assert_eq!(s.current(), Pid::IDLE);
        assert_eq!(s.exit_task(p), Err(Errno::ESRCH));
        // Off never switches.
        let mut off = sim(3, SchedPolicy::Off);
        off.this_cpu_mut().enqueue(p);
        assert_eq!(off.preempt_point("x").switched, None);
    }
}
