//! The committed guest objects (`guest-progs/obj/*.bpf.o`, built from
//! `guest-progs/src/` by `scripts/build-guest.sh`): every one opens, loads
//! into a fresh kernel and every program verifies — except the objects of
//! [`NOT_YET`], which need something bpfemu does not have yet and must fail
//! the way the list says (so the test fails, and the list must be updated,
//! when that support lands). The SYSCALL programs (the only test-runnable
//! type today) are run and their results checked: map contents, global
//! data, tail-call chains, and CO-RE relocations compared with the layouts
//! of the emulated kernel's vmlinux BTF.

use bpfemu_btf::{Btf, IntEncoding, Kind, TypeId};
use bpfemu_kernel::bpf::attr::{BpfAttr, TestRunAttr, TestRunOut};
use bpfemu_kernel::vmlinux::{struct_id, uapi_enums, vmlinux_btf};
use bpfemu_kernel::{Errno, Kernel, KernelConfig, SimConfig};
use bpfemu_user::{Error, Object};
use std::path::PathBuf;

/// How an object that cannot load yet must fail.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    /// `BPF_MAP_CREATE` of the named map refuses its type with this errno
    /// (the kernel's answer for a map type it does not implement).
    #[allow(dead_code)] // no object is pending today
    MapCreate(&'static str, Errno),
}

/// Objects that cannot load yet, and every reason: the load must fail with
/// one of them (the loader stops at the first it meets). Remove a reason
/// when its support lands; an object whose load succeeds while listed makes
/// the test fail.
const NOT_YET: &[(&str, &[Refusal])] = &[];

/// Extension objects (freplace) and the (object, program) they extend:
/// they load after it, with it as their target.
const EXTENSIONS: &[(&str, &str, &str)] = &[("freplace.bpf.o", "global_funcs.bpf.o", "use_funcs")];

/// Loads extension object `name` against its target (see [`EXTENSIONS`])
/// in `k`: (extension, target).
fn load_extension(name: &str, k: &mut Kernel) -> Option<(Object, Object)> {
    let &(_, target, prog) = EXTENSIONS.iter().find(|(n, _, _)| *n == name)?;
    let mut tgt = Object::open(obj_path(target)).unwrap();
    tgt.load(k).unwrap_or_else(|e| panic!("{target}: load: {e}"));
    let tfd = tgt.program(prog).unwrap().fd().unwrap();
    let mut ext = Object::open(obj_path(name)).unwrap();
    let names: Vec<String> = ext.programs().map(|p| p.name().to_owned()).collect();
    for n in names {
        let p = ext.program_mut(&n).unwrap();
        let func = p.attach_target().unwrap().to_owned();
        p.set_attach_target_prog(tfd, &func);
    }
    ext.load(k).unwrap_or_else(|e| panic!("{name}: load: {e}"));
    Some((ext, tgt))
}

/// Whether load error `e` is refusal `r`.
fn is_refusal(e: &Error, r: Refusal) -> bool {
    match r {
        Refusal::MapCreate(map, errno) => {
            matches!(e, Error::Sys { what, errno: got } if *got == errno && what.contains("BPF_MAP_CREATE") && what.contains(map))
        }
    }
}

fn obj_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../guest-progs/obj")
}

fn obj_path(name: &str) -> PathBuf {
    obj_dir().join(name)
}

fn kernel() -> Kernel {
    Kernel::new(KernelConfig { sim: SimConfig::default() })
}

fn pending(name: &str) -> Option<&'static [Refusal]> {
    NOT_YET.iter().find(|(n, _)| *n == name).map(|(_, r)| *r)
}

fn all_objects() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(obj_dir())
        .expect("guest-progs/obj")
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".bpf.o"))
        .collect();
    names.sort();
    names
}

/// Opens and loads `name` into a fresh kernel, panicking with the loader's
/// message on failure.
fn load(name: &str) -> (Object, Kernel) {
    let mut obj = Object::open(obj_path(name)).unwrap_or_else(|e| panic!("{name}: open: {e}"));
    let mut k = kernel();
    obj.load(&mut k).unwrap_or_else(|e| panic!("{name}: load: {e}"));
    (obj, k)
}

/// Runs program `prog` once with `ctx` (written back) and returns its
/// return value.
fn run(obj: &Object, k: &mut Kernel, prog: &str, ctx: &mut [u8]) -> u32 {
    let fd = obj.program(prog).unwrap_or_else(|| panic!("no program {prog}")).fd().expect("loaded");
    let mut out = TestRunOut::default();
    let ctx_in = ctx.to_vec();
    let ctx_out = if ctx.is_empty() { None } else { Some(&mut *ctx) };
    k.bpf(BpfAttr::ProgTestRun(TestRunAttr {
        prog_fd: fd,
        ctx_in: &ctx_in,
        ctx_out,
        out: Some(&mut out),
        ..Default::default()
    }))
    .unwrap_or_else(|e| panic!("{prog}: BPF_PROG_TEST_RUN: {e}"));
    out.retval
}

/// The bytes of global variable `var` of data section `sec`, read from
/// the section's map (offsets from the object's DATASEC).
fn global(obj: &Object, k: &mut Kernel, sec: &str, var: &str) -> Vec<u8> {
    let btf = obj.btf().expect("object BTF");
    let (_, ds) = btf
        .iter()
        .find(|(_, t)| matches!(t.kind, Kind::Datasec { .. }) && btf.str_at(t.name_off) == sec)
        .unwrap_or_else(|| panic!("no DATASEC {sec}"));
    let Kind::Datasec { vars, .. } = &ds.kind else { unreachable!() };
    let vsi = vars.iter().find(|v| btf.name(v.ty) == var).unwrap_or_else(|| panic!("no {var} in {sec}"));
    let value = obj.map(sec).unwrap().lookup(k, &0u32.to_le_bytes(), 0).unwrap().expect("data map value");
    value[vsi.offset as usize..(vsi.offset + vsi.size) as usize].to_vec()
}

fn u64s(bytes: &[u8]) -> Vec<u64> {
    bytes.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect()
}

fn u64_at(bytes: &[u8], off: usize) -> u64 {
    u64::from_le_bytes(bytes[off..off + 8].try_into().unwrap())
}

