//! A C header from BTF, as `bpftool btf dump file F format c` prints it
//! (libbpf's `tools/lib/bpf/btf_dump.c`).
//!
//! Follows libbpf's rules: types come in dependency order (by id, each
//! after what it needs by value); a named struct/union needed only through
//! a pointer gets a forward declaration (`struct foo;`) instead; typedefs
//! are always emitted before use; anonymous structs/unions/enums are
//! inlined where used (and emitted on their own only if nothing refers to
//! them); bitfields as `int a: 3;`; explicit `long: 64;`-style padding
//! where natural alignment would not reproduce the layout;
//! `__attribute__((packed))` when a member or the size is misaligned.
//!
//! Not done: renaming of clashing names (`foo___2`), `__attribute__((mode))`
//! for non-4-byte enums, type tags (`btf_type_tag`) and decl tags, the
//! `__ksym`/`__weak` macro preamble of newer bpftool versions. FUNC, VAR,
//! DATASEC and DECL_TAG produce no output, as in bpftool. Holes of more
//! than 64 `long: 64;` markers are written as a named `char __pad_N[..]`.

use std::cell::RefCell;
use std::collections::HashSet;

use crate::model::*;

const PREAMBLE: &str = "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n\
#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n\
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n\
#endif\n\n";

const POSTAMBLE: &str = "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n\
#endif /* __VMLINUX_H__ */\n";

/// The whole `vmlinux.h`-style header: include guard, the
/// `preserve_access_index` pragma, and [`dump_c_types`].
pub fn dump_c(btf: &Btf) -> String {
    let mut s = String::from(PREAMBLE);
    s.push_str(&dump_c_types(btf));
    s.push_str(POSTAMBLE);
    s
}

/// Only the type definitions, each followed by a blank line.
pub fn dump_c_types(btf: &Btf) -> String {
    let mut d = Dumper::new(btf);
    for id in 1..=btf.type_count() {
        d.order(id, false);
    }
    let queue = std::mem::take(&mut d.queue);
    for id in queue {
        d.emit_top(id);
    }
    d.out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Order {
    No,
    Ordering,
    Done,
}

struct Dumper<'a> {
    btf: &'a Btf,
    state: Vec<Order>,
    referenced: Vec<bool>,
    emitted: Vec<bool>,
    fwd_emitted: Vec<bool>,
    /// (id, through_ptr) pairs already ordered, for kinds without a state.
    order_seen: Vec<[bool; 2]>,
    /// Types on the current declaration stack (cuts loops in bad input).
    visiting: RefCell<Vec<bool>>,
    queue: Vec<TypeId>,
    out: String,
}

fn pfx(lvl: usize) -> String {
    "\t".repeat(lvl)
}

fn roundup(x: u64, to: u64) -> u64 {
    if to == 0 { x } else { x.div_ceil(to) * to }
}

fn join(base: &str, name: &str) -> String {
    if name.is_empty() { base.to_string() } else { format!("{base} {name}") }
}

impl<'a> Dumper<'a> {
    fn new(btf: &'a Btf) -> Self {
        let n = btf.types.len() + 1;
        let mut referenced = vec![false; n];
        let mut mark = |t: TypeId| {
            if let Some(r) = referenced.get_mut(t as usize) {
                *r = true;
            }
        };
        for (_, t) in btf.iter() {
            match &t.kind {
                Kind::Struct(c) | Kind::Union(c) => c.members.iter().for_each(|m| mark(m.ty)),
                Kind::Array { elem, index, .. } => {
                    mark(*elem);
                    mark(*index);
                }
                Kind::FuncProto { ret, params } => {
                    mark(*ret);
                    params.iter().for_each(|p| mark(p.ty));
                }
                Kind::Datasec { vars, .. } => vars.iter().for_each(|v| mark(v.ty)),
                Kind::DeclTag { .. } => {}
                k => {
                    if let Some(r) = k.ref_type() {
                        mark(r);
                    }
                }
            }
        }
        Dumper {
            btf,
            state: vec![Order::No; n],
            referenced,
            emitted: vec![false; n],
            fwd_emitted: vec![false; n],
            order_seen: vec![[false; 2]; n],
            visiting: RefCell::new(vec![false; n]),
            queue: Vec::new(),
            out: String::new(),
        }
    }

