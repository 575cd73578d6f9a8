//! Projections and aggregates: typed picks, `distinct`, `group_by`, `having`, ordering by an
//! aggregate, on every live backend and as exact SQL in five dialects.

use duo_orm::prelude::*;
use rust_decimal::Decimal;

use crate::setup;
use crate::support::{DIALECTS, backends};

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "rep_sales")]
pub struct Sale {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    #[duo(max_length = 40)]
    pub region: String,
    pub units: i32,
    pub cents: i64,
    pub weight: f64,
    pub price: Decimal,
    pub discount: Option<i32>,
    pub score: i16,
}

/// One row per region.
#[derive(FromRow, Debug, PartialEq)]
pub struct RegionTotals {
    pub region: String,
    pub sales: i64,
    pub units: Option<i64>,
}

async fn seed(db: &Database) {
    let rows =
        [("north", 3, 100, 1.5, "1.10", Some(1), 1), ("north", 5, 250, 2.5, "2.20", None, 2), ("south", 7, 900, 0.5, "3.30", Some(2), 2)];
    for (region, units, cents, weight, price, discount, score) in rows {
        let sale = json!({"region": region, "units": units, "cents": cents, "weight": weight, "price": price, "discount": discount, "score": score});
        Sale::create(sale).on(db).await.unwrap();
    }
}

#[tokio::test]
async fn projections_pick_typed_columns_and_distinct_rows() {
    for t in backends("rep_projections").await {
        let (db, d) = (&t.db, t.dialect);
        setup!(db, Sale);
        seed(db).await;
        let picked: Vec<(String, i32)> =
            Sale::filter(|s| s.units.gt(3)).order_by(|s| s.units.desc()).select(|s| (s.region, s.units)).all().on(db).await.unwrap();
        assert_eq!(picked, [("south".to_string(), 7), ("north".to_string(), 5)], "{d:?}");
        let one: Option<i64> = Sale::query().order_by(|s| s.cents.asc()).select(|s| s.cents).first().on(db).await.unwrap();
        assert_eq!(one, Some(100));
        let regions: Vec<String> = Sale::query().order_by(|s| s.region.asc()).select(|s| s.region).distinct().all().on(db).await.unwrap();
        assert_eq!(regions, ["north", "south"], "{d:?}");
        let discounts: Vec<Option<i32>> = Sale::query().order_by(|s| s.id.asc()).select(|s| s.discount).all().on(db).await.unwrap();
        assert_eq!(discounts, [Some(1), None, Some(2)]);
    }
}

#[tokio::test]
async fn aggregates_read_as_one_type_on_every_backend() {
    for t in backends("rep_aggregates").await {
        let (db, d) = (&t.db, t.dialect);
        let fail = |e: Error| -> ! { panic!("{d:?}: {e}") };
        setup!(db, Sale);
        seed(db).await;
        let (count, distinct, units, cents, weight) = Sale::query()
            .select(|s| (s.id.count(), s.region.count_distinct(), s.units.sum(), s.cents.sum(), s.weight.sum()))
            .first()
            .on(db)
            .await
            .unwrap_or_else(|e| fail(e))
            .unwrap();
        assert_eq!((count, distinct, units, cents, weight), (3, 2, Some(15), Some(Decimal::from(1250)), Some(4.5)), "{d:?}");
        let (avg, min, max, first_region, discounts) = Sale::query()
            .select(|s| (s.units.avg(), s.units.min(), s.cents.max(), s.region.min(), s.discount.count()))
            .first()
            .on(db)
            .await
            .unwrap_or_else(|e| fail(e))
            .unwrap();
        assert_eq!((avg, min, max, first_region.as_deref(), discounts), (Some(5.0), Some(3), Some(900), Some("north"), 2), "{d:?}");
        // An average is computed in double precision everywhere (MySQL would round it to 4 places).
        let (score_avg, score_sum) = Sale::query().select(|s| (s.score.avg(), s.score.sum())).first().on(db).await.unwrap().unwrap();
        assert_eq!((score_avg, score_sum), (Some(5.0 / 3.0), Some(5)), "{d:?}");
        // Over no rows: counts are 0, the others `None`.
        let empty = Sale::filter(|s| s.units.gt(100)).select(|s| (s.id.count(), s.units.sum(), s.units.max(), s.weight.avg()));
        assert_eq!(empty.first().on(db).await.unwrap(), Some((0, None, None, None)), "{d:?}");
        // Decimals: exact where the database has decimals; refused on SQLite, which has none.
        let decimals = Sale::query().select(|s| (s.price.sum(), s.price.avg(), s.price.max())).first().on(db).await;
        if d == Dialect::Sqlite {
            assert!(matches!(decimals, Err(Error::UnsupportedOperation { .. })), "{decimals:?}");
        } else {
            let (sum, avg, max) = decimals.unwrap_or_else(|e| fail(e)).unwrap();
            assert_eq!((sum, max), (Some("6.60".parse().unwrap()), Some("3.30".parse().unwrap())), "{d:?}");
            assert_eq!(avg.map(|a: Decimal| a.round_dp(2)), Some("2.20".parse().unwrap()), "{d:?}");
        }
    }
}

