//! Expansion snapshots: code-generation changes are reviewed as diffs of these files.

use crate::{expand_model, expand_payload, parse_model};

fn pretty(tokens: proc_macro2::TokenStream) -> String {
    prettyplease::unparse(&syn::parse2(tokens).expect("the expansion is valid Rust"))
}

#[test]
fn expands_a_model() {
    let input: syn::DeriveInput = syn::parse_quote! {
        #[duo(table = "posts", db = crate::db::DB, index(author_id, title))]
        pub struct Post {
            #[duo(primary_key)]
            pub id: i64,
            #[duo(max_length = 200, default = "untitled")]
            pub title: String,
            #[duo(references = User, on_delete = cascade, index)]
            pub author_id: i64,
            #[duo(column = "body_text")]
            pub body: Option<String>,
            #[duo(guarded, unique)]
            pub slug: String,
            #[duo(auto_now)]
            pub updated_at: chrono::DateTime<chrono::Utc>,
            #[duo(belongs_to(User, foreign_key = author_id))]
            pub author: Related<User>,
            #[duo(has_many(Comment, cascade))]
            pub comments: Related<Vec<Comment>>,
            #[duo(many_to_many(Tag, through = "post_tags"))]
            pub tags: Related<Vec<Tag>>,
            #[duo(many_to_many(Category, through = PostCategory, owner_key = post, target_key = category))]
            pub categories: Related<Vec<Category>>,
        }
    };
    insta::assert_snapshot!(pretty(expand_model(&input)));
}

#[test]
fn relationship_declarations_are_parsed_with_conventional_keys() {
    let input: syn::DeriveInput = syn::parse_quote! {
        struct BlogPost {
            #[duo(primary_key)]
            id: i64,
            writer_id: Option<i64>,
            #[duo(belongs_to(User, foreign_key = writer_id))]
            writer: Related<Option<User>>,
            #[duo(has_many(Comment))]
            comments: Related<Vec<Comment>>,
            #[duo(many_to_many(Tag, through = "blog_post_tags"))]
            tags: Related<Vec<Tag>>,
        }
    };
    let def = parse_model(&input).unwrap();
    assert_eq!(def.fields.len(), 2, "relationships are not columns");
    let keys: Vec<String> = def.relations.iter().map(|r| r.foreign_key.to_string()).collect();
    assert_eq!(keys[..2], ["writer_id", "blog_post_id"]);
    let through = def.relations[2].through.as_ref().unwrap();
    assert_eq!((through.owner_key.to_string(), through.target_key.to_string()), ("blog_post_id".into(), "tag_id".into()));
}

#[test]
fn relationship_mistakes_are_reported_at_their_spans() {
    let input: syn::DeriveInput = syn::parse_quote! {
        struct Broken {
            #[duo(primary_key)]
            id: i64,
            owner_id: Option<i64>,
            #[duo(belongs_to(User, foreign_key = owner_id))]
            owner: Related<User>,
            #[duo(has_many(Post))]
            posts: Related<Post>,
            #[duo(belongs_to(Team, cascade))]
            team: Related<Team>,
            #[duo(many_to_many(Tag))]
            tags: Related<Vec<Tag>>,
            untagged: Related<Vec<Tag>>,
            #[duo(has_one(Profile, frobnicate = 1))]
            profile: Related<Option<Profile>>,
        }
    };
    let messages: Vec<String> = parse_model(&input).unwrap_err().into_iter().map(|e| e.to_string()).collect();
    let expect = [
        "the foreign key `owner_id` is optional",
        "a has_many field has type `Related<Vec<Post>>`",
        "a belongs_to points at the owner's parent",
        "no column field named `team_id`",
        "many_to_many needs its join table",
        "a `Related<…>` field needs a relationship attribute",
        "unknown has_one argument `frobnicate`",
    ];
    for needle in expect {
        assert!(messages.iter().any(|m| m.contains(needle)), "missing {needle:?} in {messages:#?}");
    }
    assert_eq!(messages.len(), expect.len(), "{messages:#?}");
}

