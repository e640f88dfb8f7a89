/* SPDX-License-Identifier: GPL-2.0 */
/*
 * core_local.h — local ("___flavor") views of kernel types for the CO-RE
 * tests (core_relocs.bpf.c). Each layout deliberately differs from the
 * emulated kernel's vmlinux BTF (emu/kernel/src/vmlinux/): fields
 * reordered, resized, missing, bitfields moved, enum values renumbered.
 * libbpf (and bpfemu's loader) match them to the kernel types by the name
 * before "___" and relocate every access; the tests compare the relocated
 * values with the kernel's BTF.
 *
 * The attribute makes every member access a CO-RE relocation, as
 * vmlinux.h's pragma does for the kernel's own types.
 */
#ifndef CORE_LOCAL_H
#define CORE_LOCAL_H

#define __core __attribute__((preserve_access_index))

/* task_struct: reordered, `flags` resized (u32 in the kernel), one field
 * the kernel does not have. */
struct task_struct___reordered {
	char comm[16];
	__u64 flags;
	int tgid;
	int pid;
	__u64 not_in_kernel;
} __core;

/* bpf_map: reordered, `value_size` narrowed to u16, a missing field. */
struct bpf_map___local {
	__u32 max_entries;
	__u32 id;
	__u32 map_type;
	__u32 key_size;
	__u16 value_size;
	__u32 no_such_field;
	char name[16];
} __core;

/* iphdr: addresses first, bitfields after the bytes they share in the
 * kernel, and in the other order. */
struct iphdr___local {
	__be32 daddr;
	__be32 saddr;
	__u8 protocol;
	__u8 ttl;
	__u8 version:4,
	     ihl:4;
	__be16 tot_len;
} __core;

/* tcphdr: the flag bitfields first, in another order, ports swapped. */
struct tcphdr___local {
	__u16 syn:1,
	      doff:4,
	      fin:1;
	__be16 dest;
	__be16 source;
} __core;

/* ipv6hdr reduced to its destination address (nested access through
 * struct in6_addr's union); bpf_flow_keys with ipv6_dst as a direct
 * member (the kernel's sits in an anonymous union of anonymous structs). */
struct ipv6hdr___local {
	struct in6_addr daddr;
} __core;

struct bpf_flow_keys___local {
	__u32 ipv6_dst[4];
	__u16 thoff;
} __core;

/* A type the kernel does not have. */
struct no_such_type___local {
	int x;
} __core;

/* Renumbered enumerators of kernel enums, plus one the kernel lacks. */
enum bpf_map_type___local {
	BPF_MAP_TYPE_HASH___local = 100,
	BPF_MAP_TYPE_RINGBUF___local = 101,
	BPF_MAP_TYPE_NOT_REAL___local = 102,
};

enum sk_action___local {
	SK_PASS___local = 7,
	SK_DROP___local = 8,
};

#endif /* CORE_LOCAL_H */
