//! Running programs: `BPF_PROG_TEST_RUN`, `Kernel::run_prog`, statistics.

use super::*;
use crate::bpf::run::NS_PER_INSN;

#[test]
fn test_run_returns_r0() {
    let mut k = kernel();
    let fd = load(&mut k, ProgType::Syscall, "r0 = 42\nexit").unwrap();
    assert_eq!(test_run(&mut k, fd, &[]).unwrap().0, 42);
    // Through the seam the command succeeds with 0.
    let a = TestRunAttr { prog_fd: fd, ..Default::default() };
    assert_eq!(k.bpf(BpfAttr::ProgTestRun(a)), Ok(0));
}

#[test]
fn ctx_round_trip() {
    let mut k = kernel();
    let src = "r2 = *(u32 *)(r1 +0)\nr2 += 1\n*(u32 *)(r1 +4) = r2\nr0 = *(u32 *)(r1 +0)\nexit";
    let fd = load(&mut k, ProgType::Syscall, src).unwrap();
    let ctx = [7, 0, 0, 0, 0, 0, 0, 0];
    let (ret, out) = test_run(&mut k, fd, &ctx).unwrap();
    assert_eq!(ret, 7);
    assert_eq!(out, [7, 0, 0, 0, 8, 0, 0, 0]);
    // A ctx shorter than what the program reads (max_ctx_offset 16):
    // EINVAL before running.
    let fd = load(&mut k, ProgType::Syscall, "r0 = *(u64 *)(r1 +8)\nexit").unwrap();
    assert_eq!(prog_of(&k, fd).max_ctx_offset, 16);
    assert_eq!(test_run(&mut k, fd, &ctx), Err(Errno::EINVAL));
    assert_eq!(test_run(&mut k, fd, &[0; 16]).unwrap().0, 0);
    // No ctx: r1 is NULL.
    let fd = load(&mut k, ProgType::Syscall, "r0 = r1\nexit").unwrap();
    assert_eq!(test_run(&mut k, fd, &[]).unwrap().0, 0);
}

#[test]
fn test_run_errnos() {
    let mut k = kernel();
    let fd = load(&mut k, ProgType::Syscall, "r0 = 1\nexit").unwrap();
    let run = |k: &mut Kernel, mut a: TestRunAttr<'_>| k.prog_test_run(&mut a);
    assert_eq!(run(&mut k, TestRunAttr { prog_fd: 99, ..Default::default() }), Err(Errno::EBADF));
    let (mfd, _) = test_map(&mut k, MapType::Array, 4);
    assert_eq!(run(&mut k, TestRunAttr { prog_fd: mfd, ..Default::default() }), Err(Errno::EINVAL));
    let data = [1u8; 4];
    for a in [
        TestRunAttr { prog_fd: fd, data_in: &data, ..Default::default() },
        TestRunAttr { prog_fd: fd, repeat: 2, ..Default::default() },
        TestRunAttr { prog_fd: fd, flags: 1, ..Default::default() },
        TestRunAttr { prog_fd: fd, batch_size: 1, ..Default::default() },
        TestRunAttr { prog_fd: fd, duration: 1, ..Default::default() },
    ] {
        assert_eq!(run(&mut k, a), Err(Errno::EINVAL));
    }
    let big = vec![0u8; 65536];
    assert_eq!(
        run(&mut k, TestRunAttr { prog_fd: fd, ctx_in: &big, ..Default::default() }),
        Err(Errno::EINVAL)
    );
    let ctx = [0u8; 8];
    let mut short = [0u8; 4];
    let a = TestRunAttr { prog_fd: fd, ctx_in: &ctx, ctx_out: Some(&mut short), ..Default::default() };
    assert_eq!(run(&mut k, a), Err(Errno::ENOSPC));
    // Types without a test_run here: ENOTSUPP.
    for t in [ProgType::Kprobe, ProgType::SkSkb, ProgType::SkMsg] {
        let fd = load(&mut k, t, "r0 = 0\nexit").unwrap();
        assert_eq!(
            run(&mut k, TestRunAttr { prog_fd: fd, ..Default::default() }),
            Err(Errno::ENOTSUPP),
            "{t}"
        );
    }
}

