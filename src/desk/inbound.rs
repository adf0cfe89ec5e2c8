//! An investor's message: the bot's reply, or a hand-off that opens a ticket with its
//! case brief, or silence while a commissioner owns the conversation.

use super::*;

impl Desk {
    /// An investor's message, on any channel. Stored (with the bot's reply, and a ticket
    /// when the bot hands off) and on disk before this returns.
    pub fn investor_message(
        &self,
        channel: &str,
        chat: &str,
        text: &str,
        info: &InvestorInfo,
    ) -> Result<Inbound, DeskError> {
        self.investor_message_once(channel, chat, text, info, None)
    }

    /// The same, for a channel that may deliver one message more than once: with the
    /// channel's id for it (`delivery`), a second delivery stores nothing and returns what
    /// the first was answered (`Inbound::repeated`). The id is recorded in the message's
    /// own transaction, so a crash leaves either both or neither.
    pub fn investor_message_once(
        &self,
        channel: &str,
        chat: &str,
        text: &str,
        info: &InvestorInfo,
        delivery: Option<&str>,
    ) -> Result<Inbound, DeskError> {
        let delivery_key = delivery.map(|d| format!("{channel}:{d}"));
        if let Some(key) = &delivery_key
            && let Some(first) = self.store.get(Table::Received, key.as_bytes())?
        {
            return self.repeated(&decode::<Received>(Table::Received, &first)?);
        }
        let id = format!("{channel}:{chat}");
        let lang = info
            .language
            .as_deref()
            .map(Lang::parse)
            .filter(|_| text.trim().is_empty())
            .unwrap_or_else(|| detect_lang(text));
        // The owner can change between our read and our write (a commissioner claims);
        // then we decide again. Searching happens outside the transaction.
        for _ in 0..5 {
            let existing = self.conversation(&id)?;
            let owner = existing
                .as_ref()
                .map(|c| c.owner.clone())
                .unwrap_or(Owner::Bot);
            let reply = match &owner {
                Owner::Bot => Some(self.engine.ask(text)),
                Owner::Waiting { .. } if is_cancel(text) => Some(cancelled_reply(text, lang)),
                Owner::Waiting { .. } => {
                    // Only a real answer interrupts the wait: small talk, clarifications,
                    // hand-offs and honest declines (reason no_verified_figure) would add
                    // nothing to "a commissioner will reply here".
                    let r = self.engine.ask(text);
                    Some(if r.kind == Kind::Answer && r.reason.is_none() {
                        r
                    } else {
                        waiting_reply(text, lang)
                    })
                }
                Owner::Staff { .. } => None,
            };
            let history = match &reply {
                Some(r) if r.kind == Kind::Handoff && owner == Owner::Bot => {
                    self.messages(&id, 0)?
                }
                _ => Vec::new(),
            };
            let staff = if matches!(&reply, Some(r) if r.kind == Kind::Handoff) {
                self.staff_accounts()?
            } else {
                Vec::new()
            };
            let online = self.online_names();
            let now = self.now();
            let result = std::cell::RefCell::new(None);
            let outcome = self.store.transaction(&|t| {
                if let Some(key) = &delivery_key
                    && let Some(first) = get::<Received>(t, Table::Received, key.as_bytes())?
                {
                    *result.borrow_mut() = Some(Some(Err(first)));
                    return Ok(());
                }
                let mut conv: Conversation = get(t, Table::Conversations, id.as_bytes())?
                    .unwrap_or_else(|| Conversation {
                        id: id.clone(),
                        channel: channel.to_string(),
                        chat: chat.to_string(),
                        owner: Owner::Bot,
                        next_seq: 0,
                        investor: InvestorInfo::default(),
                        created_at: now,
                        updated_at: now,
                        after_hours_notice_at: None,
                    });
                if conv.owner != owner {
                    *result.borrow_mut() = Some(None);
                    return Ok(());
                }
                conv.investor.merge(info);
                append(t, &mut conv, now, Author::Investor, text, None)?;
                let mut reply = reply.clone();
                let mut opened = None;
                let mut reply_seq = None;
                match &owner {
                    Owner::Bot => {
                        let r = reply
                            .as_mut()
                            .expect("the bot answers when it owns the chat");
                        if r.kind == Kind::Handoff {
                            let ticket = self.open_ticket(
                                t, &mut conv, text, &history, r, &staff, &online, now,
                            )?;
                            opened = Some(ticket);
                            let hours = &self.config.office_hours;
                            // Told once per closed period: again only after the office
                            // has been open since the last notice.
                            let not_told = conv
                                .after_hours_notice_at
                                .is_none_or(|at| hours.next_open(at).timestamp_millis() <= now);
                            if !hours.is_open(now) && not_told {
                                r.text.push_str("\n\n");
                                r.text
                                    .push_str(&self.config.office_hours.closed_notice(now, lang));
                                conv.after_hours_notice_at = Some(now);
                            }
                        }
                        reply_seq = Some(append(
                            t,
                            &mut conv,
                            now,
                            Author::Bot,
                            &r.text.clone(),
                            Some(r.clone()),
                        )?);
                    }
                    Owner::Waiting { ticket } => {
                        let mut tk: Ticket = get(t, Table::Tickets, &ticket.to_be_bytes())?
                            .ok_or_else(|| {
                                StoreError::Backend(format!("ticket {ticket} missing"))
                            })?;
                        let r = reply.as_ref().expect("waiting replies");
                        if r.reason.as_deref() == Some("cancelled") {
                            tk.state = TicketState::Closed {
                                by: "investor".into(),
                                at: now,
                                outcome: Outcome::Cancelled,
                            };
                            conv.owner = Owner::Bot;
                            audit(
                                t,
                                now,
                                "investor",
                                "cancelled the hand-off",
                                Some(&conv.id),
                                Some(*ticket),
                            )?;
                        } else {
                            tk.last_investor_message_at = Some(now);
                        }
                        t.put(Table::Tickets, &ticket.to_be_bytes(), &encode(&tk))?;
                        reply_seq = Some(append(
                            t,
                            &mut conv,
                            now,
                            Author::Bot,
                            &r.text,
                            Some(r.clone()),
                        )?);
                    }
                    Owner::Staff { ticket, .. } => {
                        if let Some(mut tk) =
                            get::<Ticket>(t, Table::Tickets, &ticket.to_be_bytes())?
                        {
                            tk.last_investor_message_at = Some(now);
                            t.put(Table::Tickets, &ticket.to_be_bytes(), &encode(&tk))?;
                        }
                    }
                }
                t.put(Table::Conversations, conv.id.as_bytes(), &encode(&conv))?;
                if let Some(key) = &delivery_key {
                    let record = Received {
                        conversation: conv.id.clone(),
                        reply_seq,
                        at: now,
                    };
                    t.put(Table::Received, key.as_bytes(), &encode(&record))?;
                }
                *result.borrow_mut() = Some(Some(Ok(Inbound {
                    conversation: conv.id.clone(),
                    state: conv.owner.state(),
                    reply,
                    ticket_opened: opened,
                    reply_seq,
                    repeated: false,
                })));
                Ok(())
            });
            outcome?;
            let taken = result.into_inner();
            if let Some(Some(Err(first))) = &taken {
                return self.repeated(first);
            }
            if let Some(Some(Ok(inbound))) = taken {
                self.store.durable()?;
                self.emit(
                    &inbound.conversation,
                    owner.ticket().or(inbound.ticket_opened),
                    "message",
                );
                if let Some(t) = inbound.ticket_opened {
                    self.emit(&inbound.conversation, Some(t), "ticket_opened");
                }
                return Ok(inbound);
            }
        }
        Err(DeskError::Invalid(
            "the conversation kept changing; try again".into(),
        ))
    }

