//! Iterator files: what `BPF_ITER_CREATE` returns, and their reads.
//!
//! Kernel counterparts: kernel/bpf/bpf_iter.c `bpf_iter_new_fd()`,
//! `prepare_seq_file()` / `init_seq_meta()` (a session id from a global
//! counter, `seq_num` 0), `bpf_seq_read()`, `bpf_iter_get_info()`,
//! `bpf_iter_run_prog()`; kernel/bpf/map_iter.c `bpf_map_seq_start()` /
//! `_next()` / `_show()` / `_stop()`; fs/seq_file.c `seq_write()`,
//! `seq_bprintf()` and the overflow convention (`count == size`).
//!
//! A read of `size` bytes, as `bpf_seq_read()` does it:
//!
//! - bytes left over from the previous read are returned first (up to
//!   `size`), and nothing else happens;
//! - otherwise the buffer (`PAGE_SIZE << 3` = 32 KiB) is filled: the
//!   program runs on the object `start()` finds (for `bpf_map`: the map
//!   with the smallest id at or after the cursor), then on each next one
//!   (`meta->seq_num` counts the objects shown), until the objects end,
//!   the buffer holds `size` bytes or more, or a run fails;
//! - a run that returns 1 (`-EAGAIN`) or overflows the buffer leaves it
//!   as it was before that object: when nothing was printed before it,
//!   the read fails (`EAGAIN`, or `E2BIG` for the overflow) — otherwise
//!   the object is retried by the next read;
//! - when the objects end, the program runs once more with a NULL object
//!   (`stop()`, `in_stop`), unless it already did (`done_stop`); its
//!   output follows (an overflow there: the output before it is kept,
//!   `E2BIG` when there was none);
//! - then up to `size` bytes are returned; 0 is the end of the file.
//!
//! Each run gets a fresh `struct bpf_iter_meta` (seq, session id,
//! seq_num) and a `struct bpf_map` image ([`crate::lsm::attr::map_image`])
//! as read-only memory. Not emulated: `MAX_ITER_OBJECTS` (a million
//! maps), `cond_resched()`, sleepable iterator programs' RCU flavour
//! (they run like the others).

use super::IterTarget;
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::vmlinux::iter::BpfIterMeta;
use bpfemu_vm::MemRegion;
use parking_lot::Mutex;
use std::mem::offset_of;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// `PAGE_SIZE << 3`: the buffer `bpf_seq_read()` allocates.
pub const SEQ_BUF_SIZE: usize = 4096 << 3;

/// `session_id` of kernel/bpf/bpf_iter.c: one per opened iterator file.
static SESSION_ID: AtomicU64 = AtomicU64::new(0);

/// The seq_file buffer during a fill: its bytes, its size and the
/// overflow mark (`seq_has_overflowed()`: `count == size`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeqBuf {
    /// The guest address of the run's `struct seq_file` (helpers check
    /// `m` against it).
    pub addr: u64,
    data: Vec<u8>,
    size: usize,
    overflow: bool,
}

impl SeqBuf {
    pub fn new(addr: u64, size: usize) -> SeqBuf {
        SeqBuf { addr, data: Vec::new(), size, overflow: false }
    }

    /// `seq->count`.
    pub fn count(&self) -> usize {
        if self.overflow { self.size } else { self.data.len() }
    }

    /// `seq_has_overflowed()`.
    pub fn overflowed(&self) -> bool {
        self.overflow
    }

    /// `seq_bprintf()` of an already rendered `text`: kept only if it
    /// fits with a byte to spare.
    pub fn printf(&mut self, text: &[u8]) {
        if !self.overflow && self.data.len() + text.len() < self.size {
            self.data.extend_from_slice(text);
        } else {
            self.overflow = true;
        }
    }

    /// `seq_write()`: whether `bytes` fit.
    pub fn write(&mut self, bytes: &[u8]) -> bool {
        if !self.overflow && self.data.len() + bytes.len() <= self.size {
            self.data.extend_from_slice(bytes);
            true
        } else {
            self.overflow = true;
            false
        }
    }

    /// `seq->count = offs`: back to `offs` bytes, overflow cleared.
    pub fn truncate(&mut self, offs: usize) {
        self.data.truncate(offs);
        self.overflow = false;
    }

    /// The bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.data
    }
}

/// The state of one iterator file (`struct seq_file` with its
/// `bpf_iter_priv_data` and `bpf_iter_seq_map_info`).
#[derive(Debug)]
struct SeqState {
    /// Bytes filled but not read yet (`seq->buf[from..from + count]`).
    pending: Vec<u8>,
    /// `seq->index`.
    index: u64,
    /// `info->map_id`: the cursor of the `bpf_map` target.
    map_id: u32,
    seq_num: u64,
    done_stop: bool,
}

/// An open iterator file (`anon_inode:bpf_iter`).
#[derive(Debug)]
pub struct IterFile {
    pub target: &'static IterTarget,
    /// The link's program when the file was opened (`prepare_seq_file()`).
    pub prog: Arc<Prog>,
    pub session_id: u64,
    state: Mutex<SeqState>,
}

