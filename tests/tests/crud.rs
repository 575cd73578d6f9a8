//! create / get / save / update / delete, payload kinds and schema conversions, live.

use duo_orm::prelude::*;
use serde_json::json;

use crate::models::*;
use crate::setup;
use crate::support::backends;

#[tokio::test]
async fn create_from_schema_map_and_model_fills_keys_and_defaults() {
    for t in backends("crud_create").await {
        // connect() opens a connection eagerly (and is a no-op cost once connected).
        t.db.connect().await.unwrap_or_else(|e| panic!("{:?}: {e}", t.dialect));
        setup!(t.db, User);
        // A validated schema: the non-column `password` is ignored.
        let ada = User::create(user_create("Ada", 36, "ada@example.com")).on(&t.db).await.unwrap();
        assert_eq!(ada.id, 1, "{:?}", t.dialect);
        assert_eq!(ada.status, "active", "database default filled in on {:?}", t.dialect);
        assert!(!ada.is_admin);
        // A JSON map: guarded `is_admin` is not mass-assigned, unknown keys are ignored.
        let bob = User::create(json!({"name": "Bob", "age": 17, "email": "bob@example.com", "is_admin": true, "shoe": 44}))
            .on(&t.db)
            .await
            .unwrap();
        assert_eq!(bob.id, 2);
        assert!(!bob.is_admin, "guarded field assigned from a map on {:?}", t.dialect);
        // A model instance: trusted, so the guarded field is written; key 0 means "generate".
        let root = User {
            id: 0,
            name: "Root".into(),
            age: 50,
            email: "root@example.com".into(),
            nickname: Some("r".into()),
            status: "locked".into(),
            is_admin: true,
        };
        let root = User::create(root).on(&t.db).await.unwrap();
        assert_eq!(root.id, 3);
        assert!(root.is_admin);
        // The primary key may be given on create.
        let given = User::create(json!({"id": 42, "name": "Given", "age": 1, "email": "g@example.com"})).on(&t.db).await.unwrap();
        assert_eq!(given.id, 42);
        assert_eq!(User::get(42).on(&t.db).await.unwrap(), Some(given));
        assert_eq!(User::get(7).on(&t.db).await.unwrap(), None);
    }
}

#[tokio::test]
async fn save_inserts_then_updates_and_update_is_partial() {
    for t in backends("crud_save").await {
        setup!(t.db, User);
        let mut user = User {
            id: 0,
            name: "Cy".into(),
            age: 20,
            email: "cy@example.com".into(),
            nickname: None,
            status: "active".into(),
            is_admin: false,
        };
        user.save().on(&t.db).await.unwrap();
        assert_eq!(user.id, 1, "save() inserts an instance whose generated key is 0");
        user.age = 21;
        user.nickname = Some("c".into());
        user.save().on(&t.db).await.unwrap();
        assert_eq!(User::query().count().on(&t.db).await.unwrap(), 1, "second save() updates");
        assert_eq!(User::get(1).on(&t.db).await.unwrap().unwrap().age, 21);

        // None fields are skipped; the key and guarded fields are never assigned.
        let patch = UserUpdate { age: Some(22), is_admin: Some(true), id: Some(99), ..Default::default() };
        user.update(patch).on(&t.db).await.unwrap();
        assert_eq!(user.age, 22, "the instance is updated too");
        let stored = User::get(1).on(&t.db).await.unwrap().unwrap();
        assert_eq!((stored.id, stored.age, stored.name.as_str(), stored.is_admin), (1, 22, "Cy", false));
        assert_eq!(stored.nickname.as_deref(), Some("c"), "a None field leaves the column alone");

        // Updating a row that no longer exists is NotFound, not silent success.
        let mut ghost = stored.clone();
        ghost.delete().on(&t.db).await.unwrap();
        assert!(User::get(1).on(&t.db).await.unwrap().is_none());
        let err = ghost.update(json!({"age": 1})).on(&t.db).await.unwrap_err();
        assert!(matches!(err, Error::NotFound { model: "User" }), "{err:?}");
        // save() of an instance whose row is gone inserts it again with its key.
        ghost.save().on(&t.db).await.unwrap();
        assert_eq!(User::get(1).on(&t.db).await.unwrap(), Some(ghost));
    }
}

