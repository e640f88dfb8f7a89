//! `BPF_PROG_LOAD` of extension programs (`BPF_PROG_TYPE_EXT`) against a
//! global function of a loaded program: the target checks of
//! `bpf_check_attach_target()`, `btf_check_type_match()`'s messages, and
//! the extension verified as its target's program type from its own
//! prototype.

use super::*;
use crate::uapi::AttachType;
use bpfemu_btf::ext::{FuncInfoRec, encode_func_info};
use bpfemu_btf::{Btf, FuncLinkage, IntEncoding, MemberDef, TypeId};

/// Both programs' BTF in one object (each load passes it): the target's
/// functions `tgt_main(struct __sk_buff *)`, `g_scalar(int)`,
/// `s_static(int)` (static), `lk_main(struct bpf_sk_lookup *)`; the
/// extensions' `new_g(int)`, `new_static(int)` (static), `new_two(int,
/// int)`, `new_void(int)` returning void, `new_main(struct __sk_buff *)`,
/// `new_pair(struct pair *)`, `new_lk(struct bpf_sk_lookup *)`.
struct T {
    btf: Btf,
    tgt_main: TypeId,
    g_scalar: TypeId,
    s_static: TypeId,
    lk_main: TypeId,
    int: TypeId,
    new_g: TypeId,
    new_static: TypeId,
    new_two: TypeId,
    new_void: TypeId,
    new_main: TypeId,
    new_pair: TypeId,
    new_lk: TypeId,
}

fn test_btf() -> T {
    let mut btf = Btf::new();
    let int = btf.add_int("int", 4, IntEncoding::Signed);
    let skb = btf.add_struct("__sk_buff", 4, &[MemberDef::new("len", int, 0)]);
    let pair = btf.add_struct("pair", 8, &[MemberDef::new("a", int, 0), MemberDef::new("b", int, 32)]);
    let lk = btf.add_struct("bpf_sk_lookup", 4, &[MemberDef::new("family", int, 0)]);
    let skb_ptr = btf.add_ptr(skb);
    let pair_ptr = btf.add_ptr(pair);
    let lk_ptr = btf.add_ptr(lk);
    let p_ctx = btf.add_func_proto(int, &[("ctx", skb_ptr)], false);
    let p_int = btf.add_func_proto(int, &[("x", int)], false);
    let p_two = btf.add_func_proto(int, &[("x", int), ("y", int)], false);
    let p_void = btf.add_func_proto(0, &[("x", int)], false);
    let p_pair = btf.add_func_proto(int, &[("p", pair_ptr)], false);
    let p_lk = btf.add_func_proto(int, &[("ctx", lk_ptr)], false);
    T {
        tgt_main: btf.add_func("tgt_main", p_ctx, FuncLinkage::Global),
        g_scalar: btf.add_func("g_scalar", p_int, FuncLinkage::Global),
        s_static: btf.add_func("s_static", p_int, FuncLinkage::Static),
        lk_main: btf.add_func("lk_main", p_lk, FuncLinkage::Global),
        new_g: btf.add_func("new_g", p_int, FuncLinkage::Global),
        new_static: btf.add_func("new_static", p_int, FuncLinkage::Static),
        new_two: btf.add_func("new_two", p_two, FuncLinkage::Global),
        new_void: btf.add_func("new_void", p_void, FuncLinkage::Global),
        new_main: btf.add_func("new_main", p_ctx, FuncLinkage::Global),
        new_pair: btf.add_func("new_pair", p_pair, FuncLinkage::Global),
        new_lk: btf.add_func("new_lk", p_lk, FuncLinkage::Global),
        int,
        btf,
    }
}

fn btf_fd(k: &mut Kernel, btf: &Btf) -> i32 {
    let data = btf.encode().unwrap();
    k.bpf(BpfAttr::BtfLoad { btf: &data, log: None, log_level: 0 }).unwrap() as i32
}

/// The target: a socket filter whose main calls the global `g_scalar`
/// and the static `s_static`.
const TARGET: &str = "r1 = 1\ncall pc+3\nr1 = 2\ncall pc+3\nexit\nr0 = r1\nexit\nr0 = r1\nexit";

