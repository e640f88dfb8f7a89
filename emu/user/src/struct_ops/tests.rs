//! struct_ops matching against a `tcp_congestion_ops`-like kernel BTF.

use bpfemu_btf::{Btf, IntEncoding, MemberDef, VarLinkage, VarSecinfo};
use bpfemu_kernel::errno::Errno;

use super::*;

fn m(name: &str, ty: u32, bit_offset: u32) -> MemberDef<'_> {
    MemberDef::new(name, ty, bit_offset)
}

/// The kernel: `struct tcp_congestion_ops` (72 bytes) and
/// `struct bpf_struct_ops_tcp_congestion_ops` (common + data at 8).
struct Kern {
    btf: Btf,
    ops: u32,
    vtype: u32,
}

fn kernel_with(init_is_func: bool, with_vtype: bool, with_data: bool) -> Kern {
    let mut b = Btf::new();
    let int = b.add_int("int", 4, IntEncoding::Signed);
    let u32_ = b.add_int("unsigned int", 4, IntEncoding::Unsigned);
    let chr = b.add_int("char", 1, IntEncoding::Signed);
    let sock = b.add_struct("sock", 0, &[]);
    let psock = b.add_ptr(sock);
    let lh_fwd = b.add_fwd("list_head", false);
    let plh = b.add_ptr(lh_fwd);
    let lh = b.add_struct("list_head", 16, &[m("next", plh, 0), m("prev", plh, 64)]);
    let void_fp = b.add_func_proto(0, &[("sk", psock)], false);
    let u32_fp = b.add_func_proto(u32_, &[("sk", psock)], false);
    let ca_fp = b.add_func_proto(0, &[("sk", psock), ("ack", u32_), ("acked", u32_)], false);
    let p_void_fp = b.add_ptr(void_fp);
    let p_u32_fp = b.add_ptr(u32_fp);
    let p_ca_fp = b.add_ptr(ca_fp);
    let pvoid = b.add_ptr(0);
    let name_arr = b.add_array(chr, int, 16);
    let init_ty = if init_is_func { p_void_fp } else { pvoid };
    let ops = b.add_struct(
        "tcp_congestion_ops",
        72,
        &[
            m("list", lh, 0),
            m("key", u32_, 128),
            m("flags", u32_, 160),
            m("ssthresh", p_u32_fp, 192),
            m("cong_avoid", p_ca_fp, 256),
            m("init", init_ty, 320),
            m("name", name_arr, 384),
            m("owner", pvoid, 512),
        ],
    );
    let common = b.add_struct("bpf_struct_ops_common_value", 8, &[m("refcnt", int, 0), m("state", int, 32)]);
    let data_ty = if with_data { ops } else { common };
    let vtype = if with_vtype {
        b.add_struct(
            "bpf_struct_ops_tcp_congestion_ops",
            80,
            &[m("common", common, 0), m("data", data_ty, 64)],
        )
    } else {
        0
    };
    Kern { btf: b, ops, vtype }
}

fn kernel() -> Kern {
    kernel_with(true, true, true)
}

/// The object: `SEC(sec) struct <tname> cc = { .init = ..., .ssthresh = ...,
/// .name = "bpf_cc", .flags = 1 };` with its members in another order,
/// plus `extra` members appended after `flags`.
struct Obj {
    btf: Btf,
    data: Vec<u8>,
}

fn object(tname: &str, sec: &str, flags_ty: &str, extra: &[(&str, u32)]) -> Obj {
    let mut b = Btf::new();
    let int = b.add_int("int", 4, IntEncoding::Signed);
    let u32_ = b.add_int("unsigned int", 4, IntEncoding::Unsigned);
    let u64_ = b.add_int("unsigned long long", 8, IntEncoding::Unsigned);
    let chr = b.add_int("char", 1, IntEncoding::Signed);
    let sock = b.add_fwd("sock", false);
    let psock = b.add_ptr(sock);
    let void_fp = b.add_func_proto(0, &[("sk", psock)], false);
    let u32_fp = b.add_func_proto(u32_, &[("sk", psock)], false);
    let p_void_fp = b.add_ptr(void_fp);
    let p_u32_fp = b.add_ptr(u32_fp);
    let name_arr = b.add_array(chr, int, 16);
    let pint = b.add_ptr(int);
    let flags = match flags_ty {
        "u64" => u64_,
        "ptr" => pint,
        _ => u32_,
    };
    let fsz: u32 = if flags_ty == "u32" { 4 } else { 8 };
    let mut members = vec![
        m("init", p_void_fp, 0),
        m("ssthresh", p_u32_fp, 64),
        m("name", name_arr, 128),
        m("flags", flags, 256),
    ];
    let mut off = 256 + fsz * 8;
    for (n, bits) in extra {
        let ty = if *bits == 32 { u32_ } else { p_void_fp };
        off = off.next_multiple_of(*bits);
        members.push(m(n, ty, off));
        off += bits;
    }
    let size = off.next_multiple_of(64) / 8;
    let st = b.add_struct(tname, size, &members);
    let var = b.add_var("cc", st, VarLinkage::GlobalAllocated);
    b.add_datasec(sec, size, &[VarSecinfo { ty: var, offset: 0, size }]);
    let mut data = vec![0u8; size as usize];
    data[16..22].copy_from_slice(b"bpf_cc");
    data[32] = 1;
    Obj { btf: b, data }
}

