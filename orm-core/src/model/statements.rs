//! The model's own statements (find, insert, update, delete by key): described from
//! `ModelMeta` and written by the dialect's `StatementGrammar`, then cached.

use super::*;
use crate::dialect::{ByKey, FindByKey, InsertRows, UpdateByKey};

fn by_key(meta: &ModelMeta) -> ByKey<'_> {
    ByKey {
        table: meta.table,
        key: meta.primary_key,
    }
}

pub(super) fn find_sql(
    meta: &'static ModelMeta,
    dialect: &'static dyn Dialect,
    with_trashed: bool,
) -> Result<&'static str> {
    let kind = if with_trashed || meta.deleted_at.is_none() {
        Statement::FindWithTrashed
    } else {
        Statement::Find
    };
    meta.sql.get(dialect, kind, |w| {
        let find = FindByKey {
            row: by_key(meta),
            columns: meta.columns,
            not_deleted: meta
                .deleted_at
                .filter(|_| !with_trashed)
                .map(|i| meta.columns[i]),
        };
        dialect.push_find_by_key(w, &find);
    })
}

/// SQL text from the statement cache: a fixed statement or a shaped one.
pub(super) enum CachedSql {
    Fixed(&'static str),
    Shaped(Arc<str>),
}

impl std::ops::Deref for CachedSql {
    type Target = str;
    fn deref(&self) -> &str {
        match self {
            CachedSql::Fixed(sql) => sql,
            CachedSql::Shaped(sql) => sql,
        }
    }
}

pub(super) fn insert_sql(
    meta: &'static ModelMeta,
    dialect: &'static dyn Dialect,
    shape: InsertShape,
) -> Result<CachedSql> {
    let kind = match shape {
        InsertShape::FULL => Statement::InsertWithKey,
        InsertShape {
            generated: true,
            omitted: 0,
        } => Statement::InsertWithoutKey,
        _ => {
            return meta
                .sql
                .insert_many_sql(meta, dialect, 1, shape)
                .map(CachedSql::Shaped)
        }
    };
    meta.sql
        .get(dialect, kind, |w| render_model_insert(w, meta, 1, shape))
        .map(CachedSql::Fixed)
}

/// The insert of `rows` rows of the model, with placeholders only (values are bound at
/// execution). The columns the shape leaves out (the generated key, unset default
/// columns) are returned where the dialect has `RETURNING` (elsewhere the caller reads
/// them: see `persistence::read_back`).
pub(super) fn render_model_insert(
    w: &mut SqlWriter,
    meta: &ModelMeta,
    rows: usize,
    shape: InsertShape,
) {
    let mut columns = Vec::with_capacity(meta.columns.len());
    let mut returning = Vec::new();
    let returns = w.dialect().supports_returning();
    for (i, &column) in meta.columns.iter().enumerate() {
        if !shape.leaves_out(meta, i) {
            columns.push(column);
        } else if returns {
            returning.push(column);
        }
    }
    let insert = InsertRows {
        table: meta.table,
        columns: &columns,
        rows,
        returning: &returning,
    };
    w.dialect().push_insert_rows(w, &insert);
}

/// The update of one model row by key setting `columns`, with the version check and
/// increment on a versioned model.
pub(super) fn render_update(w: &mut SqlWriter, meta: &ModelMeta, columns: &[&str]) {
    let update = UpdateByKey {
        row: by_key(meta),
        set: columns,
        version: meta.version.map(|v| meta.columns[v]),
    };
    w.dialect().push_update_by_key(w, &update);
}

/// Whether a column is written by a full update: not the key, not the version (which
/// the update increments itself).
pub(super) fn updatable(meta: &ModelMeta, column: usize) -> bool {
    column != meta.primary_key_index && Some(column) != meta.version
}

pub(super) fn update_sql(
    meta: &'static ModelMeta,
    dialect: &'static dyn Dialect,
) -> Result<&'static str> {
    meta.sql.get(dialect, Statement::Update, |w| {
        let columns = meta
            .columns
            .iter()
            .enumerate()
            .filter(|&(i, _)| updatable(meta, i))
            .map(|(_, c)| *c)
            .collect::<Vec<_>>();
        render_update(w, meta, &columns);
    })
}

