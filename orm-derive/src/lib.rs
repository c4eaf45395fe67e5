//! `#[derive(Model)]` for orm-core: emits the model's metadata, a positional row
//! decoder and a value encoder. All behaviour lives in orm-core's `Model` trait.
//!
//! Use it through `orm_core::prelude::*`, which re-exports the macro.
#![deny(missing_docs)]

use proc_macro::TokenStream;
use syn::{parse_macro_input, DeriveInput};

mod db_enum;
mod model;
mod morph_to;

/// Derives `orm_core::Model` (and `FromRow`, `serde::Serialize` without hidden fields)
/// for a struct with named fields.
///
/// Container attributes: `#[model(table = "..", primary_key = "..", timestamps,
/// soft_deletes, connection = "..", hooks, serialize = false)]` (`serialize = false`:
/// no derived `Serialize`, derive serde's yourself). Field attributes: `#[model(primary_key)]`,
/// `#[model(column = "..")]`, `#[model(hidden)]`, `#[model(skip)]`, and relations
/// (`has_one(T)`, `has_many(T)`, `belongs_to(T)`, `belongs_to_many(T)`, and the
/// polymorphic `morph_one(T, name = "..")`, `morph_many(T, name = "..")`, `morph_to`,
/// `morph_to_many(T, name = "..")`, `morphed_by_many(T, name = "..")`). Container
/// attribute `morph_name = ".."`: what polymorphic type columns store for the model
/// (default: its table).
#[proc_macro_derive(Model, attributes(model))]
pub fn derive_model(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    model::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `orm_core::ToValue`, `FromValue` and `From<T> for Value` for a fieldless enum,
/// stored in one column: as text, the variant's name in snake_case by default
/// (`#[db_enum(rename_all = "..")]`: `snake_case`, `lowercase`, `UPPERCASE`,
/// `SCREAMING_SNAKE_CASE`, `kebab-case`, `PascalCase`; `#[db_enum(rename = "..")]` on a
/// variant), or with `#[db_enum(integer)]` as its discriminant. Reading a value that is no
/// variant is a decode error naming the enum. As a model field it also needs
/// `serde::Serialize` (derive it) unless the field is hidden.
#[proc_macro_derive(DbEnum, attributes(db_enum))]
pub fn derive_db_enum(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    db_enum::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Derives `orm_core::MorphTarget` (and `From<Model>`, `serde::Serialize`) for the enum of
/// the models a `morph_to` relation may hold: one tuple variant per model,
/// `enum Commentable { Post(Post), Video(Video) }`. The field is then
/// `#[model(morph_to)] pub commentable: MorphTo<Commentable>`.
#[proc_macro_derive(MorphTo)]
pub fn derive_morph_to(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    morph_to::expand(&input)
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
