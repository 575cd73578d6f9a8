//! Relationships between models: what `#[duo(has_many(..))]`, `belongs_to`, `has_one` and
//! `many_to_many` declare, the [`Related`] field that eager loading fills, the typed
//! [`Relation`] handles that name a relationship (or a path of them) in `related(..)` and in
//! filters, and the [`Association`] helpers (`alice.posts().create(..)`).
//!
//! Submodules: `filter` writes relationship conditions as correlated subqueries, `load`
//! runs eager loading, `assoc` holds the per-instance helpers.

use std::any::Any;
use std::marker::PhantomData;
use std::sync::OnceLock;

use crate::error::{Error, InvalidQueryKind, Result};
use crate::model::{ColumnMeta, ForeignKeyMeta, Model, ModelMeta, ReferentialAction, SetOn};

pub(crate) mod assoc;
pub(crate) mod filter;
pub(crate) mod load;
pub(crate) mod save;

pub use assoc::Association;
pub use filter::RelatedCount;
pub use load::Loader;
pub use save::MAX_GRAPH_DEPTH;

/// How deep an eager-loading path may go (`users → posts → comments → likes`).
pub const MAX_LOAD_DEPTH: usize = 3;

/// The most hops a [`Relation`] path holds (filters may use one more than loading).
const MAX_HOPS: usize = MAX_LOAD_DEPTH + 1;

pub use duo_orm_schema::RelationKind;

/// What saving an owner does with rows that were loaded into its `has_many` or `has_one`
/// field and that the field no longer holds (removed from the `Vec`, or replaced):
/// `#[duo(has_many(Post, orphans = delete))]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Orphans {
    /// The save fails with [`Error::Relationship`] and writes nothing: removing a row from a
    /// `Vec` says nothing about whether it should stay in the database. The default.
    #[default]
    Refuse,
    /// The rows are deleted, one by one with their hooks and cascades, as `delete()` does
    /// (DuoORM's `delete-orphan`).
    Delete,
    /// The rows are left as they are (still pointing at the owner).
    Keep,
}

/// The join table of a `many_to_many` relationship.
pub struct ThroughMeta {
    /// The join table's name.
    pub table: fn() -> &'static str,
    /// Its column holding the owner's key.
    pub owner_column: fn() -> &'static str,
    /// Its column holding the target's key.
    pub target_column: fn() -> &'static str,
    /// The join table's own model (`through = PostTag`), or `None` for a bare table
    /// (`through = "post_tags"`), which `create_all` creates from the two keys.
    pub model: Option<fn() -> &'static ModelMeta>,
    #[doc(hidden)]
    pub table_meta: OnceLock<&'static ModelMeta>,
}

/// One relationship of a model, as declared. Written by `#[derive(Model)]`.
pub struct RelationMeta {
    /// The field name (`posts`).
    pub name: &'static str,
    /// What kind of relationship it is.
    pub kind: RelationKind,
    /// The model declaring it.
    pub owner: fn() -> &'static ModelMeta,
    /// The related model.
    pub target: fn() -> &'static ModelMeta,
    /// The owner's column the link starts from: its key (`has_*`, `many_to_many`) or its
    /// foreign key (`belongs_to`).
    pub owner_column: fn() -> &'static str,
    /// The target's column matching it: its foreign key (`has_*`) or its key (`belongs_to`,
    /// `many_to_many`).
    pub target_column: fn() -> &'static str,
    /// The join table of a `many_to_many`.
    pub through: Option<ThroughMeta>,
    /// `cascade`: deleting an owner through the ORM first deletes its related rows one by one,
    /// with their hooks (a `many_to_many` deletes only the join rows).
    pub cascade: bool,
    /// What saving an owner does with rows loaded into a `has_many`/`has_one` field that it no
    /// longer holds.
    pub orphans: Orphans,
    #[doc(hidden)]
    pub loader: &'static dyn Loader,
}

impl std::fmt::Debug for RelationMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelationMeta")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("owner", &(self.owner)().name)
            .field("target", &(self.target)().name)
            .field("cascade", &self.cascade)
            .field("orphans", &self.orphans)
            .finish()
    }
}

