//! Replays a verifier corpus file of bpfemu (`scenarios/verifier/*.scn`)
//! against the host kernel: its `map` statements create the same maps
//! with the host's `bpf()`, each `prog` statement loads the same
//! instructions with the same attributes, and the host's answer is judged
//! by the expectations bpfemu meets in CI — the `=> ERRNO` verdict and
//! every `expect log "TEXT"` line that follows the program.
//!
//! Cases that cannot mean the same thing on the host are skipped with a
//! reason: unprivileged loads (`uid N`: hosts usually set
//! `kernel.unprivileged_bpf_disabled`), raw BTF ids of bpfemu's vmlinux
//! (`btf_id=`), kfuncs or attach targets the host's BTF lacks, and
//! programs from object files.

use crate::sys::{self, ProgLoad};
use bpfemu_btf::{Btf, BtfKind};
use bpfemu_kernel::Errno;
use bpfemu_kernel::bpf::attr::MapCreateAttr;
use bpfemu_kernel::bpf::load::static_func_info::{encode_records, static_func_info};
use bpfemu_scenario::family::core::rewrite_map_names;
use bpfemu_scenario::family::{Alt, PVal, Planned};
use std::collections::BTreeMap;
use std::os::fd::{AsRawFd, OwnedFd};

/// The verifier log buffer handed to the host (bpfemu's scenarios use
/// the same size for theirs).
const LOG_SIZE: usize = 16 << 20;

/// How the host's answer compares with the corpus's expectations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Judgement {
    /// Same verdict (accepted, or the same errno) and every expected log
    /// line found.
    Agree,
    /// Same verdict; some expected log lines are not in the host's log.
    Message,
    /// Accepted on one side and refused on the other, or another errno.
    Verdict,
    /// Not comparable on the host.
    Skipped(String),
}

/// One program of the corpus and the host's answer.
#[derive(Debug, Clone)]
pub struct Case {
    pub file: String,
    pub line: usize,
    pub name: String,
    /// The corpus's verdict: `ok` or errno names joined by `|`.
    pub want: String,
    /// The host's verdict (`ok` or an errno name); empty when skipped.
    pub host: String,
    /// Expected log lines missing from the host's log.
    pub missing: Vec<String>,
    /// The host log's last message line (its error, for a refusal).
    pub host_line: String,
    pub judgement: Judgement,
}

/// What the host offers a replay: its kernel BTF, to find attach targets
/// and kfuncs by name.
#[derive(Debug)]
pub struct Host {
    pub btf: Btf,
}

impl Host {
    fn func_id(&self, name: &str) -> Option<u32> {
        self.btf.find_by_name_kind(name, BtfKind::Func)
    }

    /// An attach target by name, as the scenario runner resolves it: a
    /// FUNC, else a TYPEDEF (tp_btf's `btf_trace_*`), else a STRUCT.
    fn target_id(&self, name: &str) -> Option<u32> {
        self.func_id(name)
            .or_else(|| self.btf.find_by_name_kind(name, BtfKind::Typedef))
            .or_else(|| self.btf.find_by_name_kind(name, BtfKind::Struct))
    }
}

/// The errno's name, or its number when bpfemu does not know it.
pub fn errno_name(e: i32) -> String {
    Errno::from_raw(e).map_or_else(|| e.to_string(), |e| e.name().to_string())
}

/// The corpus's verdict for a planned `prog` statement.
pub fn wanted(p: &Planned) -> (bool, Vec<Errno>) {
    match &p.expect {
        None => (true, Vec::new()),
        Some(alts) => {
            let ok = alts.iter().any(|a| matches!(a, Alt::Ok | Alt::Fields(_)));
            let errs =
                alts.iter().filter_map(|a| if let Alt::Errno(e) = a { Some(*e) } else { None }).collect();
            (ok, errs)
        }
    }
}

/// The last line of a verifier log that says something about the program
/// (not the statistics that close every log).
pub fn last_message(log: &str) -> String {
    log.lines()
        .rev()
        .map(str::trim_end)
        .find(|l| {
            !l.is_empty()
                && !l.starts_with("processed ")
                && !l.starts_with("verification time")
                && !l.starts_with("stack depth")
        })
        .unwrap_or("")
        .to_string()
}

/// Judges a host answer against the corpus's expectations.
pub fn judge(want_ok: bool, want_errs: &[Errno], host: Result<(), i32>, missing: &[String]) -> Judgement {
    let same = match host {
        Ok(()) => want_ok,
        Err(e) => want_errs.iter().any(|w| *w as i32 == e),
    };
    match (same, missing.is_empty()) {
        (true, true) => Judgement::Agree,
        (true, false) => Judgement::Message,
        (false, _) => Judgement::Verdict,
    }
}

