//! The recording mock driver (`duo_orm::mock`): scripted rows, counts and errors, and every
//! statement recorded with its values in each of the five dialects. No server: SQL Server and
//! Oracle run the whole ORM path here, not only `to_sql`.

use duo_orm::mock::MockDatabase;
use duo_orm::prelude::*;
use duo_orm::sea_query::Value;
use duo_orm::{Dialect, IntegrityKind};

use crate::models::*;

const DIALECTS: [Dialect; 5] = [Dialect::Sqlite, Dialect::Postgres, Dialect::MySql, Dialect::MsSql, Dialect::Oracle];

fn ada(id: i64) -> User {
    User {
        id,
        name: "Ada O'Hara".into(),
        age: 36,
        email: "ada@example.com".into(),
        nickname: None,
        status: "active".into(),
        is_admin: false,
    }
}

/// Each recorded statement: its SQL, and with the values inlined as the dialect's literals.
fn record(mock: &MockDatabase) -> String {
    let mut out = format!("-- {:?}\n", mock.dialect());
    for stmt in mock.take_statements() {
        out += &format!("{}\n   = {stmt}\n", stmt.sql);
    }
    out
}

#[tokio::test]
async fn scripted_rows_and_counts_come_back_and_every_statement_is_recorded_in_five_dialects() {
    let mut out = String::new();
    for dialect in DIALECTS {
        let mock = MockDatabase::new(dialect);
        let db = mock.database();
        assert_eq!(db.dialect().unwrap(), dialect);

        mock.models([ada(1)]);
        assert_eq!(User::get(1).on(&db).await.unwrap(), Some(ada(1)), "{dialect:?}");

        // Values written as the natural literal are read as the width the field asks for.
        mock.rows([[Value::from(7), Value::from("Bob"), Value::from(41i64), Value::from("bob@example.com")].into_iter().chain([
            Value::String(None),
            Value::from("active"),
            Value::from(true),
        ])]);
        let found =
            User::filter(|u| u.name.eq("Ada O'Hara").or(u.age.gt(40))).order_by(|u| u.id.desc()).limit(5).all().on(&db).await.unwrap();
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].id, found[0].age, found[0].is_admin), (7, 41, true), "{dialect:?}");

        mock.rows([[Value::from(3)]]);
        assert_eq!(User::filter(|u| u.status.eq("active")).count().on(&db).await.unwrap(), 3, "{dialect:?}");

        mock.executed(2);
        assert_eq!(User::filter(|u| u.age.lt(18)).delete_bulk().on(&db).await.unwrap(), 2, "{dialect:?}");

        assert_eq!(mock.remaining(), (0, 0), "{dialect:?}: every scripted result was taken");
        out += &record(&mock);
    }
    insta::assert_snapshot!(out);
}

/// `get` and `delete` keep their text per model and dialect: later calls bind new keys to the
/// same text, and find their own rows.
#[tokio::test]
async fn lookups_and_deletes_by_key_reuse_their_text_with_new_values() {
    for dialect in DIALECTS {
        let mock = MockDatabase::new(dialect);
        let db = mock.database();
        for id in [1, 2, 3] {
            mock.models([ada(id)]);
            assert_eq!(User::get(id).on(&db).await.unwrap().map(|u| u.id), Some(id), "{dialect:?}");
            mock.executed(1);
            ada(id).delete().on(&db).await.unwrap();
        }
        let statements = mock.take_statements();
        let (gets, deletes): (Vec<_>, Vec<_>) = statements.iter().partition(|s| s.sql.starts_with("SELECT"));
        assert!(gets.windows(2).all(|w| w[0].sql == w[1].sql) && deletes.windows(2).all(|w| w[0].sql == w[1].sql), "{dialect:?}");
        let keys: Vec<_> = gets.iter().chain(&deletes).map(|s| s.values.clone()).collect();
        assert_eq!(keys, [1, 2, 3, 1, 2, 3].map(|id: i64| vec![Value::from(id)]), "{dialect:?}");
        assert!(!gets[0].sql.contains("LIMIT") && !gets[0].sql.contains("FETCH"), "{dialect:?}: a key matches one row at most");
    }
}

