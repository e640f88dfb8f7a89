//! Loads, stores and atomics on every pointer type.

use super::*;

#[test]
fn stack_bounds_and_alignment() {
    accept("r1 = 1\n*(u64 *)(r10 -512) = r1\nr0 = *(u64 *)(r10 -512)\nexit");
    reject("r1 = 1\n*(u64 *)(r10 +0) = r1\nr0 = 0\nexit", "invalid write to stack R10 off=0 size=8");
    reject("r1 = 1\n*(u64 *)(r10 -520) = r1\nr0 = 0\nexit", "invalid write to stack R10 off=-520 size=8");
    reject("r0 = *(u64 *)(r10 +8)\nexit", "invalid read from stack R10 off=8 size=8");
    reject("r1 = 1\n*(u64 *)(r10 -4) = r1\nr0 = 0\nexit", "misaligned stack access off 0+0+-4 size 8");
}

#[test]
fn uninit_stack_reads() {
    reject_with("r0 = *(u64 *)(r10 -8)\nexit", unpriv(), "invalid read from stack off -8+0 size 8");
    reject_with(
        "r1 = 1\n*(u32 *)(r10 -8) = r1\nr0 = *(u64 *)(r10 -8)\nexit",
        unpriv(),
        "invalid read from stack off -8+4 size 8",
    );
    // CAP_PERFMON may read uninitialised stack (allow_uninit_stack).
    accept("r0 = *(u64 *)(r10 -8)\nexit");
}

#[test]
fn spill_and_fill() {
    // A pointer survives a spill; a scalar keeps its bounds.
    accept("*(u64 *)(r10 -8) = r1\nr2 = *(u64 *)(r10 -8)\nr0 = *(u32 *)(r2 +0)\nexit");
    let (_, log) = run("r1 = 42\n*(u64 *)(r10 -8) = r1\nr0 = *(u64 *)(r10 -8)\nexit");
    assert!(log.contains("R0=42"), "{log}");
    // A narrow spill of a scalar, filled back with the same size.
    let (_, log) = run("r1 = 42\n*(u32 *)(r10 -8) = r1\nr0 = *(u32 *)(r10 -8)\nexit");
    assert!(log.contains("R0=42"), "{log}");
    // A partial overwrite of a spilled pointer: the slot becomes misc.
    reject(
        "*(u64 *)(r10 -8) = r1\nr2 = 0\n*(u32 *)(r10 -4) = r2\nr1 = *(u64 *)(r10 -8)\nr0 = *(u32 *)(r1 +0)\nexit",
        "R1 invalid mem access 'scalar'",
    );
    reject_with(
        "*(u64 *)(r10 -8) = r1\nr2 = 0\n*(u32 *)(r10 -4) = r2\nr0 = 0\nexit",
        unpriv(),
        "attempt to corrupt spilled pointer on stack",
    );
    reject("*(u32 *)(r10 -8) = r1\nr0 = 0\nexit", "invalid size of register spill");
    reject("*(u64 *)(r10 -8) = r1\nr0 = *(u32 *)(r10 -8)\nexit", "invalid size of register fill");
    // A 4-byte zero at the start of a slot is a narrow spill (6.8+); a
    // store into its other half scrubs the spill to misc and writes
    // STACK_ZERO, so the 8-byte load is unknown (as Linux 6.18 logs it:
    // fp-8=0000mmmm, R0=scalar()).
    let (_, log) = run("r1 = 0\n*(u32 *)(r10 -8) = r1\n*(u32 *)(r10 -4) = r1\nr0 = *(u64 *)(r10 -8)\nexit");
    assert!(log.contains("fp-8=0000mmmm") && log.contains("R0=scalar()"), "{log}");
    // Whole zero bytes stay known.
    let (_, log) = run("r1 = 0\n*(u32 *)(r10 -4) = r1\nr0 = *(u32 *)(r10 -4)\nexit");
    assert!(log.contains("R0=0"), "{log}");
    // So does a narrow fill of part of a spilled zero.
    let (_, log) = run("r1 = 0\n*(u32 *)(r10 -8) = r1\nr0 = *(u8 *)(r10 -7)\nexit");
    assert!(log.contains("R0=0"), "{log}");
}

