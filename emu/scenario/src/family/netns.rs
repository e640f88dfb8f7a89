//! The network-namespace family: `netns create|open|enter|destroy|cleanup|info|stats`,
//! and `packet` (a frame through a namespace's flow dissector)
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
        Spec {
            name: "packet",
            pos: &[("netns name", K::Name(O::Netns))],
            keys: &[
                ("proto", K::Text, false),
                ("src", K::Text, false),
                ("dst", K::Text, false),
                ("vlan", K::Int, false),
                ("frag", K::Word, false),
                ("payload", K::Int, false),
                ("bytes", K::Bytes, false),
                ("flags", K::Int, false),
            ],
            fields: PACKET_FIELDS,
            usage: "packet NS proto=ipv4/tcp src=10.0.0.1:80 dst=10.0.0.2:443 [vlan=N] [frag=first|later] [flags=N] | packet NS bytes=FRAME   (flow dissector)",
        },
        Spec {
            name: "socket",
            pos: &[("socket name", K::NewName(O::Any))],
            keys: &[("proto", K::Word, true), ("addr", K::Text, true), ("netns", K::Name(O::Netns), false)],
            fields: &[("fd", K::Int), ("cookie", K::Int)],
            usage: "socket S proto=tcp|udp addr=10.0.0.2:80 [netns=NS]   (a listening TCP / bound UDP socket)",
        },
        Spec {
            name: "sk_lookup",
            pos: &[("netns name", K::Name(O::Netns))],
            keys: &[("proto", K::Word, true), ("src", K::Text, true), ("dst", K::Text, true)],
            fields: &[("result", K::Word), ("socket", K::Word)],
            usage: "sk_lookup NS proto=tcp src=10.0.0.1:5555 dst=10.0.0.2:80 => result=regular|selected|refused socket=S|none",
        },
    ],
};

/// What `packet` reports: who dissected, the verdict, and `bpf_flow_keys`.
const PACKET_FIELDS: &[(&str, Kind)] = &[
    ("by", K::Word),
    ("prog_id", K::Int),
    ("verdict", K::Word),
    ("nhoff", K::Int),
    ("thoff", K::Int),
    ("n_proto", K::Text),
    ("addr_proto", K::Text),
    ("ip_proto", K::Int),
    ("src", K::Text),
    ("dst", K::Text),
    ("sport", K::Int),
    ("dport", K::Int),
    ("is_frag", K::Int),
    ("is_first_frag", K::Int),
    ("is_encap", K::Int),
    ("flow_label", K::Text),
];

/// The actions of a two-word statement head, if `head` is one of ours.
pub fn actions(head: &str) -> Option<&'static [&'static str]> {
    match head {
        "netns" => Some(&["create", "open", "enter", "destroy", "cleanup", "info", "stats"]),
        _ => None,
    }
}

