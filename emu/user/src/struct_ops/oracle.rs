//! Differential check against libbpf (ignored by default).
//!
//! `BPFEMU_STRUCT_OPS_ORACLE=DIR cargo test -p bpfemu-user struct_ops_libbpf -- --ignored`
//! reads every `DIR/*/` holding `obj.o` (two `.struct_ops` variables bound
//! to `struct_ops/` programs), `kern.o` (its `.BTF` stands for vmlinux)
//! and `libbpf.txt`, what libbpf 1.1 did with them (its `bpf()` calls
//! recorded by `testdata/oracle/harness.c`: the maps created, the programs
//! loaded with their attach parameters, the values written at attach), or
//! its first warning. Cases come from `testdata/oracle/gen.py`; only
//! behaviour libbpf 1.1 already had is compared (no `.struct_ops.link`,
//! flavors, zero members missing from the kernel, program reuse checks).

use std::collections::BTreeMap;

use bpfemu_btf::{Btf, Kind};
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget};

use super::*;

/// libbpf's `btf_fixup_datasec` for the struct_ops sections: variable
/// offsets come from the ELF symbols (clang leaves them 0).
fn fixup_datasec(btf: &mut Btf, file: &object::File<'_>, sec: &str) {
    let offs: BTreeMap<String, u32> =
        file.symbols().filter_map(|s| Some((s.name().ok()?.to_string(), s.address() as u32))).collect();
    let names: Vec<String> = btf.types.iter().map(|t| btf.str_at(t.name_off).to_string()).collect();
    let var_names: BTreeMap<u32, String> = btf
        .iter()
        .filter(|(_, t)| matches!(t.kind, Kind::Var { .. }))
        .map(|(id, t)| (id, btf.str_at(t.name_off).to_string()))
        .collect();
    for (i, t) in btf.types.iter_mut().enumerate() {
        if names[i] != sec {
            continue;
        }
        if let Kind::Datasec { vars, .. } = &mut t.kind {
            for v in vars {
                if let Some(off) = var_names.get(&v.ty).and_then(|n| offs.get(n)) {
                    v.offset = *off;
                }
            }
        }
    }
}

fn ours(obj: &[u8], kern: &[u8], fds: &BTreeMap<String, u64>) -> Vec<String> {
    let f = object::File::parse(obj).unwrap();
    let k = object::File::parse(kern).unwrap();
    let mut local = bpfemu_btf::decode(f.section_by_name(".BTF").unwrap().data().unwrap()).unwrap();
    let kbtf = bpfemu_btf::decode(k.section_by_name(".BTF").unwrap().data().unwrap()).unwrap();
    fixup_datasec(&mut local, &f, STRUCT_OPS_SEC);
    let sec = f.section_by_name(STRUCT_OPS_SEC).unwrap();
    let mut maps = match collect_maps(&local, STRUCT_OPS_SEC, sec.data().unwrap()) {
        Ok(m) => m,
        Err(e) => return vec![format!("open error: libbpf: {e}")],
    };
    for (off, rel) in sec.relocations() {
        let RelocationTarget::Symbol(si) = rel.target() else { continue };
        let sym = f.symbol_by_index(si).unwrap();
        let psec = sym.section_index().and_then(|i| f.section_by_index(i).ok()).unwrap();
        let is_st = psec.name().unwrap().starts_with("struct_ops");
        if let Err(e) = bind_prog(&local, &mut maps, STRUCT_OPS_SEC, off, sym.name().unwrap(), is_st) {
            return vec![format!("open error: libbpf: {e}")];
        }
    }
    let mut kerns = Vec::new();
    for m in &maps {
        match init_kern(&local, &kbtf, m) {
            Ok(k) => kerns.push(k),
            Err(e) => return vec![format!("error -{}: libbpf: {e}", e.errno().raw())],
        }
    }
    let progs = assign_programs(maps.iter().map(|m| m.name.as_str()).zip(kerns.iter())).unwrap();
    let mut out = Vec::new();
    for (m, k) in maps.iter().zip(&kerns) {
        out.push(format!(
            "map {} flags {} value_size {} vtype {}",
            m.name, m.map_flags, k.value_size, k.kern_vtype_id
        ));
    }
    for (name, p) in &progs {
        out.push(format!(
            "prog {name} type 27 eat {} attach_btf_id {}",
            p.expected_attach_type, p.attach_btf_id
        ));
    }
    for k in &kerns {
        let mut v = k.value.clone();
        for s in &k.funcs {
            let fd = fds.get(&s.prog).copied().unwrap_or(0);
            v[s.value_off as usize..s.value_off as usize + 8].copy_from_slice(&fd.to_le_bytes());
        }
        out.push(format!("value {}", v.iter().map(|b| format!("{b:02x}")).collect::<String>()));
    }
    out
}

#[test]
#[ignore = "needs BPFEMU_STRUCT_OPS_ORACLE=DIR of libbpf results"]
fn struct_ops_libbpf_differential() {
    let Ok(dir) = std::env::var("BPFEMU_STRUCT_OPS_ORACLE") else { return };
    let mut cases: Vec<_> =
        std::fs::read_dir(&dir).unwrap().filter_map(|e| e.ok()).map(|e| e.path()).collect();
    cases.sort();
    let mut diff = Vec::new();
    for c in &cases {
        let want = std::fs::read_to_string(c.join("libbpf.txt")).unwrap();
        let mut fds = BTreeMap::new();
        let mut want_lines: Vec<String> = Vec::new();
        for l in want.lines() {
            let w: Vec<&str> = l.split(' ').collect();
            match w.as_slice() {
                ["fd", name, fd] => {
                    fds.insert(name.to_string(), fd.parse().unwrap());
                }
                _ => want_lines.push(l.to_string()),
            }
        }
        let mut got =
            ours(&std::fs::read(c.join("obj.o")).unwrap(), &std::fs::read(c.join("kern.o")).unwrap(), &fds);
        got.sort();
        want_lines.sort();
        if got != want_lines {
            diff.push(format!("{}:\n  ours   {got:?}\n  libbpf {want_lines:?}", c.display()));
        }
    }
    eprintln!("struct_ops libbpf differential: {} cases, {} different", cases.len(), diff.len());
    assert!(diff.is_empty(), "{}", diff.join("\n"));
}
