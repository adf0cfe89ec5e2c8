//! Commissioners' actions on tickets (claim, reply, release, hand back, close), the
//! investor's cancel, claim timeouts and feedback: each one transaction with an audit line.

use super::inbound::cancelled_reply;
use super::*;

impl Desk {
    /// Runs one staff action on a ticket as a transaction: `f` changes the ticket and the
    /// conversation and returns the audit line and any message to append.
    fn staff_action(
        &self,
        ticket_id: u64,
        who: &str,
        f: &StaffChange<'_>,
    ) -> Result<Ticket, DeskError> {
        let now = self.now();
        let failure = std::cell::RefCell::new(None);
        let done = std::cell::RefCell::new(None);
        self.store.transaction(&|t| {
            let Some(mut ticket) = get::<Ticket>(t, Table::Tickets, &ticket_id.to_be_bytes())?
            else {
                *failure.borrow_mut() = Some(DeskError::NotFound(format!("ticket {ticket_id}")));
                return Ok(());
            };
            let Some(mut conv) =
                get::<Conversation>(t, Table::Conversations, ticket.conversation.as_bytes())?
            else {
                *failure.borrow_mut() = Some(DeskError::NotFound(format!(
                    "conversation {}",
                    ticket.conversation
                )));
                return Ok(());
            };
            match f(&mut ticket, &mut conv, now) {
                Err(e) => {
                    *failure.borrow_mut() = Some(e);
                    Ok(())
                }
                Ok((what, message)) => {
                    if let Some((author, text)) = message {
                        append(t, &mut conv, now, author, &text, None)?;
                    }
                    t.put(Table::Tickets, &ticket.id.to_be_bytes(), &encode(&ticket))?;
                    t.put(Table::Conversations, conv.id.as_bytes(), &encode(&conv))?;
                    audit(t, now, who, &what, Some(&conv.id), Some(ticket.id))?;
                    *done.borrow_mut() = Some(ticket);
                    Ok(())
                }
            }
        })?;
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        let ticket = done
            .into_inner()
            .ok_or_else(|| DeskError::Invalid("no change".into()))?;
        self.store.durable()?;
        self.emit(&ticket.conversation, Some(ticket.id), "ticket_changed");
        Ok(ticket)
    }

    /// Claims are atomic: of two commissioners claiming at once, exactly one wins.
    pub fn claim(&self, ticket: u64, who: &str) -> Result<Ticket, DeskError> {
        self.touch(who);
        self.staff_action(ticket, who, &|t, conv, now| {
            match &t.state {
                TicketState::Closed { .. } => return Err(DeskError::Closed(t.id)),
                TicketState::Claimed { by, .. } if by != who => {
                    return Err(DeskError::AlreadyClaimed {
                        ticket: t.id,
                        by: by.clone(),
                    });
                }
                _ => {}
            }
            t.state = TicketState::Claimed {
                by: who.to_string(),
                at: now,
            };
            conv.owner = Owner::Staff {
                ticket: t.id,
                commissioner: who.to_string(),
            };
            Ok(("claimed".into(), None))
        })
    }

    fn must_hold(t: &Ticket, who: &str) -> Result<(), DeskError> {
        match &t.state {
            TicketState::Claimed { by, .. } if by == who => Ok(()),
            TicketState::Claimed { by, .. } => Err(DeskError::NotYours {
                ticket: t.id,
                by: by.clone(),
            }),
            TicketState::Open => Err(DeskError::NotClaimed(t.id)),
            TicketState::Closed { .. } => Err(DeskError::Closed(t.id)),
        }
    }

    /// A commissioner's reply, delivered in the investor's own conversation.
    pub fn reply(
        &self,
        ticket: u64,
        who: &str,
        text: &str,
    ) -> Result<(Ticket, Conversation), DeskError> {
        self.touch(who);
        let text = text.trim();
        if text.is_empty() {
            return Err(DeskError::Invalid("the reply is empty".into()));
        }
        let t = self.staff_action(ticket, who, &|t, _conv, now| {
            Desk::must_hold(t, who)?;
            t.first_reply_at.get_or_insert(now);
            t.last_staff_reply_at = Some(now);
            Ok((
                "replied".into(),
                Some((
                    Author::Staff {
                        name: who.to_string(),
                    },
                    text.to_string(),
                )),
            ))
        })?;
        let conv = self
            .conversation(&t.conversation)?
            .ok_or_else(|| DeskError::NotFound(t.conversation.clone()))?;
        Ok((t, conv))
    }

    /// Back to the queue for another commissioner.
    pub fn release(&self, ticket: u64, who: &str) -> Result<Ticket, DeskError> {
        self.staff_action(ticket, who, &|t, conv, _| {
            Desk::must_hold(t, who)?;
            t.state = TicketState::Open;
            conv.owner = Owner::Waiting { ticket: t.id };
            Ok(("released".into(), None))
        })
    }

    /// The bot answers again; the ticket is done.
    pub fn handback(&self, ticket: u64, who: &str) -> Result<Ticket, DeskError> {
        self.finish(ticket, who, Outcome::HandedBack)
    }

    pub fn close(&self, ticket: u64, who: &str) -> Result<Ticket, DeskError> {
        self.finish(ticket, who, Outcome::Closed)
    }

