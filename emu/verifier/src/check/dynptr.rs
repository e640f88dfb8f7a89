//! Dynptrs on the stack (kernel/bpf/verifier.c, the dynptr rework of
//! Linux 6.3+ as in 6.5: `dynptr_get_spi()` / `stack_slot_obj_get_spi()`,
//! `process_dynptr_func()`, `mark_stack_slots_dynptr()`,
//! `unmark_stack_slots_dynptr()`, `destroy_if_dynptr_stack_slot()`,
//! `is_dynptr_reg_valid_uninit()`, `is_dynptr_reg_valid_init()`,
//! `is_dynptr_type_expected()`).
//!
//! A `struct bpf_dynptr` (`BPF_DYNPTR_SIZE` 16 bytes) lives in two stack
//! slots (`BPF_DYNPTR_NR_SLOTS`) typed `STACK_DYNPTR`, initialised only by
//! a helper taking it as a `MEM_UNINIT` dynptr argument. The slots'
//! `spilled` state keeps the dynptr's type, which slot comes first, an id
//! (slices from `bpf_dynptr_data` name it in `dynptr_id`) and, for a ring
//! buffer dynptr, the reference it holds (`ref_obj_id`).
//!
//! Plain loads of the slots are refused (`check_stack_read_fixed_off()`'s
//! "invalid read from stack"), so are helpers reading them as memory
//! ("invalid indirect read from stack") or writing them as uninitialised
//! memory ("potential write to dynptr at off=N"). A store into a slot
//! destroys the whole dynptr and its slices when it holds no reference,
//! and is refused otherwise ("cannot overwrite referenced dynptr"). So a
//! program can neither read nor forge one: the helpers trust its bytes
//! once the program is verified.
//!
//! A local dynptr's memory is a map value (`check_helper_call()` refuses
//! any other for `bpf_dynptr_from_mem`), so no dynptr or slice points
//! into a stack.

use super::args::{ArgMeta, EACCES};
use super::{VResult, Verifier};
use crate::errno::EINVAL;
use crate::state::{BPF_REG_SIZE, DynptrInfo, DynptrKind, RegState, RegType, SlotType, VerifierState};

/// `BPF_DYNPTR_NR_SLOTS`.
pub const BPF_DYNPTR_NR_SLOTS: usize = 2;
/// `BPF_DYNPTR_SIZE`.
pub const BPF_DYNPTR_SIZE: usize = 16;

/// Why `dynptr_get_spi()` found no slot.
enum SpiError {
    /// The message was logged (`-EINVAL`).
    Invalid(String),
    /// `-ERANGE`: the slots are beyond the frame's allocated stack.
    Range,
}

/// `(frame, spi)` of a dynptr argument: the frame index in the current
/// state and the slot index of its first slot.
type DynptrSlot = (usize, usize);

impl Verifier<'_, '_> {
    /// `dynptr_get_spi()`: a constant, 8-byte aligned stack offset with
    /// room for both slots.
    fn dynptr_get_spi(&self, reg: &RegState) -> Result<DynptrSlot, SpiError> {
        let Some(v) = reg.var.const_value() else {
            return Err(SpiError::Invalid("dynptr has to be at a constant offset".into()));
        };
        let off = i64::from(reg.off).wrapping_add(v as i64);
        if off % BPF_REG_SIZE as i64 != 0 || off >= 0 {
            return Err(SpiError::Invalid(format!("cannot pass in dynptr at an offset={off}")));
        }
        let spi = ((-off - 1) / BPF_REG_SIZE as i64) as usize;
        if spi + 1 < BPF_DYNPTR_NR_SLOTS {
            return Err(SpiError::Invalid(format!("cannot pass in dynptr at an offset={off}")));
        }
        let f = reg.frameno as usize;
        let allocated = self.cur.frames.get(f).map_or(0, |fr| fr.stack.len());
        if spi >= allocated {
            return Err(SpiError::Range);
        }
        Ok((f, spi))
    }

    /// `dynptr_get_spi()` where any failure is an error: logs the
    /// message and returns `None`.
    fn dynptr_spi_or_log(&mut self, reg: &RegState) -> Option<DynptrSlot> {
        match self.dynptr_get_spi(reg) {
            Ok(s) => Some(s),
            Err(SpiError::Invalid(m)) => {
                self.log.line(&m);
                None
            }
            Err(SpiError::Range) => None,
        }
    }

