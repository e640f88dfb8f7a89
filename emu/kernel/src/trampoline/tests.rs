use super::TEST_FUNCS;
use super::targets::{btf_id_of, by_btf_id, fmodret_flags};
use crate::vmlinux::{shared, struct_id};
use bpfemu_btf::{BtfKind, Kind};

#[test]
fn every_test_function_is_a_func_with_its_prototype() {
    let btf = shared();
    for f in TEST_FUNCS {
        let id = btf_id_of(f.name).unwrap_or_else(|| panic!("{} in vmlinux", f.name));
        assert_eq!(by_btf_id(id).map(|g| g.name), Some(f.name));
        let Some(Kind::Func { proto, .. }) = btf.kind(id) else { panic!("FUNC") };
        let Some(Kind::FuncProto { ret, params }) = btf.kind(*proto) else { panic!("FUNC_PROTO") };
        assert_eq!(btf.str_at(btf.get(*ret).unwrap().name_off), "int");
        let names: Vec<&str> = params.iter().map(|p| btf.str_at(p.name_off)).collect();
        let want: Vec<&str> = f.params.iter().map(|p| p.0).collect();
        assert_eq!(names, want);
    }
    let t7 = btf_id_of("bpf_fentry_test7").unwrap();
    let Some(Kind::Func { proto, .. }) = btf.kind(t7) else { panic!() };
    let Some(Kind::FuncProto { params, .. }) = btf.kind(*proto) else { panic!() };
    let Some(Kind::Ptr { ty }) = btf.kind(params[0].ty) else { panic!("struct pointer") };
    assert_eq!(Some(*ty), struct_id(&btf, "bpf_fentry_test_t"));
}

#[test]
fn appended_after_every_earlier_entry() {
    let btf = shared();
    let dynptr = btf.find_by_name_kind("bpf_dynptr", BtfKind::Struct).unwrap();
    let first = TEST_FUNCS.iter().map(|f| btf_id_of(f.name).unwrap()).min().unwrap();
    assert!(first > dynptr, "test functions come after struct bpf_dynptr");
    assert!(struct_id(&btf, "bpf_fentry_test_t").unwrap() > dynptr);
}

#[test]
fn fmodret_set() {
    let id = |n| btf_id_of(n).unwrap();
    assert_eq!(fmodret_flags(id("bpf_modify_return_test")), Some(0));
    assert_eq!(fmodret_flags(id("bpf_fentry_test1")), Some(crate::kfuncs::KF_SLEEPABLE));
    assert_eq!(fmodret_flags(id("bpf_fentry_test2")), None);
}
