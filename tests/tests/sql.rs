//! Exact SQL for every statement kind in all five dialects (insta snapshots in `snapshots/`).

use duo_orm::prelude::*;
use duo_orm::{Dialect, Statement};
use serde_json::json;

use crate::models::*;
use crate::types::Everything;

pub(crate) fn show(statement: Result<Statement>) -> String {
    match statement {
        Ok(s) => format!("{}\n  values: {:?}", s.sql, s.values.0),
        Err(e) => format!("error: {e}"),
    }
}

/// One section per dialect.
pub(crate) fn per_dialect(render: impl Fn(Dialect) -> String) -> String {
    Dialect::ALL.iter().map(|d| format!("-- {d}\n{}\n", render(*d))).collect::<Vec<_>>().join("\n")
}

fn sample_user() -> User {
    User { id: 7, name: "Ada".into(), age: 36, email: "ada@example.com".into(), nickname: None, status: "active".into(), is_admin: false }
}

#[test]
fn select_with_filters_order_and_paging() {
    let query = || {
        User::filter(|u| u.age.ge(18) & (u.email.iendswith("@example.com") | u.nickname.is_null()))
            .filter(|u| u.name.is_in(["Ada", "Bob"]) & !u.status.eq("banned"))
            .order_by(|u| (u.age.desc(), u.id.asc()))
            .paginate(Page { number: 3, size: 20 })
    };
    insta::assert_snapshot!(per_dialect(|d| show(query().to_sql(d))));
}

#[test]
fn select_without_order_but_paged() {
    insta::assert_snapshot!(per_dialect(|d| show(User::query().limit(5).to_sql(d))));
}

#[test]
fn select_all_and_text_operators() {
    let query = || User::filter(|u| u.name.contains("50%_off") & u.email.startswith("a") & u.name.like("A%"));
    insta::assert_snapshot!(per_dialect(|d| show(query().to_sql(d))));
}

#[test]
fn count_and_exists() {
    let render = |d| {
        let q = || User::filter(|u| u.age.between(18, 65));
        format!("{}\n{}\n{}", show(q().count_sql(d)), show(q().offset(10).limit(5).count_sql(d)), show(q().exists_sql(d)))
    };
    insta::assert_snapshot!(per_dialect(render));
}

#[test]
fn insert_with_returning() {
    let render = |d| show(User::insert_sql(json!({"name": "Ada", "age": 36, "email": "ada@example.com"}), d));
    insta::assert_snapshot!(per_dialect(render));
}

#[test]
fn insert_of_defaults_only() {
    #[derive(Model)]
    #[duo(table = "counters")]
    struct Counter {
        #[duo(primary_key)]
        id: i64,
        #[duo(default = 0)]
        hits: i64,
    }
    let _ = |c: Counter| (c.id, c.hits);
    insta::assert_snapshot!(per_dialect(|d| show(Counter::insert_sql(json!({}), d))));
}

#[test]
fn update_and_delete_by_key() {
    let render = |d| {
        let user = sample_user();
        let membership = Membership { org: "acme".into(), user_id: 3, role: "member".into() };
        format!(
            "{}\n{}\n{}",
            show(user.update_sql(UserUpdate { age: Some(37), nickname: Some("A".into()), ..Default::default() }, d)),
            show(Ok(user.delete_sql(d))),
            show(Ok(membership.delete_sql(d)))
        )
    };
    insta::assert_snapshot!(per_dialect(render));
}

fn ddl<M: Model>(d: Dialect) -> String {
    match M::create_table_sql(d) {
        Ok(statements) => statements.join(";\n"),
        Err(e) => format!("error: {e}"),
    }
}

#[test]
fn create_table_with_constraints() {
    insta::assert_snapshot!(per_dialect(|d| format!("{}\n{}\n{}", ddl::<User>(d), ddl::<Post>(d), ddl::<Membership>(d))));
}

#[test]
fn create_table_with_every_type() {
    insta::assert_snapshot!(per_dialect(ddl::<Everything>));
    let err = Everything::create_table_sql(Dialect::Oracle).unwrap_err();
    assert!(matches!(err, Error::UnsupportedOperation { dialect: Dialect::Oracle, .. }), "{err:?}");
}

#[test]
fn drop_table() {
    let render = |d| duo_orm::ddl::drop_table(User::meta(), d, true);
    insta::assert_snapshot!(per_dialect(render));
}

