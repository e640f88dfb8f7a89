//! Programs through the `bpf()` seam: load a program that uses a map and
//! helpers, run it with `BPF_PROG_TEST_RUN`, and read back what it did.

use bpfemu_isa::asm::kernel::assemble;
use bpfemu_kernel::bpf::BpfAttr;
use bpfemu_kernel::bpf::attr::{MapCreateAttr, ProgLoadAttr, TestRunAttr, TestRunOut};
use bpfemu_kernel::uapi::{BPF_ANY, MapType, ProgType};
use bpfemu_kernel::{Errno, Kernel, KernelConfig};

fn array(k: &mut Kernel) -> i32 {
    let attr = MapCreateAttr {
        map_type: MapType::Array.raw(),
        key_size: 4,
        value_size: 8,
        max_entries: 16,
        ..Default::default()
    };
    k.bpf(BpfAttr::MapCreate(attr)).unwrap() as i32
}

fn load(k: &mut Kernel, src: &str) -> Result<i32, Errno> {
    let insns = assemble(src).expect("assembles");
    let attr = ProgLoadAttr {
        prog_type: ProgType::Syscall.raw(),
        prog_flags: bpfemu_kernel::bpf::load::BPF_F_SLEEPABLE,
        insns: &insns,
        license: "GPL",
        ..Default::default()
    };
    k.bpf(BpfAttr::ProgLoad(attr)).map(|fd| fd as i32)
}

fn run(k: &mut Kernel, fd: i32, ctx: &[u8]) -> Result<u32, Errno> {
    let mut out = TestRunOut::default();
    let attr = TestRunAttr { prog_fd: fd, ctx_in: ctx, out: Some(&mut out), ..Default::default() };
    k.bpf(BpfAttr::ProgTestRun(attr))?;
    Ok(out.retval)
}

#[test]
fn program_counts_into_a_map_with_a_key_on_its_stack() {
    let mut k = Kernel::new(KernelConfig::default());
    let map = array(&mut k);
    assert_eq!(map, 3);
    // Looks up key 7 (stored on the program's stack) and adds 5 to its value.
    let src = "
        *(u32 *)(r10 -4) = 7
        r2 = r10
        r2 += -4
        r1 = map[fd:3]
        call bpf_map_lookup_elem#1
        if r0 == 0 goto miss
        r1 = 5
        lock *(u64 *)(r0 +0) += r1
        r0 = *(u64 *)(r0 +0)
        exit
    miss:
        r0 = 99
        exit
    ";
    let prog = load(&mut k, src).unwrap();
    assert_eq!(run(&mut k, prog, &[]).unwrap(), 5);
    assert_eq!(run(&mut k, prog, &[]).unwrap(), 10);
    let mut v = [0u8; 8];
    k.bpf(BpfAttr::MapLookupElem { map_fd: map, key: &7u32.to_le_bytes(), value: &mut v, flags: 0 }).unwrap();
    assert_eq!(u64::from_le_bytes(v), 10);
    // The program holds the map: closing the map fd does not free it.
    k.close(map).unwrap();
    assert_eq!(run(&mut k, prog, &[]).unwrap(), 15);
}

#[test]
fn program_updates_a_map_and_prints_to_the_trace_pipe() {
    let mut k = Kernel::new(KernelConfig::default());
    let map = array(&mut k);
    // ctx: key at +0, value at +8; update the map with copies of them on
    // the stack (a helper's key and value may not point into the ctx), then
    // trace_printk("hi %d", 42).
    let src = "
        r6 = r1
        r1 = *(u32 *)(r6 +0)
        *(u32 *)(r10 -4) = r1
        r1 = *(u64 *)(r6 +8)
        *(u64 *)(r10 -16) = r1
        r2 = r10
        r2 += -4
        r3 = r10
        r3 += -16
        r1 = map[fd:3]
        r4 = 0
        call bpf_map_update_elem#2
        r7 = r0
        *(u32 *)(r10 -24) = 0x25206968
        *(u32 *)(r10 -20) = 0x64
        r1 = r10
        r1 += -24
        r2 = 6
        r3 = 42
        call bpf_trace_printk#6
        r0 = r7
        exit
    ";
    let prog = load(&mut k, src).unwrap();
    let mut ctx = [0u8; 16];
    ctx[..4].copy_from_slice(&3u32.to_le_bytes());
    ctx[8..].copy_from_slice(&0xabcdu64.to_le_bytes());
    assert_eq!(run(&mut k, prog, &ctx).unwrap(), 0);
    let mut v = [0u8; 8];
    k.bpf(BpfAttr::MapLookupElem { map_fd: map, key: &3u32.to_le_bytes(), value: &mut v, flags: 0 }).unwrap();
    assert_eq!(u64::from_le_bytes(v), 0xabcd);
    assert_eq!(k.trace_pipe.len(), 1, "{:?}", k.trace_pipe);
    assert!(k.trace_pipe[0].ends_with("bpf_trace_printk: hi 42"), "{}", k.trace_pipe[0]);
    // Out-of-range key: the helper's -E2BIG comes back as r0.
    ctx[..4].copy_from_slice(&99u32.to_le_bytes());
    assert_eq!(run(&mut k, prog, &ctx).unwrap() as i32, -(Errno::E2BIG.raw()));
    let _ = BPF_ANY;
}

#[test]
fn bad_programs_are_refused_at_load() {
    let mut k = Kernel::new(KernelConfig::default());
    assert_eq!(load(&mut k, "r0 = 1"), Err(Errno::EINVAL), "last insn is not exit");
    assert_eq!(load(&mut k, "r10 = 1\nexit"), Err(Errno::EACCES), "frame pointer is read only");
    assert_eq!(load(&mut k, "r1 = map[fd:9]\nr0 = 0\nexit"), Err(Errno::EBADF), "no such fd");
}
