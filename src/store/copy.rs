//! `store copy`: every record of every table from one store into another, empty, one
//! (sled to PostgreSQL when an office moves to several `serve` instances, or any backend
//! to any), then read back and compared key by key, so nothing is lost on the way.
//!
//! Records are copied as bytes, counters included (both backends keep a counter as a
//! big-endian u64 record of `Table::Counters`), so ids continue where they stopped.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::{PgStore, Record, SledStore, Store, StoreError, Table, redacted_url};

/// Records written per transaction: large enough that a big store copies in few round
/// trips, small enough that one transaction stays small in memory (sled keeps a
/// transaction's writes in memory until it commits).
pub const BATCH: usize = 500;

/// How many records each table held, in `Table::ALL` order; the same in source and target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CopySummary {
    pub tables: Vec<(Table, usize)>,
}

impl CopySummary {
    pub fn total(&self) -> usize {
        self.tables.iter().map(|(_, n)| n).sum()
    }
}

fn fail(message: impl Into<String>) -> StoreError {
    StoreError::Backend(message.into())
}

/// Copies every record of every table in `Table::ALL` from `from` into `to`, which must
/// hold no record at all, then checks that `to` holds exactly what `from` does.
///
/// Nothing else may write to either store meanwhile: for sled the lock on its directory
/// sees to that; stop every `serve` on a PostgreSQL source first.
pub fn copy(from: &dyn Store, to: &dyn Store) -> Result<CopySummary, StoreError> {
    // Refused before anything is written: a copy merged into a live desk would mix two
    // offices' tickets under colliding ids.
    if let Some(table) = first_nonempty(to)? {
        return Err(fail(format!(
            "the target store is not empty (table {} holds records); store copy only \
             copies into an empty store, so it never merges into a live desk",
            table.name()
        )));
    }
    let mut written = 0usize;
    for table in Table::ALL {
        let mut cursor = Vec::new();
        loop {
            let page = from.scan_from(table, b"", &cursor, BATCH)?;
            let Some((last, _)) = page.last() else {
                break;
            };
            cursor = successor(last);
            to.transaction(&|t| {
                for (k, v) in &page {
                    t.put(table, k, v)?;
                }
                Ok(())
            })
            .map_err(|e| {
                fail(format!(
                    "the copy stopped after {written} records, in table {}: {e}; the target \
                     now holds part of the store: empty it (a new database, or a new \
                     directory) before copying again",
                    table.name()
                ))
            })?;
            written += page.len();
        }
    }
    to.durable()?;
    verify(from, to)
}

/// The first table of `store` holding a record, if any does.
fn first_nonempty(store: &dyn Store) -> Result<Option<Table>, StoreError> {
    for table in Table::ALL {
        if !store.scan_from(table, b"", b"", 1)?.is_empty() {
            return Ok(Some(table));
        }
    }
    Ok(None)
}

/// The smallest key greater than `key`: where the next page starts.
fn successor(key: &[u8]) -> Vec<u8> {
    let mut next = key.to_vec();
    next.push(0);
    next
}

/// Reads both stores table by table in key order, a page at a time from the same key,
/// and compares every key and value; returns the counts.
pub fn verify(from: &dyn Store, to: &dyn Store) -> Result<CopySummary, StoreError> {
    let mut tables = Vec::new();
    for table in Table::ALL {
        let mut count = 0usize;
        let mut cursor = Vec::new();
        loop {
            let want = from.scan_from(table, b"", &cursor, BATCH)?;
            let got = to.scan_from(table, b"", &cursor, BATCH)?;
            if want != got {
                return Err(fail(format!(
                    "the copy does not match its source in table {} after {count} matching \
                     records: {}; was something writing to the source? Empty the target \
                     before copying again",
                    table.name(),
                    first_difference(&want, &got)
                )));
            }
            let Some((last, _)) = want.last() else {
                break;
            };
            count += want.len();
            cursor = successor(last);
        }
        tables.push((table, count));
    }
    Ok(CopySummary { tables })
}

/// What differs first between two pages read from the same key.
fn first_difference(want: &[Record], got: &[Record]) -> String {
    for (w, g) in want.iter().zip(got) {
        if w.0 != g.0 {
            return if w.0 < g.0 {
                format!("key {} is missing from the target", show_key(&w.0))
            } else {
                format!("the target has key {} the source lacks", show_key(&g.0))
            };
        }
        if w.1 != g.1 {
            return format!("the value under key {} differs", show_key(&w.0));
        }
    }
    match (want.get(got.len()), got.get(want.len())) {
        (Some(w), _) => format!("key {} is missing from the target", show_key(&w.0)),
        (_, Some(g)) => format!("the target has key {} the source lacks", show_key(&g.0)),
        _ => "the pages differ".into(),
    }
}

