//! Delivery records: what of a conversation has gone out to the investor's channel, which
//! announcements (a new ticket in the staff group) were made, and which channel thread (a
//! forum topic) belongs to which ticket. Every instance hears
//! every desk event; the record, taken in a transaction, makes exactly one of them send.

use super::*;

fn cursor_key(conversation: &str) -> Vec<u8> {
    format!("cursor:{conversation}").into_bytes()
}

/// A record holding a big-endian u64 (a delivery cursor, a ticket id).
fn read_u64(bytes: Option<Vec<u8>>) -> Option<u64> {
    bytes.and_then(|b| b.as_slice().try_into().ok().map(u64::from_be_bytes))
}

impl Desk {
    /// Takes what of `conversation` is still to go out to the investor: `pick` chooses it
    /// from the messages after the last delivery (its second argument; `None` the first
    /// time) and says which seq delivery reaches. The new cursor is stored before this
    /// returns, so of several instances handling the same event only one gets the texts;
    /// the others get none.
    pub fn take_outbound(
        &self,
        conversation: &str,
        pick: impl Fn(&[Message], Option<u64>) -> (Vec<String>, u64),
    ) -> Result<Vec<String>, DeskError> {
        self.take_outbound_keyed(cursor_key(conversation), conversation, pick)
    }

    /// `take_outbound` for another reader of the conversation than the investor's channel
    /// (`reader`, e.g. the commissioner's WeCom), with a delivery record of its own.
    pub fn take_outbound_for(
        &self,
        reader: &str,
        conversation: &str,
        pick: impl Fn(&[Message], Option<u64>) -> (Vec<String>, u64),
    ) -> Result<Vec<String>, DeskError> {
        let key = format!("cursor-for:{reader}:{conversation}").into_bytes();
        self.take_outbound_keyed(key, conversation, pick)
    }

    fn take_outbound_keyed(
        &self,
        key: Vec<u8>,
        conversation: &str,
        pick: impl Fn(&[Message], Option<u64>) -> (Vec<String>, u64),
    ) -> Result<Vec<String>, DeskError> {
        for _ in 0..50 {
            let known = read_u64(self.store.get(Table::Deliveries, &key)?);
            let messages = self.messages(conversation, known.unwrap_or(0))?;
            let (texts, reached) = pick(&messages, known);
            if known == Some(reached) {
                return Ok(Vec::new());
            }
            let won = std::cell::Cell::new(false);
            self.store.transaction(&|t| {
                won.set(false);
                if read_u64(t.get(Table::Deliveries, &key)?) != known {
                    return Ok(()); // another instance took these; read again
                }
                t.put(Table::Deliveries, &key, &reached.to_be_bytes())?;
                won.set(true);
                Ok(())
            })?;
            if won.get() {
                return Ok(texts);
            }
        }
        Err(DeskError::Invalid(format!(
            "delivery of {conversation} kept changing"
        )))
    }

    /// Whether this instance is the first to make announcement `what` (true once, ever,
    /// across every instance on the store).
    pub fn announce_once(&self, what: &str) -> Result<bool, DeskError> {
        let key = format!("announced:{what}").into_bytes();
        let first = std::cell::Cell::new(false);
        self.store.transaction(&|t| {
            first.set(t.get(Table::Deliveries, &key)?.is_none());
            if first.get() {
                t.put(Table::Deliveries, &key, &self.now().to_be_bytes())?;
            }
            Ok(())
        })?;
        Ok(first.get())
    }

    /// Remembers that `thread` of `channel` (a Telegram forum topic) belongs to `ticket`,
    /// in the store: whichever instance polls next reads the commissioners' messages there.
    pub fn remember_thread(
        &self,
        channel: &str,
        thread: i64,
        ticket: u64,
    ) -> Result<(), DeskError> {
        let key = format!("thread:{channel}:{thread}").into_bytes();
        self.store
            .transaction(&|t| t.put(Table::Deliveries, &key, &ticket.to_be_bytes()))?;
        Ok(())
    }

    /// The ticket `thread` of `channel` belongs to, if one was remembered.
    pub fn thread_ticket(&self, channel: &str, thread: i64) -> Result<Option<u64>, DeskError> {
        let key = format!("thread:{channel}:{thread}").into_bytes();
        Ok(read_u64(self.store.get(Table::Deliveries, &key)?))
    }

    /// Records that what a commissioner wrote could not reach the investor (`why`, e.g.
    /// WeChat's 48-hour window has closed), for the console to say until the investor
    /// writes again; the ticket's views refresh.
    pub fn note_undelivered(&self, conversation: &str, why: &str) -> Result<(), DeskError> {
        let key = format!("undelivered:{conversation}").into_bytes();
        let note = Undelivered {
            why: why.to_string(),
            at: self.now(),
        };
        self.store
            .transaction(&|t| t.put(Table::Deliveries, &key, &encode(&note)))?;
        let ticket = self
            .conversation(conversation)?
            .and_then(|c| c.owner.ticket());
        self.emit(conversation, ticket, "ticket_changed");
        Ok(())
    }

    /// Why replies in `conversation` are not reaching the investor, if they are not: a note
    /// newer than the investor's last message (writing again reopens the channel).
    pub fn undelivered(&self, conversation: &str) -> Result<Option<Undelivered>, DeskError> {
        self.undelivered_in(conversation, &self.messages(conversation, 0)?)
    }

    /// `undelivered`, for a caller that has just read the conversation's `messages`.
    pub fn undelivered_in(
        &self,
        conversation: &str,
        messages: &[Message],
    ) -> Result<Option<Undelivered>, DeskError> {
        let key = format!("undelivered:{conversation}").into_bytes();
        let Some(bytes) = self.store.get(Table::Deliveries, &key)? else {
            return Ok(None);
        };
        let note: Undelivered = decode(Table::Deliveries, &bytes)?;
        let last_written = messages
            .iter()
            .rev()
            .find(|m| matches!(m.author, Author::Investor))
            .map(|m| m.at);
        Ok((last_written.is_none_or(|at| at <= note.at)).then_some(note))
    }
}

/// Replies that could not reach an investor, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Undelivered {
    pub why: String,
    pub at: Millis,
}
