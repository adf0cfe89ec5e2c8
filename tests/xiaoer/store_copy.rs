//! `xiaoer store copy`: an office's desk on sled moves to PostgreSQL through the real
//! binary with nothing lost (conversations, messages, tickets, audit, accounts, sessions,
//! counters), a second copy into the now live database is refused and changes nothing,
//! and bad locations fail with a clear message and no password.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tempfile::TempDir;
use xiaoer::desk::{Desk, InvestorInfo, Role, TicketState, Vote};
use xiaoer::store::{PgStore, Record, SledStore, Store, Table};

use super::{TestDatabase, always_open, engine_in, tiny_corpus, xiaoer};

/// Every record of every table, in table and key order.
fn all_records(store: &dyn Store) -> Vec<(Table, Vec<Record>)> {
    Table::ALL
        .iter()
        .map(|t| (*t, store.scan_prefix(*t, b"").unwrap()))
        .collect()
}

/// `xiaoer store copy --from FROM --to TO`: (success, stdout, stderr).
fn store_copy(from: &str, to: &str) -> (bool, String, String) {
    let out = xiaoer()
        .args(["store", "copy", "--from", from, "--to", to])
        .env_remove("XIAOER_STORE")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Waits until no one holds sled's lock on `data`: a dropped store's flush thread lets
/// go of the database a moment after the store itself is gone.
fn wait_until_unlocked(data: &Path) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let file = std::fs::File::open(data.join("db")).unwrap();
    while file.try_lock().is_err() {
        assert!(Instant::now() < deadline, "the sled store stays locked");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The password in a URL, if it has one.
fn password_of(url: &str) -> Option<&str> {
    let rest = &url[url.find("://")? + 3..];
    let userinfo = &rest[..rest.rfind('@')?];
    userinfo
        .split_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty())
}

fn ask(desk: &Desk, chat: &str, text: &str) -> xiaoer::desk::Inbound {
    desk.investor_message("web", chat, text, &InvestorInfo::default())
        .unwrap()
}

/// What an office's desk held before the move, read through the desk.
struct Office {
    records: Vec<(Table, Vec<Record>)>,
    conversations: Vec<(
        String,
        xiaoer::desk::Conversation,
        Vec<xiaoer::desk::Message>,
    )>,
    tickets: Vec<xiaoer::desk::Ticket>,
    audit: Vec<xiaoer::desk::AuditRecord>,
    stats: xiaoer::desk::Stats,
    alice_token: String,
    bob_token: String,
    web_session: (String, String),
    console_cookie: String,
}

const ALICE_PASSWORD: &str = "a long enough password";

/// A desk on sled in `data` with some of everything: conversations, a ticket claimed and
/// replied, one still waiting, staff with a password, a web and a console session, a
/// WeChat message id taken in, feedback. Every table ends up with records.
fn run_an_office(data: &Path, engine: Arc<xiaoer::engine::Engine>) -> Office {
    let store = SledStore::open(data).unwrap();
    let desk = Desk::new(engine, store.clone(), always_open());
    let alice_token = desk
        .add_staff("alice", Role::Commissioner, &["新吴区".into()], &[])
        .unwrap();
    desk.set_password("alice", ALICE_PASSWORD).unwrap();
    let bob_token = desk.add_staff("bob", Role::Admin, &[], &[]).unwrap();
    ask(&desk, "c1", "你好");
    let answered = ask(&desk, "c1", "HNTE tax rate");
    desk.feedback("web:c1", answered.reply_seq.unwrap(), Vote::Up)
        .unwrap();
    ask(&desk, "c1", "人才公寓租金补贴");
    let claimed = ask(&desk, "c2", "转人工").ticket_opened.unwrap();
    desk.claim(claimed, "alice").unwrap();
    desk.reply(claimed, "alice", "您好，我是专员 alice。")
        .unwrap();
    ask(&desk, "c2", "谢谢，我们下周来访");
    let waiting = ask(&desk, "c3", "转人工").ticket_opened.unwrap();
    assert_eq!((claimed, waiting), (1, 2));
    let web_session = desk.new_session().unwrap();
    ask(&desk, &web_session.1, "你好");
    desk.investor_message_once(
        "wechat",
        "openid-1",
        "你好",
        &InvestorInfo::default(),
        Some("msg-1"),
    )
    .unwrap();
    // A delivery record, as a channel sender leaves one.
    assert!(desk.announce_once("telegram-staff-group:2").unwrap());
    let alice = desk.authenticate(&alice_token).unwrap().unwrap();
    let console_cookie = desk.open_console_session(&alice).unwrap();

    let records = all_records(&*store);
    for (table, rows) in &records {
        assert!(
            !rows.is_empty(),
            "the office has no {} to copy",
            table.name()
        );
    }
    let web_chat = format!("web:{}", web_session.1);
    let conversations = ["web:c1", "web:c2", "web:c3", "wechat:openid-1", &web_chat]
        .into_iter()
        .map(|id| {
            (
                id.to_string(),
                desk.conversation(id).unwrap().unwrap(),
                desk.messages(id, 0).unwrap(),
            )
        })
        .collect();
    Office {
        records,
        conversations,
        tickets: desk.all_tickets().unwrap(),
        audit: desk.audit_trail().unwrap(),
        stats: desk.stats().unwrap(),
        alice_token,
        bob_token,
        web_session,
        console_cookie,
    }
}

#[test]
fn a_sled_desk_moves_to_postgres_with_nothing_lost() {
    let scratch = TempDir::new().unwrap();
    let data = scratch.path().join("data");
    let engine = Arc::new(engine_in(&tiny_corpus(), &scratch.path().join("index")));
    let office = run_an_office(&data, engine.clone());
    wait_until_unlocked(&data);
    let total: usize = office.records.iter().map(|(_, r)| r.len()).sum();

    let database = TestDatabase::create();
    let (ok, out, err) = store_copy(data.to_str().unwrap(), &database.url);
    assert!(ok, "{out}\n{err}");
    assert!(
        out.contains(&format!("copied {total} records; counts match")),
        "{out}"
    );
    for (table, rows) in &office.records {
        let line = format!("{} {}", table.name(), rows.len());
        assert!(
            out.lines()
                .any(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") == line),
            "no line `{line}` in\n{out}"
        );
    }
    if let Some(password) = password_of(&database.url) {
        assert!(!out.contains(password) && !err.contains(password));
    }

    // Byte for byte, every table.
    let copied: Arc<dyn Store> = PgStore::open(&database.url).unwrap();
    assert!(all_records(&*copied) == office.records, "the copy differs");
    // The source is as it was.
    {
        let source = SledStore::open(&data).unwrap();
        assert!(all_records(&*source) == office.records);
    }
    wait_until_unlocked(&data);

    // Copying again into the now live database is refused and writes nothing.
    let (ok, out, err) = store_copy(data.to_str().unwrap(), &database.url);
    assert!(!ok, "a second copy must fail: {out}");
    assert!(
        err.contains("not empty") && err.contains("never merges into a live desk"),
        "{err}"
    );
    assert!(!out.contains("counts match"), "{out}");
    assert!(
        all_records(&*copied) == office.records,
        "the refused copy changed the target"
    );

    // The desk on PostgreSQL carries on where the sled one stopped.
    let desk = Desk::new(engine, copied.clone(), always_open());
    for (id, conversation, messages) in &office.conversations {
        assert_eq!(&desk.conversation(id).unwrap().unwrap(), conversation);
        assert_eq!(&desk.messages(id, 0).unwrap(), messages, "{id}");
    }
    assert_eq!(desk.all_tickets().unwrap(), office.tickets);
    assert!(matches!(
        desk.ticket(1).unwrap().state,
        TicketState::Claimed { ref by, .. } if by == "alice"
    ));
    assert_eq!(desk.audit_trail().unwrap(), office.audit);
    assert_eq!(desk.stats().unwrap(), office.stats);
    let alice = desk.authenticate(&office.alice_token).unwrap().unwrap();
    assert_eq!(
        (alice.name.as_str(), alice.role),
        ("alice", Role::Commissioner)
    );
    assert!(desk.sign_in("alice", ALICE_PASSWORD).unwrap().is_some());
    assert_eq!(
        desk.authenticate(&office.bob_token).unwrap().unwrap().role,
        Role::Admin
    );
    assert_eq!(
        desk.session_chat(&office.web_session.0).unwrap(),
        Some(office.web_session.1.clone())
    );
    assert_eq!(
        desk.console_session(&office.console_cookie)
            .unwrap()
            .unwrap()
            .name,
        "alice"
    );
    let again = desk
        .investor_message_once(
            "wechat",
            "openid-1",
            "你好",
            &InvestorInfo::default(),
            Some("msg-1"),
        )
        .unwrap();
    assert!(again.repeated, "a redelivery is still recognised");
    assert!(
        !desk.announce_once("telegram-staff-group:2").unwrap(),
        "what was announced is not announced again"
    );
    // Counters came along: a new ticket (and its audit line) continues after the old ones
    // instead of overwriting ticket 1 and audit record 1.
    let next = ask(&desk, "c4", "转人工").ticket_opened.unwrap();
    assert_eq!(next, 3);
    assert_eq!(desk.all_tickets().unwrap().len(), 3);
    let audit = desk.audit_trail().unwrap();
    assert_eq!(audit.len(), office.audit.len() + 1);
    assert_eq!(audit[..office.audit.len()], office.audit[..]);
    desk.reply(1, "alice", "已收到，下周见。").unwrap();

    // And any backend to any: back from PostgreSQL to a new sled directory.
    let back = scratch.path().join("back");
    let (ok, out, err) = store_copy(&database.url, back.to_str().unwrap());
    assert!(ok, "{out}\n{err}");
    let now_in_postgres = all_records(&*copied);
    let returned = SledStore::open(&back).unwrap();
    assert!(all_records(&*returned) == now_in_postgres);
    let total: usize = now_in_postgres.iter().map(|(_, r)| r.len()).sum();
    assert!(out.contains(&format!("copied {total} records; counts match")));
}

#[test]
fn a_missing_or_empty_source_is_refused_and_nothing_is_created() {
    let scratch = TempDir::new().unwrap();
    let missing = scratch.path().join("no-such-data");
    let target = scratch.path().join("target");
    let (ok, _, err) = store_copy(missing.to_str().unwrap(), target.to_str().unwrap());
    assert!(!ok);
    assert!(err.contains("does not exist"), "{err}");
    assert!(!missing.exists(), "the source is not created");
    assert!(!target.exists(), "nor the target");

    let empty = scratch.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let (ok, _, err) = store_copy(empty.to_str().unwrap(), target.to_str().unwrap());
    assert!(!ok);
    assert!(err.contains("holds no sled store"), "{err}");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0, "left empty");
    assert!(!target.exists());

    let (ok, _, err) = store_copy(empty.to_str().unwrap(), empty.to_str().unwrap());
    assert!(!ok && err.contains("the same store"), "{err}");
}

#[test]
fn copying_from_a_store_in_use_says_to_stop_serve() {
    let scratch = TempDir::new().unwrap();
    let data = scratch.path().join("data");
    // This process holds the store, as a running `serve` would.
    let held = SledStore::open(&data).unwrap();
    held.transaction(&|t| t.put(Table::Staff, b"alice", b"{}"))
        .unwrap();
    let target = scratch.path().join("target");
    let (ok, out, err) = store_copy(data.to_str().unwrap(), target.to_str().unwrap());
    assert!(!ok, "{out}");
    assert!(
        err.contains("in use") && err.contains("stop serve first"),
        "{err}"
    );
    assert!(!target.exists(), "nothing was copied");
    assert!(held.get(Table::Staff, b"alice").unwrap().is_some());
}

#[test]
fn a_bad_database_url_fails_clearly_without_its_password() {
    let scratch = TempDir::new().unwrap();
    let data = scratch.path().join("data");
    {
        let store = SledStore::open(&data).unwrap();
        store
            .transaction(&|t| t.put(Table::Staff, b"alice", b"{}"))
            .unwrap();
    }
    wait_until_unlocked(&data);
    let data = data.to_str().unwrap();
    // Nothing listens on port 1: the connection is refused.
    let (ok, out, err) = store_copy(data, "postgres://xiaoer:hunter2-secret@127.0.0.1:1/desk");
    assert!(!ok, "{out}");
    assert!(
        err.contains("postgres://xiaoer:***@127.0.0.1:1/desk"),
        "the message says where: {err}"
    );
    let (ok, out, err2) = store_copy(data, "postgresql://xiaoer:hunter2-secret@db:notaport/x");
    assert!(!ok, "{out}");
    assert!(err2.contains("bad URL"), "{err2}");
    for text in [&out, &err, &err2] {
        assert!(
            !text.contains("hunter2-secret"),
            "a password was printed: {text}"
        );
    }
}
