//! Packets built from a readable description: Ethernet, 802.1Q / 802.1ad
//! VLAN tags, IPv4 / IPv6, TCP / UDP / ICMP, and GRE or IP-in-IP
//! encapsulation. What the scenario `packet` statement and the flow
//! dissector tests feed the stack (the bytes an `sk_buff` would carry from
//! its Ethernet header on).
//!
//! A description is a `/`-separated layer list after an optional VLAN
//! part, e.g. `ipv4/tcp`, `vlan/ipv6/udp`, `qinq/ipv4/tcp`,
//! `ipv4/gre/ipv6/udp`, `ipv4/ipip/ipv4/tcp`, `ipv4/icmp`. The innermost
//! IP header carries the given addresses and the transport header the
//! given ports; outer headers of a tunnel use 192.0.2.1 → 192.0.2.2 or
//! 2001:db8::1 → 2001:db8::2. Checksums are left zero (nothing checks
//! them). Not built: IPv4 options, IPv6 extension headers other than a
//! fragment header, MPLS.

use std::net::IpAddr;

/// `ETH_P_*`.
pub const ETH_P_IP: u16 = 0x0800;
pub const ETH_P_IPV6: u16 = 0x86DD;
pub const ETH_P_8021Q: u16 = 0x8100;
pub const ETH_P_8021AD: u16 = 0x88A8;
pub const ETH_P_TEB: u16 = 0x6558;
/// `ETH_HLEN`.
pub const ETH_HLEN: usize = 14;

/// Fragment position of the innermost IP header.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Frag {
    #[default]
    None,
    /// The first fragment (more fragments, offset 0).
    First,
    /// A later fragment (offset non-zero).
    Later,
}

/// What to build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PacketSpec {
    /// Layers: `vlan`, `qinq`, `ipv4`, `ipv6`, `tcp`, `udp`, `icmp`, `gre`, `ipip`.
    pub layers: Vec<String>,
    pub src: Option<IpAddr>,
    pub dst: Option<IpAddr>,
    pub sport: u16,
    pub dport: u16,
    pub vlan_id: u16,
    pub frag: Frag,
    /// Bytes of payload after the last header.
    pub payload: usize,
}

impl Default for PacketSpec {
    fn default() -> Self {
        PacketSpec {
            layers: Vec::new(),
            src: None,
            dst: None,
            sport: 0,
            dport: 0,
            vlan_id: 1,
            frag: Frag::None,
            payload: 0,
        }
    }
}

fn be16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}

/// IP protocol numbers (`IPPROTO_*`).
fn l4_proto(layer: &str) -> Option<u8> {
    Some(match layer {
        "icmp" => 1,
        "ipip" => 4,
        "tcp" => 6,
        "udp" => 17,
        "ipv6" => 41,
        "gre" => 47,
        _ => return None,
    })
}

/// Builds the frame; errors name the layer that does not fit.
pub fn build(spec: &PacketSpec) -> Result<Vec<u8>, String> {
    let mut layers: Vec<&str> = spec.layers.iter().map(String::as_str).collect();
    let mut out = Vec::new();
    out.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1]);
    match layers.first() {
        Some(&"vlan") => {
            layers.remove(0);
            be16(&mut out, ETH_P_8021Q);
            be16(&mut out, spec.vlan_id);
        }
        Some(&"qinq") => {
            layers.remove(0);
            be16(&mut out, ETH_P_8021AD);
            be16(&mut out, spec.vlan_id);
            be16(&mut out, ETH_P_8021Q);
            be16(&mut out, spec.vlan_id);
        }
        _ => {}
    }
    let first = *layers.first().ok_or("no network layer (expected ipv4 or ipv6)")?;
    be16(
        &mut out,
        match first {
            "ipv4" => ETH_P_IP,
            "ipv6" => ETH_P_IPV6,
            other => return Err(format!("`{other}`: expected ipv4 or ipv6 after Ethernet")),
        },
    );
    let body = l3(&layers, spec)?;
    out.extend_from_slice(&body);
    Ok(out)
}

