//! Every supported column type round-trips on every live backend.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use duo_orm::prelude::*;
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::setup;
use crate::support::backends;

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "everything")]
pub struct Everything {
    #[duo(primary_key)]
    pub id: i32,
    pub small: i16,
    pub big: i64,
    pub single: f32,
    pub double: f64,
    pub flag: bool,
    pub text: String,
    #[duo(max_length = 10)]
    pub short: String,
    pub bytes: Vec<u8>,
    pub at: DateTime<Utc>,
    pub local: NaiveDateTime,
    pub day: NaiveDate,
    pub time: NaiveTime,
    pub uid: Uuid,
    pub price: Decimal,
    pub doc: serde_json::Value,
    pub maybe_int: Option<i32>,
    pub maybe_text: Option<String>,
    pub maybe_at: Option<DateTime<Utc>>,
    #[duo(column = "renamed_col")]
    pub renamed: i32,
}

fn sample() -> Everything {
    Everything {
        id: 0,
        small: -12,
        big: 9_000_000_000,
        single: 1.5,
        double: -2.25,
        flag: true,
        text: "héllo 'quoted' \"text\"".into(),
        short: "short".into(),
        bytes: vec![0, 1, 2, 255],
        at: DateTime::parse_from_rfc3339("2026-11-23T10:11:12.123456Z").unwrap().with_timezone(&Utc),
        local: NaiveDate::from_ymd_opt(2024, 2, 29).unwrap().and_hms_micro_opt(23, 59, 58, 500_000).unwrap(),
        day: NaiveDate::from_ymd_opt(1999, 12, 31).unwrap(),
        time: NaiveTime::from_hms_micro_opt(13, 14, 15, 250_000).unwrap(),
        uid: Uuid::parse_str("67e55044-10b1-426f-9247-bb680e5fe0c8").unwrap(),
        price: "1234.5678".parse().unwrap(),
        doc: serde_json::json!({"flags": {"beta": true}, "tags": ["orm"], "quota": 2}),
        maybe_int: None,
        maybe_text: Some("there".into()),
        maybe_at: None,
        renamed: 7,
    }
}

/// A payload with a value for every column (the key left to the database).
pub fn everything_json() -> serde_json::Value {
    serde_json::Value::Object(sample().to_map())
}

#[tokio::test]
async fn every_type_round_trips() {
    for t in backends("types_roundtrip").await {
        setup!(t.db, Everything);
        let mut original = sample();
        original.save().on(&t.db).await.unwrap();
        assert_eq!(original.id, 1);
        let loaded = Everything::get(1).on(&t.db).await.unwrap().unwrap();
        assert_eq!(loaded, original, "round trip on {:?}", t.dialect);
        // Filters take typed values of each column's type.
        let at = original.at;
        let found = Everything::filter(|e| e.at.eq(at) & e.uid.eq(original.uid) & e.flag.eq(true) & e.renamed.eq(7))
            .count()
            .on(&t.db)
            .await
            .unwrap();
        assert_eq!(found, 1, "{:?}", t.dialect);
        // The same through a JSON payload (strings for dates, uuid, decimal).
        let from_json = Everything::create(serde_json::to_value(EverythingPayload::from(&original)).unwrap()).on(&t.db).await.unwrap();
        assert_eq!(Everything { id: original.id, ..from_json }, original, "payload conversion on {:?}", t.dialect);
    }
}

/// The model's fields as a serde struct, to exercise payload conversion of every type.
#[derive(Serialize)]
struct EverythingPayload {
    small: i16,
    big: i64,
    single: f32,
    double: f64,
    flag: bool,
    text: String,
    short: String,
    bytes: Vec<u8>,
    at: DateTime<Utc>,
    local: NaiveDateTime,
    day: NaiveDate,
    time: NaiveTime,
    uid: Uuid,
    price: Decimal,
    doc: serde_json::Value,
    maybe_text: Option<String>,
    renamed: i32,
}

impl From<&Everything> for EverythingPayload {
    fn from(e: &Everything) -> Self {
        EverythingPayload {
            small: e.small,
            big: e.big,
            single: e.single,
            double: e.double,
            flag: e.flag,
            text: e.text.clone(),
            short: e.short.clone(),
            bytes: e.bytes.clone(),
            at: e.at,
            local: e.local,
            day: e.day,
            time: e.time,
            uid: e.uid,
            price: e.price,
            doc: e.doc.clone(),
            maybe_text: e.maybe_text.clone(),
            renamed: e.renamed,
        }
    }
}

