//! Integrity and validation errors, live on every backend.

use duo_orm::ConfigurationKind;
use duo_orm::IntegrityKind;
use duo_orm::prelude::*;
use duo_orm::sea_query::{Query, Value};
use serde_json::json;

use crate::models::*;
use crate::setup;
use crate::support::backends;

#[tokio::test]
async fn unique_foreign_key_and_not_null_violations_are_integrity_errors() {
    for t in backends("err_integrity").await {
        setup!(t.db, User, Post);
        let d = t.dialect;
        User::create(user_create("Ada", 36, "ada@example.com")).on(&t.db).await.unwrap();

        let err = User::create(user_create("Ada2", 30, "ada@example.com")).on(&t.db).await.unwrap_err();
        let Error::Integrity { kind, constraint, column, .. } = &err else { panic!("{d:?}: {err:?}") };
        assert_eq!(*kind, IntegrityKind::Unique, "{d:?}");
        let named = format!("{constraint:?} {column:?}");
        assert!(named.contains("email"), "{d:?}: the constraint or column names `email`: {named}");

        let err = Post::create(json!({"title": "orphan", "author_id": 999})).on(&t.db).await.unwrap_err();
        assert!(matches!(err, Error::Integrity { kind: IntegrityKind::ForeignKey, .. }), "{d:?}: {err:?}");
        if d != duo_orm::Dialect::Sqlite {
            let Error::Integrity { constraint, .. } = &err else { unreachable!() };
            assert_eq!(constraint.as_deref(), Some("fk_posts_author_id"), "{d:?}");
        }

        let mut insert = Query::insert();
        insert.into_table("posts").columns(["title", "author_id"]).values_panic([Value::String(None).into(), 1i64.into()]);
        let err = t.db.execute_statement(&insert).await.unwrap_err();
        let Error::Integrity { kind, column, constraint, .. } = &err else { panic!("{d:?}: {err:?}") };
        assert_eq!(*kind, IntegrityKind::NotNull, "{d:?}");
        assert_eq!(column.as_deref(), Some("title"), "{d:?} {constraint:?}");
        assert!(err.to_string().contains("title"), "{err}");
    }
}

#[tokio::test]
async fn invalid_payloads_are_refused_before_writing() {
    for t in backends("err_validation").await {
        setup!(t.db, User);
        let err = User::create(user_create("", 200, "not-an-email")).on(&t.db).await.unwrap_err();
        let Error::Validation { field, detail } = &err else { panic!("{err:?}") };
        assert_eq!(field, "age", "fields are reported in name order");
        assert!(detail.contains("email") && detail.contains("a name is required"), "{detail}");
        // A map value of the wrong type is a validation error naming the field.
        let err = User::create(json!({"name": "X", "age": "old", "email": "x@example.com"})).on(&t.db).await.unwrap_err();
        assert!(matches!(&err, Error::Validation { field, .. } if field == "age"), "{err:?}");
        // A payload that is not an object.
        let err = User::create(json!([1, 2])).on(&t.db).await.unwrap_err();
        assert!(matches!(err, Error::InvalidQuery { .. }), "{err:?}");
        assert_eq!(User::query().count().on(&t.db).await.unwrap(), 0, "nothing was written on {:?}", t.dialect);
    }
}

/// Two models of one table that disagree on a column's type.
#[derive(Model, Debug, Clone)]
#[duo(table = "err_decode_probe")]
pub struct Labelled {
    #[duo(primary_key)]
    pub id: i64,
    pub label: String,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "err_decode_probe")]
pub struct LabelledAsNumber {
    #[duo(primary_key)]
    pub id: i64,
    pub label: i64,
}

#[tokio::test]
async fn a_column_that_cannot_become_its_field_is_a_decode_error_naming_model_and_column() {
    for t in backends("err_decode").await {
        setup!(t.db, Labelled);
        Labelled::create(json!({"label": "not a number"})).on(&t.db).await.unwrap();
        for err in
            [LabelledAsNumber::query().all().on(&t.db).await.unwrap_err(), LabelledAsNumber::query().first().on(&t.db).await.unwrap_err()]
        {
            let Error::Decode { model, column, detail } = &err else { panic!("{:?}: {err:?}", t.dialect) };
            assert_eq!((*model, column.as_str()), ("LabelledAsNumber", "#1"), "{:?}: {detail}", t.dialect);
            assert!(err.to_string().starts_with("cannot decode column #1 of LabelledAsNumber"), "{err}");
        }
    }
}

#[tokio::test]
async fn unbound_model_without_on_says_how_to_bind() {
    let err = User::query().all().await.unwrap_err();
    let Error::Configuration { kind: ConfigurationKind::Binding, message, .. } = &err else { panic!("{err:?}") };
    assert!(message.contains("User is not bound") && message.contains(".on(&db)"), "{message}");
}

/// Any other server error is a `DatabaseError` that names no driver: the server's code and
/// message, with the driver's error as its source.
#[tokio::test]
async fn other_server_errors_keep_their_code_and_the_driver_error() {
    use std::error::Error as _;
    for t in backends("errors_database").await {
        let error = t.db.execute_raw("SELEC 1").await.unwrap_err();
        let Error::Database(db) = &error else { panic!("{:?}: {error:?}", t.dialect) };
        let expected = match t.dialect {
            Dialect::Postgres => "42601",
            Dialect::MySql => "42000",
            _ => "1",
        };
        assert_eq!(db.code(), Some(expected), "{:?}: {db}", t.dialect);
        assert!(db.message().to_lowercase().contains("syntax"), "{:?}: {db}", t.dialect);
        assert!(error.to_string().contains(expected), "{error}");
        let driver = error.source().and_then(|db| db.source()).and_then(|e| e.downcast_ref::<sqlx::Error>());
        assert!(matches!(driver, Some(sqlx::Error::Database(_))), "{:?}: {driver:?}", t.dialect);
    }
}
