//! Shared by the integration suites: the real server on a real port against a fresh
//! database of either engine, with typed request helpers.
#![allow(dead_code)] // Each suite uses a different part.

pub mod session;

/// The workspace's root (scripts, the browser tests' node scripts).
pub fn root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Installs Chromium and playwright-core when missing (the project's own script).
pub fn install_browser() {
    let status = std::process::Command::new("bash")
        .arg(root().join("scripts/install-browser-test-deps.sh"))
        .status()
        .expect("bash runs");
    assert!(
        status.success(),
        "scripts/install-browser-test-deps.sh failed"
    );
}

use leadgate_store::testing::TestDatabase;
use leadgate_store::{Engine, Store};
use reqwest::{Client, Response, StatusCode};
use serde_json::Value;

pub struct TestApp {
    pub base: String,
    pub key: String,
    pub client: Client,
    pub store: Store,
    db: Option<TestDatabase>,
    server: tokio::task::JoinHandle<()>,
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> Self {
        Self::spawn_with(engine, leadgate::jobs::DeliverySettings::default()).await
    }

    /// A server whose webhooks may reach this machine (the tests' receivers listen on it).
    pub async fn spawn_with(engine: Engine, delivery: leadgate::jobs::DeliverySettings) -> Self {
        Self::spawn_with_settings(engine, delivery.into()).await
    }

    /// A server with its settings (trusted proxies, webhooks).
    pub async fn spawn_with_settings(
        engine: Engine,
        settings: leadgate::server::ServerSettings,
    ) -> Self {
        let db = TestDatabase::new(engine).await;
        let store = db.store().await;
        let mut app = Self::spawn_on(store, settings).await;
        app.db = Some(db);
        app
    }

    /// A server on a store the test opened itself (a database of its own making).
    pub async fn spawn_on(store: Store, settings: leadgate::server::ServerSettings) -> Self {
        let key = store
            .create_api_key("tests", leadgate_core::access::Role::Admin, None)
            .await
            .unwrap()
            .secret;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let server_store = store.clone();
        let server = tokio::spawn(async move {
            leadgate::server::serve_with(server_store, listener, settings, std::future::pending())
                .await
                .unwrap();
        });
        TestApp {
            base,
            key,
            client: Client::new(),
            store,
            db: None,
            server,
        }
    }

    /// Another server over the same store, as behind a load balancer; its base URL. It
    /// stops when the test ends.
    pub async fn second_server(&self, settings: leadgate::server::ServerSettings) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let store = self.store.clone();
        tokio::spawn(async move {
            leadgate::server::serve_with(store, listener, settings, std::future::pending())
                .await
                .unwrap();
        });
        base
    }

    /// The SQLite database file, when the store is SQLite.
    pub fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        let url = &self.db.as_ref()?.url;
        url.strip_prefix("sqlite://").map(std::path::PathBuf::from)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(&self.key)
            .send()
            .await
            .unwrap()
    }

    /// GETs `path` until its JSON answer passes `ready` (background workers finish in
    /// their own time), for at most 10 s; returns the last answer either way.
    pub async fn get_json_until(&self, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
        let mut answer = Value::Null;
        for _ in 0..100 {
            answer = self.get(path).await.json().await.unwrap();
            if ready(&answer) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        answer
    }

    /// Applies a policy through the API and rescores its product here to the end, as a
    /// server's background loop would (the test server runs none); returns the applied
    /// version and the finished pass as `GET /api/v1/policies/{product}/rescore` tells it.
    pub async fn apply_policy(&self, document: &str, message: &str) -> Value {
        let response = self
            .post(
                "/api/v1/policies",
                &serde_json::json!({"document": document, "message": message}),
            )
            .await;
        assert_eq!(response.status(), StatusCode::CREATED);
        let applied: Value = response.json().await.unwrap();
        let product = applied["policy"]["product"].as_str().unwrap().to_owned();
        let run = self.store.latest_rescore(&product).await.unwrap().unwrap();
        leadgate_app::rescore::finish(&self.store, &run, chrono::Utc::now(), |_| {})
            .await
            .unwrap();
        let rescore: Value = self
            .get(&format!("/api/v1/policies/{product}/rescore"))
            .await
            .json()
            .await
            .unwrap();
        serde_json::json!({"policy": applied["policy"], "rescore": rescore})
    }

    /// Uploads a CSV file as a `text/csv` body (`POST /api/v1/imports{query}`).
    pub async fn post_csv(&self, query: &str, csv: &str) -> Response {
        self.client
            .post(self.url(&format!("/api/v1/imports{query}")))
            .bearer_auth(&self.key)
            .header("content-type", "text/csv")
            .body(csv.to_owned())
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Over-size bodies go on a connection of their own: the server answers 413 before
    /// reading the whole body and then closes that connection. When it closes while the
    /// client is still writing, the client sees a broken pipe instead of the answer; then
    /// it sends again (the server stored nothing either way).
    pub async fn post_oversize(&self, path: &str, body: &Value) -> Response {
        let bytes = serde_json::to_vec(body).unwrap();
        let mut last_error = None;
        for _ in 0..10 {
            let sent = Client::new()
                .post(self.url(path))
                .bearer_auth(&self.key)
                .header("content-type", "application/json")
                .body(bytes.clone())
                .send()
                .await;
            match sent {
                Ok(response) => return response,
                Err(e) if e.is_request() => last_error = Some(e),
                Err(e) => panic!("{e}"),
            }
        }
        panic!("the server never answered the over-size request: {last_error:?}")
    }

    pub async fn put(&self, path: &str, body: &Value) -> Response {
        self.client
            .put(self.url(path))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn patch(&self, path: &str, body: &Value) -> Response {
        self.client
            .patch(self.url(path))
            .bearer_auth(&self.key)
            .json(body)
            .send()
            .await
            .unwrap()
    }

    pub async fn finish(mut self) {
        self.server.abort();
        self.store.close().await;
        if let Some(db) = self.db.take() {
            db.cleanup().await;
        }
    }
}

/// Asserts a problem+json answer with this status, and returns the problem.
pub async fn problem(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status);
    let content_type = response.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(content_type, "application/problem+json");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], status.as_u16());
    body
}

pub fn fields(problem: &Value) -> Vec<String> {
    let mut fields: Vec<String> = problem["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["field"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default();
    fields.sort();
    fields
}

#[allow(unused_macros)] // The replica suite runs on PostgreSQL servers of its own.
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        mod sqlite { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let app = $crate::common::TestApp::spawn(leadgate_store::Engine::Sqlite).await;
                super::$name(&app).await;
                app.finish().await;
            }
        )* }
        mod postgres { $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() {
                let app = $crate::common::TestApp::spawn(leadgate_store::Engine::Postgres).await;
                super::$name(&app).await;
                app.finish().await;
            }
        )* }
    };
}
