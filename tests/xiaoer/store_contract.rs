//! The store contract, checked on both backends: what `Store` and `Txn` promise (byte
//! order, prefixes, paging, rollback, counters, separate tables, concurrent writers), and
//! what the desk builds on it (messages in order, an audit line per change, accounts,
//! stats). PostgreSQL also races two instances on one database, as two `serve`s would.

use std::cell::Cell;
use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Barrier};

use xiaoer::desk::{Author, Desk, DeskConfig, DeskError, InvestorInfo, Role, TicketState};
use xiaoer::store::{PgStore, Record, Store, StoreError, Table};

use super::{Backend, TestDatabase, always_open, desk_on, engine_in, store_on, tiny_corpus};

crate::on_both_stores!(
    put_get_remove,
    a_transaction_reads_its_own_writes,
    scan_prefix_returns_exactly_the_prefixed_keys_in_byte_order,
    scan_from_respects_from_and_limit,
    a_failed_transaction_leaves_nothing_written,
    next_id_counts_per_counter_and_rollbacks_do_not_consume,
    tables_are_separate_namespaces,
    concurrent_next_id_gives_every_id_once,
    messages_are_stored_in_order,
    every_state_change_has_an_audit_record,
    accounts_are_created_authenticated_and_disabled,
    stats_count_what_happened,
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

/// Two desks on one PostgreSQL database, as two `serve` instances behind a balancer: each
/// its own store and engine, sharing only the database and (for the test) one clock.
fn two_desks(
    database: &TestDatabase,
    config: DeskConfig,
) -> (tempfile::TempDir, [Arc<Desk>; 2], Arc<AtomicI64>) {
    let dir = tempfile::TempDir::new().unwrap();
    let now = Arc::new(AtomicI64::new(1_800_000_000_000));
    let desks = ["a", "b"].map(|name| {
        let store = PgStore::open(&database.url).unwrap();
        let engine = engine_in(&tiny_corpus(), &dir.path().join(name).join("index"));
        let clock = now.clone();
        Arc::new(Desk::with_clock(
            Arc::new(engine),
            store,
            config.clone(),
            Box::new(move || clock.load(Ordering::SeqCst)),
        ))
    });
    (dir, desks, now)
}

/// Runs `f` on both desks at the same moment, from two threads.
fn race<T: Send + 'static>(
    desks: &[Arc<Desk>; 2],
    f: impl Fn(&Desk, usize) -> T + Send + Sync + 'static,
) -> [T; 2] {
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(2));
    let handles = [0, 1].map(|i| {
        let (desk, f, barrier) = (desks[i].clone(), f.clone(), barrier.clone());
        std::thread::spawn(move || {
            barrier.wait();
            f(&desk, i)
        })
    });
    handles.map(|h| h.join().unwrap())
}

#[test]
fn postgres_two_instances_claim_atomically_and_time_out_once() {
    let database = TestDatabase::create();
    let (_dir, desks, now) = two_desks(
        &database,
        DeskConfig {
            claim_timeout_secs: 60,
            ..always_open()
        },
    );
    let names = ["alice", "bob"];
    let mut tickets = Vec::new();
    // Several races, so that a check-then-write claim would be caught.
    for round in 0..6 {
        let ticket = desks[round % 2]
            .investor_message(
                "web",
                &format!("c{round}"),
                "转人工",
                &InvestorInfo::default(),
            )
            .unwrap()
            .ticket_opened
            .unwrap();
        let results = race(&desks, move |desk, i| desk.claim(ticket, names[i]));
        let winners: Vec<usize> = (0..2).filter(|i| results[*i].is_ok()).collect();
        assert_eq!(winners.len(), 1, "round {round}: {results:?}");
        let (winner, loser) = (winners[0], 1 - winners[0]);
        match &results[loser] {
            Err(DeskError::AlreadyClaimed { ticket: t, by }) => {
                assert_eq!((*t, by.as_str()), (ticket, names[winner]));
            }
            other => panic!("round {round}: the loser got {other:?}"),
        }
        // Both instances see the one owner.
        for desk in &desks {
            match desk.ticket(ticket).unwrap().state {
                TicketState::Claimed { by, .. } => assert_eq!(by, names[winner]),
                other => panic!("{other:?}"),
            }
        }
        tickets.push(ticket);
    }
    let claims = desks[0]
        .audit_trail()
        .unwrap()
        .iter()
        .filter(|a| a.what == "claimed")
        .count();
    assert_eq!(claims, tickets.len(), "one audit line per claim won");

    // Past the claim timeout both instances sweep at once: each ticket goes back to the
    // queue exactly once, from one of them.
    now.fetch_add(61_000, Ordering::SeqCst);
    let swept = race(&desks, |desk, _| desk.sweep_timers().unwrap());
    let mut returned: Vec<u64> = swept.iter().flatten().copied().collect();
    returned.sort_unstable();
    assert_eq!(returned, tickets, "each ticket returned once: {swept:?}");
    for &ticket in &tickets {
        let t = desks[1].ticket(ticket).unwrap();
        assert_eq!(t.state, TicketState::Open);
        assert!(t.flagged);
    }
    let timeouts = desks[1]
        .audit_trail()
        .unwrap()
        .iter()
        .filter(|a| a.what.contains("timed out"))
        .count();
    assert_eq!(timeouts, tickets.len());
    let again = race(&desks, |desk, _| desk.sweep_timers().unwrap());
    assert!(
        again.iter().all(Vec::is_empty),
        "nothing left to return: {again:?}"
    );
}

