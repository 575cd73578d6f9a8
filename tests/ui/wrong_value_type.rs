use duo_orm::prelude::*;
#[derive(Model)]
struct User {
    #[duo(primary_key)]
    id: i64,
    age: i32,
}
fn main() {
    let _ = User::filter(|u| u.age.eq("eighteen"));
}
