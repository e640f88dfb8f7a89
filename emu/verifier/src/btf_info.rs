//! The program's BTF function and line information as the verifier uses
//! it: `check_btf_func()` and `check_btf_line()` of kernel/bpf/verifier.c
//! (the record layout checks against the subprograms found by the CFG
//! pass), and the source line lookup of `verbose_linfo()` in
//! kernel/bpf/log.c.
//!
//! The verifier knows no BTF: `BPF_PROG_LOAD` (the kernel crate) decodes
//! the records, checks their sizes and the early rules of
//! `check_btf_func_early()` (first record at 0, increasing offsets, FUNC
//! type ids), resolves names, source lines and, for global functions, the
//! prototype (`btf_prepare_func_args()`), and hands the result over as a
//! [`ProgBtfInfo`].

use crate::errno::EINVAL;
use bpfemu_isa::{CallTarget, Instruction};

/// `MAX_BPF_FUNC_REG_ARGS`.
pub const MAX_BPF_FUNC_REG_ARGS: usize = 5;

/// A global function's argument as `btf_prepare_func_args()` converts
/// it (`struct bpf_subprog_arg_info`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SubprogArg {
    /// An integer or enum: `ARG_ANYTHING`, the callee sees an unknown scalar.
    Scalar,
    /// A pointer to the program type's ctx (by the ctx struct's name, or
    /// tagged `__arg_ctx`): `ARG_PTR_TO_CTX`.
    Ctx,
    /// A pointer to a type of known size: `ARG_PTR_TO_MEM` of `size`
    /// bytes, `PTR_MAYBE_NULL` unless tagged `__arg_nonnull`.
    Mem { size: u32, nullable: bool },
}

/// One `bpf_func_info` record, resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FuncInfo {
    /// First instruction of the function.
    pub insn_off: u32,
    /// The FUNC's id in the program's BTF (`bpf_func_info.type_id`).
    pub type_id: u32,
    /// The FUNC's name (`subprog_name()`).
    pub name: String,
    /// `BTF_FUNC_GLOBAL` linkage.
    pub global: bool,
    /// The prototype returns an integer or enum (`scalar_return` of
    /// `check_btf_func()`, after modifiers).
    pub ret_scalar: bool,
    /// For a global function: its arguments, or the message
    /// `btf_prepare_func_args()` rejects the prototype with (`EINVAL`).
    pub args: Result<Vec<SubprogArg>, String>,
}

/// One `bpf_line_info` record, its strings resolved. `None` for an
/// offset outside the BTF string section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LineInfo {
    pub insn_off: u32,
    pub file_name_off: u32,
    pub file: Option<String>,
    pub line: Option<String>,
    /// `BPF_LINE_INFO_LINE_NUM(line_col)`.
    pub line_num: u32,
}

/// The BTF facts of one `BPF_PROG_LOAD`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProgBtfInfo {
    pub funcs: Vec<FuncInfo>,
    pub lines: Vec<LineInfo>,
}

/// Whether a subprogram uses `LD_ABS`/`LD_IND` or `bpf_tail_call`.
fn uses_ld_abs_or_tail_call(prog: &[(usize, Instruction)], start: usize, end: usize) -> (bool, bool) {
    let mut ld_abs = false;
    let mut tail = false;
    for (at, ins) in prog {
        if *at < start || *at >= end {
            continue;
        }
        match ins {
            Instruction::LdPacket { .. } => ld_abs = true,
            Instruction::Call(CallTarget::Helper(12)) => tail = true,
            _ => {}
        }
    }
    (ld_abs, tail)
}

