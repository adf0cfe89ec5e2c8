//! `xiaoer serve`: the engine, the desk on its store (sled or PostgreSQL), and the web server, wired together; and
//! `xiaoer staff add`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::channels::{telegram, web, wechat, wecom};
use crate::config::Config;
use crate::desk::Desk;
use crate::store;

pub fn serve(config: Config) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(config))
}

async fn run(config: Config) -> Result<()> {
    let engine = {
        let config = config.clone();
        tokio::task::spawn_blocking(move || super::open_engine(&config)).await??
    };
    let engine = Arc::new(engine);
    tracing::info!(generation = %engine.generation().name, "index loaded");
    let url = config.store.url.clone();
    let location = store::location(url.as_deref(), &config.data);
    let data = config.data.clone();
    let store = tokio::task::spawn_blocking(move || store::open(url.as_deref(), &data))
        .await?
        .with_context(|| format!("opening the store in {location}"))?;
    tracing::info!(store = %location, "store open");
    let desk = Arc::new(Desk::new(engine.clone(), store, config.desk.clone()));

    // Claim timeouts: timestamps live in the tickets, so a restart resumes them.
    let timer_desk = desk.clone();
    tokio::spawn(async move {
        loop {
            let d = timer_desk.clone();
            match tokio::task::spawn_blocking(move || d.sweep_timers()).await {
                Ok(Ok(returned)) if !returned.is_empty() => {
                    tracing::info!(?returned, "claims timed out; tickets back in the queue")
                }
                Ok(Err(e)) => tracing::warn!(error = %e, "timer sweep failed"),
                _ => {}
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    });

    // Account commands (`xiaoer staff …`) reach the running server through its socket.
    match super::staff::bind_socket(&config.data) {
        Ok(listener) => {
            tokio::spawn(super::staff::serve_socket(desk.clone(), listener));
        }
        Err(e) => {
            tracing::warn!(error = %e, "no admin socket: `xiaoer staff` needs serve stopped")
        }
    }

    // Web sessions idle past `session_idle_days` are purged hourly (and at start).
    let purge_desk = desk.clone();
    tokio::spawn(async move {
        loop {
            let d = purge_desk.clone();
            match tokio::task::spawn_blocking(move || d.purge_sessions()).await {
                Ok(Ok(n)) if n > 0 => tracing::info!(purged = n, "idle web sessions purged"),
                Ok(Err(e)) => tracing::warn!(error = %e, "session purge failed"),
                _ => {}
            }
            tokio::time::sleep(Duration::from_secs(3600)).await;
        }
    });

    if config.telegram.enabled() {
        let bot = telegram::bot(&config.telegram)?;
        let (desk, tg) = (desk.clone(), config.telegram.clone());
        tracing::info!(mode = if tg.mode == "webhook" { "webhook" } else { "long polling" }, staff_group = ?tg.staff_group, "Telegram is on");
        tokio::spawn(async move {
            if let Err(e) = telegram::run(bot, desk, tg).await {
                tracing::error!(error = %e, "Telegram stopped");
            }
        });
    } else {
        tracing::info!("Telegram is off (no bot token: set TELOXIDE_TOKEN or [telegram] token)");
    }
    let limits = web::ConnectionLimits::from_config(&config.web);
    let mut wechat =
        wechat::WechatState::new(desk.clone(), &config.wechat).context("[wechat] settings")?;
    let w = &config.wechat;
    if let (true, Some(secret)) = (
        wechat.is_some(),
        w.secret.as_deref().filter(|s| !s.is_empty()),
    ) {
        let base = w.api_base.as_deref().unwrap_or(wechat::DEFAULT_API_BASE);
        let api = std::sync::Arc::new(wechat::api::Api::new(
            base,
            w.app_id.as_deref().unwrap_or(""),
            secret,
        ));
        tokio::spawn(wechat::outbound::outbound(desk.clone(), api.clone()));
        // An answer that misses the passive-reply window follows through the API.
        wechat = wechat.map(|s| s.with_api(api));
    } else if wechat.is_some() {
        tracing::warn!(
            "[wechat] has no secret: commissioners' replies cannot reach WeChat investors"
        );
    }
    // WeCom: new tickets to commissioners, and their commands back; and to the team's
    // group through a robot, which needs none of the app's settings.
    let c = &config.wecom;
    let robot = match c.robot() {
        Some(webhook) => {
            let robot = wecom::robot::Robot::start(
                webhook,
                c.console_url.clone(),
                wecom::robot::PER_MINUTE,
                wecom::robot::WINDOW,
            )
            .map_err(|e| anyhow::anyhow!("[wecom] {e}"))?;
            // Only the host: the URL's key is a secret.
            tracing::info!(
                host = robot.host(),
                "WeCom group robot on: new tickets go to the group"
            );
            Some(robot)
        }
        None => None,
    };
    let (wecom, mailer) = if c.enabled() {
        let api = Arc::new(wecom::api::Api::new(
            c.api_base.as_deref().unwrap_or(wecom::DEFAULT_API_BASE),
            c.corp_id.as_deref().unwrap_or(""),
            c.secret.as_deref().unwrap_or(""),
            c.agent_id.unwrap_or_default(),
        ));
        let mailer = wecom::mailer::Mailer::new(api);
        let state =
            wecom::WecomState::new(desk.clone(), c, mailer.clone()).context("[wecom] settings")?;
        if c.console_url.is_none() {
            tracing::info!("[wecom] has no console_url: tickets go to WeCom as text, not cards");
        }
        (state, Some(mailer))
    } else {
        (None, None)
    };
    if mailer.is_some() || robot.is_some() {
        tokio::spawn(wecom::outbound::outbound(
            desk.clone(),
            mailer,
            robot,
            c.console_url.clone(),
        ));
    }
    let state = web::WebState::new(desk, config.web.clone(), config.corpus.clone());
    let mut app = web::app(state);
    match wechat {
        Some(w) => {
            app = app.merge(wechat::router(std::sync::Arc::new(w)));
            tracing::info!("WeChat callback at /wechat");
        }
        None => tracing::info!(
            "WeChat is off (no token and AppID: set [wechat] token and app_id, or XIAOER_WECHAT_TOKEN and XIAOER_WECHAT_APP_ID)"
        ),
    }
    match wecom {
        Some(w) => {
            app = app.merge(wecom::router(Arc::new(w)));
            tracing::info!("WeCom callback at /wecom; new tickets go to commissioners' WeCom");
        }
        None if c.started() => tracing::warn!(
            missing = ?c.missing(),
            "The WeCom app is off: [wecom] is incomplete (secrets may come from XIAOER_WECOM_SECRET, XIAOER_WECOM_TOKEN, XIAOER_WECOM_ENCODING_AES_KEY)"
        ),
        None => tracing::info!(
            "The WeCom app is off (set [wecom] corp_id, agent_id, secret, token and encoding_aes_key)"
        ),
    }
    match web::raise_descriptor_limit() {
        Some(n) => tracing::info!(open_files = n, "descriptor limit"),
        None => tracing::warn!("could not read or raise the descriptor limit"),
    }
    let listener = tokio::net::TcpListener::bind(&config.addr)
        .await
        .with_context(|| format!("binding {}", config.addr))?;
    let addr = listener.local_addr()?;
    tracing::info!(%addr, ?limits, "web chat at http://{addr}/  staff console /staff  admin /admin");
    println!("xiaoer serving http://{addr}/ (staff: /staff, admin: /admin)");
    web::serve(listener, app, limits, async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await;
    Ok(())
}