/// Checks beyond the spec.
pub(super) fn plan_extra(p: &mut Planned, cx: &mut PlanCtx) -> Result<(), Diag> {
    if p.spec.name == "packet" {
        let s = &p.stmt;
        let end = s.raw_line.trim_end().len() + 1;
        match (p.kv.contains_key("proto"), p.kv.contains_key("bytes")) {
            (true, true) | (false, false) => {
                return Err(s
                    .err(end, "expected exactly one of `proto=LAYERS` or `bytes=FRAME`")
                    .help(Some(format!("usage: {}", p.spec.usage))));
            }
            (true, false) => {
                if let Err(m) = packet_spec(p) {
                    let col = s.raw_line.find("proto=").map_or(1, |i| i + 1);
                    return Err(s.err(col, m).help(Some(
                        "layers: [vlan|qinq/]ipv4|ipv6[/gre|ipip/ipv4|ipv6]/tcp|udp|icmp".into(),
                    )));
                }
            }
            (false, true) => {}
        }
    }
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

/// `ADDR[:PORT]`.
fn addr_port(s: &str) -> Result<(std::net::IpAddr, u16), String> {
    if let Ok(a) = s.parse() {
        return Ok((a, 0));
    }
    if let Ok(sa) = s.parse::<std::net::SocketAddr>() {
        return Ok((sa.ip(), sa.port()));
    }
    Err(format!("`{s}`: expected an address such as 10.0.0.1:80 or [2001:db8::1]:80"))
}

/// The packet a `packet ... proto=` statement describes, built.
fn packet_spec(p: &Planned) -> Result<Vec<u8>, String> {
    use bpfemu_kernel::net::packet::{Frag, PacketSpec, build};
    let mut spec = PacketSpec {
        layers: p.text("proto").unwrap_or("").split('/').map(String::from).collect(),
        ..Default::default()
    };
    if let Some(s) = p.text("src") {
        let (a, port) = addr_port(s)?;
        spec.src = Some(a);
        spec.sport = port;
    }
    if let Some(s) = p.text("dst") {
        let (a, port) = addr_port(s)?;
        spec.dst = Some(a);
        spec.dport = port;
    }
    if let Some(v) = p.int("vlan") {
        spec.vlan_id = u16::try_from(v).map_err(|_| format!("vlan={v}: expected 0..4095"))?;
    }
    spec.payload = p.int("payload").unwrap_or(0).clamp(0, 1500) as usize;
    spec.frag = match p.text("frag") {
        None => Frag::None,
        Some("first") => Frag::First,
        Some("later") => Frag::Later,
        Some(o) => return Err(format!("frag={o}: expected first or later")),
    };
    build(&spec)
}

fn packet(r: &mut Runner, p: &Planned) -> Outcome {
    use bpfemu_kernel::net::flow_dissector::By;
    let fd = r.fd(p.name(0))?;
    let net = r.k.net_from_fd(fd)?.net().id;
    let frame = match p.bytes("bytes") {
        Some(b) => r.resolve(b)?,
        None => packet_spec(p).map_err(|_| Errno::EINVAL)?,
    };
    let d = r.k.flow_dissect(net, &frame, p.int("flags").unwrap_or(0) as u32)?;
    let k = &d.keys;
    let (src, dst) = k.addr_text();
    let mut f = match d.by {
        By::Bpf { prog_id } => vec![("by", Val::Text("bpf".into())), ("prog_id", int(prog_id))],
        By::Native => vec![("by", Val::Text("native".into()))],
    };
    let verdict = match d.verdict {
        0 => "ok".to_string(),
        2 => "drop".to_string(),
        v => v.to_string(),
    };
    f.extend([
        ("verdict", Val::Text(verdict)),
        ("nhoff", int(k.nhoff)),
        ("thoff", int(k.thoff)),
        ("n_proto", Val::Text(format!("0x{:04x}", u16::from_be_bytes(k.n_proto)))),
        ("addr_proto", Val::Text(format!("0x{:04x}", k.addr_proto))),
        ("ip_proto", int(k.ip_proto)),
        ("src", Val::Text(src)),
        ("dst", Val::Text(dst)),
        ("sport", int(u16::from_be_bytes(k.sport))),
        ("dport", int(u16::from_be_bytes(k.dport))),
        ("is_frag", int(k.is_frag)),
        ("is_first_frag", int(k.is_first_frag)),
        ("is_encap", int(k.is_encap)),
        ("flow_label", Val::Text(format!("0x{:05x}", u32::from_be_bytes(k.flow_label)))),
    ]);
    ok(f)
}

fn proto_num(p: &Planned) -> Result<u8, Errno> {
    match p.text("proto") {
        Some("tcp") => Ok(6),
        Some("udp") => Ok(17),
        _ => Err(Errno::EPROTONOSUPPORT),
    }
}

fn socket(r: &mut Runner, p: &Planned) -> Outcome {
    let proto = proto_num(p)?;
    let addr = p.text("addr").unwrap_or("").parse().map_err(|_| Errno::EINVAL)?;
    let user = r.k.user;
    let back = match p.text("netns") {
        Some(ns) => {
            let nr = r.k.net_from_fd(r.fd(ns)?)?;
            Some(r.k.net_switch(user, nr))
        }
        None => None,
    };
    let res = r.k.sock_bind(proto, addr);
    if let Some(b) = back {
        drop(r.k.net_switch(user, b));
    }
    let fd = res?;
    r.objs.insert(p.name(0).to_string(), fd);
    let cookie = match r.k.fd_obj(fd)? {
        bpfemu_kernel::bpf::Obj::Socket(s) => s.cookie,
        _ => 0,
    };
    ok(vec![("fd", int(fd)), ("cookie", int(cookie))])
}

fn sk_lookup(r: &mut Runner, p: &Planned) -> Outcome {
    use bpfemu_kernel::net::sk_lookup::{LookupReq, LookupResult};
    let net = r.k.net_from_fd(r.fd(p.name(0))?)?.net().id;
    let parse = |k: &str| -> Result<std::net::SocketAddr, Errno> {
        p.text(k).unwrap_or("").parse().map_err(|_| Errno::EINVAL)
    };
    let req = LookupReq { protocol: proto_num(p)?, remote: parse("src")?, local: parse("dst")? };
    let res = r.k.sk_lookup(net, req)?;
    // The scenario's name for a socket cookie.
    let name_of = |r: &Runner, cookie: u64| -> String {
        r.objs
            .iter()
            .find(|(_, fd)| {
                matches!(r.k.fd_obj(**fd), Ok(bpfemu_kernel::bpf::Obj::Socket(s)) if s.cookie == cookie)
            })
            .map_or_else(|| format!("cookie:{cookie}"), |(n, _)| n.clone())
    };
    let (result, sock) = match res {
        LookupResult::Selected(c) => ("selected", name_of(r, c)),
        LookupResult::Refused => ("refused", "none".to_string()),
        LookupResult::Regular(Some(c)) => ("regular", name_of(r, c)),
        LookupResult::Regular(None) => ("regular", "none".to_string()),
    };
    ok(vec![("result", Val::Text(result.into())), ("socket", Val::Text(sock))])
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
        "packet" => packet(r, p),
        "socket" => socket(r, p),
        "sk_lookup" => sk_lookup(r, p),
        _ => return None,
    })
}