#[tokio::test]
async fn groups_filter_and_order_by_their_aggregates() {
    for t in backends("rep_groups").await {
        let (db, d) = (&t.db, t.dialect);
        setup!(db, Sale);
        seed(db).await;
        Sale::create(json!({"region": "east", "units": 1, "cents": 5, "weight": 0.1, "price": "0.10", "score": 0})).on(db).await.unwrap();
        let grouped: Vec<(String, i64, Option<i64>)> = Sale::query()
            .select(|s| (s.region, s.id.count(), s.units.sum()))
            .group_by(|s| s.region)
            .order_by(|s| s.units.sum().desc())
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(
            grouped,
            [("north".to_string(), 2, Some(8)), ("south".to_string(), 1, Some(7)), ("east".to_string(), 1, Some(1))],
            "{d:?}"
        );
        // HAVING, a filter before grouping, and rows into a struct.
        let busy: Vec<RegionTotals> = Sale::filter(|s| s.cents.ge(10))
            .select(|s| (s.region, s.id.count(), s.units.sum()))
            .group_by(|s| s.region)
            .having(|s| s.units.sum().gt(6i64))
            .order_by(|s| s.id.count().desc())
            .into_rows()
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(
            busy,
            [
                RegionTotals { region: "north".into(), sales: 2, units: Some(8) },
                RegionTotals { region: "south".into(), sales: 1, units: Some(7) }
            ],
            "{d:?}"
        );
        // An `i64` sum is a decimal, compared and ordered as a number on every backend.
        let by_cents: Vec<(String, Option<Decimal>)> = Sale::query()
            .select(|s| (s.region, s.cents.sum()))
            .group_by(|s| s.region)
            .having(|s| s.cents.sum().gt(Decimal::from(40)))
            .order_by(|s| s.cents.sum().desc())
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(by_cents, [("south".to_string(), Some(Decimal::from(900))), ("north".to_string(), Some(Decimal::from(350)))], "{d:?}");
        // A plain column a group has many values of is refused, not read from any row.
        let ungrouped = Sale::query().select(|s| (s.region, s.units, s.id.count())).group_by(|s| s.region).all().on(db).await;
        assert!(matches!(&ungrouped, Err(Error::InvalidQuery { message, .. }) if message.contains("`units`")), "{ungrouped:?}");
        let ungrouped = Sale::query().select(|s| (s.region, s.units.max())).all().on(db).await;
        assert!(matches!(&ungrouped, Err(Error::InvalidQuery { message, .. }) if message.contains("`region`")), "{ungrouped:?}");
        let misordered = Sale::query().order_by(|s| s.units.asc()).select(|s| (s.region, s.id.count())).group_by(|s| s.region);
        assert!(matches!(misordered.all().on(db).await, Err(Error::InvalidQuery { .. })));
        // Picks that a row struct's fields do not fit do not compile (`into_rows` asks for
        // `RowOf`); rows the database shapes are checked as they are read, and a field that
        // does not fit its column is a decode error naming the field.
        let error = db.raw("SELECT region, region, SUM(units) FROM rep_sales GROUP BY region").all::<RegionTotals>().await;
        assert!(matches!(&error, Err(Error::Decode { column, .. }) if column.starts_with("sales")), "{d:?}: {error:?}");
    }
}

#[test]
fn grouped_aggregates_in_five_dialects() {
    for (name, dialect) in DIALECTS {
        let report = Sale::filter(|s| s.cents.ge(10))
            .select(|s| (s.region, s.id.count(), s.region.count_distinct(), s.units.sum(), s.cents.sum(), s.weight.avg(), s.units.max()))
            .group_by(|s| s.region)
            .having(|s| s.units.sum().gt(6i64))
            .order_by(|s| s.units.sum().desc())
            .limit(10);
        let decimals = Sale::query().select(|s| (s.price.sum(), s.price.avg(), s.price.min()));
        let text = [report.to_sql(dialect), decimals.to_sql(dialect), Sale::query().select(|s| s.region).distinct().to_sql(dialect)]
            .into_iter()
            .map(|sql| sql.map(|s| s.sql).unwrap_or_else(|e| e.to_string()))
            .collect::<Vec<_>>()
            .join(";\n");
        insta::assert_snapshot!(format!("grouped_aggregates_{name}"), text);
    }
}

