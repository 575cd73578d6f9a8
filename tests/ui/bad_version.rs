use duo_orm::prelude::*;

#[derive(Model)]
#[duo(table = "texts")]
struct TextVersion {
    #[duo(primary_key)]
    id: i64,
    #[duo(version)]
    version: String,
}

#[derive(Model)]
#[duo(table = "optional")]
struct OptionalVersion {
    #[duo(primary_key)]
    id: i64,
    #[duo(version)]
    version: Option<i64>,
}

#[derive(Model)]
#[duo(table = "two")]
struct TwoVersions {
    #[duo(primary_key)]
    id: i64,
    #[duo(version)]
    version: i64,
    #[duo(version)]
    revision: i64,
}

#[derive(Model)]
#[duo(table = "keyed")]
struct KeyVersion {
    #[duo(primary_key, version)]
    id: i64,
    #[duo(version, default = 1)]
    revision: i32,
}

fn main() {}
