//! Guest memory: the BPF stack, the region table of checked mode, and the
//! raw accessors every load, store and atomic goes through.
//!
//! Guest pointers are host addresses (see ARCHITECTURE.md, "Memory
//! model"). Kernel counterpart: the interpreter's `u64 stack[...]` in
//! kernel/bpf/core.c (`___bpf_prog_run` callers), plain C loads and stores,
//! and the `atomic_*`/`atomic64_*` operations of the `STX | ATOMIC` labels.
//!
//! **Stack layout.** One allocation of `MAX_CALL_FRAMES * MAX_BPF_STACK`
//! (8 × 512) bytes, 16-byte aligned, per run. Frame `k` (0 = main program)
//! occupies `[top - (k+1)*512, top - k*512)` and its r10 is that frame's
//! end. A frame is zeroed the first time the run enters it (frame 0 at
//! start), so every run starts from the same memory; later re-entries see
//! what the previous callee left, as in the kernel.
//!
//! **Checked mode** treats each *active* frame (0..=current depth) as its own
//! region, named `stack` for frame 0 and `stack[k]` for deeper ones. A
//! callee may use pointers into its callers' frames (the verifier allows
//! passing them), but an access that straddles two frames, or touches a
//! frame that is not active (a dangling pointer into a returned callee's
//! stack) is a violation.

use crate::error::VmError;
use bpfemu_isa::opcode::{MAX_BPF_STACK, MAX_CALL_FRAMES};
use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

/// Bytes of stack per frame.
pub const FRAME_SIZE: u64 = MAX_BPF_STACK as u64;
/// Bytes of the whole call stack of one run.
pub const STACK_SIZE: usize = MAX_BPF_STACK * MAX_CALL_FRAMES;

/// A range of host memory a program may access in checked mode.
///
/// A region is a statement that `[start, start+len)` is memory valid for
/// reads (and writes, when writable) for the lifetime `'a`, not aliased by
/// any live Rust reference that the program's accesses would invalidate.
/// The slice constructors derive that from a borrow, so safe code cannot
/// hand the checked interpreter a bogus region; [`MemRegion::from_raw`] is
/// the `unsafe` way for memory the emulator manages itself (map values,
/// kernel objects).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemRegion<'a> {
    name: String,
    start: u64,
    len: u64,
    writable: bool,
    _mem: PhantomData<&'a mut [u8]>,
}

