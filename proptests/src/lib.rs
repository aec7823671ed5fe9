//! Property tests over `essensys-core` live in `tests/`; this crate has no library code.
