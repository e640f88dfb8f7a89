//! `BPF_PROG_TEST_RUN` of a syscall program taken apart, so that the run
//! itself can proceed on another host thread while the kernel goes on with
//! other work: what a scenario's `concurrent` block needs to let two
//! programs run "at once" on two simulated CPUs and interleave at the
//! points of [`crate::runctx::Switcher`].
//!
//! Kernel counterpart: `bpf_prog_test_run_syscall()` (net/bpf/test_run.c),
//! split in three (`BPF_PROG_TEST_RUN` itself runs the three in a row): [`Kernel::test_run_detach`] does the attribute checks and
//! copies the ctx in (needs the kernel), [`DetachedRun::execute`] runs the
//! program (needs only the program, its maps and a [`RunCtx`]: any thread),
//! [`Kernel::test_run_reattach`] hands back the result, the ctx and the
//! trace lines (needs the kernel again). Between the first and the last the
//! run holds references to the program and its maps, as a running program
//! does in the kernel; the kernel may close their fds meanwhile.
//!
//! Only `BPF_PROG_TYPE_SYSCALL` with `ctx_in`/`ctx_out` is taken apart
//! (other attributes are `EINVAL` for it anyway); other types answer
//! `EOPNOTSUPP` here and run whole through `BPF_PROG_TEST_RUN`.

use super::prog::Prog;
use super::run::SoundnessViolation;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::runctx::{RunCtx, Switcher, SwitchingArmed};
use crate::uapi::ProgType;
use bpfemu_vm::{MemRegion, VmError};
use std::sync::Arc;

/// A prepared run: see the module docs.
#[derive(Debug)]
pub struct DetachedRun {
    prog: Arc<Prog>,
    ctx: Vec<u8>,
    rctx: RunCtx,
    fast: bool,
    paranoid: bool,
}

/// A finished run, to hand back with [`Kernel::test_run_reattach`].
#[derive(Debug)]
pub struct DetachedDone {
    prog: Arc<Prog>,
    ctx: Vec<u8>,
    result: Result<u64, VmError>,
    trace: Vec<String>,
    paranoid: bool,
}

/// What a reattached run returns: `retval` and the ctx as the program left
/// it (`ctx_out`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DetachedOut {
    pub retval: u32,
    pub ctx: Vec<u8>,
    pub duration: u32,
}

impl DetachedRun {
    /// Runs the program on this thread; `switcher`, if any, is called at
    /// each interleaving point.
    pub fn execute(self, switcher: Option<Arc<dyn Switcher>>) -> DetachedDone {
        let DetachedRun { prog, mut ctx, mut rctx, fast, paranoid } = self;
        let _armed = switcher.is_some().then(SwitchingArmed::new);
        rctx.switcher = switcher;
        let (result, out) = if ctx.is_empty() {
            super::run::run_with_ctx(&prog, &[0], &[], rctx, fast)
        } else {
            let region = MemRegion::from_mut_slice("ctx", &mut ctx);
            let addr = region.start();
            super::run::run_with_ctx(&prog, &[addr], &[region], rctx, fast)
        };
        DetachedDone { prog, ctx, result, trace: out.trace, paranoid }
    }
}

impl Kernel {
    /// The checks of `BPF_PROG_TEST_RUN` for a syscall program with
    /// `ctx_in` (see [`super::test_run`]), and the run's context as of now
    /// (this CPU, clocks, task). `EBADF`/`EINVAL` as the command;
    /// `EOPNOTSUPP` for other program types (run them whole).
    pub fn test_run_detach(&mut self, prog_fd: i32, ctx_in: &[u8]) -> Result<DetachedRun, Errno> {
        let prog = self.fd_obj(prog_fd)?.prog()?.clone();
        if prog.prog_type != ProgType::Syscall {
            return Err(Errno::EOPNOTSUPP);
        }
        // Hooks at in-run points (injected NMIs) stay with runs that the
        // kernel runs whole.
        self.syscall_run(prog, ctx_in, false)
    }

    /// A syscall program's run prepared (`ctx_in` size checks, the run
    /// context as of now); `BPF_PROG_TEST_RUN` executes it at once with
    /// `points`, a `concurrent` branch later without.
    pub(crate) fn syscall_run(
        &self,
        prog: Arc<Prog>,
        ctx_in: &[u8],
        points: bool,
    ) -> Result<DetachedRun, Errno> {
        if ctx_in.len() > usize::from(u16::MAX) || ctx_in.len() < prog.max_ctx_offset as usize {
            return Err(Errno::EINVAL);
        }
        let paranoid = self.paranoid();
        let fast = prog.verified && !paranoid;
        let mut rctx = self.run_ctx();
        rctx.tasks = crate::kfuncs::task::TaskTable::for_prog(&prog, &self.sim.procs);
        if !points {
            rctx.points = None;
        }
        Ok(DetachedRun { prog, ctx: ctx_in.to_vec(), rctx, fast, paranoid })
    }