#[test]
fn every_guest_object_loads_and_verifies_or_is_listed() {
    let names = all_objects();
    assert!(names.len() >= 10, "guest-progs/obj holds {} objects", names.len());
    for (listed, _) in NOT_YET {
        assert!(names.iter().any(|n| n == listed), "NOT_YET lists {listed}, which is not in guest-progs/obj");
    }
    for name in &names {
        let mut obj = Object::open(obj_path(name)).unwrap_or_else(|e| panic!("{name}: open: {e}"));
        assert!(obj.programs().next().is_some(), "{name}: no programs");
        let mut k = kernel();
        if let Some((ext, _)) = load_extension(name, &mut k) {
            assert!(ext.programs().all(|p| p.fd().is_some()), "{name}: a program has no fd after load");
            continue;
        }
        let r = obj.load(&mut k);
        match (pending(name), r) {
            (None, Ok(())) => {
                for p in obj.programs() {
                    assert!(p.fd().is_some(), "{name}: program {} has no fd after load", p.name());
                }
            }
            (None, Err(e)) => panic!("{name}: {e}"),
            (Some(why), Ok(())) => {
                panic!("{name} loads now: remove its NOT_YET entry ({why:?}) and test what it does")
            }
            (Some(why), Err(e)) => {
                assert!(why.iter().any(|&r| is_refusal(&e, r)), "{name}: expected one of {why:?}, got: {e}");
            }
        }
    }
}

#[test]
fn maps_object_hash_array_and_for_each() {
    let (obj, mut k) = load("maps.bpf.o");
    // struct map_op { u32 key; u32 found; u64 value; }
    let op = |key: u32, value: u64| {
        let mut b = vec![0u8; 16];
        b[0..4].copy_from_slice(&key.to_le_bytes());
        b[8..16].copy_from_slice(&value.to_le_bytes());
        b
    };
    for (key, value) in [(5u32, 50u64), (9, 90), (2, 20)] {
        assert_eq!(run(&obj, &mut k, "hash_update", &mut op(key, value)), 0);
    }
    let hash = obj.map("hash").unwrap();
    let v = hash.lookup(&mut k, &9u32.to_le_bytes(), 0).unwrap().unwrap();
    assert_eq!(u64::from_le_bytes(v.try_into().unwrap()), 90);

    let mut ctx = op(5, 0);
    assert_eq!(run(&obj, &mut k, "hash_lookup", &mut ctx), 0);
    assert_eq!((ctx[4], u64_at(&ctx, 8)), (1, 50), "found, value");

    // Values of keys >= 5: 50 + 90; three elements visited.
    let mut ctx = op(5, 0);
    assert_eq!(run(&obj, &mut k, "hash_sum", &mut ctx), 3);
    assert_eq!(u64_at(&ctx, 8), 140);
    // Stop after the first element: the callback's 1 ends the walk.
    let mut ctx = op(1, 0);
    assert_eq!(run(&obj, &mut k, "hash_sum_stop", &mut ctx), 1);

    assert_eq!(run(&obj, &mut k, "hash_delete", &mut op(5, 0)), 0);
    assert_eq!(run(&obj, &mut k, "hash_delete", &mut op(5, 0)) as i32, -(Errno::ENOENT as i32));
    let mut ctx = op(5, 0);
    assert_eq!(run(&obj, &mut k, "hash_lookup", &mut ctx) as i32, -2);
    assert_eq!(ctx[4], 0);
    assert!(hash.lookup(&mut k, &5u32.to_le_bytes(), 0).unwrap().is_none());

    let mut ctx = op(3, 7);
    assert_eq!(run(&obj, &mut k, "array_add", &mut ctx), 0);
    let mut ctx = op(3, 7);
    assert_eq!(run(&obj, &mut k, "array_add", &mut ctx), 0);
    assert_eq!(u64_at(&ctx, 8), 14);
    assert_eq!(run(&obj, &mut k, "array_add", &mut op(16, 1)) as i32, -7, "index 16 of 16");

    assert_eq!(run(&obj, &mut k, "percpu_add", &mut op(1, 4)), 0);
    assert_eq!(run(&obj, &mut k, "percpu_add", &mut op(1, 4)), 0);
    for key in 0..6u32 {
        assert_eq!(run(&obj, &mut k, "lru_touch", &mut op(key, u64::from(key))), 0);
    }
}

#[test]
fn tail_calls_object_follows_its_initialised_prog_array() {
    let (obj, mut k) = load("tail_calls.bpf.o");
    let slot = |s: u32| {
        let mut b = vec![0u8; 8];
        b[0..4].copy_from_slice(&s.to_le_bytes());
        b
    };
    // entry -> stage0 (slot 0) -> stage2: 2 + slot.
    assert_eq!(run(&obj, &mut k, "tc_entry", &mut slot(0)), 2);
    // Slot 1 is empty and 7 is out of range: the call falls through.
    assert_eq!(run(&obj, &mut k, "tc_entry", &mut slot(1)), 100);
    assert_eq!(run(&obj, &mut k, "tc_entry", &mut slot(7)), 100);
    // entry -> stage2 directly.
    assert_eq!(run(&obj, &mut k, "tc_entry", &mut slot(2)), 4);
    assert_eq!(u64s(&global(&obj, &mut k, ".bss", "trail")), [4, 1, 2, 0]);
    // entry -> loop -> loop ...: 33 tail calls in all, so tc_loop runs 33
    // times and the last run saw 32 earlier ones.
    assert_eq!(run(&obj, &mut k, "tc_entry", &mut slot(3)), 32);
    assert_eq!(u64s(&global(&obj, &mut k, ".bss", "trail")), [5, 1, 2, 33]);
}

#[test]
fn global_data_object_reads_every_section() {
    let (obj, mut k) = load("global_data.bpf.o");
    for sec in [".rodata", ".data", ".bss", ".data.custom"] {
        assert!(obj.map(sec).is_some(), "map for {sec}");
    }
    // struct gd_args { u64 x; u64 result; }
    let mut ctx = vec![0u8; 16];
    ctx[0] = 2;
    assert_eq!(run(&obj, &mut k, "globals", &mut ctx), 11, "2 * scale 3 + offset 5");
    assert_eq!(u64_at(&ctx, 8), 11);
    // struct gd_result { counter, weight_sum, prime, custom, greeting_len, scaled }
    assert_eq!(u64s(&global(&obj, &mut k, ".bss", "last")), [43, 10, 5, 7, 6, 11]);
    assert_eq!(u64s(&global(&obj, &mut k, ".bss", "calls")), [1]);
    assert_eq!(u64s(&global(&obj, &mut k, ".data", "counter")), [43]);
    assert_eq!(u64s(&global(&obj, &mut k, ".rodata", "scale")), [3]);
    ctx[0] = 7;
    assert_eq!(run(&obj, &mut k, "globals", &mut ctx), 26);
    assert_eq!(u64s(&global(&obj, &mut k, ".bss", "last")), [44, 10, 19, 7, 6, 26]);
}

