//! Soundness: random terminating programs (forward jumps only) that the
//! verifier accepts are run by a small concrete interpreter whose memory
//! is a set of regions (stack, ctx, map values, packet, kernel objects):
//! every load and store must fall inside one region.

use super::*;
use crate::concrete::{alu, cond};
use bpfemu_isa::{AluOp, AtomicOp, EndianOp, Insn, Instruction as I, JmpOp, Reg, Size, Source, Width};
use proptest::prelude::*;

const CTX: u64 = 0x1_0000;
const STACK: u64 = 0x2_0000; // fp = STACK + 512
const MAPV: [u64; 4] = [0x3_0000, 0x3_1000, 0x3_2000, 0x3_3000];
const PKT: u64 = 0x4_0000; // meta starts here
const TASK: u64 = 0x5_0000;
const FILE: u64 = 0x5_1000;
const MAP_PTR: u64 = 0xdead_0000;

struct Mem {
    regions: Vec<(u64, Vec<u8>)>,
    data: u64,
    end: u64,
    meta: u64,
    task: u64,
}

impl Mem {
    fn new(seed: u64, pkt_len: u64, meta_len: u64, task_null: bool) -> Mem {
        let mut ctx = vec![0u8; 24];
        ctx[..8].copy_from_slice(&seed.to_le_bytes());
        let value_sizes = [16usize, 8, 16, 48];
        let mut regions = vec![(CTX, ctx), (STACK, vec![0u8; 512])];
        for (i, vs) in value_sizes.iter().enumerate() {
            let fill = if i == 2 { (0u8..16).collect() } else { vec![seed as u8; *vs] };
            regions.push((MAPV[i], fill));
        }
        regions.push((PKT, (0..meta_len + pkt_len).map(|b| b as u8).collect()));
        let mut task = seed.rotate_left(7).to_le_bytes().to_vec();
        task.extend_from_slice(&FILE.to_le_bytes());
        regions.push((TASK, task));
        regions.push((FILE, vec![1, 2, 3, 4]));
        Mem {
            regions,
            data: PKT + meta_len,
            end: PKT + meta_len + pkt_len,
            meta: PKT,
            task: if task_null { 0 } else { TASK },
        }
    }

    fn find(&mut self, addr: u64, size: u64) -> Result<&mut [u8], String> {
        for (base, bytes) in self.regions.iter_mut() {
            let len = bytes.len() as u64;
            if addr >= *base && addr.checked_add(size).is_some_and(|e| e <= *base + len) {
                let at = (addr - *base) as usize;
                return Ok(&mut bytes[at..at + size as usize]);
            }
        }
        Err(format!("access of {size} bytes at {addr:#x} outside every region"))
    }

    fn load(&mut self, addr: u64, size: u64) -> Result<u64, String> {
        // The ctx's pointer fields read as the kernel's rewritten loads do.
        if (CTX..CTX + 24).contains(&addr) {
            match (addr - CTX, size) {
                (8, 4) => return Ok(self.data),
                (12, 4) => return Ok(self.end),
                (16, 4) => return Ok(self.meta),
                (16, 8) => return Ok(self.task),
                _ => {}
            }
        }
        let b = self.find(addr, size)?;
        let mut buf = [0u8; 8];
        buf[..b.len()].copy_from_slice(b);
        Ok(u64::from_le_bytes(buf))
    }

    fn store(&mut self, addr: u64, size: u64, v: u64) -> Result<(), String> {
        let b = self.find(addr, size)?;
        let n = b.len();
        b.copy_from_slice(&v.to_le_bytes()[..n]);
        Ok(())
    }
}

