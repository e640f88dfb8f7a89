//! `__ksym` externs: typed variables and kfuncs resolved against the
//! kernel's BTF (here a test BTF supplied through the seam), weak ones
//! left unresolved (0, poisoned calls). The emulated kernel refuses BTF-id
//! loads and kfunc calls at `BPF_PROG_LOAD` for now, so the check is on the
//! instructions the loader passed.

use bpfemu_btf::{Btf, FuncLinkage, IntEncoding, VarLinkage};
use bpfemu_kernel::bpf::attr::BpfAttr;
use bpfemu_kernel::{Errno, Kernel, KernelConfig, SimConfig};
use bpfemu_user::Object;
use bpfemu_user::object::ExternKind;
use bpfemu_user::seam::Seam;
use std::sync::Arc;

struct WithBtf {
    k: Kernel,
    btf: Arc<Btf>,
}

impl Seam for WithBtf {
    fn bpf(&mut self, attr: BpfAttr<'_>) -> Result<i64, Errno> {
        self.k.bpf(attr)
    }
    fn close(&mut self, fd: i32) -> Result<(), Errno> {
        self.k.close(fd)
    }
    fn vmlinux_btf(&mut self) -> Result<Arc<Btf>, Errno> {
        Ok(self.btf.clone())
    }
}

#[test]
fn ksyms_and_kfuncs_are_resolved_or_poisoned() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ksyms.bpf.o");
    let mut obj = Object::open(path).unwrap();
    let kinds: Vec<(String, ExternKind, bool)> =
        obj.externs().iter().map(|e| (e.name.clone(), e.kind.clone(), e.weak)).collect();
    assert!(kinds.contains(&("bpf_prog_active".into(), ExternKind::KsymVar { typeless: false }, false)));
    assert!(kinds.contains(&("bpf_typeless_sym".into(), ExternKind::KsymVar { typeless: true }, true)));
    assert!(kinds.contains(&("bpf_not_in_kernel".into(), ExternKind::KsymFunc, true)));

    let mut b = Btf::new();
    let int = b.add_int("int", 4, IntEncoding::Signed);
    let var = b.add_var("bpf_prog_active", int, VarLinkage::GlobalAllocated);
    let proto = b.add_func_proto(0, &[], false);
    let lock = b.add_func("bpf_rcu_read_lock", proto, FuncLinkage::Global);
    let unlock = b.add_func("bpf_rcu_read_unlock", proto, FuncLinkage::Global);
    let mut seam = WithBtf { k: Kernel::new(KernelConfig { sim: SimConfig::default() }), btf: Arc::new(b) };
    let e = obj.load(&mut seam).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EINVAL), "{e}");
    assert!(obj.warnings().is_empty(), "the .ksyms DATASEC is made loadable: {:?}", obj.warnings());
    let insns = obj.program("use_ksyms").unwrap().loaded_insns();
    assert_eq!((insns[0].code, insns[0].src, insns[0].imm), (0x85, 2, lock as i32), "kfunc call");
    assert_eq!((insns[1].src, insns[1].imm, insns[2].imm), (0, 0, 0), "weak kfunc address is 0");
    let missing = obj.externs().iter().position(|e| e.name == "bpf_not_in_kernel").unwrap() as i32;
    assert_eq!(
        (insns[4].code, insns[4].src, insns[4].imm),
        (0x85, 0, 2_002_000_000 + missing),
        "poisoned call"
    );
    let ld = insns.iter().position(|i| i.code == 0x18 && i.src == 3).expect("a BTF id load");
    assert_eq!(insns[ld].imm, var as i32);
    let last_call = insns.iter().rposition(|i| i.code == 0x85).unwrap();
    assert_eq!(insns[last_call].imm, unlock as i32);
}

#[test]
fn a_strong_ksym_the_kernel_lacks_is_an_error() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ksyms.bpf.o");
    let mut obj = Object::open(path).unwrap();
    let mut k = Kernel::new(KernelConfig { sim: SimConfig::default() });
    let e = obj.load(&mut k).unwrap_err().to_string();
    assert!(e.contains("not found in the kernel's BTF"), "{e}");
}
