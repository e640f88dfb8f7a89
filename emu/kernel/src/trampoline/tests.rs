use super::TEST_FUNCS;
use super::targets::{btf_id_of, by_btf_id, fmodret_flags};
use crate::vmlinux::{shared, struct_id};
use bpfemu_btf::{BtfKind, Kind};

#[test]
fn every_test_function_is_a_func_with_its_prototype() {
    let btf = shared();
    for f in TEST_FUNCS {
        let id = btf_id_of(f.name).unwrap_or_else(|| panic!("{} in vmlinux", f.name));
        assert_eq!(by_btf_id(id).map(|g| g.name), Some(f.name));
        let Some(Kind::Func { proto, .. }) = btf.kind(id) else { panic!("FUNC") };
        let Some(Kind::FuncProto { ret, params }) = btf.kind(*proto) else { panic!("FUNC_PROTO") };
        assert_eq!(btf.str_at(btf.get(*ret).unwrap().name_off), "int");
        let names: Vec<&str> = params.iter().map(|p| btf.str_at(p.name_off)).collect();
        let want: Vec<&str> = f.params.iter().map(|p| p.0).collect();
        assert_eq!(names, want);
    }
    let t7 = btf_id_of("bpf_fentry_test7").unwrap();
    let Some(Kind::Func { proto, .. }) = btf.kind(t7) else { panic!() };
    let Some(Kind::FuncProto { params, .. }) = btf.kind(*proto) else { panic!() };
    let Some(Kind::Ptr { ty }) = btf.kind(params[0].ty) else { panic!("struct pointer") };
    assert_eq!(Some(*ty), struct_id(&btf, "bpf_fentry_test_t"));
}

#[test]
fn appended_after_every_earlier_entry() {
    let btf = shared();
    let dynptr = btf.find_by_name_kind("bpf_dynptr", BtfKind::Struct).unwrap();
    let first = TEST_FUNCS.iter().map(|f| btf_id_of(f.name).unwrap()).min().unwrap();
    assert!(first > dynptr, "test functions come after struct bpf_dynptr");
    assert!(struct_id(&btf, "bpf_fentry_test_t").unwrap() > dynptr);
}

#[test]
fn fmodret_set() {
    let id = |n| btf_id_of(n).unwrap();
    assert_eq!(fmodret_flags(id("bpf_modify_return_test")), Some(0));
    assert_eq!(fmodret_flags(id("bpf_fentry_test1")), Some(crate::kfuncs::KF_SLEEPABLE));
    assert_eq!(fmodret_flags(id("bpf_fentry_test2")), None);
}

mod runs {
    use crate::bpf::attr::{BpfAttr, LinkCreateAttr, ProgLoadAttr, TestRunAttr, TestRunOut};
    use crate::errno::Errno;
    use crate::kernel::{Kernel, KernelConfig};
    use crate::uapi::{AttachType, ProgType};

    fn load(k: &mut Kernel, attach: AttachType, target: &str, src: &str) -> i32 {
        let insns = bpfemu_isa::asm::kernel::assemble(src).unwrap();
        let attr = ProgLoadAttr {
            prog_type: ProgType::Tracing.raw(),
            insns: &insns,
            license: "GPL",
            expected_attach_type: attach.raw(),
            attach_btf_id: crate::vmlinux::func_id(target).unwrap(),
            ..Default::default()
        };
        k.bpf(BpfAttr::ProgLoad(attr)).unwrap() as i32
    }

    fn link(k: &mut Kernel, fd: i32, attach: AttachType) -> Result<i64, Errno> {
        k.bpf(BpfAttr::LinkCreate(LinkCreateAttr {
            prog_fd: fd,
            target_fd: 0,
            attach_type: attach.raw(),
            flags: 0,
            target_btf_id: 0,
            iter_info: None,
            iter_info_len: 0,
        }))
    }

    fn test_run(k: &mut Kernel, fd: i32) -> Result<u32, Errno> {
        let mut out = TestRunOut::default();
        k.bpf(BpfAttr::ProgTestRun(TestRunAttr { prog_fd: fd, out: Some(&mut out), ..Default::default() }))?;
        Ok(out.retval)
    }