#[test]
fn global_funcs_object_calls_global_and_static_functions() {
    let (obj, mut k) = load("global_funcs.bpf.o");
    let args = |a: i32, b: i32, limit: i32| {
        [a, b, limit, 0].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()
    };
    assert_eq!(run(&obj, &mut k, "use_funcs", &mut args(40, 30, 50)), 100);
    assert_eq!(run(&obj, &mut k, "use_funcs", &mut args(-10, 2, 50)), 0);
    assert_eq!(run(&obj, &mut k, "use_funcs", &mut args(1, 2, 50)), 6);
}

/// `freplace.bpf.o`: its `new_clamp_add` replaces `clamp_add` of
/// `global_funcs.bpf.o` while its link lives (`SEC("freplace/clamp_add")`,
/// the target program set with `set_attach_target_prog`, the function's
/// BTF id found in the target's BTF), on the JIT and in paranoid runs;
/// without a target program the load fails as libbpf's does.
#[test]
fn freplace_object_replaces_a_global_function() {
    let args = |a: i32, b: i32, limit: i32| {
        [a, b, limit, 0].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>()
    };
    for paranoid in [false, true] {
        let mut k = kernel();
        k.set_paranoid(paranoid);
        let (ext, tgt) = load_extension("freplace.bpf.o", &mut k).unwrap();
        assert_eq!(run(&tgt, &mut k, "use_funcs", &mut args(40, 30, 50)), 100);
        let link = ext.program("new_clamp_add").unwrap().attach(&mut k).unwrap();
        assert_eq!(run(&tgt, &mut k, "use_funcs", &mut args(40, 30, 50)), 2500, "paranoid={paranoid}");
        link.destroy(&mut k).unwrap();
        assert_eq!(run(&tgt, &mut k, "use_funcs", &mut args(40, 30, 50)), 100);
        let fd = ext.program("new_clamp_add").unwrap().attach(&mut k).map(|_| ());
        assert!(fd.is_err(), "the load's target is used once");
    }
    let mut alone = Object::open(obj_path("freplace.bpf.o")).unwrap();
    let e = alone.load(&mut kernel()).unwrap_err();
    assert!(e.to_string().contains("attach program FD is not set"), "{e}");
}

/// `lsm.bpf.o`: its `SEC("lsm/bpf_map_create")` program (the hook's
/// FUNC `bpf_lsm_bpf_map_create` found in vmlinux BTF, `BPF_LSM_MAC`),
/// attached by `attach()`, refuses hash maps with `EPERM` while its link
/// lives, reading `attr->map_type` through CO-RE, counting the hook's
/// calls in `.bss`; on the JIT and in paranoid runs.
#[test]
fn lsm_object_denies_map_creation() {
    use bpfemu_kernel::bpf::attr::MapCreateAttr;
    let create = |k: &mut Kernel, map_type: u32| {
        let a = MapCreateAttr { map_type, key_size: 4, value_size: 8, max_entries: 4, ..Default::default() };
        k.bpf(BpfAttr::MapCreate(a)).map(|_| ())
    };
    for paranoid in [false, true] {
        let mut k = kernel();
        k.set_paranoid(paranoid);
        let mut obj = Object::open(obj_path("lsm.bpf.o")).unwrap();
        obj.load(&mut k).unwrap();
        let p = obj.program("deny_map_type").unwrap();
        assert_eq!((p.prog_type(), p.expected_attach_type()), (29, 27));
        assert_eq!(create(&mut k, 1), Ok(()), "not attached");
        let link = p.attach(&mut k).unwrap();
        assert_eq!(create(&mut k, 1), Err(Errno::EPERM), "paranoid={paranoid}");
        assert_eq!(create(&mut k, 2), Ok(()));
        assert_eq!(u64s(&global(&obj, &mut k, ".bss", "calls")), [2]);
        link.destroy(&mut k).unwrap();
        assert_eq!(create(&mut k, 1), Ok(()));
        assert_eq!(u64s(&global(&obj, &mut k, ".bss", "calls")), [2]);
        assert!(k.take_soundness_violations().is_empty());
    }
}

/// `raw_tp.bpf.o`: its raw_tracepoint program (`attach()`: the section's
/// tracepoint name, `BPF_RAW_TRACEPOINT_OPEN`) and its tp_btf program (`SEC("tp_btf/...")`,
/// target `btf_trace_bpf_test_finish`, linked by `attach()`) run when the
/// XDP program's test runs fire `bpf_test_finish`, and stop when their
/// links close; on the JIT, the interpreter and in paranoid runs.
#[test]
fn raw_tp_object_counts_test_finish_firings() {
    const FRAME: [u8; 42] = [
        0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 1, 8, 0, 0x45, 0, 0, 0x1c, 0, 0, 0, 0, 0x40, 0x11, 0, 0, 10, 0, 0,
        1, 10, 0, 0, 2, 0, 0x35, 0, 0x36, 0, 8, 0, 0,
    ];
    for (jit, paranoid) in [(true, false), (false, false), (true, true)] {
        let mut k = kernel();
        k.set_jit_enable(jit).unwrap();
        k.set_paranoid(paranoid);
        let mut obj = Object::open(obj_path("raw_tp.bpf.o")).unwrap();
        obj.load(&mut k).unwrap();
        let xdp = obj.program("pass").unwrap().fd().unwrap();
        let fire = |k: &mut Kernel, out: usize| {
            let mut data_out = vec![0u8; out];
            k.bpf(BpfAttr::ProgTestRun(TestRunAttr {
                prog_fd: xdp,
                data_in: &FRAME,
                data_out: (out > 0).then_some(&mut data_out[..]),
                ..Default::default()
            }))
        };
        let counts = |k: &mut Kernel| -> Vec<i64> {
            (0u32..3)
                .map(|i| {
                    let v = obj.map("counts").unwrap().lookup(k, &i.to_le_bytes(), 0).unwrap().unwrap();
                    i64::from_le_bytes(v[..8].try_into().unwrap())
                })
                .collect()
        };
        // SEC("raw_tp/bpf_test_finish"): BPF_RAW_TRACEPOINT_OPEN by name.
        let l1 = obj.program("count_raw").unwrap().attach(&mut k).unwrap();
        let l2 = obj.program("count_btf").unwrap().attach(&mut k).unwrap();
        fire(&mut k, 0).unwrap();
        assert_eq!(fire(&mut k, 4), Err(Errno::ENOSPC));
        assert_eq!(counts(&mut k), [2, -28, 2], "jit={jit} paranoid={paranoid}");
        l1.destroy(&mut k).unwrap();
        fire(&mut k, 0).unwrap();
        assert_eq!(counts(&mut k), [2, -28, 3]);
        l2.destroy(&mut k).unwrap();
        fire(&mut k, 0).unwrap();
        assert_eq!(counts(&mut k), [2, -28, 3]);
        assert!(k.take_soundness_violations().is_empty());
    }
}

