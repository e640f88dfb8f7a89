//! Accept / reject cases for calls, helper arguments, callbacks, bpf2bpf
//! calls, kfuncs, reference tracking and `exit`, run through the whole
//! verifier on small assembled programs with a mock program type.

use crate::btf_info::{FuncInfo, ProgBtfInfo};
use crate::check::{VerifyError, VerifyOutcome, verify};
use crate::env::{
    Access, CtxAccess, CtxField, KfuncArg, KfuncProto, KfuncRet, MapInfo, ProgTypeOps, PseudoKind,
    PseudoLoad, VerifyInput, VerifyOptions, map_type,
};
use crate::errno::{E2BIG, EINVAL};
use crate::log::VerifierLog;
use crate::proto::{FuncProto, proto};
use bpfemu_isa::asm::kernel::assemble;
use bpfemu_isa::{CallTarget, Instruction, LdImm64, decode_program};

const EACCES: i32 = 13;

/// A program type with every helper of the table (minus `deny`), a
/// 64-byte readable ctx, a configurable return range and kfuncs:
/// 100 `bpf_obj_acquire` (acquire, may return NULL) and 101
/// `bpf_obj_release` (release), both on BTF type 7 (`obj`), 103 taking the
/// ctx, 104 taking memory and its size, 105 taking a trusted `obj`, 106
/// sleepable; BTF id 102 is the name of a function the type may not call.
struct Mock {
    ret: Option<(i64, i64)>,
    deny: Vec<i32>,
}

impl Mock {
    fn new() -> Mock {
        Mock { ret: None, deny: Vec::new() }
    }
}

impl ProgTypeOps for Mock {
    fn name(&self) -> &str {
        "mock"
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        if self.deny.contains(&id) { None } else { proto(id) }
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let end = i64::from(off) + i64::from(size);
        (off >= 0 && end <= 64 && access == Access::Read)
            .then_some(CtxAccess { field: CtxField::Scalar, field_size: 0 })
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        self.ret
    }

    fn ld_abs_allowed(&self) -> bool {
        true
    }

    fn kfunc(&self, btf_id: u32) -> Option<KfuncProto> {
        let base = KfuncProto {
            name: String::new(),
            args: Vec::new(),
            ret: KfuncRet::Void,
            acquire: false,
            release: false,
            ret_null: false,
            trusted_args: false,
            rcu: false,
            sleepable: false,
        };
        match btf_id {
            100 => Some(KfuncProto {
                name: "bpf_obj_acquire".into(),
                args: vec![KfuncArg::Scalar],
                ret: KfuncRet::BtfId(7),
                acquire: true,
                ret_null: true,
                ..base
            }),
            101 => Some(KfuncProto {
                name: "bpf_obj_release".into(),
                args: vec![KfuncArg::BtfId(7)],
                release: true,
                ..base
            }),
            103 => Some(KfuncProto {
                name: "bpf_ctx_kfunc".into(),
                args: vec![KfuncArg::Ctx],
                ret: KfuncRet::Scalar,
                ..base
            }),
            104 => Some(KfuncProto {
                name: "bpf_mem_kfunc".into(),
                args: vec![KfuncArg::Mem, KfuncArg::Scalar],
                ..base
            }),
            105 => Some(KfuncProto {
                name: "bpf_trusted_kfunc".into(),
                args: vec![KfuncArg::BtfId(7)],
                trusted_args: true,
                ..base
            }),
            106 => Some(KfuncProto { name: "bpf_sleepy".into(), sleepable: true, ..base }),
            _ => None,
        }
    }

    fn btf_type_name(&self, btf_id: u32) -> Option<String> {
        match btf_id {
            7 => Some("obj".into()),
            102 => Some("bpf_forbidden".into()),
            _ => None,
        }
    }
}

fn map(map_type: u32, key_size: u32, value_size: u32) -> MapInfo {
    MapInfo {
        map_type,
        key_size,
        value_size,
        max_entries: 4,
        map_flags: 0,
        name: "m".into(),
        rdonly_prog: false,
        const_value: None,
        has_btf: false,
        log_addr: 0,
        spin_lock_off: None,
        timer_off: None,
        inner: None,
    }
}

fn hash() -> MapInfo {
    map(map_type::HASH, 8, 16)
}

fn ringbuf() -> MapInfo {
    map(map_type::RINGBUF, 0, 0)
}

fn locked() -> MapInfo {
    MapInfo { has_btf: true, spin_lock_off: Some(0), ..map(map_type::HASH, 8, 16) }
}

fn rodata(bytes: &[u8]) -> MapInfo {
    MapInfo {
        rdonly_prog: true,
        const_value: Some(bytes.to_vec()),
        max_entries: 1,
        ..map(map_type::ARRAY, 4, bytes.len() as u32)
    }
}

struct Run {
    res: Result<VerifyOutcome, VerifyError>,
    log: String,
}

/// Without BTF, except for a program that loads a callback
/// (`subprog[...]`): it gets the func_info clang emits (the kernel refuses
/// a callback without it, "missing btf func_info").
fn run_with(src: &str, maps: &[MapInfo], ops: &Mock, opts: VerifyOptions) -> Run {
    run_full(src, maps, ops, opts, src.contains("subprog["))
}

/// With `func_info`: one static, `int`-returning FUNC record per
/// subprogram (what clang emits for static functions).
fn run_func_info(src: &str, maps: &[MapInfo]) -> Run {
    run_full(src, maps, &Mock::new(), VerifyOptions::default(), true)
}

/// With a level-2 log (a level-1 log of an accepted program is empty).
fn run_full(src: &str, maps: &[MapInfo], ops: &Mock, opts: VerifyOptions, func_info: bool) -> Run {
    run_level(src, maps, ops, opts, func_info, 2)
}

fn run_level(
    src: &str,
    maps: &[MapInfo],
    ops: &Mock,
    opts: VerifyOptions,
    func_info: bool,
    level: u32,
) -> Run {
    run_global(src, maps, ops, opts, func_info.then_some(&[][..]), level)
}

