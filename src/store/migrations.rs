//! Versioned schema migrations for the PostgreSQL store, applied at start in order, each
//! once, under an advisory lock so instances starting together do not race.

use deadpool_postgres::Object;

use super::StoreError;

/// The migrations, in order; a version is never edited once released, only followed.
const MIGRATIONS: &[(i32, &str)] = &[
    (
        1,
        "CREATE TABLE records (
             tbl   text  NOT NULL,
             key   bytea NOT NULL,
             value bytea NOT NULL,
             PRIMARY KEY (tbl, key)
         )",
    ),
    // Values past 2 KB (a reply with its sources) were compressed with pglz, which under
    // load cost PostgreSQL more than the rest of the write; lz4 is several times cheaper.
    // A server built without lz4 keeps pglz.
    (
        2,
        "DO $$ BEGIN
             ALTER TABLE records ALTER COLUMN value SET COMPRESSION lz4;
         EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN NULL;
         END $$",
    ),
];

/// The advisory-lock key migrations hold (any fixed number; "xiaoer" in ASCII).
const MIGRATION_LOCK: i64 = 0x7869_616f_6572;

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("postgres migration: {e}"))
}

/// Brings the database to the newest schema. Returns the versions it applied.
pub async fn apply(client: &mut Object) -> Result<Vec<i32>, StoreError> {
    let tx = client.transaction().await.map_err(backend)?;
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(backend)?;
    tx.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    integer PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
        &[],
    )
    .await
    .map_err(backend)?;
    let applied: Vec<i32> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await
        .map_err(backend)?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut done = Vec::new();
    for (version, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        tx.batch_execute(sql)
            .await
            .map_err(|e| backend(format!("version {version}: {e}")))?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )
        .await
        .map_err(backend)?;
        done.push(*version);
    }
    tx.commit().await.map_err(backend)?;
    if !done.is_empty() {
        tracing::info!(versions = ?done, "PostgreSQL schema migrated");
    }
    Ok(done)
}
