//! A server with a read replica, against a real PostgreSQL primary and streaming replica
//! that the test makes with the server binaries on the machine (`initdb`,
//! `pg_basebackup`, `pg_ctl`): lists, analytics and exports read the replica, and whoever
//! just wrote reads their own write.

mod common;

use common::session::{cookie_value, sign_in};
use common::TestApp;
use leadgate_core::access::Role;
use leadgate_store::{NewUser, Store, WalPosition};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sqlx::Connection;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

/// The folder of the newest PostgreSQL server binaries installed (`PG_BINDIR` overrides).
fn server_binaries() -> PathBuf {
    if let Some(dir) = std::env::var_os("PG_BINDIR") {
        return dir.into();
    }
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL's server binaries under /usr/lib/postgresql (or PG_BINDIR)")
        .filter_map(|e| e.ok())
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, bin)| bin.join("initdb").exists())
        .collect();
    found.sort();
    found.pop().expect("an initdb under /usr/lib/postgresql").1
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A primary and its streaming replica on free ports under a temporary folder, stopped
/// when dropped. PostgreSQL refuses to run as root: as root, the servers run as the
/// `postgres` user.
struct Cluster {
    bin: PathBuf,
    folder: tempfile::TempDir,
    primary_port: u16,
    replica_port: u16,
}