fn bound(obj: &Obj, sec: &str) -> StructOpsMap {
    let mut maps = collect_maps(&obj.btf, sec, &obj.data).unwrap();
    assert_eq!(bind_prog(&obj.btf, &mut maps, sec, 0, "my_init", true).unwrap(), (0, 0));
    assert_eq!(bind_prog(&obj.btf, &mut maps, sec, 8, "my_ssthresh", true).unwrap(), (0, 1));
    maps.remove(0)
}

#[test]
fn collect_one_map_per_variable() {
    let o = object("tcp_congestion_ops", STRUCT_OPS_SEC, "u32", &[]);
    let maps = collect_maps(&o.btf, STRUCT_OPS_SEC, &o.data).unwrap();
    assert_eq!(maps.len(), 1);
    let mp = &maps[0];
    assert_eq!(
        (mp.name.as_str(), mp.type_name.as_str(), mp.map_flags, mp.sec_offset),
        ("cc", "tcp_congestion_ops", 0, 0)
    );
    assert_eq!(mp.data, o.data);
    assert_eq!(mp.progs, vec![None; 4]);
    let o = object("tcp_congestion_ops", STRUCT_OPS_LINK_SEC, "u32", &[]);
    let maps = collect_maps(&o.btf, STRUCT_OPS_LINK_SEC, &o.data).unwrap();
    assert_eq!(maps[0].map_flags, BPF_F_LINK);
    // errors
    assert_eq!(
        collect_maps(&o.btf, STRUCT_OPS_SEC, &o.data).unwrap_err().to_string(),
        "struct_ops init: DATASEC .struct_ops not found"
    );
    let e = collect_maps(&o.btf, STRUCT_OPS_LINK_SEC, &o.data[..10]).unwrap_err();
    assert_eq!(e.to_string(), "struct_ops init: var cc is beyond the end of DATASEC .struct_ops.link");
}

#[test]
fn collect_rejects_non_structs_and_anonymous() {
    let mut b = Btf::new();
    let int = b.add_int("int", 4, IntEncoding::Signed);
    let anon = b.add_struct("", 4, &[m("x", int, 0)]);
    let v1 = b.add_var("a", int, VarLinkage::GlobalAllocated);
    b.add_datasec(".struct_ops", 4, &[VarSecinfo { ty: v1, offset: 0, size: 4 }]);
    let e = collect_maps(&b, ".struct_ops", &[0; 4]).unwrap_err();
    assert_eq!(e.to_string(), "struct_ops init: int is not a struct");
    let v2 = b.add_var("b", anon, VarLinkage::GlobalAllocated);
    b.add_datasec(".struct_ops.link", 4, &[VarSecinfo { ty: v2, offset: 0, size: 4 }]);
    let e = collect_maps(&b, ".struct_ops.link", &[0; 4]).unwrap_err();
    assert_eq!(
        (e.to_string().as_str(), e.errno()),
        ("struct_ops init: anonymous type is not supported", Errno::EOPNOTSUPP)
    );
    b.add_datasec(".struct_ops.x", 4, &[VarSecinfo { ty: 999, offset: 0, size: 4 }]);
    assert!(matches!(collect_maps(&b, ".struct_ops.x", &[0; 4]), Err(StructOpsError::BadVarType { .. })));
}

