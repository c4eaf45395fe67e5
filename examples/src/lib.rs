//! Runnable examples: `cargo run --example quickstart`, `cargo run --example blog`, and
//! `DATABASE_URL=postgres://... cargo run -p examples --features postgres --example postgres`.
//!
//! The blog (models, migrations and the walk through them) lives here as a library so the
//! examples and the test suite run the same code.

pub mod blog;
