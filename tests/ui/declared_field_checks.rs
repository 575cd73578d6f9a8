use duo_orm::prelude::*;

#[derive(FieldType)]
struct Cents(i64);

#[derive(FieldType)]
#[duo(rename_all = "snake_case")]
enum Plan {
    Free,
}

#[derive(FieldType, Clone, Default)]
struct Code(String);

#[derive(Model)]
struct Voucher {
    #[duo(primary_key, auto_increment)]
    code: Code,
}

#[derive(Model)]
struct Account {
    #[duo(primary_key)]
    id: i64,
    #[duo(max_length = 10)]
    balance: Cents,
    #[duo(default = 1)]
    plan: Plan,
}

fn main() {}