impl RelationMeta {
    /// The owner's column the relationship starts from (a join table's owner column holds its
    /// values, of its type).
    pub(crate) fn owner_column_meta(&self) -> &'static ColumnMeta {
        let owner = (self.owner)();
        &owner.columns[column_index(owner, (self.owner_column)())]
    }

    /// The target's column the relationship ends at (without a join table: the column holding
    /// the owner's key).
    pub(crate) fn target_column_meta(&self) -> &'static ColumnMeta {
        let target = (self.target)();
        &target.columns[column_index(target, (self.target_column)())]
    }

    /// `User.posts`, for messages.
    pub fn qualified_name(&self) -> String {
        format!("{}.{}", (self.owner)().name, self.name)
    }

    /// The join table described as a model (two key columns, both foreign keys with
    /// `ON DELETE CASCADE`), for `create_all`: its own model's when it has one.
    pub fn through_table(&'static self) -> Option<&'static ModelMeta> {
        let through = self.through.as_ref()?;
        if let Some(model) = through.model {
            return Some(model());
        }
        Some(through.table_meta.get_or_init(|| {
            let key_column = |side: fn() -> &'static ModelMeta, name: &'static str| {
                let key = key_column_meta(side());
                ColumnMeta {
                    field: name,
                    name,
                    sql_type: key.sql_type,
                    nullable: false,
                    primary_key: true,
                    auto_increment: false,
                    unique: false,
                    index: false,
                    default: None,
                    max_length: key.max_length,
                    references: Some(ForeignKeyMeta {
                        target: side,
                        column: None,
                        on_delete: Some(ReferentialAction::Cascade),
                        on_update: None,
                    }),
                    guarded: false,
                    set_on: SetOn::NEVER,
                    from_json: key.from_json,
                }
            };
            let columns = vec![key_column(self.owner, (through.owner_column)()), key_column(self.target, (through.target_column)())];
            let table = (through.table)();
            // Built once per relationship and kept for the life of the program, like the
            // static metadata of a model.
            Box::leak(Box::new(ModelMeta {
                name: table,
                table,
                columns: Box::leak(columns.into_boxed_slice()),
                primary_key: &[0, 1],
                version: None,
                indexes: &[],
                relations: &[],
            }))
        }))
    }
}