/// `check_abnormal_return()` (kernel/bpf/verifier.c), run by
/// `check_btf_info()` / `check_btf_func()` when the load has no func_info
/// (`func_info_cnt == 0`, with or without line_info): a subprogram other
/// than the main program may not use `LD_ABS`/`LD_IND` (checked first)
/// nor `bpf_tail_call`, since without BTF nothing tells that it returns an
/// `int` (either may end the program from inside the subprogram).
/// `EINVAL` with the kernel's message.
pub fn check_abnormal_return(
    subprogs: &[usize],
    prog: &[(usize, Instruction)],
    len: usize,
) -> Result<(), (i32, String)> {
    for (i, &start) in subprogs.iter().enumerate().skip(1) {
        let end = subprogs.get(i + 1).copied().unwrap_or(len);
        let (ld_abs, tail) = uses_ld_abs_or_tail_call(prog, start, end);
        if ld_abs {
            return Err((EINVAL, "LD_ABS is not allowed in subprogs without BTF".into()));
        }
        if tail {
            return Err((EINVAL, "tail_call is not allowed in subprogs without BTF".into()));
        }
    }
    Ok(())
}

/// `check_btf_func()` (the part after the subprograms are known) and
/// `check_btf_line()`: the log message and errno of the first rule
/// broken. `subprogs` are the start slots (0 first), `prog` the decoded
/// program, `len` its length in slots. A load without func_info goes
/// through [`check_abnormal_return`] instead of the func_info rules.
pub fn check(
    info: &ProgBtfInfo,
    subprogs: &[usize],
    prog: &[(usize, Instruction)],
    len: usize,
) -> Result<(), (i32, String)> {
    check_func(info, subprogs, prog, len)?;
    check_line(info, subprogs, prog, len)
}

fn check_func(
    info: &ProgBtfInfo,
    subprogs: &[usize],
    prog: &[(usize, Instruction)],
    len: usize,
) -> Result<(), (i32, String)> {
    if info.funcs.is_empty() {
        return check_abnormal_return(subprogs, prog, len);
    }
    if info.funcs.len() != subprogs.len() {
        return Err((EINVAL, "number of funcs in func_info doesn't match number of subprogs".into()));
    }
    for (i, (f, &start)) in info.funcs.iter().zip(subprogs).enumerate() {
        if f.insn_off as usize != start {
            return Err((EINVAL, "func_info BTF section doesn't match subprog layout in BPF program".into()));
        }
        if i == 0 || f.ret_scalar {
            continue;
        }
        let end = subprogs.get(i + 1).copied().unwrap_or(len);
        let (ld_abs, tail) = uses_ld_abs_or_tail_call(prog, start, end);
        if ld_abs {
            return Err((EINVAL, "LD_ABS is only allowed in functions that return 'int'.".into()));
        }
        if tail {
            return Err((EINVAL, "tail_call is only allowed in functions that return 'int'.".into()));
        }
    }
    Ok(())
}

fn check_line(
    info: &ProgBtfInfo,
    subprogs: &[usize],
    prog: &[(usize, Instruction)],
    len: usize,
) -> Result<(), (i32, String)> {
    if info.lines.is_empty() {
        return Ok(());
    }
    let mut s = 0;
    let mut prev = 0u32;
    for (i, l) in info.lines.iter().enumerate() {
        if (i > 0 && l.insn_off <= prev) || l.insn_off as usize >= len {
            return Err((
                EINVAL,
                format!(
                    "Invalid line_info[{i}].insn_off:{} (prev_offset:{prev} prog->len:{len})",
                    l.insn_off
                ),
            ));
        }
        // The second slot of a ld_imm64 has code 0.
        if prog.binary_search_by_key(&(l.insn_off as usize), |(at, _)| *at).is_err() {
            return Err((EINVAL, format!("Invalid insn code at line_info[{i}].insn_off")));
        }
        if l.line.is_none() || l.file.is_none() {
            return Err((EINVAL, format!("Invalid line_info[{i}].line_off or .file_name_off")));
        }
        if let Some(&start) = subprogs.get(s) {
            if l.insn_off as usize == start {
                s += 1;
            } else if start < l.insn_off as usize {
                return Err((EINVAL, format!("missing bpf_line_info for func#{s}")));
            }
        }
        prev = l.insn_off;
    }
    if s != subprogs.len() {
        return Err((
            EINVAL,
            format!("missing bpf_line_info for {} funcs starting from func#{s}", subprogs.len() - s),
        ));
    }
    Ok(())
}