/// A joined collection's rows come in whatever order the database reads them (no ORDER BY on
/// the owner's key): rows of two owners interleaved still make each owner once, in the order
/// first seen, holding all its rows, and a LEFT JOIN that found nothing holds none.
#[tokio::test]
async fn joined_rows_of_interleaved_owners_gather_into_each_owner_once() {
    use crate::relations::User;
    let mock = MockDatabase::new(Dialect::Postgres);
    let db = mock.database();
    let user = |id: i64, name: &str| -> Vec<Value> { vec![id.into(), name.into()] };
    let post = |id: i64, author: i64| -> Vec<Value> {
        vec![id.into(), format!("post {id}").into(), true.into(), author.into(), Value::BigInt(None)]
    };
    let none =
        || -> Vec<Value> { vec![Value::BigInt(None), Value::String(None), Value::Bool(None), Value::BigInt(None), Value::BigInt(None)] };
    mock.rows([
        [user(2, "Bo"), post(10, 2)].concat(),
        [user(1, "Al"), post(11, 1)].concat(),
        [user(3, "Cy"), none()].concat(),
        [user(2, "Bo"), post(12, 2)].concat(),
        [user(1, "Al"), post(13, 1)].concat(),
        [user(2, "Bo"), post(14, 2)].concat(),
    ]);
    let users = User::related(|u| u.posts.joined()).all().on(&db).await.unwrap();
    let posts: Vec<(i64, Vec<i64>)> = users.iter().map(|u| (u.id, u.posts.get().unwrap().iter().map(|p| p.id).collect())).collect();
    assert_eq!(posts, [(2, vec![10, 12, 14]), (1, vec![11, 13]), (3, vec![])]);
    assert!(!mock.take_statements()[0].sql.contains("ORDER BY"));

    // A text key: each owner is decoded before its key is known, and still comes once.
    mock.rows([
        vec![Value::from("b"), 1i64.into(), "b".into()],
        vec![Value::from("a"), 2i64.into(), "a".into()],
        vec![Value::from("b"), 3i64.into(), "b".into()],
    ]);
    let teams = Team::related(|t| t.members.joined()).all().on(&db).await.unwrap();
    let members: Vec<(&str, Vec<i64>)> =
        teams.iter().map(|t| (t.code.as_str(), t.members.get().unwrap().iter().map(|m| m.id).collect())).collect();
    assert_eq!(members, [("b", vec![1, 3]), ("a", vec![2])]);

    // A joined `has_one` below the joined collection repeats a member once per badge: the
    // member still comes once, with its first badge.
    mock.rows([
        vec![Value::from("a"), 1i64.into(), "a".into(), 10i64.into(), 1i64.into()],
        vec![Value::from("a"), 1i64.into(), "a".into(), 11i64.into(), 1i64.into()],
        vec![Value::from("a"), 2i64.into(), "a".into(), Value::BigInt(None), Value::BigInt(None)],
    ]);
    let teams = Team::related(|t| t.members.joined()).related(|t| t.members.then(|m| m.badge)).all().on(&db).await.unwrap();
    let members = teams[0].members.get().unwrap();
    let badges: Vec<(i64, Option<i64>)> = members.iter().map(|m| (m.id, m.badge.get().unwrap().as_ref().map(|b| b.id))).collect();
    assert_eq!(badges, [(1, Some(10)), (2, None)]);
}

#[derive(Model, Debug, Clone)]
#[duo(table = "mk_badges")]
pub struct TeamBadge {
    #[duo(primary_key)]
    pub id: i64,
    #[duo(references = Member)]
    pub member_id: i64,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "mk_teams")]
pub struct Team {
    #[duo(primary_key, max_length = 8)]
    pub code: String,
    #[duo(has_many(Member, foreign_key = team_code))]
    pub members: Related<Vec<Member>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "mk_members")]