/// A plan, stored as its snake_case label (one renamed).
#[derive(FieldType, Debug, Clone, Copy, PartialEq)]
#[duo(rename_all = "snake_case")]
pub enum Plan {
    Free,
    ProMonthly,
    #[duo(rename = "enterprise-annual")]
    EnterpriseAnnual,
}

/// A priority, stored as its discriminant.
#[derive(FieldType, Debug, Clone, Copy, PartialEq)]
#[duo(repr = "i16")]
pub enum Priority {
    Low = 1,
    Normal = 5,
    Urgent = 10,
}

/// Discriminants of the other widths, beyond what the narrower ones hold.
#[derive(FieldType, Debug, Clone, Copy, PartialEq)]
#[duo(repr = "i32")]
pub enum Region {
    Us = -1,
    Eu = 100_000,
}

/// (Rust's own `repr(i64)` lets a discriminant pass `isize` on 32-bit targets.)
#[derive(FieldType, Debug, Clone, Copy, PartialEq)]
#[duo(repr = "i64")]
#[repr(i64)]
pub enum Shard {
    Small = 1,
    Huge = 9_000_000_000,
}

/// Newtypes, stored as their one field.
#[derive(FieldType, Debug, Clone, PartialEq)]
pub struct Email(pub String);

#[derive(FieldType, Debug, Clone, Copy, PartialEq)]
pub struct Cents(pub i64);

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "subscriptions")]
pub struct Subscription {
    #[duo(primary_key)]
    pub id: i32,
    pub plan: Plan,
    pub priority: Priority,
    #[duo(unique, max_length = 120)]
    pub email: Email,
    pub price: Cents,
    pub previous: Option<Plan>,
    pub region: Region,
    pub shard: Shard,
}

/// The same table with `previous` required: a NULL there cannot be read.
#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "subscriptions")]
pub struct StrictSubscription {
    #[duo(primary_key)]
    pub id: i32,
    pub plan: Plan,
    pub priority: Priority,
    #[duo(unique, max_length = 120)]
    pub email: Email,
    pub price: Cents,
    pub previous: Plan,
    pub region: Region,
    pub shard: Shard,
}

/// The same table read with plain types: what is stored.
#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "subscriptions")]
pub struct StoredSubscription {
    #[duo(primary_key)]
    pub id: i32,
    pub plan: String,
    pub priority: i16,
    #[duo(unique, max_length = 120)]
    pub email: String,
    pub price: i64,
    pub previous: Option<String>,
    pub region: i32,
    pub shard: i64,
}

