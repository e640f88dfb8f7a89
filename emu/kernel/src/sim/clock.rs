//! The virtual clock.
//!
//! Kernel counterparts (`kernel/time/timekeeping.c`, `kernel/time/jiffies.c`):
//! - `ktime_get_ns()` (`CLOCK_MONOTONIC`, `bpf_ktime_get_ns`) → [`Clock::now`];
//! - `ktime_get_boot_ns()` (`CLOCK_BOOTTIME`, `bpf_ktime_get_boot_ns`) →
//!   [`Clock::boot_ns`]: monotonic plus the time spent suspended;
//! - `ktime_get_coarse_ns()` (`bpf_ktime_get_coarse_ns`) → [`Clock::coarse_ns`]:
//!   the monotonic time of the last tick;
//! - `jiffies_64` → [`Clock::jiffies`], starting at `INITIAL_JIFFIES` like
//!   the kernel so that 32-bit jiffies wrap five minutes after boot.
//!
//! Granularity choice: the tick is `HZ = 250` (4 ms), the default of
//! x86-64 distribution kernels (`CONFIG_HZ_250`); coarse time and jiffies
//! advance in 4 ms steps. Nothing here reads host time: the clock moves only
//! when the simulation advances it, so runs are reproducible. Not emulated:
//! `CLOCK_REALTIME`/`CLOCK_TAI` (no wall time exists), NTP slewing, NO_HZ.

/// Ticks per second (`CONFIG_HZ`).
pub const HZ: u64 = 250;
/// Nanoseconds per tick (`TICK_NSEC`).
pub const TICK_NSEC: u64 = 1_000_000_000 / HZ;
/// `INITIAL_JIFFIES` on 64-bit: `(unsigned long)(unsigned int)(-300 * HZ)`.
pub const INITIAL_JIFFIES: u64 = (-300i64 * HZ as i64) as u32 as u64;

/// A monotonic virtual clock in nanoseconds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Clock {
    mono_ns: u64,
    suspended_ns: u64,
}

impl Clock {
    /// A clock whose monotonic time is `start_ns`.
    pub fn new(start_ns: u64) -> Clock {
        Clock { mono_ns: start_ns, suspended_ns: 0 }
    }

    /// `ktime_get_ns()`: monotonic nanoseconds.
    pub fn now(&self) -> u64 {
        self.mono_ns
    }

    /// Advances monotonic (and boot) time by `ns`, saturating at `u64::MAX`.
    pub fn advance(&mut self, ns: u64) {
        self.mono_ns = self.mono_ns.saturating_add(ns);
    }

    /// Advances to `t` if it lies in the future; never moves backwards.
    /// Returns the nanoseconds actually advanced.
    pub fn advance_to(&mut self, t: u64) -> u64 {
        let delta = t.saturating_sub(self.mono_ns);
        self.mono_ns += delta;
        delta
    }

    /// Simulates a suspend of `ns`: boot time advances, monotonic time does
    /// not (`CLOCK_MONOTONIC` stops during suspend, `CLOCK_BOOTTIME` doesn't).
    pub fn suspend(&mut self, ns: u64) {
        self.suspended_ns = self.suspended_ns.saturating_add(ns);
    }

    /// `ktime_get_boot_ns()`: monotonic time plus time spent suspended.
    pub fn boot_ns(&self) -> u64 {
        self.mono_ns.saturating_add(self.suspended_ns)
    }

    /// `ktime_get_coarse_ns()`: monotonic time at the last tick boundary.
    pub fn coarse_ns(&self) -> u64 {
        self.mono_ns - self.mono_ns % TICK_NSEC
    }

    /// `jiffies_64`: ticks since boot plus `INITIAL_JIFFIES`.
    pub fn jiffies(&self) -> u64 {
        INITIAL_JIFFIES.wrapping_add(self.mono_ns / TICK_NSEC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn monotonic_advance() {
        let mut c = Clock::new(100);
        assert_eq!(c.now(), 100);
        c.advance(50);
        assert_eq!(c.now(), 150);
        assert_eq!(c.advance_to(120), 0);
        assert_eq!(c.now(), 150);
        assert_eq!(c.advance_to(1000), 850);
        assert_eq!(c.now(), 1000);
        c.advance(u64::MAX);
        assert_eq!(c.now(), u64::MAX);
    }

    #[test]
    fn boot_time_includes_suspend() {
        let mut c = Clock::default();
        c.advance(10);
        c.suspend(1_000);
        c.advance(5);
        assert_eq!(c.now(), 15);
        assert_eq!(c.boot_ns(), 1_015);
    }

    #[test]
    fn coarse_and_jiffies() {
        assert_eq!(TICK_NSEC, 4_000_000);
        assert_eq!(INITIAL_JIFFIES, 0x1_0000_0000 - 75_000);
        let mut c = Clock::default();
        assert_eq!(c.jiffies(), INITIAL_JIFFIES);
        c.advance(TICK_NSEC - 1);
        assert_eq!(c.coarse_ns(), 0);
        assert_eq!(c.jiffies(), INITIAL_JIFFIES);
        c.advance(1);
        assert_eq!(c.coarse_ns(), TICK_NSEC);
        assert_eq!(c.jiffies(), INITIAL_JIFFIES + 1);
        c.advance(300 * 1_000_000_000);
        // 32-bit jiffies wrap five minutes after boot, as in the kernel.
        assert_eq!(c.jiffies() as u32, 1);
    }
}
