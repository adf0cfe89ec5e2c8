//! Staff accounts (tokens stored as hashes), who is online, investor web sessions, and
//! the audit trail.

use super::*;

impl Desk {
    // ---- staff accounts ----

    pub fn staff_accounts(&self) -> Result<Vec<StaffAccount>, DeskError> {
        Ok(decode_all(&*self.store, Table::Staff)?)
    }

    /// Creates an account and returns its token (shown once; only its hash is stored).
    pub fn add_staff(
        &self,
        name: &str,
        role: Role,
        regions: &[String],
        industries: &[String],
    ) -> Result<String, DeskError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
            return Err(DeskError::Invalid(
                "a staff name is 1–64 printable characters".into(),
            ));
        }
        let token = random_token();
        let account = StaffAccount {
            name: name.to_string(),
            role,
            token_hash: hash_token(&token),
            password_hash: None,
            disabled: false,
            regions: regions.to_vec(),
            industries: industries.to_vec(),
            created_at: self.now(),
            wecom_user: None,
        };
        let exists = std::cell::Cell::new(false);
        let now = self.now();
        self.store.transaction(&|t| {
            if t.get(Table::Staff, name.as_bytes())?.is_some() {
                exists.set(true);
                return Ok(());
            }
            t.put(Table::Staff, name.as_bytes(), &encode(&account))?;
            audit(
                t,
                now,
                "admin",
                &format!("added staff {name} ({role:?})"),
                None,
                None,
            )
        })?;
        if exists.get() {
            return Err(DeskError::Invalid(format!("staff {name} already exists")));
        }
        self.store.durable()?;
        Ok(token)
    }

    /// Disables or re-enables an account. Disabling signs it out of every console session
    /// and stops its token and password at once.
    pub fn set_disabled(&self, by: &str, name: &str, disabled: bool) -> Result<(), DeskError> {
        let what = if disabled { "disabled" } else { "re-enabled" };
        self.update_account(by, name, &format!("{what} staff {name}"), &|a| {
            a.disabled = disabled;
        })?;
        if disabled {
            self.end_console_sessions_of(name)?;
        }
        Ok(())
    }

    /// Ties `name` to the WeCom UserID `user` (or unties it with `None`). A UserID belongs
    /// to one account at most: it decides who acts when that user writes to the app.
    pub fn set_wecom_user(
        &self,
        by: &str,
        name: &str,
        user: Option<&str>,
    ) -> Result<(), DeskError> {
        let user = user.map(str::trim);
        if let Some(u) = user {
            check_wecom_user(u)?;
            if let Some(other) = self.staff_by_wecom_user(u)?
                && other.name != name
            {
                return Err(DeskError::Invalid(format!(
                    "WeCom user {u} already belongs to {}",
                    other.name
                )));
            }
        }
        let what = match user {
            Some(u) => format!("tied {name} to WeCom user {u}"),
            None => format!("untied {name} from WeCom"),
        };
        let user = user.map(str::to_string);
        self.update_account(by, name, &what, &|a| a.wecom_user.clone_from(&user))
    }

    /// The account called `name`, if there is one: one key read.
    pub fn staff_account(&self, name: &str) -> Result<Option<StaffAccount>, DeskError> {
        Ok(self
            .store
            .get(Table::Staff, name.as_bytes())?
            .map(|b| decode(Table::Staff, &b))
            .transpose()?)
    }

    /// The account tied to the WeCom UserID `user`, if any (UserIDs compare ignoring case,
    /// as WeCom treats them).
    pub fn staff_by_wecom_user(&self, user: &str) -> Result<Option<StaffAccount>, DeskError> {
        let user = user.trim();
        Ok(self.staff_accounts()?.into_iter().find(|a| {
            a.wecom_user
                .as_deref()
                .is_some_and(|u| u.eq_ignore_ascii_case(user))
        }))
    }

    /// A new API token for `name`; the old one stops working at once. Shown once.
    pub fn rotate_token(&self, by: &str, name: &str) -> Result<String, DeskError> {
        let token = random_token();
        let hash = hash_token(&token);
        self.update_account(by, name, &format!("rotated the token of {name}"), &|a| {
            a.token_hash = hash.clone();
        })?;
        Ok(token)
    }

    /// Changes one stored account in a transaction with its audit record.
    fn update_account(
        &self,
        by: &str,
        name: &str,
        what: &str,
        change: &dyn Fn(&mut StaffAccount),
    ) -> Result<(), DeskError> {
        let missing = std::cell::Cell::new(false);
        let now = self.now();
        self.store.transaction(&|t| {
            let Some(bytes) = t.get(Table::Staff, name.as_bytes())? else {
                missing.set(true);
                return Ok(());
            };
            let mut account: StaffAccount = decode(Table::Staff, &bytes)?;
            change(&mut account);
            t.put(Table::Staff, name.as_bytes(), &encode(&account))?;
            audit(t, now, by, what, None, None)
        })?;
        if missing.get() {
            return Err(DeskError::NotFound(format!("staff {name}")));
        }
        self.store.durable()?;
        Ok(())
    }

    fn end_console_sessions_of(&self, name: &str) -> Result<(), DeskError> {
        let keys: Vec<Vec<u8>> = self
            .store
            .scan_prefix(Table::ConsoleSessions, b"")?
            .into_iter()
            .filter(|(_, v)| {
                decode::<ConsoleSession>(Table::ConsoleSessions, v).is_ok_and(|s| s.name == name)
            })
            .map(|(k, _)| k)
            .collect();
        self.remove_all(Table::ConsoleSessions, &keys)
    }

    /// Sets (or replaces) the console password of `name`, stored as an Argon2id hash.
    pub fn set_password(&self, name: &str, password: &str) -> Result<(), DeskError> {
        let n = password.chars().count();
        if !(MIN_PASSWORD_CHARS..=256).contains(&n) {
            return Err(DeskError::Invalid(format!(
                "a password is {MIN_PASSWORD_CHARS} to 256 characters"
            )));
        }
        let hash = hash_password(password)?;
        self.update_account(
            "admin",
            name,
            &format!("set the password of {name}"),
            &|a| {
                a.password_hash = Some(hash.clone());
            },
        )
    }

    /// The account whose name and password these are. A wrong name costs as much time as a
    /// wrong password, so sign-in does not tell which names exist.
    pub fn sign_in(&self, name: &str, password: &str) -> Result<Option<StaffAccount>, DeskError> {
        use argon2::PasswordVerifier;
        if name.len() > 256 || password.len() > 1024 {
            return Ok(None);
        }
        let account = self
            .store
            .get(Table::Staff, name.trim().as_bytes())?
            .map(|b| decode::<StaffAccount>(Table::Staff, &b))
            .transpose()?;
        let stored = account
            .as_ref()
            .and_then(|a| a.password_hash.clone())
            .unwrap_or_else(|| {
                DECOY_HASH
                    .get_or_init(|| hash_password("decoy").unwrap_or_default())
                    .clone()
            });
        let ok = argon2::PasswordHash::new(&stored).is_ok_and(|h| {
            argon2::Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        });
        let account = account.filter(|a| ok && a.password_hash.is_some() && !a.disabled);
        if let Some(a) = &account {
            self.touch(&a.name);
        }
        Ok(account)
    }

    /// The account a token belongs to; marks it online.
    pub fn authenticate(&self, token: &str) -> Result<Option<StaffAccount>, DeskError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let hash = hash_token(token);
        let account = self
            .staff_accounts()?
            .into_iter()
            .find(|a| a.token_hash == hash && !a.disabled);
        if let Some(a) = &account {
            self.touch(&a.name);
        }
        Ok(account)
    }

    pub(super) fn touch(&self, name: &str) {
        self.online
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), Instant::now());
    }

    pub fn online_names(&self) -> Vec<String> {
        let window = Duration::from_secs(self.config.online_window_secs);
        self.online
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(_, at)| at.elapsed() < window)
            .map(|(n, _)| n.clone())
            .collect()
    }

    // ---- web sessions ----

    /// A new investor session: (secret token for the cookie, conversation chat id). Call it
    /// only with a message that passed the limits: a rejected request must not leave a
    /// session behind.
    pub fn new_session(&self) -> Result<(String, String), DeskError> {
        let token = random_token();
        let chat = random_token()[..24].to_string();
        let key = hash_token(&token);
        let record = encode(&WebSession {
            chat: chat.clone(),
            last_seen: self.now(),
        });
        self.store
            .transaction(&|t| t.put(Table::Sessions, key.as_bytes(), &record))?;
        Ok((token, chat))
    }

    /// The chat id a live session token names. A session idle past `session_idle_days` is
    /// gone (as if purged); a used one has its last use recorded, at most once an hour.
    pub fn session_chat(&self, token: &str) -> Result<Option<String>, DeskError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let key = hash_token(token);
        let Some(bytes) = self.store.get(Table::Sessions, key.as_bytes())? else {
            return Ok(None);
        };
        let now = self.now();
        let session = WebSession::parse(&bytes, now);
        if now.saturating_sub(session.last_seen) > self.session_idle_ms() {
            return Ok(None);
        }
        if now.saturating_sub(session.last_seen) > TOUCH_EVERY_MS {
            let record = encode(&WebSession {
                last_seen: now,
                ..session.clone()
            });
            self.store
                .transaction(&|t| t.put(Table::Sessions, key.as_bytes(), &record))?;
        }
        Ok(Some(session.chat))
    }

    /// Removes web sessions idle past `session_idle_days` and expired console sessions;
    /// returns how many web sessions went.
    pub fn purge_sessions(&self) -> Result<usize, DeskError> {
        let now = self.now();
        let idle = self.session_idle_ms();
        let stale: Vec<Vec<u8>> = self
            .store
            .scan_prefix(Table::Sessions, b"")?
            .into_iter()
            .filter(|(_, v)| now.saturating_sub(WebSession::parse(v, now).last_seen) > idle)
            .map(|(k, _)| k)
            .collect();
        self.remove_all(Table::Sessions, &stale)?;
        let expired: Vec<Vec<u8>> = self
            .store
            .scan_prefix(Table::ConsoleSessions, b"")?
            .into_iter()
            .filter(|(_, v)| {
                decode::<ConsoleSession>(Table::ConsoleSessions, v)
                    .map_or(true, |s| s.expires_at <= now)
            })
            .map(|(k, _)| k)
            .collect();
        self.remove_all(Table::ConsoleSessions, &expired)?;
        Ok(stale.len())
    }

    fn remove_all(&self, table: Table, keys: &[Vec<u8>]) -> Result<(), DeskError> {
        for chunk in keys.chunks(1000) {
            self.store.transaction(&|t| {
                for k in chunk {
                    t.remove(table, k)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    // ---- staff console sessions ----

    /// Signs `account` in to the console: a new random session id for the cookie (the API
    /// token never travels in a cookie). Stored hashed; expires after
    /// `console_session_hours`; ended by `close_console_session`.
    pub fn open_console_session(&self, account: &StaffAccount) -> Result<String, DeskError> {
        let token = random_token();
        let hours = i64::try_from(self.config.console_session_hours).unwrap_or(i64::MAX);
        let record = encode(&ConsoleSession {
            name: account.name.clone(),
            expires_at: self.now().saturating_add(hours.saturating_mul(3600 * 1000)),
        });
        let key = hash_token(&token);
        let now = self.now();
        self.store.transaction(&|t| {
            t.put(Table::ConsoleSessions, key.as_bytes(), &record)?;
            audit(
                t,
                now,
                &account.name,
                "signed in to the console",
                None,
                None,
            )
        })?;
        Ok(token)
    }

    /// The account a console session belongs to, while it lasts; marks it online.
    pub fn console_session(&self, token: &str) -> Result<Option<StaffAccount>, DeskError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let key = hash_token(token);
        let Some(bytes) = self.store.get(Table::ConsoleSessions, key.as_bytes())? else {
            return Ok(None);
        };
        let session: ConsoleSession = decode(Table::ConsoleSessions, &bytes)?;
        if session.expires_at <= self.now() {
            return Ok(None);
        }
        let account = self
            .store
            .get(Table::Staff, session.name.as_bytes())?
            .map(|b| decode::<StaffAccount>(Table::Staff, &b))
            .transpose()?
            .filter(|a| !a.disabled);
        if let Some(a) = &account {
            self.touch(&a.name);
        }
        Ok(account)
    }

    /// Signs a console session out: the cookie stops working at once, wherever it is.
    pub fn close_console_session(&self, token: &str) -> Result<(), DeskError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(());
        }
        let key = hash_token(token);
        let Some(bytes) = self.store.get(Table::ConsoleSessions, key.as_bytes())? else {
            return Ok(());
        };
        let name = decode::<ConsoleSession>(Table::ConsoleSessions, &bytes)
            .map(|s| s.name)
            .unwrap_or_default();
        let now = self.now();
        self.store.transaction(&|t| {
            t.remove(Table::ConsoleSessions, key.as_bytes())?;
            audit(t, now, &name, "signed out of the console", None, None)
        })?;
        Ok(())
    }

    /// How many web sessions are stored.
    pub fn session_count(&self) -> Result<usize, DeskError> {
        Ok(self.store.scan_prefix(Table::Sessions, b"")?.len())
    }

    fn session_idle_ms(&self) -> Millis {
        i64::try_from(self.config.session_idle_days)
            .unwrap_or(i64::MAX)
            .saturating_mul(24 * 3600 * 1000)
    }

    pub fn audit_trail(&self) -> Result<Vec<AuditRecord>, DeskError> {
        Ok(decode_all(&*self.store, Table::Audit)?)
    }
}

/// A session's last use is written at most this often: one write an hour, not one a message.
const TOUCH_EVERY_MS: Millis = 3600 * 1000;

/// What a session token's hash maps to.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct WebSession {
    chat: String,
    last_seen: Millis,
}