/// The single primary-key column of a model (relationships link single-column keys; the
/// derive refuses others at compile time).
pub(crate) fn key_column_meta(meta: &'static ModelMeta) -> &'static ColumnMeta {
    &meta.columns[meta.primary_key[0]]
}

/// The name of a model's single primary-key column (used by generated relationship metadata).
#[doc(hidden)]
pub fn key_column(meta: &'static ModelMeta) -> &'static str {
    key_column_meta(meta).name
}

/// The position of column `name` in `meta`'s decode order.
pub(crate) fn column_index(meta: &ModelMeta, name: &str) -> usize {
    meta.columns.iter().position(|c| c.name == name).unwrap_or_else(|| {
        // The derive resolves every relationship column through a typed column handle.
        unreachable!("relationship column `{name}` is not a column of {}", meta.name)
    })
}

/// A relationship field: `posts: Related<Vec<Post>>`, `author: Related<User>`,
/// `profile: Related<Option<Profile>>`. It is not a column: rows come back with it *not
/// loaded*, and [`get`](Related::get) says so with [`Error::NotLoaded`] rather than pretending
/// there are no related rows. Eager loading (`User::related(|u| u.posts)`) or the association
/// helper (`user.posts().get()`) fill it.
///
/// # Saving what it holds
///
/// Saving the owner saves what the field holds (see the guide's "Saving object graphs"):
/// rows [assigned](Related::loaded) by the program are written, rows loaded from the database
/// are written only when they were changed. To know that, the field remembers the rows as
/// stored the first time it hands them out mutably ([`get_mut`](Related::get_mut),
/// [`set`](Related::set), [`take`](Related::take)); reading them costs nothing.
pub struct Related<T> {
    value: Option<T>,
    relation: Option<&'static RelationMeta>,
    stored: Option<Stored<T>>,
}

/// The rows of a relationship as the database holds them: known for a field that eager
/// loading (or a save) filled, so that a save writes only what changed.
struct Stored<T> {
    /// The column values of every row the field holds, as `image` reads them.
    image: fn(&T) -> Vec<Vec<sea_query::Value>>,
    /// Which owner the rows were loaded for ([`owner_identity`]): a field copied into another
    /// row (a clone, an assignment) holds rows stored for someone else, so for its new owner
    /// they count as assigned.
    owner: u64,
    /// Taken the first time the rows are handed out mutably (`None`: never changed). A boxed
    /// slice: every loaded field carries this, and most are never changed.
    rows: Option<Box<[Vec<sea_query::Value>]>>,
}

impl<T> Clone for Stored<T> {
    fn clone(&self) -> Self {
        Stored { image: self.image, rows: self.rows.clone(), owner: self.owner }
    }
}

impl<T> Related<T> {
    /// Not loaded.
    pub const fn not_loaded() -> Self {
        Related { value: None, relation: None, stored: None }
    }

    /// Not loaded, naming the relationship in the error a read gives.
    #[doc(hidden)]
    pub const fn unloaded(relation: &'static RelationMeta) -> Self {
        Related { value: None, relation: Some(relation), stored: None }
    }

    /// Loaded with `value`, assigned by the program: saving the owner writes it (inserting
    /// rows that have no key yet and filling the foreign keys that link them).
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # #[derive(Model, Debug, Clone)] #[duo(table = "users")]
    /// # struct User { #[duo(primary_key)] id: i64, name: String,
    /// #   #[duo(has_many(Post, foreign_key = author_id))] posts: Related<Vec<Post>> }
    /// # #[derive(Model, Debug, Clone)] #[duo(table = "posts")]
    /// # struct Post { #[duo(primary_key)] id: i64, author_id: i64, title: String }
    /// let post = |title: &str| Post { id: 0, author_id: 0, title: title.into() };
    /// let alice = User {
    ///     id: 0,
    ///     name: "alice".into(),
    ///     posts: Related::loaded(vec![post("Hello"), post("Again")]),
    /// };
    /// // alice.save() inserts alice, then both posts with author_id = alice.id.
    /// # let _ = alice;
    /// ```
    pub fn loaded(value: T) -> Self {
        Related { value: Some(value), relation: None, stored: None }
    }

    /// Loaded with `value` as the database holds it (eager loading, or after a save).
    pub(crate) fn from_database(
        value: T,
        relation: &'static RelationMeta,
        image: fn(&T) -> Vec<Vec<sea_query::Value>>,
        owner: u64,
    ) -> Self {
        Related { value: Some(value), relation: Some(relation), stored: Some(Stored { image, rows: None, owner }) }
    }

    /// The rows a save must write, mutably, with the column values of the rows the database
    /// held when the field was loaded from it and changed (`None`: assigned by the program,
    /// nothing known). `None` when there is nothing to write.
    /// `owner` is the [`owner_identity`] of the row holding the field.
    pub(crate) fn rows_to_save(&mut self, owner: u64) -> Option<(&mut T, Option<&[Vec<sea_query::Value>]>)> {
        if !self.needs_save(owner) {
            return None;
        }
        // Rows remembered for another owner say nothing about this one's.
        let stored = self.stored.as_ref().filter(|stored| stored.owner == owner).and_then(|stored| stored.rows.as_deref());
        Some((self.value.as_mut()?, stored))
    }

    /// Marks the rows as the database now holds them for `owner` (after a save wrote them).
    pub(crate) fn mark_stored(&mut self, relation: &'static RelationMeta, image: fn(&T) -> Vec<Vec<sea_query::Value>>, owner: u64) {
        self.relation = Some(relation);
        self.stored = Some(Stored { image, rows: None, owner });
    }

    /// Whether a save of `owner` (its [`owner_identity`]) has something to write here: rows
    /// assigned, changed, or loaded for another owner.
    pub(crate) fn needs_save(&self, owner: u64) -> bool {
        self.value.is_some() && !matches!(self.stored, Some(Stored { rows: None, owner: loaded_for, .. }) if loaded_for == owner)
    }

    /// Takes the rows out without remembering them (loading moves rows between copies of an
    /// owner).
    pub(crate) fn take_loaded(&mut self) -> Option<T> {
        self.value.take()
    }

    /// Remembers the rows as stored before they are first handed out mutably.
    fn remember(&mut self) {
        if let (Some(stored), Some(value)) = (&mut self.stored, &self.value)
            && stored.rows.is_none()
        {
            stored.rows = Some((stored.image)(value).into_boxed_slice());
        }
    }

    /// Whether the related rows were loaded.
    pub fn is_loaded(&self) -> bool {
        self.value.is_some()
    }

    /// Whether they were not (for `#[serde(skip_serializing_if = "Related::is_not_loaded")]`).
    pub fn is_not_loaded(&self) -> bool {
        self.value.is_none()
    }

    /// The related rows, or [`Error::NotLoaded`] when they were not loaded.
    pub fn get(&self) -> Result<&T> {
        self.value.as_ref().ok_or_else(|| self.not_loaded_error())
    }

    /// The related rows, mutably. Saving the owner then writes the rows that changed.
    pub fn get_mut(&mut self) -> Result<&mut T> {
        self.remember();
        match self.value {
            Some(ref mut value) => Ok(value),
            None => Err(self.not_loaded_error()),
        }
    }

    /// The related rows, moved out.
    pub fn into_inner(self) -> Result<T> {
        match self.value {
            Some(value) => Ok(value),
            None => Err(self.not_loaded_error()),
        }
    }

    /// Replaces the related rows (and marks them loaded): saving the owner writes them, as
    /// for [`loaded`](Self::loaded). Rows loaded from the database that are no longer held
    /// are orphans (see the guide's "Saving object graphs").
    pub fn set(&mut self, value: T) {
        self.remember();
        self.value = Some(value);
    }

    /// Takes the related rows out, leaving the field not loaded (a save leaves a relationship
    /// that is not loaded alone).
    pub fn take(&mut self) -> Option<T> {
        self.remember();
        self.value.take()
    }

    fn not_loaded_error(&self) -> Error {
        match self.relation {
            Some(relation) => Error::NotLoaded { model: (relation.owner)().name, relation: relation.name },
            None => Error::NotLoaded { model: "the model", relation: "this relationship" },
        }
    }
}

impl<T> Default for Related<T> {
    fn default() -> Self {
        Self::not_loaded()
    }
}

impl<T: Clone> Clone for Related<T> {
    fn clone(&self) -> Self {
        Related { value: self.value.clone(), relation: self.relation, stored: self.stored.clone() }
    }
}

impl<T: PartialEq> PartialEq for Related<T> {
    fn eq(&self, other: &Self) -> bool {
        self.value == other.value
    }
}

impl<T: std::fmt::Debug> std::fmt::Debug for Related<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(value) => f.debug_tuple("Loaded").field(value).finish(),
            None => f.write_str("NotLoaded"),
        }
    }
}