struct Load<'a> {
    prog_type: ProgType,
    expected_attach_type: u32,
    src: &'a str,
    funcs: Vec<(u32, TypeId)>,
    attach_prog_fd: i32,
    attach_btf_id: u32,
}

impl Load<'_> {
    fn ext(src: &str, func: TypeId, attach_prog_fd: i32, attach_btf_id: u32) -> Load<'_> {
        Load {
            prog_type: ProgType::Ext,
            expected_attach_type: 0,
            src,
            funcs: vec![(0, func)],
            attach_prog_fd,
            attach_btf_id,
        }
    }
}

/// Loads with the test BTF at log level 2 (a level-1 log of an accepted
/// load keeps only the statistics): the fd or errno, the log.
fn load_with(k: &mut Kernel, t: &T, l: &Load<'_>) -> (Result<i32, Errno>, String) {
    let fd = btf_fd(k, &t.btf);
    let insns = asm(l.src);
    let fi: Vec<FuncInfoRec> =
        l.funcs.iter().map(|&(insn_off, type_id)| FuncInfoRec { insn_off, type_id }).collect();
    let fi = encode_func_info(&fi);
    let mut log = String::new();
    let mut a = load_attr(l.prog_type, &insns);
    a.expected_attach_type = l.expected_attach_type;
    a.prog_btf_fd = fd;
    a.func_info = &fi;
    a.func_info_rec_size = if fi.is_empty() { 0 } else { 8 };
    a.attach_prog_fd = l.attach_prog_fd;
    a.attach_btf_id = l.attach_btf_id;
    a.log = Some(&mut log);
    a.log_level = 2;
    a.log_size = 1 << 20;
    let r = k.bpf(BpfAttr::ProgLoad(a)).map(|fd| fd as i32);
    (r, log)
}

fn load_target(k: &mut Kernel, t: &T) -> i32 {
    let l = Load {
        prog_type: ProgType::SocketFilter,
        expected_attach_type: 0,
        src: TARGET,
        funcs: vec![(0, t.tgt_main), (5, t.g_scalar), (7, t.s_static)],
        attach_prog_fd: 0,
        attach_btf_id: 0,
    };
    let (r, log) = load_with(k, t, &l);
    r.unwrap_or_else(|e| panic!("{e:?}\n{log}"))
}

#[test]
fn extension_loads_as_its_target_type() {
    let mut k = kernel();
    let t = test_btf();
    let tgt = load_target(&mut k, &t);
    let (r, log) = load_with(&mut k, &t, &Load::ext("r0 = r1\nr0 += 1\nexit", t.new_g, tgt, t.g_scalar));
    let fd = r.unwrap_or_else(|e| panic!("{e:?}\n{log}"));
    assert!(log.starts_with("Validating new_g() func#0...\n"), "{log}");
    let p = prog_of(&k, fd);
    assert_eq!(p.prog_type, ProgType::Ext);
    assert_eq!(p.attach_btf_id, t.g_scalar);
    // The main function of the target, with the socket filter's ctx.
    let (r, log) =
        load_with(&mut k, &t, &Load::ext("r0 = *(u32 *)(r1 + 0)\nexit", t.new_main, tgt, t.tgt_main));
    r.unwrap_or_else(|e| panic!("{e:?}\n{log}"));
}

#[test]
fn extension_arguments_come_from_the_prototype() {
    let mut k = kernel();
    let t = test_btf();
    let tgt = load_target(&mut k, &t);
    // r1 is a scalar for new_g(int): no memory behind it.
    let (r, log) = load_with(&mut k, &t, &Load::ext("r0 = *(u32 *)(r1 + 0)\nexit", t.new_g, tgt, t.g_scalar));
    assert_eq!(r, Err(Errno::EACCES), "{log}");
    assert!(log.contains("R1 invalid mem access 'scalar'"), "{log}");
    // r2 is not an argument of new_g(int).
    let (r, log) = load_with(&mut k, &t, &Load::ext("r0 = r2\nexit", t.new_g, tgt, t.g_scalar));
    assert_eq!(r, Err(Errno::EACCES), "{log}");
    assert!(log.contains("R2 !read_ok"), "{log}");
}

