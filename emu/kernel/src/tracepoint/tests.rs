use super::{BPF_TEST_FINISH, TRACEPOINTS, by_name};
use crate::bpf::attr::{BpfAttr, LinkCreateAttr, ProgLoadAttr, TestRunAttr, TestRunOut};
use crate::errno::Errno;
use crate::kernel::{Kernel, KernelConfig};
use crate::uapi::{AttachType, ProgType};
use bpfemu_btf::Kind;

#[test]
fn registry() {
    assert_eq!(by_name("bpf_test_finish"), Some(&BPF_TEST_FINISH));
    assert_eq!(BPF_TEST_FINISH.num_args(), 1);
    assert_eq!(BPF_TEST_FINISH.btf_name(), "btf_trace_bpf_test_finish");
    assert_eq!(by_name("bpf_trace_printk").map(|t| t.num_args()), Some(1));
    assert_eq!(by_name("sched_switch"), None);
    assert_eq!(by_name(""), None);
}

/// `typedef void (*btf_trace_bpf_test_finish)(void *, int *);`, after
/// every earlier vmlinux entry.
#[test]
fn btf_trace_typedefs() {
    let btf = crate::vmlinux::shared();
    let last_func = crate::trampoline::TEST_FUNCS
        .iter()
        .map(|f| crate::trampoline::targets::btf_id_of(f.name).unwrap())
        .max()
        .unwrap();
    for tp in TRACEPOINTS {
        let id = crate::vmlinux::typedef_id(&tp.btf_name()).unwrap();
        assert!(id > last_func, "appended after the test functions");
        let Some(Kind::Typedef { ty }) = btf.kind(id) else { panic!("TYPEDEF") };
        let Some(Kind::Ptr { ty: proto }) = btf.kind(*ty) else { panic!("PTR") };
        let Some(Kind::FuncProto { ret, params }) = btf.kind(*proto) else { panic!("FUNC_PROTO") };
        assert_eq!(*ret, 0, "returns void");
        assert_eq!(params.len(), tp.num_args() + 1);
        assert!(params.iter().all(|p| p.name_off == 0), "no parameter names");
        assert_eq!(btf.kind(params[0].ty), Some(&Kind::Ptr { ty: 0 }), "void *__data first");
    }
    let last = crate::vmlinux::typedef_id(&TRACEPOINTS.last().unwrap().btf_name()).unwrap();
    assert!(
        btf.get(last + 1).is_none_or(|t| !matches!(t.kind, Kind::Typedef { .. })),
        "the last typedef (the iterator types follow)"
    );
    // `const char *bpf_string`.
    let id = crate::vmlinux::typedef_id("btf_trace_bpf_trace_printk").unwrap();
    let Some(Kind::Typedef { ty }) = btf.kind(id) else { panic!() };
    let Some(Kind::Ptr { ty: proto }) = btf.kind(*ty) else { panic!() };
    let Some(Kind::FuncProto { params, .. }) = btf.kind(*proto) else { panic!() };
    let Some(Kind::Ptr { ty: c }) = btf.kind(params[1].ty) else { panic!("char pointer") };
    let Some(Kind::Const { ty: ch }) = btf.kind(*c) else { panic!("const") };
    assert_eq!(btf.str_at(btf.get(*ch).unwrap().name_off), "char");
}

fn load(k: &mut Kernel, prog_type: ProgType, attach: Option<AttachType>, src: &str) -> Result<i32, Errno> {
    let insns = bpfemu_isa::asm::kernel::assemble(src).unwrap();
    let attr = ProgLoadAttr {
        prog_type: prog_type.raw(),
        insns: &insns,
        license: "GPL",
        // Syscall programs sleepable, as the kernel requires (and libbpf does).
        prog_flags: crate::bpf::load::default_prog_flags(prog_type),
        expected_attach_type: attach.map_or(0, |a| a.raw()),
        attach_btf_id: if attach == Some(AttachType::TraceRawTp) {
            crate::vmlinux::typedef_id("btf_trace_bpf_test_finish").unwrap()
        } else {
            0
        },
        ..Default::default()
    };
    k.bpf(BpfAttr::ProgLoad(attr)).map(|fd| fd as i32)
}

