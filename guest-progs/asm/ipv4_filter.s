// verify: --type socket_filter
// A socket filter keeping IPv4 TCP packets only: the ethertype at offset
// 12 and the IP protocol at offset 23, read with legacy LD_ABS loads (the
// way tcpdump's classic filters compile); returns the bytes to keep.
	r6 = r1
	r0 = *(u16 *)skb[12]
	if r0 != 0x800 goto drop
	r0 = *(u8 *)skb[23]
	if r0 != 6 goto drop
	r0 = -1
	exit
drop:
	r0 = 0
	exit