pub struct Member {
    #[duo(primary_key)]
    pub id: i64,
    #[duo(references = Team, max_length = 8)]
    pub team_code: String,
    #[duo(has_one(TeamBadge, foreign_key = member_id))]
    pub badge: Related<Option<TeamBadge>>,
}

/// `update` by key keeps one text per list of set columns, in their order: payloads that set
/// other columns, or the same ones in another order, get texts of their own, and every value
/// lands in its column.
#[tokio::test]
async fn updates_by_key_keep_a_text_per_list_of_columns() {
    for dialect in DIALECTS {
        let mock = MockDatabase::new(dialect);
        let db = mock.database();
        let mut user = ada(7);
        for payload in
            [json!({"name": "Bo", "age": 40}), json!({"age": 41, "name": "Cy"}), json!({"name": "Di", "age": 42}), json!({"age": 43})]
        {
            mock.executed(1);
            user.update(payload).on(&db).await.unwrap();
        }
        let statements = mock.take_statements();
        let texts: Vec<(String, Vec<Value>)> = statements.iter().map(|s| (s.sql.clone(), s.values.clone())).collect();
        // The first and third set the same columns in the same order: one text, their own values.
        assert_eq!(texts[0].0, texts[2].0, "{dialect:?}");
        assert_ne!(texts[0].0, texts[3].0, "{dialect:?}");
        for (sql, values) in &texts {
            let set = sql.split(" WHERE ").next().unwrap();
            // Each value sits where its column is named.
            let name_first = set.find("name").is_some_and(|n| set.find("age").is_none_or(|a| n < a));
            let expected_first = values.first().unwrap();
            assert_eq!(matches!(expected_first, Value::String(_)), name_first, "{dialect:?}: {sql} {values:?}");
            assert_eq!(values.last(), Some(&Value::from(7i64)), "{dialect:?}: the key binds last");
        }
        assert_eq!((user.name.as_str(), user.age), ("Di", 43), "{dialect:?}");
    }
}

/// The INSERT of `create` keeps one text per list of columns: payloads naming the same columns
/// (in any order) share it with their own values, others get their own, and every value lands
/// in its column. (Whether the row is handed back is part of the shape too: MySQL and MariaDB
/// share a dialect, and `a_create_takes_a_row_set_…` sees each keep its own form.)
#[test]
fn creates_keep_an_insert_text_per_list_of_columns() {
    for dialect in DIALECTS {
        let payloads = [
            json!({"id": 1, "name": "Bo", "age": 40, "email": "bo@example.com"}),
            json!({"id": 2, "name": "Cy", "email": "cy@example.com"}),
            json!({"email": "di@example.com", "age": 42, "name": "Di", "id": 3}),
        ];
        let sent: Vec<_> = payloads.iter().map(|p| User::insert_sql(p.clone(), dialect).unwrap()).collect();
        assert_eq!(sent[0].sql, sent[2].sql, "{dialect:?}");
        assert_ne!(sent[0].sql, sent[1].sql, "{dialect:?}");
        for (statement, payload) in sent.iter().zip(&payloads) {
            let sql = &statement.sql;
            let listed = &sql[sql.find('(').unwrap() + 1..sql.find(')').unwrap()];
            let columns = listed.split(", ").map(|c| c.trim_matches(|q| matches!(q, '"' | '`' | '[' | ']')));
            let columns: Vec<&str> = columns.collect();
            assert_eq!(columns.len(), statement.values.0.len(), "{dialect:?}: {sql}");
            for (column, value) in columns.into_iter().zip(&statement.values.0) {
                let expected = match &payload[column] {
                    serde_json::Value::Null => continue,
                    serde_json::Value::String(text) => Value::from(text.as_str()),
                    number => Value::from(number.as_i64().unwrap()),
                };
                let bound = match value {
                    Value::Int(Some(n)) => Value::from(i64::from(*n)),
                    other => other.clone(),
                };
                assert_eq!(bound, expected, "{dialect:?}: `{column}` in {sql} {:?}", statement.values);
            }
        }
    }
}

