use duo_orm::prelude::*;

#[derive(Model)]
#[duo(table = "stamped")]
struct Stamped {
    #[duo(primary_key)]
    id: i64,
    // A timestamp needs a timestamp field.
    #[duo(auto_now)]
    touched: String,
    // An unknown event.
    #[duo(set_on(create, delete))]
    created_at: chrono::DateTime<chrono::Utc>,
    // No event at all.
    #[duo(set_on())]
    seen_at: chrono::DateTime<chrono::Utc>,
    // Stamped only on update, but required on insert.
    #[duo(set_on(update))]
    edited_at: chrono::DateTime<chrono::Utc>,
}

fn main() {}