#[test]
fn postgres_each_reply_goes_out_once_whichever_instance_sends() {
    let database = TestDatabase::create();
    let (_dir, desks, _now) = two_desks(&database, always_open());
    let ticket = desks[0]
        .investor_message("wechat", "openid-9", "转人工", &InvestorInfo::default())
        .unwrap()
        .ticket_opened
        .unwrap();
    desks[1].claim(ticket, "alice").unwrap();
    // Every sender hears every event; both race to send what followed.
    let pick = xiaoer::channels::to_investor;
    for round in 0..5 {
        desks[round % 2]
            .reply(ticket, "alice", &format!("专员回复 {round}"))
            .unwrap();
        let sent = race(&desks, move |desk, _| {
            desk.take_outbound("wechat:openid-9", pick).unwrap()
        });
        let all: Vec<&String> = sent.iter().flatten().collect();
        assert_eq!(all.len(), 1, "round {round}: {sent:?}");
        assert!(all[0].contains(&format!("专员回复 {round}")), "{all:?}");
    }
    // The replies already went; nothing is sent twice.
    let again = race(&desks, move |desk, _| {
        desk.take_outbound("wechat:openid-9", pick).unwrap()
    });
    assert!(again.iter().all(Vec::is_empty), "{again:?}");
    // A ticket is announced by one instance only.
    let firsts = race(&desks, move |desk, _| {
        desk.announce_once(&format!("telegram-staff-group:{ticket}"))
            .unwrap()
    });
    assert_eq!(firsts.iter().filter(|f| **f).count(), 1, "{firsts:?}");
}

// ---- what the desk builds on the store ----

fn ask(desk: &Desk, chat: &str, text: &str) -> xiaoer::desk::Inbound {
    desk.investor_message("web", chat, text, &InvestorInfo::default())
        .unwrap()
}

fn messages_are_stored_in_order(backend: Backend) {
    let (_scratch, desk) = desk_on(backend, &tiny_corpus());
    // Interleaved with a conversation whose id extends this one's: keys must not mix.
    let questions = ["你好", "人才公寓租金补贴", "HNTE tax rate", "谢谢", "hello"];
    for (i, q) in questions.iter().enumerate() {
        ask(&desk, "c", q);
        ask(&desk, "c1", &format!("其他问题 {i}"));
    }
    // More than nine messages, so that seq 10 sorting before 2 as text would show.
    let msgs = desk.messages("web:c", 0).unwrap();
    assert_eq!(msgs.len(), 2 * questions.len());
    let seqs: Vec<u64> = msgs.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=10).collect::<Vec<_>>());
    for (i, q) in questions.iter().enumerate() {
        assert_eq!(msgs[2 * i].author, Author::Investor);
        assert_eq!(msgs[2 * i].text, *q);
        assert_eq!(msgs[2 * i + 1].author, Author::Bot);
        assert!(msgs[2 * i + 1].reply.is_some());
    }
    assert!(msgs.windows(2).all(|w| w[0].at <= w[1].at));
    let later: Vec<u64> = desk
        .messages("web:c", 7)
        .unwrap()
        .iter()
        .map(|m| m.seq)
        .collect();
    assert_eq!(later, vec![8, 9, 10]);
    assert!(desk.messages("web:c", 10).unwrap().is_empty());
    assert!(desk.messages("web:nobody", 0).unwrap().is_empty());
    let other = desk.messages("web:c1", 0).unwrap();
    assert_eq!(other.len(), 2 * questions.len());
    assert!(
        other
            .iter()
            .step_by(2)
            .all(|m| m.text.starts_with("其他问题"))
    );
    assert_eq!(desk.conversation("web:c").unwrap().unwrap().next_seq, 10);
}

