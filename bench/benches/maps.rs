//! Map lookup and update, from a program (through the helpers) and from
//! user space (through the `bpf()` seam), for an array and a hash map.
//!
//! `cargo bench -p bpfemu-bench --bench maps`
//!
//! Programs are verified at load but still run in the checked interpreter,
//! so the program-side figures include its per-access checks.

use bpfemu_isa::{CallTarget, Instruction, JmpOp, LdImm64, Reg, Source, Width, encode_program};
use bpfemu_kernel::bpf::BpfAttr;
use bpfemu_kernel::bpf::attr::{MapCreateAttr, ProgLoadAttr, TestRunAttr, TestRunOut};
use bpfemu_kernel::uapi::{BPF_ANY, MapType, ProgType};
use bpfemu_kernel::{Kernel, KernelConfig};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;

/// Lookups (or updates) one program run performs.
const PER_RUN: i32 = 1000;

fn create(k: &mut Kernel, t: MapType) -> i32 {
    let attr = MapCreateAttr {
        map_type: t.raw(),
        key_size: 4,
        value_size: 8,
        max_entries: 1024,
        ..Default::default()
    };
    k.bpf(BpfAttr::MapCreate(attr)).expect("map") as i32
}

/// A syscall program whose ctx holds the key (at +0) and a value (at +8),
/// copied to its stack (helpers may not take ctx pointers as keys or
/// values): `PER_RUN` times, `bpf_map_lookup_elem` (or `_update_elem`) on
/// `map_fd`.
fn program(map_fd: i32, update: bool) -> Vec<bpfemu_isa::Insn> {
    use bpfemu_isa::{AluOp, Size};
    let r = |n| Reg::new(n).unwrap();
    let mov = |dst, src| Instruction::Alu { width: Width::W64, op: AluOp::Mov, dst: r(dst), src };
    let add =
        |dst, imm| Instruction::Alu { width: Width::W64, op: AluOp::Add, dst: r(dst), src: Source::Imm(imm) };
    let ldx = |size, dst, off| Instruction::Ldx { size, sx: false, dst: r(dst), src: r(1), off };
    let stx = |size, off, src| Instruction::Stx { size, dst: Reg::FP, src: r(src), off };
    let mut p = vec![
        ldx(Size::W, 2, 0),
        stx(Size::W, -4, 2),
        ldx(Size::DW, 2, 8),
        stx(Size::DW, -16, 2),
        mov(7, Source::Imm(0)),
        // loop:
        Instruction::LdImm64 { dst: r(1), src: LdImm64::MapFd(map_fd) },
        mov(2, Source::Reg(Reg::FP)),
        add(2, -4),
    ];
    let loop_slot = 5;
    if update {
        p.push(mov(3, Source::Reg(Reg::FP)));
        p.push(add(3, -16));
        p.push(mov(4, Source::Imm(0)));
        p.push(Instruction::Call(CallTarget::Helper(2)));
    } else {
        p.push(Instruction::Call(CallTarget::Helper(1)));
    }
    p.push(add(7, 1));
    // Back to `loop`: this jump's slot plus one minus the loop's slot.
    let slots: usize = p.iter().map(|i| i.slots()).sum();
    let back = loop_slot - (slots as i32 + 1);
    p.push(Instruction::Jmp {
        width: Width::W64,
        op: JmpOp::Lt,
        dst: r(7),
        src: Source::Imm(PER_RUN),
        off: back as i16,
    });
    p.push(mov(0, Source::Reg(r(7))));
    p.push(Instruction::Exit);
    encode_program(&p)
}

fn load(k: &mut Kernel, insns: &[bpfemu_isa::Insn]) -> i32 {
    let attr =
        ProgLoadAttr { prog_type: ProgType::Syscall.raw(), insns, license: "GPL", ..Default::default() };
    k.bpf(BpfAttr::ProgLoad(attr)).expect("program loads") as i32
}

fn run(k: &mut Kernel, fd: i32, ctx: &[u8]) -> u32 {
    let mut out = TestRunOut::default();
    let attr = TestRunAttr { prog_fd: fd, ctx_in: ctx, out: Some(&mut out), ..Default::default() };
    k.bpf(BpfAttr::ProgTestRun(attr)).expect("test run");
    out.retval
}

fn maps(c: &mut Criterion) {
    for t in [MapType::Array, MapType::Hash] {
        let mut k = Kernel::new(KernelConfig::default());
        let map = create(&mut k, t);
        let key = 7u32.to_le_bytes();
        k.bpf(BpfAttr::MapUpdateElem { map_fd: map, key: &key, value: &[1; 8], flags: BPF_ANY }).unwrap();
        let mut ctx = [0u8; 16];
        ctx[..4].copy_from_slice(&key);
        let lookup = load(&mut k, &program(map, false));
        let update = load(&mut k, &program(map, true));
        assert_eq!(run(&mut k, lookup, &ctx), PER_RUN as u32, "{t}: program-side lookups run");
        assert_eq!(run(&mut k, update, &ctx), PER_RUN as u32, "{t}: program-side updates run");

        let mut g = c.benchmark_group(format!("{t}"));
        g.bench_function("prog-lookup-x1000", |b| b.iter(|| run(&mut k, lookup, black_box(&ctx))));
        g.bench_function("prog-update-x1000", |b| b.iter(|| run(&mut k, update, black_box(&ctx))));
        g.bench_function("seam-lookup", |b| {
            let mut v = [0u8; 8];
            b.iter(|| {
                k.bpf(BpfAttr::MapLookupElem { map_fd: map, key: black_box(&key), value: &mut v, flags: 0 })
            })
        });
        g.bench_function("seam-update", |b| {
            b.iter(|| {
                k.bpf(BpfAttr::MapUpdateElem {
                    map_fd: map,
                    key: black_box(&key),
                    value: &[2; 8],
                    flags: BPF_ANY,
                })
            })
        });
        g.finish();
    }
}

criterion_group!(benches, maps);
criterion_main!(benches);