#[tokio::test]
async fn enums_and_newtypes_round_trip_as_labels_discriminants_and_their_field() {
    for t in backends("types_derived").await {
        setup!(t.db, Subscription);
        let mut sub = Subscription {
            id: 0,
            plan: Plan::ProMonthly,
            priority: Priority::Urgent,
            email: Email("ada@example.com".into()),
            price: Cents(1_250),
            previous: Some(Plan::EnterpriseAnnual),
            region: Region::Eu,
            shard: Shard::Huge,
        };
        sub.save().on(&t.db).await.unwrap();
        let loaded = Subscription::get(sub.id).on(&t.db).await.unwrap().unwrap();
        assert_eq!(loaded, sub, "{:?}", t.dialect);
        let stored = StoredSubscription::get(sub.id).on(&t.db).await.unwrap().unwrap();
        assert_eq!(
            (stored.plan.as_str(), stored.priority, stored.email.as_str(), stored.price, stored.previous.as_deref()),
            ("pro_monthly", 10, "ada@example.com", 1_250, Some("enterprise-annual")),
            "{:?}",
            t.dialect
        );
        assert_eq!((stored.region, stored.shard), (100_000, 9_000_000_000), "{:?}", t.dialect);
        // Filters take the types themselves.
        let found = Subscription::filter(|s| {
            s.plan.eq(Plan::ProMonthly) & s.email.eq(Email("ada@example.com".into())) & s.priority.eq(Priority::Urgent)
        })
        .count()
        .on(&t.db)
        .await
        .unwrap();
        assert_eq!(found, 1, "{:?}", t.dialect);
        assert_eq!(Subscription::filter(|s| s.previous.is_null()).count().on(&t.db).await.unwrap(), 0);
        // A payload uses the stored labels; an unknown one is a validation error naming the choices.
        let created = Subscription::create(serde_json::json!({
            "plan": "free", "priority": 1, "email": "bo@example.com", "price": 0, "previous": null,
            "region": -1, "shard": 1
        }))
        .on(&t.db)
        .await
        .unwrap();
        assert_eq!((created.plan, created.priority, created.previous), (Plan::Free, Priority::Low, None));
        assert_eq!(created.to_map()["plan"], serde_json::json!("free"), "exported as its label");
        let bad = Subscription::create(
            serde_json::json!({"plan": "gold", "priority": 1, "email": "c@example.com", "price": 0, "region": 1, "shard": 1}),
        )
        .on(&t.db)
        .await
        .unwrap_err();
        assert!(
            matches!(&bad, Error::Validation { field, detail } if field == "plan" && detail.contains("`free`, `pro_monthly`, `enterprise-annual`") && detail.contains("`gold`")),
            "{bad}"
        );
        let bad = Subscription::create(
            serde_json::json!({"plan": "free", "priority": 7, "email": "c@example.com", "price": 0, "region": -1, "shard": 1}),
        )
        .on(&t.db)
        .await
        .unwrap_err();
        assert!(matches!(&bad, Error::Validation { field, detail } if field == "priority" && detail.contains("`7`")), "{bad}");
        // A label the enum does not know, written by someone else, is a decode error naming it.
        let stored = |plan: &str, priority: i16, email: &str| StoredSubscription {
            id: 0,
            plan: plan.into(),
            priority,
            email: email.into(),
            price: 1,
            previous: None,
            region: -1,
            shard: 1,
        };
        let mut stranger = stored("gold", 5, "d@example.com");
        stranger.save().on(&t.db).await.unwrap();
        let error = Subscription::get(stranger.id).on(&t.db).await.unwrap_err();
        assert!(matches!(&error, Error::Decode { model: "Subscription", detail, .. } if detail.contains("`gold`")), "{error}");
        // So is a discriminant it does not know.
        let mut odd = stored("free", 7, "e@example.com");
        odd.save().on(&t.db).await.unwrap();
        let error = Subscription::get(odd.id).on(&t.db).await.unwrap_err();
        assert!(matches!(&error, Error::Decode { detail, .. } if detail.contains("Priority") && detail.contains("`7`")), "{error}");
        // A NULL read into a field that is not an `Option` is an error, not a default.
        let error = StrictSubscription::get(created.id).on(&t.db).await.unwrap_err();
        assert!(matches!(&error, Error::Decode { model: "StrictSubscription", .. }), "{error}");
        assert!(StrictSubscription::get(sub.id).on(&t.db).await.unwrap().is_some(), "{:?}: a stored previous reads", t.dialect);
    }
}

/// A key of its own type, generated by the database (`Default` is its unset value, 0).
#[derive(FieldType, Debug, Default, Clone, Copy, PartialEq)]
pub struct TicketId(pub i64);

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "tickets")]
pub struct Ticket {
    #[duo(primary_key, auto_increment)]
    pub id: TicketId,
    pub title: String,
}

#[tokio::test]
async fn a_newtype_key_can_be_generated_by_the_database() {
    for t in backends("types_newtype_key").await {
        setup!(t.db, Ticket);
        let mut first = Ticket { id: TicketId(0), title: "first".into() };
        first.save().on(&t.db).await.unwrap();
        let second = Ticket::create(serde_json::json!({"title": "second"})).on(&t.db).await.unwrap();
        assert_eq!((first.id, second.id), (TicketId(1), TicketId(2)), "{:?}", t.dialect);
        assert_eq!(Ticket::get(TicketId(2)).on(&t.db).await.unwrap(), Some(second), "{:?}", t.dialect);
    }
}

/// A tier kept in a PostgreSQL enum type (`tier`) there, and as its labels elsewhere.
#[derive(FieldType, Debug, Clone, Copy, PartialEq)]
#[duo(postgres_enum = "tier", rename_all = "snake_case")]
pub enum Tier {
    Free,
    Pro,
    #[duo(rename = "it's \\ enterprise")]
    Enterprise,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "accounts")]
pub struct TieredAccount {
    #[duo(primary_key, auto_increment)]
    pub id: i64,
    #[duo(index)]
    pub tier: Tier,
    pub trial: Option<Tier>,
}