/// A key for a message: printable ASCII as is, other bytes escaped.
fn show_key(key: &[u8]) -> String {
    key.iter()
        .flat_map(|b| std::ascii::escape_default(*b))
        .map(char::from)
        .collect()
}

/// Where a store is: a `--from` or `--to` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    Postgres(String),
    Sled(PathBuf),
}

impl Location {
    /// A value starting with `postgres://` or `postgresql://` is a PostgreSQL URL;
    /// anything else is a sled directory.
    pub fn parse(value: &str) -> Location {
        if value.starts_with("postgres://") || value.starts_with("postgresql://") {
            Location::Postgres(value.to_string())
        } else {
            Location::Sled(PathBuf::from(value))
        }
    }

    /// Whether both name the same store (copying a store onto itself).
    pub fn same_as(&self, other: &Location) -> bool {
        match (self, other) {
            (Location::Postgres(a), Location::Postgres(b)) => a == b,
            (Location::Sled(a), Location::Sled(b)) => match (a.canonicalize(), b.canonicalize()) {
                (Ok(a), Ok(b)) => a == b,
                _ => a == b,
            },
            _ => false,
        }
    }

    /// Opens an existing store to copy from. A sled directory must already hold a store:
    /// opening a mistyped path would otherwise create an empty one and "copy" nothing.
    pub fn open_source(&self) -> Result<Arc<dyn Store>, StoreError> {
        match self {
            Location::Postgres(url) => Ok(PgStore::open(url)?),
            Location::Sled(dir) => {
                if !dir.exists() {
                    return Err(fail(format!(
                        "{} does not exist: give the data directory of a sled store, or a \
                         URL starting with postgres://",
                        dir.display()
                    )));
                }
                if !dir.is_dir() {
                    return Err(fail(format!(
                        "{} is not a directory: give the data directory of a sled store",
                        dir.display()
                    )));
                }
                if !sled_file(dir).is_file() {
                    return Err(fail(format!(
                        "{} holds no sled store (no db file in it)",
                        dir.display()
                    )));
                }
                open_sled(dir)
            }
        }
    }

    /// Opens (or, for sled, creates) the store to copy into. An existing directory that
    /// is not a sled store is refused rather than filled with sled's files.
    pub fn open_target(&self) -> Result<Arc<dyn Store>, StoreError> {
        match self {
            Location::Postgres(url) => Ok(PgStore::open(url)?),
            Location::Sled(dir) => {
                if dir.exists() && !sled_file(dir).is_file() {
                    let empty_dir = std::fs::read_dir(dir).is_ok_and(|mut d| d.next().is_none());
                    if !empty_dir {
                        return Err(fail(format!(
                            "{} exists and is not a sled store: give a new or empty directory",
                            dir.display()
                        )));
                    }
                }
                open_sled(dir)
            }
        }
    }
}

impl std::fmt::Display for Location {
    /// The location for messages: a URL without its password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::Postgres(url) => f.write_str(&redacted_url(url)),
            Location::Sled(dir) => write!(f, "{}", dir.display()),
        }
    }
}

/// The file sled keeps its data in, and locks while a process has the store open.
fn sled_file(dir: &Path) -> PathBuf {
    dir.join("db")
}

