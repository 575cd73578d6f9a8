//! JSON columns: path expressions live on SQLite, PostgreSQL and MariaDB, exact SQL in five
//! dialects, and the documented refusals.

use duo_orm::prelude::*;
use duo_orm::{Condition, Dialect};

use crate::setup;
use crate::support::backends;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prefs {
    pub theme: String,
    pub beta: bool,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "json_docs")]
pub struct Doc {
    #[duo(primary_key)]
    pub id: i64,
    pub name: String,
    pub data: serde_json::Value,
    pub prefs: Option<Json<Prefs>>,
}

fn documents() -> Vec<serde_json::Value> {
    vec![
        json!({"name": "one", "data": {"flags": {"beta": true}, "tags": ["orm"], "quota": 2, "who": "ada",
                                       "code": "2", "mixed": [true, null, 2]},
               "prefs": {"theme": "dark", "beta": true}}),
        json!({"name": "two", "data": {"flags": {"beta": false}, "tags": ["db", "orm"], "quota": 5, "ratio": 0.5,
                                       "code": 2},
               "prefs": {"theme": "light", "beta": false}}),
        json!({"name": "three", "data": {"flags": {}, "tags": [], "quota": null, "who": "true", "code": 2.5},
               "prefs": null}),
    ]
}

type Filter = fn(&<Doc as Model>::Columns) -> Condition<Doc>;

