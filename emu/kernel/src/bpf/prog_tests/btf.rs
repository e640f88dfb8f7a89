//! `BPF_BTF_LOAD`: header and section checks.

use super::*;
use crate::bpf::btf_cmds::BTF_MAX_SIZE;

/// A minimal valid blob: header, no types, string section "\0a\0".
fn blob() -> Vec<u8> {
    let mut b = Vec::new();
    b.extend_from_slice(&0xeb9fu16.to_le_bytes());
    b.push(1); // version
    b.push(0); // flags
    for v in [24u32, 0, 0, 0, 3] {
        b.extend_from_slice(&v.to_le_bytes()); // hdr_len, type_off, type_len, str_off, str_len
    }
    b.extend_from_slice(b"\0a\0");
    b
}

fn btf_load(k: &mut Kernel, data: &[u8]) -> (Result<i64, Errno>, String) {
    let mut log = String::new();
    let r = k.bpf(BpfAttr::BtfLoad { btf: data, log: Some(&mut log), log_level: 1 });
    (r, log)
}

#[test]
fn loads_a_valid_blob() {
    let mut k = kernel();
    let (r, _) = btf_load(&mut k, &blob());
    let fd = r.unwrap() as i32;
    let b = k.fd_obj(fd).unwrap().btf().unwrap().clone();
    // Id 1 is the kernel's own vmlinux BTF, loaded at boot.
    assert_eq!(b.id, 2);
    assert_eq!(b.data, blob());
    assert!(!b.kernel_btf);
    assert_eq!(k.objects.btfs.get(2).unwrap().id, 2);
    assert!(k.objects.btfs.get(1).unwrap().kernel_btf);
    // Without a log.
    assert!(k.bpf(BpfAttr::BtfLoad { btf: &blob(), log: None, log_level: 0 }).is_ok());
}

#[test]
fn header_errnos() {
    let mut k = kernel();
    type Edit = Box<dyn Fn(&mut Vec<u8>)>;
    let cases: Vec<(Edit, Errno, &str)> = vec![
        (Box::new(|b| b.truncate(6)), Errno::EINVAL, "hdr_len not found"),
        (Box::new(|b| b[4] = 200), Errno::EINVAL, "btf_header not found"),
        (Box::new(|b| b[0] = 0), Errno::EINVAL, "Invalid magic"),
        (Box::new(|b| b[2] = 2), Errno::ENOTSUPP, "Unsupported version"),
        (Box::new(|b| b[3] = 1), Errno::ENOTSUPP, "Unsupported flags"),
        (Box::new(|b| b.truncate(24)), Errno::EINVAL, "No data"),
        (Box::new(|b| b[20] = 2), Errno::EINVAL, "Unsupported section found"),
        (Box::new(|b| b[20] = 9), Errno::EINVAL, "Total section length too long"),
        (Box::new(|b| b[16] = 9), Errno::EINVAL, "Invalid section offset"),
        (Box::new(|b| b[16] = 1), Errno::EINVAL, "Unsupported section found"),
        (Box::new(|b| b[26] = b'x'), Errno::EINVAL, "Invalid string section"),
        (
            Box::new(|b| {
                // hdr_len 28 with a non-zero extra header byte.
                b[4] = 28;
                b.splice(24..24, [0, 0, 0, 1]);
            }),
            Errno::E2BIG,
            "Unsupported btf_header",
        ),
    ];
    for (edit, errno, msg) in cases {
        let mut b = blob();
        edit(&mut b);
        let (r, log) = btf_load(&mut k, &b);
        assert_eq!(r, Err(errno), "{msg}: {log}");
        assert!(log.contains(msg), "{msg}: {log}");
    }
    // A longer header with zeroes is fine.
    let mut b = blob();
    b[4] = 28;
    b.splice(24..24, [0, 0, 0, 0]);
    assert!(btf_load(&mut k, &b).0.is_ok());
    // Too large.
    let big = vec![0u8; BTF_MAX_SIZE + 1];
    assert_eq!(btf_load(&mut k, &big).0, Err(Errno::E2BIG));
    // Log attributes.
    let mut log = String::new();
    assert_eq!(
        k.bpf(BpfAttr::BtfLoad { btf: &blob(), log: Some(&mut log), log_level: 0 }),
        Err(Errno::EINVAL)
    );
    assert_eq!(k.bpf(BpfAttr::BtfLoad { btf: &blob(), log: None, log_level: 1 }), Err(Errno::EINVAL));
}

/// `struct foo { int a; }` with `a` at `bit_offset`, declared `size` bytes.
fn struct_blob(size: u32, bit_offset: u32) -> Vec<u8> {
    use bpfemu_btf::{Btf, IntEncoding, MemberDef};
    let mut b = Btf::new();
    let int = b.add_int("int", 4, IntEncoding::Signed);
    b.add_struct("foo", size, &[MemberDef::new("a", int, bit_offset)]);
    b.encode().unwrap()
}

#[test]
fn loads_valid_types() {
    let mut k = kernel();
    let (r, log) = btf_load(&mut k, &struct_blob(4, 0));
    assert!(r.is_ok(), "{log}");
}

#[test]
fn invalid_types_are_einval_with_the_verifier_log() {
    let mut k = kernel();
    // The member lies beyond the struct's 4 bytes.
    let (r, log) = btf_load(&mut k, &struct_blob(4, 64));
    assert_eq!(r, Err(Errno::EINVAL), "{log}");
    let e = bpfemu_btf::load(&struct_blob(4, 64)).unwrap_err();
    assert!(log.contains("[2] STRUCT foo\n"), "{log}");
    assert!(log.contains(&format!("\t{e}\n")), "{log}");
    assert!(log.contains("member#0"), "{log}");
    // No new object.
    assert!(k.objects.btfs.get(2).is_none());
}
