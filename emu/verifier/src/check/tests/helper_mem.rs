//! `check_helper_mem` (the memory arguments of helper calls), driven on a
//! hand-made state.

use super::*;
use crate::check::Verifier;
use crate::state::{RegState, RegType, SlotType};

/// Runs `f` on a verifier whose current state is the entry state, with
/// `r2` set to `r2`.
fn with_r2(opts: VerifyOptions, r2: RegState, f: impl FnOnce(&mut Verifier<'_, '_>)) -> String {
    let insns = bpfemu_isa::asm::kernel::assemble("r0 = 0\nexit").unwrap();
    let prog = bpfemu_isa::decode_program(&insns).unwrap();
    let cfg = crate::cfg::check_cfg(&prog, crate::cfg::CfgOptions { bpf_capable: true }).unwrap();
    let maps = maps();
    let input = VerifyInput { insns: &insns, pseudo: &[], maps: &maps, prog_type: &Mock, opts, btf: None };
    let mut log = VerifierLog::new(1, true, 1 << 16).unwrap();
    let mut v = Verifier::new(&input, &mut log, prog, cfg);
    v.cur.cur_mut().regs[2] = r2;
    f(&mut v);
    log.full_text().to_string()
}

fn fp(off: i32) -> RegState {
    RegState { off, ..RegState::pointer(RegType::Stack) }
}

#[test]
fn stack_arguments() {
    // Uninitialised stack: refused for reads (unprivileged), fine for a
    // helper that writes first, which initialises it.
    let log = with_r2(unpriv(), fp(-8), |v| {
        let e = v.check_helper_mem(2, 8, Access::Read, false, false).unwrap_err();
        assert_eq!(e.msg, "invalid read from stack R2 off -8+0 size 8");
        v.check_helper_mem(2, 8, Access::Write, true, false).unwrap();
        assert!(v.cur.cur().stack[0].slot_type.iter().all(|t| *t == SlotType::Misc));
        v.check_helper_mem(2, 8, Access::Read, false, false).unwrap();
        assert_eq!(v.stack_depth, vec![8]);
    });
    assert!(log.contains("invalid read from stack"), "{log}");
    with_r2(VerifyOptions::default(), fp(-8), |v| {
        let e = v.check_helper_mem(2, 16, Access::Read, false, false).unwrap_err();
        assert_eq!(e.msg, "invalid read from stack R2 off=-8 size=16");
        // A zero size with a NULL pointer, when allowed.
        v.cur.cur_mut().regs[3] = RegState::constant(0);
        v.check_helper_mem(3, 0, Access::Read, false, true).unwrap();
        let e = v.check_helper_mem(3, 4, Access::Read, false, true).unwrap_err();
        assert_eq!(e.msg, "R3 type=scalar expected=fp");
        let e = v.check_helper_mem(1, 4, Access::Read, false, false).unwrap_err();
        assert_eq!(e.msg, "R1 type=ctx expected=fp");
        let e = v.check_helper_mem(2, 1 << 30, Access::Read, false, false).unwrap_err();
        assert_eq!(e.msg, "R2 unbounded memory access, use 'var &= const' or 'if (var < const)'");
    });
}

#[test]
fn spilled_pointers_are_clobbered_by_helper_writes() {
    with_r2(VerifyOptions::default(), fp(-8), |v| {
        let ctx = v.cur.cur().regs[1].clone();
        let slot = v.cur.cur_mut();
        slot.stack.resize(1, crate::state::StackSlot::invalid());
        slot.stack[0].spilled = ctx;
        slot.stack[0].slot_type = [SlotType::Spill; 8];
        v.check_helper_mem(2, 8, Access::Write, false, false).unwrap();
        assert!(!v.cur.cur().stack[0].is_spilled_reg());
    });
    with_r2(unpriv(), fp(-8), |v| {
        let ctx = v.cur.cur().regs[1].clone();
        let slot = v.cur.cur_mut();
        slot.stack.resize(1, crate::state::StackSlot::invalid());
        slot.stack[0].spilled = ctx;
        slot.stack[0].slot_type = [SlotType::Spill; 8];
        let e = v.check_helper_mem(2, 8, Access::Read, false, false).unwrap_err();
        assert_eq!(e.msg, "invalid read from stack R2 off -8+0 size 8");
    });
}

#[test]
fn map_value_packet_and_mem_arguments() {
    let mv = RegState { map: 0, ..RegState::pointer(RegType::MapValue) };
    with_r2(VerifyOptions::default(), mv.clone(), |v| {
        v.check_helper_mem(2, 16, Access::Write, false, false).unwrap();
        let e = v.check_helper_mem(2, 17, Access::Read, false, false).unwrap_err();
        assert_eq!(e.msg, "invalid access to map value, value_size=16 off=0 size=17");
    });
    let ro = RegState { map: 2, off: 4, ..RegState::pointer(RegType::MapValue) };
    with_r2(VerifyOptions::default(), ro, |v| {
        v.check_helper_mem(2, 12, Access::Read, false, false).unwrap();
        let e = v.check_helper_mem(2, 4, Access::Write, false, false).unwrap_err();
        assert_eq!(e.msg, "write into map forbidden, value_size=16 off=4 size=4");
    });
    let pkt = RegState { range: 14, ..RegState::pointer(RegType::Packet) };
    with_r2(VerifyOptions::default(), pkt, |v| {
        v.check_helper_mem(2, 14, Access::Read, false, false).unwrap();
        let e = v.check_helper_mem(2, 15, Access::Read, false, false).unwrap_err();
        assert_eq!(e.msg, "invalid access to packet, off=0 size=15, R2(id=0,off=0,r=14)");
    });
    let mut mem = RegState { mem_size: 32, ..RegState::pointer(RegType::Mem) };
    mem.flags.rdonly = true;
    with_r2(VerifyOptions::default(), mem, |v| {
        v.check_helper_mem(2, 32, Access::Read, false, false).unwrap();
        let e = v.check_helper_mem(2, 33, Access::Read, false, false).unwrap_err();
        assert_eq!(e.msg, "invalid access to memory, mem_size=32 off=0 size=33");
        let e = v.check_helper_mem(2, 8, Access::Write, false, false).unwrap_err();
        assert_eq!(e.msg, "R2 cannot write into rdonly_mem");
    });
    let mut maybe = mv;
    maybe.flags.maybe_null = true;
    with_r2(VerifyOptions::default(), maybe, |v| {
        let e = v.check_helper_mem(2, 8, Access::Read, false, false).unwrap_err();
        assert_eq!(e.msg, "R2 type=map_value_or_null expected=fp");
    });
}

#[test]
fn push_branch_limit() {
    with_r2(VerifyOptions::default(), RegState::not_init(), |v| {
        for _ in 0..crate::check::COMPLEXITY_LIMIT_JMP_SEQ {
            let st = v.cur.clone();
            v.push_branch(st, 1).unwrap();
        }
        let st = v.cur.clone();
        let e = v.push_branch(st, 1).unwrap_err();
        assert_eq!((e.errno, e.msg.as_str()), (7, "The sequence of 8193 jumps is too complex."));
        assert!(v.check_reg_read(3).is_err());
        assert!(v.check_reg_read(11).is_err());
        v.check_reg_read(10).unwrap();
    });
}