/// Runs an accepted program; `Err` on an access outside every region.
fn execute(prog: &[(usize, I)], mem: &mut Mem) -> Result<u64, String> {
    let mut r = [0u64; 11];
    r[1] = CTX;
    r[10] = STACK + 512;
    let at: std::collections::BTreeMap<usize, usize> =
        prog.iter().enumerate().map(|(i, (s, _))| (*s, i)).collect();
    let mut pc = 0usize;
    for _ in 0..100_000 {
        let Some(&k) = at.get(&pc) else { return Err(format!("pc {pc} is no instruction")) };
        let ins = prog[k].1;
        let mut next = pc + ins.slots();
        let val = |r: &[u64; 11], s: Source| match s {
            Source::Reg(x) => r[x.idx()],
            Source::Imm(i) => i64::from(i) as u64,
        };
        match ins {
            I::Alu { width, op, dst, src } => r[dst.idx()] = alu(op, width, r[dst.idx()], val(&r, src)),
            I::Neg { width, dst } => r[dst.idx()] = alu(AluOp::Sub, width, 0, r[dst.idx()]),
            I::Endian { op, bits, dst } => {
                let v = r[dst.idx()];
                r[dst.idx()] = match (op, bits) {
                    (EndianOp::ToLe, 16) => v & 0xffff,
                    (EndianOp::ToLe, 32) => v & 0xffff_ffff,
                    (EndianOp::ToLe, _) => v,
                    (_, 16) => u64::from((v as u16).swap_bytes()),
                    (_, 32) => u64::from((v as u32).swap_bytes()),
                    _ => v.swap_bytes(),
                };
            }
            I::Ja { off, .. } => next = (pc as i64 + 1 + i64::from(off)) as usize,
            I::Jmp { width, op, dst, src, off } => {
                if cond(op, width, r[dst.idx()], val(&r, src)) {
                    next = (pc as i64 + 1 + i64::from(off)) as usize;
                }
            }
            I::Exit => return Ok(r[0]),
            I::Call(_) => return Err("call".into()),
            I::LdImm64 { dst, src } => {
                r[dst.idx()] = match src {
                    bpfemu_isa::LdImm64::Imm(v) => v,
                    bpfemu_isa::LdImm64::MapValue { fd, off } => MAPV[fd as usize] + u64::from(off),
                    _ => MAP_PTR,
                }
            }
            I::LdPacket { size, src, imm } => {
                let off = src.map_or(0, |s| r[s.idx()]).wrapping_add(i64::from(imm) as u64);
                let n = size.bytes() as u64;
                let a = mem.data.wrapping_add(off);
                if off > 0xffff_ffff || a < mem.data || a.checked_add(n).is_none_or(|e| e > mem.end) {
                    return Ok(0);
                }
                let v = mem.load(a, n)?;
                r[0] = match n {
                    2 => u64::from((v as u16).swap_bytes()),
                    4 => u64::from((v as u32).swap_bytes()),
                    _ => v,
                };
                for x in &mut r[1..=5] {
                    *x = 0xbad;
                }
            }
            I::Ldx { size, sx, dst, src, off } => {
                let n = size.bytes() as u64;
                let v = mem.load(r[src.idx()].wrapping_add(i64::from(off) as u64), n)?;
                r[dst.idx()] = if sx { alu(AluOp::MovSx((n * 8) as u8), Width::W64, 0, v) } else { v };
            }
            I::St { size, dst, off, imm } => mem.store(
                r[dst.idx()].wrapping_add(i64::from(off) as u64),
                size.bytes() as u64,
                i64::from(imm) as u64,
            )?,
            I::Stx { size, dst, src, off } => mem.store(
                r[dst.idx()].wrapping_add(i64::from(off) as u64),
                size.bytes() as u64,
                r[src.idx()],
            )?,
            I::Atomic { size, op, dst, src, off } => {
                let n = size.bytes() as u64;
                let a = r[dst.idx()].wrapping_add(i64::from(off) as u64);
                let old = mem.load(a, n)?;
                let s = r[src.idx()];
                let w = if n == 4 { Width::W32 } else { Width::W64 };
                let (new, fetch_to) = match op {
                    AtomicOp::Add { fetch } => (alu(AluOp::Add, w, old, s), fetch.then_some(src.idx())),
                    AtomicOp::Or { fetch } => (alu(AluOp::Or, w, old, s), fetch.then_some(src.idx())),
                    AtomicOp::And { fetch } => (alu(AluOp::And, w, old, s), fetch.then_some(src.idx())),
                    AtomicOp::Xor { fetch } => (alu(AluOp::Xor, w, old, s), fetch.then_some(src.idx())),
                    AtomicOp::Xchg => (s, Some(src.idx())),
                    AtomicOp::CmpXchg => {
                        let eq = if n == 4 { old as u32 == r[0] as u32 } else { old == r[0] };
                        (if eq { s } else { old }, Some(0))
                    }
                };
                mem.store(a, n, new)?;
                if let Some(t) = fetch_to {
                    r[t] = old;
                }
            }
        }
        pc = next;
    }
    Err("did not terminate".into())
}

fn reg(lo: u8, hi: u8) -> impl Strategy<Value = Reg> {
    (lo..=hi).prop_map(|n| Reg::new(n).unwrap())
}

fn size() -> impl Strategy<Value = Size> {
    prop::sample::select(Size::ALL.to_vec())
}