impl WebSession {
    /// Sessions stored before they carried a last use are the bare chat id: they count as
    /// used now, so they expire `session_idle_days` after this version first sees them.
    fn parse(bytes: &[u8], now: Millis) -> WebSession {
        serde_json::from_slice(bytes).unwrap_or_else(|_| WebSession {
            chat: String::from_utf8_lossy(bytes).into_owned(),
            last_seen: now,
        })
    }
}

/// A staff console sign-in (keyed by the hash of its cookie).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct ConsoleSession {
    name: String,
    expires_at: Millis,
}

/// The shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;

/// A hash to verify against when the name is unknown, so that costs the same.
static DECOY_HASH: std::sync::OnceLock<String> = std::sync::OnceLock::new();

fn hash_password(password: &str) -> Result<String, DeskError> {
    use argon2::PasswordHasher;
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| DeskError::Invalid(e.to_string()))?;
    let salt = argon2::password_hash::SaltString::encode_b64(&salt)
        .map_err(|e| DeskError::Invalid(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| DeskError::Invalid(e.to_string()))
}

/// A WeCom UserID as WeCom allows it: 1–64 letters, digits and `_ - . @`.
pub fn check_wecom_user(user: &str) -> Result<(), DeskError> {
    let ok = (1..=64).contains(&user.len())
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(DeskError::Invalid(
            "a WeCom UserID is 1–64 letters, digits and _ - . @".into(),
        ))
    }
}