#[tokio::test]
async fn a_postgres_enum_type_is_created_bound_and_read_and_is_text_elsewhere() {
    for t in backends("types_postgres_enum").await {
        let d = t.dialect;
        setup!(t.db, TieredAccount);
        // `create_all` again leaves the type (and the table) as they are.
        t.db.create_all().await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
        let mut account = TieredAccount { id: 0, tier: Tier::Enterprise, trial: Some(Tier::Pro) };
        account.save().on(&t.db).await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
        account.tier = Tier::Pro;
        account.trial = None;
        account.save().on(&t.db).await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(TieredAccount::get(account.id).on(&t.db).await.unwrap(), Some(account.clone()), "{d:?}");
        TieredAccount::create(serde_json::json!({"tier": "free", "trial": "it's \\ enterprise"})).on(&t.db).await.unwrap();
        let inserted = TieredAccount::create_bulk(vec![serde_json::json!({"tier": "pro"}), serde_json::json!({"tier": "free"})])
            .on(&t.db)
            .await
            .unwrap_or_else(|e| panic!("{d:?}: {e}"));
        assert_eq!(inserted, 2);
        // Every comparison binds the label as the type.
        let count = |condition: fn(&TieredAccountColumns) -> duo_orm::Condition<TieredAccount>| {
            let db = &t.db;
            async move { TieredAccount::filter(condition).count().on(db).await.unwrap_or_else(|e| panic!("{d:?}: {e}")) }
        };
        assert_eq!(count(|a| a.tier.eq(Tier::Pro)).await, 2, "{d:?}");
        assert_eq!(count(|a| a.tier.ne(Tier::Pro)).await, 2, "{d:?}");
        assert_eq!(count(|a| a.tier.is_in([Tier::Free, Tier::Enterprise])).await, 2, "{d:?}");
        assert_eq!(count(|a| a.tier.not_in([Tier::Free])).await, 2, "{d:?}");
        assert_eq!(count(|a| a.trial.eq(Tier::Enterprise)).await, 1, "{d:?}");
        assert_eq!(count(|a| a.trial.eq(None::<Tier>)).await, 3, "{d:?}");
        let moved = TieredAccount::filter(|a| a.tier.eq(Tier::Free)).update_bulk(serde_json::json!({"trial": "pro"})).on(&t.db).await;
        assert_eq!(moved.unwrap_or_else(|e| panic!("{d:?}: {e}")), 2);
        let all = TieredAccount::query().order_by(|a| a.id.asc()).all().on(&t.db).await.unwrap();
        assert_eq!(all.iter().map(|a| a.tier).collect::<Vec<_>>(), [Tier::Pro, Tier::Free, Tier::Pro, Tier::Free], "{d:?}");
        assert_eq!(all[1].trial, Some(Tier::Pro), "{d:?}");
        // The database itself holds the labels to the type on PostgreSQL; elsewhere they are
        // text, and a stranger's label is a decode error naming it.
        let stranger = t.db.execute_raw("INSERT INTO accounts (tier) VALUES ('gold')").await;
        if d == Dialect::Postgres {
            assert!(matches!(&stranger, Err(Error::Database(e)) if e.code() == Some("22P02")), "{stranger:?}");
        } else {
            stranger.unwrap();
            let error = TieredAccount::query().all().on(&t.db).await.unwrap_err();
            assert!(matches!(&error, Error::Decode { detail, .. } if detail.contains("`gold`")), "{d:?}: {error}");
            TieredAccount::filter(|a| a.id.gt(4)).delete_bulk().on(&t.db).await.unwrap();
        }
        account.delete().on(&t.db).await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
        // `drop_all` drops the type with the table: the name is free again.
        t.db.drop_all().await.unwrap_or_else(|e| panic!("{d:?}: {e}"));
        if d == Dialect::Postgres {
            t.db.execute_raw("CREATE TYPE tier AS ENUM ('x')").await.unwrap();
        }
    }
}

#[test]
fn enum_labels_are_cast_to_their_type_on_postgres_alone() {
    for (name, dialect) in crate::support::DIALECTS {
        let insert = TieredAccount::insert_sql(serde_json::json!({"tier": "pro", "trial": null}), dialect).unwrap();
        let select = TieredAccount::filter(|a| a.tier.is_in([Tier::Free, Tier::Pro]) & a.trial.ne(Tier::Free)).to_sql(dialect).unwrap();
        let update =
            TieredAccount::filter(|a| a.tier.eq(Tier::Free)).update_bulk(serde_json::json!({"trial": "pro"})).to_sql(dialect).unwrap();
        let ddl = duo_orm::ddl::create_all_sql(&[TieredAccount::meta()], dialect, true).unwrap();
        let text = [insert.sql, select.sql, update.sql].into_iter().chain(ddl).collect::<Vec<_>>().join(";\n");
        insta::assert_snapshot!(format!("postgres_enum_{name}"), text);
    }
}

