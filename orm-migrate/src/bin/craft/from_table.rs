//! `craft model NAME --from-table TABLE`: a model written from a live table's columns.

use orm_core::{Connection, TypeFamily};
use orm_migrate::{ColumnInfo, Schema};

use crate::scaffold::App;

/// The columns of `table`, read on the app's database (`--database`, else `DATABASE_URL`
/// from the environment or the app's `.env`; a relative SQLite path is the app's).
pub fn read_columns(
    app: &App,
    table: &str,
    database: Option<&str>,
) -> Result<Vec<ColumnInfo>, String> {
    std::env::set_current_dir(&app.root)
        .map_err(|e| format!("cannot enter {}: {e}", app.root.display()))?;
    let url = orm_migrate::cli::database_url(database)?;
    let mut conn = Connection::open(&url).map_err(|e| match e {
        // `craft` installed with the default features reads SQLite only.
        orm_core::Error::BackendNotCompiled { .. } => {
            format!(
                "cannot connect to the database: {e} (install craft with the database's \
                     feature: cargo install --path orm-migrate --features postgres,mysql)"
            )
        }
        e => format!("cannot connect to the database: {e}"),
    })?;
    let columns = Schema::new(&mut conn)
        .columns(table)
        .map_err(|e| format!("cannot read table `{table}`: {e}"))?;
    if columns.is_empty() {
        return Err(format!("the database has no table `{table}`"));
    }
    Ok(columns)
}

/// The Rust type of a field for `column` (before `Option` for a nullable one).
fn field_type(column: &ColumnInfo) -> &'static str {
    let sql = column.type_name.to_ascii_lowercase();
    match orm_core::dialect::common_type_family(&column.type_name) {
        TypeFamily::Integer => "i64",
        TypeFamily::Float => "f64",
        TypeFamily::Decimal => "Decimal",
        TypeFamily::Bool => "bool",
        TypeFamily::Bytes => "Vec<u8>",
        TypeFamily::Date => "NaiveDate",
        TypeFamily::Time => "NaiveTime",
        // A timestamp without a zone is read as it is stored.
        TypeFamily::DateTime if sql == "timestamp" || sql.starts_with("timestamp without") => {
            "NaiveDateTime"
        }
        TypeFamily::DateTime => "DateTime<Utc>",
        TypeFamily::Json => "orm_core::serde_json::Value",
        _ => "String",
    }
}