#[test]
fn expands_a_composite_key_model_with_a_custom_crate_path() {
    let input: syn::DeriveInput = syn::parse_quote! {
        #[duo(crate = "my_app::orm")]
        struct Membership {
            #[duo(primary_key)]
            org: String,
            #[duo(primary_key)]
            user_id: i64,
            #[duo(sql_type = "citext")]
            role: String,
        }
    };
    insta::assert_snapshot!(pretty(expand_model(&input)));
}

#[test]
fn expands_a_payload() {
    let input: syn::DeriveInput = syn::parse_quote! {
        struct UserCreate { name: String }
    };
    insta::assert_snapshot!(pretty(expand_payload(&input)));
}

#[test]
fn model_definition_is_what_the_cli_reads() {
    let input: syn::DeriveInput = syn::parse_quote! {
        struct BlogPost {
            #[duo(primary_key)]
            id: i32,
            published_at: Option<chrono::DateTime<chrono::Utc>>,
            #[duo(unique(title, id))]
            title: String,
        }
    };
    // `unique(...)` is a container attribute: on a field it is an error, reported at its span.
    let err = parse_model(&input).unwrap_err();
    assert!(err.to_string().contains("unique"), "{err}");
    let input: syn::DeriveInput = syn::parse_quote! {
        struct BlogPost {
            #[duo(primary_key)]
            id: i32,
            published_at: Option<chrono::DateTime<chrono::Utc>>,
        }
    };
    let def = parse_model(&input).unwrap();
    assert_eq!(def.table, "blog_post", "the default table name is the snake_case struct name");
    assert!(def.fields[0].auto_increment, "a single integer key is generated by the database");
    assert_eq!(def.fields[1].sql_type, Some(duo_orm_schema::ColumnType::TimestampTz));
    assert!(def.fields[1].nullable);
}

#[test]
fn every_error_of_a_model_is_reported_at_once() {
    let input: syn::DeriveInput = syn::parse_quote! {
        struct Broken {
            #[duo(primary_key, frobnicate)]
            id: Option<i64>,
            #[duo(max_length = 3)]
            count: i32,
        }
    };
    let messages: Vec<String> = parse_model(&input).unwrap_err().into_iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), 3, "{messages:#?}");
    assert!(messages[0].contains("unknown duo attribute `frobnicate`") && messages[0].contains("expected one of"));
    assert!(messages.iter().any(|m| m.contains("cannot be nullable")));
    assert!(messages.iter().any(|m| m.contains("max_length applies to String")));
}

#[test]
fn default_table_names_split_acronyms_as_a_reader_does() {
    use crate::case::snake_case;
    assert_eq!(snake_case("HTTPLog"), "http_log");
    assert_eq!(snake_case("BlogPost"), "blog_post");
    assert_eq!(snake_case("UserV2"), "user_v2");
    assert_eq!(snake_case("Post"), "post");
}