#[test]
fn a_computed_value_compared_with_none_is_null() {
    let none = Sale::query().select(|s| (s.region, s.discount.max())).group_by(|s| s.region).having(|s| s.discount.max().eq(None));
    let sql = none.to_sql(Dialect::Postgres).unwrap().sql;
    assert!(sql.ends_with(r#"HAVING MAX("rep_sales"."discount") IS NULL"#), "{sql}");
}

#[tokio::test]
async fn values_computed_per_row_are_picked_filtered_and_aggregated() {
    for t in backends("rep_computed").await {
        let (db, d) = (&t.db, t.dialect);
        let fail = |e: Error| -> ! { panic!("{d:?}: {e}") };
        setup!(db, Sale);
        seed(db).await;
        let rows: Vec<(i32, i32, String, f64, i64)> = Sale::query()
            .order_by(|s| s.id.asc())
            .select(|s| {
                (
                    s.units.times(2).plus(s.units),
                    s.discount.coalesce(0),
                    s.units.ge(5).then_else::<String>("big", "small"),
                    s.units.as_f64(),
                    s.cents.minus(s.units.as_i64()),
                )
            })
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| fail(e));
        assert_eq!(
            rows,
            [(9, 1, "small".to_string(), 3.0, 97), (15, 0, "big".to_string(), 5.0, 245), (21, 2, "big".to_string(), 7.0, 893)],
            "{d:?}"
        );
        // In a filter, and aggregated: the sum of squares, per region.
        let wide = Sale::filter(|s| s.units.times(100).gt(400)).count().on(db).await.unwrap();
        assert_eq!(wide, 2, "{d:?}");
        let squares: Vec<(String, Option<i64>, Option<i32>)> = Sale::query()
            .select(|s| (s.region, s.units.times(s.units).sum(), s.discount.plus(10).max()))
            .group_by(|s| s.region)
            .order_by(|s| s.units.times(s.units).sum().desc())
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| fail(e));
        assert_eq!(squares, [("south".to_string(), Some(49), Some(12)), ("north".to_string(), Some(34), Some(11))], "{d:?}");
        // An aggregate over no rows, made a number.
        let none = Sale::filter(|s| s.units.gt(100)).select(|s| s.units.sum().coalesce(0)).first().on(db).await.unwrap();
        assert_eq!(none, Some(0), "{d:?}");
        // A grouped query cannot pick a value computed per row: each group has many.
        let per_row = Sale::query().select(|s| (s.region, s.units.times(2))).group_by(|s| s.region).all().on(db).await;
        assert!(matches!(&per_row, Err(Error::InvalidQuery { message, .. }) if message.contains("per row")), "{per_row:?}");
    }
}

#[test]
fn computed_values_in_five_dialects() {
    for (name, dialect) in DIALECTS {
        let query = Sale::filter(|s| s.units.times(100).gt(400))
            .select(|s| (s.discount.coalesce(0), s.units.ge(5).then_else::<String>("big", "small"), s.units.as_f64(), s.cents.as_i64()))
            .limit(5);
        let grouped = Sale::query().select(|s| (s.region, s.units.times(s.units).sum(), s.weight.minus(1.5).avg())).group_by(|s| s.region);
        // Names quoted by the dialect, a closing quote in one escaped as any identifier's.
        let named = Sale::query()
            .select(|s| (s.region, s.units.sum().named("total"), s.units.times(2).max().named("it's `max`]")))
            .group_by(|s| s.region);
        let text = [query.to_sql(dialect), grouped.to_sql(dialect), named.to_sql(dialect)]
            .into_iter()
            .map(|sql| sql.map(|s| s.sql).unwrap_or_else(|e| e.to_string()))
            .collect::<Vec<_>>()
            .join(";\n");
        insta::assert_snapshot!(format!("computed_values_{name}"), text);
    }
}

