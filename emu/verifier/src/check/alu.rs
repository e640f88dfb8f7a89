//! OWNER: helper "core" (placeholder).
