//! A loaded BTF object (`struct btf` of kernel/bpf/btf.c as `BPF_BTF_LOAD`
//! creates it, or the kernel's own vmlinux BTF).

/// A BTF blob the kernel holds, with its id.
#[derive(Debug)]
pub struct BtfObj {
    pub id: u32,
    /// The raw blob as loaded (what `btf_info.btf` hands back).
    pub data: Vec<u8>,
    /// `vmlinux` for the kernel's BTF, empty for user-loaded BTF.
    pub name: String,
    /// Whether this is kernel BTF (`btf_info.kernel_btf`).
    pub kernel_btf: bool,
}
