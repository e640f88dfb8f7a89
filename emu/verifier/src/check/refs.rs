//! Reference tracking. OWNER: helper "calls" (placeholder).