/// Loaded rows serialize as themselves; a relationship that was not loaded as `null`.
impl<T: serde::Serialize> serde::Serialize for Related<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match &self.value {
            Some(value) => value.serialize(serializer),
            None => serializer.serialize_none(),
        }
    }
}

/// What a [`Related`] field holds: `Vec<T>` (collections), `Option<T>` (a `has_one`, or a
/// `belongs_to` through a nullable foreign key) or `T` (a required `belongs_to`).
pub trait RelatedValue<T>: Sized + Send + 'static {
    /// Builds the value from the related rows found for one owner.
    fn from_rows(rows: Vec<T>, relation: &'static RelationMeta) -> Result<Self>;
    /// The rows it holds.
    fn into_rows(self) -> Vec<T>;
    /// The rows it holds, borrowed.
    fn rows(&self) -> Vec<&T>;
    /// The rows it holds, borrowed mutably.
    fn rows_mut(&mut self) -> Vec<&mut T>;
}

impl<T: Send + 'static> RelatedValue<T> for Vec<T> {
    fn from_rows(rows: Vec<T>, _: &'static RelationMeta) -> Result<Self> {
        Ok(rows)
    }
    fn into_rows(self) -> Vec<T> {
        self
    }
    fn rows(&self) -> Vec<&T> {
        self.iter().collect()
    }
    fn rows_mut(&mut self) -> Vec<&mut T> {
        self.iter_mut().collect()
    }
}

impl<T: Send + 'static> RelatedValue<T> for Option<T> {
    fn from_rows(rows: Vec<T>, _: &'static RelationMeta) -> Result<Self> {
        Ok(rows.into_iter().next())
    }
    fn into_rows(self) -> Vec<T> {
        self.into_iter().collect()
    }
    fn rows(&self) -> Vec<&T> {
        self.iter().collect()
    }
    fn rows_mut(&mut self) -> Vec<&mut T> {
        self.iter_mut().collect()
    }
}

impl<T: Model> RelatedValue<T> for T {
    fn from_rows(rows: Vec<T>, relation: &'static RelationMeta) -> Result<Self> {
        // A required `belongs_to` whose row is missing: only possible without a foreign-key
        // constraint in the database.
        rows.into_iter().next().ok_or(Error::NotFound { model: (relation.target)().name })
    }
    fn into_rows(self) -> Vec<T> {
        vec![self]
    }
    fn rows(&self) -> Vec<&T> {
        vec![self]
    }
    fn rows_mut(&mut self) -> Vec<&mut T> {
        vec![self]
    }
}

