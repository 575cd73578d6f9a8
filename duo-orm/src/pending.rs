//! [`Pending`]: an operation waiting for `.await` or `.wait()` (and, with `.on(&db)`, for a
//! database; with `.using(&tx)`, for an explicit transaction).

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use crate::database::Database;
use crate::error::{ConfigurationKind, Error, Result};
use crate::model::Model;
use crate::transaction::{Ambient, Transaction};

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A boxed, sendable stream (what [`Iterate::stream`](crate::Iterate::stream) returns).
pub type BoxStream<'a, T> = Pin<Box<dyn futures_util::Stream<Item = T> + Send + 'a>>;

type Operation<'a, T> = Box<dyn FnOnce(&'a Database) -> BoxFuture<'a, Result<T>> + Send + 'a>;

/// An ORM operation (`first()`, `create(..)`, `save()`, …) that runs when awaited, or when
/// [`wait`](Pending::wait)ed from sync code.
///
/// It runs on the model's bound database unless [`on`](Pending::on) names another one.
#[must_use = "an ORM operation does nothing until it is awaited or waited for"]
pub struct Pending<'a, T> {
    database: Option<&'a Database>,
    /// Who the operation is for, in the "not bound to a database" error.
    subject: &'static str,
    operation: Result<Operation<'a, T>>,
    /// The explicit transaction given with `using`.
    transaction: Option<Ambient>,
}

impl<'a, T: Send + 'a> Pending<'a, T> {
    pub(crate) fn new<M: Model>(operation: impl FnOnce(&'a Database) -> BoxFuture<'a, Result<T>> + Send + 'a) -> Self {
        Pending { database: M::database(), subject: M::meta().name, operation: Ok(Box::new(operation)), transaction: None }
    }

    pub(crate) fn failed<M: Model>(error: Error) -> Self {
        Pending { database: M::database(), subject: M::meta().name, operation: Err(error), transaction: None }
    }

    /// An operation of `database` itself.
    pub(crate) fn on_database(
        database: &'a Database,
        operation: impl FnOnce(&'a Database) -> BoxFuture<'a, Result<T>> + Send + 'a,
    ) -> Self {
        Pending { database: Some(database), subject: "the database", operation: Ok(Box::new(operation)), transaction: None }
    }

    /// Transforms the result once the operation has run.
    pub(crate) fn map<U: Send + 'a>(self, f: impl FnOnce(T) -> U + Send + 'a) -> Pending<'a, U> {
        let operation = self.operation.map(|op| -> Operation<'a, U> { Box::new(move |db| Box::pin(async move { op(db).await.map(f) })) });
        Pending { database: self.database, subject: self.subject, operation, transaction: self.transaction }
    }

    /// Runs on `database` when no database is known yet (the related model is not bound, its
    /// owner is).
    pub(crate) fn or_database(mut self, database: Option<&'a Database>) -> Self {
        self.database = self.database.or(database);
        self
    }

    /// Runs the operation on `database` instead of the model's bound one.
    pub fn on(mut self, database: &'a Database) -> Self {
        self.database = Some(database);
        self
    }

    /// Runs the operation inside the explicit transaction `tx` (and on its database).
    pub fn using(mut self, tx: &'a Transaction<'_>) -> Self {
        self.database = Some(tx.database());
        self.transaction = Some(tx.ambient());
        self
    }

    /// Runs the operation to completion, blocking this thread: the sync form of `.await`.
    ///
    /// Inside [`Database::transaction_sync`] it joins that transaction. Called on an async
    /// runtime's thread it still works (it blocks that thread while a helper thread runs the
    /// operation), but `.await` is the right call there.
    ///
    /// ```
    /// # use duo_orm::prelude::*;
    /// # static DB: Database = Database::from_url("sqlite::memory:");
    /// # #[derive(Model, Debug)]
    /// # #[duo(table = "users", db = DB)]
    /// # struct User { #[duo(primary_key)] id: i64, name: String }
    /// # fn main() -> duo_orm::Result<()> {
    /// DB.create_all().wait()?;
    /// let ada = User::create(json!({"name": "Ada"})).wait()?;
    /// assert_eq!(User::filter(|u| u.name.eq("Ada")).one().wait()?.id, ada.id);
    /// # Ok(())
    /// # }
    /// ```
    pub fn wait(self) -> Result<T> {
        let ambient = self.transaction.clone().unwrap_or_else(Ambient::current);
        if let Some(database) = self.database {
            ambient.check_blocking(database)?;
        }
        let future = self.start();
        crate::sync::block_on(ambient.scope(future))?
    }

    /// Runs the operation on `database` from inside another operation: no sync-only check
    /// (the outer operation made it), no transaction of its own (the ambient one applies).
    pub(crate) fn run_on(mut self, database: &'a Database) -> BoxFuture<'a, Result<T>> {
        self.database = Some(database);
        self.start()
    }

    fn start(self) -> BoxFuture<'a, Result<T>> {
        let transaction = self.transaction;
        let future = match (self.operation, self.database) {
            (Err(error), _) => return Box::pin(std::future::ready(Err(error))),
            (Ok(_), None) => {
                return Box::pin(std::future::ready(Err(Error::config(
                    ConfigurationKind::Binding,
                    format!(
                        "{} is not bound to a database: add `db = path::to::DB` to its #[duo(...)] \
                     attribute, or run the operation with `.on(&db)`",
                        self.subject
                    ),
                ))));
            }
            (Ok(operation), Some(database)) => operation(database),
        };
        match transaction {
            Some(ambient) => Box::pin(ambient.scope(future)),
            None => future,
        }
    }
}

impl<'a, T: Send + 'a> IntoFuture for Pending<'a, T> {
    type Output = Result<T>;
    type IntoFuture = BoxFuture<'a, Result<T>>;

    fn into_future(self) -> Self::IntoFuture {
        if let Some(Err(error)) = self.database.map(Database::check_async) {
            return Box::pin(std::future::ready(Err(error)));
        }
        self.start()
    }
}

/// `on`, `using`, `wait` and `.await` for a builder with an `into_pending` method, so every
/// bulk builder finishes like any other operation.
macro_rules! pending_builder {
    ($builder:ident => $output:ty) => {
        impl<M: $crate::Model> $builder<M> {
            /// Runs on `database` instead of the model's bound one.
            pub fn on(self, database: &$crate::Database) -> $crate::Pending<'_, $output> {
                self.into_pending().on(database)
            }

            /// Runs inside the explicit transaction `tx` (and on its database).
            pub fn using<'a>(self, tx: &'a $crate::Transaction<'_>) -> $crate::Pending<'a, $output> {
                self.into_pending().using(tx)
            }

            /// Runs to completion, blocking this thread (see [`Pending::wait`](crate::Pending::wait)).
            pub fn wait(self) -> $crate::Result<$output> {
                self.into_pending().wait()
            }
        }

        impl<M: $crate::Model> std::future::IntoFuture for $builder<M> {
            type Output = $crate::Result<$output>;
            type IntoFuture = $crate::pending::BoxFuture<'static, $crate::Result<$output>>;

            fn into_future(self) -> Self::IntoFuture {
                self.into_pending().into_future()
            }
        }
    };
}
pub(crate) use pending_builder;
