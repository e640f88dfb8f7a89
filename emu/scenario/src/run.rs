//! Running planned statements against a fresh [`Kernel`] and reporting: a
//! readable trace (one `[line] statement` per step, its result, PASS/FAIL
//! for its expectation, trace_pipe lines as they appear) and JSON lines.

use crate::error::Loc;
use crate::family::{self, Alt, PVal, Planned};
use crate::interleave::{Event, Worker};
use crate::value::{Bytes, Part, Val, fields_str};
use bpfemu_kernel::sim::rng::SimRng;
use bpfemu_kernel::{Errno, Kernel, KernelConfig, SimConfig};
use std::collections::BTreeMap;

/// What a statement did: reported fields, or the errno the kernel set.
pub type Outcome = Result<Vec<(String, Val)>, Errno>;

/// How many message lines of a refused load's verifier log the trace shows.
pub const LOG_TAIL: usize = 4;

/// A level-1 instruction line without its register state (`12: (b7) r0 = 0`), if it
/// prints no relocated address.
fn is_insn_line(l: &str) -> bool {
    let t = l.trim();
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && t[digits..].starts_with(": (") && !t.contains(" = 0x") && !t.contains(';')
}

/// A verifier log line that is a message (an error, a note, the
/// statistics), not an instruction, a register state or a branch header.
fn is_message_line(l: &str) -> bool {
    let t = l.trim();
    // The statistics line is left out too: its state counts change with
    // every pruning improvement, and `expect log "processed ..."` checks it
    // where it matters.
    if t.is_empty()
        || t.starts_with("from ")
        || t.starts_with("frame")
        || t.starts_with(';')
        || t.starts_with("processed ")
    {
        return false;
    }
    // `12: (b7) r0 = 0`, `12: R1=ctx() R10=fp0`, `12:` (level 2 state lines).
    let digits = t.chars().take_while(char::is_ascii_digit).count();
    !(digits > 0 && t[digits..].starts_with(':'))
}

/// Stream of the seeded RNG that orders `concurrent` branches.
const STREAM_INTERLEAVE: u64 = 0x5c3a;

/// The result of running a scenario.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// The readable trace, ending with the summary line.
    pub text: String,
    /// One JSON object per executed statement.
    pub json: Vec<String>,
    pub passed: usize,
    pub failed: usize,
    /// One line per failed expectation: `file:line: ...`.
    pub failures: Vec<String>,
    /// Results of every statement from the first `concurrent` block on, ordered
    /// by location (independent of the
    /// interleaving): what `explore` compares between seeds.
    pub outcome: String,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failed == 0
    }
}

/// The running state of one scenario.
#[derive(Debug)]
pub struct Runner {
    pub k: Kernel,
    /// Object names → fds.
    pub objs: BTreeMap<String, i32>,
    /// trace_pipe lines consumed by `expect trace`.
    pub trace_cursor: usize,
    /// The most recent `prog` load: its name and verifier log (what
    /// `expect log` searches).
    pub prog_log: Option<(String, String)>,
    printed_trace: usize,
    notes: Vec<String>,
    main_file: String,
    report: Report,
    outcomes: BTreeMap<(String, usize, usize), String>,
    seq: usize,
    /// Set at the first `concurrent` block: outcomes are recorded from there.
    racing: bool,
    /// Ring-buffer records reserved by `reserve` and not yet committed:
    /// name → (ring map, payload address) (family `ringbuf`).
    pub rb_records: BTreeMap<String, (std::sync::Arc<bpfemu_kernel::map::Map>, u64)>,
    /// The consumers `consume ... poll=yes` keeps per map name (epoll state
    /// lasts between statements) and the records their callbacks collect.
    pub rb_pollers: BTreeMap<String, crate::family::ringbuf::Poller>,
}

impl Runner {
    /// A runner over a kernel with `seed` and `cpus`, its JIT knob set
    /// for `engine`.
    pub fn new(main_file: &str, seed: u64, cpus: Option<u32>, engine: crate::Engine) -> Runner {
        let mut sim = SimConfig { seed, ..SimConfig::default() };
        if let Some(c) = cpus {
            sim.cpus = c;
        }
        let mut k = Kernel::new(KernelConfig { sim });
        // `Engine::Jit` exists only where the JIT does (`Engine::from_name`).
        let _ = k.set_jit_enable(engine == crate::Engine::Jit);
        Runner {
            k,
            objs: BTreeMap::new(),
            trace_cursor: 0,
            prog_log: None,
            printed_trace: 0,
            rb_pollers: BTreeMap::new(),
            rb_records: BTreeMap::new(),
            notes: Vec::new(),
            main_file: main_file.to_string(),
            report: Report::default(),
            outcomes: BTreeMap::new(),
            seq: 0,
            racing: false,
        }
    }

