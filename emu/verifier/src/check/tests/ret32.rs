//! `check_return_code()` with `return_32bit` (LSM programs): the range is
//! checked on the low 32 bits of r0, with the current kernel's message.

use crate::check::verify;
use crate::env::{Access, CtxAccess, ProgTypeOps, VerifyInput, VerifyOptions};
use crate::log::VerifierLog;

/// A type returning `[-4095, 0]` on 32 bits, with an 8-byte scalar ctx.
struct Lsm32;

impl ProgTypeOps for Lsm32 {
    fn name(&self) -> &str {
        "lsm"
    }
    fn func_proto(&self, _id: i32) -> Option<&'static crate::proto::FuncProto> {
        None
    }
    fn ctx_access(&self, off: i32, size: u32, access: Access) -> Option<CtxAccess> {
        (off == 0 && size == 8 && access == Access::Read)
            .then_some(CtxAccess { field: crate::env::CtxField::Scalar, field_size: 0 })
    }
    fn return_range(&self) -> Option<(i64, i64)> {
        Some((-4095, 0))
    }
    fn return_range_32bit(&self) -> bool {
        true
    }
}

fn run(src: &str) -> Result<(), String> {
    let insns = bpfemu_isa::asm::kernel::assemble(src).unwrap();
    let input = VerifyInput {
        insns: &insns,
        pseudo: &[],
        maps: &[],
        prog_type: &Lsm32,
        opts: VerifyOptions::default(),
        btf: None,
    };
    let mut log = VerifierLog::new(1, true, 1 << 16).unwrap();
    verify(&input, &mut log).map(|_| ()).map_err(|e| e.msg)
}

#[test]
fn low_32_bits_in_range() {
    run("r0 = 0\nexit").unwrap();
    run("r0 = -4095\nexit").unwrap();
    // 1 << 32: the low 32 bits are 0.
    run("r0 = 1\nr0 <<= 32\nexit").unwrap();
    assert_eq!(
        run("r0 = 1\nexit").unwrap_err(),
        "At program exit the register R0 has smin=1 smax=1 should have been in [-4095, 0]"
    );
    assert_eq!(
        run("r0 = -4096\nexit").unwrap_err(),
        "At program exit the register R0 has smin=-4096 smax=-4096 should have been in [-4095, 0]"
    );
    assert_eq!(
        run("r0 = *(u64 *)(r1 +0)\nexit").unwrap_err(),
        "At program exit the register R0 has unknown scalar value should have been in [-4095, 0]"
    );
    // A u32 load: 0..=u32::MAX, whose low 32 bits may be anything.
    assert_eq!(
        run("r0 = *(u64 *)(r1 +0)\nr0 &= 1\nexit").unwrap_err(),
        "At program exit the register R0 has smin=0 smax=1 should have been in [-4095, 0]"
    );
}
