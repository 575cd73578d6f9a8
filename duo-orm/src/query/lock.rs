//! Row locks on a SELECT (`for_update()`, `for_share()`, `.skip_locked()`, `.nowait()`):
//! what each dialect writes for them, and the check that a lock is taken inside a
//! transaction, the only place where it lasts longer than the statement.

use crate::database::Database;
use crate::dialect::{Dialect, Paging, Statement};
use crate::error::{Error, InvalidQueryKind, Result};
use crate::transaction::{self, Access};

/// A lock on the rows a query reads, held until its transaction ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RowLock {
    pub(crate) strength: Strength,
    pub(crate) wait: WhenLocked,
}

/// Which lock: one that excludes other writers and lockers (`FOR UPDATE`), or one that only
/// excludes writers (`FOR SHARE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Strength {
    Update,
    Share,
}

/// What the statement does about a row another transaction has locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum WhenLocked {
    /// Waits for it (the server's lock timeout applies).
    Wait,
    /// Fails at once (`NOWAIT`).
    Fail,
    /// Leaves the row out (`SKIP LOCKED`).
    Skip,
}

impl RowLock {
    /// The calls that asked for this lock, for messages.
    fn what(self) -> String {
        let strength = match self.strength {
            Strength::Update => "for_update()",
            Strength::Share => "for_share()",
        };
        format!("{strength}{}", call(self.wait))
    }

    /// Adds the lock to `stmt`, a SELECT of `table`'s rows rendered for `dialect` with
    /// `paging`: a clause at the end, or SQL Server's table hints after the table.
    pub(crate) fn apply(self, dialect: Dialect, table: &str, paging: Paging, stmt: &mut Statement) -> Result<()> {
        let wait = match self.wait {
            WhenLocked::Wait => "",
            WhenLocked::Fail => " NOWAIT",
            WhenLocked::Skip => " SKIP LOCKED",
        };
        match (dialect, self.strength) {
            // The transaction's `BEGIN IMMEDIATE` already holds the database's write lock (see
            // `check_held`): no other writer can change or lock these rows until it ends.
            (Dialect::Sqlite, _) => {}
            (Dialect::Postgres, Strength::Update) | (Dialect::MySql, Strength::Update) | (Dialect::Oracle, Strength::Update) => {
                if dialect == Dialect::Oracle && paging.is_set() {
                    return Err(Error::unsupported(
                        dialect,
                        format!("{} together with limit, offset, first() or one() (ORA-02014: FETCH FIRST cannot lock rows)", self.what()),
                    ));
                }
                stmt.sql.push_str(" FOR UPDATE");
                stmt.sql.push_str(wait);
            }
            (Dialect::Postgres, Strength::Share) => {
                stmt.sql.push_str(" FOR SHARE");
                stmt.sql.push_str(wait);
            }
            // `LOCK IN SHARE MODE` is what MySQL and MariaDB both read; with NOWAIT or SKIP
            // LOCKED, MySQL wants `FOR SHARE …` and MariaDB `LOCK IN SHARE MODE …`.
            (Dialect::MySql, Strength::Share) if self.wait == WhenLocked::Wait => stmt.sql.push_str(" LOCK IN SHARE MODE"),
            (Dialect::MySql, Strength::Share) => {
                return Err(Error::unsupported(
                    dialect,
                    format!(
                        "{} (MySQL and MariaDB write it differently); use for_update(){wait_call}",
                        self.what(),
                        wait_call = call(self.wait)
                    ),
                ));
            }
            (Dialect::Oracle, Strength::Share) => {
                return Err(Error::unsupported(dialect, format!("{} (Oracle has no shared row lock); use for_update()", self.what())));
            }
            (Dialect::MsSql, strength) => {
                let from = format!(" FROM {}", dialect.quote_identifier(table));
                let at = stmt
                    .sql
                    .find(&from)
                    .ok_or_else(|| Error::invalid(InvalidQueryKind::Internal, "the locked SELECT has no FROM of its table"))?
                    + from.len();
                let lock = match strength {
                    Strength::Update => "UPDLOCK",
                    Strength::Share => "REPEATABLEREAD",
                };
                let wait = match self.wait {
                    WhenLocked::Wait => "",
                    WhenLocked::Fail => ", NOWAIT",
                    WhenLocked::Skip => ", READPAST",
                };
                let hints = format!(" WITH ({lock}, ROWLOCK{wait})");
                stmt.sql.insert_str(at, &hints);
            }
        }
        Ok(())
    }

    /// Refuses the lock where it would not last: outside a transaction it would end with its
    /// statement. On SQLite only a read-write transaction (`BEGIN IMMEDIATE`, which holds the
    /// write lock) keeps other writers away from the rows.
    pub(crate) fn check_held(self, database: &Database, dialect: Dialect) -> Result<()> {
        match transaction::current_access(database) {
            None => Err(Error::invalid(
                InvalidQueryKind::Transaction,
                format!(
                    "{} outside a transaction: the lock would be released as soon as the statement ends; run it \
                     inside `db.transaction(..)` (or with `.using(&tx)`)",
                    self.what()
                ),
            )),
            Some(Access::ReadOnly) if dialect == Dialect::Sqlite => Err(Error::unsupported(
                dialect,
                format!(
                    "{} in a read-only transaction (SQLite locks the whole database for writers, which a read-only \
                     transaction does not take); use `db.transaction(..)`",
                    self.what()
                ),
            )),
            Some(_) => Ok(()),
        }
    }
}

fn call(wait: WhenLocked) -> &'static str {
    match wait {
        WhenLocked::Wait => "",
        WhenLocked::Fail => ".nowait()",
        WhenLocked::Skip => ".skip_locked()",
    }
}
