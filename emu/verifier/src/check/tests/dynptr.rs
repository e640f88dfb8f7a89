//! Dynptrs: helper arguments, stack slots, references, slices, pruning,
//! callbacks and subprogram returns (kernel/bpf/verifier.c's dynptr rules;
//! the messages of tools/testing/selftests/bpf/progs/dynptr_fail.c).

use super::{accept, reject, run};

/// `bpf_ringbuf_reserve_dynptr(rb, 8, 0, fp-16)`; the call is slot 6.
const RESERVE: &str =
    "r1 = map[fd:4]\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -16\ncall bpf_ringbuf_reserve_dynptr#198\n";
/// `bpf_ringbuf_submit_dynptr(fp-16, 0)`, then `return 0`.
const SUBMIT: &str = "r1 = r10\nr1 += -16\nr2 = 0\ncall bpf_ringbuf_submit_dynptr#199\nr0 = 0\nexit\n";
/// `bpf_dynptr_from_mem(map value of 16 bytes, 16, 0, fp-16)`.
const FROM_MAP: &str = "*(u32 *)(r10 -4) = 0\nr2 = r10\nr2 += -4\nr1 = map[fd:0]\n\
    call bpf_map_lookup_elem#1\nif r0 != 0 goto +2\nr0 = 0\nexit\n\
    r1 = r0\nr2 = 16\nr3 = 0\nr4 = r10\nr4 += -16\ncall bpf_dynptr_from_mem#197\n";
/// `bpf_dynptr_read(fp-32, 8, fp-16, 0, 0)`.
const READ: &str =
    "r1 = r10\nr1 += -32\nr2 = 8\nr3 = r10\nr3 += -16\nr4 = 0\nr5 = 0\ncall bpf_dynptr_read#201\n";

fn prog(parts: &[&str]) -> String {
    let mut s = parts.concat();
    if !s.ends_with("exit\n") {
        s.push_str("r0 = 0\nexit\n");
    }
    s
}

#[test]
fn ringbuf_dynptr_reserve_submit_and_discard() {
    accept(&prog(&[RESERVE, SUBMIT]));
    let discard = SUBMIT.replace("submit_dynptr#199", "discard_dynptr#200");
    accept(&prog(&[RESERVE, &discard]));
    // Reading and writing through it in between.
    accept(&prog(&[RESERVE, "*(u64 *)(r10 -32) = 0\n", READ, SUBMIT]));
    let write =
        "r1 = r10\nr1 += -16\nr2 = 0\nr3 = r10\nr3 += -32\nr4 = 8\nr5 = 0\ncall bpf_dynptr_write#202\n";
    accept(&prog(&[RESERVE, "*(u64 *)(r10 -32) = 0\n", write, SUBMIT]));
}

#[test]
fn ringbuf_dynptr_must_be_released() {
    // The dynptr takes id 1, its reference id 2 (mark_dynptr_stack_regs()
    // then acquire_reference_state()).
    let e = reject(&prog(&[RESERVE]), "Unreleased reference id=2 alloc_insn=6");
    assert_eq!(e.errno, 22);
    // Released on one path only.
    let p = prog(&[RESERVE, "if r0 != 0 goto +1\nexit\n", SUBMIT]);
    reject(&p, "Unreleased reference id=2 alloc_insn=6");
}

#[test]
fn released_dynptr_is_dead() {
    let e = reject(
        &prog(&[RESERVE, SUBMIT.trim_end_matches("r0 = 0\nexit\n"), READ]),
        "Expected an initialized dynptr as arg #2",
    );
    assert_eq!(e.errno, 22);
    let twice = format!("{}{}", SUBMIT.trim_end_matches("r0 = 0\nexit\n"), SUBMIT);
    reject(&prog(&[RESERVE, &twice]), "arg 1 is an unacquired reference");
    // Never initialised.
    reject(&prog(&[SUBMIT]), "arg 1 is an unacquired reference");
    // A local dynptr holds no reference.
    reject(&prog(&[FROM_MAP, SUBMIT]), "arg 1 is an unacquired reference");
    reject(&prog(&[READ]), "Expected an initialized dynptr as arg #2");
}

#[test]
fn dynptr_offsets() {
    let (r, log) = run(&prog(&[&RESERVE.replace("-16", "-12"), SUBMIT]));
    assert_eq!(r.unwrap_err().msg, "Dynptr has to be an uninitialized dynptr");
    assert!(log.contains("cannot pass in dynptr at an offset=-12"), "{log}");
    let (r, log) = run(&prog(&[RESERVE, &READ.replace("r3 += -16", "r3 += -8"), SUBMIT]));
    assert_eq!(r.unwrap_err().msg, "Expected an initialized dynptr as arg #2");
    assert!(log.contains("cannot pass in dynptr at an offset=-8"), "{log}");
    let var = "r5 = *(u32 *)(r1 +0)\nr5 &= 8\nr4 = r10\nr4 += -24\nr4 += r5\n";
    let p =
        format!("{var}r1 = map[fd:4]\nr2 = 8\nr3 = 0\ncall bpf_ringbuf_reserve_dynptr#198\nr0 = 0\nexit\n");
    let (r, log) = run(&p);
    assert_eq!(r.unwrap_err().msg, "Dynptr has to be an uninitialized dynptr");
    assert!(log.contains("dynptr has to be at a constant offset"), "{log}");
    // Outside the stack.
    reject(&prog(&[&RESERVE.replace("-16", "-520"), SUBMIT]), "invalid write to stack R4 off=-520 size=8");
}

