use duo_orm::prelude::*;

#[derive(Model, Debug)]
#[duo(table = "people")]
struct Person {
    #[duo(primary_key)]
    id: i64,
    name: String,
    active: bool,
}

#[derive(Model, Debug)]
#[duo(table = "pets")]
struct Pet {
    #[duo(primary_key)]
    id: i64,
}

fn main() {
    // The sum of text, the average of a flag: no such thing.
    let _ = Person::query().select(|p| p.name.sum());
    let _ = Person::query().select(|p| p.active.avg());
    // Text does not add up; a number is not text.
    let _ = Person::query().select(|p| p.name.times(2));
    let _ = Person::query().select(|p| p.id.plus("one"));
    // A column of another model.
    let _ = Person::query().select(|_| Pet::columns().id);
    // Rows read as the picks' types.
    let _: duo_orm::Projected<Person, (String, i32)> = Person::query().select(|p| (p.name, p.id.count()));
}
