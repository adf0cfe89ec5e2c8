//! The desk as a commissioner and an investor use it: hand-off, claim, reply, hand back,
//! timers, office hours, cancel, routing, feedback, stats. Every test runs on both stores
//! (sled and PostgreSQL): this is the store contract as the desk relies on it.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use xiaoer::answer::Kind;
use xiaoer::desk::{Desk, DeskConfig, DeskError, InvestorInfo, OfficeHours, Role, TicketState};

use super::{
    Backend, Scratch, always_open, desk_on, engine_in, shipped_corpus, store_on, tiny_corpus,
};

/// A desk on the tiny corpus whose clock the test moves (`now`, in milliseconds).
fn desk_with_clock(backend: Backend, config: DeskConfig) -> (Scratch, Desk, Arc<AtomicI64>) {
    let (scratch, store) = store_on(backend);
    let engine = engine_in(&tiny_corpus(), &scratch.dir.path().join("index"));
    let now = Arc::new(AtomicI64::new(1_800_000_000_000));
    let clock = now.clone();
    let desk = Desk::with_clock(
        Arc::new(engine),
        store,
        config,
        Box::new(move || clock.load(Ordering::SeqCst)),
    );
    (scratch, desk, now)
}

crate::on_both_stores!(
    hand_off_claim_reply_hand_back,
    concurrent_claims_have_exactly_one_winner,
    unanswered_claims_return_to_the_queue_flagged,
    outside_office_hours_the_investor_is_told_once_when_a_person_will_reply,
    the_investor_can_cancel_an_escalation,
    tickets_are_routed_to_matching_commissioners_who_are_online,
    feedback_stats_and_unanswered_questions,
    coverage_can_come_from_the_config,
    idle_web_sessions_expire_and_are_purged,
    console_sessions_expire_and_end_on_sign_out,
);

fn ask(desk: &Desk, chat: &str, text: &str) -> xiaoer::desk::Inbound {
    desk.investor_message("web", chat, text, &InvestorInfo::default())
        .unwrap()
}

fn hand_off_claim_reply_hand_back(backend: Backend) {
    let (_scratch, desk) = desk_on(backend, &shipped_corpus());
    let first = ask(&desk, "c1", "高新技术企业的企业所得税税率是多少？");
    assert_eq!(first.state, "bot");
    assert_eq!(first.reply.as_ref().unwrap().kind, Kind::Answer);

    let off = ask(
        &desk,
        "c1",
        "我们想在新吴区投一个芯片封测项目，能约个时间当面谈谈吗？转人工",
    );
    assert_eq!(off.state, "waiting");
    let ticket = off.ticket_opened.expect("a ticket");
    let t = desk.ticket(ticket).unwrap();
    assert_eq!(t.brief.reason, "asked_for_person");
    assert_eq!(
        t.brief.before.len(),
        2,
        "the question before it is in the brief"
    );
    assert_eq!(t.region.as_deref(), Some("新吴区"));
    assert_eq!(t.industry.as_deref(), Some("集成电路"));

    desk.claim(ticket, "alice").unwrap();
    match desk.claim(ticket, "bob") {
        Err(DeskError::AlreadyClaimed { by, .. }) => assert_eq!(by, "alice"),
        other => panic!("bob must not win: {other:?}"),
    }
    // While alice owns the chat the bot stays silent.
    let silent = ask(&desk, "c1", "高企税率多少");
    assert_eq!(silent.state, "staff");
    assert!(silent.reply.is_none());
    assert!(matches!(
        desk.reply(ticket, "bob", "hi"),
        Err(DeskError::NotYours { .. })
    ));
    desk.reply(ticket, "alice", "您好，我是专员 alice，明天上午可以面谈。")
        .unwrap();
    let msgs = desk.messages("web:c1", 0).unwrap();
    assert!(msgs.iter().any(|m| m.text.contains("明天上午可以面谈")));

    desk.handback(ticket, "alice").unwrap();
    let back = ask(&desk, "c1", "高新技术企业的企业所得税税率是多少？");
    assert_eq!(back.state, "bot");
    assert_eq!(back.reply.unwrap().kind, Kind::Answer);
    let audit = desk.audit_trail().unwrap();
    for what in ["handed off", "claimed", "replied", "handed back"] {
        assert!(
            audit.iter().any(|a| a.what.contains(what)),
            "audit lacks {what}"
        );
    }
}

fn concurrent_claims_have_exactly_one_winner(backend: Backend) {
    let (_scratch, desk) = desk_on(backend, &tiny_corpus());
    let ticket = ask(&desk, "c", "转人工").ticket_opened.unwrap();
    let handles: Vec<_> = (0..8)
        .map(|i| {
            let desk = desk.clone();
            std::thread::spawn(move || desk.claim(ticket, &format!("staff{i}")).is_ok())
        })
        .collect();
    let wins = handles
        .into_iter()
        .map(|h| h.join().unwrap())
        .filter(|w| *w)
        .count();
    assert_eq!(wins, 1);
}

