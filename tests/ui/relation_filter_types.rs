use duo_orm::prelude::*;

#[derive(Model, Clone)]
struct User {
    #[duo(primary_key)]
    id: i64,
    #[duo(has_many(Post, foreign_key = author_id))]
    posts: Related<Vec<Post>>,
}

#[derive(Model, Clone)]
struct Post {
    #[duo(primary_key)]
    id: i64,
    author_id: i64,
    title: String,
}

fn main() {
    // `all` needs the condition every related row must meet.
    let _ = User::filter(|u| u.posts.all());
    // The condition is on Post's columns, typed.
    let _ = User::filter(|u| u.posts.any(|p| p.title.eq(3)));
    // `attach` exists only on many-to-many relationships.
    let user = User { id: 1, posts: Related::not_loaded() };
    let post = Post { id: 1, author_id: 1, title: String::new() };
    let _ = user.posts().attach(&post);
}
