//! Sockets from a sockmap in the sk_lookup hook: programs read their
//! `struct bpf_sock` through the lookup's pointer and through `ctx->sk`,
//! select them with `bpf_sk_assign`, under the interpreter, the JIT and
//! paranoid (checked) runs; a socket of another namespace may be selected;
//! the map does not keep a closed socket (or its namespace) alive.

use super::sk_lookup::{IPPROTO_TCP, LookupReq, LookupResult};
use crate::bpf::BpfAttr;
use crate::bpf::attr::{LinkCreateAttr, ProgLoadAttr};
use crate::errno::Errno;
use crate::kernel::{Kernel, KernelConfig};
use crate::map::MapCreateAttr;
use crate::uapi::{AttachType, MapType, ProgType};

fn load_sl(k: &mut Kernel, src: &str) -> Result<i32, Errno> {
    let insns = bpfemu_isa::asm::kernel::assemble(src).unwrap();
    k.bpf(BpfAttr::ProgLoad(ProgLoadAttr {
        prog_type: ProgType::SkLookup.raw(),
        expected_attach_type: AttachType::SkLookup.raw(),
        insns: &insns,
        license: "GPL",
        ..Default::default()
    }))
    .map(|fd| fd as i32)
}

/// Selects slot 0 of map `m` if its socket's `src_port` is 9000 and its
/// `state` TCP_LISTEN (10), reading them through the socket pointer.
fn select_src(m: i32) -> String {
    format!(
        "r6 = r1
         *(u32 *)(r10 -4) = 0
         r2 = r10
         r2 += -4
         r1 = map[fd:{m}]
         call 1
         if r0 == 0 goto drop
         r7 = r0
         r8 = *(u32 *)(r7 +44)
         r9 = *(u32 *)(r7 +72)
         if r8 != 9000 goto rel
         if r9 != 10 goto rel
         r1 = r6
         r2 = r7
         r3 = 0
         call 124
         rel:
         r1 = r7
         call 86
         r0 = 1
         exit
         drop:
         r0 = 0
         exit"
    )
}

/// Reads `ctx->sk->src_port` when a socket is selected; passes.
const READ_CTX_SK: &str = "r2 = *(u64 *)(r1 +0)
     r0 = 1
     if r2 == 0 goto out
     r3 = *(u32 *)(r2 +44)
     out:
     exit";

fn sockmap(k: &mut Kernel) -> i32 {
    sock_map_of(k, MapType::Sockmap)
}

/// A sockmap or sockhash with u32 keys and u64 values.
fn sock_map_of(k: &mut Kernel, t: MapType) -> i32 {
    k.bpf(BpfAttr::MapCreate(MapCreateAttr {
        map_type: t.raw(),
        key_size: 4,
        value_size: 8,
        max_entries: 2,
        ..Default::default()
    }))
    .unwrap() as i32
}

fn store(k: &mut Kernel, m: i32, key: u32, fd: i32) -> Result<i64, Errno> {
    let value = u64::try_from(fd).unwrap().to_ne_bytes();
    k.bpf(BpfAttr::MapUpdateElem { map_fd: m, key: &key.to_ne_bytes(), value: &value, flags: 0 })
}

