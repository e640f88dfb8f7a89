//! The generator's map snippets: keys, lookups with their null checks,
//! value accesses at constant and bounded variable offsets (the many ways
//! an offset gets bounded, and the mistakes that leave it unbounded),
//! direct value loads, updates and deletes.

use super::*;

impl Gen {
    /// Writes a key for `map` at `fp + off` (off = -136): a constant or a
    /// masked scalar.
    pub(super) fn write_key(&mut self, m: MapSpec, off: i16) {
        let range = i64::from(m.max_entries) + 1;
        if self.mistake("map key on uninitialised stack") {
            return;
        }
        if self.d.pct(50) {
            let k = self.d.range(0, range) as i32;
            self.a.st(Size::W, FP, off, k);
            if m.key_size == 8 {
                self.a.st(Size::W, FP, off + 4, 0);
            }
        } else {
            let s = self.any_scalar();
            self.a.mov(1, s);
            self.a.alu(Width::W64, AluOp::And, 1, Source::Imm(7));
            let size = if m.key_size == 8 { Size::DW } else { Size::W };
            self.a.stx(size, FP, 1, off);
        }
    }

    pub(super) fn pick_map(&mut self) -> MapSpec {
        self.d.pick(&self.maps.clone())
    }

    /// `lookup → null check → accesses` on the value.
    pub(super) fn map_lookup(&mut self) {
        let m = self.pick_map();
        self.write_key(m, -136);
        self.a.ld_map(1, m.fd);
        self.a.mov(2, FP);
        self.a.addi(2, -136);
        self.a.call(HELPER_LOOKUP);
        if self.mistake("arithmetic on a map_value_or_null pointer") {
            self.a.addi(0, 1);
        }
        let end = self.a.label();
        if !self.mistake("missing null check") {
            if self.d.pct(70) {
                self.a.jmp(Width::W64, JmpOp::Eq, 0, Source::Imm(0), end);
            } else {
                let body = self.a.label();
                self.a.jmp(Width::W64, JmpOp::Ne, 0, Source::Imm(0), body);
                self.a.ja(end);
                self.a.bind(body);
            }
        }
        self.with_region(|g| {
            if g.d.pct(20) {
                // Keep the value pointer in a callee-saved spill across a call.
                g.a.stx(Size::DW, FP, 0, -128);
                g.a.call(HELPER_PRANDOM);
                g.a.ldx(Size::DW, 0, FP, -128);
                g.spills.remove(&-128);
            }
            let n = g.d.range(1, 3);
            for _ in 0..n {
                g.value_access(0, m.value_size as i32, end);
            }
            if g.d.pct(15) {
                g.value_as_helper_arg(m);
            } else if g.d.pct(10) {
                g.call_subprog(Arg::Value(m.value_size as i32));
            }
        });
        self.a.bind(end);
    }

