//! The raw type listing of `bpftool btf dump file F` (without `format c`),
//! as tools/bpf/bpftool/btf.c `dump_btf_type()` prints it: one
//! `[id] KIND 'name' ...` line per type, members/values/params on
//! tab-indented continuation lines, `(anon)` for empty names.
//!
//! ENUM and ENUM64 print `encoding=SIGNED|UNSIGNED` as newer bpftool
//! versions do. Only the plain (not JSON) output is produced.

use crate::model::*;

fn enc_str(e: IntEncoding) -> &'static str {
    match e {
        IntEncoding::Unsigned => "(none)",
        IntEncoding::Signed => "SIGNED",
        IntEncoding::Char => "CHAR",
        IntEncoding::Bool => "BOOL",
    }
}

fn sign_str(signed: bool) -> &'static str {
    if signed { "SIGNED" } else { "UNSIGNED" }
}

/// Every type, one per entry, in id order.
pub fn dump_raw(btf: &Btf) -> String {
    let mut out = String::new();
    for (id, t) in btf.iter() {
        dump_type(btf, id, t, &mut out);
        out.push('\n');
    }
    out
}

fn name_or_anon(btf: &Btf, off: u32) -> &str {
    if off == 0 { "(anon)" } else { btf.strings.get(off).unwrap_or("(invalid)") }
}

/// One type's lines (without the final newline).
pub fn dump_type(btf: &Btf, id: TypeId, t: &Type, out: &mut String) {
    use std::fmt::Write;
    let name = name_or_anon(btf, t.name_off);
    let _ = write!(out, "[{id}] {} '{name}'", t.kind.tag().name());
    match &t.kind {
        Kind::Int { size, encoding, offset, bits } => {
            let _ = write!(
                out,
                " size={size} bits_offset={offset} nr_bits={bits} encoding={}",
                enc_str(*encoding)
            );
        }
        Kind::Ptr { ty }
        | Kind::Const { ty }
        | Kind::Volatile { ty }
        | Kind::Restrict { ty }
        | Kind::Typedef { ty }
        | Kind::TypeTag { ty, .. } => {
            let _ = write!(out, " type_id={ty}");
        }
        Kind::Array { elem, index, nelems } => {
            let _ = write!(out, " type_id={elem} index_type_id={index} nr_elems={nelems}");
        }
        Kind::Struct(c) | Kind::Union(c) => {
            let _ = write!(out, " size={} vlen={}", c.size, c.members.len());
            for m in &c.members {
                let _ = write!(
                    out,
                    "\n\t'{}' type_id={} bits_offset={}",
                    name_or_anon(btf, m.name_off),
                    m.ty,
                    m.bit_offset
                );
                if m.bitfield_size != 0 {
                    let _ = write!(out, " bitfield_size={}", m.bitfield_size);
                }
            }
        }
        Kind::Enum { size, signed, values } => {
            let _ = write!(out, " encoding={} size={size} vlen={}", sign_str(*signed), values.len());
            for v in values {
                let n = name_or_anon(btf, v.name_off);
                if *signed {
                    let _ = write!(out, "\n\t'{n}' val={}", v.val);
                } else {
                    let _ = write!(out, "\n\t'{n}' val={}", v.val as u32);
                }
            }
        }
        Kind::Enum64 { size, signed, values } => {
            let _ = write!(out, " encoding={} size={size} vlen={}", sign_str(*signed), values.len());
            for v in values {
                let n = name_or_anon(btf, v.name_off);
                if *signed {
                    let _ = write!(out, "\n\t'{n}' val={}", v.val as i64);
                } else {
                    let _ = write!(out, "\n\t'{n}' val={}", v.val);
                }
            }
        }
        Kind::Fwd { is_union } => {
            let _ = write!(out, " fwd_kind={}", if *is_union { "union" } else { "struct" });
        }
        Kind::Func { proto, linkage } => {
            let l = match linkage {
                FuncLinkage::Static => "static",
                FuncLinkage::Global => "global",
                FuncLinkage::Extern => "extern",
            };
            let _ = write!(out, " type_id={proto} linkage={l}");
        }
        Kind::FuncProto { ret, params } => {
            let _ = write!(out, " ret_type_id={ret} vlen={}", params.len());
            for p in params {
                let _ = write!(out, "\n\t'{}' type_id={}", name_or_anon(btf, p.name_off), p.ty);
            }
        }
        Kind::Var { ty, linkage } => {
            let l = match linkage {
                VarLinkage::Static => "static",
                VarLinkage::GlobalAllocated => "global",
                VarLinkage::GlobalExtern => "extern",
            };
            let _ = write!(out, " type_id={ty}, linkage={l}");
        }
        Kind::Datasec { size, vars } => {
            let _ = write!(out, " size={size} vlen={}", vars.len());
            for v in vars {
                let _ = write!(out, "\n\ttype_id={} offset={} size={}", v.ty, v.offset, v.size);
                if let Some(vt) = btf.get(v.ty) {
                    let _ = write!(out, " ({} '{}')", vt.kind.tag().name(), name_or_anon(btf, vt.name_off));
                }
            }
        }
        Kind::Float { size } => {
            let _ = write!(out, " size={size}");
        }
        Kind::DeclTag { ty, component_idx, .. } => {
            let _ = write!(out, " type_id={ty} component_idx={component_idx}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemberDef;

    #[test]
    fn bpftool_wording() {
        let mut b = Btf::new();
        let int = b.add_int("int", 4, IntEncoding::Signed);
        let p = b.add_ptr(int);
        b.add_struct("s", 8, &[MemberDef::new("a", int, 0), MemberDef::bitfield("b", int, 32, 3)]);
        b.add_array(int, int, 4);
        b.add_typedef("t", p);
        b.add_enum("e", 4, false, &[("A", 1)]);
        b.add_fwd("f", true);
        let proto = b.add_func_proto(int, &[("x", int)], false);
        b.add_func("fn", proto, FuncLinkage::Global);
        assert_eq!(
            dump_raw(&b),
            "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n\
             [2] PTR '(anon)' type_id=1\n\
             [3] STRUCT 's' size=8 vlen=2\n\
             \t'a' type_id=1 bits_offset=0\n\
             \t'b' type_id=1 bits_offset=32 bitfield_size=3\n\
             [4] ARRAY '(anon)' type_id=1 index_type_id=1 nr_elems=4\n\
             [5] TYPEDEF 't' type_id=2\n\
             [6] ENUM 'e' encoding=UNSIGNED size=4 vlen=1\n\
             \t'A' val=1\n\
             [7] FWD 'f' fwd_kind=union\n\
             [8] FUNC_PROTO '(anon)' ret_type_id=1 vlen=1\n\
             \t'x' type_id=1\n\
             [9] FUNC 'fn' type_id=8 linkage=global\n"
        );
    }
}