    /// `is_dynptr_reg_valid_init()`: both slots hold a dynptr starting at
    /// the first one.
    fn dynptr_valid_init(&self, (f, spi): DynptrSlot) -> bool {
        let st = &self.cur.frames[f].stack;
        st[spi].spilled.dynptr.first_slot
            && st[spi].slot_type.iter().all(|&t| t == SlotType::Dynptr)
            && st[spi - 1].slot_type.iter().all(|&t| t == SlotType::Dynptr)
    }

    /// The check of an `ARG_PTR_TO_DYNPTR` argument in `regno`
    /// (`process_dynptr_func()`, with the `OBJ_RELEASE` part of
    /// `check_func_arg()` before it).
    pub(super) fn process_dynptr_func(
        &mut self,
        regno: usize,
        kind: DynptrKind,
        uninit: bool,
        release: bool,
        meta: &mut ArgMeta,
    ) -> VResult<()> {
        let reg = self.arg_reg(regno);
        if release {
            let held = match self.dynptr_spi_or_log(&reg) {
                Some((f, spi)) => self.cur.frames[f].stack[spi].spilled.ref_obj_id != 0,
                None => false,
            };
            if !held {
                return self.fail(EINVAL, format!("arg {regno} is an unacquired reference"));
            }
        }
        if uninit {
            // is_dynptr_reg_valid_uninit(): only a bad offset fails here
            // (slots beyond the allocated stack are grown by the writes).
            if let Err(SpiError::Invalid(m)) = self.dynptr_get_spi(&reg) {
                self.log.line(&m);
                return self.fail(EINVAL, "Dynptr has to be an uninitialized dynptr");
            }
            if meta.uninit_dynptr_regno != 0 {
                return self.fail(
                    super::args::EFAULT,
                    "verifier internal error: multiple uninitialized dynptr args",
                );
            }
            meta.uninit_dynptr_regno = regno;
            // The helper writes the 16 bytes, 8 at a time: bounds,
            // alignment, and the destruction of what was there.
            let saved = self.last_stack_slot;
            for i in (0..BPF_DYNPTR_SIZE).step_by(8) {
                self.check_mem_access(
                    regno,
                    i as i32,
                    8,
                    crate::env::Access::Write,
                    super::mem::Store::Unknown,
                    false,
                    false,
                    false,
                )?;
            }
            self.last_stack_slot = saved;
            return self.mark_stack_slots_dynptr(&reg, kind);
        }
        if let Ok((f, spi)) = self.dynptr_get_spi(&reg) {
            self.mark_dynptr_read(f, spi);
        }
        let slot = self.dynptr_spi_or_log(&reg).filter(|&s| self.dynptr_valid_init(s));
        let Some((f, spi)) = slot else {
            return self.fail(EINVAL, format!("Expected an initialized dynptr as arg #{}", regno - 1));
        };
        let d = self.cur.frames[f].stack[spi].spilled.clone();
        if kind != DynptrKind::Invalid && d.dynptr.kind != kind {
            return self
                .fail(EINVAL, format!("Expected a dynptr of type {} as arg #{}", kind.name(), regno - 1));
        }
        meta.dynptr = Some((f, spi));
        Ok(())
    }

    /// `mark_dynptr_read()`: both slots of the dynptr at `spi` are read
    /// (liveness, [`super::stack_live`]).
    fn mark_dynptr_read(&mut self, f: usize, spi: usize) {
        self.mark_stack_read(f, spi);
        self.mark_stack_read(f, spi.wrapping_sub(1));
    }

    /// `mark_stack_slots_dynptr()`: the two slots become a dynptr of
    /// `kind`; a ring-buffer dynptr acquires a reference.
    fn mark_stack_slots_dynptr(&mut self, reg: &RegState, kind: DynptrKind) -> VResult<()> {
        let Ok((f, spi)) = self.dynptr_get_spi(reg) else {
            return self.fail(super::args::EFAULT, "verifier internal error: dynptr slots not allocated");
        };
        // The writes above destroyed any unreferenced dynptr there and
        // refused a referenced one (destroy_if_dynptr_stack_slot()).
        let id = self.new_id();
        let ref_obj_id = if kind == DynptrKind::Ringbuf { self.acquire_reference() } else { 0 };
        let info = DynptrInfo { kind, first_slot: true };
        let stack = &mut self.cur.frames[f].stack;
        for (s, first) in [(spi, true), (spi - 1, false)] {
            let slot = &mut stack[s];
            slot.slot_type = [SlotType::Dynptr; BPF_REG_SIZE];
            slot.spilled = RegState {
                id,
                ref_obj_id,
                dynptr: DynptrInfo { first_slot: first, ..info },
                ..RegState::not_init()
            };
        }
        Ok(())
    }

