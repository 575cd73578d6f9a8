use duo_orm::prelude::*;

#[derive(Model)]
#[duo(table = "things")]
struct Thing {
    #[duo(primary_key)]
    id: i64,
    name: String,
    tags: Vec<String>,
}

fn main() {
    // Array operators exist only on array columns.
    let _ = Thing::filter(|t| t.name.includes("a"));
    // The element type decides what the list holds.
    let _ = Thing::filter(|t| t.tags.includes_all([1, 2]));
}