    /// One access through map value pointer `ptr` (value `vs` bytes).
    pub(super) fn value_access(&mut self, ptr: u8, vs: i32, out: Label) {
        // 0, 1: load; 2: store; 3: atomic (W or DW, aligned).
        let kind = self.d.below(4);
        let mut size = if kind == 3 { self.d.pick(&[Size::W, Size::DW]) } else { self.size() };
        while size_of(size) > vs {
            size = if size == Size::DW { Size::W } else { Size::B };
        }
        let s = size_of(size);
        let atomic = kind == 3 && s >= 4;
        let align = if atomic && !self.mistake("misaligned atomic on a map value") { s } else { 1 };
        let (base, off) = if self.d.pct(45) {
            let mut off = self.d.range(0, i64::from((vs - s) / align)) as i32 * align;
            if self.mistake("constant map value offset one too far") {
                off = if self.d.pct(70) { vs - s + 1 } else { -1 };
            }
            (ptr, off)
        } else {
            // Variable offset x with max(x) + s <= vs.
            let max = vs - s;
            let x = self.any_scalar();
            self.a.mov(2, x);
            // A constant the access adds back (the offset is r2 - comp).
            let mut comp = 0;
            match self.d.below(14) {
                5 => self.offset_on_two_paths(max, align),
                6..=13 => comp = self.derive_offset(x, max, align, out),
                0 => {
                    let mut mask = ((max as u32 + 1).next_power_of_two() / 2).saturating_sub(1) as i32;
                    if self.mistake("mask one bit too wide") {
                        mask = mask * 2 + 1;
                    }
                    self.a.alu(Width::W64, AluOp::And, 2, Source::Imm(mask));
                }
                1 => {
                    let mut n = max;
                    if self.mistake("unsigned bound off by one") {
                        n += 1;
                    }
                    let op = self.d.pick(&[JmpOp::Gt, JmpOp::Ge]);
                    let n = if op == JmpOp::Ge { n + 1 } else { n };
                    self.a.jmp(Width::W64, op, 2, Source::Imm(n), out);
                }
                2 => {
                    let mut n = max;
                    if self.mistake("32-bit bound off by one") {
                        n += 1;
                    }
                    self.a.alu(Width::W32, AluOp::Mov, 2, Source::Reg(super::super::asm::r(x)));
                    self.a.jmp(Width::W32, JmpOp::Gt, 2, Source::Imm(n), out);
                }
                3 => {
                    self.a.jmp(Width::W64, JmpOp::SGt, 2, Source::Imm(max), out);
                    if !self.mistake("signed upper bound without a lower bound") {
                        self.a.jmp(Width::W64, JmpOp::SLt, 2, Source::Imm(0), out);
                    }
                }
                _ => {
                    // Bounded through a register compare: if r2 > r3 goto out.
                    let mut n = max;
                    if self.mistake("register bound off by one") {
                        n += 1;
                    }
                    self.a.movi(3, n);
                    self.a.jmp(Width::W64, JmpOp::Gt, 2, Source::Reg(super::super::asm::r(3)), out);
                }
            }
            if align > 1 {
                self.a.alu(Width::W64, AluOp::And, 2, Source::Imm(-align));
            }
            self.a.mov(1, ptr);
            match self.d.below(10) {
                // Spill and fill the bounded scalar: its bounds must survive.
                0 | 1 => {
                    self.a.stx(Size::DW, FP, 2, -144);
                    self.a.ldx(Size::DW, 2, FP, -144);
                }
                // A 32-bit spill, or a narrow fill of the low half.
                2 => {
                    let wide = self.d.pct(50);
                    self.a.stx(if wide { Size::DW } else { Size::W }, FP, 2, -144);
                    self.a.ldx(Size::W, 2, FP, -144);
                }
                // Traps: the bounded value changes behind the verifier's back.
                3 if self.mistake("offset filled after an atomic add on its spill slot") => {
                    self.a.stx(Size::DW, FP, 2, -144);
                    let x = self.any_scalar();
                    self.a.mov(3, x);
                    self.a.push(Instruction::Atomic {
                        size: Size::DW,
                        op: bpfemu_isa::AtomicOp::Add { fetch: false },
                        dst: super::super::asm::r(FP),
                        src: super::super::asm::r(3),
                        off: -144,
                    });
                    self.a.ldx(Size::DW, 2, FP, -144);
                }
                4 if self.mistake("offset replaced by an atomic fetch result") => {
                    let x = self.any_scalar();
                    self.a.stx(Size::DW, FP, x, -144);
                    let op = self.d.pick(&[
                        bpfemu_isa::AtomicOp::Add { fetch: true },
                        bpfemu_isa::AtomicOp::Xchg,
                        bpfemu_isa::AtomicOp::Or { fetch: true },
                    ]);
                    let size = if self.d.pct(50) { Size::DW } else { Size::W };
                    self.a.push(Instruction::Atomic {
                        size,
                        op,
                        dst: super::super::asm::r(FP),
                        src: super::super::asm::r(2),
                        off: -144,
                    });
                }
                _ => {}
            }
            // r2 is in [comp, max + comp]: take comp off the pointer, off
            // r2, or off the access.
            match if comp == 0 { 0 } else { self.d.below(3) } {
                0 => {
                    self.a.alu(Width::W64, AluOp::Add, 1, Source::Reg(super::super::asm::r(2)));
                    (1, -comp)
                }
                1 => {
                    self.a.addi(1, -comp);
                    self.a.alu(Width::W64, AluOp::Add, 1, Source::Reg(super::super::asm::r(2)));
                    (1, 0)
                }
                _ => {
                    self.a.addi(2, -comp);
                    self.a.alu(Width::W64, AluOp::Add, 1, Source::Reg(super::super::asm::r(2)));
                    (1, 0)
                }
            }
        };
        let off = off as i16;
        match kind {
            0 | 1 => {
                let dst = self.dst_scalar();
                self.a.ldx(size, dst, base, off);
            }
            2 => {
                let v = self.any_scalar();
                self.a.stx(size, base, v, off);
            }
            _ => {
                if atomic {
                    let v = self.any_scalar();
                    let op = self.d.pick(&bpfemu_isa::AtomicOp::ALL);
                    if op == bpfemu_isa::AtomicOp::CmpXchg {
                        self.a.mov(5, ptr);
                        self.a.mov(4, base);
                        self.a.mov(0, v);
                        self.a.push(Instruction::Atomic {
                            size,
                            op,
                            dst: super::super::asm::r(4),
                            src: super::super::asm::r(v),
                            off,
                        });
                        // r0 is now a scalar; the value pointer is in r5.
                        self.a.mov(ptr, 5);
                        return;
                    }
                    self.a.mov(3, v);
                    self.a.push(Instruction::Atomic {
                        size,
                        op,
                        dst: super::super::asm::r(base),
                        src: super::super::asm::r(3),
                        off,
                    });
                } else {
                    let imm = self.imm();
                    self.a.st(size, base, off, imm);
                }
            }
        }
    }

