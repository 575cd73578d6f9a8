use duo_orm::prelude::*;

#[derive(FromRow)]
enum NotAStruct {
    A,
}

#[derive(FromRow)]
struct NoColumns;

#[derive(FromRow)]
struct NoFields {}

#[derive(FromRow)]
struct Attributed {
    #[duo(column = "x")]
    x: i64,
}

#[derive(FromRow)]
struct NotARowType {
    id: i64,
    elapsed: std::time::Duration,
}

fn main() {}
