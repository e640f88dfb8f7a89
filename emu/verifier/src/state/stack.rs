//! A frame's stack as the verifier sees it (`struct bpf_stack_state`):
//! 8-byte slots, each byte typed (`enum bpf_stack_slot_type`), a spilled
//! register kept whole.

use super::reg::RegState;

/// `MAX_BPF_STACK`.
pub const MAX_BPF_STACK: i32 = 512;
/// `BPF_REG_SIZE`.
pub const BPF_REG_SIZE: usize = 8;

/// `enum bpf_stack_slot_type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SlotType {
    /// `STACK_INVALID`: never written.
    Invalid,
    /// `STACK_SPILL`: part of a spilled register.
    Spill,
    /// `STACK_MISC`: written with unknown data.
    Misc,
    /// `STACK_ZERO`: known zero.
    Zero,
    /// `STACK_DYNPTR`.
    Dynptr,
    /// `STACK_ITER`.
    Iter,
}

impl SlotType {
    /// The character level-2 state lines print (`slot_type_char[]`).
    pub fn log_char(self) -> char {
        match self {
            SlotType::Invalid => '?',
            SlotType::Spill => 'r',
            SlotType::Misc => 'm',
            SlotType::Zero => '0',
            SlotType::Dynptr => 'd',
            SlotType::Iter => 'i',
        }
    }
}

/// One 8-byte slot; `slot_type[i]` is the type of byte `i` counted from
/// the slot's lowest address, as the kernel stores it reversed
/// (`slot_type[BPF_REG_SIZE - 1 - (off % 8)]`) — the walk must use
/// [`StackSlot::byte`] / [`StackSlot::set_byte`] rather than indexing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StackSlot {
    /// The spilled register (`spilled_ptr`). The kernel keeps the slot's
    /// liveness marks here; bpfemu keeps them per kept state
    /// (`check::stack_live`).
    pub spilled: RegState,
    pub slot_type: [SlotType; BPF_REG_SIZE],
}

impl StackSlot {
    pub fn invalid() -> StackSlot {
        StackSlot { spilled: RegState::not_init(), slot_type: [SlotType::Invalid; BPF_REG_SIZE] }
    }

    /// The type of byte `i` (0 = lowest address) of the slot.
    pub fn byte(&self, i: usize) -> SlotType {
        self.slot_type[BPF_REG_SIZE - 1 - i]
    }

    pub fn set_byte(&mut self, i: usize, t: SlotType) {
        self.slot_type[BPF_REG_SIZE - 1 - i] = t;
    }

    /// Whether the whole slot holds a spilled register (`is_spilled_reg()`).
    pub fn is_spilled_reg(&self) -> bool {
        self.slot_type[BPF_REG_SIZE - 1] == SlotType::Spill
    }
}
