//! Callbacks run to convergence (Linux 6.7+ `push_callback_call()`): each
//! run starts from the caller's state as the previous run left it, the
//! caller goes on after any number of runs (zero included), imprecise
//! scalars are widened, precise ones iterate until `bpf_loop`'s count or
//! a repeated state stops them. Mirrors the kernel's
//! verifier_iterating_callbacks.c selftests.

use super::*;

/// Resolves `subprog[@label]` to the `ld_imm64`'s relative offset (the
/// assembler takes numbers only): each line is one slot, a `ld_imm64`
/// (`map[`, `subprog[`) two, labels none.
fn resolve(src: &str) -> String {
    let lines: Vec<&str> = src.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    let mut slot = 0i64;
    let mut labels = Vec::new();
    let mut slots = Vec::new();
    for l in &lines {
        slots.push(slot);
        if let Some(name) = l.strip_suffix(':') {
            labels.push((name.to_string(), slot));
            continue;
        }
        slot += if l.contains("map[") || l.contains("subprog[") { 2 } else { 1 };
    }
    let mut out = String::new();
    for (l, at) in lines.iter().zip(&slots) {
        let mut line = l.to_string();
        if let Some(i) = line.find("subprog[@") {
            let rest = &line[i + 9..];
            let end = rest.find(']').expect("]");
            let name = &rest[..end];
            let target = labels.iter().find(|(n, _)| n == name).expect("label").1;
            let off = target - at - 1;
            line = format!("{}subprog[{off:+}]{}", &line[..i], &rest[end + 1..]);
        }
        if let Some(name) = line.strip_suffix(':') {
            let jumped = lines
                .iter()
                .any(|x| x.ends_with(&format!("call {name}")) || x.ends_with(&format!("goto {name}")));
            if !jumped {
                // A callback's label no jump or call names: the assembler
                // does not need it.
                continue;
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

fn run_cb(src: &str) -> Run {
    run(&resolve(src), &[array()])
}

fn array() -> MapInfo {
    MapInfo { max_entries: 1, ..map(map_type::ARRAY, 4, 8) }
}

/// `bpf_loop(N, cb, &i, 0)` with `i` at fp-8 starting at `init`, then
/// `A[0] + i` read as a byte, then the callback body.
fn counter_prog(init: u64, nr_loops: &str, cb: &str) -> String {
    format!(
        "r1 = {init}
        *(u64 *)(r10 - 8) = r1
        r1 = {nr_loops}
        r2 = subprog[@cb]
        r3 = r10
        r3 += -8
        r4 = 0
        call bpf_loop#181
        r1 = 0
        *(u32 *)(r10 - 16) = r1
        r2 = r10
        r2 += -16
        r1 = map[fd:0]
        call bpf_map_lookup_elem#1
        if r0 == 0 goto +3
        r1 = *(u64 *)(r10 - 8)
        r0 += r1
        r0 = *(u8 *)(r0 + 0)
        r0 = 0
        exit
        cb:
        {cb}"
    )
}

const INC: &str = "r1 = *(u64 *)(r2 + 0)\nr1 += 1\n*(u64 *)(r2 + 0) = r1\nr0 = 0\nexit";

#[test]
fn counter_used_as_index_is_bounded_by_the_loop_count() {
    // The counter is precise (it indexes the value after the loop): no
    // widening, one run per iteration up to bpf_loop's count.
    accepts(run_cb(&counter_prog(0, "7", INC)));
    rejects(
        run_cb(&counter_prog(0, "8", INC)),
        EACCES,
        "invalid access to map value, value_size=8 off=8 size=1",
    );
    rejects(
        run_cb(&counter_prog(0, "100", INC)),
        EACCES,
        "invalid access to map value, value_size=8 off=8 size=1",
    );
    // An unknown count bounds nothing.
    let unknown = counter_prog(0, "r6", INC).replacen("r1 = r6", "call bpf_get_prandom_u32#7\nr1 = r0", 1);
    rejects(run_cb(&unknown), EACCES, "invalid access to map value, value_size=8 off=8 size=1");
}

#[test]
fn iteration_limit_log_line() {
    let src = resolve(&counter_prog(0, "2", INC));
    let r = run_level(&src, &[array()], &Mock::new(), VerifyOptions::default(), true, 2);
    accepts_ref(&r);
    assert!(r.log.contains("frame0 bpf_loop iteration limit reached"), "{}", r.log);
    assert!(r.log.contains("to caller at 8:"), "{}", r.log);
}

#[track_caller]
fn accepts_ref(r: &Run) {
    if let Err(e) = &r.res {
        panic!("rejected: {e}\n{}", r.log);
    }
}

#[test]
fn zero_runs_keep_the_caller_state() {
    // verifier_iterating_callbacks.c unsafe_on_zero_iter: the callback
    // would make the index safe, but it may not run at all.
    let reset = "r1 = 0\n*(u64 *)(r2 + 0) = r1\nr0 = 0\nexit";
    rejects(
        run_cb(&counter_prog(32, "100", reset)),
        EACCES,
        "invalid access to map value, value_size=8 off=32 size=1",
    );
    accepts(run_cb(&counter_prog(3, "100", reset)));
}

#[test]
fn later_runs_see_earlier_writes() {
    // unsafe_on_2nd_iter: the first run is fine, the second dereferences
    // a scalar because the first one set the flag.
    let src = "r1 = 0
        *(u64 *)(r10 - 8) = r1
        r1 = 2
        r2 = subprog[@cb]
        r3 = r10
        r3 += -8
        r4 = 0
        call bpf_loop#181
        r0 = 0
        exit
        cb:
        r1 = *(u64 *)(r2 + 0)
        if r1 != 0 goto +4
        r1 = 1
        *(u64 *)(r2 + 0) = r1
        r0 = 0
        exit
        r0 = *(u64 *)(r1 + 0)
        r0 = 0
        exit";
    rejects(run_cb(src), EACCES, "R1 invalid mem access 'scalar'");
    // With a count of 1 there is no second run.
    accepts(run_cb(&src.replacen("r1 = 2", "r1 = 1", 1)));
}

#[test]
fn imprecise_scalars_are_widened() {
    // verifier_iterating_callbacks.c widening: i changes on every run and
    // nothing needs it exact, so it is widened and the runs converge even
    // for an unknown count; j is not touched and keeps its value.
    let src = "r1 = 0
        *(u64 *)(r10 - 8) = r1
        r1 = 1
        *(u64 *)(r10 - 24) = r1
        call bpf_get_prandom_u32#7
        r1 = r0
        r2 = subprog[@cb]
        r3 = r10
        r3 += -8
        r4 = 0
        call bpf_loop#181
        r1 = 0
        *(u32 *)(r10 - 16) = r1
        r2 = r10
        r2 += -16
        r1 = map[fd:0]
        call bpf_map_lookup_elem#1
        if r0 == 0 goto +3
        r1 = *(u64 *)(r10 - 24)
        r0 += r1
        r0 = *(u8 *)(r0 + 0)
        r0 = 0
        exit
        cb:
        r1 = *(u64 *)(r2 + 0)
        r1 += 1
        *(u64 *)(r2 + 0) = r1
        r0 = 0
        exit";
    accepts(run_cb(src));
    // i itself after the loop is unbounded.
    rejects(
        run_cb(&src.replace("r1 = *(u64 *)(r10 - 24)", "r1 = *(u64 *)(r10 - 8)")),
        EACCES,
        "invalid access to map value",
    );
}

/// `bpf_for_each_map_elem(A, cb, &i, 0)` with `i` at fp-8 starting at 0,
/// then `A[0] + (i & mask)` read as a byte, then the callback body.
fn for_each_prog(mask: &str, cb: &str) -> String {
    format!(
        "r1 = 0
        *(u64 *)(r10 - 8) = r1
        r1 = map[fd:0]
        r2 = subprog[@cb]
        r3 = r10
        r3 += -8
        r4 = 0
        call bpf_for_each_map_elem#164
        r1 = 0
        *(u32 *)(r10 - 16) = r1
        r2 = r10
        r2 += -16
        r1 = map[fd:0]
        call bpf_map_lookup_elem#1
        if r0 == 0 goto +4
        r1 = *(u64 *)(r10 - 8)
        r1 &= {mask}
        r0 += r1
        r0 = *(u8 *)(r0 + 0)
        r0 = 0
        exit
        cb:
        {cb}"
    )
}

/// [`for_each_prog`] whose callback moves i along a state machine:
/// 0 -> 1 -> `second` -> `third`.
fn state_machine(second: u64, third: u64) -> String {
    for_each_prog(
        "-1",
        &format!(
            "r1 = *(u64 *)(r4 + 0)
            if r1 == 0 goto +3
            if r1 == 1 goto +4
            r1 = {third}
            goto +3
            r1 = 1
            goto +1
            r1 = {second}
            *(u64 *)(r4 + 0) = r1
            r0 = 0
            exit"
        ),
    )
}

#[test]
fn for_each_runs_converge_on_a_repeated_state() {
    // 0 -> 1 -> 2 -> 0: the fourth run returns the first state, which the
    // state kept at the call covers.
    accepts(run_cb(&state_machine(2, 0)));
    // unsafe_for_each_map_elem: 0 -> 1 -> 32 -> 32.
    rejects(
        run_cb(&state_machine(32, 32)),
        EACCES,
        "invalid access to map value, value_size=8 off=32 size=1",
    );
}

#[test]
fn runs_that_never_converge_hit_the_insn_limit() {
    // A precise counter (masked, it indexes the value after the call) and
    // no count to stop it: bpf_for_each_map_elem's runs go on until the
    // complexity limit.
    let src = resolve(&for_each_prog("7", &INC.replace("r2", "r4")));
    let opts = VerifyOptions { insn_limit: 20_000, ..VerifyOptions::default() };
    let r = run_with(&src, &[array()], &Mock::new(), opts);
    rejects(r, E2BIG, "BPF program is too large. Processed 20001 insn");
    // Unmasked, the counter overruns the value first.
    rejects(run_cb(&for_each_prog("-1", &INC.replace("r2", "r4"))), EACCES, "value_size=8 off=8 size=1");
}

#[test]
fn infinite_loop_inside_a_callback() {
    // loop_detection: runs of the callback differ (callback_unroll_depth),
    // the loop inside one run does not.
    let src = "r1 = 0
        *(u64 *)(r10 - 8) = r1
        r1 = 4
        r2 = subprog[@cb]
        r3 = r10
        r3 += -8
        r4 = 0
        call bpf_loop#181
        r0 = 0
        exit
        cb:
        r0 = 0
        goto -1";
    rejects(run_cb(src), EINVAL, "infinite loop detected at insn 12");
}

#[test]
fn caller_stack_outside_the_writes_survives() {
    // The callback writes fp-8 only; the ctx pointer spilled at fp-16
    // stays a pointer after the loop.
    let src = "*(u64 *)(r10 - 16) = r1
        r1 = 0
        *(u64 *)(r10 - 8) = r1
        r1 = 4
        r2 = subprog[@cb]
        r3 = r10
        r3 += -8
        r4 = 0
        call bpf_loop#181
        r1 = *(u64 *)(r10 - 16)
        r0 = *(u32 *)(r1 + 0)
        r0 = 0
        exit
        cb:
        r1 = *(u64 *)(r2 + 0)
        r1 += 1
        *(u64 *)(r2 + 0) = r1
        r0 = 0
        exit";
    accepts(run_cb(src));
    // Overwriting the spilled pointer through the context is seen.
    let clobber = src.replace("*(u64 *)(r2 + 0) = r1", "*(u64 *)(r2 - 8) = r1");
    rejects(run_cb(&clobber), EACCES, "R1 invalid mem access 'scalar'");
}

#[test]
fn callback_cannot_release_the_callers_reference() {
    let src = "r1 = map[fd:0]
        r2 = 8
        r3 = 0
        call bpf_ringbuf_reserve#131
        if r0 == 0 goto +10
        *(u64 *)(r10 - 8) = r0
        r1 = 1
        r2 = subprog[@cb]
        r3 = r10
        r3 += -8
        r4 = 0
        call bpf_loop#181
        r1 = *(u64 *)(r10 - 8)
        r2 = 0
        call bpf_ringbuf_submit#132
        r0 = 0
        exit
        cb:
        r1 = *(u64 *)(r2 + 0)
        r2 = 0
        call bpf_ringbuf_submit#132
        r0 = 0
        exit";
    let r = run(&resolve(src), &[ringbuf()]);
    rejects(r, EINVAL, "reference has not been acquired before");
}

#[test]
fn runs_inside_a_bounded_loop_stay_cheap() {
    // A counter callback inside a counted loop, then a callee that reads
    // the caller's stack through a pointer and a value index: precision
    // follows the frames (the callee's needs and r9's bound do not make
    // the counter precise), so the loop head prunes across the counter's
    // values instead of walking 7^7 combinations.
    let src = "r6 = 0
        *(u64 *)(r10 - 8) = r6
        *(u64 *)(r10 - 16) = r6
        r9 = 0
        loop:
        r3 = 0
        *(u64 *)(r10 - 16) = r3
        r1 = 6
        r2 = subprog[@cb]
        r3 = r10
        r3 += -16
        r4 = 0
        call bpf_loop#181
        r9 += 1
        if r9 < 7 goto loop
        r1 = r10
        r1 += -8
        call f
        r0 = 0
        exit
        f:
        r2 = *(u64 *)(r1 + 0)
        r2 &= 7
        r3 = r10
        r3 += -8
        r3 += r2
        r0 = 0
        exit
        cb:
        r3 = *(u64 *)(r2 + 0)
        r3 += 1
        *(u64 *)(r2 + 0) = r3
        r0 = 0
        exit";
    let src = resolve(src);
    let r = run(&src, &[]);
    let n = match &r.res {
        Ok(o) => o.stats.insn_processed,
        Err(e) => panic!("rejected: {e}\n{}", r.log),
    };
    assert!(n < 5_000, "processed {n} insns\n{}", r.log);
}

#[test]
fn states_inside_a_converged_run_keep_the_whole_stack() {
    // Stack liveness (`stack_live`): the first run of the callback takes
    // the fall-through side first; its path returns to the call and
    // converges there, before the jumped-to side, which reads fp-8 (and
    // dereferences it), has been walked. The state kept at `j` on the
    // fall-through side lacks that read, so it must not let the other
    // side, which leaves a scalar in fp-8, be pruned there: the next run
    // dereferences that scalar.
    let src = "call bpf_get_prandom_u32#7
        *(u64 *)(r10 - 24) = r0
        r1 = 0
        *(u64 *)(r10 - 16) = r1
        r3 = r10
        r3 += -16
        *(u64 *)(r10 - 8) = r3
        r1 = 8
        r2 = subprog[@cb]
        r3 = r10
        r3 += -8
        r4 = 0
        call bpf_loop#181
        r0 = 0
        exit
        cb:
        r6 = r2
        r5 = *(u64 *)(r6 - 16)
        if r5 > 2 goto a
        r8 = 0
        r8 += 1
        r8 += 1
        r8 += 1
        r8 += 1
        r8 += 1
        r8 += 1
        r8 += 1
        r8 += 1
        if r8 == 0 goto j
        r8 += 1
        r8 += 1
        r8 += 1
        r8 += 1
        if r8 == 0 goto j
        r8 += 1
        r8 += 1
        r8 += 1
        r8 += 1
        goto j
        a:
        r3 = *(u64 *)(r6 + 0)
        r4 = *(u64 *)(r3 + 0)
        r7 = 5
        *(u64 *)(r6 + 0) = r7
        j:
        r0 = 0
        exit";
    rejects(run_cb(src), EACCES, "R3 invalid mem access 'scalar'");
}
