//! `enum bpf_core_relo_kind` (`include/uapi/linux/bpf.h`) and libbpf's
//! names for its values (`core_relo_kind_str` in `tools/lib/bpf/relo_core.c`).

/// What a CO-RE relocation asks for; numbered as in the uapi enum.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(u32)]
pub enum ReloKind {
    FieldByteOffset = 0,
    FieldByteSize = 1,
    FieldExists = 2,
    FieldSigned = 3,
    FieldLshiftU64 = 4,
    FieldRshiftU64 = 5,
    TypeIdLocal = 6,
    TypeIdTarget = 7,
    TypeExists = 8,
    TypeSize = 9,
    EnumvalExists = 10,
    EnumvalValue = 11,
    TypeMatches = 12,
}

impl ReloKind {
    /// Every kind, in uapi order.
    pub const ALL: [ReloKind; 13] = [
        ReloKind::FieldByteOffset,
        ReloKind::FieldByteSize,
        ReloKind::FieldExists,
        ReloKind::FieldSigned,
        ReloKind::FieldLshiftU64,
        ReloKind::FieldRshiftU64,
        ReloKind::TypeIdLocal,
        ReloKind::TypeIdTarget,
        ReloKind::TypeExists,
        ReloKind::TypeSize,
        ReloKind::EnumvalExists,
        ReloKind::EnumvalValue,
        ReloKind::TypeMatches,
    ];

    /// The kind numbered `n`, if there is one.
    pub fn from_u32(n: u32) -> Option<ReloKind> {
        ReloKind::ALL.get(usize::try_from(n).ok()?).copied()
    }

    /// libbpf's short name (`byte_off`, `field_exists`, `type_matches`, ...).
    pub fn name(self) -> &'static str {
        match self {
            ReloKind::FieldByteOffset => "byte_off",
            ReloKind::FieldByteSize => "byte_sz",
            ReloKind::FieldExists => "field_exists",
            ReloKind::FieldSigned => "signed",
            ReloKind::FieldLshiftU64 => "lshift_u64",
            ReloKind::FieldRshiftU64 => "rshift_u64",
            ReloKind::TypeIdLocal => "local_type_id",
            ReloKind::TypeIdTarget => "target_type_id",
            ReloKind::TypeExists => "type_exists",
            ReloKind::TypeMatches => "type_matches",
            ReloKind::TypeSize => "type_size",
            ReloKind::EnumvalExists => "enumval_exists",
            ReloKind::EnumvalValue => "enumval_value",
        }
    }

    /// Field relocations: byte offset / size / exists / signed / shifts.
    pub fn is_field_based(self) -> bool {
        (self as u32) <= ReloKind::FieldRshiftU64 as u32
    }

    /// Type relocations: type id local / target, exists, size, matches.
    pub fn is_type_based(self) -> bool {
        matches!(
            self,
            ReloKind::TypeIdLocal
                | ReloKind::TypeIdTarget
                | ReloKind::TypeExists
                | ReloKind::TypeSize
                | ReloKind::TypeMatches
        )
    }

    /// Enumerator relocations: exists / value.
    pub fn is_enumval_based(self) -> bool {
        matches!(self, ReloKind::EnumvalExists | ReloKind::EnumvalValue)
    }
}

impl std::fmt::Display for ReloKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbering_matches_uapi() {
        for (i, k) in ReloKind::ALL.iter().enumerate() {
            assert_eq!(*k as u32, i as u32);
            assert_eq!(ReloKind::from_u32(i as u32), Some(*k));
        }
        assert_eq!(ReloKind::from_u32(13), None);
        assert_eq!(ReloKind::from_u32(u32::MAX), None);
        for k in ReloKind::ALL {
            let n =
                [k.is_field_based(), k.is_type_based(), k.is_enumval_based()].iter().filter(|b| **b).count();
            assert_eq!(n, 1, "{k}");
        }
    }
}
