//! Calling a traced function: the trampoline around it, and
//! `BPF_PROG_TEST_RUN` of tracing programs, which calls the test
//! functions.
//!
//! Kernel counterparts: `arch_prepare_bpf_trampoline()`
//! (arch/x86/net/bpf_jit_comp.c) — its semantics, not its code — and
//! `bpf_prog_test_run_tracing()` (net/bpf/test_run.c).
//!
//! A call of a function with programs linked ([`Kernel::call_traced`]):
//! the arguments are saved as `u64`s followed by a return-value slot (the
//! programs' ctx); the fentry programs run; if there are fexit or fmod_ret
//! programs (`BPF_TRAMP_F_CALL_ORIG`), the return slot is zeroed, each
//! fmod_ret program runs and stores its r0 there, the first non-zero one
//! skips the function, otherwise the function runs and its return value
//! (`int`, zero-extended as `eax` leaves `rax`) goes there; the fexit
//! programs run; the caller gets the slot. Below the ctx, as the x86-64
//! trampoline lays out its stack, are the function's address (ctx - 16,
//! `BPF_TRAMP_F_IP_ARG`; [`super::targets::func_ip`]) and the argument
//! count (ctx - 8, `emit_store_stack_imm64(.., nr_regs)`): what
//! `bpf_get_func_ip`, `bpf_get_func_arg`, `bpf_get_func_ret` and
//! `bpf_get_func_arg_cnt` read ([`crate::helpers::func_args`]). The
//! kernel stores the address only when a program calls
//! `bpf_get_func_ip`; bpfemu always does, which no program can tell.
//! Programs run in link order,
//! the newest first within a kind (`hlist_add_head`). The ctx is
//! read-only memory of each run, and so are the objects arguments point
//! at (`struct bpf_fentry_test_t`); recursion protection and run-time
//! statistics per trampoline are not emulated (runs are counted per
//! program as every run is).
//!
//! `BPF_PROG_TEST_RUN` (any tracing program; it need not be attached):
//! `flags`, `cpu`, `batch_size` must be 0 (`EINVAL`). fentry/fexit: calls
//! `bpf_fentry_test1(1)` .. `bpf_fentry_test8(&arg)` with the kernel's
//! arguments; a result other than the expected one (a program changed
//! it) is `EFAULT`. fmod_ret: `ret = bpf_modify_return_test(1, &b)` with
//! `b = 2`, `retval = side_effect << 16 | (u16)ret`, `side_effect` 1 when
//! the function ran (it increments `*b`). Other attach types: `EFAULT`.
//! Deviation: current kernels also call `bpf_fentry_test9`, `_test10` and
//! `bpf_modify_return_test2`, which are not emulated.

use super::targets::{TestFunc, btf_id_of};
use super::tramp::Kind;
use crate::bpf::attr::{TestRunAttr, TestRunOut};
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::uapi::AttachType;
use bpfemu_vm::MemRegion;
use std::sync::Arc;

/// Memory a call's pointer arguments refer to.
#[derive(Debug, Default)]
pub struct CallObjects {
    /// `struct bpf_fentry_test_t arg = {}` (its `a` member, NULL).
    pub arg: [u8; 8],
    /// `int b` of `bpf_modify_return_test(a, &b)`.
    pub b: i32,
}

impl CallObjects {
    /// The region of `arg` (`struct bpf_fentry_test_t`).
    fn region(&self) -> MemRegion<'_> {
        MemRegion::from_slice("bpf_fentry_test_t", &self.arg)
    }
}

/// The C body of test function `name` on `args` (net/bpf/test_run.c),
/// as the `int` it returns, zero-extended to 64 bits.
fn body(name: &str, a: &[u64], objs: &mut CallObjects) -> u64 {
    let i = |k: usize| a[k] as i64;
    let int = |k: usize| i64::from(a[k] as i32);
    let short = |k: usize| i64::from(a[k] as i16);
    let ch = |k: usize| i64::from(a[k] as i8);
    let r: i64 = match name {
        "bpf_fentry_test1" => int(0) + 1,
        "bpf_fentry_test2" => int(0) + i(1),
        "bpf_fentry_test3" => ch(0) + int(1) + i(2),
        "bpf_fentry_test4" => i(0) + ch(1) + int(2) + i(3),
        "bpf_fentry_test5" => i(0) + i(1) + short(2) + int(3) + i(4),
        "bpf_fentry_test6" => i(0) + i(1) + short(2) + int(3) + i(4) + i(5),
        "bpf_fentry_test7" => i(0),
        "bpf_fentry_test8" => i64::from_ne_bytes(objs.arg),
        "bpf_modify_return_test" => {
            objs.b += 1;
            int(0) + i64::from(objs.b)
        }
        _ => 0,
    };
    u64::from(r as i32 as u32)
}