    /// More ways to bound r2 (a copy of scalar `x`) to `[comp, max + comp]`,
    /// returning `comp` (0 unless the recipe offsets the range); each may
    /// make a mistake. Jumps to `out` leave the access out.
    pub(super) fn derive_offset(&mut self, x: u8, max: i32, align: i32, out: Label) -> i32 {
        let r = super::super::asm::r;
        let pow2_mask = |m: i32| ((m as u32 + 1).next_power_of_two() / 2).saturating_sub(1) as i32;
        match self.d.below(10) {
            8 => {
                // if r2 & ~m goto out: the fallthrough knows the high bits are 0.
                let mut m = pow2_mask(max);
                if self.mistake("jset mask one bit too wide") {
                    m = m * 2 + 1;
                }
                let w = if self.d.pct(30) { Width::W32 } else { Width::W64 };
                if w == Width::W32 && !self.mistake("32-bit jset on a 64-bit value") {
                    self.a.alu(Width::W32, AluOp::Mov, 2, Source::Reg(r(2)));
                }
                self.a.jmp(w, JmpOp::Set, 2, Source::Imm(!m), out);
                0
            }
            9 => {
                // if r2 != c goto out: r2 is c after it.
                let mut c = self.d.range(0, i64::from(max)) as i32;
                if self.mistake("equality with a constant past the end") {
                    c = max + 1;
                }
                let w = if self.d.pct(30) { Width::W32 } else { Width::W64 };
                if w == Width::W32 && !self.mistake("32-bit equality on a 64-bit value") {
                    self.a.alu(Width::W32, AluOp::Mov, 2, Source::Reg(r(2)));
                }
                self.a.jmp(w, JmpOp::Ne, 2, Source::Imm(c), out);
                0
            }
            0 => {
                // Bound a copy; the bound reaches the original through its id.
                self.a.mov(3, 2);
                if self.mistake("bounded a modified copy") {
                    self.a.addi(3, 1);
                    self.a.jmp(Width::W64, JmpOp::Gt, 3, Source::Imm(max + 1), out);
                } else {
                    self.a.jmp(Width::W64, JmpOp::Gt, 3, Source::Imm(max), out);
                }
                0
            }
            1 => {
                // A 32-bit bound holds for the 64-bit value only after zero extension.
                if !self.mistake("32-bit bound on a 64-bit value") {
                    self.a.alu(Width::W32, AluOp::Mov, 2, Source::Reg(r(2)));
                }
                let op = self.d.pick(&[JmpOp::Gt, JmpOp::SGt]);
                self.a.jmp(Width::W32, op, 2, Source::Imm(max), out);
                if op == JmpOp::SGt {
                    self.a.jmp(Width::W32, JmpOp::SLt, 2, Source::Imm(0), out);
                }
                0
            }
            2 if align == 1 => {
                // [0, max] - k, added back by the access.
                let k = self.d.range(1, 8) as i32;
                self.a.jmp(Width::W64, JmpOp::Gt, 2, Source::Imm(max), out);
                let w = if self.mistake("32-bit subtraction wraps") { Width::W32 } else { Width::W64 };
                self.a.alu(w, AluOp::Sub, 2, Source::Imm(k));
                self.a.addi(2, k);
                // r2 is back in [0, max]; let the access add another k.
                let c = self.d.range(1, 8) as i32;
                self.a.addi(2, c);
                c
            }
            3 => {
                // Shift a byte down until it fits.
                self.a.alu(Width::W64, AluOp::And, 2, Source::Imm(0xff));
                let mut sh = 0;
                while (255 >> sh) > max {
                    sh += 1;
                }
                if sh > 0 && self.mistake("shifted one bit too little") {
                    sh -= 1;
                }
                let op = if self.d.pct(50) { AluOp::Rsh } else { AluOp::Arsh };
                self.a.alu(Width::W64, op, 2, Source::Imm(sh));
                0
            }
            4 => {
                // (x & m) * f.
                let f = self.d.pick(&[2, 3, 4, 8]);
                let mut m = pow2_mask(max / f);
                if self.mistake("multiplied range too wide") {
                    m = m * 2 + 1;
                }
                self.a.alu(Width::W64, AluOp::And, 2, Source::Imm(m));
                self.a.alu(Width::W64, AluOp::Mul, 2, Source::Imm(f));
                0
            }
            5 => {
                // Sign-extended byte, bounded on both sides.
                self.a.alu(Width::W64, AluOp::MovSx(8), 2, Source::Reg(r(x)));
                if !self.mistake("sign-extended value without a lower bound") {
                    self.a.jmp(Width::W64, JmpOp::SLt, 2, Source::Imm(0), out);
                }
                self.a.jmp(Width::W64, JmpOp::SGt, 2, Source::Imm(max), out);
                0
            }
            6 => {
                // (x & m1) | (y & m2).
                let m = pow2_mask(max);
                let y = self.any_scalar();
                self.a.alu(Width::W64, AluOp::And, 2, Source::Imm(m & 0x55));
                self.a.mov(3, y);
                let m2 = if self.mistake("or of a range too wide") { m * 2 + 1 } else { m & !0x55 };
                self.a.alu(Width::W64, AluOp::And, 3, Source::Imm(m2));
                let op = if self.d.pct(50) { AluOp::Or } else { AluOp::Xor };
                self.a.alu(Width::W64, op, 2, Source::Reg(r(3)));
                0
            }
            _ => {
                // Unsigned bound through a 32-bit compare of zero-extended
                // values, from below: if max < w2 goto out (reversed operands).
                self.a.alu(Width::W32, AluOp::Mov, 2, Source::Reg(r(2)));
                let mut n = max;
                if self.mistake("reversed bound off by one") {
                    n += 1;
                }
                self.a.movi(3, n);
                self.a.jmp(Width::W32, JmpOp::Lt, 3, Source::Reg(r(2)), out);
                0
            }
        }
    }

