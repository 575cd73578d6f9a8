//! The web example over real HTTP, on SQLite, PostgreSQL and MariaDB: a server on a free
//! port, requests written on a TCP socket. A failed request leaves no rows; concurrent
//! requests do not see each other's uncommitted rows.

use duo_orm_test_support as support;

use std::time::Duration;

use axum::routing::post;
use duo_orm::Database;
use duo_orm::prelude::*;
use duo_orm_examples::web::{self, Author, Db, Post};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A running server and its address.
struct Server {
    address: std::net::SocketAddr,
    db: Db,
}

/// Test-only routes, behind the same transaction layer: one that writes and then panics, one
/// that writes and then waits before answering.
fn routes() -> axum::Router<Db> {
    web::routes()
        .route(
            "/crash",
            post(|axum::extract::State(db): axum::extract::State<Db>| async move {
                Author::create(json!({"name": "written before the panic"})).on(db).await.unwrap();
                panic!("a handler bug");
                #[allow(unreachable_code)]
                ()
            }),
        )
        .route(
            "/then-redirect",
            post(|axum::extract::State(db): axum::extract::State<Db>| async move {
                Author::create(json!({"name": "kept across a redirect"})).on(db).await.unwrap();
                (axum::http::StatusCode::SEE_OTHER, [(axum::http::header::LOCATION, "/authors")])
            }),
        )
        .route(
            "/slow",
            post(|axum::extract::State(db): axum::extract::State<Db>| async move {
                Author::create(json!({"name": "slow"})).on(db).await.unwrap();
                tokio::time::sleep(Duration::from_millis(600)).await;
                axum::http::StatusCode::CREATED
            }),
        )
}

async fn serve(t: &support::TestDb) -> Server {
    let db: Db = Box::leak(Box::new(Database::new(t.url.clone())));
    db.register::<Author>().register::<Post>();
    db.create_all().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, web::with_transactions(routes(), db)).await.unwrap() });
    Server { address, db }
}