    /// NULL struct pointers read as 0 (the probe-mem guard), in paranoid
    /// mode too, where every load must hit a region of the run.
    #[test]
    fn null_btf_pointers_read_zero_in_paranoid_mode() {
        for paranoid in [false, true] {
            let mut k = Kernel::new(KernelConfig::default());
            k.set_paranoid(paranoid);
            let p8 = load(
                &mut k,
                AttachType::TraceFentry,
                "bpf_fentry_test8",
                "r2 = *(u64 *)(r1 +0)\nr3 = *(u64 *)(r2 +0)\nr4 = *(u64 *)(r3 +0)\nr0 = 0\nexit",
            );
            let p7 = load(
                &mut k,
                AttachType::TraceFexit,
                "bpf_fentry_test7",
                "r2 = *(u64 *)(r1 +0)\nr3 = *(u64 *)(r2 +0)\nr0 = 0\nexit",
            );
            link(&mut k, p8, AttachType::TraceFentry).unwrap();
            link(&mut k, p7, AttachType::TraceFexit).unwrap();
            assert_eq!(test_run(&mut k, p8), Ok(0));
            assert!(k.take_soundness_violations().is_empty(), "paranoid={paranoid}");
        }
    }

    #[test]
    fn fmod_ret_replaces_the_return_value() {
        let mut k = Kernel::new(KernelConfig::default());
        let m = load(&mut k, AttachType::ModifyReturn, "bpf_modify_return_test", "r0 = 7\nexit");
        let mut info = None;
        k.bpf(BpfAttr::ObjGetInfoByFd { bpf_fd: m, info: &mut info }).unwrap();
        let Some(crate::bpf::attr::ObjInfo::Prog(pi)) = info else { panic!("prog info") };
        let target = crate::vmlinux::func_id("bpf_modify_return_test").unwrap();
        assert_eq!((pi.attach_btf_obj_id, pi.attach_btf_id), (1, target));
        assert_eq!(test_run(&mut k, m), Ok((1 << 16) | 4), "not attached: the function runs");
        link(&mut k, m, AttachType::ModifyReturn).unwrap();
        assert_eq!(test_run(&mut k, m), Ok(7));
        // A fentry test run: the functions return what they should.
        let f = load(&mut k, AttachType::TraceFentry, "bpf_fentry_test1", "r0 = 0\nexit");
        assert_eq!(test_run(&mut k, f), Ok(0));
        // fmod_ret on bpf_fentry_test1 (in the fmodret set) breaks its result: EFAULT.
        let m1 = load(&mut k, AttachType::ModifyReturn, "bpf_fentry_test1", "r0 = 9\nexit");
        link(&mut k, m1, AttachType::ModifyReturn).unwrap();
        assert_eq!(test_run(&mut k, f), Err(Errno::EFAULT));
    }

    #[test]
    fn link_limits() {
        let mut k = Kernel::new(KernelConfig::default());
        let mut fds = Vec::new();
        let mut links = Vec::new();
        for _ in 0..super::super::tramp::BPF_MAX_TRAMP_LINKS {
            let fd = load(&mut k, AttachType::TraceFentry, "bpf_fentry_test3", "r0 = 0\nexit");
            links.push(link(&mut k, fd, AttachType::TraceFentry).unwrap() as i32);
            fds.push(fd);
        }
        let extra = load(&mut k, AttachType::TraceFexit, "bpf_fentry_test3", "r0 = 0\nexit");
        assert_eq!(link(&mut k, extra, AttachType::TraceFexit), Err(Errno::E2BIG));
        // The limit is checked first (bpf_trampoline_link_prog()).
        assert_eq!(link(&mut k, fds[0], AttachType::TraceFentry), Err(Errno::E2BIG));
        // Closing a link unlinks its program.
        k.close(links.pop().unwrap()).unwrap();
        assert_eq!(link(&mut k, fds[0], AttachType::TraceFentry), Err(Errno::EBUSY));
        assert!(link(&mut k, extra, AttachType::TraceFexit).is_ok());
        let with_target = k.bpf(BpfAttr::LinkCreate(LinkCreateAttr {
            prog_fd: extra,
            target_fd: 0,
            attach_type: AttachType::TraceFexit.raw(),
            flags: 0,
            target_btf_id: 5,
            iter_info: None,
            iter_info_len: 0,
        }));
        assert_eq!(with_target, Err(Errno::EINVAL));
    }