#[test]
fn variable_offset_stack() {
    accept(
        "r2 = *(u32 *)(r1 +0)\nr2 &= 8\nr3 = r10\nr3 += -16\nr3 += r2\nr4 = 0\n*(u64 *)(r10 -16) = r4\n\
         *(u64 *)(r10 -8) = r4\nr0 = *(u64 *)(r3 +0)\nexit",
    );
    reject(
        "r2 = *(u32 *)(r1 +0)\nr2 &= 16\nr3 = r10\nr3 += -16\nr3 += r2\nr0 = *(u64 *)(r3 +0)\nexit",
        "invalid variable-offset read from stack R3 var_off=(0x0; 0x10) off=-16 size=8",
    );
    reject_with(
        "r2 = *(u32 *)(r1 +0)\nr2 &= 8\nr3 = r10\nr3 += r2\nr0 = 0\nexit",
        unpriv(),
        "R3 variable stack access prohibited for !root, var_off=(0x0; 0x8) off=0",
    );
}

#[test]
fn ctx_access() {
    let o = accept("r0 = *(u32 *)(r1 +4)\nr2 = *(u32 *)(r1 +20)\n*(u32 *)(r1 +0) = r0\nexit");
    assert_eq!(o.max_ctx_offset, 24);
    // Each ctx access is recorded for the rewrite after verification.
    let rec = |off, write| crate::check::CtxRecord {
        off,
        size: 4,
        field_size: 0,
        field: CtxField::Scalar,
        write,
        sx: false,
    };
    assert_eq!(o.ctx_accesses, [(0, rec(4, false)), (1, rec(20, false)), (2, rec(0, true))]);
    // Stack accesses are not.
    assert_eq!(accept("r1 = 1\n*(u64 *)(r10 -8) = r1\nr0 = 0\nexit").ctx_accesses, []);
    // One load through the ctx on a path and the stack on another
    // (`save_aux_ptr_type()`).
    reject(
        "r2 = *(u32 *)(r1 +20)\nr3 = r10\nr3 += -8\n*(u64 *)(r10 -8) = r2\nif r2 == 0 goto l\nr3 = r1\nl:\nr0 = *(u32 *)(r3 +0)\nexit",
        "same insn cannot be used with different pointers",
    );
    reject("r0 = *(u32 *)(r1 +24)\nexit", "invalid bpf_context access off=24 size=4");
    reject("r0 = 0\n*(u32 *)(r1 +20) = r0\nexit", "invalid bpf_context access off=20 size=4");
    // Since Linux 6.3 `BPF_ST` into the ctx follows the `BPF_STX` rules
    // and is recorded for the rewrite as well.
    let st = accept("*(u32 *)(r1 +0) = 1\nr0 = 0\nexit");
    assert_eq!(st.ctx_accesses, [(0, rec(0, true))]);
    reject("*(u32 *)(r1 +20) = 1\nr0 = 0\nexit", "invalid bpf_context access off=20 size=4");
    reject(
        "r2 = *(u32 *)(r1 +0)\nif r2 == 0 goto l\nr1 = r10\nr1 += -8\nl:\n*(u32 *)(r1 +0) = 1\nr0 = 0\nexit",
        "same insn cannot be used with different pointers",
    );
    reject_with("r2 = r10\n*(u64 *)(r1 +0) = r2\nr0 = 0\nexit", unpriv(), "R2 leaks addr into ctx");
}

#[test]
fn invalid_mem_access_types() {
    reject("r0 = 0\nr1 = *(u64 *)(r0 +0)\nexit", "R0 invalid mem access 'scalar'");
    reject("r2 = map[fd:0]\nr0 = *(u64 *)(r2 +0)\nexit", "R2 invalid mem access 'map_ptr'");
    reject("r2 = *(u32 *)(r1 +12)\nr0 = *(u8 *)(r2 +0)\nexit", "R2 invalid mem access 'pkt_end'");
    reject("r0 = *(u64 *)(r5 +0)\nexit", "R5 !read_ok");
}