#[tokio::test]
async fn a_create_takes_a_row_set_where_the_dialect_returns_rows_and_an_insert_id_where_it_does_not() {
    // (mock, whether INSERT … RETURNING hands the row back)
    let mocks = [
        (MockDatabase::new(Dialect::Postgres), true),
        (MockDatabase::new(Dialect::Sqlite), true),
        (MockDatabase::mariadb(), true),
        (MockDatabase::new(Dialect::MySql), false),
    ];
    for (mock, returning) in mocks {
        let db = mock.database();
        mock.models([ada(42)]);
        mock.inserted(1, 42);
        let created = User::create(user_create("Ada O'Hara", 36, "ada@example.com")).on(&db).await.unwrap();
        assert_eq!(created, ada(42), "{mock:?}");
        let sent = mock.take_statements();
        assert!(sent[0].sql.starts_with("INSERT INTO"), "{mock:?}: {sent:?}");
        assert_eq!(sent[0].sql.contains("RETURNING"), returning, "{mock:?}: {sent:?}");
        let expected_left = if returning { (0, 1) } else { (0, 0) };
        assert_eq!(mock.remaining(), expected_left, "{mock:?}: {sent:?}");
    }
}

#[tokio::test]
async fn transactions_record_begin_savepoints_commit_and_rollback() {
    let mock = MockDatabase::new(Dialect::Postgres);
    let db = mock.database();
    mock.models([ada(1)]);
    mock.executed(1).executed(1);
    let outcome: Result<()> = db
        .transaction(async {
            let mut user = User::get(1).on(&db).await?.expect("scripted");
            user.age += 1;
            user.save().on(&db).await?;
            let inner: Result<()> = db
                .transaction(async {
                    Post::filter(|p| p.author_id.eq(1)).delete_bulk().on(&db).await?;
                    Err(Error::validation("posts", "changed my mind"))
                })
                .await;
            assert!(matches!(inner, Err(Error::Validation { .. })));
            Ok(())
        })
        .await;
    outcome.unwrap();
    let sql: Vec<String> = mock.take_statements().into_iter().map(|s| s.sql).collect();
    assert_eq!(sql.first().map(String::as_str), Some("BEGIN"));
    assert!(sql[2].starts_with("UPDATE \"users\""), "{sql:?}");
    assert!(sql[3].starts_with("SAVEPOINT"), "{sql:?}");
    assert!(sql[4].starts_with("DELETE FROM \"posts\""), "{sql:?}");
    assert!(sql[5].starts_with("ROLLBACK TO SAVEPOINT"), "{sql:?}");
    assert_eq!(sql.last().map(String::as_str), Some("COMMIT"), "{sql:?}");

    // An error leaving the block rolls the whole transaction back.
    mock.exec_error(Error::Integrity {
        kind: IntegrityKind::Unique,
        constraint: Some("uq_users_email".into()),
        column: None,
        message: "duplicate key".into(),
    });
    let failed = db.transaction(async { User::filter(|u| u.id.eq(1)).delete_bulk().on(&db).await }).await;
    assert!(matches!(failed, Err(Error::Integrity { kind: IntegrityKind::Unique, .. })), "{failed:?}");
    let sql: Vec<String> = mock.take_statements().into_iter().map(|s| s.sql).collect();
    assert_eq!(sql.len(), 3, "{sql:?}");
    assert_eq!((sql[0].as_str(), sql[2].as_str()), ("BEGIN", "ROLLBACK"));
}