    /// `unmark_stack_slots_dynptr()`, the release by
    /// `bpf_ringbuf_submit_dynptr` / `_discard_dynptr`: the reference goes
    /// (and with it every slice, which carries it as `ref_obj_id`), the
    /// slots become `STACK_INVALID`. `Err(())` if the reference is not
    /// held by this path (a callback releasing its caller's dynptr).
    pub(super) fn unmark_stack_slots_dynptr(&mut self, regno: usize) -> Result<(), ()> {
        let reg = self.arg_reg(regno);
        let (f, spi) = self.dynptr_get_spi(&reg).map_err(|_| ())?;
        let d = self.cur.frames[f].stack[spi].spilled.clone();
        if d.dynptr.kind == DynptrKind::Ringbuf {
            self.release_reference(d.ref_obj_id)?;
        }
        invalidate_dynptr(&mut self.cur, f, spi);
        Ok(())
    }

    /// `destroy_if_dynptr_stack_slot()`: a store into slot `spi` of frame
    /// `f` destroys the dynptr there (both slots and its slices), unless
    /// it holds a reference.
    pub(super) fn destroy_if_dynptr_stack_slot(&mut self, f: usize, spi: usize) -> VResult<()> {
        let stack = &self.cur.frames[f].stack;
        if stack[spi].slot_type[0] != SlotType::Dynptr {
            return Ok(());
        }
        let first = if stack[spi].spilled.dynptr.first_slot { spi } else { spi + 1 };
        if stack.get(first).is_none_or(|s| s.spilled.dynptr.kind == DynptrKind::Ringbuf) {
            return self.fail(EINVAL, "cannot overwrite referenced dynptr");
        }
        invalidate_dynptr(&mut self.cur, f, first);
        Ok(())
    }

    /// `check_stack_range_initialized()` in raw mode (a helper writing
    /// uninitialised memory): no byte of `[min_off, max_off)` may belong
    /// to a dynptr.
    pub(super) fn check_raw_write_no_dynptr(&mut self, f: usize, min_off: i64, max_off: i64) -> VResult<()> {
        for o in min_off..max_off {
            let spi = ((-o - 1) / BPF_REG_SIZE as i64) as usize;
            let i = (o + (BPF_REG_SIZE * (spi + 1)) as i64) as usize;
            let hit = self.cur.frames[f].stack.get(spi).is_some_and(|s| s.byte(i) == SlotType::Dynptr);
            if hit {
                return self.fail(EACCES, format!("potential write to dynptr at off={o}"));
            }
        }
        Ok(())
    }

    /// r0 of `bpf_dynptr_data`: `mem_or_null` of the constant size, a
    /// slice of the dynptr argument (its `dynptr_id`, its reference for
    /// `release_reference()`).
    pub(super) fn dynptr_slice(&mut self, meta: &ArgMeta) -> VResult<RegState> {
        let Some((f, spi)) = meta.dynptr else {
            return self.fail(super::args::EFAULT, "verifier internal error: no dynptr in bpf_dynptr_data()");
        };
        let d = self.cur.frames[f].stack[spi].spilled.clone();
        let mut r = RegState::pointer(RegType::Mem);
        r.mem_size = meta.mem_size;
        r.flags.maybe_null = true;
        r.id = self.new_id();
        r.ref_obj_id = d.ref_obj_id;
        r.dynptr_id = d.id;
        Ok(r)
    }
}

/// `invalidate_dynptr()`: both slots of the dynptr whose first slot is
/// `spi` become `STACK_INVALID`, and its slices die (`mark_reg_invalid()`:
/// `NOT_INIT`).
pub(super) fn invalidate_dynptr(st: &mut VerifierState, f: usize, spi: usize) {
    let id = st.frames[f].stack[spi].spilled.id;
    for s in [spi, spi.wrapping_sub(1)] {
        if let Some(slot) = st.frames[f].stack.get_mut(s) {
            slot.slot_type = [SlotType::Invalid; BPF_REG_SIZE];
            slot.spilled = RegState::not_init();
        }
    }
    if id != 0 {
        super::jmp::for_each_reg(st, |r| {
            if r.typ == RegType::Mem && r.dynptr_id == id {
                *r = RegState::not_init();
            }
        });
    }
}
