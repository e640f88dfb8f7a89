//! Loading clang-built fixture objects into a fresh kernel and running
//! their syscall programs.

use bpfemu_kernel::bpf::attr::{BpfAttr, ObjInfo, TestRunAttr, TestRunOut};
use bpfemu_kernel::{Kernel, KernelConfig, SimConfig};
use bpfemu_user::Object;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn kernel() -> Kernel {
    Kernel::new(KernelConfig { sim: SimConfig::default() })
}

fn run(k: &mut Kernel, fd: i32) -> u32 {
    let mut out = TestRunOut::default();
    k.bpf(BpfAttr::ProgTestRun(TestRunAttr { prog_fd: fd, out: Some(&mut out), ..Default::default() }))
        .unwrap();
    out.retval
}

#[test]
fn globals_object_loads_and_runs() {
    let mut obj = Object::open(fixture("globals.bpf.o")).unwrap();
    assert_eq!(obj.name(), "globals");
    assert_eq!(obj.license(), "GPL");
    let names: Vec<_> = obj.programs().map(|p| p.name().to_owned()).collect();
    assert_eq!(names, ["compute", "second"]);
    let maps: Vec<_> = obj.maps().iter().map(|m| (m.name().to_owned(), m.kernel_name().to_owned())).collect();
    assert_eq!(
        maps,
        [
            ("counts".into(), "counts".into()),
            ("results".into(), "results".into()),
            (".data".into(), "globals.data".into()),
            (".rodata".into(), "globals.rodata".into()),
            (".data.custom".into(), ".data.custom".into()),
            (".bss".into(), "globals.bss".into()),
            (".kconfig".into(), "globals.kconfig".into()),
        ]
    );
    let mut k = kernel();
    obj.load(&mut k).unwrap_or_else(|e| panic!("{e}"));
    let compute = obj.program("compute").unwrap().fd().unwrap();
    assert_eq!(run(&mut k, compute), 0);
    let results = obj.map("results").unwrap();
    let get = |k: &mut Kernel, i: u32| {
        let v = results.lookup(k, &i.to_le_bytes(), 0).unwrap().unwrap();
        u32::from_le_bytes(v.try_into().unwrap())
    };
    assert_eq!(get(&mut k, 0), 42, "data_var + rodata_var via a static subprogram");
    assert_eq!(get(&mut k, 1), 8, "global subprogram reading the hash map + .data.custom");
    assert_eq!(get(&mut k, 2), 6, "LINUX_KERNEL_VERSION major");
    assert_eq!(get(&mut k, 3), 250, "CONFIG_HZ + weak unknown (0)");
    let second = obj.program("second").unwrap().fd().unwrap();
    assert_eq!(run(&mut k, second), 3);
}

#[test]
fn globals_object_btf_is_accepted_by_the_kernel() {
    let mut obj = Object::open(fixture("globals.bpf.o")).unwrap();
    let mut k = kernel();
    obj.load(&mut k).unwrap();
    assert!(obj.btf_fd().is_some(), "warnings: {:?}", obj.warnings());
    assert!(obj.warnings().is_empty(), "{:?}", obj.warnings());
}

#[test]
fn prog_array_and_map_in_map_initialisers_and_callbacks() {
    let mut obj = Object::open(fixture("initialisers.bpf.o")).unwrap();
    let outer = obj.map("outer").unwrap();
    assert_eq!(outer.def().value_size, 4);
    assert_eq!(outer.inner().unwrap().def().max_entries, 1);
    assert_eq!(outer.init_slots().len(), 2);
    assert_eq!(obj.map("jumps").unwrap().init_slots().len(), 2);
    let mut k = kernel();
    obj.load(&mut k).unwrap_or_else(|e| panic!("{e}"));
    let entry = obj.program("entry").unwrap().fd().unwrap();
    assert_eq!(run(&mut k, entry), 33, "tail call through the initialised slot 3");
    let looper = obj.program("looper").unwrap().fd().unwrap();
    assert_eq!(run(&mut k, looper), 10, "bpf_loop callback 0+1+2+3+4");
    // The value landed in inner_a, slot 0 of the outer map.
    let v = obj.map("inner_a").unwrap().lookup(&mut k, &0u32.to_le_bytes(), 0).unwrap().unwrap();
    assert_eq!(u32::from_le_bytes(v.try_into().unwrap()), 10);
}