/// As [`run_level`], with func_info when `global` is given: the functions
/// starting at the instructions of `global` have global linkage.
fn run_global(
    src: &str,
    maps: &[MapInfo],
    ops: &Mock,
    opts: VerifyOptions,
    global: Option<&[usize]>,
    level: u32,
) -> Run {
    let insns = assemble(src).unwrap_or_else(|e| panic!("{e:?}\n{src}"));
    let prog = decode_program(&insns).expect("decodes");
    let mut pseudo = Vec::new();
    for (slot, ins) in &prog {
        if let Instruction::LdImm64 { src, .. } = ins {
            let kind = match *src {
                LdImm64::MapFd(fd) => PseudoKind::Map { map: fd as u32 },
                LdImm64::MapValue { fd, off } => PseudoKind::MapValue { map: fd as u32, off },
                LdImm64::Func(off) => {
                    PseudoKind::Func { target: (*slot as i64 + 1 + i64::from(off)) as usize }
                }
                _ => continue,
            };
            pseudo.push(PseudoLoad { slot: *slot, kind });
        }
    }
    let mut starts = vec![0usize];
    for (slot, ins) in &prog {
        if let Instruction::Call(CallTarget::Local(imm)) = ins {
            starts.push((*slot as i64 + 1 + i64::from(*imm)) as usize);
        }
    }
    starts.extend(pseudo.iter().filter_map(|p| match p.kind {
        PseudoKind::Func { target } => Some(target),
        _ => None,
    }));
    starts.sort_unstable();
    starts.dedup();
    let funcs = starts
        .iter()
        .map(|&s| FuncInfo {
            insn_off: s as u32,
            type_id: 0,
            name: format!("f{s}"),
            global: global.is_some_and(|g| g.contains(&s)),
            ret_scalar: true,
            args: Ok(vec![]),
        })
        .collect();
    let info = ProgBtfInfo { funcs, lines: vec![] };
    let btf = global.map(|_| &info);
    let input = VerifyInput { insns: &insns, pseudo: &pseudo, maps, prog_type: ops, opts, btf };
    let mut log = VerifierLog::new(level, true, 1 << 20).expect("log");
    let res = verify(&input, &mut log);
    Run { res, log: log.full_text().to_string() }
}

fn run(src: &str, maps: &[MapInfo]) -> Run {
    run_with(src, maps, &Mock::new(), VerifyOptions::default())
}

#[track_caller]
fn accepts(r: Run) {
    if let Err(e) = &r.res {
        panic!("rejected: {e}\n{}", r.log);
    }
}

#[track_caller]
fn rejects(r: Run, errno: i32, msg: &str) {
    match &r.res {
        Ok(_) => panic!("accepted, expected `{msg}`\n{}", r.log),
        Err(e) => {
            assert!(r.log.contains(msg), "expected `{msg}` in the log:\n{}", r.log);
            assert_eq!(e.errno, errno, "errno for `{}`\n{}", e.msg, r.log);
        }
    }
}

/// `r2 = fp - 8` holding a zero key, r1 the map at fd 0, lookup.
const LOOKUP: &str = "
    r1 = 0
    *(u64 *)(r10 - 8) = r1
    r2 = r10
    r2 += -8
    r1 = map[fd:0]
    call bpf_map_lookup_elem#1
";

// ---- helper calls ---------------------------------------------------------

#[test]
fn unknown_and_invalid_helpers() {
    let mock = Mock { deny: vec![198], ..Mock::new() };
    let r = run_with("r1 = 0\ncall 198\nr0 = 0\nexit", &[], &mock, VerifyOptions::default());
    rejects(r, EINVAL, "program of this type cannot use helper bpf_ringbuf_reserve_dynptr#198");
    rejects(run("call 100000\nr0 = 0\nexit", &[]), EINVAL, "invalid func unknown#100000");
}

#[test]
fn gpl_only_helper() {
    let opts = VerifyOptions { gpl_compatible: false, ..VerifyOptions::default() };
    let src = "r1 = r10\nr1 += -8\nr2 = 8\ncall bpf_trace_printk#6\nr0 = 0\nexit";
    let r = run_with(src, &[], &Mock::new(), opts);
    rejects(r, EINVAL, "cannot call GPL-restricted function from non-GPL compatible program");
}

#[test]
fn map_lookup_accepted_and_arg_types() {
    accepts(run(&format!("{LOOKUP}\nr0 = 0\nexit"), &[hash()]));
    let r = run("r1 = 0\nr2 = r10\nr2 += -8\ncall bpf_map_lookup_elem#1\nr0 = 0\nexit", &[hash()]);
    rejects(r, EACCES, "R1 type=scalar expected=map_ptr");
    let r = run("r1 = map[fd:0]\nr2 = 5\ncall bpf_map_lookup_elem#1\nr0 = 0\nexit", &[hash()]);
    rejects(r, EACCES, "R2 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value");
    // r4 was never written.
    let r = run(
        "r1 = 0\n*(u64 *)(r10 - 8) = r1\n*(u64 *)(r10 - 16) = r1\n*(u64 *)(r10 - 24) = r1\nr2 = r10\nr2 += -8
        r3 = r10\nr3 += -24\nr1 = map[fd:0]\ncall bpf_map_update_elem#2\nr0 = 0\nexit",
        &[hash()],
    );
    rejects(r, EACCES, "R4 !read_ok");
}

#[test]
fn map_value_from_lookup_is_bounded() {
    let ok = format!("{LOOKUP}\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 8)\nout:\nr0 = 0\nexit");
    accepts(run(&ok, &[hash()]));
    let bad = format!("{LOOKUP}\nif r0 == 0 goto out\nr1 = *(u64 *)(r0 + 16)\nout:\nr0 = 0\nexit");
    assert!(run(&bad, &[hash()]).res.is_err());
    let unchecked = format!("{LOOKUP}\nr1 = *(u64 *)(r0 + 0)\nr0 = 0\nexit");
    assert!(run(&unchecked, &[hash()]).res.is_err());
}

