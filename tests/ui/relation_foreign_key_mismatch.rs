use duo_orm::prelude::*;

#[derive(Model, Clone)]
struct User {
    #[duo(primary_key)]
    id: i64,
    // The foreign key does not exist on Post.
    #[duo(has_many(Post, foreign_key = writer_id))]
    posts: Related<Vec<Post>>,
}

#[derive(Model, Clone)]
struct Post {
    #[duo(primary_key)]
    id: i64,
    // A String cannot hold User's i64 key.
    author_id: String,
    #[duo(belongs_to(User, foreign_key = author_id))]
    author: Related<User>,
}

fn main() {}
