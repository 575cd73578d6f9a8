//! Cursor pagination: `page_after` / `page_before` walk a query's order in both directions
//! without skipping or repeating a row, on every live backend; the SQL in five dialects; and
//! cursors that are forged, foreign or malformed are refused, never obeyed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use duo_orm::prelude::*;
use proptest::prelude::*;

use crate::setup;
use crate::support::{DIALECTS, backends};

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "cur_items")]
pub struct Item {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    #[duo(max_length = 40)]
    pub name: String,
    pub rank: i32,
    pub note: Option<String>,
}

fn by_rank() -> Select<Item> {
    Item::query().order_by(|i| i.rank.desc())
}

fn ids(items: &[Item]) -> Vec<i64> {
    items.iter().map(|i| i.id).collect()
}

#[tokio::test]
async fn pages_walk_the_order_both_ways() {
    for t in backends("cur_walk").await {
        let (db, d) = (&t.db, t.dialect);
        let fail = |e: Error| -> ! { panic!("{d:?}: {e}") };
        setup!(db, Item);
        // Ranks repeat, so the key breaks ties.
        for (name, rank) in [("a", 3), ("b", 1), ("c", 3), ("d", 2), ("e", 3), ("f", 1), ("g", 2)] {
            Item::create(json!({"name": name, "rank": rank})).on(db).await.unwrap();
        }
        let all = ids(&by_rank().order_by(|i| i.id.asc()).all().on(db).await.unwrap());

        // Forward, three at a time.
        let mut seen = Vec::new();
        let mut page = by_rank().page_after(None, 3).on(db).await.unwrap_or_else(|e| fail(e));
        assert!(page.previous.is_none(), "{d:?}: the first page has no previous page");
        let mut pages = vec![page.clone()];
        while let Some(next) = page.next.clone() {
            seen.extend(ids(&page.rows));
            page = by_rank().page_after(Some(&next), 3).on(db).await.unwrap_or_else(|e| fail(e));
            pages.push(page.clone());
        }
        seen.extend(ids(&page.rows));
        assert_eq!(seen, all, "{d:?}");
        assert_eq!(pages.iter().map(|p| p.rows.len()).collect::<Vec<_>>(), [3, 3, 1], "{d:?}");

        // Back from the last page, through each page's `previous`.
        let mut back = Vec::new();
        let mut page = pages.last().unwrap().clone();
        while let Some(previous) = page.previous.clone() {
            page = by_rank().page_before(Some(&previous), 3).on(db).await.unwrap_or_else(|e| fail(e));
            back.push(ids(&page.rows));
        }
        assert_eq!(back, [ids(&pages[1].rows), ids(&pages[0].rows)], "{d:?}");
        assert!(page.next.is_some(), "{d:?}");

        // The last page, asked for directly, in order; and filters still apply.
        let last = by_rank().page_before(None, 2).on(db).await.unwrap_or_else(|e| fail(e));
        assert_eq!(ids(&last.rows), all[5..], "{d:?}");
        assert!(last.next.is_none() && last.previous.is_some(), "{d:?}");
        let threes = Item::filter(|i| i.rank.eq(3)).order_by(|i| i.name.desc()).page_after(None, 10).on(db).await.unwrap();
        assert_eq!(threes.rows.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["e", "c", "a"], "{d:?}");
        assert!(threes.next.is_none());
    }
}

/// A float order column: values travel exactly (a JSON number could come back one unit off in
/// its last place and repeat or skip a row).
#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "cur_scores")]
pub struct Score {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    pub value: f64,
}