#[test]
fn write_into_rdonly_map_is_refused() {
    let ro = MapInfo { rdonly_prog: true, ..hash() };
    let src = "
        r1 = 0
        *(u64 *)(r10 - 8) = r1
        *(u64 *)(r10 - 24) = r1
        *(u64 *)(r10 - 16) = r1
        r2 = r10
        r2 += -8
        r3 = r10
        r3 += -24
        r4 = 0
        r1 = map[fd:0]
        call bpf_map_update_elem#2
        r0 = 0
        exit";
    rejects(run(src, &[ro]), EACCES, "write into map forbidden");
    accepts(run(src, &[hash()]));
}

#[test]
fn anything_argument_may_not_leak_pointers() {
    let opts = VerifyOptions { allow_ptr_leaks: false, ..VerifyOptions::default() };
    let src = "
        r1 = 0
        *(u64 *)(r10 - 8) = r1
        *(u64 *)(r10 - 24) = r1
        *(u64 *)(r10 - 16) = r1
        r2 = r10
        r2 += -8
        r3 = r10
        r3 += -24
        r4 = r10
        r1 = map[fd:0]
        call bpf_map_update_elem#2
        r0 = 0
        exit";
    rejects(run_with(src, &[hash()], &Mock::new(), opts), EACCES, "R4 leaks addr into helper function");
}

#[test]
fn size_arguments() {
    // bpf_get_current_comm(buf, size): constant size, uninitialised buffer.
    accepts(run("r1 = r10\nr1 += -16\nr2 = 16\ncall bpf_get_current_comm#16\nr0 = 0\nexit", &[]));
    let r = run("r1 = r10\nr1 += -16\nr2 = 0\ncall bpf_get_current_comm#16\nr0 = 0\nexit", &[]);
    rejects(r, EACCES, "invalid zero-sized read");
    let r = run("r1 = r10\nr1 += -16\nr2 = 17\ncall bpf_get_current_comm#16\nr0 = 0\nexit", &[]);
    assert!(r.res.is_err(), "size beyond the buffer\n{}", r.log);
    let neg = "call bpf_get_prandom_u32#7\nr2 = r0\nr2 -= 4\nr1 = r10\nr1 += -16\nr3 = 0
        call bpf_probe_read_kernel#113\nr0 = 0\nexit";
    rejects(run(neg, &[]), EACCES, "R2 min value is negative, either use unsigned or 'var &= const'");
    let unbounded = "call bpf_ktime_get_ns#5\nr2 = r0\nr2 >>= 1\nr1 = r10\nr1 += -16\nr3 = 0
        call bpf_probe_read_kernel#113\nr0 = 0\nexit";
    rejects(
        run(unbounded, &[]),
        EACCES,
        "R2 unbounded memory access, use 'var &= const' or 'if (var < const)'",
    );
    let bounded = "call bpf_ktime_get_ns#5\nr2 = r0\nr2 &= 15\nr1 = r10\nr1 += -16\nr3 = 0
        *(u64 *)(r10 - 16) = r3\n*(u64 *)(r10 - 8) = r3
        call bpf_probe_read_kernel#113\nr0 = 0\nexit";
    accepts(run(bounded, &[]));
    // A variable size over uninitialised stack: the helper may fill only
    // part of it, so the buffer must be initialised (for a loader that may
    // not read uninitialised stack).
    let uninit = "call bpf_ktime_get_ns#5\nr2 = r0\nr2 &= 15\nr1 = r10\nr1 += -16\nr3 = 0
        call bpf_probe_read_kernel#113\nr0 = 0\nexit";
    let strict = VerifyOptions { allow_ptr_leaks: false, ..VerifyOptions::default() };
    rejects(run_with(uninit, &[], &Mock::new(), strict), EACCES, "invalid read from stack R1");
    let fixed = "r2 = 16\nr1 = r10\nr1 += -16\nr3 = 0\ncall bpf_probe_read_kernel#113\nr0 = 0\nexit";
    accepts(run_with(fixed, &[], &Mock::new(), strict));
}

#[test]
fn ctx_argument_must_be_unmodified() {
    let src = "r2 = map[fd:0]\nr3 = 0\nr1 += 8\ncall bpf_tail_call#12\nr0 = 0\nexit";
    let pa = map(map_type::PROG_ARRAY, 4, 4);
    rejects(
        run(src, std::slice::from_ref(&pa)),
        EACCES,
        "dereference of modified ctx ptr R1 off=8 disallowed",
    );
    accepts(run("r2 = map[fd:0]\nr3 = 0\ncall bpf_tail_call#12\nr0 = 0\nexit", std::slice::from_ref(&pa)));
    let r = run("r2 = map[fd:0]\nr3 = 0\ncall bpf_tail_call#12\nr0 = 0\nexit", &[hash()]);
    // `record_func_key()` speaks first, with no newline of its own.
    rejects(r, EINVAL, "expected prog array map for tail call");
    // The other direction stays `check_map_func_compatibility()`'s.
    let src =
        "r1 = map[fd:0]\nr2 = r10\nr2 += -8\n*(u64 *)(r10 -8) = 0\ncall bpf_map_lookup_elem#1\nr0 = 0\nexit";
    rejects(run(src, &[pa]), EINVAL, "cannot pass map_type 3 into func bpf_map_lookup_elem#1");
}

// ---- ring buffer and references ------------------------------------------

const RESERVE: &str = "
    r1 = map[fd:0]
    r2 = 16
    r3 = 0
    call bpf_ringbuf_reserve#131
";

