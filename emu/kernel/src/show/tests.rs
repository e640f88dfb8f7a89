use super::*;
use crate::bpf::attr::BpfAttr;
use crate::bpf::link::LinkOps;
use crate::bpf::prog::ProgParts;
use crate::kernel::KernelConfig;
use crate::map::MapCreateAttr;
use crate::sim::SimConfig;
use crate::testutil::{install_link, install_prog, prog_parts};
use crate::uapi::AttachType;

fn map(k: &mut Kernel, map_type: MapType, name: &str, key: u32, value: u32, max: u32) -> i32 {
    let attr = MapCreateAttr {
        map_type: map_type.raw(),
        key_size: key,
        value_size: value,
        max_entries: max,
        map_name: name.as_bytes().to_vec(),
        ..Default::default()
    };
    k.bpf(BpfAttr::MapCreate(attr)).unwrap() as i32
}

fn update(k: &mut Kernel, fd: i32, key: &[u8], value: &[u8]) {
    k.bpf(BpfAttr::MapUpdateElem { map_fd: fd, key, value, flags: 0 }).unwrap();
}

/// A program as PROG_LOAD would leave it (constructed directly).
fn prog(k: &mut Kernel, name: &str, maps: Vec<Arc<Map>>, load_time: u64, btf_id: u32) -> Arc<Prog> {
    let parts = ProgParts {
        tag: [0x00, 0x5a, 0x3d, 0x21, 0x23, 0x62, 0x0c, 0x8b],
        load_time,
        btf_id,
        btf_counts: Default::default(),
        ..prog_parts(ProgType::Xdp, name, maps)
    };
    install_prog(k, parts).1
}

#[derive(Debug)]
struct NetnsLink;

impl LinkOps for NetnsLink {
    fn link_type(&self) -> LinkType {
        LinkType::Netns
    }

    fn release(&self, _link: &Link) {}

    fn fill_info(&self, _link: &Link) -> LinkInfoExtra {
        LinkInfoExtra::Netns { netns_ino: 4026531840, attach_type: AttachType::FlowDissector }
    }
}

/// Two maps, a per-CPU array, two programs (one run), a netns link.
fn scene() -> Kernel {
    let mut k = Kernel::new(KernelConfig { sim: SimConfig { cpus: 2, ..SimConfig::default() } });
    let arr = map(&mut k, MapType::Array, "counters", 4, 8, 2);
    update(&mut k, arr, &1u32.to_le_bytes(), &0x0102u64.to_le_bytes());
    let h = map(&mut k, MapType::Hash, "", 4, 4, 16);
    update(&mut k, h, &7u32.to_le_bytes(), &[0xaa, 0xbb, 0xcc, 0xdd]);
    let pc = map(&mut k, MapType::PercpuArray, "pcpu", 4, 4, 1);
    update(&mut k, pc, &0u32.to_le_bytes(), &[1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0]);
    k.bpf(BpfAttr::MapFreeze { map_fd: pc }).unwrap();
    let m1 = k.objects.maps.get(1).unwrap();
    let m2 = k.objects.maps.get(2).unwrap();
    let p1 = prog(&mut k, "xdp_main", vec![m1, m2], 5_000_000_000, 1);
    p1.account_run(700);
    p1.account_run(300);
    let p2 = prog(&mut k, "", vec![], 0, 0);
    install_link(&mut k, p2, Box::new(NetnsLink));
    k
}

#[test]
fn time_formats() {
    assert_eq!(iso8601(SIM_BOOT_EPOCH), "2025-01-01T00:00:00+0000");
    assert_eq!(iso8601(951_782_400 + 3661), "2000-02-29T01:01:01+0000");
    assert_eq!(iso8601(0), "1970-01-01T00:00:00+0000");
    assert_eq!(epoch_secs(5_999_999_999), SIM_BOOT_EPOCH + 5);
}

#[test]
fn hex_like_bpftool() {
    assert_eq!(fprint_hex(&[0, 1, 2], " "), "00 01 02");
    let v: Vec<u8> = (0..18).collect();
    assert_eq!(fprint_hex(&v, " "), "00 01 02 03 04 05 06 07  08 09 0a 0b 0c 0d 0e 0f\n10 11");
}