/// One instruction, biased towards programs the verifier may accept.
fn insn() -> impl Strategy<Value = I> {
    let w64 = Width::W64;
    let small = -24i32..24;
    let width = prop::sample::select(vec![Width::W32, Width::W64]);
    prop_oneof![
        // Pointer sources.
        3 => (reg(2, 9), prop::sample::select(vec![1u8, 10])).prop_map(move |(dst, s)| I::Alu {
            width: w64,
            op: AluOp::Mov,
            dst,
            src: Source::Reg(Reg::new(s).unwrap()),
        }),
        3 => (reg(2, 9), prop::sample::select(vec![(0i16, Size::W), (4, Size::W), (8, Size::W), (12, Size::W), (16, Size::W), (16, Size::DW), (0, Size::DW)]))
            .prop_map(|(dst, (off, size))| I::Ldx { size, sx: false, dst, src: Reg::R1, off }),
        2 => (reg(2, 9), 0i32..4, 0u32..20).prop_map(|(dst, m, off)| I::LdImm64 {
            dst,
            src: if m == 1 { bpfemu_isa::LdImm64::MapFd(1) } else { bpfemu_isa::LdImm64::MapValue { fd: m, off: off % 16 } },
        }),
        // Arithmetic.
        4 => (reg(0, 9), prop::sample::select(vec![AluOp::Add, AluOp::And, AluOp::Mov, AluOp::Sub, AluOp::Rsh, AluOp::Lsh]), small.clone())
            .prop_map(move |(dst, op, imm)| I::Alu { width: w64, op, dst, src: Source::Imm(if matches!(op, AluOp::Lsh | AluOp::Rsh) { imm.rem_euclid(8) } else { imm }) }),
        2 => (width.clone(), prop::sample::select(AluOp::ALL.to_vec()), reg(0, 9), reg(0, 10))
            .prop_map(|(width, op, dst, s)| I::Alu { width, op, dst, src: Source::Reg(s) }),
        1 => (width.clone(), reg(0, 9)).prop_map(|(width, dst)| I::Neg { width, dst }),
        1 => (prop::sample::select(vec![EndianOp::ToLe, EndianOp::ToBe, EndianOp::Swap]), prop::sample::select(vec![16u8, 32, 64]), reg(0, 9))
            .prop_map(|(op, bits, dst)| I::Endian { op, bits, dst }),
        // Memory.
        4 => (size(), reg(0, 9), reg(0, 10), -24i16..24).prop_map(|(size, dst, src, off)| I::Ldx { size, sx: false, dst, src, off }),
        1 => (prop::sample::select(vec![Size::B, Size::H, Size::W]), reg(0, 9), reg(0, 10), -24i16..24).prop_map(|(size, dst, src, off)| I::Ldx { size, sx: true, dst, src, off }),
        4 => (size(), reg(0, 10), reg(0, 10), -24i16..24).prop_map(|(size, dst, src, off)| I::Stx { size, dst, src, off }),
        2 => (size(), reg(0, 10), -24i16..24, -2i32..3).prop_map(|(size, dst, off, imm)| I::St { size, dst, off, imm }),
        3 => (size(), reg(0, 10), 1i16..9).prop_map(|(size, src, k)| I::Stx { size, dst: Reg::FP, src, off: -8 * k }),
        3 => (size(), reg(0, 9), 1i16..9).prop_map(|(size, dst, k)| I::Ldx { size, sx: false, dst, src: Reg::FP, off: -8 * k }),
        2 => (prop::sample::select(AtomicOp::ALL.to_vec()), prop::sample::select(vec![Size::W, Size::DW]), reg(0, 10), reg(0, 9), -16i16..16)
            .prop_map(|(op, size, dst, src, off)| I::Atomic { size, op, dst, src, off: off & !3 }),
        1 => (size(), prop::option::of(reg(0, 9)), -2i32..40).prop_map(|(size, src, imm)| I::LdPacket { size, src, imm }),
        // Branches (forward; the target is clamped when assembled).
        4 => (width, prop::sample::select(JmpOp::ALL.to_vec()), reg(0, 10), prop_oneof![reg(0, 10).prop_map(Source::Reg), (-2i32..20).prop_map(Source::Imm)], 0i16..6)
            .prop_map(|(width, op, dst, src, off)| I::Jmp { width, op, dst, src, off }),
        1 => Just(I::Ja { off: 0, long: false }),
        // The packet idiom: r9 = data + 8 against data_end, loads from data.
        6 => (prop::sample::select(vec![JmpOp::Gt, JmpOp::Ge, JmpOp::Lt, JmpOp::Le]), any::<bool>(), 0i16..6)
            .prop_map(|(op, swap, off)| {
                let (dst, src) = if swap { (Reg::R4, Reg::R9) } else { (Reg::R9, Reg::R4) };
                I::Jmp { width: Width::W64, op, dst, src: Source::Reg(src), off }
            }),
        6 => (size(), reg(0, 9), 0i16..10).prop_map(|(size, dst, off)| I::Ldx { size, sx: false, dst, src: Reg::R3, off }),
        2 => (size(), reg(0, 9), 0i16..18).prop_map(|(size, dst, off)| I::Ldx { size, sx: false, dst, src: Reg::R5, off }),
    ]
}

