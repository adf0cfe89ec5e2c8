//! `xiaoer staff …`: account commands. They open the store themselves when `serve` is not
//! running; while it runs (sled lets one process hold the store), they go through the
//! server's admin socket, `<data>/admin.sock`, a Unix socket only the data directory's
//! owner can open: whoever may read `data/` may change accounts anyway.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::config::Config;
use crate::desk::{Desk, Role};
use crate::store;

/// One account command, as the CLI parsed it and as it travels over the admin socket.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum StaffOp {
    Add {
        name: String,
        role: Role,
        regions: Vec<String>,
        industries: Vec<String>,
        password: Option<String>,
        /// The WeCom UserID to tie the account to (older clients send none).
        #[serde(default)]
        wecom: Option<String>,
    },
    /// Ties an account to a WeCom UserID, or unties it (`user` none).
    Wecom {
        name: String,
        user: Option<String>,
    },
    Password {
        name: String,
        password: String,
    },
    List,
    Disable {
        name: String,
    },
    Enable {
        name: String,
    },
    Rotate {
        name: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
struct SocketReply {
    ok: bool,
    /// What the command prints (a token alone on the last line, where it makes one).
    output: String,
}

/// The admin socket of a data directory.
pub fn socket_path(data: &Path) -> PathBuf {
    data.join("admin.sock")
}

/// Runs `op`: on the store directly, or through a running server's admin socket.
pub fn run(config: &Config, op: &StaffOp) -> Result<()> {
    let sock = socket_path(&config.data);
    let url = config.store.url.as_deref();
    let output = match store::open(url, &config.data) {
        Ok(store) => {
            let engine = Arc::new(super::open_engine(config)?);
            let desk = Desk::new(engine, store, config.desk.clone());
            execute(&desk, op, "cli")?
        }
        Err(e) if sock.exists() => {
            tracing::debug!(error = %e, "store held; using the server's admin socket");
            through_socket(&sock, op)?
        }
        Err(e) => {
            return Err(e).with_context(|| {
                format!(
                    "opening the store in {}",
                    store::location(url, &config.data)
                )
            });
        }
    };
    print!("{output}");
    Ok(())
}

/// What `op` does to `desk`, and the text to print.
pub fn execute(desk: &Desk, op: &StaffOp, by: &str) -> Result<String> {
    Ok(match op {
        StaffOp::Add {
            name,
            role,
            regions,
            industries,
            password,
            wecom,
        } => {
            // Checked first, so a bad UserID does not leave the account half made.
            if let Some(u) = wecom {
                crate::desk::check_wecom_user(u.trim())?;
                if let Some(other) = desk.staff_by_wecom_user(u)? {
                    bail!("WeCom user {u} already belongs to {}", other.name);
                }
            }
            let token = desk.add_staff(name, *role, regions, industries)?;
            if let Some(p) = password {
                desk.set_password(name, p)?;
            }
            if let Some(u) = wecom {
                desk.set_wecom_user(by, name, Some(u))?;
            }
            format!("added {name} ({role:?}); the token is shown once, keep it safe:\n{token}\n")
        }
        StaffOp::Wecom { name, user } => {
            desk.set_wecom_user(by, name, user.as_deref())?;
            match user {
                Some(u) => format!("{name} is WeCom user {}\n", u.trim()),
                None => format!("{name} is no longer tied to WeCom\n"),
            }
        }
        StaffOp::Password { name, password } => {
            desk.set_password(name, password)?;
            format!("password set for {name}\n")
        }
        StaffOp::List => desk
            .staff_accounts()?
            .into_iter()
            .map(|a| {
                format!(
                    "{}\t{:?}\t{}\t{}{}\n",
                    a.name,
                    a.role,
                    if a.disabled { "disabled" } else { "active" },
                    if a.password_hash.is_some() {
                        "password"
                    } else {
                        "token only"
                    },
                    a.wecom_user
                        .map(|u| format!("\twecom:{u}"))
                        .unwrap_or_default()
                )
            })
            .collect(),
        StaffOp::Disable { name } => {
            desk.set_disabled(by, name, true)?;
            format!("{name} disabled\n")
        }
        StaffOp::Enable { name } => {
            desk.set_disabled(by, name, false)?;
            format!("{name} enabled\n")
        }
        StaffOp::Rotate { name } => {
            let token = desk.rotate_token(by, name)?;
            format!("new token for {name}; the old one no longer works; shown once:\n{token}\n")
        }
    })
}

fn through_socket(sock: &Path, op: &StaffOp) -> Result<String> {
    let mut stream = UnixStream::connect(sock)
        .with_context(|| format!("connecting to the running server at {}", sock.display()))?;
    let mut line = serde_json::to_string(op)?;
    line.push('\n');
    stream.write_all(line.as_bytes())?;
    let mut reply = String::new();
    BufReader::new(stream).read_line(&mut reply)?;
    let reply: SocketReply = serde_json::from_str(&reply).context("reading the server's answer")?;
    if !reply.ok {
        bail!("{}", reply.output);
    }
    Ok(reply.output)
}

/// Serves the admin socket for `serve`: one JSON command per connection. The socket file
/// is created owner-only and removed first if a previous run left it behind.
/// Binds the admin socket (owner-only). Done before `serve` says it is serving, so a
/// `xiaoer staff` run right after finds the socket rather than a locked store.
pub fn bind_socket(data: &Path) -> Result<tokio::net::UnixListener> {
    let sock = socket_path(data);
    let _ = std::fs::remove_file(&sock);
    let listener = tokio::net::UnixListener::bind(&sock)
        .with_context(|| format!("binding {}", sock.display()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(listener)
}

/// Answers account commands on the admin socket, one JSON line each.
pub async fn serve_socket(desk: Arc<Desk>, listener: tokio::net::UnixListener) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let desk = desk.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut line = String::new();
            // One command, at most 64 KiB: the socket is local, but still bounded.
            let mut reader = tokio::io::BufReader::new(read).take(64 * 1024);
            if reader.read_line(&mut line).await.is_err() {
                return;
            }
            let reply = match serde_json::from_str::<StaffOp>(&line) {
                Ok(op) => {
                    tracing::info!(op = op_name(&op), "staff command through the admin socket");
                    let result =
                        tokio::task::spawn_blocking(move || execute(&desk, &op, "cli")).await;
                    match result {
                        Ok(Ok(output)) => SocketReply { ok: true, output },
                        Ok(Err(e)) => SocketReply {
                            ok: false,
                            output: format!("{e:#}"),
                        },
                        Err(e) => SocketReply {
                            ok: false,
                            output: e.to_string(),
                        },
                    }
                }
                Err(e) => SocketReply {
                    ok: false,
                    output: format!("not a staff command: {e}"),
                },
            };
            let mut out = serde_json::to_string(&reply).unwrap_or_default();
            out.push('\n');
            let _ = write.write_all(out.as_bytes()).await;
        });
    }
}

/// The command's name for the log (never its password or token).
fn op_name(op: &StaffOp) -> &'static str {
    match op {
        StaffOp::Add { .. } => "add",
        StaffOp::Wecom { .. } => "wecom",
        StaffOp::Password { .. } => "password",
        StaffOp::List => "list",
        StaffOp::Disable { .. } => "disable",
        StaffOp::Enable { .. } => "enable",
        StaffOp::Rotate { .. } => "rotate",
    }
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