    /// Takes a finished run back: its trace lines join the trace pipe, a
    /// fault of a verified program in paranoid mode is recorded (see
    /// [`Kernel::take_soundness_violations`]) and, as `BPF_PROG_TEST_RUN`,
    /// a failed run is `EFAULT`.
    pub fn test_run_reattach(&mut self, done: DetachedDone) -> Result<DetachedOut, Errno> {
        let DetachedDone { prog, ctx, result, trace, paranoid } = done;
        self.trace_pipe.extend(trace);
        match result {
            Ok(r0) => Ok(DetachedOut { retval: r0 as u32, ctx, duration: Self::prog_run_cost(&prog) as u32 }),
            Err(error) => {
                if paranoid && prog.verified {
                    self.exec.violations.push(SoundnessViolation {
                        prog_id: prog.id,
                        prog_name: prog.name.clone(),
                        error,
                    });
                }
                Err(Errno::EFAULT)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bpf::attr::{BpfAttr, TestRunAttr, TestRunOut};
    use crate::kernel::KernelConfig;
    use parking_lot::Mutex;

    /// Counts its points.
    #[derive(Debug, Default)]
    struct Count(Mutex<u32>);

    impl Switcher for Count {
        fn switch(&self) {
            *self.0.lock() += 1;
        }
    }

    fn load(k: &mut Kernel, src: &str) -> i32 {
        let insns = bpfemu_isa::asm::kernel::assemble(src).unwrap();
        let a = crate::bpf::attr::ProgLoadAttr {
            prog_type: ProgType::Syscall.raw(),
            prog_flags: crate::bpf::load::BPF_F_SLEEPABLE,
            insns: &insns,
            license: "GPL",
            ..Default::default()
        };
        k.bpf(BpfAttr::ProgLoad(a)).unwrap() as i32
    }

    const PROG: &str = "r6 = r1\n\
                        call bpf_ktime_get_ns#5\n\
                        call bpf_get_smp_processor_id#8\n\
                        r0 = *(u32 *)(r6 +0)\n\
                        r0 += 1\n\
                        *(u32 *)(r6 +0) = r0\n\
                        exit";

    #[test]
    fn a_detached_run_gives_what_the_whole_command_gives_and_stops_after_each_call() {
        for jit in [true, false] {
            let mut k = Kernel::new(KernelConfig::default());
            k.set_jit_enable(jit).unwrap();
            let fd = load(&mut k, PROG);
            #[cfg(target_arch = "x86_64")]
            assert_eq!(k.fd_obj(fd).unwrap().prog().unwrap().jited().is_some(), jit);
            let run = k.test_run_detach(fd, &41u32.to_le_bytes()).unwrap();
            let count = Arc::new(Count::default());
            let done = std::thread::spawn({
                let c = count.clone();
                move || run.execute(Some(c))
            })
            .join()
            .unwrap();
            let out = k.test_run_reattach(done).unwrap();
            assert_eq!(out.ctx, 42u32.to_le_bytes());
            assert_eq!(out.retval, 42);
            assert_eq!(*count.0.lock(), 2, "one point after each helper call (jit {jit})");

            let mut ctx_out = [0u8; 4];
            let mut o = TestRunOut::default();
            let attr = TestRunAttr {
                prog_fd: fd,
                ctx_in: &41u32.to_le_bytes(),
                ctx_out: Some(&mut ctx_out),
                out: Some(&mut o),
                ..Default::default()
            };
            k.bpf(BpfAttr::ProgTestRun(attr)).unwrap();
            assert_eq!(
                (o.retval, ctx_out, o.duration),
                (out.retval, out.ctx[..].try_into().unwrap(), out.duration)
            );
        }
    }

    #[test]
    fn only_syscall_programs_detach_and_the_command_checks_stay() {
        let mut k = Kernel::new(KernelConfig::default());
        let fd = load(&mut k, PROG);
        assert_eq!(k.test_run_detach(fd, &[0; 2]).unwrap_err(), Errno::EINVAL, "ctx shorter than read");
        assert_eq!(k.test_run_detach(99, &[]).unwrap_err(), Errno::EBADF);
        let insns = bpfemu_isa::asm::kernel::assemble("r0 = 0\nexit").unwrap();
        let a = crate::bpf::attr::ProgLoadAttr {
            prog_type: ProgType::SocketFilter.raw(),
            insns: &insns,
            license: "GPL",
            ..Default::default()
        };
        let sf = k.bpf(BpfAttr::ProgLoad(a)).unwrap() as i32;
        assert_eq!(k.test_run_detach(sf, &[]).unwrap_err(), Errno::EOPNOTSUPP);
    }
}