impl<'a> MemRegion<'a> {
    /// A region for the interpreter's own bookkeeping (stack frames, unit
    /// tests of the checker): never dereferenced unless the caller of a run
    /// also guarantees the memory, as for the run's own stack.
    pub(crate) fn described(name: impl Into<String>, start: u64, len: u64, writable: bool) -> MemRegion<'a> {
        MemRegion { name: name.into(), start, len, writable, _mem: PhantomData }
    }

    /// A region over raw memory.
    ///
    /// # Safety
    /// `[start, start+len)` must be valid for reads, and for writes when
    /// `writable`, for all of `'a`, and no Rust reference to it may be used
    /// while a program runs with this region.
    pub unsafe fn from_raw(name: impl Into<String>, start: u64, len: u64, writable: bool) -> MemRegion<'a> {
        MemRegion::described(name, start, len, writable)
    }

    /// A read-only region over `data`.
    pub fn from_slice(name: impl Into<String>, data: &'a [u8]) -> MemRegion<'a> {
        let start = data.as_ptr().expose_provenance() as u64;
        MemRegion::described(name, start, data.len() as u64, false)
    }

    /// A writable region over `data`.
    pub fn from_mut_slice(name: impl Into<String>, data: &'a mut [u8]) -> MemRegion<'a> {
        let start = data.as_mut_ptr().expose_provenance() as u64;
        MemRegion::described(name, start, data.len() as u64, true)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// First address of the region.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Length in bytes.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// Whether `[addr, addr+size)` lies entirely inside the region.
    pub fn contains(&self, addr: u64, size: u64) -> bool {
        addr >= self.start
            && u128::from(addr) + u128::from(size) <= u128::from(self.start) + u128::from(self.len)
    }

    /// Bytes between the access and the region (0 when they overlap).
    fn distance(&self, addr: u64, size: u64) -> u128 {
        let (a, e) = (u128::from(addr), u128::from(addr) + u128::from(size));
        let (s, end) = (u128::from(self.start), u128::from(self.start) + u128::from(self.len));
        if e <= s { s - e } else { a.saturating_sub(end) }
    }
}

/// Storage for the call stack of one run: `STACK_SIZE` bytes, meant to live
/// on the host stack of the running thread.
#[repr(C, align(16))]
pub(crate) struct StackMem {
    mem: MaybeUninit<[u8; STACK_SIZE]>,
}

impl StackMem {
    pub(crate) fn new() -> StackMem {
        StackMem { mem: MaybeUninit::uninit() }
    }
}

/// The call stack in use: one raw pointer taken from [`StackMem`] once, so
/// that guest accesses (through exposed provenance) and frame zeroing all
/// derive from the same pointer. Frames are initialised on first entry
/// (see the module docs).
pub(crate) struct Stack<'a> {
    base: *mut u8,
    _mem: PhantomData<&'a mut StackMem>,
}

impl<'a> Stack<'a> {
    pub(crate) fn new(mem: &'a mut StackMem) -> Stack<'a> {
        let base = mem.mem.as_mut_ptr().cast::<u8>();
        let s = Stack { base, _mem: PhantomData };
        s.zero_frame(0);
        s
    }

    /// Address one past the end; r10 of frame 0.
    pub(crate) fn top(&self) -> u64 {
        self.base.wrapping_add(STACK_SIZE).expose_provenance() as u64
    }

    /// Zeroes frame `k`; does nothing for `k >= MAX_CALL_FRAMES`.
    pub(crate) fn zero_frame(&self, k: usize) {
        if k < MAX_CALL_FRAMES {
            let start = STACK_SIZE - (k + 1) * MAX_BPF_STACK;
            // SAFETY: for k < MAX_CALL_FRAMES, [start, start + MAX_BPF_STACK) lies
            // inside the STACK_SIZE bytes of the StackMem that `self` borrows
            // mutably for 'a, and `base` was derived from that borrow; u8 has no
            // invalid bit patterns.
            unsafe { ptr::write_bytes(self.base.add(start), 0, MAX_BPF_STACK) };
        }
    }
}

/// Most extra windows a checker holds: per callback nesting level, the
/// caller's stack and one block of helper memory.
pub(crate) const MAX_EXTRA: usize = 2 * MAX_CALL_FRAMES;

/// Validates accesses in checked mode: the caller's regions plus the active
/// stack frames, plus (in a callback run) the windows of
/// [`Checker::extra`]: the enclosing runs' stacks and memory a helper lent
/// the callback.
#[derive(Debug)]
pub(crate) struct Checker<'r> {
    pub(crate) regions: &'r [MemRegion<'r>],
    pub(crate) stack_top: u64,
    /// `(start, len, writable)`; the first `n_extra` are in use.
    pub(crate) extra: [(u64, u64, bool); MAX_EXTRA],
    pub(crate) n_extra: usize,
}