#[test]
fn alchemize_returns_the_sea_query_statement() {
    use duo_orm::sea_query::PostgresQueryBuilder;
    let stmt = User::filter(|u| u.age.gt(30)).order_by(|u| u.id.desc()).limit(2).alchemize();
    assert_eq!(
        stmt.to_string(PostgresQueryBuilder),
        r#"SELECT "users"."id", "users"."name", "users"."age", "users"."email", "users"."nickname", "users"."status", "users"."is_admin" FROM "users" WHERE "users"."age" > 30 ORDER BY "users"."id" DESC LIMIT 2"#
    );
}

#[test]
fn create_table_if_not_exists_as_create_all_runs_it() {
    let render = |d| match duo_orm::ddl::create_table(Post::meta(), d, true) {
        Ok(statements) => statements.join(";\n"),
        Err(e) => format!("error: {e}"),
    };
    insta::assert_snapshot!(per_dialect(render));
}

#[test]
fn create_bulk_chunks_by_batch_size() {
    let rows = || (0..3).map(|i| json!({"name": format!("n{i}"), "age": i, "email": format!("{i}@example.com")})).collect::<Vec<_>>();
    insta::assert_snapshot!(per_dialect(|d| {
        match User::create_bulk(rows()).batch_size(2).to_sql(d) {
            Ok(statements) => statements.into_iter().map(|s| show(Ok(s))).collect::<Vec<_>>().join("\n"),
            Err(e) => format!("error: {e}"),
        }
    }));
}

#[test]
fn create_bulk_respects_each_dialects_parameter_and_row_limits() {
    // 3 000 rows of 3 columns (9 000 parameters): SQL Server takes 699 rows per statement
    // (2 098 usable parameters), the others 1 000 (the default batch size) or what
    // `batch_size` says.
    let rows: Vec<_> = (0..3000).map(|i| json!({"name": "n", "age": 1, "email": format!("{i}@x")})).collect();
    let sizes = |d: Dialect, batch: usize| -> Vec<usize> {
        let statements = User::create_bulk(rows.clone()).batch_size(batch).to_sql(d).unwrap();
        statements.iter().map(|s| s.values.0.len() / 3).collect()
    };
    assert_eq!(sizes(Dialect::MsSql, 5000), [699, 699, 699, 699, 204]);
    assert_eq!(sizes(Dialect::Postgres, 1000), [1000, 1000, 1000]);
    assert_eq!(sizes(Dialect::Sqlite, 5000), [3000]);
    assert_eq!(sizes(Dialect::MySql, 1200), [1200, 1200, 600]);
    assert!(sizes(Dialect::MsSql, 5000).iter().all(|rows| rows * 3 <= 2098));
    // Every column of `Everything` × 1 000 rows: far over SQL Server's limit, so fewer rows each.
    let wide: Vec<_> = (0..1000).map(|_| crate::types::everything_json()).collect();
    let wide = crate::types::Everything::create_bulk(wide).to_sql(Dialect::MsSql).unwrap();
    assert!(wide.iter().all(|s| s.values.0.len() <= 2098), "{:?}", wide.iter().map(|s| s.values.0.len()).collect::<Vec<_>>());
}

#[test]
fn update_and_delete_bulk() {
    insta::assert_snapshot!(per_dialect(|d| {
        let update = User::filter(|u| u.age.lt(18)).update_bulk(json!({"status": "minor", "nickname": "kid"})).to_sql(d);
        let delete = User::filter(|u| u.status.eq("banned") | u.age.gt(120)).delete_bulk().to_sql(d);
        let refused = User::delete_bulk_all().to_sql(d);
        let everything = User::delete_bulk_all().require_filter(false).to_sql(d);
        format!("{}\n{}\n{}\n{}", show(update), show(delete), show(refused), show(everything))
    }));
}

#[test]
fn keyset_batches_of_iterate() {
    insta::assert_snapshot!(per_dialect(|d| {
        let first = Membership::filter(|m| m.role.eq("admin")).iterate().batch_size(100).batch_sql(d, None);
        let next = Membership::filter(|m| m.role.eq("admin")).iterate().batch_size(100).batch_sql(d, Some(("acme".into(), 42)));
        let back = User::query().order_by(|u| u.id.desc()).iterate().batch_size(50).batch_sql(d, Some(7));
        let by_offset = User::query().order_by(|u| u.age.asc()).offset(5).iterate().batch_size(50).batch_sql(d, None);
        format!("{}\n{}\n{}\n{}", show(first), show(next), show(back), show(by_offset))
    }));
}

