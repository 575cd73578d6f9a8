use duo_orm::prelude::*;
#[derive(Model)]
#[duo(table = "a", table = "b")]
struct User {
    #[duo(primary_key)]
    id: i64,
}
fn main() {}
