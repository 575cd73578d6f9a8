use duo_orm::prelude::*;

#[derive(Model, Debug, Clone)]
#[duo(table = "pages")]
pub struct Page {
    #[duo(primary_key)]
    pub id: i64,
    pub views: i64,
    pub title: String,
}

fn main() {
    // A column is set to a value of its own type only.
    let _ = Page::filter(|p| p.id.eq(1)).set(|p| p.views.to(p.title));
    // Text has no arithmetic.
    let _ = Page::filter(|p| p.id.eq(1)).set(|p| p.title.to(p.title.plus(1)));
    // An aggregate is one value per group, not per row.
    let _ = Page::filter(|p| p.id.eq(1)).set(|p| p.views.to(p.views.sum()));
    // `now()` is the time, for timestamp columns only.
    let _ = Page::filter(|p| p.id.eq(1)).set(|p| p.views.to(duo_orm::now()));
}
