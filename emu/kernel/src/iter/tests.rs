use crate::bpf::attr::{BpfAttr, LinkCreateAttr, MapCreateAttr, ProgLoadAttr};
use crate::errno::Errno;
use crate::kernel::{Kernel, KernelConfig};
use crate::uapi::{AttachType, ProgType};

fn load(k: &mut Kernel, src: &str) -> i32 {
    let insns = bpfemu_isa::asm::kernel::assemble(src).unwrap();
    let attr = ProgLoadAttr {
        prog_type: ProgType::Tracing.raw(),
        insns: &insns,
        license: "GPL",
        expected_attach_type: AttachType::TraceIter.raw(),
        attach_btf_id: crate::vmlinux::func_id("bpf_iter_bpf_map").unwrap(),
        ..Default::default()
    };
    k.bpf(BpfAttr::ProgLoad(attr)).unwrap() as i32
}

fn link(k: &mut Kernel, prog_fd: i32, info: Option<Vec<u8>>, len: u32) -> Result<i32, Errno> {
    let attr = LinkCreateAttr {
        prog_fd,
        attach_type: AttachType::TraceIter.raw(),
        iter_info: info,
        iter_info_len: len,
        ..Default::default()
    };
    k.bpf(BpfAttr::LinkCreate(attr)).map(|fd| fd as i32)
}

fn map(k: &mut Kernel) {
    let a = MapCreateAttr { map_type: 2, key_size: 4, value_size: 8, max_entries: 4, ..Default::default() };
    k.bpf(BpfAttr::MapCreate(a)).unwrap();
}

/// Prints "<seq_num>:<map id or 0>\n" per call (the stop call sees the
/// last object's seq_num: it only counts valid objects).
const PRINT: &str = "r6 = *(u64 *)(r1 +0)
r7 = *(u64 *)(r1 +8)
r2 = 0
if r7 == 0 goto +1
r2 = *(u32 *)(r7 +44)
*(u64 *)(r10 -8) = r2
r2 = *(u64 *)(r6 +16)
*(u64 *)(r10 -16) = r2
r1 = 0x0a64253a6425 ll
*(u64 *)(r10 -24) = r1
r1 = *(u64 *)(r6 +0)
r2 = r10
r2 += -24
r3 = 8
r4 = r10
r4 += -16
r5 = 16
call bpf_seq_printf#126
r0 = 0
exit";

fn read_all(k: &mut Kernel, fd: i32, chunk: usize) -> Result<String, Errno> {
    let mut out = Vec::new();
    loop {
        let b = k.iter_read(fd, chunk)?;
        if b.is_empty() {
            return Ok(String::from_utf8(out).unwrap());
        }
        out.extend(b);
    }
}

#[test]
fn bpf_map_iterator_reads_every_map_then_the_stop_call() {
    let mut k = Kernel::new(KernelConfig::default());
    map(&mut k);
    map(&mut k);
    let p = load(&mut k, PRINT);
    let l = link(&mut k, p, None, 0).unwrap();
    let fd = k.bpf(BpfAttr::IterCreate { link_fd: l, flags: 0 }).unwrap() as i32;
    assert_eq!(read_all(&mut k, fd, 4096).unwrap(), "0:1\n1:2\n1:0\n");
    // Small reads: the same bytes, in pieces.
    let fd = k.bpf(BpfAttr::IterCreate { link_fd: l, flags: 0 }).unwrap() as i32;
    assert_eq!(read_all(&mut k, fd, 3).unwrap(), "0:1\n1:2\n1:0\n");
    assert_eq!(k.bpf(BpfAttr::IterCreate { link_fd: l, flags: 1 }), Err(Errno::EINVAL));
    assert_eq!(k.bpf(BpfAttr::IterCreate { link_fd: p, flags: 0 }), Err(Errno::EINVAL));
    assert_eq!(k.bpf(BpfAttr::IterCreate { link_fd: 99, flags: 0 }), Err(Errno::EBADF));
}

#[test]
fn link_checks_and_retry() {
    let mut k = Kernel::new(KernelConfig::default());
    map(&mut k);
    let p = load(&mut k, "r0 = 1\nexit");
    assert_eq!(link(&mut k, p, None, 4), Err(Errno::EINVAL));
    assert_eq!(link(&mut k, p, Some(vec![0; 4]), 0), Err(Errno::EINVAL));
    let mut big = vec![0u8; 24];
    big[20] = 1;
    assert_eq!(link(&mut k, p, Some(big), 24), Err(Errno::E2BIG));
    // bpf_map takes no link info; a map_fd is ignored, as in the kernel.
    let l = link(&mut k, p, Some(vec![3, 0, 0, 0]), 4).unwrap();
    let fd = k.bpf(BpfAttr::IterCreate { link_fd: l, flags: 0 }).unwrap() as i32;
    // 1 on the first object with nothing printed: EAGAIN.
    assert_eq!(k.iter_read(fd, 4096), Err(Errno::EAGAIN));
    let info = k.fdinfo(l).unwrap();
    assert!(info.contains(&("target_name".to_string(), "bpf_map".to_string())));
}
