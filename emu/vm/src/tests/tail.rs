//! Tail calls (`call 12`): frame reuse, the limit of 33, failures, and
//! tail calls from bpf2bpf callees.

use super::Out;
use super::asm::*;
use super::{M, exec_all, exec_in};
use crate::{Interpreter, Program, TailCallResolver};
use bpfemu_isa::{AluOp, Instruction, Size, encode_program};
use std::sync::{Arc, Mutex};

const MAP: u64 = 0xabc0_0000;

/// A prog array: `MAP` only, slots by index; records the indices asked.
#[derive(Default)]
struct Table {
    slots: Vec<Option<Arc<Program>>>,
    asked: Mutex<Vec<u64>>,
}

impl TailCallResolver for Table {
    fn resolve(&self, map: u64, index: u64) -> Option<Arc<Program>> {
        self.asked.lock().unwrap().push(index);
        if map != MAP {
            return None;
        }
        self.slots.get(usize::try_from(index).ok()?).cloned().flatten()
    }
}

fn prog(p: &[Instruction]) -> Arc<Program> {
    Arc::new(Program::new(&encode_program(p)).unwrap())
}

/// An interpreter whose prog array holds `slots`; slot `SELF` is filled with
/// `main` itself.
fn with_table(main: &[Instruction], slots: &[Option<&[Instruction]>]) -> (Interpreter, Arc<Table>) {
    let me = prog(main);
    let table = Arc::new(Table {
        slots: slots.iter().map(|s| s.map(|p| if p.is_empty() { me.clone() } else { prog(p) })).collect(),
        asked: Mutex::default(),
    });
    let mut i = Interpreter::new();
    i.set_tail_call_resolver(table.clone());
    (i, table)
}

/// Marks a slot as "the main program itself".
const SELF: Option<&[Instruction]> = Some(&[]);

fn tail(index: i32) -> [Instruction; 3] {
    [ld64(2, MAP), mov(3, index), call(12)]
}

#[test]
fn tail_call_continues_in_the_same_frame_with_r1_kept() {
    let mut main = vec![mov(6, 7), st(Size::DW, 10, -8, 99)];
    main.extend(tail(1));
    main.extend([mov(0, 1234), exit()]);
    let target = [
        ldx(Size::DW, 0, 10, -8), // the caller's stack slot: same frame
        alu64(AluOp::Add, 0, 6),  // registers kept
        ldx(Size::DW, 2, 1, 0),   // r1 still points at the map region
        alu64(AluOp::Add, 0, 2),
        exit(),
    ];
    let (i, _) = with_table(&main, &[None, Some(&target)]);
    let o = exec_all(&i, &main, &1000u64.to_le_bytes(), None);
    assert_eq!(o.ret, Ok(99 + 7 + 1000));
}

#[test]
fn failed_tail_call_falls_through_with_r0_unchanged() {
    let mut main = vec![mov(0, 55)];
    main.extend(tail(5)); // empty slot
    main.push(exit());
    let (i, _) = with_table(&main, &[None, None]);
    assert_eq!(exec_all(&i, &main, &[], None).ret, Ok(55));
    // No resolver at all.
    assert_eq!(exec_all(&Interpreter::new(), &main, &[], None).ret, Ok(55));
    // Another map.
    let mut other = vec![mov(0, 56), ld64(2, MAP + 1), mov(3, 0), call(12), exit()];
    let (i, _) = with_table(&other, &[SELF]);
    assert_eq!(exec_all(&i, &other, &[], None).ret, Ok(56));
    other[0] = mov(0, 57);
    assert_eq!(exec_all(&Interpreter::new(), &other, &[], None).ret, Ok(57));
}