#[test]
fn relocations_bind_function_pointers_only() {
    let o = object("tcp_congestion_ops", STRUCT_OPS_SEC, "u32", &[]);
    let mut maps = collect_maps(&o.btf, STRUCT_OPS_SEC, &o.data).unwrap();
    let e = bind_prog(&o.btf, &mut maps, STRUCT_OPS_SEC, 4, "p", true).unwrap_err();
    assert_eq!(e.to_string(), "struct_ops reloc cc: cannot find member at moff 4");
    let e = bind_prog(&o.btf, &mut maps, STRUCT_OPS_SEC, 16, "p", true).unwrap_err();
    assert_eq!(e.to_string(), "struct_ops reloc cc: cannot relocate non func ptr name");
    let e = bind_prog(&o.btf, &mut maps, STRUCT_OPS_SEC, 400, "p", true).unwrap_err();
    assert_eq!(e.to_string(), "struct_ops reloc: cannot find map at rel->r_offset 400");
    let e = bind_prog(&o.btf, &mut maps, STRUCT_OPS_SEC, 0, "xdp_prog", false).unwrap_err();
    assert_eq!(e.to_string(), "struct_ops reloc cc: prog xdp_prog is not struct_ops BPF program");
    assert_eq!(map_at_offset(&maps, STRUCT_OPS_SEC, 39), Some(0));
    assert_eq!(map_at_offset(&maps, STRUCT_OPS_SEC, 40), None);
    assert_eq!(map_at_offset(&maps, ".struct_ops.link", 0), None);
}

#[test]
fn kernel_layout_members_in_any_order() {
    let k = kernel();
    let o = object("tcp_congestion_ops", STRUCT_OPS_SEC, "u32", &[]);
    let mp = bound(&o, STRUCT_OPS_SEC);
    let ks = init_kern(&o.btf, &k.btf, &mp).unwrap();
    assert_eq!((ks.kern_type_id, ks.kern_vtype_id, ks.value_size, ks.kern_data_off), (k.ops, k.vtype, 80, 8));
    assert_eq!(ks.value.len(), 80);
    // name at data+48, flags at data+20
    assert_eq!(&ks.value[56..62], b"bpf_cc");
    assert_eq!(ks.value[28], 1);
    // function slots stay zero; everything else not copied is zero too
    let nonzero: Vec<usize> = (0..80).filter(|i| ks.value[*i] != 0).collect();
    assert_eq!(nonzero, vec![28, 56, 57, 58, 59, 60, 61]);
    assert_eq!(
        ks.funcs,
        vec![
            FuncSlot {
                member: "init".into(),
                prog: "my_init".into(),
                local_member_idx: 0,
                kern_member_idx: 5,
                attach_btf_id: k.ops,
                value_off: 48
            },
            FuncSlot {
                member: "ssthresh".into(),
                prog: "my_ssthresh".into(),
                local_member_idx: 1,
                kern_member_idx: 3,
                attach_btf_id: k.ops,
                value_off: 32
            },
        ]
    );
    assert!(ks.skipped.is_empty());
    let progs = assign_programs([("cc", &ks)]).unwrap();
    assert_eq!(progs["my_init"], ProgAttach { attach_btf_id: k.ops, expected_attach_type: 5 });
    assert_eq!(progs["my_ssthresh"], ProgAttach { attach_btf_id: k.ops, expected_attach_type: 3 });
}

#[test]
fn unbound_function_pointers_are_left_empty() {
    let k = kernel();
    let o = object("tcp_congestion_ops", STRUCT_OPS_SEC, "u32", &[]);
    let mp = collect_maps(&o.btf, STRUCT_OPS_SEC, &o.data).unwrap().remove(0);
    let ks = init_kern(&o.btf, &k.btf, &mp).unwrap();
    assert!(ks.funcs.is_empty());
    assert_eq!(&ks.value[56..62], b"bpf_cc");
}

#[test]
fn flavored_local_type_finds_the_kernel_type() {
    let k = kernel();
    let o = object("tcp_congestion_ops___v2", STRUCT_OPS_LINK_SEC, "u32", &[]);
    let mp = bound(&o, STRUCT_OPS_LINK_SEC);
    let ks = init_kern(&o.btf, &k.btf, &mp).unwrap();
    assert_eq!(ks.kern_type_id, k.ops);
    assert_eq!(mp.map_flags, BPF_F_LINK);
}

#[test]
fn missing_kernel_types() {
    let o = object("tcp_congestion_ops", STRUCT_OPS_SEC, "u32", &[]);
    let mp = bound(&o, STRUCT_OPS_SEC);
    let e = init_kern(&o.btf, &kernel_with(true, false, true).btf, &mp).unwrap_err();
    assert_eq!(
        e.to_string(),
        "struct_ops init_kern: struct bpf_struct_ops_tcp_congestion_ops is not found in kernel BTF"
    );
    assert_eq!(e.errno(), Errno::ENOENT);
    let e = init_kern(&o.btf, &kernel_with(true, true, false).btf, &mp).unwrap_err();
    assert_eq!(
        e.to_string(),
        "struct_ops init_kern: struct tcp_congestion_ops data is not found in struct bpf_struct_ops_tcp_congestion_ops"
    );
    let o2 = object("my_ops", STRUCT_OPS_SEC, "u32", &[]);
    let mp2 = collect_maps(&o2.btf, STRUCT_OPS_SEC, &o2.data).unwrap().remove(0);
    let e = init_kern(&o2.btf, &kernel().btf, &mp2).unwrap_err();
    assert_eq!(e.to_string(), "struct_ops init_kern: struct my_ops is not found in kernel BTF");
}