#[tokio::test]
async fn a_script_that_does_not_fit_is_a_typed_error_never_a_panic() {
    let mock = MockDatabase::new(Dialect::MySql);
    let db = mock.database();

    // Nothing scripted: the error names the statement and what to script.
    let err = User::get(1).on(&db).await.unwrap_err();
    let Error::Database(error) = &err else { panic!("{err:?}") };
    assert!(error.message().contains("SELECT") && error.message().contains("MockDatabase::rows"), "{err}");
    let err = User::filter(|u| u.age.lt(0)).delete_bulk().on(&db).await.unwrap_err();
    assert!(err.to_string().contains("MockDatabase::executed"), "{err}");

    // A scripted error comes back as it was scripted.
    mock.query_error(Error::NotFound { model: "User" });
    assert!(matches!(User::get(1).on(&db).await, Err(Error::NotFound { model: "User" })));

    // A row of the wrong shape or type is a decode error naming the column.
    mock.rows([[Value::from(1), Value::from("Ada")]]);
    let err = User::get(1).on(&db).await.unwrap_err();
    assert!(matches!(&err, Error::Decode { model: "User", .. }) && err.to_string().contains("#2"), "{err}");
    mock.rows([[Value::from("one")]]);
    assert!(matches!(User::get(1).on(&db).await, Err(Error::Decode { .. })));
    mock.rows([[Value::BigInt(None)]]);
    let err = User::get(1).on(&db).await.unwrap_err();
    assert!(err.to_string().contains("NULL"), "{err}");
    // An integer too wide for the field is refused, not wrapped.
    mock.rows([[Value::from(1), Value::from("Ada"), Value::from(i64::MAX)]]);
    let err = User::get(1).on(&db).await.unwrap_err();
    assert!(matches!(&err, Error::Decode { .. }) && err.to_string().contains("#2"), "{err}");
}

#[test]
fn the_mock_serves_sync_callers_too() {
    let mock = MockDatabase::new(Dialect::Oracle);
    let db = mock.database();
    mock.models([ada(5)]);
    assert_eq!(User::get(5).on(&db).wait().unwrap(), Some(ada(5)));
    let [stmt] = mock.take_statements().try_into().unwrap();
    assert!(stmt.to_string().contains("WHERE \"users\".\"id\" = 5"), "{stmt}");
}

mod inlining {
    use duo_orm::Dialect;
    use duo_orm::mock::MockStatement;
    use duo_orm::sea_query::Value;
    use proptest::prelude::*;

    use super::DIALECTS;

    fn placeholder(dialect: Dialect, n: usize) -> String {
        match dialect.placeholder() {
            (mark, true) => format!("{mark}{n}"),
            (mark, false) => mark.to_string(),
        }
    }

    fn value() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(Value::from),
            any::<String>().prop_map(Value::from),
            any::<bool>().prop_map(Value::from),
            Just(Value::String(None)),
        ]
    }

    proptest! {
        /// Any text with any values: recorded statements come from raw SQL too, so writing one
        /// out never panics, whatever its placeholders, quotes or characters.
        #[test]
        fn any_statement_is_written_without_panicking(dialect in 0..5usize, sql in any::<String>(), values in prop::collection::vec(value(), 0..4)) {
            let stmt = MockStatement::new(DIALECTS[dialect], sql, values);
            let _ = stmt.to_string();
        }

        /// Between placeholders the text is kept as it is, and each placeholder becomes its
        /// own value's literal, in placeholder order, in each dialect's placeholder style.
        #[test]
        fn each_placeholder_becomes_its_value(dialect in 0..5usize, parts in prop::collection::vec("[a-zA-Z0-9 ,=()<>*.]{0,12}", 1..6), numbers in prop::collection::vec(any::<i32>(), 5)) {
            let dialect = DIALECTS[dialect];
            let mut sql = parts[0].clone();
            let mut expected = parts[0].clone();
            for (i, part) in parts[1..].iter().enumerate() {
                // A letter after the placeholder would change where its number ends.
                sql += &format!("{} {part}", placeholder(dialect, i + 1));
                expected += &format!("{} {part}", numbers[i]);
            }
            let values = numbers.iter().map(|n| Value::from(*n));
            prop_assert_eq!(MockStatement::new(dialect, sql, values).to_string(), expected);
        }
    }

    #[test]
    fn quoted_text_keeps_its_placeholders_and_a_missing_value_leaves_its_placeholder() {
        let stmt = MockStatement::new(Dialect::MySql, r"SELECT '?', 'it\'s ?', `a?` FROM t WHERE a = ? AND b = ?", [Value::from(1)]);
        assert_eq!(stmt.to_string(), r"SELECT '?', 'it\'s ?', `a?` FROM t WHERE a = 1 AND b = ?");
        let stmt = MockStatement::new(Dialect::MsSql, "SELECT [x@P1] FROM t WHERE a = @P2 AND b = @P1", [Value::from("a"), Value::from(2)]);
        assert_eq!(stmt.to_string(), "SELECT [x@P1] FROM t WHERE a = 2 AND b = 'a'");
        let stmt = MockStatement::new(Dialect::Postgres, r"SELECT E'it\'s $1', 'a\', $1", [Value::from(7)]);
        assert_eq!(stmt.to_string(), r"SELECT E'it\'s $1', 'a\', 7");
        let stmt = MockStatement::new(Dialect::Postgres, "SELECT $$ $1 $$, $f$ $1 $f$, \"$1\", $9 WHERE a = $1::text", [Value::from("x")]);
        assert_eq!(stmt.to_string(), "SELECT $$ $1 $$, $f$ $1 $f$, \"$1\", $9 WHERE a = 'x'::text");
    }
}