/// What each tier includes, keyed by the tier itself.
#[derive(Model, Debug, Clone)]
#[duo(table = "tier_perks")]
pub struct TierPerks {
    #[duo(primary_key)]
    pub tier: Tier,
    pub seats: i32,
    #[duo(has_many(TierMember, foreign_key = tier))]
    pub members: Related<Vec<TierMember>>,
    #[duo(many_to_many(TierFeature, through = "tier_perk_features", owner_key = tier, target_key = feature_id))]
    pub features: Related<Vec<TierFeature>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "tier_members")]
pub struct TierMember {
    #[duo(primary_key)]
    pub id: i64,
    #[duo(references = TierPerks, default = "free")]
    pub tier: Tier,
    #[duo(belongs_to(TierPerks, foreign_key = tier))]
    pub perks: Related<TierPerks>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "tier_features")]
pub struct TierFeature {
    #[duo(primary_key)]
    pub id: i64,
    pub name: String,
}

/// Relationships keyed by an enum: every key they bind is cast to the type on PostgreSQL
/// (eager loads with `= ANY(…)`, association queries, join rows, keyset paging).
#[tokio::test]
async fn relationships_keyed_by_a_postgres_enum_bind_their_keys_as_the_type() {
    for t in backends("types_postgres_enum_keys").await {
        let (db, d) = (&t.db, t.dialect);
        setup!(db, TierPerks, TierMember, TierFeature);
        let fail = |e: Error| -> ! { panic!("{d:?}: {e}") };
        for (tier, seats) in [("free", 1), ("pro", 5), ("it's \\ enterprise", 50)] {
            TierPerks::create(serde_json::json!({"tier": tier, "seats": seats})).on(db).await.unwrap_or_else(|e| fail(e));
        }
        // The default label, on the enum-typed column.
        TierMember::create(serde_json::json!({})).on(db).await.unwrap_or_else(|e| fail(e));
        TierMember::create(serde_json::json!({"tier": "pro"})).on(db).await.unwrap_or_else(|e| fail(e));
        let sso = TierFeature::create(serde_json::json!({"name": "sso"})).on(db).await.unwrap();
        let pro = TierPerks::get(Tier::Pro).on(db).await.unwrap_or_else(|e| fail(e)).expect("pro");
        pro.features().attach(&sso).on(db).await.unwrap_or_else(|e| fail(e));
        assert_eq!(pro.members().count().on(db).await.unwrap_or_else(|e| fail(e)), 1, "{d:?}");
        assert_eq!(pro.features().all().on(db).await.unwrap_or_else(|e| fail(e)).len(), 1, "{d:?}");
        let perks = TierPerks::related(|p| p.members).related(|p| p.features).order_by(|p| p.seats.asc()).all().on(db).await;
        let perks = perks.unwrap_or_else(|e| fail(e));
        let shape: Vec<(Tier, usize, usize)> =
            perks.iter().map(|p| (p.tier, p.members.get().unwrap().len(), p.features.get().unwrap().len())).collect();
        assert_eq!(shape, [(Tier::Free, 1, 0), (Tier::Pro, 1, 1), (Tier::Enterprise, 0, 0)], "{d:?}");
        let members = TierMember::related(|m| m.perks).order_by(|m| m.id.asc()).all().on(db).await.unwrap_or_else(|e| fail(e));
        assert_eq!(members.iter().map(|m| m.perks.get().unwrap().seats).collect::<Vec<_>>(), [1, 5], "{d:?}");
        // Keyset paging over the enum key, two rows a batch.
        let batches = TierPerks::query().iterate().on(db).batch_size(2).batches().try_collect::<Vec<_>>().await;
        assert_eq!(batches.unwrap_or_else(|e| fail(e)).concat().len(), 3, "{d:?}");
        assert!(pro.features().detach(&sso).on(db).await.unwrap_or_else(|e| fail(e)), "{d:?}");
    }
}