/// One relationship field of a model, as a type: what the generic loader needs. Implemented
/// by `#[derive(Model)]` on a hidden marker per relationship.
#[doc(hidden)]
pub trait RelationField: Send + Sync + 'static {
    type Owner: Model;
    type Target: Model;
    type Value: RelatedValue<Self::Target>;
    /// The owner's key type, which the join table of a `many_to_many` holds.
    type OwnerKey: crate::types::FieldType;
    fn relation() -> &'static RelationMeta;
    fn slot(owner: &mut Self::Owner) -> &mut Related<Self::Value>;
    fn slot_ref(owner: &Self::Owner) -> &Related<Self::Value>;
    /// A copy of a related row for a second owner (`belongs_to` and `many_to_many` share
    /// rows); `None` for relationships whose rows belong to one owner.
    fn share(row: &Self::Target) -> Option<Self::Target>;
}

/// Kinds of relationships as types, so that `attach` exists only on many-to-many helpers and
/// `create` only where a related row can be made through its owner.
pub mod kind {
    /// `has_many`.
    #[derive(Debug)]
    pub struct HasMany;
    /// `has_one`.
    #[derive(Debug)]
    pub struct HasOne;
    /// `belongs_to`.
    #[derive(Debug)]
    pub struct BelongsTo;
    /// `many_to_many`.
    #[derive(Debug)]
    pub struct ManyToMany;
}

/// How eager loading fetches one hop of a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// One more query per hop: `WHERE fk = ANY($1)` with one array parameter on PostgreSQL,
    /// `IN (…)` lists chunked within the parameter limit elsewhere. The default for
    /// collections.
    Selectin,
    /// A `LEFT JOIN` in the query that loads the owners. The default, and the only strategy,
    /// for to-one hops; for a collection only on a single-hop path.
    Joined,
}

/// A relationship of `O` leading to `T`, or a path of them (`users → posts → comments`): what
/// `related(..)` loads and what relationship filters (`exists`, `any`, `all`, `count`) test.
///
/// Get one from the typed handles: `User::related(|u| u.posts)`, a path with
/// `|u| u.posts.then(|p| p.comments)` or [`path!`](crate::path).
pub struct Relation<O, T> {
    hops: [Option<&'static RelationMeta>; MAX_HOPS],
    /// Hops asked for; more than `MAX_HOPS` means the path overflowed (an error when used).
    len: usize,
    strategy: Option<Strategy>,
    _marker: PhantomData<fn() -> (O, T)>,
}

impl<O, T> Clone for Relation<O, T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<O, T> Copy for Relation<O, T> {}

impl<O, T> std::fmt::Debug for Relation<O, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relation").field("path", &self.path_name()).field("strategy", &self.strategy).finish()
    }
}

impl<O, T> Relation<O, T> {
    #[doc(hidden)]
    pub const fn new(relation: &'static RelationMeta) -> Self {
        Relation { hops: [Some(relation), None, None, None], len: 1, strategy: None, _marker: PhantomData }
    }

    /// The path continued by a relationship of `T`: `u.posts.then(|p| p.comments)`.
    pub fn then<U>(self, next: impl FnOnce(&T::Columns) -> Relation<T, U>) -> Relation<O, U>
    where
        T: Model,
    {
        self.hop(next(T::columns()))
    }

    /// [`then`](Self::then) with the next relationship given directly (what `path!` writes).
    #[doc(hidden)]
    pub fn hop<U>(self, next: Relation<T, U>) -> Relation<O, U> {
        let mut path = Relation { hops: self.hops, len: self.len, strategy: self.strategy, _marker: PhantomData };
        for relation in next.hops() {
            if path.len < MAX_HOPS {
                path.hops[path.len] = Some(relation);
            }
            path.len += 1;
        }
        path.strategy = self.strategy.or(next.strategy);
        path
    }

    /// Loads this path with one query per hop (see [`Strategy::Selectin`]).
    pub fn selectin(mut self) -> Self {
        self.strategy = Some(Strategy::Selectin);
        self
    }

    /// Loads this path with joins (see [`Strategy::Joined`]).
    pub fn joined(mut self) -> Self {
        self.strategy = Some(Strategy::Joined);
        self
    }

    /// `posts.comments`.
    pub fn path_name(&self) -> String {
        let mut names: Vec<&str> = self.hops().map(|r| r.name).collect();
        if self.len > MAX_HOPS {
            names.push("…");
        }
        names.join(".")
    }

    pub(crate) fn hops(&self) -> impl Iterator<Item = &'static RelationMeta> + '_ {
        self.hops.iter().flatten().copied()
    }

