//! The generator's dynptr snippets: a local dynptr (`bpf_dynptr_from_mem`)
//! at `fp-208` (the free 16 bytes between the update-value buffer and the
//! probe_read buffer) over a map value, the only memory the kernel takes
//! for it (`check_helper_call()`); reads and writes through it at
//! constant or variable offsets (runtime `-E2BIG` beyond it), and
//! `bpf_dynptr_data` slices of the value.

use super::*;

const HELPER_DYNPTR_FROM_MEM: i32 = 197;
const HELPER_DYNPTR_READ: i32 = 201;
const HELPER_DYNPTR_WRITE: i32 = 202;
const HELPER_DYNPTR_DATA: i32 = 203;
/// The dynptr's stack offset.
const DYNPTR: i32 = -208;

impl Gen {
    pub(super) fn dynptr(&mut self) {
        self.dynptr_value();
    }

    /// `bpf_dynptr_from_mem(r1, len, flags, fp-208)`.
    fn dynptr_from_mem(&mut self, len: i32) {
        let mut n = len;
        if self.mistake("dynptr_from_mem size beyond the memory") {
            n += self.d.range(1, 8) as i32;
        }
        self.a.movi(2, n);
        // Non-zero flags: a null dynptr at run time (-EINVAL everywhere).
        let flags = if self.d.pct(10) { 1 } else { 0 };
        self.a.movi(3, flags);
        self.a.mov(4, FP);
        let mut at = DYNPTR;
        if self.mistake("dynptr at an unaligned stack offset") {
            at += self.d.range(1, 7) as i32;
        }
        self.a.addi(4, at);
        self.a.call(HELPER_DYNPTR_FROM_MEM);
    }

    /// An offset into the dynptr in r`reg`: a small constant or a scalar.
    fn dynptr_off(&mut self, reg: u8) {
        if self.d.pct(60) {
            let o = self.d.range(0, 24) as i32;
            self.a.movi(reg, o);
        } else {
            let s = self.any_scalar();
            self.a.mov(reg, s);
        }
    }

    /// One to three reads (into the scratch area) or writes (from it)
    /// through the dynptr at fp-208.
    fn dynptr_ops(&mut self) {
        for _ in 0..self.d.range(1, 3) {
            let mut len = self.d.range(0, 16) as i32;
            if self.mistake("dynptr_read into more than the scratch area") {
                len = 64 + self.d.range(1, 16) as i32;
            }
            if self.d.pct(50) {
                self.a.mov(1, FP);
                self.a.addi(1, -64);
                self.a.movi(2, len);
                self.a.mov(3, FP);
                self.a.addi(3, DYNPTR);
                self.dynptr_off(4);
                self.a.movi(5, 0);
                self.a.call(HELPER_DYNPTR_READ);
            } else {
                self.a.mov(1, FP);
                self.a.addi(1, DYNPTR);
                self.dynptr_off(2);
                self.a.mov(3, FP);
                self.a.addi(3, -64);
                self.a.movi(4, len);
                self.a.movi(5, 0);
                self.a.call(HELPER_DYNPTR_WRITE);
            }
            if self.d.pct(30) {
                let dst = self.dst_scalar();
                self.a.mov(dst, 0);
            }
        }
    }

    /// Lookup, null check, a dynptr over the value, reads, writes and a
    /// slice.
    fn dynptr_value(&mut self) {
        let m = self.pick_map();
        let vs = m.value_size as i32;
        self.write_key(m, -136);
        self.a.ld_map(1, m.fd);
        self.a.mov(2, FP);
        self.a.addi(2, -136);
        self.a.call(HELPER_LOOKUP);
        let end = self.a.label();
        self.a.jmp(Width::W64, JmpOp::Eq, 0, Source::Imm(0), end);
        self.with_region(|g| {
            g.a.mov(1, 0);
            g.dynptr_from_mem(vs);
            g.dynptr_ops();
            // bpf_dynptr_data(fp-208, off, len): NULL beyond the value.
            let len = g.d.range(1, 8) as i32;
            let off = g.d.range(0, i64::from(vs)) as i32;
            g.a.mov(1, FP);
            g.a.addi(1, DYNPTR);
            g.a.movi(2, off);
            g.a.movi(3, len);
            g.a.call(HELPER_DYNPTR_DATA);
            if !g.mistake("dynptr slice not null-checked") {
                g.a.jmp(Width::W64, JmpOp::Eq, 0, Source::Imm(0), end);
            }
            let size =
                *[Size::B, Size::H, Size::W, Size::DW].iter().rev().find(|s| size_of(**s) <= len).unwrap();
            let s = size_of(size);
            let mut at = g.d.range(0, i64::from(len - s)) as i32;
            if g.mistake("dynptr slice access one byte too far") {
                at = len - s + 1;
            }
            if g.d.pct(50) {
                let dst = g.dst_scalar();
                g.a.ldx(size, dst, 0, at as i16);
            } else {
                let v = g.any_scalar();
                g.a.stx(size, 0, v, at as i16);
            }
        });
        self.a.bind(end);
    }
}