/// `BPF_RAW_TRACEPOINT_OPEN` without a name links an extension as
/// `BPF_LINK_CREATE` does (`bpf_raw_tp_link_attach()` →
/// `bpf_tracing_prog_attach(prog, 0, 0, 0)`); a name is `EINVAL`.
#[test]
fn freplace_through_raw_tracepoint_open() {
    let args = || [40i32, 30, 50, 0].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    let mut k = kernel();
    let (ext, tgt) = load_extension("freplace.bpf.o", &mut k).unwrap();
    let prog_fd = ext.program("new_clamp_add").unwrap().fd().unwrap();
    let open = |k: &mut Kernel, name| k.bpf(BpfAttr::RawTracepointOpen { name, prog_fd, cookie: 0 });
    assert_eq!(open(&mut k, Some("bpf_test_finish")), Err(Errno::EINVAL));
    let link = open(&mut k, None).unwrap();
    assert_eq!(run(&tgt, &mut k, "use_funcs", &mut args()), 2500);
    k.close(link as i32).unwrap();
    assert_eq!(run(&tgt, &mut k, "use_funcs", &mut args()), 100);
}

/// The kernel's `(byte offset, bit offset, bits)` of `ty.field` and its
/// type id, from the emulated vmlinux BTF.
fn kfield(btf: &Btf, ty: &str, field: &str) -> (u64, u32, u8, TypeId) {
    let id = struct_id(btf, ty).unwrap_or_else(|| panic!("vmlinux has no struct {ty}"));
    let m = btf.member_offset(id, field).unwrap_or_else(|| panic!("vmlinux has no {ty}.{field}"));
    (u64::from(m.bit_offset / 8), m.bit_offset, m.bitfield_size, m.ty)
}

/// libbpf's bitfield arithmetic (`bpf_core_calc_field_relo()`): the load's
/// byte offset and size (the member type's size, doubled until the field
/// fits), and the shifts that extract it on a little-endian target.
fn bitfield_relo(btf: &Btf, ty: &str, field: &str) -> (u64, u64, u64, u64) {
    let (_, bit_off, bits, mty) = kfield(btf, ty, field);
    let (bit_off, bits) = (u64::from(bit_off), u64::from(bits));
    let mut size = u64::from(btf.resolve_size(mty).unwrap());
    let mut byte_off = bit_off / 8 / size * size;
    while bit_off + bits - byte_off * 8 > size * 8 {
        size *= 2;
        byte_off = bit_off / 8 / size * size;
    }
    (byte_off, size, 64 - (bit_off + bits - byte_off * 8), 64 - bits)
}

fn is_signed(btf: &Btf, ty: TypeId) -> u64 {
    match btf.kind(btf.skip_mods_and_typedefs(ty)) {
        Some(Kind::Int { encoding: IntEncoding::Signed, .. }) => 1,
        _ => 0,
    }
}

fn map_type(name: &str) -> u64 {
    uapi_enums::BPF_MAP_TYPE.iter().find(|(n, _)| *n == name).unwrap().1 as u64
}

