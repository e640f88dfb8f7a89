//! The verifier log (`struct bpf_verifier_log`, `kernel/bpf/log.c`).
//!
//! The user passes a buffer of `log_size` bytes and a `log_level`:
//! * bit 0 (`BPF_LOG_LEVEL1`): every instruction as it is checked with
//!   the registers it touched (`0: (b7) r0 = 1   ; R0=1`), errors and the
//!   final statistics line; the walk rewinds the log when it abandons a
//!   path, so what remains is the failing path (`pop_stack()`'s log reset);
//! * bit 1 (`BPF_LOG_LEVEL2`): the same, keeping every path, with the full
//!   state where a path resumes (`from 3 to 5: ...`);
//! * bit 2 (`BPF_LOG_STATS`): the statistics block (verification time,
//!   stack depth) before the final line;
//! * bit 3 (`BPF_LOG_FIXED`): keep the log's *beginning* when it does not
//!   fit; by default (since Linux 6.4) the log rotates and keeps its *end*.
//!
//! The text always ends with a NUL within `log_size`, so `log_size - 1`
//! bytes of text fit. The full size the log needed (text + NUL) is reported
//! back (`log_true_size`); a load whose log was truncated fails with
//! `ENOSPC` if nothing else failed first.

use crate::errno::{EINVAL, ENOSPC};
use bpfemu_isa::Instruction;
use std::fmt;

pub const BPF_LOG_LEVEL1: u32 = 1;
pub const BPF_LOG_LEVEL2: u32 = 2;
pub const BPF_LOG_STATS: u32 = 4;
pub const BPF_LOG_FIXED: u32 = 8;
pub const BPF_LOG_MASK: u32 = BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS | BPF_LOG_FIXED;

/// `BPF_COMPLEXITY_LIMIT_INSNS`.
pub const COMPLEXITY_LIMIT_INSNS: u32 = 1_000_000;

/// A log error, carrying its errno.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogError {
    /// Inconsistent log attributes (`EINVAL`).
    BadAttr,
    /// The log did not fit the buffer (`ENOSPC`).
    Truncated,
}

impl LogError {
    pub fn errno(self) -> i32 {
        match self {
            LogError::BadAttr => EINVAL,
            LogError::Truncated => ENOSPC,
        }
    }
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogError::BadAttr => write!(f, "invalid log attributes"),
            LogError::Truncated => write!(f, "verifier log truncated"),
        }
    }
}

impl std::error::Error for LogError {}

/// The log being written: everything is kept here; what the user buffer
/// receives is computed by [`VerifierLog::user_text`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VerifierLog {
    level: u32,
    /// `log_size` (0 when there is no buffer).
    size: usize,
    text: String,
}

impl VerifierLog {
    /// Validates the attributes as `bpf_vlog_init()` does: a buffer needs a
    /// size and vice versa, a buffer needs a non-zero level, the level only
    /// known bits, the size at most `u32::MAX >> 2`.
    pub fn new(level: u32, has_buf: bool, size: u32) -> Result<VerifierLog, LogError> {
        if has_buf != (size != 0) || (has_buf && level == 0) || level & !BPF_LOG_MASK != 0 {
            return Err(LogError::BadAttr);
        }
        if size > u32::MAX >> 2 {
            return Err(LogError::BadAttr);
        }
        // Without a buffer nothing is written whatever the level.
        let level = if has_buf { level } else { 0 };
        Ok(VerifierLog { level, size: size as usize, text: String::new() })
    }

    /// A log that keeps nothing.
    pub fn disabled() -> VerifierLog {
        VerifierLog::default()
    }

    pub fn level(&self) -> u32 {
        self.level
    }

    /// Errors and the summary are written (any level).
    pub fn enabled(&self) -> bool {
        self.level & (BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS) != 0
    }

    /// Instructions and states are written (`BPF_LOG_LEVEL`: level 1 or 2).
    pub fn insns(&self) -> bool {
        self.level & (BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2) != 0
    }

    /// Every path is kept in the log (`BPF_LOG_LEVEL2`).
    pub fn level2(&self) -> bool {
        self.level & BPF_LOG_LEVEL2 != 0
    }

    /// The statistics block is written (`BPF_LOG_STATS`).
    pub fn stats(&self) -> bool {
        self.level & BPF_LOG_STATS != 0
    }

    fn fixed(&self) -> bool {
        self.level & BPF_LOG_FIXED != 0
    }

    /// Appends text as is (`verbose()`).
    pub fn write(&mut self, s: &str) {
        if self.enabled() {
            self.text.push_str(s);
        }
    }

    /// Appends one line.
    pub fn line(&mut self, s: &str) {
        if self.enabled() {
            self.text.push_str(s);
            self.text.push('\n');
        }
    }

    /// Line for the instruction at `idx` (levels 1 and 2, as the kernel's
    /// `print_bpf_insn()` under `BPF_LOG_LEVEL`): `idx: (code) text`.
    pub fn insn(&mut self, idx: usize, ins: &Instruction) {
        if self.insns() {
            let line = insn_line(idx, ins);
            self.line(&line);
        }
    }

    /// Length of the text written so far (`log->end_pos`).
    pub fn pos(&self) -> usize {
        self.text.len()
    }

    /// Drops everything written after `pos` (`bpf_vlog_reset()`).
    pub fn reset(&mut self, pos: usize) {
        if pos <= self.text.len() && self.text.is_char_boundary(pos) {
            self.text.truncate(pos);
        }
    }

    /// Everything written, untruncated.
    pub fn full_text(&self) -> &str {
        &self.text
    }

    /// `log_true_size`: bytes the whole log needs, its NUL included
    /// (0 with no log).
    pub fn true_size(&self) -> u32 {
        if self.enabled() { (self.text.len() + 1).min(u32::MAX as usize) as u32 } else { 0 }
    }