/// Replays one planned corpus file.
pub fn replay(file: &str, plan: &[Planned], host: &Host) -> Vec<Case> {
    let mut maps: BTreeMap<String, OwnedFd> = BTreeMap::new();
    let mut map_errs: BTreeMap<String, i32> = BTreeMap::new();
    let mut uid = 0i128;
    let mut cases = Vec::new();
    for (i, p) in plan.iter().enumerate() {
        match p.spec.name {
            "uid" => {
                if let Some(PVal::Int(n)) = p.pos.first() {
                    uid = *n;
                }
            }
            "map" => match create_map(p, &maps) {
                Ok(fd) => {
                    maps.insert(p.name(0).to_string(), fd);
                }
                Err(e) => {
                    map_errs.insert(p.name(0).to_string(), e);
                }
            },
            "prog" => {
                let logs: Vec<String> = plan[i + 1..]
                    .iter()
                    .take_while(|q| q.spec.name == "expect log")
                    .map(|q| q.name(0).to_string())
                    .collect();
                cases.push(replay_prog(file, p, &logs, uid, &maps, &map_errs, host));
            }
            _ => {}
        }
    }
    cases
}

fn create_map(p: &Planned, maps: &BTreeMap<String, OwnedFd>) -> Result<OwnedFd, i32> {
    let Some(PVal::Map(t)) = p.kv.get("type") else { return Err(libc::EINVAL) };
    let inner_map_fd = match p.text("inner") {
        Some(n) => maps.get(n).map(|fd| fd.as_raw_fd()).ok_or(libc::EBADF)?,
        None => 0,
    };
    let int = |k: &str| p.int(k).unwrap_or(0);
    sys::map_create(&MapCreateAttr {
        map_type: t.raw(),
        key_size: int("key") as u32,
        value_size: int("value") as u32,
        max_entries: int("max") as u32,
        map_flags: int("flags") as u32,
        inner_map_fd,
        numa_node: int("numa") as u32,
        map_name: p.text("name").unwrap_or(p.name(0)).as_bytes().iter().take(15).copied().collect(),
        map_extra: int("extra") as u64,
        ..Default::default()
    })
}

fn replay_prog(
    file: &str,
    p: &Planned,
    logs: &[String],
    uid: i128,
    maps: &BTreeMap<String, OwnedFd>,
    map_errs: &BTreeMap<String, i32>,
    host: &Host,
) -> Case {
    let (want_ok, want_errs) = wanted(p);
    let mut want: Vec<String> = want_errs.iter().map(|e| e.name().to_string()).collect();
    if want_ok {
        want.insert(0, "ok".into());
    }
    let mut case = Case {
        file: file.to_string(),
        line: p.stmt.loc.line,
        name: p.name(0).to_string(),
        want: want.join("|"),
        host: String::new(),
        missing: Vec::new(),
        host_line: String::new(),
        judgement: Judgement::Skipped(String::new()),
    };
    match load(p, uid, maps, map_errs, host) {
        Err(reason) => case.judgement = Judgement::Skipped(reason),
        Ok((res, log)) => {
            case.missing =
                logs.iter().filter(|w| !log.lines().any(|l| l.contains(w.as_str()))).cloned().collect();
            case.host = match res {
                Ok(()) => "ok".into(),
                Err(e) => errno_name(e),
            };
            case.host_line = last_message(&log);
            case.judgement = judge(want_ok, &want_errs, res, &case.missing);
            // A refusal before the verifier ran, with no log, where bpfemu
            // expects something else: the host's policy (capabilities,
            // lockdown, LSMs), not its verifier.
            if res == Err(libc::EPERM) && log.is_empty() && case.judgement == Judgement::Verdict {
                case.judgement =
                    Judgement::Skipped("the host refused the load with EPERM before verifying".into());
            }
        }
    }
    case
}