/// Every operation with the documents it must return.
fn cases() -> Vec<(&'static str, Filter, &'static [&'static str])> {
    vec![
        ("bool is_true", |d| d.data.at("flags").at("beta").is_true(), &["one"]),
        ("bool is_false", |d| d.data.at("flags").at("beta").is_false(), &["two"]),
        ("eq bool", |d| d.data.at("flags").at("beta").eq(true), &["one"]),
        ("a string \"true\" is not true", |d| d.data.at("who").is_true(), &[]),
        ("eq integer", |d| d.data.at("quota").eq(2), &["one"]),
        ("as_integer ge", |d| d.data.at("quota").as_integer().ge(2), &["one", "two"]),
        ("as_integer gt", |d| d.data.at("quota").as_integer().gt(2), &["two"]),
        ("as_float lt", |d| d.data.at("ratio").as_float().lt(1.0), &["two"]),
        ("eq text", |d| d.data.at("who").eq("ada"), &["one"]),
        ("as_text ne: a missing key differs", |d| d.data.at("who").as_text().ne("ada"), &["two", "three"]),
        ("array index", |d| d.data.at("tags").at(0u32).eq("orm"), &["one"]),
        ("is_null: JSON null", |d| d.data.at("quota").is_null(), &["three"]),
        ("is_null: missing key", |d| d.data.at("ratio").is_null(), &["one", "three"]),
        ("is_not_null", |d| d.data.at("quota").is_not_null(), &["one", "two"]),
        ("has_key top level", |d| d.data.has_key("ratio"), &["two"]),
        ("has_key nested", |d| d.data.at("flags").has_key("beta"), &["one", "two"]),
        ("contains a scalar", |d| d.data.at("tags").contains("orm"), &["one", "two"]),
        ("contains another scalar", |d| d.data.at("tags").contains("db"), &["two"]),
        ("typed Json<T> path", |d| d.prefs.at("beta").is_true(), &["one"]),
        ("typed Json<T> text", |d| d.prefs.at("theme").eq("light"), &["two"]),
        ("combined", |d| d.data.at("quota").as_integer().ge(2) & !d.data.at("flags").at("beta").is_true(), &["two"]),
        ("eq 2: not the string \"2\", not 2.5", |d| d.data.at("code").eq(2), &["two"]),
        ("eq \"2\": not the number 2", |d| d.data.at("code").eq("2"), &["one"]),
        ("as_text converts numbers", |d| d.data.at("code").as_text().eq("2"), &["one", "two"]),
        ("as_float of 2.5, no error on the string", |d| d.data.at("code").as_float().gt(2.0), &["three"]),
        ("as_bool", |d| d.data.at("flags").at("beta").as_bool().eq(false), &["two"]),
        ("negation covers a missing key", |d| !d.data.at("flags").at("beta").is_true(), &["two", "three"]),
        ("ne bool", |d| d.data.at("flags").at("beta").ne(true), &["two", "three"]),
        ("ne scalar", |d| d.data.at("quota").ne(2), &["two", "three"]),
        ("contains true", |d| d.data.at("mixed").contains(true), &["one"]),
        ("contains null", |d| d.data.at("mixed").contains(serde_json::Value::Null), &["one"]),
        ("contains a number", |d| d.data.at("mixed").contains(2), &["one"]),
        ("an object's members are not an array's", |d| d.data.at("flags").contains(true), &[]),
        ("index as an i32", |d| d.data.at("tags").at(0).eq("db"), &["two"]),
        ("contains looks in arrays only", |d| d.data.at("who").contains("ada"), &[]),
        ("as_text of a boolean", |d| d.data.at("flags").at("beta").as_text().eq("true"), &["one"]),
        ("as_text of an object is nothing", |d| d.data.at("flags").as_text().ge(""), &[]),
        ("an array's positions are not keys", |d| d.data.at("tags").has_key("0"), &[]),
    ]
}

/// Operations some dialects refuse: `None` in the list means UnsupportedOperation there.
fn document_cases() -> Vec<(&'static str, Filter, &'static [&'static str])> {
    vec![
        ("contains an object fragment", |d| d.data.contains_json(json!({"flags": {"beta": true}})), &["one"]),
        ("eq an object", |d| d.data.at("flags").eq(json!({"beta": true})), &["one"]),
        ("eq an array", |d| d.data.at("tags").eq(json!(["db", "orm"])), &["two"]),
        ("ne an array", |d| d.data.at("tags").ne(json!(["db", "orm"])), &["one", "three"]),
    ]
}

async fn names(filter: Filter, db: &Database) -> duo_orm::Result<Vec<String>> {
    let rows = Doc::filter(filter).order_by(|d| d.id.asc()).all().on(db).await?;
    Ok(rows.into_iter().map(|d| d.name).collect())
}

#[tokio::test]
async fn path_expressions_return_the_expected_rows_live() {
    for backend in backends("json_paths").await {
        let db = &backend.db;
        setup!(db, Doc);
        for document in documents() {
            Doc::create(document).on(db).await.unwrap();
        }
        let one = Doc::filter(|d| d.name.eq("one")).one().on(db).await.unwrap();
        assert_eq!(one.prefs, Some(Json(Prefs { theme: "dark".into(), beta: true })), "Json<T> round trip");
        assert_eq!(one.data["tags"], json!(["orm"]));
        for (what, filter, expected) in cases() {
            let found = names(filter, db).await.unwrap_or_else(|e| panic!("{:?}: {what}: {e}", backend.dialect));
            assert_eq!(found, expected, "{:?}: {what}", backend.dialect);
        }
        for (what, filter, expected) in document_cases() {
            let found = names(filter, db).await;
            if backend.dialect == Dialect::Sqlite && what.starts_with("contains") {
                let error = found.unwrap_err();
                assert!(matches!(error, Error::UnsupportedOperation { dialect: Dialect::Sqlite, .. }), "{what}: {error}");
                continue;
            }
            assert_eq!(found.unwrap_or_else(|e| panic!("{:?}: {what}: {e}", backend.dialect)), expected, "{:?}: {what}", backend.dialect);
        }
        // A payload that does not fit the typed document is a validation error.
        let bad = Doc::create(json!({"name": "bad", "data": {}, "prefs": {"theme": 3}})).on(db).await.unwrap_err();
        assert!(matches!(bad, Error::Validation { .. }), "{bad}");
    }
}

#[tokio::test]
async fn json_conditions_work_in_every_operation() {
    use futures_util::TryStreamExt;
    for backend in backends("json_operations").await {
        let db = &backend.db;
        setup!(db, Doc);
        for document in documents() {
            Doc::create(document).on(db).await.unwrap();
        }
        let beta = |d: &<Doc as Model>::Columns| d.data.at("flags").at("beta").is_true();
        assert_eq!(Doc::filter(beta).count().on(db).await.unwrap(), 1, "{:?}", backend.dialect);
        assert!(Doc::filter(beta).exists().on(db).await.unwrap());
        let streamed: Vec<Doc> =
            Doc::filter(|d| d.data.has_key("who")).iterate().batch_size(1).on(db).stream().try_collect().await.unwrap();
        assert_eq!(streamed.len(), 2);
        let stmt = Doc::filter(beta).alchemize_for(backend.dialect).unwrap();
        assert_eq!(Doc::from_statement(stmt).all().on(db).await.unwrap().len(), 1);
        let updated = Doc::filter(beta).update_bulk(json!({"name": "ONE"})).on(db).await.unwrap();
        assert_eq!(updated, 1);
        let deleted = Doc::filter(|d| d.data.at("quota").as_integer().ge(5)).delete_bulk().with_hooks(true).on(db).await.unwrap();
        assert_eq!(deleted, 1);
        let left: Vec<String> = Doc::query().order_by(|d| d.id.asc()).all().on(db).await.unwrap().into_iter().map(|d| d.name).collect();
        assert_eq!(left, ["ONE", "three"], "{:?}", backend.dialect);
    }
}

#[test]
fn a_negative_index_is_an_invalid_query() {
    let error = Doc::filter(|d| d.data.at("tags").at(-1).eq("x")).to_sql(Dialect::Postgres).unwrap_err();
    assert!(matches!(error, Error::InvalidQuery { .. }), "{error}");
    assert!(error.to_string().contains("`-1` is not a JSON array index"), "{error}");
    let too_big = Doc::filter(|d| d.data.at("tags").at(i64::from(i32::MAX) + 1).eq("x")).to_sql(Dialect::Postgres);
    assert!(matches!(too_big, Err(Error::InvalidQuery { .. })), "{too_big:?}");
    // Without a dialect, the escape hatch writes a statement that fails instead of answering.
    let sql = Doc::filter(|d| d.data.has_key("a")).alchemize().to_string(duo_orm::sea_query::SqliteQueryBuilder);
    assert!(sql.contains("duo_orm_query_cannot_be_written_here"), "{sql}");
    // An invalid path fails through the escape hatch too, negated or not.
    let error = Doc::filter(|d| d.data.at("tags").at(-1).ne("x")).alchemize_for(Dialect::Postgres).unwrap_err();
    assert!(matches!(error, Error::InvalidQuery { .. }), "{error}");
    let sql = Doc::filter(|d| d.data.at("tags").at(-1).ne("x")).alchemize().to_string(duo_orm::sea_query::PostgresQueryBuilder);
    assert!(sql.contains("duo_orm_query_cannot_be_written_here"), "{sql}");
}

#[test]
fn path_expressions_render_natively_in_five_dialects() {
    for (name, dialect) in crate::support::DIALECTS {
        let mut out = String::new();
        for (what, filter, _) in cases().into_iter().chain(document_cases()) {
            let rendered = crate::support::where_and_values(Doc::filter(filter).to_sql(dialect));
            out.push_str(&format!("-- {what}\n{rendered}\n"));
        }
        insta::assert_snapshot!(format!("json_{name}"), out);
    }
}

#[test]
fn what_a_dialect_cannot_express_is_an_error_naming_it() {
    let object = Doc::filter(|d| d.data.contains_json(json!({"a": 1})));
    for dialect in [Dialect::Sqlite, Dialect::MsSql, Dialect::Oracle] {
        let error = object.to_sql(dialect).unwrap_err();
        assert!(matches!(error, Error::UnsupportedOperation { .. }), "{error}");
        assert!(error.to_string().starts_with(&format!("{dialect} does not support JSON contains()")), "{error}");
    }
    let error = Doc::filter(|d| d.data.at("a").eq(json!([1]))).to_sql(Dialect::MsSql).unwrap_err();
    assert!(error.to_string().contains("SQL Server does not support comparing a JSON object or array"), "{error}");
    // The escape hatch says why too.
    let error = Doc::filter(|d| d.data.at("a").eq(json!([1]))).alchemize_for(Dialect::MsSql).unwrap_err();
    assert!(matches!(error, Error::UnsupportedOperation { .. }));
    // Inside a relationship-style combination the error still surfaces.
    let combined = Doc::filter(|d| d.name.eq("x") | d.data.contains_json(json!({"a": 1})));
    assert!(combined.count_sql(Dialect::Oracle).is_err());
}