#[tokio::test]
async fn a_scripted_lost_connection_loses_the_transaction_as_a_server_would() {
    let mock = MockDatabase::new(Dialect::Postgres);
    let db = mock.database();
    mock.exec_error(Error::ConnectionLost { during: "scripted".into(), source: "the server closed the connection".into() });
    let outcome: Result<()> = db
        .transaction(async {
            let lost = User::filter(|u| u.age.lt(0)).delete_bulk().on(&db).await;
            assert!(matches!(lost, Err(Error::ConnectionLost { .. })), "{lost:?}");
            // The transaction is gone with its connection: nothing more is sent for it.
            let refused = User::filter(|u| u.age.lt(0)).delete_bulk().on(&db).await;
            assert!(matches!(refused, Err(Error::ConnectionLost { .. })), "{refused:?}");
            Ok(())
        })
        .await;
    assert!(outcome.is_err(), "the block cannot commit: {outcome:?}");
    let sql: Vec<String> = mock.take_statements().into_iter().map(|s| s.sql).collect();
    assert_eq!(sql.len(), 2, "BEGIN and the statement the connection was lost under, nothing after: {sql:?}");
    assert_eq!(sql[0], "BEGIN");
}

#[tokio::test]
async fn server_errors_and_numbers_are_scripted_as_a_server_sends_them() {
    #[derive(Model, Debug, PartialEq)]
    #[duo(table = "prices")]
    struct Price {
        #[duo(primary_key)]
        id: i64,
        ratio: f32,
        amount: rust_decimal::Decimal,
    }

    let mock = MockDatabase::new(Dialect::Postgres);
    let db = mock.database();
    let deadlock = duo_orm::DatabaseError::new(Some("40P01".into()), None, "deadlock detected", "scripted".into());
    mock.query_error(Error::Database(deadlock));
    let Err(Error::Database(error)) = Price::get(1).on(&db).await else { panic!("the scripted error comes back") };
    assert_eq!((error.code(), error.message()), (Some("40P01"), "deadlock detected"));

    // Numbers written as plain literals fill the field's type when they fit exactly.
    mock.rows([[Value::from(1), Value::from(1.5f64), Value::from(250)]]);
    let price = Price::get(1).on(&db).await.unwrap().unwrap();
    assert_eq!((price.ratio, price.amount), (1.5, rust_decimal::Decimal::from(250)));
    // One that does not fit is refused, not rounded.
    mock.rows([[Value::from(1), Value::from(0.1f64), Value::from(1)]]);
    let err = Price::get(1).on(&db).await.unwrap_err();
    assert!(matches!(&err, Error::Decode { .. }) && err.to_string().contains("#1"), "{err}");
}

