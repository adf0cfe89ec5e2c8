//! A bad day for the store: writes fail as on a full disk. Investors get 503 with a clear
//! message, health says the store is unavailable, and service resumes by itself when space
//! returns, with nothing acknowledged lost.

use axum::http::StatusCode;
use xiaoer::config::WebConfig;

use super::web::*;

/// A store whose writes fail while `full` is set, as on a full disk.
struct FullDisk {
    inner: std::sync::Arc<xiaoer::store::SledStore>,
    full: std::sync::atomic::AtomicBool,
}

impl FullDisk {
    fn check(&self) -> Result<(), xiaoer::store::StoreError> {
        if self.full.load(std::sync::atomic::Ordering::SeqCst) {
            Err(xiaoer::store::StoreError::Backend(
                "No space left on device (os error 28)".into(),
            ))
        } else {
            Ok(())
        }
    }
}

impl xiaoer::store::Store for FullDisk {
    fn transaction(
        &self,
        f: &dyn Fn(&dyn xiaoer::store::Txn) -> Result<(), xiaoer::store::StoreError>,
    ) -> Result<(), xiaoer::store::StoreError> {
        self.check()?;
        self.inner.transaction(f)
    }
    fn durable(&self) -> Result<(), xiaoer::store::StoreError> {
        self.check()?;
        self.inner.durable()
    }
    fn get(
        &self,
        table: xiaoer::store::Table,
        key: &[u8],
    ) -> Result<Option<Vec<u8>>, xiaoer::store::StoreError> {
        self.inner.get(table, key)
    }
    fn scan_prefix(
        &self,
        table: xiaoer::store::Table,
        prefix: &[u8],
    ) -> Result<Vec<xiaoer::store::Record>, xiaoer::store::StoreError> {
        self.inner.scan_prefix(table, prefix)
    }
    fn scan_from(
        &self,
        table: xiaoer::store::Table,
        prefix: &[u8],
        from: &[u8],
        limit: usize,
    ) -> Result<Vec<xiaoer::store::Record>, xiaoer::store::StoreError> {
        self.inner.scan_from(table, prefix, from, limit)
    }
}

#[tokio::test]
async fn a_full_disk_gets_503_and_health_says_so_until_space_returns() {
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    let (dir, engine) = super::engine_for(&super::shipped_corpus());
    let store = Arc::new(FullDisk {
        inner: xiaoer::store::SledStore::open(&dir.path().join("data")).unwrap(),
        full: Default::default(),
    });
    let desk = Arc::new(xiaoer::desk::Desk::new(
        Arc::new(engine),
        store.clone(),
        super::always_open(),
    ));
    let app = xiaoer::channels::web::app(xiaoer::channels::web::WebState::new(
        desk,
        WebConfig::default(),
        std::path::PathBuf::from("unused"),
    ));
    let first = say(&app, None, "高企税率是多少").await;
    assert_eq!(first.status, StatusCode::OK);
    let cookie = session_cookie(&first);
    assert_eq!(
        call(&app, "GET", "/api/health", &[], None).await.json["ok"],
        true
    );

    store.full.store(true, Ordering::SeqCst);
    let refused = say(&app, Some(&cookie), "注册资本要多久缴足").await;
    assert_eq!(
        refused.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        refused.text
    );
    assert!(
        refused.json["error"]
            .as_str()
            .unwrap()
            .contains("nothing was saved")
    );
    assert!(
        !refused.text.contains("os error"),
        "the detail stays in the log"
    );
    let health = call(&app, "GET", "/api/health", &[], None).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.json["store"], "unavailable");
    // A new investor cannot even open a session, and gets the same clear answer.
    assert_eq!(
        say(&app, None, "你好").await.status,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // Space returns: health notices by itself, writes resume, nothing acknowledged was lost.
    store.full.store(false, Ordering::SeqCst);
    let health = call(&app, "GET", "/api/health", &[], None).await;
    assert_eq!(health.status, StatusCode::OK, "{}", health.text);
    assert_eq!(
        say(&app, Some(&cookie), "注册资本要多久缴足").await.status,
        StatusCode::OK
    );
    let history = call(
        &app,
        "GET",
        "/api/messages",
        &[("cookie", cookie.as_str())],
        None,
    )
    .await;
    let texts: Vec<&str> = history.json["messages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["author"]["kind"] == "investor")
        .map(|m| m["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        ["高企税率是多少", "注册资本要多久缴足"],
        "the refused message was never stored"
    );
}
