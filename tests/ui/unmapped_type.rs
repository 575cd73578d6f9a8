use duo_orm::prelude::*;
struct Money(i64);
#[derive(Model)]
struct Account {
    #[duo(primary_key)]
    id: i64,
    balance: Money,
    tags: Vec<String>,
}
fn main() {}