    /// The trampoline helpers seen through an fmod_ret program's return
    /// value (a non-zero r0 skips the function and is the test run's
    /// `retval`, as a `u16`), in both modes.
    #[test]
    fn trampoline_helpers() {
        let ip = super::super::targets::func_ip("bpf_modify_return_test").unwrap();
        let cases: &[(&str, u32)] = &[
            ("r1 = r1\ncall bpf_get_func_arg_cnt#185\nexit", 2),
            // get_func_arg(ctx, 0, &v) = 0, v = a = 1.
            (
                "r2 = 0\nr3 = r10\nr3 += -8\ncall bpf_get_func_arg#183\nr6 = r0\nr0 = *(u64 *)(r10 -8)\nr0 += 100\nr0 += r6\nexit",
                101,
            ),
            // n >= nr_args: -EINVAL, *value untouched.
            (
                "r2 = 7\n*(u64 *)(r10 -8) = r2\nr2 = 2\nr3 = r10\nr3 += -8\ncall bpf_get_func_arg#183\nr1 = *(u64 *)(r10 -8)\nr0 *= r1\nexit",
                u32::from((-22i32 * 7) as u16),
            ),
            // n is a u32: 2^32 is argument 0.
            (
                "r2 = 1\nr2 <<= 32\nr3 = r10\nr3 += -8\ncall bpf_get_func_arg#183\nr0 = *(u64 *)(r10 -8)\nr0 += 200\nexit",
                201,
            ),
            ("call bpf_get_func_ip#173\nr0 >>= 12\nexit", ((ip >> 12) as u16).into()),
            // The return slot, zeroed before the fmod_ret programs run.
            (
                "r3 = 9\n*(u64 *)(r10 -8) = r3\nr2 = r10\nr2 += -8\ncall bpf_get_func_ret#184\nr1 = *(u64 *)(r10 -8)\nr0 += r1\nr0 += 5\nexit",
                5,
            ),
        ];
        for paranoid in [false, true] {
            for &(src, want) in cases {
                let mut k = Kernel::new(KernelConfig::default());
                k.set_paranoid(paranoid);
                let m = load(&mut k, AttachType::ModifyReturn, "bpf_modify_return_test", src);
                link(&mut k, m, AttachType::ModifyReturn).unwrap();
                assert_eq!(test_run(&mut k, m), Ok(want), "{src}");
                assert!(k.take_soundness_violations().is_empty(), "{src}");
            }
        }
    }

    /// `bpf_get_func_ret` of a fentry program is `r0 = -EOPNOTSUPP` after
    /// the load (`do_misc_fixups()`); of a fexit program it stays a call
    /// (the values are checked by `scenarios/core/progs/trampoline.scn`).
    #[test]
    fn get_func_ret_of_fentry_is_rewritten() {
        let mut k = Kernel::new(KernelConfig::default());
        let src = "r2 = r10\nr2 += -8\ncall bpf_get_func_ret#184\nr0 = 0\nexit";
        let f = load(&mut k, AttachType::TraceFentry, "bpf_fentry_test1", src);
        let x = load(&mut k, AttachType::TraceFexit, "bpf_fentry_test1", src);
        let xlated = |k: &Kernel, fd: i32| k.prog_from_fd(fd).unwrap().xlated.clone();
        let call = bpfemu_isa::opcode::BPF_JMP | bpfemu_isa::opcode::BPF_CALL;
        assert_eq!((xlated(&k, f)[2].code, xlated(&k, f)[2].imm), (0xb7, -95));
        assert_eq!((xlated(&k, x)[2].code, xlated(&k, x)[2].imm), (call, 184));
    }
}