#[test]
fn ringbuf_reserve_submit() {
    let ok = format!(
        "{RESERVE}\nif r0 == 0 goto out\nr1 = 7\n*(u64 *)(r0 + 8) = r1\nr1 = r0\nr2 = 0
        call bpf_ringbuf_submit#132\nout:\nr0 = 0\nexit"
    );
    accepts(run(&ok, &[ringbuf()]));
    let oob = format!(
        "{RESERVE}\nif r0 == 0 goto out\nr1 = 7\n*(u64 *)(r0 + 16) = r1\nr1 = r0\nr2 = 0
        call bpf_ringbuf_submit#132\nout:\nr0 = 0\nexit"
    );
    assert!(run(&oob, &[ringbuf()]).res.is_err());
}

#[test]
fn ringbuf_leak_is_reported() {
    let src = format!("{RESERVE}\nif r0 == 0 goto out\nr0 = 0\nexit\nout:\nr0 = 0\nexit");
    rejects(run(&src, &[ringbuf()]), EINVAL, "Unreleased reference id=");
    let r = run(&src, &[ringbuf()]);
    assert!(r.log.contains("alloc_insn=4"), "{}", r.log);
}

#[test]
fn released_references_are_dead() {
    let src = format!(
        "{RESERVE}\nif r0 == 0 goto out\nr6 = r0\nr1 = r0\nr2 = 0\ncall bpf_ringbuf_submit#132
        r1 = *(u64 *)(r6 + 0)\nout:\nr0 = 0\nexit"
    );
    // mark_reg_invalid(): an unknown scalar for root, NOT_INIT without
    // pointer leaks.
    rejects(run(&src, &[ringbuf()]), EACCES, "R6 invalid mem access 'scalar'");
    let unpriv = VerifyOptions { allow_ptr_leaks: false, ..VerifyOptions::default() };
    rejects(run_with(&src, &[ringbuf()], &Mock::new(), unpriv), EACCES, "R6 !read_ok");
    let twice = format!(
        "{RESERVE}\nif r0 == 0 goto out\n*(u64 *)(r10 - 8) = r0\nr1 = r0\nr2 = 0\ncall bpf_ringbuf_submit#132
        r1 = *(u64 *)(r10 - 8)\nr2 = 0\ncall bpf_ringbuf_discard#133\nout:\nr0 = 0\nexit"
    );
    assert!(run(&twice, &[ringbuf()]).res.is_err());
}

#[test]
fn release_argument_checks() {
    let modified = format!(
        "{RESERVE}\nif r0 == 0 goto out\nr1 = r0\nr1 += 8\nr2 = 0\ncall bpf_ringbuf_submit#132\nout:\nr0 = 0\nexit"
    );
    rejects(
        run(&modified, &[ringbuf()]),
        EACCES,
        "dereference of modified ringbuf_mem ptr R1 off=8 disallowed",
    );
    let not_ringbuf = format!(
        "{LOOKUP}\nif r0 == 0 goto out\nr1 = r0\nr2 = 0\ncall bpf_ringbuf_submit#132\nout:\nr0 = 0\nexit"
    );
    rejects(run(&not_ringbuf, &[hash()]), EACCES, "R1 type=map_value expected=ringbuf_mem");
    let unchecked = format!("{RESERVE}\nr1 = r0\nr2 = 0\ncall bpf_ringbuf_submit#132\nr0 = 0\nexit");
    rejects(run(&unchecked, &[ringbuf()]), EACCES, "R1 type=ringbuf_mem_or_null expected=ringbuf_mem");
}

#[test]
fn ringbuf_reserve_arguments() {
    let r = run(
        "call bpf_ktime_get_ns#5\nr2 = r0\nr1 = map[fd:0]\nr3 = 0\ncall bpf_ringbuf_reserve#131\nr0 = 0\nexit",
        &[ringbuf()],
    );
    rejects(r, EACCES, "R2 is not a known constant'");
    let src = format!("{RESERVE}\nr0 = 0\nexit");
    rejects(run(&src, &[hash()]), EINVAL, "cannot pass map_type 1 into func bpf_ringbuf_reserve#131");
}

#[test]
fn tail_call_with_reference_held() {
    let src = format!(
        "r6 = r1\n{RESERVE}\nif r0 == 0 goto out\nr7 = r0\nr1 = r6\nr2 = map[fd:1]\nr3 = 0
        call bpf_tail_call#12\nr1 = r7\nr2 = 0\ncall bpf_ringbuf_discard#133\nout:\nr0 = 0\nexit"
    );
    let r = run(&src, &[ringbuf(), map(map_type::PROG_ARRAY, 4, 4)]);
    rejects(r, EINVAL, "tail_call would lead to reference leak");
}

// ---- spin locks -------------------------------------------------------------

fn lock_prog(body: &str) -> String {
    format!("{LOOKUP}\nif r0 == 0 goto out\nr6 = r0\n{body}\nout:\nr0 = 0\nexit")
}

#[test]
fn spin_lock_pairs() {
    let ok = lock_prog("r1 = r6\ncall bpf_spin_lock#93\nr1 = r6\ncall bpf_spin_unlock#94");
    accepts(run(&ok, &[locked()]));
    let missing = lock_prog("r1 = r6\ncall bpf_spin_lock#93");
    rejects(run(&missing, &[locked()]), EINVAL, "bpf_spin_unlock is missing");
    let call_inside = lock_prog(
        "r1 = r6\ncall bpf_spin_lock#93\ncall bpf_ktime_get_ns#5\nr1 = r6\ncall bpf_spin_unlock#94",
    );
    rejects(run(&call_inside, &[locked()]), EINVAL, "function calls are not allowed while holding a lock");
    let no_lock = lock_prog("r1 = r6\ncall bpf_spin_unlock#94");
    rejects(run(&no_lock, &[locked()]), EINVAL, "bpf_spin_unlock without taking a lock");
    let off = lock_prog("r1 = r6\nr1 += 4\ncall bpf_spin_lock#93\nr1 = r6\ncall bpf_spin_unlock#94");
    rejects(run(&off, &[locked()]), EINVAL, "off 4 doesn't point to 'struct bpf_spin_lock' that is at 0");
    rejects(run(&ok, &[hash()]), EINVAL, "map 'm' has to have BTF in order to use bpf_spin_lock");
    let btf_no_lock = MapInfo { has_btf: true, ..hash() };
    rejects(run(&ok, &[btf_no_lock]), EINVAL, "map 'm' has no valid bpf_spin_lock");
}

