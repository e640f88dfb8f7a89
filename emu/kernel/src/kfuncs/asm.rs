//! `call NAME` of a kfunc in assembly text: the kernel-syntax assembler
//! only knows `call kernel-function#BTF_ID`, so scenario programs name a
//! kfunc and this rewrites the call to its vmlinux BTF id (what libbpf does
//! for a `__ksym` extern function). No kernel counterpart.

/// `src` with every line `call NAME` (NAME an emulated kfunc, optionally
/// followed by a `//` or `;` comment) rewritten to `call
/// kernel-function#ID`; other lines unchanged.
pub fn rewrite_kfunc_calls(src: &str) -> String {
    rewrite_kfunc_calls_with(src, super::kfunc_btf_id)
}

/// As [`rewrite_kfunc_calls`] with the BTF ids of another kernel: `id`
/// gives a kfunc's id there (`None` leaves the call, an emulated kfunc
/// or not, as written).
pub fn rewrite_kfunc_calls_with(src: &str, mut id: impl FnMut(&str) -> Option<u32>) -> String {
    let mut out = String::with_capacity(src.len());
    for (i, line) in src.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&rewrite_line(line, &mut id).unwrap_or_else(|| line.to_owned()));
    }
    out
}

fn rewrite_line(line: &str, id: &mut impl FnMut(&str) -> Option<u32>) -> Option<String> {
    let indent = &line[..line.len() - line.trim_start().len()];
    let rest = line.trim_start().strip_prefix("call")?;
    if !rest.starts_with([' ', '\t']) {
        return None;
    }
    let rest = rest.trim_start();
    let end = rest.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).unwrap_or(rest.len());
    let (name, tail) = rest.split_at(end);
    let t = tail.trim_start();
    if !(t.is_empty() || t.starts_with("//") || t.starts_with(';')) {
        return None;
    }
    let id = id(name)?;
    Some(format!("{indent}call kernel-function#{id}{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewrites_only_kfunc_calls() {
        let id = crate::kfuncs::kfunc_btf_id("bpf_task_from_pid").unwrap();
        let src = "  call bpf_task_from_pid // get it\ncall bpf_map_lookup_elem\ncall label\nr0 = 0";
        let want =
            format!("  call kernel-function#{id} // get it\ncall bpf_map_lookup_elem\ncall label\nr0 = 0");
        assert_eq!(rewrite_kfunc_calls(src), want);
        assert_eq!(rewrite_kfunc_calls("callbpf_task_from_pid"), "callbpf_task_from_pid");
    }
}
