//! Ring buffer programs through the `bpf()` seam, on every engine: the
//! record a program reserves is writable under the JIT, the fast
//! interpreter and the checked interpreter (paranoid mode, where every
//! access is validated against the run's regions), and an NMI injected at
//! `ringbuf_reserve_locked` fails to reserve while the interrupted
//! producer succeeds.

use bpfemu_isa::asm::kernel::assemble;
use bpfemu_kernel::bpf::BpfAttr;
use bpfemu_kernel::bpf::attr::{MapCreateAttr, ProgLoadAttr, TestRunAttr, TestRunOut};
use bpfemu_kernel::sim::preempt::HookMode;
use bpfemu_kernel::uapi::{MapType, ProgType};
use bpfemu_kernel::{Kernel, KernelConfig};
use std::sync::{Arc, Mutex};

const PRODUCE: &str = "
    r1 = map[fd:3]
    r2 = 16
    r3 = 0
    call bpf_ringbuf_reserve#131
    if r0 == 0 goto fail
    r1 = 0x1122334455667788 ll
    *(u64 *)(r0 +0) = r1
    *(u64 *)(r0 +8) = r1
    r1 = r0
    r2 = 0
    call bpf_ringbuf_submit#132
    r0 = 1
    exit
fail:
    r0 = 0
    exit
";

fn setup(jit: bool) -> (Kernel, i32) {
    let mut k = Kernel::new(KernelConfig::default());
    // The knob applies to programs loaded afterwards.
    let _ = k.set_jit_enable(jit);
    let attr = MapCreateAttr { map_type: MapType::Ringbuf.raw(), max_entries: 4096, ..Default::default() };
    assert_eq!(k.bpf(BpfAttr::MapCreate(attr)).unwrap(), 3);
    let insns = assemble(PRODUCE).unwrap();
    let attr = ProgLoadAttr {
        prog_type: ProgType::Syscall.raw(),
        prog_flags: bpfemu_kernel::bpf::load::BPF_F_SLEEPABLE,
        insns: &insns,
        license: "GPL",
        ..Default::default()
    };
    let fd = k.bpf(BpfAttr::ProgLoad(attr)).unwrap() as i32;
    (k, fd)
}

fn run(k: &mut Kernel, fd: i32) -> u32 {
    let mut out = TestRunOut::default();
    let attr = TestRunAttr { prog_fd: fd, out: Some(&mut out), ..Default::default() };
    k.bpf(BpfAttr::ProgTestRun(attr)).unwrap();
    out.retval
}

fn avail(k: &Kernel) -> u64 {
    k.fd_obj(3).unwrap().map().unwrap().ops.as_ringbuf().unwrap().avail_data()
}

#[test]
fn records_are_writable_on_every_engine() {
    for (jit, paranoid) in [(true, false), (false, false), (false, true)] {
        let (mut k, fd) = setup(jit);
        k.set_paranoid(paranoid);
        assert_eq!(run(&mut k, fd), 1, "jit={jit} paranoid={paranoid}");
        assert_eq!(avail(&k), 24);
        assert!(k.take_soundness_violations().is_empty());
    }
}

#[test]
fn an_nmi_at_the_locked_point_cannot_reserve() {
    let (mut k, fd) = setup(true);
    let prog = k.fd_obj(fd).unwrap().prog().unwrap().clone();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    k.run_points.register(
        "ringbuf_reserve_locked",
        HookMode::Once,
        Arc::new(move || {
            let r = bpfemu_kernel::bpf::run::run_nested(&prog, &[0], &[], true, true);
            s.lock().unwrap().push(r.ok());
            String::new()
        }),
    );
    assert_eq!(run(&mut k, fd), 1);
    assert_eq!(*seen.lock().unwrap(), [Some(0)]);
    // The NMI never took the lock, so it never reached the point itself.
    assert_eq!(k.run_points.hits("ringbuf_reserve_locked"), 1);
    assert_eq!(avail(&k), 24);
}
