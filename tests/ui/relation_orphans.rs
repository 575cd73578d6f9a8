use duo_orm::prelude::*;

#[derive(Model, Clone)]
struct User {
    #[duo(primary_key)]
    id: i64,
    // Not a policy.
    #[duo(has_many(Post, foreign_key = author_id, orphans = nullify))]
    posts: Related<Vec<Post>>,
    #[duo(many_to_many(Post, through = "likes", orphans = delete))]
    liked: Related<Vec<Post>>,
}

#[derive(Model, Clone)]
struct Post {
    #[duo(primary_key)]
    id: i64,
    author_id: i64,
    // A parent is never deleted by a child's save.
    #[duo(belongs_to(User, foreign_key = author_id, orphans = delete))]
    author: Related<User>,
}

fn main() {}
