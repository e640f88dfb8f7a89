//! Lookups that cannot miss: an array lookup whose key is a constant in
//! bounds returns a map value pointer that is not NULL
//! (`can_elide_value_nullness()`, `get_constant_map_key()` and the
//! `RET_PTR_TO_MAP_VALUE` case of `check_helper_call()` in
//! kernel/bpf/verifier.c, Linux 6.14+). The key must sit on the stack at a
//! constant offset, as known-zero bytes or as a spilled constant scalar of
//! exactly the key's size; the spilled slot becomes precise, so pruning
//! cannot merge a path with another key. Only for `CAP_BPF` loaders, and
//! not for maps created with `BPF_F_INNER_MAP`, whose `max_entries` the
//! inner maps inserted at run time may exceed.

use super::Verifier;
use crate::env::{MapInfo, map_type};
use crate::state::reg::{RegState, RegType};
use crate::state::stack::{BPF_REG_SIZE, SlotType};

/// `BPF_F_INNER_MAP`.
const BPF_F_INNER_MAP: u32 = 1 << 12;

/// Whether a lookup in `m` may be typed non-NULL for a constant key.
pub(super) fn can_elide_value_nullness(m: &MapInfo) -> bool {
    matches!(m.map_type, map_type::ARRAY | map_type::PERCPU_ARRAY) && m.map_flags & BPF_F_INNER_MAP == 0
}

impl Verifier<'_, '_> {
    /// The key a stack pointer `key` points at, when it is a known
    /// constant of `key_size` bytes (`get_constant_map_key()`).
    pub(super) fn const_map_key(&mut self, key: &RegState, key_size: u32) -> Option<u64> {
        if !self.input.opts.bpf_capable || key.typ != RegType::Stack {
            return None;
        }
        let stack_off = i64::from(key.off).checked_add(key.var.const_value()? as i64)?;
        let slot = usize::try_from(-stack_off - 1).ok()?;
        let (spi, off) = (slot / BPF_REG_SIZE, slot % BPF_REG_SIZE);
        let s = self.cur.frames.get(key.frameno as usize)?.stack.get(spi)?;
        // The kernel's byte order within a slot: index `off` is the key's
        // first byte, lower indices the bytes above it.
        let run = |t: SlotType| s.slot_type[..=off].iter().rev().take_while(|&&b| b == t).count();
        if run(SlotType::Zero) >= key_size as usize {
            return Some(0);
        }
        if !s.is_spilled_reg()
            || s.spilled.typ != RegType::Scalar
            || run(SlotType::Spill) != key_size as usize
        {
            return None;
        }
        let v = s.spilled.var.const_value()?;
        self.mark_slot_precise(key.frameno, spi as u32);
        Some(v)
    }
}
