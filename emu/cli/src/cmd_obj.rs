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
//!   fails the command with the verifier log's tail.

use anyhow::{Context, Result};
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
    println!("{}", bpfemu_kernel::show::prog_show(&k).trim_end());
    let maps = bpfemu_kernel::show::map_show(&k);
    if !maps.trim().is_empty() {
        println!("{}", maps.trim_end());
    }
    Ok(ExitCode::SUCCESS)
}