#[test]
fn create_bulk_returning_rows() {
    let rows = || (0..2).map(|i| json!({"name": format!("n{i}"), "age": i, "email": format!("{i}@example.com")})).collect::<Vec<_>>();
    insta::assert_snapshot!(per_dialect(|d| {
        match User::create_bulk(rows()).returning().to_sql(d) {
            Ok(statements) => statements.into_iter().map(|s| show(Ok(s))).collect::<Vec<_>>().join("\n"),
            Err(e) => format!("error: {e}"),
        }
    }));
}

mod relationships {
    use duo_orm::Dialect;
    use duo_orm::prelude::*;
    use duo_orm::sea_query::Value;

    use super::{per_dialect, show};
    use crate::relations::{Comment, Post, Tag, User};

    fn all(statements: Vec<duo_orm::Statement>) -> String {
        lines(statements.into_iter().map(Ok))
    }

    /// One rendered statement (or error) after the other.
    fn lines(rendered: impl IntoIterator<Item = Result<duo_orm::Statement>>) -> String {
        rendered.into_iter().map(show).collect::<Vec<_>>().join("\n")
    }

    #[test]
    fn relationship_filters_are_correlated_subqueries() {
        let render = |d| {
            let comments = |u: &crate::relations::UserColumns| u.posts.then(|p| p.comments);
            lines([
                User::filter(|u| u.posts.exists()).to_sql(d),
                User::filter(|u| u.posts.any(|p| p.title.contains("Rust"))).to_sql(d),
                User::filter(|u| u.posts.all(|p| p.published.eq(true))).to_sql(d),
                User::filter(|u| u.posts.count().ge(3)).order_by(|u| u.posts.count().desc()).to_sql(d),
                User::filter(|u| comments(u).any(|c| c.likes.gt(10)) & !comments(u).all(|c| c.likes.ge(1))).to_sql(d),
                User::query().order_by(|u| comments(u).count().asc()).limit(5).to_sql(d),
                Post::filter(|p| p.tags.any(|t| t.name.eq("rust"))).to_sql(d),
                Tag::filter(|t| t.posts.count().ge(2)).to_sql(d),
                // A join table in the middle of a path.
                User::filter(|u| u.posts.then(|p| p.tags).any(|t| t.name.eq("rust"))).to_sql(d),
            ])
        };
        insta::assert_snapshot!(per_dialect(render));
    }

    /// The join-row statements of `attach`/`detach` and of saving a many-to-many field: one
    /// multi-row INSERT for the links a save adds, one DELETE per owner for those it removes.
    #[test]
    fn join_rows_added_and_removed() {
        let post = crate::relations::Post {
            id: 3,
            title: "t".into(),
            published: true,
            author_id: 1,
            editor_id: None,
            author: Related::not_loaded(),
            editor: Related::not_loaded(),
            comments: Related::not_loaded(),
            tags: Related::not_loaded(),
        };
        let tag = |id: i64| Tag { id, name: String::new(), posts: Related::not_loaded() };
        let render = |d| {
            let targets = [tag(5), tag(6), tag(7)];
            lines([post.tags().attach_sql(&targets, d), post.tags().detach_sql(&targets, d)].into_iter().flat_map(|r| match r {
                Ok(statements) => statements.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            }))
        };
        insta::assert_snapshot!(per_dialect(render));
    }

    #[test]
    fn selectin_loading_statements() {
        let keys = || vec![Value::BigInt(Some(1)), Value::BigInt(Some(2))];
        let render = |d| {
            [
                User::columns().posts.selectin_sql(d, keys()),
                Post::columns().tags.selectin_sql(d, keys()),
                Comment::columns().post.selectin_sql(d, keys()),
            ]
            .into_iter()
            .map(all)
            .collect::<Vec<_>>()
            .join("\n")
        };
        insta::assert_snapshot!(per_dialect(render));
    }

