//! Input a request can carry: hostile row counts, deep conditions, NUL characters, text
//! helpers that must mean the same on every backend, and JSON keys no path can quote. Live on
//! every backend, and on a 2 MiB thread stack where the input is deep.

use duo_orm::ConfigurationKind;
use duo_orm::prelude::*;
use duo_orm::sea_query::{Expr, ExprTrait};
use duo_orm::{Condition, Dialect};

use crate::json::Doc;
use crate::models::User;
use crate::queries::names;
use crate::setup;
use crate::support::{DIALECTS, TestDb, backends};

fn invalid_query<T: std::fmt::Debug>(result: duo_orm::Result<T>, what: &str) -> String {
    match result {
        Err(Error::InvalidQuery { message, .. }) => message,
        other => panic!("{what}: expected InvalidQuery, got {other:?}"),
    }
}

async fn seed_people(t: &TestDb, people: &[(&str, &str)]) {
    setup!(t.db, User);
    for (i, (name, email)) in people.iter().enumerate() {
        User::create(json!({"name": name, "age": 30, "email": email, "nickname": format!("n{i}")})).on(&t.db).await.unwrap();
    }
}

#[tokio::test]
async fn row_counts_above_i64_max_are_invalid_queries_not_panics() {
    for t in backends("h_counts").await {
        seed_people(&t, &[("Ada", "ada@x.io")]).await;
        let d = t.dialect;
        let huge = i64::MAX as u64 + 1;
        for (what, query) in [
            ("limit", User::query().limit(huge)),
            ("limit max", User::query().limit(u64::MAX)),
            ("offset", User::query().offset(u64::MAX)),
            ("paginate overflow", User::query().paginate(Page { number: u64::MAX, size: 2 })),
            ("paginate page past the end", User::query().paginate(Page { number: 2, size: huge })),
        ] {
            let message = invalid_query(query.clone().all().on(&t.db).await, what);
            assert!(message.contains(&i64::MAX.to_string()) || message.contains("paginate"), "{d:?} {what}: {message}");
            invalid_query(query.to_sql(d), what);
        }
        let message = invalid_query(
            User::query().iterate().batch_size(u64::MAX).on(&t.db).stream().try_collect::<Vec<_>>().await,
            "iterate batch_size",
        );
        assert!(message.contains("batch_size"), "{message}");
        // The largest accepted counts run.
        assert_eq!(User::query().limit(i64::MAX as u64).all().on(&t.db).await.unwrap().len(), 1, "{d:?}");
        assert!(User::query().offset(i64::MAX as u64).all().on(&t.db).await.unwrap().is_empty(), "{d:?}");
        assert_eq!(User::query().paginate(Page::first(i64::MAX as u64)).all().on(&t.db).await.unwrap().len(), 1, "{d:?}");
    }
}

#[test]
fn pool_options_no_pool_can_use_are_configuration_errors() {
    for db in [
        Database::new("sqlite::memory:").max_connections(0),
        Database::new("sqlite::memory:").pool_options(duo_orm::PoolOptions {
            min_connections: 5,
            max_connections: 2,
            ..Default::default()
        }),
    ] {
        match db.connect().wait() {
            Err(Error::Configuration { kind: ConfigurationKind::Pool, message, .. }) => {
                assert!(message.contains("max_connections"), "{message}")
            }
            other => panic!("expected a configuration error, got {other:?}"),
        }
    }
}

/// Runs `work` on a thread with a 2 MiB stack (tokio's and std's default for spawned threads).
fn on_small_stack<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::Builder::new().stack_size(2 << 20).spawn(work).unwrap().join().expect("the small-stack thread died")
}

const TERMS: i64 = 100_000;

