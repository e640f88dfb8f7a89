//! ALU: scalars, pointer arithmetic, ld_imm64, legacy packet loads.

use super::*;

#[test]
fn scalar_ops_and_bounds() {
    accept(
        "r0 = 5\nr0 *= 3\nr0 &= 7\nr0 <<= 2\nr0 >>= 1\nr0 s>>= 1\nr0 ^= 1\nr0 |= 2\nr0 -= 1\nr0 = -r0\nexit",
    );
    accept("w0 = -1\nr0 += 1\nexit");
    let (_, log) = run("w0 = -1\nexit");
    assert!(log.contains("R0=0xffffffff"), "{log}");
    reject("r0 = 1\nr0 /= 0\nexit", "div by zero");
    reject("r0 = 1\nr0 <<= 64\nexit", "invalid shift 64");
    reject("r0 = 1\nw0 <<= 32\nexit", "invalid shift 32");
    reject("r0 += 1\nexit", "R0 !read_ok");
    reject("r0 = 1\nr0 += r3\nexit", "R3 !read_ok");
}

#[test]
fn mov_copies_pointers_and_links_scalars() {
    accept("r2 = r10\nr2 += -8\nr1 = 0\n*(u64 *)(r2 +0) = r1\nr0 = *(u64 *)(r10 -8)\nexit");
    let (_, log) = run("r1 = *(u32 *)(r1 +0)\nr2 = r1\nr0 = 0\nexit");
    assert!(log.contains("R1=scalar(id=1"), "{log}");
    assert!(log.contains("R2=scalar(id=1"), "{log}");
}

#[test]
fn pointer_arithmetic_rules() {
    reject("r1 &= 1\nr0 = 0\nexit", "R1 bitwise operator &= on pointer prohibited");
    reject("r1 *= 2\nr0 = 0\nexit", "R1 pointer arithmetic with *= operator prohibited");
    reject("w1 += 1\nr0 = 0\nexit", "R1 32-bit pointer arithmetic prohibited");
    reject("r2 = r10\nr2 -= 8\nr0 = 0\nexit", "R2 subtraction from stack pointer prohibited");
    reject("r2 = 1\nr2 -= r1\nr0 = 0\nexit", "R2 tried to subtract pointer from scalar");
    reject_with("r2 = r10\nr2 -= r1\nr0 = 0\nexit", unpriv(), "R2 pointer -= pointer prohibited");
    accept("r2 = r10\nr2 -= r1\nr0 = r2\nexit");
    reject(
        "r2 = *(u32 *)(r1 +0)\nr1 += r2\nr0 = *(u32 *)(r1 +0)\nexit",
        "variable ctx access var_off=(0x0; 0xffffffff) disallowed",
    );
    reject("r1 += 4\nr0 = *(u32 *)(r1 +0)\nexit", "dereference of modified ctx ptr R1 off=4 disallowed");
}

#[test]
fn pointer_offsets_must_be_bounded() {
    reject(
        "r2 = *(u64 *)(r1 +0)\nr3 = r10\nr3 += r2\nr0 = 0\nexit",
        "math between fp pointer and register with unbounded min value is not allowed",
    );
    reject(
        "r2 = 1\nr2 <<= 40\nr3 = r10\nr3 += r2\nr0 = 0\nexit",
        "math between fp pointer and 1099511627776 is not allowed",
    );
    reject_with(
        "r2 = r10\nr2 += 8\nr0 = 0\nexit",
        unpriv(),
        "R2 stack pointer arithmetic goes out of range, prohibited for !root; off=8",
    );
    reject_with("r2 = r1\nr2 = -r2\nr0 = 0\nexit", unpriv(), "R2 pointer arithmetic prohibited");
    reject_with("w2 = w1\nr0 = 0\nexit", unpriv(), "R1 partial copy of pointer");
}

#[test]
fn ld_imm64_kinds() {
    let (_, log) = run("r1 = map[fd:0]\nr2 = map[fd:0][0]+4\nr3 = 0x100000000 ll\nr0 = 0\nexit");
    assert!(log.contains("R1=map_ptr(map=arr,ks=4,vs=16)"), "{log}");
    assert!(log.contains("R2=map_value(map=arr,ks=4,vs=16,off=4)"), "{log}");
    assert!(log.contains("R3=0x100000000") || log.contains("R3=4294967296"), "{log}");
    reject("r2 = map[fd:1][0]+4\nr0 = 0\nexit", "no direct value access support for this map type");
    reject("r2 = map[fd:0][0]+16\nr0 = 0\nexit", "invalid access to map value pointer, value_size=16 off=16");
    reject("r2 = map[fd:9]\nr0 = 0\nexit", "fd 9 is not pointing to valid bpf_map");
    reject("r1 = map[fd:0]\nr1 += 8\nr0 = 0\nexit", "R1 pointer arithmetic on map_ptr prohibited");
}

#[test]
fn map_value_direct() {
    accept("r2 = map[fd:0][0]+4\nr0 = *(u32 *)(r2 +8)\n*(u32 *)(r2 +0) = r0\nexit");
    reject(
        "r2 = map[fd:0][0]+4\nr0 = *(u32 *)(r2 +12)\nexit",
        "invalid access to map value, value_size=16 off=16 size=4",
    );
    // A frozen read-only map: constant loads, no stores.
    let (r, log) = run("r2 = map[fd:2][0]+0\nr0 = *(u32 *)(r2 +4)\nexit");
    r.unwrap();
    assert!(log.contains("R0=0x7060504"), "{log}");
    reject(
        "r2 = map[fd:2][0]+0\nr0 = 0\n*(u32 *)(r2 +4) = r0\nexit",
        "write into map forbidden, value_size=16 off=4 size=4",
    );
}

#[test]
fn ld_abs() {
    accept("r6 = r1\nr0 = *(u8 *)skb[12]\nexit");
    reject("r0 = *(u8 *)skb[12]\nexit", "R6 !read_ok");
    reject("r6 = 0\nr0 = *(u8 *)skb[12]\nexit", "at the time of BPF_LD_ABS|IND R6 != pointer to skb");
    reject("r6 = r1\nr2 = 1\nr0 = *(u16 *)skb[r2 + 12]\nr0 = r2\nexit", "R2 !read_ok");
}

#[test]
fn endian_and_movsx() {
    let (_, log) = run("r0 = 0x1234\nr0 = le16 r0\nexit");
    assert!(log.contains("R0=4660"), "{log}");
    let (_, log) = run("r0 = *(u32 *)(r1 +0)\nr0 = be16 r0\nexit");
    assert!(log.contains("umax=0xffff"), "{log}");
    let (_, log) = run("r0 = 0xff\nr0 = (s8)r0\nexit");
    assert!(log.contains("R0=-1"), "{log}");
}