    /// r2 = an offset in `[0, max]` set differently on the two sides of a
    /// branch (the taken side is the one pruning may skip), possibly
    /// through a spill: the join must keep both ranges apart.
    pub(super) fn offset_on_two_paths(&mut self, max: i32, align: i32) {
        let (w, op, dst, src) = self.cond();
        let taken = self.a.label();
        let join = self.a.label();
        let spill = self.d.pct(40);
        self.a.jmp(w, op, dst, src, taken);
        let c1 = self.d.range(0, i64::from(max / align)) as i32 * align;
        self.a.movi(2, c1);
        if spill {
            self.a.stx(Size::DW, FP, 2, -152);
        }
        self.a.ja(join);
        self.a.bind(taken);
        if self.d.pct(30) {
            let x = self.any_scalar();
            self.a.mov(2, x);
            let mask = ((max as u32 + 1).next_power_of_two() / 2).saturating_sub(1) as i32 & -align;
            self.a.alu(Width::W64, AluOp::And, 2, Source::Imm(mask));
        } else {
            let mut c2 = self.d.range(0, i64::from(max / align)) as i32 * align;
            if self.mistake("offset out of bounds on the path pruning may skip") {
                c2 = max + align * self.d.range(1, 2) as i32;
            }
            self.a.movi(2, c2);
        }
        if spill {
            self.a.stx(Size::DW, FP, 2, -152);
        }
        self.a.bind(join);
        if spill {
            self.a.ldx(Size::DW, 2, FP, -152);
        }
    }

