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
    #[duo(has_many(Comment, foreign_key = post_id))]
    comments: Related<Vec<Comment>>,
}

#[derive(Model, Clone)]
struct Comment {
    #[duo(primary_key)]
    id: i64,
    post_id: i64,
}

fn main() {
    // `all` needs the condition every related row must meet.
    let _ = User::filter(|u| u.posts.all());
    // The condition is on Post's columns, typed.
    let _ = User::filter(|u| u.posts.any(|p| p.title.eq(3)));
    // `attach` exists only on many-to-many relationships.
    let user = User { id: 1, posts: Related::not_loaded() };
    let post = Post { id: 1, author_id: 1, title: String::new(), comments: Related::not_loaded() };
    let _ = user.posts().attach(&post);
    // A path starts at the query's model: Post's comments cannot be loaded on a User query.
    let _ = User::related_path(duo_orm::path!(Post::comments));
}
