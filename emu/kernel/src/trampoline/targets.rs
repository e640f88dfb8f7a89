//! The traceable kernel functions: net/bpf/test_run.c's test functions,
//! with their C prototypes and the fmodret id set.

use crate::kfuncs::KF_SLEEPABLE;
use bpfemu_btf::BtfKind;
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// The C type of a test function's parameter or return value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ArgType {
    /// `int`.
    Int,
    /// `u64`.
    U64,
    /// `char`.
    Char,
    /// `short`.
    Short,
    /// `void *`.
    VoidPtr,
    /// `int *`.
    IntPtr,
    /// `struct bpf_fentry_test_t *`.
    TestTPtr,
}

/// One traceable function: its name, parameters (all return `int`) and
/// its flags in `bpf_test_modify_return_ids` (`None`: not in the set).
#[derive(Clone, Copy, Debug)]
pub struct TestFunc {
    pub name: &'static str,
    pub params: &'static [(&'static str, ArgType)],
    pub fmodret: Option<u32>,
}

use ArgType::*;

/// The test functions in the order their FUNCs are appended to vmlinux
/// BTF (append only: ids must not move). Prototypes as in
/// net/bpf/test_run.c:
///
/// ```c
/// int bpf_fentry_test1(int a);                       // a + 1
/// int bpf_fentry_test2(int a, u64 b);                // a + b
/// int bpf_fentry_test3(char a, int b, u64 c);        // a + b + c
/// int bpf_fentry_test4(void *a, char b, int c, u64 d);
/// int bpf_fentry_test5(u64 a, void *b, short c, int d, u64 e);
/// int bpf_fentry_test6(u64 a, void *b, short c, int d, void *e, u64 f);
/// int bpf_fentry_test7(struct bpf_fentry_test_t *arg); // (long)arg
/// int bpf_fentry_test8(struct bpf_fentry_test_t *arg); // (long)arg->a
/// int bpf_modify_return_test(int a, int *b);          // *b += 1; a + *b
/// ```
///
/// `bpf_test_modify_return_ids`: `bpf_modify_return_test` (no flags) and
/// `bpf_fentry_test1` (`KF_SLEEPABLE`).
pub const TEST_FUNCS: &[TestFunc] = &[
    TestFunc { name: "bpf_fentry_test1", params: &[("a", Int)], fmodret: Some(KF_SLEEPABLE) },
    TestFunc { name: "bpf_fentry_test2", params: &[("a", Int), ("b", U64)], fmodret: None },
    TestFunc { name: "bpf_fentry_test3", params: &[("a", Char), ("b", Int), ("c", U64)], fmodret: None },
    TestFunc {
        name: "bpf_fentry_test4",
        params: &[("a", VoidPtr), ("b", Char), ("c", Int), ("d", U64)],
        fmodret: None,
    },
    TestFunc {
        name: "bpf_fentry_test5",
        params: &[("a", U64), ("b", VoidPtr), ("c", Short), ("d", Int), ("e", U64)],
        fmodret: None,
    },
    TestFunc {
        name: "bpf_fentry_test6",
        params: &[("a", U64), ("b", VoidPtr), ("c", Short), ("d", Int), ("e", VoidPtr), ("f", U64)],
        fmodret: None,
    },
    TestFunc { name: "bpf_fentry_test7", params: &[("arg", TestTPtr)], fmodret: None },
    TestFunc { name: "bpf_fentry_test8", params: &[("arg", TestTPtr)], fmodret: None },
    TestFunc { name: "bpf_modify_return_test", params: &[("a", Int), ("b", IntPtr)], fmodret: Some(0) },
];

/// BTF ids of the test functions' FUNCs in vmlinux BTF, by name.
static IDS: LazyLock<BTreeMap<u32, &'static TestFunc>> = LazyLock::new(|| {
    let btf = crate::vmlinux::shared();
    TEST_FUNCS.iter().filter_map(|f| Some((btf.find_by_name_kind(f.name, BtfKind::Func)?, f))).collect()
});

/// The test function whose FUNC is `btf_id` (`kallsyms_lookup_name()`
/// finding an address for it).
pub fn by_btf_id(btf_id: u32) -> Option<&'static TestFunc> {
    IDS.get(&btf_id).copied()
}

/// The vmlinux BTF id of the test function `name`.
pub fn btf_id_of(name: &str) -> Option<u32> {
    IDS.iter().find(|(_, f)| f.name == name).map(|(&id, _)| id)
}

/// `btf_kfunc_is_modify_return()`: the flags of `btf_id` in the fmodret
/// set, if it is there.
pub fn fmodret_flags(btf_id: u32) -> Option<u32> {
    by_btf_id(btf_id).and_then(|f| f.fmodret)
}

/// Where the emulated kernel text starts: `__START_KERNEL_map +
/// CONFIG_PHYSICAL_START` (0xffffffff81000000) of an x86-64 kernel
/// without KASLR.
pub const KERNEL_TEXT: u64 = 0xffff_ffff_8100_0000;

/// The address of a test function, as kallsyms would list it and
/// `bpf_get_func_ip` returns it: bpfemu places the functions of
/// [`TEST_FUNCS`] 4 KiB apart from [`KERNEL_TEXT`] + 1 MiB, in table order
/// (`bpf_fentry_test1` at 0xffffffff81101000). Stable across runs; the
/// kernel's addresses depend on its build.
pub fn func_ip(name: &str) -> Option<u64> {
    let i = TEST_FUNCS.iter().position(|f| f.name == name)?;
    Some(KERNEL_TEXT + 0x10_0000 + 0x1000 * (i as u64 + 1))
}
