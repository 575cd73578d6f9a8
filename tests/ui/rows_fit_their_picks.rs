use duo_orm::prelude::*;

#[derive(Model, Debug, Clone)]
#[duo(table = "sales")]
struct Sale {
    #[duo(primary_key)]
    id: i64,
    region: String,
    units: i32,
}

#[derive(FromRow, Debug)]
struct Totals {
    region: String,
    sales: i64,
}

#[derive(FromRow, Debug)]
struct Regions {
    region: String,
}

fn main() {
    // Fits: the picks read as `(String, i64)`, and so does `Totals`; one pick, one field.
    let _ = Sale::query().select(|s| (s.region, s.id.count())).group_by(|s| s.region).into_rows::<Totals>();
    let _ = Sale::query().select(|s| s.region).into_rows::<Regions>();
    // Picks in another order, of another type, or one too many do not.
    let _ = Sale::query().select(|s| (s.id.count(), s.region)).group_by(|s| s.region).into_rows::<Totals>();
    let _ = Sale::query().select(|s| (s.region, s.units)).into_rows::<Totals>();
    let _ = Sale::query().select(|s| (s.region, s.id, s.units)).into_rows::<Totals>();
}
