//! The store contract, checked on both backends: what `Store` and `Txn` promise (byte
//! order, prefixes, paging, rollback, counters, separate tables, concurrent writers).
//! PostgreSQL also races two store instances on one database, as two `serve`s would;
//! `desk_contract` checks what the desk builds on it, `shared_database` two desks.

use std::cell::Cell;
use std::sync::{Arc, Barrier};

use xiaoer::store::{PgStore, Record, Store, StoreError, Table};

use super::{Backend, TestDatabase, store_on};

crate::on_both_stores!(
    put_get_remove,
    a_transaction_reads_its_own_writes,
    scan_prefix_returns_exactly_the_prefixed_keys_in_byte_order,
    scan_from_respects_from_and_limit,
    a_failed_transaction_leaves_nothing_written,
    next_id_counts_per_counter_and_rollbacks_do_not_consume,
    tables_are_separate_namespaces,
    concurrent_next_id_gives_every_id_once,
);

fn put(store: &dyn Store, table: Table, key: &[u8], value: &[u8]) {
    store.transaction(&|t| t.put(table, key, value)).unwrap();
}

fn keys(records: &[Record]) -> Vec<Vec<u8>> {
    records.iter().map(|(k, _)| k.clone()).collect()
}

fn put_get_remove(backend: Backend) {
    let (_scratch, store) = store_on(backend);
    assert_eq!(store.get(Table::Tickets, b"k").unwrap(), None);
    put(&*store, Table::Tickets, b"k", b"one");
    assert_eq!(
        store.get(Table::Tickets, b"k").unwrap().as_deref(),
        Some(&b"one"[..])
    );
    // A put replaces; values are bytes, not only JSON or UTF-8.
    put(&*store, Table::Tickets, b"k", &[0, 0xff, 0x80]);
    assert_eq!(
        store.get(Table::Tickets, b"k").unwrap(),
        Some(vec![0, 0xff, 0x80])
    );
    assert_eq!(store.scan_prefix(Table::Tickets, b"").unwrap().len(), 1);
    store
        .transaction(&|t| t.remove(Table::Tickets, b"k"))
        .unwrap();
    assert_eq!(store.get(Table::Tickets, b"k").unwrap(), None);
    // Removing what is not there is no error.
    store
        .transaction(&|t| t.remove(Table::Tickets, b"k"))
        .unwrap();
    assert!(store.scan_prefix(Table::Tickets, b"").unwrap().is_empty());
    store.durable().unwrap();
}

fn a_transaction_reads_its_own_writes(backend: Backend) {
    let (_scratch, store) = store_on(backend);
    put(&*store, Table::Staff, b"gone", b"x");
    store
        .transaction(&|t| {
            t.put(Table::Staff, b"new", b"v1")?;
            assert_eq!(t.get(Table::Staff, b"new")?, Some(b"v1".to_vec()));
            t.put(Table::Staff, b"new", b"v2")?;
            assert_eq!(t.get(Table::Staff, b"new")?, Some(b"v2".to_vec()));
            t.remove(Table::Staff, b"gone")?;
            assert_eq!(t.get(Table::Staff, b"gone")?, None);
            Ok(())
        })
        .unwrap();
    assert_eq!(
        store.get(Table::Staff, b"new").unwrap(),
        Some(b"v2".to_vec())
    );
    assert_eq!(store.get(Table::Staff, b"gone").unwrap(), None);
}

/// Keys chosen to trip a backend that sorts as text, trims a zero byte, or treats 0xff
/// as "past the end".
fn awkward_keys() -> Vec<Vec<u8>> {
    vec![
        vec![0x00],
        vec![0x00, 0x00],
        vec![0x00, 0xff],
        vec![0x01],
        b"a".to_vec(),
        b"a\x00".to_vec(),
        b"a\x00\xff".to_vec(),
        b"a\x01".to_vec(),
        b"a\x7f".to_vec(),
        b"a\x80".to_vec(),
        b"a\xff".to_vec(),
        b"a\xff\x00".to_vec(),
        b"a\xff\xff".to_vec(),
        b"ab".to_vec(),
        b"b".to_vec(),
        "对话".as_bytes().to_vec(),
        vec![0xfe, 0xff],
        vec![0xff],
        vec![0xff, 0x00],
        vec![0xff, 0xff],
        vec![0xff, 0xff, 0x01],
        vec![0xff, 0xff, 0xff],
    ]
}

