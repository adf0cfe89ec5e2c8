//! Admin routes: re-index, unanswered questions and draft FAQs, figures.

use super::*;

pub(super) async fn reindex(State(state): State<AppState>, AdminUser(me): AdminUser) -> ApiResult {
    let desk = state.desk.clone();
    blocking(move || {
        tracing::info!(admin = %me.name, "re-index requested");
        match desk.reindex() {
            Ok(s) => Ok(Json(serde_json::json!({
                "ok": true, "generation": s.generation, "documents": s.documents,
                "passages": s.passages, "faqs": s.faqs, "millis": s.millis, "errors": []
            }))),
            Err(crate::engine::EngineError::Corpus(errors)) => Ok(Json(serde_json::json!({
                "ok": false,
                "errors": errors.iter().map(|e| serde_json::json!({
                    "path": e.path.display().to_string(), "line": e.line, "message": e.message
                })).collect::<Vec<_>>(),
                "serving": desk.engine().generation().name,
            }))),
            Err(e) => Ok(Json(serde_json::json!({
                "ok": false,
                "errors": [{"path": "", "line": 0, "message": e.to_string()}],
                "serving": desk.engine().generation().name,
            }))),
        }
    })
    .await
}

pub(super) async fn unanswered(State(state): State<AppState>, _: AdminUser) -> ApiResult {
    let desk = state.desk.clone();
    blocking(move || Ok(Json(serde_json::json!({ "groups": desk.unanswered()? })))).await
}

pub(super) async fn stats(State(state): State<AppState>, _: AdminUser) -> ApiResult {
    let desk = state.desk.clone();
    blocking(move || {
        Ok(Json(
            serde_json::to_value(desk.stats()?).unwrap_or_default(),
        ))
    })
    .await
}

/// Accounts as admins see them: never a hash.
pub(super) async fn list_staff(State(state): State<AppState>, _: AdminUser) -> ApiResult {
    let desk = state.desk.clone();
    blocking(move || {
        let accounts: Vec<serde_json::Value> = desk
            .staff_accounts()?
            .into_iter()
            .map(|a| {
                serde_json::json!({
                    "name": a.name, "role": a.role, "regions": a.regions,
                    "industries": a.industries, "created_at": a.created_at,
                    "disabled": a.disabled, "has_password": a.password_hash.is_some(),
                })
            })
            .collect();
        Ok(Json(serde_json::json!({ "staff": accounts })))
    })
    .await
}

pub(super) async fn disable_staff(
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Path(name): Path<String>,
) -> ApiResult {
    set_disabled(state, me, name, true).await
}

pub(super) async fn enable_staff(
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Path(name): Path<String>,
) -> ApiResult {
    set_disabled(state, me, name, false).await
}

async fn set_disabled(
    state: AppState,
    me: StaffAccount,
    name: String,
    disabled: bool,
) -> ApiResult {
    if disabled && name == me.name {
        return Err(ApiError::BadRequest(
            "an admin cannot disable their own account".into(),
        ));
    }
    let desk = state.desk.clone();
    blocking(move || {
        desk.set_disabled(&me.name, &name, disabled)?;
        Ok(Json(
            serde_json::json!({ "name": name, "disabled": disabled }),
        ))
    })
    .await
}

/// A new API token for an account, shown once; the old one stops working.
pub(super) async fn rotate_staff_token(
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Path(name): Path<String>,
) -> ApiResult {
    let desk = state.desk.clone();
    blocking(move || {
        let token = desk.rotate_token(&me.name, &name)?;
        Ok(Json(serde_json::json!({ "name": name, "token": token })))
    })
    .await
}

#[derive(Deserialize)]
pub(super) struct Draft {
    question: String,
    #[serde(default)]
    alternatives: Vec<String>,
    answer: String,
}

/// Writes a draft FAQ under `corpus/faqs/drafts/` for review; drafts are not indexed until
/// an admin moves them into `corpus/faqs/` and re-indexes.
pub(super) async fn draft_faq(
    State(state): State<AppState>,
    AdminUser(me): AdminUser,
    Json(d): Json<Draft>,
) -> ApiResult {
    if d.question.trim().is_empty() || d.answer.trim().is_empty() {
        return Err(ApiError::BadRequest(
            "a draft needs a question and an answer".into(),
        ));
    }
    let dir = state
        .corpus_dir
        .join(crate::corpus::FAQS_DIR)
        .join("drafts");
    let desk = state.desk.clone();
    blocking(move || {
        std::fs::create_dir_all(&dir).map_err(|e| ApiError::Internal(e.to_string()))?;
        // Created exclusively under an id with a random part: two admins drafting in the
        // same millisecond get two files, never one overwriting the other.
        let (id, mut out) = loop {
            let id = format!("draft-{}-{}", desk.now(), random_suffix()?);
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(dir.join(format!("{id}.toml")))
            {
                Ok(f) => break (id, f),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(ApiError::Internal(e.to_string())),
            }
        };
        #[derive(serde::Serialize)]
        struct Entry<'a> {
            id: &'a str,
            question: &'a str,
            alternatives: &'a [String],
            answer: &'a str,
            sources: Vec<String>,
            tags: Vec<String>,
            lang: &'a str,
        }
        #[derive(serde::Serialize)]
        struct File<'a> {
            faq: Vec<Entry<'a>>,
        }
        let file = File {
            faq: vec![Entry {
                id: &id,
                question: d.question.trim(),
                alternatives: &d.alternatives,
                answer: d.answer.trim(),
                sources: Vec::new(),
                tags: vec!["draft".into()],
                lang: crate::text::detect_lang(&d.question).as_str(),
            }],
        };
        let text = format!(
            "# Draft by {} from an unanswered question. Add `sources`, review, then move into corpus/faqs/ and re-index.\n{}",
            me.name,
            toml::to_string(&file).map_err(|e| ApiError::Internal(e.to_string()))?
        );
        let path = dir.join(format!("{id}.toml"));
        use std::io::Write;
        out.write_all(text.as_bytes())
            .and_then(|()| out.sync_all())
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(Json(serde_json::json!({ "id": id, "path": path.display().to_string() })))
    })
    .await
}

/// Eight random hex digits for a draft's id.
fn random_suffix() -> Result<String, ApiError> {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(hex::encode(bytes))
}