#[tokio::test]
async fn a_disconnected_mock_database_stays_on_the_mock() {
    for dialect in [Dialect::Sqlite, Dialect::Postgres] {
        let mock = MockDatabase::new(dialect);
        let db = mock.database();
        db.disconnect().await.unwrap();
        mock.models([ada(3)]);
        assert_eq!(User::get(3).on(&db).await.unwrap(), Some(ada(3)), "{dialect:?}");
        assert_eq!(mock.take_statements().len(), 1, "{dialect:?}");
        assert!(format!("{db:?}").contains("mock"), "{db:?}");
    }
}

/// `all`, `first` and `one` keep their SELECT's text per shape of its condition: the statement
/// each sends is exactly what `to_sql` renders afresh for the same query, whatever condition,
/// order and values, and whichever query of the same shape ran before it.
mod kept_selects {
    use duo_orm::mock::MockDatabase;
    use duo_orm::prelude::*;
    use duo_orm::sea_query::Value;
    use proptest::prelude::*;

    use super::DIALECTS;
    use crate::models::User;
    use duo_orm::Condition;

    /// A condition on `User`, with its values.
    #[derive(Debug, Clone)]
    enum Cond {
        AgeGt(i32),
        AgeEq(i32),
        AgeBetween(i32, i32),
        NameEq(String),
        NameLike(String),
        IdIn(Vec<i64>),
        NicknameIsNull,
        Not(Box<Cond>),
        And(Box<Cond>, Box<Cond>),
        Or(Box<Cond>, Box<Cond>),
    }

    impl Cond {
        fn condition(&self, u: &<User as Model>::Columns) -> Condition<User> {
            match self {
                Cond::AgeGt(n) => u.age.gt(*n),
                Cond::AgeEq(n) => u.age.eq(*n),
                Cond::AgeBetween(a, b) => u.age.between(*a, *b),
                Cond::NameEq(text) => u.name.eq(text.as_str()),
                Cond::NameLike(text) => u.name.like(text.as_str()),
                Cond::IdIn(ids) => u.id.is_in(ids.clone()),
                Cond::NicknameIsNull => u.nickname.is_null(),
                Cond::Not(inner) => !inner.condition(u),
                Cond::And(a, b) => a.condition(u).and(b.condition(u)),
                Cond::Or(a, b) => a.condition(u).or(b.condition(u)),
            }
        }

        /// The same shape with other values.
        fn revalued(&self) -> Cond {
            match self {
                Cond::AgeGt(n) => Cond::AgeGt(n.wrapping_add(1)),
                Cond::AgeEq(n) => Cond::AgeEq(n.wrapping_sub(1)),
                Cond::AgeBetween(a, b) => Cond::AgeBetween(a.wrapping_sub(1), b.wrapping_add(1)),
                Cond::NameEq(text) => Cond::NameEq(format!("{text}'x")),
                Cond::NameLike(text) => Cond::NameLike(format!("%{text}")),
                Cond::IdIn(ids) => Cond::IdIn(ids.iter().map(|id| id.wrapping_mul(3)).collect()),
                Cond::NicknameIsNull => Cond::NicknameIsNull,
                Cond::Not(inner) => Cond::Not(Box::new(inner.revalued())),
                Cond::And(a, b) => Cond::And(Box::new(a.revalued()), Box::new(b.revalued())),
                Cond::Or(a, b) => Cond::Or(Box::new(a.revalued()), Box::new(b.revalued())),
            }
        }
    }

    impl Cond {
        /// A shape that differs only in its operators: AND and OR swapped, `>` made `=`.
        fn swapped(&self) -> Cond {
            match self {
                Cond::AgeGt(n) => Cond::AgeEq(*n),
                Cond::AgeEq(n) => Cond::AgeGt(*n),
                Cond::Not(inner) => Cond::Not(Box::new(inner.swapped())),
                Cond::And(a, b) => Cond::Or(Box::new(a.swapped()), Box::new(b.swapped())),
                Cond::Or(a, b) => Cond::And(Box::new(a.swapped()), Box::new(b.swapped())),
                other => other.clone(),
            }
        }

