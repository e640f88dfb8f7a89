//! Tests of the program, link and BTF commands through the `bpf()` seam:
//! load pipeline, runs and test runs, the link framework, BTF_LOAD.

mod btf;
mod btf_info;
mod callbacks;
mod ext;
#[cfg(target_arch = "x86_64")]
mod jit;
mod links;
mod load;
mod run;
mod test_run_pkt;

use crate::bpf::attr::{BpfAttr, ProgLoadAttr, TestRunAttr, TestRunOut};
use crate::bpf::objects::{MapUref, Obj};
use crate::bpf::prog::Prog;
use crate::errno::Errno;
use crate::kernel::{Kernel, KernelConfig};
use crate::map::{Map, MapDef, MapOps};
use crate::uapi::{MapType, ProgType};
use bpfemu_isa::Insn;
use parking_lot::Mutex;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};

pub(super) fn kernel() -> Kernel {
    Kernel::new(KernelConfig::default())
}

pub(super) fn asm(src: &str) -> Vec<Insn> {
    bpfemu_isa::asm::kernel::assemble(src).unwrap_or_else(|e| panic!("{e}\n{src}"))
}

/// A load attr for `insns` of `prog_type`, GPL; syscall programs
/// sleepable, as the kernel requires (and libbpf does).
pub(super) fn load_attr(prog_type: ProgType, insns: &[Insn]) -> ProgLoadAttr<'_> {
    ProgLoadAttr {
        prog_type: prog_type.raw(),
        insns,
        license: "GPL",
        prog_flags: crate::bpf::load::default_prog_flags(prog_type),
        ..Default::default()
    }
}

pub(super) fn load(k: &mut Kernel, prog_type: ProgType, src: &str) -> Result<i32, Errno> {
    let insns = asm(src);
    k.bpf(BpfAttr::ProgLoad(load_attr(prog_type, &insns))).map(|fd| fd as i32)
}

/// The BTF (loaded: its fd) and the func_info bytes clang emits for the
/// static functions of `insns`: what a program with callbacks needs.
pub(super) fn static_btf(k: &mut Kernel, insns: &[Insn]) -> (i32, Vec<u8>) {
    use crate::bpf::load::static_func_info::{encode_records, static_func_info};
    let (btf, recs) = static_func_info("prog", insns);
    let fd = k.bpf(BpfAttr::BtfLoad { btf: &btf, log: None, log_level: 0 }).unwrap() as i32;
    (fd, encode_records(&recs))
}

/// As [`load`], with the BTF func_info of static functions.
pub(super) fn load_cb(k: &mut Kernel, prog_type: ProgType, src: &str) -> Result<i32, Errno> {
    let insns = asm(src);
    let (btf_fd, fi) = static_btf(k, &insns);
    let mut a = load_attr(prog_type, &insns);
    a.prog_btf_fd = btf_fd;
    a.func_info = &fi;
    a.func_info_rec_size = 8;
    k.bpf(BpfAttr::ProgLoad(a)).map(|fd| fd as i32)
}

pub(super) fn prog_of(k: &Kernel, fd: i32) -> Arc<Prog> {
    k.fd_obj(fd).unwrap().prog().unwrap().clone()
}

/// `BPF_PROG_TEST_RUN` of a syscall program with `ctx` through the seam;
/// (retval, ctx written back).
pub(super) fn test_run(k: &mut Kernel, fd: i32, ctx: &[u8]) -> Result<(u32, Vec<u8>), Errno> {
    let mut out = vec![0u8; ctx.len()];
    let mut res = TestRunOut::default();
    let a = TestRunAttr {
        prog_fd: fd,
        ctx_in: ctx,
        ctx_out: Some(&mut out),
        out: Some(&mut res),
        ..Default::default()
    };
    k.bpf(BpfAttr::ProgTestRun(a))?;
    Ok((res.retval, out))
}

/// The program slot of a [`TestMap`] used as a prog array.
pub(super) type Slot = Arc<Mutex<Option<Arc<Prog>>>>;

/// A one-value map with stable value memory (an array of one element), or
/// a one-slot prog array when `prog` is used.
#[derive(Debug)]
pub(super) struct TestMap {
    pub value: Box<[AtomicU8]>,
    pub prog: Slot,
}

impl TestMap {
    pub fn new(size: usize) -> TestMap {
        TestMap { value: (0..size).map(|_| AtomicU8::new(0)).collect(), prog: Slot::default() }
    }

    fn base(&self) -> u64 {
        self.value.as_ptr().expose_provenance() as u64
    }
}

impl MapOps for TestMap {
    fn lookup(&self, _key: &[u8]) -> Option<u64> {
        Some(self.base())
    }
    fn sys_lookup(&self, _key: &[u8], out: &mut [u8], _flags: u64) -> Result<(), Errno> {
        for (o, v) in out.iter_mut().zip(self.value.iter()) {
            *o = v.load(Ordering::Relaxed);
        }
        Ok(())
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
    fn prog_at(&self, index: u64) -> Option<Arc<Prog>> {
        if index == 0 { self.prog.lock().clone() } else { None }
    }
    fn meta_equal(&self, _meta: &MapDef, _inner: &MapDef) -> Option<bool> {
        None
    }
    fn direct_value_addr(&self, off: u32) -> Result<u64, Errno> {
        if (off as usize) < self.value.len() { Ok(self.base() + u64::from(off)) } else { Err(Errno::EINVAL) }
    }
    fn value_regions(&self) -> Vec<(u64, u64, bool)> {
        vec![(self.base(), self.value.len() as u64, true)]
    }
    fn for_each(&self, _f: &mut dyn FnMut(&[u8], u64) -> bool) -> u32 {
        0
    }
    fn btf_name(&self) -> &'static str {
        "bpf_array"
    }
    fn mem_usage(&self) -> u64 {
        self.value.len() as u64
    }
}

/// Creates a [`TestMap`] of `value_size` bytes and installs an fd for it.
pub(super) fn test_map(k: &mut Kernel, map_type: MapType, value_size: u32) -> (i32, Arc<Map>) {
    let (fd, map, _) = test_map_slot(k, map_type, value_size);
    (fd, map)
}

/// [`test_map`], also returning the prog-array slot.
pub(super) fn test_map_slot(k: &mut Kernel, map_type: MapType, value_size: u32) -> (i32, Arc<Map>, Slot) {
    let def = MapDef {
        map_type,
        key_size: 4,
        value_size,
        max_entries: 1,
        map_flags: 0,
        numa_node: -1,
        name: "test".into(),
        btf_key_type_id: 0,
        btf_value_type_id: 0,
        btf_vmlinux_value_type_id: 0,
        map_extra: 0,
    };
    let id = k.objects.maps.alloc().unwrap();
    let ops = TestMap::new(value_size as usize);
    let slot = ops.prog.clone();
    let map = Arc::new(Map::new(def, id, None, Box::new(ops)));
    k.objects.maps.publish(id, &map);
    let fd = k.install_fd(Obj::Map(MapUref::new(map.clone()))).unwrap();
    (fd, map, slot)
}
