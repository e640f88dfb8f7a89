//! Malformed objects never panic the loader: valid fixture objects with
//! bytes flipped, runs overwritten, or cut short are opened and, when that
//! succeeds, loaded into a fresh kernel; every outcome must be `Ok` or a
//! clean `Err`.
//!
//! Runs 256 cases per fixture by default; set `BPFEMU_LOADER_FUZZ_CASES`
//! (e.g. `BPFEMU_LOADER_FUZZ_CASES=100000 cargo test -p bpfemu-user
//! --release --test mutate`) for a long run.

use bpfemu_kernel::{Kernel, KernelConfig, SimConfig};
use bpfemu_user::Object;
use proptest::prelude::*;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name)).unwrap()
}

fn cases() -> u32 {
    std::env::var("BPFEMU_LOADER_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(256)
}

#[derive(Clone, Debug)]
enum Mutation {
    Flip { at: usize, mask: u8 },
    Overwrite { at: usize, bytes: Vec<u8> },
    Truncate { len: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        4 => (any::<usize>(), 1u8..=255).prop_map(|(at, mask)| Mutation::Flip { at, mask }),
        2 => (any::<usize>(), proptest::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Mutation::Overwrite { at, bytes }),
        1 => any::<usize>().prop_map(|len| Mutation::Truncate { len }),
    ]
}

fn apply(mut data: Vec<u8>, muts: &[Mutation]) -> Vec<u8> {
    for m in muts {
        match m {
            Mutation::Flip { at, mask } => {
                let n = data.len().max(1);
                if let Some(b) = data.get_mut(at % n) {
                    *b ^= mask;
                }
            }
            Mutation::Overwrite { at, bytes } => {
                let n = data.len().max(1);
                for (i, b) in bytes.iter().enumerate() {
                    if let Some(d) = data.get_mut((at % n) + i) {
                        *d = *b;
                    }
                }
            }
            Mutation::Truncate { len } => {
                let n = data.len().max(1);
                data.truncate(len % n);
            }
        }
    }
    data
}

fn check(bytes: &[u8]) {
    if let Ok(mut obj) = Object::open_mem("fuzz", bytes) {
        let mut k = Kernel::new(KernelConfig { sim: SimConfig::default() });
        let _ = obj.load(&mut k);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_globals_never_panic(muts in proptest::collection::vec(mutation(), 1..6)) {
        check(&apply(fixture("globals.bpf.o"), &muts));
    }

    #[test]
    fn mutated_core_never_panic(muts in proptest::collection::vec(mutation(), 1..6)) {
        check(&apply(fixture("core.bpf.o"), &muts));
    }

    #[test]
    fn mutated_legacy_never_panic(muts in proptest::collection::vec(mutation(), 1..6)) {
        check(&apply(fixture("legacy_pinned.bpf.o"), &muts));
    }

    #[test]
    fn mutated_struct_ops_never_panic(muts in proptest::collection::vec(mutation(), 1..6)) {
        check(&apply(fixture("struct_ops.bpf.o"), &muts));
    }

    #[test]
    fn mutated_ksyms_never_panic(muts in proptest::collection::vec(mutation(), 1..6)) {
        check(&apply(fixture("ksyms.bpf.o"), &muts));
    }

    #[test]
    fn mutated_initialisers_never_panic(muts in proptest::collection::vec(mutation(), 1..6)) {
        check(&apply(fixture("initialisers.bpf.o"), &muts));
    }
}
