//! The verifier's abstract machine state (`struct bpf_verifier_state`,
//! `struct bpf_func_state` in include/linux/bpf_verifier.h).

pub mod reg;
pub mod stack;

pub use reg::{DynptrInfo, DynptrKind, Liveness, RegFlags, RegState, RegType};
pub use stack::{BPF_REG_SIZE, MAX_BPF_STACK, SlotType, StackSlot};

/// `MAX_BPF_REG`: r0..r10.
pub const MAX_BPF_REG: usize = 11;
/// `MAX_CALL_FRAMES`.
pub const MAX_CALL_FRAMES: usize = 8;

/// One call frame (`struct bpf_func_state`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FuncState {
    pub regs: [RegState; MAX_BPF_REG],
    /// `stack[i]` covers `fp - 8*(i+1) .. fp - 8*i`; grows as the program
    /// writes deeper (`allocated_stack = 8 * stack.len()`).
    pub stack: Vec<StackSlot>,
    /// Depth in the call chain (0 = the main program or the entry
    /// subprogram).
    pub frameno: u32,
    /// Slot of the `call` that created this frame (`callsite`); unused
    /// for frame 0.
    pub callsite: usize,
    /// First slot of the subprogram running in this frame.
    pub subprog_start: usize,
    /// Running a callback (`in_callback_fn`): r0 at exit must lie in
    /// `callback_ret_range`.
    pub in_callback_fn: bool,
    pub callback_ret_range: (i64, i64),
    /// In a callback frame: the id counter when the callback was entered;
    /// references with a larger id were acquired by the callback and must
    /// be released before it returns, the others belong to the caller and
    /// may not be released by it.
    pub callback_ref_floor: u32,
    /// How many runs of the callback a callback-calling helper at this
    /// frame's current call has been simulated for (`callback_depth`):
    /// bumped in the state pushed for each run, reset in the state that
    /// goes on after the call. `bpf_loop` stops pushing runs when it
    /// reaches the iteration count's upper bound; a kept state with a
    /// larger depth does not cover one with a smaller depth.
    pub callback_depth: u32,
}

impl FuncState {
    /// A fresh frame: every register `NOT_INIT` except r10 (`PTR_TO_STACK`
    /// of this frame at offset 0).
    pub fn new(frameno: u32, callsite: usize, subprog_start: usize) -> FuncState {
        let mut regs: [RegState; MAX_BPF_REG] = std::array::from_fn(|_| RegState::not_init());
        regs[10] = RegState { frameno, ..RegState::pointer(RegType::Stack) };
        FuncState {
            regs,
            stack: Vec::new(),
            frameno,
            callsite,
            subprog_start,
            in_callback_fn: false,
            callback_ret_range: (0, 0),
            callback_ref_floor: 0,
            callback_depth: 0,
        }
    }

    /// Bytes of stack the frame has touched (`allocated_stack`).
    pub fn allocated_stack(&self) -> usize {
        self.stack.len() * BPF_REG_SIZE
    }
}

/// An acquired reference (`struct bpf_reference_state`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RefState {
    pub id: u32,
    /// Slot of the instruction that acquired it (`alloc_insn`).
    pub insn_idx: usize,
}

/// The whole abstract state along one path.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VerifierState {
    /// Call frames, innermost last (`frame[curframe]`).
    pub frames: Vec<FuncState>,
    /// Acquired references not yet released.
    pub refs: Vec<RefState>,
    /// `bpf_spin_lock` held: the id of the locked object's pointer
    /// (`active_lock.id`), 0 when none.
    pub active_lock: u32,
    /// Callback runs pushed along this path (`callback_unroll_depth`):
    /// two states that differ here are different runs of a callback, not
    /// an infinite loop.
    pub callback_unroll_depth: u32,
}

impl VerifierState {
    /// The state at the entry of the main program: r1 = ctx, r10 = fp.
    pub fn entry() -> VerifierState {
        let mut f = FuncState::new(0, 0, 0);
        f.regs[1] = RegState::pointer(RegType::Ctx);
        VerifierState { frames: vec![f], refs: Vec::new(), active_lock: 0, callback_unroll_depth: 0 }
    }

    pub fn cur(&self) -> &FuncState {
        self.frames.last().expect("at least one frame")
    }

    pub fn cur_mut(&mut self) -> &mut FuncState {
        self.frames.last_mut().expect("at least one frame")
    }
}
