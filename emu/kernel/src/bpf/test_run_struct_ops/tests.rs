use crate::bpf::attr::{BpfAttr, ProgLoadAttr, TestRunAttr, TestRunOut};
use crate::errno::Errno;
use crate::kernel::{Kernel, KernelConfig};
use crate::uapi::ProgType;

/// test_1: NULL state → 0xf2f3f4f5, else the state's value.
const TEST_1: &str =
    "r1 = *(u64 *)(r1 +0)\nif r1 == 0 goto +2\nr0 = *(u32 *)(r1 +0)\nexit\nr0 = -218893067\nexit";
/// test_2: returns the old value and stores a1 + a2 + a3 + a4.
const TEST_2: &str = "r6 = *(u64 *)(r1 +0)
r2 = *(u64 *)(r1 +8)
r3 = *(u64 *)(r1 +16)
r4 = *(u64 *)(r1 +24)
r5 = *(u64 *)(r1 +32)
r0 = *(u32 *)(r6 +0)
r2 += r3
r2 += r4
r2 += r5
*(u32 *)(r6 +0) = r2
exit";

fn load(k: &mut Kernel, member: u32, src: &str) -> i32 {
    let insns = bpfemu_isa::asm::kernel::assemble(src).unwrap();
    let mut log = String::new();
    let attr = ProgLoadAttr {
        prog_type: ProgType::StructOps.raw(),
        insns: &insns,
        license: "GPL",
        expected_attach_type: member,
        attach_btf_id: crate::vmlinux::struct_id(&crate::vmlinux::shared(), "bpf_dummy_ops").unwrap(),
        log_level: 1,
        log: Some(&mut log),
        log_size: 1 << 16,
        ..Default::default()
    };
    let r = k.bpf(BpfAttr::ProgLoad(attr));
    r.unwrap_or_else(|e| panic!("{e:?}: {log}")) as i32
}

fn args(a: &[u64]) -> Vec<u8> {
    a.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

fn run(
    k: &mut Kernel,
    fd: i32,
    ctx: &[u8],
    data_in: &[u8],
    data_out: Option<&mut [u8]>,
) -> Result<TestRunOut, Errno> {
    let mut out = TestRunOut::default();
    k.bpf(BpfAttr::ProgTestRun(TestRunAttr {
        prog_fd: fd,
        ctx_in: ctx,
        data_in,
        data_out,
        out: Some(&mut out),
        ..Default::default()
    }))?;
    Ok(out)
}

/// Both members run with the kernel's argument passing, on the
/// interpreter and the JIT, in paranoid mode too.
#[test]
fn dummy_ops_runs_on_every_engine() {
    let jits: &[bool] = if crate::bpf::jit::JIT_AVAILABLE { &[false, true] } else { &[false] };
    for &jit in jits {
        for paranoid in [false, true] {
            let mut k = Kernel::new(KernelConfig::default());
            k.set_jit_enable(jit).unwrap();
            k.set_paranoid(paranoid);
            let t1 = load(&mut k, 0, TEST_1);
            let t2 = load(&mut k, 1, TEST_2);
            assert_eq!(k.prog_from_fd(t2).unwrap().jited_len() != 0, jit);
            // test_1(NULL): data_in / data_out untouched.
            let mut out = [0xaau8; 4];
            let r = run(&mut k, t1, &args(&[0]), &[], Some(&mut out)).unwrap();
            assert_eq!((r.retval, r.data_size_out, out), (0xf2f3f4f5, 0, [0xaa; 4]));
            // test_1(&state): the state comes from data_in.
            let r = run(&mut k, t1, &args(&[1]), &5i32.to_ne_bytes(), None).unwrap();
            assert_eq!(r.retval, 5);
            // test_2(&state, 1, 2, 3, 4): old value back, sum stored.
            let mut out = [0u8; 8];
            let r =
                run(&mut k, t2, &args(&[0x1000, 1, 2, 3, 4]), &7i32.to_ne_bytes(), Some(&mut out)).unwrap();
            assert_eq!((r.retval, r.data_size_out), (7, 4));
            assert_eq!(i32::from_ne_bytes(out[..4].try_into().unwrap()), 10);
            assert_eq!(out[4..], [0; 4]);
            assert!(k.take_soundness_violations().is_empty(), "jit={jit} paranoid={paranoid}");
        }
    }
}

#[test]
fn argument_checks() {
    let mut k = Kernel::new(KernelConfig::default());
    let t1 = load(&mut k, 0, TEST_1);
    let t2 = load(&mut k, 1, TEST_2);
    // ctx_in is exactly one u64 per argument.
    assert_eq!(run(&mut k, t1, &[], &[], None), Err(Errno::EINVAL));
    assert_eq!(run(&mut k, t1, &args(&[0, 0]), &[], None), Err(Errno::EINVAL));
    assert_eq!(run(&mut k, t2, &args(&[1]), &[0; 4], None), Err(Errno::EINVAL));
    // test_2's state is not __nullable.
    assert_eq!(run(&mut k, t2, &args(&[0, 1, 2, 3, 4]), &[], None), Err(Errno::EINVAL));
    // The state's user memory (data_in, data_out) must hold it.
    assert_eq!(run(&mut k, t2, &args(&[1, 1, 2, 3, 4]), &[0; 3], None), Err(Errno::EFAULT));
    let mut short = [0u8; 2];
    assert_eq!(run(&mut k, t2, &args(&[1, 1, 2, 3, 4]), &[0; 4], Some(&mut short)), Err(Errno::EFAULT));
    // Fields the kernel does not look at are ignored.
    let mut out = TestRunOut::default();
    let ctx = args(&[0]);
    let r = k.bpf(BpfAttr::ProgTestRun(TestRunAttr {
        prog_fd: t1,
        ctx_in: &ctx,
        repeat: 5,
        flags: 1,
        out: Some(&mut out),
        ..Default::default()
    }));
    assert_eq!((r, out.retval), (Ok(0), 0xf2f3f4f5));
}