// ---- const strings ------------------------------------------------------------

#[test]
fn snprintf_format_string() {
    let src = "r1 = 0\n*(u64 *)(r10 - 16) = r1\n*(u64 *)(r10 - 8) = r1
        r1 = r10\nr1 += -16\nr2 = 16\nr3 = map[fd:0][0]+0\nr4 = 0\nr5 = 0
        call bpf_snprintf#165\nr0 = 0\nexit";
    accepts(run(src, &[rodata(b"hi\0\0")]));
    rejects(run(src, &[rodata(b"hiho")]), EINVAL, "string is not zero-terminated");
    let rw = MapInfo { rdonly_prog: false, ..rodata(b"hi\0\0") };
    rejects(run(src, &[rw]), EACCES, "R3 does not point to a readonly map'");
}

// ---- callbacks ------------------------------------------------------------

/// `bpf_loop(4, cb, fp-8, 0)`, then the caller's tail, then the callback
/// body (the `r2 = subprog[+N]` offset is computed from the tail's length).
fn loop_prog(caller_tail: &str, cb_body: &str) -> String {
    let tail_lines = caller_tail.lines().filter(|l| !l.trim().is_empty()).count();
    // slots: 0 r1=0, 1 store, 2 r1=4, 3-4 ld_imm64, 5 r3=r10, 6 r3+=-8,
    // 7 r4=0, 8 call, then the tail, then the callback; the load's offset
    // counts from slot 4.
    let cb = 9 + tail_lines;
    let off = cb - 4;
    format!(
        "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = 4\nr2 = subprog[+{off}]\nr3 = r10\nr3 += -8\nr4 = 0
        call bpf_loop#181\n{caller_tail}\n{cb_body}"
    )
}

#[test]
fn callback_needs_a_static_function_with_func_info() {
    // check_ld_imm(): a BPF_PSEUDO_FUNC load without func_info, or of a
    // global function, is refused.
    let src = loop_prog("r0 = 0\nexit", "r0 = 0\nexit");
    let none = run_full(&src, &[], &Mock::new(), VerifyOptions::default(), false);
    rejects(none, EINVAL, "missing btf func_info");
    let opts = VerifyOptions::default();
    let global = run_global(&src, &[], &Mock::new(), opts, Some(&[11]), 1);
    rejects(global, EINVAL, "callback function not static");
    accepts(run_global(&src, &[], &Mock::new(), opts, Some(&[0]), 1));
}

#[test]
fn bpf_loop_callback() {
    accepts(run(&loop_prog("r0 = 0\nexit", "r0 = 0\nexit"), &[]));
    let bad_ret = loop_prog("r0 = 0\nexit", "r0 = 5\nexit");
    rejects(
        run(&bad_ret, &[]),
        EINVAL,
        "At callback return the register R0 has smin=5 smax=5 should have been in [0, 1]",
    );
    let no_ret = loop_prog("r0 = 0\nexit", "exit");
    rejects(run(&no_ret, &[]), EACCES, "R0 not a scalar value");
    // The callback reads and writes its context (the caller's fp-8).
    let ctx =
        loop_prog("r0 = 0\nexit", "r1 = *(u64 *)(r2 + 0)\nr1 += 1\n*(u64 *)(r2 + 0) = r1\nr0 = 0\nexit");
    accepts(run(&ctx, &[]));
}

#[test]
fn callback_may_clobber_the_context() {
    // The caller spills its ctx pointer at fp-8 and hands fp-8 to the
    // callback, which overwrites it with a scalar: after the loop the slot
    // is unknown data and may not be dereferenced.
    let src = "r1 = r1\n*(u64 *)(r10 - 8) = r1\nr1 = 4\nr2 = subprog[+9]\nr3 = r10\nr3 += -8\nr4 = 0
        call bpf_loop#181\nr1 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r1 + 0)\nr0 = 0\nexit
        r1 = 0\n*(u64 *)(r2 + 0) = r1\nr0 = 0\nexit";
    let r = run(src, &[]);
    assert!(r.res.is_err(), "the spilled pointer survived the callback\n{}", r.log);
}

#[test]
fn callback_references() {
    let leak = loop_prog(
        "r0 = 0\nexit",
        "r1 = map[fd:0]\nr2 = 8\nr3 = 0\ncall bpf_ringbuf_reserve#131\nr0 = 0\nexit",
    );
    rejects(run(&leak, &[ringbuf()]), EINVAL, "Unreleased reference id=");
}

#[test]
fn for_each_map_elem_callback() {
    // bpf_for_each_map_elem(map, cb, NULL, 0); cb reads the value.
    let src = "r1 = map[fd:0]\nr2 = subprog[+6]\nr3 = 0\nr4 = 0\ncall bpf_for_each_map_elem#164\nr0 = 0\nexit
        r0 = *(u64 *)(r3 + 8)\nr0 = 0\nexit";
    accepts(run(src, &[hash()]));
    let oob = "r1 = map[fd:0]\nr2 = subprog[+6]\nr3 = 0\nr4 = 0\ncall bpf_for_each_map_elem#164\nr0 = 0\nexit
        r0 = *(u64 *)(r3 + 16)\nr0 = 0\nexit";
    assert!(run(oob, &[hash()]).res.is_err());
    rejects(run(src, &[ringbuf()]), 524, "callback function not allowed for map");
}

// ---- bpf2bpf calls ----------------------------------------------------------

#[test]
fn bpf2bpf_call_returns_r0() {
    accepts(run("r1 = 3\ncall f\nr0 += 1\nexit\nf:\nr0 = r1\nexit", &[]));
    // r1-r5 are scratched by the call.
    rejects(run("r1 = 3\ncall f\nr0 = r1\nexit\nf:\nr0 = 1\nexit", &[]), EACCES, "R1 !read_ok");
    // A void callee leaves r0 unset: fine unless the caller reads it.
    accepts(run("call f\nr0 = 0\nexit\nf:\nexit", &[]));
    rejects(run("call f\nexit\nf:\nexit", &[]), EACCES, "R0 !read_ok");
}

