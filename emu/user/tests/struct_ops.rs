//! struct_ops through the loader: `.struct_ops` variables become maps whose
//! function pointers bind programs; at load the kernel's BTF gives the
//! programs' attach parameters. The emulated kernel has no struct_ops
//! maps yet, so the load ends at `BPF_MAP_CREATE` with its `EINVAL`.

use bpfemu_btf::{Btf, IntEncoding, MemberDef};
use bpfemu_kernel::bpf::attr::BpfAttr;
use bpfemu_kernel::{Errno, Kernel, KernelConfig, SimConfig};
use bpfemu_user::seam::Seam;
use bpfemu_user::{MapKind, Object};
use std::sync::Arc;

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)
}

/// A kernel whose BTF has `struct tcp_congestion_ops` (members in another
/// order than the object's) and its `bpf_struct_ops_` value type.
struct KernelWithCc {
    k: Kernel,
    btf: Arc<Btf>,
}

impl Seam for KernelWithCc {
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

fn cc_btf() -> (Btf, u32) {
    let mut b = Btf::new();
    let u32t = b.add_int("unsigned int", 4, IntEncoding::Unsigned);
    let chr = b.add_int("char", 1, IntEncoding::Char);
    let idx = b.add_int("__ARRAY_SIZE_TYPE__", 4, IntEncoding::Unsigned);
    let name = b.add_array(chr, idx, 16);
    let proto = b.add_func_proto(u32t, &[], false);
    let fptr = b.add_ptr(proto);
    let ops = b.add_struct(
        "tcp_congestion_ops",
        40,
        &[
            MemberDef::new("undo_cwnd", fptr, 0),
            MemberDef::new("cong_avoid", fptr, 64),
            MemberDef::new("ssthresh", fptr, 128),
            MemberDef::new("name", name, 192),
        ],
    );
    b.add_struct(
        "bpf_struct_ops_tcp_congestion_ops",
        48,
        &[
            MemberDef::new("refcnt", u32t, 0),
            MemberDef::new("state", u32t, 32),
            MemberDef::new("data", ops, 64),
        ],
    );
    (b, ops)
}

#[test]
fn struct_ops_maps_bind_programs_and_take_kernel_member_indexes() {
    let mut obj = Object::open(fixture("struct_ops.bpf.o")).unwrap();
    let m = obj.map("my_cc").unwrap();
    assert_eq!(m.kind(), MapKind::StructOps);
    assert_eq!(m.def().map_type, 26);
    let st = &obj.struct_ops()[0];
    assert_eq!(st.local.progs, [Some("my_ssthresh".into()), None, Some("my_undo".into()), None]);

    let (btf, ops_id) = cc_btf();
    let mut seam =
        KernelWithCc { k: Kernel::new(KernelConfig { sim: SimConfig::default() }), btf: Arc::new(btf) };
    let e = obj.load(&mut seam).unwrap_err();
    assert_eq!(e.errno(), Some(Errno::EINVAL), "{e}");
    assert!(e.to_string().contains("my_cc"), "{e}");
    let ss = obj.program("my_ssthresh").unwrap();
    assert_eq!(
        (ss.attach_btf_id(), ss.expected_attach_type()),
        (ops_id, 2),
        "kernel member index of ssthresh"
    );
    let undo = obj.program("my_undo").unwrap();
    assert_eq!((undo.attach_btf_id(), undo.expected_attach_type()), (ops_id, 0));
    assert!(!obj.program("not_bound").unwrap().autoload(), "struct_ops programs no map uses are not loaded");
    let m = obj.map("my_cc").unwrap();
    assert_eq!(m.def().value_size, 48);
    assert!(m.fd().is_none());
}

#[test]
fn without_the_kernel_type_the_error_names_the_map() {
    let mut obj = Object::open(fixture("struct_ops.bpf.o")).unwrap();
    let mut k = Kernel::new(KernelConfig { sim: SimConfig::default() });
    let e = obj.load(&mut k).unwrap_err().to_string();
    assert!(e.contains("my_cc") && e.contains("tcp_congestion_ops"), "{e}");
}