fn scan_prefix_returns_exactly_the_prefixed_keys_in_byte_order(backend: Backend) {
    let (_scratch, store) = store_on(backend);
    let mut sorted = awkward_keys();
    sorted.sort();
    // Written in reverse so that insertion order cannot pass for key order.
    store
        .transaction(&|t| {
            for (i, k) in awkward_keys().iter().enumerate().rev() {
                t.put(Table::Messages, k, format!("v{i}").as_bytes())?;
            }
            Ok(())
        })
        .unwrap();
    let prefixes: Vec<&[u8]> = vec![
        b"",
        &[0x00],
        &[0x00, 0x00],
        b"a",
        b"a\x00",
        b"a\xff",
        b"ab",
        b"abc",
        b"c",
        &[0xfe],
        &[0xff],
        &[0xff, 0xff],
        &[0xff, 0xff, 0xff],
        &[0xff, 0xff, 0xff, 0xff],
    ];
    for prefix in prefixes {
        let expected: Vec<Vec<u8>> = sorted
            .iter()
            .filter(|k| k.starts_with(prefix))
            .cloned()
            .collect();
        let got = store.scan_prefix(Table::Messages, prefix).unwrap();
        assert_eq!(keys(&got), expected, "prefix {prefix:x?}");
        // Each value is the one written under its key.
        for (k, v) in &got {
            let i = awkward_keys().iter().position(|a| a == k).unwrap();
            assert_eq!(v, format!("v{i}").as_bytes(), "key {k:x?}");
        }
    }
    assert_eq!(
        store.scan_prefix(Table::Messages, b"").unwrap().len(),
        sorted.len()
    );
}

fn scan_from_respects_from_and_limit(backend: Backend) {
    let (_scratch, store) = store_on(backend);
    let all = awkward_keys();
    store
        .transaction(&|t| {
            for k in &all {
                t.put(Table::Audit, k, b"v")?;
            }
            Ok(())
        })
        .unwrap();
    let mut sorted = all.clone();
    sorted.sort();
    let expect = |prefix: &[u8], from: &[u8], limit: usize| -> Vec<Vec<u8>> {
        sorted
            .iter()
            .filter(|k| k.starts_with(prefix) && k.as_slice() >= from)
            .take(limit)
            .cloned()
            .collect()
    };
    let cases: Vec<(&[u8], &[u8], usize)> = vec![
        // Whole table, paged.
        (b"", b"", usize::MAX),
        (b"", b"", 0),
        (b"", b"", 1),
        (b"", b"", 5),
        (b"", b"a\x00", 3),
        // `from` between stored keys, and past every key.
        (b"", b"a\x00\x00", 2),
        (b"", &[0xff, 0xff, 0xff, 0x00], 10),
        // Inside a prefix: `from` on a key, between keys, before the prefix, after it.
        (b"a", b"a\x7f", 100),
        (b"a", b"a\x7f", 2),
        (b"a", b"a\x02", 100),
        (b"a", b"", 100),
        (b"a", &[0x00, 0xff], 3),
        (b"a", b"b", 100),
        (b"a\xff", b"a\xff\x00", 100),
        // A prefix of only 0xff bytes has no upper bound to stop at.
        (&[0xff], &[0xff, 0x00], 100),
        (&[0xff, 0xff], b"", 100),
        (&[0xff, 0xff], &[0xff, 0xff, 0x01], 1),
    ];
    for (prefix, from, limit) in cases {
        let got = store.scan_from(Table::Audit, prefix, from, limit).unwrap();
        assert_eq!(
            keys(&got),
            expect(prefix, from, limit),
            "prefix {prefix:x?} from {from:x?} limit {limit}"
        );
    }
    // Paging with `from` = the last key plus a zero byte visits every key exactly once.
    let mut seen = Vec::new();
    let mut from = Vec::new();
    loop {
        let page = store.scan_from(Table::Audit, b"", &from, 4).unwrap();
        if page.is_empty() {
            break;
        }
        assert!(page.len() <= 4);
        from = page.last().unwrap().0.clone();
        from.push(0);
        seen.extend(keys(&page));
    }
    assert_eq!(seen, sorted);
}