#[test]
fn long_and_or_chains_render_and_drop_on_a_small_stack() {
    on_small_stack(|| {
        let ors = (1..TERMS).fold(User::filter(|u| u.id.eq(0)), |q, i| q.filter(move |u| u.id.eq(i) | u.age.eq(1)));
        let chain = (1..TERMS).fold(Condition::<User>::from_expr(Expr::val(1).eq(1)), |c, i| c | <User as Model>::columns().id.eq(i));
        let ands = (1..TERMS).fold(<User as Model>::columns().id.ne(0), |c, i| c & <User as Model>::columns().age.ne(i as i32));
        let nots = (0..TERMS).fold(<User as Model>::columns().id.eq(1), |c, _| !c);
        for (_, dialect) in DIALECTS {
            let sql = ors.to_sql(dialect).unwrap();
            assert_eq!(sql.values.0.len(), 2 * TERMS as usize - 1);
            for condition in [chain.clone(), ands.clone(), nots.clone()] {
                let sql = User::query().and_where(condition).to_sql(dialect).unwrap();
                assert!(sql.sql.contains("WHERE"));
            }
        }
        // An even number of negations is the condition itself.
        assert!(!User::query().and_where(nots).to_sql(Dialect::Postgres).unwrap().sql.contains("NOT"));
        drop((ors, chain, ands));
    });
}

#[test]
fn deeply_alternating_conditions_are_refused_not_a_stack_overflow() {
    on_small_stack(|| {
        let columns = <User as Model>::columns();
        // ((a | b) & c) | d … : every step nests one level deeper.
        let deep = (0..TERMS).fold(columns.id.eq(0), |c, i| if i % 2 == 0 { c | columns.id.eq(i) } else { c & columns.age.ne(i as i32) });
        let query = User::query().and_where(deep);
        let message = invalid_query(query.to_sql(Dialect::Sqlite), "deep condition");
        assert!(message.contains("nests deeper than"), "{message}");
        drop(query);
        // The deepest accepted condition renders in every dialect, here too.
        let max = (0..duo_orm::MAX_CONDITION_DEPTH - 1)
            .fold(columns.id.eq(0), |c, i| if i % 2 == 0 { c | columns.id.eq(i as i64) } else { c & columns.age.ne(i as i32) });
        let wide = (0..1000).fold(max, |c, i| c | columns.name.eq(format!("n{i}")));
        for (_, dialect) in DIALECTS {
            User::query().and_where(wide.clone()).to_sql(dialect).unwrap();
        }
    });
}

#[tokio::test]
async fn long_chains_run_live() {
    for t in backends("h_chains").await {
        seed_people(&t, &[("Ada", "ada@x.io"), ("Bob", "bob@x.io")]).await;
        // 20 000 bound values: under every backend's parameter limit.
        let wanted = (0..20_000).fold(User::filter(|u| u.name.eq("Bob")), |q, i| q.filter(move |u| u.name.ne(format!("x{i}"))));
        assert_eq!(names(&t, wanted).await, ["Bob"], "{:?}", t.dialect);
        let any = (0..20_000).fold(<User as Model>::columns().name.eq("Ada"), |c, i| c | <User as Model>::columns().id.eq(-i - 1));
        assert_eq!(names(&t, User::query().and_where(any)).await, ["Ada"], "{:?}", t.dialect);
    }
}

#[tokio::test]
async fn text_helpers_compare_case_and_accents_on_every_backend() {
    for t in backends("h_text_case").await {
        seed_people(
            &t,
            &[("Émile", "emile@x.io"), ("émile", "e2@x.io"), ("EMILE", "e3@x.io"), ("emile", "e4@x.io"), ("50%_off", "p@x.io")],
        )
        .await;
        let d = t.dialect;
        assert_eq!(names(&t, User::filter(|u| u.name.contains("mil"))).await, ["Émile", "émile", "emile"], "{d:?}");
        assert_eq!(names(&t, User::filter(|u| u.name.startswith("e"))).await, ["emile"], "{d:?}");
        assert_eq!(names(&t, User::filter(|u| u.name.startswith("É"))).await, ["Émile"], "{d:?}");
        assert_eq!(names(&t, User::filter(|u| u.name.endswith("ILE"))).await, ["EMILE"], "{d:?}");
        assert_eq!(names(&t, User::filter(|u| u.name.contains("%_"))).await, ["50%_off"], "{d:?}");
        assert_eq!(names(&t, User::filter(|u| u.name.contains("*"))).await, Vec::<String>::new(), "{d:?} GLOB wildcard");
        assert_eq!(names(&t, User::filter(|u| u.name.eq_exact("émile"))).await, ["émile"], "{d:?}");
        assert_eq!(names(&t, User::filter(|u| u.name.eq_exact("emile "))).await, Vec::<String>::new(), "{d:?}");
        // The `i` forms fold ASCII everywhere; beyond ASCII, PostgreSQL and MariaDB fold case
        // (MariaDB's default collation accents too) and SQLite does not, but a value always
        // matches itself.
        let ascii_folded = names(&t, User::filter(|u| u.name.istartswith("EM"))).await;
        if d == Dialect::MySql {
            assert_eq!(ascii_folded, ["Émile", "émile", "EMILE", "emile"], "MariaDB's collation folds accents too");
        } else {
            assert_eq!(ascii_folded, ["EMILE", "emile"], "{d:?}");
        }
        let folded = names(&t, User::filter(|u| u.name.icontains("ÉMI"))).await;
        match d {
            Dialect::Sqlite => assert_eq!(folded, ["Émile"], "{d:?}"),
            Dialect::Postgres => assert_eq!(folded, ["Émile", "émile"], "{d:?}"),
            _ => assert_eq!(folded, ["Émile", "émile", "EMILE", "emile"], "{d:?}"),
        }
        // `eq` follows the column's collation: on MariaDB that ignores case and accents.
        let loose = names(&t, User::filter(|u| u.name.eq("emile"))).await;
        if d == Dialect::MySql {
            assert_eq!(loose, ["Émile", "émile", "EMILE", "emile"]);
        } else {
            assert_eq!(loose, ["emile"], "{d:?}");
        }
    }
}

