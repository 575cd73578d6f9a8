//! A small blog API on axum and duo-orm: every request runs in one transaction (committed on
//! a 2xx response, rolled back on any other response and on a panic), payloads are validated
//! `Payload` structs, `duo_orm::Error` becomes an HTTP status, and responses are eager-loaded
//! and paged. Run it with `cargo run -p duo-orm-examples --example web`; the guide's "Web
//! applications" chapter walks through it.

use std::panic::AssertUnwindSafe;

use axum::extract::{Path, Query, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use duo_orm::prelude::*;
use duo_orm::{CursorPage, Database, IntegrityKind};
use futures_util::FutureExt;
use validator::Validate;

/// The database every handler uses, shared by the router's state.
pub type Db = &'static Database;

#[derive(Model, Debug, Clone, Serialize)]
#[duo(table = "web_authors")]
pub struct Author {
    #[duo(primary_key)]
    pub id: i64,
    #[duo(unique, max_length = 50)]
    pub name: String,
    #[duo(has_many(Post, foreign_key = author_id))]
    #[serde(skip_serializing_if = "Related::is_not_loaded")]
    pub posts: Related<Vec<Post>>,
}

#[derive(Model, Debug, Clone, Serialize)]
#[duo(table = "web_posts")]
pub struct Post {
    #[duo(primary_key)]
    pub id: i64,
    #[duo(max_length = 200)]
    pub title: String,
    #[duo(references = Author, on_delete = cascade, index)]
    pub author_id: i64,
    #[duo(default = false)]
    pub published: bool,
}

/// What a client sends to create an author.
#[derive(Debug, Deserialize, Serialize, Validate, Payload)]
pub struct AuthorCreate {
    #[validate(length(min = 1, max = 50))]
    pub name: String,
}

/// What a client sends to write a post.
#[derive(Debug, Deserialize, Serialize, Validate, Payload)]
pub struct PostCreate {
    #[validate(length(min = 1, max = 200))]
    pub title: String,
}

/// `?page=2&size=20` (1-based; at most 100 a page).
#[derive(Debug, Deserialize)]
pub struct Paging {
    pub page: Option<u64>,
    pub size: Option<u64>,
}

/// `?after=…` or `?before=…` (the `next` / `previous` of a page the API returned), and a size.
#[derive(Debug, Deserialize)]
pub struct Cursor {
    pub after: Option<String>,
    pub before: Option<String>,
    pub size: Option<u64>,
}

/// How many published posts an author may have (a rule checked after the write, so that a
/// refused request shows the rollback).
pub const MAX_PUBLISHED: u64 = 3;

/// A handler's error: a `duo_orm::Error` as an HTTP status, or a refusal of the API's own.
#[derive(Debug)]
pub enum ApiError {
    Db(duo_orm::Error),
    Refused(StatusCode, String),
}

impl From<duo_orm::Error> for ApiError {
    fn from(error: duo_orm::Error) -> Self {
        ApiError::Db(error)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, message) = match self {
            ApiError::Refused(status, message) => (status, message),
            ApiError::Db(error) => match &error {
                duo_orm::Error::NotFound { .. } => (StatusCode::NOT_FOUND, error.to_string()),
                duo_orm::Error::Validation { .. } => (StatusCode::UNPROCESSABLE_ENTITY, error.to_string()),
                duo_orm::Error::Integrity { kind: IntegrityKind::Unique, .. } => (StatusCode::CONFLICT, "that already exists".to_string()),
                duo_orm::Error::InvalidQuery { .. } => (StatusCode::BAD_REQUEST, error.to_string()),
                // The cause goes to the log, not to the client.
                _ => (StatusCode::INTERNAL_SERVER_ERROR, "internal error".to_string()),
            },
        };
        (status, Json(serde_json::json!({ "error": message }))).into_response()
    }
}

/// The routes, without the transaction layer (tests add their own routes before it).
pub fn routes() -> Router<Db> {
    Router::new()
        .route("/authors", post(create_author).get(list_authors))
        .route("/authors/{id}", get(get_author))
        .route("/authors/{id}/posts", post(create_post))
        .route("/posts", get(list_posts))
        .route("/posts/{id}/publish", post(publish_post))
}

/// The application: `routes()` with one transaction per request.
pub fn app(db: Db) -> Router {
    with_transactions(routes(), db)
}

/// Runs every request of `routes` in a transaction of `db`: committed unless the response is
/// an error (4xx, 5xx; a redirect after a write commits), rolled back on an error and on a
/// panic (which becomes a 500). GET and HEAD requests run read-only. The request body is read
/// first (up to `MAX_BODY`), so a slow upload holds no connection. ORM calls in handlers join
/// the transaction by themselves.
pub fn with_transactions(routes: Router<Db>, db: Db) -> Router {
    routes.layer(middleware::from_fn_with_state(db, transaction_per_request)).with_state(db)
}

