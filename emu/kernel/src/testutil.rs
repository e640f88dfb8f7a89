//! Fixtures shared by the crate's tests: programs built without the load
//! pipeline, objects installed as the syscall layer would, and a map type
//! that holds nothing.

use crate::bpf::link::{Link, LinkOps};
use crate::bpf::objects::Obj;
use crate::bpf::prog::{Prog, ProgParts};
use crate::errno::Errno;
use crate::kernel::Kernel;
use crate::map::{Map, MapDef, MapOps};
use crate::uapi::ProgType;
use bpfemu_isa::Insn;
use bpfemu_vm::Program;
use std::sync::Arc;

/// The parts of a loaded `r0 = 0; exit` program of type `prog_type` named
/// `name`, using `used_maps`: GPL, tag zero, loaded at time 0, not
/// verified, uid 0, no BTF. Tests change fields with `..prog_parts(..)`.
pub(crate) fn prog_parts(prog_type: ProgType, name: &str, used_maps: Vec<Arc<Map>>) -> ProgParts {
    let insns = vec![Insn::new(0xb7, 0, 0, 0, 0), Insn::new(0x95, 0, 0, 0, 0)];
    let image = Arc::new(Program::new(&insns).unwrap());
    ProgParts {
        prog_type,
        expected_attach_type: None,
        name: name.into(),
        tag: [0; 8],
        gpl_compatible: true,
        insns: insns.clone(),
        xlated: insns,
        image,
        used_maps,
        load_time: 0,
        verified: false,
        verified_insns: 0,
        max_ctx_offset: 0,
        attach_btf_id: 0,
        func_btf: None,
        uid: 0,
        btf_id: 0,
        btf_counts: Default::default(),
    }
}

/// A loaded `r0 = 0; exit` program `id` of type `prog_type`, named `p{id}`
/// ([`prog_parts`]), not published.
pub(crate) fn test_prog(id: u32, prog_type: ProgType, used_maps: Vec<Arc<Map>>) -> Arc<Prog> {
    Arc::new(Prog::new(id, prog_parts(prog_type, &format!("p{id}"), used_maps)))
}

/// A program made of `parts`, published with a new id and installed at an
/// fd, as `BPF_PROG_LOAD` leaves it.
pub(crate) fn install_prog(k: &mut Kernel, parts: ProgParts) -> (i32, Arc<Prog>) {
    let id = k.objects.progs.alloc().unwrap();
    let prog = Arc::new(Prog::new(id, parts));
    k.objects.progs.publish(id, &prog);
    let fd = k.install_fd(Obj::Prog(prog.clone())).unwrap();
    (fd, prog)
}

/// A link of `prog` with `ops`, published with a new id and installed at an
/// fd.
pub(crate) fn install_link(k: &mut Kernel, prog: Arc<Prog>, ops: Box<dyn LinkOps>) -> (i32, Arc<Link>) {
    let id = k.objects.links.alloc().unwrap();
    let link = Arc::new(Link::new(id, None, prog, ops));
    k.objects.links.publish(id, &link);
    (k.install_fd(Obj::Link(link.clone())).unwrap(), link)
}

/// Map ops that hold nothing: lookups find nothing, changes are `EINVAL`,
/// and the type has no `map_meta_equal` (it cannot be an inner map).
#[derive(Debug)]
pub(crate) struct NullMap;

impl MapOps for NullMap {
    fn lookup(&self, _key: &[u8]) -> Option<u64> {
        None
    }
    fn sys_lookup(&self, _key: &[u8], _out: &mut [u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::ENOENT)
    }
    fn update(&self, _key: &[u8], _value: &[u8], _flags: u64) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
    fn delete(&self, _key: &[u8]) -> Result<(), Errno> {
        Err(Errno::EINVAL)
    }
    fn get_next_key(&self, _key: Option<&[u8]>, _next: &mut [u8]) -> Result<(), Errno> {
        Err(Errno::ENOENT)
    }
    fn meta_equal(&self, _meta: &MapDef, _inner: &MapDef) -> Option<bool> {
        None
    }
    fn for_each(&self, _f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }
    fn btf_name(&self) -> &'static str {
        "bpf_map"
    }
    fn mem_usage(&self) -> u64 {
        0
    }
}
