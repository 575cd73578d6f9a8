use duo_orm::prelude::*;
#[derive(Model)]
#[duo(tabel = "users")]
struct User {
    #[duo(primary_key, nullable)]
    id: i64,
}
fn main() {}
