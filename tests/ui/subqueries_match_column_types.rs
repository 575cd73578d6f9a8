use duo_orm::prelude::*;

#[derive(Model, Debug)]
#[duo(table = "people")]
struct Person {
    #[duo(primary_key)]
    id: i64,
    name: String,
}

#[derive(Model, Debug)]
#[duo(table = "pets")]
struct Pet {
    #[duo(primary_key)]
    id: i64,
    owner_id: i64,
    name: String,
}

fn main() {
    // The subquery reads text; the column holds integers.
    let _ = Person::filter(|p| p.id.is_in(Pet::query().select(|x| x.name)));
    // Two picked columns are not one value.
    let _ = Person::filter(|p| p.id.eq(Pet::query().select(|x| (x.id, x.owner_id))));
    // A column of another type.
    let _ = Person::filter(|p| p.name.eq(p.id));
}