    pub(crate) fn erase(&self) -> Path {
        Path { hops: self.hops().collect(), requested: self.len, strategy: self.strategy }
    }
}

/// A path with its types erased: what a query keeps.
#[derive(Debug, Clone)]
pub(crate) struct Path {
    pub hops: Vec<&'static RelationMeta>,
    /// Hops asked for (more than `hops.len()` when the typed path overflowed).
    pub requested: usize,
    pub strategy: Option<Strategy>,
}

impl Path {
    pub fn name(&self) -> String {
        self.hops.iter().map(|r| r.name).collect::<Vec<_>>().join(".")
    }

    /// Resolves `posts.comments` against `meta`'s relationships, hop by hop.
    pub fn parse(meta: &'static ModelMeta, text: &str) -> Result<Path> {
        let mut hops = Vec::new();
        let mut at = meta;
        for name in text.split('.').map(str::trim) {
            let relation = at.relations.iter().find(|r| r.name == name).ok_or_else(|| {
                let known: Vec<&str> = at.relations.iter().map(|r| r.name).collect();
                Error::invalid(
                    InvalidQueryKind::UnknownName,
                    format!(
                        "cannot load `{text}` from {}: {} has no relationship `{name}`; a path starts at the \
                     query's model and follows declared relationships ({} has: {})",
                        meta.name,
                        at.name,
                        at.name,
                        if known.is_empty() { "none".to_string() } else { known.join(", ") }
                    ),
                )
            })?;
            hops.push(relation);
            at = (relation.target)();
        }
        Ok(Path { requested: hops.len(), hops, strategy: None })
    }
}

/// The path of relationships through models, checked at compile time:
/// `path!(User::posts, Post::comments)` is `User`'s `posts`, then each post's `comments`.
///
/// ```
/// # use duo_orm::prelude::*;
/// # #[derive(Model, Debug, Clone)] #[duo(table = "users")]
/// # struct User { #[duo(primary_key)] id: i64, #[duo(has_many(Post, foreign_key = author_id))] posts: Related<Vec<Post>> }
/// # #[derive(Model, Debug, Clone)] #[duo(table = "posts")]
/// # struct Post { #[duo(primary_key)] id: i64, author_id: i64, #[duo(has_many(Comment, foreign_key = post_id))] comments: Related<Vec<Comment>> }
/// # #[derive(Model, Debug, Clone)] #[duo(table = "comments")]
/// # struct Comment { #[duo(primary_key)] id: i64, post_id: i64 }
/// let query = User::related_path(duo_orm::path!(User::posts, Post::comments));
/// # let _ = query;
/// ```
#[macro_export]
macro_rules! path {
    ($model:ident :: $relation:ident $(, $next:ident :: $next_relation:ident)* $(,)?) => {
        <$model as $crate::Model>::columns().$relation
            $(.hop(<$next as $crate::Model>::columns().$next_relation))*
    };
}

/// Fills field `R` of `owner` with `value`, as the database holds it.
pub(crate) fn fill_stored<R: RelationField>(owner: &mut R::Owner, value: R::Value) {
    let identity = owner_identity(&*owner);
    *R::slot(owner) = Related::from_database(value, R::relation(), image::<R>, identity);
}

/// Which row `owner` is, as a hash of its primary key (what a field remembers it was loaded
/// for).
pub(crate) fn owner_identity<M: Model>(owner: &M) -> u64 {
    use std::hash::BuildHasher;
    let meta = M::meta();
    let hasher = foldhash::fast::FixedState::with_seed(0);
    if let [key] = meta.primary_key {
        hasher.hash_one(load::LinkKey::from(owner.value_at(*key)))
    } else {
        let key: Vec<load::LinkKey> = crate::types::KeyValues::key_values(&owner.key()).into_iter().map(load::LinkKey::from).collect();
        hasher.hash_one(key)
    }
}

/// The column values of the rows a field of `R` holds.
pub(crate) fn image<R: RelationField>(value: &R::Value) -> Vec<Vec<sea_query::Value>> {
    value.rows().into_iter().map(Model::values).collect()
}

/// Downcasts what the loader passes around; a mismatch is a bug in duo-orm, reported as an
/// error rather than a panic.
pub(crate) fn downcast<'a, T: 'static>(value: &'a mut (dyn Any + Send), what: &str) -> Result<&'a mut T> {
    value
        .downcast_mut::<T>()
        .ok_or_else(|| Error::invalid(InvalidQueryKind::Internal, format!("internal: eager loading got the wrong rows for {what}")))
}