#[test]
fn core_relocations_match_the_kernel_layouts() {
    let btf = vmlinux_btf();
    let (obj, mut k) = load("core_relocs.bpf.o");
    assert_eq!(run(&obj, &mut k, "core_consts", &mut []), 0);
    let got = u64s(&global(&obj, &mut k, ".bss", "consts"));
    let off = |t: &str, f: &str| kfield(&btf, t, f).0;
    let fsize = |t: &str, f: &str| u64::from(btf.resolve_size(kfield(&btf, t, f).3).unwrap());
    let tsize = |t: &str| u64::from(btf.resolve_size(struct_id(&btf, t).unwrap()).unwrap());
    let (v_off, v_size, v_l, v_r) = bitfield_relo(&btf, "iphdr", "version");
    let (d_off, d_size, d_l, d_r) = bitfield_relo(&btf, "tcphdr", "doff");
    let (_, _, s_l, s_r) = bitfield_relo(&btf, "tcphdr", "syn");
    let want: Vec<u64> = vec![
        off("task_struct", "pid"),
        off("task_struct", "comm"),
        fsize("task_struct", "flags"),
        0,
        1,
        is_signed(&btf, kfield(&btf, "task_struct", "pid").3),
        is_signed(&btf, kfield(&btf, "task_struct", "flags").3),
        off("bpf_map", "max_entries"),
        off("bpf_map", "value_size"),
        fsize("bpf_map", "value_size"),
        0,
        off("bpf_map", "name"),
        1,
        0,
        tsize("task_struct"),
        tsize("iphdr"),
        map_type("BPF_MAP_TYPE_RINGBUF"),
        map_type("BPF_MAP_TYPE_HASH"),
        0,
        1,
        0, // SK_DROP
        1, // SK_PASS
        off("iphdr", "protocol"),
        off("iphdr", "daddr"),
        v_off,
        v_size,
        v_l,
        v_r,
        d_off,
        d_size,
        d_l,
        d_r,
        s_l,
        s_r,
        off("tcphdr", "dest"),
        u64::from(struct_id(&btf, "task_struct").unwrap()),
        0xc0de,
        off("ipv6hdr", "daddr") + 8,
        off("bpf_flow_keys", "ipv6_dst") + 4,
        off("bpf_flow_keys", "thoff"),
    ];
    // Spot checks against the kernel's own numbers, so a wrong formula
    // above cannot hide a wrong relocation.
    assert_eq!((want[5], want[6], want[15], want[16], want[22]), (1, 0, 20, 27, 9));
    assert_eq!((want[26], want[27], want[28], want[30], want[32], want[33]), (56, 60, 12, 56, 54, 63));
    assert_eq!((want[37], want[38], want[39]), (32, 36, 2));
    for (i, w) in want.iter().enumerate() {
        assert_eq!(got[i], *w, "consts[{i}]");
    }

    // core_reads: kernel-layout bytes in, values through the local views.
    let mut ctx = vec![0u8; 104];
    let put = |ctx: &mut Vec<u8>, at: u64, bytes: &[u8]| {
        ctx[at as usize..at as usize + bytes.len()].copy_from_slice(bytes)
    };
    put(&mut ctx, 0, &[0x45]); // version 4, ihl 5
    put(&mut ctx, off("iphdr", "ttl"), &[64]);
    put(&mut ctx, off("iphdr", "protocol"), &[6]);
    put(&mut ctx, off("iphdr", "saddr"), &[10, 0, 0, 1]);
    put(&mut ctx, off("iphdr", "daddr"), &[10, 0, 0, 2]);
    put(&mut ctx, 20 + off("tcphdr", "source"), &8080u16.to_be_bytes());
    put(&mut ctx, 20 + off("tcphdr", "dest"), &80u16.to_be_bytes());
    put(&mut ctx, 20 + 12, &[0x50, 0x03]); // doff 5, fin, syn
    put(&mut ctx, 40 + off("bpf_map", "map_type"), &27u32.to_le_bytes());
    put(&mut ctx, 40 + off("bpf_map", "key_size"), &4u32.to_le_bytes());
    put(&mut ctx, 40 + off("bpf_map", "value_size"), &0x1234u32.to_le_bytes());
    put(&mut ctx, 40 + off("bpf_map", "max_entries"), &1024u32.to_le_bytes());
    assert_eq!(run(&obj, &mut k, "core_reads", &mut ctx), 0);
    let reads = u64s(&global(&obj, &mut k, ".bss", "reads"));
    let le32 = |b: [u8; 4]| u64::from(u32::from_le_bytes(b));
    let le16 = |v: u16| u64::from(u16::from_le_bytes(v.to_be_bytes()));
    assert_eq!(
        reads[..15],
        [
            4,
            5,
            6,
            64,
            le32([10, 0, 0, 1]),
            le32([10, 0, 0, 2]),
            le16(8080),
            le16(80),
            5,
            1,
            1,
            27,
            4,
            0x1234,
            1024
        ]
    );
}

#[test]
fn committed_vmlinux_h_is_the_kernels_btf_dump() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../guest-progs/include/vmlinux.h");
    let committed = std::fs::read_to_string(path).expect("guest-progs/include/vmlinux.h");
    assert!(
        committed == bpfemu_btf::dump_c(&vmlinux_btf()),
        "guest-progs/include/vmlinux.h is stale: regenerate it with \
         `cargo run -q -p bpfemu-cli -- btf dump > guest-progs/include/vmlinux.h` \
         and rebuild the objects (scripts/build-guest.sh)"
    );
}

#[test]
fn program_types_and_attach_types_follow_the_sections() {
    use bpfemu_kernel::uapi::{AttachType, ProgType};
    let types = |name: &str| -> Vec<(String, u32, u32)> {
        let obj = Object::open(obj_path(name)).unwrap();
        obj.programs().map(|p| (p.name().to_owned(), p.prog_type(), p.expected_attach_type())).collect()
    };
    let fd = ProgType::FlowDissector.raw();
    let fd_attach = AttachType::FlowDissector.raw();
    let got = types("flow_dissector.bpf.o");
    let mut names: Vec<&str> = got.iter().map(|(n, _, _)| n.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["dissect", "dissect_ipv4", "dissect_ipv6", "dissect_ipv6_ext", "dissect_vlan"]);
    assert!(got.iter().all(|&(_, t, a)| t == fd && a == fd_attach), "{got:?}");
    for obj in ["sk_lookup_port.bpf.o", "sk_lookup_steer.bpf.o"] {
        let got = types(obj);
        let want = (ProgType::SkLookup.raw(), AttachType::SkLookup.raw());
        assert!(got.iter().all(|&(_, t, a)| (t, a) == want), "{obj}: {got:?}");
    }
    let perf = types("perfbuf.bpf.o");
    let kprobe = perf.iter().find(|(n, _, _)| n == "perf_kprobe").unwrap();
    assert_eq!(kprobe.1, ProgType::Kprobe.raw());
    for obj in
        ["maps.bpf.o", "tail_calls.bpf.o", "global_data.bpf.o", "global_funcs.bpf.o", "core_relocs.bpf.o"]
    {
        let got = types(obj);
        assert!(got.iter().all(|&(_, t, _)| t == ProgType::Syscall.raw()), "{obj}: {got:?}");
    }
}

#[test]
fn every_source_has_an_object_and_says_what_uses_it() {
    let src = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../guest-progs/src");
    let mut sources: Vec<String> = std::fs::read_dir(&src)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".bpf.c"))
        .collect();
    sources.sort();
    let objects: Vec<String> = sources.iter().map(|s| s.replace(".bpf.c", ".bpf.o")).collect();
    assert_eq!(objects, all_objects(), "guest-progs/src and guest-progs/obj differ");
    for s in &sources {
        let text = std::fs::read_to_string(src.join(s)).unwrap();
        let head = text.split("*/").next().unwrap();
        assert!(
            head.contains(s.as_str()) && head.contains("Used by"),
            "{s}: header comment must name the file and say what uses it"
        );
    }
}

