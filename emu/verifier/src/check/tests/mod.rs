//! Walk tests: small programs in the kernel's pseudo-C syntax against a
//! mock program type, accepted or rejected with the kernel's message.

mod alu;
mod btf_ops;
mod dynptr;
mod helper_mem;
mod jmp;
mod mem;
mod prune;
mod random;
mod ret32;
mod sound;
mod stack_live;

use crate::check::{VerifyError, VerifyOutcome, verify};
use crate::env::{
    Access, CtxAccess, CtxField, MapInfo, ProgTypeOps, PseudoKind, PseudoLoad, VerifyInput, VerifyOptions,
};
use crate::log::VerifierLog;
use crate::proto::FuncProto;
use bpfemu_isa::{Instruction, LdImm64};

/// A program type with a 24-byte ctx:
/// * 0..8: two u32 scalar fields, read and write, any size;
/// * 8: u32 `data` (packet), 12: u32 `data_end`, 16: u32 `data_meta`
///   (4-byte reads only);
/// * 20: u32 read-only scalar;
/// * 16 read as u64: a `task` object (BTF id 1) or NULL; `task` has
///   8 readable bytes and at 8 a pointer to a `file` (BTF id 2) whose
///   first u32 may be read and written;
///
/// direct packet reads and writes, legacy packet loads.
pub(crate) struct Mock;

impl ProgTypeOps for Mock {
    fn name(&self) -> &str {
        "mock"
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        crate::proto::proto(id)
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        let field = match off {
            0..=7 if off as u32 + size <= 8 => CtxField::Scalar,
            16 if size == 8 && access == Access::Read => {
                CtxField::BtfId { btf_id: 1, maybe_null: true, trusted: false }
            }
            8 | 12 | 16 if size == 4 && access == Access::Read => match off {
                8 => CtxField::Packet,
                12 => CtxField::PacketEnd,
                _ => CtxField::PacketMeta,
            },
            20 if size == 4 && access == Access::Read => CtxField::Scalar,
            _ => return None,
        };
        Some(CtxAccess { field, field_size: 0 })
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        None
    }

    fn packet_access(&self) -> (bool, bool) {
        (true, true)
    }

    fn ld_abs_allowed(&self) -> bool {
        true
    }

    fn btf_struct_access(
        &self,
        btf_id: u32,
        off: i32,
        size: u32,
        access: Access,
    ) -> Result<CtxField, String> {
        match (btf_id, off, size, access) {
            (1, 0..=7, _, Access::Read) if off as u32 + size <= 8 => Ok(CtxField::Scalar),
            (1, 8, 8, Access::Read) => Ok(CtxField::BtfId { btf_id: 2, maybe_null: false, trusted: false }),
            (2, 0, 4, _) => Ok(CtxField::Scalar),
            _ => Err(format!(
                "access beyond struct {} at off {off} size {size}",
                self.btf_type_name(btf_id).unwrap_or_default()
            )),
        }
    }

    fn btf_type_name(&self, btf_id: u32) -> Option<String> {
        match btf_id {
            1 => Some("task".into()),
            2 => Some("file".into()),
            _ => None,
        }
    }
}

/// Map 0: array, key 4, value 16, one entry. Map 1: hash, key 4, value 8.
/// Map 2: read-only array with a constant value (bytes 0..16).
/// Map 3: array of 48-byte values with a spin lock at 0. Map 4: ring
/// buffer of 4096 bytes.
pub(crate) fn maps() -> Vec<MapInfo> {
    let m = |map_type, key_size, value_size, max_entries, name: &str| MapInfo {
        map_type,
        key_size,
        value_size,
        max_entries,
        map_flags: 0,
        name: name.to_string(),
        rdonly_prog: false,
        const_value: None,
        has_btf: false,
        log_addr: 0,
        spin_lock_off: None,
        timer_off: None,
        inner: None,
    };
    let mut ro = m(2, 4, 16, 1, "ro");
    ro.rdonly_prog = true;
    ro.const_value = Some((0u8..16).collect());
    let mut lk = m(2, 4, 48, 1, "lk");
    lk.spin_lock_off = Some(0);
    vec![m(2, 4, 16, 1, "arr"), m(1, 4, 8, 16, "hash"), ro, lk, m(27, 0, 0, 4096, "rb")]
}