#[test]
fn bpf2bpf_stack_pointers() {
    let r = run("call f\nr0 = 0\nexit\nf:\nr0 = r10\nr0 += -8\nexit", &[]);
    rejects(r, EINVAL, "cannot return stack pointer to the caller");
    // The callee writes through a pointer to the caller's stack.
    accepts(run(
        "r1 = r10\nr1 += -8\ncall f\nr0 = *(u64 *)(r10 - 8)\nexit\nf:\nr2 = 1\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit",
        &[],
    ));
}

#[test]
fn call_chain_depth() {
    // main -> f1 -> ... -> f8: nine frames.
    let mut src = String::from("call f1\nr0 = 0\nexit\n");
    for i in 1..=8 {
        if i < 8 {
            src.push_str(&format!("f{i}:\ncall f{}\nr0 = 0\nexit\n", i + 1));
        } else {
            src.push_str(&format!("f{i}:\nr0 = 0\nexit\n"));
        }
    }
    rejects(run(&src, &[]), E2BIG, "the call stack of 9 frames is too deep");
}

#[test]
fn combined_stack_size() {
    let src = "r1 = 0\n*(u64 *)(r10 - 296) = r1\ncall f\nr0 = 0\nexit
        f:\nr1 = 0\n*(u64 *)(r10 - 296) = r1\nr0 = 0\nexit";
    rejects(run(src, &[]), EACCES, "combined stack size of 2 calls is 608. Too large");
    let small = "r1 = 0\n*(u64 *)(r10 - 200) = r1\ncall f\nr0 = 0\nexit
        f:\nr1 = 0\n*(u64 *)(r10 - 200) = r1\nr0 = 0\nexit";
    accepts(run(small, &[])); // The interpreter's rounding (no JIT requested): 32 bytes a frame.
    let interp = VerifyOptions { jit_requested: false, ..VerifyOptions::default() };
    let odd = "r1 = 0\n*(u64 *)(r10 - 240) = r1\ncall f\nr0 = 0\nexit
        f:\nr1 = 0\n*(u64 *)(r10 - 264) = r1\nr0 = 0\nexit";
    accepts(run(odd, &[]));
    let r = run_with(odd, &[], &Mock::new(), interp);
    rejects(r, EACCES, "combined stack size of 2 calls is 544. Too large");
}

#[test]
fn callx_is_refused() {
    rejects(run("r1 = 0\ncallx r1\nr0 = 0\nexit", &[]), EINVAL, "BPF_CALL uses reserved fields");
}

// ---- kfuncs -----------------------------------------------------------------

#[test]
fn kfunc_lookup() {
    rejects(
        run("call kernel-function#102\nr0 = 0\nexit", &[]),
        EACCES,
        "calling kernel function bpf_forbidden is not allowed",
    );
    rejects(run("call kernel-function#77\nr0 = 0\nexit", &[]), EINVAL, "kernel btf_id 77 is not a function");
}

#[test]
fn kfunc_acquire_release() {
    let ok = "r1 = 0\ncall kernel-function#100\nif r0 == 0 goto out\nr1 = r0\ncall kernel-function#101
        out:\nr0 = 0\nexit";
    accepts(run(ok, &[]));
    let leak = "r1 = 0\ncall kernel-function#100\nif r0 == 0 goto out\nr0 = 0\nexit\nout:\nr0 = 0\nexit";
    rejects(run(leak, &[]), EINVAL, "Unreleased reference id=");
    let unchecked = "r1 = 0\ncall kernel-function#100\nr1 = r0\ncall kernel-function#101\nr0 = 0\nexit";
    // check_kfunc_args(): a release kfunc takes no maybe-NULL pointer.
    rejects(run(unchecked, &[]), EACCES, "Possibly NULL pointer passed to trusted arg0");
    let twice = "r1 = 0\ncall kernel-function#100\nif r0 == 0 goto out\nr6 = r0\nr1 = r0
        call kernel-function#101\nr1 = r6\ncall kernel-function#101\nout:\nr0 = 0\nexit";
    rejects(run(twice, &[]), EINVAL, "arg#0 pointer type STRUCT");
    let gpl = VerifyOptions { gpl_compatible: false, ..VerifyOptions::default() };
    rejects(
        run_with(ok, &[], &Mock::new(), gpl),
        EINVAL,
        "cannot call kernel function from non-GPL compatible program",
    );
}

// ---- exit -------------------------------------------------------------------

#[test]
fn main_exit_checks() {
    rejects(run("exit", &[]), EACCES, "R0 !read_ok");
    let ranged = Mock { ret: Some((0, 1)), ..Mock::new() };
    let opts = VerifyOptions::default();
    accepts(run_with("r0 = 1\nexit", &[], &ranged, opts));
    rejects(
        run_with("r0 = 2\nexit", &[], &ranged, opts),
        EINVAL,
        "At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]",
    );
    rejects(
        run_with("call bpf_ktime_get_ns#5\nexit", &[], &ranged, opts),
        EINVAL,
        "At program exit the register R0 has unknown scalar value should have been in [0, 1]",
    );
    rejects(
        run_with("r0 = r1\nexit", &[], &ranged, opts),
        EINVAL,
        "At program exit the register R0 is not a known value (ctx)",
    );
    let strict = VerifyOptions { allow_ptr_leaks: false, ..VerifyOptions::default() };
    rejects(run_with("r0 = r1\nexit", &[], &Mock::new(), strict), EACCES, "R0 leaks addr as return value");
    accepts(run("r0 = r1\nexit", &[]));
}

