//! Callbacks through the seam: `r2 = subprog[+N]` loaded by BPF_PROG_LOAD,
//! `bpf_loop` and `bpf_for_each_map_elem` running them.

use super::*;
use crate::map::MapCreateAttr;
use bpfemu_vm::VmError;

fn neg(e: Errno) -> u32 {
    e.neg() as u32
}

/// bpf_loop(`n`, cb, &sum, `flags`) summing i into a stack variable; r0 =
/// sum * 100 + the helper's result. The callback returns `i == stop`.
fn loop_src(n: i64, flags: i32, stop: i32) -> String {
    format!(
        "*(u64 *)(r10 -8) = 0
         r1 = {n} ll
         r2 = subprog[+10]
         r3 = r10
         r3 += -8
         r4 = {flags}
         call 181
         r6 = r0
         r0 = *(u64 *)(r10 -8)
         r0 *= 100
         r0 += r6
         exit
         r3 = *(u64 *)(r2 +0)
         r3 += r1
         *(u64 *)(r2 +0) = r3
         r0 = 0
         if r1 != {stop} goto +1
         r0 = 1
         exit"
    )
}

fn run_src(k: &mut Kernel, src: &str) -> Result<u32, Errno> {
    let fd = load_cb(k, ProgType::Syscall, src)?;
    test_run(k, fd, &[]).map(|(r, _)| r)
}

#[test]
fn bpf_loop_sums_through_callback_ctx() {
    let mut k = kernel();
    assert_eq!(run_src(&mut k, &loop_src(10, 0, -1)), Ok(4510));
    // Stops after the callback returns 1 (at i = 3): 4 calls.
    assert_eq!(run_src(&mut k, &loop_src(10, 0, 3)), Ok(604));
    // Zero loops; the upper half of nr_loops is ignored (u32 argument).
    assert_eq!(run_src(&mut k, &loop_src(0, 0, -1)), Ok(0));
    assert_eq!(run_src(&mut k, &loop_src(1 << 32 | 2, 0, -1)), Ok(102));
}

#[test]
fn bpf_loop_errnos() {
    let mut k = kernel();
    assert_eq!(run_src(&mut k, &loop_src(10, 1, -1)), Ok(neg(Errno::EINVAL)));
    assert_eq!(run_src(&mut k, &loop_src((1 << 23) + 1, 0, -1)), Ok(neg(Errno::E2BIG)));
}

#[test]
fn subprog_loads_are_checked() {
    let mut k = kernel();
    // Outside the program (target = slot + imm + 1, as for calls).
    assert_eq!(load_cb(&mut k, ProgType::Syscall, "r1 = subprog[+5]\nr0 = 0\nexit"), Err(Errno::EINVAL));
    assert_eq!(load_cb(&mut k, ProgType::Syscall, "r1 = subprog[-4]\nr0 = 0\nexit"), Err(Errno::EINVAL));
    // The loaded value is the callback token of the absolute slot.
    let fd = load_cb(&mut k, ProgType::Syscall, "r1 = subprog[+3]\nr0 = 0\nexit\nr0 = 1\nexit").unwrap();
    let p = prog_of(&k, fd);
    let v = u64::from(p.xlated[0].imm as u32) | (u64::from(p.xlated[1].imm as u32) << 32);
    assert_eq!(v, bpfemu_vm::callback_token(4));
    assert_eq!(p.xlated[0].src, 0);
    // Without BTF func_info (check_ld_imm()).
    let insns = asm("r1 = subprog[+3]\nr0 = 0\nexit\nr0 = 1\nexit");
    let mut log = String::new();
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.log = Some(&mut log);
    a.log_level = 1;
    a.log_size = 1 << 16;
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::EINVAL));
    assert!(log.contains("missing btf func_info"), "{log}");
}

