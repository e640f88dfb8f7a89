//! Simulated CPUs and their execution contexts.
//!
//! Kernel counterpart: `include/linux/preempt.h` (the `preempt_count` layout
//! and `in_nmi()`, `in_hardirq()`, `in_serving_softirq()`, `in_task()`),
//! `kernel/softirq.c` (`irq_enter`/`irq_exit`, softirq processing) and
//! `kernel/entry/common.c` (`irqentry_nmi_enter`).
//!
//! Each CPU keeps a stack of contexts with `Task` at the bottom. Nesting
//! rules, as on x86-64 Linux:
//! - softirq runs over task only (softirqs never nest; `irq_exit` runs them
//!   once the hardirq count has dropped);
//! - hardirq runs over task or softirq (handlers run with interrupts
//!   disabled, so hardirqs don't nest);
//! - NMI runs over task, softirq or hardirq; not over NMI (x86 latches a
//!   second NMI until the first returns).
//!
//! The `preempt_count` value is derived from the stack exactly as the kernel
//! builds it: softirq adds `SOFTIRQ_OFFSET`, hardirq `HARDIRQ_OFFSET`, NMI
//! `NMI_OFFSET + HARDIRQ_OFFSET` (so `in_hardirq()` is true inside an NMI),
//! `local_bh_disable` adds `SOFTIRQ_DISABLE_OFFSET` and `preempt_disable`
//! adds one. Not emulated: `irqs_disabled()` state separate from the
//! context, `PREEMPT_NEED_RESCHED`, RT kernels.

use thiserror::Error;

use super::process::Pid;
use super::rng::SimRng;

/// `PREEMPT_MASK`.
pub const PREEMPT_MASK: u32 = 0x0000_00ff;
/// `SOFTIRQ_MASK`.
pub const SOFTIRQ_MASK: u32 = 0x0000_ff00;
/// `HARDIRQ_MASK`.
pub const HARDIRQ_MASK: u32 = 0x000f_0000;
/// `NMI_MASK`.
pub const NMI_MASK: u32 = 0x00f0_0000;
/// `SOFTIRQ_OFFSET`: set while a softirq is being served.
pub const SOFTIRQ_OFFSET: u32 = 0x100;
/// `SOFTIRQ_DISABLE_OFFSET`: added by `local_bh_disable()`.
pub const SOFTIRQ_DISABLE_OFFSET: u32 = 2 * SOFTIRQ_OFFSET;
/// `HARDIRQ_OFFSET`.
pub const HARDIRQ_OFFSET: u32 = 0x1_0000;
/// `NMI_OFFSET`.
pub const NMI_OFFSET: u32 = 0x10_0000;

/// An execution context a CPU can be in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Context {
    /// Process context (a task, possibly a kernel thread).
    Task,
    /// Serving a softirq (e.g. `NET_RX`).
    Softirq,
    /// A hardware interrupt handler.
    Hardirq,
    /// A non-maskable interrupt (perf events, watchdog).
    Nmi,
}

impl Context {
    /// Whether `self` may be entered while `under` is the innermost context.
    pub fn can_nest_over(self, under: Context) -> bool {
        match self {
            Context::Task => false,
            Context::Softirq => under == Context::Task,
            Context::Hardirq => matches!(under, Context::Task | Context::Softirq),
            Context::Nmi => under != Context::Nmi,
        }
    }

    fn preempt_offset(self) -> u32 {
        match self {
            Context::Task => 0,
            Context::Softirq => SOFTIRQ_OFFSET,
            Context::Hardirq => HARDIRQ_OFFSET,
            Context::Nmi => NMI_OFFSET + HARDIRQ_OFFSET,
        }
    }
}

/// Errors of context transitions: bugs in the caller, not guest-visible errnos.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContextError {
    /// `enter` of a context that may not nest over the current one.
    #[error("cannot enter {entering:?} context over {current:?}")]
    BadNesting {
        /// The innermost context.
        current: Context,
        /// What was being entered.
        entering: Context,
    },
    /// `exit` of a context that is not the innermost one (or of `Task`).
    #[error("cannot exit {exiting:?} context: innermost is {current:?}")]
    BadExit {
        /// The innermost context.
        current: Context,
        /// What was being exited.
        exiting: Context,
    },
    /// `preempt_enable`/`local_bh_enable` without a matching disable.
    #[error("unbalanced {0}")]
    Unbalanced(&'static str),
}

/// One simulated CPU.
#[derive(Debug, Clone)]
pub struct Cpu {
    id: u32,
    stack: Vec<Context>,
    preempt_disabled: u32,
    bh_disabled: u32,
    current: Pid,
    runqueue: Vec<Pid>,
    rng: SimRng,
}

