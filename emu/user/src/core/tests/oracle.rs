//! Differential check against libbpf (ignored by default: it needs cases
//! generated with clang and libbpf).
//!
//! `BPFEMU_CORE_ORACLE=DIR cargo test -p bpfemu-user oracle -- --ignored`
//! reads every `DIR/*/` holding `obj.o` (one CO-RE program in section
//! `kprobe/x`), `target.o` (the target BTF, in its `.BTF`) and
//! `libbpf.txt`: the program's instructions (one hex line each) after
//! libbpf 1.1 relocated it with `btf_custom_path = target.o`, or
//! `error -N: libbpf: prog 'prog': relo #...` (libbpf's first warning).
//! The generator and the libbpf harness (libbpf linked statically with
//! `syscall()` faked, so nothing reaches the host kernel) are described in
//! `docs/loader-core.md`. Our engine must produce the same instructions,
//! or fail where libbpf fails with the same errno and message.

use bpfemu_btf::ext::parse_ext;
use bpfemu_isa::insns_from_bytes;
use object::{Object, ObjectSection};

use super::*;

fn ours(obj: &[u8], target: &[u8]) -> Result<Vec<String>, String> {
    let core_err = |e: CoreError| format!("error -{}: libbpf: prog 'prog': {e}", e.errno().raw());
    let f = object::File::parse(obj).map_err(|e| e.to_string())?;
    let t = object::File::parse(target).map_err(|e| e.to_string())?;
    let sec =
        |f: &object::File<'_>, n: &str| f.section_by_name(n).and_then(|s| s.data().ok()).map(<[u8]>::to_vec);
    let local = bpfemu_btf::decode(&sec(&f, ".BTF").ok_or("no .BTF")?).map_err(|e| e.to_string())?;
    let tbtf = bpfemu_btf::decode(&sec(&t, ".BTF").ok_or("no target .BTF")?).map_err(|e| e.to_string())?;
    let ext = parse_ext(&sec(&f, ".BTF.ext").ok_or("no .BTF.ext")?, &local).map_err(|e| e.to_string())?;
    let mut insns = insns_from_bytes(&sec(&f, "kprobe/x").ok_or("no prog")?).map_err(|_| "odd size")?;
    let mut r = Resolver::new(&local, &tbtf);
    if let Some(s) = ext.core_relos_of("kprobe/x") {
        for (i, rec) in s.records.iter().enumerate() {
            let rl = CoreRelo::from_rec(i, rec, &local).map_err(core_err)?;
            let res = r.resolve(&rl).map_err(core_err)?;
            apply(&mut insns, &rl, &res).map_err(core_err)?;
        }
    }
    Ok(insns.iter().map(|i| i.to_bytes().iter().map(|b| format!("{b:02x}")).collect()).collect())
}

#[test]
#[ignore = "needs BPFEMU_CORE_ORACLE=DIR of libbpf-relocated cases"]
fn libbpf_differential() {
    let Ok(dir) = std::env::var("BPFEMU_CORE_ORACLE") else { return };
    let mut cases: Vec<_> =
        std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    cases.sort();
    let (mut same, mut diff) = (0, Vec::new());
    for c in &cases {
        let (Ok(obj), Ok(tgt), Ok(want)) = (
            std::fs::read(c.join("obj.o")),
            std::fs::read(c.join("target.o")),
            std::fs::read_to_string(c.join("libbpf.txt")),
        ) else {
            continue;
        };
        let want: Vec<&str> = want.lines().collect();
        let got = ours(&obj, &tgt);
        let ok = match (&got, want.first()) {
            (Err(e), Some(w)) => e == w,
            (Ok(g), _) => g.iter().map(String::as_str).eq(want.iter().copied()),
            _ => false,
        };
        if ok {
            same += 1;
        } else {
            diff.push(format!(
                "{}: ours {:?} libbpf {:?}",
                c.display(),
                got.map(|g| g.join(" ")),
                want.join(" ")
            ));
        }
    }
    eprintln!("libbpf differential: {same} identical, {} different", diff.len());
    assert!(diff.is_empty(), "{}", diff.join("\n"));
}