/// The pseudo loads of an assembled program: `map[fd:N]` is map N.
fn pseudo_of(prog: &[Instruction]) -> Vec<PseudoLoad> {
    let mut out = Vec::new();
    let mut slot = 0;
    for ins in prog {
        if let Instruction::LdImm64 { src, .. } = ins {
            let kind = match *src {
                LdImm64::MapFd(fd) | LdImm64::MapIdx(fd) => Some(PseudoKind::Map { map: fd as u32 }),
                LdImm64::MapValue { fd, off } => Some(PseudoKind::MapValue { map: fd as u32, off }),
                LdImm64::MapIdxValue { idx, off } => Some(PseudoKind::MapValue { map: idx as u32, off }),
                LdImm64::Func(off) => {
                    Some(PseudoKind::Func { target: (slot as i64 + 1 + i64::from(off)) as usize })
                }
                _ => None,
            };
            if let Some(kind) = kind {
                out.push(PseudoLoad { slot, kind });
            }
        }
        slot += ins.slots();
    }
    out
}

/// For a program that loads a callback, the func_info clang emits for
/// static functions (one record per subprogram start): the kernel refuses
/// a callback without it. `None` for other programs.
fn static_func_info(prog: &[Instruction], pseudo: &[PseudoLoad]) -> Option<crate::btf_info::ProgBtfInfo> {
    let targets: Vec<usize> = pseudo
        .iter()
        .filter_map(|p| match p.kind {
            PseudoKind::Func { target } => Some(target),
            _ => None,
        })
        .collect();
    if targets.is_empty() {
        return None;
    }
    let mut starts = vec![0usize];
    starts.extend(targets);
    let mut slot = 0usize;
    for ins in prog {
        if let Instruction::Call(bpfemu_isa::CallTarget::Local(imm)) = ins {
            starts.push((slot as i64 + 1 + i64::from(*imm)) as usize);
        }
        slot += ins.slots();
    }
    starts.sort_unstable();
    starts.dedup();
    let funcs = starts
        .into_iter()
        .map(|s| crate::btf_info::FuncInfo {
            insn_off: s as u32,
            type_id: 0,
            name: format!("f{s}"),
            global: false,
            ret_scalar: true,
            args: Ok(vec![]),
        })
        .collect();
    Some(crate::btf_info::ProgBtfInfo { funcs, lines: vec![] })
}

/// Verifies `src` with `opts` at log level `level`: the result and the log.
pub(crate) fn run_with(
    src: &str,
    opts: VerifyOptions,
    level: u32,
) -> (Result<VerifyOutcome, VerifyError>, String) {
    let insns = bpfemu_isa::asm::kernel::assemble(src).unwrap_or_else(|e| panic!("asm: {e}\n{src}"));
    let prog: Vec<Instruction> =
        bpfemu_isa::decode_program(&insns).unwrap().into_iter().map(|(_, i)| i).collect();
    let pseudo = pseudo_of(&prog);
    let maps = maps();
    let info = static_func_info(&prog, &pseudo);
    let input = VerifyInput {
        insns: &insns,
        pseudo: &pseudo,
        maps: &maps,
        prog_type: &Mock,
        opts,
        btf: info.as_ref(),
    };
    let mut log = VerifierLog::new(level, true, 1 << 24).unwrap();
    let r = verify(&input, &mut log);
    (r, log.full_text().to_string())
}

/// Privileged, level 1.
/// A load with a level-2 log (a level-1 log of an accepted program keeps
/// only the statistics line).
pub(crate) fn run(src: &str) -> (Result<VerifyOutcome, VerifyError>, String) {
    run_with(src, VerifyOptions::default(), 2)
}