        /// A shape with one more item in each `is_in` list.
        fn grown(&self) -> Cond {
            match self {
                Cond::IdIn(ids) => Cond::IdIn(ids.iter().copied().chain([7]).collect()),
                Cond::Not(inner) => Cond::Not(Box::new(inner.grown())),
                Cond::And(a, b) => Cond::And(Box::new(a.grown()), Box::new(b.grown())),
                Cond::Or(a, b) => Cond::Or(Box::new(a.grown()), Box::new(b.grown())),
                other => other.clone(),
            }
        }
    }

    fn cond() -> impl Strategy<Value = Cond> {
        // Small numbers often: values that coincide with ones sea-query writes itself (the
        // `1 = 2` of an empty IN list) must not make two shapes look alike.
        let int = || prop_oneof![-2..3i32, any::<i32>()];
        let leaf = prop_oneof![
            int().prop_map(Cond::AgeGt),
            int().prop_map(Cond::AgeEq),
            (int(), int()).prop_map(|(a, b)| Cond::AgeBetween(a, b)),
            "[a-z' %_]{0,6}".prop_map(Cond::NameEq),
            "[a-z' %_]{0,6}".prop_map(Cond::NameLike),
            prop::collection::vec(prop_oneof![-2..3i64, any::<i64>()], 0..4).prop_map(Cond::IdIn),
            Just(Cond::NicknameIsNull),
        ];
        leaf.prop_recursive(3, 12, 2, |inner| {
            prop_oneof![
                inner.clone().prop_map(|c| Cond::Not(Box::new(c))),
                (inner.clone(), inner.clone()).prop_map(|(a, b)| Cond::And(Box::new(a), Box::new(b))),
                (inner.clone(), inner).prop_map(|(a, b)| Cond::Or(Box::new(a), Box::new(b))),
            ]
        })
    }

    /// The query `all`, `first` or `one` (`terminal` 0, 1, 2) runs, as `to_sql` renders it.
    fn query(cond: Option<&Cond>, order: usize, terminal: usize) -> duo_orm::Select<User> {
        let mut query = match cond {
            Some(cond) => User::filter(|u| cond.condition(u)),
            None => User::query(),
        };
        query = match order {
            1 => query.order_by(|u| u.age.asc()),
            2 => query.order_by(|u| u.name.desc()).order_by(|u| u.id.asc()),
            _ => query,
        };
        match terminal {
            1 => query.limit(1),
            2 => query.limit(2),
            _ => query,
        }
    }

    fn run(mock: &MockDatabase, db: &Database, cond: Option<&Cond>, order: usize, terminal: usize) -> (String, Vec<Value>) {
        mock.rows(Vec::<Vec<Value>>::new());
        let query = query(cond, order, 0);
        match terminal {
            1 => drop(query.first().on(db).wait().unwrap()),
            2 => drop(query.one().on(db).wait().unwrap_err()),
            _ => drop(query.all().on(db).wait().unwrap()),
        }
        let [sent] = mock.take_statements().try_into().unwrap();
        (sent.sql, sent.values)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]
        #[test]
        fn each_select_sends_what_to_sql_renders(dialect in 0..5usize, cond in proptest::option::of(cond()), order in 0..3usize, terminal in 0..3usize) {
            let dialect = DIALECTS[dialect];
            let mock = MockDatabase::new(dialect);
            let db = mock.database();
            // The same shape with other values, then shapes that differ only in their
            // operators or in the length of their lists (each must get its own text).
            let again = cond.as_ref().map(Cond::revalued);
            let swapped = cond.as_ref().map(Cond::swapped);
            let swapped_again = swapped.as_ref().map(Cond::revalued);
            let grown = cond.as_ref().map(Cond::grown);
            for cond in [cond.as_ref(), again.as_ref(), swapped.as_ref(), swapped_again.as_ref(), grown.as_ref()] {
                let expected = query(cond, order, terminal).to_sql(dialect).unwrap();
                let (sql, values) = run(&mock, &db, cond, order, terminal);
                prop_assert_eq!(&sql, &expected.sql, "{:?}", cond);
                prop_assert_eq!(&values, &expected.values.0, "{:?}: {}", cond, sql);
            }
        }
    }
}
