//! The SQL of a selectin hop, rendered once per hop shape and dialect, with the keys moved in.

use super::*;

impl<O, T> crate::relation::Relation<O, T> {
    /// The statements selectin loading runs for the last hop of this path, given the owner
    /// keys `keys` (for reviewing the SQL; loading renders them itself).
    pub fn selectin_sql(&self, dialect: Dialect, keys: Vec<Value>) -> Vec<Statement> {
        match self.hops().last() {
            Some(relation) => selectin_statements(dialect, relation, keys, &[]),
            None => Vec::new(),
        }
    }
}

/// The statements of one selectin hop for owner keys `keys`: `SELECT <target columns>
/// [<joined hops>] FROM target WHERE target.fk = ANY($1)` on PostgreSQL (one array parameter),
/// `IN (…)` lists chunked within the dialect's limits elsewhere. A many-to-many hop joins its
/// join table and selects the owner key first.
///
/// The text around the keys is rendered once per hop, joined hops below it and dialect (see
/// [`SelectinSql`]); the keys are moved into the statements, never copied.
pub(crate) fn selectin_statements(
    dialect: Dialect,
    relation: &'static RelationMeta,
    keys: Vec<Value>,
    below: &[LoadNode],
) -> Vec<Statement> {
    let keys = if dialect == Dialect::Postgres {
        match postgres_array(keys) {
            Ok(array) => {
                let sql = SelectinSql::get(dialect, relation, below, KeyShape::Array);
                return vec![Statement { sql: sql.head.clone(), values: sea_query::Values(vec![array]) }];
            }
            Err(keys) => keys,
        }
    } else {
        keys
    };
    let sql = SelectinSql::get(dialect, relation, below, KeyShape::List);
    let per_statement = dialect.max_in_list();
    let mut keys = keys.into_iter();
    let mut statements = Vec::with_capacity(keys.len().div_ceil(per_statement));
    while keys.len() > 0 {
        let chunk: Vec<Value> = keys.by_ref().take(per_statement).collect();
        statements.push(Statement { sql: sql.with_list(dialect, chunk.len()), values: sea_query::Values(chunk) });
    }
    statements
}

/// How a selectin statement carries its keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(super) enum KeyShape {
    /// One array parameter: `= ANY($1)` (PostgreSQL).
    Array,
    /// An `IN (…)` list of one placeholder per key.
    List,
}

/// A selectin statement's text around its keys. The model metadata is static, so there are
/// only as many of these as hops × joined shapes below them × dialects a program loads: each
/// is rendered once and kept for the life of the process.
pub(super) struct SelectinSql {
    /// Everything up to the key list's `(`, or, for [`KeyShape::Array`], the whole statement.
    pub(super) head: String,
    /// Everything after the key list's `)`.
    pub(super) tail: String,
}

/// Where the key list goes in a rendered template: no identifier or SQL keyword contains
/// control characters.
pub(super) const KEY_LIST: &str = "\u{1}duo-orm keys\u{1}";

pub(super) type SelectinKey = (usize, Dialect, KeyShape, Vec<usize>);