impl IterFile {
    /// `prepare_seq_file()` + `init_seq_meta()`.
    pub fn new(target: &'static IterTarget, prog: Arc<Prog>) -> IterFile {
        let session_id = SESSION_ID.fetch_add(1, Ordering::Relaxed) + 1;
        let state = SeqState { pending: Vec::new(), index: 0, map_id: 0, seq_num: 0, done_stop: false };
        IterFile { target, prog, session_id, state: Mutex::new(state) }
    }
}

/// What `show()` of one object gave.
enum Shown {
    Ok,
    /// The program returned non-zero (`-EAGAIN`) or failed.
    Err(Errno),
}

impl Kernel {
    /// `bpf_map_get_curr_or_next()`: the map with the smallest id at or
    /// after `*id`, `*id` moved to it.
    fn map_curr_or_next(&self, id: &mut u32) -> Option<Arc<crate::map::Map>> {
        let maps = &self.objects.maps;
        let found = maps.next_id(id.saturating_sub(1))?;
        *id = found;
        maps.get(found)
    }

    /// `__bpf_map_seq_show()`: runs the program on `map` (NULL for the
    /// stop call) with the meta of this point, printing into `seq`.
    fn iter_show(
        &mut self,
        file: &IterFile,
        seq_num: u64,
        map: Option<&crate::map::Map>,
        seq: &mut SeqBuf,
    ) -> Shown {
        let seq_file = [0u8; 8];
        let seq_region = MemRegion::from_slice("seq_file", &seq_file);
        let mut meta = [0u8; size_of::<BpfIterMeta>()];
        let put = |m: &mut [u8], off: usize, v: u64| m[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        put(&mut meta, offset_of!(BpfIterMeta, seq), seq_region.start());
        put(&mut meta, offset_of!(BpfIterMeta, session_id), file.session_id);
        put(&mut meta, offset_of!(BpfIterMeta, seq_num), seq_num);
        let meta_region = MemRegion::from_slice("bpf_iter_meta", &meta);
        let image = map.map(crate::lsm::attr::map_image);
        let map_region = image.as_ref().map(|i| MemRegion::from_slice("bpf_map", i));
        let ctx: Vec<u8> = [meta_region.start(), map_region.as_ref().map_or(0, |r| r.start())]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        let ctx_region = MemRegion::from_slice("ctx", &ctx);
        let mut regions = vec![ctx_region.clone(), meta_region, seq_region.clone()];
        regions.extend(map_region);
        let buf = SeqBuf { addr: seq_region.start(), ..seq.clone() };
        let (r, out) = self.run_prog_with_seq(&file.prog, &[ctx_region.start()], &regions, false, Some(buf));
        if let Some(out) = out {
            *seq = SeqBuf { addr: seq.addr, ..out };
        }
        match r {
            Ok(0) => Shown::Ok,
            Ok(_) => Shown::Err(Errno::EAGAIN),
            Err(_) => Shown::Err(Errno::EFAULT),
        }
    }

    /// `read(fd, buf, size)` of an iterator file (see the module docs):
    /// the bytes read (empty at the end), or the errno.
    pub fn iter_read(&mut self, fd: i32, size: usize) -> Result<Vec<u8>, Errno> {
        let file = match self.fd_obj(fd)? {
            crate::bpf::objects::Obj::Iter(f) => f,
            _ => return Err(Errno::EINVAL),
        };
        let mut st = file.state.lock();
        if !st.pending.is_empty() {
            let n = st.pending.len().min(size);
            return Ok(st.pending.drain(..n).collect());
        }
        let mut seq = SeqBuf::new(0, SEQ_BUF_SIZE);
        // start(): the object at the cursor.
        let mut p = self.map_curr_or_next(&mut st.map_id);
        if p.is_some() && st.index == 0 {
            st.index = 1;
        }
        if let Some(map) = p.clone() {
            if let Shown::Err(e) = self.iter_show(&file, st.seq_num, Some(&map), &mut seq) {
                return Err(e);
            }
            if seq.overflowed() {
                return Err(Errno::E2BIG);
            }
            loop {
                let offs = seq.count();
                // next(): the following map.
                st.index += 1;
                st.map_id = st.map_id.saturating_add(1);
                p = self.map_curr_or_next(&mut st.map_id);
                let Some(map) = p.clone() else { break };
                st.seq_num += 1;
                if seq.count() >= size {
                    break;
                }
                let shown = self.iter_show(&file, st.seq_num, Some(&map), &mut seq);
                let failed = match shown {
                    Shown::Err(e) => Some(e),
                    Shown::Ok if seq.overflowed() => Some(Errno::E2BIG),
                    Shown::Ok => None,
                };
                if let Some(e) = failed {
                    seq.truncate(offs);
                    if offs == 0 {
                        return Err(e);
                    }
                    break;
                }
            }
        }
        // stop(): with no object left, the final run (once).
        let offs = seq.count();
        if p.is_none() && !st.done_stop {
            // The stop call's result is ignored.
            let _ = self.iter_show(&file, st.seq_num, None, &mut seq);
            if !seq.overflowed() {
                st.done_stop = true;
            } else {
                seq.truncate(offs);
                if offs == 0 {
                    return Err(Errno::E2BIG);
                }
            }
        }
        let bytes = seq.bytes();
        let n = bytes.len().min(size);
        st.pending = bytes[n..].to_vec();
        Ok(bytes[..n].to_vec())
    }
}