    /// Whether the text does not fit the buffer.
    pub fn truncated(&self) -> bool {
        self.enabled() && self.text.len() + 1 > self.size
    }

    /// The text the user buffer holds (without the NUL): its first
    /// `log_size - 1` bytes in fixed mode, its last ones otherwise. A cut
    /// never splits a UTF-8 character (the kernel cuts bytes; the log is
    /// ASCII in practice).
    pub fn user_text(&self) -> &str {
        if !self.enabled() {
            return "";
        }
        let room = self.size.saturating_sub(1);
        let t = &self.text;
        if t.len() <= room {
            return t;
        }
        if self.fixed() {
            let mut cut = room;
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            &t[..cut]
        } else {
            let mut cut = t.len() - room;
            while !t.is_char_boundary(cut) {
                cut += 1;
            }
            &t[cut..]
        }
    }

    /// The outcome of an otherwise successful load (`bpf_vlog_finalize()`):
    /// `ENOSPC` if the log was truncated.
    pub fn finish(&self) -> Result<(), LogError> {
        if self.truncated() { Err(LogError::Truncated) } else { Ok(()) }
    }
}

/// The verifier's final line (`print_verification_stats()`).
pub fn stats_line(
    processed: u32,
    max_states_per_insn: u32,
    total_states: u32,
    peak_states: u32,
    mark_read: u32,
) -> String {
    format!(
        "processed {processed} insns (limit {COMPLEXITY_LIMIT_INSNS}) max_states_per_insn {max_states_per_insn} \
         total_states {total_states} peak_states {peak_states} mark_read {mark_read}"
    )
}

/// The `BPF_LOG_STATS` lines before it: verification time and each
/// subprogram's stack depth joined by `+`.
pub fn stats_block(verification_time_usec: u64, stack_depths: &[u32]) -> String {
    let depths: Vec<String> = stack_depths.iter().map(u32::to_string).collect();
    format!("verification time {verification_time_usec} usec\nstack depth {}\n", depths.join("+"))
}

/// `idx: (code) text`, the form the log prints each instruction in.
pub fn insn_line(idx: usize, ins: &Instruction) -> String {
    let code = ins.encode().first().map_or(0, |i| i.code);
    format!("{idx}: ({code:02x}) {}", bpfemu_isa::disasm::disasm_insn(ins))
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfemu_isa::{AluOp, Reg, Source, Width};

    #[test]
    fn attribute_checks() {
        assert_eq!(VerifierLog::new(1, true, 0), Err(LogError::BadAttr));
        assert_eq!(VerifierLog::new(1, false, 100), Err(LogError::BadAttr));
        assert_eq!(VerifierLog::new(0, true, 100), Err(LogError::BadAttr));
        assert_eq!(VerifierLog::new(16, true, 100), Err(LogError::BadAttr));
        assert_eq!(VerifierLog::new(1, true, u32::MAX), Err(LogError::BadAttr));
        assert_eq!(LogError::BadAttr.errno(), EINVAL);
        // A level without a buffer writes nothing.
        let mut l = VerifierLog::new(1, false, 0).unwrap();
        l.line("x");
        assert_eq!((l.user_text(), l.true_size(), l.finish()), ("", 0, Ok(())));
    }

    #[test]
    fn levels() {
        let ins = Instruction::Alu { width: Width::W64, op: AluOp::Mov, dst: Reg::R0, src: Source::Imm(1) };
        assert_eq!(insn_line(0, &ins), "0: (b7) r0 = 1");
        let mut l1 = VerifierLog::new(BPF_LOG_LEVEL1, true, 1000).unwrap();
        let mut l2 = VerifierLog::new(BPF_LOG_LEVEL2, true, 1000).unwrap();
        for l in [&mut l1, &mut l2] {
            l.insn(0, &ins);
            l.line("R0 !read_ok");
        }
        assert_eq!(l1.user_text(), "0: (b7) r0 = 1\nR0 !read_ok\n");
        let pos = l1.pos();
        l1.line("dropped");
        l1.reset(pos);
        assert_eq!(l1.user_text(), "0: (b7) r0 = 1\nR0 !read_ok\n");
        assert_eq!(l2.user_text(), "0: (b7) r0 = 1\nR0 !read_ok\n");
        assert!(VerifierLog::new(BPF_LOG_STATS, true, 10).unwrap().stats());
        assert!(VerifierLog::disabled().finish().is_ok());
    }

    #[test]
    fn stats_format() {
        assert_eq!(
            stats_line(2, 0, 0, 0, 0),
            "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0"
        );
        assert_eq!(stats_block(9, &[16, 0, 8]), "verification time 9 usec\nstack depth 16+0+8\n");
    }

    #[test]
    fn truncation() {
        // Fits exactly: 9 bytes of text + NUL in 10.
        let mut l = VerifierLog::new(1, true, 10).unwrap();
        l.write("123456789");
        assert_eq!((l.user_text(), l.true_size(), l.finish()), ("123456789", 10, Ok(())));
        // One more byte: rotating mode keeps the end.
        l.write("a");
        assert_eq!((l.user_text(), l.true_size()), ("23456789a", 11));
        assert_eq!(l.finish(), Err(LogError::Truncated));
        assert_eq!(LogError::Truncated.errno(), ENOSPC);
        // Fixed mode keeps the beginning.
        let mut f = VerifierLog::new(BPF_LOG_LEVEL1 | BPF_LOG_FIXED, true, 10).unwrap();
        f.write("123456789a");
        assert_eq!((f.user_text(), f.true_size()), ("123456789", 11));
        assert!(f.truncated());
        assert_eq!(f.full_text(), "123456789a");
    }
}