#[test]
fn dynptr_slots_are_protected() {
    // A plain read of the slots.
    reject(&prog(&[RESERVE, "r0 = *(u64 *)(r10 -16)\n", SUBMIT]), "invalid read from stack off -16+0 size 8");
    // A helper reading them as memory.
    let out = "r1 = map[fd:4]\nr2 = r10\nr2 += -16\nr3 = 16\nr4 = 0\ncall bpf_ringbuf_output#130\n";
    reject(&prog(&[RESERVE, out, SUBMIT]), "invalid read from stack R2 off -16+0 size 16");
    // Overwriting a referenced dynptr, whole or in part.
    let e =
        reject(&prog(&[RESERVE, "*(u64 *)(r10 -8) = r0\n", SUBMIT]), "cannot overwrite referenced dynptr");
    assert_eq!(e.errno, 22);
    reject(&prog(&[RESERVE, "*(u8 *)(r10 -13) = 1\n", SUBMIT]), "cannot overwrite referenced dynptr");
    // Reserving again over it.
    reject(&prog(&[RESERVE, RESERVE, SUBMIT]), "cannot overwrite referenced dynptr");
    // A helper writing uninitialised memory over it (bpf_dynptr_read
    // into the dynptr itself).
    let e = reject(
        &prog(&[RESERVE, &READ.replace("r1 += -32", "r1 += -16"), SUBMIT]),
        "potential write to dynptr at off=-16",
    );
    assert_eq!(e.errno, 13);
}

#[test]
fn local_dynptr_over_map_value() {
    accept(&prog(&[FROM_MAP, READ]));
    // Overwriting a local dynptr destroys it (and is allowed).
    reject(&prog(&[FROM_MAP, "*(u64 *)(r10 -8) = 0\n", READ]), "Expected an initialized dynptr as arg #2");
    accept(&prog(&[FROM_MAP, "*(u64 *)(r10 -8) = 0\nr0 = *(u64 *)(r10 -8)\n"]));
    // Initialising again over it is allowed too.
    accept(&prog(&[FROM_MAP, &FROM_MAP.replace("-4", "-20"), READ]));
}

#[test]
fn dynptr_data_slices() {
    let data = "r1 = r10\nr1 += -16\nr2 = 0\nr3 = 8\ncall bpf_dynptr_data#203\n";
    let use_it = "if r0 == 0 goto +1\n*(u64 *)(r0 +0) = 1\n";
    accept(&prog(&[RESERVE, data, use_it, SUBMIT]));
    // Not NULL-checked.
    reject(&prog(&[RESERVE, data, "*(u64 *)(r0 +0) = 1\n", SUBMIT]), "R0 invalid mem access 'mem_or_null'");
    // Beyond the constant size.
    let (r, log) = run(&prog(&[RESERVE, data, "if r0 == 0 goto +1\n*(u64 *)(r0 +1) = 1\n", SUBMIT]));
    assert_eq!(r.unwrap_err().errno, 13);
    assert!(log.contains("invalid access to memory, mem_size=8 off=1 size=8"), "{log}");
    // A NULL slice does not release the dynptr's reference.
    accept(&prog(&[RESERVE, data, "if r0 != 0 goto +0\n", SUBMIT]));
    // The slice dies with the dynptr.
    let after = "r6 = r0\n".to_string()
        + SUBMIT.trim_end_matches("r0 = 0\nexit\n")
        + "if r6 == 0 goto +1\n*(u64 *)(r6 +0) = 1\n";
    reject(&prog(&[RESERVE, data, &after]), "R6 invalid mem access 'scalar'");
    // ... also with a local dynptr that is overwritten.
    let local = FROM_MAP.to_string()
        + data
        + "r6 = r0\n*(u64 *)(r10 -16) = 0\nif r6 == 0 goto +1\n*(u64 *)(r6 +0) = 1\n";
    reject(&prog(&[&local]), "R6 !read_ok");
    // A slice is not a ring-buffer record.
    reject(
        &prog(&[RESERVE, data, "if r0 == 0 goto +2\nr1 = r0\ncall bpf_ringbuf_submit#132\n", SUBMIT]),
        "R1 type=mem expected=ringbuf_mem",
    );
}