#[tokio::test]
async fn float_keys_and_empty_pages() {
    for t in backends("cur_floats").await {
        let (db, d) = (&t.db, t.dialect);
        setup!(db, Score);
        let values = [449.49106478873813, 0.1 + 0.2, 449.49106478873813, -1.0e-300, 1.0e300, 0.3];
        for value in values {
            Score::create(json!({ "value": value })).on(db).await.unwrap();
        }
        let by_value = || Score::query().order_by(|s| s.value.asc());
        let all: Vec<i64> = by_value().order_by(|s| s.id.asc()).all().on(db).await.unwrap().iter().map(|s| s.id).collect();
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let page = by_value().page_after(cursor.as_deref(), 1).on(db).await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
            seen.extend(page.rows.iter().map(|s| s.id));
            match page.next {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        assert_eq!(seen, all, "{d:?}");
        // Past the last row: an empty page that still leads back.
        let last = by_value().page_before(None, 1).on(db).await.unwrap();
        let at_last = last.previous.clone().unwrap();
        let empty = by_value().page_after(Some(&at_last), 1).on(db).await.unwrap();
        assert!(empty.rows.is_empty() && empty.next.is_none(), "{d:?}");
        assert_eq!(empty.previous.as_deref(), Some(at_last.as_str()), "{d:?}");
    }
}

/// Refusals, none of which reach a database.
#[tokio::test]
async fn cursors_that_do_not_fit_are_refused() {
    let db = Database::new("sqlite::memory:");
    setup!(db, Item);
    for name in ["a", "b", "c"] {
        Item::create(json!({"name": name, "rank": 1})).on(&db).await.unwrap();
    }
    let first = by_rank().page_after(None, 1).on(&db).await.unwrap();
    let cursor = first.next.clone().unwrap();
    let invalid = |result: Result<duo_orm::CursorPage<Item>>, needle: &str| match result {
        Err(Error::InvalidQuery { message, .. }) => assert!(message.contains(needle), "{message}"),
        other => panic!("expected InvalidQuery about {needle}, got {other:?}"),
    };
    // A cursor of another order.
    invalid(Item::query().order_by(|i| i.name.asc()).page_after(Some(&cursor), 1).on(&db).await, "another order");
    // A forged value of the wrong type.
    let json: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(&cursor).unwrap()).unwrap();
    let forged = URL_SAFE_NO_PAD.encode(serde_json::json!([json[0], ["one; DROP TABLE cur_items", 2]]).to_string());
    invalid(by_rank().page_after(Some(&forged), 1).on(&db).await, "another type");
    // Garbage, and too long.
    invalid(by_rank().page_after(Some("%%%"), 1).on(&db).await, "invalid cursor");
    invalid(by_rank().page_after(Some(&"A".repeat(duo_orm::MAX_CURSOR_LEN + 1)), 1).on(&db).await, "longer than");
    // Orders a cursor cannot keep, and paging of the query's own.
    invalid(Item::query().order_by(|i| i.note.asc()).page_after(None, 1).on(&db).await, "may be NULL");
    invalid(by_rank().limit(5).page_after(None, 1).on(&db).await, "own limit");
    invalid(by_rank().page_after(None, 0).on(&db).await, "at least one row");
    // A forged text value holding NUL (PostgreSQL would refuse it as a server error).
    let nul = URL_SAFE_NO_PAD.encode(serde_json::json!([fingerprint_of_by_name(), ["a\0b", 1]]).to_string());
    invalid(Item::query().order_by(|i| i.name.asc()).page_after(Some(&nul), 1).on(&db).await, "another type");
    assert!(matches!(by_rank().page_after(None, u64::MAX).on(&db).await, Err(Error::InvalidQuery { .. })));
    // A forged cursor may only move within the same order: values are bound.
    let moved = URL_SAFE_NO_PAD.encode(serde_json::json!([json[0], [2, 0]]).to_string());
    let page = by_rank().page_after(Some(&moved), 5).on(&db).await.unwrap();
    assert_eq!(page.rows.len(), 3);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    /// Whatever a client sends as a cursor, the query fails with `InvalidQuery` or runs with
    /// bound values; rendering never panics.
    #[test]
    fn any_cursor_text_is_refused_or_bound(cursor in "\\PC{0,80}|[A-Za-z0-9_-]{0,200}") {
        match by_rank().page_after_sql(Some(&cursor), 10, Dialect::Postgres) {
            Ok(statement) => prop_assert!(!statement.sql.contains(cursor.as_str()) || cursor.is_empty()),
            Err(error) => prop_assert!(matches!(error, Error::InvalidQuery { .. }), "{error}"),
        }
    }

    /// Any JSON values inside a cursor of the right query are refused or bound: never a panic.
    #[test]
    fn any_values_in_a_real_wrapper_are_refused_or_bound(values in proptest::collection::vec(json_value(), 0..4)) {
        let cursor = URL_SAFE_NO_PAD.encode(serde_json::json!([fingerprint_of_by_rank(), values]).to_string());
        match by_rank().page_after_sql(Some(&cursor), 10, Dialect::Postgres) {
            Ok(statement) => prop_assert_eq!(statement.values.0.len(), 4),
            Err(error) => prop_assert!(matches!(error, Error::InvalidQuery { .. }), "{error}"),
        }
    }

    /// A cursor built from any values of the right types decodes, and its values are bound:
    /// the SQL is the same whatever they are.
    #[test]
    fn forged_cursors_of_the_right_types_only_bind(rank in any::<i32>(), id in any::<i64>()) {
        let cursor = URL_SAFE_NO_PAD.encode(serde_json::json!([fingerprint_of_by_rank(), [rank, id]]).to_string());
        let statement = by_rank().page_after_sql(Some(&cursor), 1, Dialect::Sqlite).unwrap();
        let reference = by_rank().page_after_sql(Some(&reference_cursor()), 1, Dialect::Sqlite).unwrap();
        prop_assert_eq!(&statement.sql, &reference.sql);
        prop_assert!(statement.values.0.contains(&duo_orm::sea_query::Value::Int(Some(rank))));
        prop_assert!(statement.values.0.contains(&duo_orm::sea_query::Value::BigInt(Some(id))));
    }
}