impl Server {
    /// Sends one HTTP/1.1 request and returns the status and the JSON body (`null` if none).
    async fn request(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut stream = tokio::net::TcpStream::connect(self.address).await.unwrap();
        let body = body.map(|b| b.to_string()).unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        let status: u16 = response.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
        let text = response.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        (status, serde_json::from_str(text).unwrap_or(Value::Null))
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_maps_results_to_statuses_and_loads_and_pages() {
    for t in support::backends("web_api").await {
        let server = serve(&t).await;
        let dialect = t.dialect;
        let (status, ada) = server.request("POST", "/authors", Some(json!({"name": "Ada"}))).await;
        assert_eq!(status, 201, "{dialect:?}: {ada}");
        let id = ada["id"].as_i64().unwrap();
        assert!(ada.get("posts").is_none(), "not loaded, not serialized");
        // Duplicate name: the unique constraint becomes 409; a bad payload 422.
        assert_eq!(server.request("POST", "/authors", Some(json!({"name": "Ada"}))).await.0, 409, "{dialect:?}");
        assert_eq!(server.request("POST", "/authors", Some(json!({"name": ""}))).await.0, 422);
        for title in ["one", "two"] {
            assert_eq!(server.request("POST", &format!("/authors/{id}/posts"), Some(json!({ "title": title }))).await.0, 201);
        }
        assert_eq!(server.request("POST", "/authors/999999/posts", Some(json!({"title": "x"}))).await.0, 404);
        // Eager-loaded response.
        let (status, loaded) = server.request("GET", &format!("/authors/{id}"), None).await;
        assert_eq!(status, 200);
        assert_eq!(loaded["posts"].as_array().unwrap().len(), 2, "{loaded}");
        assert_eq!(server.request("GET", "/authors/999999", None).await.0, 404);
        // Paging.
        for name in ["Bob", "Cy", "Dee"] {
            server.request("POST", "/authors", Some(json!({ "name": name }))).await;
        }
        let (_, page) = server.request("GET", "/authors?page=2&size=3", None).await;
        assert_eq!(page.as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect::<Vec<_>>(), ["Dee"], "{dialect:?}");
        assert_eq!(server.request("GET", "/authors?page=0&size=3", None).await.0, 400);
        // Cursor pages: posts by title, two at a time, forward then back.
        for title in ["three", "four", "five"] {
            server.request("POST", &format!("/authors/{id}/posts"), Some(json!({ "title": title }))).await;
        }
        let titles =
            |page: &Value| page["rows"].as_array().unwrap().iter().map(|p| p["title"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        let (status, first) = server.request("GET", "/posts?size=2", None).await;
        assert_eq!(status, 200, "{dialect:?}: {first}");
        assert_eq!(titles(&first), ["five", "four"], "{dialect:?}");
        assert!(first["previous"].is_null());
        let next = first["next"].as_str().unwrap();
        let (_, second) = server.request("GET", &format!("/posts?size=2&after={next}"), None).await;
        assert_eq!(titles(&second), ["one", "three"], "{dialect:?}");
        let (_, third) = server.request("GET", &format!("/posts?size=2&after={}", second["next"].as_str().unwrap()), None).await;
        assert_eq!(titles(&third), ["two"], "{dialect:?}");
        assert!(third["next"].is_null());
        let (_, back) = server.request("GET", &format!("/posts?size=2&before={}", third["previous"].as_str().unwrap()), None).await;
        assert_eq!(titles(&back), ["one", "three"], "{dialect:?}");
        // A cursor the API did not hand out is the client's error.
        assert_eq!(server.request("GET", "/posts?after=bm90LWEtY3Vyc29y", None).await.0, 400, "{dialect:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_request_leaves_no_rows() {
    for t in support::backends("web_rollback").await {
        let server = serve(&t).await;
        let dialect = t.dialect;
        let (_, author) = server.request("POST", "/authors", Some(json!({"name": "Ada"}))).await;
        let id = author["id"].as_i64().unwrap();
        let mut posts = Vec::new();
        for n in 0..=web::MAX_PUBLISHED {
            let (_, post) = server.request("POST", &format!("/authors/{id}/posts"), Some(json!({ "title": format!("p{n}") }))).await;
            posts.push(post["id"].as_i64().unwrap());
        }
        for post in &posts[..web::MAX_PUBLISHED as usize] {
            assert_eq!(server.request("POST", &format!("/posts/{post}/publish"), None).await.0, 200);
        }
        // One too many: the handler saved the post, then refused; the save is rolled back.
        let last = posts.last().unwrap();
        let (status, body) = server.request("POST", &format!("/posts/{last}/publish"), None).await;
        assert_eq!(status, 422, "{dialect:?}: {body}");
        assert!(!Post::get(*last).on(server.db).await.unwrap().unwrap().published, "{dialect:?}: rolled back");

        // A panic after a write: a 500, and the write is rolled back.
        let (status, _) = server.request("POST", "/crash", None).await;
        assert_eq!(status, 500, "{dialect:?}");
        assert_eq!(Author::filter(|a| a.name.eq("written before the panic")).count().on(server.db).await.unwrap(), 0);
        // The server still answers.
        assert_eq!(server.request("GET", &format!("/authors/{id}"), None).await.0, 200);

        // A redirect after a write (post/redirect/get) is not an error: committed.
        assert_eq!(server.request("POST", "/then-redirect", None).await.0, 303);
        assert_eq!(Author::filter(|a| a.name.eq("kept across a redirect")).count().on(server.db).await.unwrap(), 1, "{dialect:?}");
        // A body over the limit is refused before any transaction begins.
        let huge = json!({ "name": "x".repeat(web::MAX_BODY) });
        assert_eq!(server.request("POST", "/authors", Some(huge)).await.0, 413);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_do_not_see_each_others_uncommitted_rows() {
    for t in support::backends("web_isolation").await {
        let server = std::sync::Arc::new(serve(&t).await);
        let dialect = t.dialect;
        let writer = {
            let server = server.clone();
            tokio::spawn(async move { server.request("POST", "/slow", None).await })
        };
        // While /slow holds its uncommitted author, a read sees none.
        tokio::time::sleep(Duration::from_millis(200)).await;
        let (status, during) = server.request("GET", "/authors", None).await;
        assert_eq!(status, 200, "{dialect:?}");
        assert!(during.as_array().unwrap().is_empty(), "{dialect:?}: saw an uncommitted row: {during}");
        assert_eq!(writer.await.unwrap().0, 201);
        let (_, after) = server.request("GET", "/authors", None).await;
        assert_eq!(after.as_array().unwrap().len(), 1, "{dialect:?}: committed once answered");
    }
}
