//! MySQL and MariaDB through sqlx: `LAST_INSERT_ID()`; no arrays.

use std::str::FromStr;

use sea_query::Value;
use sqlx::MySql;
use sqlx::mysql::{MySqlConnectOptions, MySqlRow};

use super::Executed;
use super::sqlx_shared::{SqlxDriver, no_arrays, read_column};
use crate::config::DatabaseUrl;
use crate::error::{ConflictKind, DriverError};
use crate::types::SqlType;

impl SqlxDriver for MySql {
    const SOCKETS: bool = true;

    fn pool(url: &DatabaseUrl, pool: sqlx::pool::PoolOptions<Self>) -> Result<sqlx::Pool<Self>, sqlx::Error> {
        Ok(pool.connect_lazy_with(MySqlConnectOptions::from_str(url.driver_url())?))
    }

    fn runtime_free(_: &DatabaseUrl) -> bool {
        false
    }

    fn executed(result: sqlx::mysql::MySqlQueryResult) -> Executed {
        let id = result.last_insert_id();
        Executed { rows_affected: result.rows_affected(), last_insert_id: (id != 0).then_some(id as i64) }
    }

    fn server_closed(error: &(dyn sqlx::error::DatabaseError + 'static)) -> bool {
        // ER_SERVER_SHUTDOWN, ER_CONNECTION_KILLED, ER_CLIENT_INTERACTION_TIMEOUT.
        error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().is_some_and(|my| matches!(my.number(), 1053 | 1927 | 4031))
    }

    fn conflict(error: &(dyn sqlx::error::DatabaseError + 'static)) -> Option<ConflictKind> {
        let number = error.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>()?.number();
        match number {
            // ER_LOCK_DEADLOCK; ER_CHECKREAD (MariaDB's snapshot isolation: the row changed).
            1213 => Some(ConflictKind::Deadlock),
            1020 => Some(ConflictKind::Serialization),
            // ER_LOCK_WAIT_TIMEOUT; ER_LOCK_NOWAIT (MySQL 8).
            1205 => Some(ConflictKind::LockTimeout),
            3572 => Some(ConflictKind::LockNotAvailable),
            _ => None,
        }
    }

    #[cfg_attr(debug_assertions, inline)]
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn value<S, L>(row: &MySqlRow, index: usize, sql_type: &SqlType<S, L>, nullable: bool) -> Result<Value, DriverError> {
        read_column!(row, index, sql_type, nullable, decimal: decimal, array: no_arrays, enum_label: get)
    }
}

#[cfg(feature = "decimal")]
fn decimal(row: &MySqlRow, index: usize) -> Result<Option<rust_decimal::Decimal>, sqlx::Error> {
    sqlx::Row::try_get(row, index)
}
