//! The network-namespace family: `netns create|open|enter|destroy|cleanup|info`
//! (the kernel side is `bpfemu_kernel::net`). Netns names are fds of the
//! scenario's process, so the core statements take them as targets:
//! `link L prog=P attach=flow_dissector netns=NS`, `query
//! attach=flow_dissector netns=NS`, and `attach`/`detach` with `netns=NS`
//! (which run with the process moved into NS for the call: `PROG_ATTACH`
//! acts on the caller's namespace).
//!
//! Teardown is the kernel's: dropping the last reference only queues the
//! namespace, and the cleanup work (`netns cleanup`) runs the pernet
//! `pre_exit` and `exit` operations. `netns destroy NS` drops the
//! scenario's references and runs the cleanup work, unless `defer=yes`.

use super::{Family, Kind, ObjKind, PVal, PlanCtx, Planned, Spec};
use crate::error::Diag;
use crate::run::{Outcome, Runner};
use crate::value::Val;
use bpfemu_kernel::Errno;

use Kind as K;
use ObjKind as O;

/// The netns statements.
pub static FAMILY: Family = Family {
    name: "netns",
    specs: &[
        Spec {
            name: "netns create",
            pos: &[("netns name", K::NewName(O::Netns))],
            keys: &[],
            fields: &[("fd", K::Int), ("ino", K::Int)],
            usage: "netns create NS   (a new network namespace; NS is an fd to it, the process stays where it is)",
        },
        Spec {
            name: "netns open",
            pos: &[("netns name", K::NewName(O::Netns))],
            keys: &[],
            fields: &[("fd", K::Int), ("ino", K::Int)],
            usage: "netns open NS   (open /proc/self/ns/net: the process's current namespace)",
        },
        Spec {
            name: "netns enter",
            pos: &[("netns name", K::Name(O::Netns))],
            keys: &[],
            fields: &[],
            usage: "netns enter NS   (setns)",
        },
        Spec {
            name: "netns destroy",
            pos: &[("netns name", K::Name(O::Netns))],
            keys: &[("defer", K::Word, false)],
            fields: &[("destroyed", K::Word)],
            usage: "netns destroy NS [defer=yes]   (close NS, leave it, run the cleanup work unless deferred)",
        },
        Spec {
            name: "netns cleanup",
            pos: &[],
            keys: &[],
            fields: &[("destroyed", K::Int)],
            usage: "netns cleanup   (run the cleanup work: pre_exit, exit of dead namespaces)",
        },
        Spec {
            name: "netns stats",
            pos: &[],
            keys: &[],
            fields: &[("live", K::Int), ("dying", K::Int), ("attached_links", K::Int)],
            usage: "netns stats => live=N dying=N attached_links=N   (leak checks)",
        },
        Spec {
            name: "netns info",
            pos: &[("netns name", K::Name(O::Netns))],
            keys: &[],
            fields: &[("ino", K::Int), ("refs", K::Int), ("alive", K::Word)],
            usage: "netns info NS => ino=N refs=N alive=yes",
        },
    ],
};

/// The actions of a two-word statement head, if `head` is one of ours.
pub fn actions(head: &str) -> Option<&'static [&'static str]> {
    match head {
        "netns" => Some(&["create", "open", "enter", "destroy", "cleanup", "info", "stats"]),
        _ => None,
    }
}

/// Checks beyond the spec.
pub(super) fn plan_extra(p: &mut Planned, cx: &mut PlanCtx) -> Result<(), Diag> {
    if p.spec.name == "netns destroy" {
        if let Some(PVal::Text(v)) = p.kv.get("defer")
            && v != "yes"
            && v != "no"
        {
            let col = p.stmt.raw_line.find("defer=").map_or(1, |i| i + 7);
            return Err(p.stmt.err(col, format!("`defer={v}`: expected `yes` or `no`")));
        }
        // Inside `concurrent`, other branches may still name it (and get
        // EBADF at run time if they come after).
        if !cx.in_concurrent {
            cx.names.remove(p.name(0));
        }
    }
    Ok(())
}

fn ok(fields: Vec<(&str, Val)>) -> Outcome {
    Ok(fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn int(v: impl Into<i128>) -> Val {
    Val::Int(v.into())
}

/// Binds a new netns fd and reports it with its inode number.
fn bind(r: &mut Runner, name: &str, fd: Result<i32, Errno>) -> Outcome {
    let fd = fd?;
    r.objs.insert(name.to_string(), fd);
    let ino = r.k.net_from_fd(fd)?.net().inum;
    ok(vec![("fd", int(fd)), ("ino", int(ino))])
}

/// Runs the cleanup work, printing what the pernet operations did.
fn cleanup(r: &mut Runner) -> usize {
    let before = r.k.net.teardown_log.len();
    let n = r.k.net_cleanup().len();
    let lines: Vec<String> = r.k.net.teardown_log[before..].to_vec();
    for l in lines {
        r.note(format!("pernet: {l}"));
    }
    n
}

/// Runs a netns statement; `None` if it is not one.
pub fn exec(r: &mut Runner, p: &Planned) -> Option<Outcome> {
    let user = r.k.user;
    Some(match p.spec.name {
        "netns create" => {
            // `ip netns add`: unshare in the process, keep an fd, go back.
            let res = (|| {
                let back = r.k.net.task_net(user).clone();
                r.k.net_unshare(user)?;
                let fd = r.k.net_open_fd(user);
                drop(r.k.net_switch(user, back));
                fd
            })();
            bind(r, p.name(0), res)
        }
        "netns open" => {
            let fd = r.k.net_open_fd(user);
            bind(r, p.name(0), fd)
        }
        "netns enter" => (|| {
            let fd = r.fd(p.name(0))?;
            r.k.net_setns(user, fd, 0)?;
            ok(vec![])
        })(),
        "netns destroy" => (|| {
            let fd = r.fd(p.name(0))?;
            let net = r.k.net_from_fd(fd)?.net().clone();
            r.objs.remove(p.name(0));
            r.k.close(fd)?;
            if r.k.net.task_net(user).net().id == net.id {
                let init = r.k.net.init_net().clone();
                if let Some(init) = bpfemu_kernel::net::netns::NetRef::get(&init) {
                    drop(r.k.net_switch(user, init));
                }
            }
            if p.text("defer") != Some("yes") {
                cleanup(r);
            }
            let gone = r.k.net.get(net.id).is_none();
            ok(vec![("destroyed", Val::Text(if gone { "yes" } else { "no" }.into()))])
        })(),
        "netns cleanup" => {
            let n = cleanup(r);
            ok(vec![("destroyed", int(n as u64))])
        }
        "netns stats" => {
            let live = r.k.net.iter().filter(|n| n.check()).count();
            let dying = r.k.net.iter().filter(|n| !n.check()).count();
            ok(vec![
                ("live", int(live as u64)),
                ("dying", int(dying as u64)),
                ("attached_links", int(r.k.net.bpf.attached_links() as u64)),
            ])
        }
        "netns info" => (|| {
            let fd = r.fd(p.name(0))?;
            let r2 = r.k.net_from_fd(fd)?;
            let net = r2.net().clone();
            drop(r2);
            ok(vec![
                ("ino", int(net.inum)),
                ("refs", int(net.count())),
                ("alive", Val::Text(if net.check() { "yes" } else { "no" }.into())),
            ])
        })(),
        _ => return None,
    })
}
