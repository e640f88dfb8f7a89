//! CO-RE tests.