#[test]
fn tnum_strings_follow_the_kernel() {
    use crate::tnum::Tnum;
    assert_eq!(super::super::exit::tnum_str(Tnum::constant(0)), "(0x0; 0x0)");
    assert_eq!(super::super::exit::tnum_str(Tnum::range(0, 1)), "(0x0; 0x1)");
    assert_eq!(super::super::exit::tnum_str(Tnum::constant(255)), "(0xff; 0x0)");
}

#[test]
fn kfunc_arguments() {
    accepts(run("call kernel-function#103\nr0 = 0\nexit", &[]));
    rejects(
        run("r1 += 8\ncall kernel-function#103\nr0 = 0\nexit", &[]),
        EACCES,
        "dereference of modified ctx ptr R1 off=8 disallowed",
    );
    rejects(
        run("r1 = 0\ncall kernel-function#103\nr0 = 0\nexit", &[]),
        EINVAL,
        "arg#0 expected pointer to ctx, but got scalar",
    );
    let mem =
        "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 8\ncall kernel-function#104\nr0 = 0\nexit";
    accepts(run(mem, &[]));
    let too_big = "r1 = 0\n*(u64 *)(r10 - 8) = r1\nr1 = r10\nr1 += -8\nr2 = 16\ncall kernel-function#104
        r0 = 0\nexit";
    assert!(run(too_big, &[]).res.is_err());
    rejects(
        run("r1 = 5\nr2 = 8\ncall kernel-function#104\nr0 = 0\nexit", &[]),
        EACCES,
        "R1 type=scalar expected=fp, pkt, pkt_meta, map_key, map_value, mem",
    );
    let trusted = "r1 = 0\ncall kernel-function#100\nif r0 == 0 goto out\nr6 = r0\nr1 = r0
        call kernel-function#105\nr1 = r6\ncall kernel-function#101\nout:\nr0 = 0\nexit";
    accepts(run(trusted, &[]));
    rejects(
        run("call kernel-function#106\nr0 = 0\nexit", &[]),
        EACCES,
        "program must be sleepable to call sleepable kfunc bpf_sleepy",
    );
    let sleepable = VerifyOptions { sleepable: true, ..VerifyOptions::default() };
    accepts(run_with("call kernel-function#106\nr0 = 0\nexit", &[], &Mock::new(), sleepable));
}

#[test]
fn references_cross_bpf2bpf_calls() {
    // The callee acquires, the caller releases.
    let src = "call f\nif r0 == 0 goto out\nr1 = r0\ncall kernel-function#101\nout:\nr0 = 0\nexit
        f:\nr1 = 0\ncall kernel-function#100\nexit";
    accepts(run(src, &[]));
    // The callee releases what the caller acquired.
    let src = "r1 = 0\ncall kernel-function#100\nif r0 == 0 goto out\nr1 = r0\ncall f\nout:\nr0 = 0\nexit
        f:\ncall kernel-function#101\nr0 = 0\nexit";
    accepts(run(src, &[]));
    // The callee acquires and drops it.
    let src = "call f\nr0 = 0\nexit\nf:\nr1 = 0\ncall kernel-function#100\nr0 = 0\nexit";
    rejects(run(src, &[]), EINVAL, "Unreleased reference id=");
}

#[test]
fn map_in_map_lookup() {
    let outer = MapInfo { inner: Some(Box::new(hash())), ..map(map_type::ARRAY_OF_MAPS, 4, 4) };
    let src = "r1 = 0\n*(u32 *)(r10 - 4) = r1\nr2 = r10\nr2 += -4\nr1 = map[fd:0]\ncall bpf_map_lookup_elem#1
        if r0 == 0 goto out\nr1 = 0\n*(u64 *)(r10 - 16) = r1\nr2 = r10\nr2 += -16\nr1 = r0
        call bpf_map_lookup_elem#1\nif r0 == 0 goto out\nr0 = *(u64 *)(r0 + 8)\nout:\nr0 = 0\nexit";
    accepts(run(src, std::slice::from_ref(&outer)));
    // The inner map's value is 16 bytes.
    let oob = src.replace("r0 = *(u64 *)(r0 + 8)", "r0 = *(u64 *)(r0 + 16)");
    assert!(run(&oob, std::slice::from_ref(&outer)).res.is_err());
    // Only lookups take a map-in-map.
    let upd = "r1 = 0\n*(u32 *)(r10 - 4) = r1\n*(u32 *)(r10 - 8) = r1\nr2 = r10\nr2 += -4\nr3 = r10\nr3 += -8\nr4 = 0
        r1 = map[fd:0]\ncall bpf_map_update_elem#2\nr0 = 0\nexit";
    rejects(run(upd, &[outer]), EINVAL, "cannot pass map_type 12 into func bpf_map_update_elem#2");
}

#[test]
fn string_read_return_is_bounded() {
    // bpf_probe_read_kernel_str returns at most the size: r0 + buf stays
    // inside the buffer once the error case is excluded.
    let src = "r1 = r10\nr1 += -16\nr2 = 16\nr3 = 0\ncall bpf_probe_read_kernel_str#115
        if r0 s< 1 goto out\nr1 = r10\nr1 += -16\nr1 += r0\nr1 += -1\nr2 = *(u8 *)(r1 + 0)\nout:\nr0 = 0\nexit";
    accepts(run(src, &[]));
}

#[test]
fn callback_stack_counts_in_the_chain() {
    let src = "r1 = 0\n*(u64 *)(r10 - 296) = r1\nr1 = 1\nr2 = subprog[+6]\nr3 = 0\nr4 = 0\ncall bpf_loop#181
        r0 = 0\nexit
        r1 = 0\n*(u64 *)(r10 - 296) = r1\nr0 = 0\nexit";
    rejects(run(src, &[]), EACCES, "combined stack size of 2 calls is 608. Too large");
}

