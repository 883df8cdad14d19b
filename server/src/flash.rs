//! One-shot messages kept in the session until the client reads them, like Django's messages
//! framework.

use app::api::{Level, Message};
use cookieless::{Session, SessionError};

const MESSAGES: &str = "messages";

pub async fn push(
    session: &Session,
    level: Level,
    text: impl Into<String>,
) -> Result<(), SessionError> {
    let mut messages: Vec<Message> = session.get(MESSAGES).await?.unwrap_or_default();
    messages.push(Message {
        level,
        text: text.into(),
    });
    session.insert(MESSAGES, messages).await
}

/// Every pending message, oldest first; they are gone once this request's session is saved.
pub async fn take(session: &Session) -> Result<Vec<Message>, SessionError> {
    Ok(session.remove(MESSAGES).await?.unwrap_or_default())
}
