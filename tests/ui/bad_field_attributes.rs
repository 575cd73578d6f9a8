use duo_orm::prelude::*;
#[derive(Model)]
struct Post {
    #[duo(primary_key, auto_increment)]
    id: String,
    #[duo(max_length = 10)]
    views: i32,
    #[duo(on_delete = cascade)]
    author_id: i64,
    #[duo(references = Post, on_delete = set_null)]
    parent_id: i64,
    #[duo(default = "yes")]
    published: bool,
    #[duo(on_update = explode, references = Post)]
    other_id: Option<i64>,
}
fn main() {}