/// The layers from an IP header on.
fn l3(layers: &[&str], spec: &PacketSpec) -> Result<Vec<u8>, String> {
    let (ip, rest) = layers.split_first().ok_or("missing IP layer")?;
    // Tunnel layers after this IP header.
    let next = rest.first().copied().ok_or_else(|| format!("`{ip}` needs a layer after it"))?;
    let innermost = !matches!(next, "gre" | "ipip") && next != "ipv4" && next != "ipv6";
    let inner = match next {
        "gre" => {
            let tail = &rest[1..];
            let t = *tail.first().ok_or("`gre` needs an inner ipv4 or ipv6")?;
            let proto = match t {
                "ipv4" => ETH_P_IP,
                "ipv6" => ETH_P_IPV6,
                o => return Err(format!("`{o}`: expected ipv4 or ipv6 inside gre")),
            };
            let mut g = vec![0, 0];
            be16(&mut g, proto);
            g.extend_from_slice(&l3(tail, spec)?);
            g
        }
        "ipip" => {
            let tail = &rest[1..];
            match tail.first() {
                Some(&"ipv4") | Some(&"ipv6") => l3(tail, spec)?,
                _ => return Err("`ipip` needs an inner ipv4 or ipv6".into()),
            }
        }
        "ipv4" | "ipv6" => l3(rest, spec)?,
        _ => l4(rest, spec)?,
    };
    let proto = match next {
        "ipip" => {
            if rest.get(1) == Some(&"ipv6") {
                41
            } else {
                4
            }
        }
        other => l4_proto(other).ok_or_else(|| format!("unknown layer `{other}`"))?,
    };
    let frag = if innermost { spec.frag } else { Frag::None };
    let mut h = Vec::new();
    match *ip {
        "ipv4" => {
            let (s, d) = match (innermost, spec.src, spec.dst) {
                (true, Some(IpAddr::V4(s)), Some(IpAddr::V4(d))) => (s.octets(), d.octets()),
                (true, None, None) => ([10, 0, 0, 1], [10, 0, 0, 2]),
                (true, _, _) => return Err("ipv4 needs IPv4 src= and dst= addresses".into()),
                _ => ([192, 0, 2, 1], [192, 0, 2, 2]),
            };
            h.push(0x45);
            h.push(0);
            be16(&mut h, (20 + inner.len()) as u16);
            be16(&mut h, 0);
            be16(
                &mut h,
                match frag {
                    Frag::None => 0,
                    Frag::First => 0x2000,
                    Frag::Later => 0x0010,
                },
            );
            h.push(64);
            h.push(proto);
            be16(&mut h, 0);
            h.extend_from_slice(&s);
            h.extend_from_slice(&d);
        }
        "ipv6" => {
            let (s, d) = match (innermost, spec.src, spec.dst) {
                (true, Some(IpAddr::V6(s)), Some(IpAddr::V6(d))) => (s.octets(), d.octets()),
                (true, None, None) => (ip6(1), ip6(2)),
                (true, _, _) => return Err("ipv6 needs IPv6 src= and dst= addresses".into()),
                _ => (ip6(0x11), ip6(0x12)),
            };
            let fraghdr = frag != Frag::None;
            h.extend_from_slice(&[0x60, 0x01, 0x23, 0x45]);
            be16(&mut h, (inner.len() + if fraghdr { 8 } else { 0 }) as u16);
            h.push(if fraghdr { 44 } else { proto });
            h.push(64);
            h.extend_from_slice(&s);
            h.extend_from_slice(&d);
            if fraghdr {
                h.push(proto);
                h.push(0);
                be16(&mut h, if frag == Frag::First { 1 } else { 0x0008 });
                h.extend_from_slice(&[0, 0, 0, 1]);
            }
        }
        other => return Err(format!("`{other}`: expected ipv4 or ipv6")),
    }
    h.extend_from_slice(&inner);
    Ok(h)
}

fn ip6(last: u8) -> [u8; 16] {
    let mut a = [0u8; 16];
    a[0] = 0x20;
    a[1] = 0x01;
    a[2] = 0x0d;
    a[3] = 0xb8;
    a[15] = last;
    a
}

