use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericArgument, LitStr, PathArguments, Type};

use orm_inflector as inflector;

const CONTAINER_KEYS: &str =
    "table, primary_key, timestamps, created_at, updated_at, soft_deletes, connection, hooks, \
     serialize, morph_name, with";
const FIELD_KEYS: &str = "primary_key, column, hidden, skip, default, version, state, has_one, \
     has_many, belongs_to, belongs_to_many, has_many_through, has_one_through, morph_one, \
     morph_many, morph_to, morph_to_many, morphed_by_many";
/// The relation keys a field may carry.
const RELATION_KEYS: [&str; 11] = [
    "has_one",
    "has_many",
    "belongs_to",
    "belongs_to_many",
    "has_many_through",
    "has_one_through",
    "morph_one",
    "morph_many",
    "morph_to",
    "morph_to_many",
    "morphed_by_many",
];
const VERSION_TYPES: &str = "i16, i32, i64 or u32";
const KEY_TYPES: &str = "i16, i32, i64, u32, String or Uuid (optionally in Option<..>)";

struct Container {
    table: Option<String>,
    primary_key: Option<(String, Span)>,
    timestamps: bool,
    soft_deletes: bool,
    connection: Option<String>,
    hooks: bool,
    /// Whether the derive writes `serde::Serialize` (`#[model(serialize = false)]`: no).
    serialize: bool,
    /// The name polymorphic type columns store for this model (default: its table).
    morph_name: Option<String>,
    /// `created_at = "column"` / `updated_at = "column"`: that stamp alone (without
    /// `timestamps`), or under another column name (with it).
    created_at: Option<LitStr>,
    updated_at: Option<LitStr>,
    /// Relation paths every query of the model eager loads (`with = ["author"]`), each
    /// with its literal's span for errors.
    with: Vec<(String, Span)>,
}

struct Column<'a> {
    field: &'a syn::Ident,
    ty: &'a Type,
    column: String,
    hidden: bool,
    primary: bool,
    default: bool,
    version: bool,
}

#[derive(Clone, Copy, PartialEq)]
enum RelationKind {
    HasOne,
    HasMany,
    BelongsTo,
    BelongsToMany,
    HasManyThrough,
    HasOneThrough,
    MorphOne,
    MorphMany,
    MorphTo,
    MorphToMany,
    MorphedByMany,
}

impl RelationKind {
    fn parse(key: &str) -> Option<RelationKind> {
        Some(match key {
            "has_one" => RelationKind::HasOne,
            "has_many" => RelationKind::HasMany,
            "belongs_to" => RelationKind::BelongsTo,
            "belongs_to_many" => RelationKind::BelongsToMany,
            "has_many_through" => RelationKind::HasManyThrough,
            "has_one_through" => RelationKind::HasOneThrough,
            "morph_one" => RelationKind::MorphOne,
            "morph_many" => RelationKind::MorphMany,
            "morph_to" => RelationKind::MorphTo,
            "morph_to_many" => RelationKind::MorphToMany,
            "morphed_by_many" => RelationKind::MorphedByMany,
            _ => return None,
        })
    }

    fn variant(self) -> TokenStream {
        match self {
            RelationKind::HasOne => quote!(HasOne),
            RelationKind::HasMany => quote!(HasMany),
            RelationKind::BelongsTo => quote!(BelongsTo),
            RelationKind::BelongsToMany => quote!(BelongsToMany),
            RelationKind::HasManyThrough => quote!(HasManyThrough),
            RelationKind::HasOneThrough => quote!(HasOneThrough),
            RelationKind::MorphOne => quote!(MorphOne),
            RelationKind::MorphMany => quote!(MorphMany),
            RelationKind::MorphTo => quote!(MorphTo),
            RelationKind::MorphToMany => quote!(MorphToMany),
            RelationKind::MorphedByMany => quote!(MorphedByMany),
        }
    }

    fn allowed_options(self) -> &'static [&'static str] {
        match self {
            RelationKind::HasOne | RelationKind::HasMany => {
                &["foreign_key", "local_key", "constrain"]
            }
            RelationKind::BelongsTo => &["foreign_key", "owner_key", "touch", "constrain"],
            RelationKind::BelongsToMany => &[
                "table",
                "foreign_pivot_key",
                "related_pivot_key",
                "parent_key",
                "related_key",
                "timestamps",
                "with_pivot",
                "constrain",
                "touch",
            ],
            RelationKind::HasManyThrough | RelationKind::HasOneThrough => &[
                "through",
                "first_key",
                "second_key",
                "local_key",
                "second_local_key",
                "constrain",
            ],
            RelationKind::MorphOne | RelationKind::MorphMany => &["name", "local_key", "constrain"],
            RelationKind::MorphTo => &["name"],
            RelationKind::MorphToMany => &[
                "name",
                "table",
                "related_pivot_key",
                "parent_key",
                "related_key",
                "timestamps",
                "with_pivot",
                "constrain",
                "touch",
            ],
            RelationKind::MorphedByMany => &[
                "name",
                "table",
                "foreign_pivot_key",
                "parent_key",
                "related_key",
                "timestamps",
                "with_pivot",
                "constrain",
                "touch",
            ],
        }
    }

    fn is_morph(self) -> bool {
        matches!(
            self,
            RelationKind::MorphOne
                | RelationKind::MorphMany
                | RelationKind::MorphTo
                | RelationKind::MorphToMany
                | RelationKind::MorphedByMany
        )
    }
}

