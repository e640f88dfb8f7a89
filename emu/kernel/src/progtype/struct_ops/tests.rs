use super::*;
use crate::progtype::{AttachFd, check_load};
use crate::uapi::ProgType;
use crate::vmlinux::{shared, struct_id};
use Access::{Read, Write};

fn dummy_id() -> u32 {
    struct_id(&shared(), "bpf_dummy_ops").unwrap()
}

fn state_id() -> u32 {
    struct_id(&shared(), "bpf_dummy_ops_state").unwrap()
}

fn target(idx: u32, sleepable: bool) -> LoadTarget {
    LoadTarget {
        prog_type: ProgType::StructOps,
        expected_attach_type: AttachType::from_raw(idx),
        expected_attach_raw: idx,
        attach_btf_id: dummy_id(),
        attach_fd: AttachFd::None,
        sleepable,
        gpl_compatible: true,
    }
}

fn refusal(t: &LoadTarget) -> (Errno, String) {
    let r = check_load(t).unwrap_err();
    (r.errno, r.msg)
}

fn ops(idx: u32) -> StructOps {
    let t = check_load(&target(idx, false)).unwrap().unwrap();
    StructOps::new(&t, AttachType::from_raw(idx), shared()).unwrap()
}

#[test]
fn vmlinux_types() {
    let btf = shared();
    let Some(Kind::Struct(c)) = btf.kind(dummy_id()) else { panic!("struct bpf_dummy_ops") };
    assert_eq!(c.size, 24);
    let names: Vec<&str> = c.members.iter().map(|m| btf.str_at(m.name_off)).collect();
    assert_eq!(names, ["test_1", "test_2", "test_sleepable"]);
    let Some(Kind::Struct(s)) = btf.kind(state_id()) else { panic!("struct bpf_dummy_ops_state") };
    assert_eq!((s.size, s.members.len()), (4, 1));
    let Some(Kind::FuncProto { ret, params }) = btf.kind(member_target(&btf, dummy_id(), 1).unwrap().proto)
    else {
        panic!("test_2's FUNC_PROTO")
    };
    assert_eq!(btf.str_at(btf.get(*ret).unwrap().name_off), "int");
    let pn: Vec<&str> = params.iter().map(|p| btf.str_at(p.name_off)).collect();
    assert_eq!(pn, ["cb", "a1", "a2", "a3", "a4"]);
    // Appended after everything else: the traceable test functions first.
    let last_func = crate::vmlinux::func_id("bpf_modify_return_test").unwrap();
    assert!(state_id() > last_func && dummy_id() > state_id());
}

#[test]
fn load_checks() {
    let t = check_load(&target(0, false)).unwrap().unwrap();
    assert_eq!((t.btf_id, t.name.as_str()), (dummy_id(), "test_1"));
    assert_eq!(t.model.arg_size, [8]);
    let t2 = check_load(&target(1, false)).unwrap().unwrap();
    assert_eq!(t2.model.arg_size, [8, 4, 2, 1, 8]);
    // test_sleepable may sleep, the others may not.
    assert!(check_load(&target(2, true)).is_ok());
    assert_eq!(
        refusal(&target(0, true)),
        (Errno::EINVAL, "attach to unsupported member test_1 of struct bpf_dummy_ops".into())
    );
    assert_eq!(
        refusal(&target(3, false)),
        (Errno::EINVAL, "attach to invalid member idx 3 of struct bpf_dummy_ops".into())
    );
    assert_eq!(
        refusal(&target(1000, false)),
        (Errno::EINVAL, "attach to invalid member idx 1000 of struct bpf_dummy_ops".into())
    );
    let mut other = target(0, false);
    other.attach_btf_id = state_id();
    assert_eq!(
        refusal(&other),
        (Errno::ENOTSUPP, format!("attach_btf_id {} is not a supported struct", state_id()))
    );
    let mut zero = target(0, false);
    zero.attach_btf_id = 0;
    assert_eq!(refusal(&zero), (Errno::ENOTSUPP, String::new()));
    let mut nongpl = target(0, false);
    nongpl.gpl_compatible = false;
    assert_eq!(
        refusal(&nongpl),
        (Errno::EINVAL, "struct ops programs must have a GPL compatible license".into())
    );
}

