//! Dynptr programs through the `bpf()` seam on every engine (JIT, fast
//! interpreter, checked interpreter in paranoid mode): ring-buffer
//! dynptrs written through `bpf_dynptr_write` and a `bpf_dynptr_data`
//! slice, local dynptrs over a map value and over the stack. Paranoid runs
//! validate every access, so they check that what the verifier accepts
//! stays inside the run's memory.

use bpfemu_isa::asm::kernel::assemble;
use bpfemu_kernel::bpf::BpfAttr;
use bpfemu_kernel::bpf::attr::{MapCreateAttr, ProgLoadAttr, TestRunAttr, TestRunOut};
use bpfemu_kernel::uapi::{MapType, ProgType};
use bpfemu_kernel::{Kernel, KernelConfig};

/// Map fd 3: ring buffer; fd 4: array of one 16-byte value.
fn setup(jit: bool, paranoid: bool) -> Kernel {
    let mut k = Kernel::new(KernelConfig::default());
    let _ = k.set_jit_enable(jit);
    k.set_paranoid(paranoid);
    let rb = MapCreateAttr { map_type: MapType::Ringbuf.raw(), max_entries: 4096, ..Default::default() };
    assert_eq!(k.bpf(BpfAttr::MapCreate(rb)).unwrap(), 3);
    let arr = MapCreateAttr {
        map_type: MapType::Array.raw(),
        key_size: 4,
        value_size: 16,
        max_entries: 1,
        ..Default::default()
    };
    assert_eq!(k.bpf(BpfAttr::MapCreate(arr)).unwrap(), 4);
    k
}

fn load(k: &mut Kernel, src: &str) -> i32 {
    let insns = assemble(src).unwrap_or_else(|e| panic!("{e}\n{src}"));
    let attr = ProgLoadAttr {
        prog_type: ProgType::Syscall.raw(),
        prog_flags: bpfemu_kernel::bpf::load::BPF_F_SLEEPABLE,
        insns: &insns,
        license: "GPL",
        ..Default::default()
    };
    k.bpf(BpfAttr::ProgLoad(attr)).unwrap_or_else(|e| panic!("load: {e}\n{src}")) as i32
}

fn run(k: &mut Kernel, fd: i32) -> u32 {
    let mut out = TestRunOut::default();
    let attr = TestRunAttr { prog_fd: fd, out: Some(&mut out), ..Default::default() };
    k.bpf(BpfAttr::ProgTestRun(attr)).unwrap();
    out.retval
}

/// Reserve 16 bytes, write 8 at offset 0 with bpf_dynptr_write, 8 at
/// offset 8 through a slice, submit; r0 = 0 on success.
const RINGBUF: &str = "
    r1 = map[fd:3]
    r2 = 16
    r3 = 0
    r4 = r10
    r4 += -16
    call bpf_ringbuf_reserve_dynptr#198
    r6 = r0
    r1 = 0x1122334455667788 ll
    *(u64 *)(r10 -24) = r1
    r1 = r10
    r1 += -16
    r2 = 0
    r3 = r10
    r3 += -24
    r4 = 8
    r5 = 0
    call bpf_dynptr_write#202
    r6 |= r0
    r1 = r10
    r1 += -16
    r2 = 8
    r3 = 8
    call bpf_dynptr_data#203
    if r0 == 0 goto nodata
    r1 = 0x99
    *(u64 *)(r0 +0) = r1
    goto submit
nodata:
    r6 = 1
submit:
    r1 = r10
    r1 += -16
    r2 = 0
    call bpf_ringbuf_submit_dynptr#199
    r0 = r6
    exit
";

/// A local dynptr over the array's value: write at 8, read back into the
/// stack; a second one over the same value: write 7 at 8, read back, and
/// the value's second word loaded directly. r0 = the sum read.
const LOCAL: &str = "
    *(u32 *)(r10 -4) = 0
    r2 = r10
    r2 += -4
    r1 = map[fd:4]
    call bpf_map_lookup_elem#1
    if r0 != 0 goto found
    exit
found:
    r7 = r0
    r1 = r0
    r2 = 16
    r3 = 0
    r4 = r10
    r4 += -24
    call bpf_dynptr_from_mem#197
    *(u64 *)(r10 -32) = 5
    r1 = r10
    r1 += -24
    r2 = 8
    r3 = r10
    r3 += -32
    r4 = 8
    r5 = 0
    call bpf_dynptr_write#202
    r1 = r10
    r1 += -40
    r2 = 8
    r3 = r10
    r3 += -24
    r4 = 8
    r5 = 0
    call bpf_dynptr_read#201
    r6 = *(u64 *)(r10 -40)
    r1 = r7
    r2 = 16
    r3 = 0
    r4 = r10
    r4 += -80
    call bpf_dynptr_from_mem#197
    *(u64 *)(r10 -32) = 7
    r1 = r10
    r1 += -80
    r2 = 8
    r3 = r10
    r3 += -32
    r4 = 8
    r5 = 0
    call bpf_dynptr_write#202
    r1 = r10
    r1 += -40
    r2 = 8
    r3 = r10
    r3 += -80
    r4 = 8
    r5 = 0
    call bpf_dynptr_read#201
    r0 = *(u64 *)(r10 -40)
    r0 += r6
    r1 = *(u64 *)(r7 +8)
    r0 += r1
    exit
";

const ENGINES: [(bool, bool); 3] = [(true, false), (false, false), (false, true)];

#[test]
fn ringbuf_dynptr_records_reach_the_ring_on_every_engine() {
    for (jit, paranoid) in ENGINES {
        let mut k = setup(jit, paranoid);
        let fd = load(&mut k, RINGBUF);
        assert_eq!(run(&mut k, fd), 0, "jit={jit} paranoid={paranoid}");
        let rb = k.fd_obj(3).unwrap().map().unwrap().ops.as_ringbuf().unwrap().avail_data();
        assert_eq!(rb, 24, "one 16-byte record and its header");
        assert!(k.take_soundness_violations().is_empty(), "jit={jit} paranoid={paranoid}");
    }
}

#[test]
fn local_dynptrs_on_every_engine() {
    for (jit, paranoid) in ENGINES {
        let mut k = setup(jit, paranoid);
        let fd = load(&mut k, LOCAL);
        // 5 read back through the first dynptr, then 7 through the
        // second, and the value's second word as it last wrote it (7).
        assert_eq!(run(&mut k, fd), 19, "jit={jit} paranoid={paranoid}");
        assert!(k.take_soundness_violations().is_empty(), "jit={jit} paranoid={paranoid}");
    }
}