impl Cpu {
    /// CPU `id`, in task context running the idle task ([`Pid::IDLE`]),
    /// with a per-CPU random stream forked from `rng`.
    pub fn new(id: u32, rng: &SimRng) -> Cpu {
        Cpu {
            id,
            stack: vec![Context::Task],
            preempt_disabled: 0,
            bh_disabled: 0,
            current: Pid::IDLE,
            runqueue: Vec::new(),
            rng: rng.fork(super::STREAM_CPU_BASE + u64::from(id)),
        }
    }

    /// `smp_processor_id()` when this CPU is running.
    pub fn id(&self) -> u32 {
        self.id
    }

    /// The innermost context.
    pub fn context(&self) -> Context {
        *self.stack.last().unwrap_or(&Context::Task)
    }

    /// The context stack, outermost (`Task`) first.
    pub fn contexts(&self) -> &[Context] {
        &self.stack
    }

    /// Enters `ctx` (`__irq_enter`, `__nmi_enter`, softirq processing).
    pub fn enter(&mut self, ctx: Context) -> Result<(), ContextError> {
        let current = self.context();
        if !ctx.can_nest_over(current) {
            return Err(ContextError::BadNesting { current, entering: ctx });
        }
        self.stack.push(ctx);
        Ok(())
    }

    /// Leaves `ctx`, which must be the innermost non-task context.
    pub fn exit(&mut self, ctx: Context) -> Result<(), ContextError> {
        let current = self.context();
        if current != ctx || ctx == Context::Task {
            return Err(ContextError::BadExit { current, exiting: ctx });
        }
        self.stack.pop();
        Ok(())
    }

    /// `preempt_disable()`.
    pub fn preempt_disable(&mut self) {
        self.preempt_disabled += 1;
    }

    /// `preempt_enable()`.
    pub fn preempt_enable(&mut self) -> Result<(), ContextError> {
        self.preempt_disabled =
            self.preempt_disabled.checked_sub(1).ok_or(ContextError::Unbalanced("preempt_enable"))?;
        Ok(())
    }

    /// `local_bh_disable()`.
    pub fn local_bh_disable(&mut self) {
        self.bh_disabled += 1;
    }

    /// `local_bh_enable()`.
    pub fn local_bh_enable(&mut self) -> Result<(), ContextError> {
        self.bh_disabled =
            self.bh_disabled.checked_sub(1).ok_or(ContextError::Unbalanced("local_bh_enable"))?;
        Ok(())
    }

    /// `preempt_count()` as the kernel would hold it in this state.
    pub fn preempt_count(&self) -> u32 {
        let ctx: u32 = self.stack.iter().map(|c| c.preempt_offset()).sum();
        ctx + self.preempt_disabled + self.bh_disabled * SOFTIRQ_DISABLE_OFFSET
    }

    /// `in_nmi()`.
    pub fn in_nmi(&self) -> bool {
        self.preempt_count() & NMI_MASK != 0
    }

    /// `in_hardirq()` (true in NMI too, as in the kernel).
    pub fn in_hardirq(&self) -> bool {
        self.preempt_count() & HARDIRQ_MASK != 0
    }

    /// `in_serving_softirq()` (stays true when a hardirq interrupts a softirq).
    pub fn in_serving_softirq(&self) -> bool {
        self.preempt_count() & SOFTIRQ_OFFSET != 0
    }

    /// `in_softirq()`: serving a softirq or with bottom halves disabled.
    pub fn in_softirq(&self) -> bool {
        self.preempt_count() & SOFTIRQ_MASK != 0
    }

