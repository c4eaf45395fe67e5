//! `SqlCache`: a model's rendered statements, per backend and insert shape, made once.

use super::*;

use crate::dialect::BACKEND_SLOTS;

#[derive(Debug, Clone, Copy)]
#[repr(usize)]
pub(super) enum Statement {
    Find,
    FindWithTrashed,
    InsertWithoutKey,
    InsertWithKey,
    Update,
    Delete,
    Exists,
}
pub(super) const STATEMENT_KINDS: usize = 7;

/// The SQL text of a model's fixed-shape statements (find by key, insert, update,
/// delete), rendered once per backend and reused.
#[doc(hidden)]
#[derive(Debug)]
pub struct SqlCache {
    pub(super) slots: [[OnceLock<String>; STATEMENT_KINDS]; BACKEND_SLOTS],
    pub(super) qualified_columns: OnceLock<Vec<String>>,
    pub(super) qualified_deleted_at: OnceLock<String>,
    /// What `Model::query()` returns (built once, cloned per call).
    pub(super) default_query: OnceLock<Query<()>>,
    /// The default query's select list, shared by every clone of it.
    pub(super) default_columns: OnceLock<Vec<SelectItem>>,
    /// What the model's queries carry (see [`ModelInfo`]).
    pub(super) model_info: OnceLock<ModelInfo>,
    /// The default query's `SELECT`, per backend (`None`: it has bindings, not cached).
    pub(super) default_select: [OnceLock<Option<String>>; BACKEND_SLOTS],
    /// Statements whose shape varies (multi-row and default-omitting `INSERT`s, `UPDATE`s
    /// of the changed columns), by shape, most recent last.
    pub(super) shapes: Mutex<Vec<(Shape, Arc<str>)>>,
}

/// The shape of a varying statement, for [`SqlCache::shapes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Shape {
    /// An `INSERT` of `rows` rows without the generated key (`generated`) and without the
    /// default columns in `omitted` (a bit per column position).
    Insert {
        slot: usize,
        rows: usize,
        generated: bool,
        omitted: u64,
    },
    /// An `UPDATE` of the columns in `set` (a bit per column position).
    Update { slot: usize, set: u64 },
}

/// Distinct statement shapes kept per model (then the cache starts over).
pub(super) const SHAPE_CACHE_CAPACITY: usize = 32;

/// The columns of a model insert: which are left out (and returned).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct InsertShape {
    /// The auto-increment key is left to the database.
    pub(super) generated: bool,
    /// Default columns left to the database (a bit per column position).
    pub(super) omitted: u64,
}

impl InsertShape {
    pub(super) const FULL: InsertShape = InsertShape {
        generated: false,
        omitted: 0,
    };

    pub(super) fn leaves_out(&self, meta: &ModelMeta, column: usize) -> bool {
        (self.generated && column == meta.primary_key_index)
            || (column < 64 && self.omitted & (1 << column) != 0)
    }

    pub(super) fn returns_anything(&self) -> bool {
        self.generated || self.omitted != 0
    }

    /// How many columns the insert returns (those it leaves out).
    #[inline]
    pub(super) fn returned_width(&self, meta: &ModelMeta) -> usize {
        let key = match meta.primary_key_index {
            i if self.generated && i < 64 => 1 << i,
            _ => 0,
        };
        usize::from(self.generated) + (self.omitted & !key).count_ones() as usize
    }

    /// The shape for one model's values (in column order).
    #[inline]
    pub(super) fn of(meta: &ModelMeta, values: &[Bind<'_>]) -> InsertShape {
        let is_null = |i: usize| values[i].is_null();
        let mut omitted = 0;
        for &i in meta.defaults {
            if is_null(i) {
                omitted |= 1 << i;
            }
        }
        InsertShape {
            generated: meta.incrementing && is_null(meta.primary_key_index),
            omitted,
        }
    }
}

impl SqlCache {
    /// An empty cache (usable in a `static`).
    #[allow(clippy::new_without_default)]
    pub const fn new() -> SqlCache {
        SqlCache {
            slots: [const { [const { OnceLock::new() }; STATEMENT_KINDS] }; BACKEND_SLOTS],
            qualified_columns: OnceLock::new(),
            qualified_deleted_at: OnceLock::new(),
            default_query: OnceLock::new(),
            model_info: OnceLock::new(),
            default_columns: OnceLock::new(),
            default_select: [const { OnceLock::new() }; BACKEND_SLOTS],
            shapes: Mutex::new(Vec::new()),
        }
    }

    /// A statement of a varying shape, rendered once per shape and then reused.
    pub(super) fn shape_sql(
        &self,
        shape: Shape,
        render: impl FnOnce() -> Result<String>,
    ) -> Result<Arc<str>> {
        let mut cache = self.shapes.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, sql)) = cache.iter().find(|(k, _)| *k == shape) {
            return Ok(Arc::clone(sql));
        }
        let sql: Arc<str> = render()?.into();
        if cache.len() >= SHAPE_CACHE_CAPACITY {
            cache.clear();
        }
        cache.push((shape, Arc::clone(&sql)));
        Ok(sql)
    }

    /// `INSERT INTO table (columns) VALUES (...), (...) [RETURNING ...]` for `rows` rows
    /// of one shape, rendered once per backend, row count and shape, then reused.
    pub(super) fn insert_many_sql(
        &self,
        meta: &ModelMeta,
        dialect: &'static dyn Dialect,
        rows: usize,
        shape: InsertShape,
    ) -> Result<Arc<str>> {
        let key = Shape::Insert {
            slot: crate::dialect::cache_slot(dialect),
            rows,
            generated: shape.generated,
            omitted: shape.omitted,
        };
        self.shape_sql(key, || {
            let mut w = SqlWriter::new(dialect);
            render_model_insert(&mut w, meta, rows, shape);
            Ok(w.finish()?.0)
        })
    }

    /// The rendered `SELECT` of the model's default query when `parts` are still
    /// exactly its clauses; `None` otherwise (the caller renders as usual).
    pub(crate) fn default_select_sql(
        &'static self,
        parts: &Parts,
        dialect: &'static dyn Dialect,
    ) -> Option<&'static str> {
        let template = self.default_query.get()?;
        // A query cloned from the template and left unchanged still shares its clauses.
        if !std::ptr::eq(template.parts(), parts) && template.parts() != parts {
            return None;
        }
        self.default_select[crate::dialect::cache_slot(dialect)]
            .get_or_init(|| {
                let mut writer = SqlWriter::new(dialect);
                template.parts().clone().render_select(&mut writer);
                match writer.finish() {
                    Ok((sql, binds)) if binds.is_empty() => Some(sql),
                    _ => None,
                }
            })
            .as_deref()
    }

    pub(super) fn get(
        &self,
        dialect: &'static dyn Dialect,
        statement: Statement,
        render: impl FnOnce(&mut SqlWriter),
    ) -> Result<&str> {
        let slot = &self.slots[crate::dialect::cache_slot(dialect)][statement as usize];
        if let Some(sql) = slot.get() {
            return Ok(sql);
        }
        let mut writer = SqlWriter::new(dialect);
        render(&mut writer);
        let (sql, _) = writer.finish()?;
        Ok(slot.get_or_init(|| sql))
    }
}

impl crate::query::DefaultSelect for SqlCache {
    fn default_select_sql(
        &'static self,
        parts: &Parts,
        dialect: &'static dyn Dialect,
    ) -> Option<&'static str> {
        SqlCache::default_select_sql(self, parts, dialect)
    }
}
