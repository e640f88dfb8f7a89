//! `bpfemu-hostcmp`: bpfemu's verifier corpus against the host's real
//! verifier. Every program of the given corpus files is loaded with the
//! host's `bpf()` (root, and a kernel with BTF, are needed) and the
//! answer judged by the expectations bpfemu meets in CI; the summary says
//! per file how many cases the host agrees with, where only the message
//! differs, where the verdict differs, and how many were not comparable.
//! No kernel counterpart: a measuring tool, not run by CI.
//!
//! ```text
//! cargo run --release -p bpfemu-hostcmp -- scenarios/verifier/*.scn [--details]
//! cargo run --release -p bpfemu-hostcmp -- --verifier-bench
//! ```
//!
//! `--verifier-bench` loads the verifier benchmark's programs into both
//! and prints the statistics lines' numbers side by side.

mod bench;
mod corpus;
mod sys;

use clap::Parser;
use corpus::{Case, Host, Judgement};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(about = "Load bpfemu's verifier corpus into the host kernel and compare")]
struct Args {
    /// Corpus files (scenarios/verifier/*.scn).
    #[arg(required_unless_present = "verifier_bench")]
    files: Vec<PathBuf>,
    /// Compare the verifier benchmark's state counts instead.
    #[arg(long)]
    verifier_bench: bool,
    /// The host's kernel BTF (attach targets and kfuncs by name).
    #[arg(long, default_value = "/sys/kernel/btf/vmlinux")]
    btf: PathBuf,
    /// Print every case that does not agree, with the host's message.
    #[arg(long)]
    details: bool,
}

#[derive(Default)]
struct Tally {
    cases: usize,
    agree: usize,
    message: usize,
    verdict: usize,
    skipped: usize,
}

impl Tally {
    fn add(&mut self, c: &Case) {
        self.cases += 1;
        match c.judgement {
            Judgement::Agree => self.agree += 1,
            Judgement::Message => self.message += 1,
            Judgement::Verdict => self.verdict += 1,
            Judgement::Skipped(_) => self.skipped += 1,
        }
    }
    fn row(&self, name: &str) -> String {
        format!(
            "| {name} | {} | {} | {} | {} | {} |",
            self.cases, self.agree, self.message, self.verdict, self.skipped
        )
    }
}

fn detail(c: &Case) -> String {
    let at = format!("{}:{} {}", c.file, c.line, c.name);
    match &c.judgement {
        Judgement::Agree => String::new(),
        Judgement::Skipped(why) => format!("skipped  {at}: {why}\n"),
        Judgement::Message => {
            format!("message  {at}: {} both; missing {:?}; host says {:?}\n", c.host, c.missing, c.host_line)
        }
        Judgement::Verdict => format!(
            "verdict  {at}: bpfemu {}, host {}; missing {:?}; host says {:?}\n",
            c.want, c.host, c.missing, c.host_line
        ),
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    if args.verifier_bench {
        return if bench::run() { ExitCode::SUCCESS } else { ExitCode::FAILURE };
    }
    let btf = match std::fs::read(&args.btf)
        .map_err(|e| e.to_string())
        .and_then(|b| bpfemu_btf::decode(&b).map_err(|e| format!("{e:?}")))
    {
        Ok(b) => b,
        Err(e) => {
            eprintln!("bpfemu-hostcmp: {}: {e}", args.btf.display());
            return ExitCode::from(2);
        }
    };
    let host = Host { btf };
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    println!("host kernel {}", release.trim());
    println!();
    println!("| file | cases | agree | message differs | verdict differs | skipped |");
    println!("|---|---|---|---|---|---|");
    let mut total = Tally::default();
    let mut details = String::new();
    for f in &args.files {
        let scn = match bpfemu_scenario::Scenario::from_file(f) {
            Ok(s) => s,
            Err(d) => {
                eprintln!("{d}");
                return ExitCode::from(2);
            }
        };
        let name =
            f.file_name().map_or_else(|| f.display().to_string(), |n| n.to_string_lossy().into_owned());
        let mut t = Tally::default();
        for c in corpus::replay(&name, &scn.plan, &host) {
            t.add(&c);
            total.add(&c);
            details.push_str(&detail(&c));
        }
        println!("{}", t.row(&name));
    }
    println!("{}", total.row("**all**"));
    if args.details {
        println!();
        print!("{details}");
    }
    ExitCode::SUCCESS
}
