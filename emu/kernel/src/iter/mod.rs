//! BPF iterators: programs of `BPF_PROG_TYPE_TRACING` with
//! `BPF_TRACE_ITER` (libbpf `SEC("iter/<target>")`) that run once per
//! object of a kernel collection when user space reads the iterator's fd,
//! printing into it with `bpf_seq_printf` / `bpf_seq_write`.
//!
//! Kernel counterparts: kernel/bpf/bpf_iter.c (the target registry
//! `bpf_iter_reg_target()`, `bpf_iter_prog_supported()`, the iterator
//! links, `bpf_iter_new_fd()`, `bpf_seq_read()`) and the per-target
//! files; here kernel/bpf/map_iter.c (`bpf_map`).
//!
//! The registry ([`TARGETS`]) holds the one emulated target, `bpf_map`:
//! every map in id order (`bpf_map_get_curr_or_next()`), ctx `struct
//! bpf_iter__bpf_map { meta; map; }` with `map` `PTR_TO_BTF_ID_OR_NULL |
//! PTR_TRUSTED` (its `ctx_arg_info`), no link parameters.
//!
//! Not emulated: the other targets (`bpf_map_elem`, `bpf_prog`, `bpf_link`,
//! `task`, `task_file`, `task_vma`, `cgroup`, `tcp`, `udp`, `unix`,
//! `netlink`, `ipv6_route`, `bpf_sk_storage_map`, `sockmap`, `ksym`,
//! `kmem_cache`, `dmabuf`): they have no FUNC in the emulated vmlinux,
//! so a load naming one fails as the kernel's checks fail for an unknown
//! id; `bpf_seq_printf_btf`; iterator pins in bpffs; `BPF_LINK_UPDATE` of
//! iterator links.
//!
//! [`link`] holds `BPF_LINK_CREATE` of `BPF_TRACE_ITER` and
//! `BPF_ITER_CREATE`; [`seq`] the iterator files and their reads.

pub mod link;
pub mod seq;

#[cfg(test)]
mod tests;

/// `BPF_ITER_FUNC_PREFIX`: the prefix of the FUNCs iterator programs
/// attach to (`bpf_iter_<target>`).
pub const BPF_ITER_FUNC_PREFIX: &str = "bpf_iter_";

/// One registered target (`struct bpf_iter_reg`, reduced).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IterTarget {
    /// `reg_info->target`.
    pub name: &'static str,
    /// `ctx_arg_info`: `(ctx offset, struct name, maybe_null)` of the
    /// pointer arguments the target types itself (`PTR_TRUSTED` too).
    pub ctx_arg_info: &'static [(u32, &'static str, bool)],
}

/// The `bpf_map` target (kernel/bpf/map_iter.c `bpf_map_reg_info`).
pub const BPF_MAP: IterTarget = IterTarget { name: "bpf_map", ctx_arg_info: &[(8, "bpf_map", true)] };

/// Every registered target.
pub const TARGETS: &[IterTarget] = &[BPF_MAP];

/// The target named `name` (`reg_info->target`).
pub fn by_name(name: &str) -> Option<&'static IterTarget> {
    TARGETS.iter().find(|t| t.name == name)
}

/// `bpf_iter_prog_supported()`: the target of the attach function
/// `fname` (`bpf_iter_<target>`), `None` when the name has not the
/// prefix or no target is registered under it.
pub fn target_of_func(fname: &str) -> Option<&'static IterTarget> {
    by_name(fname.strip_prefix(BPF_ITER_FUNC_PREFIX)?)
}