/// The source of `app/MODULE.rs` for `type_name` over `table`'s `columns`.
pub fn model_source(
    type_name: &str,
    table: &str,
    columns: &[ColumnInfo],
) -> Result<String, String> {
    let keys: Vec<&ColumnInfo> = columns.iter().filter(|c| c.primary_key).collect();
    let key = match keys.as_slice() {
        [key] => *key,
        [] => {
            return Err(format!(
                "table `{table}` has no primary key: a model needs one"
            ))
        }
        _ => {
            return Err(format!(
            "table `{table}` has a composite primary key ({}): a model needs a single-column key",
            keys.iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        }
    };
    let has = |name: &str| columns.iter().any(|c| c.name == name);
    let timestamps = has("created_at") && has("updated_at");
    let soft_deletes = has("deleted_at");
    let mut options = vec![format!("table = \"{table}\"")];
    if key.name != "id" {
        options.push(format!("primary_key = \"{}\"", key.name));
    }
    if timestamps {
        options.push("timestamps".to_owned());
    }
    if soft_deletes {
        options.push("soft_deletes".to_owned());
    }
    // A column with capitals (`State`, `createdBy`) becomes a snake_case field mapped to
    // it, unless that name is another column's (the key keeps its name: the model's
    // `primary_key` names it).
    let field_name = |column: &ColumnInfo| -> Option<String> {
        if column.primary_key || !column.name.chars().any(|c| c.is_ascii_uppercase()) {
            return None;
        }
        let snake = orm_inflector::snake_case(&column.name);
        (!snake.is_empty() && !has(&snake)).then_some(snake)
    };
    let taken = |field: &str| {
        columns
            .iter()
            .any(|c| field_name(c).unwrap_or_else(|| c.name.clone()) == field)
    };
    // The field keeping the row's state: `state` unless a column's field has that name.
    let state_field = ["state", "model_state", "orm_state"]
        .into_iter()
        .find(|field| !taken(field))
        .unwrap_or("orm_model_state");
    let mut fields = String::new();
    for column in columns {
        let name = &column.name;
        // `self`, `crate`, `super` and `Self` cannot be raw identifiers, and `_` is no
        // field name at all.
        if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            || name.starts_with(|c: char| c.is_ascii_digit())
            || matches!(name.as_str(), "self" | "crate" | "super" | "Self" | "_")
        {
            return Err(format!(
                "column `{name}` of `{table}` is not a Rust identifier: write this model by hand"
            ));
        }
        let renamed = field_name(column);
        let field = match &renamed {
            Some(snake) if crate::names::is_keyword(snake) => format!("r#{snake}"),
            Some(snake) => snake.clone(),
            None if crate::names::is_keyword(name) => format!("r#{name}"),
            None => name.clone(),
        };
        let base = field_type(column);
        let managed = (timestamps && (name == "created_at" || name == "updated_at"))
            || (soft_deletes && name == "deleted_at");
        let optional = column.nullable || column.auto_increment || managed;
        let ty = if optional {
            format!("Option<{base}>")
        } else {
            base.to_owned()
        };
        let mut doc = format!("`{name}` {}", column.type_name);
        if column.primary_key {
            doc.push_str(", the key");
            if column.auto_increment {
                doc.push_str(" (`None` until saved)");
            }
        }
        if let Some(default) = &column.default {
            doc.push_str(&format!(", default {default}"));
        }
        // A type no field reads (a geometric type, an array, `money`, ...): kept out of
        // the model's reads and writes, so that the rest of the row reads.
        let unreadable = !column.primary_key
            && orm_core::dialect::common_type_family(&column.type_name) == TypeFamily::Any;
        if unreadable {
            doc.push_str(": no field type reads it, so the model skips it (select it cast to text: `::text`, `CAST(.. AS CHAR)`)");
        }
        let attribute = match renamed {
            _ if unreadable => "    #[model(skip)]\n".to_owned(),
            Some(_) => format!("    #[model(column = \"{name}\")]\n"),
            None => String::new(),
        };
        let ty = if unreadable { "String".to_owned() } else { ty };
        fields.push_str(&format!(
            "    /// {doc}.\n{attribute}    pub {field}: {ty},\n"
        ));
    }
    Ok(format!(
        r#"//! The `{type_name}` model, written from the `{table}` table.

use orm_core::prelude::*;

/// A row of the `{table}` table.
#[derive(Debug, Clone, Default, Model)]
#[model({options})]
pub struct {type_name} {{
{fields}    /// What the model remembers of its row: `save` writes only the changed columns.
    pub {state_field}: ModelState,
}}
"#,
        options = options.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn column(name: &str, type_name: &str, nullable: bool, key: bool) -> ColumnInfo {
        let mut info = orm_migrate::ColumnInfo::new(name, type_name);
        info.nullable = nullable;
        info.primary_key = key;
        info.auto_increment = key && type_name.contains("int");
        info
    }

    #[test]
    fn fields_follow_the_columns() {
        let columns = [
            column("id", "bigint", false, true),
            column("title", "character varying(100)", false, false),
            column("score", "numeric(10,2)", true, false),
            column("type", "text", false, false),
            column("seen_at", "timestamp without time zone", true, false),
            column("created_at", "timestamp with time zone", true, false),
            column("updated_at", "timestamp with time zone", true, false),
        ];
        let source = model_source("Post", "posts", &columns).unwrap();
        assert!(
            source.contains("#[model(table = \"posts\", timestamps)]"),
            "{source}"
        );
        assert!(source.contains("pub id: Option<i64>,"), "{source}");
        assert!(source.contains("pub title: String,"), "{source}");
        assert!(source.contains("pub score: Option<Decimal>,"), "{source}");
        assert!(source.contains("pub r#type: String,"), "{source}");
        assert!(
            source.contains("pub seen_at: Option<NaiveDateTime>,"),
            "{source}"
        );
        assert!(
            source.contains("pub created_at: Option<DateTime<Utc>>,"),
            "{source}"
        );
    }

    #[test]
    fn types_no_field_reads_are_skipped_and_look_alikes_are_not_integers() {
        let columns = [
            column("id", "integer", false, true),
            column("at", "point", false, false),
            column("span", "interval", true, false),
            column("tags", "text[]", true, false),
            column("price", "money", false, false),
            column("opens", "time with time zone", false, false),
            column("hits", "bigint unsigned", false, false),
            column("born", "year", true, false),
            column("oid", "oid", false, false),
        ];
        let source = model_source("Place", "places", &columns).unwrap();
        for skipped in ["at", "tags", "price", "opens"] {
            assert!(
                source.contains(&format!("    #[model(skip)]\n    pub {skipped}: String,")),
                "{skipped}: {source}"
            );
        }
        assert!(source.contains("pub span: Option<String>,"), "{source}");
        assert!(source.contains("pub hits: i64,"), "{source}");
        assert!(source.contains("pub born: Option<i64>,"), "{source}");
        assert!(source.contains("pub oid: i64,"), "{source}");
    }

    #[test]
    fn a_state_column_moves_the_state_field_and_unusable_names_are_refused() {
        let columns = [
            column("id", "integer", false, true),
            column("state", "text", false, false),
        ];
        let source = model_source("Order", "orders", &columns).unwrap();
        assert!(source.contains("pub state: String,"), "{source}");
        assert!(source.contains("pub model_state: ModelState,"), "{source}");
        assert!(!source.contains("pub state: ModelState"), "{source}");
        for name in ["self", "crate", "super", "Self", "_"] {
            let columns = [
                column("id", "integer", false, true),
                column(name, "text", false, false),
            ];
            let err = model_source("Odd", "odd", &columns).unwrap_err();
            assert!(err.contains("not a Rust identifier"), "{name}: {err}");
        }
    }

    #[test]
    fn columns_with_capitals_become_snake_case_fields_mapped_to_them() {
        let columns = [
            column("id", "integer", false, true),
            column("State", "text", false, false),
            column("createdBy", "text", true, false),
            column("Name", "text", false, false),
            column("name", "text", false, false),
        ];
        let source = model_source("Order", "orders", &columns).unwrap();
        assert!(
            source.contains("    #[model(column = \"State\")]\n    pub state: String,"),
            "{source}"
        );
        assert!(source.contains("pub model_state: ModelState,"), "{source}");
        assert!(
            source.contains(
                "    #[model(column = \"createdBy\")]\n    pub created_by: Option<String>,"
            ),
            "{source}"
        );
        // `Name` would become another column's name: kept as it is.
        assert!(
            source.contains("pub Name: String,") && source.contains("pub name: String,"),
            "{source}"
        );
    }

    #[test]
    fn keys_other_than_id_and_tables_without_one() {
        let columns = [
            column("code", "varchar(3)", false, true),
            column("name", "text", false, false),
        ];
        let source = model_source("Airport", "airports", &columns).unwrap();
        assert!(source.contains("primary_key = \"code\""), "{source}");
        assert!(source.contains("pub code: String,"), "{source}");
        let keyless = [column("name", "text", false, false)];
        assert!(model_source("Log", "logs", &keyless)
            .unwrap_err()
            .contains("no primary key"));
        let composite = [
            column("a", "int", false, true),
            column("b", "int", false, true),
        ];
        assert!(model_source("Pair", "pairs", &composite)
            .unwrap_err()
            .contains("composite"));
    }
}