/// A struct member that is not a function pointer: a struct_ops type of a
/// test BTF with `int x` as member 1.
#[test]
fn non_function_member() {
    let mut b = crate::vmlinux::VmlinuxBuilder::new();
    let int = b.ty::<crate::vmlinux::c::Int>();
    let state =
        b.composite("bpf_dummy_ops_state", false, 4, |_| vec![crate::vmlinux::Field::new("val", int, 0)]);
    let sp = b.ptr_to(state);
    let proto = b.btf.add_func_proto(int, &[("cb", sp)], false);
    let fp = b.ptr_to(proto);
    let id = b.composite("bpf_dummy_ops", false, 16, |_| {
        vec![crate::vmlinux::Field::new("test_1", fp, 0), crate::vmlinux::Field::new("x", int, 8)]
    });
    let btf = b.finish();
    let mut t = target(1, false);
    t.attach_btf_id = id;
    let r = check_struct_ops_btf_id(&btf, &t).unwrap_err();
    assert_eq!(
        (r.errno, r.msg.as_str()),
        (Errno::EINVAL, "attach to invalid member x(@idx 1) of struct bpf_dummy_ops")
    );
    t.expected_attach_raw = 0;
    assert!(check_struct_ops_btf_id(&btf, &t).is_ok());
}

#[test]
fn ctx_arguments() {
    let o2 = ops(1);
    let (a, note) = o2.ctx_access_logged(0, 8, Read);
    assert_eq!(
        a.map(|a| a.field),
        Some(CtxField::BtfId { btf_id: state_id(), maybe_null: false, trusted: true })
    );
    assert_eq!(
        note,
        Some(format!("func 'test_2' arg0 has btf_id {} type STRUCT 'bpf_dummy_ops_state'", state_id()))
    );
    for off in [8, 16, 24, 32] {
        assert_eq!(o2.ctx_access(off, 8, Read).map(|a| a.field), Some(CtxField::Scalar), "off {off}");
    }
    assert_eq!(o2.ctx_access(16, 2, Read).map(|a| a.field), Some(CtxField::Scalar));
    assert_eq!(
        o2.ctx_access_logged(40, 8, Read).1.as_deref(),
        Some("func 'test_2' doesn't have 6-th argument")
    );
    assert_eq!(o2.ctx_access_logged(0, 4, Read).1.as_deref(), Some("func 'test_2' size 4 must be 8"));
    assert_eq!(o2.ctx_access_logged(8, 8, Write), (None, None));
    // test_1's state is __nullable: ctx_arg_info, no log line.
    let o1 = ops(0);
    assert_eq!(
        o1.ctx_access_logged(0, 8, Read),
        (
            Some(CtxAccess {
                field: CtxField::BtfId { btf_id: state_id(), maybe_null: true, trusted: true },
                field_size: 0
            }),
            None
        )
    );
    assert!(o1.arg_nullable(0) && !o2.arg_nullable(0));
    assert_eq!(
        o1.ctx_access_logged(8, 8, Read).1.as_deref(),
        Some("func 'test_1' doesn't have 2-th argument")
    );
}

#[test]
fn helpers_writes_and_return() {
    let o = ops(1);
    assert!(o.func_proto(bpfemu_verifier::proto::id::GET_CURRENT_PID_TGID).is_none());
    assert!(o.func_proto(bpfemu_verifier::proto::id::MAP_LOOKUP_ELEM).is_none());
    assert_eq!(o.btf_struct_write(state_id(), 0, 4), Some(Ok(())));
    assert_eq!(o.btf_struct_write(state_id(), 2, 2), Some(Ok(())));
    assert_eq!(o.btf_struct_write(state_id(), 0, 8), Some(Err("write access at off 0 with size 8".into())));
    assert_eq!(
        o.btf_struct_write(dummy_id(), 0, 8),
        Some(Err("only access to bpf_dummy_ops_state is supported".into()))
    );
    assert_eq!((o.return_range(), o.return_unchecked()), (None, false));
    assert_eq!(o.name(), "struct_ops");
}

/// A member returning `void` is not checked at exit.
#[test]
fn void_member_return_is_unchecked() {
    let btf = shared();
    let mut t = member_target(&btf, dummy_id(), 0).unwrap();
    let mut copy = (*btf).clone();
    t.proto = copy.add_func_proto(0, &[], false);
    let o = StructOps::new(&t, None, Arc::new(copy)).unwrap();
    assert!(o.return_unchecked());
}
