//! Selecting a verified program's runtime: `bpf_prog_select_runtime()`
//! (kernel/bpf/core.c) calling the arch JIT (`bpf_int_jit_compile()`,
//! arch/x86/net/bpf_jit_comp.c), and the `net.core.bpf_jit_enable` knob
//! (/proc/sys/net/core/bpf_jit_enable, net/core/sysctl_net_core.c).
//!
//! **Knob.** [`Kernel::set_jit_enable`]; on by default on x86-64 hosts, as
//! on kernels built with `CONFIG_BPF_JIT_ALWAYS_ON` (the knob then reads 1),
//! and off (fixed) elsewhere: `bpfemu_vm::JitProgram` only exists on
//! x86-64. Like the kernel, the knob is read at load time: changing it does
//! not re-JIT or un-JIT programs already loaded.
//!
//! **Selection.** After a successful verification, with the knob on, the
//! program is compiled ([`select_runtime`]). A program the JIT refuses
//! (`JitError`) stays on the interpreter, as on a kernel without
//! `JIT_ALWAYS_ON` (with it, the kernel fails the load with `ENOTSUPP`;
//! here the only refusal is a write to r10, which the verifier already
//! rejected). A jited program reports its native size as `jited_prog_len`
//! (`bpf_prog_info`) and `jited NB` in `prog show`.
//!
//! **Binding.** The JIT binds helpers and the tail-call resolver when it
//! compiles, so both are the kernel's for the program's lifetime: every
//! implemented helper ([`crate::helpers::register_all`]) and a
//! [`JitTailCalls`] resolver over the program's prog arrays. The resolver
//! asks the map on every tail call, so `prog_array` updates are seen by the
//! next call; the JIT compiles each target's image on first use and caches
//! it (keyed by the target's image) for the jited program's lifetime.
//!
//! Not emulated: the prog_array owner's `jited` check
//! (`__bpf_prog_map_compatible()`: the kernel refuses to mix jited and
//! interpreted programs in one array; here a jited caller compiles an
//! interpreted target's image, and an interpreted caller interprets a jited
//! target), `bpf_jit_harden` / `bpf_jit_kallsyms` / `bpf_jit_limit`,
//! the `bpf_jit_enable = 2` debug dump (use `bpfemu jit --disasm`), and
//! JIT-ing at `BPF_PROG_TEST_RUN`-only types differently from others.

use crate::kernel::Kernel;
use crate::map::Map;
use bpfemu_vm::{Program, TailCallResolver};
use parking_lot::Mutex;
use std::sync::{Arc, Weak};

/// The tail-call resolver a jited program keeps: r2 is the address of one
/// of the prog arrays the program (or a program it tail called) uses
/// ([`crate::map::Map::addr`]); addresses are only compared. Maps are held
/// weakly (the programs that use them hold them), and the set only grows:
/// a verified program can only name its own maps, so a set larger than the
/// running chain's is not observable.
#[derive(Debug)]
pub struct JitTailCalls {
    maps: Mutex<Vec<Weak<Map>>>,
}

impl JitTailCalls {
    pub fn new(used_maps: &[Arc<Map>]) -> JitTailCalls {
        JitTailCalls { maps: Mutex::new(used_maps.iter().map(Arc::downgrade).collect()) }
    }
}

impl TailCallResolver for JitTailCalls {
    fn resolve(&self, map: u64, index: u64) -> Option<Arc<Program>> {
        let mut maps = self.maps.lock();
        let m = maps.iter().filter_map(Weak::upgrade).find(|m| m.addr() == map)?;
        let prog = m.ops.prog_at(index)?;
        for used in &prog.used_maps {
            if !maps.iter().any(|m| std::ptr::eq(m.as_ptr(), Arc::as_ptr(used))) {
                maps.push(Arc::downgrade(used));
            }
        }
        Some(prog.image.clone())
    }
}

/// Whether this host has a JIT (`bpfemu_vm::JitProgram` is x86-64 only).
pub const JIT_AVAILABLE: bool = cfg!(target_arch = "x86_64");

impl Kernel {
    /// Sets `net.core.bpf_jit_enable` (see the module docs). Without a JIT
    /// (non-x86-64 hosts) turning it on is refused with `EINVAL`, as writing
    /// 1 to the sysctl is on a kernel built without `CONFIG_BPF_JIT`.
    pub fn set_jit_enable(&mut self, on: bool) -> Result<(), crate::errno::Errno> {
        if on && !JIT_AVAILABLE {
            return Err(crate::errno::Errno::EINVAL);
        }
        self.exec.jit_enable = on;
        Ok(())
    }

    /// The value of `net.core.bpf_jit_enable`.
    pub fn jit_enable(&self) -> bool {
        self.exec.jit_enable
    }
}

/// The native image of a jited program.
#[cfg(target_arch = "x86_64")]
pub type JitImage = bpfemu_vm::JitProgram;

/// Compiles a verified program (its image and the maps it uses) with the
/// kernel's helpers and a [`JitTailCalls`] resolver; `None` when the JIT
/// refuses it (the program stays on the interpreter).
#[cfg(target_arch = "x86_64")]
pub fn select_runtime(image: &Program, used_maps: &[Arc<Map>]) -> Option<JitImage> {
    let mut vm = bpfemu_vm::Interpreter::new();
    crate::helpers::register_all(&mut vm);
    vm.set_tail_call_resolver(Arc::new(JitTailCalls::new(used_maps)));
    bpfemu_vm::JitProgram::compile(image, &vm).ok()
}