fn open_sled(dir: &Path) -> Result<Arc<dyn Store>, StoreError> {
    // Sled lets one process open a store; its own error for a held lock is an opaque
    // I/O message, so ask first and say what to do.
    if let Ok(file) = File::open(sled_file(dir))
        && let Err(std::fs::TryLockError::WouldBlock) = file.try_lock()
    {
        return Err(fail(format!(
            "the sled store in {} is in use by another process (a running xiaoer serve?); \
             stop serve first",
            dir.display()
        )));
    }
    Ok(SledStore::open(dir)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sled() -> (tempfile::TempDir, Arc<SledStore>) {
        let dir = tempfile::tempdir().unwrap();
        let store = SledStore::open(&dir.path().join("data")).unwrap();
        (dir, store)
    }

    #[test]
    fn copies_every_table_across_batches_and_verifies() {
        let (_a, from) = sled();
        let (_b, to) = sled();
        // More than two batches in one table, a few records in the others.
        for chunk in (0..BATCH as u64 * 2 + 37).collect::<Vec<_>>().chunks(300) {
            from.transaction(&|t| {
                for i in chunk {
                    t.put(
                        Table::Messages,
                        &i.to_be_bytes(),
                        format!("m{i}").as_bytes(),
                    )?;
                }
                Ok(())
            })
            .unwrap();
        }
        from.transaction(&|t| {
            t.put(Table::Staff, b"alice", b"{}")?;
            t.put(Table::Received, &[0xff, 0x00], b"{}")?;
            t.next_id("ticket").map(|_| ())
        })
        .unwrap();
        let summary = copy(&*from, &*to).unwrap();
        let count = |table| {
            summary
                .tables
                .iter()
                .find(|(t, _)| *t == table)
                .map(|(_, n)| *n)
        };
        assert_eq!(count(Table::Messages), Some(BATCH * 2 + 37));
        assert_eq!(count(Table::Staff), Some(1));
        assert_eq!(count(Table::Counters), Some(1));
        assert_eq!(count(Table::Tickets), Some(0));
        assert_eq!(summary.tables.len(), Table::ALL.len());
        assert_eq!(summary.total(), BATCH * 2 + 40);
        for table in Table::ALL {
            assert_eq!(
                from.scan_prefix(table, b"").unwrap(),
                to.scan_prefix(table, b"").unwrap()
            );
        }
        to.transaction(&|t| {
            assert_eq!(t.next_id("ticket")?, 2, "counters continue");
            Ok(())
        })
        .unwrap();
    }

    #[test]
    fn refuses_a_target_that_holds_anything() {
        let (_a, from) = sled();
        let (_b, to) = sled();
        from.transaction(&|t| t.put(Table::Tickets, b"1", b"source"))
            .unwrap();
        to.transaction(&|t| t.put(Table::Received, b"x", b"live"))
            .unwrap();
        let e = copy(&*from, &*to).unwrap_err().to_string();
        assert!(e.contains("not empty") && e.contains("received"), "{e}");
        assert_eq!(
            to.get(Table::Tickets, b"1").unwrap(),
            None,
            "nothing written"
        );
    }

    #[test]
    fn verify_names_the_first_difference() {
        let (_a, from) = sled();
        let (_b, to) = sled();
        from.transaction(&|t| {
            t.put(Table::Audit, b"a", b"1")?;
            t.put(Table::Audit, b"b", b"2")
        })
        .unwrap();
        to.transaction(&|t| t.put(Table::Audit, b"a", b"1"))
            .unwrap();
        let e = verify(&*from, &*to).unwrap_err().to_string();
        assert!(e.contains("audit") && e.contains("key b is missing"), "{e}");
        to.transaction(&|t| t.put(Table::Audit, b"b", b"3"))
            .unwrap();
        let e = verify(&*from, &*to).unwrap_err().to_string();
        assert!(e.contains("value under key b differs"), "{e}");
        to.transaction(&|t| t.put(Table::Audit, b"b", b"2"))
            .unwrap();
        assert_eq!(verify(&*from, &*to).unwrap().total(), 2);
    }

    #[test]
    fn locations_are_urls_or_directories() {
        assert_eq!(
            Location::parse("postgresql://u:pw@h/db"),
            Location::Postgres("postgresql://u:pw@h/db".into())
        );
        assert_eq!(
            Location::parse("data"),
            Location::Sled(PathBuf::from("data"))
        );
        assert_eq!(
            Location::parse("postgres://u:pw@h/db").to_string(),
            "postgres://u:***@h/db"
        );
        let dir = tempfile::tempdir().unwrap();
        let here = Location::Sled(dir.path().to_path_buf());
        assert!(here.same_as(&Location::Sled(dir.path().join("."))));
        assert!(!here.same_as(&Location::Sled(dir.path().join("other"))));
        let url = Location::parse("postgres://h/db");
        assert!(url.same_as(&Location::parse("postgres://h/db")));
        assert!(!url.same_as(&Location::parse("postgres://h/other")));
    }

    #[test]
    fn a_missing_or_empty_source_directory_is_refused_and_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("nope");
        let e = Location::Sled(missing.clone()).open_source().err().unwrap();
        assert!(e.to_string().contains("does not exist"), "{e}");
        assert!(!missing.exists(), "not created");
        let e = Location::Sled(dir.path().to_path_buf())
            .open_source()
            .err()
            .unwrap();
        assert!(e.to_string().contains("holds no sled store"), "{e}");
        assert!(!sled_file(dir.path()).exists(), "no store created");
    }
}
