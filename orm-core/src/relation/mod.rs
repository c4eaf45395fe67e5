//! Relations: the metadata `#[derive(Model)]` emits for relation fields, the containers
//! that hold loaded relations, relation queries (`user.posts()`), eager loading (one
//! `IN (...)` query per level), existence subqueries (`has`, `where_has`) and pivot
//! operations (`attach`, `detach`, `sync`, `toggle`).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Deref;
use std::sync::Arc;

use crate::backend::Connection;
use crate::error::{Error, InvalidQueryKind, Result};
use crate::model::{Model, ModelMeta, RelationKind, RelationMeta};
use crate::query::{
    Aggregate, AggregateRequest, Constraint, EagerRelation, Ident, LoadPlan, Query,
};
use crate::value::now;

use crate::row::{Layout, Record};
use crate::value::{Value, ValueRef};

mod containers;
mod eager;
mod existence;
mod model_relations;
mod morph;
mod writes;

pub use containers::*;
pub use eager::*;
pub use existence::constrain;
use existence::*;
pub use model_relations::ModelRelations;
pub use morph::*;
pub use writes::*;

fn qualify(table: &str, column: &str) -> Ident {
    Ident::Owned(format!("{table}.{column}"))
}