/// A named value (`AS "…"`) reads back as any other: rows are read by position, and a name
/// with quotes in it is quoted, not spliced.
#[tokio::test]
async fn named_values_read_back_by_position() {
    for t in backends("rep_named").await {
        let (db, d) = (&t.db, t.dialect);
        setup!(db, Sale);
        seed(db).await;
        let totals: Vec<(String, Option<i64>, Option<i32>)> = Sale::query()
            .order_by(|s| s.region.asc())
            .select(|s| (s.region, s.units.sum().named("total"), s.units.times(2).max().named("it's `max`]; --")))
            .group_by(|s| s.region)
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(totals, [("north".to_string(), Some(8), Some(10)), ("south".to_string(), Some(7), Some(14))], "{d:?}");
    }
}

/// A name no backend takes alike (empty, too long for PostgreSQL, a `"` Oracle cannot quote)
/// fails the query, on every dialect, before anything is sent.
#[test]
fn names_every_backend_cannot_take_are_refused() {
    let long: &'static str = Box::leak("n".repeat(64).into_boxed_str());
    for name in ["", r#"a"b"#, "a\0b", long] {
        for (_, dialect) in DIALECTS {
            let query = Sale::query().select(|s| (s.region, s.units.sum().named(name))).group_by(|s| s.region);
            let err = query.to_sql(dialect).unwrap_err();
            assert!(matches!(err, Error::InvalidQuery { .. }) && err.to_string().contains("cannot name"), "{dialect:?} {name:?}: {err}");
        }
    }
    let longest: &'static str = Box::leak("n".repeat(63).into_boxed_str());
    Sale::query().select(|s| s.units.sum().named(longest)).to_sql(Dialect::Oracle).unwrap();
}

#[tokio::test]
async fn grouped_queries_see_aggregates_inside_computed_values() {
    for t in backends("rep_grouped_computed").await {
        let (db, d) = (&t.db, t.dialect);
        setup!(db, Sale);
        seed(db).await;
        // A CASE on an aggregate condition is one value per group.
        let busy: Vec<(String, i32)> = Sale::query()
            .order_by(|s| s.region.asc())
            .select(|s| (s.region, s.units.sum().gt(7i64).then_else::<i32>(1, 0)))
            .group_by(|s| s.region)
            .all()
            .on(db)
            .await
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(busy, [("north".to_string(), 1), ("south".to_string(), 0)], "{d:?}");
        // Without `group_by`, it makes the query grouped, and a plain column is refused.
        let ungrouped = Sale::query().select(|s| (s.region, s.units.sum().gt(7i64).then_else::<i32>(1, 0))).all().on(db).await;
        assert!(matches!(&ungrouped, Err(Error::InvalidQuery { message, .. }) if message.contains("`region`")), "{ungrouped:?}");
    }
}

#[test]
fn computed_values_refuse_what_cannot_be_written() {
    let invalid = |sql: duo_orm::Result<duo_orm::Statement>, needle: &str| match sql {
        Err(Error::InvalidQuery { message, .. }) => assert!(message.contains(needle), "{message}"),
        other => panic!("expected InvalidQuery about {needle}, got {other:?}"),
    };
    // Ordering a grouped query by a value computed per row.
    invalid(
        Sale::query()
            .select(|s| (s.region, s.id.count()))
            .group_by(|s| s.region)
            .order_by(|s| s.units.times(2).desc())
            .to_sql(Dialect::Postgres),
        "per row",
    );
    // An aggregate of a value holding an aggregate.
    invalid(Sale::query().select(|s| s.units.sum().gt(1i64).then_else::<i32>(1, 0).sum()).to_sql(Dialect::Postgres), "holds an aggregate");
    // Nesting past the limit, through arithmetic and through CASE and comparisons.
    let mut long = Sale::columns().units.plus(1);
    for _ in 0..40 {
        long = long.plus(1);
    }
    invalid(Sale::query().select(|_| long.clone()).to_sql(Dialect::Postgres), "nests deeper");
    let mut condition = Sale::columns().units.gt(1);
    for _ in 0..40 {
        condition = condition.then_else::<i32>(1, 0).eq(1);
    }
    assert!(matches!(Sale::query().and_where(condition).to_sql(Dialect::Postgres), Err(Error::InvalidQuery { .. })));
    // Decimal arithmetic on SQLite, which keeps decimals as text.
    let decimal = Sale::query().select(|s| s.price.times(Decimal::from(2)));
    assert!(matches!(decimal.to_sql(Dialect::Sqlite), Err(Error::UnsupportedOperation { .. })));
    assert!(decimal.to_sql(Dialect::Postgres).is_ok());
}