#[test]
fn extension_return_range_is_the_targets() {
    let mut k = kernel();
    let t = test_btf();
    let l = Load {
        prog_type: ProgType::SkLookup,
        expected_attach_type: AttachType::SkLookup.raw(),
        src: "r0 = 1\nexit",
        funcs: vec![(0, t.lk_main)],
        attach_prog_fd: 0,
        attach_btf_id: 0,
    };
    let (r, log) = load_with(&mut k, &t, &l);
    let tgt = r.unwrap_or_else(|e| panic!("{e:?}\n{log}"));
    let (r, log) = load_with(&mut k, &t, &Load::ext("r0 = 2\nexit", t.new_lk, tgt, t.lk_main));
    assert_eq!(r, Err(Errno::EINVAL), "{log}");
    assert!(log.contains("At program exit the register R0 has "), "{log}");
    let (r, log) = load_with(&mut k, &t, &Load::ext("r0 = 1\nexit", t.new_lk, tgt, t.lk_main));
    let fd = r.unwrap_or_else(|e| panic!("{e:?}\n{log}"));
    assert_eq!(prog_of(&k, fd).expected_attach_type, Some(AttachType::SkLookup));
}

#[test]
fn target_refusals() {
    let mut k = kernel();
    let t = test_btf();
    let tgt = load_target(&mut k, &t);
    let ret = "r0 = 0\nexit";
    let cases: Vec<(TypeId, u32, &str)> = vec![
        (t.new_g, t.s_static, "Cannot replace static functions"),
        (t.new_g, t.int, "Subprog int doesn't exist"),
        (t.new_g, 9999, "attach_btf_id 9999 is invalid"),
        (t.new_static, t.g_scalar, "new_static() is not a global function"),
        (t.new_two, t.g_scalar, "new_two() has 2 args while g_scalar() has 1 args"),
        (t.new_void, t.g_scalar, "Return type UNKNOWN of new_void() doesn't match type INT of g_scalar()"),
        (t.new_main, t.g_scalar, "arg0 in new_main() is PTR while g_scalar() has INT"),
        (t.new_pair, t.tgt_main, "arg0 new_pair(struct pair *) doesn't match tgt_main(struct __sk_buff *)"),
    ];
    for (func, target, msg) in cases {
        let (r, log) = load_with(&mut k, &t, &Load::ext(ret, func, tgt, target));
        assert_eq!(r, Err(Errno::EINVAL), "{msg}: {log}");
        assert_eq!(log.lines().next(), Some(msg), "{log}");
    }
    // Without func_info.
    let mut no_btf = Load::ext(ret, t.new_g, tgt, t.g_scalar);
    no_btf.funcs.clear();
    let (r, log) = load_with(&mut k, &t, &no_btf);
    assert_eq!((r, log.lines().next()), (Err(Errno::EINVAL), Some("Program extension requires BTF")));
    // Without attach_btf_id.
    let (r, log) = load_with(&mut k, &t, &Load::ext(ret, t.new_g, tgt, 0));
    assert_eq!((r, log.lines().next()), (Err(Errno::EINVAL), Some("Tracing programs must provide btf_id")));
    // A vmlinux function.
    let id = crate::vmlinux::func_id("bpf_fentry_test1").unwrap();
    let (r, log) = load_with(&mut k, &t, &Load::ext(ret, t.new_g, 0, id));
    assert_eq!((r, log.lines().next()), (Err(Errno::EINVAL), Some("Cannot replace kernel functions")));
    // An extension of an extension.
    let (r, log) = load_with(&mut k, &t, &Load::ext("r0 = r1\nexit", t.new_g, tgt, t.g_scalar));
    let ext = r.unwrap_or_else(|e| panic!("{e:?}\n{log}"));
    let (r, log) = load_with(&mut k, &t, &Load::ext(ret, t.new_g, ext, t.new_g));
    assert_eq!((r, log.lines().next()), (Err(Errno::EINVAL), Some("Cannot recursively attach")));
    // A target without BTF.
    let bare = load(&mut k, ProgType::SocketFilter, "r0 = 0\nexit").unwrap();
    let (r, log) = load_with(&mut k, &t, &Load::ext(ret, t.new_g, bare, t.g_scalar));
    assert_eq!(
        (r, log.lines().next()),
        (
            Err(Errno::EINVAL),
            Some("FENTRY/FEXIT program can only be attached to another program annotated with BTF")
        )
    );
}