#[test]
fn nested_callbacks_hit_the_frame_limit() {
    let mut k = kernel();
    // The callback calls bpf_loop(1, itself, ...) again: 7 levels fit
    // under main's frame, the 8th call has no frame left.
    let src = "r1 = 1
               r2 = subprog[+5]
               r3 = 0
               r4 = 0
               call 181
               exit
               r1 = 1
               r2 = subprog[-2]
               r3 = 0
               r4 = 0
               call 181
               r0 = 0
               exit";
    // The verifier follows the callback into itself and refuses the load
    // ("the call stack of 9 frames is too deep").
    let insns = asm(src);
    let (btf_fd, fi) = static_btf(&mut k, &insns);
    let mut log = String::new();
    let mut a = load_attr(ProgType::Syscall, &insns);
    a.prog_btf_fd = btf_fd;
    a.func_info = &fi;
    a.func_info_rec_size = 8;
    a.log = Some(&mut log);
    a.log_level = 1;
    a.log_size = 1 << 16;
    assert_eq!(k.bpf(BpfAttr::ProgLoad(a)), Err(Errno::E2BIG));
    assert!(log.contains("the call stack of 9 frames is too deep"), "{log}");
    // Run anyway (an unverified fixture), the interpreter stops it.
    let relocated = {
        let mut x = insns.clone();
        for i in [1usize, 8] {
            let target = i as i64 + 1 + i64::from(x[i].imm);
            let token = bpfemu_vm::callback_token(target as u32);
            x[i] = Insn::new(0x18, 2, 0, 0, token as u32 as i32);
            x[i + 1] = Insn::new(0, 0, 0, 0, (token >> 32) as u32 as i32);
        }
        x
    };
    let parts = crate::bpf::prog::ProgParts {
        image: Arc::new(bpfemu_vm::Program::new(&relocated).unwrap()),
        insns,
        xlated: relocated,
        ..crate::testutil::prog_parts(ProgType::Syscall, "nested", Vec::new())
    };
    let (fd, _) = crate::testutil::install_prog(&mut k, parts);
    assert_eq!(test_run(&mut k, fd, &[]), Err(Errno::EFAULT));
    let p = prog_of(&k, fd);
    assert_eq!(k.run_prog_vm(&p, &[], &[]), Err(VmError::CallDepthExceeded { pc: 12, max: 8 }));
}

/// for_each_map_elem over an array of 4 u64 values (1, 2, 3, 4): the
/// callback looks its key up again (the key is valid memory for helpers),
/// adds value + key * 1000 to the sum, and stops after key `stop`.
fn for_each_src(mfd: i32, flags: i32, stop: i32) -> String {
    format!(
        "*(u64 *)(r10 -8) = 0
         r1 = map[fd:{mfd}]
         r2 = subprog[+10]
         r3 = r10
         r3 += -8
         r4 = {flags}
         call 164
         r6 = r0
         r0 = *(u64 *)(r10 -8)
         r0 *= 100
         r0 += r6
         exit
         r6 = r2
         r7 = r4
         call 1
         if r0 != 0 goto +2
         r0 = 1
         exit
         r0 = *(u64 *)(r0 +0)
         r5 = *(u32 *)(r6 +0)
         r5 *= 1000
         r5 += r0
         r0 = *(u64 *)(r7 +0)
         r0 += r5
         *(u64 *)(r7 +0) = r0
         r0 = 0
         r5 = *(u32 *)(r6 +0)
         if r5 != {stop} goto +1
         r0 = 1
         exit"
    )
}

fn array(k: &mut Kernel) -> i32 {
    map_of(k, MapType::Array)
}

/// A map of `map_type` with keys 0..4 (u32) and values key + 1 (u64).
fn map_of(k: &mut Kernel, map_type: MapType) -> i32 {
    let attr = MapCreateAttr {
        map_type: map_type.raw(),
        key_size: 4,
        value_size: 8,
        max_entries: 4,
        ..Default::default()
    };
    let fd = k.bpf(BpfAttr::MapCreate(attr)).unwrap() as i32;
    for i in 0..4u32 {
        let v = u64::from(i + 1).to_le_bytes();
        k.bpf(BpfAttr::MapUpdateElem { map_fd: fd, key: &i.to_le_bytes(), value: &v, flags: 0 }).unwrap();
    }
    fd
}

#[test]
fn for_each_map_elem_sums_an_array() {
    let mut k = kernel();
    let mfd = array(&mut k);
    // 1+2+3+4 + 1000*(0+1+2+3) = 6010; 4 elements.
    assert_eq!(run_src(&mut k, &for_each_src(mfd, 0, -1)), Ok(601_004));
    // Stops after key 1: (1 + 0) + (2 + 1000); 2 elements.
    assert_eq!(run_src(&mut k, &for_each_src(mfd, 0, 1)), Ok(100_302));
    // Flags: -EINVAL, no call.
    assert_eq!(run_src(&mut k, &for_each_src(mfd, 1, -1)), Ok(neg(Errno::EINVAL)));
}

#[test]
fn for_each_map_elem_over_a_hash() {
    let mut k = kernel();
    let mfd = map_of(&mut k, MapType::Hash);
    // Same sum whatever the iteration order.
    assert_eq!(run_src(&mut k, &for_each_src(mfd, 0, -1)), Ok(601_004));
}
