use duo_orm::prelude::*;
#[derive(Model)]
#[duo(index(name, nmae), unique())]
struct User {
    #[duo(primary_key)]
    id: i64,
    name: String,
}
fn main() {}
