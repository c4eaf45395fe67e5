//! The blueprint: the columns, indexes and changes of one table, as described in a
//! `Schema::create` or `Schema::table` closure.

use orm_core::dialect::schema::{
    default_foreign_key_name, default_index_name, AlterCommand, CheckDef, ColumnDef, ColumnDefault,
    ColumnType, ForeignKeyAction, ForeignKeyDef, IndexDef, IndexKind, TableDef,
};
use orm_core::ToValue;

use crate::error::{Error, Result};

/// A column being defined; its modifiers chain: `table.text("body").nullable()`.
#[derive(Debug, Clone)]
pub struct ColumnBuilder {
    def: ColumnDef,
    constrained: Option<ConstrainedColumn>,
}

#[derive(Debug, Clone)]
struct ConstrainedColumn {
    table: Option<String>,
    on_delete: Option<String>,
    on_update: Option<String>,
}

impl ColumnBuilder {
    fn new(def: ColumnDef) -> ColumnBuilder {
        ColumnBuilder {
            def,
            constrained: None,
        }
    }

    /// The column as described so far.
    pub fn definition(&self) -> &ColumnDef {
        &self.def
    }

    /// Allows NULL (columns are NOT NULL otherwise).
    pub fn nullable(&mut self) -> &mut Self {
        self.def.nullable = true;
        self
    }

    /// Sets the default to `value`, written as an escaped SQL literal.
    pub fn default(&mut self, value: impl ToValue) -> &mut Self {
        self.def.default = Some(ColumnDefault::Value(value.to_value()));
        self
    }

    /// Sets the default to raw SQL written by the application (e.g. `"(1 + 1)"`).
    /// Never pass user input here.
    pub fn default_raw(&mut self, sql: &str) -> &mut Self {
        self.def.default = Some(ColumnDefault::Raw(sql.to_owned()));
        self
    }

    /// Defaults to the current timestamp.
    pub fn use_current(&mut self) -> &mut Self {
        self.def.default = Some(ColumnDefault::CurrentTimestamp);
        self
    }

    /// MySQL: also takes the current time whenever the row is updated (`ON UPDATE
    /// CURRENT_TIMESTAMP`). PostgreSQL and SQLite have no such clause and ignore it, as
    /// Laravel does: there the application (a model's `updated_at`) stamps the row.
    pub fn use_current_on_update(&mut self) -> &mut Self {
        self.def.use_current_on_update = true;
        self
    }

    /// Gives the column a comment (MySQL's `COMMENT`, PostgreSQL's `COMMENT ON
    /// COLUMN`; SQLite keeps no comments and ignores it).
    pub fn comment(&mut self, text: &str) -> &mut Self {
        self.def.comment = Some(text.to_owned());
        self
    }

    /// MySQL: an added column goes after `column` (`AFTER`). The other databases add
    /// columns last and ignore it, as Laravel does.
    pub fn after(&mut self, column: &str) -> &mut Self {
        self.def.after = Some(column.to_owned());
        self
    }

    /// MySQL: an added column goes first (`FIRST`); ignored elsewhere (see
    /// [`ColumnBuilder::after`]).
    pub fn first(&mut self) -> &mut Self {
        self.def.first = true;
        self
    }

    /// Refuses negative numbers (a CHECK on PostgreSQL and MySQL; on MySQL none beside a
    /// foreign key that writes the column, which the server refuses).
    pub fn unsigned(&mut self) -> &mut Self {
        self.def.unsigned = true;
        self
    }

    /// Adds a unique index on this column (`{table}_{column}_unique`).
    pub fn unique(&mut self) -> &mut Self {
        self.def.unique = true;
        self
    }

    /// Adds a plain index on this column (`{table}_{column}_index`).
    pub fn index(&mut self) -> &mut Self {
        self.def.index = true;
        self
    }

    /// Makes this column the primary key (several such columns form a composite key).
    pub fn primary(&mut self) -> &mut Self {
        self.def.primary = true;
        self
    }

    /// Changes the existing column to this definition (in `Schema::table`). SQLite
    /// rebuilds the table.
    pub fn change(&mut self) -> &mut Self {
        self.def.change = true;
        self
    }

