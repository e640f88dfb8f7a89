//! Time, randomness, CPU and task helpers (kernel/bpf/helpers.c):
//! `bpf_ktime_get_ns`, `bpf_ktime_get_boot_ns`, `bpf_ktime_get_coarse_ns`,
//! `bpf_jiffies64`,
//! `bpf_get_prandom_u32`, `bpf_get_smp_processor_id`,
//! `bpf_get_numa_node_id`, `bpf_get_current_pid_tgid`,
//! `bpf_get_current_uid_gid`, `bpf_get_current_comm`.
//!
//! Everything comes from the run's [`RunCtx`](crate::runctx::RunCtx): the virtual clocks as of the
//! run's start (time does not advance during a run), the CPU's seeded RNG
//! stream, and `current`. The emulated machine has one NUMA node (0).
//! Outside a run (no context) the clocks and CPU read 0 and the task
//! helpers fail as the kernel's do without a task (`-EINVAL`).

use super::guest::{self, Ptr};
use super::neg;
use crate::errno::Errno;
use crate::runctx;

/// `u64 bpf_ktime_get_ns(void)`.
pub extern "C" fn ktime_get_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| c.now_ns).unwrap_or(0)
}

/// `u64 bpf_ktime_get_boot_ns(void)`.
pub extern "C" fn ktime_get_boot_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| c.boot_ns).unwrap_or(0)
}

/// `u64 bpf_ktime_get_coarse_ns(void)`.
pub extern "C" fn ktime_get_coarse_ns(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| c.coarse_ns).unwrap_or(0)
}

/// `u64 bpf_jiffies64(void)`: `get_jiffies_64()` as of the run's start.
pub extern "C" fn jiffies64(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| c.jiffies).unwrap_or(0)
}

/// `u32 bpf_get_prandom_u32(void)`: the next value of the CPU's stream.
pub extern "C" fn get_prandom_u32(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| u64::from(c.rng.next_u32())).unwrap_or(0)
}

/// `u32 bpf_get_smp_processor_id(void)`.
pub extern "C" fn get_smp_processor_id(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    u64::from(runctx::this_cpu())
}

/// `long bpf_get_numa_node_id(void)`: always node 0.
pub extern "C" fn get_numa_node_id(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    0
}

/// `u64 bpf_get_current_pid_tgid(void)`.
pub extern "C" fn get_current_pid_tgid(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| c.pid_tgid).unwrap_or(neg(Errno::EINVAL))
}

/// `u64 bpf_get_current_uid_gid(void)`.
pub extern "C" fn get_current_uid_gid(_: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| c.uid_gid).unwrap_or(neg(Errno::EINVAL))
}

/// `long bpf_get_current_comm(buf, size)`: `strscpy_pad` of `current->comm`
/// into `buf` (at most `size - 1` bytes, the rest NUL), 0. Outside a run
/// (no task; the kernel then zeroes `buf`): `-EINVAL`, nothing written, as
/// nothing can be validated. A `buf` that is not writable: `-EFAULT`,
/// nothing written.
pub extern "C" fn get_current_comm(buf: u64, size: u64, _: u64, _: u64, _: u64) -> u64 {
    let size = size as u32 as usize;
    runctx::with(|c| {
        if !guest::valid(c, buf, size as u64, true, Ptr::Proven) {
            return neg(Errno::EFAULT);
        }
        let mut out = vec![0u8; size];
        let name_len = c.comm.iter().position(|&b| b == 0).unwrap_or(c.comm.len());
        let n = name_len.min(size.saturating_sub(1));
        out[..n].copy_from_slice(&c.comm[..n]);
        guest::write(c, buf, &out, Ptr::Proven);
        0
    })
    .unwrap_or(neg(Errno::EINVAL))
}