fn every_state_change_has_an_audit_record(backend: Backend) {
    let (_scratch, desk) = desk_on(backend, &tiny_corpus());
    let expected = Cell::new(0);
    let step = |what: &str, ticket: Option<u64>| {
        expected.set(expected.get() + 1);
        let trail = desk.audit_trail().unwrap();
        assert_eq!(
            trail.len(),
            expected.get(),
            "one audit record per change: {trail:#?}"
        );
        let last = trail.last().unwrap();
        assert!(last.what.contains(what), "{last:?} is not {what}");
        assert_eq!(last.ticket, ticket);
    };
    ask(&desk, "c", "你好");
    let trail = desk.audit_trail().unwrap();
    assert!(trail.is_empty(), "a bot answer changes no owner: {trail:?}");
    let ticket = ask(&desk, "c", "转人工").ticket_opened.unwrap();
    step("handed off", Some(ticket));
    desk.claim(ticket, "alice").unwrap();
    step("claimed", Some(ticket));
    desk.reply(ticket, "alice", "您好").unwrap();
    step("replied", Some(ticket));
    desk.release(ticket, "alice").unwrap();
    step("released", Some(ticket));
    desk.claim(ticket, "bob").unwrap();
    step("claimed", Some(ticket));
    // A refused action changes nothing and writes no audit line.
    assert!(desk.reply(ticket, "alice", "我还在").is_err());
    assert_eq!(desk.audit_trail().unwrap().len(), expected.get());
    desk.close(ticket, "bob").unwrap();
    step("closed", Some(ticket));
    desk.add_staff("carol", Role::Admin, &[], &[]).unwrap();
    step("added staff carol", None);
    let trail = desk.audit_trail().unwrap();
    let who: Vec<&str> = trail.iter().map(|a| a.who.as_str()).collect();
    assert_eq!(
        who,
        ["bot", "alice", "alice", "alice", "bob", "bob", "admin"]
    );
    assert!(trail.windows(2).all(|w| w[0].at <= w[1].at), "in order");
    assert!(
        trail[..6]
            .iter()
            .all(|a| a.conversation.as_deref() == Some("web:c"))
    );
}

fn accounts_are_created_authenticated_and_disabled(backend: Backend) {
    let (_scratch, desk) = desk_on(backend, &tiny_corpus());
    let token = desk
        .add_staff("alice", Role::Commissioner, &["新吴区".into()], &[])
        .unwrap();
    let account = desk.authenticate(&token).unwrap().expect("the token works");
    assert_eq!(
        (account.name.as_str(), account.role),
        ("alice", Role::Commissioner)
    );
    assert_eq!(account.regions, vec!["新吴区".to_string()]);
    assert!(desk.authenticate("not-a-token").unwrap().is_none());
    assert!(matches!(
        desk.add_staff("alice", Role::Admin, &[], &[]),
        Err(DeskError::Invalid(_))
    ));
    let stored = desk.staff_accounts().unwrap();
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0].token_hash, token, "only the hash is stored");

    desk.set_password("alice", "correct horse battery").unwrap();
    assert!(
        desk.sign_in("alice", "correct horse battery")
            .unwrap()
            .is_some()
    );
    assert!(desk.sign_in("alice", "wrong password!").unwrap().is_none());

    desk.set_disabled("admin", "alice", true).unwrap();
    assert!(desk.authenticate(&token).unwrap().is_none(), "disabled");
    assert!(
        desk.sign_in("alice", "correct horse battery")
            .unwrap()
            .is_none()
    );
    desk.set_disabled("admin", "alice", false).unwrap();
    assert!(desk.authenticate(&token).unwrap().is_some(), "re-enabled");

    let rotated = desk.rotate_token("admin", "alice").unwrap();
    assert!(
        desk.authenticate(&token).unwrap().is_none(),
        "old token stops"
    );
    assert!(desk.authenticate(&rotated).unwrap().is_some());
    assert!(matches!(
        desk.set_disabled("admin", "nobody", true),
        Err(DeskError::NotFound(_))
    ));
    let trail: Vec<String> = desk
        .audit_trail()
        .unwrap()
        .into_iter()
        .map(|a| a.what)
        .collect();
    assert_eq!(
        trail,
        [
            "added staff alice (Commissioner)",
            "set the password of alice",
            "disabled staff alice",
            "re-enabled staff alice",
            "rotated the token of alice",
        ]
    );
}

fn stats_count_what_happened(backend: Backend) {
    let (_scratch, desk) = desk_on(backend, &tiny_corpus());
    assert_eq!(desk.stats().unwrap(), xiaoer::desk::Stats::default());
    let answered = ask(&desk, "a", "HNTE tax rate");
    assert_eq!(answered.reply.unwrap().kind, xiaoer::answer::Kind::Answer);
    ask(&desk, "a", "你好");
    let first = ask(&desk, "b", "转人工").ticket_opened.unwrap();
    ask(&desk, "c", "转人工").ticket_opened.unwrap();
    desk.claim(first, "alice").unwrap();
    desk.reply(first, "alice", "您好").unwrap();
    desk.close(first, "alice").unwrap();
    let seq = desk.messages("web:a", 0).unwrap()[1].seq;
    desk.feedback("web:a", seq, xiaoer::desk::Vote::Up).unwrap();
    let s = desk.stats().unwrap();
    // Small talk is not a question.
    assert_eq!(
        (s.conversations, s.questions, s.answered, s.handed_off),
        (3, 3, 1, 2)
    );
    assert_eq!((s.tickets, s.tickets_open), (2, 1));
    assert_eq!((s.thumbs_up, s.thumbs_down), (1, 0));
    assert!(
        s.median_first_reply_secs.is_some_and(|m| m >= 0.0),
        "one ticket was answered: {s:?}"
    );
}