#[test]
fn sockmap_and_sockhash_sockets_are_read_and_selected_in_every_engine() {
    let cases = [(false, false), (false, true), (true, false)];
    for ((jit, paranoid), t) in
        cases.into_iter().flat_map(|c| [(c, MapType::Sockmap), (c, MapType::Sockhash)])
    {
        let mut k = Kernel::new(KernelConfig::default());
        if k.set_jit_enable(jit).is_err() {
            continue;
        }
        k.set_paranoid(paranoid);
        let m = sock_map_of(&mut k, t);
        // The service socket lives in init_net; the lookups happen in a
        // child namespace (bpf_sk_assign does not check namespaces).
        let svc = k.sock_bind(IPPROTO_TCP, "127.0.0.1:9000".parse().unwrap()).unwrap();
        let other = k.sock_bind(IPPROTO_TCP, "127.0.0.1:9001".parse().unwrap()).unwrap();
        let src = select_src(m);
        let sel = load_sl(&mut k, &src).unwrap();
        let read = load_sl(&mut k, READ_CTX_SK).unwrap();
        let child = k.net_unshare(k.user).unwrap();
        let ns = k.net_open_fd(k.user).unwrap();
        for p in [sel, read] {
            let attr = LinkCreateAttr {
                prog_fd: p,
                target_fd: ns,
                attach_type: AttachType::SkLookup.raw(),
                ..Default::default()
            };
            k.bpf(BpfAttr::LinkCreate(attr)).unwrap();
        }
        let req = LookupReq {
            protocol: IPPROTO_TCP,
            remote: "10.0.0.1:5555".parse().unwrap(),
            local: "10.0.0.2:80".parse().unwrap(),
        };
        // Empty map: dropped.
        assert_eq!(k.sk_lookup(child, req), Ok(LookupResult::Refused));
        // The wrong source port: not selected, passes to the regular lookup.
        store(&mut k, m, 0, other).unwrap();
        assert_eq!(k.sk_lookup(child, req), Ok(LookupResult::Regular(None)));
        store(&mut k, m, 0, svc).unwrap();
        assert_eq!(
            k.sk_lookup(child, req),
            Ok(LookupResult::Selected(1)),
            "jit={jit} paranoid={paranoid} {t:?}"
        );
        assert_eq!(k.take_soundness_violations(), Vec::new());
    }
}

#[test]
fn a_sockmap_does_not_keep_a_closed_socket_or_its_namespace() {
    let mut k = Kernel::new(KernelConfig::default());
    let m = sockmap(&mut k);
    let child = k.net_unshare(k.user).unwrap();
    let s = k.sock_bind(IPPROTO_TCP, "10.0.0.2:80".parse().unwrap()).unwrap();
    store(&mut k, m, 1, s).unwrap();
    // Back to init_net: only the socket holds the child namespace.
    k.net_switch(k.user, crate::net::netns::NetRef::get(k.net.init_net()).unwrap());
    assert!(k.net_cleanup().is_empty());
    let mut cookie = [0u8; 8];
    let key = 1u32.to_ne_bytes();
    k.bpf(BpfAttr::MapLookupElem { map_fd: m, key: &key, value: &mut cookie, flags: 0 }).unwrap();
    assert_eq!(u64::from_ne_bytes(cookie), 1);
    k.close(s).unwrap();
    assert_eq!(k.net_cleanup(), [child]);
    let r = k.bpf(BpfAttr::MapLookupElem { map_fd: m, key: &key, value: &mut cookie, flags: 0 });
    assert_eq!(r, Err(Errno::ENOENT));
    // Storing a non-socket fd: ENOTSOCK.
    assert_eq!(store(&mut k, m, 0, m), Err(Errno::ENOTSOCK));
}

#[test]
fn the_verifier_types_sockmap_lookups() {
    let mut k = Kernel::new(KernelConfig::default());
    let m = sockmap(&mut k);
    // The reference must be released.
    let leak = format!(
        "*(u32 *)(r10 -4) = 0\nr2 = r10\nr2 += -4\nr1 = map[fd:{m}]\ncall 1\nif r0 == 0 goto out\nr0 = 1\nexit\nout:\nr0 = 0\nexit"
    );
    assert_eq!(load_sl(&mut k, &leak), Err(Errno::EINVAL));
    // A program-side update's value is a socket (resolve_map_arg_type()):
    // stack memory is refused by the argument check.
    let upd = format!(
        "*(u64 *)(r10 -8) = 0\nr2 = r10\nr2 += -8\nr3 = r10\nr3 += -8\nr1 = map[fd:{m}]\nr4 = 0\ncall 2\nr0 = 1\nexit"
    );
    assert_eq!(load_sl(&mut k, &upd), Err(Errno::EACCES));
    // Deleting is allowed.
    let del = format!("*(u32 *)(r10 -4) = 0\nr2 = r10\nr2 += -4\nr1 = map[fd:{m}]\ncall 3\nr0 = 1\nexit");
    load_sl(&mut k, &del).unwrap();
}