#[test]
fn describe_lists_programs_maps_and_relocations() {
    let obj = Object::open(fixture("initialisers.bpf.o")).unwrap();
    let text = bpfemu_user::describe::describe(&obj);
    for needle in [
        "entry: section syscall, syscall",
        "add_index (subprogram in .text",
        "outer (BTF, kernel name outer): array_of_maps, key 4, value 4, max_entries 2",
        "inner array key 4 value 4 max_entries 1",
        "[0] = map inner_a, [1] = map inner_b",
        "[1] = prog target_one, [3] = prog target_three",
        "looper+6 (.relsyscall #1): (section symbol) -> function address .text+0",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
}

#[test]
fn core_relocations_follow_the_kernel_layout() {
    let mut obj = Object::open(fixture("core.bpf.o")).unwrap();
    let mut k = kernel();
    obj.load(&mut k).unwrap_or_else(|e| panic!("{e}"));
    let fd = obj.program("core_offsets").unwrap().fd().unwrap();
    assert_eq!(run(&mut k, fd), 0);
    let out = obj.map("out").unwrap();
    let get = |k: &mut Kernel, i: u32| {
        let v = out.lookup(k, &i.to_le_bytes(), 0).unwrap().unwrap();
        u64::from_le_bytes(v.try_into().unwrap())
    };
    // The emulated task_struct: __state, flags, pid, tgid, real_parent, parent, comm[16].
    assert_eq!(get(&mut k, 0), 8, "pid offset");
    assert_eq!(get(&mut k, 1), 4, "pid size");
    assert_eq!(get(&mut k, 2), 0, "not_in_kernel does not exist");
    assert_eq!(get(&mut k, 3), 4, "flags offset");
    assert_eq!(get(&mut k, 4), 32, "comm offset");
    assert_eq!(get(&mut k, 5), 1, "type exists");
    assert_eq!(get(&mut k, 6), 48, "type size");
    let btf = k.vmlinux_btf();
    let text = bpfemu_user::describe::describe_with_target(&obj, Some(&btf));
    assert!(text.contains("CO-RE relocations:"), "{text}");
    assert!(text.contains("FieldByteOffset"), "{text}");
}

#[test]
fn legacy_maps_and_pinned_maps_are_shared_between_loads() {
    let mut k = kernel();
    let mut a = Object::open(fixture("legacy_pinned.bpf.o")).unwrap();
    assert_eq!(a.map("old_style").unwrap().kind(), bpfemu_user::MapKind::Legacy);
    assert_eq!(a.map("old_style").unwrap().def().value_size, 8);
    assert_eq!(a.map("shared").unwrap().pin_path(), Some("/sys/fs/bpf/shared"));
    a.load(&mut k).unwrap_or_else(|e| panic!("{e}"));
    assert!(!a.map("shared").unwrap().reused());
    let fd = a.program("bump").unwrap().fd().unwrap();
    run(&mut k, fd);
    // A second instance reuses the pinned map, but gets its own legacy map.
    let mut b = Object::open(fixture("legacy_pinned.bpf.o")).unwrap();
    b.load(&mut k).unwrap_or_else(|e| panic!("{e}"));
    assert!(b.map("shared").unwrap().reused());
    let fd = b.program("bump").unwrap().fd().unwrap();
    run(&mut k, fd);
    let key = 0u32.to_le_bytes();
    let shared = b.map("shared").unwrap().lookup(&mut k, &key, 0).unwrap().unwrap();
    assert_eq!(shared, 2u32.to_le_bytes());
    let old = b.map("old_style").unwrap().lookup(&mut k, &key, 0).unwrap().unwrap();
    assert_eq!(old, 1u64.to_le_bytes());
    // Unload closes everything; the pinned map stays in bpffs.
    a.unload(&mut k);
    b.unload(&mut k);
    assert!(a.map("shared").unwrap().fd().is_none());
}

#[test]
fn map_helpers_check_sizes_and_links_report_kernel_errnos() {
    let mut k = kernel();
    let mut obj = Object::open(fixture("globals.bpf.o")).unwrap();
    obj.load(&mut k).unwrap();
    let counts = obj.map("counts").unwrap();
    assert!(counts.lookup(&mut k, &[0u8; 2], 0).is_err(), "key size checked before the syscall");
    assert_eq!(counts.lookup(&mut k, &7u32.to_le_bytes(), 0).unwrap(), None);
    counts.update(&mut k, &7u32.to_le_bytes(), &9u64.to_le_bytes(), 0).unwrap();
    assert_eq!(counts.next_key(&mut k, None).unwrap(), Some(7u32.to_le_bytes().to_vec()));
    counts.delete(&mut k, &7u32.to_le_bytes(), 0).unwrap();
    // No attach type for syscall programs: the kernel's errno comes back.
    let e = obj.program("compute").unwrap().attach_link(&mut k, 0, 17, 0).unwrap_err();
    assert!(e.errno().is_some(), "{e}");
    // Before load, fds are absent and attaching is refused without a syscall.
    let fresh = Object::open(fixture("globals.bpf.o")).unwrap();
    assert!(fresh.program("compute").unwrap().attach_link(&mut k, 0, 17, 0).is_err());
    assert!(matches!(obj.load(&mut k), Err(bpfemu_user::Error::State { .. })));
}

#[test]
fn sizes_libbpf_adjusts_and_per_cpu_values() {
    let mut obj = Object::open(fixture("sizing.bpf.o")).unwrap();
    assert_eq!(obj.map("rb").unwrap().def().max_entries, 8192, "5000 bytes → 2 pages");
    assert_eq!(obj.map("events").unwrap().def().max_entries, 0);
    let mut k = kernel();
    obj.load(&mut k).unwrap_or_else(|e| panic!("{e}"));
    let cpus = k.sim.nr_cpus();
    assert_eq!(obj.map("events").unwrap().def().max_entries, cpus, "perf event array: one slot per CPU");
    let mut info = None;
    let fd = obj.map("rb").unwrap().fd().unwrap();
    k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info }).unwrap();
    let Some(ObjInfo::Map(info)) = info else { panic!("map info") };
    assert_eq!(info.max_entries, 8192, "the kernel got the adjusted size");
}

