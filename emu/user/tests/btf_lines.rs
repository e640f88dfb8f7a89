//! Loading clang-built objects whose programs carry BTF func and line
//! info: global functions are verified against their prototypes, the
//! verifier log shows the source lines (`; <line> @ <file>:<n>`), and
//! `bpf_prog_info` reports the records.

use bpfemu_kernel::bpf::attr::{BpfAttr, ObjInfo};
use bpfemu_kernel::{Errno, Kernel, KernelConfig, SimConfig};
use bpfemu_user::Object;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

fn kernel() -> Kernel {
    Kernel::new(KernelConfig { sim: SimConfig::default() })
}

#[test]
fn global_functions_verified_with_source_lines() {
    let mut k = kernel();
    let mut obj = Object::open(fixture("lines.bpf.o")).unwrap();
    obj.program_mut("lines_main").unwrap().set_log_level(2);
    obj.load(&mut k).unwrap_or_else(|e| panic!("{e}"));
    let p = obj.program("lines_main").unwrap();
    let log = p.log();
    for want in [
        "; int n = skb_len(skb); @ lines.bpf.c:",
        "('pair_sum') is global and assumed valid.",
        "('skb_len') is global and assumed valid.",
        "('twice') is global and assumed valid.",
        "Validating pair_sum() func#",
        "Validating skb_len() func#",
        "Validating twice() func#",
        "; return skb->len; @ lines.bpf.c:",
        "; if (!p) @ lines.bpf.c:",
        "('pair_sum') is safe for any args that match its prototype",
    ] {
        assert!(log.contains(want), "missing {want:?} in\n{log}");
    }
    // The static function is walked from its call, not on its own.
    assert!(!log.contains("Validating add_one()"), "{log}");
    let fd = p.fd().unwrap();
    let mut info = None;
    k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info }).unwrap();
    let Some(ObjInfo::Prog(info)) = info else { panic!("{info:?}") };
    assert_eq!((info.nr_func_info, info.func_info_rec_size), (5, 8));
    assert!(info.nr_line_info > 5, "{}", info.nr_line_info);
    assert_eq!(info.line_info_rec_size, 16);
    assert_ne!(info.btf_id, 0);
}

#[test]
fn global_function_refused_with_source_lines() {
    let mut k = kernel();
    let mut obj = Object::open(fixture("lines_bad.bpf.o")).unwrap();
    let err = obj.load(&mut k).unwrap_err();
    assert_eq!(err.errno(), Some(Errno::EACCES), "{err}");
    let log = obj.program("lines_bad").unwrap().log();
    for want in [
        "Validating pair_first() func#1...",
        "; return p->a; @ lines_bad.bpf.c:",
        "R1 invalid mem access 'mem_or_null'",
    ] {
        assert!(log.contains(want), "missing {want:?} in\n{log}");
    }
}