    #[test]
    fn selectin_statements_reuse_their_text_for_any_number_of_keys() {
        // The text around the keys is rendered once and kept: later loads of the same hop with
        // more or fewer keys must still get one placeholder per key, numbered from 1.
        let keys = |n: i64| (1..=n).map(|k| Value::BigInt(Some(k))).collect::<Vec<_>>();
        let lists = [
            (Dialect::MySql, "IN (?, ?, ?)"),
            (Dialect::Sqlite, "IN (?, ?, ?)"),
            (Dialect::MsSql, "IN (@P1, @P2, @P3)"),
            (Dialect::Oracle, "IN (:1, :2, :3)"),
            (Dialect::Postgres, "= ANY($1)"),
        ];
        for (dialect, three_keys) in lists {
            let two = User::columns().posts.selectin_sql(dialect, keys(2));
            let three = User::columns().posts.selectin_sql(dialect, keys(3));
            assert!(three[0].sql.ends_with(three_keys), "{dialect:?}: {}", three[0].sql);
            let expected_values = if dialect == Dialect::Postgres { 1 } else { 3 };
            assert_eq!(three[0].values.0.len(), expected_values, "{dialect:?}");
            assert_eq!(User::columns().posts.selectin_sql(dialect, keys(2)), two, "{dialect:?}");
            assert_ne!(two[0].values, three[0].values, "{dialect:?}");
        }
    }

    #[test]
    fn selectin_in_lists_stay_within_each_dialects_limits() {
        let keys: Vec<Value> = (0..2_500).map(|k| Value::BigInt(Some(k))).collect();
        let chunks = |d| User::columns().posts.selectin_sql(d, keys.clone()).len();
        // PostgreSQL binds one array; SQL Server 2 098 parameters; Oracle 1 000 per IN list.
        assert_eq!(chunks(Dialect::Postgres), 1);
        assert_eq!(chunks(Dialect::MySql), 1);
        assert_eq!(chunks(Dialect::Sqlite), 1);
        assert_eq!(chunks(Dialect::MsSql), 2);
        assert_eq!(chunks(Dialect::Oracle), 3);
        let oracle = User::columns().posts.selectin_sql(Dialect::Oracle, keys.clone());
        assert!(oracle.iter().all(|s| s.values.0.len() <= 1_000));
        // Every chunk numbers its own placeholders from 1, one per value, and the keys stay in
        // order across chunks.
        for (dialect, prefix) in [(Dialect::Oracle, ":"), (Dialect::MsSql, "@P")] {
            let last_placeholder = |n: usize| format!("{prefix}{n})");
            let chunks = User::columns().posts.selectin_sql(dialect, keys.clone());
            let sizes: Vec<usize> = chunks.iter().map(|s| s.values.0.len()).collect();
            let expected = if dialect == Dialect::Oracle { vec![1_000, 1_000, 500] } else { vec![2_098, 402] };
            assert_eq!(sizes, expected, "{dialect:?}");
            for chunk in &chunks {
                assert!(chunk.sql.ends_with(&last_placeholder(chunk.values.0.len())), "{dialect:?}");
                assert!(chunk.sql.contains(&last_placeholder(1).replace(')', ", ")), "{dialect:?}: numbering starts at 1");
            }
            let all: Vec<Value> = chunks.into_iter().flat_map(|s| s.values.0).collect();
            assert_eq!(all, keys, "{dialect:?}");
        }
        let postgres = User::columns().posts.selectin_sql(Dialect::Postgres, keys);
        assert!(postgres[0].sql.ends_with("= ANY($1)"), "{}", postgres[0].sql);
        assert_eq!(postgres[0].values.0.len(), 1);
    }

    #[test]
    fn joined_loading_statements() {
        let render = |d| {
            lines([
                Comment::related(|c| c.post.then(|p| p.author)).filter(|c| c.likes.gt(0)).to_sql(d),
                Post::related(|p| p.author).related(|p| p.editor).order_by(|p| p.id.asc()).limit(10).to_sql(d),
                User::related(|u| u.posts.joined()).filter(|u| u.name.ne("x")).to_sql(d),
                User::related(|u| u.posts.joined()).order_by(|u| u.name.desc()).limit(2).to_sql(d),
                Post::related(|p| p.tags.joined()).to_sql(d),
            ])
        };
        insta::assert_snapshot!(per_dialect(render));
    }

    #[test]
    fn a_bare_join_table_is_created_from_both_keys() {
        let join = Post::meta().relations.iter().find(|r| r.name == "tags").unwrap().through_table().unwrap();
        let render = |d| duo_orm::ddl::create_table(join, d, true).map(|s| s.join("\n")).unwrap_or_else(|e| e.to_string());
        insta::assert_snapshot!(per_dialect(render));
    }
}
