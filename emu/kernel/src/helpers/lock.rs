//! `bpf_spin_lock` / `bpf_spin_unlock` (kernel/bpf/helpers.c).
//!
//! The lock is the 4-byte `struct bpf_spin_lock` inside a map value: a
//! test-and-set lock on that word, as the kernel's generic
//! `__bpf_spin_lock()` (the non-qspinlock variant). Lock is a
//! compare-exchange 0 → 1 with Acquire (pairs with the Release store of
//! unlock), spinning while another CPU holds it; unlock stores 0 with
//! Release. In simulation mode (one host thread, programs run to
//! completion) the lock is always free when taken, so it never spins; in
//! concurrent mode it excludes other threads for real.
//!
//! The run remembers the lock it holds ([`RunCtx::spin_lock_held`]). The
//! verifier allows one lock at a time and requires the unlock before
//! exit; an unverified program breaking those rules gets an error instead
//! of hanging its own thread: a second lock returns `-EDEADLK`, an unlock
//! of a lock the run does not hold `-EINVAL` (the kernel's helpers return
//! nothing, `RET_VOID`). A lock word that is not a writable, aligned guest
//! location: `-EFAULT`. Not emulated: disabling interrupts around the
//! critical section (`local_irq_save`).
//!
//! [`RunCtx::spin_lock_held`]: crate::runctx::RunCtx::spin_lock_held

use super::guest::{self, Ptr};
use super::neg;
use crate::errno::Errno;
use crate::runctx;
use std::sync::atomic::Ordering;

/// `void bpf_spin_lock(struct bpf_spin_lock *lock)`.
pub extern "C" fn spin_lock(lock: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| {
        if c.spin_lock_held.is_some() {
            return neg(Errno::EDEADLK);
        }
        let taken = guest::with_lock_word(c, lock, Ptr::Proven, |w| {
            // Test-and-test-and-set: spin on plain loads while held.
            while w.compare_exchange_weak(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
                while w.load(Ordering::Relaxed) != 0 {
                    std::hint::spin_loop();
                }
            }
        });
        match taken {
            Some(()) => {
                c.spin_lock_held = Some(lock);
                0
            }
            None => neg(Errno::EFAULT),
        }
    })
    .unwrap_or(neg(Errno::EFAULT))
}

/// `void bpf_spin_unlock(struct bpf_spin_lock *lock)`.
pub extern "C" fn spin_unlock(lock: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    runctx::with(|c| {
        if c.spin_lock_held != Some(lock) {
            return neg(Errno::EINVAL);
        }
        // Release pairs with the Acquire compare-exchange of the next locker.
        match guest::with_lock_word(c, lock, Ptr::Proven, |w| w.store(0, Ordering::Release)) {
            Some(()) => {
                c.spin_lock_held = None;
                0
            }
            None => neg(Errno::EFAULT),
        }
    })
    .unwrap_or(neg(Errno::EFAULT))
}
