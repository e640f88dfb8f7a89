//! `bpf_sk_assign()` for sk_lookup programs (net/core/filter.c
//! `bpf_sk_lookup_assign()`, prototype `bpf_sk_lookup_assign_proto`: ctx,
//! `ARG_PTR_TO_SOCKET_OR_NULL`, flags) and `bpf_sk_release()`
//! (`bpf_sk_release_proto`).
//!
//! The lookup in progress ([`crate::net::sk_lookup`]) publishes its state
//! in a thread-local for the duration of each program run, as the kernel's
//! helper reaches it through the `bpf_sk_lookup_kern` ctx. Rules, in the
//! kernel's order: flags other than `BPF_SK_LOOKUP_F_REPLACE` and
//! `BPF_SK_LOOKUP_F_NO_REUSEPORT` `-EINVAL`; a socket of another protocol
//! `-EPROTOTYPE`; an IPv4 socket for an IPv6 lookup `-EAFNOSUPPORT` (an
//! IPv6 socket may serve an IPv4 lookup: emulated sockets are not
//! `IPV6_V6ONLY`); a selection already made without `F_REPLACE`
//! `-EEXIST`; otherwise the socket (NULL: none) becomes the selection and
//! `F_NO_REUSEPORT` is recorded. The `ESOCKTNOSUPPORT` cases (refcounted
//! sockets, TCP not listening, UDP connected) cannot happen: emulated
//! sockets are listening TCP and unconnected UDP ones. A pointer that is
//! no socket the lookup offered (only an unverified program can pass one)
//! is `-EINVAL`.
//!
//! `bpf_sk_release()` drops a reference a socket lookup took; the kernel
//! only counts references of sockets that are not RCU-freed, and every
//! emulated socket is RCU-freed, so it has nothing to drop and returns 0
//! (the verifier does the bookkeeping that matters: the reference state).

use super::neg;
use crate::errno::Errno;
use std::cell::RefCell;

/// `BPF_FUNC_sk_assign`.
pub const BPF_FUNC_SK_ASSIGN: i32 = 124;
/// `BPF_SK_LOOKUP_F_REPLACE`.
pub const F_REPLACE: u64 = 1;
/// `BPF_SK_LOOKUP_F_NO_REUSEPORT`.
pub const F_NO_REUSEPORT: u64 = 2;

/// A socket a program may select: where its `struct bpf_sock` image is,
/// and what the checks need.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub addr: u64,
    pub cookie: u64,
    pub family: u16,
    pub protocol: u8,
}

/// The selection state of one lookup (`bpf_sk_lookup_kern`'s
/// `selected_sk` and `no_reuseport`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AssignState {
    pub family: u16,
    pub protocol: u8,
    pub candidates: Vec<Candidate>,
    pub selected: Option<Candidate>,
    pub no_reuseport: bool,
}

thread_local! {
    static STATE: RefCell<Option<AssignState>> = const { RefCell::new(None) };
}

/// Runs `f` with `state` published to the helper; returns what `f`
/// returned and the state as the helper left it.
pub fn with_state<R>(state: AssignState, f: impl FnOnce() -> R) -> (R, AssignState) {
    STATE.with(|s| *s.borrow_mut() = Some(state));
    let r = f();
    let st = STATE.with(|s| s.borrow_mut().take()).unwrap_or_default();
    (r, st)
}

/// The helper's logic on `state`.
pub fn assign(state: &mut AssignState, sk: u64, flags: u64) -> Result<(), Errno> {
    if flags & !(F_REPLACE | F_NO_REUSEPORT) != 0 {
        return Err(Errno::EINVAL);
    }
    let cand = if sk == 0 {
        None
    } else {
        let c = *state.candidates.iter().find(|c| c.addr == sk).ok_or(Errno::EINVAL)?;
        if c.protocol != state.protocol {
            return Err(Errno::EPROTOTYPE);
        }
        // `AF_INET` is 2 (an IPv6 socket that is not v6-only serves IPv4).
        if c.family != state.family && c.family == 2 {
            return Err(Errno::EAFNOSUPPORT);
        }
        Some(c)
    };
    if state.selected.is_some() && flags & F_REPLACE == 0 {
        return Err(Errno::EEXIST);
    }
    state.selected = cand;
    state.no_reuseport = flags & F_NO_REUSEPORT != 0;
    Ok(())
}

/// `bpf_sk_assign(ctx, sk, flags)`.
pub extern "C" fn sk_assign(_ctx: u64, sk: u64, flags: u64, _: u64, _: u64) -> u64 {
    STATE.with(|s| match s.borrow_mut().as_mut() {
        Some(st) => match assign(st, sk, flags) {
            Ok(()) => 0,
            Err(e) => neg(e),
        },
        // Not inside a socket lookup.
        None => neg(Errno::EINVAL),
    })
}

/// `bpf_sk_release(sk)`: nothing to drop for RCU-freed sockets.
pub extern "C" fn sk_release(_sk: u64, _: u64, _: u64, _: u64, _: u64) -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        let tcp4 = Candidate { addr: 100, cookie: 1, family: 2, protocol: 6 };
        let udp4 = Candidate { addr: 200, cookie: 2, family: 2, protocol: 17 };
        let tcp6 = Candidate { addr: 300, cookie: 3, family: 10, protocol: 6 };
        let st =
            AssignState { family: 2, protocol: 6, candidates: vec![tcp4, udp4, tcp6], ..Default::default() };
        let ((), st) = with_state(st, || {
            assert_eq!(sk_assign(0, 100, 4, 0, 0), neg(Errno::EINVAL));
            assert_eq!(sk_assign(0, 200, 0, 0, 0), neg(Errno::EPROTOTYPE));
            assert_eq!(sk_assign(0, 999, 0, 0, 0), neg(Errno::EINVAL));
            assert_eq!(sk_assign(0, 300, 0, 0, 0), 0, "IPv6 socket, IPv4 lookup");
            // Protocol checks come before EEXIST.
            assert_eq!(sk_assign(0, 200, 0, 0, 0), neg(Errno::EPROTOTYPE));
            assert_eq!(sk_assign(0, 100, 0, 0, 0), neg(Errno::EEXIST));
            assert_eq!(sk_assign(0, 100, F_REPLACE | F_NO_REUSEPORT, 0, 0), 0);
            assert_eq!(sk_release(100, 0, 0, 0, 0), 0);
        });
        assert_eq!((st.selected, st.no_reuseport), (Some(tcp4), true));
        assert_eq!(sk_assign(0, 100, 0, 0, 0), neg(Errno::EINVAL));
        let mut st = st;
        assign(&mut st, 0, F_REPLACE).unwrap();
        assert_eq!((st.selected, st.no_reuseport), (None, false));
        // An IPv4 socket for an IPv6 lookup.
        let mut st6 = AssignState { family: 10, protocol: 6, candidates: vec![tcp4], ..Default::default() };
        assert_eq!(assign(&mut st6, 100, 0), Err(Errno::EAFNOSUPPORT));
    }
}
