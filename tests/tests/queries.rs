//! Filters, ordering, paging and terminals, live.

use duo_orm::InvalidQueryKind;
use duo_orm::prelude::*;

use crate::models::*;
use crate::setup;
use crate::support::{TestDb, backends};

async fn seed(t: &TestDb) {
    setup!(t.db, User);
    let people = [
        ("Ada", 36, "ada@example.com", Some("countess")),
        ("Bob", 17, "bob@example.org", None),
        ("Cy", 25, "cy@EXAMPLE.com", Some("100%_real")),
        ("Dee", 52, "dee@example.com", None),
        ("eve", 25, "eve@example.net", Some("x_y")),
    ];
    for (name, age, email, nickname) in people {
        User::create(serde_json::json!({"name": name, "age": age, "email": email, "nickname": nickname})).on(&t.db).await.unwrap();
    }
}

pub(crate) async fn names(t: &TestDb, query: Select<User>) -> Vec<String> {
    query.order_by(|u| u.id.asc()).all().on(&t.db).await.unwrap().into_iter().map(|u| u.name).collect()
}

#[tokio::test]
async fn comparison_and_logical_filters() {
    for t in backends("q_filters").await {
        seed(&t).await;
        let d = t.dialect;
        assert_eq!(names(&t, User::filter(|u| u.name.eq("Ada"))).await, ["Ada"], "{d:?}");
        assert_eq!(names(&t, User::filter(|u| u.age.ne(25))).await, ["Ada", "Bob", "Dee"]);
        assert_eq!(names(&t, User::filter(|u| u.age.gt(36))).await, ["Dee"]);
        assert_eq!(names(&t, User::filter(|u| u.age.ge(36))).await, ["Ada", "Dee"]);
        assert_eq!(names(&t, User::filter(|u| u.age.lt(25))).await, ["Bob"]);
        assert_eq!(names(&t, User::filter(|u| u.age.le(25))).await, ["Bob", "Cy", "eve"]);
        assert_eq!(names(&t, User::filter(|u| u.age.between(20, 40))).await, ["Ada", "Cy", "eve"]);
        assert_eq!(names(&t, User::filter(|u| u.name.is_in(["Bob", "Dee", "Zed"]))).await, ["Bob", "Dee"]);
        assert_eq!(names(&t, User::filter(|u| u.name.not_in(["Bob", "Dee"]))).await, ["Ada", "Cy", "eve"]);
        assert!(names(&t, User::filter(|u| u.name.is_in(Vec::<String>::new()))).await.is_empty());
        assert_eq!(names(&t, User::filter(|u| u.nickname.is_null())).await, ["Bob", "Dee"]);
        assert_eq!(names(&t, User::filter(|u| u.nickname.eq(None))).await, ["Bob", "Dee"], "eq(None) is IS NULL");
        assert_eq!(names(&t, User::filter(|u| u.nickname.is_not_null())).await, ["Ada", "Cy", "eve"]);
        assert_eq!(names(&t, User::filter(|u| u.nickname.eq("countess"))).await, ["Ada"]);
        assert_eq!(names(&t, User::filter(|u| u.age.ge(25) & u.age.lt(50))).await, ["Ada", "Cy", "eve"]);
        assert_eq!(names(&t, User::filter(|u| u.age.lt(18) | u.age.gt(50))).await, ["Bob", "Dee"]);
        assert_eq!(names(&t, User::filter(|u| !(u.age.lt(18) | u.age.gt(50)))).await, ["Ada", "Cy", "eve"]);
        assert_eq!(names(&t, User::filter(|u| u.age.eq(25)).filter(|u| u.name.eq("Cy"))).await, ["Cy"], "filters AND");
    }
}

#[tokio::test]
async fn text_operators_escape_wildcards() {
    for t in backends("q_text").await {
        seed(&t).await;
        let d = t.dialect;
        // The plain forms compare case on every backend (SQLite's LIKE and MySQL's default
        // collations would fold it).
        assert_eq!(names(&t, User::filter(|u| u.email.endswith("@example.com"))).await, ["Ada", "Dee"], "{d:?}");
        assert_eq!(names(&t, User::filter(|u| u.email.iendswith("@example.COM"))).await, ["Ada", "Cy", "Dee"]);
        assert_eq!(names(&t, User::filter(|u| u.name.startswith("ev"))).await, ["eve"]);
        assert_eq!(names(&t, User::filter(|u| u.name.istartswith("E"))).await, ["eve"]);
        assert_eq!(names(&t, User::filter(|u| u.email.contains("example.o"))).await, ["Bob"]);
        assert_eq!(names(&t, User::filter(|u| u.name.icontains("D"))).await, ["Ada", "Dee"]);
        // `%` and `_` in the value match literally, not as wildcards.
        assert_eq!(names(&t, User::filter(|u| u.nickname.contains("0%_"))).await, ["Cy"]);
        assert_eq!(names(&t, User::filter(|u| u.nickname.contains("_"))).await, ["Cy", "eve"]);
        assert!(names(&t, User::filter(|u| u.nickname.contains("%"))).await == ["Cy"]);
        assert!(names(&t, User::filter(|u| u.name.contains("_"))).await.is_empty());
        // `like` takes a pattern as given.
        assert_eq!(names(&t, User::filter(|u| u.name.like("_e_"))).await, ["Dee"]);
    }
}

