//! `#[derive(Model)]` for orm-core (arrives with the models issue).
#![deny(missing_docs)]