    /// The fd of a named object (`EBADF` once closed).
    pub fn fd(&self, name: &str) -> Result<i32, Errno> {
        self.objs.get(name).copied().ok_or(Errno::EBADF)
    }

    /// Binds `name` to the fd a creating command returned.
    pub fn bind(&mut self, name: &str, res: Result<i64, Errno>) -> Outcome {
        let fd = res? as i32;
        self.objs.insert(name.to_string(), fd);
        let mut f = vec![("fd".to_string(), Val::Int(fd.into()))];
        let mut info = None;
        if self.k.bpf(bpfemu_kernel::bpf::BpfAttr::ObjGetInfoByFd { bpf_fd: fd, info: &mut info }).is_ok() {
            use bpfemu_kernel::bpf::attr::ObjInfo;
            let id = match info {
                Some(ObjInfo::Map(m)) => m.id,
                Some(ObjInfo::Prog(p)) => p.id,
                Some(ObjInfo::Link(l)) => l.id,
                Some(ObjInfo::Btf(b)) => b.id,
                None => 0,
            };
            f.push(("id".to_string(), Val::Int(id.into())));
        }
        Ok(f)
    }

    /// Resolves a byte string (`fd:NAME` → the fd as u32).
    pub fn resolve(&self, b: &Bytes) -> Result<Vec<u8>, Errno> {
        let mut out = Vec::new();
        for p in &b.0 {
            match p {
                Part::Lit(v) => out.extend_from_slice(v),
                Part::Fd(n, _) => out.extend_from_slice(&(self.fd(n)? as u32).to_le_bytes()),
            }
        }
        Ok(out)
    }

    /// A verifier or BTF log, printed under the current statement (the
    /// first 12 non-empty lines).
    pub fn log(&mut self, log: &str) {
        let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
        for l in lines.iter().take(12) {
            self.note(format!("log: {l}"));
        }
        if lines.len() > 12 {
            self.note(format!("log: ... ({} more lines)", lines.len() - 12));
        }
    }

    /// A verifier log of a refused load, printed under the `prog`
    /// statement: the instruction the walk stopped at and the last
    /// [`LOG_TAIL`] message lines. Other instruction lines, register
    /// states, `from A to B:` headers and the statistics line are left
    /// out: they make golden files long and brittle (every change in the
    /// state printing or pruning would rewrite them), and may print
    /// relocated addresses (the kernel shows a map's address in
    /// `r1 = 0x...`) that change from run to run.
    /// `expect log` sees every line.
    /// `BPFEMU_FULL_LOG=1` prints every line instead (for debugging; the
    /// golden files are written without it).
    pub fn log_tail(&mut self, log: &str) {
        if std::env::var("BPFEMU_FULL_LOG").is_ok_and(|v| v == "1") {
            for l in log.lines().filter(|l| !l.trim().is_empty()) {
                self.note(format!("log: {l}"));
            }
            return;
        }
        let all: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
        let messages: Vec<usize> = (0..all.len()).filter(|&i| is_message_line(all[i])).collect();
        let mut shown: Vec<usize> = messages[messages.len().saturating_sub(LOG_TAIL)..].to_vec();
        // The instruction the walk stopped at: the last one before the messages shown.
        let first = shown.first().copied().unwrap_or(all.len());
        if let Some(i) = (0..first).rev().find(|&i| is_insn_line(all[i])) {
            shown.insert(0, i);
        }
        if all.len() > shown.len() {
            self.note("log: ...".to_string());
        }
        for i in shown {
            self.note(format!("log: {}", all[i]));
        }
    }

    /// A line printed under the current statement (logs, show output).
    pub fn note(&mut self, s: String) {
        self.notes.push(s);
    }

    fn out(&mut self, s: &str) {
        self.report.text.push_str(s);
        self.report.text.push('\n');
    }