#[tokio::test]
async fn composite_natural_keys() {
    for t in backends("crud_composite").await {
        setup!(t.db, Membership);
        let mut m = Membership { org: "acme".into(), user_id: 7, role: "member".into() };
        m.save().on(&t.db).await.unwrap();
        m.role = "owner".into();
        m.save().on(&t.db).await.unwrap();
        Membership::create(json!({"org": "acme", "user_id": 8, "role": "member"})).on(&t.db).await.unwrap();
        let found = Membership::get(("acme".to_string(), 7)).on(&t.db).await.unwrap().unwrap();
        assert_eq!(found.role, "owner", "{:?}", t.dialect);
        assert_eq!(Membership::query().count().on(&t.db).await.unwrap(), 2);
        found.delete().on(&t.db).await.unwrap();
        assert_eq!(Membership::get(("acme".to_string(), 7)).on(&t.db).await.unwrap(), None);
        assert_eq!(Membership::query().count().on(&t.db).await.unwrap(), 1);
    }
}

#[tokio::test]
async fn schema_conversions_and_maps() {
    let user = User::from_schema(json!({"name": "Dee", "age": 30, "email": "dee@example.com", "status": "x", "is_admin": false})).unwrap();
    assert_eq!((user.id, user.nickname.clone()), (0, None), "missing generated key is 0, missing optional is None");
    let read: UserRead = user.to_schema().unwrap();
    assert_eq!(read, UserRead { id: 0, name: "Dee".into(), email: "dee@example.com".into() });
    let err = User::from_schema(json!({"name": "NoAge"})).unwrap_err();
    assert!(matches!(&err, Error::Validation { field, .. } if field == "age"), "{err:?}");

    // A schema or map cannot set guarded fields or a generated key (mass assignment), and a
    // missing field with a literal default gets it.
    let untrusted = User::from_schema(json!({"id": 1, "is_admin": true, "name": "Mal", "age": 3, "email": "m@example.com"})).unwrap();
    assert_eq!((untrusted.id, untrusted.is_admin, untrusted.status.as_str()), (0, false, "active"));

    let mut edited = user.clone();
    edited.apply_schema(UserUpdate { name: Some("Dee2".into()), is_admin: Some(true), ..Default::default() }).unwrap();
    assert_eq!((edited.name.as_str(), edited.is_admin), ("Dee2", false));

    assert_eq!(User::field_names(), ["id", "name", "age", "email", "nickname", "status", "is_admin"]);
    let columns = user.to_column_map();
    assert_eq!(columns["email"], json!("dee@example.com"));
    assert_eq!(columns["nickname"], json!(null));
}

#[tokio::test]
async fn delete_and_foreign_key_cascade() {
    for t in backends("crud_cascade").await {
        setup!(t.db, User, Post);
        let author = User::create(user_create("Eve", 40, "eve@example.com")).on(&t.db).await.unwrap();
        for title in ["a", "b"] {
            Post::create(json!({"title": title, "author_id": author.id})).on(&t.db).await.unwrap();
        }
        assert_eq!(Post::filter(|p| p.author_id.eq(author.id)).count().on(&t.db).await.unwrap(), 2);
        author.delete().on(&t.db).await.unwrap();
        assert_eq!(Post::query().count().on(&t.db).await.unwrap(), 0, "ON DELETE CASCADE on {:?}", t.dialect);
        // Dropping in foreign-key order succeeds.
        t.db.drop_all().await.unwrap();
    }
}

#[derive(Model, Debug)]
#[duo(table = "tags", unique(name, kind), index(kind))]
pub struct Tag {
    #[duo(primary_key)]
    pub id: i64,
    pub name: String,
    pub kind: String,
}

#[tokio::test]
async fn model_level_indexes_on_text_columns_create_everywhere() {
    for t in backends("crud_tag_indexes").await {
        setup!(t.db, Tag);
        Tag::create(json!({"name": "rust", "kind": "lang"})).on(&t.db).await.unwrap();
        let err = Tag::create(json!({"name": "rust", "kind": "lang"})).on(&t.db).await.unwrap_err();
        assert!(matches!(err, Error::Integrity { kind: duo_orm::IntegrityKind::Unique, .. }), "{:?}: {err:?}", t.dialect);
        Tag::create(json!({"name": "rust", "kind": "game"})).on(&t.db).await.unwrap();
    }
    let mysql = Tag::create_table_sql(duo_orm::Dialect::MySql).unwrap().join("\n");
    assert!(mysql.contains("`name` varchar(255)") && mysql.contains("`kind` varchar(255)"), "{mysql}");
}
