//! Eager loading: the tree of paths a query asked for, and how each hop is fetched.
//!
//! A query keeps its `related(..)` paths as a tree of [`LoadNode`]s (the same path twice is one
//! branch). Joined hops become `LEFT JOIN`s of the statement that loads their owners and are
//! decoded from the same rows; each selectin hop is one more statement over the keys of the
//! rows loaded so far (`= ANY($1)` on PostgreSQL, chunked `IN` lists elsewhere). Every hop's
//! rows are fetched once, loaded further, and only then handed out to their owners. A text key
//! that the database matched loosely (under its collation) costs one more statement, which asks
//! it which owner it matched (see `loose.rs`).
//!
//! `plan.rs` builds the tree, `joined.rs` and `run.rs` fetch it, `group.rs` ties rows to
//! their owners, `loose.rs` resolves loose keys and `sql.rs` renders each hop's statement.

use std::any::Any;
use std::collections::hash_map::Entry;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use foldhash::{HashMap, HashMapExt};
use sea_query::{Alias, BinOper, Expr, ExprTrait, JoinType, Query, SelectStatement, Value};

use super::{
    MAX_LOAD_DEPTH, Path, RelatedValue, RelationField, RelationKind, RelationMeta, Strategy, column_index, downcast, key_column_meta,
};
use crate::database::{Database, Held};
use crate::dialect::{self, Dialect, Paging, Statement};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::model::{Model, ModelMeta};
use crate::pending::BoxFuture;
use crate::types::{FieldType, RowCursor, RowResult};

mod group;
mod joined;
mod loose;
mod plan;
mod run;
mod sql;

use group::*;
use joined::*;
use loose::*;
use plan::*;
use run::*;

pub(crate) use group::LinkKey;
pub(crate) use joined::{add_joins, decode_joined};
pub use plan::LoadNode;
pub(crate) use plan::{add_path, joins_collection};
pub use run::{Loader, RelationLoader, Session};
pub(crate) use run::{fetch, load_below};
pub(crate) use sql::selectin_statements;