    fn where_(&self, loc: &Loc) -> String {
        if loc.file == self.main_file {
            loc.line.to_string()
        } else {
            format!("{}:{}", short(&loc.file), loc.line)
        }
    }

    /// Runs every statement and returns the report.
    pub fn run(mut self, plan: &[Planned]) -> Report {
        for p in plan {
            if p.spec.name == "concurrent" {
                self.concurrent(p);
            } else {
                self.step(p, "");
            }
        }
        let (p, f) = (self.report.passed, self.report.failed);
        let verdict = if f == 0 { "PASS" } else { "FAIL" };
        let line = format!("{verdict}: {p} passed, {f} failed");
        self.out(&line);
        self.report.outcome = self.outcomes.values().cloned().collect::<Vec<_>>().join("\n");
        self.report
    }

    fn concurrent(&mut self, p: &Planned) {
        let w = self.where_(&p.stmt.loc);
        self.out(&format!("[{w}] concurrent"));
        self.racing = true;
        let mut rng = self.k.sim.fork_rng(STREAM_INTERLEAVE);
        let mut queues: Vec<std::collections::VecDeque<&Planned>> =
            p.children.iter().map(|b| b.children.iter().collect()).collect();
        // A branch's program run in progress (paused at an interleaving
        // point): its statement and its thread.
        let mut running: Vec<Option<(&Planned, Worker)>> = queues.iter().map(|_| None).collect();
        loop {
            let live: Vec<usize> =
                (0..queues.len()).filter(|&i| running[i].is_some() || !queues[i].is_empty()).collect();
            if live.is_empty() {
                break;
            }
            let pick = live[rng.below(live.len() as u64) as usize];
            let prefix = format!("  branch {}: ", pick + 1);
            let event = if let Some((s, mut worker)) = running[pick].take() {
                let ev = worker.resume();
                (s, worker, ev)
            } else {
                let Some(s) = queues[pick].pop_front() else { continue };
                match family::core::run_detach(self, s) {
                    Some(Ok(run)) => {
                        self.header(s, &prefix);
                        self.out("      runs (its helper calls are interleaving points)");
                        let (worker, ev) = Worker::start(run);
                        (s, worker, ev)
                    }
                    Some(Err(e)) => {
                        self.header(s, &prefix);
                        self.conclude(s, &prefix, Err(e));
                        continue;
                    }
                    None => {
                        self.step(s, &prefix);
                        continue;
                    }
                }
            };
            match event {
                (s, worker, Event::Paused) => running[pick] = Some((s, worker)),
                (s, _, Event::Done(done)) => {
                    let w = self.where_(&s.stmt.loc);
                    self.out(&format!("[{w}] {prefix}returns"));
                    let outcome = family::core::run_reattach(self, s, *done);
                    self.conclude(s, &prefix, outcome);
                }
            }
        }
        self.out(&format!("[{w}] end concurrent"));
    }

    /// The `[line] statement` line of a step.
    fn header(&mut self, p: &Planned, prefix: &str) {
        let w = self.where_(&p.stmt.loc);
        let src = if p.spec.name == "prog" && p.stmt.block.is_some() {
            format!("{} {{ ... }}", p.stmt.src.trim_end_matches('{').trim_end())
        } else {
            p.stmt.src.clone()
        };
        self.out(&format!("[{w}] {prefix}{src}"));
    }

    fn step(&mut self, p: &Planned, prefix: &str) {
        self.header(p, prefix);
        let outcome = family::core::exec(self, p)
            .or_else(|| family::sim::exec(self, p))
            .or_else(|| family::netns::exec(self, p))
            .or_else(|| family::ringbuf::exec(self, p))
            .unwrap_or(Err(Errno::ENOSYS));
        self.conclude(p, prefix, outcome);
    }