/// Loads the program on the host: its verdict and log, or why it cannot
/// be compared.
fn load(
    p: &Planned,
    uid: i128,
    maps: &BTreeMap<String, OwnedFd>,
    map_errs: &BTreeMap<String, i32>,
    host: &Host,
) -> Result<(Result<(), i32>, String), String> {
    if uid != 0 {
        return Err(format!("unprivileged (uid {uid})"));
    }
    if p.text("object").is_some() {
        return Err("program from an object file".into());
    }
    if p.text("member").is_some() {
        return Err("struct_ops member= (bpfemu's scenario key)".into());
    }
    if p.int("btf_id").is_some() {
        return Err("btf_id= is an id of bpfemu's vmlinux BTF".into());
    }
    let Some(bpfemu_scenario::parse::Block::Raw { text, .. }) = &p.stmt.block else {
        return Err("no instructions".into());
    };
    let src = rewrite_map_names(text, |n| maps.get(n).map(|fd| fd.as_raw_fd()).ok_or(())).map_err(
        |(_, _, n)| match map_errs.get(&n) {
            Some(e) => format!("map {n} refused by the host ({})", errno_name(*e)),
            None => format!("no map {n}"),
        },
    )?;
    let mut missing_kfunc = None;
    let src = bpfemu_kernel::kfuncs::asm::rewrite_kfunc_calls_with(&src, |name| {
        bpfemu_kernel::kfuncs::kfunc_btf_id(name)?;
        let id = host.func_id(name);
        if id.is_none() {
            missing_kfunc = Some(name.to_string());
        }
        id
    });
    if let Some(k) = missing_kfunc {
        return Err(format!("kfunc {k} not in the host's BTF"));
    }
    let insns = bpfemu_isa::asm::kernel::assemble(&src).map_err(|e| format!("assembler: {e}"))?;
    let bytes: Vec<u8> = insns.iter().flat_map(|i| i.to_bytes()).collect();
    let Some(PVal::Prog(t)) = p.kv.get("type") else { return Err("no program type".into()) };
    let attach = match p.kv.get("attach") {
        Some(PVal::Attach(a)) => a.raw(),
        _ => 0,
    };
    let attach_btf_id = match p.text("target") {
        Some(f) => host.target_id(f).ok_or_else(|| format!("target {f} not in the host's BTF"))?,
        None => 0,
    };
    let mut license = p.text("license").unwrap_or("GPL").as_bytes().to_vec();
    license.push(0);
    let name: Vec<u8> = p.text("name").unwrap_or(p.name(0)).as_bytes().iter().take(15).copied().collect();
    // func_info=static: the same BTF and records bpfemu's scenario runner
    // builds, loaded into the host with BPF_BTF_LOAD.
    let (btf_fd, func_info) = match p.text("func_info") {
        None => (None, Vec::new()),
        Some("static") => {
            let (data, recs) = static_func_info(&String::from_utf8_lossy(&name), &insns);
            let fd = sys::btf_load(&data)
                .map_err(|e| format!("the host refused the func_info BTF ({})", errno_name(e)))?;
            (Some(fd), encode_records(&recs))
        }
        Some(other) => return Err(format!("func_info={other}")),
    };
    let log_level = p.int("log_level").unwrap_or(1) as u32;
    let mut log = vec![0u8; if log_level == 0 { 0 } else { LOG_SIZE }];
    let res = sys::prog_load(&mut ProgLoad {
        prog_type: t.raw(),
        insns: &bytes,
        license: &license,
        log_level,
        log: &mut log,
        prog_flags: p.int("flags").map_or(bpfemu_kernel::bpf::load::default_prog_flags(*t), |f| f as u32),
        prog_name: &name,
        expected_attach_type: attach,
        attach_btf_id,
        prog_btf_fd: btf_fd.as_ref().map_or(0, |fd| fd.as_raw_fd() as u32),
        func_info: &func_info,
    });
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    Ok((res.map(drop), String::from_utf8_lossy(&log[..end]).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_message_skips_the_statistics() {
        let log = "0: (b7) r0 = 0\nR0 !read_ok\nprocessed 1 insns (limit 1000000) max_states_per_insn 0\n";
        assert_eq!(last_message(log), "R0 !read_ok");
        assert_eq!(last_message(""), "");
    }

    #[test]
    fn judgements() {
        let none: &[String] = &[];
        let gone = &["x".to_string()];
        assert_eq!(judge(true, &[], Ok(()), none), Judgement::Agree);
        assert_eq!(judge(false, &[Errno::EACCES], Err(13), none), Judgement::Agree);
        assert_eq!(judge(false, &[Errno::EACCES], Err(13), gone), Judgement::Message);
        assert_eq!(judge(false, &[Errno::EACCES], Err(22), none), Judgement::Verdict);
        assert_eq!(judge(true, &[], Err(13), none), Judgement::Verdict);
        assert_eq!(judge(false, &[Errno::EINVAL], Ok(()), none), Judgement::Verdict);
    }

    #[test]
    fn corpus_verdicts_are_read_from_the_plan() {
        let s = bpfemu_scenario::Scenario::from_text(
            "t.scn",
            "prog A type=socket_filter {\n r0 = 0\n exit\n}\nprog B type=socket_filter {\n exit\n} => EACCES | EINVAL\nexpect log \"R0 !read_ok\"\n",
            &bpfemu_scenario::FsLoader,
        )
        .unwrap();
        let progs: Vec<&Planned> = s.plan.iter().filter(|p| p.spec.name == "prog").collect();
        assert_eq!(wanted(progs[0]), (true, vec![]));
        assert_eq!(wanted(progs[1]), (false, vec![Errno::EACCES, Errno::EINVAL]));
    }
}
