//! `BPF_PROG_LOAD` with `prog_btf_fd`, `func_info` and `line_info`:
//! the record checks, global functions verified against their prototype,
//! source lines in the verifier log, `bpf_prog_info`'s counts.

use super::*;
use crate::bpf::attr::ObjInfo;
use bpfemu_btf::ext::{FuncInfoRec, LineInfoRec, encode_func_info, encode_line_info};
use bpfemu_btf::{Btf, FuncLinkage, IntEncoding, MemberDef, TypeId};

/// The test BTF: `int`, `struct __sk_buff`, `struct pair { int a, b; }`,
/// and FUNCs: `main(struct __sk_buff *)` static, `g_scalar(int)` global,
/// `g_ctx(struct __sk_buff *)` global, `g_mem(struct pair *)` global,
/// `g_ptr_ret(int)` returning `int *` global, `g_nonnull(struct pair *)`
/// with `arg:nonnull`.
struct TestBtf {
    btf: Btf,
    main: TypeId,
    g_scalar: TypeId,
    g_ctx: TypeId,
    g_mem: TypeId,
    g_ptr_ret: TypeId,
    g_nonnull: TypeId,
    void_main: TypeId,
    file: u32,
    lines: Vec<u32>,
}

fn test_btf() -> TestBtf {
    let mut btf = Btf::new();
    let int = btf.add_int("int", 4, IntEncoding::Signed);
    let skb = btf.add_struct("__sk_buff", 4, &[MemberDef::new("len", int, 0)]);
    let pair = btf.add_struct("pair", 8, &[MemberDef::new("a", int, 0), MemberDef::new("b", int, 32)]);
    let skb_ptr = btf.add_ptr(skb);
    let pair_ptr = btf.add_ptr(pair);
    let int_ptr = btf.add_ptr(int);
    let p_ctx = btf.add_func_proto(int, &[("ctx", skb_ptr)], false);
    let p_int = btf.add_func_proto(int, &[("x", int)], false);
    let p_pair = btf.add_func_proto(int, &[("p", pair_ptr)], false);
    let p_ret_ptr = btf.add_func_proto(int_ptr, &[("x", int)], false);
    let main = btf.add_func("main", p_ctx, FuncLinkage::Static);
    let g_scalar = btf.add_func("g_scalar", p_int, FuncLinkage::Global);
    let g_ctx = btf.add_func("g_ctx", p_ctx, FuncLinkage::Global);
    let g_mem = btf.add_func("g_mem", p_pair, FuncLinkage::Global);
    let g_ptr_ret = btf.add_func("g_ptr_ret", p_ret_ptr, FuncLinkage::Global);
    let g_nonnull = btf.add_func("g_nonnull", p_pair, FuncLinkage::Global);
    btf.add_decl_tag("arg:nonnull", g_nonnull, 0);
    let p_void = btf.add_func_proto(0, &[("ctx", skb_ptr)], false);
    let void_main = btf.add_func("void_main", p_void, FuncLinkage::Global);
    let file = btf.strings.intern("/src/prog/test.c");
    let lines = [
        "int main(struct __sk_buff *ctx)",
        "    int x = g(1);",
        "    return x;",
        "int g(int x) {",
        "  return x + 1;",
    ]
    .iter()
    .map(|l| btf.strings.intern(l))
    .collect();
    TestBtf { btf, main, g_scalar, g_ctx, g_mem, g_ptr_ret, g_nonnull, void_main, file, lines }
}

fn btf_fd(k: &mut Kernel, btf: &Btf) -> i32 {
    let data = btf.encode().unwrap();
    k.bpf(BpfAttr::BtfLoad { btf: &data, log: None, log_level: 0 }).unwrap() as i32
}

/// func_info records: (insn_off, FUNC id).
type Funcs = Vec<(u32, TypeId)>;
/// line_info records: (insn_off, index of the test line, line number).
type Lines = Vec<(u32, u32, u32)>;

struct Load<'a> {
    src: &'a str,
    funcs: Funcs,
    lines: Lines,
    level: u32,
}

