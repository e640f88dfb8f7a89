//! The generator's call snippets: bpf2bpf subprograms taking stack, ctx
//! and map value pointers, `bpf_loop` callbacks, and the scalar, string
//! and memory helpers (ktime, prandom, trace_printk, probe_read_kernel).

use super::*;

impl Gen {
    /// `r1 = <arg>; r2 = scalar; call subprog; r7/r8/r9 = r0`.
    pub(super) fn call_subprog(&mut self, arg: Arg) {
        let len = match arg {
            Arg::Stack => 64,
            Arg::Value(vs) => vs,
            _ => 0,
        };
        // The caller bounds r2 (differently on two paths) and the callee
        // adds it to r1 unchecked: precision must flow across the frames.
        let bounded = len >= 8 && self.d.pct(30);
        if bounded {
            self.offset_on_two_paths(len - 8, 8);
        } else {
            let x = self.any_scalar();
            self.a.mov(2, x);
        }
        match arg {
            Arg::Stack => {
                self.a.mov(1, FP);
                self.a.addi(1, -64);
            }
            Arg::Ctx => self.a.mov(1, CTX),
            Arg::Value(_) => self.a.mov(1, 0),
            Arg::LoopCallback | Arg::LoopCounter(_) => unreachable!("callbacks are called by bpf_loop"),
        }
        let l = self.a.label();
        self.a.call_local(l);
        self.subprogs.push((l, arg, bounded));
        if self.d.pct(50) {
            let dst = self.dst_scalar();
            self.a.mov(dst, 0);
        }
    }

    /// `bpf_loop(n, callback, fp - 64, 0)`.
    pub(super) fn bpf_loop(&mut self) {
        if self.d.pct(40) {
            return self.bpf_loop_counter();
        }
        if self.d.pct(30) {
            // A count known only by its bounds (at most 1023 iterations, so
            // that runs stay far below the step limit: a verified program
            // that reaches it is reported).
            let x = self.any_scalar();
            self.a.mov(1, x);
            self.a.alu(Width::W64, AluOp::And, 1, Source::Imm(0x3ff));
        } else {
            let n = self.d.range(0, 8) as i32;
            self.a.movi(1, n);
        }
        let l = self.a.label();
        self.a.ld_func(2, l);
        self.a.mov(3, FP);
        self.a.addi(3, -64);
        self.a.movi(4, 0);
        self.a.call(HELPER_LOOP);
        self.subprogs.push((l, Arg::LoopCallback, false));
        if self.d.pct(50) {
            let dst = self.dst_scalar();
            self.a.mov(dst, 0);
        }
    }

    /// `slot k = 0; bpf_loop(n, counter_callback, fp - 64, 0)`, then
    /// (mostly) `r0 = *(u64 *)(fp - 64 + 8 * slot k)`: the counter is at
    /// most n after the call, a safe index for n <= 7. The verifier must
    /// follow the runs of the callback (each sees the previous one's
    /// write) up to the count.
    fn bpf_loop_counter(&mut self) {
        let k = self.d.range(0, 7) as i16;
        let slot = -64 + 8 * k;
        self.a.movi(3, 0);
        self.a.stx(Size::DW, FP, 3, slot);
        let mut n = self.d.range(0, 7) as i32;
        let index = self.d.pct(70);
        if index && self.mistake("bpf_loop counter indexes past the stack area") {
            n = 8;
        }
        self.a.movi(1, n);
        let l = self.a.label();
        self.a.ld_func(2, l);
        self.a.mov(3, FP);
        self.a.addi(3, -64);
        self.a.movi(4, 0);
        self.a.call(HELPER_LOOP);
        self.subprogs.push((l, Arg::LoopCounter(k), false));
        if index {
            self.a.ldx(Size::DW, 1, FP, slot);
            self.a.alu(Width::W64, AluOp::Lsh, 1, Source::Imm(3));
            self.a.mov(2, FP);
            self.a.addi(2, -64);
            self.a.alu(Width::W64, AluOp::Add, 2, Source::Reg(super::super::asm::r(1)));
            self.a.ldx(Size::DW, 0, 2, 0);
            let dst = self.dst_scalar();
            self.a.mov(dst, 0);
        }
    }

    /// The counter callback: `slot k += 1`; returns 0, or sometimes 1
    /// (stop early).
    fn counter_callback(&mut self, l: Label, k: i16) {
        self.a.bind(l);
        self.a.ldx(Size::DW, 3, 2, 8 * k);
        self.a.addi(3, 1);
        self.a.stx(Size::DW, 2, 3, 8 * k);
        let ret = i32::from(self.d.pct(20));
        self.a.movi(0, ret);
        self.a.exit();
    }

    /// A `bpf_loop` callback: writes the index into slot `index & 7` of
    /// the caller's area, reads another; returns 0 (continue) or 1 (stop).
    pub(super) fn loop_callback(&mut self, l: Label) {
        self.a.bind(l);
        self.a.mov(3, 1);
        let mut mask = 7;
        if self.mistake("callback index mask too wide") {
            mask = 15;
        }
        self.a.alu(Width::W64, AluOp::And, 3, Source::Imm(mask));
        self.a.alu(Width::W64, AluOp::Lsh, 3, Source::Imm(3));
        self.a.mov(4, 2);
        self.a.alu(Width::W64, AluOp::Add, 4, Source::Reg(super::super::asm::r(3)));
        self.a.stx(Size::DW, 4, 1, 0);
        let off = 8 * self.d.range(0, 7) as i16;
        self.a.ldx(Size::DW, 0, 2, off);
        let ret = if self.mistake("callback returns 2") { 2 } else { self.d.range(0, 1) as i32 };
        if self.d.pct(50) {
            self.a.movi(0, ret);
        } else {
            self.a.alu(Width::W64, AluOp::And, 0, Source::Imm(1));
            if ret == 2 {
                self.a.addi(0, 1);
            }
        }
        self.a.exit();
    }

