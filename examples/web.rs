//! The web example: `cargo run -p duo-orm-examples --example web`, then
//!
//! ```text
//! curl -s -XPOST localhost:3000/authors -H 'content-type: application/json' -d '{"name":"Ada"}'
//! curl -s -XPOST localhost:3000/authors/1/posts -H 'content-type: application/json' -d '{"title":"Notes"}'
//! curl -s localhost:3000/authors/1
//! ```
//!
//! `DATABASE_URL` (or `.env`) chooses the database; the default is `sqlite://./web.db`. The
//! application itself is `duo_orm_examples::web`.

use duo_orm::Database;
use duo_orm_examples::web::{Author, Post, app};

static DB: Database = Database::from_env("DATABASE_URL", "sqlite://./web.db");

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    DB.register::<Author>().register::<Post>();
    // A real service applies migrations (`duo-orm migrate up`); the example creates its tables.
    DB.create_all().await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
    println!("listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app(&DB)).await?;
    Ok(())
}
