//! `Schema`: creates, alters and drops tables on a connection, or (pretending) only
//! collects the SQL it would run.

use orm_core::dialect::schema::{
    self as grammar, sqlite_pragmas, AlterCommand, AlterPlan, SqliteIndexSnapshot,
    SqliteTableSnapshot,
};
use orm_core::dialect::{ForeignKeySwitch, ReferencingTables};
use orm_core::{Backend, Connection, Value, DB};

use crate::blueprint::Blueprint;
use crate::error::{Error, Result};

/// The schema builder, on one connection.
///
/// ```
/// use orm_migrate::prelude::*;
/// let mut conn = orm_core::Connection::open("sqlite::memory:")?;
/// let mut schema = Schema::new(&mut conn);
/// schema.create("users", |table| {
///     table.increments("id");
///     table.string("email", 255).unique();
///     table.timestamps();
/// })?;
/// assert!(schema.has_column("users", "email")?);
/// # Ok::<(), orm_migrate::Error>(())
/// ```
#[derive(Debug)]
pub struct Schema<'c> {
    conn: &'c mut Connection,
    pretend: bool,
    statements: Vec<String>,
}

impl<'c> Schema<'c> {
    /// A schema builder that runs its statements on `conn`.
    pub fn new(conn: &'c mut Connection) -> Schema<'c> {
        Schema {
            conn,
            pretend: false,
            statements: Vec::new(),
        }
    }

    /// A schema builder that only records the statements it would run on `conn` (it
    /// still reads the database to answer `has_table` and friends).
    pub fn pretending(conn: &'c mut Connection) -> Schema<'c> {
        Schema {
            pretend: true,
            ..Schema::new(conn)
        }
    }

    /// Runs `f` with a schema builder on the default connection (`DB::with_connection`).
    pub fn on_default<T>(f: impl FnOnce(&mut Schema<'_>) -> Result<T>) -> Result<T> {
        let mut outcome = None;
        DB::with_connection(|conn| {
            outcome = Some(f(&mut Schema::new(conn)));
            Ok(())
        })?;
        outcome.unwrap_or_else(|| {
            Err(Error::Database(orm_core::Error::NoConnection(
                "default".into(),
            )))
        })
    }

    /// Whether statements are only recorded, not run.
    pub fn is_pretending(&self) -> bool {
        self.pretend
    }

    /// The statements run (or, pretending, that would run) so far, in order. A SQLite
    /// table rebuild appears as one `-- rebuild table ...` line.
    pub fn statements(&self) -> &[String] {
        &self.statements
    }

    /// Takes the recorded statements, leaving none.
    pub fn take_statements(&mut self) -> Vec<String> {
        std::mem::take(&mut self.statements)
    }

    /// The connection, for reads a migration needs.
    pub fn connection(&mut self) -> &mut Connection {
        self.conn
    }

    /// Runs `f` with this schema's connection as the thread's (an [`Executor::scope`]):
    /// `DB::table(..)`, models and `DB::transaction` inside it run on the migration's
    /// connection and in its transaction, so data work in a migration is applied or
    /// undone with its schema changes (Laravel's `DB::table(..)` in `up()`):
    /// `schema.run(|| DB::table("settings").insert(row! {"key" => "theme"}).map(drop))`.
    /// Outside `run`, such calls on the default connection fail with
    /// `ConnectionInUse` while a migration runs. Pretending (`pretend`, checksums), `f`
    /// does not run; [`Schema::statements`] shows a `-- data work` line either way.
    ///
    /// [`Executor::scope`]: orm_core::Executor::scope
    pub fn run(&mut self, f: impl FnOnce() -> orm_core::Result<()>) -> Result<()> {
        // A line of its own among the statements, pretending or not (so the checksum is
        // the same): `pretend` shows where data work runs, and on MySQL a migration
        // that fails in or after it is recorded as partly applied (logged before `f`
        // runs: whatever `f` wrote before failing stays there).
        self.statements
            .push("-- data work (Schema::run)".to_owned());
        if self.pretend {
            return Ok(());
        }
        orm_core::Executor::scope(&mut *self.conn, f).map_err(Error::from)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.conn.backend()
    }

    /// Creates `table` as described by `build`: the table, its indexes and foreign keys,
    /// in one transaction.
    ///
    /// ```
    /// use orm_migrate::prelude::*;
    /// let mut conn = orm_core::Connection::open("sqlite::memory:")?;
    /// let mut schema = Schema::new(&mut conn);
    /// schema.create("users", |table| {
    ///     table.increments("id");
    ///     table.string("email", 255).unique();
    /// })?;
    /// schema.create("posts", |table| {
    ///     table.increments("id");
    ///     table.foreign_id("user_id").constrained().cascade_on_delete();   // users.id
    ///     table.string("title", 255);
    ///     table.text("body").nullable();
    ///     table.boolean("published").default(false);
    ///     table.timestamps();
    ///     table.index(&["user_id", "published"]);
    /// })?;
    /// assert!(schema.has_columns("posts", &["user_id", "title", "created_at"])?);
    /// # Ok::<(), orm_migrate::Error>(())
    /// ```
    pub fn create(&mut self, table: &str, build: impl FnOnce(&mut Blueprint)) -> Result<()> {
        let mut blueprint = Blueprint::new(unqualified(table)?);
        build(&mut blueprint);
        let def = blueprint.to_table_def()?;
        for key in &def.foreign_keys {
            unqualified(&key.references_table)?;
        }
        let statements = grammar::create_table(self.conn.dialect(), &def)?;
        self.atomically(false, |conn, log, pretend| {
            for sql in &statements {
                run(conn, log, pretend, sql)?;
            }
            Ok(())
        })
    }

    /// Changes `table` as described by `build` (add, change, drop and rename columns,
    /// indexes and foreign keys).
    pub fn table(&mut self, table: &str, build: impl FnOnce(&mut Blueprint)) -> Result<()> {
        let mut blueprint = Blueprint::new(unqualified(table)?);
        build(&mut blueprint);
        let mut commands = blueprint.to_alter_commands()?;
        for command in &commands {
            if let AlterCommand::AddForeign(key) = command {
                unqualified(&key.references_table)?;
            }
        }
        let dialect = self.conn.dialect();
        grammar::omit_refused_unsigned_checks(dialect, &mut commands);
        let mut plans = Vec::with_capacity(commands.len());
        for command in commands {
            let command = match command {
                AlterCommand::DropPrimary(name) if name.is_empty() => {
                    match dialect.primary_key_name_query() {
                        Some(query) => {
                            AlterCommand::DropPrimary(self.primary_key_name(query, table)?)
                        }
                        None => AlterCommand::DropPrimary(name),
                    }
                }
                other => other,
            };
            let plan = grammar::alter_table(dialect, table, &command)?;
            if let (AlterCommand::ChangeColumn(column), AlterPlan::Statements(_)) =
                (&command, &plan)
            {
                if column.auto_increment {
                    self.refuse_new_auto_increment(table, &column.name)?;
                }
            }
            plans.push((command, plan));
        }
        let rebuilds = plans
            .iter()
            .any(|(_, plan)| matches!(plan, AlterPlan::SqliteRebuild { .. }));
        let table = table.to_owned();
        self.atomically(rebuilds, |conn, log, pretend| {
            for (command, plan) in &plans {
                match plan {
                    AlterPlan::Statements(statements) => {
                        for sql in statements {
                            run(conn, log, pretend, sql)?;
                        }
                    }
                    AlterPlan::SqliteRebuild { then } => {
                        log.push(grammar::sqlite_rebuild_summary(&table, command)?);
                        if !pretend {
                            let snapshot = sqlite_snapshot(conn, &table)?;
                            for sql in grammar::sqlite_rebuild(&snapshot, command)? {
                                log::debug!(target: "orm_migrate", "{sql}");
                                conn.execute_batch(&sql)?;
                            }
                        }
                        for sql in then {
                            run(conn, log, pretend, sql)?;
                        }
                    }
                    _ => {
                        return Err(Error::InvalidBlueprint {
                            table: table.clone(),
                            message: "unsupported change".into(),
                        })
                    }
                }
            }
            Ok(())
        })
    }

    /// Drops `table`. A table that another table's foreign key references is not
    /// dropped (drop the other table, or its foreign key, first):
    /// [`Error::TableReferenced`] on every database (PostgreSQL and MySQL refuse it
    /// themselves; SQLite, whose `DROP TABLE` would delete the rows first, cascading into
    /// the referencing tables, is checked first). A reference from the table to itself
    /// does not count.
    pub fn drop(&mut self, table: &str) -> Result<()> {
        unqualified(table)?;
        let sql = grammar::drop_table(self.conn.dialect(), table, false)?;
        self.refuse_if_referenced(table)?;
        let dropped = self.run_statement(&sql);
        dropped.map_err(|e| self.referenced_drop(table, e))
    }

    /// Drops `table` when it exists (a referenced table is refused as by [`drop`](Self::drop)).
    pub fn drop_if_exists(&mut self, table: &str) -> Result<()> {
        unqualified(table)?;
        let sql = grammar::drop_table(self.conn.dialect(), table, true)?;
        self.refuse_if_referenced(table)?;
        let dropped = self.run_statement(&sql);
        dropped.map_err(|e| self.referenced_drop(table, e))
    }

    /// Renames table `from` to `to`.
    pub fn rename(&mut self, from: &str, to: &str) -> Result<()> {
        unqualified(from)?;
        unqualified(to)?;
        let sql = grammar::rename_table(self.conn.dialect(), from, to)?;
        self.run_statement(&sql)
    }

    /// Runs (or records) one raw statement written by the application, e.g. for DDL
    /// the builder does not cover, as written (it takes no bindings, so no `?`). Never
    /// pass user input here.
    pub fn statement(&mut self, sql: &str) -> Result<()> {
        self.run_statement(sql)
    }

    /// Whether `table` exists (in the current schema on PostgreSQL).
    pub fn has_table(&mut self, table: &str) -> Result<bool> {
        unqualified(table)?;
        let query = self.conn.dialect().has_table_query();
        let rows = self
            .conn
            .select_values(query, &[Value::Text(table.to_owned())])?;
        Ok(!rows.is_empty())
    }

    /// Whether `table` has `column` (case-insensitive, as SQL identifiers mostly are).
    pub fn has_column(&mut self, table: &str, column: &str) -> Result<bool> {
        Ok(self
            .get_column_listing(table)?
            .iter()
            .any(|c| c.eq_ignore_ascii_case(column)))
    }

    /// Whether `table` has every one of `columns`.
    pub fn has_columns(&mut self, table: &str, columns: &[&str]) -> Result<bool> {
        let listing = self.get_column_listing(table)?;
        Ok(columns
            .iter()
            .all(|c| listing.iter().any(|l| l.eq_ignore_ascii_case(c))))
    }

    /// The column names of `table`, in order (empty when it does not exist).
    pub fn get_column_listing(&mut self, table: &str) -> Result<Vec<String>> {
        unqualified(table)?;
        let query = self.conn.dialect().column_listing_query();
        Ok(self
            .conn
            .query_map(query, &[Value::Text(table.to_owned())], |row| {
                row.get::<String, _>("name")
            })?)
    }

    /// The tables of the database (the current schema on PostgreSQL), by name.
    pub fn get_table_listing(&mut self) -> Result<Vec<String>> {
        let query = self.conn.dialect().table_listing_query();
        Ok(self
            .conn
            .query_map(query, &[], |row| row.get::<String, _>("name"))?)
    }

    /// The views of the database (the current schema on PostgreSQL), by name.
    pub fn get_view_listing(&mut self) -> Result<Vec<String>> {
        let query = self.conn.dialect().view_listing_query();
        Ok(self
            .conn
            .query_map(query, &[], |row| row.get::<String, _>("name"))?)
    }

    /// Drops every view (Laravel's `dropAllViews`): `migrate:fresh` does before it drops
    /// the tables, so that a migration creating a view runs again.
    pub fn drop_all_views(&mut self) -> Result<()> {
        let views = self.get_view_listing()?;
        let dialect = self.conn.dialect();
        self.atomically(true, |conn, log, pretend| {
            views.iter().try_for_each(|view| {
                run(
                    conn,
                    log,
                    pretend,
                    &grammar::drop_view_dropping_all(dialect, view)?,
                )
            })
        })
    }

    /// Drops every table (foreign keys between them do not stop it).
    pub fn drop_all_tables(&mut self) -> Result<()> {
        let tables = self.get_table_listing()?;
        let dialect = self.conn.dialect();
        let around = dialect.drop_all_tables_around();
        self.atomically(true, |conn, log, pretend| {
            if let Some((before, _)) = around {
                run(conn, log, pretend, before)?;
            }
            let dropped = tables.iter().try_for_each(|table| {
                run(
                    conn,
                    log,
                    pretend,
                    &grammar::drop_table_dropping_all(dialect, table)?,
                )
            });
            match around {
                // Restored even when a drop failed: the connection goes back to a pool.
                Some((_, after)) => dropped.and(run(conn, log, pretend, after)),
                None => dropped,
            }
        })
    }

    fn run_statement(&mut self, sql: &str) -> Result<()> {
        run(self.conn, &mut self.statements, self.pretend, sql)
    }

    /// Fails with [`Error::TableReferenced`] when `table` exists and other tables'
    /// foreign keys reference it, on a database whose `DROP TABLE` would not refuse by
    /// itself (SQLite: whatever the foreign-key pragma says, so a migration, which
    /// suspends enforcement, is refused too). Pretending reads nothing.
    fn refuse_if_referenced(&mut self, table: &str) -> Result<()> {
        let Some(query) = self.conn.dialect().referencing_tables_query() else {
            return Ok(());
        };
        if self.pretend {
            return Ok(());
        }
        let name = Value::Text(table.to_owned());
        let referenced_by = self.conn.query_map(query, &[name.clone(), name], |row| {
            row.get::<String, _>("name")
        })?;
        // A reference to a missing table is left to `drop` (no such table) and skipped
        // by `drop_if_exists`.
        if referenced_by.is_empty() || !self.has_table(table)? {
            return Ok(());
        }
        Err(Error::TableReferenced {
            table: table.to_owned(),
            referenced_by,
        })
    }

    /// PostgreSQL's and MySQL's own refusal to drop a referenced table, as the
    /// [`Error::TableReferenced`] SQLite's check gives (any other error as it is).
    fn referenced_drop(&mut self, table: &str, error: Error) -> Error {
        let Error::Database(cause) = &error else {
            return error;
        };
        let referenced_by = match self.conn.dialect().refused_drop(cause) {
            None => return error,
            Some(ReferencingTables::Named(tables)) => tables,
            Some(ReferencingTables::Query(query)) => {
                let name = Value::Text(table.to_owned());
                let listed = self.conn.query_map(query, &[name.clone(), name], |row| {
                    row.get::<String, _>("name")
                });
                match listed {
                    Ok(tables) if !tables.is_empty() => tables,
                    _ => return error,
                }
            }
        };
        Error::TableReferenced {
            table: table.to_owned(),
            referenced_by,
        }
    }

    /// An auto-increment column can change its integer type in place
    /// (`big_increments("id").change()` on an `increments` key), but a column that is
    /// not one cannot become one there: refused, reading the live column, with
    /// [`InvalidQueryKind::Schema`](orm_core::InvalidQueryKind::Schema). A column the
    /// catalog does not show (pretending, or a table a statement before would create)
    /// is left to the database. Pretending reads nothing, so the SQL a migration
    /// pretends is the SQL it runs.
    fn refuse_new_auto_increment(&mut self, table: &str, column: &str) -> Result<()> {
        if self.pretend {
            return Ok(());
        }
        let live = self.conn.columns(table)?;
        match live.iter().find(|c| c.name == column) {
            Some(live) if !live.auto_increment => Err(orm_core::Error::invalid_query(
                orm_core::InvalidQueryKind::Schema,
                format!(
                    "column `{column}`: changing a column into an auto-increment one is not \
                     supported (only an auto-increment column can change its integer type)"
                ),
            )
            .into()),
            _ => Ok(()),
        }
    }

    fn primary_key_name(&mut self, query: &str, table: &str) -> Result<String> {
        let rows = self
            .conn
            .query_map(query, &[Value::Text(table.to_owned())], |row| {
                row.get::<String, _>("name")
            })?;
        Ok(rows
            .into_iter()
            .next()
            .unwrap_or_else(|| format!("{table}_pkey")))
    }

    /// Runs `f` in one transaction (a savepoint inside an open one). With
    /// `foreign_keys_off`, on a database with a [`ForeignKeySwitch`] (SQLite), foreign
    /// key enforcement is suspended around it when possible (outside a transaction), and
    /// the rows are checked before committing; inside a transaction with enforcement on,
    /// a rebuild is refused when other tables reference the table.
    fn atomically(
        &mut self,
        foreign_keys_off: bool,
        f: impl FnOnce(&mut Connection, &mut Vec<String>, bool) -> Result<()>,
    ) -> Result<()> {
        let pretend = self.pretend;
        if pretend {
            return f(self.conn, &mut self.statements, true);
        }
        if !self.conn.dialect().transactional_ddl() {
            // Nothing to make atomic: each DDL statement commits by itself (MySQL).
            return f(self.conn, &mut self.statements, false);
        }
        let switch = if foreign_keys_off {
            self.conn.dialect().foreign_key_switch()
        } else {
            None
        };
        let mut restore_foreign_keys = false;
        if let Some(switch) = switch {
            if foreign_keys_enabled(self.conn, switch)? && !self.conn.in_transaction() {
                self.conn.execute_batch(switch.off)?;
                restore_foreign_keys = true;
            }
        }
        let mut log = Vec::new();
        let result = (|| {
            let mut tx = self.conn.begin()?;
            let outcome = f(&mut tx, &mut log, false).and_then(|()| match switch {
                Some(switch) => check_foreign_keys(&mut tx, switch, "*"),
                None => Ok(()),
            });
            match outcome {
                Ok(()) => Ok(tx.commit()?),
                Err(e) => {
                    tx.rollback()?;
                    Err(e)
                }
            }
        })();
        if let Some(switch) = switch.filter(|_| restore_foreign_keys) {
            self.conn.execute_batch(switch.on)?;
        }
        self.statements.extend(log);
        result
    }
}

/// `table`, or [`Error::InvalidBlueprint`] when it names a schema (`billing.invoices`):
/// the schema builder works in the connection's own schema (PostgreSQL's search path,
/// MySQL's database, SQLite's `main`). Quoted whole, such a name made one table called
/// `billing.invoices` there, which the query builder, reading schema and table, never
/// finds; every catalog query would look in the wrong schema too.
pub(crate) fn unqualified(table: &str) -> Result<&str> {
    if !table.contains('.') {
        return Ok(table);
    }
    Err(Error::InvalidBlueprint {
        table: table.to_owned(),
        message: "the schema builder takes a table name without a schema: put the schema \
                  on the connection's search path (PostgreSQL URL option \
                  `options=-csearch_path=..`) or database (MySQL), or write the statement \
                  with Schema::statement"
            .into(),
    })
}

/// Runs `sql` (unless pretending) and logs it once it ran: the log holds what ran, so
/// a migration that stops half-way knows how far it got.
fn run(conn: &mut Connection, log: &mut Vec<String>, pretend: bool, sql: &str) -> Result<()> {
    if !pretend {
        conn.execute_batch(sql)?;
    }
    log.push(sql.to_owned());
    Ok(())
}

pub(crate) fn foreign_keys_enabled(
    conn: &mut Connection,
    switch: &ForeignKeySwitch,
) -> Result<bool> {
    let state = conn.query_first(switch.state, &[], |row| row.get::<i64, _>(&0usize))?;
    Ok(state == Some(1))
}

/// Fails when rows violate foreign keys.
pub(crate) fn check_foreign_keys(
    conn: &mut Connection,
    switch: &ForeignKeySwitch,
    table: &str,
) -> Result<()> {
    let violations = conn.query_map(switch.check, &[], |_| Ok(()))?.len();
    if violations > 0 {
        return Err(Error::ForeignKeyCheckFailed {
            table: table.to_owned(),
            violations,
        });
    }
    Ok(())
}

fn sqlite_snapshot(conn: &mut Connection, table: &str) -> Result<SqliteTableSnapshot> {
    let name = Value::Text(table.to_owned());
    let enforced = match conn.dialect().foreign_key_switch() {
        Some(switch) => foreign_keys_enabled(conn, switch)?,
        None => false,
    };
    if enforced {
        let referencing = conn.query_map(
            sqlite_pragmas::REFERENCING_TABLES,
            &[name.clone(), name.clone()],
            |row| row.get::<String, _>("name"),
        )?;
        if let Some(other) = referencing.first() {
            return Err(Error::RebuildRefused {
                table: table.to_owned(),
                reason: format!(
                    "table `{other}` references it and foreign keys cannot be suspended inside \
                     an open transaction; run the change outside one (migrations do this)"
                ),
            });
        }
    }
    let create_sql = conn
        .query_first(
            sqlite_pragmas::TABLE_SQL,
            std::slice::from_ref(&name),
            |row| row.get::<String, _>("sql"),
        )?
        .ok_or_else(|| Error::InvalidBlueprint {
            table: table.to_owned(),
            message: "the table does not exist".into(),
        })?;
    let index_rows = conn.query_map(
        sqlite_pragmas::INDEXES,
        std::slice::from_ref(&name),
        |row| Ok((row.get::<String, _>("name")?, row.get::<String, _>("sql")?)),
    )?;
    let mut indexes = Vec::with_capacity(index_rows.len());
    for (index, sql) in index_rows {
        let columns = conn.query_map(
            sqlite_pragmas::INDEX_COLUMNS,
            &[Value::Text(index.clone())],
            |row| Ok(row.get::<Option<String>, _>("name")?.unwrap_or_default()),
        )?;
        indexes.push(SqliteIndexSnapshot::new(index, sql, columns));
    }
    let triggers = conn.query_map(sqlite_pragmas::TRIGGERS, &[name], |row| {
        row.get::<String, _>("sql")
    })?;
    let views = conn.query_map(sqlite_pragmas::VIEWS, &[], |row| {
        row.get::<String, _>("name")
    })?;
    Ok(SqliteTableSnapshot::new(table, create_sql, indexes, triggers).with_views(views))
}
