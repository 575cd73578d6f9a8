//! Array columns: operators live on PostgreSQL, refused with a pointer to `Json<Vec<T>>`
//! elsewhere, exact SQL in five dialects.

use duo_orm::InvalidQueryKind;
use duo_orm::prelude::*;
use duo_orm::{Condition, Dialect};

use crate::support::{DIALECTS, backends};

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "tagged")]
pub struct Tagged {
    #[duo(primary_key)]
    pub id: i64,
    pub name: String,
    pub tags: Vec<String>,
    pub scores: Vec<i64>,
    pub flags: Option<Vec<bool>>,
}

/// The portable alternative: the same list stored as JSON.
#[derive(Model, Debug, Clone)]
#[duo(table = "tagged_json")]
pub struct TaggedJson {
    #[duo(primary_key)]
    pub id: i64,
    pub name: String,
    pub tags: Json<Vec<String>>,
}

type Filter = fn(&<Tagged as Model>::Columns) -> Condition<Tagged>;

fn cases() -> Vec<(&'static str, Filter, &'static [&'static str])> {
    vec![
        ("includes", |t| t.tags.includes("orm"), &["a", "c"]),
        ("includes_all", |t| t.tags.includes_all(["orm", "db"]), &["c"]),
        ("includes_any", |t| t.tags.includes_any(["rust", "db"]), &["a", "b", "c"]),
        ("equals", |t| t.tags.equals(["db"]), &["b"]),
        ("not_equals", |t| t.tags.not_equals(["db"]), &["a", "c"]),
        ("length ge", |t| t.scores.length().ge(2), &["a"]),
        ("length eq 0", |t| t.scores.length().eq(0), &["b"]),
        ("integers", |t| t.scores.includes(5), &["c"]),
        ("optional column", |t| t.flags.includes(true), &["a"]),
        ("combined", |t| t.tags.includes("orm") & t.scores.length().lt(2), &["c"]),
    ]
}

#[tokio::test]
async fn array_operators_live_on_postgres_and_refused_elsewhere() {
    for backend in backends("arrays").await {
        let db = &backend.db;
        db.register::<Tagged>();
        if backend.dialect != Dialect::Postgres {
            // An array column cannot be created: the error says what to use instead.
            let error = db.create_all().await.unwrap_err();
            assert!(matches!(error, Error::UnsupportedOperation { .. }), "{error}");
            assert!(error.to_string().contains("Json<Vec<T>>"), "{error}");
            let error = Tagged::filter(|t| t.tags.includes("orm")).all().on(db).await.unwrap_err();
            assert!(matches!(error, Error::UnsupportedOperation { .. }), "{error}");
            continue;
        }
        db.create_all().await.unwrap();
        for row in [
            json!({"name": "a", "tags": ["orm", "rust"], "scores": [1, 2, 3], "flags": [true]}),
            json!({"name": "b", "tags": ["db"], "scores": [], "flags": null}),
            json!({"name": "c", "tags": ["orm", "db"], "scores": [5], "flags": [false]}),
        ] {
            Tagged::create(row).on(db).await.unwrap();
        }
        let a = Tagged::filter(|t| t.name.eq("a")).one().on(db).await.unwrap();
        assert_eq!(
            (a.tags.clone(), a.scores.clone(), a.flags.clone()),
            (vec!["orm".into(), "rust".into()], vec![1, 2, 3], Some(vec![true]))
        );
        for (what, filter, expected) in cases() {
            let rows = Tagged::filter(filter).order_by(|t| t.id.asc()).all().on(db).await.unwrap();
            let names: Vec<String> = rows.into_iter().map(|t| t.name).collect();
            assert_eq!(names, expected, "{what}");
        }
        // Saved back as an array too.
        let mut a = a;
        a.tags.push("new".into());
        a.save().on(db).await.unwrap();
        assert_eq!(Tagged::filter(|t| t.tags.includes("new")).count().on(db).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn lists_stored_as_json_work_everywhere() {
    for backend in backends("arrays_json").await {
        let db = &backend.db;
        db.register::<TaggedJson>();
        db.create_all().await.unwrap();
        TaggedJson::create(json!({"name": "a", "tags": ["orm", "rust"]})).on(db).await.unwrap();
        TaggedJson::create(json!({"name": "b", "tags": ["db"]})).on(db).await.unwrap();
        let found = TaggedJson::filter(|t| t.tags.json().contains("orm")).all().on(db).await.unwrap();
        assert_eq!(found.len(), 1, "{:?}", backend.dialect);
        assert_eq!(*found[0].tags, vec!["orm".to_string(), "rust".to_string()]);
    }
}

#[test]
fn empty_lists_are_a_clear_error() {
    let error = Tagged::filter(|t| t.tags.includes_all(Vec::<String>::new())).to_sql(Dialect::Postgres).unwrap_err();
    assert!(matches!(error, Error::InvalidQuery { kind: InvalidQueryKind::Argument, .. }), "{error}");
    assert!(error.to_string().contains("includes_all() needs at least one value"), "{error}");
    assert!(Tagged::filter(|t| t.tags.equals(Vec::<&str>::new())).to_sql(Dialect::Postgres).is_err());
}

#[test]
fn array_operators_render_in_five_dialects() {
    for (name, dialect) in DIALECTS {
        let mut out = String::new();
        for (what, filter, _) in cases() {
            let rendered = crate::support::where_and_values(Tagged::filter(filter).to_sql(dialect));
            out.push_str(&format!("-- {what}\n{rendered}\n"));
        }
        let ddl =
            duo_orm::ddl::create_table(Tagged::meta(), dialect, false).map(|sql| sql.join(";\n")).unwrap_or_else(|e| format!("error: {e}"));
        out.push_str(&format!("-- create table\n{ddl}\n"));
        insta::assert_snapshot!(format!("arrays_{name}"), out);
    }
    assert_eq!(duo_orm::schema::ColumnType::from_name("text[]").map(|t| t.name()).as_deref(), Some("text[]"));
}
