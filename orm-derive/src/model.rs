use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, LitStr, PathArguments, Type};

use crate::inflector;

const CONTAINER_KEYS: &str = "table, primary_key, timestamps, soft_deletes, connection, hooks";
const FIELD_KEYS: &str =
    "primary_key, column, hidden, skip, has_one, has_many, belongs_to, belongs_to_many";
const KEY_TYPES: &str = "i16, i32, i64, u32, String or Uuid (optionally in Option<..>)";

struct Container {
    table: Option<String>,
    primary_key: Option<(String, Span)>,
    timestamps: bool,
    soft_deletes: bool,
    connection: Option<String>,
    hooks: bool,
}

struct Column<'a> {
    field: &'a syn::Ident,
    ty: &'a Type,
    column: String,
    hidden: bool,
    primary: bool,
}

struct Relation<'a> {
    field: &'a syn::Ident,
}

fn parse_container(input: &DeriveInput) -> syn::Result<Container> {
    let mut c = Container {
        table: None,
        primary_key: None,
        timestamps: false,
        soft_deletes: false,
        connection: None,
        hooks: false,
    };
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("model")) {
        attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "table" => c.table = Some(non_empty(meta.value()?.parse::<LitStr>()?)?),
                "primary_key" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    c.primary_key = Some((non_empty(lit.clone())?, lit.span()));
                }
                "connection" => c.connection = Some(non_empty(meta.value()?.parse::<LitStr>()?)?),
                "timestamps" => c.timestamps = true,
                "soft_deletes" => c.soft_deletes = true,
                "hooks" => c.hooks = true,
                "primary_key_field" | "hidden" | "skip" | "column" | "has_many" | "has_one"
                | "belongs_to" | "belongs_to_many" => {
                    return Err(meta.error(format!(
                        "`{key}` is a field attribute: put #[model({key})] on a field"
                    )))
                }
                _ => {
                    return Err(meta.error(format!(
                        "unknown model attribute `{}`; expected one of: {CONTAINER_KEYS}",
                        meta.path.to_token_stream()
                    )))
                }
            }
            Ok(())
        })?;
    }
    Ok(c)
}

fn non_empty(lit: LitStr) -> syn::Result<String> {
    let value = lit.value();
    if value.trim().is_empty() {
        return Err(syn::Error::new_spanned(lit, "the name cannot be empty"));
    }
    Ok(value)
}

enum FieldRole {
    Column {
        column: Option<String>,
        hidden: bool,
        primary: bool,
    },
    Skip,
    Relation,
}

fn parse_field(field: &syn::Field) -> syn::Result<FieldRole> {
    let mut column = None;
    let mut hidden = false;
    let mut primary = false;
    let mut skip = false;
    let mut relation = false;
    for attr in field.attrs.iter().filter(|a| a.path().is_ident("model")) {
        attr.parse_nested_meta(|meta| {
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            match key.as_str() {
                "primary_key" => primary = true,
                "column" => column = Some(non_empty(meta.value()?.parse::<LitStr>()?)?),
                "hidden" => hidden = true,
                "skip" => skip = true,
                "has_one" | "has_many" | "belongs_to" | "belongs_to_many" => {
                    relation = true;
                    // The related type and options: `has_many(Post)`, `belongs_to(User, foreign_key = "..")`.
                    meta.input.parse::<TokenStream>()?;
                }
                "table" | "timestamps" | "soft_deletes" | "connection" | "hooks" => {
                    return Err(meta.error(format!(
                        "`{key}` is a struct attribute: put #[model({key})] on the struct"
                    )))
                }
                _ => {
                    return Err(meta.error(format!(
                        "unknown field attribute `{}`; expected one of: {FIELD_KEYS}",
                        meta.path.to_token_stream()
                    )))
                }
            }
            Ok(())
        })?;
    }
    if relation {
        Ok(FieldRole::Relation)
    } else if skip {
        Ok(FieldRole::Skip)
    } else {
        Ok(FieldRole::Column {
            column,
            hidden,
            primary,
        })
    }
}

/// `Option<T>` → `Some(T)`.
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(inner) => Some(inner),
        _ => None,
    }
}

fn type_name(ty: &Type) -> Option<String> {
    let Type::Path(path) = ty else { return None };
    path.path.segments.last().map(|s| s.ident.to_string())
}

