//! A real browser (headless Chromium through chromedriver): an investor asks, sees sources,
//! is handed off; in a second browser a commissioner signs in, claims and replies; the reply
//! appears live on the investor's page; the commissioner hands back and the bot answers
//! again. Screenshots go to `<target>/tmp/browser/`. Never skipped: without Chromium it
//! fails (.ci/run installs it).

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use super::crash::{add_staff, start_server};
use super::{KillOnDrop, shipped_corpus};

const WAIT: Duration = Duration::from_secs(20);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn chromedriver() -> (KillOnDrop, String) {
    let port = free_port();
    let binary = ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("chromedriver is not installed: run `bash .ci/run`, which installs chromium and chromium-driver");
    let child = Command::new(binary)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("chromedriver starts");
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < WAIT, "chromedriver did not listen");
        std::thread::sleep(Duration::from_millis(50));
    }
    (KillOnDrop(child), format!("http://127.0.0.1:{port}"))
}

async fn browser(driver: &str, profile: &std::path::Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        serde_json::json!({
            "binary": "/usr/bin/chromium",
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=420,860",
                format!("--user-data-dir={}", profile.display()),
            ]
        }),
    );
    ClientBuilder::new(HttpConnector::new())
        .capabilities(caps)
        .connect(driver)
        .await
        .expect("a Chromium session")
}

async fn shot(client: &Client, name: &str) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

