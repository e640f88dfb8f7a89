// Differential oracle: libbpf 1.1 (static) with bpf() faked, so CO-RE
// relocation runs entirely in user space. Prints the relocated insns.
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <stdlib.h>

long syscall(long n, ...)
{
	if (n == __NR_bpf)
		return open("/dev/null", O_RDONLY);
	errno = ENOSYS;
	return -1;
}

static char first_warn[512];

static int quiet(enum libbpf_print_level l, const char *fmt, va_list ap)
{
	char buf[512];
	va_list aq;
	va_copy(aq, ap);
	vsnprintf(buf, sizeof(buf), fmt, aq);
	va_end(aq);
	if (l == LIBBPF_WARN && !first_warn[0] && strstr(buf, "relo #")) {
		buf[strcspn(buf, "\n")] = 0;
		strcpy(first_warn, buf);
	}
	if (getenv("V"))
		return vfprintf(stderr, fmt, ap);
	return 0;
}

int main(int argc, char **argv)
{
	LIBBPF_OPTS(bpf_object_open_opts, o, .btf_custom_path = argv[2]);
	libbpf_set_print(quiet);
	struct bpf_object *obj = bpf_object__open_file(argv[1], &o);
	if (!obj) { printf("open-error\n"); return 0; }
	int err = bpf_object__load(obj);
	if (err) { printf("error %d: %s\n", err, first_warn); return 0; }
	struct bpf_program *p = bpf_object__next_program(obj, NULL);
	const struct bpf_insn *in = bpf_program__insns(p);
	size_t n = bpf_program__insn_cnt(p);
	for (size_t i = 0; i < n; i++) {
		const unsigned char *b = (const void *)&in[i];
		for (int j = 0; j < 8; j++) printf("%02x", b[j]);
		printf("\n");
	}
	bpf_object__close(obj);
	return 0;
}