#[tokio::test]
async fn nul_in_text_is_refused_where_the_backend_cannot_hold_or_match_it() {
    for t in backends("h_nul").await {
        seed_people(&t, &[("Ada", "ada@x.io")]).await;
        let d = t.dialect;
        let result = User::filter(|u| u.name.contains("\0")).all().on(&t.db).await;
        match d {
            Dialect::Postgres | Dialect::Sqlite => {
                assert!(matches!(result, Err(Error::UnsupportedOperation { .. })), "{d:?}: {result:?}")
            }
            _ => assert!(result.unwrap().is_empty(), "{d:?}: NUL matches literally"),
        }
        let like = User::filter(|u| u.name.like("%\0%")).all().on(&t.db).await;
        assert_eq!(like.is_err(), d != Dialect::MySql, "{d:?}: {like:?}");
        let exact = User::filter(|u| u.name.eq_exact("nul\0byte")).count().on(&t.db).await;
        assert_eq!(exact.is_err(), d == Dialect::Postgres, "{d:?}: `=` takes NUL where text can hold it: {exact:?}");
        let written = User::create(json!({"name": "nul\0byte", "age": 1, "email": "n@x.io"})).on(&t.db).await;
        match d {
            Dialect::Postgres => match written {
                Err(Error::UnsupportedOperation { dialect: Dialect::Postgres, operation }) => {
                    assert!(operation.contains("NUL"), "{operation}")
                }
                other => panic!("PostgreSQL cannot store NUL: {other:?}"),
            },
            _ => {
                let user = written.unwrap();
                let back = User::get(user.id).on(&t.db).await.unwrap().unwrap();
                assert_eq!(back.name, "nul\0byte", "{d:?}: stored and read back whole");
                let found = User::filter(|u| u.name.eq_exact("nul\0byte")).count().on(&t.db).await.unwrap();
                assert_eq!(found, 1, "{d:?}: found by its whole value");
            }
        }
    }
}