fn l4(layers: &[&str], spec: &PacketSpec) -> Result<Vec<u8>, String> {
    let (t, rest) = layers.split_first().ok_or("missing transport layer")?;
    if let Some(x) = rest.first() {
        return Err(format!("unexpected `{x}` after `{t}`"));
    }
    let mut h = Vec::new();
    match *t {
        "tcp" => {
            be16(&mut h, spec.sport);
            be16(&mut h, spec.dport);
            h.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
        }
        "udp" => {
            be16(&mut h, spec.sport);
            be16(&mut h, spec.dport);
            be16(&mut h, (8 + spec.payload) as u16);
            be16(&mut h, 0);
        }
        "icmp" => h.extend_from_slice(&[8, 0, 0, 0, 0, 1, 0, 1]),
        other => return Err(format!("unknown transport layer `{other}`")),
    }
    h.extend(std::iter::repeat_n(0xab, spec.payload));
    Ok(h)
}

fn corpus_spec(layers: &str, sport: u16, dport: u16) -> PacketSpec {
    PacketSpec { layers: layers.split('/').map(String::from).collect(), sport, dport, ..Default::default() }
}

/// The packet corpus the flow-dissector tests run through the native and
/// a BPF dissector: (description, frame from the Ethernet header). Every
/// layer combination the builder knows, fragments, and malformed frames.
pub fn corpus() -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for l in [
        "ipv4/tcp",
        "ipv4/udp",
        "ipv4/icmp",
        "ipv6/tcp",
        "ipv6/udp",
        "vlan/ipv4/tcp",
        "vlan/ipv6/tcp",
        "vlan/ipv4/udp",
        "qinq/ipv6/udp",
        "ipv4/gre/ipv4/udp",
        "ipv4/gre/ipv6/tcp",
        "ipv4/ipip/ipv4/tcp",
        "ipv6/ipip/ipv6/udp",
    ] {
        v.push((l.to_string(), build(&corpus_spec(l, 1234, 80)).unwrap()));
    }
    for frag in [Frag::First, Frag::Later] {
        for l in ["ipv4/tcp", "ipv6/udp"] {
            let s = PacketSpec { frag, ..corpus_spec(l, 7, 9) };
            v.push((format!("{l} {frag:?}"), build(&s).unwrap()));
        }
    }
    // Malformed: a bad IHL, a truncated TCP header, a TCP data offset past
    // the end, an unknown ethertype.
    let mut p = build(&corpus_spec("ipv4/tcp", 1, 2)).unwrap();
    p[14] = 0x44;
    v.push(("ihl 4".into(), p));
    let p = build(&corpus_spec("ipv4/tcp", 1, 2)).unwrap();
    v.push(("truncated tcp".into(), p[..14 + 20 + 10].to_vec()));
    let mut p = build(&corpus_spec("ipv4/tcp", 1, 2)).unwrap();
    p[14 + 20 + 12] = 0xf0;
    v.push(("doff 15".into(), p));
    let mut p = build(&corpus_spec("ipv4/udp", 1, 2)).unwrap();
    p[12] = 0x88;
    p[13] = 0xb5;
    v.push(("ethertype 0x88b5".into(), p));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(l: &str) -> PacketSpec {
        PacketSpec {
            layers: l.split('/').map(String::from).collect(),
            sport: 80,
            dport: 443,
            ..Default::default()
        }
    }

    #[test]
    fn lengths_and_protocols() {
        let p = build(&spec("ipv4/tcp")).unwrap();
        assert_eq!(p.len(), 14 + 20 + 20);
        assert_eq!(&p[12..14], &[0x08, 0x00]);
        assert_eq!(p[14 + 9], 6);
        assert_eq!(&p[34..38], &[0, 80, 1, 187]);
        let p = build(&spec("qinq/ipv6/udp")).unwrap();
        assert_eq!(p.len(), 14 + 8 + 40 + 8);
        assert_eq!(&p[12..14], &[0x88, 0xa8]);
        assert_eq!(&p[20..22], &[0x86, 0xdd]);
        let p = build(&spec("ipv4/gre/ipv6/udp")).unwrap();
        assert_eq!(p.len(), 14 + 20 + 4 + 40 + 8);
        assert_eq!(p[14 + 9], 47);
        let p = build(&spec("ipv4/ipip/ipv4/tcp")).unwrap();
        assert_eq!(p[14 + 9], 4);
        assert!(build(&spec("tcp")).is_err());
        assert!(build(&spec("ipv4/tcp/udp")).is_err());
        assert!(build(&spec("ipv4")).is_err());
    }
}