fn open(k: &mut Kernel, name: Option<&str>, prog_fd: i32) -> Result<i32, Errno> {
    k.bpf(BpfAttr::RawTracepointOpen { name, prog_fd, cookie: 7 }).map(|fd| fd as i32)
}

/// Prints `e=<*err>` (read with bpf_probe_read_kernel from args[0]).
const PRINT_ERR: &str = "r6 = *(u64 *)(r1 +0)
r1 = r10
r1 += -8
r2 = 4
r3 = r6
call bpf_probe_read_kernel#113
r3 = *(s32 *)(r10 -8)
r1 = 1680162149
*(u64 *)(r10 -16) = r1
r1 = r10
r1 += -16
r2 = 5
call bpf_trace_printk#6
r0 = 0
exit";

const FRAME: [u8; 42] = [
    0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 8, 0, 0x45, 0, 0, 0x1c, 0, 0, 0, 0, 0x40, 0x11, 0, 0, 10, 0, 0, 1,
    10, 0, 0, 2, 0, 0x35, 0, 0x36, 0, 8, 0, 0,
];

/// An XDP test run (which ends in bpf_test_finish()), with a data_out
/// of `out` bytes.
fn xdp_run(k: &mut Kernel, xdp: i32, out: usize) -> Result<i64, Errno> {
    let mut data_out = vec![0u8; out];
    let mut res = TestRunOut::default();
    k.bpf(BpfAttr::ProgTestRun(TestRunAttr {
        prog_fd: xdp,
        data_in: &FRAME,
        data_out: (out > 0).then_some(&mut data_out[..]),
        out: Some(&mut res),
        ..Default::default()
    }))
}

fn printed(k: &mut Kernel) -> Vec<String> {
    std::mem::take(&mut k.trace_pipe)
        .into_iter()
        .map(|l| l.rsplit_once("bpf_trace_printk: ").unwrap().1.to_owned())
        .collect()
}

#[test]
fn attached_programs_run_when_the_tracepoint_fires() {
    for (jit, paranoid) in [(true, false), (false, false), (true, true)] {
        let mut k = Kernel::new(KernelConfig::default());
        k.set_jit_enable(jit).unwrap();
        k.set_paranoid(paranoid);
        let raw = load(&mut k, ProgType::RawTracepoint, None, PRINT_ERR).unwrap();
        let tpbtf = load(&mut k, ProgType::Tracing, Some(AttachType::TraceRawTp), PRINT_ERR).unwrap();
        let xdp = load(&mut k, ProgType::Xdp, None, "r0 = 2\nexit").unwrap();
        xdp_run(&mut k, xdp, 0).unwrap();
        assert!(printed(&mut k).is_empty());
        let l1 = open(&mut k, Some("bpf_test_finish"), raw).unwrap();
        let l2 = open(&mut k, None, tpbtf).unwrap();
        xdp_run(&mut k, xdp, 0).unwrap();
        assert_eq!(printed(&mut k), ["e=0", "e=0"], "jit={jit} paranoid={paranoid}");
        assert_eq!(xdp_run(&mut k, xdp, 8), Err(Errno::ENOSPC));
        assert_eq!(printed(&mut k), ["e=-28", "e=-28"], "registration order");
        // The same program twice: two probes.
        let l3 = open(&mut k, Some("bpf_test_finish"), raw).unwrap();
        xdp_run(&mut k, xdp, 0).unwrap();
        assert_eq!(printed(&mut k).len(), 3);
        k.close(l1).unwrap();
        k.close(l3).unwrap();
        xdp_run(&mut k, xdp, 0).unwrap();
        assert_eq!(printed(&mut k), ["e=0"]);
        k.close(l2).unwrap();
        xdp_run(&mut k, xdp, 0).unwrap();
        assert!(printed(&mut k).is_empty());
        assert!(k.take_soundness_violations().is_empty());
    }
}

