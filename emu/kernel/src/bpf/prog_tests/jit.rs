//! JIT selection at load (`bpf_jit_enable`) and runs on the JIT.

use super::*;
use crate::bpf::attr::ObjInfo;
use crate::bpf::prog::ProgParts;
use crate::testutil::prog_parts;

fn jited_prog_len(k: &mut Kernel, fd: i32) -> u32 {
    let mut info = None;
    k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info }).unwrap();
    match info.unwrap() {
        ObjInfo::Prog(p) => p.jited_prog_len,
        other => panic!("{other:?}"),
    }
}

/// A program touching ctx, a map value, a helper and a bpf2bpf call.
fn mixed(mfd: i32) -> String {
    format!(
        "r6 = r1\nr1 = map[fd:{mfd}][0]+0\nr7 = *(u32 *)(r6 +0)\n*(u32 *)(r1 +0) = r7\n\
         call pc+4\nr0 += r7\nr1 = *(u32 *)(r6 +4)\nr0 += r1\nexit\n\
         call 7\nr0 &= 0\nr0 += 1000\nexit"
    )
}

#[test]
fn verified_programs_are_jited_by_default_and_agree_with_the_interpreter() {
    let mut results = Vec::new();
    for jit in [true, false] {
        let mut k = kernel();
        assert!(k.jit_enable(), "on by default on x86-64");
        k.set_jit_enable(jit).unwrap();
        let (mfd, map) = test_map(&mut k, MapType::Array, 8);
        let fd = load(&mut k, ProgType::Syscall, &mixed(mfd)).unwrap();
        let len = jited_prog_len(&mut k, fd);
        assert_eq!(len != 0, jit);
        assert_eq!(prog_of(&k, fd).jited_len(), len as usize);
        let show = crate::show::prog_show(&k);
        assert_eq!(show.contains("not jited"), !jit, "{show}");
        let (ret, out) = test_run(&mut k, fd, &[5, 0, 0, 0, 6, 0, 0, 0]).unwrap();
        let mut v = [0u8; 8];
        map.ops.sys_lookup(&[0; 4], &mut v, 0).unwrap();
        results.push((ret, out, v, prog_of(&k, fd).run_cnt(), prog_of(&k, fd).run_time_ns()));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[0].0, 1000 + 5 + 6);
}

#[test]
fn the_knob_is_read_at_load_time() {
    let mut k = kernel();
    k.set_jit_enable(false).unwrap();
    let off = load(&mut k, ProgType::Syscall, "r0 = 1\nexit").unwrap();
    k.set_jit_enable(true).unwrap();
    let on = load(&mut k, ProgType::Syscall, "r0 = 1\nexit").unwrap();
    k.set_jit_enable(false).unwrap();
    assert_eq!(jited_prog_len(&mut k, off), 0);
    assert_ne!(jited_prog_len(&mut k, on), 0);
    assert_eq!(test_run(&mut k, on, &[]).unwrap().0, 1);
}

/// An unverified program in a prog array (only fixtures can build one): the
/// interpreter runs it, the JIT refuses to tail call into what it cannot
/// compile (`r10` written) — which shows which engine ran the caller.
fn unjitable() -> Arc<Prog> {
    let insns = asm("r10 = 0\nr0 = 5\nexit");
    let image = Arc::new(bpfemu_vm::Program::new(&insns).unwrap());
    let parts = prog_parts(ProgType::Syscall, "raw", vec![]);
    Arc::new(Prog::new(
        77,
        ProgParts { insns: insns.clone(), xlated: insns, image, verified: false, ..parts },
    ))
}

#[test]
fn jited_programs_run_on_the_jit_unless_paranoid() {
    for jit in [true, false] {
        let mut k = kernel();
        k.set_jit_enable(jit).unwrap();
        let (afd, _arr, slot) = test_map_slot(&mut k, MapType::ProgArray, 4);
        let src = format!("r2 = map[fd:{afd}]\nr3 = 0\ncall 12\nr0 = 1\nexit");
        let fd = load(&mut k, ProgType::Syscall, &src).unwrap();
        slot.lock().replace(unjitable());
        let prog = prog_of(&k, fd);
        let r = k.run_prog_vm(&prog, &[], &[]);
        if jit {
            assert!(matches!(r, Err(bpfemu_vm::VmError::NotJitted { .. })), "{r:?}");
            k.set_paranoid(true);
            assert_eq!(k.run_prog_vm(&prog, &[], &[]), Ok(5), "paranoid: the checked interpreter");
        } else {
            assert_eq!(r, Ok(5));
        }
    }
}

#[test]
fn prog_array_updates_reach_jited_tail_calls() {
    let mut k = kernel();
    let a = load(&mut k, ProgType::Syscall, "r0 = 10\nexit").unwrap();
    let b = load(&mut k, ProgType::Syscall, "r0 = 20\nexit").unwrap();
    let (afd, _arr, slot) = test_map_slot(&mut k, MapType::ProgArray, 4);
    let src = format!("r2 = map[fd:{afd}]\nr3 = 0\ncall 12\nr0 = 1\nexit");
    let fd = load(&mut k, ProgType::Syscall, &src).unwrap();
    assert_ne!(jited_prog_len(&mut k, fd), 0);
    assert_eq!(test_run(&mut k, fd, &[]).unwrap().0, 1);
    slot.lock().replace(prog_of(&k, a));
    assert_eq!(test_run(&mut k, fd, &[]).unwrap().0, 10);
    slot.lock().replace(prog_of(&k, b));
    assert_eq!(test_run(&mut k, fd, &[]).unwrap().0, 20);
    slot.lock().replace(prog_of(&k, a));
    assert_eq!(test_run(&mut k, fd, &[]).unwrap().0, 10);
    slot.lock().take();
    assert_eq!(test_run(&mut k, fd, &[]).unwrap().0, 1);
}