#[cfg(target_arch = "x86_64")]
#[test]
fn extensions_need_the_jit() {
    let mut k = kernel();
    let t = test_btf();
    k.set_jit_enable(false).unwrap();
    let interp = load_target(&mut k, &t);
    let (r, log) = load_with(&mut k, &t, &Load::ext("r0 = r1\nexit", t.new_g, interp, t.g_scalar));
    assert_eq!((r, log.lines().next()), (Err(Errno::EINVAL), Some("Extension programs should be JITed")));
    k.set_jit_enable(true).unwrap();
    let (r, log) = load_with(&mut k, &t, &Load::ext("r0 = r1\nexit", t.new_g, interp, t.g_scalar));
    assert_eq!((r, log.lines().next()), (Err(Errno::EINVAL), Some("Can attach to only JITed progs")));
}

/// The target of the run tests: a syscall program whose main returns
/// `g_scalar(5)`, `g_scalar` returning its argument + 1.
const SYS_TARGET: &str = "r1 = 5\ncall pc+1\nexit\nr0 = r1\nr0 += 1\nexit";

fn load_sys_target(k: &mut Kernel, t: &T) -> i32 {
    let l = Load {
        prog_type: ProgType::Syscall,
        expected_attach_type: 0,
        src: SYS_TARGET,
        funcs: vec![(0, t.new_two), (3, t.g_scalar)],
        attach_prog_fd: 0,
        attach_btf_id: 0,
    };
    let (r, log) = load_with(k, t, &l);
    r.unwrap_or_else(|e| panic!("{e:?}\n{log}"))
}

fn link(k: &mut Kernel, prog_fd: i32, target_fd: i32, target_btf_id: u32) -> Result<i32, Errno> {
    let a = crate::bpf::attr::LinkCreateAttr { prog_fd, target_fd, target_btf_id, ..Default::default() };
    k.bpf(BpfAttr::LinkCreate(a)).map(|fd| fd as i32)
}

fn run(k: &mut Kernel, fd: i32) -> u32 {
    test_run(k, fd, &[0u8; 8]).unwrap().0
}

/// Both engines (the JIT, and the interpreter of paranoid runs) call the
/// extension instead of the function while the link lives.
#[test]
fn freplace_link_replaces_the_function_on_both_engines() {
    for paranoid in [false, true] {
        let mut k = kernel();
        k.set_paranoid(paranoid);
        let t = test_btf();
        let tgt = load_sys_target(&mut k, &t);
        assert_eq!(run(&mut k, tgt), 6);
        let (r, log) = load_with(&mut k, &t, &Load::ext("r0 = r1\nr0 *= 10\nexit", t.new_g, tgt, t.g_scalar));
        let ext = r.unwrap_or_else(|e| panic!("{e:?}\n{log}"));
        // The attach type must be the extension's (its target's: 0).
        let a = crate::bpf::attr::LinkCreateAttr { prog_fd: ext, attach_type: 5, ..Default::default() };
        assert_eq!(k.bpf(BpfAttr::LinkCreate(a)), Err(Errno::EINVAL));
        assert_eq!(link(&mut k, ext, tgt, 0), Err(Errno::EINVAL));
        let l = link(&mut k, ext, 0, 0).unwrap();
        assert_eq!(run(&mut k, tgt), 50, "paranoid={paranoid}");
        // The load's target is used once; one extension per function.
        assert_eq!(link(&mut k, ext, 0, 0), Err(Errno::EINVAL));
        assert_eq!(link(&mut k, ext, tgt, t.g_scalar), Err(Errno::EBUSY));
        let (r, log) = load_with(&mut k, &t, &Load::ext("r0 = 7\nexit", t.new_g, tgt, t.g_scalar));
        let other = r.unwrap_or_else(|e| panic!("{e:?}\n{log}"));
        assert_eq!(link(&mut k, other, 0, 0), Err(Errno::EBUSY));
        assert_eq!(k.bpf(BpfAttr::LinkDetach { link_fd: l }), Err(Errno::EOPNOTSUPP));
        k.close(l).unwrap();
        assert_eq!(run(&mut k, tgt), 6);
        let l2 = link(&mut k, other, 0, 0).unwrap();
        assert_eq!(run(&mut k, tgt), 7);
        k.close(l2).unwrap();
        // A new link of the first extension, naming the target.
        let l3 = link(&mut k, ext, tgt, t.g_scalar).unwrap();
        assert_eq!(run(&mut k, tgt), 50);
        k.close(l3).unwrap();
        assert_eq!(run(&mut k, tgt), 6);
    }
}