impl ProgBtfInfo {
    /// The line record covering slot `insn` (`find_linfo()`): the last one
    /// starting at or before it.
    pub fn find_line(&self, insn: usize) -> Option<usize> {
        let n = self.lines.partition_point(|l| l.insn_off as usize <= insn);
        n.checked_sub(1)
    }

    /// The log text of line record `idx` (`verbose_linfo()` without its
    /// prefix): the source line without leading white space, then ` @ `
    /// and the file's base name and line number.
    pub fn line_text(&self, idx: usize) -> Option<String> {
        let l = self.lines.get(idx)?;
        let src = l.line.as_deref().unwrap_or("").trim_start();
        let file = l.file.as_deref().unwrap_or("");
        let base = file.rsplit('/').next().unwrap_or(file);
        Some(format!("{src} @ {base}:{}", l.line_num))
    }

    /// Whether records `a` and `b` name the same file and line (the
    /// kernel prints such a line once).
    pub fn same_line(&self, a: usize, b: usize) -> bool {
        match (self.lines.get(a), self.lines.get(b)) {
            (Some(x), Some(y)) => x.file_name_off == y.file_name_off && x.line_num == y.line_num,
            _ => false,
        }
    }

    /// The global function starting at `start`, with its index.
    pub fn global_at(&self, start: usize) -> Option<(usize, &FuncInfo)> {
        self.funcs.iter().enumerate().find(|(_, f)| f.global && f.insn_off as usize == start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bpfemu_isa::{Insn, decode_program};

    fn func(off: u32, global: bool) -> FuncInfo {
        FuncInfo {
            insn_off: off,
            type_id: 0,
            name: format!("f{off}"),
            global,
            ret_scalar: true,
            args: Ok(vec![]),
        }
    }

    fn line(off: u32, n: u32) -> LineInfo {
        LineInfo {
            insn_off: off,
            file_name_off: 1,
            file: Some("/a/b.c".into()),
            line: Some("  x;".into()),
            line_num: n,
        }
    }

    fn prog() -> Vec<(usize, Instruction)> {
        // r0 = 0; call pc+1; exit; r0 = 1; exit
        let insns = [
            Insn::new(0xb7, 0, 0, 0, 0),
            Insn::new(0x85, 0, 1, 0, 1),
            Insn::new(0x95, 0, 0, 0, 0),
            Insn::new(0xb7, 0, 0, 0, 1),
            Insn::new(0x95, 0, 0, 0, 0),
        ];
        decode_program(&insns).unwrap()
    }

    #[test]
    fn func_layout() {
        let p = prog();
        let ok = ProgBtfInfo { funcs: vec![func(0, false), func(3, true)], lines: vec![] };
        assert_eq!(check(&ok, &[0, 3], &p, 5), Ok(()));
        let short = ProgBtfInfo { funcs: vec![func(0, false)], lines: vec![] };
        assert_eq!(
            check(&short, &[0, 3], &p, 5).unwrap_err().1,
            "number of funcs in func_info doesn't match number of subprogs"
        );
        let moved = ProgBtfInfo { funcs: vec![func(0, false), func(2, true)], lines: vec![] };
        assert_eq!(
            check(&moved, &[0, 3], &p, 5).unwrap_err().1,
            "func_info BTF section doesn't match subprog layout in BPF program"
        );
    }

    #[test]
    fn abnormal_return_without_func_info() {
        // r0 = 0; call pc+1; exit; <sub: LD_ABS or tail call>; r0 = 0; exit
        let with = |sub: Insn| {
            let insns = [
                Insn::new(0xb7, 0, 0, 0, 0),
                Insn::new(0x85, 0, 1, 0, 1),
                Insn::new(0x95, 0, 0, 0, 0),
                sub,
                Insn::new(0xb7, 0, 0, 0, 0),
                Insn::new(0x95, 0, 0, 0, 0),
            ];
            decode_program(&insns).unwrap()
        };
        let ld_abs = with(Insn::new(0x30, 0, 0, 0, 0));
        let tail = with(Insn::new(0x85, 0, 0, 0, 12));
        let plain = with(Insn::new(0xb7, 0, 0, 0, 1));
        assert_eq!(
            check_abnormal_return(&[0, 3], &ld_abs, 6),
            Err((EINVAL, "LD_ABS is not allowed in subprogs without BTF".into()))
        );
        assert_eq!(
            check_abnormal_return(&[0, 3], &tail, 6),
            Err((EINVAL, "tail_call is not allowed in subprogs without BTF".into()))
        );
        assert_eq!(check_abnormal_return(&[0, 3], &plain, 6), Ok(()));
        // In the main program both are fine.
        assert_eq!(check_abnormal_return(&[0], &tail, 6), Ok(()));
        // Line info alone does not count as func_info.
        let lines = ProgBtfInfo { funcs: vec![], lines: vec![line(0, 1), line(3, 2)] };
        assert_eq!(
            check(&lines, &[0, 3], &tail, 6).unwrap_err().1,
            "tail_call is not allowed in subprogs without BTF"
        );
        // With func_info (an int-returning subprogram), both are allowed.
        let funcs = ProgBtfInfo { funcs: vec![func(0, false), func(3, false)], lines: vec![] };
        assert_eq!(check(&funcs, &[0, 3], &tail, 6), Ok(()));
        assert_eq!(check(&funcs, &[0, 3], &ld_abs, 6), Ok(()));
    }

    #[test]
    fn line_rules() {
        let p = prog();
        let mk = |lines| ProgBtfInfo { funcs: vec![], lines };
        assert_eq!(check(&mk(vec![line(0, 1), line(3, 2)]), &[0, 3], &p, 5), Ok(()));
        assert_eq!(
            check(&mk(vec![line(0, 1), line(0, 2)]), &[0, 3], &p, 5).unwrap_err().1,
            "Invalid line_info[1].insn_off:0 (prev_offset:0 prog->len:5)"
        );
        assert_eq!(
            check(&mk(vec![line(0, 1), line(5, 2)]), &[0, 3], &p, 5).unwrap_err().1,
            "Invalid line_info[1].insn_off:5 (prev_offset:0 prog->len:5)"
        );
        assert_eq!(
            check(&mk(vec![line(0, 1), line(4, 2)]), &[0, 3], &p, 5).unwrap_err().1,
            "missing bpf_line_info for func#1"
        );
        assert_eq!(
            check(&mk(vec![line(0, 1), line(1, 2)]), &[0, 3], &p, 5).unwrap_err().1,
            "missing bpf_line_info for 1 funcs starting from func#1"
        );
        assert_eq!(
            check(&mk(vec![line(1, 1)]), &[0, 3], &p, 5).unwrap_err().1,
            "missing bpf_line_info for func#0"
        );
        let mut bad = line(0, 1);
        bad.line = None;
        assert_eq!(
            check(&mk(vec![bad]), &[0], &p, 5).unwrap_err().1,
            "Invalid line_info[0].line_off or .file_name_off"
        );
    }

    #[test]
    fn lookup_and_text() {
        let info = ProgBtfInfo { funcs: vec![], lines: vec![line(0, 7), line(3, 9)] };
        assert_eq!(info.find_line(0), Some(0));
        assert_eq!(info.find_line(2), Some(0));
        assert_eq!(info.find_line(4), Some(1));
        assert_eq!(info.line_text(1).unwrap(), "x; @ b.c:9");
        assert!(!info.same_line(0, 1));
    }
}