    /// Adds a foreign key from this column to `id` of the table named after it:
    /// `user_id` references `users.id`.
    pub fn constrained(&mut self) -> &mut Self {
        self.constrained.get_or_insert(ConstrainedColumn {
            table: None,
            on_delete: None,
            on_update: None,
        });
        self
    }

    /// Adds a foreign key from this column to `table.id`.
    pub fn constrained_to(&mut self, table: &str) -> &mut Self {
        self.constrained();
        if let Some(c) = &mut self.constrained {
            c.table = Some(table.to_owned());
        }
        self
    }

    /// With [`ColumnBuilder::constrained`]: delete the row when the referenced row is deleted.
    pub fn cascade_on_delete(&mut self) -> &mut Self {
        self.constrained();
        if let Some(c) = &mut self.constrained {
            c.on_delete = Some("cascade".into());
        }
        self
    }

    /// With [`ColumnBuilder::constrained`]: set NULL when the referenced row is deleted.
    pub fn null_on_delete(&mut self) -> &mut Self {
        self.constrained();
        if let Some(c) = &mut self.constrained {
            c.on_delete = Some("set null".into());
        }
        self
    }

    /// With [`ColumnBuilder::constrained`]: update the key when the referenced key changes.
    pub fn cascade_on_update(&mut self) -> &mut Self {
        self.constrained();
        if let Some(c) = &mut self.constrained {
            c.on_update = Some("cascade".into());
        }
        self
    }
}

/// A foreign key being defined:
/// `table.foreign("user_id").references("id").on("users").on_delete("cascade")`.
#[derive(Debug, Clone)]
pub struct ForeignKeyBuilder {
    columns: Vec<String>,
    references: Vec<String>,
    on: Option<String>,
    name: Option<String>,
    on_delete: Option<String>,
    on_update: Option<String>,
}

impl ForeignKeyBuilder {
    /// The referenced column (`id` when never called).
    pub fn references(&mut self, column: &str) -> &mut Self {
        self.references = vec![column.to_owned()];
        self
    }

    /// The referenced columns, for a composite key.
    pub fn references_columns(&mut self, columns: &[&str]) -> &mut Self {
        self.references = columns.iter().map(|c| (*c).to_owned()).collect();
        self
    }

    /// The referenced table.
    pub fn on(&mut self, table: &str) -> &mut Self {
        self.on = Some(table.to_owned());
        self
    }

    /// The constraint name (default `{table}_{columns}_foreign`).
    pub fn name(&mut self, name: &str) -> &mut Self {
        self.name = Some(name.to_owned());
        self
    }

    /// What happens when the referenced row is deleted: `cascade`, `restrict`,
    /// `set null`, `set default` or `no action` (anything else is an
    /// [`Error::InvalidForeignKeyAction`] when the blueprint runs).
    pub fn on_delete(&mut self, action: &str) -> &mut Self {
        self.on_delete = Some(action.to_owned());
        self
    }

    /// What happens when the referenced key is updated (same actions as `on_delete`).
    pub fn on_update(&mut self, action: &str) -> &mut Self {
        self.on_update = Some(action.to_owned());
        self
    }
}

/// An index (or constraint) named directly, or by its columns (then the default name
/// `{table}_{columns}_{type}` is used).
#[derive(Debug, Clone, Copy)]
pub enum IndexName<'a> {
    /// The index's name.
    Name(&'a str),
    /// The index's columns.
    Columns(&'a [&'a str]),
}

impl<'a> From<&'a str> for IndexName<'a> {
    fn from(name: &'a str) -> Self {
        IndexName::Name(name)
    }
}

impl<'a> From<&'a [&'a str]> for IndexName<'a> {
    fn from(columns: &'a [&'a str]) -> Self {
        IndexName::Columns(columns)
    }
}

impl<'a, const N: usize> From<&'a [&'a str; N]> for IndexName<'a> {
    fn from(columns: &'a [&'a str; N]) -> Self {
        IndexName::Columns(columns)
    }
}

#[derive(Debug, Clone)]
enum Item {
    Column(usize),
    Foreign(usize),
    Index(IndexDef),
    Check(CheckDef),
    DropCheck(String),
    DropColumn(String),
    RenameColumn(String, String),
    DropIndex(String),
    RenameIndex(String, String),
    DropPrimary(Option<String>),
    DropForeign(String),
}