/// Loads a socket filter with the test BTF: the result, the log, the fd.
fn load_btf(k: &mut Kernel, t: &TestBtf, l: &Load<'_>) -> (Result<i32, Errno>, String) {
    let fd = btf_fd(k, &t.btf);
    let insns = asm(l.src);
    let fi: Vec<FuncInfoRec> =
        l.funcs.iter().map(|&(insn_off, type_id)| FuncInfoRec { insn_off, type_id }).collect();
    let li: Vec<LineInfoRec> = l
        .lines
        .iter()
        .map(|&(insn_off, line, num)| LineInfoRec {
            insn_off,
            file_name_off: t.file,
            line_off: t.lines[line as usize],
            line_col: num << 10 | 5,
        })
        .collect();
    let fi = encode_func_info(&fi);
    let li = encode_line_info(&li);
    let mut log = String::new();
    let mut a = load_attr(ProgType::SocketFilter, &insns);
    a.prog_btf_fd = fd;
    a.func_info = &fi;
    a.func_info_rec_size = if fi.is_empty() { 0 } else { 8 };
    a.line_info = &li;
    a.line_info_rec_size = if li.is_empty() { 0 } else { 16 };
    a.log = Some(&mut log);
    a.log_level = l.level;
    a.log_size = 1 << 20;
    let r = k.bpf(BpfAttr::ProgLoad(a)).map(|fd| fd as i32);
    (r, log)
}

const TWO_FUNCS: &str = "r1 = 1\ncall pc+2\nr0 = 0\nexit\nr0 = r1\nexit";

#[test]
fn global_function_verified_once_with_source_lines() {
    let mut k = kernel();
    let t = test_btf();
    let l = Load {
        src: TWO_FUNCS,
        funcs: vec![(0, t.main), (4, t.g_scalar)],
        lines: vec![(0, 1, 12), (2, 2, 13), (4, 3, 3), (5, 4, 4)],
        level: 2,
    };
    let (r, log) = load_btf(&mut k, &t, &l);
    let fd = r.unwrap_or_else(|e| panic!("{e:?}\n{log}"));
    if std::env::var_os("SHOW_LOG").is_some() {
        eprintln!("{log}");
    }
    assert!(log.contains("; int x = g(1); @ test.c:12\n0: (b7) r1 = 1"), "{log}");
    assert!(log.contains("Func#1 ('g_scalar') is global and assumed valid.\n"), "{log}");
    assert!(log.contains("Validating g_scalar() func#1...\n"), "{log}");
    assert!(log.contains("; int g(int x) { @ test.c:3\n4: (bf) r0 = r1"), "{log}");
    assert!(log.contains("Func#1 ('g_scalar') is safe for any args that match its prototype\n"), "{log}");
    // The callee was not walked from the caller: r0 after the call is unknown.
    let p = prog_of(&k, fd);
    assert_ne!(p.btf_id, 0);
    let info = k.bpf_obj_info(fd);
    assert_eq!((info.nr_func_info, info.func_info_rec_size), (2, 8));
    assert_eq!((info.nr_line_info, info.line_info_rec_size), (4, 16));
}

impl Kernel {
    fn bpf_obj_info(&mut self, fd: i32) -> crate::bpf::attr::ProgInfo {
        let mut out = None;
        self.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut out }).unwrap();
        match out {
            Some(ObjInfo::Prog(p)) => p,
            other => panic!("{other:?}"),
        }
    }
}

#[test]
fn caller_args_checked_against_prototype() {
    let mut k = kernel();
    let t = test_btf();
    // A pointer where the prototype says int.
    let l = Load {
        src: "r1 = r10\ncall pc+2\nr0 = 0\nexit\nr0 = 0\nexit",
        funcs: vec![(0, t.main), (4, t.g_scalar)],
        lines: vec![],
        level: 1,
    };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert_eq!(r, Err(Errno::EINVAL));
    assert!(
        log.contains("R1 is not a scalar\nCaller passes invalid args into func#1 ('g_scalar')\n"),
        "{log}"
    );
    // ctx expected, a scalar passed.
    let l = Load {
        src: "r1 = 0\ncall pc+2\nr0 = 0\nexit\nr0 = 0\nexit",
        funcs: vec![(0, t.main), (4, t.g_ctx)],
        lines: vec![],
        level: 1,
    };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert_eq!(r, Err(Errno::EINVAL));
    assert!(log.contains("arg#0 expects pointer to ctx"), "{log}");
    // ctx passed through: accepted, and the callee reads the ctx.
    let l = Load {
        src: "call pc+2\nr0 = 0\nexit\nr0 = *(u32 *)(r1 +0)\nexit",
        funcs: vec![(0, t.main), (3, t.g_ctx)],
        lines: vec![],
        level: 1,
    };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert!(r.is_ok(), "{log}");
    // Memory: 8 initialised stack bytes are fine, 4 are not.
    let ok = "*(u64 *)(r10 -8) = 0\nr1 = r10\nr1 += -8\ncall pc+2\nr0 = 0\nexit\nr0 = 0\nexit";
    let l = Load { src: ok, funcs: vec![(0, t.main), (6, t.g_mem)], lines: vec![], level: 1 };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert!(r.is_ok(), "{log}");
    let short = "*(u32 *)(r10 -4) = 0\nr1 = r10\nr1 += -4\ncall pc+2\nr0 = 0\nexit\nr0 = 0\nexit";
    let l = Load { src: short, funcs: vec![(0, t.main), (6, t.g_mem)], lines: vec![], level: 1 };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert!(r.is_err(), "{log}");
    assert!(log.contains("Caller passes invalid args into func#1 ('g_mem')"), "{log}");
    // NULL is fine for a nullable pointer.
    let null = "r1 = 0\ncall pc+2\nr0 = 0\nexit\nr0 = 0\nexit";
    let l = Load { src: null, funcs: vec![(0, t.main), (4, t.g_mem)], lines: vec![], level: 1 };
    assert!(load_btf(&mut k, &t, &l).0.is_ok());
}

