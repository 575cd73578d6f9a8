use duo_orm::prelude::*;

#[derive(Model, Debug, Clone)]
#[duo(table = "authors")]
struct Author {
    #[duo(primary_key)]
    id: i64,
    name: String,
    #[duo(has_many(Book, foreign_key = author_id))]
    books: Related<Vec<Book>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "books")]
struct Book {
    #[duo(primary_key)]
    id: i64,
    author_id: i64,
    #[duo(has_many(Review, foreign_key = book_id))]
    reviews: Related<Vec<Review>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "reviews")]
struct Review {
    #[duo(primary_key)]
    id: i64,
    book_id: i64,
    body: String,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "prizes")]
struct Prize {
    #[duo(primary_key)]
    id: i64,
    winner: String,
}

fn main() {
    // A condition on a model that is not joined.
    let _ = Author::query().left_join(|a| a.books).filter(|_| Review::columns().body.eq("x"));
    // Columns of different types cannot be joined.
    let _ = Author::query().inner_join_on(|a, p: &PrizeColumns| (a.id, p.winner));
    // At most three models.
    let _ = Author::query()
        .inner_join(|a| a.books)
        .inner_join(|(_, b)| b.reviews)
        .inner_join_on(|(a, _, _), p: &PrizeColumns| (a.name, p.winner));
    // The optional side of a left join reads as an `Option`.
    let _: Vec<(Author, Book)> = Author::query().left_join(|a| a.books).all().wait().unwrap();
    // A projection picks no column of a left join's optional side (it may be NULL); its
    // aggregates are fine.
    let _ = Author::query().left_join(|a| a.books).select(|(a, b)| (a.name, b.id));
    let _ = Author::query().left_join(|a| a.books).select(|(a, b)| (a.name, b.id.count()));
    // A projection groups by columns of joined models only.
    let _ = Author::query().inner_join(|a| a.books).select(|(a, _)| a.name).group_by(|_| Prize::columns().winner);
}
