//! `struct bpf_flow_keys` (include/uapi/linux/bpf.h) as bytes and fields:
//! the flow dissector's output, which a BPF dissector writes through its
//! `flow_keys` pointer and the native one fills directly.

use std::fmt::Write as _;

/// `sizeof(struct bpf_flow_keys)`.
pub const FLOW_KEYS_SIZE: usize = 56;
/// `offsetof(struct bpf_flow_keys, flags)`.
pub const FLAGS_OFF: usize = 48;

/// `BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG`.
pub const F_PARSE_1ST_FRAG: u32 = 1;
/// `BPF_FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL`.
pub const F_STOP_AT_FLOW_LABEL: u32 = 2;
/// `BPF_FLOW_DISSECTOR_F_STOP_AT_ENCAP`.
pub const F_STOP_AT_ENCAP: u32 = 4;

/// The keys; network-order fields keep their wire bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FlowKeys {
    pub nhoff: u16,
    pub thoff: u16,
    pub addr_proto: u16,
    pub is_frag: u8,
    pub is_first_frag: u8,
    pub is_encap: u8,
    pub ip_proto: u8,
    pub n_proto: [u8; 2],
    pub sport: [u8; 2],
    pub dport: [u8; 2],
    /// `ipv4_src`, `ipv4_dst` (first 8 bytes) or `ipv6_src`, `ipv6_dst`.
    pub addrs: [u8; 32],
    pub flags: u32,
    pub flow_label: [u8; 4],
}

impl FlowKeys {
    /// The uapi layout (x86-64, little-endian host fields).
    pub fn to_bytes(&self) -> [u8; FLOW_KEYS_SIZE] {
        let mut b = [0u8; FLOW_KEYS_SIZE];
        b[0..2].copy_from_slice(&self.nhoff.to_le_bytes());
        b[2..4].copy_from_slice(&self.thoff.to_le_bytes());
        b[4..6].copy_from_slice(&self.addr_proto.to_le_bytes());
        b[6] = self.is_frag;
        b[7] = self.is_first_frag;
        b[8] = self.is_encap;
        b[9] = self.ip_proto;
        b[10..12].copy_from_slice(&self.n_proto);
        b[12..14].copy_from_slice(&self.sport);
        b[14..16].copy_from_slice(&self.dport);
        b[16..48].copy_from_slice(&self.addrs);
        b[48..52].copy_from_slice(&self.flags.to_le_bytes());
        b[52..56].copy_from_slice(&self.flow_label);
        b
    }

    /// Parses the uapi layout.
    pub fn from_bytes(b: &[u8; FLOW_KEYS_SIZE]) -> FlowKeys {
        let u16le = |i: usize| u16::from_le_bytes([b[i], b[i + 1]]);
        let two = |i: usize| [b[i], b[i + 1]];
        let mut addrs = [0u8; 32];
        addrs.copy_from_slice(&b[16..48]);
        FlowKeys {
            nhoff: u16le(0),
            thoff: u16le(2),
            addr_proto: u16le(4),
            is_frag: b[6],
            is_first_frag: b[7],
            is_encap: b[8],
            ip_proto: b[9],
            n_proto: two(10),
            sport: two(12),
            dport: two(14),
            addrs,
            flags: u32::from_le_bytes([b[48], b[49], b[50], b[51]]),
            flow_label: [b[52], b[53], b[54], b[55]],
        }
    }

    /// Source and destination addresses as text, by `addr_proto`.
    pub fn addr_text(&self) -> (String, String) {
        match self.addr_proto {
            0x0800 => {
                let a = &self.addrs;
                (
                    std::net::Ipv4Addr::new(a[0], a[1], a[2], a[3]).to_string(),
                    std::net::Ipv4Addr::new(a[4], a[5], a[6], a[7]).to_string(),
                )
            }
            0x86DD => {
                let mut s = [0u8; 16];
                let mut d = [0u8; 16];
                s.copy_from_slice(&self.addrs[..16]);
                d.copy_from_slice(&self.addrs[16..]);
                (std::net::Ipv6Addr::from(s).to_string(), std::net::Ipv6Addr::from(d).to_string())
            }
            _ => ("-".into(), "-".into()),
        }
    }

    /// One line: every field, for logs and test failures.
    pub fn summary(&self) -> String {
        let (s, d) = self.addr_text();
        let mut o = String::new();
        let _ = write!(
            o,
            "nhoff={} thoff={} n_proto=0x{:04x} addr_proto=0x{:04x} ip_proto={} src={s} dst={d} sport={} dport={} is_frag={} is_first_frag={} is_encap={} flow_label=0x{:05x}",
            self.nhoff,
            self.thoff,
            u16::from_be_bytes(self.n_proto),
            self.addr_proto,
            self.ip_proto,
            u16::from_be_bytes(self.sport),
            u16::from_be_bytes(self.dport),
            self.is_frag,
            self.is_first_frag,
            self.is_encap,
            u32::from_be_bytes(self.flow_label),
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vmlinux::types::BpfFlowKeys;
    use std::mem::{offset_of, size_of};

    #[test]
    fn layout_matches_the_vmlinux_struct() {
        assert_eq!(size_of::<BpfFlowKeys>(), FLOW_KEYS_SIZE);
        assert_eq!(offset_of!(BpfFlowKeys, flags), FLAGS_OFF);
        assert_eq!(offset_of!(BpfFlowKeys, n_proto), 10);
        assert_eq!(offset_of!(BpfFlowKeys, addrs), 16);
        assert_eq!(offset_of!(BpfFlowKeys, flow_label), 52);
        let k = FlowKeys { nhoff: 14, thoff: 34, n_proto: [8, 0], flags: 5, ..Default::default() };
        assert_eq!(FlowKeys::from_bytes(&k.to_bytes()), k);
    }
}