#[test]
fn callee_sees_its_prototype() {
    let mut k = kernel();
    let t = test_btf();
    // A nullable pointer must be checked before use.
    let deref = "r1 = 0\ncall pc+2\nr0 = 0\nexit\nr0 = *(u32 *)(r1 +0)\nexit";
    let l = Load { src: deref, funcs: vec![(0, t.main), (4, t.g_mem)], lines: vec![], level: 1 };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert_eq!(r, Err(Errno::EACCES), "{log}");
    assert!(log.contains("R1 invalid mem access 'mem_or_null'"), "{log}");
    // With __arg_nonnull it need not be; reading past its size is refused.
    let mut k = kernel();
    let src = "*(u64 *)(r10 -8) = 0\nr1 = r10\nr1 += -8\ncall pc+2\nr0 = 0\nexit\nr0 = *(u32 *)(r1 +4)\nexit";
    let l = Load { src, funcs: vec![(0, t.main), (6, t.g_nonnull)], lines: vec![], level: 1 };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert!(r.is_ok(), "{log}");
    let src = "*(u64 *)(r10 -8) = 0\nr1 = r10\nr1 += -8\ncall pc+2\nr0 = 0\nexit\nr0 = *(u32 *)(r1 +8)\nexit";
    let l = Load { src, funcs: vec![(0, t.main), (6, t.g_nonnull)], lines: vec![], level: 1 };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert_eq!(r, Err(Errno::EACCES), "{log}");
    assert!(log.contains("Validating g_nonnull() func#1..."), "{log}");
    // A non-NULL argument is required.
    let src = "r1 = 0\ncall pc+2\nr0 = 0\nexit\nr0 = 0\nexit";
    let l = Load { src, funcs: vec![(0, t.main), (4, t.g_nonnull)], lines: vec![], level: 1 };
    let (r, _) = load_btf(&mut k, &t, &l);
    assert!(r.is_ok(), "a NULL constant passes check_mem_reg() as in the kernel");
    // r0 must be a scalar at a global function's exit.
    let src = "r1 = 1\ncall pc+2\nr0 = 0\nexit\nr0 = r10\nexit";
    let l = Load { src, funcs: vec![(0, t.main), (4, t.g_scalar)], lines: vec![], level: 1 };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert_eq!(r, Err(Errno::EINVAL), "{log}");
    assert!(log.contains("At subprogram exit the register R0 is not a scalar value (fp)"), "{log}");
    // A prototype the kernel cannot use.
    let src = "r1 = 1\ncall pc+2\nr0 = 0\nexit\nr0 = 0\nexit";
    let l = Load { src, funcs: vec![(0, t.main), (4, t.g_ptr_ret)], lines: vec![], level: 1 };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert_eq!(r, Err(Errno::EINVAL), "{log}");
    assert!(
        log.contains("Global function g_ptr_ret() doesn't return scalar. Only those are supported."),
        "{log}"
    );
}