/// The ring-buffer producers of `ringbuf.bpf.o` run as SYSCALL programs;
/// their records reach a libbpf-like consumer on its own mapping, in
/// reservation order, the discarded one skipped.
#[test]
fn ringbuf_records_reach_the_consumer() {
    use bpfemu_user::ringbuf::{RingBuffer, RingBufferOpts};
    let (obj, mut k) = load("ringbuf.bpf.o");
    // struct rb_args { u64 tag; u32 discard; u32 wakeup; }
    let args = |tag: u64, discard: u32| {
        let mut a = tag.to_le_bytes().to_vec();
        a.extend(discard.to_le_bytes());
        a.extend(0u32.to_le_bytes());
        a
    };
    assert_eq!(run(&obj, &mut k, "rb_submit", &mut args(0x11, 0)), 0);
    assert_eq!(run(&obj, &mut k, "rb_discard", &mut args(0x22, 1)), 1);
    assert_eq!(run(&obj, &mut k, "rb_output", &mut args(0x33, 0)), 0);
    assert_eq!(run(&obj, &mut k, "rb_discard", &mut args(0x44, 0)), 0);
    let fd = obj.map("events").unwrap().fd().unwrap();
    let mut seen = Vec::new();
    {
        let cb = Box::new(|rec: &[u8]| {
            // struct rb_event { u64 seq; u64 tag; u32 pid; u32 cpu; }
            seen.push((u64_at(rec, 0), u64_at(rec, 8), rec.len()));
            0
        });
        let mut rb = RingBuffer::new(&mut k, fd, cb, RingBufferOpts { sim: true }).expect("ring_buffer__new");
        assert_eq!(rb.consume(), 3);
    }
    assert_eq!(seen, vec![(0, 0x11, 24), (2, 0x33, 24), (3, 0x44, 24)]);
    assert_eq!(u64s(&global(&obj, &mut k, ".bss", "dropped")), vec![0]);
}

/// `flow_dissector.bpf.o` (entry program and its tail-called stages) gives
/// the native dissector's verdict and keys on every frame of the kernel's
/// packet corpus, for each flag set (issue 8: one dissection, two
/// implementations).
#[test]
fn the_c_flow_dissector_agrees_with_the_native_one() {
    use bpfemu_kernel::net::flow_keys::{F_PARSE_1ST_FRAG, F_STOP_AT_ENCAP, F_STOP_AT_FLOW_LABEL};
    let (obj, mut k) = load("flow_dissector.bpf.o");
    let fd = obj.program("dissect").expect("entry program").fd().expect("loaded");
    let prog = k.prog_from_fd(fd).expect("prog");
    for flags in [0, F_PARSE_1ST_FRAG, F_STOP_AT_FLOW_LABEL, F_STOP_AT_ENCAP] {
        match k.flow_dissector_diff(&prog, flags, |_| true) {
            Ok(diff) => assert!(diff.is_empty(), "flags {flags}:\n{}", diff.join("\n")),
            // Flow-dissector runs need packets below 4 GiB (x86-64 Linux).
            Err(e) => assert_eq!(e, Errno::ENOTSUPP),
        }
    }
}

/// `sk_lookup_steer.bpf.o` on a namespace: its sockmap holds a service
/// socket, the program steers lookups for local ports 8000-8099 to it with
/// `bpf_sk_assign` (sockets taken from the map, references released),
/// drops them while the map is empty or when the assignment fails, and
/// leaves other ports to the regular lookup. Under the interpreter and the
/// JIT, and in paranoid mode (checked runs, no soundness violation).
#[test]
fn sk_lookup_steer_object_steers_a_port_range_through_its_sockmap() {
    use bpfemu_kernel::net::sk_lookup::{IPPROTO_TCP, IPPROTO_UDP, LookupReq, LookupResult};
    for (jit, paranoid) in [(false, false), (true, false), (true, true)] {
        let mut k = kernel();
        if k.set_jit_enable(jit).is_err() {
            continue; // no JIT on this architecture
        }
        k.set_paranoid(paranoid);
        let net = k.net_unshare(k.user).unwrap();
        let ns_fd = k.net_open_fd(k.user).unwrap();
        let mut obj = Object::open(obj_path("sk_lookup_steer.bpf.o")).unwrap();
        obj.load(&mut k).unwrap_or_else(|e| panic!("load: {e}"));
        let svc = k.sock_bind(IPPROTO_TCP, "127.0.0.1:9000".parse().unwrap()).unwrap();
        let web = k.sock_bind(IPPROTO_TCP, "10.0.0.2:7000".parse().unwrap()).unwrap();
        let _dns = k.sock_bind(IPPROTO_UDP, "10.0.0.2:8053".parse().unwrap()).unwrap();
        let _link = obj.program("steer").unwrap().attach_netns(&mut k, ns_fd).unwrap();
        let req = |protocol: u8, port: u16| LookupReq {
            protocol,
            remote: "10.0.0.1:40000".parse().unwrap(),
            local: format!("10.0.0.2:{port}").parse().unwrap(),
        };
        // Empty map: the program drops lookups of its range.
        assert_eq!(k.sk_lookup(net, req(IPPROTO_TCP, 8050)).unwrap(), LookupResult::Refused);
        let target = obj.map("target").unwrap();
        let slot = 0u32.to_ne_bytes();
        target.update(&mut k, &slot, &u64::try_from(svc).unwrap().to_ne_bytes(), 0).unwrap();
        // User space reads the socket cookie back (8-byte values).
        assert_eq!(target.lookup(&mut k, &slot, 0).unwrap(), Some(1u64.to_ne_bytes().to_vec()));
        for port in [8000, 8050, 8099] {
            assert_eq!(
                k.sk_lookup(net, req(IPPROTO_TCP, port)).unwrap(),
                LookupResult::Selected(1),
                "{port}"
            );
        }
        // Outside the range: the regular lookup.
        assert_eq!(k.sk_lookup(net, req(IPPROTO_TCP, 7000)).unwrap(), LookupResult::Regular(Some(2)));
        assert_eq!(k.sk_lookup(net, req(IPPROTO_TCP, 8100)).unwrap(), LookupResult::Regular(None));
        // A UDP lookup in the range: bpf_sk_assign says EPROTOTYPE (the
        // service socket is TCP), the program drops.
        assert_eq!(k.sk_lookup(net, req(IPPROTO_UDP, 8053)).unwrap(), LookupResult::Refused);
        // Closing the service socket empties its slot: dropped again.
        k.close(svc).unwrap();
        assert_eq!(target.lookup(&mut k, &slot, 0).unwrap(), None);
        assert_eq!(k.sk_lookup(net, req(IPPROTO_TCP, 8050)).unwrap(), LookupResult::Refused);
        let _ = web;
        assert_eq!(k.take_soundness_violations(), Vec::new(), "jit={jit} paranoid={paranoid}");
    }
}

