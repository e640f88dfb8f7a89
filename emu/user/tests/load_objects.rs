//! Loading clang-built fixture objects into a fresh kernel and running
//! their syscall programs.

use bpfemu_kernel::bpf::attr::{BpfAttr, TestRunAttr, TestRunOut};
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
