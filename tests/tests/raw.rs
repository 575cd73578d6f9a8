//! Raw SQL with bound parameters, and rows into tuples, scalars, models and row structs.

use duo_orm::prelude::*;
use duo_orm::sea_query::{Alias, Expr, Query};
use duo_orm::{Dialect, InvalidQueryKind};

use crate::setup;
use crate::support::backends;

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "raw_scores")]
pub struct Score {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    #[duo(max_length = 40)]
    pub player: String,
    pub points: i32,
}

/// A report row.
#[derive(FromRow, Debug, PartialEq)]
pub struct Tally {
    pub player: String,
    pub total: i64,
    pub best: Option<i32>,
}

/// A row struct holding a model and a column more.
#[derive(FromRow, Debug, PartialEq)]
pub struct Ranked {
    pub score: Score,
    pub rank: i64,
}

#[tokio::test]
async fn raw_sql_binds_its_values_and_decodes_any_row_type() {
    for t in backends("raw_sql").await {
        let (db, d) = (&t.db, t.dialect);
        let fail = |e: Error| -> ! { panic!("{d:?}: {e}") };
        setup!(db, Score);
        let inserted = db
            .raw("INSERT INTO raw_scores (player, points) VALUES (?, ?), (?, ?), (?, ?)")
            .bind("ada")
            .bind(3)
            .bind("ada")
            .bind(9)
            .bind("it's ? -- not a comment")
            .bind(5)
            .execute()
            .await
            .unwrap_or_else(|e| fail(e));
        assert_eq!(inserted, 3, "{d:?}");
        // Tuples, with a `?` in a literal and in comments that stay as they are.
        let rows: Vec<(String, i32)> = db
            .raw("SELECT player, points FROM raw_scores WHERE points > ? AND player <> '?' -- ?\n/* ? */ ORDER BY points")
            .bind(3)
            .all()
            .await
            .unwrap_or_else(|e| fail(e));
        assert_eq!(rows, [("it's ? -- not a comment".to_string(), 5), ("ada".to_string(), 9)], "{d:?}");
        // A scalar, and no row.
        let count: Option<i64> = db.raw("SELECT COUNT(*) FROM raw_scores WHERE player = ?").bind("ada").first().await.unwrap();
        assert_eq!(count, Some(2));
        let none: Option<i64> = db.raw("SELECT points FROM raw_scores WHERE player = ?").bind("nobody").first().await.unwrap();
        assert_eq!(none, None);
        // A row struct, a model, and a model with a column more.
        let tallies: Vec<Tally> = db
            .raw("SELECT player, COUNT(*) AS total, MAX(points) FROM raw_scores GROUP BY player ORDER BY player")
            .all()
            .await
            .unwrap_or_else(|e| fail(e));
        assert_eq!(tallies[0], Tally { player: "ada".into(), total: 2, best: Some(9) }, "{d:?}");
        let models: Vec<Score> = db.raw("SELECT id, player, points FROM raw_scores WHERE points = ?").bind(9).all().await.unwrap();
        assert_eq!(models.len(), 1);
        let ranked: Vec<Ranked> = db
            .raw("SELECT id, player, points, (SELECT COUNT(*) FROM raw_scores b WHERE b.points >= a.points) FROM raw_scores a ORDER BY points DESC")
            .all()
            .await
            .unwrap_or_else(|e| fail(e));
        assert_eq!(ranked.iter().map(|r| (r.score.points, r.rank)).collect::<Vec<_>>(), [(9, 1), (5, 2), (3, 3)], "{d:?}");
        // A value of the wrong type names the field and the column.
        let error = db.raw("SELECT player, player, MAX(points) FROM raw_scores GROUP BY player").all::<Tally>().await.unwrap_err();
        assert!(matches!(&error, Error::Decode { model: "Tally", column, .. } if column == "total (#1)"), "{d:?}: {error}");
        // Placeholders and values that do not pair up are refused before anything is sent.
        let error = db.raw("SELECT ? + ?").bind(1).all::<i64>().await.unwrap_err();
        assert!(matches!(&error, Error::InvalidQuery { kind: InvalidQueryKind::Argument, .. }), "{error}");
        assert!(error.to_string().contains("2 placeholders but 1 value is bound"), "{error}");
        // In the ambient transaction: rolled back with it.
        let rolled_back: Result<()> = db
            .transaction(async {
                db.raw("DELETE FROM raw_scores WHERE player = ?").bind("ada").execute().await?;
                let left: Option<i64> = db.raw("SELECT COUNT(*) FROM raw_scores").first().await?;
                assert_eq!(left, Some(1));
                Err(Error::NotFound { model: "undo" })
            })
            .await;
        assert!(rolled_back.is_err());
        let left: Option<i64> = db.raw("SELECT COUNT(*) FROM raw_scores").first().await.unwrap();
        assert_eq!(left, Some(3), "{d:?}: the delete was rolled back");
    }
}