#[tokio::test]
async fn json_keys_match_literally_or_are_refused() {
    let keys = [
        "--",
        "-a",
        "a-b",
        "tab\there",
        "new\nline",
        "bell\u{7}",
        "quote\"d",
        "back\\slash",
        "sp ace",
        "dot.ted",
        "star*",
        "[0]",
        "$",
        "é",
        "'",
        "",
    ];
    for t in backends("h_json_keys").await {
        setup!(t.db, Doc);
        let d = t.dialect;
        let mut data = serde_json::Map::new();
        for (i, key) in keys.iter().enumerate() {
            data.insert(key.to_string(), json!(i));
        }
        Doc::create(json!({"name": "all", "data": data, "prefs": null})).on(&t.db).await.unwrap();
        for (i, key) in keys.iter().enumerate() {
            let found = Doc::filter(|doc| doc.data.at(*key).eq(i as i64)).count().on(&t.db).await;
            let refused = match d {
                Dialect::Sqlite => key.contains(['"', '\\']) || key.chars().any(char::is_control),
                Dialect::MySql => key.starts_with('-'),
                _ => false,
            };
            if refused {
                assert!(matches!(found, Err(Error::UnsupportedOperation { .. })), "{d:?} {key:?}: {found:?}");
            } else {
                assert_eq!(found.unwrap(), 1, "{d:?}: key {key:?}");
                let has = Doc::filter(|doc| doc.data.has_key(*key)).count().on(&t.db).await.unwrap();
                assert_eq!(has, 1, "{d:?}: has_key {key:?}");
            }
        }
        // A path from request input cannot grow without bound.
        let long = Doc::filter(|doc| (0..65).fold(doc.data.json(), |path, _| path.at("k")).eq(1)).count().on(&t.db).await;
        assert!(matches!(long, Err(Error::InvalidQuery { message: ref m, .. }) if m.contains("64 steps")), "{long:?}");
        let nul = Doc::filter(|doc| doc.data.at("a\0b").eq(1)).count().on(&t.db).await;
        if d == Dialect::Sqlite {
            assert!(matches!(nul, Err(Error::UnsupportedOperation { .. })), "{nul:?}");
        }
    }
}

/// A small model for property tests: three integer columns and a text one.
#[derive(Model, Debug, Clone)]
#[duo(table = "prop_rows")]
pub struct PropRow {
    #[duo(primary_key)]
    pub id: i64,
    pub a: i32,
    pub b: i32,
    pub c: i32,
    #[duo(max_length = 64)]
    pub text: String,
}

/// A random boolean expression over `a`, `b` and `c`, as a tree to evaluate in Rust and build
/// as a `Condition`.
#[derive(Debug, Clone)]
enum Tree {
    Cmp(usize, u8, i32),
    And(Vec<Tree>),
    Or(Vec<Tree>),
    Not(Box<Tree>),
}

impl Tree {
    fn eval(&self, row: &[i32; 3]) -> bool {
        match self {
            Tree::Cmp(column, op, value) => match op % 3 {
                0 => row[*column] == *value,
                1 => row[*column] < *value,
                _ => row[*column] >= *value,
            },
            Tree::And(terms) => terms.iter().all(|t| t.eval(row)),
            Tree::Or(terms) => terms.iter().any(|t| t.eval(row)),
            Tree::Not(inner) => !inner.eval(row),
        }
    }

    fn condition(&self) -> Condition<PropRow> {
        let columns = <PropRow as Model>::columns();
        match self {
            Tree::Cmp(column, op, value) => {
                let column = [columns.a, columns.b, columns.c][*column];
                match op % 3 {
                    0 => column.eq(*value),
                    1 => column.lt(*value),
                    _ => column.ge(*value),
                }
            }
            Tree::And(terms) => terms.iter().map(Tree::condition).reduce(|x, y| x & y).expect("non-empty"),
            Tree::Or(terms) => terms.iter().map(Tree::condition).reduce(|x, y| x | y).expect("non-empty"),
            Tree::Not(inner) => !inner.condition(),
        }
    }
}

fn tree() -> impl proptest::strategy::Strategy<Value = Tree> {
    use proptest::prelude::*;
    let leaf = (0usize..3, any::<u8>(), -2i32..3).prop_map(|(column, op, value)| Tree::Cmp(column, op, value));
    leaf.prop_recursive(5, 40, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..5).prop_map(Tree::And),
            prop::collection::vec(inner.clone(), 1..5).prop_map(Tree::Or),
            inner.prop_map(|t| Tree::Not(Box::new(t))),
        ]
    })
}

