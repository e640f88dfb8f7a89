//! `BPF_PROG_TEST_RUN` of struct_ops programs: `bpf_struct_ops_test_run()`
//! (net/bpf/bpf_dummy_struct_ops.c, current mainline), which calls a
//! `bpf_dummy_ops` member through a trampoline made for the one program.
//!
//! - the program must implement a member of `struct bpf_dummy_ops`
//!   (`attach_btf_id`), else `EOPNOTSUPP`;
//! - `ctx_in` is the argument array, one `u64` per argument of the
//!   member's FUNC_PROTO: any other size is `EINVAL`
//!   (`dummy_ops_init_args()`);
//! - `check_test_run_args()`: a zero for a pointer argument that is not
//!   `__nullable` (`test_2`'s and `test_sleepable`'s state; `test_1`'s
//!   may be NULL) is `EINVAL`;
//! - the program runs once on the arguments (state, then `args[1..5]` as
//!   the caller passed them; the ctx holds one `u64` per argument, the
//!   state argument as the kernel address of the state copy); `retval` is
//!   its `int` return value. Nothing else of the attributes is looked at
//!   (`data_*`, `repeat`, `flags`, `cpu`, `batch_size` are ignored, as the
//!   kernel ignores them).
//!
//! **Deviation (the state argument).** In Linux `args[0]` is a user
//! pointer to a `struct bpf_dummy_ops_state`: 0 passes NULL, anything else
//! is copied in before the call and back after it (`EFAULT` when the copy
//! fails). bpfemu's attributes carry slices, not user addresses, so the
//! user memory `args[0]` points at is `data_in`: a non-zero `args[0]`
//! reads the state from the first 4 bytes of `data_in` (shorter: `EFAULT`,
//! the failed `copy_from_user()`), and the state after the call is written
//! to the first 4 bytes of `data_out` when one is given (shorter:
//! `EFAULT`, the failed `copy_to_user()`; `data_size_out` is then 4). The
//! value of `args[0]` is otherwise unused: the program sees the address
//! of the kernel's copy. With `args[0]` 0, `data_in` and `data_out` are
//! not touched.

use super::attr::{TestRunAttr, TestRunOut};
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::progtype::struct_ops::{BPF_DUMMY_OPS, StructOps, member_target};
use crate::progtype::tracing::MAX_BPF_FUNC_ARGS;
use crate::vmlinux::struct_ops::DUMMY_OPS_STATE_SIZE;
use bpfemu_btf::Kind;
use bpfemu_vm::MemRegion;
use std::sync::Arc;

impl Kernel {
    /// `bpf_struct_ops_test_run()` (see the module docs).
    pub(crate) fn test_run_struct_ops(
        &mut self,
        attr: &mut TestRunAttr<'_>,
        prog: &Arc<Prog>,
    ) -> Result<i64, Errno> {
        let btf = crate::vmlinux::shared();
        let type_id = crate::vmlinux::struct_id(&btf, BPF_DUMMY_OPS.name).ok_or(Errno::EINVAL)?;
        if prog.attach_btf_id != type_id {
            return Err(Errno::EOPNOTSUPP);
        }
        let idx = prog.expected_attach_type.map_or(0, |a| a.raw());
        let target = member_target(&btf, type_id, idx).ok_or(Errno::EINVAL)?;
        let Some(Kind::FuncProto { params, .. }) = btf.kind(target.proto) else { return Err(Errno::EINVAL) };
        let nr = params.len();
        // dummy_ops_init_args()
        if attr.ctx_in.len() != 8 * nr || nr > MAX_BPF_FUNC_ARGS {
            return Err(Errno::EINVAL);
        }
        let mut args = [0u64; MAX_BPF_FUNC_ARGS];
        for (a, c) in args.iter_mut().zip(attr.ctx_in.chunks_exact(8)) {
            *a = u64::from_ne_bytes(c.try_into().expect("8 bytes"));
        }
        let mut state = [0u8; DUMMY_OPS_STATE_SIZE];
        if args[0] != 0 {
            let src = attr.data_in.get(..DUMMY_OPS_STATE_SIZE).ok_or(Errno::EFAULT)?;
            state.copy_from_slice(src);
        }
        // check_test_run_args(): NULL only for __nullable pointers.
        let ops = StructOps::new(&target, prog.expected_attach_type, btf.clone()).ok_or(Errno::EINVAL)?;
        for (i, p) in params.iter().enumerate() {
            let is_ptr = matches!(btf.kind(btf.skip_mods_and_typedefs(p.ty)), Some(Kind::Ptr { .. }));
            if args[i] == 0 && is_ptr && !ops.arg_nullable(i) {
                return Err(Errno::EINVAL);
            }
        }
        let retval = {
            let state_region = MemRegion::from_mut_slice("bpf_dummy_ops_state", &mut state);
            let mut ctx = args[..nr].to_vec();
            if nr > 0 {
                ctx[0] = if args[0] != 0 { state_region.start() } else { 0 };
            }
            let bytes: Vec<u8> = ctx.iter().flat_map(|v| v.to_ne_bytes()).collect();
            let ctx_region = MemRegion::from_slice("ctx", &bytes);
            let addr = ctx_region.start();
            // A failed run (only an unsound verification can fail one; the
            // paranoid mode records it) returns 0, as the trampoline does.
            self.run_prog(prog, &[addr], &[ctx_region, state_region]).unwrap_or(0) as u32
        };
        // dummy_ops_copy_args()
        let mut data_size_out = 0;
        if args[0] != 0
            && let Some(out) = attr.data_out.as_deref_mut()
        {
            out.get_mut(..DUMMY_OPS_STATE_SIZE).ok_or(Errno::EFAULT)?.copy_from_slice(&state);
            data_size_out = DUMMY_OPS_STATE_SIZE as u32;
        }
        if let Some(out) = attr.out.as_deref_mut() {
            *out = TestRunOut { retval, duration: 0, data_size_out, ctx_size_out: 0 };
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests;
