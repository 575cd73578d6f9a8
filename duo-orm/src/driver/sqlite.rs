//! SQLite through sqlx: a connection is a thread, bound to no runtime; decimals are text (sqlx
//! has no SQLite decimal codec); no arrays.

use std::str::FromStr;

use sea_query::Value;
use sqlx::Sqlite;
use sqlx::sqlite::{SqliteConnectOptions, SqliteRow};

use super::Executed;
use super::sqlx_shared::{SqlxDriver, no_arrays, read_column};
use crate::config::DatabaseUrl;
use crate::error::{ConflictKind, DriverError};
use crate::types::SqlType;

impl SqlxDriver for Sqlite {
    const SOCKETS: bool = false;

    fn pool(url: &DatabaseUrl, mut pool: sqlx::pool::PoolOptions<Self>) -> Result<sqlx::Pool<Self>, sqlx::Error> {
        let connect = SqliteConnectOptions::from_str(url.driver_url())?.create_if_missing(true).foreign_keys(true);
        if url.is_sqlite_memory() {
            // Each connection to `:memory:` is a database of its own: keep exactly one, forever.
            pool = pool.max_connections(1).min_connections(1).idle_timeout(None).max_lifetime(None);
        }
        Ok(pool.connect_lazy_with(connect))
    }

    /// SQLite's worker thread skips the next queued rollback after a COMMIT or RELEASE whose
    /// caller went away (it expects sqlx's own transaction guard to send one), and it may
    /// still be running such a statement: one more rollback than the levels counted keeps the
    /// transaction from staying open on the pooled connection, holding the write lock. A
    /// rollback with no level open does nothing.
    const EXTRA_ABANDON_ROLLBACKS: usize = 1;

    /// File SQLite. In-memory SQLite is not: its one connection is the data, and must never be
    /// closed by a runtime that shuts down.
    fn runtime_free(url: &DatabaseUrl) -> bool {
        !url.is_sqlite_memory()
    }

    fn executed(result: sqlx::sqlite::SqliteQueryResult) -> Executed {
        Executed { rows_affected: result.rows_affected(), last_insert_id: Some(result.last_insert_rowid()) }
    }

    fn server_closed(_: &(dyn sqlx::error::DatabaseError + 'static)) -> bool {
        false
    }

    fn conflict(error: &(dyn sqlx::error::DatabaseError + 'static)) -> Option<ConflictKind> {
        error.try_downcast_ref::<sqlx::sqlite::SqliteError>()?;
        // The extended result code; its low byte is the primary one: SQLITE_BUSY (5) and
        // SQLITE_LOCKED (6), with their variants (BUSY_SNAPSHOT, LOCKED_SHAREDCACHE, …).
        let code: i32 = error.code()?.parse().ok()?;
        matches!(code & 0xff, 5 | 6).then_some(ConflictKind::Busy)
    }

    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn value<S, L>(row: &SqliteRow, index: usize, sql_type: &SqlType<S, L>, nullable: bool) -> Result<Value, DriverError> {
        read_column!(row, index, sql_type, nullable, decimal: decimal, array: no_arrays, enum_label: get)
    }
}

// Decimals are stored exactly, as text, and read back by parsing. An integer (the sum of an
// `i64` column, read as a decimal) is exact too.
#[cfg(feature = "decimal")]
fn decimal(row: &SqliteRow, index: usize) -> Result<Option<rust_decimal::Decimal>, sqlx::Error> {
    use sqlx::{Row, TypeInfo, ValueRef};
    let integer = row.try_get_raw(index)?.type_info().name() == "INTEGER";
    if integer {
        return Ok(row.try_get::<Option<i64>, _>(index)?.map(rust_decimal::Decimal::from));
    }
    let text: Option<String> = row.try_get(index)?;
    text.map(|text| text.parse().map_err(|e| sqlx::Error::ColumnDecode { index: index.to_string(), source: Box::new(e) })).transpose()
}
