// CO-RE fixture for emu/user/src/core/tests/clang.rs. Rebuild with:
//   clang-14 -target bpf -O2 -g -fdebug-prefix-map=$PWD=. -c core_sample.c -o core_sample.o
//   llvm-objcopy --strip-debug core_sample.o
// (Debian clang 14.0.6, libbpf-dev 1.1.2 headers). The local layout below
// differs from the target BTF the test builds (reordered, resized, missing
// and bitfield members, an anonymous struct, an enum).
typedef unsigned int u32;
typedef unsigned long long u64;
typedef u32 __u32;
typedef u64 __u64;
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef int __s32;
typedef long long __s64;
typedef unsigned short __be16;
typedef unsigned int __be32;
typedef unsigned int __wsum;
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

struct sample {
	int a;
	u32 b;
	u32 bf1 : 3, bf2 : 5;
	u32 arr[4];
	struct {
		int x;
		int y;
	};
	int gone;
} __attribute__((preserve_access_index));

enum sample_e { SE_ONE = 1, SE_TWO = 2 };

SEC("tp_btf/sample")
u64 prog(struct sample *s)
{
	u64 r = 0;

	r += s->a;
	r += s->b;
	r += s->arr[2];
	r += s->y;
	r += bpf_core_field_size(s->arr);
	r += BPF_CORE_READ_BITFIELD(s, bf2);
	if (bpf_core_field_exists(s->gone))
		r += s->gone;
	r += bpf_core_type_exists(struct sample);
	r += bpf_core_type_size(struct sample);
	r += bpf_core_type_id_kernel(struct sample);
	r += bpf_core_type_id_local(struct sample);
	r += bpf_core_enum_value_exists(enum sample_e, SE_ONE);
	r += bpf_core_enum_value(enum sample_e, SE_TWO);
	return r;
}

char LICENSE[] SEC("license") = "GPL";