const PKT: &str = "r2 = *(u32 *)(r1 +8)\nr3 = *(u32 *)(r1 +12)\nr4 = r2\nr4 += 14\n";

#[test]
fn packet_access() {
    for (cmp, good_is_fallthrough) in [
        ("if r4 > r3 goto out", true),
        ("if r3 < r4 goto out", true),
        ("if r4 >= r3 goto out", true),
        ("if r3 <= r4 goto out", true),
        ("if r4 <= r3 goto ok", false),
        ("if r3 >= r4 goto ok", false),
        ("if r4 < r3 goto ok", false),
        ("if r3 > r4 goto ok", false),
    ] {
        let body = "r0 = *(u16 *)(r2 +12)\n*(u8 *)(r2 +13) = r0\n";
        let src = if good_is_fallthrough {
            format!("{PKT}{cmp}\n{body}out: r0 = 0\nexit")
        } else {
            format!("{PKT}{cmp}\nr0 = 0\nexit\nok: {body}r0 = 0\nexit")
        };
        accept(&src);
    }
    reject(
        &format!("{PKT}if r4 > r3 goto out\nr0 = *(u16 *)(r2 +13)\nout: r0 = 0\nexit"),
        "invalid access to packet, off=13 size=2, R2(id=0,off=13,r=14)",
    );
    reject(
        &format!("{PKT}r0 = *(u8 *)(r2 +0)\nexit"),
        "invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)",
    );
    reject(
        &format!("{PKT}if r4 > r3 goto out\nr3 = *(u8 *)(r3 +0)\nout: r0 = 0\nexit"),
        "R3 invalid mem access 'pkt_end'",
    );
}

#[test]
fn packet_variable_offset() {
    // A variable offset gets a new id; the range must be proven for it.
    accept(
        "r2 = *(u32 *)(r1 +8)\nr3 = *(u32 *)(r1 +12)\nr5 = *(u32 *)(r1 +0)\nr5 &= 0xff\nr2 += r5\nr4 = r2\nr4 += 4\n\
         if r4 > r3 goto out\nr0 = *(u32 *)(r2 +0)\nout: r0 = 0\nexit",
    );
    reject(
        "r2 = *(u32 *)(r1 +8)\nr3 = *(u32 *)(r1 +12)\nr4 = r2\nr4 += 4\nif r4 > r3 goto out\n\
         r5 = *(u32 *)(r1 +0)\nr5 &= 0xff\nr2 += r5\nr0 = *(u32 *)(r2 +0)\nout: r0 = 0\nexit",
        "invalid access to packet, off=0 size=4, R2(id=1,off=0,r=0)",
    );
}

#[test]
fn map_lookup_value_bounds() {
    // A map value pointer from a direct load, with a variable index.
    accept("r2 = map[fd:0][0]+0\nr3 = *(u32 *)(r1 +0)\nr3 &= 12\nr2 += r3\nr0 = *(u32 *)(r2 +0)\nexit");
    reject(
        "r2 = map[fd:0][0]+0\nr3 = *(u32 *)(r1 +0)\nr3 &= 15\nr2 += r3\nr0 = *(u32 *)(r2 +0)\nexit",
        "invalid access to map value, value_size=16 off=15 size=4",
    );
    reject(
        "r2 = map[fd:0][0]+0\nr3 = *(u32 *)(r1 +0)\nr2 += r3\nr0 = *(u32 *)(r2 +0)\nexit",
        "R2 unbounded memory access, make sure to bounds check any such access",
    );
    reject(
        "r2 = map[fd:0][0]+0\nr3 = *(u32 *)(r1 +0)\nr3 = (s32)r3\nif r3 s> 8 goto out\nif r3 s< -100 goto out\n\
         r2 += r3\nr0 = *(u32 *)(r2 +0)\nout: r0 = 0\nexit",
        "R2 min value is negative, either use unsigned index or do a if (index >=0) check.",
    );
    reject(
        "r2 = map[fd:3][0]+0\nr0 = *(u32 *)(r2 +0)\nexit",
        "bpf_spin_lock cannot be accessed directly by load/store",
    );
    accept("r2 = map[fd:3][0]+0\nr0 = *(u32 *)(r2 +4)\nexit");
    reject_with(
        "r2 = map[fd:0][0]+0\n*(u64 *)(r2 +0) = r1\nr0 = 0\nexit",
        unpriv(),
        "R1 leaks addr into map",
    );
}

