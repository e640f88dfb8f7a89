//! The kfunc registry, the vmlinux FUNC entries, BTF struct access, the
//! task snapshot, and runs of a kfunc-calling program on both engines.

use super::ops::struct_access;
use super::task::{TaskTable, task_struct_id};
use super::*;
use crate::bpf::attr::{BpfAttr, ProgLoadAttr, TestRunAttr, TestRunOut};
use crate::kernel::{Kernel, KernelConfig};
use crate::sim::process::{ProcessTable, SpawnArgs};
use bpfemu_verifier::env::{Access, CtxField};

#[test]
fn kfunc_funcs_are_appended_after_every_other_type() {
    let btf = crate::vmlinux::shared();
    let last_struct = btf.find_by_name_kind("pt_regs", BtfKind::Struct).unwrap();
    let from_pid = kfunc_btf_id("bpf_task_from_pid").unwrap();
    assert!(from_pid > last_struct);
    let Some(Kind::Func { proto, .. }) = btf.kind(from_pid) else { panic!("FUNC") };
    let Some(Kind::FuncProto { ret, params }) = btf.kind(*proto) else { panic!("FUNC_PROTO") };
    let Some(Kind::Ptr { ty }) = btf.kind(*ret) else { panic!("returns a pointer") };
    assert_eq!(*ty, task_struct_id());
    assert_eq!(params.len(), 1);
    assert_eq!(btf.str_at(btf.get(params[0].ty).unwrap().name_off), "s32");
    for k in KFUNCS {
        assert_eq!(func_name(kfunc_btf_id(k.name).unwrap()).as_deref(), Some(k.name));
    }
    assert_eq!(func_name(1), None, "int is not a function");
}

#[test]
fn registry_follows_the_kernel_registrations() {
    let r = registry();
    let from_pid = kfunc_btf_id("bpf_task_from_pid").unwrap();
    let acquire = kfunc_btf_id("bpf_task_acquire").unwrap();
    let lock = kfunc_btf_id("bpf_rcu_read_lock").unwrap();
    for t in [ProgType::Syscall, ProgType::SchedCls, ProgType::Xdp, ProgType::CgroupSkb, ProgType::Tracing] {
        assert_eq!(r.flags(t, from_pid), Some(KF_ACQUIRE | KF_RET_NULL), "{t:?}");
        assert_eq!(r.flags(t, acquire), Some(KF_ACQUIRE | KF_RCU | KF_RET_NULL));
    }
    for t in [ProgType::SocketFilter, ProgType::SchedAct, ProgType::Kprobe, ProgType::SkLookup] {
        assert_eq!(r.flags(t, from_pid), None, "{t:?}");
        assert_eq!(r.flags(t, lock), Some(0), "common set for {t:?}");
    }
    let p = proto_for(ProgType::Syscall, from_pid).unwrap();
    assert!(p.acquire && p.ret_null && !p.release && !p.rcu);
    assert_eq!(p.args, vec![KfuncArg::Scalar]);
    let rel = proto_for(ProgType::Xdp, kfunc_btf_id("bpf_task_release").unwrap()).unwrap();
    assert!(rel.release && rel.ret == KfuncRet::Void);
    assert_eq!(rel.args, vec![KfuncArg::BtfId(task_struct_id())]);
    // A type without a hook cannot get a set.
    let mut reg = Registry::default();
    assert_eq!(reg.register(Some(ProgType::SkLookup), &GENERIC), Err(crate::Errno::EINVAL));
    let bogus = KfuncIdSet { name: "x", set: &[("no_such_kfunc", 0)] };
    assert_eq!(reg.register(None, &bogus), Err(crate::Errno::EINVAL));
}

#[test]
fn task_struct_walk() {
    let btf = crate::vmlinux::shared();
    let t = task_struct_id();
    let read = |off, size| struct_access(&btf, t, off, size, Access::Read);
    assert_eq!(read(8, 4), Ok(CtxField::Scalar));
    assert_eq!(read(32, 1), Ok(CtxField::Scalar), "comm[0]");
    assert_eq!(read(16, 8), Ok(CtxField::BtfId { btf_id: t, maybe_null: false, trusted: false }));
    assert!(read(16, 4).unwrap_err().starts_with("cannot access ptr member real_parent"));
    assert!(read(6, 4).unwrap_err().starts_with("access beyond the end of member flags"));
    assert_eq!(read(48, 8), Err("access beyond struct task_struct at off 48 size 8".into()));
    assert_eq!(struct_access(&btf, t, 8, 4, Access::Write), Err("only read is supported".into()));
}