/// Sets every register: scalars, stack, ctx, packet and map value
/// pointers.
const PROLOGUE: &str = "r0 = 0\nr2 = r10\nr2 += -16\nr3 = *(u32 *)(r1 +8)\nr4 = *(u32 *)(r1 +12)\n\
    r5 = map[fd:0][0]+0\nr6 = r1\nr7 = *(u32 *)(r1 +0)\nr8 = 0\n*(u64 *)(r10 -8) = r8\n\
    *(u64 *)(r10 -16) = r7\nr9 = r3\nr9 += 8\n";

/// Prepends the prologue, drops what does not decode, makes the jumps
/// stay inside the program (forward, before the final exit).
fn finish(body: Vec<I>) -> Vec<I> {
    let mut prog: Vec<I> = bpfemu_isa::asm::kernel::assemble_instructions(PROLOGUE)
        .unwrap()
        .into_iter()
        .map(|(_, i)| i)
        .collect();
    for ins in body {
        let enc = ins.encode();
        let ok = bpfemu_isa::decode_at(&enc, 0).is_ok_and(|d| d == ins);
        prog.push(if ok {
            ins
        } else {
            I::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Source::Imm(0) }
        });
    }
    prog.push(I::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Source::Imm(0) });
    prog.push(I::Exit);
    let slots: Vec<usize> = prog.iter().map(|i| i.slots()).collect();
    let mut at = Vec::with_capacity(prog.len());
    let mut s = 0;
    for n in &slots {
        at.push(s);
        s += n;
    }
    let last = at[at.len() - 2];
    for (k, ins) in prog.iter_mut().enumerate() {
        let here = at[k] as i64;
        let fix = |off: i64| -> i64 {
            // Land on an instruction start at most `off` instructions ahead.
            let target_k = (k + off as usize + 1).min(at.len() - 2);
            (at[target_k] as i64).min(last as i64) - here - 1
        };
        match ins {
            I::Jmp { off, .. } => *off = fix(i64::from(*off)) as i16,
            I::Ja { off, .. } => *off = fix(i64::from(*off)) as i32,
            _ => {}
        }
    }
    prog
}

/// A unit of one or more instructions: a random instruction, or the
/// packet idiom (a bounds check followed by a load from the packet).
fn unit() -> impl Strategy<Value = Vec<I>> {
    prop_oneof![
        6 => insn().prop_map(|i| vec![i]),
        1 => (any::<bool>(), size(), reg(0, 9), 0i16..10).prop_map(|(swap, size, dst, off)| {
            let (op, a, b) = if swap { (JmpOp::Lt, Reg::R4, Reg::R9) } else { (JmpOp::Gt, Reg::R9, Reg::R4) };
            vec![
                I::Jmp { width: Width::W64, op, dst: a, src: Source::Reg(b), off: 1 },
                I::Ldx { size, sx: false, dst, src: Reg::R3, off },
            ]
        }),
    ]
}

proptest! {
    // `BPFEMU_SOUND_CASES=1000000 cargo test -p bpfemu-verifier --release
    // --lib sound` for a longer run.
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("BPFEMU_SOUND_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000)
    ))]
    #[test]
    fn accepted_programs_stay_in_bounds(
        body in prop::collection::vec(unit(), 1..12),
        seed in any::<u64>(),
        pkt_len in prop_oneof![Just(8u64), Just(7), Just(9), 0u64..64],
        meta_len in 0u64..8,
        task_null in any::<bool>(),
        privileged in any::<bool>(),
    ) {
        let prog = finish(body.concat());
        let insns: Vec<Insn> = bpfemu_isa::encode_program(&prog);
        let pseudo = super::pseudo_of(&prog);
        let maps = maps();
        let opts = if privileged { VerifyOptions::default() } else { unpriv() };
        let input = VerifyInput { insns: &insns, pseudo: &pseudo, maps: &maps, prog_type: &Mock, opts, btf: None };
        let mut log = VerifierLog::new(2, true, 1 << 22).unwrap();
        if verify(&input, &mut log).is_ok() {
            let decoded = bpfemu_isa::decode_program(&insns).unwrap();
            let mut mem = Mem::new(seed, pkt_len, meta_len, task_null);
            let r = execute(&decoded, &mut mem);
            prop_assert!(r.is_ok(), "{:?}\nlog:\n{}", r, log.full_text());
        }
    }
}