/// `kfuncs.bpf.o`: `__ksym` kfunc externs resolved against vmlinux BTF; the
/// SYSCALL program looks up the current task by pid, reads it through the
/// task pointer, takes and drops references; a pid with no task gives
/// NULL (return 1).
#[test]
fn kfuncs_object_reads_the_current_task() {
    let (obj, mut k) = load("kfuncs.bpf.o");
    let pid = k.user.0 as i32;
    let comm0 = k.sim.procs.get(k.user).expect("current task").comm.raw()[0];
    // struct task_args { s32 pid; s32 out_pid; s32 out_tgid; u32 comm0; }
    let args = |p: i32| [p, 0, 0, 0].iter().flat_map(|v| v.to_le_bytes()).collect::<Vec<u8>>();
    let mut ctx = args(pid);
    assert_eq!(run(&obj, &mut k, "task_info", &mut ctx), 0);
    let field = |c: &[u8], i: usize| i32::from_le_bytes(c[i * 4..i * 4 + 4].try_into().unwrap());
    assert_eq!((field(&ctx, 1), field(&ctx, 2), field(&ctx, 3)), (pid, pid, i32::from(comm0)));
    let mut none = args(999_999);
    assert_eq!(run(&obj, &mut k, "task_info", &mut none), 1);
    assert_eq!(none, args(999_999));
}

/// `dynptr.bpf.o`: ring-buffer dynptrs written with `bpf_dynptr_write` and
/// a `bpf_dynptr_data` slice reach the consumer (the discarded one does
/// not); a failed reservation is `-EINVAL`; a local dynptr over the array
/// value writes and reads it back, `-E2BIG` beyond it.
#[test]
fn dynptr_object_writes_records_and_values() {
    use bpfemu_user::ringbuf::{RingBuffer, RingBufferOpts};
    let (obj, mut k) = load("dynptr.bpf.o");
    // struct dp_args { u64 tag; u32 discard; u32 off; }
    let args = |tag: u64, discard: u32, off: u32| {
        let mut a = tag.to_le_bytes().to_vec();
        a.extend(discard.to_le_bytes());
        a.extend(off.to_le_bytes());
        a
    };
    assert_eq!(run(&obj, &mut k, "dp_ringbuf", &mut args(0x11, 0, 0)), 0);
    assert_eq!(run(&obj, &mut k, "dp_ringbuf", &mut args(0x22, 1, 0)), 0);
    assert_eq!(run(&obj, &mut k, "dp_ringbuf", &mut args(0x33, 0, 0)), 0);
    let fd = obj.map("events").unwrap().fd().unwrap();
    let mut seen = Vec::new();
    {
        let cb = Box::new(|rec: &[u8]| {
            seen.push((u64_at(rec, 0), u64_at(rec, 8)));
            0
        });
        let mut rb = RingBuffer::new(&mut k, fd, cb, RingBufferOpts { sim: true }).expect("ring_buffer__new");
        assert_eq!(rb.consume(), 2);
    }
    assert_eq!(seen, vec![(0x11, 0xd1d1), (0x33, 0xd1d1)]);
    let e2big = (-7i32) as u32;
    assert_eq!(run(&obj, &mut k, "dp_local", &mut args(0x44, 0, 8)), 0);
    assert_eq!(run(&obj, &mut k, "dp_local", &mut args(0x55, 0, 9)), e2big);
    let v = obj.map("vals").unwrap().lookup(&mut k, &0u32.to_le_bytes(), 0).unwrap().unwrap();
    assert_eq!(u64s(&v), vec![0, 0x44]);
}

/// `lookup_maps.bpf.o`: an LPM trie of routes filled from user space and
/// looked up by an XDP program, a queue and a stack pushed and popped by
/// syscall programs, and a bloom filter remembering source addresses.
#[test]
fn lookup_maps_object_routes_queues_and_remembers() {
    let (obj, mut k) = load("lookup_maps.bpf.o");
    // An Ethernet + IPv4 frame from `src` to `dst`.
    let frame = |src: [u8; 4], dst: [u8; 4]| {
        let mut f = vec![0u8; 34];
        f[12..14].copy_from_slice(&[0x08, 0x00]);
        f[14] = 0x45;
        f[26..30].copy_from_slice(&src);
        f[30..34].copy_from_slice(&dst);
        f
    };
    let xdp = |k: &mut Kernel, prog: &str, data: &[u8]| {
        let fd = obj.program(prog).unwrap().fd().unwrap();
        let mut out = TestRunOut::default();
        k.bpf(BpfAttr::ProgTestRun(TestRunAttr {
            prog_fd: fd,
            data_in: data,
            out: Some(&mut out),
            ..Default::default()
        }))
        .unwrap_or_else(|e| panic!("{prog}: {e}"));
        out.retval
    };
    let bss =
        |k: &mut Kernel, var: &str| u32::from_le_bytes(global(&obj, k, ".bss", var).try_into().unwrap());
    let routes = obj.map("routes").unwrap();
    for (plen, net, v) in [(8u32, [10, 0, 0, 0], 8u32), (16, [10, 1, 0, 0], 16), (0, [0; 4], 1)] {
        let mut key = plen.to_le_bytes().to_vec();
        key.extend_from_slice(&net);
        routes.update(&mut k, &key, &v.to_le_bytes(), 0).unwrap();
    }
    const XDP_DROP: u32 = 1;
    const XDP_PASS: u32 = 2;
    for (dst, want) in [([10, 1, 2, 3], 16), ([10, 9, 9, 9], 8), ([192, 0, 2, 1], 1)] {
        assert_eq!(xdp(&mut k, "route", &frame([1, 1, 1, 1], dst)), XDP_PASS);
        assert_eq!(bss(&mut k, "last_route"), want, "{dst:?}");
    }
    assert_eq!(xdp(&mut k, "route", &frame([1, 1, 1, 1], [10, 1, 2, 3])[..20]), XDP_DROP, "short frame");

    // struct lm_op { u32 value; u32 flags; }
    let op = |value: u32, flags: u32| {
        let mut b = value.to_le_bytes().to_vec();
        b.extend_from_slice(&flags.to_le_bytes());
        b
    };
    for v in 1..=4 {
        assert_eq!(run(&obj, &mut k, "queue_push", &mut op(v, 0)), 0);
        assert_eq!(run(&obj, &mut k, "stack_push", &mut op(v, 0)), 0);
    }
    assert_eq!(run(&obj, &mut k, "queue_push", &mut op(5, 0)) as i32, -(Errno::E2BIG as i32));
    // BPF_EXIST (2) makes room by dropping the oldest.
    assert_eq!(run(&obj, &mut k, "queue_push", &mut op(5, 2)), 0);
    let mut popped = |prog: &str| {
        let mut ctx = op(0, 0);
        let r = run(&obj, &mut k, prog, &mut ctx) as i32;
        (r, u32::from_le_bytes(ctx[0..4].try_into().unwrap()))
    };
    let fifo: Vec<_> = (0..5).map(|_| popped("queue_pop")).collect();
    assert_eq!(fifo, [(0, 2), (0, 3), (0, 4), (0, 5), (-(Errno::ENOENT as i32), 0)]);
    let lifo: Vec<_> = (0..4).map(|_| popped("stack_pop")).collect();
    assert_eq!(lifo, [(0, 4), (0, 3), (0, 2), (0, 1)]);

    assert_eq!(xdp(&mut k, "seen", &frame([7, 7, 7, 7], [10, 0, 0, 1])), XDP_PASS);
    assert_eq!(bss(&mut k, "was_seen"), 0);
    assert_eq!(xdp(&mut k, "seen", &frame([7, 7, 7, 7], [10, 0, 0, 1])), XDP_PASS);
    assert_eq!(bss(&mut k, "was_seen"), 1, "a bloom filter has no false negatives");
}

