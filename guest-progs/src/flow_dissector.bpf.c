// SPDX-License-Identifier: GPL-2.0
/*
 * flow_dissector.bpf.c — a BPF flow dissector (BPF_PROG_TYPE_FLOW_DISSECTOR)
 * filling struct bpf_flow_keys the way the kernel's native dissector
 * (net/core/flow_dissector.c) does for Ethernet payloads: 802.1Q / 802.1AD
 * VLAN tags, IPv4 (options, fragments), IPv6 (hop-by-hop, routing,
 * destination-options and fragment extension headers, flow label),
 * encapsulations (IP-in-IP, IPv6-in-IP, GRE version 0 with optional
 * checksum / key / sequence words and transparent Ethernet bridging), and
 * TCP / UDP ports.
 *
 * Design: one program per protocol, chained by tail calls through the
 * prog_array `dissect_jmp`, which the object initialises itself (`.values`)
 * so loading the object fills the table. The entry point `dissect` reads
 * keys->n_proto (the EtherType the kernel found) and jumps to the matching
 * stage; each stage parses the header at keys->thoff (the kernel starts
 * with thoff == nhoff), advances thoff past it, and either finishes
 * (BPF_OK), jumps to the next stage, or gives up (BPF_DROP). VLAN tags
 * advance nhoff too; an encapsulated packet keeps the outer nhoff, sets
 * is_encap and reports the inner addresses and ports, as the native
 * dissector reports the inner flow; n_proto stays the outer EtherType the
 * kernel found (the inner one is addr_proto), as in the kernel selftests'
 * bpf_flow.c. Headers are read with direct
 * packet access only; a header that is not in the linear data (beyond
 * data_end) makes the dissection fail. keys->addr_proto is in host order
 * (ETH_P_IP / ETH_P_IPV6), as the kernel reads it.
 *
 * Input flags honoured (keys->flags): BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG,
 * BPF_FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL, BPF_FLOW_DISSECTOR_F_STOP_AT_ENCAP.
 *
 * Used by: emu/user/tests/guest_objects.rs (load + verify); the netns
 * flow-dissector scenarios of issue 8 once BPF_FLOW_DISSECTOR attach and
 * BPF_PROG_TEST_RUN for flow dissectors exist.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#define ETH_P_IP	0x0800
#define ETH_P_IPV6	0x86DD
#define ETH_P_8021Q	0x8100
#define ETH_P_8021AD	0x88A8
#define ETH_P_TEB	0x6558
#define ETH_HLEN	14

#define IPPROTO_HOPOPTS	0
#define IPPROTO_IPIP	4
#define IPPROTO_TCP	6
#define IPPROTO_GRE	47
#define IPPROTO_UDP	17
#define IPPROTO_IPV6	41
#define IPPROTO_ROUTING	43
#define IPPROTO_FRAGMENT 44
#define IPPROTO_DSTOPTS	60

#define IPV4_MF		0x2000
#define IPV4_OFFSET	0x1fff
#define IPV6_FRAG_OFFSET 0xfff8
#define IPV6_FLOWLABEL	0x000fffff

#define GRE_CSUM	0x8000
#define GRE_KEY		0x2000
#define GRE_SEQ		0x1000
#define GRE_VERSION	0x0007

/* Packet offsets we accept: keeps pointer arithmetic provably in bounds. */
#define MAX_HDR_OFF	0x3fff

enum stage {
	STAGE_IPV4,
	STAGE_IPV6,
	STAGE_IPV6_EXT,
	STAGE_VLAN,
	STAGE_COUNT,
};

int dissect_ipv4(struct __sk_buff *skb);
int dissect_ipv6(struct __sk_buff *skb);
int dissect_ipv6_ext(struct __sk_buff *skb);
int dissect_vlan(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, STAGE_COUNT);
	__type(key, __u32);
	__array(values, int (struct __sk_buff *));
} dissect_jmp SEC(".maps") = {
	.values = {
		[STAGE_IPV4] = (void *)&dissect_ipv4,
		[STAGE_IPV6] = (void *)&dissect_ipv6,
		[STAGE_IPV6_EXT] = (void *)&dissect_ipv6_ext,
		[STAGE_VLAN] = (void *)&dissect_vlan,
	},
};

/* `len` bytes of packet at offset `off`, or NULL when not in the data. */
static __always_inline void *pkt_at(struct __sk_buff *skb, __u32 off, __u32 len)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;
	void *p;

	if (off > MAX_HDR_OFF)
		return NULL;
	p = data + off;
	if (p + len > data_end)
		return NULL;
	return p;
}

