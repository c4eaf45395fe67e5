//! DDL rendering: `CREATE TABLE`, `ALTER TABLE`, `DROP TABLE` and indexes from the
//! schema descriptions in [`super::schema`].

use crate::dialect::schema::{
    default_index_name, AlterCommand, AlterPlan, CheckDef, ColumnDef, ColumnDefault, ColumnType,
    ForeignKeyDef, IndexDef, IndexKind, TableDef,
};
use crate::dialect::sql_tokens::{self, TokenKind};
use crate::dialect::{Dialect, SqlWriter};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::value::Value;

pub(crate) fn finish(w: SqlWriter) -> Result<String> {
    w.finish().map(|(sql, _)| sql)
}

pub(crate) fn push_identifier_list(w: &mut SqlWriter, names: &[String]) {
    w.push("(")
        .push_identifiers(names.iter().map(String::as_str))
        .push(")");
}

/// The SQL type names both built-in backends share, for the dialects' own mappings.
pub(crate) fn shared_column_type(kind: &ColumnType) -> Option<std::borrow::Cow<'static, str>> {
    Some(match kind {
        ColumnType::Decimal { precision, scale } => format!("NUMERIC({precision}, {scale})").into(),
        ColumnType::Boolean => "BOOLEAN".into(),
        ColumnType::String { length } => format!("VARCHAR({length})").into(),
        ColumnType::Char { length } => format!("CHAR({length})").into(),
        ColumnType::Text | ColumnType::MediumText | ColumnType::LongText => "TEXT".into(),
        ColumnType::Enum(_) => "VARCHAR(255)".into(),
        ColumnType::Date => "DATE".into(),
        ColumnType::Time => "TIME".into(),
        _ => return None,
    })
}

/// Appends the type both built-in mappings share for `kind` ([`shared_column_type`]), or
/// fails the statement when no dialect maps it.
pub(crate) fn push_shared_column_type(w: &mut SqlWriter, column: &ColumnDef, kind: &ColumnType) {
    match shared_column_type(kind) {
        Some(shared) => {
            w.push(&shared);
        }
        None => {
            w.fail(Error::invalid_query(
                InvalidQueryKind::Unsupported,
                format!("column `{}`: no column type for {kind:?}", column.name),
            ));
        }
    }
}

/// Whether `unsigned()` on `column` is kept by a CHECK where the type cannot keep it: a
/// numeric column that is not auto-increment (a generated key is positive already).
fn checks_non_negative(column: &ColumnDef) -> bool {
    let numeric = matches!(
        column.kind,
        ColumnType::TinyInteger
            | ColumnType::SmallInteger
            | ColumnType::MediumInteger
            | ColumnType::Integer
            | ColumnType::BigInteger
            | ColumnType::Float
            | ColumnType::Double
            | ColumnType::Decimal { .. }
    );
    column.unsigned && numeric && !column.auto_increment
}

/// Appends ` CHECK (column >= 0)` to an unsigned, numeric, non-auto-increment column:
/// how a backend without unsigned types keeps `unsigned()`'s promise.
pub(crate) fn push_non_negative_check(w: &mut SqlWriter, column: &ColumnDef) {
    if checks_non_negative(column) {
        w.push(" CHECK (")
            .push_identifier(&column.name)
            .push(" >= 0)");
    }
}

/// The name of the CHECK that keeps `column` of `table` non-negative where the dialect
/// [names it](super::SchemaGrammar::names_unsigned_checks) (MySQL):
/// `{table}_{column}_unsigned`, as index names are spelled. A name longer than the
/// dialect allows keeps its start and ends in a hash of the whole, so that it is still
/// the same name for the same table and column.
pub fn unsigned_check_name(dialect: &dyn Dialect, table: &str, column: &str) -> String {
    const SUFFIX: &str = "_unsigned";
    let base = format!("{table}_{column}")
        .to_lowercase()
        .replace(['-', '.'], "_");
    let max = dialect.max_identifier_len();
    if base.chars().count() + SUFFIX.len() <= max {
        return base + SUFFIX;
    }
    let hash = super::writer::name_hash(&base);
    let keep = max.saturating_sub(SUFFIX.len() + 9);
    let start: String = base.chars().take(keep).collect();
    format!("{start}_{hash:08x}{SUFFIX}")
}