/// Increments map[0], tail-calls slot 0 (itself), then returns map[0].
fn counter(extra: &[Instruction]) -> Vec<Instruction> {
    let mut p = vec![ldx(Size::DW, 6, 1, 0), alu64i(AluOp::Add, 6, 1), stx(Size::DW, 1, 6, 0)];
    p.extend_from_slice(extra);
    p.extend(tail(0));
    p.extend([ldx(Size::DW, 0, 1, 0), exit()]);
    p
}

#[test]
fn at_most_33_tail_calls_per_run() {
    let main = counter(&[]);
    let (i, table) = with_table(&main, &[SELF]);
    let o: Out = exec_all(&i, &main, &[0; 8], None);
    // The first run plus 33 tail calls; the 34th attempt falls through.
    assert_eq!(o.ret, Ok(34));
    assert_eq!(o.mem, 34u64.to_le_bytes());
    // Once the limit is reached the resolver is not even asked.
    table.asked.lock().unwrap().clear();
    let o = exec_in(&i, M::Checked, &prog(&main), &[0; 8], None);
    assert_eq!(o.ret, Ok(34));
    assert_eq!(table.asked.lock().unwrap().len(), 33);
}

#[test]
fn failed_attempts_count_toward_the_limit() {
    // Each execution first tries an empty slot (counted, like the kernel's
    // NULL slot), then itself.
    let main = counter(&tail(9));
    let (i, _) = with_table(&main, &[SELF]);
    // Executions 1..=16 use 2 attempts each (32); the 17th's empty-slot
    // attempt is the 33rd, its self call would be the 34th.
    assert_eq!(exec_all(&i, &main, &[0; 8], None).ret, Ok(17));
}

#[test]
fn index_is_the_low_32_bits_of_r3() {
    let main = [mov(0, 1), ld64(2, MAP), ld64(3, 0x7_0000_0001), call(12), exit()];
    let target = [mov(0, 2), exit()];
    let (i, table) = with_table(&main, &[None, Some(&target)]);
    assert_eq!(exec_all(&i, &main, &[], None).ret, Ok(2));
    assert_eq!(table.asked.lock().unwrap()[0], 1);
}

#[test]
fn callx_12_is_a_tail_call() {
    let main = [mov(0, 1), ld64(2, MAP), mov(3, 1), mov(4, 12), callx(4), exit()];
    let target = [mov(0, 3), exit()];
    let (i, _) = with_table(&main, &[None, Some(&target)]);
    assert_eq!(exec_all(&i, &main, &[], None).ret, Ok(3));
}

#[test]
fn tail_call_in_a_callee_replaces_the_callee() {
    // main -> sub (frame 1) -tail-> T; T calls its own subprogram (frame 2)
    // and returns; T's exit returns to main.
    let mut main = vec![mov(6, 1), call_local(3), alu64i(AluOp::Add, 0, 100), exit()];
    main.push(exit()); // 4: unused
    main.extend(tail(1)); // 5..: sub
    main.extend([mov(0, 0xbad), exit()]);
    let target = [
        call_local(2),           // 0 -> 3
        alu64(AluOp::Add, 0, 6), // 1: r6 = 1 from main
        exit(),                  // 2: back to main
        mov(0, 41),              // 3
        exit(),                  // 4: back to T
    ];
    let (i, _) = with_table(&main, &[None, Some(&target)]);
    assert_eq!(exec_all(&i, &main, &[], None).ret, Ok(142));
}

#[test]
fn tracing_follows_into_the_target() {
    let main = [mov(0, 1), ld64(2, MAP), mov(3, 1), call(12), exit()];
    let target = [mov(0, 2), exit()];
    let (i, _) = with_table(&main, &[None, Some(&target)]);
    let p = prog(&main);
    let mut pcs = Vec::new();
    assert_eq!(i.run_traced(&p, &[], &[], &mut |s| pcs.push((s.pc, *s.insn))), Ok(2));
    assert_eq!(pcs, [(0, main[0]), (1, main[1]), (3, main[2]), (4, main[3]), (0, target[0]), (1, target[1])]);
}