struct RelationAttr {
    kind: RelationKind,
    span: Span,
    related: Option<syn::Path>,
    through: Option<syn::Path>,
    constrain: Option<syn::Path>,
    options: Vec<(String, String)>,
    timestamps: bool,
    touch: bool,
    /// `with_pivot = ["active", ..]`.
    pivot_columns: Vec<String>,
}

impl RelationAttr {
    /// A relation of `kind` with no options yet.
    fn new(kind: RelationKind, span: Span) -> RelationAttr {
        RelationAttr {
            kind,
            span,
            related: None,
            through: None,
            constrain: None,
            options: Vec::new(),
            timestamps: false,
            touch: false,
            pivot_columns: Vec::new(),
        }
    }

    fn option(&self, key: &str) -> Option<&str> {
        self.options
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

struct Relation<'a> {
    field: &'a syn::Ident,
    ty: &'a Type,
    attr: RelationAttr,
}

fn snake_of_path(path: &syn::Path) -> String {
    let last = path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default();
    inflector::snake_case(&last)
}

fn parse_relation(
    meta: &syn::meta::ParseNestedMeta<'_>,
    kind: RelationKind,
) -> syn::Result<RelationAttr> {
    let mut attr = RelationAttr::new(kind, meta.path.span());
    let allowed = kind.allowed_options();
    meta.parse_nested_meta(|inner| {
        let key = inner.path.get_ident().map(ToString::to_string).unwrap_or_default();
        if allowed.contains(&key.as_str()) {
            if key == "timestamps" {
                attr.timestamps = true;
            } else if key == "touch" {
                attr.touch = true;
            } else if key == "through" {
                attr.through = Some(inner.value()?.parse::<syn::Path>()?);
            } else if key == "constrain" {
                attr.constrain = Some(inner.value()?.parse::<syn::Path>()?);
            } else if key == "with_pivot" {
                let list = inner.value()?;
                let content;
                syn::bracketed!(content in list);
                let names = content.parse_terminated(
                    |input: syn::parse::ParseStream<'_>| input.parse::<LitStr>(),
                    syn::Token![,],
                )?;
                for name in names {
                    attr.pivot_columns.push(non_empty(name)?);
                }
            } else {
                let value = non_empty(inner.value()?.parse::<LitStr>()?)?;
                attr.options.push((key, value));
            }
            return Ok(());
        }
        if attr.related.is_none() && !inner.input.peek(syn::Token![=]) {
            attr.related = Some(inner.path.clone());
            return Ok(());
        }
        Err(inner.error(format!(
            "unknown option `{}` for this relation; expected the related model first, then any of: {}",
            inner.path.to_token_stream(),
            allowed.join(", ")
        )))
    })?;
    if kind == RelationKind::MorphTo {
        // The possible parents are the field type's enum: no model to name here.
        if let Some(related) = &attr.related {
            return Err(syn::Error::new_spanned(
                related,
                "morph_to takes no model: its parents are the variants of the field's enum (`MorphTo<Commentable>`); options: name",
            ));
        }
        return Ok(attr);
    }
    if attr.related.is_none() {
        return Err(meta.error("name the related model: e.g. `has_many(Post)`"));
    }
    if kind.is_morph() && attr.option("name").is_none() {
        return Err(meta.error(
            "a polymorphic relation needs its morph name: e.g. `morph_many(Comment, name = \"commentable\")` for the columns `commentable_id` and `commentable_type`",
        ));
    }
    if matches!(
        kind,
        RelationKind::HasManyThrough | RelationKind::HasOneThrough
    ) && attr.through.is_none()
    {
        return Err(meta.error("a through relation needs `through = Model`, e.g. `has_many_through(Post, through = User)`"));
    }
    Ok(attr)
}

fn parse_container(input: &DeriveInput) -> syn::Result<Container> {
    let mut c = Container {
        table: None,
        primary_key: None,
        timestamps: false,
        soft_deletes: false,
        connection: None,
        hooks: false,
        serialize: true,
        morph_name: None,
        created_at: None,
        updated_at: None,
        with: Vec::new(),
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
                "created_at" | "updated_at" => {
                    let lit: LitStr = meta.value()?.parse()?;
                    non_empty(lit.clone())?;
                    match key.as_str() {
                        "created_at" => c.created_at = Some(lit),
                        _ => c.updated_at = Some(lit),
                    }
                }
                "soft_deletes" => c.soft_deletes = true,
                "hooks" => c.hooks = true,
                "serialize" => c.serialize = meta.value()?.parse::<syn::LitBool>()?.value,
                "morph_name" => c.morph_name = Some(non_empty(meta.value()?.parse::<LitStr>()?)?),
                "with" => {
                    let list = meta.value()?;
                    let content;
                    syn::bracketed!(content in list);
                    let paths = content.parse_terminated(
                        |input: syn::parse::ParseStream<'_>| input.parse::<LitStr>(),
                        syn::Token![,],
                    )?;
                    for path in paths {
                        c.with.push((non_empty(path.clone())?, path.span()));
                    }
                }
                "hidden" | "skip" | "column" => {
                    return Err(meta.error(format!(
                        "`{key}` is a field attribute: put #[model({key})] on a field"
                    )))
                }
                _ if RELATION_KEYS.contains(&key.as_str()) => {
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

/// The `Model` items of `#[model(with = [..])]`: each path's first name must be a
/// relation field of the model (later names are checked when the query runs).
fn default_loads(with: &[(String, Span)], relations: &[Relation<'_>]) -> syn::Result<TokenStream> {
    if with.is_empty() {
        return Ok(quote!());
    }
    let names: Vec<String> = relations
        .iter()
        .map(|r| r.field.to_string().trim_start_matches("r#").to_owned())
        .collect();
    for (path, span) in with {
        let head = path.split('.').next().unwrap_or_default();
        if !names.iter().any(|n| n == head) {
            let allowed = match names.is_empty() {
                true => "the model declares no relations".to_owned(),
                false => format!("expected one of: {}", names.join(", ")),
            };
            return Err(syn::Error::new(
                *span,
                format!("`with` names `{head}`, which is not a relation of this model; {allowed}"),
            ));
        }
    }
    let paths = with.iter().map(|(path, _)| path);
    Ok(quote! {
        const DEFAULT_LOADS: bool = true;

        fn default_loads(query: ::orm_core::Query<Self>) -> ::orm_core::Query<Self> {
            query.with(&[#(#paths),*])
        }
    })
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
        default: bool,
        version: bool,
    },
    Skip,
    /// The `ModelState` field.
    State,
    Relation(RelationAttr),
}

/// Whether a field's type is `ModelState` (by its last path segment).
fn is_state_type(ty: &Type) -> bool {
    type_name(ty).as_deref() == Some("ModelState")
}

fn parse_field(field: &syn::Field) -> syn::Result<FieldRole> {
    let mut column = None;
    let mut hidden = false;
    let mut primary = false;
    let mut skip = false;
    let mut default = false;
    let mut version = false;
    let mut state = is_state_type(&field.ty);
    let mut relation: Option<RelationAttr> = None;
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
                "default" => default = true,
                "version" => version = true,
                "state" => state = true,
                _ if RELATION_KEYS.contains(&key.as_str()) => {
                    let kind = RelationKind::parse(&key).expect("listed above");
                    if relation.is_some() {
                        return Err(meta.error("a field can declare only one relation"));
                    }
                    let bare = meta.input.is_empty() || meta.input.peek(syn::Token![,]);
                    relation = Some(if kind == RelationKind::MorphTo && bare {
                        // A bare `morph_to`: the morph name is the field's.
                        RelationAttr::new(kind, meta.path.span())
                    } else {
                        parse_relation(&meta, kind)?
                    });
                }
                "table" | "timestamps" | "soft_deletes" | "connection" | "hooks" | "serialize"
                | "morph_name" => {
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
    if let Some(relation) = relation {
        Ok(FieldRole::Relation(relation))
    } else if skip {
        Ok(FieldRole::Skip)
    } else if state {
        if column.is_some() || hidden || primary || default || version {
            return Err(syn::Error::new_spanned(
                &field.ty,
                "the ModelState field is not a column: it takes no other #[model(..)] option",
            ));
        }
        Ok(FieldRole::State)
    } else {
        if default && option_inner(&field.ty).is_none() {
            return Err(syn::Error::new_spanned(
                &field.ty,
                "#[model(default)] needs an Option<..> field: None lets the table's DEFAULT apply",
            ));
        }
        if version
            && !matches!(
                type_name(&field.ty).as_deref(),
                Some("i16" | "i32" | "i64" | "u32")
            )
        {
            return Err(syn::Error::new_spanned(
                &field.ty,
                format!("#[model(version)] needs an integer field: {VERSION_TYPES}"),
            ));
        }
        Ok(FieldRole::Column {
            column,
            hidden,
            primary,
            default,
            version,
        })
    }
}

/// `Option<T>` → `Some(T)`.
fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    if path.path.segments.last()?.ident != "Option" {
        return None;
    }
    generic_inner(ty)
}

/// `Container<T>` → `Some(T)` (the first type argument of the last segment).
fn generic_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
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

/// The `Model` items of a key the ORM makes when it is unset (`Option<Uuid>`, Eloquent's
/// `HasUuids`): a version 7 UUID.
fn generated_key(ty: &Type) -> TokenStream {
    match option_inner(ty).and_then(type_name).as_deref() {
        Some("Uuid") => quote! {
            const GENERATES_KEY: bool = true;

            fn new_key() -> ::orm_core::Value {
                ::orm_core::__private::new_uuid_key()
            }
        },
        _ => quote!(),
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
    let mut state_field: Option<&syn::Ident> = None;
    for field in fields {
        let ident = field.ident.as_ref().expect("named field");
        match parse_field(field)? {
            FieldRole::Column {
                column,
                hidden,
                primary,
                default,
                version,
            } => columns.push(Column {
                field: ident,
                ty: &field.ty,
                column: column
                    .unwrap_or_else(|| ident.to_string().trim_start_matches("r#").to_owned()),
                hidden,
                primary,
                default,
                version,
            }),
            FieldRole::Skip => others.push(ident),
            FieldRole::State => {
                if state_field.is_some() {
                    return Err(syn::Error::new_spanned(
                        ident,
                        "a model has at most one ModelState field",
                    ));
                }
                state_field = Some(ident);
            }
            FieldRole::Relation(attr) => relations.push(Relation {
                field: ident,
                ty: &field.ty,
                attr,
            }),
        }
    }

    if !container.serialize {
        if let Some(hidden) = columns.iter().find(|c| c.hidden) {
            return Err(syn::Error::new_spanned(
                hidden.field,
                "#[model(hidden)] leaves a field out of the derived Serialize, which #[model(serialize = false)] turns off: use #[serde(skip)] in your own",
            ));
        }
    }
    for (i, column) in columns.iter().enumerate() {
        if let Some(first) = columns[..i].iter().find(|c| c.column == column.column) {
            return Err(syn::Error::new_spanned(
                column.field,
                format!(
                    "fields `{}` and `{}` both map to column `{}`: give one of them another #[model(column = \"..\")]",
                    first.field, column.field, column.column
                ),
            ));
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
    let versions: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].version).collect();
    let version = match versions.as_slice() {
        [] => None,
        [i] if *i == key_index => {
            return Err(syn::Error::new_spanned(
                columns[*i].field,
                "the primary key cannot be the version column",
            ))
        }
        [i] => Some(*i),
        [_, second, ..] => {
            return Err(syn::Error::new_spanned(
                columns[*second].field,
                "only one field can be #[model(version)]",
            ))
        }
    };
    let defaults: Vec<usize> = (0..columns.len()).filter(|&i| columns[i].default).collect();
    for &i in &defaults {
        if i == key_index || Some(i) == version {
            return Err(syn::Error::new_spanned(
                columns[i].field,
                "#[model(default)] is for ordinary columns, not the key or the version",
            ));
        }
        if i >= 64 {
            return Err(syn::Error::new_spanned(
                columns[i].field,
                "#[model(default)] columns must be among the model's first 64 columns",
            ));
        }
    }

    let find_column = |wanted: &str| columns.iter().position(|c| c.column == wanted);
    let require = |flag: &str, column: &str| -> syn::Result<usize> {
        find_column(column).ok_or_else(|| {
            syn::Error::new_spanned(
                name,
                format!("#[model({flag})] needs a `{column}: Option<DateTime<Utc>>` field"),
            )
        })
    };
    // `timestamps` stamps both under their usual names; `created_at = ".."` or
    // `updated_at = ".."` names one (with `timestamps`) or stamps that one alone.
    let stamp = |chosen: &Option<LitStr>, usual: &str| -> syn::Result<Option<usize>> {
        match (chosen, container.timestamps) {
            (Some(lit), _) => {
                let column = lit.value();
                find_column(&column).map(Some).ok_or_else(|| {
                    syn::Error::new(
                        lit.span(),
                        format!("`{usual} = \"{column}\"` needs a `{column}: Option<DateTime<Utc>>` field (or a field with `#[model(column = \"{column}\")]`)"),
                    )
                })
            }
            (None, true) => require("timestamps", usual).map(Some),
            (None, false) => Ok(None),
        }
    };
    let created_at = stamp(&container.created_at, "created_at")?;
    let updated_at = stamp(&container.updated_at, "updated_at")?;
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
    let morph_name = container
        .morph_name
        .clone()
        .unwrap_or_else(|| table.clone());
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
    let version = opt(version);
    let model_name = name.to_string();

    // Every use of a column field goes through `ColumnField`, spanned at the field's
    // type: an unmapped type is then one (deduplicated) error at that type. Only the
    // fields the derived `Serialize` writes must be `Serialize`.
    let via = |c: &Column<'_>| {
        let ty = c.ty;
        let mode = if container.serialize && !c.hidden {
            quote!(::orm_core::__private::Serialized)
        } else {
            quote!(::orm_core::__private::NotSerialized)
        };
        quote_spanned! {ty.span()=> <#ty as ::orm_core::__private::ColumnField<#mode>> }
    };
    let decode_fields = columns.iter().enumerate().map(|(i, c)| {
        let field = c.field;
        let via = via(c);
        quote! { #field: #via::read(row, #i)? }
    });
    let column_types = columns.iter().map(|c| {
        let via = via(c);
        quote! { (#via::FAMILY, #via::NULLABLE) }
    });
    let relation_fields: Vec<&syn::Ident> = relations.iter().map(|r| r.field).collect();
    let default_fields = others
        .iter()
        .copied()
        .chain(relation_fields.iter().copied())
        .chain(state_field)
        .map(|field| quote! { #field: ::core::default::Default::default() });
    let encode_fields = columns.iter().map(|c| {
        let field = c.field;
        let via = via(c);
        quote! { #via::to_value(&self.#field) }
    });
    let bind_fields = columns.iter().map(|c| {
        let field = c.field;
        let via = via(c);
        quote! { out.push(#via::to_bind(&self.#field)); }
    });
    let check_fields = columns.iter().map(|c| {
        let field = c.field;
        let via = via(c);
        quote! { #via::check_encode(&self.#field)?; }
    });
    let truncate_fields = columns.iter().map(|c| {
        let field = c.field;
        let via = via(c);
        quote! { #via::truncate_to_stored(&mut self.#field); }
    });
    let set_arms = columns.iter().map(|c| {
        let field = c.field;
        let column = &c.column;
        let via = via(c);
        quote! { #column => #via::set(&mut self.#field, value, #column), }
    });
    let get_arms = columns.iter().map(|c| {
        let field = c.field;
        let column = &c.column;
        let via = via(c);
        quote! { #column => ::core::option::Option::Some(#via::to_value(&self.#field)), }
    });
    let at_arms = columns.iter().enumerate().map(|(i, c)| {
        let field = c.field;
        let via = via(c);
        quote! { #i => ::core::option::Option::Some(#via::to_value(&self.#field)), }
    });
    let key_via = via(&columns[key_index]);
    let visible: Vec<&Column<'_>> = columns.iter().filter(|c| !c.hidden).collect();
    let visible_count = visible.len();
    let serialize_fields = visible.iter().map(|c| {
        let field = c.field;
        let column = &c.column;
        let via = via(c);
        quote! { #via::serialize_field(&self.#field, &mut state, #column, ::orm_core::__private::Serialized)?; }
    });
    let default_loads = default_loads(&container.with, &relations)?;
    let generated_key = generated_key(columns[key_index].ty);
    let hooks_flag = container.hooks;
    let scopes = if container.hooks {
        quote!(::core::option::Option::Some(
            ::orm_core::__private::global_scopes_of::<#name>
        ))
    } else {
        quote!(::core::option::Option::None)
    };
    let hooks_impl = if container.hooks {
        quote!()
    } else {
        quote! {
            #[automatically_derived]
            impl ::orm_core::ModelHooks for #name {}
        }
    };
    let columns_len = columns.len();
    let own_key = format!("{}_id", inflector::snake_case(&name.to_string()));
    let mut relation_metas = Vec::new();
    let mut loaders = Vec::new();
    let mut count_arms = Vec::new();
    let mut slot_arms = Vec::new();
    let mut push_fields = Vec::new();
    let mut relation_methods = Vec::new();
    let mut serialize_relations = Vec::new();
    for (i, relation) in relations.iter().enumerate() {
        let attr = &relation.attr;
        let field = relation.field;
        let relation_name = field.to_string().trim_start_matches("r#").to_owned();
        // A morph_to's "related" is the enum of its possible parents, from the field type.
        let morph_enum = if attr.kind == RelationKind::MorphTo {
            Some(generic_inner(relation.ty).ok_or_else(|| {
                syn::Error::new_spanned(
                    relation.ty,
                    "a morph_to field is `MorphTo<E>`, E an enum deriving MorphTo",
                )
            })?)
        } else {
            None
        };
        // A morph_to's `related` is the declaring model (`RelationMeta` documents it).
        let self_path: syn::Path = syn::parse_quote!(#name);
        let related = attr.related.as_ref().unwrap_or(&self_path);
        let related_key = format!("{}_id", snake_of_path(related));
        let morph = attr
            .option("name")
            .map_or_else(|| relation_name.clone(), str::to_owned);
        let morph_id = format!("{morph}_id");
        let morph_type = if attr.kind.is_morph() {
            format!("{morph}_type")
        } else {
            String::new()
        };
        let (foreign_key, other_key, local_key) = match attr.kind {
            RelationKind::MorphOne | RelationKind::MorphMany => {
                (morph_id.clone(), String::new(), attr.option("local_key"))
            }
            RelationKind::MorphTo => {
                for column in [&morph_id, &morph_type] {
                    if find_column(column).is_none() {
                        return Err(syn::Error::new(
                            attr.span,
                            format!("morph_to needs the columns `{morph_id}` and `{morph_type}` on this model (name = \"{morph}\"); `{column}` is missing"),
                        ));
                    }
                }
                (morph_id.clone(), String::new(), None)
            }
            RelationKind::MorphToMany => (
                morph_id.clone(),
                attr.option("related_pivot_key")
                    .map_or(related_key.clone(), str::to_owned),
                attr.option("parent_key"),
            ),
            RelationKind::MorphedByMany => (
                attr.option("foreign_pivot_key")
                    .map_or(own_key.clone(), str::to_owned),
                morph_id.clone(),
                attr.option("parent_key"),
            ),
            RelationKind::HasOne | RelationKind::HasMany => (
                attr.option("foreign_key")
                    .map_or(own_key.clone(), str::to_owned),
                String::new(),
                attr.option("local_key"),
            ),
            RelationKind::BelongsTo => {
                let fk = attr
                    .option("foreign_key")
                    .map_or(related_key.clone(), str::to_owned);
                if find_column(&fk).is_none() {
                    return Err(syn::Error::new(
                        attr.span,
                        format!("belongs_to needs a `{fk}` column on this model, or set foreign_key = \"..\""),
                    ));
                }
                (fk, String::new(), attr.option("owner_key"))
            }
            RelationKind::BelongsToMany => (
                attr.option("foreign_pivot_key")
                    .map_or(own_key.clone(), str::to_owned),
                attr.option("related_pivot_key")
                    .map_or(related_key.clone(), str::to_owned),
                attr.option("parent_key"),
            ),
            RelationKind::HasManyThrough | RelationKind::HasOneThrough => {
                let through = attr.through.as_ref().expect("checked when parsed");
                (
                    attr.option("first_key")
                        .map_or(own_key.clone(), str::to_owned),
                    attr.option("second_key")
                        .map_or_else(|| format!("{}_id", snake_of_path(through)), str::to_owned),
                    attr.option("local_key"),
                )
            }
        };
        let variant = attr.kind.variant();
        let through = match &attr.through {
            Some(path) => quote!(::core::option::Option::Some(<#path as ::orm_core::Model>::meta)),
            None => quote!(::core::option::Option::None),
        };
        let local_key = match local_key {
            Some(k) => quote!(::core::option::Option::Some(#k)),
            None => quote!(::core::option::Option::None),
        };
        let linked_key = match attr
            .option("related_key")
            .or(attr.option("second_local_key"))
        {
            Some(k) => quote!(::core::option::Option::Some(#k)),
            None => quote!(::core::option::Option::None),
        };
        let pivot_table = match attr.option("table") {
            Some(t) => quote!(::core::option::Option::Some(#t)),
            // A polymorphic pivot is named after the morph: `taggables`.
            None if matches!(
                attr.kind,
                RelationKind::MorphToMany | RelationKind::MorphedByMany
            ) =>
            {
                let table = inflector::pluralize(&morph);
                quote!(::core::option::Option::Some(#table))
            }
            None => quote!(::core::option::Option::None),
        };
        let morph_targets = match morph_enum {
            Some(target) => quote!(<#target as ::orm_core::MorphTarget>::MODELS),
            None => quote!(&[]),
        };
        let pivot_timestamps = attr.timestamps;
        let pivot_columns = &attr.pivot_columns;
        let touch = attr.touch;
        let constraint = match &attr.constrain {
            Some(path) => quote! {
                ::core::option::Option::Some(|query| {
                    ::orm_core::__private::constrain::<#related>(query, #path)
                })
            },
            None => quote!(::core::option::Option::None),
        };
        relation_metas.push(quote! {
            ::orm_core::RelationMeta {
                name: #relation_name,
                kind: ::orm_core::RelationKind::#variant,
                parent: <#name as ::orm_core::Model>::meta,
                related: <#related as ::orm_core::Model>::meta,
                through: #through,
                foreign_key: #foreign_key,
                related_key: #other_key,
                local_key: #local_key,
                linked_key: #linked_key,
                pivot_table: #pivot_table,
                pivot_timestamps: #pivot_timestamps,
                pivot_columns: &[#(#pivot_columns),*],
                touch: #touch,
                morph_type: #morph_type,
                morph_targets: #morph_targets,
                constraint: #constraint,
                cache: ::orm_core::__private::RelationCache::new(),
            }
        });
        let loader = match attr.kind {
            RelationKind::HasMany
            | RelationKind::BelongsToMany
            | RelationKind::HasManyThrough
            | RelationKind::MorphMany
            | RelationKind::MorphToMany
            | RelationKind::MorphedByMany => quote!(load_many),
            RelationKind::HasOne | RelationKind::HasOneThrough | RelationKind::MorphOne => {
                quote!(load_one)
            }
            RelationKind::BelongsTo => quote!(load_belongs_to),
            RelationKind::MorphTo => quote!(load_morph_to),
        };
        let loaded_type = match morph_enum {
            Some(target) => quote!(#target),
            None => quote!(#related),
        };
        loaders.push(quote! {
            #relation_name => ::orm_core::__private::#loader::<Self, #loaded_type>(
                models, &__ORM_RELATIONS[#i], eager, conn, |m| &mut m.#field,
            ),
        });
        count_arms.push(quote! {
            #relation_name => ::core::option::Option::Some(self.#field.count_slot()),
        });
        slot_arms.push(quote! {
            #relation_name => ::core::option::Option::Some(&mut self.#field),
        });
        if morph_enum.is_none() {
            push_fields.push(quote! {
                ::orm_core::__private::PushLoaded::push_loaded(&mut self.#field)?;
            });
        }
        let doc =
            format!("The `{relation_name}` relation as a query (chainable; `.get()` runs it).");
        relation_methods.push(match morph_enum {
            Some(target) => {
                let doc = format!(
                    "Reads the `{relation_name}` parent (one query; `None` when its type or key is NULL or no row has the key)."
                );
                quote! {
                    #[doc = #doc]
                    pub fn #field(&self) -> ::orm_core::Result<::core::option::Option<#target>> {
                        ::orm_core::__private::morph_to_lazy::<Self, #target>(
                            self, &__ORM_RELATIONS[#i], self.#field.is_loaded(),
                        )
                    }
                }
            }
            None => quote! {
                #[doc = #doc]
                pub fn #field(&self) -> ::orm_core::Query<#related> {
                    ::orm_core::__private::relation_query::<Self, #related>(
                        self, &__ORM_RELATIONS[#i], self.#field.is_loaded(),
                    )
                }
            },
        });
        // A count loaded by `with_count` is `{relation}_count`, as Eloquent serializes it.
        let count_name = format!("{relation_name}_count");
        let exists_name = format!("{relation_name}_exists");
        serialize_relations.push(quote! {
            if self.#field.is_loaded() {
                ::orm_core::__private::serde::ser::SerializeStruct::serialize_field(&mut state, #relation_name, &self.#field)?;
            } else {
                ::orm_core::__private::serde::ser::SerializeStruct::skip_field(&mut state, #relation_name)?;
            }
            match self.#field.counted() {
                ::core::option::Option::Some(count) => {
                    ::orm_core::__private::serde::ser::SerializeStruct::serialize_field(&mut state, #count_name, &count)?;
                }
                ::core::option::Option::None => {
                    ::orm_core::__private::serde::ser::SerializeStruct::skip_field(&mut state, #count_name)?;
                }
            }
            self.#field.serialize_aggregates(&mut state, #relation_name)?;
            match self.#field.exists_loaded() {
                ::core::option::Option::Some(exists) => {
                    ::orm_core::__private::serde::ser::SerializeStruct::serialize_field(&mut state, #exists_name, &exists)?;
                }
                ::core::option::Option::None => {
                    ::orm_core::__private::serde::ser::SerializeStruct::skip_field(&mut state, #exists_name)?;
                }
            }
        });
    }
    let relations_len = relations.len();
    let (mark_loaded, remember_connection, state_methods) = match state_field {
        None => (quote!(), quote!(), quote!()),
        Some(field) => (
            quote! { let model = ::orm_core::__private::loaded(model); },
            quote! {
                fn remember_connection(rows: &mut [Self], connection: &str) {
                    ::orm_core::__private::remember_connection(rows, connection)
                }
            },
            quote! {
                fn state(&self) -> ::core::option::Option<&::orm_core::ModelState> {
                    ::core::option::Option::Some(&self.#field)
                }

                fn state_mut(&mut self) -> ::core::option::Option<&mut ::orm_core::ModelState> {
                    ::core::option::Option::Some(&mut self.#field)
                }
            },
        ),
    };
    let relation_impls = if relations.is_empty() {
        quote!()
    } else {
        quote! {
            fn eager_load(
                models: &mut [Self],
                relation: &str,
                eager: &::orm_core::__private::EagerRelation,
                conn: &mut ::orm_core::Connection,
            ) -> ::orm_core::Result<()> {
                match relation {
                    #(#loaders)*
                    other => ::core::result::Result::Err(::orm_core::Error::UnknownRelation {
                        model: ::std::string::ToString::to_string(#model_name),
                        relation: ::std::string::ToString::to_string(other),
                    }),
                }
            }

            fn relation_count(&mut self, relation: &str) -> ::core::option::Option<&mut ::core::option::Option<u64>> {
                match relation {
                    #(#count_arms)*
                    _ => ::core::option::Option::None,
                }
            }

            fn push_relations(&mut self) -> ::orm_core::Result<()> {
                #(#push_fields)*
                ::core::result::Result::Ok(())
            }

            fn relation_slot(&mut self, relation: &str) -> ::core::option::Option<&mut dyn ::orm_core::__private::RelationSlot> {
                match relation {
                    #(#slot_arms)*
                    _ => ::core::option::Option::None,
                }
            }
        }
    };
    // Each relation, and its count.
    let visible_count = visible_count + 2 * relations.len();
    let serialize_impl = if container.serialize {
        // Through `with_json!`: compiled only when orm-core has its `json` feature.
        quote! {
            ::orm_core::__private::with_json! {
                #[automatically_derived]
                impl ::orm_core::__private::serde::Serialize for #name {
                    fn serialize<S: ::orm_core::__private::serde::Serializer>(
                        &self,
                        serializer: S,
                    ) -> ::core::result::Result<S::Ok, S::Error> {
                        let mut state = ::orm_core::__private::serde::Serializer::serialize_struct(
                            serializer, #model_name, #visible_count,
                        )?;
                        #(#serialize_fields)*
                        #(#serialize_relations)*
                        ::orm_core::__private::serde::ser::SerializeStruct::end(state)
                    }
                }
            }
        }
    } else {
        quote!()
    };

    Ok(quote! {
        const _: () = {
            static __ORM_COLUMNS: [&str; #columns_len] = [#(#column_names),*];
            static __ORM_RELATIONS: [::orm_core::RelationMeta; #relations_len] = [#(#relation_metas),*];
            static __ORM_META: ::orm_core::ModelMeta = ::orm_core::ModelMeta {
                name: #model_name,
                table: #table,
                morph_name: #morph_name,
                primary_key: #key_column,
                primary_key_index: #key_index,
                incrementing: #incrementing,
                columns: &__ORM_COLUMNS,
                hidden: &[#(#hidden),*],
                created_at: #created_at,
                updated_at: #updated_at,
                deleted_at: #deleted_at,
                connection: #connection,
                hooks: #hooks_flag,
                relations: &__ORM_RELATIONS,
                version: #version,
                defaults: &[#(#defaults),*],
                column_types: &[#(#column_types),*],
                scopes: #scopes,
                sql: ::orm_core::__private::SqlCache::new(),
            };

            #[automatically_derived]
            impl ::orm_core::FromRow for #name {
                #[inline]
                fn from_row(row: &::orm_core::Row<'_>) -> ::orm_core::Result<Self> {
                    let model = #name {
                        #(#decode_fields,)*
                        #(#default_fields,)*
                    };
                    #mark_loaded
                    ::core::result::Result::Ok(model)
                }

                fn decoded_column(&self, column: &str) -> ::core::option::Option<::orm_core::Value> {
                    <Self as ::orm_core::Model>::column_value(self, column)
                }

                #[inline]
                fn expected_columns() -> ::core::option::Option<(&'static str, &'static [&'static str])> {
                    ::core::option::Option::Some((#model_name, &__ORM_COLUMNS))
                }

                #remember_connection
            }

            #[automatically_derived]
            impl ::orm_core::Model for #name {
                const HOOKS: bool = #hooks_flag;

                #default_loads

                #generated_key

                #[inline]
                fn meta() -> &'static ::orm_core::ModelMeta {
                    &__ORM_META
                }

                fn to_values(&self) -> ::std::vec::Vec<::orm_core::Value> {
                    ::std::vec![#(#encode_fields),*]
                }

                fn write_binds<'__orm>(
                    &'__orm self,
                    out: &mut ::orm_core::__private::Binds<'__orm>,
                ) {
                    #(#bind_fields)*
                }

                fn key_value(&self) -> ::orm_core::Value {
                    #key_via::to_value(&self.#key_field)
                }

                #[inline]
                fn check_values(&self) -> ::orm_core::Result<()> {
                    #(#check_fields)*
                    ::core::result::Result::Ok(())
                }

                #[inline]
                fn truncate_to_stored(&mut self) {
                    #(#truncate_fields)*
                }

                #state_methods

                fn set_column(
                    &mut self,
                    column: &str,
                    value: ::orm_core::ValueRef<'_>,
                ) -> ::orm_core::Result<()> {
                    match column {
                        #(#set_arms)*
                        other => ::core::result::Result::Err(::orm_core::Error::ColumnNotFound(
                            ::std::format!("{}.{}", #model_name, other),
                        )),
                    }
                }

                fn column_value(&self, column: &str) -> ::core::option::Option<::orm_core::Value> {
                    match column {
                        #(#get_arms)*
                        _ => ::core::option::Option::None,
                    }
                }

                fn column_value_at(&self, index: usize) -> ::core::option::Option<::orm_core::Value> {
                    match index {
                        #(#at_arms)*
                        _ => ::core::option::Option::None,
                    }
                }

                #relation_impls
            }

            #[automatically_derived]
            impl #name {
                #(#relation_methods)*
            }

            #hooks_impl

            #serialize_impl
        };
    })
}
