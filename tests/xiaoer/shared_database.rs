//! Two desks on one PostgreSQL database, as two `serve` instances behind a balancer, each
//! with its own store and engine: a claim is atomic across them, a claim timeout returns a
//! ticket once, and each reply to an investor goes out once whichever instance sends.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::{Arc, Barrier};

use xiaoer::desk::{Desk, DeskConfig, DeskError, InvestorInfo, TicketState};
use xiaoer::store::PgStore;

use super::{TestDatabase, always_open, engine_in, tiny_corpus};

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
