//! pRuntime core catch-up (placeholder replaced below).
#![allow(missing_docs)]
fn main() {}