#[test]
fn atomics() {
    accept("r1 = 0\n*(u64 *)(r10 -8) = r1\nr2 = 1\nlock *(u64 *)(r10 -8) += r2\nr0 = *(u64 *)(r10 -8)\nexit");
    accept(
        "r2 = map[fd:0][0]+0\nr1 = 1\nr1 = atomic64_fetch_add((u64 *)(r2 +8), r1)\nr0 = 0\n\
         r0 = atomic64_cmpxchg((u64 *)(r2 +0), r0, r1)\nexit",
    );
    reject(
        "r2 = 1\nlock *(u32 *)(r1 +0) += r2\nr0 = 0\nexit",
        "BPF_ATOMIC stores into R1 ctx is not allowed",
    );
    reject(
        "r2 = map[fd:0][0]+0\nr1 = 1\nlock *(u64 *)(r2 +4) += r1\nr0 = 0\nexit",
        "misaligned value access off 0+0+4 size 8",
    );
    reject_with("r2 = r10\nlock *(u64 *)(r10 -8) += r2\nr0 = 0\nexit", unpriv(), "R2 leaks addr into mem");
}

#[test]
fn dynptr_slots_are_not_overwritten() {
    use crate::check::Verifier;
    use crate::state::{SlotType, StackSlot};
    let insns = bpfemu_isa::asm::kernel::assemble("r0 = 0\nexit").unwrap();
    let prog = bpfemu_isa::decode_program(&insns).unwrap();
    let cfg = crate::cfg::check_cfg(&prog, crate::cfg::CfgOptions { bpf_capable: true }).unwrap();
    let maps = maps();
    let input = VerifyInput {
        insns: &insns,
        pseudo: &[],
        maps: &maps,
        prog_type: &Mock,
        opts: VerifyOptions::default(),
        btf: None,
    };
    let mut log = VerifierLog::new(1, true, 1 << 16).unwrap();
    let mut v = Verifier::new(&input, &mut log, prog, cfg);
    let f = v.cur.cur_mut();
    f.stack = vec![StackSlot { slot_type: [SlotType::Dynptr; 8], ..StackSlot::invalid() }; 2];
    for (s, first) in [(0, false), (1, true)] {
        f.stack[s].spilled.dynptr.kind = crate::state::DynptrKind::Ringbuf;
        f.stack[s].spilled.dynptr.first_slot = first;
    }
    f.regs[2] = crate::state::RegState::constant(1);
    let e = v
        .check_mem_access(10, -8, 8, Access::Write, crate::check::mem::Store::Reg(2), false, false, false)
        .unwrap_err();
    assert_eq!((e.errno, e.msg.as_str()), (22, "cannot overwrite referenced dynptr"));
    let e = v
        .check_mem_access(10, -16, 4, Access::Read, crate::check::mem::Store::Unknown, false, false, true)
        .unwrap_err();
    assert_eq!(e.msg, "invalid read from stack off -16+0 size 4");
}

/// A flow dissector-like type: ctx 8 bytes, `flow_keys` pointer at 0.
struct FlowMock;

