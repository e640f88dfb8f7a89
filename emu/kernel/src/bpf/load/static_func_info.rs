//! Not kernel code: a loader's fixture, used by a scenario's `prog ...
//! func_info=static`, by tests and by hostcmp. It builds the BTF func_info
//! clang emits for a program whose functions are all `static`: one
//! `BTF_KIND_FUNC` per function (the program and each subprogram), each of
//! prototype `int (void)`, with one `bpf_func_info` record (`insn_off`,
//! `type_id`) per function start. The kernel needs it for callbacks
//! (`check_ld_imm()` in kernel/bpf/verifier.c: "missing btf func_info"
//! without it, "callback function not static" for a global callee), and
//! matches the records against the subprograms (`check_btf_func()`).

use bpfemu_btf::ext::{FuncInfoRec, encode_func_info};
use bpfemu_btf::{Btf, FuncLinkage, IntEncoding};
use bpfemu_isa::{CallTarget, Insn, Instruction, LdImm64, decode_program};

/// The function starts of `insns`: instruction 0, the targets of bpf2bpf
/// calls and of `BPF_PSEUDO_FUNC` loads, sorted (`add_subprog_and_kfunc()`).
/// Instructions that do not decode end the scan.
pub fn subprog_starts(insns: &[Insn]) -> Vec<u32> {
    let mut starts = vec![0i64];
    let prog = decode_program(insns).unwrap_or_default();
    for (slot, ins) in &prog {
        let next = *slot as i64 + 1;
        match ins {
            Instruction::Call(CallTarget::Local(imm)) => starts.push(next + i64::from(*imm)),
            Instruction::LdImm64 { src: LdImm64::Func(off), .. } => starts.push(next + i64::from(*off)),
            _ => {}
        }
    }
    let mut starts: Vec<u32> = starts.into_iter().filter_map(|s| u32::try_from(s).ok()).collect();
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// A C identifier from a program name (BTF FUNC names must be valid).
fn ident(name: &str) -> String {
    let mut s: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if s.is_empty() || s.starts_with(|c: char| c.is_ascii_digit()) {
        s.insert(0, '_');
    }
    s
}

/// The BTF blob (for `BPF_BTF_LOAD`) and the func_info records
/// (`insn_off`, `type_id`; 8-byte records once encoded) of a program of
/// static functions: `int` (id 1), `int (void)` (id 2), then one static
/// FUNC per function start — the first named `name`, the others
/// `sub_<insn_off>`.
pub fn static_func_info(name: &str, insns: &[Insn]) -> (Vec<u8>, Vec<(u32, u32)>) {
    let mut btf = Btf::new();
    let int = btf.add_int("int", 4, IntEncoding::Signed);
    let proto = btf.add_func_proto(int, &[], false);
    let recs: Vec<(u32, u32)> = subprog_starts(insns)
        .into_iter()
        .map(|off| {
            let fname = if off == 0 { ident(name) } else { format!("sub_{off}") };
            (off, btf.add_func(&fname, proto, FuncLinkage::Static))
        })
        .collect();
    let data = btf.encode().expect("a BTF of an int, a prototype and FUNCs encodes");
    (data, recs)
}

/// `recs` as the bytes of `bpf_func_info` records.
pub fn encode_records(recs: &[(u32, u32)]) -> Vec<u8> {
    let recs: Vec<FuncInfoRec> =
        recs.iter().map(|&(insn_off, type_id)| FuncInfoRec { insn_off, type_id }).collect();
    encode_func_info(&recs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_static_func_per_subprogram() {
        let insns = bpfemu_isa::asm::kernel::assemble(
            "r1 = 1\nr2 = subprog[+4]\ncall pc+4\nr0 = 0\nexit\nr0 = 0\nexit\nr0 = 1\nexit",
        )
        .unwrap();
        let (data, recs) = static_func_info("my-prog", &insns);
        assert_eq!(recs, vec![(0, 3), (6, 4), (8, 5)]);
        let btf = bpfemu_btf::decode::decode(&data).unwrap();
        assert_eq!(btf.name(3), "my_prog");
        assert_eq!(btf.name(4), "sub_6");
        assert!(matches!(
            btf.kind(5),
            Some(bpfemu_btf::model::Kind::Func { linkage: FuncLinkage::Static, .. })
        ));
        assert_eq!(encode_records(&recs).len(), 24);
    }
}