#[test]
fn tail_call_on_a_deep_stack() {
    let pa = map(map_type::PROG_ARRAY, 4, 4);
    // main (264 bytes) calls f, which tail-calls: with func_info the
    // stack rule of check_max_stack_depth() decides.
    let src = "r6 = r1\nr1 = 0\n*(u64 *)(r10 - 264) = r1\nr1 = r6\ncall f\nr0 = 0\nexit
        f:\nr2 = map[fd:0]\nr3 = 0\ncall bpf_tail_call#12\nr0 = 0\nexit";
    rejects(
        run_func_info(src, std::slice::from_ref(&pa)),
        EACCES,
        "tail_calls are not allowed when call stack of previous frames is 272 bytes. Too large",
    );
    accepts(run_func_info(&src.replace("264", "200"), std::slice::from_ref(&pa)));
    // Without func_info a tail call in a subprogram is refused first
    // (check_abnormal_return()), whatever the stack.
    for s in [src.to_string(), src.replace("264", "200")] {
        rejects(
            run(&s, std::slice::from_ref(&pa)),
            EINVAL,
            "tail_call is not allowed in subprogs without BTF",
        );
    }
    // In the main program it needs no BTF.
    accepts(run("r2 = map[fd:0]\nr3 = 0\ncall bpf_tail_call#12\nr0 = 0\nexit", &[pa]));
}

#[test]
fn ld_abs_in_a_subprogram_needs_func_info() {
    let src = "call f\nexit\nf:\nr6 = r1\nr0 = *(u8 *)skb[0]\nexit";
    rejects(run(src, &[]), EINVAL, "LD_ABS is not allowed in subprogs without BTF");
    accepts(run_func_info(src, &[]));
    // LD_ABS is reported before a tail call of the same subprogram.
    let pa = map(map_type::PROG_ARRAY, 4, 4);
    let both =
        "call f\nexit\nf:\nr6 = r1\nr2 = map[fd:0]\nr3 = 0\ncall bpf_tail_call#12\nr0 = *(u8 *)skb[0]\nexit";
    rejects(run(both, &[pa]), EINVAL, "LD_ABS is not allowed in subprogs without BTF");
    // In the main program of a program with calls, fine.
    accepts(run("r6 = r1\nr0 = *(u8 *)skb[0]\ncall f\nexit\nf:\nr0 = 0\nexit", &[]));
}

#[test]
fn bpf2bpf_log_lines() {
    let r = run("r1 = 3\ncall f\nr0 += 1\nexit\nf:\nr0 = r1\nexit", &[]);
    // As Linux 6.18 logs it: the callee's whole frame again before its
    // first instruction; no precision marks in the current state.
    assert!(
        r.log.contains("caller:\n R10=fp0\ncallee:\n frame1: R1=3 R10=fp0\n4: frame1: R1=3 R10=fp0\n"),
        "{}",
        r.log
    );
    assert!(
        r.log
            .contains("returning from callee:\n frame1: R0=3 R1=3 R10=fp0\nto caller at 2:\n R0=3 R10=fp0\n"),
        "{}",
        r.log
    );
}

#[test]
fn callback_while_the_caller_holds_a_reference() {
    // The caller keeps its ring-buffer record across bpf_loop and submits
    // it afterwards; the callback path does not see the reference.
    let src = "r1 = map[fd:0]\nr2 = 8\nr3 = 0\ncall bpf_ringbuf_reserve#131\nif r0 == 0 goto out
        r6 = r0\nr1 = 2\nr2 = subprog[+9]\nr3 = 0\nr4 = 0\ncall bpf_loop#181
        r1 = r6\nr2 = 0\ncall bpf_ringbuf_submit#132\nout:\nr0 = 0\nexit
        r0 = 0\nexit";
    accepts(run(src, &[ringbuf()]));
}

#[test]
fn callback_log_lines() {
    let r = run(&loop_prog("r0 = 0\nexit", "r0 = 0\nexit"), &[]);
    // No caller:/callee: lines for a callback (push_callback_call()):
    // its run starts as a pushed path.
    assert!(!r.log.contains("\ncallee:\n"), "{}", r.log);
    assert!(r.log.contains(": frame1: R1=scalar() R2=fp[0]-8 R10=fp0 cb\n"), "{}", r.log);
}

#[test]
fn read_only_callback_keeps_the_caller_stack() {
    // Same as `callback_may_clobber_the_context`, but the callback only
    // reads its context: the spilled ctx pointer survives the call.
    let src = "*(u64 *)(r10 - 8) = r1\nr1 = 4\nr2 = subprog[+9]\nr3 = r10\nr3 += -8\nr4 = 0
        call bpf_loop#181\nr1 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r1 + 0)\nr0 = 0\nexit
        r1 = *(u64 *)(r2 + 0)\nr0 = 0\nexit";
    accepts(run(src, &[]));
    // A store through anything but r10 counts as a possible write, here
    // in a subprogram the callback calls.
    let src = "*(u64 *)(r10 - 8) = r1\nr1 = 4\nr2 = subprog[+9]\nr3 = r10\nr3 += -8\nr4 = 0
        call bpf_loop#181\nr1 = *(u64 *)(r10 - 8)\nr0 = *(u32 *)(r1 + 0)\nr0 = 0\nexit
        r1 = r2\ncall g\nr0 = 0\nexit\ng:\nr2 = 0\n*(u64 *)(r1 + 0) = r2\nr0 = 0\nexit";
    rejects(run(src, &[]), EACCES, "R1 invalid mem access 'scalar'");
}

#[test]
fn size_arguments_stay_exact_across_pruning() {
    // Two paths meet before the call with sizes 8 and 16 for an 8-byte
    // buffer: the second must not be pruned against the first.
    let src = "call bpf_get_prandom_u32#7\nr2 = 8\nif r0 == 0 goto l1\nr2 = 16\nl1:\nr1 = r10\nr1 += -8
        call bpf_get_current_comm#16\nr0 = 0\nexit";
    assert!(run(src, &[]).res.is_err());
    let src = src.replace("r2 = 16", "r2 = 4");
    accepts(run(&src, &[]));
}

#[path = "callback_tests.rs"]
mod callbacks;