    fn finish(&self, ticket: u64, who: &str, outcome: Outcome) -> Result<Ticket, DeskError> {
        self.staff_action(ticket, who, &|t, conv, now| {
            if !matches!(t.state, TicketState::Open) {
                Desk::must_hold(t, who)?;
            }
            t.state = TicketState::Closed {
                by: who.to_string(),
                at: now,
                outcome,
            };
            conv.owner = Owner::Bot;
            let lang = Lang::parse(&t.brief.language);
            let note = match (outcome, lang) {
                (Outcome::HandedBack, Lang::Zh) => "专员已将对话交还给小二，您可以继续提问。",
                (Outcome::HandedBack, Lang::En) => {
                    "The commissioner has handed the chat back to xiaoer; ask away."
                }
                (_, Lang::Zh) => "本次人工服务已结束，小二会继续为您解答。",
                (_, Lang::En) => {
                    "This conversation with a commissioner is closed; xiaoer will keep answering."
                }
            };
            let what = match outcome {
                Outcome::HandedBack => "handed back to the bot",
                Outcome::Closed => "closed",
                Outcome::Cancelled => "cancelled",
            };
            Ok((what.into(), Some((Author::System, note.to_string()))))
        })
    }

    /// The investor withdraws their request for a person.
    pub fn cancel(&self, conversation: &str) -> Result<Option<Ticket>, DeskError> {
        let Some(conv) = self.conversation(conversation)? else {
            return Ok(None);
        };
        let Owner::Waiting { ticket } = conv.owner else {
            return Ok(None);
        };
        let lang = Lang::parse(&self.ticket(ticket)?.brief.language);
        self.staff_action(ticket, "investor", &|t, conv, now| {
            if !matches!(t.state, TicketState::Open) {
                return Err(DeskError::Invalid(
                    "a commissioner already took this request".into(),
                ));
            }
            t.state = TicketState::Closed {
                by: "investor".into(),
                at: now,
                outcome: Outcome::Cancelled,
            };
            conv.owner = Owner::Bot;
            Ok((
                "cancelled the hand-off".into(),
                Some((Author::System, cancelled_reply("", lang).text)),
            ))
        })
        .map(Some)
    }

    /// The investor can no longer be reached (blocked the bot): close their open ticket so
    /// nobody keeps answering into the void.
    pub fn investor_gone(&self, conversation: &str) -> Result<(), DeskError> {
        let Some(conv) = self.conversation(conversation)? else {
            return Ok(());
        };
        let Some(ticket) = conv.owner.ticket() else {
            return Ok(());
        };
        self.staff_action(ticket, "system", &|t, conv, now| {
            t.state = TicketState::Closed {
                by: "system".into(),
                at: now,
                outcome: Outcome::Closed,
            };
            conv.owner = Owner::Bot;
            Ok(("closed: the investor can no longer be reached".into(), None))
        })?;
        Ok(())
    }

    /// Claims with no reply within the timeout go back to the queue, flagged. Timers are
    /// timestamps in the tickets, so they survive a restart.
    pub fn sweep_timers(&self) -> Result<Vec<u64>, DeskError> {
        let now = self.now();
        let timeout = self.config.claim_timeout_secs as i64 * 1000;
        let mut returned = Vec::new();
        for t in self.open_tickets()? {
            if let TicketState::Claimed { by, at } = &t.state {
                let replied_since_claim = t.last_staff_reply_at.is_some_and(|r| r >= *at);
                if !replied_since_claim && now - at >= timeout {
                    let (by, claimed_at) = (by.clone(), *at);
                    // Re-checked inside the transaction: another instance's sweep may have
                    // returned it (and someone claimed it again) since the read above.
                    let r = self.staff_action(t.id, "timer", &|t, conv, _| {
                        let same_claim = matches!(&t.state,
                            TicketState::Claimed { by: b, at } if *b == by && *at == claimed_at);
                        let replied = t.last_staff_reply_at.is_some_and(|r| r >= claimed_at);
                        if !same_claim || replied {
                            return Err(DeskError::Invalid("changed".into()));
                        }
                        t.state = TicketState::Open;
                        t.flagged = true;
                        conv.owner = Owner::Waiting { ticket: t.id };
                        Ok((format!("claim by {by} timed out; back to the queue"), None))
                    });
                    if r.is_ok() {
                        returned.push(t.id);
                    }
                }
            }
        }
        Ok(returned)
    }

    pub fn feedback(&self, conversation: &str, seq: u64, vote: Vote) -> Result<(), DeskError> {
        let failure = std::cell::RefCell::new(None);
        let now = self.now();
        self.store.transaction(&|t| {
            let key = message_key(conversation, seq);
            let Some(mut m) = get::<Message>(t, Table::Messages, &key)? else {
                *failure.borrow_mut() = Some(DeskError::NotFound(format!("message {seq}")));
                return Ok(());
            };
            if m.author != Author::Bot {
                *failure.borrow_mut() = Some(DeskError::Invalid(
                    "only the bot's answers take feedback".into(),
                ));
                return Ok(());
            }
            m.feedback = Some(vote);
            t.put(Table::Messages, &key, &encode(&m))?;
            audit(
                t,
                now,
                "investor",
                &format!("feedback {vote:?} on message {seq}"),
                Some(conversation),
                None,
            )
        })?;
        if let Some(e) = failure.into_inner() {
            return Err(e);
        }
        self.store.durable()?;
        Ok(())
    }
}