    /// `r0 = map[fd:3]+off` (a direct value pointer into the array's element 0), then accesses.
    pub(super) fn direct_value(&mut self) {
        let m = self.maps[0];
        let vs = m.value_size as i32;
        // 8-byte aligned, so that atomics through it can be aligned.
        let off = self.d.range(0, i64::from((vs - 1) / 8)) as i32 * 8;
        self.a.push(Instruction::LdImm64 {
            dst: super::super::asm::r(0),
            src: bpfemu_isa::LdImm64::MapValue { fd: m.fd, off: off as u32 },
        });
        let end = self.a.label();
        self.value_access(0, vs - off, end);
        self.a.bind(end);
    }

    /// Passes the value pointer in r0 as the key or value of another map op.
    pub(super) fn value_as_helper_arg(&mut self, from: MapSpec) {
        let m = self.pick_map();
        self.a.mov(3, 0);
        if self.d.pct(50) && from.value_size >= m.key_size {
            self.a.ld_map(1, m.fd);
            self.a.mov(2, 3);
            self.a.call(HELPER_LOOKUP);
        } else {
            if from.value_size < m.value_size {
                self.mistakes.push("map value too small for the other map's value");
            }
            self.write_key(m, -136);
            self.a.ld_map(1, m.fd);
            self.a.mov(2, FP);
            self.a.addi(2, -136);
            self.a.movi(4, 0);
            self.a.call(HELPER_UPDATE);
        }
    }

    pub(super) fn map_update(&mut self) {
        let m = self.pick_map();
        self.write_key(m, -136);
        // The value at fp-256 .. fp-256+value_size, written in 8-byte stores.
        let mut init = m.value_size.next_multiple_of(8) as i32;
        if self.mistake("map value buffer partly uninitialised") {
            init -= 8;
        }
        let mut o = 0;
        while o < init {
            let v = self.any_scalar();
            self.a.stx(Size::DW, FP, v, (-256 + o) as i16);
            o += 8;
        }
        self.a.ld_map(1, m.fd);
        self.a.mov(2, FP);
        self.a.addi(2, -136);
        self.a.mov(3, FP);
        self.a.addi(3, -256);
        let flags = self.d.range(0, 2) as i32;
        self.a.movi(4, flags);
        self.a.call(HELPER_UPDATE);
        if self.mistake("reading an argument register after a call") {
            let dst = self.dst_scalar();
            self.a.mov(dst, 2);
        }
    }

    pub(super) fn map_delete(&mut self) {
        let m = self.pick_map();
        self.write_key(m, -136);
        self.a.ld_map(1, m.fd);
        self.a.mov(2, FP);
        self.a.addi(2, -136);
        self.a.call(HELPER_DELETE);
    }
}