pub(crate) fn unpriv() -> VerifyOptions {
    VerifyOptions { bpf_capable: false, allow_ptr_leaks: false, ..VerifyOptions::default() }
}

/// Asserts acceptance.
#[track_caller]
pub(crate) fn accept(src: &str) -> VerifyOutcome {
    let (r, log) = run(src);
    match r {
        Ok(o) => o,
        Err(e) => panic!("rejected: {e}\nlog:\n{log}"),
    }
}

/// Asserts rejection with `msg` as the error's message.
#[track_caller]
pub(crate) fn reject(src: &str, msg: &str) -> VerifyError {
    reject_with(src, VerifyOptions::default(), msg)
}

#[track_caller]
pub(crate) fn reject_with(src: &str, opts: VerifyOptions, msg: &str) -> VerifyError {
    let (r, log) = run_with(src, opts, 1);
    match r {
        Ok(_) => panic!("accepted, expected '{msg}'\nlog:\n{log}"),
        Err(e) => {
            assert_eq!(e.msg, msg, "log:\n{log}");
            assert!(log.contains(msg), "log:\n{log}");
            e
        }
    }
}

#[test]
fn straight_line_and_stats() {
    let (r, log) = run("r0 = 1\nexit");
    let o = r.unwrap();
    assert_eq!(o.stats.insn_processed, 2);
    assert_eq!(o.subprogs, vec![0]);
    // Level 2 (as Linux 6.18 writes it, minus the "func#0 @0" and
    // "Live regs before insn:" preamble): the entry state, each
    // instruction with the registers it touched, the statistics.
    assert_eq!(
        log,
        "0: R1=ctx() R10=fp0\n0: (b7) r0 = 1                        ; R0=1\n1: (95) exit\n\
         processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"
    );
    // Level 1: an accepted walk leaves only the statistics line.
    let (_, log) = run_with("r0 = 1\nexit", VerifyOptions::default(), 1);
    assert_eq!(
        log,
        "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"
    );
}

#[test]
fn uninit_r0_and_cfg_errors() {
    let e = reject("exit", "R0 !read_ok");
    assert_eq!(e.errno, 13);
    let (r, log) = run("r0 = 0\nif r0 > 1 goto +1\nexit");
    assert_eq!(r.unwrap_err().errno, 22);
    assert!(log.contains("jump out of range") || log.contains("last insn"), "{log}");
}

#[test]
fn frame_pointer_read_only() {
    reject("r10 = 1\nr0 = 0\nexit", "frame pointer is read only");
    reject("r0 = 0\nr10 += 1\nexit", "frame pointer is read only");
}

#[test]
fn decode_errors() {
    let insns = [bpfemu_isa::Insn::new(0xff, 0, 0, 0, 0)];
    let maps = maps();
    let input = VerifyInput {
        insns: &insns,
        pseudo: &[],
        maps: &maps,
        prog_type: &Mock,
        opts: VerifyOptions::default(),
        btf: None,
    };
    let mut log = VerifierLog::new(1, true, 1000).unwrap();
    let e = verify(&input, &mut log).unwrap_err();
    assert_eq!((e.errno, e.msg.as_str()), (22, "unknown opcode ff"));
}

#[test]
fn insn_limit() {
    let opts = VerifyOptions { insn_limit: 3, ..VerifyOptions::default() };
    let (r, log) = run_with("r0 = 0\nr0 = 0\nr0 = 0\nr0 = 0\nexit", opts, 1);
    let e = r.unwrap_err();
    assert_eq!((e.errno, e.msg.as_str()), (7, "BPF program is too large. Processed 4 insn"));
    assert!(log.ends_with("mark_read 0\n"), "{log}");
}

#[test]
fn stats_block_and_stack_depth() {
    let (r, log) = run_with("r1 = 0\n*(u64 *)(r10 -16) = r1\nr0 = 0\nexit", VerifyOptions::default(), 4);
    assert_eq!(r.unwrap().stack_depth, vec![16]);
    assert!(log.contains("stack depth 16\n"), "{log}");
    assert!(!log.contains("0: (b7)"), "{log}");
}
