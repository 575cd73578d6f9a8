//! Models with field types of their own. The CLI test compiles this file (for `create_all`)
//! and also writes it into a project's models directory (for `migrate create`), so that both
//! read the same definitions.

use duo_orm::prelude::*;

#[derive(FieldType, Debug, Clone, Copy, PartialEq)]
#[duo(rename_all = "snake_case")]
pub enum Plan {
    Free,
    ProMonthly,
}

#[derive(FieldType, Debug, Clone, Copy, PartialEq)]
#[duo(repr = "i16")]
pub enum Priority {
    Low = 1,
    Urgent = 10,
}

#[derive(FieldType, Debug, Clone, PartialEq)]
pub struct Email(pub String);

#[derive(FieldType, Debug, Clone, Copy, PartialEq)]
pub struct Cents(pub i64);

/// A newtype of a newtype.
#[derive(FieldType, Debug, Clone, Copy, PartialEq)]
pub struct Price(pub Cents);

#[derive(Model, Debug, Clone)]
#[duo(table = "cli_subscriptions")]
pub struct Subscription {
    #[duo(primary_key)]
    pub id: i64,
    pub plan: Plan,
    pub previous: Option<Plan>,
    #[duo(index)]
    pub priority: Priority,
    #[duo(unique, max_length = 120)]
    pub email: Email,
    pub price: Price,
}