fn unanswered_claims_return_to_the_queue_flagged(backend: Backend) {
    let (_scratch, desk, now) = desk_with_clock(
        backend,
        DeskConfig {
            claim_timeout_secs: 60,
            ..always_open()
        },
    );
    let ticket = ask(&desk, "c", "转人工").ticket_opened.unwrap();
    desk.claim(ticket, "alice").unwrap();
    now.fetch_add(30_000, Ordering::SeqCst);
    assert!(desk.sweep_timers().unwrap().is_empty(), "not yet");
    now.fetch_add(31_000, Ordering::SeqCst);
    assert_eq!(desk.sweep_timers().unwrap(), vec![ticket]);
    let t = desk.ticket(ticket).unwrap();
    assert!(t.flagged);
    assert_eq!(t.state, TicketState::Open);
    assert_eq!(
        desk.conversation("web:c").unwrap().unwrap().owner.state(),
        "waiting"
    );
    // A claim that was answered is not taken away.
    desk.claim(ticket, "bob").unwrap();
    desk.reply(ticket, "bob", "在的").unwrap();
    now.fetch_add(120_000, Ordering::SeqCst);
    assert!(desk.sweep_timers().unwrap().is_empty());
}

fn outside_office_hours_the_investor_is_told_once_when_a_person_will_reply(backend: Backend) {
    let (scratch, store) = store_on(backend);
    let engine = engine_in(&tiny_corpus(), &scratch.dir.path().join("index"));
    // Saturday 2026-11-28 10:00 in Wuxi.
    let saturday = chrono::DateTime::parse_from_rfc3339("2026-11-28T10:00:00+08:00")
        .unwrap()
        .timestamp_millis();
    let config = DeskConfig {
        office_hours: OfficeHours::default(),
        ..DeskConfig::default()
    };
    let desk = Desk::with_clock(Arc::new(engine), store, config, Box::new(move || saturday));
    let r = ask(&desk, "c", "转人工").reply.unwrap();
    assert!(
        r.text.contains("非工作时间") && r.text.contains("11月30日 09:00"),
        "{}",
        r.text
    );
    // Cancel, ask again: not told twice in the same closed period.
    assert!(
        ask(&desk, "c", "取消")
            .reply
            .unwrap()
            .text
            .contains("已取消")
    );
    let again = ask(&desk, "c", "转人工").reply.unwrap();
    assert!(!again.text.contains("非工作时间"), "{}", again.text);
    // While waiting, the bot still answers what it can.
    let answered = ask(&desk, "c", "高新技术企业税率");
    assert_eq!(answered.state, "waiting");
    assert_eq!(answered.reply.unwrap().kind, Kind::Answer);
}

fn the_investor_can_cancel_an_escalation(backend: Backend) {
    let (_scratch, desk) = desk_on(backend, &tiny_corpus());
    let ticket = ask(&desk, "c", "转人工").ticket_opened.unwrap();
    let t = desk.cancel("web:c").unwrap().unwrap();
    assert_eq!(t.id, ticket);
    assert!(!desk.ticket(ticket).unwrap().is_open());
    assert_eq!(
        desk.conversation("web:c").unwrap().unwrap().owner.state(),
        "bot"
    );
    assert!(
        desk.claim(ticket, "alice").is_err(),
        "a cancelled ticket cannot be claimed"
    );
}

fn tickets_are_routed_to_matching_commissioners_who_are_online(backend: Backend) {
    let (_scratch, desk) = desk_on(backend, &shipped_corpus());
    let alice = desk
        .add_staff("alice", Role::Commissioner, &["新吴区".into()], &[])
        .unwrap();
    let bob = desk
        .add_staff("bob", Role::Commissioner, &["江阴市".into()], &[])
        .unwrap();
    // Nobody online: the ticket goes to everyone.
    let t1 = ask(&desk, "a", "我们在新吴区的项目需要人工对接，转人工")
        .ticket_opened
        .unwrap();
    assert!(desk.ticket(t1).unwrap().routed_to.is_empty());
    desk.authenticate(&alice).unwrap().unwrap();
    desk.authenticate(&bob).unwrap().unwrap();
    let t2 = ask(&desk, "b", "新吴区的厂房问题，转人工")
        .ticket_opened
        .unwrap();
    assert_eq!(
        desk.ticket(t2).unwrap().routed_to,
        vec!["alice".to_string()]
    );
}