/// The `UPDATE` of the columns at `set` (ascending positions), cached by shape while
/// the positions fit a mask.
pub(super) fn update_columns_sql(
    meta: &'static ModelMeta,
    dialect: &'static dyn Dialect,
    set: &[usize],
) -> Result<Arc<str>> {
    let render = || {
        let mut w = SqlWriter::new(dialect);
        let columns: Vec<&str> = set.iter().map(|&i| meta.columns[i]).collect();
        render_update(&mut w, meta, &columns);
        Ok(w.finish()?.0)
    };
    match column_mask(set) {
        Some(mask) => meta.sql.shape_sql(
            Shape::Update {
                slot: crate::dialect::cache_slot(dialect),
                set: mask,
            },
            render,
        ),
        None => render().map(Arc::from),
    }
}

/// A bit per column position, when every position fits.
pub(super) fn column_mask(positions: &[usize]) -> Option<u64> {
    positions
        .iter()
        .try_fold(0u64, |mask, &i| (i < 64).then(|| mask | (1 << i)))
}

pub(super) fn delete_sql(
    meta: &'static ModelMeta,
    dialect: &'static dyn Dialect,
) -> Result<&'static str> {
    meta.sql
        .get(dialect, Statement::Delete, |w| match meta.version {
            Some(v) => dialect.push_delete_versioned(w, by_key(meta), meta.columns[v]),
            None => dialect.push_delete_by_key(w, by_key(meta)),
        })
}

pub(super) fn exists_sql(
    meta: &'static ModelMeta,
    dialect: &'static dyn Dialect,
) -> Result<&'static str> {
    meta.sql.get(dialect, Statement::Exists, |w| {
        dialect.push_exists_by_key(w, by_key(meta));
    })
}

/// `UPDATE table SET a = ?, b = ? WHERE key = ?` for a chosen set of columns, with the
/// version check and increment on a versioned model; returns how many rows changed.
pub(super) fn update_columns_on(
    conn: &mut Connection,
    meta: &'static ModelMeta,
    columns: &[(&str, Value)],
    key: &Value,
    version: Option<&Value>,
) -> Result<u64> {
    // In column order, the statement is the cached one of `update_columns_sql`; a name
    // the model does not list, or one given twice, is rendered for this call only.
    let mut order: Vec<usize> = (0..columns.len()).collect();
    let positions: Option<Vec<usize>> = columns
        .iter()
        .map(|(c, _)| meta.columns.iter().position(|m| m == c))
        .collect();
    let cached = positions.and_then(|positions| {
        order.sort_by_key(|&i| positions[i]);
        let sorted: Vec<usize> = order.iter().map(|&i| positions[i]).collect();
        sorted.windows(2).all(|w| w[0] < w[1]).then_some(sorted)
    });
    let sql: Arc<str> = match cached {
        Some(set) => update_columns_sql(meta, conn.dialect(), &set)?,
        None => {
            order = (0..columns.len()).collect();
            let mut w = SqlWriter::new(conn.dialect());
            let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
            render_update(&mut w, meta, &names);
            w.finish()?.0.into()
        }
    };
    let mut binds: Vec<Bind<'_>> = order.iter().map(|&i| Bind::Value(&columns[i].1)).collect();
    binds.push(Bind::Value(key));
    if let Some(version) = version {
        binds.push(Bind::Value(version));
    }
    conn.execute_binds(&sql, &binds)
}

pub(super) fn not_found(meta: &ModelMeta, key: &Value) -> Error {
    Error::NotFound {
        model: meta.name.to_owned(),
        key: format!("{} = {key}", meta.primary_key),
    }
}

