//! Test helpers for the two stores: a fresh store or desk on sled or PostgreSQL, a
//! database of its own per test, and `on_both_stores!`, which runs one test on each.

use std::path::Path;

use tempfile::TempDir;

use super::{always_open, engine_in};

/// Where a test keeps conversation state: the store contract holds for both.
#[derive(Debug, Clone, Copy)]
pub enum Backend {
    Sled,
    Postgres,
}

/// What a test's store lives in: a temporary directory (the index, and sled's data) and,
/// for PostgreSQL, a database of its own, dropped with it.
pub struct Scratch {
    pub dir: TempDir,
    pub database: Option<TestDatabase>,
}

/// A fresh store of `backend` beside a fresh scratch directory.
pub fn store_on(backend: Backend) -> (Scratch, std::sync::Arc<dyn xiaoer::store::Store>) {
    let dir = TempDir::new().unwrap();
    match backend {
        Backend::Sled => {
            let store = xiaoer::store::SledStore::open(&dir.path().join("data")).unwrap();
            let scratch = Scratch {
                dir,
                database: None,
            };
            (scratch, store)
        }
        Backend::Postgres => {
            let database = TestDatabase::create();
            let store = xiaoer::store::PgStore::open(&database.url).unwrap();
            let scratch = Scratch {
                dir,
                database: Some(database),
            };
            (scratch, store)
        }
    }
}

/// A desk over `corpus` on a fresh store of `backend`, open around the clock.
pub fn desk_on(backend: Backend, corpus: &Path) -> (Scratch, std::sync::Arc<xiaoer::desk::Desk>) {
    let (scratch, store) = store_on(backend);
    let engine = engine_in(corpus, &scratch.dir.path().join("index"));
    let desk = xiaoer::desk::Desk::new(std::sync::Arc::new(engine), store, always_open());
    (scratch, std::sync::Arc::new(desk))
}

/// A database of its own on the PostgreSQL server `XIAOER_TEST_POSTGRES` names (an
/// account that may create databases; `bash .ci/run` starts one), dropped on drop.
pub struct TestDatabase {
    admin_url: String,
    name: String,
    pub url: String,
}

impl TestDatabase {
    pub fn create() -> TestDatabase {
        let admin_url = std::env::var("XIAOER_TEST_POSTGRES").expect(
            "XIAOER_TEST_POSTGRES must name a PostgreSQL server the tests may create databases \
             on, e.g. postgres://postgres:secret@127.0.0.1:5432/postgres (bash .ci/run starts one)",
        );
        let mut bytes = [0u8; 8];
        getrandom::fill(&mut bytes).unwrap();
        let name = format!("xiaoer_test_{}", hex::encode(bytes));
        let (base, _) = admin_url
            .split('?')
            .next()
            .unwrap()
            .rsplit_once('/')
            .expect("XIAOER_TEST_POSTGRES ends with /DATABASE");
        let url = format!("{base}/{name}");
        admin_sql(&admin_url, &format!("CREATE DATABASE {name}")).unwrap();
        TestDatabase {
            admin_url,
            name,
            url,
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        if let Err(e) = admin_sql(&self.admin_url, &sql) {
            eprintln!("could not drop test database {}: {e}", self.name);
        }
    }
}

/// Runs `sql` on the server at `url`, on a thread of its own (callers may be inside a
/// runtime, where another runtime cannot block).
pub fn admin_sql(url: &str, sql: &str) -> Result<(), String> {
    let (url, sql) = (url.to_string(), sql.to_string());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?;
        runtime.block_on(async {
            let (client, connection) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .map_err(|e| e.to_string())?;
            tokio::spawn(connection);
            client.batch_execute(&sql).await.map_err(|e| e.to_string())
        })
    })
    .join()
    .map_err(|_| "admin thread panicked".to_string())?
}

/// Generates, for each named test function taking a `Backend`, a module of that name
/// with a `sled` and a `postgres` test: one suite, both stores.
#[macro_export]
macro_rules! on_both_stores {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[test]
                fn sled() {
                    super::$name($crate::Backend::Sled)
                }
                #[test]
                fn postgres() {
                    super::$name($crate::Backend::Postgres)
                }
            }
        )*
    };
}