#[test]
fn expands_field_types() {
    let labels: syn::DeriveInput = syn::parse_quote! {
        #[duo(rename_all = "snake_case")]
        enum Plan { Free, ProMonthly, #[duo(rename = "team")] Business }
    };
    let integers: syn::DeriveInput = syn::parse_quote! {
        #[duo(repr = "i16", crate = "orm")]
        enum Priority { Low = 1, Urgent = 10 }
    };
    let newtype: syn::DeriveInput = syn::parse_quote! {
        struct Email(String);
    };
    let native: syn::DeriveInput = syn::parse_quote! {
        #[duo(postgres_enum = "tier")]
        enum Tier { Free, Pro }
    };
    let expanded = [labels, integers, newtype, native].iter().map(|input| pretty(crate::expand_field_type(input))).collect::<Vec<_>>();
    insta::assert_snapshot!(expanded.join("\n// ----\n\n"));
}

#[test]
fn expands_row_structs() {
    let named: syn::DeriveInput = syn::parse_quote! {
        struct Tally { r#type: String, total: i64, best: Option<i32> }
    };
    let tuple: syn::DeriveInput = syn::parse_quote! {
        #[duo(crate = "orm")]
        struct Ranked(User, i64);
    };
    let expanded = [named, tuple].iter().map(|input| pretty(crate::expand_from_row(input))).collect::<Vec<_>>();
    insta::assert_snapshot!(expanded.join("\n// ----\n\n"));
}

#[test]
fn the_cli_reads_a_field_types_column_type() {
    let parse = |input: syn::DeriveInput| crate::field_type::parse_field_type(&input).unwrap().sql_type().unwrap();
    assert_eq!(
        parse(syn::parse_quote!(
            enum Plan {
                Free,
            }
        )),
        Some(duo_orm_schema::ColumnType::Text)
    );
    assert_eq!(
        parse(syn::parse_quote!(
            #[duo(repr = "i64")]
            enum Big {
                A = 1,
            }
        )),
        Some(duo_orm_schema::ColumnType::BigInt)
    );
    assert_eq!(
        parse(syn::parse_quote!(
            struct Cents(i32);
        )),
        Some(duo_orm_schema::ColumnType::Integer)
    );
    assert_eq!(
        parse(syn::parse_quote!(
            struct Price(Cents);
        )),
        None
    );
}

/// The tables the CLI builds from model files: columns with their shared types, the
/// conventional index and foreign-key names, and the bare join table of a many-to-many.
#[test]
fn parsed_models_make_their_tables() {
    let models = [
        parse_model(&syn::parse_quote! {
            #[duo(table = "users")]
            struct User {
                #[duo(primary_key)]
                id: i64,
                #[duo(unique, max_length = 120)]
                email: String,
                #[duo(default = 0)]
                karma: i32,
            }
        })
        .unwrap(),
        parse_model(&syn::parse_quote! {
            #[duo(table = "posts")]
            struct Post {
                #[duo(primary_key)]
                id: i64,
                #[duo(references = User, on_delete = set_null)]
                author_id: Option<i64>,
                tags: Vec<String>,
                #[duo(many_to_many(User, through = "post_readers"))]
                readers: Related<Vec<User>>,
            }
        })
        .unwrap(),
    ];
    let tables = crate::schema::tables_of(&models).unwrap();
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["users", "posts", "post_readers"]);
    let (users, posts, readers) = (&tables[0], &tables[1], &tables[2]);
    assert_eq!(users.indexes[0].name, "uq_users_email");
    assert_eq!(users.column("karma").unwrap().default, Some(duo_orm_schema::DefaultValue::Int(0)));
    assert_eq!(posts.column("tags").unwrap().column_type, duo_orm_schema::ColumnType::Array(duo_orm_schema::ArrayOf::Text));
    let fk = &posts.foreign_keys[0];
    assert_eq!((fk.name.as_str(), fk.references.as_str()), ("fk_posts_author_id", "users"));
    assert_eq!(fk.on_delete, Some(duo_orm_schema::ReferentialAction::SetNull));
    assert_eq!(readers.primary_key, ["post_id", "user_id"]);
    assert_eq!(
        readers.foreign_keys.iter().map(|f| f.name.as_str()).collect::<Vec<_>>(),
        ["fk_post_readers_post_id", "fk_post_readers_user_id"]
    );

    // A type declared by a `#[derive(FieldType)]` must be resolved first: an error, not a panic.
    let unresolved = [parse_model(&syn::parse_quote! {
        struct Ticket {
            #[duo(primary_key)]
            id: i64,
            plan: Plan,
        }
    })
    .unwrap()];
    let err = crate::schema::tables_of(&unresolved).unwrap_err();
    assert!(err.contains("Ticket.plan"), "{err}");
}