fn a_failed_transaction_leaves_nothing_written(backend: Backend) {
    let (_scratch, store) = store_on(backend);
    store
        .transaction(&|t| {
            t.put(Table::Tickets, b"kept", b"before")?;
            t.put(Table::Audit, b"doomed", b"before")?;
            t.next_id("ticket").map(|_| ())
        })
        .unwrap();
    let failed = store.transaction(&|t| {
        t.put(Table::Tickets, b"new", b"x")?;
        t.put(Table::Tickets, b"kept", b"overwritten")?;
        t.remove(Table::Audit, b"doomed")?;
        t.put(Table::Conversations, b"c", b"x")?;
        assert_eq!(t.next_id("ticket")?, 2);
        Err(StoreError::Backend("changed my mind".into()))
    });
    match failed {
        Err(StoreError::Backend(m)) => assert_eq!(m, "changed my mind", "the closure's own error"),
        other => panic!("the closure's error must come back: {other:?}"),
    }
    assert_eq!(store.get(Table::Tickets, b"new").unwrap(), None);
    assert_eq!(
        store.get(Table::Tickets, b"kept").unwrap(),
        Some(b"before".to_vec())
    );
    assert_eq!(
        store.get(Table::Audit, b"doomed").unwrap(),
        Some(b"before".to_vec())
    );
    assert!(
        store
            .scan_prefix(Table::Conversations, b"")
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.get(Table::Counters, b"ticket").unwrap(),
        Some(1u64.to_be_bytes().to_vec())
    );
}

fn next_id_counts_per_counter_and_rollbacks_do_not_consume(backend: Backend) {
    let (_scratch, store) = store_on(backend);
    let next = |counter: &str| {
        let id = Cell::new(0);
        store
            .transaction(&|t| {
                id.set(t.next_id(counter)?);
                Ok(())
            })
            .unwrap();
        id.get()
    };
    assert_eq!((next("ticket"), next("ticket"), next("ticket")), (1, 2, 3));
    assert_eq!(next("audit"), 1, "each counter counts on its own");
    assert_eq!(next("ticket"), 4);
    // Twice in one transaction: consecutive.
    store
        .transaction(&|t| {
            assert_eq!(t.next_id("audit")?, 2);
            assert_eq!(t.next_id("audit")?, 3);
            Ok(())
        })
        .unwrap();
    let rolled_back = store.transaction(&|t| {
        assert_eq!(t.next_id("ticket")?, 5);
        Err(StoreError::Backend("abandoned".into()))
    });
    assert!(rolled_back.is_err());
    assert_eq!(next("ticket"), 5, "a rolled-back id is not consumed");
    assert_eq!(next("audit"), 4);
    // Counters are records of `Table::Counters`, big-endian u64, the same bytes in every
    // backend: `store copy` moves them as they are.
    assert_eq!(
        store.get(Table::Counters, b"ticket").unwrap(),
        Some(5u64.to_be_bytes().to_vec())
    );
    assert_eq!(
        keys(&store.scan_prefix(Table::Counters, b"").unwrap()),
        vec![b"audit".to_vec(), b"ticket".to_vec()]
    );
    // A counter set by a plain put (as a copy does) continues from there.
    put(&*store, Table::Counters, b"copied", &41u64.to_be_bytes());
    assert_eq!(next("copied"), 42);
}

