// struct_ops oracle: libbpf 1.1 static, bpf() faked and recorded,
// vmlinux BTF replaced by $VMLINUX.
#include <bpf/libbpf.h>
#include <bpf/btf.h>
#include <linux/bpf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int next_fd = 100;
static unsigned value_size[1000];

long syscall(long n, ...)
{
	if (n != __NR_bpf) { errno = ENOSYS; return -1; }
	va_list ap; va_start(ap, n);
	int cmd = va_arg(ap, int);
	union bpf_attr *a = va_arg(ap, union bpf_attr *);
	va_end(ap);
	int fd = next_fd++;
	if (cmd == BPF_MAP_CREATE && a->map_type == BPF_MAP_TYPE_STRUCT_OPS) {
		printf("map %s flags %u value_size %u vtype %u\n", a->map_name, a->map_flags, a->value_size,
		       a->btf_vmlinux_value_type_id);
		value_size[fd] = a->value_size;
	}
	if (cmd == BPF_PROG_LOAD)
		printf("prog %s type %u eat %u attach_btf_id %u\n", a->prog_name, a->prog_type,
		       a->expected_attach_type, a->attach_btf_id);
	if (cmd == BPF_MAP_UPDATE_ELEM && a->map_fd < 1000 && value_size[a->map_fd]) {
		const unsigned char *v = (const void *)(unsigned long)a->value;
		printf("value ");
		for (unsigned i = 0; i < value_size[a->map_fd]; i++) printf("%02x", v[i]);
		printf("\n");
	}
	return fd;
}

struct btf *__wrap_btf__load_vmlinux_btf(void) { return btf__parse(getenv("VMLINUX"), NULL); }

static char first_warn[512];
static int pr(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	if (getenv("V")) fputs(buf, stderr);
	if (l == LIBBPF_WARN && !first_warn[0]) { buf[strcspn(buf, "\n")] = 0; strcpy(first_warn, buf); }
	return 0;
}

int main(int argc, char **argv)
{
	libbpf_set_print(pr);
	struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) { printf("open error: %s\n", first_warn); return 0; }
	int err = bpf_object__load(obj);
	if (err) { printf("error %d: %s\n", err, first_warn); return 0; }
	struct bpf_program *p;
	bpf_object__for_each_program(p, obj) printf("fd %s %d\n", bpf_program__name(p), bpf_program__fd(p));
	struct bpf_map *m;
	bpf_object__for_each_map(m, obj) {
		struct bpf_link *l = bpf_map__attach_struct_ops(m);
		if (!l) printf("attach failed\n");
	}
	return 0;
}