async fn type_and_send(client: &Client, text: &str) {
    let input = client.find(Locator::Css("#input")).await.unwrap();
    input.send_keys(text).await.unwrap();
    client
        .find(Locator::Css("#send"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// The element `css` finds, waiting up to `WAIT` for it to appear.
async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .unwrap()
}

/// Types into the element `css` finds. The staff console redraws a ticket on every desk
/// event, so an element found a moment ago may have been replaced: find it again, clear
/// what a redraw may have carried over, and type again.
async fn type_into(client: &Client, css: &str, text: &str) {
    let started = Instant::now();
    loop {
        let element = wait_for(client, css).await;
        match element.send_keys(text).await {
            Ok(()) => return,
            Err(e) if e.is_stale_element_reference() => {
                let clear = format!(
                    "const e = document.querySelector({}); if (e) e.value = '';",
                    serde_json::json!(css)
                );
                client.execute(&clear, vec![]).await.unwrap();
            }
            Err(e) => panic!("typing into {css}: {e}"),
        }
        assert!(started.elapsed() < WAIT, "could not type into {css}");
    }
}

/// Clicks the element `css` finds, finding it again if a redraw replaced it.
async fn click(client: &Client, css: &str) {
    let started = Instant::now();
    loop {
        let element = wait_for(client, css).await;
        match element.click().await {
            Ok(()) => return,
            Err(e) if e.is_stale_element_reference() => {}
            Err(e) => panic!("clicking {css}: {e}"),
        }
        assert!(started.elapsed() < WAIT, "could not click {css}");
    }
}

/// Waits until `script` (a JS expression) is true on the page.
async fn until(client: &Client, what: &str, script: &str) {
    let started = Instant::now();
    loop {
        let v = client
            .execute(&format!("return !!({script});"), vec![])
            .await
            .unwrap();
        if v == serde_json::Value::Bool(true) {
            return;
        }
        assert!(started.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn investor_and_commissioner_in_real_browsers() {
    let dir = tempfile::tempdir().unwrap();
    let (data, index) = (dir.path().join("data"), dir.path().join("index"));
    let corpus = shipped_corpus();
    let token = add_staff(&data, &index, &corpus, "alice", "commissioner");
    let (server, url) = start_server(&data, &index, &corpus, &[]);
    let _server = KillOnDrop(server);
    let (_driver, driver) = chromedriver();

    let investor = browser(&driver, &dir.path().join("profile-investor")).await;
    investor.goto(&format!("{url}/")).await.unwrap();
    type_and_send(&investor, "高新技术企业的企业所得税税率是多少？").await;
    until(
        &investor,
        "an answer with sources",
        "document.querySelector('.msg.bot .sources li')",
    )
    .await;
    let answer = investor
        .find(Locator::Css(".msg.bot"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        answer.contains("15%") && answer.contains("现行有效"),
        "{answer}"
    );
    shot(&investor, "1-answer-with-sources").await;

    type_and_send(&investor, "明天无锡会下雨吗").await;
    until(
        &investor,
        "the hand-off",
        "document.getElementById('state').dataset.state === 'waiting'",
    )
    .await;
    shot(&investor, "2-handed-off").await;

    // Markup typed by an investor is shown as text and never runs.
    type_and_send(&investor, "<img src=x onerror=\"document.body.dataset.pwned=1\"><script>document.body.dataset.pwned=1</script>").await;
    until(
        &investor,
        "the markup shown as text",
        "[...document.querySelectorAll('.msg.me')].some(m => m.textContent.includes('<img src=x'))",
    )
    .await;
    let pwned = investor
        .execute("return document.body.dataset.pwned || null;", vec![])
        .await
        .unwrap();
    assert!(pwned.is_null(), "markup ran in the page");
    let imgs = investor
        .execute(
            "return document.querySelectorAll('#messages img').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(imgs, serde_json::json!(0));

    let staff = browser(&driver, &dir.path().join("profile-staff")).await;
    staff.goto(&format!("{url}/staff")).await.unwrap();
    staff
        .find(Locator::Css("#token"))
        .await
        .unwrap()
        .send_keys(&token)
        .await
        .unwrap();
    staff
        .find(Locator::Css("#signin"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let ticket = wait_for(&staff, ".ticket").await;
    assert!(ticket.text().await.unwrap().contains("明天无锡会下雨吗"));
    ticket.click().await.unwrap();
    until(&staff, "the conversation with the markup as text", "[...document.querySelectorAll('#detail .msg')].some(m => m.textContent.includes('<img src=x'))").await;
    let pwned = staff
        .execute("return document.body.dataset.pwned || null;", vec![])
        .await
        .unwrap();
    assert!(pwned.is_null(), "markup ran in the staff console");
    click(&staff, "button.claim").await;
    let draft = "您好，我是专员 alice。天气请以气象台为准；项目的事我来跟进。";
    type_into(&staff, "#replyText", draft).await;
    // The investor writes again while the commissioner types: the console redraws the
    // ticket with the new message, and the half-written reply survives the redraw.
    type_and_send(&investor, "还在吗？").await;
    until(
        &staff,
        "the investor's new message in the console",
        "[...document.querySelectorAll('#detail .msg')].some(m => m.textContent.includes('还在吗'))",
    )
    .await;
    until(
        &staff,
        "the draft kept through the redraw",
        &format!(
            "document.getElementById('replyText').value === {}",
            serde_json::json!(draft)
        ),
    )
    .await;
    click(&staff, "button.reply").await;
    until(
        &staff,
        "the reply box emptied once sent",
        "document.getElementById('replyText') && document.getElementById('replyText').value === ''",
    )
    .await;
    shot(&staff, "3-commissioner-replied").await;

    until(&investor, "the commissioner's reply, live", "[...document.querySelectorAll('.msg.staff')].some(m => m.textContent.includes('我是专员 alice'))").await;
    until(
        &investor,
        "the staff state",
        "document.getElementById('state').dataset.state === 'staff'",
    )
    .await;
    shot(&investor, "4-investor-sees-reply").await;

    click(&staff, "button.handback").await;
    until(
        &investor,
        "the bot back",
        "document.getElementById('state').dataset.state === 'bot'",
    )
    .await;
    type_and_send(&investor, "研发费用加计扣除比例是多少").await;
    until(
        &investor,
        "a new bot answer",
        "document.querySelectorAll('.msg.bot .sources').length >= 2",
    )
    .await;
    shot(&investor, "5-bot-answers-again").await;

    investor.close().await.unwrap();
    staff.close().await.unwrap();
}