/// `CONSTRAINT "{table}_{column}_unsigned" CHECK ("column" >= 0)`.
fn push_named_non_negative_check(w: &mut SqlWriter, table: &str, column: &ColumnDef) {
    let name = unsigned_check_name(w.dialect(), table, &column.name);
    w.push("CONSTRAINT ")
        .push_identifier(&name)
        .push(" CHECK (")
        .push_identifier(&column.name)
        .push(" >= 0)");
}

/// Whether the database refuses a CHECK on `column` beside one of `keys` (a foreign key
/// on it that [writes it](ForeignKeyDef::writes_its_columns), on MySQL).
fn check_refused<'a>(
    dialect: &dyn Dialect,
    column: &str,
    mut keys: impl Iterator<Item = &'a ForeignKeyDef>,
) -> bool {
    dialect.refuses_checks_on_written_columns()
        && keys.any(|fk| fk.writes_its_columns() && fk.columns.iter().any(|c| c == column))
}

/// Prepares one `Schema::table` call's changes before each is planned on its own: a
/// column added with a foreign key (in the same call) whose actions write it gets no
/// unsigned CHECK where the database refuses one beside such a key (MySQL; see
/// [`SchemaGrammar::refuses_checks_on_written_columns`](super::SchemaGrammar::refuses_checks_on_written_columns)).
/// The foreign key then limits the column to the referenced key's values.
pub fn omit_refused_unsigned_checks(dialect: &dyn Dialect, commands: &mut [AlterCommand]) {
    if !dialect.refuses_checks_on_written_columns() {
        return;
    }
    let refused: Vec<String> = commands
        .iter()
        .filter_map(|command| match command {
            AlterCommand::AddColumn(column)
                if column.unsigned
                    && check_refused(
                        dialect,
                        &column.name,
                        commands.iter().filter_map(|c| match c {
                            AlterCommand::AddForeign(fk) => Some(fk),
                            _ => None,
                        }),
                    ) =>
            {
                Some(column.name.clone())
            }
            _ => None,
        })
        .collect();
    for command in commands {
        if let AlterCommand::AddColumn(column) = command {
            if refused.contains(&column.name) {
                column.unsigned = false;
            }
        }
    }
}

pub(crate) fn push_default(w: &mut SqlWriter, column: &ColumnDef, default: &ColumnDefault) {
    match default {
        ColumnDefault::Value(value) => {
            // Booleans given as 0/1 are written as booleans (PostgreSQL is strict).
            let value = match (&column.kind, value) {
                (ColumnType::Boolean, Value::Int(i)) => Value::Bool(*i != 0),
                _ => value.clone(),
            };
            w.push_literal(&value);
        }
        ColumnDefault::Raw(sql) => {
            w.push_raw_with_bindings(sql, Vec::new());
        }
        ColumnDefault::CurrentTimestamp => {
            let dialect = w.dialect();
            w.push(dialect.current_timestamp_default(&column.kind));
        }
    }
}

/// Appends one column definition: name, type, constraints, default and checks.
/// `inline_primary` writes `PRIMARY KEY` on the column itself.
pub(crate) fn push_column_definition(w: &mut SqlWriter, column: &ColumnDef, inline_primary: bool) {
    let dialect = w.dialect();
    w.push_identifier(&column.name).push(" ");
    dialect.push_column_type(w, column);
    if inline_primary {
        w.push(" PRIMARY KEY");
        if column.auto_increment {
            w.push(dialect.inline_auto_increment());
        }
    }
    if !column.nullable {
        w.push(" NOT NULL");
    }
    if let Some(default) = &column.default {
        w.push(" DEFAULT ");
        push_default(w, column, default);
    }
    dialect.push_column_options(w, column);
    if column.unsigned {
        dialect.push_unsigned_check(w, column);
    }
    push_enum_check(w, column);
}

/// The statement giving `column` its comment, where comments are statements of their
/// own (see [`Dialect::push_column_comment`]).
fn column_comment(
    dialect: &'static dyn Dialect,
    table: &str,
    column: &ColumnDef,
) -> Result<Option<String>> {
    if column.comment.is_none() {
        return Ok(None);
    }
    let mut w = SqlWriter::new(dialect);
    dialect.push_column_comment(&mut w, table, column);
    let sql = finish(w)?;
    Ok((!sql.is_empty()).then_some(sql))
}

