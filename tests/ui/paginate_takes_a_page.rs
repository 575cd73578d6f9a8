use duo_orm::prelude::*;
#[derive(Model)]
struct User {
    #[duo(primary_key)]
    id: i64,
}
fn main() {
    // Page number and size are both plain numbers: positional, they could be swapped unseen.
    let _ = User::query().paginate(2, 10);
}