pub(super) fn missing_key(meta: &ModelMeta, action: &str) -> Error {
    Error::invalid_query(
        InvalidQueryKind::Model,
        format!(
            "cannot {action} a {} that has no primary key value (save it first)",
            meta.name
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::{PostgresDialect, SqliteDialect};

    static POSTS: ModelMeta = ModelMeta {
        name: "Post",
        table: "posts",
        morph_name: "posts",
        primary_key: "id",
        primary_key_index: 0,
        incrementing: true,
        columns: &["id", "title", "status", "version", "deleted_at"],
        hidden: &[],
        created_at: None,
        updated_at: None,
        deleted_at: Some(4),
        connection: "default",
        hooks: false,
        relations: &[],
        version: Some(3),
        defaults: &[2],
        column_types: &[],
        scopes: None,
        sql: SqlCache::new(),
    };

    static TAGS: ModelMeta = ModelMeta {
        name: "Tag",
        table: "tags",
        morph_name: "tags",
        primary_key: "id",
        primary_key_index: 0,
        incrementing: false,
        columns: &["id", "name"],
        hidden: &[],
        created_at: None,
        updated_at: None,
        deleted_at: None,
        connection: "default",
        hooks: false,
        relations: &[],
        version: None,
        defaults: &[],
        column_types: &[],
        scopes: None,
        sql: SqlCache::new(),
    };

    /// Every fixed-shape model statement for one dialect, in a fixed order.
    fn statements(dialect: &'static dyn Dialect) -> Vec<String> {
        let generated = InsertShape {
            generated: true,
            omitted: 0,
        };
        let defaulted = InsertShape {
            generated: true,
            omitted: 1 << 2,
        };
        vec![
            find_sql(&POSTS, dialect, false).unwrap().to_owned(),
            find_sql(&POSTS, dialect, true).unwrap().to_owned(),
            find_sql(&TAGS, dialect, false).unwrap().to_owned(),
            insert_sql(&POSTS, dialect, InsertShape::FULL)
                .unwrap()
                .to_owned(),
            insert_sql(&POSTS, dialect, generated).unwrap().to_owned(),
            insert_sql(&POSTS, dialect, defaulted).unwrap().to_owned(),
            POSTS
                .sql
                .insert_many_sql(&POSTS, dialect, 2, generated)
                .unwrap()
                .to_string(),
            TAGS.sql
                .insert_many_sql(&TAGS, dialect, 2, InsertShape::FULL)
                .unwrap()
                .to_string(),
            update_sql(&POSTS, dialect).unwrap().to_owned(),
            update_sql(&TAGS, dialect).unwrap().to_owned(),
            update_columns_sql(&POSTS, dialect, &[1, 2])
                .unwrap()
                .to_string(),
            update_columns_sql(&POSTS, dialect, &[])
                .unwrap()
                .to_string(),
            update_columns_sql(&TAGS, dialect, &[1])
                .unwrap()
                .to_string(),
            delete_sql(&POSTS, dialect).unwrap().to_owned(),
            exists_sql(&POSTS, dialect).unwrap().to_owned(),
        ]
    }

    #[test]
    fn golden_model_statements_sqlite() {
        assert_eq!(
            statements(&SqliteDialect),
            [
                r#"SELECT "id", "title", "status", "version", "deleted_at" FROM "posts" WHERE "id" = ? AND "deleted_at" IS NULL"#,
                r#"SELECT "id", "title", "status", "version", "deleted_at" FROM "posts" WHERE "id" = ?"#,
                r#"SELECT "id", "name" FROM "tags" WHERE "id" = ?"#,
                r#"INSERT INTO "posts" ("id", "title", "status", "version", "deleted_at") VALUES (?, ?, ?, ?, ?)"#,
                r#"INSERT INTO "posts" ("title", "status", "version", "deleted_at") VALUES (?, ?, ?, ?) RETURNING "id""#,
                r#"INSERT INTO "posts" ("title", "version", "deleted_at") VALUES (?, ?, ?) RETURNING "id", "status""#,
                r#"INSERT INTO "posts" ("title", "status", "version", "deleted_at") VALUES (?, ?, ?, ?), (?, ?, ?, ?) RETURNING "id""#,
                r#"INSERT INTO "tags" ("id", "name") VALUES (?, ?), (?, ?)"#,
                r#"UPDATE "posts" SET "title" = ?, "status" = ?, "deleted_at" = ?, "version" = "version" + 1 WHERE "id" = ? AND "version" = ?"#,
                r#"UPDATE "tags" SET "name" = ? WHERE "id" = ?"#,
                r#"UPDATE "posts" SET "title" = ?, "status" = ?, "version" = "version" + 1 WHERE "id" = ? AND "version" = ?"#,
                r#"UPDATE "posts" SET "version" = "version" + 1 WHERE "id" = ? AND "version" = ?"#,
                r#"UPDATE "tags" SET "name" = ? WHERE "id" = ?"#,
                r#"DELETE FROM "posts" WHERE "id" = ? AND "version" = ?"#,
                r#"SELECT 1 FROM "posts" WHERE "id" = ?"#,
            ]
        );
    }

    #[test]
    fn golden_model_statements_postgres() {
        assert_eq!(
            statements(&PostgresDialect),
            [
                r#"SELECT "id", "title", "status", "version", "deleted_at" FROM "posts" WHERE "id" = $1 AND "deleted_at" IS NULL LIMIT 1"#,
                r#"SELECT "id", "title", "status", "version", "deleted_at" FROM "posts" WHERE "id" = $1 LIMIT 1"#,
                r#"SELECT "id", "name" FROM "tags" WHERE "id" = $1 LIMIT 1"#,
                r#"INSERT INTO "posts" ("id", "title", "status", "version", "deleted_at") VALUES ($1, $2, $3, $4, $5)"#,
                r#"INSERT INTO "posts" ("title", "status", "version", "deleted_at") VALUES ($1, $2, $3, $4) RETURNING "id""#,
                r#"INSERT INTO "posts" ("title", "version", "deleted_at") VALUES ($1, $2, $3) RETURNING "id", "status""#,
                r#"INSERT INTO "posts" ("title", "status", "version", "deleted_at") VALUES ($1, $2, $3, $4), ($5, $6, $7, $8) RETURNING "id""#,
                r#"INSERT INTO "tags" ("id", "name") VALUES ($1, $2), ($3, $4)"#,
                r#"UPDATE "posts" SET "title" = $1, "status" = $2, "deleted_at" = $3, "version" = "version" + 1 WHERE "id" = $4 AND "version" = $5"#,
                r#"UPDATE "tags" SET "name" = $1 WHERE "id" = $2"#,
                r#"UPDATE "posts" SET "title" = $1, "status" = $2, "version" = "version" + 1 WHERE "id" = $3 AND "version" = $4"#,
                r#"UPDATE "posts" SET "version" = "version" + 1 WHERE "id" = $1 AND "version" = $2"#,
                r#"UPDATE "tags" SET "name" = $1 WHERE "id" = $2"#,
                r#"DELETE FROM "posts" WHERE "id" = $1 AND "version" = $2"#,
                r#"SELECT 1 FROM "posts" WHERE "id" = $1"#,
            ]
        );
    }

    #[test]
    fn default_values_insert_when_every_column_is_left_out() {
        static ONLY_KEY: ModelMeta = ModelMeta {
            name: "Counter",
            table: "counters",
            morph_name: "counters",
            primary_key: "id",
            primary_key_index: 0,
            incrementing: true,
            columns: &["id"],
            hidden: &[],
            created_at: None,
            updated_at: None,
            deleted_at: None,
            connection: "default",
            hooks: false,
            relations: &[],
            version: None,
            defaults: &[],
            column_types: &[],
            scopes: None,
            sql: SqlCache::new(),
        };
        let shape = InsertShape {
            generated: true,
            omitted: 0,
        };
        for (dialect, expected) in [
            (
                &SqliteDialect as &'static dyn Dialect,
                r#"INSERT INTO "counters" DEFAULT VALUES RETURNING "id""#,
            ),
            (
                &PostgresDialect,
                r#"INSERT INTO "counters" DEFAULT VALUES RETURNING "id""#,
            ),
        ] {
            assert_eq!(&*insert_sql(&ONLY_KEY, dialect, shape).unwrap(), expected);
        }
    }
}
