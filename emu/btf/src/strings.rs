//! The string section: NUL-terminated names, offset 0 is always `""`.
//!
//! [`StringTable::intern`] deduplicates (like libbpf's `btf__add_str`).
//! Equality compares the bytes only; the dedup index is a cache.

use std::collections::HashMap;

/// A BTF string section.
#[derive(Clone, Debug)]
pub struct StringTable {
    data: Vec<u8>,
    index: HashMap<Vec<u8>, u32>,
}

impl PartialEq for StringTable {
    fn eq(&self, other: &Self) -> bool {
        self.data == other.data
    }
}
impl Eq for StringTable {}

impl Default for StringTable {
    fn default() -> Self {
        Self::new()
    }
}

impl StringTable {
    /// A table holding only `""` at offset 0.
    pub fn new() -> Self {
        let mut index = HashMap::new();
        index.insert(Vec::new(), 0);
        StringTable { data: vec![0], index }
    }

    /// Wraps decoded bytes. The caller (the decoder) has checked that they
    /// start and end with NUL.
    pub(crate) fn from_bytes(data: Vec<u8>) -> Self {
        let mut index = HashMap::new();
        let mut start = 0usize;
        for (i, &b) in data.iter().enumerate() {
            if b == 0 {
                let s = data[start..i].to_vec();
                index.entry(s).or_insert(start as u32);
                start = i + 1;
            }
        }
        StringTable { data, index }
    }

    /// The raw section bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.data
    }

    /// Adds `s` (or finds an existing copy) and returns its offset.
    /// Interior NULs truncate the name, as C would.
    pub fn intern(&mut self, s: &str) -> u32 {
        let bytes = s.as_bytes();
        let bytes = match bytes.iter().position(|&b| b == 0) {
            Some(n) => &bytes[..n],
            None => bytes,
        };
        if let Some(&off) = self.index.get(bytes) {
            return off;
        }
        let off = self.data.len() as u32;
        self.data.extend_from_slice(bytes);
        self.data.push(0);
        self.index.insert(bytes.to_vec(), off);
        off
    }

    /// The string at `off`: `None` if out of range, not NUL-terminated or
    /// not UTF-8.
    pub fn get(&self, off: u32) -> Option<&str> {
        let start = usize::try_from(off).ok()?;
        let rest = self.data.get(start..)?;
        let end = rest.iter().position(|&b| b == 0)?;
        std::str::from_utf8(&rest[..end]).ok()
    }
}