/// ` CHECK ("column" IN ('a', 'b'))` for an enum column; nothing for another.
pub(crate) fn push_enum_check(w: &mut SqlWriter, column: &ColumnDef) {
    if let ColumnType::Enum(values) = &column.kind {
        w.push(" CHECK (")
            .push_identifier(&column.name)
            .push(" IN (");
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                w.push(", ");
            }
            w.push_literal(&Value::Text(value.clone()));
        }
        w.push("))");
    }
}

/// Whether a changed column's CHECK (an enum's list, an unsigned column's `>= 0`) is
/// restated by the change: PostgreSQL keeps the old one otherwise.
pub(crate) fn has_column_check(column: &ColumnDef) -> bool {
    matches!(column.kind, ColumnType::Enum(_)) || checks_non_negative(column)
}

pub(crate) fn push_foreign_key(w: &mut SqlWriter, fk: &ForeignKeyDef) {
    w.push("CONSTRAINT ")
        .push_constraint_name(&fk.name)
        .push(" FOREIGN KEY ");
    push_identifier_list(w, &fk.columns);
    w.push(" REFERENCES ")
        .push_identifier(&fk.references_table)
        .push(" ");
    push_identifier_list(w, &fk.references_columns);
    if let Some(action) = fk.on_delete {
        w.push(" ON DELETE ").push(action.sql());
    }
    if let Some(action) = fk.on_update {
        w.push(" ON UPDATE ").push(action.sql());
    }
}

/// Whether `condition` can stand inside `CHECK (...)` as one condition: not empty, its
/// parentheses balanced, no `;` and no comment (a `--` would swallow the closing `)`).
fn is_one_condition(condition: &str) -> bool {
    let mut depth = 0usize;
    for token in sql_tokens::tokenize(condition) {
        if token.kind == TokenKind::Comment || token.is_symbol(condition, ';') {
            return false;
        }
        if token.is_symbol(condition, '(') {
            depth += 1;
        } else if token.is_symbol(condition, ')') {
            let Some(outer) = depth.checked_sub(1) else {
                return false;
            };
            depth = outer;
        }
    }
    depth == 0 && !condition.trim().is_empty()
}

/// `[CONSTRAINT "name"] CHECK (expression)`. The expression is raw SQL written by the
/// application; it takes no `?` and must be [one condition](is_one_condition).
pub(crate) fn push_check(w: &mut SqlWriter, check: &CheckDef) {
    if let Some(name) = &check.name {
        w.push("CONSTRAINT ").push_constraint_name(name).push(" ");
    }
    let text = check.expression.as_str();
    if !is_one_condition(text) {
        w.fail(Error::invalid_query(
            InvalidQueryKind::Schema,
            format!(
                "CHECK constraint `{text}` must be one condition: not empty, parentheses \
             balanced, no `;` and no comment"
            ),
        ));
    }
    w.push("CHECK (")
        .push_raw_with_bindings(text, Vec::new())
        .push(")");
}

pub(crate) fn push_primary_constraint(w: &mut SqlWriter, index: &IndexDef) {
    w.push("CONSTRAINT ")
        .push_constraint_name(&index.name)
        .push(" PRIMARY KEY ");
    push_identifier_list(w, &index.columns);
}

/// The indexes implied by the columns' `unique`/`index` flags.
pub fn column_indexes(table: &str, column: &ColumnDef) -> Vec<IndexDef> {
    let mut out = Vec::new();
    for (flag, kind) in [
        (column.unique, IndexKind::Unique),
        (column.index, IndexKind::Index),
    ] {
        if flag {
            let columns = vec![column.name.clone()];
            out.push(IndexDef::new(
                default_index_name(table, &columns, kind),
                kind,
                columns,
            ));
        }
    }
    out
}

/// `CREATE [UNIQUE] INDEX` for a unique or plain index.
fn create_index(dialect: &'static dyn Dialect, table: &str, index: &IndexDef) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    w.push(match index.kind {
        IndexKind::Unique => "CREATE UNIQUE INDEX ",
        _ => "CREATE INDEX ",
    })
    .push_constraint_name(&index.name)
    .push(" ON ")
    .push_identifier(table)
    .push(" ");
    push_identifier_list(&mut w, &index.columns);
    finish(w)
}

