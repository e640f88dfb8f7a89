//! `BPF_BTF_LOAD` (kernel/bpf/btf.c `btf_new_fd()` → `btf_parse()`).
//!
//! Emulated so far: the size limit, the log attributes, the header
//! (`btf_parse_hdr()`), the section layout (`btf_check_sec_info()`), type
//! section alignment and the string section's framing, with the kernel's
//! errno and log wording; then the types themselves with
//! [`bpfemu_btf::load`] (decode + validate: `btf_check_all_metas()`,
//! `btf_check_all_types()`). A type error is `EINVAL` with the log in the
//! spirit of `btf_verifier_log_type()`: a line naming the type (`[3] STRUCT
//! foo`), then the reason (our error's text, which repeats the id and kind
//! and names the member when there is one). The kernel's type line also
//! prints kind-specific fields (`size=4 vlen=1`); ours does not.

use super::btf_obj::BtfObj;
use super::load::log::VLog;
use super::objects::Obj;
use crate::errno::Errno;
use crate::kernel::Kernel;
use bpfemu_btf::Header;
use std::sync::Arc;

/// `BTF_MAX_SIZE`: 16 MiB.
pub const BTF_MAX_SIZE: usize = 16 * 1024 * 1024;
/// `BTF_MAGIC`.
pub const BTF_MAGIC: u16 = 0xeb9f;
/// `BTF_VERSION`.
pub const BTF_VERSION: u8 = 1;
/// `sizeof(struct btf_header)`.
pub const BTF_HEADER_SIZE: usize = 24;

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Checks the blob's header and section layout; the header on success.
pub fn check_btf(data: &[u8], log: &mut VLog<'_>) -> Result<Header, Errno> {
    let fail = |log: &mut VLog<'_>, msg: &str, e: Errno| {
        log.line(msg);
        Err(e)
    };
    if data.len() < 8 {
        return fail(log, "hdr_len not found", Errno::EINVAL);
    }
    let hdr_len = u32_at(data, 4) as usize;
    if data.len() < hdr_len {
        return fail(log, "btf_header not found", Errno::EINVAL);
    }
    if hdr_len > BTF_HEADER_SIZE && data[BTF_HEADER_SIZE..hdr_len].iter().any(|&b| b != 0) {
        return fail(log, "Unsupported btf_header", Errno::E2BIG);
    }
    let mut raw = [0u8; BTF_HEADER_SIZE];
    let n = hdr_len.min(BTF_HEADER_SIZE);
    raw[..n].copy_from_slice(&data[..n]);
    let hdr = Header {
        magic: u16::from_le_bytes([raw[0], raw[1]]),
        version: raw[2],
        flags: raw[3],
        hdr_len: hdr_len as u32,
        type_off: u32_at(&raw, 8),
        type_len: u32_at(&raw, 12),
        str_off: u32_at(&raw, 16),
        str_len: u32_at(&raw, 20),
    };
    // btf_verifier_log_hdr()
    for line in [
        format!("magic: {:#x}", hdr.magic),
        format!("version: {}", hdr.version),
        format!("flags: {:#x}", hdr.flags),
        format!("hdr_len: {}", hdr.hdr_len),
        format!("type_off: {}", hdr.type_off),
        format!("type_len: {}", hdr.type_len),
        format!("str_off: {}", hdr.str_off),
        format!("str_len: {}", hdr.str_len),
        format!("btf_total_size: {}", data.len()),
    ] {
        log.line(&line);
    }
    if hdr.magic != BTF_MAGIC {
        return fail(log, "Invalid magic", Errno::EINVAL);
    }
    if hdr.version != BTF_VERSION {
        return fail(log, "Unsupported version", Errno::ENOTSUPP);
    }
    if hdr.flags != 0 {
        return fail(log, "Unsupported flags", Errno::ENOTSUPP);
    }
    if data.len() == hdr_len {
        return fail(log, "No data", Errno::EINVAL);
    }
    // btf_check_sec_info(): the sections must tile the data after the header.
    if let Err(e) = bpfemu_btf::check_sections(&hdr, (data.len() - hdr_len) as u64) {
        return fail(log, &e.to_string(), Errno::EINVAL);
    }
    // btf_parse_str_sec(): starts and ends with a NUL.
    let strs = &data[hdr_len + hdr.str_off as usize..][..hdr.str_len as usize];
    if strs.first() != Some(&0) || strs.last() != Some(&0) {
        return fail(log, "Invalid string section", Errno::EINVAL);
    }
    // btf_parse_type_sec()
    if !hdr.type_off.is_multiple_of(4) {
        return fail(log, "Unaligned type_off", Errno::EINVAL);
    }
    Ok(hdr)
}

/// Logs a validation error as `btf_verifier_log_type()` would: the type's
/// line (when the blob decodes far enough to name it), then the reason.
fn log_btf_error(data: &[u8], e: &bpfemu_btf::BtfError, log: &mut VLog<'_>) {
    let named = e.type_id().and_then(|id| {
        let btf = bpfemu_btf::decode(data).ok()?;
        let t = btf.get(id)?;
        Some(format!("[{id}] {} {}", t.kind.tag().name(), btf.name(id)))
    });
    match named {
        Some(line) => {
            log.line(line.trim_end());
            log.line(&format!("\t{e}"));
        }
        None => log.line(&e.to_string()),
    }
}

impl Kernel {
    /// `BPF_BTF_LOAD`: the new BTF object's fd. Larger than
    /// [`BTF_MAX_SIZE`]: `E2BIG`; a log level without a buffer or a buffer
    /// without a level: `EINVAL`; then [`check_btf`]'s errors.
    pub(crate) fn btf_load(
        &mut self,
        btf: &[u8],
        log: Option<&mut String>,
        log_level: u32,
    ) -> Result<i64, Errno> {
        if btf.len() > BTF_MAX_SIZE {
            return Err(Errno::E2BIG);
        }
        let mut log = VLog::for_btf(log, log_level)?;
        check_btf(btf, &mut log)?;
        if let Err(e) = bpfemu_btf::load(btf) {
            log_btf_error(btf, &e, &mut log);
            log.finish()?;
            return Err(Errno::EINVAL);
        }
        log.finish()?;
        let id = self.objects.btfs.alloc()?;
        let obj = Arc::new(BtfObj { id, data: btf.to_vec(), name: String::new(), kernel_btf: false });
        self.objects.btfs.publish(id, &obj);
        let fd = self.install_fd(Obj::Btf(obj))?;
        Ok(i64::from(fd))
    }
}