#[test]
fn member_missing_in_kernel_is_skipped_only_when_zero() {
    let k = kernel();
    // a zero u32 "newer_field": skipped
    let o = object("tcp_congestion_ops", STRUCT_OPS_SEC, "u32", &[("newer_field", 32)]);
    let mp = bound(&o, STRUCT_OPS_SEC);
    let ks = init_kern(&o.btf, &k.btf, &mp).unwrap();
    assert_eq!(ks.skipped, vec!["newer_field".to_string()]);
    // non-zero: an error
    let mut mp2 = mp.clone();
    mp2.data[36] = 7;
    let e = init_kern(&o.btf, &k.btf, &mp2).unwrap_err();
    assert_eq!(e.to_string(), "struct_ops init_kern cc: Cannot find member newer_field in kernel BTF");
    assert_eq!(e.errno(), Errno::EOPNOTSUPP);
    // a bound callback the kernel does not have: an error
    let o = object("tcp_congestion_ops", STRUCT_OPS_SEC, "u32", &[("newer_cb", 64)]);
    let mut maps = collect_maps(&o.btf, STRUCT_OPS_SEC, &o.data).unwrap();
    bind_prog(&o.btf, &mut maps, STRUCT_OPS_SEC, 40, "cb", true).unwrap();
    let e = init_kern(&o.btf, &k.btf, &maps[0]).unwrap_err();
    assert!(matches!(e, StructOpsError::NoKernMember { .. }), "{e}");
}

#[test]
fn kind_and_size_must_agree() {
    let k = kernel();
    let o = object("tcp_congestion_ops", STRUCT_OPS_SEC, "u64", &[]);
    let mp = bound(&o, STRUCT_OPS_SEC);
    let e = init_kern(&o.btf, &k.btf, &mp).unwrap_err();
    assert_eq!(e.to_string(), "struct_ops init_kern cc: Error in size of member flags: 8 != 4(kernel)");
    let o = object("tcp_congestion_ops", STRUCT_OPS_SEC, "ptr", &[]);
    let mp = bound(&o, STRUCT_OPS_SEC);
    let e = init_kern(&o.btf, &k.btf, &mp).unwrap_err();
    assert_eq!(e.to_string(), "struct_ops init_kern cc: Unmatched member type flags 2 != 1(kernel)");
}

#[test]
fn kernel_member_must_be_a_function_pointer() {
    let k = kernel_with(false, true, true);
    let o = object("tcp_congestion_ops", STRUCT_OPS_SEC, "u32", &[]);
    let mp = bound(&o, STRUCT_OPS_SEC);
    let e = init_kern(&o.btf, &k.btf, &mp).unwrap_err();
    assert_eq!(e.to_string(), "struct_ops init_kern cc: kernel member init is not a func ptr");
}

#[test]
fn bitfields_are_rejected() {
    let k = kernel();
    let mut o = object("tcp_congestion_ops", STRUCT_OPS_SEC, "u32", &[]);
    // turn "flags" into a 3-bit bitfield
    let st = o.btf.find_by_name_kind("tcp_congestion_ops", bpfemu_btf::BtfKind::Struct).unwrap();
    if let Some(bpfemu_btf::Kind::Struct(c)) = o.btf.types.get_mut(st as usize - 1).map(|t| &mut t.kind) {
        c.kflag = true;
        c.members[3].bitfield_size = 3;
    }
    let mp = bound(&o, STRUCT_OPS_SEC);
    let e = init_kern(&o.btf, &k.btf, &mp).unwrap_err();
    assert_eq!(e.to_string(), "struct_ops init_kern cc: bitfield flags is not supported");
}

#[test]
fn program_reuse_across_maps() {
    let k = kernel();
    let o = object("tcp_congestion_ops", STRUCT_OPS_SEC, "u32", &[]);
    let a = init_kern(&o.btf, &k.btf, &bound(&o, STRUCT_OPS_SEC)).unwrap();
    let b = a.clone();
    // the same program for the same member of the same struct: fine
    assert_eq!(assign_programs([("a", &a), ("b", &b)]).unwrap().len(), 2);
    // the same program for another member: refused
    let mut c = a.clone();
    c.funcs[1].prog = "my_init".into();
    let e = assign_programs([("a", &a), ("c", &c)]).unwrap_err();
    assert!(
        e.to_string().starts_with("struct_ops init_kern c func ptr ssthresh: invalid reuse of prog my_init"),
        "{e}"
    );
}