fn feedback_stats_and_unanswered_questions(backend: Backend) {
    let (_scratch, desk) = desk_on(backend, &shipped_corpus());
    let a = ask(&desk, "s", "高新技术企业的企业所得税税率是多少？");
    assert_eq!(a.reply.unwrap().kind, Kind::Answer);
    let seq = desk.messages("web:s", 0).unwrap().last().unwrap().seq;
    desk.feedback("web:s", seq, xiaoer::desk::Vote::Down)
        .unwrap();
    let off = ask(&desk, "t", "明天无锡会下雨吗").ticket_opened.unwrap();
    ask(&desk, "u", "后天无锡会下雨吗");
    desk.claim(off, "alice").unwrap();
    desk.reply(off, "alice", "天气请查看气象台。").unwrap();
    let s = desk.stats().unwrap();
    assert_eq!(
        (s.questions, s.answered, s.handed_off, s.thumbs_down),
        (3, 1, 2, 1)
    );
    assert!(s.median_first_reply_secs.is_some());
    let groups = desk.unanswered().unwrap();
    let rain = groups
        .iter()
        .find(|g| g.question.contains("下雨"))
        .expect("grouped");
    assert_eq!(rain.count, 2, "{groups:#?}");
    assert!(
        rain.items
            .iter()
            .any(|i| i.staff_reply.as_deref() == Some("天气请查看气象台。"))
    );
    assert!(
        groups
            .iter()
            .any(|g| g.items.iter().any(|i| i.why == "thumbs_down"))
    );
}

fn coverage_can_come_from_the_config(backend: Backend) {
    let (scratch, store) = store_on(backend);
    let engine = engine_in(&shipped_corpus(), &scratch.dir.path().join("index"));
    let config: xiaoer::config::Config = xiaoer::config::Config::parse(
        "[desk]\n[[desk.commissioners]]\nname = \"dora\"\nindustries = [\"集成电路\"]\n",
        std::path::Path::new("x.toml"),
    )
    .unwrap();
    let desk = Desk::new(
        Arc::new(engine),
        store,
        DeskConfig {
            commissioners: config.desk.commissioners,
            ..always_open()
        },
    );
    let token = desk
        .add_staff("dora", Role::Commissioner, &[], &[])
        .unwrap();
    desk.authenticate(&token).unwrap().unwrap();
    let t = ask(&desk, "x", "我们做芯片设计，想找人聊聊落地，转人工")
        .ticket_opened
        .unwrap();
    assert_eq!(desk.ticket(t).unwrap().routed_to, vec!["dora".to_string()]);
}

fn idle_web_sessions_expire_and_are_purged(backend: Backend) {
    let (_scratch, desk, now) = desk_with_clock(
        backend,
        DeskConfig {
            session_idle_days: 30,
            ..always_open()
        },
    );
    let day = 24 * 3600 * 1000;
    let (kept, kept_chat) = desk.new_session().unwrap();
    let (idle, _) = desk.new_session().unwrap();
    now.fetch_add(20 * day, Ordering::SeqCst);
    // Using a session keeps it alive: its last use is recorded.
    assert_eq!(desk.session_chat(&kept).unwrap(), Some(kept_chat.clone()));
    now.fetch_add(11 * day, Ordering::SeqCst);
    assert_eq!(
        desk.session_chat(&idle).unwrap(),
        None,
        "idle 31 days: expired"
    );
    assert_eq!(desk.session_chat(&kept).unwrap(), Some(kept_chat));
    assert_eq!(
        desk.session_count().unwrap(),
        2,
        "expired but not yet purged"
    );
    assert_eq!(desk.purge_sessions().unwrap(), 1);
    assert_eq!(desk.session_count().unwrap(), 1);
}

fn console_sessions_expire_and_end_on_sign_out(backend: Backend) {
    let (_scratch, desk, now) = desk_with_clock(
        backend,
        DeskConfig {
            console_session_hours: 12,
            ..always_open()
        },
    );
    let token = desk
        .add_staff("alice", Role::Commissioner, &[], &[])
        .unwrap();
    let account = desk.authenticate(&token).unwrap().unwrap();
    let morning = desk.open_console_session(&account).unwrap();
    let other = desk.open_console_session(&account).unwrap();
    assert_eq!(
        desk.console_session(&morning).unwrap().unwrap().name,
        "alice"
    );
    desk.close_console_session(&other).unwrap();
    assert!(
        desk.console_session(&other).unwrap().is_none(),
        "signed out"
    );
    now.fetch_add(13 * 3600 * 1000, Ordering::SeqCst);
    assert!(
        desk.console_session(&morning).unwrap().is_none(),
        "expired after 12 hours"
    );
    assert!(
        desk.authenticate(&token).unwrap().is_some(),
        "the API token is unaffected"
    );
}
