//! `xiaoer serve`: the engine, the desk on sled, and the web server, wired together; and
//! `xiaoer staff add`.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::channels::{telegram, web};
use crate::config::Config;
use crate::desk::{Desk, Role};
use crate::store::SledStore;

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
    let store = SledStore::open(&config.data)
        .with_context(|| format!("opening the store in {}", config.data.display()))?;
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
    let state = web::WebState::new(desk, config.web.clone(), config.corpus.clone());
    let app = web::app(state);
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

pub fn staff_add(
    config: &Config,
    name: &str,
    role: Role,
    regions: &[String],
    industries: &[String],
    password: Option<&str>,
) -> Result<()> {
    let desk = staff_desk(config)?;
    let token = desk.add_staff(name, role, regions, industries)?;
    if let Some(p) = password {
        desk.set_password(name, p)?;
    }
    println!("added {name} ({role:?}); the token is shown once, keep it safe:");
    println!("{token}");
    Ok(())
}

/// `xiaoer staff password NAME`: a new console password from standard input.
pub fn staff_password(config: &Config, name: &str, password: &str) -> Result<()> {
    staff_desk(config)?.set_password(name, password)?;
    println!("password set for {name}");
    Ok(())
}

/// `xiaoer staff list`: one line per account, no secrets.
pub fn staff_list(config: &Config) -> Result<()> {
    for a in staff_desk(config)?.staff_accounts()? {
        println!(
            "{}\t{:?}\t{}\t{}",
            a.name,
            a.role,
            if a.disabled { "disabled" } else { "active" },
            if a.password_hash.is_some() {
                "password"
            } else {
                "token only"
            }
        );
    }
    Ok(())
}

/// `xiaoer staff disable|enable NAME`.
pub fn staff_set_disabled(config: &Config, name: &str, disabled: bool) -> Result<()> {
    staff_desk(config)?.set_disabled("cli", name, disabled)?;
    println!("{name} {}", if disabled { "disabled" } else { "enabled" });
    Ok(())
}

/// `xiaoer staff rotate NAME`: the new token alone on the last line.
pub fn staff_rotate(config: &Config, name: &str) -> Result<()> {
    let token = staff_desk(config)?.rotate_token("cli", name)?;
    println!("new token for {name}; the old one no longer works; shown once:");
    println!("{token}");
    Ok(())
}

/// One line of standard input, without its line end: a password is never an argument
/// (arguments show up in process lists and shell history).
pub fn read_password() -> Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    Ok(line.trim_end_matches(['\n', '\r']).to_string())
}

/// A desk for account commands. Accounts need no index, but the desk type holds an
/// engine, so one is opened.
fn staff_desk(config: &Config) -> Result<Desk> {
    let store = SledStore::open(&config.data)
        .with_context(|| format!("opening the store in {}", config.data.display()))?;
    let engine = Arc::new(super::open_engine(config)?);
    Ok(Desk::new(engine, store, config.desk.clone()))
}