#[test]
fn local_dynptr_data_must_be_a_map_value() {
    // `check_helper_call()`: stack memory (this frame's or, through a
    // pointer, the caller's), a slice, a ring-buffer record are refused.
    let from = "r1 = r10\nr1 += -64\nr2 = 32\nr3 = 0\nr4 = r10\nr4 += -16\ncall bpf_dynptr_from_mem#197\n";
    let e = reject(&prog(&[from]), "Unsupported reg type fp for bpf_dynptr_from_mem data");
    assert_eq!(e.errno, crate::check::EACCES);
    let sub = "r1 = r10\nr1 += -16\ncall pc+2\nr0 = 0\nexit\n".to_string()
        + "r4 = r1\nr1 += -32\nr2 = 8\nr3 = 0\ncall bpf_dynptr_from_mem#197\nr0 = 0\nexit\n";
    reject(&sub, "Unsupported reg type fp for bpf_dynptr_from_mem data");
    let slice = "r1 = r10\nr1 += -16\nr2 = 0\nr3 = 8\ncall bpf_dynptr_data#203\nif r0 == 0 goto +5\n\
                 r1 = r0\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -32\ncall bpf_dynptr_from_mem#197\n";
    reject(&prog(&[FROM_MAP, slice]), "Unsupported reg type mem for bpf_dynptr_from_mem data");
}

#[test]
fn callbacks_forget_local_dynptrs() {
    // bpf_loop(1, cb, fp-16 = &dynptr, 0): the callback may overwrite the
    // dynptr through its context.
    let cb_writes = format!(
        "{FROM_MAP}r1 = 1\nr2 = subprog[+0]\nr3 = r10\nr3 += -16\nr4 = 0\ncall bpf_loop#181\n{READ}r0 = 0\nexit\n"
    );
    let body = "*(u64 *)(r2 +0) = 0\nr0 = 0\nexit\n";
    let src = pad_loop(&cb_writes, body);
    reject(&src, "Expected an initialized dynptr as arg #2");
    // A callback that writes nothing outside its frame leaves it.
    accept(&pad_loop(&cb_writes, "r0 = 0\nexit\n"));
}

/// Places the callback `body` after `main` (whose `r2 = subprog[+0]`
/// becomes the callback's address).
fn pad_loop(main: &str, body: &str) -> String {
    let mut s = main.to_string();
    let main_slots: usize = bpfemu_isa::asm::kernel::assemble(&s).unwrap().len();
    let ld =
        bpfemu_isa::asm::kernel::assemble(&main[..main.find("r2 = subprog[+0]").unwrap()]).unwrap().len();
    let off = main_slots as i64 - (ld as i64 + 1);
    s = s.replacen("r2 = subprog[+0]", &format!("r2 = subprog[{off:+}]"), 1);
    s.push_str(body);
    s
}

#[test]
fn pruning_keeps_dynptr_paths_apart() {
    // dynptr_pruning_overwrite: one path overwrites the dynptr.
    let p = format!(
        "r9 = 0xeb9f\n{RESERVE}if r0 == 0 goto +1\ngoto +1\n*(u64 *)(r10 -16) = r9\n{}",
        SUBMIT.replace("submit_dynptr#199", "discard_dynptr#200")
    );
    reject(&p, "cannot overwrite referenced dynptr");
    // Both paths reserve and discard: fine.
    let p = format!("r9 = 0\n{RESERVE}if r0 == 0 goto +1\nr9 = 1\n{SUBMIT}");
    accept(&p);
}

#[test]
fn pruning_sees_through_dynptr_ids() {
    // Each side of the first branch reserves its own dynptr (other ids,
    // other references); then 20 diamonds. The second side is pruned at
    // the first kept state after the join only if the dynptr slots and
    // references match under a renaming of ids: it adds a few dozen
    // instructions, not another walk of the diamonds (about 1500).
    let mut tail = String::from("b: r0 = 0\n");
    for i in 0..20 {
        tail.push_str(&format!(
            "if r6 > {i} goto l{i}\nr7 = 1\nl{i}: r8 = 2\nr9 = 3\nr9 += 1\nr9 += 1\nr9 += 1\n"
        ));
    }
    tail.push_str(&SUBMIT.replace("submit_dynptr#199", "discard_dynptr#200"));
    let head = "r6 = *(u32 *)(r1 +0)\nr8 = *(u32 *)(r1 +4)\n";
    // A lookup first on the second side: its ids are not the first's.
    let lookup = "*(u32 *)(r10 -20) = 0\nr2 = r10\nr2 += -20\nr1 = map[fd:0]\ncall bpf_map_lookup_elem#1\n";
    let both = format!("{head}if r8 > 7 goto a\n{RESERVE}goto b\na: {lookup}{RESERVE}{tail}");
    let one = format!("{head}{RESERVE}{tail}");
    let (both, one) = (accept(&both).stats.insn_processed, accept(&one).stats.insn_processed);
    assert!(both < one + 200, "both sides {both}, one side {one}");
}
