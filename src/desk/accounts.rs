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
            regions: regions.to_vec(),
            industries: industries.to_vec(),
            created_at: self.now(),
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

    /// The account a token belongs to; marks it online.
    pub fn authenticate(&self, token: &str) -> Result<Option<StaffAccount>, DeskError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        let hash = hash_token(token);
        let account = self
            .staff_accounts()?
            .into_iter()
            .find(|a| a.token_hash == hash);
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

    /// A new investor session: (secret token for the cookie, conversation chat id).
    pub fn new_session(&self) -> Result<(String, String), DeskError> {
        let token = random_token();
        let chat = random_token()[..24].to_string();
        let key = hash_token(&token);
        self.store
            .transaction(&|t| t.put(Table::Sessions, key.as_bytes(), chat.as_bytes()))?;
        Ok((token, chat))
    }

    /// The chat id a session token names.
    pub fn session_chat(&self, token: &str) -> Result<Option<String>, DeskError> {
        if token.is_empty() || token.len() > 256 {
            return Ok(None);
        }
        Ok(self
            .store
            .get(Table::Sessions, hash_token(token).as_bytes())?
            .and_then(|v| String::from_utf8(v).ok()))
    }

    pub fn audit_trail(&self) -> Result<Vec<AuditRecord>, DeskError> {
        Ok(decode_all(&*self.store, Table::Audit)?)
    }
}
