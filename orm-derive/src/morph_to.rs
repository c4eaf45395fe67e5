//! `#[derive(MorphTo)]`: the enum of the models a `morph_to` relation may hold, one
//! tuple variant per model (`enum Commentable { Post(Post), Video(Video) }`).

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Data, DeriveInput, Fields};

pub fn expand(input: &DeriveInput) -> syn::Result<TokenStream> {
    let name = &input.ident;
    let shape = "MorphTo works on an enum with one variant per model, each holding the model: `enum Commentable { Post(Post), Video(Video) }`";
    let Data::Enum(data) = &input.data else {
        return Err(syn::Error::new_spanned(name, shape));
    };
    if !input.generics.params.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.generics,
            "a MorphTo enum cannot be generic",
        ));
    }
    if data.variants.is_empty() {
        return Err(syn::Error::new_spanned(name, shape));
    }
    let mut variants = Vec::new();
    let mut models = Vec::new();
    for variant in &data.variants {
        let model = match &variant.fields {
            Fields::Unnamed(fields) if fields.unnamed.len() == 1 => &fields.unnamed[0].ty,
            _ => return Err(syn::Error::new_spanned(variant, shape)),
        };
        variants.push(&variant.ident);
        models.push(model);
    }
    Ok(quote! {
        const _: () = {
            #[automatically_derived]
            impl ::orm_core::MorphTarget for #name {
                const MODELS: &'static [fn() -> &'static ::orm_core::ModelMeta] =
                    &[#(<#models as ::orm_core::Model>::meta),*];

                fn morph_name(&self) -> &'static str {
                    match self {
                        #(#name::#variants(_) => <#models as ::orm_core::Model>::meta().morph_name,)*
                    }
                }

                fn key_value(&self) -> ::orm_core::Value {
                    match self {
                        #(#name::#variants(model) => <#models as ::orm_core::Model>::key_value(model),)*
                    }
                }

                fn load_type(
                    type_name: &str,
                    keys: ::std::vec::Vec<::orm_core::Value>,
                    eager: ::core::option::Option<&::orm_core::__private::EagerRelation>,
                    connection: ::core::option::Option<&str>,
                    conn: &mut ::orm_core::Connection,
                ) -> ::core::option::Option<::orm_core::Result<::std::vec::Vec<(::orm_core::Value, Self)>>> {
                    #(
                        if type_name == <#models as ::orm_core::Model>::meta().morph_name {
                            return ::core::option::Option::Some(
                                ::orm_core::__private::morph_load::<#models, Self>(
                                    keys, eager, connection, conn, #name::#variants,
                                ),
                            );
                        }
                    )*
                    ::core::option::Option::None
                }
            }

            #(
                #[automatically_derived]
                impl ::core::convert::From<#models> for #name {
                    fn from(model: #models) -> Self {
                        #name::#variants(model)
                    }
                }
            )*

            // The parent serialises as its model (untagged), like a belongs-to; only
            // with orm-core's `json` feature.
            ::orm_core::__private::with_json! {
                #[automatically_derived]
                impl ::orm_core::__private::serde::Serialize for #name {
                    fn serialize<S: ::orm_core::__private::serde::Serializer>(
                        &self,
                        serializer: S,
                    ) -> ::core::result::Result<S::Ok, S::Error> {
                        match self {
                            #(#name::#variants(model) => ::orm_core::__private::serde::Serialize::serialize(model, serializer),)*
                        }
                    }
                }
            }
        };
    })
}