#[test]
fn open_checks_and_link_info() {
    let mut k = Kernel::new(KernelConfig::default());
    let raw = load(&mut k, ProgType::RawTracepoint, None, "r0 = *(u64 *)(r1 +0)\nexit").unwrap();
    let tpbtf = load(&mut k, ProgType::Tracing, Some(AttachType::TraceRawTp), "r0 = 0\nexit").unwrap();
    let wide = load(&mut k, ProgType::RawTracepoint, None, "r0 = *(u64 *)(r1 +8)\nexit").unwrap();
    let kp = load(&mut k, ProgType::Kprobe, None, "r0 = 0\nexit").unwrap();
    assert_eq!(open(&mut k, None, raw), Err(Errno::EFAULT));
    assert_eq!(open(&mut k, Some("nope"), raw), Err(Errno::ENOENT));
    assert_eq!(open(&mut k, Some("bpf_test_finish"), tpbtf), Err(Errno::EINVAL));
    assert_eq!(open(&mut k, Some("bpf_test_finish"), kp), Err(Errno::EINVAL));
    assert_eq!(open(&mut k, Some("bpf_test_finish"), wide), Err(Errno::EINVAL), "max_ctx_offset 16 > 8");
    assert_eq!(open(&mut k, Some("bpf_test_finish"), 99), Err(Errno::EBADF));
    // A name longer than 127 bytes is cut, then not found.
    let long = format!("bpf_test_finish{}", "x".repeat(200));
    assert_eq!(open(&mut k, Some(&long), raw), Err(Errno::ENOENT));
    let l = open(&mut k, Some("bpf_test_finish"), raw).unwrap();
    let fdinfo = k.fdinfo(l).unwrap();
    assert!(fdinfo.contains(&("tp_name".into(), "bpf_test_finish".into())));
    assert!(fdinfo.contains(&("cookie".into(), "7".into())));
    let mut info = None;
    k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: l, info: &mut info }).unwrap();
    let Some(crate::bpf::attr::ObjInfo::Link(li)) = info else { panic!("link info") };
    assert_eq!(li.link_type, crate::uapi::LinkType::RawTracepoint.raw());
    assert_eq!(
        li.extra,
        crate::bpf::link::LinkInfoExtra::RawTracepoint { tp_name: "bpf_test_finish".into() }
    );
    assert_eq!(k.bpf(BpfAttr::LinkDetach { link_fd: l }), Err(Errno::EOPNOTSUPP));
    assert_eq!(
        k.bpf(BpfAttr::LinkUpdate { link_fd: l, new_prog_fd: raw, flags: 0, old_prog_fd: 0 }),
        Err(Errno::EINVAL)
    );
    // BPF_LINK_CREATE: tp_btf with its expected attach type only.
    let create = |k: &mut Kernel, fd: i32, at: AttachType| {
        k.bpf(BpfAttr::LinkCreate(LinkCreateAttr {
            prog_fd: fd,
            target_fd: 0,
            attach_type: at.raw(),
            flags: 0,
            target_btf_id: 0,
            iter_info: None,
            iter_info_len: 0,
        }))
    };
    assert!(create(&mut k, tpbtf, AttachType::TraceRawTp).is_ok());
    assert_eq!(create(&mut k, tpbtf, AttachType::TraceFentry), Err(Errno::EINVAL));
    assert_eq!(create(&mut k, raw, AttachType::TraceRawTp), Err(Errno::EINVAL));
    assert_eq!(k.raw_tps.probes("bpf_test_finish").len(), 2);
}