    /// A subprogram: accesses through r1 (constant and masked-r2 offsets),
    /// a little stack of its own, returns a scalar.
    pub(super) fn subprog(&mut self, l: Label, arg: Arg, bounded: bool) {
        let len = match arg {
            Arg::Stack => 64,
            Arg::Ctx => CTX_SIZE,
            Arg::Value(vs) => vs,
            Arg::LoopCallback => return self.loop_callback(l),
            Arg::LoopCounter(k) => return self.counter_callback(l, k),
        };
        self.a.bind(l);
        if bounded {
            self.a.mov(4, 1);
            self.a.alu(Width::W64, AluOp::Add, 4, Source::Reg(super::super::asm::r(2)));
            if self.d.pct(50) {
                self.a.stx(Size::DW, 4, 2, 0);
            } else {
                self.a.ldx(Size::DW, 3, 4, 0);
            }
        }
        self.a.st(Size::DW, FP, -8, 0);
        let n = self.d.range(1, 3);
        for _ in 0..n {
            let size = if len >= 8 { self.size() } else { Size::B };
            let s = size_of(size);
            // Stack and ctx accesses must be aligned.
            let align = if matches!(arg, Arg::Value(_)) { 1 } else { s };
            let (base, off) = if self.d.pct(60) {
                let mut off = self.d.range(0, i64::from((len - s) / align)) as i32 * align;
                if self.mistake("callee access beyond its pointer argument") {
                    off = len - s + align;
                }
                (1, off)
            } else {
                let mut mask = (((len - s) as u32 + 1).next_power_of_two() / 2).saturating_sub(1) as i32;
                mask &= -align;
                if self.mistake("callee variable offset mask too wide") {
                    mask = mask * 2 + align;
                }
                self.a.mov(3, 2);
                self.a.alu(Width::W64, AluOp::And, 3, Source::Imm(mask));
                self.a.mov(4, 1);
                if arg == Arg::Ctx {
                    self.mistakes.push("variable ctx offset in a callee");
                }
                self.a.alu(Width::W64, AluOp::Add, 4, Source::Reg(super::super::asm::r(3)));
                (4, 0)
            };
            if self.d.pct(50) {
                self.a.ldx(size, 0, base, off as i16);
                self.a.stx(Size::DW, FP, 0, -8);
            } else {
                self.a.stx(size, base, 2, off as i16);
            }
        }
        self.a.ldx(Size::DW, 0, FP, -8);
        self.a.exit();
    }

    pub(super) fn scalar_helper(&mut self) {
        let id = self.d.pick(&[HELPER_KTIME, HELPER_PRANDOM, HELPER_CPU]);
        self.a.call(id);
        let dst = self.dst_scalar();
        self.a.mov(dst, 0);
    }

    /// `bpf_trace_printk("v %d\n", ...)` with the string on the stack.
    pub(super) fn printk(&mut self) {
        // "v=%d\n\0" little-endian in one u64 at fp-160.
        let fmt: u64 = u64::from_le_bytes(*b"v=%d\n\0\0\0");
        self.a.ld64(1, fmt);
        self.a.stx(Size::DW, FP, 1, -160);
        self.a.mov(1, FP);
        self.a.addi(1, -160);
        let mut len = 6;
        if self.mistake("trace_printk size beyond the initialised string") {
            len = 8 + 8 * self.d.range(1, 3) as i32;
        }
        self.a.movi(2, len);
        let v = self.any_scalar();
        self.a.mov(3, v);
        self.a.call(HELPER_PRINTK);
    }

    /// `bpf_probe_read_kernel(fp - n, size, src)` then a read of the buffer.
    pub(super) fn probe_read(&mut self) {
        let n = 8 * self.d.range(1, 4) as i32;
        let dst = -160 - n;
        let mut size = self.d.range(1, i64::from(n)) as i32;
        if self.mistake("probe_read size larger than the buffer") {
            size = n + 160 + self.d.range(1, 16) as i32;
        }
        if self.mistake("probe_read size not a constant") {
            let s = self.any_scalar();
            self.a.mov(2, s);
        } else if self.d.pct(25) {
            // The size differs on the two sides of a branch.
            let (w, op, cd, src) = self.cond();
            let taken = self.a.label();
            let join = self.a.label();
            self.a.jmp(w, op, cd, src, taken);
            self.a.movi(2, self.d.range(1, i64::from(n)) as i32);
            self.a.ja(join);
            self.a.bind(taken);
            self.a.movi(2, size);
            self.a.bind(join);
        } else {
            self.a.movi(2, size);
        }
        self.a.mov(1, FP);
        self.a.addi(1, dst);
        match self.d.below(3) {
            0 => self.a.mov(3, CTX),
            1 => {
                let s = self.any_scalar();
                self.a.mov(3, s);
            }
            _ => {
                self.a.mov(3, FP);
                self.a.addi(3, -8);
            }
        }
        self.a.call(HELPER_PROBE_READ_KERNEL);
        let rd = self.dst_scalar();
        self.a.ldx(Size::B, rd, FP, dst as i16);
    }
}