/// The statements that create `table`: `CREATE TABLE` (columns, primary key, foreign
/// keys) followed by one `CREATE INDEX` per unique or plain index.
pub fn create_table(dialect: &'static dyn Dialect, table: &TableDef) -> Result<Vec<String>> {
    if table.columns.is_empty() {
        return Err(Error::invalid_query(
            InvalidQueryKind::Schema,
            format!("table `{}` needs at least one column", table.name),
        ));
    }
    let mut primary: Vec<IndexDef> = table
        .indexes
        .iter()
        .filter(|i| i.kind == IndexKind::Primary)
        .cloned()
        .collect();
    let flagged: Vec<String> = table
        .columns
        .iter()
        .filter(|c| c.primary || c.auto_increment)
        .map(|c| c.name.clone())
        .collect();
    let inline_primary = if primary.is_empty() && flagged.len() == 1 {
        Some(flagged[0].clone())
    } else {
        if !flagged.is_empty() {
            if table.columns.iter().any(|c| c.auto_increment) || !primary.is_empty() {
                return Err(Error::invalid_query(
                    InvalidQueryKind::Schema,
                    format!("table `{}` has more than one primary key", table.name),
                ));
            }
            primary.push(IndexDef::new(
                default_index_name(&table.name, &flagged, IndexKind::Primary),
                IndexKind::Primary,
                flagged,
            ));
        }
        None
    };
    if primary.len() > 1 {
        return Err(Error::invalid_query(
            InvalidQueryKind::Schema,
            format!("table `{}` has more than one primary key", table.name),
        ));
    }

    // A column whose foreign key writes it goes without its unsigned CHECK where the
    // database refuses the pair (MySQL); the key limits it to the referenced values.
    let columns: Vec<std::borrow::Cow<'_, ColumnDef>> = table
        .columns
        .iter()
        .map(|column| {
            if column.unsigned && check_refused(dialect, &column.name, table.foreign_keys.iter()) {
                std::borrow::Cow::Owned(ColumnDef {
                    unsigned: false,
                    ..column.clone()
                })
            } else {
                std::borrow::Cow::Borrowed(column)
            }
        })
        .collect();
    let mut w = SqlWriter::new(dialect);
    w.push("CREATE TABLE ")
        .push_identifier(&table.name)
        .push(" (");
    for (i, column) in columns.iter().enumerate() {
        if i > 0 {
            w.push(", ");
        }
        push_column_definition(
            &mut w,
            column,
            inline_primary.as_deref() == Some(column.name.as_str()),
        );
    }
    for index in &primary {
        w.push(", ");
        push_primary_constraint(&mut w, index);
    }
    for fk in &table.foreign_keys {
        w.push(", ");
        push_foreign_key(&mut w, fk);
    }
    for check in &table.checks {
        w.push(", ");
        push_check(&mut w, check);
    }
    if dialect.names_unsigned_checks() {
        for column in columns.iter().filter(|c| checks_non_negative(c)) {
            w.push(", ");
            push_named_non_negative_check(&mut w, &table.name, column);
        }
    }
    w.push(")");
    let mut statements = vec![finish(w)?];
    for column in &table.columns {
        statements.extend(column_comment(dialect, &table.name, column)?);
    }
    for column in &table.columns {
        for index in column_indexes(&table.name, column) {
            statements.push(create_index(dialect, &table.name, &index)?);
        }
    }
    for index in table
        .indexes
        .iter()
        .filter(|i| i.kind != IndexKind::Primary)
    {
        statements.push(create_index(dialect, &table.name, index)?);
    }
    Ok(statements)
}

/// `DROP TABLE "table"`, or `DROP TABLE IF EXISTS "table"`. Like the database's own
/// `DROP TABLE`, it fails while another table's foreign key references `table`.
pub fn drop_table(dialect: &'static dyn Dialect, table: &str, if_exists: bool) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    w.push(if if_exists {
        "DROP TABLE IF EXISTS "
    } else {
        "DROP TABLE "
    })
    .push_identifier(table);
    finish(w)
}

/// `DROP TABLE IF EXISTS "table"` when every table is being dropped (`fresh`): with
/// what the dialect needs so that the foreign keys between them do not stop it
/// (PostgreSQL's `CASCADE`, which also drops other tables' constraints on it).
pub fn drop_table_dropping_all(dialect: &'static dyn Dialect, table: &str) -> Result<String> {
    drop_dropping_all(dialect, "DROP TABLE IF EXISTS ", table)
}

/// `DROP VIEW IF EXISTS "view"`, with the suffix that drops what depends on it where
/// the database needs one (PostgreSQL's `CASCADE`: a view over it).
pub fn drop_view_dropping_all(dialect: &'static dyn Dialect, view: &str) -> Result<String> {
    drop_dropping_all(dialect, "DROP VIEW IF EXISTS ", view)
}