/// The description of one table: `Schema::create` and `Schema::table` hand one to
/// their closure.
#[derive(Debug, Clone)]
pub struct Blueprint {
    table: String,
    columns: Vec<ColumnBuilder>,
    foreigns: Vec<ForeignKeyBuilder>,
    items: Vec<Item>,
}

macro_rules! simple_columns {
    ($($(#[$doc:meta])* $method:ident => $kind:expr;)*) => {$(
        $(#[$doc])*
        pub fn $method(&mut self, name: &str) -> &mut ColumnBuilder {
            self.add_column(ColumnDef::new(name, $kind))
        }
    )*};
}

macro_rules! unsigned_columns {
    ($($(#[$doc:meta])* $method:ident => $kind:expr;)*) => {$(
        $(#[$doc])*
        pub fn $method(&mut self, name: &str) -> &mut ColumnBuilder {
            self.add_column(ColumnDef::new(name, $kind)).unsigned()
        }
    )*};
}

impl Blueprint {
    /// An empty blueprint for `table`.
    pub fn new(table: &str) -> Blueprint {
        Blueprint {
            table: table.to_owned(),
            columns: Vec::new(),
            foreigns: Vec::new(),
            items: Vec::new(),
        }
    }

    /// The table this blueprint describes.
    pub fn table_name(&self) -> &str {
        &self.table
    }

    /// Adds a column described by `def` (for types without a helper).
    pub fn add_column(&mut self, def: ColumnDef) -> &mut ColumnBuilder {
        self.columns.push(ColumnBuilder::new(def));
        let index = self.columns.len() - 1;
        self.items.push(Item::Column(index));
        &mut self.columns[index]
    }

    /// An auto-incrementing integer primary key.
    pub fn increments(&mut self, name: &str) -> &mut ColumnBuilder {
        self.add_column(ColumnDef::increments(name))
    }

    /// An auto-incrementing big integer primary key.
    pub fn big_increments(&mut self, name: &str) -> &mut ColumnBuilder {
        let mut def = ColumnDef::increments(name);
        def.kind = ColumnType::BigInteger;
        self.add_column(def)
    }

    /// `big_increments("id")`.
    pub fn id(&mut self) -> &mut ColumnBuilder {
        self.big_increments("id")
    }

    /// Variable length text of at most `length` characters (VARCHAR).
    pub fn string(&mut self, name: &str, length: u32) -> &mut ColumnBuilder {
        self.add_column(ColumnDef::new(name, ColumnType::String { length }))
    }

    /// Fixed length text (CHAR).
    pub fn char(&mut self, name: &str, length: u32) -> &mut ColumnBuilder {
        self.add_column(ColumnDef::new(name, ColumnType::Char { length }))
    }

    /// An exact number with `precision` digits, `scale` of them after the point.
    pub fn decimal(&mut self, name: &str, precision: u32, scale: u32) -> &mut ColumnBuilder {
        self.add_column(ColumnDef::new(
            name,
            ColumnType::Decimal { precision, scale },
        ))
    }

    /// Text limited to `values` (a CHECK constraint).
    pub fn enum_(&mut self, name: &str, values: &[&str]) -> &mut ColumnBuilder {
        let values = values.iter().map(|v| (*v).to_owned()).collect();
        self.add_column(ColumnDef::new(name, ColumnType::Enum(values)))
    }

    simple_columns! {
        /// Unbounded text.
        text => ColumnType::Text;
        /// Unbounded text (MEDIUMTEXT elsewhere).
        medium_text => ColumnType::MediumText;
        /// Unbounded text (LONGTEXT elsewhere).
        long_text => ColumnType::LongText;
        /// A 4-byte integer.
        integer => ColumnType::Integer;
        /// A 1-byte integer (SMALLINT on PostgreSQL).
        tiny_integer => ColumnType::TinyInteger;
        /// A 2-byte integer.
        small_integer => ColumnType::SmallInteger;
        /// A 3-byte integer (INTEGER on PostgreSQL).
        medium_integer => ColumnType::MediumInteger;
        /// An 8-byte integer.
        big_integer => ColumnType::BigInteger;
        /// A single precision float.
        float => ColumnType::Float;
        /// A double precision float.
        double => ColumnType::Double;
        /// A boolean.
        boolean => ColumnType::Boolean;
        /// A JSON document.
        json => ColumnType::Json;
        /// A binary JSON document (JSONB on PostgreSQL).
        jsonb => ColumnType::Jsonb;
        /// A date.
        date => ColumnType::Date;
        /// A date and time without time zone.
        datetime => ColumnType::DateTime;
        /// A time of day.
        time => ColumnType::Time;
        /// A point in time (TIMESTAMPTZ on PostgreSQL).
        timestamp => ColumnType::Timestamp;
        /// A point in time with time zone.
        timestamp_tz => ColumnType::TimestampTz;
        /// Binary data.
        binary => ColumnType::Binary;
        /// A UUID.
        uuid => ColumnType::Uuid;
    }

    unsigned_columns! {
        /// A non-negative 4-byte integer.
        unsigned_integer => ColumnType::Integer;
        /// A non-negative 1-byte integer.
        unsigned_tiny_integer => ColumnType::TinyInteger;
        /// A non-negative 2-byte integer.
        unsigned_small_integer => ColumnType::SmallInteger;
        /// A non-negative 3-byte integer.
        unsigned_medium_integer => ColumnType::MediumInteger;
        /// A non-negative 8-byte integer.
        unsigned_big_integer => ColumnType::BigInteger;
        /// A non-negative big integer meant to reference another table's `id`; chain
        /// `.constrained()` to add the foreign key.
        foreign_id => ColumnType::BigInteger;
    }

    /// `{name}_id` (unsigned big integer) and `{name}_type` (string) with an index on
    /// both, for polymorphic relations.
    pub fn morphs(&mut self, name: &str) {
        self.add_morphs(name, false, false);
    }

    /// [`Blueprint::morphs`] with both columns nullable (an optional polymorphic owner).
    pub fn nullable_morphs(&mut self, name: &str) {
        self.add_morphs(name, false, true);
    }

    /// [`Blueprint::morphs`] for owners keyed by UUID: `{name}_id` is a UUID column.
    pub fn uuid_morphs(&mut self, name: &str) {
        self.add_morphs(name, true, false);
    }

    /// [`Blueprint::uuid_morphs`] with both columns nullable.
    pub fn nullable_uuid_morphs(&mut self, name: &str) {
        self.add_morphs(name, true, true);
    }

    fn add_morphs(&mut self, name: &str, uuid: bool, nullable: bool) {
        let type_column = format!("{name}_type");
        let id_column = format!("{name}_id");
        let id = match uuid {
            true => self.uuid(&id_column),
            false => self.unsigned_big_integer(&id_column),
        };
        if nullable {
            id.nullable();
        }
        let kind = self.string(&type_column, 255);
        if nullable {
            kind.nullable();
        }
        self.index(&[type_column.as_str(), id_column.as_str()]);
    }

    /// Drops what [`Blueprint::morphs`] made: the index on both columns, then the
    /// columns.
    pub fn drop_morphs(&mut self, name: &str) {
        let type_column = format!("{name}_type");
        let id_column = format!("{name}_id");
        self.drop_index(&[type_column.as_str(), id_column.as_str()]);
        self.drop_columns(&[&type_column, &id_column]);
    }

    /// An IP address, v4 or v6, as text (`VARCHAR(45)`).
    pub fn ip_address(&mut self, name: &str) -> &mut ColumnBuilder {
        self.string(name, 45)
    }

    /// A MAC address as text (`VARCHAR(17)`).
    pub fn mac_address(&mut self, name: &str) -> &mut ColumnBuilder {
        self.string(name, 17)
    }

    /// Short text (TEXT: no smaller text type is kept apart here).
    pub fn tiny_text(&mut self, name: &str) -> &mut ColumnBuilder {
        self.text(name)
    }

    /// Nullable `created_at` and `updated_at` timestamps (same as `timestamps`: they are
    /// points in time, TIMESTAMPTZ on PostgreSQL, already).
    pub fn timestamps_tz(&mut self) {
        self.timestamps();
    }

    /// A nullable `deleted_at` (same as `soft_deletes`).
    pub fn soft_deletes_tz(&mut self) -> &mut ColumnBuilder {
        self.soft_deletes()
    }

    /// Nullable `created_at` and `updated_at` timestamps.
    pub fn timestamps(&mut self) {
        self.timestamp("created_at").nullable();
        self.timestamp("updated_at").nullable();
    }

    /// Nullable `created_at` and `updated_at` timestamps (same as `timestamps`).
    pub fn nullable_timestamps(&mut self) {
        self.timestamps();
    }

    /// A nullable `deleted_at` timestamp for soft deletes.
    pub fn soft_deletes(&mut self) -> &mut ColumnBuilder {
        self.timestamp("deleted_at").nullable()
    }

    /// A nullable `remember_token` VARCHAR(100).
    pub fn remember_token(&mut self) -> &mut ColumnBuilder {
        self.string("remember_token", 100).nullable()
    }

    fn add_index(&mut self, columns: &[&str], kind: IndexKind, name: Option<&str>) {
        let columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
        let name = name.map_or_else(
            || default_index_name(&self.table, &columns, kind),
            str::to_owned,
        );
        self.items
            .push(Item::Index(IndexDef::new(name, kind, columns)));
    }

    /// A composite primary key, named `{table}_{columns}_primary`.
    pub fn primary(&mut self, columns: &[&str]) {
        self.add_index(columns, IndexKind::Primary, None);
    }

    /// A unique index, named `{table}_{columns}_unique`.
    pub fn unique(&mut self, columns: &[&str]) {
        self.add_index(columns, IndexKind::Unique, None);
    }

    /// A plain index, named `{table}_{columns}_index`.
    pub fn index(&mut self, columns: &[&str]) {
        self.add_index(columns, IndexKind::Index, None);
    }

    /// A unique index with an explicit name.
    pub fn unique_named(&mut self, columns: &[&str], name: &str) {
        self.add_index(columns, IndexKind::Unique, Some(name));
    }

    /// A plain index with an explicit name.
    pub fn index_named(&mut self, columns: &[&str], name: &str) {
        self.add_index(columns, IndexKind::Index, Some(name));
    }

    /// A CHECK constraint: every row must satisfy `condition`, raw SQL written by the
    /// application (never user input), e.g. `table.check("votes >= 0")`. A row that
    /// breaks it is refused with `orm_core::Error::CheckViolation`. Added to an existing
    /// table, the rows already there must satisfy it (SQLite rebuilds the table).
    pub fn check(&mut self, condition: &str) {
        self.items.push(Item::Check(CheckDef::new(condition)));
    }

    /// A CHECK constraint with an explicit name, which [`Blueprint::drop_check`] takes.
    pub fn check_named(&mut self, condition: &str, name: &str) {
        self.items
            .push(Item::Check(CheckDef::named(name, condition)));
    }

    /// Drops the CHECK constraint named `name` (SQLite rebuilds the table).
    pub fn drop_check(&mut self, name: &str) {
        self.items.push(Item::DropCheck(name.to_owned()));
    }

    /// A foreign key from `column`; chain `.references(..).on(..)`.
    pub fn foreign(&mut self, column: &str) -> &mut ForeignKeyBuilder {
        self.foreign_columns(&[column])
    }

    /// A composite foreign key from `columns`.
    pub fn foreign_columns(&mut self, columns: &[&str]) -> &mut ForeignKeyBuilder {
        self.foreigns.push(ForeignKeyBuilder {
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            references: vec!["id".to_owned()],
            on: None,
            name: None,
            on_delete: None,
            on_update: None,
        });
        let index = self.foreigns.len() - 1;
        self.items.push(Item::Foreign(index));
        &mut self.foreigns[index]
    }

    /// Drops a column (SQLite rebuilds the table).
    pub fn drop_column(&mut self, name: &str) {
        self.items.push(Item::DropColumn(name.to_owned()));
    }

    /// Drops several columns.
    pub fn drop_columns(&mut self, names: &[&str]) {
        for name in names {
            self.drop_column(name);
        }
    }

    /// Renames a column.
    pub fn rename_column(&mut self, from: &str, to: &str) {
        self.items
            .push(Item::RenameColumn(from.to_owned(), to.to_owned()));
    }

    fn resolve(&self, index: IndexName<'_>, kind: IndexKind) -> String {
        match index {
            IndexName::Name(name) => name.to_owned(),
            IndexName::Columns(columns) => {
                let columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
                default_index_name(&self.table, &columns, kind)
            }
        }
    }

    /// Drops a plain index, by name or by columns.
    pub fn drop_index<'a>(&mut self, index: impl Into<IndexName<'a>>) {
        let name = self.resolve(index.into(), IndexKind::Index);
        self.items.push(Item::DropIndex(name));
    }

    /// Renames an index or unique index (Laravel's `renameIndex`). SQLite, which has no
    /// rename, drops the index and makes it again under the new name.
    pub fn rename_index(&mut self, from: &str, to: &str) {
        self.items
            .push(Item::RenameIndex(from.to_owned(), to.to_owned()));
    }

    /// Drops a unique index, by name or by columns.
    pub fn drop_unique<'a>(&mut self, index: impl Into<IndexName<'a>>) {
        let name = self.resolve(index.into(), IndexKind::Unique);
        self.items.push(Item::DropIndex(name));
    }

    /// Drops a foreign key, by name or by columns (`{table}_{columns}_foreign`).
    pub fn drop_foreign<'a>(&mut self, foreign: impl Into<IndexName<'a>>) {
        let name = match foreign.into() {
            IndexName::Name(name) => name.to_owned(),
            IndexName::Columns(columns) => {
                let columns: Vec<String> = columns.iter().map(|c| (*c).to_owned()).collect();
                default_foreign_key_name(&self.table, &columns)
            }
        };
        self.items.push(Item::DropForeign(name));
    }

    /// Drops the primary key (PostgreSQL looks its constraint name up).
    pub fn drop_primary(&mut self) {
        self.items.push(Item::DropPrimary(None));
    }

    /// Drops the primary key constraint named `name`.
    pub fn drop_primary_named(&mut self, name: &str) {
        self.items.push(Item::DropPrimary(Some(name.to_owned())));
    }

    /// Drops `created_at` and `updated_at`.
    pub fn drop_timestamps(&mut self) {
        self.drop_columns(&["created_at", "updated_at"]);
    }

    /// Drops `deleted_at`.
    pub fn drop_soft_deletes(&mut self) {
        self.drop_column("deleted_at");
    }

    /// Drops `remember_token`.
    pub fn drop_remember_token(&mut self) {
        self.drop_column("remember_token");
    }

    fn action(&self, action: Option<&String>) -> Result<Option<ForeignKeyAction>> {
        action
            .map(|a| {
                ForeignKeyAction::parse(a).ok_or_else(|| Error::InvalidForeignKeyAction {
                    table: self.table.clone(),
                    action: a.clone(),
                })
            })
            .transpose()
    }

    fn foreign_key(&self, builder: &ForeignKeyBuilder) -> Result<ForeignKeyDef> {
        let on = builder.on.clone().ok_or_else(|| Error::InvalidBlueprint {
            table: self.table.clone(),
            message: format!(
                "foreign key on {:?} needs the referenced table: call .on(\"table\")",
                builder.columns
            ),
        })?;
        let name = builder
            .name
            .clone()
            .unwrap_or_else(|| default_foreign_key_name(&self.table, &builder.columns));
        let mut fk = ForeignKeyDef::new(
            name,
            builder.columns.clone(),
            on,
            builder.references.clone(),
        );
        fk.on_delete = self.action(builder.on_delete.as_ref())?;
        fk.on_update = self.action(builder.on_update.as_ref())?;
        Ok(fk)
    }

    fn constrained_key(&self, column: &ColumnBuilder) -> Result<Option<ForeignKeyDef>> {
        let Some(constrained) = &column.constrained else {
            return Ok(None);
        };
        let name = &column.def.name;
        let table = match &constrained.table {
            Some(table) => table.clone(),
            None => orm_inflector::pluralize(name.strip_suffix("_id").unwrap_or(name)),
        };
        let columns = vec![name.clone()];
        let mut fk = ForeignKeyDef::new(
            default_foreign_key_name(&self.table, &columns),
            columns,
            table,
            vec!["id".to_owned()],
        );
        fk.on_delete = self.action(constrained.on_delete.as_ref())?;
        fk.on_update = self.action(constrained.on_update.as_ref())?;
        Ok(Some(fk))
    }

    /// The table to create, for `Schema::create`.
    pub fn to_table_def(&self) -> Result<TableDef> {
        let mut table = TableDef::new(self.table.clone());
        for item in &self.items {
            match item {
                Item::Column(i) => {
                    let column = &self.columns[*i];
                    if column.def.change {
                        return Err(self.invalid("`change()` is for Schema::table, not create"));
                    }
                    table.columns.push(column.def.clone());
                    if let Some(fk) = self.constrained_key(column)? {
                        table.foreign_keys.push(fk);
                    }
                }
                Item::Foreign(i) => table
                    .foreign_keys
                    .push(self.foreign_key(&self.foreigns[*i])?),
                Item::Index(index) => table.indexes.push(index.clone()),
                Item::Check(check) => table.checks.push(check.clone()),
                _ => {
                    return Err(
                        self.invalid("dropping or renaming is for Schema::table, not create")
                    )
                }
            }
        }
        Ok(table)
    }

    /// The changes, in order, for `Schema::table`. A dropped primary key without a
    /// name is given an empty name, for the schema to look up.
    pub fn to_alter_commands(&self) -> Result<Vec<AlterCommand>> {
        let mut commands = Vec::new();
        for item in &self.items {
            match item {
                Item::Column(i) => {
                    let column = &self.columns[*i];
                    commands.push(if column.def.change {
                        AlterCommand::ChangeColumn(column.def.clone())
                    } else {
                        AlterCommand::AddColumn(column.def.clone())
                    });
                    if let Some(fk) = self.constrained_key(column)? {
                        commands.push(AlterCommand::AddForeign(fk));
                    }
                }
                Item::Foreign(i) => commands.push(AlterCommand::AddForeign(
                    self.foreign_key(&self.foreigns[*i])?,
                )),
                Item::Index(index) => commands.push(AlterCommand::AddIndex(index.clone())),
                Item::Check(check) => commands.push(AlterCommand::AddCheck(check.clone())),
                Item::DropCheck(name) => commands.push(AlterCommand::DropCheck(name.clone())),
                Item::DropColumn(name) => commands.push(AlterCommand::DropColumn(name.clone())),
                Item::RenameColumn(from, to) => commands.push(AlterCommand::RenameColumn {
                    from: from.clone(),
                    to: to.clone(),
                }),
                Item::DropIndex(name) => commands.push(AlterCommand::DropIndex(name.clone())),
                Item::RenameIndex(from, to) => commands.push(AlterCommand::RenameIndex {
                    from: from.clone(),
                    to: to.clone(),
                }),
                Item::DropPrimary(name) => {
                    commands.push(AlterCommand::DropPrimary(name.clone().unwrap_or_default()))
                }
                Item::DropForeign(name) => commands.push(AlterCommand::DropForeign(name.clone())),
            }
        }
        Ok(commands)
    }

    fn invalid(&self, message: &str) -> Error {
        Error::InvalidBlueprint {
            table: self.table.clone(),
            message: message.to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_foreign_key_action_is_a_typed_error() {
        let mut table = Blueprint::new("posts");
        table.integer("user_id");
        table.foreign("user_id").on("users").on_delete("explode");
        assert!(matches!(
            table.to_table_def(),
            Err(Error::InvalidForeignKeyAction { .. })
        ));
    }

    #[test]
    fn default_names() {
        let mut table = Blueprint::new("posts");
        table.foreign_id("user_id").constrained();
        table.unique(&["a", "b"]);
        table.morphs("taggable");
        let def = table.to_table_def().unwrap();
        assert_eq!(def.foreign_keys[0].name, "posts_user_id_foreign");
        assert_eq!(def.foreign_keys[0].references_table, "users");
        assert_eq!(def.indexes[0].name, "posts_a_b_unique");
        assert_eq!(def.indexes[1].name, "posts_taggable_type_taggable_id_index");
    }
}