impl SelectinSql {
    /// The text of `relation`'s selectin statement with the joined hops of `below`, rendered on
    /// first use.
    pub(super) fn get(dialect: Dialect, relation: &'static RelationMeta, below: &[LoadNode], shape: KeyShape) -> Arc<SelectinSql> {
        static RENDERED: OnceLock<Mutex<HashMap<SelectinKey, Arc<SelectinSql>>>> = OnceLock::new();
        let mut joins = Vec::new();
        joined_shape(below, &mut joins);
        let key = (relation as *const RelationMeta as usize, dialect, shape, joins);
        let rendered = RENDERED.get_or_init(Default::default);
        if let Some(sql) = rendered.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
            return sql.clone();
        }
        let sql = Arc::new(Self::render(dialect, relation, below, shape));
        rendered.lock().unwrap_or_else(PoisonError::into_inner).entry(key).or_insert(sql).clone()
    }

    pub(super) fn render(dialect: Dialect, relation: &'static RelationMeta, below: &[LoadNode], shape: KeyShape) -> SelectinSql {
        let target = (relation.target)();
        let mut stmt = Query::select();
        // The column the keys are compared with holds values of the owner's column.
        let key_type = &relation.owner_column_meta().sql_type;
        let key_column = match &relation.through {
            Some(through) => {
                let join_table = (through.table)();
                stmt.column((join_table, (through.owner_column)()));
                stmt.join(
                    JoinType::InnerJoin,
                    join_table,
                    Expr::col((join_table, (through.target_column)())).equals((target.table, key_column_meta(target).name)),
                );
                (join_table, (through.owner_column)())
            }
            None => (target.table, (relation.target_column)()),
        };
        stmt.columns(target.columns.iter().map(|c| (target.table, c.name)));
        stmt.from(target.table);
        add_joins(&mut stmt, target.table, below, &mut 0);
        match shape {
            KeyShape::Array => {
                let array = Value::Array(sea_query::ArrayType::BigInt, Some(Box::default()));
                let keys = crate::types::as_column_type(key_type, Expr::val(array), true);
                stmt.and_where(Expr::col(key_column).eq(sea_query::extension::postgres::PgFunc::any(keys)));
                let rendered = dialect::render_select(dialect, stmt, Paging::default(), false);
                SelectinSql { head: rendered.sql, tail: String::new() }
            }
            KeyShape::List => {
                stmt.and_where(Expr::col(key_column).binary(BinOper::In, Expr::cust(KEY_LIST)));
                let rendered = dialect::render_select(dialect, stmt, Paging::default(), false);
                debug_assert!(rendered.values.0.is_empty(), "a selectin template binds only its keys");
                let (head, tail) = rendered.sql.split_once(KEY_LIST).expect("the key list is in the rendered template");
                // sea-query puts the right side of `IN` in parentheses.
                let (mut head, mut tail) = (head.to_string(), tail.to_string());
                if !(head.ends_with('(') && tail.starts_with(')')) {
                    head.push('(');
                    tail.insert(0, ')');
                }
                SelectinSql { head, tail }
            }
        }
    }

    /// The statement for `keys` keys: the template with their placeholders, numbered from 1
    /// where the dialect numbers them.
    pub(super) fn with_list(&self, dialect: Dialect, keys: usize) -> String {
        use std::fmt::Write;
        let mut sql = String::with_capacity(self.head.len() + self.tail.len() + keys * 7);
        sql.push_str(&self.head);
        for position in 1..=keys {
            if position > 1 {
                sql.push_str(", ");
            }
            match dialect {
                Dialect::MySql | Dialect::Sqlite => sql.push('?'),
                Dialect::Postgres => write!(sql, "${position}").expect("writing to a String"),
                Dialect::MsSql => write!(sql, "@P{position}").expect("writing to a String"),
                Dialect::Oracle => write!(sql, ":{position}").expect("writing to a String"),
            }
        }
        sql.push_str(&self.tail);
        sql
    }
}

/// `keys` as one PostgreSQL array parameter, for the key types that have an array type
/// (others come back unchanged).
pub(super) fn postgres_array(keys: Vec<Value>) -> std::result::Result<Value, Vec<Value>> {
    use sea_query::ArrayType;
    let array_type = match keys.first() {
        Some(Value::SmallInt(_)) => ArrayType::SmallInt,
        Some(Value::Int(_)) => ArrayType::Int,
        Some(Value::BigInt(_)) => ArrayType::BigInt,
        Some(Value::String(_)) => ArrayType::String,
        #[cfg(feature = "uuid")]
        Some(Value::Uuid(_)) => ArrayType::Uuid,
        _ => return Err(keys),
    };
    Ok(Value::Array(array_type, Some(Box::new(keys))))
}