    fn name(&self, id: TypeId) -> &'a str {
        self.btf.name(id)
    }

    /// libbpf's `btf_dump_order_type`: queues `id` after its by-value
    /// dependencies.
    fn order(&mut self, id: TypeId, through_ptr: bool) {
        let Some(t) = self.btf.get(id) else { return };
        let st = self.state[id as usize];
        if st == Order::Done {
            return;
        }
        if matches!(
            t.kind,
            Kind::Ptr { .. }
                | Kind::Array { .. }
                | Kind::Const { .. }
                | Kind::Volatile { .. }
                | Kind::Restrict { .. }
                | Kind::TypeTag { .. }
                | Kind::FuncProto { .. }
        ) {
            let seen = &mut self.order_seen[id as usize];
            if seen[0] || seen[usize::from(through_ptr)] {
                return;
            }
            seen[usize::from(through_ptr)] = true;
        }
        match &t.kind {
            Kind::Int { .. } | Kind::Float { .. } => self.state[id as usize] = Order::Done,
            Kind::Ptr { ty } => self.order(*ty, true),
            Kind::Array { elem, .. } => self.order(*elem, through_ptr),
            Kind::Const { ty } | Kind::Volatile { ty } | Kind::Restrict { ty } | Kind::TypeTag { ty, .. } => {
                self.order(*ty, through_ptr)
            }
            Kind::Struct(c) | Kind::Union(c) => {
                let named = t.name_off != 0 && !self.name(id).is_empty();
                if (through_ptr && named) || st == Order::Ordering {
                    return;
                }
                self.state[id as usize] = Order::Ordering;
                for m in &c.members {
                    self.order(m.ty, false);
                }
                if named || !self.referenced[id as usize] {
                    self.queue.push(id);
                }
                self.state[id as usize] = Order::Done;
            }
            Kind::Enum { .. } | Kind::Enum64 { .. } | Kind::Fwd { .. } => {
                if !self.name(id).is_empty() || !self.referenced[id as usize] {
                    self.queue.push(id);
                }
                self.state[id as usize] = Order::Done;
            }
            Kind::Typedef { ty } => {
                if st == Order::Ordering {
                    return;
                }
                self.state[id as usize] = Order::Ordering;
                self.order(*ty, through_ptr);
                self.queue.push(id);
                self.state[id as usize] = Order::Done;
            }
            Kind::FuncProto { ret, params } => {
                self.order(*ret, through_ptr);
                for p in params {
                    self.order(p.ty, through_ptr);
                }
            }
            Kind::Func { .. } | Kind::Var { .. } | Kind::Datasec { .. } | Kind::DeclTag { .. } => {}
        }
    }

    /// Emits `struct foo;` for named structs/unions reachable from `id`
    /// only through pointers and not yet defined or declared.
    fn emit_fwds(&mut self, id: TypeId, via_ptr: bool, seen: &mut HashSet<(TypeId, bool)>) {
        if !seen.insert((id, via_ptr)) {
            return;
        }
        let Some(t) = self.btf.get(id) else { return };
        match &t.kind {
            Kind::Ptr { ty } => self.emit_fwds(*ty, true, seen),
            Kind::Array { elem, .. } => self.emit_fwds(*elem, via_ptr, seen),
            Kind::Const { ty } | Kind::Volatile { ty } | Kind::Restrict { ty } | Kind::TypeTag { ty, .. } => {
                self.emit_fwds(*ty, via_ptr, seen)
            }
            Kind::FuncProto { ret, params } => {
                self.emit_fwds(*ret, via_ptr, seen);
                for p in params {
                    self.emit_fwds(p.ty, via_ptr, seen);
                }
            }
            Kind::Struct(c) | Kind::Union(c) => {
                if self.name(id).is_empty() {
                    for m in &c.members {
                        self.emit_fwds(m.ty, false, seen);
                    }
                } else if via_ptr && !self.emitted[id as usize] && !self.fwd_emitted[id as usize] {
                    self.fwd_emitted[id as usize] = true;
                    let kw = if matches!(t.kind, Kind::Union(_)) { "union" } else { "struct" };
                    self.out.push_str(&format!("{kw} {};\n\n", self.name(id)));
                }
            }
            _ => {}
        }
    }

    fn emit_top(&mut self, id: TypeId) {
        let Some(t) = self.btf.get(id) else { return };
        match &t.kind {
            Kind::Struct(c) | Kind::Union(c) => {
                self.emitted[id as usize] = true;
                let mut seen = HashSet::new();
                for m in &c.members {
                    self.emit_fwds(m.ty, false, &mut seen);
                }
                let body = self.composite_def(id, 0);
                self.out.push_str(&format!("{body};\n\n"));
            }
            Kind::Enum { .. } | Kind::Enum64 { .. } => {
                self.emitted[id as usize] = true;
                let body = self.enum_def(id, 0);
                self.out.push_str(&format!("{body};\n\n"));
            }
            Kind::Fwd { is_union } => {
                let kw = if *is_union { "union" } else { "struct" };
                self.out.push_str(&format!("{kw} {};\n\n", self.name(id)));
            }
            Kind::Typedef { ty } => {
                self.emitted[id as usize] = true;
                self.emit_fwds(*ty, false, &mut HashSet::new());
                let decl = self.decl(*ty, self.name(id).to_string(), 0);
                self.out.push_str(&format!("typedef {decl};\n\n"));
            }
            _ => {}
        }
    }

    fn enum_def(&self, id: TypeId, lvl: usize) -> String {
        let name = self.name(id);
        let mut s = if name.is_empty() { "enum".to_string() } else { format!("enum {name}") };
        let vals: Vec<(u32, String)> = match self.btf.kind(id) {
            Some(Kind::Enum { signed, values, .. }) => values
                .iter()
                .map(|v| (v.name_off, if *signed { v.val.to_string() } else { (v.val as u32).to_string() }))
                .collect(),
            Some(Kind::Enum64 { signed, values, .. }) => values
                .iter()
                .map(|v| {
                    (
                        v.name_off,
                        if *signed { format!("{}LL", v.val as i64) } else { format!("{}ULL", v.val) },
                    )
                })
                .collect(),
            _ => vec![],
        };
        if vals.is_empty() {
            return s;
        }
        s.push_str(" {");
        for (off, v) in vals {
            s.push_str(&format!("\n{}{} = {},", pfx(lvl + 1), self.btf.str_at(off), v));
        }
        s.push_str(&format!("\n{}}}", pfx(lvl)));
        s
    }

    fn composite_def(&self, id: TypeId, lvl: usize) -> String {
        let Some(t) = self.btf.get(id) else { return String::new() };
        let (Kind::Struct(c) | Kind::Union(c)) = &t.kind else { return String::new() };
        let is_struct = matches!(t.kind, Kind::Struct(_));
        let kw = if is_struct { "struct" } else { "union" };
        let name = self.name(id);
        let mut s = if name.is_empty() { format!("{kw} {{") } else { format!("{kw} {name} {{") };
        let packed = self.btf.is_packed(id);
        let mut off: u64 = 0;
        let mut prev_bitfield = false;
        for m in &c.members {
            let fname = self.btf.str_at(m.name_off);
            let m_off = u64::from(m.bit_offset);
            let align = if packed { 1 } else { u64::from(self.btf.align_of(m.ty)) };
            // kind_flag = 0 structs encode bitfields in the INT itself.
            let bitfield_size = match self.btf.kind(self.btf.skip_mods_and_typedefs(m.ty)) {
                Some(Kind::Int { size, bits, .. })
                    if m.bitfield_size == 0 && u64::from(*bits) != u64::from(*size) * 8 =>
                {
                    *bits
                }
                _ => m.bitfield_size,
            };
            let in_bitfield = prev_bitfield && bitfield_size != 0;
            pad(&mut s, off, m_off, align, in_bitfield, lvl + 1);
            s.push('\n');
            s.push_str(&pfx(lvl + 1));
            s.push_str(&self.decl(m.ty, fname.to_string(), lvl + 1));
            if bitfield_size != 0 {
                s.push_str(&format!(": {bitfield_size}"));
                off = m_off + u64::from(bitfield_size);
                prev_bitfield = true;
            } else {
                let sz = self.btf.resolve_size(m.ty).unwrap_or(0);
                off = m_off + u64::from(sz) * 8;
                prev_bitfield = false;
            }
            s.push(';');
        }
        if is_struct {
            // Trailing padding the compiler would not add by itself needs
            // real bits: a `long: 0;` marker would not grow the size.
            let align = u64::from(self.btf.align_of(id));
            let end = u64::from(c.size) * 8;
            if roundup(off, align * 8) != end {
                pad(&mut s, off, end, align, true, lvl + 1);
            }
        }
        if !c.members.is_empty() {
            s.push('\n');
            s.push_str(&pfx(lvl));
        }
        s.push('}');
        if packed {
            s.push_str(" __attribute__((packed))");
        }
        s
    }

    /// The C declaration of `name` with type `id` (e.g. `int (*name)[4]`).
    fn decl(&self, id: TypeId, name: String, lvl: usize) -> String {
        let idx = id as usize;
        if self.visiting.borrow().get(idx).copied().unwrap_or(true) {
            return join("void", &name);
        }
        self.visiting.borrow_mut()[idx] = true;
        let r = self.decl_inner(id, name, lvl);
        self.visiting.borrow_mut()[idx] = false;
        r
    }

    fn decl_inner(&self, id: TypeId, name: String, lvl: usize) -> String {
        let Some(t) = self.btf.get(id) else { return join("void", &name) };
        let tname = self.name(id);
        match &t.kind {
            Kind::Int { .. } | Kind::Float { .. } | Kind::Typedef { .. } => join(tname, &name),
            Kind::Struct(_) | Kind::Union(_) => {
                if tname.is_empty() {
                    join(&self.composite_def(id, lvl), &name)
                } else {
                    let kw = if matches!(t.kind, Kind::Union(_)) { "union" } else { "struct" };
                    join(&format!("{kw} {tname}"), &name)
                }
            }
            Kind::Enum { .. } | Kind::Enum64 { .. } => {
                if tname.is_empty() {
                    join(&self.enum_def(id, lvl), &name)
                } else {
                    join(&format!("enum {tname}"), &name)
                }
            }
            Kind::Fwd { is_union } => {
                join(&format!("{} {tname}", if *is_union { "union" } else { "struct" }), &name)
            }
            Kind::Ptr { ty } => {
                let inner = match self.btf.kind(*ty) {
                    Some(Kind::Array { .. } | Kind::FuncProto { .. }) => format!("(*{name})"),
                    _ if name.starts_with("const")
                        || name.starts_with("volatile")
                        || name.starts_with("restrict") =>
                    {
                        format!("* {name}")
                    }
                    _ => format!("*{name}"),
                };
                self.decl(*ty, inner, lvl)
            }
            Kind::Const { ty } | Kind::Volatile { ty } | Kind::Restrict { ty } => {
                let q = match t.kind {
                    Kind::Const { .. } => "const",
                    Kind::Volatile { .. } => "volatile",
                    _ => "restrict",
                };
                if matches!(self.btf.kind(*ty), Some(Kind::Ptr { .. })) {
                    self.decl(*ty, join(q, &name), lvl)
                } else {
                    format!("{q} {}", self.decl(*ty, name, lvl))
                }
            }
            Kind::TypeTag { ty, .. } => self.decl(*ty, name, lvl),
            Kind::Array { elem, nelems, .. } => self.decl(*elem, format!("{name}[{nelems}]"), lvl),
            Kind::FuncProto { ret, params } => {
                let mut ps = Vec::new();
                for (i, p) in params.iter().enumerate() {
                    if p.ty == 0 && i + 1 == params.len() {
                        ps.push("...".to_string());
                    } else {
                        let pn = self.btf.str_at(p.name_off).to_string();
                        ps.push(self.decl(p.ty, pn, lvl));
                    }
                }
                let args = if ps.is_empty() { "void".to_string() } else { ps.join(", ") };
                self.decl(*ret, format!("{name}({args})"), lvl)
            }
            Kind::Func { .. } | Kind::Var { .. } | Kind::Datasec { .. } | Kind::DeclTag { .. } => {
                join("void", &name)
            }
        }
    }
}

