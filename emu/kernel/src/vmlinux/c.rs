//! C base types and typedefs of vmlinux BTF as zero-sized markers that
//! implement [`BtfDescribe`]: `int`, `char`, the uapi `__u8`..`__s64`,
//! `__be16`, `__be32`, `__wsum`, the kernel's `u8`..`s64`, `pid_t`,
//! `bool`, and `void *`.
//!
//! Base type names are those pahole emits for x86-64 (`unsigned int`,
//! `long long unsigned int`, ...). The markers' names follow the C names
//! (`__u32`), with `K` for the kernel-internal typedefs (`KU32` is `u32`).

#![allow(non_camel_case_types)]

use super::{BtfDescribe, VmlinuxBuilder};
use bpfemu_btf::{IntEncoding, TypeId};

macro_rules! base_int {
    ($($(#[$m:meta])* $marker:ident = $name:literal, $size:expr, $enc:ident;)*) => {$(
        $(#[$m])*
        #[derive(Debug)]
        pub struct $marker;

        impl BtfDescribe for $marker {
            fn describe(b: &mut VmlinuxBuilder) -> TypeId {
                b.once($name, |b| b.btf.add_int($name, $size, IntEncoding::$enc))
            }
        }
    )*};
}

macro_rules! typedef {
    ($($(#[$m:meta])* $marker:ident = $name:literal => $target:ty;)*) => {$(
        $(#[$m])*
        #[derive(Debug)]
        pub struct $marker;

        impl BtfDescribe for $marker {
            fn describe(b: &mut VmlinuxBuilder) -> TypeId {
                let t = b.ty::<$target>();
                b.once($name, |b| b.btf.add_typedef($name, t))
            }
        }
    )*};
}

base_int! {
    /// `int`.
    Int = "int", 4, Signed;
    /// `unsigned int`.
    UInt = "unsigned int", 4, Unsigned;
    /// `char`: pahole gives it no encoding (`encoding=(none)`).
    Char = "char", 1, Unsigned;
    /// `signed char`.
    SChar = "signed char", 1, Signed;
    /// `unsigned char`.
    UChar = "unsigned char", 1, Unsigned;
    /// `short int`.
    Short = "short int", 2, Signed;
    /// `short unsigned int`.
    UShort = "short unsigned int", 2, Unsigned;
    /// `long long int`.
    LongLong = "long long int", 8, Signed;
    /// `long long unsigned int`.
    ULongLong = "long long unsigned int", 8, Unsigned;
    /// `long int`.
    Long = "long int", 8, Signed;
    /// `long unsigned int`.
    ULong = "long unsigned int", 8, Unsigned;
    /// `_Bool`.
    Bool = "_Bool", 1, Bool;
}

typedef! {
    __u8 = "__u8" => UChar;
    __s8 = "__s8" => SChar;
    __u16 = "__u16" => UShort;
    __s16 = "__s16" => Short;
    __u32 = "__u32" => UInt;
    __s32 = "__s32" => Int;
    __u64 = "__u64" => ULongLong;
    __s64 = "__s64" => LongLong;
    __be16 = "__be16" => __u16;
    __be32 = "__be32" => __u32;
    __wsum = "__wsum" => __u32;
    /// `u8` (include/linux/types.h).
    KU8 = "u8" => __u8;
    KS8 = "s8" => __s8;
    KU16 = "u16" => __u16;
    KS16 = "s16" => __s16;
    KU32 = "u32" => __u32;
    KS32 = "s32" => __s32;
    KU64 = "u64" => __u64;
    KS64 = "s64" => __s64;
    /// `bool`.
    KBool = "bool" => Bool;
    /// `__kernel_pid_t`.
    __kernel_pid_t = "__kernel_pid_t" => Int;
    /// `pid_t`.
    PidT = "pid_t" => __kernel_pid_t;
}

/// `void`.
#[derive(Debug)]
pub struct Void;

impl BtfDescribe for Void {
    fn describe(_b: &mut VmlinuxBuilder) -> TypeId {
        0
    }
}

/// Adds the base types and typedefs in their fixed order (ids 1..).
pub fn describe_base_types(b: &mut VmlinuxBuilder) {
    b.ty::<Int>();
    b.ty::<UInt>();
    b.ty::<Char>();
    b.ty::<SChar>();
    b.ty::<UChar>();
    b.ty::<Short>();
    b.ty::<UShort>();
    b.ty::<LongLong>();
    b.ty::<ULongLong>();
    b.ty::<Long>();
    b.ty::<ULong>();
    b.ty::<Bool>();
    b.ty::<__u8>();
    b.ty::<__s8>();
    b.ty::<__u16>();
    b.ty::<__s16>();
    b.ty::<__u32>();
    b.ty::<__s32>();
    b.ty::<__u64>();
    b.ty::<__s64>();
    b.ty::<__be16>();
    b.ty::<__be32>();
    b.ty::<__wsum>();
    b.ty::<KU8>();
    b.ty::<KS8>();
    b.ty::<KU16>();
    b.ty::<KS16>();
    b.ty::<KU32>();
    b.ty::<KS32>();
    b.ty::<KU64>();
    b.ty::<KS64>();
    b.ty::<KBool>();
    b.ty::<PidT>();
}