impl Checker<'_> {
    /// Checks `[addr, addr+size)` at instruction `pc` with `depth + 1` active
    /// frames.
    #[inline]
    pub(crate) fn check(
        &self,
        pc: usize,
        addr: u64,
        size: u64,
        write: bool,
        depth: usize,
    ) -> Result<(), VmError> {
        // Stack first: the commonest target. Offsets from the top, in bytes.
        let top = self.stack_top;
        if addr < top {
            let first = top - addr; // > 0
            let last = first.wrapping_sub(size - 1); // offset of the last byte, from top
            let active = (depth as u64 + 1) * FRAME_SIZE;
            if first <= active && last >= 1 && last <= first {
                // Same frame: frame index of byte b is (top - 1 - b) / 512.
                if (first - 1) / FRAME_SIZE == (last - 1) / FRAME_SIZE {
                    return Ok(());
                }
            }
        }
        for r in self.regions {
            if r.contains(addr, size) {
                return if write && !r.writable {
                    Err(self.violation(pc, addr, size, write, depth))
                } else {
                    Ok(())
                };
            }
        }
        if self.n_extra > 0 && self.in_extra(addr, size, write) {
            return Ok(());
        }
        Err(self.violation(pc, addr, size, write, depth))
    }

    #[cold]
    fn in_extra(&self, addr: u64, size: u64, write: bool) -> bool {
        let (a, e) = (u128::from(addr), u128::from(addr) + u128::from(size));
        self.extra[..self.n_extra]
            .iter()
            .any(|&(s, l, w)| a >= u128::from(s) && e <= u128::from(s) + u128::from(l) && (w || !write))
    }

    /// Checks an atomic: bounds as a write, then natural alignment.
    #[inline]
    pub(crate) fn check_atomic(&self, pc: usize, addr: u64, size: u64, depth: usize) -> Result<(), VmError> {
        self.check(pc, addr, size, true, depth)?;
        if !addr.is_multiple_of(size) {
            return Err(VmError::MisalignedAtomic { pc, addr, size: size as usize });
        }
        Ok(())
    }

    #[cold]
    fn violation(&self, pc: usize, addr: u64, size: u64, write: bool, depth: usize) -> VmError {
        let frames = (0..=depth.min(MAX_CALL_FRAMES - 1)).map(|k| {
            let name = if k == 0 { "stack".to_string() } else { format!("stack[{k}]") };
            let end = self.stack_top - k as u64 * FRAME_SIZE;
            MemRegion::described(name, end - FRAME_SIZE, FRAME_SIZE, true)
        });
        let mut best: Option<(u128, MemRegion)> = None;
        for r in frames.chain(self.regions.iter().cloned()) {
            // A containing read-only region is the answer for a write.
            let d = if r.contains(addr, size) { 0 } else { r.distance(addr, size) };
            if best.as_ref().is_none_or(|(bd, _)| d < *bd) {
                best = Some((d, r));
            }
        }
        VmError::MemoryViolation {
            pc,
            addr,
            size: size as usize,
            write,
            nearest: best.map(|(_, r)| (r.name, r.start, r.len)),
        }
    }
}

/// A value a load or store moves: the four access sizes.
pub(crate) trait Scalar: Copy {}
impl Scalar for u8 {}
impl Scalar for u16 {}
impl Scalar for u32 {}
impl Scalar for u64 {}

/// Loads a `T` from guest address `addr` (any alignment).
///
/// # Safety
/// `[addr, addr + size_of::<T>())` must be memory valid for reads during the
/// call, with provenance exposed to the interpreter (a region, the stack,
/// or memory the verifier proved the program may read).
#[inline(always)]
pub(crate) unsafe fn load<T: Scalar>(addr: u64) -> T {
    let p = ptr::with_exposed_provenance::<T>(addr as usize);
    // SAFETY: validity for reads is the caller's contract; read_unaligned
    // places no alignment requirement; every bit pattern is a valid T.
    unsafe { p.read_unaligned() }
}

/// Stores a `T` to guest address `addr` (any alignment).
///
/// # Safety
/// `[addr, addr + size_of::<T>())` must be memory valid for writes during
/// the call and not covered by a live Rust reference.
#[inline(always)]
pub(crate) unsafe fn store<T: Scalar>(addr: u64, v: T) {
    let p = ptr::with_exposed_provenance_mut::<T>(addr as usize);
    // SAFETY: validity for writes is the caller's contract; write_unaligned
    // places no alignment requirement.
    unsafe { p.write_unaligned(v) }
}

/// The atomic view of the 32-bit word at `addr`.
///
/// # Safety
/// `addr` must be 4-byte aligned and valid for reads and writes for `'a`,
/// only ever accessed atomically while the view is used concurrently.
#[inline(always)]
pub(crate) unsafe fn atomic32<'a>(addr: u64) -> &'a AtomicU32 {
    // SAFETY: alignment and validity are the caller's contract, which is
    // exactly AtomicU32::from_ptr's requirement.
    unsafe { AtomicU32::from_ptr(ptr::with_exposed_provenance_mut::<u32>(addr as usize)) }
}

/// The atomic view of the 64-bit word at `addr`.
///
/// # Safety
/// As [`atomic32`], with 8-byte alignment.
#[inline(always)]
pub(crate) unsafe fn atomic64<'a>(addr: u64) -> &'a AtomicU64 {
    // SAFETY: alignment and validity are the caller's contract, which is
    // exactly AtomicU64::from_ptr's requirement.
    unsafe { AtomicU64::from_ptr(ptr::with_exposed_provenance_mut::<u64>(addr as usize)) }
}