impl Cluster {
    /// One of the server binaries, as the `postgres` user when the test runs as root.
    fn command(&self, program: &str) -> Command {
        let as_root = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.starts_with(b"0\n"));
        let program = self.bin.join(program);
        if as_root {
            let mut command = Command::new("runuser");
            command.args(["-u", "postgres", "--"]).arg(program);
            command
        } else {
            Command::new(program)
        }
    }

    fn run(&self, program: &str, args: &[&str]) {
        let output = self.command(program).args(args).output().unwrap();
        assert!(
            output.status.success(),
            "{program} {args:?}: {}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }

    fn path(&self, name: &str) -> String {
        self.folder.path().join(name).display().to_string()
    }

    fn start(&self, data: &str, port: u16) {
        let options = format!(
            "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.folder.path().display()
        );
        let log = self.path(&format!("{data}.log"));
        self.run(
            "pg_ctl",
            &[
                "-D",
                &self.path(data),
                "-o",
                &options,
                "-l",
                &log,
                "-w",
                "start",
            ],
        );
    }

    fn new() -> Self {
        let folder = tempfile::tempdir().unwrap();
        // The servers' user must own their folder: as root, `postgres`; otherwise the
        // folder is already the user's own and the chown's failure does not matter.
        let _ = Command::new("chown")
            .args(["postgres:", &folder.path().display().to_string()])
            .status();
        let cluster = Cluster {
            bin: server_binaries(),
            folder,
            primary_port: free_port(),
            replica_port: free_port(),
        };
        cluster.run(
            "initdb",
            &[
                "-D",
                &cluster.path("primary"),
                "-U",
                "postgres",
                "--auth=trust",
                "-N",
            ],
        );
        cluster.start("primary", cluster.primary_port);
        cluster.run(
            "pg_basebackup",
            &[
                "-h",
                "127.0.0.1",
                "-p",
                &cluster.primary_port.to_string(),
                "-U",
                "postgres",
                "-D",
                &cluster.path("replica"),
                "-R",
                "-X",
                "stream",
            ],
        );
        cluster.start("replica", cluster.replica_port);
        cluster
    }

    fn url(port: u16) -> String {
        format!("postgres://postgres@127.0.0.1:{port}/postgres")
    }

    /// Stops (true) or restarts (false) the replica's replay of the primary's log.
    async fn pause_replay(&self, pause: bool) {
        let mut conn = sqlx::PgConnection::connect(&Self::url(self.replica_port))
            .await
            .unwrap();
        let call = if pause {
            "SELECT pg_wal_replay_pause()::text"
        } else {
            "SELECT pg_wal_replay_resume()::text"
        };
        sqlx::query(call).execute(&mut conn).await.unwrap();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for data in ["replica", "primary"] {
            let _ = self
                .command("pg_ctl")
                .args(["-D", &self.path(data), "-m", "immediate", "stop"])
                .output();
        }
    }
}

/// Waits until the replica has replayed the primary's log as it stands now.
async fn until_replayed(primary: &Store, replica: &Store) {
    let position = primary.wal_position().await.unwrap().unwrap();
    for _ in 0..200 {
        if replica.has_replayed(position).await.unwrap() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the replica never replayed up to {position}");
}

async fn listed_emails(app: &TestApp, lsn: Option<&str>) -> Vec<String> {
    let mut request = app
        .client
        .get(app.url("/api/v1/leads"))
        .bearer_auth(&app.key);
    if let Some(lsn) = lsn {
        request = request.header("leadgate-lsn", lsn);
    }
    let list: Value = request.send().await.unwrap().json().await.unwrap();
    list["leads"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["email"].as_str().map(str::to_owned))
        .collect()
}

async fn exported(app: &TestApp, lsn: Option<&str>) -> String {
    let mut request = app
        .client
        .get(app.url("/api/v1/leads/export"))
        .bearer_auth(&app.key);
    if let Some(lsn) = lsn {
        request = request.header("leadgate-lsn", lsn);
    }
    request.send().await.unwrap().text().await.unwrap()
}

async fn create_lead(app: &TestApp, email: &str) -> String {
    let response = app
        .post(
            "/api/v1/leads",
            &json!({"email": email, "channel": "web_form"}),
        )
        .await;
    assert_eq!(response.status(), StatusCode::CREATED);
    let lsn = response.headers()["leadgate-lsn"]
        .to_str()
        .unwrap()
        .to_owned();
    lsn.parse::<WalPosition>().expect("a log position");
    lsn
}

#[tokio::test]
async fn lists_and_exports_read_the_replica_and_a_writer_reads_their_own_write() {
    let cluster = Cluster::new();
    let primary = Store::connect(&Cluster::url(cluster.primary_port))
        .await
        .unwrap();
    let replica = Store::connect_replica(&Cluster::url(cluster.replica_port))
        .await
        .unwrap();
    primary
        .create_user(NewUser {
            name: "mai".into(),
            display_name: None,
            role: Role::Admin,
            team: None,
            locale: "en".into(),
            time_zone: String::new(),
            password: "a long enough password".into(),
        })
        .await
        .unwrap();
    let app = TestApp::spawn_on(
        primary.clone(),
        leadgate::server::ServerSettings {
            replica: Some(replica.clone()),
            ..Default::default()
        },
    )
    .await;
    let mai = sign_in(&app, "mai", "a long enough password").await;
    until_replayed(&primary, &replica).await;

    // The replica stops replaying: a write reaches the primary only.
    cluster.pause_replay(true).await;
    let written = create_lead(&app, "first@replica.example").await;
    // Reading without the write's position: the replica, which lacks it.
    assert!(!listed_emails(&app, None)
        .await
        .contains(&"first@replica.example".to_owned()));
    assert!(!exported(&app, None).await.contains("first@replica.example"));
    // The writer, sending it back: the primary, while the replica lags.
    assert!(listed_emails(&app, Some(&written))
        .await
        .contains(&"first@replica.example".to_owned()));
    assert!(exported(&app, Some(&written))
        .await
        .contains("first@replica.example"));

    // A dashboard user typing a lead in gets the position as a cookie, and her list shows
    // the lead; the list without the cookie is the replica's.
    let created = mai
        .submit(
            "/leads/new",
            &[
                ("channel", "event"),
                ("first_name", "Lanchi"),
                ("last_name", "Replayed"),
                ("email", "lan@fair.example"),
            ],
        )
        .await;
    assert_eq!(created.status(), StatusCode::SEE_OTHER);
    let lsn = cookie_value(&created, "lg_lsn").expect("the write's position as a cookie");
    let set_cookie = created
        .headers()
        .get_all("set-cookie")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.starts_with("lg_lsn="))
        .unwrap()
        .to_owned();
    assert!(
        set_cookie.contains("HttpOnly") && set_cookie.contains("Path=/"),
        "{set_cookie}"
    );
    let page = |cookie: String| {
        let client = mai.client.clone();
        let url = app.url("/leads");
        async move {
            client
                .get(url)
                .header("cookie", cookie)
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap()
        }
    };
    assert!(page(format!("{}; lg_lsn={lsn}", mai.cookie))
        .await
        .contains("Lanchi Replayed"));
    assert!(!page(mai.cookie.clone()).await.contains("Lanchi Replayed"));
    // A read is not a write: it brings no position.
    let read = app.get("/api/v1/leads").await;
    assert!(read.headers().get("leadgate-lsn").is_none());

    // The replica catches up: everyone sees both leads.
    cluster.pause_replay(false).await;
    until_replayed(&primary, &replica).await;
    let everyone = listed_emails(&app, None).await;
    assert!(everyone.contains(&"first@replica.example".to_owned()));
    assert!(everyone.contains(&"lan@fair.example".to_owned()));

    // A position the replica has replayed reads the replica again: with replay stopped,
    // someone else's new lead is not in the writer's list.
    cluster.pause_replay(true).await;
    create_lead(&app, "later@replica.example").await;
    assert!(!listed_emails(&app, Some(&written))
        .await
        .contains(&"later@replica.example".to_owned()));
    // A position that is not one is ignored (the replica is read), never an error.
    let response = app
        .client
        .get(app.url("/api/v1/leads"))
        .bearer_auth(&app.key)
        .header("leadgate-lsn", "'; SELECT 1 --")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    cluster.pause_replay(false).await;
    app.finish().await;
    replica.close().await;
}

#[tokio::test]
async fn a_read_database_that_is_not_a_replica_is_refused_with_the_reason() {
    let cluster = Cluster::new();
    Store::connect(&Cluster::url(cluster.primary_port))
        .await
        .unwrap();
    let refused = Store::connect_replica(&Cluster::url(cluster.primary_port))
        .await
        .unwrap_err()
        .to_string();
    assert!(refused.contains("not a streaming replica"), "{refused}");
    let refused = Store::connect_replica("leadgate-data/read.db")
        .await
        .unwrap_err()
        .to_string();
    assert!(
        refused.contains("PostgreSQL streaming replica"),
        "{refused}"
    );
}