#[test]
fn func_info_record_errors() {
    let t = test_btf();
    let cases: Vec<(Funcs, Errno, &str)> = vec![
        (
            vec![(1, t.main), (4, t.g_scalar)],
            Errno::EINVAL,
            "nonzero insn_off 1 for the first func info record",
        ),
        (
            vec![(0, t.main), (0, t.g_scalar)],
            Errno::EINVAL,
            "same or smaller insn offset (0) than previous func info record (0)",
        ),
        (vec![(0, 1), (4, t.g_scalar)], Errno::EINVAL, "invalid type id 1 in func info"),
        (vec![(0, t.main)], Errno::EINVAL, "number of funcs in func_info doesn't match number of subprogs"),
        (
            vec![(0, t.main), (3, t.g_scalar)],
            Errno::EINVAL,
            "func_info BTF section doesn't match subprog layout in BPF program",
        ),
    ];
    for (funcs, errno, msg) in cases {
        let mut k = kernel();
        let l = Load { src: TWO_FUNCS, funcs, lines: vec![], level: 1 };
        let (r, log) = load_btf(&mut k, &t, &l);
        assert_eq!(r, Err(errno), "{msg}: {log}");
        assert!(log.contains(msg), "{msg}: {log}");
    }
}

#[test]
fn line_info_record_errors() {
    let t = test_btf();
    let funcs = vec![(0, t.main), (4, t.g_scalar)];
    let cases: Vec<(Lines, &str)> = vec![
        (
            vec![(0, 0, 1), (4, 0, 2), (4, 0, 3)],
            "Invalid line_info[2].insn_off:4 (prev_offset:4 prog->len:6)",
        ),
        (
            vec![(0, 0, 1), (4, 0, 2), (6, 0, 3)],
            "Invalid line_info[2].insn_off:6 (prev_offset:4 prog->len:6)",
        ),
        (vec![(0, 0, 1), (5, 0, 2)], "missing bpf_line_info for func#1"),
        (vec![(0, 0, 1), (2, 0, 2)], "missing bpf_line_info for 1 funcs starting from func#1"),
    ];
    for (lines, msg) in cases {
        let mut k = kernel();
        let l = Load { src: TWO_FUNCS, funcs: funcs.clone(), lines, level: 1 };
        let (r, log) = load_btf(&mut k, &t, &l);
        assert_eq!(r, Err(Errno::EINVAL), "{msg}: {log}");
        assert!(log.contains(msg), "{msg}: {log}");
    }
}

#[test]
fn attribute_errors() {
    let mut k = kernel();
    let t = test_btf();
    let fd = btf_fd(&mut k, &t.btf);
    let insns = asm("r0 = 0\nexit");
    let fi = encode_func_info(&[FuncInfoRec { insn_off: 0, type_id: t.main }]);
    let try_load = |k: &mut Kernel, btf_fd: i32, fi: &[u8], rec: u32| {
        let mut log = String::new();
        let mut a = load_attr(ProgType::SocketFilter, &insns);
        a.prog_btf_fd = btf_fd;
        a.func_info = fi;
        a.func_info_rec_size = rec;
        a.log = Some(&mut log);
        a.log_level = 1;
        a.log_size = 4096;
        (k.bpf(BpfAttr::ProgLoad(a)).map(|fd| fd as i32), log)
    };
    assert!(try_load(&mut k, fd, &fi, 8).0.is_ok());
    assert_eq!(try_load(&mut k, 99, &fi, 8).0, Err(Errno::EBADF));
    let other = load(&mut k, ProgType::Syscall, "r0 = 0\nexit").unwrap();
    assert_eq!(try_load(&mut k, other, &fi, 8).0, Err(Errno::EINVAL), "not a BTF fd");
    let vmlinux = k.bpf(BpfAttr::BtfGetFdById { id: 1 }).unwrap() as i32;
    assert_eq!(try_load(&mut k, vmlinux, &fi, 8).0, Err(Errno::EACCES), "kernel BTF");
    let (r, log) = try_load(&mut k, fd, &fi, 6);
    assert_eq!(r, Err(Errno::EINVAL));
    assert!(log.contains("invalid func info rec size 6"), "{log}");
    let mut long = fi.clone();
    long.extend_from_slice(&[0, 0, 0, 0]);
    assert!(try_load(&mut k, fd, &long, 12).0.is_ok(), "zero tail");
    long[9] = 1;
    let (r, log) = try_load(&mut k, fd, &long, 12);
    assert_eq!(r, Err(Errno::E2BIG));
    assert!(log.contains("nonzero tailing record in func info"), "{log}");
    // Without func or line info the fd is not looked at.
    assert!(try_load(&mut k, 99, &[], 0).0.is_ok());
}

