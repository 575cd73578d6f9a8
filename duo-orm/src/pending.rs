//! [`Pending`]: an operation waiting for `.await` (and, with `.on(&db)`, for a database).

use std::future::{Future, IntoFuture};
use std::pin::Pin;

use crate::database::Database;
use crate::error::{Error, Result};
use crate::model::Model;

/// A boxed, sendable future.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

type Operation<'a, T> = Box<dyn FnOnce(&'a Database) -> BoxFuture<'a, Result<T>> + Send + 'a>;

/// An ORM operation (`first()`, `create(..)`, `save()`, …) that runs when awaited.
///
/// It runs on the model's bound database unless [`on`](Pending::on) names another one.
#[must_use = "an ORM operation does nothing until it is awaited"]
pub struct Pending<'a, T> {
    database: Option<&'a Database>,
    model: &'static str,
    operation: Result<Operation<'a, T>>,
}

impl<'a, T: Send + 'a> Pending<'a, T> {
    pub(crate) fn new<M: Model>(
        operation: impl FnOnce(&'a Database) -> BoxFuture<'a, Result<T>> + Send + 'a,
    ) -> Self {
        Pending { database: M::database(), model: M::meta().name, operation: Ok(Box::new(operation)) }
    }

    pub(crate) fn failed<M: Model>(error: Error) -> Self {
        Pending { database: M::database(), model: M::meta().name, operation: Err(error) }
    }

    /// Transforms the result once the operation has run.
    pub(crate) fn map<U: Send + 'a>(self, f: impl FnOnce(T) -> U + Send + 'a) -> Pending<'a, U> {
        let operation = self.operation.map(|op| -> Operation<'a, U> {
            Box::new(move |db| Box::pin(async move { op(db).await.map(f) }))
        });
        Pending { database: self.database, model: self.model, operation }
    }

    /// Runs the operation on `database` instead of the model's bound one.
    pub fn on(mut self, database: &'a Database) -> Self {
        self.database = Some(database);
        self
    }
}

impl<'a, T: Send + 'a> IntoFuture for Pending<'a, T> {
    type Output = Result<T>;
    type IntoFuture = BoxFuture<'a, Result<T>>;

    fn into_future(self) -> Self::IntoFuture {
        match (self.operation, self.database) {
            (Err(error), _) => Box::pin(std::future::ready(Err(error))),
            (Ok(_), None) => Box::pin(std::future::ready(Err(Error::config(format!(
                "{} is not bound to a database: add `db = path::to::DB` to its #[duo(...)] \
                 attribute, or run the operation with `.on(&db)`",
                self.model
            ))))),
            (Ok(operation), Some(database)) => operation(database),
        }
    }
}
