//! Schema builder, migrations and the `craft` command line for orm-core (arrives with the
//! migrations issue).
#![deny(missing_docs)]
