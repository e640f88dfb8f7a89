//! Helpers that call back into the program: `bpf_loop`
//! (kernel/bpf/bpf_iter.c) and `bpf_for_each_map_elem` (kernel/bpf/bpf_iter.c
//! → `map_for_each_callback`, e.g. `bpf_for_each_array_elem()` in
//! kernel/bpf/arraymap.c).
//!
//! The callback argument is a callback token (the loader's translation of
//! `ld_imm64` with `BPF_PSEUDO_FUNC`, see [`bpfemu_vm::callback`]); the
//! helper runs it with [`bpfemu_vm::call_callback`]. Both helpers are
//! registered with [`bpfemu_vm::Interpreter::register_callback_helper`].
//! A callback whose run fails (memory violation, no frame left, step
//! budget, ...) ends the helper at once; the VM then fails the program's
//! run with that error (the kernel has no such case: its verifier proved
//! the callback).
//!
//! **The key of `bpf_for_each_map_elem`.** The kernel passes a pointer to
//! the key: an array map's index in a local of the helper, a hash map's
//! key inside the element. Here the key is copied into a buffer of the
//! helper, lent to the callback for the call: readable in checked mode
//! (the VM's lent memory) and declared a read-only region of the run
//! context for the callback's helper calls (e.g. a lookup with that key),
//! removed again when the helper returns. The value pointer is the
//! element's address in the map, as in the kernel.

use super::neg;
use crate::errno::Errno;
use crate::runctx;

/// `BPF_MAX_LOOPS`: the most iterations `bpf_loop` accepts.
pub const BPF_MAX_LOOPS: u32 = 1 << 23;

/// `long bpf_loop(u32 nr_loops, callback_fn, callback_ctx, u64 flags)`:
/// calls `callback_fn(i, callback_ctx)` for i = 0.. until it returns
/// non-zero or `nr_loops` calls were made; the number of calls. Flags:
/// `-EINVAL`; more than [`BPF_MAX_LOOPS`]: `-E2BIG`. `nr_loops` is a `u32`
/// (the upper half of r1 is ignored, as the kernel's prototype does).
pub extern "C" fn bpf_loop(nr_loops: u64, callback_fn: u64, callback_ctx: u64, flags: u64, _: u64) -> u64 {
    let nr_loops = nr_loops as u32;
    if flags != 0 {
        return neg(Errno::EINVAL);
    }
    if nr_loops > BPF_MAX_LOOPS {
        return neg(Errno::E2BIG);
    }
    for i in 0..nr_loops {
        match bpfemu_vm::call_callback(callback_fn, [u64::from(i), callback_ctx, 0, 0, 0]) {
            Ok(0) => {}
            Ok(_) => return u64::from(i) + 1,
            // The run fails with the callback's error; r0 is never seen.
            Err(_) => return neg(Errno::EFAULT),
        }
    }
    u64::from(nr_loops)
}

/// `long bpf_for_each_map_elem(map, callback_fn, callback_ctx, u64 flags)`:
/// calls `callback_fn(map, &key, &value, callback_ctx)` per element until
/// it returns non-zero; the number of elements visited (the stopping one
/// included). Flags: `-EINVAL`; a map the run does not hold: `-EINVAL`.
pub extern "C" fn for_each_map_elem(
    map: u64,
    callback_fn: u64,
    callback_ctx: u64,
    flags: u64,
    _: u64,
) -> u64 {
    let Some(Some(m)) = runctx::with(|c| c.map_at(map)) else { return neg(Errno::EINVAL) };
    if flags != 0 {
        return neg(Errno::EINVAL);
    }
    let mut key = vec![0u8; m.def.key_size as usize];
    let (start, len) = (key.as_ptr().expose_provenance() as u64, key.len() as u64);
    let added = runctx::with(|c| {
        let fresh = !c.regions.iter().any(|r| r.start == start && r.len == len && !r.writable);
        c.add_region(start, len, false);
        fresh
    })
    .unwrap_or(false);
    let mut failed = false;
    let n = m.ops.for_each(&mut |k, value| {
        key.copy_from_slice(k);
        match bpfemu_vm::call_callback_with_memory(callback_fn, [map, start, value, callback_ctx, 0], &key) {
            Ok(0) => true,
            Ok(_) => false,
            Err(_) => {
                failed = true;
                false
            }
        }
    });
    if added {
        runctx::with(|c| c.remove_region(start, len, false));
    }
    if failed { neg(Errno::EFAULT) } else { u64::from(n) }
}
