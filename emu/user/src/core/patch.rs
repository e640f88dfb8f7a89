//! Patching one instruction with a resolved CO-RE relocation
//! (libbpf's `bpf_core_patch_insn` and `bpf_core_poison_insn`,
//! `tools/lib/bpf/relo_core.c`).
//!
//! Patchable: ALU/ALU64 with an immediate (`imm`), LDX/ST/STX (`off`, and
//! the access size when the field changed size), and ld_imm64 (both
//! halves of the 64-bit immediate). Before patching, the instruction must
//! hold the value computed from the local BTF (unless the relocation kind
//! makes that check meaningless), as in libbpf.

use bpfemu_isa::Insn;
use bpfemu_isa::opcode::*;

use super::error::CoreError;
use super::{CoreRelo, Resolution};

/// libbpf's poison helper id: `call 0xbad2310` ("bad relo"); the verifier
/// rejects it as `invalid func unknown#195896080` if it is reachable.
pub const POISON_HELPER_ID: i32 = 0xbad2310;

const LD_IMM64: u8 = BPF_LD | BPF_IMM | BPF_DW;

fn poison(insn: &mut Insn) {
    *insn = Insn::new(BPF_JMP | BPF_CALL, 0, 0, 0, POISON_HELPER_ID);
}

fn size_bytes(code: u8) -> i32 {
    match code & 0x18 {
        BPF_DW => 8,
        BPF_W => 4,
        BPF_H => 2,
        _ => 1,
    }
}

fn size_code(bytes: u32) -> Option<u8> {
    Some(match bytes {
        8 => BPF_DW,
        4 => BPF_W,
        2 => BPF_H,
        1 => BPF_B,
        _ => return None,
    })
}

fn poison_at(insns: &mut [Insn], idx: usize) {
    if insns[idx].code == LD_IMM64
        && let Some(next) = insns.get_mut(idx + 1)
    {
        poison(next);
    }
    poison(&mut insns[idx]);
}

/// Applies `res` to the instruction at `relo.insn_idx` of `insns` (a
/// program's instructions, in that program's frame of reference).
pub fn apply(insns: &mut [Insn], relo: &CoreRelo, res: &Resolution) -> Result<(), CoreError> {
    let r = relo.relo_idx;
    let idx = relo.insn_idx;
    if idx >= insns.len() {
        return Err(CoreError::InsnOutOfRange { relo: r, insn: idx, len: insns.len() });
    }
    if res.poison {
        poison_at(insns, idx);
        return Ok(());
    }
    let (orig, new) = (res.orig, res.new);
    let insn = insns[idx];
    match class(insn.code) {
        BPF_ALU | BPF_ALU64 => {
            if insn.code & BPF_X != 0 {
                return Err(CoreError::AluRegSource { relo: r, insn: idx });
            }
            // The C code compares a sign-extended s32 with a u64.
            let got = i64::from(insn.imm) as u64;
            if res.validate && got != orig {
                return Err(CoreError::UnexpectedValue {
                    relo: r,
                    insn: idx,
                    class: "ALU/ALU64",
                    got: u64::from(insn.imm as u32),
                    exp: orig,
                    new,
                });
            }
            insns[idx].imm = new as i32;
        }
        BPF_LDX | BPF_ST | BPF_STX => {
            let got = i64::from(insn.off) as u64;
            if res.validate && got != orig {
                return Err(CoreError::UnexpectedValue {
                    relo: r,
                    insn: idx,
                    class: "LDX/ST/STX",
                    got: u64::from(insn.off as u16),
                    exp: orig,
                    new,
                });
            }
            if new > i16::MAX as u64 {
                return Err(CoreError::ValueTooBig { relo: r, insn: idx, new });
            }
            if res.fail_memsz_adjust {
                // libbpf warns "accesses field incorrectly" and poisons.
                poison_at(insns, idx);
                return Ok(());
            }
            insns[idx].off = new as i16;
            if res.new_sz != res.orig_sz {
                let got = size_bytes(insn.code);
                if got as u32 != res.orig_sz {
                    return Err(CoreError::UnexpectedMemSize { relo: r, insn: idx, got, exp: res.orig_sz });
                }
                let Some(sz) = size_code(res.new_sz) else {
                    return Err(CoreError::InvalidNewMemSize { relo: r, insn: idx, new: res.new_sz });
                };
                insns[idx].code = (insn.code & 0xe0) | sz | class(insn.code);
            }
        }
        BPF_LD => {
            let second = insns.get(idx + 1).copied();
            let ok = insn.code == LD_IMM64
                && insn.src == 0
                && insn.off == 0
                && second.is_some_and(|s| s.code == 0 && s.dst == 0 && s.src == 0 && s.off == 0);
            let Some(second) = second.filter(|_| ok) else {
                return Err(CoreError::LdImm64Form { relo: r, insn: idx });
            };
            let got = u64::from(insn.imm as u32) | (u64::from(second.imm as u32) << 32);
            if res.validate && got != orig {
                return Err(CoreError::UnexpectedValue {
                    relo: r,
                    insn: idx,
                    class: "LDIMM64",
                    got,
                    exp: orig,
                    new,
                });
            }
            insns[idx].imm = new as u32 as i32;
            insns[idx + 1].imm = (new >> 32) as u32 as i32;
        }
        _ => {
            return Err(CoreError::UnrecognizedInsn {
                relo: r,
                insn: idx,
                code: insn.code,
                src: insn.src,
                dst: insn.dst,
                off: insn.off,
                imm: insn.imm,
            });
        }
    }
    Ok(())
}