    /// What a message delivered before was answered (see `investor_message_once`).
    fn repeated(&self, first: &Received) -> Result<Inbound, DeskError> {
        let reply = match first.reply_seq {
            Some(seq) => self
                .store
                .get(Table::Messages, &message_key(&first.conversation, seq))?
                .map(|b| decode::<Message>(Table::Messages, &b))
                .transpose()?
                .and_then(|m| m.reply),
            None => None,
        };
        let state = self
            .conversation(&first.conversation)?
            .map_or(Owner::Bot.state(), |c| c.owner.state());
        Ok(Inbound {
            conversation: first.conversation.clone(),
            state,
            reply,
            ticket_opened: None,
            reply_seq: first.reply_seq,
            repeated: true,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn open_ticket(
        &self,
        t: &dyn Txn,
        conv: &mut Conversation,
        question: &str,
        history: &[Message],
        reply: &Reply,
        staff: &[StaffAccount],
        online: &[String],
        now: Millis,
    ) -> Result<u64, StoreError> {
        let id = t.next_id("ticket")?;
        let before: Vec<BriefLine> = history
            .iter()
            .rev()
            .take(6)
            .rev()
            .map(|m| BriefLine {
                from: match &m.author {
                    Author::Investor => "investor".into(),
                    Author::Bot => "bot".into(),
                    Author::Staff { name } => name.clone(),
                    Author::System => "system".into(),
                },
                text: m.text.chars().take(500).collect(),
            })
            .collect();
        let context: String = history
            .iter()
            .filter(|m| m.author == Author::Investor)
            .map(|m| m.text.as_str())
            .chain([question])
            .collect::<Vec<_>>()
            .join("\n");
        let (region, industry) = routing::classify(&conv.investor, &context);
        // Coverage comes from the accounts (`staff add --regions/--industries`) and from
        // `[[desk.commissioners]]` in the config, whichever names the commissioner.
        let covers = |name: &str, regions: &[String], industries: &[String]| {
            let from_config = self.config.commissioners.iter().filter(|c| c.name == name);
            let mut all_regions: Vec<&String> = regions.iter().collect();
            let mut all_industries: Vec<&String> = industries.iter().collect();
            for c in from_config {
                all_regions.extend(&c.regions);
                all_industries.extend(&c.industries);
            }
            region.as_ref().is_some_and(|r| all_regions.contains(&r))
                || industry
                    .as_ref()
                    .is_some_and(|i| all_industries.contains(&i))
        };
        let mut names: Vec<(String, Vec<String>, Vec<String>)> = staff
            .iter()
            .map(|s| (s.name.clone(), s.regions.clone(), s.industries.clone()))
            .collect();
        for c in &self.config.commissioners {
            if !names.iter().any(|(n, _, _)| *n == c.name) {
                names.push((c.name.clone(), Vec::new(), Vec::new()));
            }
        }
        let matching: Vec<String> = names
            .iter()
            .filter(|(n, r, i)| covers(n, r, i))
            .map(|(n, _, _)| n.clone())
            .filter(|n| online.contains(n))
            .collect();
        let ticket = Ticket {
            id,
            conversation: conv.id.clone(),
            opened_at: now,
            state: TicketState::Open,
            brief: CaseBrief {
                question: question.chars().take(2000).collect(),
                before,
                found: reply
                    .sources
                    .iter()
                    .map(|s| BriefSource {
                        id: s.id.clone(),
                        title: s.title.clone(),
                        score: s.score,
                        in_force: s.in_force,
                        disagrees: s.disagrees.clone(),
                    })
                    .collect(),
                reason: reply.reason.clone().unwrap_or_default(),
                confidence: reply.confidence,
                investor: conv.investor.clone(),
                language: detect_lang(question).as_str().to_string(),
            },
            flagged: false,
            first_reply_at: None,
            last_staff_reply_at: None,
            last_investor_message_at: Some(now),
            region,
            industry,
            routed_to: matching,
        };
        t.put(Table::Tickets, &id.to_be_bytes(), &encode(&ticket))?;
        conv.owner = Owner::Waiting { ticket: id };
        audit(
            t,
            now,
            "bot",
            &format!("handed off: {}", ticket.brief.reason),
            Some(&conv.id),
            Some(id),
        )?;
        Ok(id)
    }
}

fn is_cancel(text: &str) -> bool {
    // Normalised like questions are, so a traditional 取消轉人工 cancels too.
    let t: String = crate::text::normalize(text.trim())
        .chars()
        .filter(|c| c.is_alphanumeric())
        .collect();
    matches!(
        t.as_str(),
        "取消"
            | "取消转人工"
            | "不用了"
            | "不需要人工了"
            | "撤回"
            | "cancel"
            | "nevermind"
            | "never mind"
    )
}

fn waiting_reply(question: &str, lang: Lang) -> Reply {
    let text = match lang {
        Lang::Zh => {
            "您的问题已转给招商护商专员，正在排队，专员接手后会在这里回复您。发送“取消”可撤回人工请求。"
        }
        Lang::En => {
            "Your question is with the commissioners' queue; one will reply here. Send \"cancel\" to withdraw the request."
        }
    };
    Reply {
        question: question.chars().take(200).collect(),
        kind: Kind::Handoff,
        text: text.to_string(),
        confidence: 0.0,
        reason: Some("waiting".into()),
        sources: Vec::new(),
        options: Vec::new(),
    }
}

pub(super) fn cancelled_reply(question: &str, lang: Lang) -> Reply {
    let text = match lang {
        Lang::Zh => "已取消人工服务请求，小二继续为您解答。",
        Lang::En => "Your request for a person is withdrawn; xiaoer is answering again.",
    };
    Reply {
        question: question.chars().take(200).collect(),
        kind: Kind::Answer,
        text: text.to_string(),
        confidence: 1.0,
        reason: Some("cancelled".into()),
        sources: Vec::new(),
        options: Vec::new(),
    }
}