impl Kernel {
    /// Runs one program of a trampoline on `ctx`: its r0 (0 if the run
    /// failed, which only an unsound verification can make happen; the
    /// paranoid mode records it).
    ///
    /// The region holds the function's address and the argument count
    /// (`nr_args`) below the ctx proper (see the module docs); r1 points
    /// past them. `objs`: the read-only objects pointer arguments point
    /// at.
    pub(crate) fn run_tramp_prog(
        &mut self,
        prog: &Arc<Prog>,
        call: (u64, usize),
        ctx: &[u64],
        objs: &[MemRegion<'_>],
    ) -> u64 {
        let (ip, nr_args) = call;
        let bytes: Vec<u8> = [ip, nr_args as u64].iter().chain(ctx).flat_map(|v| v.to_ne_bytes()).collect();
        let ctx_region = MemRegion::from_slice("ctx", &bytes);
        let addr = ctx_region.start() + 16;
        let mut regions = vec![ctx_region];
        regions.extend(objs.iter().cloned());
        self.run_prog(prog, &[addr], &regions).unwrap_or(0)
    }

    /// Calls the traced function `f` with `args` through its trampoline
    /// (see the module docs); its return value as the caller sees it.
    pub fn call_traced(&mut self, f: &TestFunc, args: &[u64], objs: &mut CallObjects) -> u64 {
        let tramp = btf_id_of(f.name).and_then(|id| self.trampolines.get(id));
        let Some(tr) = tramp else { return body(f.name, args, objs) };
        let n = args.len();
        let call = (super::targets::func_ip(f.name).unwrap_or(0), n);
        let mut ctx = args.to_vec();
        ctx.push(0);
        for (_, p) in &tr.progs[Kind::Fentry as usize] {
            self.run_tramp_prog(p, call, &ctx, &[objs.region()]);
        }
        let (fexit, fmod) = (&tr.progs[Kind::Fexit as usize], &tr.progs[Kind::ModifyReturn as usize]);
        if fexit.is_empty() && fmod.is_empty() {
            return body(f.name, args, objs);
        }
        let mut skip = false;
        for (_, p) in fmod {
            ctx[n] = self.run_tramp_prog(p, call, &ctx, &[objs.region()]);
            if ctx[n] != 0 {
                skip = true;
                break;
            }
        }
        if !skip {
            ctx[n] = body(f.name, args, objs);
        }
        for (_, p) in fexit {
            self.run_tramp_prog(p, call, &ctx, &[objs.region()]);
        }
        ctx[n]
    }

    /// Calls the test function `name` with `args` (its address taken
    /// from `objs` where the kernel passes `&arg`).
    fn call_test(&mut self, name: &str, args: &[u64], objs: &mut CallObjects) -> u64 {
        let f = super::TEST_FUNCS.iter().find(|f| f.name == name).expect("an emulated test function");
        self.call_traced(f, args, objs)
    }

    /// `bpf_prog_test_run_tracing()`.
    pub(crate) fn test_run_tracing(
        &mut self,
        attr: &mut TestRunAttr<'_>,
        prog: &Arc<Prog>,
    ) -> Result<i64, Errno> {
        if attr.flags != 0 || attr.cpu != 0 || attr.batch_size != 0 {
            return Err(Errno::EINVAL);
        }
        let mut objs = CallObjects { b: 2, ..Default::default() };
        let arg_addr = objs.arg.as_ptr().expose_provenance() as u64;
        let retval: u32 = match prog.expected_attach_type {
            Some(AttachType::TraceFentry | AttachType::TraceFexit) => {
                let calls: [(&str, Vec<u64>, u64); 8] = [
                    ("bpf_fentry_test1", vec![1], 2),
                    ("bpf_fentry_test2", vec![2, 3], 5),
                    ("bpf_fentry_test3", vec![4, 5, 6], 15),
                    ("bpf_fentry_test4", vec![7, 8, 9, 10], 34),
                    ("bpf_fentry_test5", vec![11, 12, 13, 14, 15], 65),
                    ("bpf_fentry_test6", vec![16, 17, 18, 19, 20, 21], 111),
                    ("bpf_fentry_test7", vec![0], 0),
                    ("bpf_fentry_test8", vec![arg_addr], 0),
                ];
                for (name, args, want) in calls {
                    if self.call_test(name, &args, &mut objs) as u32 != want as u32 {
                        return Err(Errno::EFAULT);
                    }
                }
                0
            }
            Some(AttachType::ModifyReturn) => {
                let b_addr = std::ptr::addr_of!(objs.b).expose_provenance() as u64;
                let ret = self.call_test("bpf_modify_return_test", &[1, b_addr], &mut objs) as u16;
                let side_effect = u32::from(objs.b != 2);
                (side_effect << 16) | u32::from(ret)
            }
            _ => return Err(Errno::EFAULT),
        };
        if let Some(out) = attr.out.as_deref_mut() {
            *out = TestRunOut { retval, duration: 0, data_size_out: 0, ctx_size_out: 0 };
        }
        Ok(0)
    }
}
