//! Kfunc implementations registered with the VM by vmlinux BTF id (the
//! kernel's `bpf_kfunc_desc` table, filled by `add_kfunc_call()` with the
//! function's address). The kfuncs and which program types may call them
//! are in [`crate::kfuncs`].

use bpfemu_vm::Interpreter;

/// Registers every emulated kfunc under its vmlinux BTF id.
pub fn register_kfuncs(vm: &mut Interpreter) {
    for k in crate::kfuncs::KFUNCS {
        if let Some(id) = crate::kfuncs::kfunc_btf_id(k.name) {
            vm.register_kfunc(id as i32, k.imp);
        }
    }
}