#[test]
fn pseudo_btf_id_loads() {
    let mut k = kernel();
    let t = test_btf();
    let user_btf = btf_fd(&mut k, &t.btf);
    let try_load = |k: &mut Kernel, id: u32, fd: i32| {
        let insns = [
            Insn::new(0x18, 1, 3, 0, id as i32),
            Insn::new(0, 0, 0, 0, fd),
            Insn::new(0xb7, 0, 0, 0, 0),
            Insn::new(0x95, 0, 0, 0, 0),
        ];
        let mut log = String::new();
        let mut a = load_attr(ProgType::Syscall, &insns);
        a.log = Some(&mut log);
        a.log_level = 1;
        a.log_size = 4096;
        (k.bpf(BpfAttr::ProgLoad(a)).map(|fd| fd as i32), log)
    };
    let (r, log) = try_load(&mut k, 999_999, 0);
    assert_eq!(r, Err(Errno::ENOENT));
    assert!(log.contains("ldimm64 insn specifies invalid btf_id 999999."), "{log}");
    let (r, log) = try_load(&mut k, 1, 0);
    assert_eq!(r, Err(Errno::EINVAL));
    assert!(log.contains("pseudo btf_id 1 in ldimm64 isn't KIND_VAR or KIND_FUNC"), "{log}");
    let (r, log) = try_load(&mut k, 1, 77);
    assert_eq!(r, Err(Errno::EINVAL));
    assert!(log.contains("invalid module BTF object FD specified."), "{log}");
    let (r, log) = try_load(&mut k, t.g_scalar, user_btf);
    assert_eq!(r, Err(Errno::ENOENT));
    assert!(log.contains("ldimm64 failed to find the address for kernel symbol 'g_scalar'."), "{log}");
}

#[test]
fn main_prototype_message_is_not_fatal() {
    let mut k = kernel();
    let t = test_btf();
    // Level 2: an accepted load's level-1 log is reset to the statistics.
    let l = Load { src: "r0 = 0\nexit", funcs: vec![(0, t.void_main)], lines: vec![], level: 2 };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert!(r.is_ok(), "{log}");
    assert!(
        log.starts_with("Global function void_main() doesn't return scalar. Only those are supported.\n"),
        "{log}"
    );
}

#[test]
fn global_called_from_global_is_verified_too() {
    let mut k = kernel();
    let t = test_btf();
    // main calls g_scalar (insn 4), which calls g_mem (insn 10) with NULL;
    // g_scalar branches on its argument.
    let src = "r1 = 1\ncall pc+2\nr0 = 0\nexit\n\
               if r1 > 5 goto pc+3\nr1 = 0\ncall pc+3\nexit\nr0 = 1\nexit\n\
               r0 = 0\nif r1 == 0 goto pc+1\nr0 = *(u32 *)(r1 +4)\nexit";
    let l = Load { src, funcs: vec![(0, t.main), (4, t.g_scalar), (10, t.g_mem)], lines: vec![], level: 2 };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert!(r.is_ok(), "{log}");
    let a = log.find("Validating g_scalar() func#1...").expect("g_scalar validated");
    let b = log.find("Validating g_mem() func#2...").expect("g_mem validated");
    assert!(a < b, "{log}");
    assert!(log.contains("Func#2 ('g_mem') is global and assumed valid."), "{log}");
    assert!(log.contains("Func#2 ('g_mem') is safe for any args that match its prototype"), "{log}");
    // g_mem reading past its 8 bytes is refused while validated.
    let mut k = kernel();
    let src = src.replace("(r1 +4)", "(r1 +6)");
    let l =
        Load { src: &src, funcs: vec![(0, t.main), (4, t.g_scalar), (10, t.g_mem)], lines: vec![], level: 1 };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert_eq!(r, Err(Errno::EACCES), "{log}");
    assert!(log.contains("invalid access to memory, mem_size=8 off=6 size=4"), "{log}");
}

#[test]
fn global_function_as_callback_is_refused() {
    // check_ld_imm(): a BPF_PSEUDO_FUNC target must have static linkage.
    let mut k = kernel();
    let t = test_btf();
    let src = "r1 = 4\nr2 = subprog[+6]\nr3 = 0\nr4 = 0\ncall 181\nr0 = 0\nexit\nr0 = 0\nexit";
    let l = Load { src, funcs: vec![(0, t.main), (8, t.g_scalar)], lines: vec![], level: 1 };
    let (r, log) = load_btf(&mut k, &t, &l);
    assert_eq!(r, Err(Errno::EINVAL));
    assert!(log.contains("callback function not static"), "{log}");
}
