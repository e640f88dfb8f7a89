//! The host kernel's `bpf(2)`: `BPF_MAP_CREATE` and `BPF_PROG_LOAD` with
//! `union bpf_attr` laid out as include/uapi/linux/bpf.h has it. This is
//! the tool's only unsafe module: the attribute bytes hold user pointers,
//! and the builders here take them from borrows that outlive the call.

use bpfemu_kernel::bpf::attr::MapCreateAttr;
use bpfemu_kernel::lsm::attr::map_create_image;
use std::os::fd::{FromRawFd, OwnedFd};

const BPF_MAP_CREATE: libc::c_long = 0;
const BPF_PROG_LOAD: libc::c_long = 5;
const BPF_BTF_LOAD: libc::c_long = 18;

/// `union bpf_attr` up to `log_true_size` (the end of the `BPF_PROG_LOAD`
/// struct in 6.x): large enough for both commands here.
const ATTR_SIZE: usize = 144;

/// The `BPF_PROG_LOAD` fields bpfemu's corpus sets; the log buffer is
/// written by the kernel.
#[derive(Debug)]
pub struct ProgLoad<'a> {
    pub prog_type: u32,
    /// Instructions, 8 bytes each.
    pub insns: &'a [u8],
    /// NUL-terminated.
    pub license: &'a [u8],
    pub log_level: u32,
    pub log: &'a mut [u8],
    pub prog_flags: u32,
    pub prog_name: &'a [u8],
    pub expected_attach_type: u32,
    pub attach_btf_id: u32,
    /// A BTF descriptor (0: none) and the `bpf_func_info` records of the
    /// program's functions in it (8 bytes each).
    pub prog_btf_fd: u32,
    pub func_info: &'a [u8],
}

/// Size of one `struct bpf_func_info` (`insn_off`, `type_id`).
const FUNC_INFO_REC_SIZE: u32 = 8;

fn put32(a: &mut [u8; ATTR_SIZE], off: usize, v: u32) {
    a[off..off + 4].copy_from_slice(&v.to_ne_bytes());
}

fn put64(a: &mut [u8; ATTR_SIZE], off: usize, v: u64) {
    a[off..off + 8].copy_from_slice(&v.to_ne_bytes());
}

fn put_name(a: &mut [u8; ATTR_SIZE], off: usize, name: &[u8]) {
    // BPF_OBJ_NAME_LEN = 16, NUL included.
    let n = name.len().min(15);
    a[off..off + n].copy_from_slice(&name[..n]);
}

/// Issues `cmd` with the attribute bytes `attr`; the returned descriptor
/// is owned by the caller.
fn sys_bpf(cmd: libc::c_long, attr: &mut [u8]) -> Result<OwnedFd, i32> {
    let size = libc::c_uint::try_from(attr.len()).map_err(|_| libc::E2BIG)?;
    // SAFETY: `attr` is a live, writable buffer of `size` bytes for the
    // whole call. The pointers stored in it come from the borrows of
    // `prog_load`'s argument (instructions, license, name, log, func_info)
    // or `btf_load`'s (BTF data), which are alive until that function
    // returns, after this call.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd, attr.as_mut_ptr(), size) };
    if r < 0 {
        return Err(std::io::Error::last_os_error().raw_os_error().unwrap_or(0));
    }
    let fd = i32::try_from(r).map_err(|_| libc::EOVERFLOW)?;
    // SAFETY: both commands return a new descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `BPF_MAP_CREATE`: the map's descriptor, or the errno. The attribute
/// bytes are the emulated kernel's own image of `union bpf_attr`
/// (`bpfemu_kernel::lsm::attr`, the uapi offsets); this command has no
/// user pointers.
pub fn map_create(m: &MapCreateAttr) -> Result<OwnedFd, i32> {
    sys_bpf(BPF_MAP_CREATE, &mut map_create_image(m))
}

/// `BPF_PROG_LOAD`: the program's descriptor, or the errno; the log is
/// in `p.log` either way.
pub fn prog_load(p: &mut ProgLoad<'_>) -> Result<OwnedFd, i32> {
    if !p.insns.len().is_multiple_of(8) || p.license.last() != Some(&0) {
        return Err(libc::EINVAL);
    }
    let mut a = [0u8; ATTR_SIZE];
    put32(&mut a, 0, p.prog_type);
    put32(&mut a, 4, u32::try_from(p.insns.len() / 8).map_err(|_| libc::E2BIG)?);
    put64(&mut a, 8, p.insns.as_ptr() as u64);
    put64(&mut a, 16, p.license.as_ptr() as u64);
    if p.log_level != 0 && !p.log.is_empty() {
        put32(&mut a, 24, p.log_level);
        put32(&mut a, 28, u32::try_from(p.log.len()).map_err(|_| libc::E2BIG)?);
        put64(&mut a, 32, p.log.as_mut_ptr() as u64);
    }
    put32(&mut a, 44, p.prog_flags);
    put_name(&mut a, 48, p.prog_name);
    put32(&mut a, 68, p.expected_attach_type);
    if p.prog_btf_fd != 0 {
        put32(&mut a, 72, p.prog_btf_fd);
    }
    if !p.func_info.is_empty() {
        let recs = p.func_info.len() / FUNC_INFO_REC_SIZE as usize;
        put32(&mut a, 76, FUNC_INFO_REC_SIZE);
        put64(&mut a, 80, p.func_info.as_ptr() as u64);
        put32(&mut a, 88, u32::try_from(recs).map_err(|_| libc::E2BIG)?);
    }
    put32(&mut a, 108, p.attach_btf_id);
    sys_bpf(BPF_PROG_LOAD, &mut a[..])
}

/// `BPF_BTF_LOAD` of raw BTF `data` (no log): the BTF's descriptor, or
/// the errno. Offsets: `btf` 0, `btf_size` 16 (include/uapi/linux/bpf.h).
pub fn btf_load(data: &[u8]) -> Result<OwnedFd, i32> {
    let mut a = [0u8; ATTR_SIZE];
    put64(&mut a, 0, data.as_ptr() as u64);
    put32(&mut a, 16, u32::try_from(data.len()).map_err(|_| libc::E2BIG)?);
    // The attribute ends after `btf_token_fd` (40 bytes).
    sys_bpf(BPF_BTF_LOAD, &mut a[..40])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn malformed_arguments_are_refused_before_the_syscall() {
        let mut log = [0u8; 16];
        let mut p = ProgLoad {
            prog_type: 1,
            insns: &[0; 7],
            license: b"GPL\0",
            log_level: 1,
            log: &mut log,
            prog_flags: 0,
            prog_name: b"x",
            expected_attach_type: 0,
            attach_btf_id: 0,
            prog_btf_fd: 0,
            func_info: &[],
        };
        assert_eq!(prog_load(&mut p).err(), Some(libc::EINVAL));
        p.insns = &[0; 8];
        p.license = b"GPL";
        assert_eq!(prog_load(&mut p).err(), Some(libc::EINVAL));
    }

    #[test]
    fn names_are_cut_to_fifteen_bytes() {
        let mut a = [0u8; ATTR_SIZE];
        put_name(&mut a, 28, b"abcdefghijklmnopqrstu");
        assert_eq!(&a[28..44], b"abcdefghijklmno\0");
    }
}