    /// Reports what a step did: its result, its expectation's verdict, the
    /// notes and trace lines it produced, its JSON line.
    fn conclude(&mut self, p: &Planned, prefix: &str, outcome: Outcome) {
        // What hooks at in-run preemption points did (injected NMIs).
        for line in self.k.run_points.take_log() {
            self.note(line);
        }
        let shown = match &outcome {
            Ok(f) if f.is_empty() => "ok".to_string(),
            Ok(f) => fields_str(f),
            Err(e) => format!("{} ({})", e.name(), e.message()),
        };
        let (pass, detail) = self.judge(p, &outcome);
        let silent = matches!(p.spec.name, "seed" | "cpus" | "advance" | "cpu" | "uid" | "show" | "dump")
            && outcome.is_ok();
        if !silent && !p.spec.name.starts_with("expect ") {
            let mark = match pass {
                Some(true) if p.expect.is_some() => "   PASS",
                _ => "",
            };
            self.out(&format!("      = {shown}{mark}"));
        } else if p.spec.name.starts_with("expect ") && pass == Some(true) {
            self.out("      PASS");
        }
        for n in std::mem::take(&mut self.notes) {
            self.out(&format!("      {n}"));
        }
        if let (Some(false), Some(d)) = (pass, &detail) {
            self.out(&format!("      FAIL: {d}"));
            let f = format!("{}:{}: {d}", p.stmt.loc.file, p.stmt.loc.line);
            self.report.failures.push(f);
        }
        match pass {
            Some(true) if p.expect.is_some() || p.spec.name.starts_with("expect ") => self.report.passed += 1,
            Some(false) => self.report.failed += 1,
            _ => {}
        }
        while self.printed_trace < self.k.trace_pipe.len() {
            let l = self.k.trace_pipe[self.printed_trace].clone();
            self.out(&format!("      trace: {l}"));
            self.printed_trace += 1;
        }
        self.seq += 1;
        let key = (p.stmt.loc.file.clone(), p.stmt.loc.line, self.seq);
        if self.racing {
            self.outcomes.insert(key, format!("{}:{}: {shown}", short(&p.stmt.loc.file), p.stmt.loc.line));
        }
        let j = serde_json::json!({
            "file": p.stmt.loc.file,
            "line": p.stmt.loc.line,
            "stmt": p.stmt.src,
            "branch": prefix.trim().trim_end_matches(':'),
            "result": shown,
            "ok": outcome.is_ok(),
            "expect": p.stmt.expect.as_ref().map(|_| expect_src(p)),
            "pass": pass,
            "time_ns": self.k.sim.now(),
            "cpu": self.k.sim.smp_processor_id(),
        });
        self.report.json.push(j.to_string());
    }

    /// Some(pass) and a failure message; `None` pass for statements without
    /// an expectation that succeeded.
    fn judge(&self, p: &Planned, outcome: &Outcome) -> (Option<bool>, Option<String>) {
        if p.spec.name == "expect trace" {
            let want = p.name(0);
            let got = match outcome {
                Ok(f) => f.first().map(|(_, v)| v.clone()),
                Err(_) => None,
            };
            return match got {
                Some(Val::Text(line)) if want == "none" && line == "none" => (Some(true), None),
                Some(Val::Text(line)) if want != "none" && line != "none" && line.ends_with(want) => {
                    (Some(true), None)
                }
                Some(Val::Text(line)) if line == "none" => (
                    Some(false),
                    Some(format!("expected trace line ending with {want:?}, got no more trace lines")),
                ),
                Some(v) => (Some(false), Some(format!("expected trace {want:?}, got {v}"))),
                None => (Some(false), Some("no trace".into())),
            };
        }
        if p.spec.name == "expect log" {
            let want = p.name(0);
            let prog = self.prog_log.as_ref().map_or("", |(n, _)| n.as_str());
            return match outcome {
                Ok(f) if f.iter().any(|(k, v)| k == "found" && *v == Val::Text("yes".into())) => {
                    (Some(true), None)
                }
                _ => (
                    Some(false),
                    Some(format!("expected a line of the verifier log of `{prog}` containing {want:?}")),
                ),
            };
        }
        if p.spec.name == "expect map" {
            let want = match (p.bytes("value"), p.kv.get("missing")) {
                (Some(b), _) => Alt::Fields(vec![("value".into(), PVal::Bytes(b.clone()))]),
                _ => Alt::Fields(vec![("missing".into(), PVal::Text("yes".into()))]),
            };
            return match self.alt_matches(&want, outcome) {
                true => (Some(true), None),
                false => (
                    Some(false),
                    Some(format!("expected {}, got {}", self.alt_str(&want), outcome_str(outcome))),
                ),
            };
        }
        match &p.expect {
            None => match outcome {
                Ok(_) => (None, None),
                Err(e) => (
                    Some(false),
                    Some(format!(
                        "unexpected error {} ({}); write `=> {}` to expect it",
                        e.name(),
                        e.message(),
                        e.name()
                    )),
                ),
            },
            Some(alts) => {
                if alts.iter().any(|a| self.alt_matches(a, outcome)) {
                    (Some(true), None)
                } else {
                    let want: Vec<String> = alts.iter().map(|a| self.alt_str(a)).collect();
                    (
                        Some(false),
                        Some(format!("expected {}, got {}", want.join(" | "), outcome_str(outcome))),
                    )
                }
            }
        }
    }