/* Jumps to the stage for EtherType `proto` (network order). */
static __always_inline int by_ethertype(struct __sk_buff *skb, __be16 proto)
{
	switch (bpf_ntohs(proto)) {
	case ETH_P_IP:
		bpf_tail_call(skb, &dissect_jmp, STAGE_IPV4);
		break;
	case ETH_P_IPV6:
		bpf_tail_call(skb, &dissect_jmp, STAGE_IPV6);
		break;
	case ETH_P_8021Q:
	case ETH_P_8021AD:
		bpf_tail_call(skb, &dissect_jmp, STAGE_VLAN);
		break;
	}
	/* Unknown EtherType, or the tail call failed. */
	return BPF_DROP;
}

/* Ports of the transport header at keys->thoff (protocol `proto`). */
static __always_inline int transport(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u8 proto)
{
	keys->ip_proto = proto;
	if (proto == IPPROTO_TCP) {
		struct tcphdr *tcp = pkt_at(skb, keys->thoff, sizeof(*tcp));
		__u8 doff;

		if (!tcp)
			return BPF_DROP;
		/* doff is the high nibble of byte 12 */
		doff = ((__u8 *)tcp)[12] >> 4;
		if (doff < 5)
			return BPF_DROP;
		if (!pkt_at(skb, keys->thoff, doff * 4))
			return BPF_DROP;
		keys->sport = tcp->source;
		keys->dport = tcp->dest;
		return BPF_OK;
	}
	if (proto == IPPROTO_UDP) {
		struct udphdr *udp = pkt_at(skb, keys->thoff, sizeof(*udp));

		if (!udp)
			return BPF_DROP;
		keys->sport = udp->source;
		keys->dport = udp->dest;
		return BPF_OK;
	}
	/* Another transport: the addresses are the whole flow. */
	return BPF_OK;
}

/* An inner network header of EtherType `proto` (network order) at
 * keys->thoff: IP-in-IP, IPv6-in-IP, GRE payloads. */
static __always_inline int encapsulated(struct __sk_buff *skb, struct bpf_flow_keys *keys, __be16 proto)
{
	keys->is_encap = 1;
	if (keys->flags & BPF_FLOW_DISSECTOR_F_STOP_AT_ENCAP)
		return BPF_OK;
	return by_ethertype(skb, proto);
}

/* A GRE header at keys->thoff (RFC 2784/2890, version 0 only). */
static __always_inline int gre(struct __sk_buff *skb, struct bpf_flow_keys *keys)
{
	struct gre_base {
		__be16 flags;
		__be16 proto;
	} *g = pkt_at(skb, keys->thoff, sizeof(*g));
	__u16 flags;
	__be16 proto;

	if (!g)
		return BPF_DROP;
	flags = bpf_ntohs(g->flags);
	proto = g->proto;
	if (flags & GRE_VERSION)
		return BPF_OK; /* PPTP and other versions: not dissected further */
	keys->thoff += sizeof(*g);
	if (flags & GRE_CSUM)
		keys->thoff += 4;
	if (flags & GRE_KEY)
		keys->thoff += 4;
	if (flags & GRE_SEQ)
		keys->thoff += 4;
	if (proto == bpf_htons(ETH_P_TEB)) {
		struct ethhdr *eth = pkt_at(skb, keys->thoff, sizeof(*eth));

		if (!eth)
			return BPF_DROP;
		keys->thoff += ETH_HLEN;
		proto = eth->h_proto;
	}
	return encapsulated(skb, keys, proto);
}

/* After an IPv4 header, or an IPv6 header and its extension headers:
 * the protocol `proto` at keys->thoff. */
static __always_inline int l4(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u8 proto)
{
	switch (proto) {
	case IPPROTO_IPIP:
		keys->ip_proto = proto;
		return encapsulated(skb, keys, bpf_htons(ETH_P_IP));
	case IPPROTO_IPV6:
		keys->ip_proto = proto;
		return encapsulated(skb, keys, bpf_htons(ETH_P_IPV6));
	case IPPROTO_GRE:
		keys->ip_proto = proto;
		return gre(skb, keys);
	}
	return transport(skb, keys, proto);
}

SEC("flow_dissector")
int dissect(struct __sk_buff *skb)
{
	struct bpf_flow_keys *keys = skb->flow_keys;

	return by_ethertype(skb, keys->n_proto);
}

SEC("flow_dissector")
int dissect_vlan(struct __sk_buff *skb)
{
	struct bpf_flow_keys *keys = skb->flow_keys;
	struct vlan_hdr *vlan = pkt_at(skb, keys->thoff, sizeof(*vlan));

	if (!vlan)
		return BPF_DROP;
	keys->nhoff += sizeof(*vlan);
	keys->thoff += sizeof(*vlan);
	keys->n_proto = vlan->h_vlan_encapsulated_proto;
	return by_ethertype(skb, keys->n_proto);
}

