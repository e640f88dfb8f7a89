//! Conditional jumps: decided branches, refinement, null checks.

use super::*;

#[test]
fn decided_branches_skip_dead_code() {
    // The fall-through would read r5: it is never walked.
    let o = accept("r1 = 1\nif r1 == 1 goto ok\nr0 = r5\nexit\nok: r0 = 0\nexit");
    assert_eq!(o.stats.insn_processed, 4);
}

#[test]
fn refinement_bounds_an_index() {
    accept(
        "r2 = map[fd:0][0]+0\nr3 = *(u32 *)(r1 +0)\nif r3 > 12 goto out\nr2 += r3\nr0 = *(u32 *)(r2 +0)\n\
         out: r0 = 0\nexit",
    );
    reject(
        "r2 = map[fd:0][0]+0\nr3 = *(u32 *)(r1 +0)\nif r3 > 13 goto out\nr2 += r3\nr0 = *(u32 *)(r2 +0)\n\
         out: r0 = 0\nexit",
        "invalid access to map value, value_size=16 off=13 size=4",
    );
    // JMP32 refines the low half.
    accept(
        "r2 = map[fd:0][0]+0\nr3 = *(u32 *)(r1 +0)\nif w3 > 12 goto out\nr2 += r3\nr0 = *(u32 *)(r2 +0)\n\
         out: r0 = 0\nexit",
    );
}

#[test]
fn linked_scalars_refine_together() {
    accept(
        "r2 = map[fd:0][0]+0\nr3 = *(u32 *)(r1 +0)\nr4 = r3\nif r4 > 12 goto out\nr2 += r3\nr0 = *(u32 *)(r2 +0)\n\
         out: r0 = 0\nexit",
    );
    // Through a spill, too.
    accept(
        "r2 = map[fd:0][0]+0\nr3 = *(u32 *)(r1 +0)\nr4 = r3\n*(u64 *)(r10 -8) = r3\nif r4 > 12 goto out\n\
         r3 = *(u64 *)(r10 -8)\nr2 += r3\nr0 = *(u32 *)(r2 +0)\nout: r0 = 0\nexit",
    );
}

#[test]
fn null_checks_of_or_null_pointers() {
    let t = "r2 = *(u64 *)(r1 +16)\n";
    reject(&format!("{t}r0 = *(u32 *)(r2 +0)\nexit"), "R2 invalid mem access 'ptr_or_null_'");
    accept(&format!("{t}if r2 == 0 goto out\nr0 = *(u32 *)(r2 +0)\nexit\nout: r0 = 0\nexit"));
    accept(&format!("{t}if r2 != 0 goto ok\nr0 = 0\nexit\nok: r0 = *(u32 *)(r2 +4)\nexit"));
    // Copies and spills share the check.
    accept(&format!(
        "{t}r3 = r2\n*(u64 *)(r10 -8) = r2\nif r2 == 0 goto out\nr4 = *(u64 *)(r10 -8)\nr0 = *(u32 *)(r3 +0)\n\
         r0 = *(u32 *)(r4 +0)\nexit\nout: r0 = 0\nexit"
    ));
    // The NULL side is a known zero.
    let (_, log) = run(&format!("{t}if r2 != 0 goto out\nr0 = r2\nexit\nout: r0 = 0\nexit"));
    assert!(log.contains("R0=0"), "{log}");
    reject(
        &format!("{t}r2 += 8\nr0 = 0\nexit"),
        "R2 pointer arithmetic on ptr_or_null_ prohibited, null-check it first",
    );
    // A JMP32 comparison is no null check.
    reject(
        &format!("{t}if w2 == 0 goto out\nr0 = *(u32 *)(r2 +0)\nout: r0 = 0\nexit"),
        "R2 invalid mem access 'ptr_or_null_'",
    );
}

