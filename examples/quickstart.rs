//! The duo-orm quickstart: define two models, create their tables in an embedded SQLite
//! database, write and read rows (a user with her posts in one save), print what happened.
//!
//! Run it with `cargo run -p duo-orm-examples --example quickstart`. Set `DATABASE_URL` to
//! run it elsewhere (a `postgres://` or `mysql://` URL needs duo-orm's matching feature).

use duo_orm::prelude::*;
use validator::Validate;

/// One database for the whole program: lazy, shared by every model bound to it.
static DB: Database = Database::from_env("DATABASE_URL", "sqlite::memory:");

#[derive(Model, Debug, Clone)]
#[duo(table = "users", db = DB)]
struct User {
    #[duo(primary_key)]
    id: i64,
    name: String,
    age: i32,
    #[duo(unique, max_length = 200)]
    email: String,
    /// Not a column: filled by eager loading (`User::related(|u| u.posts)`).
    #[duo(has_many(Post, foreign_key = author_id))]
    posts: Related<Vec<Post>>,
}

#[derive(Model, Debug, Clone)]
#[duo(table = "posts", db = DB)]
struct Post {
    #[duo(primary_key)]
    id: i64,
    title: String,
    #[duo(references = User, on_delete = cascade, index)]
    author_id: i64,
    #[duo(belongs_to(User, foreign_key = author_id))]
    author: Related<User>,
}

/// What a client may send to create a user: validated before anything is written.
#[derive(Serialize, Deserialize, Validate, Payload)]
struct UserCreate {
    #[validate(length(min = 1))]
    name: String,
    #[validate(range(min = 0, max = 150))]
    age: i32,
    #[validate(email)]
    email: String,
}

#[tokio::main]
async fn main() -> duo_orm::Result<()> {
    DB.create_all().await?;
    println!("created tables {:?} on {}", DB.models().iter().map(|m| m.table).collect::<Vec<_>>(), DB.dialect()?);

    let ada = User::create(UserCreate { name: "Ada".into(), age: 36, email: "ada@example.com".into() }).await?;
    let bob = User::create(json!({"name": "Bob", "age": 17, "email": "bob@example.com"})).await?;
    ada.posts().create(json!({"title": "Notes on the Analytical Engine"})).await?;
    println!("inserted {} (id {}) and {} (id {})", ada.name, ada.id, bob.name, bob.id);

    match User::create(UserCreate { name: "".into(), age: 200, email: "nope".into() }).await {
        Err(error) => println!("refused an invalid user: {error}"),
        Ok(user) => println!("unexpectedly created {user:?}"),
    }

    let adults = User::filter(|u| u.age.ge(18) & u.email.iendswith("@example.com")).order_by(|u| u.name.asc()).all().await?;
    println!("adults: {:?}", adults.iter().map(|u| &u.name).collect::<Vec<_>>());

    let mut bob = User::filter(|u| u.name.eq("Bob")).one().await?;
    bob.update(json!({"age": 18})).await?;
    println!("Bob is now {}; users aged 18+: {}", bob.age, User::filter(|u| u.age.ge(18)).count().await?);

    let posts = ada.posts().all().await?;
    println!("Ada's posts: {:?}", posts.iter().map(|p| &p.title).collect::<Vec<_>>());

    let authors = User::filter(|u| u.posts.exists()).to_sql(Dialect::Postgres)?;
    println!("the SQL behind \"users with a post\" on PostgreSQL:\n  {}", authors.sql);

    // One unit of work: both posts or neither.
    let written = DB
        .transaction(async {
            Post::create(json!({"title": "Sketch of the Engine", "author_id": ada.id})).await?;
            let drafts = (1..=3).map(|i| json!({"title": format!("Draft {i}"), "author_id": bob.id}));
            Post::create_bulk(drafts).await
        })
        .await?;
    println!("a transaction wrote 1 post and {written} drafts in one multi-row INSERT");

    // An object graph: one save() writes the user, then both posts (one multi-row INSERT) with
    // author_id filled, in a transaction of its own; keys come back into every node.
    let post = |title: &str| Post { id: 0, title: title.into(), author_id: 0, author: Related::not_loaded() };
    let mut cy = User {
        id: 0,
        name: "Cy".into(),
        age: 30,
        email: "cy@example.com".into(),
        posts: Related::loaded(vec![post("Saving graphs"), post("One transaction")]),
    };
    cy.save().await?;
    let saved: Vec<(i64, i64)> = cy.posts.get()?.iter().map(|p| (p.id, p.author_id)).collect();
    println!("saved {} (id {}) with her posts in one save: (post id, author_id) {saved:?}", cy.name, cy.id);

    let mut titles = Vec::new();
    let mut stream = Post::query().iterate().batch_size(2).stream();
    while let Some(post) = stream.try_next().await? {
        titles.push(post.title);
    }
    println!("streamed every post, two at a time: {titles:?}");

    // Eager loading: the users, then all their posts in one more statement (not one per user).
    let users = User::related(|u| u.posts).order_by(|u| u.name.asc()).all().await?;
    for user in &users {
        println!("{} wrote {} post(s)", user.name, user.posts.get()?.len());
    }
    let prolific = User::filter(|u| u.posts.count().ge(2)).all().await?;
    println!("users with 2+ posts: {:?}", prolific.iter().map(|u| &u.name).collect::<Vec<_>>());
    let with_authors = Post::related(|p| p.author).filter(|p| p.title.startswith("Draft")).all().await?;
    println!("drafts by: {:?}", with_authors.iter().map(|p| p.author.get().map(|a| a.name.clone())).collect::<Result<Vec<_>>>()?);

    ada.delete().await?;
    println!("deleted Ada; posts left (ON DELETE CASCADE): {}", Post::query().count().await?);
    Ok(())
}