/// Above this many `long: 64;` lines, padding becomes a named byte array.
const MAX_PAD_MARKERS: u64 = 64;

const PADS: [(&str, u64); 4] = [("long", 64), ("int", 32), ("short", 16), ("char", 8)];

/// Explicit padding from bit `cur` to bit `next` where the compiler's
/// natural alignment (of a next member aligned to `next_align` bytes)
/// would not get there by itself.
fn pad(s: &mut String, mut cur: u64, next: u64, next_align: u64, in_bitfield: bool, lvl: usize) {
    if cur >= next {
        return;
    }
    let mut chosen = PADS[3];
    let mut new_off = 0;
    for p in PADS {
        chosen = p;
        new_off = roundup(cur, p.1);
        if new_off <= next {
            break;
        }
    }
    if new_off > cur && new_off <= next {
        let needs_marker = in_bitfield
            || (new_off == next && roundup(cur, next_align * 8) != new_off)
            || (new_off != next && next - new_off <= new_off - cur);
        if needs_marker {
            let bits = if in_bitfield { new_off - cur } else { 0 };
            s.push_str(&format!("\n{}{}: {};", pfx(lvl), chosen.0, bits));
        }
        cur = new_off;
    }
    while cur < next {
        if cur.is_multiple_of(8) && next - cur > MAX_PAD_MARKERS * 64 {
            // Absurdly large holes (only in odd or hostile BTF): one byte
            // array instead of millions of `long: 64;` lines.
            let bytes = (next - cur) / 8;
            s.push_str(&format!("\n{}char __pad_{}[{}];", pfx(lvl), cur / 8, bytes));
            cur += bytes * 8;
            continue;
        }
        let bits = (next - cur).min(chosen.1);
        let ty = if bits == chosen.1 {
            chosen.0
        } else {
            PADS.iter().rev().find(|p| p.1 >= bits).map(|p| p.0).unwrap_or("long")
        };
        s.push_str(&format!("\n{}{}: {};", pfx(lvl), ty, bits));
        cur += bits;
    }
}
