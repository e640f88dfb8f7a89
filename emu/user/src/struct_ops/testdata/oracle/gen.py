"""struct_ops cases for the libbpf differential test
(emu/user/src/struct_ops/oracle.rs): a tcp_congestion_ops-like kernel
(kern.c, its BTF standing for vmlinux) and objects whose struct_ops
variables differ from it (member order, sizes, kinds, bitfields, extra
members, missing kernel types, a non-struct_ops program).

    gcc -O1 harness.c -o /tmp/st_harness -Wl,--wrap=btf__load_vmlinux_btf \
        /usr/lib/x86_64-linux-gnu/libbpf.a -lelf -lz
    python3 gen.py /tmp/st_harness /tmp/st_cases
    BPFEMU_STRUCT_OPS_ORACLE=/tmp/st_cases cargo test -p bpfemu-user struct_ops_libbpf -- --ignored

With Debian clang 14.0.6 and libbpf-dev 1.1.2: 11 cases, all identical.
"""
import os, subprocess, sys
HDR = """typedef unsigned int __u32; typedef unsigned long long __u64; typedef unsigned char __u8;
typedef unsigned short __u16; typedef int __s32; typedef long long __s64; typedef unsigned short __be16;
typedef unsigned int __be32; typedef unsigned int __wsum;
#include <bpf/bpf_helpers.h>
struct sock;
"""
KERN = open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "kern.c")).read()
def case(name, ops_fields, init, sec=".struct_ops", progs_sec="struct_ops", kern=KERN, tname="tcp_congestion_ops"):
    d = f"{sys.argv[2]}/{name}"
    os.makedirs(d, exist_ok=True)
    src = HDR + f"struct {tname} {{\n{ops_fields}\n}};\n" + f"""
SEC("{progs_sec}/my_init")
void my_init(struct sock *sk) {{}}
SEC("struct_ops/my_ssthresh")
unsigned int my_ssthresh(struct sock *sk) {{ return 2; }}
SEC("{sec}")
struct {tname} cc = {{ {init} }};
SEC("{sec}")
struct {tname} cc2 = {{ .init = (void *)my_init, .name = "second" }};
char LICENSE[] SEC("license") = "GPL";
"""
    open(f"{d}/obj.c","w").write(src)
    open(f"{d}/kern.c","w").write(kern)
    for n in ["obj","kern"]:
        subprocess.run(["clang","-target","bpf","-O2","-g","-c",f"{d}/{n}.c","-o",f"{d}/{n}.o"],check=True)
    out = subprocess.run([sys.argv[1], f"{d}/obj.o"], capture_output=True, text=True, env=dict(os.environ, VMLINUX=f"{d}/kern.o")).stdout
    out = "\n".join(l for l in out.splitlines() if not (l.startswith("prog ") and " type 27 " not in l) and l != "attach failed")
    open(f"{d}/libbpf.txt","w").write(out + "\n")
BASE = """void (*init)(struct sock *sk);
unsigned int (*ssthresh)(struct sock *sk);
char name[16];
unsigned int flags;
void (*cong_avoid)(struct sock *sk, unsigned int ack, unsigned int acked);"""
INIT = '.init = (void *)my_init, .ssthresh = (void *)my_ssthresh, .name = "bpf_cc", .flags = 0x11,'
case("base", BASE, INIT)
case("size", BASE.replace("unsigned int flags;", "unsigned long long flags;"), INIT)
case("kind", BASE.replace("unsigned int flags;", "int *flags;"), INIT.replace(".flags = 0x11,", ""))
case("extra_nonzero", BASE + "\nint newer;", INIT + " .newer = 3,")
case("bitfield", BASE.replace("unsigned int flags;", "unsigned int flags : 4;"), INIT.replace("0x11", "1"))
case("no_vtype", BASE, INIT, kern=KERN.replace("bpf_struct_ops_tcp_congestion_ops", "bpf_struct_ops_other"))
case("no_type", BASE, INIT, kern=KERN.replace("tcp_congestion_ops", "tcp_cc_ops"))
case("no_data", BASE, INIT, kern=KERN.replace("struct tcp_congestion_ops data;", "int data;"))
case("kern_not_func", BASE, INIT, kern=KERN.replace("void (*init)(struct sock *sk);", "void *init;"))
case("not_struct_ops_prog", BASE, INIT, progs_sec="kprobe")
case("key_and_owner", BASE + "\nunsigned int key;\nvoid *owner;", INIT + " .key = 0xabcd,")
