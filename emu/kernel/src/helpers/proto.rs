//! Helper prototypes live with the verifier that checks them
//! ([`bpfemu_verifier::proto`]); re-exported here for the helper table.

pub use bpfemu_verifier::proto::*;
