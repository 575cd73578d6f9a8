//! SQL Server: `[quoted]` identifiers, `@P1` placeholders, `OFFSET … FETCH` paging (which needs
//! an `ORDER BY`), `OUTPUT INSERTED.…` for returning, and DDL.

use sea_query::{Expr, QueryBuilder, QuotedBuilder, ReturningClause, SelectStatement, SqlWriter};

use super::{Dialect, Paging, Statement, custom_builder, custom_builder_methods, write_offset_fetch};
use crate::ddl::CustomDdl;
use crate::model::ReferentialAction;
use crate::schema::{Column, ColumnType};

/// sea-query `QueryBuilder` for SQL Server expressions and statement bodies.
#[derive(Debug, Default, Clone, Copy)]
pub struct MsSqlQueryBuilder;

custom_builder!(MsSqlQueryBuilder, dialect = Dialect::MsSql, table_alias = " AS ");

impl QuotedBuilder for MsSqlQueryBuilder {
    fn quote(&self) -> sea_query::Quote {
        sea_query::Quote::new(b'"')
    }

    fn prepare_iden(&self, iden: &sea_query::DynIden, sql: &mut impl SqlWriter) {
        sql.write_char('[').unwrap();
        for c in iden.to_string().chars() {
            if c == ']' {
                sql.write_char(']').unwrap();
            }
            sql.write_char(c).unwrap();
        }
        sql.write_char(']').unwrap();
    }
}

impl QueryBuilder for MsSqlQueryBuilder {
    custom_builder_methods!();

    // Only INSERTs carry a returning clause in duo-orm, so OUTPUT always names INSERTED.
    fn prepare_output(&self, returning: &Option<ReturningClause>, sql: &mut impl SqlWriter) {
        let Some(ReturningClause::Columns(columns)) = returning else { return };
        sql.write_str(" OUTPUT ").unwrap();
        for (i, column) in columns.iter().enumerate() {
            if i > 0 {
                sql.write_str(", ").unwrap();
            }
            sql.write_str("INSERTED.").unwrap();
            self.prepare_column_ref(column, sql);
        }
    }

    fn prepare_returning(&self, _: &Option<ReturningClause>, _: &mut impl SqlWriter) {}
}

fn quote(name: &str) -> String {
    Dialect::MsSql.quote_identifier(name)
}

pub(crate) fn render_select(mut stmt: SelectStatement, paging: Paging, ordered: bool) -> Statement {
    // OFFSET … FETCH is part of ORDER BY in SQL Server: without an order, order by nothing.
    if paging.is_set() && !ordered {
        stmt.order_by_expr(Expr::cust("(SELECT NULL)"), sea_query::Order::Asc);
    }
    let builder = MsSqlQueryBuilder;
    let mut writer = MsSqlQueryBuilder::writer();
    builder.prepare_select_statement(&stmt, &mut writer);
    if paging.is_set() {
        write_offset_fetch(&builder, &mut writer, paging);
    }
    Statement::new(writer.into_parts())
}

pub(crate) fn column_type(column: &Column, indexed: bool) -> String {
    match &column.column_type {
        ColumnType::SmallInt => "SMALLINT".into(),
        ColumnType::Integer => "INT".into(),
        ColumnType::BigInt => "BIGINT".into(),
        ColumnType::Float => "REAL".into(),
        ColumnType::Double => "FLOAT".into(),
        ColumnType::Boolean => "BIT".into(),
        // NVARCHAR(MAX) cannot be a key or carry an index.
        ColumnType::Text => match super::indexable_text_length(column, indexed) {
            Some(n) => format!("NVARCHAR({n})"),
            None => "NVARCHAR(MAX)".into(),
        },
        ColumnType::Blob => "VARBINARY(MAX)".into(),
        ColumnType::TimestampTz => "DATETIMEOFFSET".into(),
        ColumnType::Timestamp => "DATETIME2".into(),
        ColumnType::Date => "DATE".into(),
        ColumnType::Time => "TIME".into(),
        ColumnType::Uuid => "UNIQUEIDENTIFIER".into(),
        ColumnType::Decimal => "DECIMAL(28, 10)".into(),
        ColumnType::Json => "NVARCHAR(MAX)".into(),
        ColumnType::Custom(name) => name.clone(),
        // Written by `dialect::column_type` (or refused) before the dialect is asked.
        ColumnType::Array(_) | ColumnType::Enum(_) => unreachable!("array and enum columns are written by dialect::column_type"),
    }
}

/// SQL Server's DDL.
pub(crate) struct MsSqlDdl;

impl CustomDdl for MsSqlDdl {
    fn dialect(&self) -> Dialect {
        Dialect::MsSql
    }

    fn identity(&self) -> &'static str {
        " IDENTITY(1,1)"
    }

    fn bool_literal(&self, value: bool) -> &'static str {
        if value { "1" } else { "0" }
    }

    fn named_defaults(&self) -> bool {
        true
    }

    fn create_table_head(&self, table: &str, if_not_exists: bool) -> String {
        if if_not_exists {
            format!("IF OBJECT_ID(N'{}', N'U') IS NULL CREATE TABLE {}", quote(table).replace('\'', "''"), quote(table))
        } else {
            format!("CREATE TABLE {}", quote(table))
        }
    }

    fn create_index_head(&self, index: &str, table: &str, unique: bool, if_not_exists: bool) -> String {
        let unique = if unique { "UNIQUE " } else { "" };
        let create = format!("CREATE {unique}INDEX {} ON {}", quote(index), quote(table));
        if if_not_exists {
            format!("IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'{}') {create}", index.replace('\'', "''"))
        } else {
            create
        }
    }

    fn drop_table(&self, table: &str, if_exists: bool) -> String {
        if if_exists { format!("DROP TABLE IF EXISTS {}", quote(table)) } else { format!("DROP TABLE {}", quote(table)) }
    }

    // SQL Server has no RESTRICT; NO ACTION is its equivalent.
    fn action(&self, action: ReferentialAction, _on_update: bool) -> Result<Option<&'static str>, String> {
        use ReferentialAction as A;
        Ok(Some(match action {
            A::Cascade => "CASCADE",
            A::SetNull => "SET NULL",
            A::SetDefault => "SET DEFAULT",
            A::Restrict | A::NoAction => "NO ACTION",
        }))
    }
}