#[test]
fn btf_pointers() {
    let t = "r2 = *(u64 *)(r1 +16)\nif r2 == 0 goto out\n";
    accept(&format!(
        "{t}r3 = *(u64 *)(r2 +8)\nif r3 == 0 goto out\nr0 = *(u32 *)(r3 +0)\n*(u32 *)(r3 +0) = r0\nout: r0 = 0\nexit"
    ));
    reject(
        &format!("{t}r0 = *(u32 *)(r2 +8)\nout: r0 = 0\nexit"),
        "access beyond struct task at off 8 size 4",
    );
    reject(
        &format!("{t}r0 = *(u32 *)(r2 -4)\nout: r0 = 0\nexit"),
        "R2 is ptr_task invalid negative access: off=-4",
    );
    // check_ptr_to_btf_access(): kernel structs are for CAP_PERFMON and
    // for GPL-compatible programs only, checked before the offset.
    let load = format!("{t}r0 = *(u32 *)(r2 -4)\nout: r0 = 0\nexit");
    let (r, log) = run_with(&load, VerifyOptions { allow_ptr_leaks: false, ..VerifyOptions::default() }, 1);
    assert_eq!(r.unwrap_err().errno, crate::errno::EPERM, "{log}");
    assert!(log.contains("'struct task' access is allowed only to CAP_PERFMON and CAP_SYS_ADMIN"), "{log}");
    let (r, log) = run_with(&load, VerifyOptions { gpl_compatible: false, ..VerifyOptions::default() }, 1);
    assert_eq!(r.unwrap_err().errno, crate::errno::EINVAL, "{log}");
    assert!(log.contains("Cannot access kernel 'struct task' from non-GPL compatible program"), "{log}");
    // An untrusted pointer may be NULL: the comparison is not decided.
    let (r, log) = run_with(
        &format!("{t}r3 = *(u64 *)(r2 +8)\nif r3 != 0 goto out\nr0 = 1\nexit\nout: r0 = 0\nexit"),
        VerifyOptions::default(),
        2,
    );
    r.unwrap();
    assert!(log.contains("r0 = 1"), "{log}");
}

#[test]
fn null_checks() {
    let src = |body: &str| format!("r2 = *(u32 *)(r1 +8)\n{body}");
    // A packet pointer compared with 0 is not decided: packets are not
    // among reg_not_null()'s types, so both branches are walked.
    let o = accept(&src("if r2 == 0 goto out\nr0 = 0\nexit\nout: r0 = 1\nexit"));
    assert_eq!(o.stats.insn_processed, 6);
    // A map pointer never is NULL (6.16+: CONST_PTR_TO_MAP): decided.
    let o = accept("r2 = map[fd:0]\nif r2 == 0 goto out\nr0 = 0\nexit\nout: r0 = 1\nexit");
    assert_eq!(o.stats.insn_processed, 4);
}

#[test]
fn pointer_comparisons() {
    reject_with("r2 = r10\nif r2 > r1 goto +0\nr0 = 0\nexit", unpriv(), "R1 pointer comparison prohibited");
    reject_with("if r1 > 3 goto +0\nr0 = 0\nexit", unpriv(), "R1 pointer comparison prohibited");
    accept("r2 = r10\nif r2 > r1 goto +0\nr0 = 0\nexit");
}

#[test]
fn jump_sequence_limit() {
    let mut src = String::from("r2 = *(u32 *)(r1 +0)\n");
    for _ in 0..8200 {
        src.push_str("if r2 == 7 goto +0\n");
    }
    src.push_str("r0 = 0\nexit");
    // Every comparison is undecided: one pending branch each, as in the kernel.
    let e = reject(&src, "The sequence of 8193 jumps is too complex.");
    assert_eq!(e.errno, 7);
}

#[test]
fn log_level1_keeps_failing_path_only() {
    let (r, log) = run_with(
        "r2 = *(u32 *)(r1 +0)\nif r2 > 3 goto bad\nr0 = 0\nexit\nbad: r0 = r5\nexit",
        VerifyOptions::default(),
        1,
    );
    r.unwrap_err();
    assert!(!log.contains("2: (b7) r0 = 0"), "{log}");
    assert!(log.contains("4: (bf) r0 = r5\nR5 !read_ok\n"), "{log}");
    let (_, log2) = run_with(
        "r2 = *(u32 *)(r1 +0)\nif r2 > 3 goto bad\nr0 = 0\nexit\nbad: r0 = r5\nexit",
        VerifyOptions::default(),
        2,
    );
    assert!(log2.contains("2: (b7) r0 = 0"), "{log2}");
    assert!(log2.contains("\nfrom 1 to 4: R1=ctx() R2=scalar(smin=umin=umin32=4,smax=umax=0xffffffff,var_off=(0x0; 0xffffffff)) R10=fp0\n"), "{log2}");
}
