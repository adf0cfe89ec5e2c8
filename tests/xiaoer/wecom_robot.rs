//! The WeCom group robot against a fake webhook on 127.0.0.1: a hand-off posts one
//! markdown brief naming the ticket at the moment the app's card goes out; past the
//! robot's limit the briefs waiting are combined, none lost; a refusal for the limit
//! (45009) is retried after the window; the webhook's key never shows in Debug output.

use std::sync::Arc;
use std::time::{Duration, Instant};

use xiaoer::channels::wecom::WecomConfig;
use xiaoer::channels::wecom::api::Api;
use xiaoer::channels::wecom::mailer::Mailer;
use xiaoer::channels::wecom::robot::Robot;
use xiaoer::desk::Desk;

use super::wecom::{AGENT_ID, CONSOLE, CORP_ID, SECRET, commissioner};
use super::wecom_fake::{FakeApi, ROBOT_PATH, fake_api, messages_to, robot_accepted, robot_named};
use super::{desk_for, shipped_corpus};

const ROBOT_KEY: &str = "693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa";

struct Setup {
    _dir: tempfile::TempDir,
    desk: Arc<Desk>,
    fake: FakeApi,
    robot: Arc<Robot>,
}

/// A desk whose new tickets go to the app (cards) and the group robot, the robot posting
/// at most `limit` messages per `window`.
async fn setup(limit: usize, window: Duration) -> Setup {
    let fake = fake_api(false).await;
    let (dir, desk) = desk_for(&shipped_corpus());
    let api = Arc::new(Api::new(&fake.url, CORP_ID, SECRET, AGENT_ID));
    let mailer = Mailer::new(api);
    let webhook = format!("{}{ROBOT_PATH}?key={ROBOT_KEY}", fake.url);
    let robot = Robot::start(&webhook, Some(CONSOLE.into()), limit, window).unwrap();
    tokio::spawn(xiaoer::channels::wecom::outbound::outbound(
        desk.clone(),
        Some(mailer),
        Some(robot.clone()),
        Some(CONSOLE.into()),
    ));
    Setup {
        _dir: dir,
        desk,
        fake,
        robot,
    }
}

fn hand_off(desk: &Desk, channel: &str, chat: &str) -> u64 {
    desk.investor_message(channel, chat, "转人工", &Default::default())
        .unwrap()
        .ticket_opened
        .expect("a ticket")
}

/// Waits (at most 5 s) until the robot has nothing queued.
async fn drained(robot: &Robot) {
    let empty = async {
        while robot.queued() > 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(5), empty)
        .await
        .unwrap_or_else(|_| panic!("{} notices still queued", robot.queued()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hand_off_posts_one_markdown_brief_naming_the_ticket_beside_the_card() {
    let s = setup(20, Duration::from_secs(60)).await;
    commissioner(&s.desk, "alice", "新吴区", "alice.w");
    let t = hand_off(&s.desk, "wechat", "o_group");
    let card = messages_to(&s.fake, "alice.w", 1).await.remove(0);
    assert_eq!(card["textcard"]["title"], format!("工单 #{t}"));
    robot_named(&s.fake, &[t], Duration::from_secs(5)).await;
    drained(&s.robot).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let posts = s.fake.posts.lock().unwrap().clone();
    assert_eq!(posts.len(), 1, "one brief: {posts:?}");
    let (key, body, _) = &posts[0];
    assert_eq!(key, ROBOT_KEY);
    assert_eq!(body["msgtype"], "markdown", "{body}");
    let content = body["markdown"]["content"].as_str().unwrap();
    assert!(
        content.starts_with(&format!("**新工单** #{t} · 微信")),
        "{content}"
    );
    assert!(content.contains("问题：转人工"), "{content}");
    assert!(content.contains("投资者要求人工"), "{content}");
    assert!(
        content.contains(&format!("[在控制台处理]({CONSOLE})")),
        "{content}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn past_the_robots_limit_the_briefs_waiting_are_combined_and_none_is_lost() {
    // Two posts per 1.5 s stands in for the robot's 20 a minute.
    let window = Duration::from_millis(1500);
    let s = setup(2, window).await;
    let start = Instant::now();
    let tickets: Vec<u64> = (0..5)
        .map(|i| hand_off(&s.desk, "web", &format!("burst{i}")))
        .collect();
    let posts = robot_named(&s.fake, &tickets, Duration::from_secs(10)).await;
    assert!(start.elapsed() >= window, "{:?}", start.elapsed());
    drained(&s.robot).await;
    // Nothing more arrives after the last is named.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let posts_now = robot_accepted(&s.fake);
    assert_eq!(posts_now, posts);
    assert!(posts.len() < 5, "batched into fewer messages: {posts:#?}");
    for t in &tickets {
        let mark = format!("#{t} ·");
        let copies: usize = posts.iter().map(|p| p.matches(&mark).count()).sum();
        assert_eq!(copies, 1, "ticket {t} named once: {posts:#?}");
    }
    let combined = posts
        .iter()
        .find(|p| p.contains(" 个新工单**"))
        .unwrap_or_else(|| panic!("a combined message: {posts:#?}"));
    assert!(combined.len() <= 4096);
    assert!(combined.contains("网页"), "{combined}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusal_for_the_limit_is_retried_after_the_window_not_dropped() {
    let window = Duration::from_millis(800);
    let s = setup(20, window).await;
    s.fake
        .robot_busy
        .store(1, std::sync::atomic::Ordering::SeqCst);
    let start = Instant::now();
    let t = hand_off(&s.desk, "telegram", "42");
    robot_named(&s.fake, &[t], Duration::from_secs(5)).await;
    assert!(start.elapsed() >= window, "{:?}", start.elapsed());
    drained(&s.robot).await;
    let posts = s.fake.posts.lock().unwrap().clone();
    let codes: Vec<i64> = posts.iter().map(|p| p.2).collect();
    assert_eq!(codes, [45009, 0], "{posts:?}");
    // The same brief both times.
    assert_eq!(posts[0].1, posts[1].1);
    assert!(
        posts[1].1["markdown"]["content"]
            .as_str()
            .unwrap()
            .contains(&format!("#{t} · Telegram"))
    );
}

#[tokio::test]
async fn the_webhook_key_never_shows_in_debug_output() {
    let webhook = format!("https://qyapi.weixin.qq.com{ROBOT_PATH}?key={ROBOT_KEY}");
    let config = WecomConfig {
        robot_webhook: Some(webhook.clone()),
        ..WecomConfig::default()
    };
    let shown = format!("{config:?}");
    assert!(!shown.contains(ROBOT_KEY), "{shown}");
    assert!(shown.contains("qyapi.weixin.qq.com"), "{shown}");
    let robot = Robot::start(&webhook, None, 20, Duration::from_secs(60)).unwrap();
    let shown = format!("{robot:?}");
    assert!(!shown.contains(ROBOT_KEY), "{shown}");
    assert_eq!(robot.host(), "qyapi.weixin.qq.com");
    // A webhook that is not a URL is refused without being echoed.
    let bad = format!("qyapi.weixin.qq.com{ROBOT_PATH}?key={ROBOT_KEY}");
    let e = Robot::start(&bad, None, 20, Duration::from_secs(60)).unwrap_err();
    assert!(!e.contains(ROBOT_KEY), "{e}");
}
