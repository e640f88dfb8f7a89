//! `bpf_trace_printk` (kernel/trace/bpf_trace.c) and `bpf_snprintf`
//! (kernel/bpf/helpers.c), over the dialect of [`super::printf`].
//!
//! `bpf_trace_printk(fmt, fmt_size, a1, a2, a3)`: `fmt` must hold a NUL
//! within `fmt_size` bytes; at most 3 conversions. The message is rendered
//! into a 1024-byte buffer (truncated to 1023 bytes), appended to
//! [`RunCtx::trace`] as a trace-pipe line (see [`trace_line`]), and the
//! helper returns the length of the full rendering, as `bstr_printf()`.
//!
//! **Trace line rendering** (deterministic; the kernel's default trace
//! format with fixed flags):
//!
//! ```text
//! <comm right-aligned to 16>-<pid left-aligned to 7> [<cpu, 3 digits>] d.... <secs, 5 wide>.<usecs, 6 digits>: bpf_trace_printk: <message>
//! ```
//!
//! `comm` is `current->comm` (`<idle>` for pid 0 with no name), pid the
//! low half of `pid_tgid`, the timestamp the run's `ktime_get_ns()`. The
//! flags column is always `d....` (the kernel's depends on irq/preempt
//! state, not emulated). One trailing newline of the message is dropped
//! (the line is the unit); other bytes are kept, non-UTF-8 replaced.
//!
//! `bpf_snprintf(str, str_size, fmt, data, data_len)`: `data_len` a
//! multiple of 8, at most 12 arguments (`-EINVAL` otherwise); writes at
//! most `str_size` bytes including the NUL and returns the full length
//! plus one.

use super::guest::{self, Ptr};
use super::neg;
use super::printf::{MAX_BPRINTF_BUF, MAX_BPRINTF_VARARGS, format};
use crate::errno::Errno;
use crate::runctx::{self, RunCtx};

/// Most arguments `bpf_trace_printk` takes (`MAX_TRACE_PRINTK_VARARGS`).
pub const MAX_TRACE_PRINTK_VARARGS: usize = 3;

/// The trace-pipe line for `msg` printed by a program running in `ctx`.
pub fn trace_line(ctx: &RunCtx, msg: &[u8]) -> String {
    let msg = msg.strip_suffix(b"\n").unwrap_or(msg);
    let pid = ctx.pid_tgid as u32;
    let name_len = ctx.comm.iter().position(|&b| b == 0).unwrap_or(ctx.comm.len());
    let comm = match String::from_utf8_lossy(&ctx.comm[..name_len]) {
        c if c.is_empty() && pid == 0 => "<idle>".into(),
        c => c,
    };
    let (secs, usecs) = (ctx.now_ns / 1_000_000_000, ctx.now_ns % 1_000_000_000 / 1000);
    format!(
        "{comm:>16}-{pid:<7} [{:03}] d.... {secs:>5}.{usecs:06}: bpf_trace_printk: {}",
        ctx.cpu,
        String::from_utf8_lossy(msg)
    )
}

/// `long bpf_trace_printk(const char *fmt, u32 fmt_size, ...)`; the
/// printed message then fires the `bpf_trace_printk` tracepoint
/// (`trace_bpf_trace_printk(data.buf)`).
pub extern "C" fn trace_printk(fmt: u64, fmt_size: u64, a1: u64, a2: u64, a3: u64) -> u64 {
    let done = runctx::with(|c| {
        let Some(f) = guest::read(c, fmt, fmt_size as u32 as usize, Ptr::Proven) else {
            return (neg(Errno::EFAULT), None);
        };
        let Some(end) = f.iter().position(|&b| b == 0) else { return (neg(Errno::EINVAL), None) };
        match format(c, &f[..end], &[a1, a2, a3]) {
            Ok(msg) => {
                let len = msg.len() as u64;
                let shown = &msg[..msg.len().min(MAX_BPRINTF_BUF - 1)];
                let line = trace_line(c, shown);
                c.trace.push(line);
                (len, Some(shown.to_vec()))
            }
            Err(e) => (neg(e), None),
        }
    });
    let Some((ret, msg)) = done else { return neg(Errno::EFAULT) };
    if let Some(mut buf) = msg {
        buf.push(0);
        crate::tracepoint::run::trace_bpf_trace_printk(&buf);
    }
    ret
}

/// `long bpf_snprintf(char *str, u32 str_size, const char *fmt, u64 *data,
/// u32 data_len)`.
pub extern "C" fn snprintf(str: u64, str_size: u64, fmt: u64, data: u64, data_len: u64) -> u64 {
    let (str_size, data_len) = (str_size as u32 as usize, data_len as u32 as usize);
    if !data_len.is_multiple_of(8) || data_len > MAX_BPRINTF_VARARGS * 8 || (data_len > 0 && data == 0) {
        return neg(Errno::EINVAL);
    }
    runctx::with(|c| {
        // ARG_PTR_TO_CONST_STR: the verifier proved a NUL-terminated string.
        let Ok(f) = guest::read_str(c, fmt, usize::MAX, Ptr::Proven) else { return neg(Errno::EFAULT) };
        let Some(raw) = guest::read(c, data, data_len, Ptr::Proven) else { return neg(Errno::EFAULT) };
        let args: Vec<u64> =
            raw.chunks_exact(8).map(|w| u64::from_le_bytes(w.try_into().expect("8 bytes"))).collect();
        if !guest::valid(c, str, str_size as u64, true, Ptr::Proven) {
            return neg(Errno::EFAULT);
        }
        match format(c, &f, &args) {
            Ok(mut out) => {
                let len = out.len() as u64;
                if str_size > 0 {
                    out.truncate(str_size - 1);
                    out.push(0);
                    guest::write(c, str, &out, Ptr::Proven);
                }
                len + 1
            }
            Err(e) => neg(e),
        }
    })
    .unwrap_or(neg(Errno::EFAULT))
}