#[test]
fn test_run_raw_tp() {
    let mut k = Kernel::new(KernelConfig::default());
    let fd = load(&mut k, ProgType::RawTracepoint, None, "r0 = *(u64 *)(r1 +8)\nexit").unwrap();
    let run = |k: &mut Kernel, ctx: &[u8], flags: u32, cpu: u32, repeat: u32| {
        let mut out = TestRunOut::default();
        k.bpf(BpfAttr::ProgTestRun(TestRunAttr {
            prog_fd: fd,
            ctx_in: ctx,
            flags,
            cpu,
            repeat,
            out: Some(&mut out),
            ..Default::default()
        }))
        .map(|_| out.retval)
    };
    let ctx: Vec<u8> = [1u64, 42].iter().flat_map(|v| v.to_le_bytes()).collect();
    assert_eq!(run(&mut k, &ctx, 0, 0, 0), Ok(42));
    assert_eq!(run(&mut k, &ctx[..8], 0, 0, 0), Err(Errno::EINVAL), "below max_ctx_offset");
    assert_eq!(run(&mut k, &[0; 97], 0, 0, 0), Err(Errno::EINVAL));
    assert_eq!(run(&mut k, &[0; 96], 0, 0, 0), Ok(0));
    assert_eq!(run(&mut k, &ctx, 0, 0, 1), Err(Errno::EINVAL), "repeat");
    assert_eq!(run(&mut k, &ctx, 0, 2, 0), Err(Errno::EINVAL), "cpu without the flag");
    assert_eq!(run(&mut k, &ctx, 1, 2, 0), Ok(42));
    let nr = k.sim.nr_cpus();
    assert_eq!(run(&mut k, &ctx, 1, nr, 0), Err(Errno::ENXIO));
    assert_eq!(k.sim.smp_processor_id(), 0, "back on the calling CPU");
}

/// Prints "hi" (a syscall program).
const PRINT_HI: &str = "r1 = 26984
*(u32 *)(r10 -4) = r1
r1 = r10
r1 += -4
r2 = 3
call bpf_trace_printk#6
r0 = 0
exit";

/// Prints "<first byte of the message>!" (a probe of bpf_trace_printk).
const ECHO_FIRST: &str = "r3 = *(u64 *)(r1 +0)
r1 = 0
*(u64 *)(r10 -8) = r1
r1 = r10
r1 += -8
r2 = 1
call bpf_probe_read_kernel#113
r1 = *(u8 *)(r10 -8)
r2 = 8448
r1 |= r2
*(u64 *)(r10 -16) = r1
r1 = r10
r1 += -16
r2 = 3
call bpf_trace_printk#6
r0 = 0
exit";

/// bpf_trace_printk fires inside the printing run; a probe that prints
/// is skipped inside its own run (recursion_misses), on every engine.
#[test]
fn printk_fires_nested_with_recursion_check() {
    for (jit, paranoid) in [(true, false), (false, false), (true, true)] {
        let mut k = Kernel::new(KernelConfig::default());
        k.set_jit_enable(jit).unwrap();
        k.set_paranoid(paranoid);
        let printer = load(&mut k, ProgType::Syscall, None, PRINT_HI).unwrap();
        let echo = load(&mut k, ProgType::RawTracepoint, None, ECHO_FIRST).unwrap();
        let run = |k: &mut Kernel| {
            k.bpf(BpfAttr::ProgTestRun(TestRunAttr { prog_fd: printer, ..Default::default() })).unwrap()
        };
        run(&mut k);
        assert_eq!(printed(&mut k), ["hi"]);
        let l = open(&mut k, Some("bpf_trace_printk"), echo).unwrap();
        run(&mut k);
        assert_eq!(printed(&mut k), ["hi", "h!"], "jit={jit} paranoid={paranoid}");
        let p = k.prog_from_fd(echo).unwrap();
        assert_eq!(p.recursion_misses(), 1, "its own \"h!\" did not run it again");
        assert_eq!(p.run_cnt(), 1);
        k.close(l).unwrap();
        run(&mut k);
        assert_eq!(printed(&mut k), ["hi"]);
        assert!(k.take_soundness_violations().is_empty());
    }
}
