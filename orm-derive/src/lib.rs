//! `#[derive(Model)]` for orm-core: emits the model's metadata, a positional row
//! decoder and a value encoder. All behaviour lives in orm-core's `Model` trait.
//!
//! Use it through `orm_core::prelude::*`, which re-exports the macro.
#![deny(missing_docs)]

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod model;

/// Derives `orm_core::Model` (and `FromRow`, `serde::Serialize` without hidden fields)
/// for a struct with named fields.
///
/// Container attributes: `#[model(table = "..", primary_key = "..", timestamps,
/// soft_deletes, connection = "..", hooks, serialize = false)]` (`serialize = false`:
/// no derived `Serialize`, derive serde's yourself). Field attributes: `#[model(primary_key)]`,
/// `#[model(column = "..")]`, `#[model(hidden)]`, `#[model(skip)]`, and relations
/// (`has_one(T)`, `has_many(T)`, `belongs_to(T)`, `belongs_to_many(T)`).
#[proc_macro_derive(Model, attributes(model))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    model::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