/// Memory ordering of every atomic instruction. The kernel's fetching
/// atomics are fully ordered; SeqCst also covers the non-fetching ones.
pub(crate) const ORD: Ordering = Ordering::SeqCst;

#[cfg(test)]
mod tests {
    use super::*;

    fn checker<'r>(regions: &'r [MemRegion<'r>]) -> Checker<'r> {
        Checker { regions, stack_top: 0x10_0000, extra: [(0, 0, false); MAX_EXTRA], n_extra: 0 }
    }

    #[test]
    fn stack_frames_are_separate_regions() {
        let c = checker(&[]);
        let top = c.stack_top;
        assert!(c.check(0, top - 8, 8, true, 0).is_ok());
        assert!(c.check(0, top - 512, 8, true, 0).is_ok());
        assert!(c.check(0, top - 513, 1, false, 0).is_err(), "frame 1 is not active");
        assert!(c.check(0, top - 513, 1, false, 1).is_ok());
        assert!(c.check(0, top - 516, 8, false, 1).is_err(), "straddles frames 0 and 1");
        assert!(c.check(0, top - 4, 8, false, 0).is_err(), "runs past the top");
        assert!(c.check(0, top, 1, false, 7).is_err());
        assert!(c.check(0, top - 4096, 8, false, 7).is_ok());
        assert!(c.check(0, top - 4097, 1, false, 7).is_err());
        assert!(c.check(0, u64::MAX, 8, false, 0).is_err());
    }

    #[test]
    fn region_must_contain_the_whole_access() {
        let rs =
            [MemRegion::described("ctx", 0x1000, 16, false), MemRegion::described("map", 0x2000, 8, true)];
        let c = checker(&rs);
        assert!(c.check(0, 0x1000, 8, false, 0).is_ok());
        assert!(c.check(0, 0x1008, 8, false, 0).is_ok());
        assert!(c.check(0, 0x1009, 8, false, 0).is_err());
        assert!(c.check(0, 0x2000, 8, true, 0).is_ok());
        // Adjacent regions do not merge.
        let err = c.check(1, 0x1000, 4, true, 0).unwrap_err();
        assert_eq!(
            err,
            VmError::MemoryViolation {
                pc: 1,
                addr: 0x1000,
                size: 4,
                write: true,
                nearest: Some(("ctx".into(), 0x1000, 16)),
            }
        );
        let err = c.check(2, 0x2004, 8, false, 0).unwrap_err();
        assert!(err.to_string().contains("'map' [0x2000,+8), 4 bytes past its end"), "{err}");
    }

    #[test]
    fn nearest_includes_stack() {
        let rs = [MemRegion::described("ctx", 0x1000, 16, false)];
        let c = checker(&rs);
        let err = c.check(3, c.stack_top + 8, 8, true, 0).unwrap_err();
        let VmError::MemoryViolation { nearest: Some((name, start, len)), .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!((name.as_str(), start, len), ("stack", c.stack_top - 512, 512));
        let err = c.check(3, c.stack_top - 1030, 4, true, 1).unwrap_err();
        assert!(err.to_string().contains("'stack[1]'"), "{err}");
    }

    #[test]
    fn atomics_need_alignment() {
        let rs = [MemRegion::described("map", 0x2000, 16, true)];
        let c = checker(&rs);
        assert!(c.check_atomic(0, 0x2008, 8, 0).is_ok());
        assert_eq!(
            c.check_atomic(0, 0x2004, 8, 0),
            Err(VmError::MisalignedAtomic { pc: 0, addr: 0x2004, size: 8 })
        );
        assert!(c.check_atomic(0, 0x2004, 4, 0).is_ok());
    }

    #[test]
    fn unaligned_access_round_trips() {
        let mut buf = [0u8; 16];
        let a = buf.as_mut_ptr().expose_provenance() as u64 + 3;
        // SAFETY: buf is a live local array of 16 bytes; [3, 11) is inside it
        // and no reference to it is used until the raw accesses end.
        unsafe {
            store::<u64>(a, 0x1122_3344_5566_7788);
            assert_eq!(load::<u64>(a), 0x1122_3344_5566_7788);
            assert_eq!(load::<u16>(a + 1), 0x6677);
        }
        assert_eq!(buf[3], 0x88);
    }
}
