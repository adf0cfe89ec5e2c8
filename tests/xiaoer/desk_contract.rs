//! What the desk builds on the store, on both backends: messages in order, an audit line
//! per state change, accounts, and the admin figures.

use std::cell::Cell;

use xiaoer::desk::{Author, Desk, DeskError, InvestorInfo, Role};

use super::{Backend, desk_on, tiny_corpus};

crate::on_both_stores!(
    messages_are_stored_in_order,
    every_state_change_has_an_audit_record,
    accounts_are_created_authenticated_and_disabled,
    stats_count_what_happened,
);

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
