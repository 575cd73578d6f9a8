//! Models shared by the live tests. They are not bound to a database: tests register them on
//! a per-test database and run operations with `.on(&db)`.

use duo_orm::prelude::*;
use validator::Validate;

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "users")]
pub struct User {
    #[duo(primary_key)]
    pub id: i64,
    pub name: String,
    pub age: i32,
    #[duo(unique, max_length = 120)]
    pub email: String,
    pub nickname: Option<String>,
    #[duo(default = "active", max_length = 20)]
    pub status: String,
    #[duo(guarded, default = false)]
    pub is_admin: bool,
}

#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "posts")]
pub struct Post {
    #[duo(primary_key)]
    pub id: i64,
    pub title: String,
    #[duo(references = User, on_delete = cascade, index)]
    pub author_id: i64,
}

#[derive(Serialize, Deserialize, Validate, Payload, Debug)]
pub struct UserCreate {
    #[validate(length(min = 1, message = "a name is required"))]
    pub name: String,
    #[validate(range(min = 0, max = 150))]
    pub age: i32,
    #[validate(email)]
    pub email: String,
    /// Not a column: ignored.
    pub password: String,
}

#[derive(Serialize, Deserialize, Payload, Default, Debug)]
pub struct UserUpdate {
    pub name: Option<String>,
    pub age: Option<i32>,
    pub nickname: Option<String>,
    pub is_admin: Option<bool>,
    pub id: Option<i64>,
}

#[derive(Deserialize, Debug, PartialEq)]
pub struct UserRead {
    pub id: i64,
    pub name: String,
    pub email: String,
}

/// A composite, natural (non-generated) primary key.
#[derive(Model, Debug, Clone, PartialEq)]
#[duo(table = "memberships")]
pub struct Membership {
    #[duo(primary_key)]
    pub org: String,
    #[duo(primary_key)]
    pub user_id: i64,
    pub role: String,
}

pub fn user_create(name: &str, age: i32, email: &str) -> UserCreate {
    UserCreate { name: name.into(), age, email: email.into(), password: "hunter2".into() }
}
