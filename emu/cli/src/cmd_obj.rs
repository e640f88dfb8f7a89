//! `bpfemu obj show FILE` and `bpfemu load FILE`: BPF ELF objects through
//! the emulated libbpf (`bpfemu_user`).
//!
//! - `obj show`: sections, programs (type, expected attach type, attach
//!   target, flags), maps (definition, initialisers), externs,
//!   relocations, and CO-RE relocations resolved against the emulated
//!   kernel's BTF, as parsed by `Object::open`;
//! - `load`: opens the object, loads it into a fresh kernel (every
//!   program, verified), then prints what was created as `bpftool prog
//!   show` and `bpftool map show` do. A program the verifier refuses
//!   fails the command with the verifier log's tail. `--dump xlated` /
//!   `--dump jited` then print each program as `bpftool prog dump xlated`
//!   / `dump jited` do: the instructions the kernel runs, or the native
//!   code under the instruction it came from;
//! - `prog dump xlated|jited ID --object FILE`: the same for the program
//!   with id ID once FILE is loaded (bpfemu has no long-lived kernel to
//!   ask, so the object is loaded into a fresh one first).

use anyhow::{Context, Result, anyhow};
use bpfemu_kernel::{Kernel, KernelConfig, SimConfig};
use bpfemu_user::Object;
use clap::{Args, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum ObjCommand {
    /// List an object's sections, programs, maps, externs and relocations.
    Show(ShowArgs),
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The BPF ELF object (`clang -target bpf -c`).
    pub file: PathBuf,
}

#[derive(Debug, Args)]
pub struct LoadArgs {
    /// The BPF ELF object.
    pub file: PathBuf,
    /// Verifier log level for every program (the log is printed).
    #[arg(long, default_value_t = 0)]
    pub log_level: u32,
    /// Load only this program (by function name); others are not loaded.
    #[arg(long)]
    pub program: Option<String>,
    /// Then print every loaded program's instructions (`xlated`) or native
    /// code (`jited`), as `bpftool prog dump` does.
    #[arg(long, value_enum)]
    pub dump: Option<Dump>,
}

/// What `--dump` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Dump {
    Xlated,
    Jited,
}

#[derive(Debug, Subcommand)]
pub enum ProgCommand {
    /// `bpftool prog dump xlated|jited id ID`, of an object loaded first.
    Dump(ProgDumpArgs),
}

#[derive(Debug, Args)]
pub struct ProgDumpArgs {
    /// `xlated` or `jited`.
    #[arg(value_enum)]
    pub what: Dump,
    /// The program's id (in a fresh kernel ids start at 1, in load order).
    pub id: u32,
    /// The BPF ELF object to load first.
    #[arg(long)]
    pub object: PathBuf,
}

pub fn obj(cmd: ObjCommand) -> Result<ExitCode> {
    match cmd {
        ObjCommand::Show(a) => {
            let obj = Object::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
            let vmlinux = bpfemu_kernel::vmlinux::vmlinux_btf();
            print!("{}", bpfemu_user::describe::describe_with_target(&obj, Some(&vmlinux)));
            Ok(ExitCode::SUCCESS)
        }
    }
}

pub fn load(a: LoadArgs) -> Result<ExitCode> {
    let (k, _) = load_object(&a)?;
    println!("{}", bpfemu_kernel::show::prog_show(&k).trim_end());
    let maps = bpfemu_kernel::show::map_show(&k);
    if !maps.trim().is_empty() {
        println!("{}", maps.trim_end());
    }
    if let Some(what) = a.dump {
        for p in k.objects.progs.live() {
            println!("\n{}: {}", p.id, p.name);
            print!("{}", dump(&p, what)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn prog(cmd: ProgCommand) -> Result<ExitCode> {
    let ProgCommand::Dump(a) = cmd;
    let args = LoadArgs { file: a.object.clone(), log_level: 0, program: None, dump: None };
    let (k, _) = load_object(&args)?;
    let p = k.objects.progs.get(a.id).ok_or_else(|| {
        let ids: Vec<String> =
            k.objects.progs.live().iter().map(|p| format!("{} ({})", p.id, p.name)).collect();
        anyhow!(
            "no program with id {} after loading {}; programs: {}",
            a.id,
            a.object.display(),
            ids.join(", ")
        )
    })?;
    print!("{}", dump(&p, a.what)?);
    Ok(ExitCode::SUCCESS)
}

/// `bpftool prog dump xlated` / `dump jited` of one program.
fn dump(p: &bpfemu_kernel::bpf::prog::Prog, what: Dump) -> Result<String> {
    use std::fmt::Write as _;
    let listing = bpfemu_isa::disasm::disasm_program_with(&p.xlated, bpfemu_isa::disasm::Syntax::Kernel)
        .map_err(|e| anyhow!("program {}: {e}", p.id))?;
    match what {
        Dump::Xlated => {
            let mut out = String::new();
            for (slot, text) in listing {
                let _ = writeln!(out, "{slot:>4}: {text}");
            }
            Ok(out)
        }
        Dump::Jited => jited(p, listing.into_iter().collect()),
    }
}

#[cfg(target_arch = "x86_64")]
fn jited(
    p: &bpfemu_kernel::bpf::prog::Prog,
    listing: std::collections::BTreeMap<usize, String>,
) -> Result<String> {
    let Some(jit) = p.jited() else {
        return Err(anyhow!("program {} ({}) is not jited", p.id, p.name));
    };
    Ok(crate::cmd_jit::render(&jit.code(), jit.native_offsets(), &listing))
}

#[cfg(not(target_arch = "x86_64"))]
fn jited(p: &bpfemu_kernel::bpf::prog::Prog, _: std::collections::BTreeMap<usize, String>) -> Result<String> {
    Err(anyhow!("program {} ({}) is not jited: bpfemu's JIT is x86-64 only", p.id, p.name))
}

/// Opens and loads `a.file` into a fresh kernel as `load` does.
fn load_object(a: &LoadArgs) -> Result<(Kernel, Object)> {
    let mut obj = Object::open(&a.file).with_context(|| format!("opening {}", a.file.display()))?;
    if let Some(name) = &a.program {
        anyhow::ensure!(obj.program(name).is_some(), "no program named '{name}' in {}", a.file.display());
    }
    for p in obj.all_programs_mut() {
        if p.is_subprog() {
            continue;
        }
        p.set_log_level(a.log_level);
        if let Some(name) = &a.program {
            let keep = p.name() == name;
            p.set_autoload(keep);
        }
    }
    let mut k = Kernel::new(KernelConfig { sim: SimConfig::default() });
    let res = obj.load(&mut k);
    for w in obj.warnings() {
        eprintln!("bpfemu: warning: {w}");
    }
    if a.log_level > 0 {
        for p in obj.programs() {
            if !p.log().is_empty() {
                println!("-- verifier log of {} --\n{}", p.name(), p.log().trim_end());
            }
        }
    }
    res.with_context(|| format!("loading {}", a.file.display()))?;
    Ok((k, obj))
}
