use duo_orm::prelude::*;
#[derive(Model)]
struct User {
    id: i64,
    name: String,
}
fn main() {}