/// A response that rolls its request's transaction back.
struct Rollback(Response);

impl From<duo_orm::Error> for Rollback {
    fn from(error: duo_orm::Error) -> Self {
        Rollback(ApiError::Db(error).into_response())
    }
}

/// The largest request body the API reads (before its transaction begins).
pub const MAX_BODY: usize = 1 << 20;

async fn transaction_per_request(State(db): State<Db>, request: Request, next: Next) -> Response {
    let read_only = matches!(*request.method(), Method::GET | Method::HEAD);
    // The body first: a client uploading slowly must not hold a pooled connection (nor, on
    // SQLite, the write lock) while it does.
    let (parts, body) = request.into_parts();
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY).await else {
        return (StatusCode::PAYLOAD_TOO_LARGE, Json(serde_json::json!({ "error": "request body too large" }))).into_response();
    };
    let request = Request::from_parts(parts, axum::body::Body::from(body));
    let handle = async move {
        let response = AssertUnwindSafe(next.run(request)).catch_unwind().await.unwrap_or_else(|_| {
            (StatusCode::INTERNAL_SERVER_ERROR, Json(serde_json::json!({ "error": "internal error" }))).into_response()
        });
        let status = response.status();
        if status.is_client_error() || status.is_server_error() { Err(Rollback(response)) } else { Ok(response) }
    };
    let outcome = if read_only { db.read_only_transaction_as(handle).await } else { db.transaction_as(handle).await };
    outcome.unwrap_or_else(|Rollback(response)| response)
}

async fn create_author(State(db): State<Db>, Json(payload): Json<AuthorCreate>) -> Result<(StatusCode, Json<Author>), ApiError> {
    let author = Author::create(payload).on(db).await?;
    Ok((StatusCode::CREATED, Json(author)))
}

async fn list_authors(State(db): State<Db>, Query(paging): Query<Paging>) -> Result<Json<Vec<Author>>, ApiError> {
    let page = Page { number: paging.page.unwrap_or(1), size: paging.size.unwrap_or(20).min(100) };
    let authors = Author::order_by(|a| a.id.asc()).paginate(page).all().on(db).await?;
    Ok(Json(authors))
}

/// Posts by title, a page at a time: `{"rows": [..], "next": "…", "previous": null}`. A cursor
/// that is not one this endpoint returned is a 400 (`InvalidQuery`).
async fn list_posts(State(db): State<Db>, Query(cursor): Query<Cursor>) -> Result<Json<CursorPage<Post>>, ApiError> {
    let size = cursor.size.unwrap_or(20).clamp(1, 100);
    let by_title = Post::order_by(|p| p.title.asc());
    let page = match (cursor.after, cursor.before) {
        (after, None) => by_title.page_after(after.as_deref(), size).on(db).await?,
        (None, before) => by_title.page_before(before.as_deref(), size).on(db).await?,
        (Some(_), Some(_)) => return Err(ApiError::Refused(StatusCode::BAD_REQUEST, "give `after` or `before`, not both".into())),
    };
    Ok(Json(page))
}

async fn get_author(State(db): State<Db>, Path(id): Path<i64>) -> Result<Json<Author>, ApiError> {
    let author = Author::related(|a| a.posts).filter(|a| a.id.eq(id)).first().on(db).await?;
    author.map(Json).ok_or(ApiError::Db(duo_orm::Error::NotFound { model: "Author" }))
}

async fn create_post(
    State(db): State<Db>,
    Path(id): Path<i64>,
    Json(payload): Json<PostCreate>,
) -> Result<(StatusCode, Json<Post>), ApiError> {
    let author = Author::get(id).on(db).await?.ok_or(duo_orm::Error::NotFound { model: "Author" })?;
    let post = author.posts().create(payload).on(db).await?;
    Ok((StatusCode::CREATED, Json(post)))
}

async fn publish_post(State(db): State<Db>, Path(id): Path<i64>) -> Result<Json<Post>, ApiError> {
    let mut post = Post::get(id).on(db).await?.ok_or(duo_orm::Error::NotFound { model: "Post" })?;
    post.published = true;
    post.save().on(db).await?;
    // Checked after the write: a refusal here rolls the save back.
    let published = Post::filter(|p| p.author_id.eq(post.author_id) & p.published.eq(true)).count().on(db).await?;
    if published > MAX_PUBLISHED {
        return Err(ApiError::Refused(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("an author may have at most {MAX_PUBLISHED} published posts"),
        ));
    }
    Ok(Json(post))
}
