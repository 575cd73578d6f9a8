use duo_orm::prelude::*;

#[derive(FieldType)]
enum WithData {
    Plain,
    Carries(i32),
}

#[derive(FieldType)]
#[duo(repr = "i32", rename_all = "snake_case")]
enum Mixed {
    #[duo(rename = "a")]
    A,
}

#[derive(FieldType)]
#[duo(repr = "u8")]
enum BadRepr {
    A,
}

#[derive(FieldType)]
enum Clash {
    #[duo(rename = "same")]
    First,
    #[duo(rename = "same")]
    Second,
}

#[derive(FieldType)]
enum Empty {}

#[derive(FieldType)]
struct TwoFields(String, String);

#[derive(FieldType)]
struct Generic<T>(T);

#[derive(FieldType)]
#[duo(repr = "i16")]
enum TooBig {
    Small = 1,
    Huge = 100_000,
}

#[derive(FieldType)]
#[duo(repr = "i32")]
enum Implicit {
    First = 1,
    Second,
}

#[derive(FieldType)]
#[duo(rename_all = "Title Case")]
enum BadRule {
    A,
}

#[derive(FieldType)]
#[duo(table = "x")]
enum UnknownAttribute {
    A,
}

#[derive(FieldType)]
struct Maybe(Option<String>);

#[derive(FieldType)]
#[duo(postgres_enum = "my plan")]
enum SpacedTypeName {
    A,
}

#[derive(FieldType)]
#[duo(postgres_enum = "level", repr = "i16")]
enum NativeAndDiscriminants {
    Low = 1,
}

#[derive(FieldType)]
#[duo(postgres_enum = "long_labels")]
enum LongLabel {
    #[duo(rename = "a label longer than sixty-three bytes, which PostgreSQL would cut short")]
    Long,
}

#[derive(FieldType)]
#[duo(postgres_enum = "email")]
struct NativeNewtype(String);

fn main() {}