/// An access one byte past the proven packet range: the verifier refuses
/// it, and the interpreter would notice it.
#[test]
fn interpreter_catches_out_of_bounds() {
    let src = format!("{PROLOGUE}if r9 > r4 goto +1\nr0 = *(u8 *)(r3 +8)\nr0 = 0\nexit");
    reject(&src, "invalid access to packet, off=8 size=1, R3(id=0,off=8,r=8)");
    let insns = bpfemu_isa::asm::kernel::assemble(&src).unwrap();
    let decoded = bpfemu_isa::decode_program(&insns).unwrap();
    let mut mem = Mem::new(1, 8, 0, false);
    let e = execute(&decoded, &mut mem).unwrap_err();
    assert!(e.contains("outside every region"), "{e}");
}

/// A branch-heavy program: `n` diamonds deciding on packet bytes, whose
/// taken sides change r6/r7 and the stack, then uses of them. Pruning
/// (with precision marks) must never let an out-of-bounds path through.
fn diamond_prog(ops: &[(u8, i32)], tail: u8) -> String {
    let mut s = String::from(
        "r6 = 0\nr7 = 0\n*(u64 *)(r10 -8) = r6\nr2 = *(u32 *)(r1 +8)\nr3 = *(u32 *)(r1 +12)\nr4 = r2\nr4 += 16\n\
         if r4 > r3 goto out\nr5 = map[fd:0][0]+0\n",
    );
    for (i, (op, k)) in ops.iter().enumerate() {
        let body = match op % 11 {
            0 => format!("r6 += {k}"),
            1 => format!("r7 += {k}"),
            2 => "r6 = r7".to_string(),
            3 => "*(u64 *)(r10 -8) = r6".to_string(),
            4 => "r7 = *(u64 *)(r10 -8)".to_string(),
            5 => format!("r6 &= {}", k.rem_euclid(16)),
            6 => format!("r7 = {k}"),
            7 => "r6 += r7".to_string(),
            8 => "r7 = *(u8 *)(r2 +15)\nr7 &= 15".to_string(),
            9 => format!("r4 = r6\nif r4 > {} goto out", k.rem_euclid(16)),
            _ => "r9 = r6\nr6 = r7\nr7 = r9".to_string(),
        };
        s.push_str(&format!(
            "r8 = *(u8 *)(r2 +{i})\nif r8 > 127 goto t{i}\nr9 = 1\nr9 += 1\nr9 += 1\ngoto j{i}\nt{i}: {body}\nj{i}: r0 = 0\n"
        ));
    }
    s.push_str(match tail % 5 {
        4 => "r4 = r7\nif r4 > 12 goto out\nr5 += r7\nr0 = *(u32 *)(r5 +0)\n",
        0 => "r5 += r6\nr0 = *(u32 *)(r5 +0)\n",
        1 => "r5 += r7\nr0 = *(u8 *)(r5 +0)\n",
        2 => "r6 = *(u64 *)(r10 -8)\nr5 += r6\nr0 = *(u32 *)(r5 +0)\n",
        _ => "if r7 > 12 goto out\nr5 += r7\nr0 = *(u32 *)(r5 +0)\n",
    });
    s.push_str("out: r0 = 0\nexit");
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("BPFEMU_SOUND_CASES").ok().and_then(|v| v.parse::<u32>().ok()).map_or(400, |n| n / 4)
    ))]
    #[test]
    fn pruned_paths_stay_in_bounds(
        ops in prop::collection::vec((0u8..11, -3i32..9), 2..8),
        tail in 0u8..5,
    ) {
        let src = diamond_prog(&ops, tail);
        let (r, log) = run(&src);
        if r.is_ok() {
            let insns = bpfemu_isa::asm::kernel::assemble(&src).unwrap();
            let decoded = bpfemu_isa::decode_program(&insns).unwrap();
            // Every combination of branch directions.
            for bits in 0u32..(1 << ops.len()) {
                let mut mem = Mem::new(0, 16, 0, false);
                let pkt = &mut mem.regions.iter_mut().find(|(b, _)| *b == PKT).unwrap().1;
                for (i, b) in pkt.iter_mut().enumerate().take(ops.len()) {
                    *b = if bits & (1 << i) != 0 { 255 } else { 0 };
                }
                let res = execute(&decoded, &mut mem);
                prop_assert!(res.is_ok(), "{:?} bits {bits:b}\n{src}\nlog:\n{log}", res);
            }
        }
    }
}
