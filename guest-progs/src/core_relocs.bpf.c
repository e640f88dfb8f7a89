// SPDX-License-Identifier: GPL-2.0
/*
 * core_relocs.bpf.c — CO-RE relocations against the emulated kernel's BTF,
 * from the deliberately different local layouts of core_local.h.
 *
 *   - core_consts (SEC("syscall")): stores relocated constants into
 *     `consts[]` (.bss), one per index below:
 *      0 offsetof(task_struct, pid)          1 offsetof(task_struct, comm)
 *      2 sizeof task_struct.flags (4)        3 exists task_struct.not_in_kernel (0)
 *      4 exists task_struct.tgid (1)         5 signed task_struct.pid (1)
 *      6 signed task_struct.flags (0)        7 offsetof(bpf_map, max_entries)
 *      8 offsetof(bpf_map, value_size)       9 sizeof bpf_map.value_size (4)
 *     10 exists bpf_map.no_such_field (0)   11 offsetof(bpf_map, name)
 *     12 type exists bpf_map (1)            13 type exists no_such_type (0)
 *     14 type size task_struct              15 type size iphdr (20)
 *     16 enum value BPF_MAP_TYPE_RINGBUF (27)
 *     17 enum value BPF_MAP_TYPE_HASH (1)
 *     18 enum value exists BPF_MAP_TYPE_NOT_REAL (0)
 *     19 enum value exists BPF_MAP_TYPE_RINGBUF (1)
 *     20 enum value SK_DROP (0)             21 enum value SK_PASS (1)
 *     22 offsetof(iphdr, protocol) (9)      23 offsetof(iphdr, daddr) (16)
 *     24 iphdr.version byte offset (0)      25 iphdr.version byte size (1)
 *     26 iphdr.version lshift (56)          27 iphdr.version rshift (60)
 *     28 tcphdr.doff byte offset (12)       29 tcphdr.doff byte size (2)
 *     30 tcphdr.doff lshift (56)            31 tcphdr.doff rshift (60)
 *     32 tcphdr.syn lshift (54)             33 tcphdr.syn rshift (63)
 *     34 offsetof(tcphdr, dest) (2)         35 kernel type id of task_struct
 *     36 marker 0xc0de
 *     37 offsetof(ipv6hdr, daddr.in6_u.u6_addr32[2]) (32)
 *     38 offsetof(bpf_flow_keys, ipv6_dst[1]) (36, through anonymous members)
 *     39 offsetof(bpf_flow_keys, thoff) (2)
 *   (bpf_core_type_matches() is not used: clang 14's backend rejects it.)
 *   - core_reads (SEC("syscall")): the ctx holds kernel-layout bytes (a
 *     struct core_read_ctx: an iphdr, a tcphdr, a bpf_map image); the
 *     program copies them to its stack with bpf_probe_read_kernel() (a
 *     modified ctx pointer may not be dereferenced) and reads the copy
 *     through the local views (direct loads at the relocated offsets,
 *     resized loads adjusted, bitfields extracted with
 *     BPF_CORE_READ_BITFIELD) into `reads[]`:
 *      0 ip version  1 ip ihl  2 ip protocol  3 ip ttl  4 ip saddr
 *      5 ip daddr    6 tcp source  7 tcp dest  8 tcp doff  9 tcp syn
 *     10 tcp fin    11 map map_type  12 map key_size  13 map value_size
 *     14 map max_entries
 *
 * Used by: emu/user/tests/guest_objects.rs (load, run both, compare with
 * offsets computed from the kernel's BTF and with the ctx bytes).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include "core_local.h"

#define field_info(s, f, kind) __builtin_preserve_field_info(((typeof(s) *)0)->f, kind)

__u64 consts[40];
__u64 reads[16];

SEC("syscall")
int core_consts(void *ctx)
{
	consts[0] = bpf_core_field_offset(struct task_struct___reordered, pid);
	consts[1] = bpf_core_field_offset(struct task_struct___reordered, comm);
	consts[2] = bpf_core_field_size(struct task_struct___reordered, flags);
	consts[3] = bpf_core_field_exists(struct task_struct___reordered, not_in_kernel);
	consts[4] = bpf_core_field_exists(struct task_struct___reordered, tgid);
	consts[5] = field_info(struct task_struct___reordered, pid, BPF_FIELD_SIGNED);
	consts[6] = field_info(struct task_struct___reordered, flags, BPF_FIELD_SIGNED);
	consts[7] = bpf_core_field_offset(struct bpf_map___local, max_entries);
	consts[8] = bpf_core_field_offset(struct bpf_map___local, value_size);
	consts[9] = bpf_core_field_size(struct bpf_map___local, value_size);
	consts[10] = bpf_core_field_exists(struct bpf_map___local, no_such_field);
	consts[11] = bpf_core_field_offset(struct bpf_map___local, name);
	consts[12] = bpf_core_type_exists(struct bpf_map___local);
	consts[13] = bpf_core_type_exists(struct no_such_type___local);
	consts[14] = bpf_core_type_size(struct task_struct___reordered);
	consts[15] = bpf_core_type_size(struct iphdr___local);
	consts[16] = bpf_core_enum_value(enum bpf_map_type___local, BPF_MAP_TYPE_RINGBUF___local);
	consts[17] = bpf_core_enum_value(enum bpf_map_type___local, BPF_MAP_TYPE_HASH___local);
	consts[18] = bpf_core_enum_value_exists(enum bpf_map_type___local, BPF_MAP_TYPE_NOT_REAL___local);
	consts[19] = bpf_core_enum_value_exists(enum bpf_map_type___local, BPF_MAP_TYPE_RINGBUF___local);
	consts[20] = bpf_core_enum_value(enum sk_action___local, SK_DROP___local);
	consts[21] = bpf_core_enum_value(enum sk_action___local, SK_PASS___local);
	consts[22] = bpf_core_field_offset(struct iphdr___local, protocol);
	consts[23] = bpf_core_field_offset(struct iphdr___local, daddr);
	consts[24] = field_info(struct iphdr___local, version, BPF_FIELD_BYTE_OFFSET);
	consts[25] = field_info(struct iphdr___local, version, BPF_FIELD_BYTE_SIZE);
	consts[26] = field_info(struct iphdr___local, version, BPF_FIELD_LSHIFT_U64);
	consts[27] = field_info(struct iphdr___local, version, BPF_FIELD_RSHIFT_U64);
	consts[28] = field_info(struct tcphdr___local, doff, BPF_FIELD_BYTE_OFFSET);
	consts[29] = field_info(struct tcphdr___local, doff, BPF_FIELD_BYTE_SIZE);
	consts[30] = field_info(struct tcphdr___local, doff, BPF_FIELD_LSHIFT_U64);
	consts[31] = field_info(struct tcphdr___local, doff, BPF_FIELD_RSHIFT_U64);
	consts[32] = field_info(struct tcphdr___local, syn, BPF_FIELD_LSHIFT_U64);
	consts[33] = field_info(struct tcphdr___local, syn, BPF_FIELD_RSHIFT_U64);
	consts[34] = bpf_core_field_offset(struct tcphdr___local, dest);
	consts[35] = bpf_core_type_id_kernel(struct task_struct___reordered);
	consts[36] = 0xc0de;
	consts[37] = bpf_core_field_offset(struct ipv6hdr___local, daddr.in6_u.u6_addr32[2]);
	consts[38] = bpf_core_field_offset(struct bpf_flow_keys___local, ipv6_dst[1]);
	consts[39] = bpf_core_field_offset(struct bpf_flow_keys___local, thoff);
	return 0;
}

/* The ctx of core_reads, in the kernel's layouts (user space fills it). */
struct core_read_ctx {
	__u8 ip[20];	/* struct iphdr */
	__u8 tcp[20];	/* struct tcphdr */
	__u8 map[64];	/* struct bpf_map (the emulated kernel's subset) */
};

SEC("syscall")
int core_reads(struct core_read_ctx *ctx)
{
	struct core_read_ctx copy;
	struct iphdr___local *ip = (void *)copy.ip;
	struct tcphdr___local *tcp = (void *)copy.tcp;
	struct bpf_map___local *map = (void *)copy.map;

	if (bpf_probe_read_kernel(&copy, sizeof(copy), ctx))
		return -14; /* -EFAULT */

	reads[0] = BPF_CORE_READ_BITFIELD(ip, version);
	reads[1] = BPF_CORE_READ_BITFIELD(ip, ihl);
	reads[2] = ip->protocol;
	reads[3] = ip->ttl;
	reads[4] = ip->saddr;
	reads[5] = ip->daddr;
	reads[6] = tcp->source;
	reads[7] = tcp->dest;
	reads[8] = BPF_CORE_READ_BITFIELD(tcp, doff);
	reads[9] = BPF_CORE_READ_BITFIELD(tcp, syn);
	reads[10] = BPF_CORE_READ_BITFIELD(tcp, fin);
	reads[11] = map->map_type;
	reads[12] = map->key_size;
	reads[13] = map->value_size;
	reads[14] = map->max_entries;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
