struct sock { int x; };
struct list_head { struct list_head *next, *prev; };
struct tcp_congestion_ops {
	struct list_head list;
	unsigned int key;
	unsigned int flags;
	unsigned int (*ssthresh)(struct sock *sk);
	void (*cong_avoid)(struct sock *sk, unsigned int ack, unsigned int acked);
	void (*init)(struct sock *sk);
	char name[16];
	void *owner;
};
struct bpf_struct_ops_common_value { int refcnt; int state; };
struct bpf_struct_ops_tcp_congestion_ops {
	struct bpf_struct_ops_common_value common;
	struct tcp_congestion_ops data;
};
struct bpf_struct_ops_tcp_congestion_ops g;
