//! The simulation family: the seed and CPU count the kernel is built with,
//! virtual time (`advance`), the CPU that runs the next operations (`cpu`),
//! the user id they run as (`uid`: 0 is root, any other uid has no
//! capabilities),
//! and `concurrent` blocks whose `branch`es interleave statement by
//! statement in an order drawn from the seed.

use super::{Family, Kind, PlanCtx, Planned, Spec, plan_list};
use crate::error::Diag;
use crate::parse::Block;
use crate::run::{Outcome, Runner};

/// The simulation statements.
pub static FAMILY: Family = Family {
    name: "sim",
    specs: &[
        Spec {
            name: "seed",
            pos: &[("seed", Kind::Int)],
            keys: &[],
            fields: &[],
            usage: "seed N   (before the first kernel operation)",
        },
        Spec {
            name: "cpus",
            pos: &[("CPU count", Kind::Int)],
            keys: &[],
            fields: &[],
            usage: "cpus N   (before the first kernel operation)",
        },
        Spec {
            name: "advance",
            pos: &[("duration", Kind::Duration)],
            keys: &[],
            fields: &[],
            usage: "advance 10ms   (ns, us, ms, s)",
        },
        Spec {
            name: "cpu",
            pos: &[("CPU number", Kind::Int)],
            keys: &[],
            fields: &[],
            usage: "cpu N   (the CPU later operations run on)",
        },
        Spec {
            name: "uid",
            pos: &[("uid", Kind::Int)],
            keys: &[],
            fields: &[],
            usage: "uid N   (the user id later operations run as; 0 is root with every capability)",
        },
        Spec {
            name: "concurrent",
            pos: &[],
            keys: &[],
            fields: &[],
            usage: "concurrent { branch { ... } branch { ... } }",
        },
        Spec {
            name: "branch",
            pos: &[],
            keys: &[],
            fields: &[],
            usage: "branch { statements }   (inside concurrent)",
        },
    ],
};

pub(super) fn plan_extra(p: &mut Planned, cx: &mut PlanCtx) -> Result<(), Diag> {
    let s = p.stmt.clone();
    let end = s.raw_line.trim_end().len() + 1;
    match p.spec.name {
        "seed" => {
            let n = match p.pos.first() {
                Some(super::PVal::Int(n)) => *n,
                _ => 0,
            };
            cx.seed = Some(
                u64::try_from(n)
                    .map_err(|_| s.err(s.head.col + 5, "the seed is a number from 0 to 2^64-1"))?,
            );
        }
        "cpus" => {
            let n = match p.pos.first() {
                Some(super::PVal::Int(n)) => *n,
                _ => 0,
            };
            if !(1..=64).contains(&n) {
                return Err(s.err(s.head.col + 5, format!("{n} CPUs: expected 1 to 64")));
            }
            cx.cpus = Some(n as u32);
        }
        "cpu" => {
            let n = match p.pos.first() {
                Some(super::PVal::Int(n)) => *n,
                _ => 0,
            };
            let cpus = cx.cpus.unwrap_or(bpfemu_kernel::sim::DEFAULT_CPUS);
            if !(0..i128::from(cpus)).contains(&n) {
                return Err(s
                    .err(
                        s.head.col + 4,
                        format!("no CPU {n}: the kernel has {cpus} CPUs (0 to {})", cpus - 1),
                    )
                    .help(Some("`cpus N` before the first kernel operation sets the CPU count".into())));
            }
        }
        "uid" => {
            let n = match p.pos.first() {
                Some(super::PVal::Int(n)) => *n,
                _ => 0,
            };
            if u32::try_from(n).is_err() {
                return Err(s.err(s.head.col + 4, format!("uid {n}: expected 0 to 4294967295")));
            }
        }
        "concurrent" => {
            let Some(Block::Stmts(body)) = &s.block else {
                return Err(s.err(end, "expected `{` and `branch { ... }` blocks"));
            };
            for b in body {
                if b.head.text != "branch" {
                    return Err(b.err(
                        b.head.col,
                        format!("expected `branch {{` inside `concurrent`, found `{}`", b.head.text),
                    ));
                }
            }
            if body.len() < 2 {
                return Err(s.err(s.head.col, "`concurrent` needs at least two `branch` blocks"));
            }
            // Each branch starts from the names declared before the block (a
            // `close` in one branch may race a use in another: EBADF at run
            // time); afterwards, closes and declarations of every branch apply.
            let before = cx.names.clone();
            let mut after = before.clone();
            cx.in_concurrent = true;
            for b in body {
                cx.names = before.clone();
                let planned = plan_list(std::slice::from_ref(b), cx);
                let planned = match planned {
                    Ok(v) => v,
                    Err(e) => {
                        cx.in_concurrent = false;
                        return Err(e);
                    }
                };
                p.children.extend(planned);
                for n in before.keys().filter(|n| !cx.names.contains_key(*n)) {
                    after.remove(n);
                }
                for (n, k) in cx.names.iter().filter(|(n, _)| !before.contains_key(*n)) {
                    after.insert(n.clone(), *k);
                }
            }
            cx.in_concurrent = false;
            cx.names = after;
        }
        "branch" if !cx.in_concurrent => {
            return Err(s.err(s.head.col, "`branch` is only valid inside `concurrent { ... }`"));
        }
        "branch" => {
            let Some(Block::Stmts(body)) = &s.block else {
                return Err(s.err(end, "expected `{` and statements"));
            };
            for b in body {
                if matches!(b.head.text.as_str(), "concurrent" | "branch" | "seed" | "cpus") {
                    return Err(
                        b.err(b.head.col, format!("`{}` cannot be used inside a branch", b.head.text))
                    );
                }
            }
            p.children = plan_list(body, cx)?;
        }
        _ => {}
    }
    if matches!(p.spec.name, "concurrent" | "branch" | "seed" | "cpus" | "advance" | "cpu" | "uid")
        && p.expect.is_some()
    {
        return Err(
            s.err(s.expect.as_ref().map_or(1, |e| e.0), format!("`{}` takes no expectation", p.spec.name))
        );
    }
    Ok(())
}

/// Runs a simulation statement (not `concurrent`: the runner interleaves it).
pub fn exec(r: &mut Runner, p: &Planned) -> Option<Outcome> {
    let n = match p.pos.first() {
        Some(super::PVal::Int(n)) => *n,
        _ => 0,
    };
    Some(match p.spec.name {
        "seed" | "cpus" => Ok(Vec::new()),
        "advance" => {
            r.k.sim.clock.advance(n as u64);
            Ok(Vec::new())
        }
        "cpu" => r.k.sim.set_this_cpu(n as u32).map(|()| Vec::new()),
        "uid" => {
            // The user process's real and effective uid: what the kernel's
            // capability checks (root or not) look at.
            let user = r.k.user;
            if let Some(task) = r.k.sim.procs.get_mut(user) {
                task.uid = n as u32;
            }
            Ok(Vec::new())
        }
        _ => return None,
    })
}