#[test]
fn runs_are_counted() {
    let mut k = kernel();
    let fd = load(&mut k, ProgType::Syscall, "r0 = 1\nr0 += 1\nexit").unwrap();
    let p = prog_of(&k, fd);
    assert_eq!((p.run_cnt(), p.run_time_ns()), (0, 0));
    for _ in 0..3 {
        assert_eq!(test_run(&mut k, fd, &[]).unwrap().0, 2);
    }
    assert_eq!(p.run_cnt(), 3);
    assert_eq!(p.run_time_ns(), 3 * 3 * NS_PER_INSN);
    // A failed run counts too. The verifier refuses unknown helpers at
    // load, so the failing program is an unverified fixture.
    let insns = asm("call 100000\nexit");
    let parts = crate::bpf::prog::ProgParts {
        image: Arc::new(bpfemu_vm::Program::new(&insns).unwrap()),
        insns: insns.clone(),
        xlated: insns,
        ..crate::testutil::prog_parts(ProgType::Syscall, "bad", Vec::new())
    };
    let (bad, _) = crate::testutil::install_prog(&mut k, parts);
    assert_eq!(test_run(&mut k, bad, &[]), Err(Errno::EFAULT));
    assert_eq!(prog_of(&k, bad).run_cnt(), 1);
    let err = k.run_prog_vm(&prog_of(&k, bad), &[], &[]).unwrap_err();
    assert!(err.to_string().contains("unknown helper"), "{err}");
}

#[test]
fn map_values_are_reachable_in_checked_mode() {
    let mut k = kernel();
    let (mfd, map) = test_map(&mut k, MapType::Array, 8);
    let src = format!("r1 = map[fd:{mfd}][0]+4\nr2 = 0x55\n*(u8 *)(r1 +0) = r2\nr0 = *(u32 *)(r1 -4)\nexit");
    let fd = load(&mut k, ProgType::Syscall, &src).unwrap();
    assert_eq!(test_run(&mut k, fd, &[]).unwrap().0, 0);
    let mut v = [0u8; 8];
    map.ops.sys_lookup(&[0; 4], &mut v, 0).unwrap();
    assert_eq!(v, [0, 0, 0, 0, 0x55, 0, 0, 0]);
    // Past the value: the verifier refuses it.
    let src = format!("r1 = map[fd:{mfd}][0]+4\nr0 = *(u64 *)(r1 +0)\nexit");
    assert_eq!(load(&mut k, ProgType::Syscall, &src), Err(Errno::EACCES));
}

#[test]
fn tail_calls_resolve_through_used_maps() {
    let mut k = kernel();
    let target = load(&mut k, ProgType::Syscall, "r0 = 99\nexit").unwrap();
    let (afd, _arr, slot) = test_map_slot(&mut k, MapType::ProgArray, 4);
    let src = format!("r2 = map[fd:{afd}]\nr3 = 0\ncall 12\nr0 = 1\nexit");
    let fd = load(&mut k, ProgType::Syscall, &src).unwrap();
    // Empty slot: the tail call falls through.
    assert_eq!(test_run(&mut k, fd, &[]).unwrap().0, 1);
    slot.lock().replace(prog_of(&k, target));
    assert_eq!(test_run(&mut k, fd, &[]).unwrap().0, 99);
}

#[test]
fn tail_called_programs_use_their_own_prog_arrays() {
    let mut k = kernel();
    let last = load(&mut k, ProgType::Syscall, "r0 = 7\nexit").unwrap();
    let (a2fd, _, slot2) = test_map_slot(&mut k, MapType::ProgArray, 4);
    slot2.lock().replace(prog_of(&k, last));
    let mid_src = format!("r2 = map[fd:{a2fd}]\nr3 = 0\ncall 12\nr0 = 2\nexit");
    let mid = load(&mut k, ProgType::Syscall, &mid_src).unwrap();
    let (a1fd, _, slot1) = test_map_slot(&mut k, MapType::ProgArray, 4);
    slot1.lock().replace(prog_of(&k, mid));
    let entry =
        load(&mut k, ProgType::Syscall, &format!("r2 = map[fd:{a1fd}]\nr3 = 0\ncall 12\nr0 = 1\nexit"))
            .unwrap();
    assert_eq!(test_run(&mut k, entry, &[]).unwrap().0, 7);
}
