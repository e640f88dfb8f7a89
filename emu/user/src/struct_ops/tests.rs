//! struct_ops tests.