#[test]
fn task_snapshot_counts_references() {
    let mut procs: ProcessTable<()> = ProcessTable::new();
    let a = procs.spawn(SpawnArgs::root("init"));
    let b = procs.spawn(SpawnArgs::root("worker"));
    let t = TaskTable::snapshot(&procs);
    let pa = t.from_pid(a.0 as i32);
    let pb = t.from_pid(b.0 as i32);
    assert!(pa != 0 && pb != 0 && pa != pb);
    assert_eq!(t.from_pid(0), 0, "the idle task is not in the pid hash");
    assert_eq!(t.from_pid(999), 0);
    assert_eq!(t.acquire(pb), pb);
    assert_eq!(t.acquire(pb + 1), 0, "not a task");
    assert_eq!(t.refs(), vec![(a.0 as i32, 1), (b.0 as i32, 2)]);
    t.release(pa);
    t.release(pb);
    t.release(pb);
    assert_eq!(t.refs(), vec![]);
    t.release(pb);
    assert_eq!(t.refs(), vec![], "no underflow");
}

/// from_pid(current pid) → read pid, tgid and the first comm byte, and the
/// pid through real_parent → release → return them packed.
const PROG: &str = "\
    call 14
    r1 = r0
    call kernel-function#FROM_PID
    if r0 == 0 goto none
    r6 = *(u32 *)(r0 +8)
    r7 = *(u32 *)(r0 +12)
    r8 = *(u8 *)(r0 +32)
    r2 = *(u64 *)(r0 +16)
    r9 = *(u32 *)(r2 +8)
    r1 = r0
    call kernel-function#RELEASE
    r7 <<= 16
    r6 |= r7
    r8 <<= 32
    r6 |= r8
    r9 <<= 40
    r6 |= r9
    r0 = r6
    exit
none:
    r0 = -1
    exit";

fn prog_src() -> String {
    PROG.replace("FROM_PID", &kfunc_btf_id("bpf_task_from_pid").unwrap().to_string())
        .replace("RELEASE", &kfunc_btf_id("bpf_task_release").unwrap().to_string())
}

fn load_and_run(k: &mut Kernel, jit: bool) -> u64 {
    let insns = bpfemu_isa::asm::kernel::assemble(&prog_src()).unwrap();
    let attr = ProgLoadAttr {
        prog_type: ProgType::Syscall.raw(),
        prog_flags: crate::bpf::load::BPF_F_SLEEPABLE,
        insns: &insns,
        license: "GPL",
        ..Default::default()
    };
    let fd = k.bpf(BpfAttr::ProgLoad(attr)).expect("verified") as i32;
    let prog = k.fd_obj(fd).unwrap().prog().unwrap().clone();
    assert_eq!(prog.jited_len() != 0, jit, "the JIT compiled the kfunc calls");
    let mut res = TestRunOut::default();
    k.bpf(BpfAttr::ProgTestRun(TestRunAttr { prog_fd: fd, out: Some(&mut res), ..Default::default() }))
        .unwrap();
    let direct = k.run_prog_vm(&prog, &[], &[]).unwrap();
    assert_eq!(u64::from(res.retval), direct & 0xffff_ffff);
    direct
}

#[test]
fn syscall_program_reads_current_task_on_every_engine() {
    let mut results = Vec::new();
    for (jit, paranoid) in [(true, false), (false, false), (true, true), (false, true)] {
        let mut k = Kernel::new(KernelConfig::default());
        if k.set_jit_enable(jit).is_err() {
            continue; // no JIT on this host
        }
        k.set_paranoid(paranoid);
        let pid = u64::from(k.user.0);
        let comm0 = u64::from(k.sim.procs.get(k.user).unwrap().comm.raw()[0]);
        let r = load_and_run(&mut k, jit);
        assert_eq!(r & 0xffff, pid, "pid (jit {jit}, paranoid {paranoid})");
        assert_eq!((r >> 16) & 0xffff, pid, "tgid");
        assert_eq!((r >> 32) & 0xff, comm0, "comm[0]");
        assert_eq!(r >> 40, pid, "real_parent is the task itself");
        assert!(k.take_soundness_violations().is_empty());
        results.push(r);
    }
    assert!(results.windows(2).all(|w| w[0] == w[1]), "{results:?}");
}