SEC("flow_dissector")
int dissect_ipv4(struct __sk_buff *skb)
{
	struct bpf_flow_keys *keys = skb->flow_keys;
	struct iphdr *iph = pkt_at(skb, keys->thoff, sizeof(*iph));
	__u16 frag;
	__u8 ihl;

	if (!iph)
		return BPF_DROP;
	/* ihl is the low nibble of the first byte */
	ihl = ((__u8 *)iph)[0] & 0x0f;
	if (ihl < 5)
		return BPF_DROP;
	if (!pkt_at(skb, keys->thoff, ihl * 4))
		return BPF_DROP;

	keys->addr_proto = ETH_P_IP;
	keys->ipv4_src = iph->saddr;
	keys->ipv4_dst = iph->daddr;
	keys->ip_proto = iph->protocol;
	keys->thoff += ihl * 4;

	frag = bpf_ntohs(iph->frag_off);
	if (frag & (IPV4_MF | IPV4_OFFSET)) {
		keys->is_frag = 1;
		if (frag & IPV4_OFFSET)
			return BPF_OK; /* a later fragment: no transport header */
		keys->is_first_frag = 1;
		if (!(keys->flags & BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG))
			return BPF_OK;
	}

	return l4(skb, keys, iph->protocol);
}

/* After an IPv6 header or extension header announcing `next`. */
static __always_inline int ipv6_next(struct __sk_buff *skb, struct bpf_flow_keys *keys, __u8 next)
{
	keys->ip_proto = next;
	switch (next) {
	case IPPROTO_HOPOPTS:
	case IPPROTO_ROUTING:
	case IPPROTO_DSTOPTS:
	case IPPROTO_FRAGMENT:
		bpf_tail_call(skb, &dissect_jmp, STAGE_IPV6_EXT);
		return BPF_DROP;
	}
	return l4(skb, keys, next);
}

SEC("flow_dissector")
int dissect_ipv6(struct __sk_buff *skb)
{
	struct bpf_flow_keys *keys = skb->flow_keys;
	struct ipv6hdr *ip6 = pkt_at(skb, keys->thoff, sizeof(*ip6));

	if (!ip6)
		return BPF_DROP;

	keys->addr_proto = ETH_P_IPV6;
	__builtin_memcpy(keys->ipv6_src, &ip6->saddr, sizeof(ip6->saddr));
	__builtin_memcpy(keys->ipv6_dst, &ip6->daddr, sizeof(ip6->daddr));
	keys->thoff += sizeof(*ip6);
	keys->ip_proto = ip6->nexthdr;
	/* version, traffic class and flow label share the first word */
	keys->flow_label = *(__be32 *)ip6 & bpf_htonl(IPV6_FLOWLABEL);
	if (keys->flow_label && (keys->flags & BPF_FLOW_DISSECTOR_F_STOP_AT_FLOW_LABEL))
		return BPF_OK;
	return ipv6_next(skb, keys, ip6->nexthdr);
}

/* One IPv6 extension header at keys->thoff; keys->ip_proto names it. */
SEC("flow_dissector")
int dissect_ipv6_ext(struct __sk_buff *skb)
{
	struct bpf_flow_keys *keys = skb->flow_keys;

	if (keys->ip_proto == IPPROTO_FRAGMENT) {
		struct frag_hdr *fh = pkt_at(skb, keys->thoff, sizeof(*fh));
		__u16 off;

		if (!fh)
			return BPF_DROP;
		keys->thoff += sizeof(*fh);
		keys->is_frag = 1;
		keys->ip_proto = fh->nexthdr;
		off = bpf_ntohs(fh->frag_off) & IPV6_FRAG_OFFSET;
		if (off)
			return BPF_OK; /* a later fragment: no transport header */
		keys->is_first_frag = 1;
		if (!(keys->flags & BPF_FLOW_DISSECTOR_F_PARSE_1ST_FRAG))
			return BPF_OK;
		return ipv6_next(skb, keys, fh->nexthdr);
	} else {
		struct ipv6_opt_hdr *opt = pkt_at(skb, keys->thoff, sizeof(*opt));
		__u32 len;

		if (!opt)
			return BPF_DROP;
		/* hdrlen counts 8-octet units after the first 8 octets */
		len = (opt->hdrlen + 1) * 8;
		if (!pkt_at(skb, keys->thoff, len))
			return BPF_DROP;
		keys->thoff += len;
		return ipv6_next(skb, keys, opt->nexthdr);
	}
}

char LICENSE[] SEC("license") = "GPL";