fn json_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        any::<i64>().prop_map(serde_json::Value::from),
        any::<i32>().prop_map(serde_json::Value::from),
        any::<f64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::from),
        "\\PC{0,12}".prop_map(serde_json::Value::from),
        Just(serde_json::Value::Null),
        Just(serde_json::json!([1, [2]])),
        Just(serde_json::json!({"a": 1})),
    ]
}

/// The fingerprint of `Item::query().order_by(|i| i.name.asc())`.
fn fingerprint_of_by_name() -> serde_json::Value {
    let db = Database::new("sqlite::memory:");
    db.register::<Item>();
    db.create_all().wait().unwrap();
    for name in ["x", "y"] {
        Item::create(json!({"name": name, "rank": 1})).on(&db).wait().unwrap();
    }
    let cursor = Item::query().order_by(|i| i.name.asc()).page_after(None, 1).on(&db).wait().unwrap().next.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).unwrap()).unwrap();
    json[0].clone()
}

/// A cursor of `by_rank()` at rank 3, id 7.
fn reference_cursor() -> String {
    URL_SAFE_NO_PAD.encode(serde_json::json!([fingerprint_of_by_rank(), [3, 7]]).to_string())
}

/// The fingerprint a real cursor of `by_rank()` carries (read once from a real page).
fn fingerprint_of_by_rank() -> serde_json::Value {
    static FINGERPRINT: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    FINGERPRINT.get_or_init(read_fingerprint).clone()
}

fn read_fingerprint() -> serde_json::Value {
    let db = Database::new("sqlite::memory:");
    db.register::<Item>();
    db.create_all().wait().unwrap();
    Item::create(json!({"name": "x", "rank": 1})).on(&db).wait().unwrap();
    Item::create(json!({"name": "y", "rank": 1})).on(&db).wait().unwrap();
    let cursor = by_rank().page_after(None, 1).on(&db).wait().unwrap().next.unwrap();
    let json: serde_json::Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(cursor).unwrap()).unwrap();
    json[0].clone()
}

#[test]
fn cursor_pages_in_five_dialects() {
    let cursor = reference_cursor();
    for (name, dialect) in DIALECTS {
        let text = [
            by_rank().page_after_sql(None, 20, dialect),
            Item::filter(|i| i.name.ne("x")).order_by(|i| i.rank.desc()).page_after_sql(Some(&cursor), 20, dialect),
            by_rank().page_before_sql(Some(&cursor), 20, dialect),
        ]
        .into_iter()
        .map(|sql| sql.map(|s| s.sql).unwrap_or_else(|e| e.to_string()))
        .collect::<Vec<_>>()
        .join(";\n");
        insta::assert_snapshot!(format!("cursor_pages_{name}"), text);
    }
}