/// Every condition the builder makes (flattened, balanced, double negations dropped) selects
/// exactly the rows its Rust evaluation selects, on every backend.
#[test]
fn conditions_select_what_they_say() {
    use proptest::test_runner::{Config, TestRunner};
    let rows: Vec<[i32; 3]> = (0..64).map(|i| [i % 4 - 2, (i / 4) % 4 - 2, (i / 16) % 4 - 2]).collect();
    for t in crate::support::backends_sync("h_prop_conditions") {
        crate::setup_sync!(t.db, PropRow);
        PropRow::create_bulk(rows.iter().map(|[a, b, c]| json!({"a": a, "b": b, "c": c, "text": ""}))).on(&t.db).wait().unwrap();
        let mut runner = TestRunner::new(Config { cases: 64, ..Config::default() });
        runner
            .run(&tree(), |tree| {
                let expected = rows.iter().filter(|row| tree.eval(row)).count() as u64;
                let found = PropRow::query().and_where(tree.condition()).count().on(&t.db).wait().unwrap();
                proptest::prop_assert_eq!(found, expected, "{:?}: {:?}", t.dialect, tree);
                Ok(())
            })
            .unwrap();
    }
}

/// `contains`, `startswith` and `endswith` match exactly what Rust's `str` methods match, for
/// values full of wildcards, escape characters, quotes and letters that case folding would
/// touch, on every backend.
#[test]
fn text_helpers_match_like_rust_str() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let alphabet = prop::sample::select(vec!['a', 'A', 'b', 'é', 'É', '%', '_', '[', ']', '*', '?', '!', '\\', '\'', '"', ' ', '^', '-']);
    let text = prop::collection::vec(alphabet, 0..6).prop_map(|chars| chars.into_iter().collect::<String>());
    for t in crate::support::backends_sync("h_prop_text") {
        crate::setup_sync!(t.db, PropRow);
        let mut runner = TestRunner::new(Config { cases: 48, ..Config::default() });
        runner
            .run(&(prop::collection::vec(text.clone(), 1..8), text.clone()), |(haystacks, needle)| {
                PropRow::delete_bulk_all().require_filter(false).on(&t.db).wait().unwrap();
                PropRow::create_bulk(haystacks.iter().map(|h| json!({"a": 0, "b": 0, "c": 0, "text": h}))).on(&t.db).wait().unwrap();
                let count = |condition: Condition<PropRow>| PropRow::query().and_where(condition).count().on(&t.db).wait().unwrap();
                let columns = <PropRow as Model>::columns();
                let expect = |f: &dyn Fn(&str) -> bool| haystacks.iter().filter(|h| f(h)).count() as u64;
                prop_assert_eq!(
                    count(columns.text.contains(&needle)),
                    expect(&|h| h.contains(needle.as_str())),
                    "{:?} contains",
                    t.dialect
                );
                prop_assert_eq!(
                    count(columns.text.startswith(&needle)),
                    expect(&|h| h.starts_with(needle.as_str())),
                    "{:?} startswith",
                    t.dialect
                );
                prop_assert_eq!(
                    count(columns.text.endswith(&needle)),
                    expect(&|h| h.ends_with(needle.as_str())),
                    "{:?} endswith",
                    t.dialect
                );
                Ok(())
            })
            .unwrap();
    }
}

/// Any name, quoted by any dialect, reads back as exactly that name: it opens and closes with
/// the dialect's quotes, and every closing quote inside is doubled, so no name can end the
/// identifier early. (Whether the server accepts the name, e.g. with NUL, is its own check.)
#[test]
fn any_identifier_quotes_to_one_identifier_in_every_dialect() {
    use proptest::prelude::*;
    use proptest::test_runner::TestRunner;
    let names = prop_oneof![any::<String>(), "[\"`\\[\\]'\\\\a. ]{0,12}"];
    TestRunner::default()
        .run(&names, |name| {
            for dialect in Dialect::ALL {
                let quoted = dialect.quote_identifier(&name);
                let close = match dialect {
                    Dialect::MySql => '`',
                    Dialect::MsSql => ']',
                    _ => '"',
                };
                let open = if dialect == Dialect::MsSql { '[' } else { close };
                let inner = quoted.strip_prefix(open).and_then(|q| q.strip_suffix(close));
                prop_assert!(inner.is_some(), "{dialect:?}: {quoted}");
                let inner = inner.unwrap();
                // Closing quotes inside come in pairs only.
                let mut chars = inner.chars();
                let mut read = String::new();
                while let Some(c) = chars.next() {
                    if c == close {
                        prop_assert_eq!(chars.next(), Some(close), "{:?}: a lone quote in {}", dialect, quoted);
                    }
                    read.push(c);
                }
                prop_assert_eq!(&read, &name);
            }
            Ok(())
        })
        .unwrap();
}