/// Program tags reported by a Linux 6.18.44 kernel (x86-64) for the
/// committed objects, loaded with bpftool 7.1 / libbpf 1.1
/// (`bpftool prog loadall OBJ /sys/fs/bpf/DIR`, then `bpftool -j prog
/// show`; docs/verifier.md, "Compared with a real kernel"). The tag is the
/// SHA-256 of the instructions as loaded, so equal tags mean bpfemu's
/// loader hands the kernel the same instructions as libbpf and hashes them
/// as the kernel does. Left out: `kfuncs` (its kfunc calls carry the BTF
/// ids of bpfemu's vmlinux, not the host's), `tail_calls` (Linux 6.18
/// refuses prog arrays in sleepable programs; current mainline accepts
/// them) and `core_relocs` (relocated against the host's BTF, which has
/// other layouts).
const LINUX_6_18_TAGS: &[(&str, &str, &str)] = &[
    ("dynptr.bpf.o", "dp_ringbuf", "4b0fbb547524c6f5"),
    ("dynptr.bpf.o", "dp_local", "15a005945a6d883c"),
    ("flow_dissector.bpf.o", "dissect", "b4aece905038ca54"),
    ("flow_dissector.bpf.o", "dissect_vlan", "17ca5da83144bafb"),
    ("flow_dissector.bpf.o", "dissect_ipv4", "a482ed3d056af365"),
    ("flow_dissector.bpf.o", "dissect_ipv6", "396ccb442900aac7"),
    ("flow_dissector.bpf.o", "dissect_ipv6_ext", "1e97ca09271db09e"),
    ("global_data.bpf.o", "globals", "3316c0832ea0528c"),
    ("global_funcs.bpf.o", "use_funcs", "084840a975846974"),
    ("lookup_maps.bpf.o", "route", "74534a1822c3af91"),
    ("lookup_maps.bpf.o", "seen", "1550bb646814c133"),
    ("lookup_maps.bpf.o", "queue_push", "866e0ddae81e2b27"),
    ("lookup_maps.bpf.o", "queue_pop", "25fa29b4db22a456"),
    ("maps.bpf.o", "hash_update", "713c053f26e5ad3d"),
    ("maps.bpf.o", "hash_lookup", "e9e3d9d809b086b2"),
    ("maps.bpf.o", "hash_delete", "7adb9bb7ee31b330"),
    ("maps.bpf.o", "array_add", "6fadf685d2e94b66"),
    ("maps.bpf.o", "percpu_add", "8f8ec57fdded82e3"),
    ("maps.bpf.o", "hash_sum", "c06c676421141917"),
    ("maps.bpf.o", "hash_sum_stop", "a0f25f0245fd1f16"),
    ("perfbuf.bpf.o", "perf_event", "613ed83ead48c874"),
    ("perfbuf.bpf.o", "perf_bench", "35f80c5a0f2f4835"),
    ("perfbuf.bpf.o", "perf_kprobe", "dbedf00ceb6f639f"),
    ("ringbuf.bpf.o", "rb_submit", "667b8a9799e9e3cd"),
    ("ringbuf.bpf.o", "rb_discard", "74fd56a9d0ae1444"),
    ("ringbuf.bpf.o", "rb_output", "dbe7bcf83af420be"),
    ("ringbuf.bpf.o", "rb_query", "e6321d73eca70580"),
    ("ringbuf_bench.bpf.o", "bench_reserve", "e5c75efb0cb333f3"),
    ("ringbuf_bench.bpf.o", "bench_output", "4a96f3a1c6526b4c"),
    ("sk_lookup_port.bpf.o", "drop_port", "d27c76a21c08b36d"),
    ("sk_lookup_port.bpf.o", "port_verdict", "e13825024afd3624"),
    ("sk_lookup_steer.bpf.o", "steer", "6bea55d484cf9334"),
];

#[test]
fn program_tags_are_those_a_linux_kernel_reports() {
    use bpfemu_kernel::bpf::attr::ObjInfo;
    let mut loaded: Vec<(&str, Object, Kernel)> = Vec::new();
    for &(file, prog, want) in LINUX_6_18_TAGS {
        if !loaded.iter().any(|(f, _, _)| *f == file) {
            let (obj, k) = load(file);
            loaded.push((file, obj, k));
        }
        let (_, obj, k) = loaded.iter_mut().find(|(f, _, _)| *f == file).unwrap();
        let fd = obj.program(prog).unwrap_or_else(|| panic!("{file}: no {prog}")).fd().unwrap();
        let mut info = None;
        k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info }).unwrap();
        let Some(ObjInfo::Prog(p)) = info else { panic!("{prog}: not a program") };
        let got: String = p.tag.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(got, want, "{file} {prog}");
    }
}
