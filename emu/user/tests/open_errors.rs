//! What `Object::open` / `load` refuse, and how they say it.

use bpfemu_kernel::{Errno, Kernel, KernelConfig, SimConfig};
use bpfemu_user::{Error, Object};

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

#[test]
fn unknown_section_names_the_section_and_program() {
    let e = Object::open_mem("bad", &fixture("bad_section.bpf.o")).unwrap_err();
    assert!(
        matches!(&e, Error::UnknownSection { section, prog } if section == "not_a_real_type/foo" && prog == "lost"),
        "{e}"
    );
    assert!(e.to_string().contains("not_a_real_type/foo"));
}

#[test]
fn sections_give_types_attach_types_and_targets() {
    let obj = Object::open_mem("sections", &fixture("sections.bpf.o")).unwrap();
    assert_eq!(obj.license(), "Dual BSD/GPL");
    assert_eq!(obj.kern_version(), 0x060c00);
    let row = |n: &str| {
        let p = obj.program(n).unwrap();
        (
            p.section().to_owned(),
            p.prog_type(),
            p.expected_attach_type(),
            p.attach_target().map(str::to_owned),
        )
    };
    assert_eq!(row("sock_a"), ("socket".into(), 1, 0, None));
    assert_eq!(row("sock_b").1, 1);
    assert_eq!(obj.programs_in_section("socket").count(), 2);
    assert_eq!(row("dissect"), ("flow_dissector".into(), 22, 17, None));
    assert_eq!(row("lookup"), ("sk_lookup".into(), 30, 36, None));
    assert_eq!(row("xdp_pass"), ("xdp".into(), 6, 37, None));
    assert_eq!(row("egress").2, 1);
    assert_eq!(row("kp").1, 2);
    assert_eq!(row("fe"), ("fentry/bpf_fentry_test1".into(), 26, 24, Some("bpf_fentry_test1".into())));
    assert_eq!(row("ssthresh").1, 27);
}

#[test]
fn loading_unsupported_attach_targets_reports_the_program() {
    let mut obj = Object::open_mem("sections", &fixture("sections.bpf.o")).unwrap();
    for p in obj.all_programs_mut() {
        let keep = p.name() == "ssthresh";
        p.set_autoload(keep);
    }
    let mut k = Kernel::new(KernelConfig { sim: SimConfig::default() });
    let e = obj.load(&mut k).unwrap_err();
    assert!(e.to_string().contains("'ssthresh'"), "{e}");
}

#[test]
fn fentry_programs_load_against_the_emulated_test_functions() {
    let mut obj = Object::open_mem("sections", &fixture("sections.bpf.o")).unwrap();
    for p in obj.all_programs_mut() {
        let keep = p.name() == "fe";
        p.set_autoload(keep);
    }
    let mut k = Kernel::new(KernelConfig { sim: SimConfig::default() });
    obj.load(&mut k).unwrap();
}

#[test]
fn truncated_and_garbage_files_are_format_errors() {
    let good = fixture("globals.bpf.o");
    for cut in [0, 3, 16, 63, 64, 200, good.len() / 2, good.len() - 1] {
        let r = Object::open_mem("t", &good[..cut]);
        assert!(r.is_err(), "cut at {cut} accepted");
    }
    assert!(matches!(Object::open_mem("t", b"hello world, not ELF"), Err(Error::Format(_))));
}

#[test]
fn socket_programs_load_and_syscall_errors_keep_the_errno() {
    let mut obj = Object::open_mem("sections", &fixture("sections.bpf.o")).unwrap();
    for p in obj.all_programs_mut() {
        let keep =
            matches!(p.name(), "sock_a" | "sock_b" | "dissect" | "lookup" | "xdp_pass" | "cls" | "egress");
        p.set_autoload(keep);
    }
    let mut k = Kernel::new(KernelConfig { sim: SimConfig::default() });
    obj.load(&mut k).unwrap_or_else(|e| panic!("{e}"));
    assert!(obj.program("sock_b").unwrap().fd().is_some());
    assert!(obj.program("kp").unwrap().fd().is_none());
    // Attaching a socket filter by section is not automatic.
    let e = obj.program("sock_a").unwrap().attach(&mut k).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EOPNOTSUPP));
}

#[test]
fn an_object_loads_once_even_after_a_failure() {
    let mut obj = Object::open_mem("sections", &fixture("sections.bpf.o")).unwrap();
    let mut k = Kernel::new(KernelConfig { sim: SimConfig::default() });
    assert!(obj.load(&mut k).is_err(), "fentry has no target in the emulated kernel");
    let e = obj.load(&mut k).unwrap_err();
    assert!(matches!(e, Error::State { .. }), "{e}");
}

fn section_offset(bytes: &[u8], name: &str) -> usize {
    let elf = bpfemu_user::elf::ElfFile::parse(bytes).unwrap();
    elf.section_by_name(name).unwrap().offset as usize
}

#[test]
fn a_bogus_relocation_symbol_is_an_error_naming_the_record() {
    let mut bytes = fixture("globals.bpf.o");
    let at = section_offset(&bytes, ".relsyscall");
    // Record #2: r_info's symbol half (upper 32 bits of the second word).
    let sym = at + 2 * 16 + 12;
    bytes[sym..sym + 4].copy_from_slice(&9999u32.to_le_bytes());
    let e = Object::open_mem("g", &bytes).unwrap_err();
    assert!(matches!(&e, Error::Reloc { section, index: 2, .. } if section == ".relsyscall"), "{e}");
    assert!(e.to_string().contains("symbol index 9999 out of range"), "{e}");
}

#[test]
fn bad_btf_is_optional_unless_maps_need_it() {
    let mut bytes = fixture("globals.bpf.o");
    let at = section_offset(&bytes, ".BTF");
    bytes[at] ^= 0xff; // magic
    let e = Object::open_mem("g", &bytes).unwrap_err();
    assert!(e.to_string().contains("'.maps'") && e.to_string().contains("BTF"), "{e}");
    // An object without BTF maps loads without BTF, with a warning.
    let mut bytes = fixture("sections.bpf.o");
    let at = section_offset(&bytes, ".BTF");
    bytes[at] ^= 0xff;
    let obj = Object::open_mem("s", &bytes).unwrap();
    assert!(obj.btf().is_none());
    assert!(obj.warnings().iter().any(|w| w.contains(".BTF")), "{:?}", obj.warnings());
}
