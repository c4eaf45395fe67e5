//! `#[derive(DbEnum)]`: a fieldless enum stored in one column, as text (the variant's
//! name, snake_case by default) or as its integer discriminant.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields, LitStr};

const RENAME_ALL: &[&str] = &[
    "snake_case",
    "lowercase",
    "UPPERCASE",
    "SCREAMING_SNAKE_CASE",
    "kebab-case",
    "PascalCase",
];

fn renamed(name: &str, rule: &str) -> String {
    let snake = orm_inflector::snake_case(name);
    match rule {
        "lowercase" => name.to_lowercase(),
        "UPPERCASE" => name.to_uppercase(),
        "SCREAMING_SNAKE_CASE" => snake.to_uppercase(),
        "kebab-case" => snake.replace('_', "-"),
        "PascalCase" => name.to_owned(),
        _ => snake,
    }
}

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "DbEnum works on an enum whose variants have no fields",
        ));
    };
    let mut integer = false;
    let mut rule = "snake_case".to_owned();
    for attr in input.attrs.iter().filter(|a| a.path().is_ident("db_enum")) {
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("integer") {
                integer = true;
                Ok(())
            } else if meta.path.is_ident("rename_all") {
                let lit: LitStr = meta.value()?.parse()?;
                if !RENAME_ALL.contains(&lit.value().as_str()) {
                    return Err(syn::Error::new_spanned(
                        &lit,
                        format!(
                            "unknown rename_all rule; expected one of: {}",
                            RENAME_ALL.join(", ")
                        ),
                    ));
                }
                rule = lit.value();
                Ok(())
            } else {
                Err(meta
                    .error("unknown db_enum option; expected `integer` or `rename_all = \"..\"`"))
            }
        })?;
    }
    let name = &input.ident;
    let type_name = name.to_string();
    let mut stored: Vec<(syn::Ident, String)> = Vec::new();
    for variant in &data.variants {
        if !matches!(variant.fields, Fields::Unit) {
            return Err(syn::Error::new_spanned(
                &variant.fields,
                "DbEnum stores fieldless variants only: this variant has fields",
            ));
        }
        let mut text = renamed(&variant.ident.to_string(), &rule);
        for attr in variant
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("db_enum"))
        {
            attr.parse_nested_meta(|meta| {
                if meta.path.is_ident("rename") && !integer {
                    let lit: LitStr = meta.value()?.parse()?;
                    if lit.value().is_empty() {
                        return Err(syn::Error::new_spanned(
                            &lit,
                            "the stored name cannot be empty",
                        ));
                    }
                    text = lit.value();
                    Ok(())
                } else if meta.path.is_ident("rename") {
                    Err(meta.error(
                        "`rename` names the stored text; an `integer` enum stores its discriminant",
                    ))
                } else {
                    Err(meta
                        .error("unknown db_enum option on a variant; expected `rename = \"..\"`"))
                }
            })?;
        }
        if let Some((other, _)) = stored.iter().find(|(_, t)| *t == text).filter(|_| !integer) {
            return Err(syn::Error::new_spanned(
                &variant.ident,
                format!(
                    "`{}` is stored as \"{text}\", as `{other}` is",
                    variant.ident
                ),
            ));
        }
        stored.push((variant.ident.clone(), text));
    }
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let (encode, family, decode) = if integer {
        let encode = stored
            .iter()
            .map(|(v, _)| quote!(#name::#v => #name::#v as i64));
        let decode = stored.iter().map(|(v, _)| quote!(if n == #name::#v as i64 { return ::core::result::Result::Ok(#name::#v); }));
        (
            quote!(::orm_core::Value::Int(match self { #(#encode,)* })),
            quote!(::orm_core::TypeFamily::Integer),
            quote! {
                if let ::orm_core::ValueRef::Int(n) = value {
                    #(#decode)*
                }
            },
        )
    } else {
        let encode = stored.iter().map(|(v, t)| quote!(#name::#v => #t));
        let decode = stored
            .iter()
            .map(|(v, t)| quote!(#t => return ::core::result::Result::Ok(#name::#v),));
        (
            quote!(::orm_core::Value::Text(::std::string::String::from(match self { #(#encode,)* }))),
            quote!(::orm_core::TypeFamily::Text),
            quote! {
                if let ::orm_core::ValueRef::Text(text) = &value {
                    match ::core::convert::AsRef::<str>::as_ref(text) {
                        #(#decode)*
                        _ => {}
                    }
                }
            },
        )
    };
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::orm_core::ToValue for #name #ty_generics #where_clause {
            fn to_value(&self) -> ::orm_core::Value {
                #encode
            }
        }

        #[automatically_derived]
        impl #impl_generics ::core::convert::From<#name #ty_generics> for ::orm_core::Value #where_clause {
            fn from(value: #name #ty_generics) -> ::orm_core::Value {
                ::orm_core::ToValue::to_value(&value)
            }
        }

        #[automatically_derived]
        impl #impl_generics ::orm_core::FromValue for #name #ty_generics #where_clause {
            const FAMILY: ::orm_core::TypeFamily = #family;

            fn from_value(value: ::orm_core::ValueRef<'_>) -> ::core::result::Result<Self, ::orm_core::DecodeError> {
                #decode
                ::core::result::Result::Err(::orm_core::DecodeError {
                    expected: ::std::string::String::from(#type_name),
                    found: ::std::format!("{value:?}"),
                })
            }
        }
    })
}
