//! Program-type hooks of struct_ops-like types: `PTR_TO_BTF_ID` stores stay
//! plain stores (only loads are listed for the probe-mem rewrite), trusted
//! ctx arguments, and a `void` return that `check_return_code()` does not
//! look at.

use super::{Mock, accept, maps, pseudo_of};
use crate::check::{VerifyError, VerifyOutcome, verify};
use crate::env::{Access, CtxAccess, CtxField, ProgTypeOps, VerifyInput, VerifyOptions};
use crate::log::VerifierLog;
use crate::proto::FuncProto;
use bpfemu_isa::Instruction;

/// [`Mock`] whose ctx pointer at 16 is a trusted, non-NULL `task`, and
/// whose main program returns `void` when `void_ret`.
struct Trusted {
    void_ret: bool,
}

impl ProgTypeOps for Trusted {
    fn name(&self) -> &str {
        "trusted"
    }

    fn func_proto(&self, id: i32) -> Option<&'static FuncProto> {
        Mock.func_proto(id)
    }

    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        match (off, size, access) {
            (16, 8, Access::Read) => Some(CtxAccess {
                field: CtxField::BtfId { btf_id: 1, maybe_null: false, trusted: true },
                field_size: 0,
            }),
            _ => Mock.ctx_access(off, size, access),
        }
    }

    fn return_range(&self) -> Option<(i64, i64)> {
        Some((0, 0))
    }

    fn return_unchecked(&self) -> bool {
        self.void_ret
    }

    fn btf_struct_access(
        &self,
        btf_id: u32,
        off: i32,
        size: u32,
        access: Access,
    ) -> Result<CtxField, String> {
        Mock.btf_struct_access(btf_id, off, size, access)
    }

    fn btf_type_name(&self, btf_id: u32) -> Option<String> {
        Mock.btf_type_name(btf_id)
    }
}

fn run_ops(src: &str, ops: &dyn ProgTypeOps, level: u32) -> (Result<VerifyOutcome, VerifyError>, String) {
    let insns = bpfemu_isa::asm::kernel::assemble(src).unwrap();
    let prog: Vec<Instruction> =
        bpfemu_isa::decode_program(&insns).unwrap().into_iter().map(|(_, i)| i).collect();
    let pseudo = pseudo_of(&prog);
    let maps = maps();
    let input = VerifyInput {
        insns: &insns,
        pseudo: &pseudo,
        maps: &maps,
        prog_type: ops,
        opts: VerifyOptions::default(),
        btf: None,
    };
    let mut log = VerifierLog::new(level, true, 1 << 20).unwrap();
    let r = verify(&input, &mut log);
    (r, log.full_text().to_string())
}

#[test]
fn btf_stores_are_not_probe_mem_loads() {
    let out = accept(
        "r1 = *(u64 *)(r1 +16)\nif r1 == 0 goto +4\nr2 = *(u64 *)(r1 +8)\nr3 = 5\n*(u32 *)(r2 +0) = r3\nr0 = *(u32 *)(r2 +0)\nr0 = 0\nexit",
    );
    assert_eq!(out.btf_loads, vec![2, 5], "the loads through task and file, not the store at 4");
}

#[test]
fn trusted_ctx_argument() {
    let ops = Trusted { void_ret: false };
    let (r, log) = run_ops("r1 = *(u64 *)(r1 +16)\nr0 = *(u64 *)(r1 +0)\nr0 = 0\nexit", &ops, 2);
    assert!(r.is_ok(), "{log}");
    assert!(log.contains("R1=trusted_ptr_task()"), "{log}");
}

#[test]
fn void_return_is_not_checked() {
    // Without it, r0 must be set and in range.
    let (r, _) = run_ops("exit", &Trusted { void_ret: false }, 1);
    assert_eq!(r.unwrap_err().msg, "R0 !read_ok");
    let (r, _) = run_ops("r0 = 3\nexit", &Trusted { void_ret: false }, 1);
    assert!(r.is_err());
    // With it, neither.
    assert!(run_ops("exit", &Trusted { void_ret: true }, 1).0.is_ok());
    assert!(run_ops("r0 = 3\nexit", &Trusted { void_ret: true }, 1).0.is_ok());
}