#[test]
fn per_cpu_lookups_return_one_value_per_cpu() {
    let mut obj = Object::open(fixture("sizing.bpf.o")).unwrap();
    for name in ["rb", "events"] {
        let d = obj.map_mut(name).unwrap().def_mut();
        (d.map_type, d.key_size, d.value_size, d.max_entries) = (2, 4, 4, 1);
    }
    let mut k = kernel();
    obj.load(&mut k).unwrap_or_else(|e| panic!("{e}"));
    let fd = obj.program("count").unwrap().fd().unwrap();
    run(&mut k, fd);
    let v = obj.map("per_cpu").unwrap().lookup(&mut k, &0u32.to_le_bytes(), 0).unwrap().unwrap();
    assert_eq!(v.len(), 8 * k.sim.nr_cpus() as usize);
    let sum: u32 = v.chunks(8).map(|c| u32::from_le_bytes(c[..4].try_into().unwrap())).sum();
    assert_eq!(sum, 7);
}

#[test]
fn nested_subprograms_are_appended_once_each() {
    let mut obj = Object::open(fixture("nested.bpf.o")).unwrap();
    let mut k = kernel();
    obj.load(&mut k).unwrap_or_else(|e| panic!("{e}"));
    let top = obj.program("uses_top").unwrap();
    let leaf = obj.program("uses_leaf").unwrap();
    let subs = |n: &str| obj.all_programs().iter().find(|p| p.name() == n).unwrap().insns().len();
    assert_eq!(top.loaded_insns().len(), top.insns().len() + subs("top") + subs("middle") + subs("leaf"));
    assert_eq!(leaf.loaded_insns().len(), leaf.insns().len() + subs("leaf"));
    let (t, l) = (top.fd().unwrap(), leaf.fd().unwrap());
    assert_eq!(run(&mut k, t), 16);
    assert_eq!(run(&mut k, l), 15);
}