/// Whether the key is filled by the database (`Option<integer>`), or an error when the
/// type cannot be a key.
fn key_is_incrementing(ty: &Type) -> syn::Result<bool> {
    let (inner, optional) = match option_inner(ty) {
        Some(inner) => (inner, true),
        None => (ty, false),
    };
    match type_name(inner).as_deref() {
        Some("i16" | "i32" | "i64" | "u32") => Ok(optional),
        Some("String" | "Uuid") => Ok(false),
        _ => Err(syn::Error::new_spanned(
            ty,
            format!("a primary key must be {KEY_TYPES}; use Option<i64> for an auto-increment key"),
        )),
    }
}

pub(crate) fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let container = parse_container(input)?;
    let name = &input.ident;
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => &named.named,
            other => {
                return Err(syn::Error::new_spanned(
                    other,
                    "#[derive(Model)] needs a struct with named fields, e.g. `struct User { id: Option<i64>, .. }`",
                ))
            }
        },
        Data::Enum(data) => {
            return Err(syn::Error::new_spanned(
                data.enum_token,
                "#[derive(Model)] works on structs only: a model is a struct with named fields",
            ))
        }
        Data::Union(data) => {
            return Err(syn::Error::new_spanned(
                data.union_token,
                "#[derive(Model)] works on structs only: a model is a struct with named fields",
            ))
        }
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "#[derive(Model)] does not support generic structs: remove the type parameters",
        ));
    }

    let mut columns: Vec<Column<'_>> = Vec::new();
    let mut others: Vec<&syn::Ident> = Vec::new();
    let mut relations: Vec<Relation<'_>> = Vec::new();
    for field in fields {
        let ident = field.ident.as_ref().expect("named field");
        match parse_field(field)? {
            FieldRole::Column {
                column,
                hidden,
                primary,
            } => columns.push(Column {
                field: ident,
                ty: &field.ty,
                column: column
                    .unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_owned()),
                hidden,
                primary,
            }),
            FieldRole::Skip => others.push(ident),
            FieldRole::Relation => relations.push(Relation { field: ident }),
        }
    }

    let marked: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].primary).collect();
    let key_index = match (marked.as_slice(), &container.primary_key) {
        ([i], None) => *i,
        ([i], Some((pk, span))) if columns[*i].column == *pk => {
            let _ = span;
            *i
        }
        ([_], Some((_, span))) => {
            return Err(syn::Error::new(
                *span,
                "this primary_key differs from the field marked #[model(primary_key)]: keep one",
            ))
        }
        ([_, second, ..], _) => {
            return Err(syn::Error::new_spanned(
                columns[*second].field,
                "only one field can be #[model(primary_key)]",
            ))
        }
        ([], Some((pk, span))) => columns.iter().position(|c| c.column == *pk).ok_or_else(|| {
            syn::Error::new(*span, format!("primary_key = \"{pk}\" names no column of this struct"))
        })?,
        ([], None) => columns.iter().position(|c| c.column == "id").ok_or_else(|| {
            syn::Error::new_spanned(
                name,
                format!("model `{name}` has no primary key: add a field `id: Option<i64>` or mark one with #[model(primary_key)]"),
            )
        })?,
    };
    let incrementing = key_is_incrementing(columns[key_index].ty)?;

    let find_column = |wanted: &str| columns.iter().position(|c| c.column == wanted);
    let require = |flag: &str, column: &str| -> syn::Result<usize> {
        find_column(column).ok_or_else(|| {
            syn::Error::new_spanned(
                name,
                format!("#[model({flag})] needs a `{column}: Option<DateTime<Utc>>` field"),
            )
        })
    };
    let (created_at, updated_at) = if container.timestamps {
        (
            Some(require("timestamps", "created_at")?),
            Some(require("timestamps", "updated_at")?),
        )
    } else {
        (None, None)
    };
    let deleted_at = if container.soft_deletes {
        Some(require("soft_deletes", "deleted_at")?)
    } else {
        None
    };

    let table = container
        .table
        .clone()
        .unwrap_or_else(|| inflector::table_name(&name.to_string()));
    let connection = container
        .connection
        .clone()
        .unwrap_or_else(|| "default".to_owned());
    let key_column = &columns[key_index].column;
    let key_field = columns[key_index].field;
    let column_names: Vec<&String> = columns.iter().map(|c| &c.column).collect();
    let hidden: Vec<&String> = columns
        .iter()
        .filter(|c| c.hidden)
        .map(|c| &c.column)
        .collect();
    let opt = |v: Option<usize>| match v {
        Some(i) => quote!(::core::option::Option::Some(#i)),
        None => quote!(::core::option::Option::None),
    };
    let (created_at, updated_at, deleted_at) = (opt(created_at), opt(updated_at), opt(deleted_at));
    let model_name = name.to_string();

    let column_checks = columns.iter().map(|c| {
        let ty = c.ty;
        quote_spanned! {ty.span()=>
            __orm_assert_column::<#ty>();
        }
    });
    let decode_fields = columns.iter().enumerate().map(|(i, c)| {
        let field = c.field;
        quote! { #field: row.get_at(#i)? }
    });
    let default_fields = others
        .iter()
        .copied()
        .chain(relations.iter().map(|r| r.field))
        .map(|field| quote! { #field: ::core::default::Default::default() });
    let encode_fields = columns.iter().map(|c| {
        let field = c.field;
        quote! { ::orm_core::ToValue::to_value(&self.#field) }
    });
    let set_arms = columns.iter().map(|c| {
        let field = c.field;
        let column = &c.column;
        quote! {
            #column => {
                self.#field = ::orm_core::FromValue::from_value(value)
                    .map_err(|e| e.into_error(#column))?;
            }
        }
    });
    let get_arms = columns.iter().map(|c| {
        let field = c.field;
        let column = &c.column;
        quote! { #column => ::core::option::Option::Some(::orm_core::ToValue::to_value(&self.#field)), }
    });
    let visible: Vec<&Column<'_>> = columns.iter().filter(|c| !c.hidden).collect();
    let visible_count = visible.len();
    let serialize_fields = visible.iter().map(|c| {
        let field = c.field;
        let column = &c.column;
        quote! { ::orm_core::__private::serde::ser::SerializeStruct::serialize_field(&mut state, #column, &self.#field)?; }
    });
    let hooks_impl = if container.hooks {
        quote!()
    } else {
        quote! { impl ::orm_core::ModelHooks for #name {} }
    };
    let columns_len = columns.len();

    Ok(quote! {
        const _: () = {
            fn __orm_assert_column<T: ::orm_core::ToValue + ::orm_core::FromValue>() {}
            #[allow(dead_code)]
            fn __orm_assert_columns() {
                #(#column_checks)*
            }

            static __ORM_COLUMNS: [&str; #columns_len] = [#(#column_names),*];
            static __ORM_META: ::orm_core::ModelMeta = ::orm_core::ModelMeta {
                name: #model_name,
                table: #table,
                primary_key: #key_column,
                primary_key_index: #key_index,
                incrementing: #incrementing,
                columns: &__ORM_COLUMNS,
                hidden: &[#(#hidden),*],
                created_at: #created_at,
                updated_at: #updated_at,
                deleted_at: #deleted_at,
                connection: #connection,
                sql: ::orm_core::__private::SqlCache::new(),
            };

            impl ::orm_core::FromRow for #name {
                #[inline]
                fn from_row(row: &::orm_core::Row<'_>) -> ::orm_core::Result<Self> {
                    ::core::result::Result::Ok(#name {
                        #(#decode_fields,)*
                        #(#default_fields,)*
                    })
                }
            }

            impl ::orm_core::Model for #name {
                #[inline]
                fn meta() -> &'static ::orm_core::ModelMeta {
                    &__ORM_META
                }

                fn to_values(&self) -> ::std::vec::Vec<::orm_core::Value> {
                    ::std::vec![#(#encode_fields),*]
                }

                fn key_value(&self) -> ::orm_core::Value {
                    ::orm_core::ToValue::to_value(&self.#key_field)
                }

                fn set_column(
                    &mut self,
                    column: &str,
                    value: ::orm_core::ValueRef<'_>,
                ) -> ::orm_core::Result<()> {
                    match column {
                        #(#set_arms)*
                        other => {
                            return ::core::result::Result::Err(::orm_core::Error::ColumnNotFound(
                                ::std::format!("{}.{}", #model_name, other),
                            ))
                        }
                    }
                    ::core::result::Result::Ok(())
                }

                fn column_value(&self, column: &str) -> ::core::option::Option<::orm_core::Value> {
                    match column {
                        #(#get_arms)*
                        _ => ::core::option::Option::None,
                    }
                }
            }

            #hooks_impl

            impl ::orm_core::__private::serde::Serialize for #name {
                fn serialize<S: ::orm_core::__private::serde::Serializer>(
                    &self,
                    serializer: S,
                ) -> ::core::result::Result<S::Ok, S::Error> {
                    let mut state = ::orm_core::__private::serde::Serializer::serialize_struct(
                        serializer, #model_name, #visible_count,
                    )?;
                    #(#serialize_fields)*
                    ::orm_core::__private::serde::ser::SerializeStruct::end(state)
                }
            }
        };
    })
}
