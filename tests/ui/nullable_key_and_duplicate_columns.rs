use duo_orm::prelude::*;
#[derive(Model)]
struct Row {
    #[duo(primary_key)]
    id: Option<i64>,
    name: String,
    #[duo(column = "name")]
    title: String,
}
fn main() {}
