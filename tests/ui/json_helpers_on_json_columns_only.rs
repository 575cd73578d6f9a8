use duo_orm::prelude::*;

#[derive(Model)]
#[duo(table = "things")]
struct Thing {
    #[duo(primary_key)]
    id: i64,
    name: String,
    data: serde_json::Value,
}

fn main() {
    // JSON helpers exist only on JSON columns.
    let _ = Thing::filter(|t| t.name.at("a").is_null());
    // Path keys are strings or integers.
    let _ = Thing::filter(|t| t.data.at(1.5).is_null());
    // The extracted type decides what it compares with.
    let _ = Thing::filter(|t| t.data.at("n").as_integer().eq("two"));
}