#[test]
fn prog_show_plain_and_json() {
    let k = scene();
    assert_eq!(
        prog_show(&k),
        "1: xdp  name xdp_main  tag 005a3d2123620c8b  gpl run_time_ns 1000 run_cnt 2\n\
         \tloaded_at 2025-01-01T00:00:05+0000  uid 0\n\
         \txlated 16B  not jited  memlock 4096B  map_ids 1,2\n\
         \tbtf_id 1\n\
         2: xdp  tag 005a3d2123620c8b  gpl\n\
         \txlated 16B  not jited  memlock 4096B\n"
    );
    assert_eq!(
        prog_show_json(&k),
        r#"[{"id":1,"type":"xdp","name":"xdp_main","tag":"005a3d2123620c8b","gpl_compatible":true,"run_time_ns":1000,"run_cnt":2,"loaded_at":1735689605,"uid":0,"orphaned":false,"bytes_xlated":16,"jited":false,"bytes_memlock":4096,"map_ids":[1,2],"btf_id":1},{"id":2,"type":"xdp","tag":"005a3d2123620c8b","gpl_compatible":true,"orphaned":false,"bytes_xlated":16,"jited":false,"bytes_memlock":4096}]"#
    );
}

#[test]
fn map_show_plain_and_json() {
    let k = scene();
    let mem = |id| k.objects.maps.get(id).unwrap().ops.mem_usage();
    assert_eq!(
        map_show(&k),
        format!(
            "1: array  name counters  flags 0x0\n\
             \tkey 4B  value 8B  max_entries 2  memlock {}B\n\
             2: hash  flags 0x0\n\
             \tkey 4B  value 4B  max_entries 16  memlock {}B\n\
             3: percpu_array  name pcpu  flags 0x0\n\
             \tkey 4B  value 4B  max_entries 1  memlock {}B\n\
             \tfrozen\n",
            mem(1),
            mem(2),
            mem(3)
        )
    );
    assert_eq!(
        map_show_json(&k),
        format!(
            r#"[{{"id":1,"type":"array","name":"counters","flags":0,"bytes_key":4,"bytes_value":8,"max_entries":2,"bytes_memlock":{},"frozen":0}},{{"id":2,"type":"hash","flags":0,"bytes_key":4,"bytes_value":4,"max_entries":16,"bytes_memlock":{},"frozen":0}},{{"id":3,"type":"percpu_array","name":"pcpu","flags":0,"bytes_key":4,"bytes_value":4,"max_entries":1,"bytes_memlock":{},"frozen":1}}]"#,
            mem(1),
            mem(2),
            mem(3)
        )
    );
}

#[test]
fn map_dump_plain_and_json() {
    let k = scene();
    assert_eq!(
        map_dump(&k, 1).unwrap(),
        "key: 00 00 00 00  value: 00 00 00 00 00 00 00 00\n\
         key: 01 00 00 00  value: 02 01 00 00 00 00 00 00\n\
         Found 2 elements\n"
    );
    assert_eq!(map_dump(&k, 2).unwrap(), "key: 07 00 00 00  value: aa bb cc dd\nFound 1 element\n");
    assert_eq!(
        map_dump(&k, 3).unwrap(),
        "key:\n00 00 00 00\nvalue (CPU 00): 01 00 00 00\nvalue (CPU 01): 02 00 00 00\nFound 1 element\n"
    );
    assert_eq!(
        map_dump_json(&k, 2).unwrap(),
        r#"[{"key":["0x07","0x00","0x00","0x00"],"value":["0xaa","0xbb","0xcc","0xdd"]}]"#
    );
    assert_eq!(
        map_dump_json(&k, 3).unwrap(),
        r#"[{"key":["0x00","0x00","0x00","0x00"],"values":[{"cpu":0,"value":["0x01","0x00","0x00","0x00"]},{"cpu":1,"value":["0x02","0x00","0x00","0x00"]}]}]"#
    );
    assert_eq!(map_dump(&k, 99), Err(Errno::ENOENT));
}

#[test]
fn link_show_plain_and_json() {
    let k = scene();
    assert_eq!(link_show(&k), "1: netns  prog 2\n\tnetns_ino 4026531840  attach_type flow_dissector\n");
    assert_eq!(
        link_show_json(&k),
        r#"[{"id":1,"type":"netns","prog_id":2,"netns_ino":4026531840,"attach_type":"flow_dissector"}]"#
    );
}

#[test]
fn btf_show_plain_and_json() {
    let k = scene();
    let size = k.vmlinux.data.len();
    assert_eq!(btf_show(&k), format!("1: name [vmlinux]  size {size}B  prog_ids 1\n"));
    assert_eq!(
        btf_show_json(&k),
        format!(r#"[{{"id":1,"size":{size},"prog_ids":[1],"map_ids":[],"kernel":true,"name":"vmlinux"}}]"#)
    );
}