impl ProgTypeOps for FlowMock {
    fn name(&self) -> &str {
        "flow"
    }
    fn func_proto(&self, _id: i32) -> Option<&'static crate::proto::FuncProto> {
        None
    }
    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        (off == 0 && size == 8 && access == Access::Read)
            .then_some(CtxAccess { field: CtxField::FlowKeys, field_size: 0 })
    }
    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }
}

fn run_flow(src: &str) -> Result<crate::check::VerifyOutcome, crate::check::VerifyError> {
    let insns = bpfemu_isa::asm::kernel::assemble(src).unwrap();
    let input = VerifyInput {
        insns: &insns,
        pseudo: &[],
        maps: &[],
        prog_type: &FlowMock,
        opts: VerifyOptions::default(),
        btf: None,
    };
    let mut log = VerifierLog::new(1, true, 1 << 16).unwrap();
    verify(&input, &mut log)
}

#[test]
fn flow_keys() {
    run_flow("r2 = *(u64 *)(r1 +0)\nr0 = *(u32 *)(r2 +52)\n*(u16 *)(r2 +0) = r0\nexit").unwrap();
    let e = run_flow("r2 = *(u64 *)(r1 +0)\nr0 = *(u32 *)(r2 +53)\nexit").unwrap_err();
    assert_eq!(e.msg, "invalid access to flow keys off=53 size=4");
    run_flow("r2 = *(u64 *)(r1 +0)\nr2 += 4\nr0 = *(u32 *)(r2 +0)\nexit").unwrap();
    let e = run_flow("r2 = *(u64 *)(r1 +0)\nr2 += 52\nr0 = *(u32 *)(r2 +4)\nexit").unwrap_err();
    assert_eq!(e.msg, "invalid access to flow keys off=56 size=4");
    let e = run_flow("r2 = *(u64 *)(r1 +0)\nr3 = *(u32 *)(r2 +0)\nr2 += r3\nr0 = 0\nexit").unwrap_err();
    assert_eq!(e.msg, "R2 pointer arithmetic on flow_keys prohibited");
    let e = run_flow("r0 = 0\n*(u8 *)(r10 -1) = r0\nr0 = *(u8 *)skb[0]\nexit").unwrap_err();
    assert_eq!(e.msg, "BPF_LD_[ABS|IND] instructions not allowed for this program type");
}

#[test]
fn sign_extending_loads() {
    let (r, log) = run("r0 = *(s8 *)(r1 +0)\nexit");
    r.unwrap();
    assert!(log.contains("smin=smin32=-128,smax=smax32=127"), "{log}");
    reject("r0 = *(s32 *)(r1 +8)\nr0 = 0\nexit", "invalid bpf_context access off=8 size=4");
}

#[test]
fn strict_alignment_option() {
    use crate::env::VerifyOptions;
    let prog = "r2 = map[fd:0][0]+0\nr0 = *(u32 *)(r2 +2)\nexit";
    accept(prog);
    let strict = VerifyOptions { strict_alignment: true, ..VerifyOptions::default() };
    reject_with(prog, strict, "misaligned value access off 0+0+2 size 4");
}

#[test]
fn log_prints_pseudo_loads_as_addresses() {
    let (_, log) = run_with("r2 = map[fd:0]\nr0 = 0\nexit", VerifyOptions::default(), 2);
    assert!(log.starts_with("0: R1=ctx() R10=fp0\n0: (18) r2 = 0x0 "), "{log}");
}

#[test]
fn bpf_sock_fields() {
    use crate::check::mem::bpf_sock_access_ok as ok;
    // family: narrow loads only at the field start (`case offsetof(...)`).
    assert!(ok(4, 4) && ok(4, 1) && ok(4, 2) && !ok(5, 1) && !ok(6, 2));
    assert!(ok(0, 4) && !ok(0, 1) && !ok(16, 2));
    assert!(ok(48, 2) && ok(48, 4) && ok(49, 1) && !ok(50, 2));
    assert!(ok(24, 1) && ok(56, 4) && ok(76, 4) && !ok(80, 4) && !ok(-4, 4) && !ok(6, 4));
}