    /// `in_interrupt()`: NMI, hardirq, softirq or bh disabled.
    pub fn in_interrupt(&self) -> bool {
        self.preempt_count() & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_MASK) != 0
    }

    /// `in_task()`: neither NMI, hardirq nor serving a softirq.
    pub fn in_task(&self) -> bool {
        self.preempt_count() & (NMI_MASK | HARDIRQ_MASK | SOFTIRQ_OFFSET) == 0
    }

    /// Whether the scheduler may switch tasks here (`preemptible()`).
    pub fn preemptible(&self) -> bool {
        self.preempt_count() == 0
    }

    /// The task running on this CPU (`current`); in interrupt context, the
    /// interrupted task, as in the kernel.
    pub fn current(&self) -> Pid {
        self.current
    }

    /// Makes `pid` current (a context switch performed by the caller).
    pub fn set_current(&mut self, pid: Pid) {
        self.current = pid;
    }

    /// Tasks runnable on this CPU but not running, in queue order.
    pub fn runqueue(&self) -> &[Pid] {
        &self.runqueue
    }

    /// Queues `pid` as runnable on this CPU (no-op if already queued or current).
    pub fn enqueue(&mut self, pid: Pid) {
        if pid != self.current && !self.runqueue.contains(&pid) {
            self.runqueue.push(pid);
        }
    }

    /// Removes `pid` from the runqueue; returns whether it was queued.
    pub fn dequeue(&mut self, pid: Pid) -> bool {
        let before = self.runqueue.len();
        self.runqueue.retain(|&p| p != pid);
        before != self.runqueue.len()
    }

    /// Switches to the runqueue entry at `index`: the current task (unless
    /// idle) goes to the back of the queue. Returns `(prev, next)`.
    pub fn switch_to(&mut self, index: usize) -> Option<(Pid, Pid)> {
        if index >= self.runqueue.len() {
            return None;
        }
        let next = self.runqueue.remove(index);
        let prev = std::mem::replace(&mut self.current, next);
        if prev != Pid::IDLE {
            self.runqueue.push(prev);
        }
        Some((prev, next))
    }

    /// This CPU's random stream (`bpf_get_prandom_u32` is per-CPU state).
    pub fn rng(&mut self) -> &mut SimRng {
        &mut self.rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cpu() -> Cpu {
        Cpu::new(0, &SimRng::new(1))
    }

    #[test]
    fn nesting_rules() {
        use Context::*;
        let ok = [(Softirq, Task), (Hardirq, Task), (Hardirq, Softirq), (Nmi, Task), (Nmi, Softirq)];
        for (a, b) in ok {
            assert!(a.can_nest_over(b), "{a:?} over {b:?}");
        }
        assert!(Nmi.can_nest_over(Hardirq));
        let bad = [(Task, Task), (Softirq, Softirq), (Softirq, Hardirq), (Hardirq, Hardirq), (Nmi, Nmi)];
        for (a, b) in bad {
            assert!(!a.can_nest_over(b), "{a:?} over {b:?}");
        }
        let mut c = cpu();
        assert_eq!(c.enter(Task), Err(ContextError::BadNesting { current: Task, entering: Task }));
        c.enter(Hardirq).unwrap();
        assert_eq!(c.enter(Softirq), Err(ContextError::BadNesting { current: Hardirq, entering: Softirq }));
        assert_eq!(c.exit(Nmi), Err(ContextError::BadExit { current: Hardirq, exiting: Nmi }));
        c.exit(Hardirq).unwrap();
        assert_eq!(c.exit(Task), Err(ContextError::BadExit { current: Task, exiting: Task }));
    }

    #[test]
    fn preempt_h_queries() {
        let mut c = cpu();
        assert!(c.in_task() && !c.in_interrupt() && c.preemptible());
        assert_eq!(c.preempt_count(), 0);

        c.enter(Context::Softirq).unwrap();
        assert!(c.in_serving_softirq() && c.in_softirq() && !c.in_task() && !c.in_hardirq());
        assert_eq!(c.preempt_count(), SOFTIRQ_OFFSET);

        c.enter(Context::Hardirq).unwrap();
        assert!(c.in_hardirq() && c.in_serving_softirq() && !c.in_nmi());
        assert_eq!(c.preempt_count(), SOFTIRQ_OFFSET + HARDIRQ_OFFSET);

        c.enter(Context::Nmi).unwrap();
        assert!(c.in_nmi() && c.in_hardirq() && !c.in_task());
        assert_eq!(c.preempt_count(), SOFTIRQ_OFFSET + 2 * HARDIRQ_OFFSET + NMI_OFFSET);
        assert_eq!(c.contexts(), [Context::Task, Context::Softirq, Context::Hardirq, Context::Nmi]);

        c.exit(Context::Nmi).unwrap();
        c.exit(Context::Hardirq).unwrap();
        c.exit(Context::Softirq).unwrap();
        assert!(c.in_task());
    }

    #[test]
    fn bh_and_preempt_disable() {
        let mut c = cpu();
        c.local_bh_disable();
        // bh disabled: in_softirq() but still in_task(), as in the kernel.
        assert!(c.in_softirq() && !c.in_serving_softirq() && c.in_task() && c.in_interrupt());
        assert_eq!(c.enter(Context::Softirq), Ok(()));
        c.exit(Context::Softirq).unwrap();
        c.local_bh_enable().unwrap();
        c.preempt_disable();
        assert!(!c.preemptible() && c.in_task());
        assert_eq!(c.preempt_count() & PREEMPT_MASK, 1);
        c.preempt_enable().unwrap();
        assert_eq!(c.preempt_enable(), Err(ContextError::Unbalanced("preempt_enable")));
        assert_eq!(c.local_bh_enable(), Err(ContextError::Unbalanced("local_bh_enable")));
    }

    #[test]
    fn runqueue_and_switch() {
        let mut c = cpu();
        assert_eq!(c.current(), Pid::IDLE);
        c.enqueue(Pid(5));
        c.enqueue(Pid(6));
        c.enqueue(Pid(5));
        assert_eq!(c.runqueue(), [Pid(5), Pid(6)]);
        assert_eq!(c.switch_to(0), Some((Pid::IDLE, Pid(5))));
        assert_eq!(c.runqueue(), [Pid(6)]);
        assert_eq!(c.switch_to(0), Some((Pid(5), Pid(6))));
        assert_eq!(c.runqueue(), [Pid(5)]);
        assert_eq!(c.switch_to(3), None);
        assert!(c.dequeue(Pid(5)));
        assert!(!c.dequeue(Pid(5)));
    }
}