fn drop_dropping_all(dialect: &'static dyn Dialect, drop: &str, name: &str) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    w.push(drop)
        .push_identifier(name)
        .push(dialect.drop_if_exists_suffix());
    finish(w)
}

/// `ALTER TABLE "from" RENAME TO "to"`.
pub fn rename_table(dialect: &'static dyn Dialect, from: &str, to: &str) -> Result<String> {
    let mut w = SqlWriter::new(dialect);
    w.push("ALTER TABLE ")
        .push_identifier(from)
        .push(" RENAME TO ")
        .push_identifier(to);
    finish(w)
}

fn alter_prefix(dialect: &'static dyn Dialect, table: &str) -> SqlWriter {
    let mut w = SqlWriter::new(dialect);
    w.push("ALTER TABLE ").push_identifier(table).push(" ");
    w
}

/// How `command` is carried out on `table` on this backend.
pub fn alter_table(
    dialect: &'static dyn Dialect,
    table: &str,
    command: &AlterCommand,
) -> Result<AlterPlan> {
    let rebuild = !dialect.alters_in_place(command);
    let statements = match command {
        AlterCommand::AddColumn(column) => {
            let mut then = Vec::new();
            for index in column_indexes(table, column) {
                then.push(create_index(dialect, table, &index)?);
            }
            if rebuild {
                return Ok(AlterPlan::SqliteRebuild { then });
            }
            let mut w = alter_prefix(dialect, table);
            w.push("ADD COLUMN ");
            push_column_definition(&mut w, column, column.primary || column.auto_increment);
            dialect.push_column_position(&mut w, column);
            if dialect.names_unsigned_checks() && checks_non_negative(column) {
                // In the same statement: MySQL commits each DDL statement on its own.
                w.push(", ADD ");
                push_named_non_negative_check(&mut w, table, column);
            }
            let mut statements = vec![finish(w)?];
            statements.extend(column_comment(dialect, table, column)?);
            statements.extend(then);
            statements
        }
        AlterCommand::ChangeColumn(column) => {
            let mut then = Vec::new();
            for index in column_indexes(table, column) {
                then.push(create_index(dialect, table, &index)?);
            }
            if rebuild {
                return Ok(AlterPlan::SqliteRebuild { then });
            }
            // An auto-increment column here is an auto-increment key given another
            // integer type (`big_increments("id").change()` on an `increments` key):
            // the schema builder refuses, reading the catalog, to turn a column that
            // is not one into one.
            if column.auto_increment && !column.kind.is_integer() {
                return Err(Error::invalid_query(
                    InvalidQueryKind::Schema,
                    format!(
                        "column `{}`: an auto-increment column must be an integer",
                        column.name
                    ),
                ));
            }
            let mut w = alter_prefix(dialect, table);
            dialect.push_change_column(&mut w, column);
            let mut statements = vec![finish(w)?];
            let mut after = SqlWriter::new(dialect);
            dialect.push_after_change_column(&mut after, table, column);
            let after = finish(after)?;
            if !after.is_empty() {
                statements.push(after);
            }
            statements.extend(column_comment(dialect, table, column)?);
            statements.extend(then);
            statements
        }
        AlterCommand::DropColumn(name) => {
            if rebuild {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() });
            }
            let mut w = alter_prefix(dialect, table);
            w.push("DROP COLUMN ").push_identifier(name);
            vec![finish(w)?]
        }
        AlterCommand::RenameColumn { from, to } => {
            let mut w = alter_prefix(dialect, table);
            w.push("RENAME COLUMN ")
                .push_identifier(from)
                .push(" TO ")
                .push_identifier(to);
            vec![finish(w)?]
        }
        AlterCommand::AddIndex(index) => match index.kind {
            IndexKind::Primary if rebuild => {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() })
            }
            IndexKind::Primary => {
                let mut w = alter_prefix(dialect, table);
                w.push("ADD ");
                push_primary_constraint(&mut w, index);
                vec![finish(w)?]
            }
            _ => vec![create_index(dialect, table, index)?],
        },
        AlterCommand::RenameIndex { from, to } => {
            if rebuild {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() });
            }
            let mut w = SqlWriter::new(dialect);
            dialect.push_rename_index(&mut w, table, from, to);
            vec![finish(w)?]
        }
        AlterCommand::DropIndex(name) => {
            let mut w = SqlWriter::new(dialect);
            dialect.push_drop_index(&mut w, table, name);
            vec![finish(w)?]
        }
        AlterCommand::DropPrimary(name) | AlterCommand::DropForeign(name) => {
            if rebuild {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() });
            }
            let mut w = alter_prefix(dialect, table);
            if matches!(command, AlterCommand::DropPrimary(_)) {
                dialect.push_drop_primary(&mut w, name);
            } else {
                dialect.push_drop_foreign(&mut w, name);
            }
            vec![finish(w)?]
        }
        AlterCommand::AddForeign(fk) => {
            if rebuild {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() });
            }
            let mut w = alter_prefix(dialect, table);
            if dialect.names_unsigned_checks()
                && dialect.refuses_checks_on_written_columns()
                && fk.writes_its_columns()
            {
                // The columns' unsigned CHECKs go first, in the same statement (the
                // database refuses the key beside them): `IF EXISTS`, since a column
                // that is not unsigned has none. The key then limits the column to
                // the referenced key's values.
                for column in &fk.columns {
                    w.push("DROP CONSTRAINT IF EXISTS ")
                        .push_identifier(&unsigned_check_name(dialect, table, column))
                        .push(", ");
                }
            }
            w.push("ADD ");
            push_foreign_key(&mut w, fk);
            vec![finish(w)?]
        }
        AlterCommand::AddCheck(check) => {
            let mut w = alter_prefix(dialect, table);
            w.push("ADD ");
            push_check(&mut w, check);
            let statement = finish(w)?;
            if rebuild {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() });
            }
            vec![statement]
        }
        AlterCommand::DropCheck(name) => {
            if rebuild {
                return Ok(AlterPlan::SqliteRebuild { then: Vec::new() });
            }
            let mut w = alter_prefix(dialect, table);
            w.push("DROP CONSTRAINT ").push_constraint_name(name);
            vec![finish(w)?]
        }
    };
    Ok(AlterPlan::Statements(statements))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::schema::ForeignKeyAction;
    use crate::dialect::{PostgresDialect, SqliteDialect};

    fn posts() -> TableDef {
        let mut table = TableDef::new("posts");
        table.columns.push(ColumnDef::increments("id"));
        table
            .columns
            .push(ColumnDef::new("title", ColumnType::String { length: 255 }));
        let mut body = ColumnDef::new("body", ColumnType::Text);
        body.nullable = true;
        table.columns.push(body);
        let mut user = ColumnDef::new("user_id", ColumnType::BigInteger);
        user.unsigned = true;
        table.columns.push(user);
        let mut status = ColumnDef::new(
            "status",
            ColumnType::Enum(vec!["draft".into(), "it's".into()]),
        );
        status.default = Some(ColumnDefault::Value(Value::Text("draft".into())));
        status.index = true;
        table.columns.push(status);
        let mut fk = ForeignKeyDef::new(
            "posts_user_id_foreign",
            vec!["user_id".into()],
            "users",
            vec!["id".into()],
        );
        fk.on_delete = Some(ForeignKeyAction::Cascade);
        table.foreign_keys.push(fk);
        table
    }

    #[test]
    fn golden_create_table_sqlite() {
        let sql = create_table(&SqliteDialect, &posts()).unwrap();
        assert_eq!(
            sql,
            vec![
                r#"CREATE TABLE "posts" ("id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "title" VARCHAR(255) NOT NULL, "body" TEXT, "user_id" INTEGER NOT NULL, "status" VARCHAR(255) NOT NULL DEFAULT 'draft' CHECK ("status" IN ('draft', 'it''s')), CONSTRAINT "posts_user_id_foreign" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE)"#,
                r#"CREATE INDEX "posts_status_index" ON "posts" ("status")"#,
            ]
        );
    }

    #[test]
    fn golden_create_table_postgres() {
        let sql = create_table(&PostgresDialect, &posts()).unwrap();
        assert_eq!(
            sql[0],
            r#"CREATE TABLE "posts" ("id" SERIAL PRIMARY KEY NOT NULL, "title" VARCHAR(255) NOT NULL, "body" TEXT, "user_id" BIGINT NOT NULL CHECK ("user_id" >= 0), "status" VARCHAR(255) NOT NULL DEFAULT 'draft' CHECK ("status" IN ('draft', 'it''s')), CONSTRAINT "posts_user_id_foreign" FOREIGN KEY ("user_id") REFERENCES "users" ("id") ON DELETE CASCADE)"#
        );
    }

    #[test]
    fn golden_alter_statements() {
        let mut column = ColumnDef::new("votes", ColumnType::Integer);
        column.default = Some(ColumnDefault::Value(Value::Int(-1)));
        let plan = alter_table(
            &PostgresDialect,
            "users",
            &AlterCommand::AddColumn(column.clone()),
        )
        .unwrap();
        assert_eq!(
            plan,
            AlterPlan::Statements(vec![
                r#"ALTER TABLE "users" ADD COLUMN "votes" INTEGER NOT NULL DEFAULT -1"#.into()
            ])
        );
        let plan = alter_table(
            &SqliteDialect,
            "users",
            &AlterCommand::AddColumn(column.clone()),
        )
        .unwrap();
        assert_eq!(
            plan,
            AlterPlan::Statements(vec![
                r#"ALTER TABLE "users" ADD COLUMN "votes" INTEGER NOT NULL DEFAULT -1"#.into()
            ])
        );
        let plan = alter_table(
            &PostgresDialect,
            "users",
            &AlterCommand::ChangeColumn(column),
        )
        .unwrap();
        assert_eq!(
            plan,
            AlterPlan::Statements(vec![
                r#"ALTER TABLE "users" ALTER COLUMN "votes" DROP DEFAULT, ALTER COLUMN "votes" TYPE INTEGER USING "votes"::INTEGER, ALTER COLUMN "votes" SET NOT NULL, ALTER COLUMN "votes" SET DEFAULT -1"#.into()
            ])
        );
        let plan = alter_table(
            &SqliteDialect,
            "users",
            &AlterCommand::DropColumn("votes".into()),
        )
        .unwrap();
        assert_eq!(plan, AlterPlan::SqliteRebuild { then: vec![] });
    }

    #[test]
    fn literals_are_escaped_and_nul_refused() {
        let mut column = ColumnDef::new("name", ColumnType::Text);
        column.default = Some(ColumnDefault::Value(Value::Text(
            "x'); DROP TABLE users; --".into(),
        )));
        let plan = alter_table(
            &PostgresDialect,
            "t",
            &AlterCommand::AddColumn(column.clone()),
        )
        .unwrap();
        assert_eq!(
            plan,
            AlterPlan::Statements(vec![
                r#"ALTER TABLE "t" ADD COLUMN "name" TEXT NOT NULL DEFAULT 'x''); DROP TABLE users; --'"#.into()
            ])
        );
        column.default = Some(ColumnDefault::Value(Value::Text("a\0b".into())));
        assert!(alter_table(&PostgresDialect, "t", &AlterCommand::AddColumn(column)).is_err());
    }

    #[test]
    fn checks_render_on_create_and_alter() {
        let mut table = TableDef::new("t");
        table
            .columns
            .push(ColumnDef::new("votes", ColumnType::Integer));
        table.checks.push(CheckDef::new("votes >= 0"));
        table
            .checks
            .push(CheckDef::named("votes_small", "votes < 1000"));
        assert_eq!(
            create_table(&SqliteDialect, &table).unwrap()[0],
            r#"CREATE TABLE "t" ("votes" INTEGER NOT NULL, CHECK (votes >= 0), CONSTRAINT "votes_small" CHECK (votes < 1000))"#
        );
        let plan = alter_table(
            &PostgresDialect,
            "t",
            &AlterCommand::AddCheck(CheckDef::named("v", "votes ?? 'x'")),
        )
        .unwrap();
        assert_eq!(
            plan,
            AlterPlan::Statements(vec![
                r#"ALTER TABLE "t" ADD CONSTRAINT "v" CHECK (votes ? 'x')"#.into()
            ])
        );
        let plan = alter_table(&PostgresDialect, "t", &AlterCommand::DropCheck("v".into()));
        assert_eq!(
            plan.unwrap(),
            AlterPlan::Statements(vec![r#"ALTER TABLE "t" DROP CONSTRAINT "v""#.into()])
        );
        for bad in [
            "",
            "votes > 0) OR (1 = 1",
            "(votes > 0",
            "votes > ?",
            "1); DROP TABLE t; (1",
            "votes > 0 -- positive",
        ] {
            table.checks = vec![CheckDef::new(bad)];
            assert!(
                matches!(
                    create_table(&SqliteDialect, &table),
                    Err(Error::InvalidQuery { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn mysql_names_unsigned_checks_and_leaves_them_off_columns_a_foreign_key_writes() {
        use crate::dialect::MysqlDialect;
        let mut table = TableDef::new("members");
        let mut team = ColumnDef::new("team_id", ColumnType::BigInteger);
        team.unsigned = true;
        team.nullable = true;
        table.columns.push(team.clone());
        let mut user = team.clone();
        user.name = "user_id".into();
        table.columns.push(user);
        let mut fk = ForeignKeyDef::new(
            "members_team_id_foreign",
            vec!["team_id".into()],
            "teams",
            vec!["id".into()],
        );
        fk.on_delete = Some(ForeignKeyAction::SetNull);
        table.foreign_keys.push(fk.clone());
        assert_eq!(
            create_table(&MysqlDialect::RETURNING, &table).unwrap()[0],
            "CREATE TABLE `members` (`team_id` BIGINT, `user_id` BIGINT, CONSTRAINT \
             `members_team_id_foreign` FOREIGN KEY (`team_id`) REFERENCES `teams` (`id`) \
             ON DELETE SET NULL, CONSTRAINT `members_user_id_unsigned` CHECK (`user_id` >= 0))"
        );
        // PostgreSQL keeps both columns' CHECKs, on the columns.
        assert!(create_table(&PostgresDialect, &table).unwrap()[0]
            .contains(r#""team_id" BIGINT CHECK ("team_id" >= 0)"#));

        let add = alter_table(
            &MysqlDialect::RETURNING,
            "members",
            &AlterCommand::AddColumn(team.clone()),
        )
        .unwrap();
        assert_eq!(
            add,
            AlterPlan::Statements(vec!["ALTER TABLE `members` ADD COLUMN `team_id` BIGINT, \
                 ADD CONSTRAINT `members_team_id_unsigned` CHECK (`team_id` >= 0)"
                .into()])
        );
        let key = alter_table(
            &MysqlDialect::RETURNING,
            "members",
            &AlterCommand::AddForeign(fk.clone()),
        )
        .unwrap();
        assert_eq!(
            key,
            AlterPlan::Statements(vec![
                "ALTER TABLE `members` DROP CONSTRAINT IF EXISTS `members_team_id_unsigned`, \
                 ADD CONSTRAINT `members_team_id_foreign` FOREIGN KEY (`team_id`) REFERENCES \
                 `teams` (`id`) ON DELETE SET NULL"
                    .into()
            ])
        );
        // Added together: the column goes without the CHECK.
        let mut commands = vec![
            AlterCommand::AddColumn(team.clone()),
            AlterCommand::AddForeign(fk.clone()),
        ];
        omit_refused_unsigned_checks(&MysqlDialect::RETURNING, &mut commands);
        assert!(matches!(&commands[0], AlterCommand::AddColumn(c) if !c.unsigned));
        let mut commands = vec![AlterCommand::AddColumn(team), AlterCommand::AddForeign(fk)];
        omit_refused_unsigned_checks(&PostgresDialect, &mut commands);
        assert!(matches!(&commands[0], AlterCommand::AddColumn(c) if c.unsigned));
    }

    #[test]
    fn long_unsigned_check_names_are_shortened_stably() {
        use crate::dialect::MysqlDialect;
        let dialect = &MysqlDialect::RETURNING;
        assert_eq!(
            unsigned_check_name(dialect, "Posts", "user_id"),
            "posts_user_id_unsigned"
        );
        let table = "organization_membership_invitations";
        let long = unsigned_check_name(dialect, table, "invited_by_user_id_column");
        assert_eq!(long.len(), 64);
        assert!(long.starts_with("organization_membership_invitations_invite"));
        assert!(long.ends_with("_unsigned"));
        assert_eq!(
            long,
            unsigned_check_name(dialect, table, "invited_by_user_id_column")
        );
        assert_ne!(
            long,
            unsigned_check_name(dialect, table, "invited_by_user_id_columns")
        );
    }

    #[test]
    fn foreign_key_actions_are_whitelisted() {
        assert_eq!(
            ForeignKeyAction::parse("SET NULL"),
            Some(ForeignKeyAction::SetNull)
        );
        assert_eq!(
            ForeignKeyAction::parse("no_action"),
            Some(ForeignKeyAction::NoAction)
        );
        assert_eq!(ForeignKeyAction::parse("cascade; drop table x"), None);
    }
}
