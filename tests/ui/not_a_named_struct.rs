use duo_orm::prelude::*;
#[derive(Model)]
struct Pair(i64, String);
#[derive(Model)]
enum Kind { A, B }
fn main() {}
