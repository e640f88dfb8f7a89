//! The BTF verifier's log (`struct bpf_verifier_log`, kernel/bpf/log.c) as
//! `BPF_BTF_LOAD` writes it: the caller's buffer, filled line by line.
//! `BPF_PROG_LOAD` uses the verifier crate's
//! [`bpfemu_verifier::log::VerifierLog`] (levels, rotation, `ENOSPC`).

use crate::errno::Errno;

/// `BPF_LOG_LEVEL1 | BPF_LOG_LEVEL2 | BPF_LOG_STATS | BPF_LOG_FIXED`.
pub const BPF_LOG_MASK: u32 = 0xf;

/// A verifier log over the caller's buffer (or none).
#[derive(Debug)]
pub struct VLog<'a> {
    buf: Option<&'a mut String>,
    level: u32,
    /// Capacity in bytes including the terminating NUL the kernel writes;
    /// `None` for logs without a size (BTF_LOAD's typed attr has none).
    size: Option<usize>,
    truncated: bool,
}

impl<'a> VLog<'a> {
    /// `BPF_BTF_LOAD`'s log (`btf_parse()`): a level without a buffer or a
    /// buffer without a level is `EINVAL`. The emulator's attr carries no
    /// size, so the buffer is unbounded.
    pub fn for_btf(buf: Option<&'a mut String>, level: u32) -> Result<VLog<'a>, Errno> {
        if buf.is_some() != (level != 0) || level & !BPF_LOG_MASK != 0 {
            return Err(Errno::EINVAL);
        }
        let mut log = VLog { buf, level, size: None, truncated: false };
        if let Some(b) = log.buf.as_deref_mut() {
            b.clear();
        }
        Ok(log)
    }

    /// Whether anything written is kept.
    pub fn enabled(&self) -> bool {
        self.level != 0 && self.buf.is_some()
    }

    /// Appends one line (a `\n` is added).
    pub fn line(&mut self, msg: &str) {
        if !self.enabled() {
            return;
        }
        let size = self.size;
        let Some(buf) = self.buf.as_deref_mut() else { return };
        let room = size.map_or(usize::MAX, |s| s.saturating_sub(1).saturating_sub(buf.len()));
        let text = format!("{msg}\n");
        if text.len() <= room {
            buf.push_str(&text);
        } else {
            let mut cut = room;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            buf.push_str(&text[..cut]);
            self.truncated = true;
        }
    }

    /// The outcome of a load that otherwise succeeded: `ENOSPC` when the
    /// log was truncated.
    pub fn finish(&self) -> Result<(), Errno> {
        if self.truncated { Err(Errno::ENOSPC) } else { Ok(()) }
    }
}