fn tables_are_separate_namespaces(backend: Backend) {
    let (_scratch, store) = store_on(backend);
    store
        .transaction(&|t| {
            for table in Table::ALL {
                t.put(table, b"same", table.name().as_bytes())?;
            }
            Ok(())
        })
        .unwrap();
    for table in Table::ALL {
        assert_eq!(
            store.get(table, b"same").unwrap(),
            Some(table.name().as_bytes().to_vec()),
            "{}",
            table.name()
        );
        let scanned = store.scan_prefix(table, b"").unwrap();
        assert_eq!(
            scanned,
            vec![(b"same".to_vec(), table.name().as_bytes().to_vec())]
        );
    }
    store
        .transaction(&|t| t.remove(Table::Tickets, b"same"))
        .unwrap();
    assert_eq!(store.get(Table::Tickets, b"same").unwrap(), None);
    for table in Table::ALL.into_iter().filter(|t| *t != Table::Tickets) {
        assert!(
            store.get(table, b"same").unwrap().is_some(),
            "removing from tickets removed from {}",
            table.name()
        );
    }
    // A counter lives in `counters` only: there `same` held the eight bytes "counters",
    // which next_id reads as a big-endian u64 and increments; no other table changes.
    store
        .transaction(&|t| t.next_id("same").map(|_| ()))
        .unwrap();
    assert_eq!(
        store.get(Table::Counters, b"same").unwrap(),
        Some(
            (u64::from_be_bytes(*b"counters") + 1)
                .to_be_bytes()
                .to_vec()
        )
    );
    assert_eq!(
        store.get(Table::Staff, b"same").unwrap(),
        Some(b"staff".to_vec())
    );
}

/// Each thread's ids, as its committed transactions saw them.
fn run_id_writers(
    stores: Vec<Arc<dyn Store>>,
    threads_per_store: usize,
    per_thread: usize,
) -> Vec<u64> {
    let barrier = Arc::new(Barrier::new(stores.len() * threads_per_store));
    let handles: Vec<_> = stores
        .iter()
        .flat_map(|store| (0..threads_per_store).map(move |_| store.clone()))
        .map(|store| {
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                barrier.wait();
                let mut ids = Vec::new();
                for _ in 0..per_thread {
                    // A transaction may run more than once; the id is the one its
                    // committed run drew.
                    let id = Cell::new(0);
                    store
                        .transaction(&|t| {
                            let n = t.next_id("shared")?;
                            t.put(Table::Tickets, &n.to_be_bytes(), &n.to_be_bytes())?;
                            id.set(n);
                            Ok(())
                        })
                        .unwrap();
                    ids.push(id.get());
                }
                ids
            })
        })
        .collect();
    handles
        .into_iter()
        .flat_map(|h| h.join().unwrap())
        .collect()
}

/// Every id from 1 to `n` drawn exactly once, a record under each, the counter at `n`.
fn assert_ids_dense(store: &dyn Store, mut ids: Vec<u64>, n: u64) {
    ids.sort_unstable();
    assert_eq!(ids, (1..=n).collect::<Vec<_>>(), "each id drawn once");
    let records = store.scan_prefix(Table::Tickets, b"").unwrap();
    assert_eq!(records.len() as u64, n);
    for (i, (k, v)) in records.iter().enumerate() {
        assert_eq!(k, &(i as u64 + 1).to_be_bytes());
        assert_eq!(k, v);
    }
    assert_eq!(
        store.get(Table::Counters, b"shared").unwrap(),
        Some(n.to_be_bytes().to_vec())
    );
}

fn concurrent_next_id_gives_every_id_once(backend: Backend) {
    let (_scratch, store) = store_on(backend);
    let ids = run_id_writers(vec![store.clone()], 8, 50);
    assert_ids_dense(&*store, ids, 400);
}

#[test]
fn postgres_two_instances_share_one_counter() {
    let database = TestDatabase::create();
    let first: Arc<dyn Store> = PgStore::open(&database.url).unwrap();
    let second: Arc<dyn Store> = PgStore::open(&database.url).unwrap();
    // 200 transactions from each instance, two threads apiece.
    let ids = run_id_writers(vec![first.clone(), second.clone()], 2, 100);
    assert_ids_dense(&*first, ids, 400);
    assert_eq!(
        second.get(Table::Counters, b"shared").unwrap(),
        Some(400u64.to_be_bytes().to_vec())
    );
}