    fn alt_matches(&self, alt: &Alt, outcome: &Outcome) -> bool {
        match (alt, outcome) {
            (Alt::Ok, Ok(_)) => true,
            (Alt::Errno(e), Err(a)) => e == a,
            (Alt::Fields(want), Ok(have)) => want.iter().all(|(k, v)| {
                let Some((_, a)) = have.iter().find(|(hk, _)| hk == k) else { return false };
                match (v, a) {
                    (PVal::Bytes(b), Val::Bytes(a)) => self.resolve(b).is_ok_and(|b| &b == a),
                    (PVal::Int(n), Val::Int(a)) => {
                        n == a || (k == "r0" && (n & 0xffff_ffff) == (a & 0xffff_ffff))
                    }
                    (PVal::Text(s) | PVal::Name(s), Val::Text(a)) => s == a,
                    (PVal::Text(s), Val::Int(a)) => *s == a.to_string(),
                    (PVal::Int(n), Val::Text(a)) => *a == n.to_string(),
                    _ => false,
                }
            }),
            _ => false,
        }
    }

    fn alt_str(&self, alt: &Alt) -> String {
        match alt {
            Alt::Ok => "ok".into(),
            Alt::Errno(e) => e.name().into(),
            Alt::Fields(f) => f
                .iter()
                .map(|(k, v)| {
                    let v = match v {
                        PVal::Bytes(b) => {
                            self.resolve(b).map_or("<closed fd>".into(), |b| Val::Bytes(b).to_string())
                        }
                        PVal::Int(n) => n.to_string(),
                        PVal::Text(s) | PVal::Name(s) => format!("{s:?}"),
                        other => format!("{other:?}"),
                    };
                    format!("{k}={v}")
                })
                .collect::<Vec<_>>()
                .join(" "),
        }
    }
}

fn expect_src(p: &Planned) -> String {
    let col = p.stmt.expect.as_ref().map_or(0, |e| e.0);
    p.stmt
        .raw_line
        .chars()
        .skip(col + 1)
        .collect::<String>()
        .split('#')
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

fn outcome_str(o: &Outcome) -> String {
    match o {
        Ok(f) if f.is_empty() => "ok".into(),
        Ok(f) => fields_str(f),
        Err(e) => e.name().to_string(),
    }
}

fn short(file: &str) -> String {
    std::path::Path::new(file).file_name().map_or(file.to_string(), |f| f.to_string_lossy().into_owned())
}

/// A deterministic RNG for callers (explore) that need one.
pub fn rng(seed: u64) -> SimRng {
    SimRng::new(seed)
}

#[cfg(test)]
mod tests {
    use super::{is_insn_line, is_message_line};

    #[test]
    fn log_tail_keeps_messages_only() {
        for l in [
            "R0 !read_ok",
            "invalid access to packet, off=0 size=1, R2(id=0,off=0,r=0)",
            "last insn is not an exit or jmp",
            "BPF program is too large. Processed 1000001 insn",
        ] {
            assert!(is_message_line(l), "{l}");
        }
        for l in [
            "0: (18) r1 = 0xffff888100d33000",
            "12: R1=ctx() R10=fp0",
            "3:",
            "from 1 to 4: R0=scalar() R10=fp0",
            "frame1: R1=fp-8",
            "; int x = 0;",
            "processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0",
            "",
        ] {
            assert!(!is_message_line(l), "{l}");
        }
        assert!(is_insn_line("1: (63) *(u32 *)(r1 +8) = r0"));
        assert!(!is_insn_line("0: (b7) r0 = 0                        ; R0_w=0"));
        assert!(!is_insn_line("0: (18) r1 = 0xffff888100d33000"));
        assert!(!is_insn_line("R0 !read_ok"));
    }
}