/// `from_statement` takes any row type: a window function added through sea-query.
#[tokio::test]
async fn a_hand_built_statement_decodes_into_a_row_struct() {
    for t in backends("raw_from_statement").await {
        let (db, d) = (&t.db, t.dialect);
        setup!(db, Score);
        for (player, points) in [("a", 1), ("b", 7), ("c", 4)] {
            Score::create(json!({"player": player, "points": points})).on(db).await.unwrap();
        }
        let mut stmt = Query::select();
        stmt.columns([Alias::new("id"), Alias::new("player"), Alias::new("points")])
            .expr(Expr::cust("ROW_NUMBER() OVER (ORDER BY points DESC)"))
            .from(Alias::new("raw_scores"))
            .order_by(Alias::new("points"), duo_orm::sea_query::Order::Desc);
        let ranked: Vec<Ranked> = db.from_statement(stmt.clone()).all().await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(ranked.iter().map(|r| (r.score.player.as_str(), r.rank)).collect::<Vec<_>>(), [("b", 1), ("c", 2), ("a", 3)]);
        // A row type that reads fewer columns than the row has would drop the others unseen.
        let short = db.from_statement::<(i64, String)>(stmt.clone()).first().await;
        assert!(matches!(&short, Err(Error::Decode { detail, .. }) if detail.contains("4 columns")), "{d:?}: {short:?}");
        let short = db.raw("SELECT id, player FROM raw_scores").all::<(i64,)>().await;
        assert!(matches!(&short, Err(Error::Decode { detail, .. }) if detail.contains("2 columns")), "{d:?}: {short:?}");
        let top: Option<(i64, String, i32, i64)> = db.from_statement(stmt).first().await.unwrap();
        assert_eq!(top.map(|(_, player, _, _)| player), Some("b".to_string()));
    }
}

#[test]
fn raw_sql_in_five_dialects() {
    let db = Database::new("sqlite::memory:");
    for (name, dialect) in crate::support::DIALECTS {
        // What every dialect quotes alike, then what one quotes its own way.
        let own = match dialect {
            Dialect::Postgres => " AND y = $$?$$ AND doc ?? 'k' AND e = E'\\'?'",
            Dialect::MySql => " AND `c?` = 'x\\'?' # ?\n",
            Dialect::MsSql => " AND [b?]] ?] = 1",
            _ => "",
        };
        let sql = format!("SELECT \"a?\", 'd?''?' FROM t -- ?\nWHERE x = ? /* ? */ AND z IN (?, ?){own}");
        let rendered = db.raw(sql).bind(1).bind("two").bind(3).to_sql(dialect).map(|s| s.sql);
        insta::assert_snapshot!(format!("raw_sql_{name}"), rendered.unwrap_or_else(|e| e.to_string()));
    }
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const DIALECTS: [Dialect; 5] = [Dialect::Postgres, Dialect::MySql, Dialect::Sqlite, Dialect::MsSql, Dialect::Oracle];

    /// A piece of SQL and what it becomes (`None` for a placeholder).
    fn fragment() -> impl Strategy<Value = (String, Option<String>)> {
        let kept = |s: String| (s.clone(), Some(s));
        prop_oneof![
            "[a-zA-Z0-9 ,.=()<>*+\n]{0,12}".prop_map(kept),
            "[a-z?\"*/ -]{0,8}".prop_map(move |s| kept(format!("'{}'", s.replace('\'', "''")))),
            "[a-z?' ]{0,8}".prop_map(move |s| kept(format!("/* {s} */"))),
            "[a-z?' ]{0,8}".prop_map(move |s| kept(format!("-- {s}\n"))),
            "[a-z? ]{0,8}".prop_map(move |s| kept(format!("\"{s}\""))),
            Just((" ? ".to_string(), None)),
            Just(("??".to_string(), Some("?".to_string()))),
        ]
    }

    proptest! {
        #[test]
        fn any_text_is_rewritten_or_refused_without_panicking(sql in "\\PC{0,64}", n in 0usize..5, values in 0usize..4) {
            let db = Database::new("sqlite::memory:");
            let raw = (0..values).fold(db.raw(sql), |raw, i| raw.bind(i as i64));
            let _ = raw.to_sql(DIALECTS[n]);
        }

        #[test]
        fn placeholders_are_numbered_and_everything_else_is_kept(pieces in prop::collection::vec(fragment(), 0..12)) {
            let db = Database::new("sqlite::memory:");
            let sql: String = pieces.iter().map(|(sql, _)| sql.as_str()).collect();
            let placeholders = pieces.iter().filter(|(_, kept)| kept.is_none()).count();
            for dialect in DIALECTS {
                let mut expected = String::new();
                let mut n = 0;
                for (_, kept) in &pieces {
                    match kept {
                        Some(text) => expected.push_str(text),
                        None => {
                            n += 1;
                            let (prefix, numbered) = dialect.placeholder();
                            expected.push_str(&format!(" {prefix}{} ", if numbered { n.to_string() } else { String::new() }));
                        }
                    }
                }
                // (MySQL reads `"…"` as a string and PostgreSQL `E'…'` as an escape string: no
                // fragment here holds a backslash, so both read the same.)
                let raw = (0..placeholders).fold(db.raw(sql.clone()), |raw, i| raw.bind(i as i64));
                let literal_marks = pieces.iter().any(|(sql, _)| sql == "??");
                if literal_marks && matches!(dialect, Dialect::MySql | Dialect::Sqlite) {
                    // No operator is spelled `?` there: `??` is refused, never rewritten.
                    prop_assert!(raw.to_sql(dialect).is_err());
                    continue;
                }
                let statement = raw.to_sql(dialect).unwrap();
                prop_assert_eq!(statement.sql, expected);
                prop_assert_eq!(statement.values.0.len(), placeholders);
            }
        }
    }
}
