//! `bpfemu btf dump`: the emulated kernel's vmlinux BTF, as
//! `bpftool btf dump file /sys/kernel/btf/vmlinux [format c]` prints it.
//!
//! - `--format c` (default): a `vmlinux.h` for guest programs to compile
//!   against (`bpfemu_btf::dump_c`);
//! - `--format raw`: bpftool's raw `[id] KIND 'name' ...` listing;
//! - `--format bin`: the encoded BTF blob (what `/sys/kernel/btf/vmlinux`
//!   holds), e.g. to feed a real `bpftool btf dump file`.

use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Subcommand)]
pub enum BtfCommand {
    /// Print the emulated kernel's vmlinux BTF.
    Dump(DumpArgs),
}

/// Output format of `btf dump`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DumpFormat {
    /// A C header (`vmlinux.h`).
    C,
    /// bpftool's raw type listing.
    Raw,
    /// The binary BTF blob.
    Bin,
}

#[derive(Debug, Args)]
pub struct DumpArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "c")]
    pub format: DumpFormat,
    /// Write to this file instead of stdout.
    #[arg(long, short)]
    pub out: Option<PathBuf>,
}

pub fn btf(cmd: BtfCommand) -> Result<ExitCode> {
    match cmd {
        BtfCommand::Dump(a) => dump(a),
    }
}

fn dump(a: DumpArgs) -> Result<ExitCode> {
    let btf = bpfemu_kernel::vmlinux::vmlinux_btf();
    let bytes = match a.format {
        DumpFormat::C => bpfemu_btf::dump_c(&btf).into_bytes(),
        DumpFormat::Raw => bpfemu_btf::dump_raw(&btf).into_bytes(),
        DumpFormat::Bin => btf.encode().context("encoding vmlinux BTF")?,
    };
    match a.out {
        Some(path) => std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?,
        None => std::io::stdout().lock().write_all(&bytes).context("writing stdout")?,
    }
    Ok(ExitCode::SUCCESS)
}
