//! Tests of the syscall layer's map and object commands, bpffs and the
//! reference-count semantics, against a test-only map type
//! ([`fake_map`]) since real map types live in their own modules.

mod bpffs;
mod fake_map;
mod map_cmds;
mod obj_cmds;
mod refcount;

use super::attr::{BatchAttr, BpfAttr};
use super::btf_obj::BtfObj;
use super::link::{Link, LinkOps};
use super::objects::Obj;
use super::prog::{Prog, ProgParts};
use crate::errno::Errno;
use crate::kernel::{Kernel, KernelConfig};
use crate::map::Map;
use crate::sim::SimConfig;
use crate::testutil::{install_link, install_prog, prog_parts};
use crate::uapi::{LinkType, ProgType};
use fake_map::{FakeOpts, FakeStats, fake_map};
use std::sync::Arc;

pub(super) const NR_CPUS: u32 = 4;

pub(super) fn kernel() -> Kernel {
    Kernel::new(KernelConfig { sim: SimConfig { cpus: NR_CPUS, ..SimConfig::default() } })
}

/// A fake map installed as if created: its fd and its stats.
pub(super) fn map_fd(k: &mut Kernel, o: FakeOpts) -> (i32, Arc<FakeStats>) {
    let (map, stats) = fake_map(&o, k.sim.nr_cpus());
    (k.install_map_for_test(map), stats)
}

pub(super) fn hash(k: &mut Kernel) -> i32 {
    map_fd(k, FakeOpts::default()).0
}

pub(super) fn map_of(k: &Kernel, fd: i32) -> Arc<Map> {
    k.map_of_fd(fd).unwrap().0
}

pub(super) fn update(k: &mut Kernel, fd: i32, key: u32, value: u64, flags: u64) -> Result<i64, Errno> {
    k.bpf(BpfAttr::MapUpdateElem { map_fd: fd, key: &key.to_le_bytes(), value: &value.to_le_bytes(), flags })
}

pub(super) fn lookup(k: &mut Kernel, fd: i32, key: u32) -> Result<u64, Errno> {
    let mut v = [0u8; 8];
    k.bpf(BpfAttr::MapLookupElem { map_fd: fd, key: &key.to_le_bytes(), value: &mut v, flags: 0 })?;
    Ok(u64::from_le_bytes(v))
}

pub(super) fn delete(k: &mut Kernel, fd: i32, key: u32) -> Result<i64, Errno> {
    k.bpf(BpfAttr::MapDeleteElem { map_fd: fd, key: &key.to_le_bytes(), flags: 0 })
}

pub(super) fn next_id(k: &mut Kernel, kind: u8, start_id: u32) -> Result<u32, Errno> {
    let mut next = 0;
    let attr = match kind {
        b'm' => BpfAttr::MapGetNextId { start_id, next_id: &mut next },
        b'p' => BpfAttr::ProgGetNextId { start_id, next_id: &mut next },
        b'l' => BpfAttr::LinkGetNextId { start_id, next_id: &mut next },
        _ => BpfAttr::BtfGetNextId { start_id, next_id: &mut next },
    };
    k.bpf(attr)?;
    Ok(next)
}

pub(super) fn map_fd_by_id(k: &mut Kernel, id: u32, open_flags: u32) -> Result<i32, Errno> {
    k.bpf(BpfAttr::MapGetFdById { id, open_flags }).map(|fd| fd as i32)
}

/// Batch call arguments with owned buffers.
pub(super) struct Batch {
    pub in_batch: Option<Vec<u8>>,
    pub out_batch: Vec<u8>,
    pub keys: Vec<u8>,
    pub values: Vec<u8>,
    pub count: u32,
    pub elem_flags: u64,
    pub flags: u64,
}

impl Batch {
    pub fn new(count: u32) -> Batch {
        Batch {
            in_batch: None,
            out_batch: vec![0; 4],
            keys: vec![0; 4 * count as usize],
            values: vec![0; 8 * count as usize],
            count,
            elem_flags: 0,
            flags: 0,
        }
    }

    pub fn attr(&mut self, map_fd: i32) -> BatchAttr<'_> {
        BatchAttr {
            map_fd,
            in_batch: self.in_batch.as_deref(),
            out_batch: &mut self.out_batch,
            keys: &mut self.keys,
            values: &mut self.values,
            count: &mut self.count,
            elem_flags: self.elem_flags,
            flags: self.flags,
        }
    }

    pub fn keys_u32(&self) -> Vec<u32> {
        self.keys
            .chunks(4)
            .take(self.count as usize)
            .map(|c| u32::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }

    pub fn values_u64(&self) -> Vec<u64> {
        self.values
            .chunks(8)
            .take(self.count as usize)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap()))
            .collect()
    }
}

/// A program (`r0 = 0; exit`) using `used_maps`, published with an id and
/// installed at an fd.
pub(super) fn prog_fd(k: &mut Kernel, used_maps: Vec<Arc<Map>>) -> (i32, Arc<Prog>) {
    let parts = ProgParts {
        tag: [0xde, 0xad, 0xbe, 0xef, 0, 1, 2, 3],
        load_time: 1234,
        ..prog_parts(ProgType::SocketFilter, "test_prog", used_maps)
    };
    install_prog(k, parts)
}

#[derive(Debug)]
pub(super) struct FakeLinkOps;

impl LinkOps for FakeLinkOps {
    fn link_type(&self) -> LinkType {
        LinkType::Netns
    }

    fn release(&self, _link: &Link) {}

    fn show_fdinfo(&self, _link: &Link) -> Vec<(String, String)> {
        vec![("netns_ino".into(), "4026531840".into())]
    }
}

pub(super) fn link_fd(k: &mut Kernel, prog: Arc<Prog>) -> (i32, Arc<Link>) {
    install_link(k, prog, Box::new(FakeLinkOps))
}

pub(super) fn btf_fd(k: &mut Kernel) -> (i32, Arc<BtfObj>) {
    let id = k.objects.btfs.alloc().unwrap();
    let btf = Arc::new(BtfObj { id, data: vec![0x9f, 0xeb, 1, 0], name: String::new(), kernel_btf: false });
    k.objects.btfs.publish(id, &btf);
    (k.install_fd(Obj::Btf(btf.clone())).unwrap(), btf)
}