#[tokio::test]
async fn ordering_paging_and_terminals() {
    for t in backends("q_paging").await {
        seed(&t).await;
        let d = t.dialect;
        let by_age: Vec<i32> =
            User::query().order_by(|u| (u.age.desc(), u.id.asc())).all().on(&t.db).await.unwrap().into_iter().map(|u| u.age).collect();
        assert_eq!(by_age, [52, 36, 25, 25, 17], "{d:?}");
        let by_str: Vec<String> =
            User::query().order_by_str("-age, name").all().on(&t.db).await.unwrap().into_iter().map(|u| u.name).collect();
        assert_eq!(by_str, ["Dee", "Ada", "Cy", "eve", "Bob"]);
        let err = User::query().order_by_str("-agee").all().on(&t.db).await.unwrap_err();
        assert!(
            matches!(&err, Error::InvalidQuery { kind: InvalidQueryKind::UnknownName, message: m, .. } if m.contains("agee") && m.contains("email")),
            "{err}"
        );

        let page = |p, n| User::query().order_by(|u| u.id.asc()).paginate(Page { number: p, size: n });
        assert_eq!(names(&t, page(1, 2)).await, ["Ada", "Bob"]);
        assert_eq!(names(&t, page(3, 2)).await, ["eve"]);
        assert!(matches!(page(0, 2).all().on(&t.db).await, Err(Error::InvalidQuery { kind: InvalidQueryKind::OutOfRange, .. })));
        assert_eq!(names(&t, User::query().offset(3)).await, ["Dee", "eve"], "offset without limit");
        assert_eq!(names(&t, User::query().limit(1).offset(1)).await, ["Bob"]);

        // The model-level shortcuts are the query's own operations.
        assert_eq!(User::all().on(&t.db).await.unwrap().len(), 5);
        assert_eq!(User::count().on(&t.db).await.unwrap(), 5);
        assert!(User::first().on(&t.db).await.unwrap().is_some());
        assert_eq!(names(&t, User::order_by(|u| u.age.desc()).limit(2)).await, ["Dee", "Ada"]);
        assert_eq!(names(&t, User::paginate(Page { number: 2, size: 2 }).order_by(|u| u.id.asc())).await, ["Cy", "Dee"]);
        let streamed: Vec<User> = User::iterate().batch_size(2).on(&t.db).stream().try_collect().await.unwrap();
        assert_eq!(streamed.len(), 5);

        let first = User::filter(|u| u.age.eq(25)).order_by(|u| u.name.desc()).first().on(&t.db).await.unwrap();
        assert_eq!(first.map(|u| u.name).as_deref(), Some("eve"));
        assert!(User::filter(|u| u.age.gt(99)).first().on(&t.db).await.unwrap().is_none());
        assert_eq!(User::filter(|u| u.name.eq("Ada")).one().on(&t.db).await.unwrap().age, 36);
        assert!(matches!(User::filter(|u| u.age.gt(99)).one().on(&t.db).await, Err(Error::NotFound { model: "User" })));
        assert!(matches!(User::filter(|u| u.age.eq(25)).one().on(&t.db).await, Err(Error::MultipleFound { model: "User" })));

        assert_eq!(User::query().count().on(&t.db).await.unwrap(), 5);
        assert_eq!(User::filter(|u| u.age.eq(25)).count().on(&t.db).await.unwrap(), 2);
        assert_eq!(User::query().limit(2).count().on(&t.db).await.unwrap(), 2, "count respects limit");
        assert_eq!(User::query().offset(4).count().on(&t.db).await.unwrap(), 1, "count respects offset");
        assert!(User::filter(|u| u.age.eq(52)).exists().on(&t.db).await.unwrap());
        assert!(!User::filter(|u| u.age.eq(53)).exists().on(&t.db).await.unwrap());
    }
}

#[tokio::test]
async fn escape_hatch_round_trip() {
    use duo_orm::sea_query::{Expr, ExprTrait};
    for t in backends("q_escape").await {
        seed(&t).await;
        let mut stmt = User::filter(|u| u.age.ge(25)).order_by(|u| u.id.asc()).alchemize();
        stmt.and_where(Expr::col(("users", "name")).ne("Dee"));
        let rows = User::from_statement(stmt.clone()).all().on(&t.db).await.unwrap();
        let got: Vec<_> = rows.into_iter().map(|u| u.name).collect();
        assert_eq!(got, ["Ada", "Cy", "eve"], "{:?}", t.dialect);
        let first = User::from_statement(stmt).first().on(&t.db).await.unwrap();
        assert_eq!(first.unwrap().name, "Ada");
        // A hand-built condition inside the typed API.
        let cond = duo_orm::Condition::<User>::from_expr(Expr::col(("users", "age")).eq(17));
        assert_eq!(names(&t, User::query().and_where(cond)).await, ["Bob"]);
    }
}
