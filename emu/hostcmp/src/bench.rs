//! `--verifier-bench`: the programs of bpfemu's verifier benchmark
//! (`bpfemu_bench::verifier_progs`) loaded into bpfemu and into the host
//! kernel, with the statistics line of each verifier side by side
//! (processed instructions and the state counts `do_check()` reports).

use crate::corpus::errno_name;
use crate::sys::{self, ProgLoad};
use bpfemu_bench::verifier_progs::{Stats, programs, stats};
use bpfemu_isa::Insn;
use bpfemu_kernel::bpf::BpfAttr;
use bpfemu_kernel::bpf::attr::ProgLoadAttr;
use bpfemu_kernel::bpf::load::default_prog_flags;
use bpfemu_kernel::uapi::ProgType;
use bpfemu_kernel::{Kernel, KernelConfig};

const LOG_SIZE: usize = 16 << 20;

/// bpfemu's statistics for `insns` (a level-1 log), or its error.
fn bpfemu_stats(insns: &[Insn]) -> Result<Stats, String> {
    let mut k = Kernel::new(KernelConfig::default());
    let mut log = String::new();
    let attr = ProgLoadAttr {
        prog_type: ProgType::Syscall.raw(),
        insns,
        license: "GPL",
        prog_flags: default_prog_flags(ProgType::Syscall),
        log_level: 1,
        log_size: LOG_SIZE as u32,
        log: Some(&mut log),
        ..Default::default()
    };
    match k.bpf(BpfAttr::ProgLoad(attr)) {
        Ok(_) => stats(&log).ok_or_else(|| "no statistics line".to_string()),
        Err(e) => Err(format!("{}: {}", e.name(), crate::corpus::last_message(&log))),
    }
}

/// The host kernel's statistics for `insns`, or its error.
fn host_stats(name: &str, insns: &[Insn]) -> Result<Stats, String> {
    let bytes: Vec<u8> = insns.iter().flat_map(|i| i.to_bytes()).collect();
    let mut log = vec![0u8; LOG_SIZE];
    let res = sys::prog_load(&mut ProgLoad {
        prog_type: ProgType::Syscall.raw(),
        insns: &bytes,
        license: b"GPL\0",
        log_level: 1,
        log: &mut log,
        prog_flags: default_prog_flags(ProgType::Syscall),
        prog_name: name.as_bytes(),
        expected_attach_type: 0,
        attach_btf_id: 0,
        prog_btf_fd: 0,
        func_info: &[],
    });
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let log = String::from_utf8_lossy(&log[..end]);
    match res {
        Ok(_fd) => stats(&log).ok_or_else(|| "no statistics line".to_string()),
        Err(e) => Err(format!("{}: {}", errno_name(e), crate::corpus::last_message(&log))),
    }
}

fn cells(s: &Result<Stats, String>) -> String {
    match s {
        Ok(s) => format!(
            "{} | {} | {} | {} | {}",
            s.processed, s.max_states_per_insn, s.total_states, s.peak_states, s.mark_read
        ),
        Err(e) => format!("{e} | | | |"),
    }
}

/// Prints the comparison as a markdown table; false when a program could
/// not be loaded on either side.
pub fn run() -> bool {
    println!(
        "| program | insns | side | processed | max_states_per_insn | total_states | peak_states | mark_read |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let mut ok = true;
    for (name, src) in programs() {
        let insns = match bpfemu_isa::asm::kernel::assemble(&src) {
            Ok(i) => i,
            Err(e) => {
                eprintln!("bpfemu-hostcmp: {name}: {e}");
                ok = false;
                continue;
            }
        };
        let ours = bpfemu_stats(&insns);
        let host = host_stats(name, &insns);
        ok &= ours.is_ok() && host.is_ok();
        println!("| `{name}` | {} | bpfemu | {} |", insns.len(), cells(&ours));
        println!("| | | kernel | {} |", cells(&host));
    }
    ok
}
