//! `bpf_sk_assign()` for sk_lookup programs (net/core/filter.c
//! `bpf_sk_lookup_assign()`): select the socket a lookup returns.
//!
//! The lookup in progress ([`crate::net::sk_lookup`]) publishes its state
//! in a thread-local for the duration of each program run, as the kernel's
//! helper reaches it through the `bpf_sk_lookup_kern` ctx. Rules: flags
//! other than `BPF_SK_LOOKUP_F_REPLACE` and `BPF_SK_LOOKUP_F_NO_REUSEPORT`
//! `-EINVAL`; a selection already made without `F_REPLACE` `-EEXIST`; a
//! socket of another protocol `-EPROTOTYPE`; an IPv4 socket for an IPv6
//! lookup (or the reverse) `-EAFNOSUPPORT`; a pointer that is no socket of
//! the lookup's namespace `-EINVAL`; NULL clears the selection.
//!
//! Limit: the verifier has no socket pointer types yet (no sockmap, no
//! `ARG_PTR_TO_SOCKET_OR_NULL`) and no prototype for this helper, so it is
//! not in the helper table (`HELPERS` lists only helpers with an
//! implemented prototype) and verified programs cannot call it; once the
//! prototype exists, registering [`sk_assign`] under
//! [`BPF_FUNC_SK_ASSIGN`] is all that is left. The logic is complete and
//! tested directly.

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
    if state.selected.is_some() && flags & F_REPLACE == 0 {
        return Err(Errno::EEXIST);
    }
    let cand = if sk == 0 {
        None
    } else {
        let c = *state.candidates.iter().find(|c| c.addr == sk).ok_or(Errno::EINVAL)?;
        if c.protocol != state.protocol {
            return Err(Errno::EPROTOTYPE);
        }
        if c.family != state.family {
            return Err(Errno::EAFNOSUPPORT);
        }
        Some(c)
    };
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
            assert_eq!(sk_assign(0, 300, 0, 0, 0), neg(Errno::EAFNOSUPPORT));
            assert_eq!(sk_assign(0, 999, 0, 0, 0), neg(Errno::EINVAL));
            assert_eq!(sk_assign(0, 100, 0, 0, 0), 0);
            assert_eq!(sk_assign(0, 100, 0, 0, 0), neg(Errno::EEXIST));
            assert_eq!(sk_assign(0, 100, F_REPLACE | F_NO_REUSEPORT, 0, 0), 0);
        });
        assert_eq!((st.selected, st.no_reuseport), (Some(tcp4), true));
        assert_eq!(sk_assign(0, 100, 0, 0, 0), neg(Errno::EINVAL));
        let mut st = st;
        assign(&mut st, 0, F_REPLACE).unwrap();
        assert_eq!(st.selected, None);
    }
}