/// An extension's maps are reachable in the target's runs: its map
/// lookup finds the value on the JIT and in paranoid (checked) runs.
#[test]
fn extension_maps_join_the_targets_runs() {
    use crate::map::MapCreateAttr;
    for paranoid in [false, true] {
        let mut k = kernel();
        k.set_paranoid(paranoid);
        let t = test_btf();
        let attr = MapCreateAttr {
            map_type: MapType::Array.raw(),
            key_size: 4,
            value_size: 4,
            max_entries: 1,
            map_name: b"m".to_vec(),
            ..Default::default()
        };
        let mfd = k.bpf(BpfAttr::MapCreate(attr)).unwrap() as i32;
        let v = 1000u32.to_le_bytes();
        k.bpf(BpfAttr::MapUpdateElem { map_fd: mfd, key: &0u32.to_le_bytes(), value: &v, flags: 0 }).unwrap();
        let tgt = load_sys_target(&mut k, &t);
        let src = format!(
            "*(u32 *)(r10 -4) = 0\nr6 = r1\nr1 = map[fd:{mfd}]\nr2 = r10\nr2 += -4\ncall 1\n\
             if r0 == 0 goto +3\nr0 = *(u32 *)(r0 +0)\nr0 += r6\nexit\nr0 = 0\nexit"
        );
        let (r, log) = load_with(&mut k, &t, &Load::ext(&src, t.new_g, tgt, t.g_scalar));
        let ext = r.unwrap_or_else(|e| panic!("{e:?}\n{log}"));
        let l = link(&mut k, ext, 0, 0).unwrap();
        assert_eq!(run(&mut k, tgt), 1005, "paranoid={paranoid}");
        assert!(k.take_soundness_violations().is_empty());
        k.close(l).unwrap();
        assert_eq!(run(&mut k, tgt), 6);
    }
}

/// A target reached by a tail call runs its extension too, on both
/// engines.
#[test]
fn tail_called_targets_run_their_extension() {
    use crate::map::MapCreateAttr;
    for paranoid in [false, true] {
        let mut k = kernel();
        k.set_paranoid(paranoid);
        let t = test_btf();
        let attr = MapCreateAttr {
            map_type: MapType::ProgArray.raw(),
            key_size: 4,
            value_size: 4,
            max_entries: 1,
            map_name: b"jmp".to_vec(),
            ..Default::default()
        };
        let afd = k.bpf(BpfAttr::MapCreate(attr)).unwrap() as i32;
        let tgt = load_sys_target(&mut k, &t);
        let v = (tgt as u32).to_le_bytes();
        k.bpf(BpfAttr::MapUpdateElem { map_fd: afd, key: &0u32.to_le_bytes(), value: &v, flags: 0 }).unwrap();
        let entry =
            load(&mut k, ProgType::Syscall, &format!("r2 = map[fd:{afd}]\nr3 = 0\ncall 12\nr0 = 99\nexit"))
                .unwrap();
        assert_eq!(run(&mut k, entry), 6);
        let (r, log) = load_with(&mut k, &t, &Load::ext("r0 = r1\nr0 *= 10\nexit", t.new_g, tgt, t.g_scalar));
        let ext = r.unwrap_or_else(|e| panic!("{e:?}\n{log}"));
        let l = link(&mut k, ext, 0, 0).unwrap();
        assert_eq!(run(&mut k, entry), 50, "paranoid={paranoid}");
        k.close(l).unwrap();
        assert_eq!(run(&mut k, entry), 6);
    }
}
