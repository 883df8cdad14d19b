//! Notices shown above every page: the server's one-shot messages and the app's own.

use leptos::prelude::*;

use super::rest as api;
use crate::api::{paths, Level, Message};

#[derive(Clone, Copy)]
pub struct Notices {
    list: RwSignal<Vec<(u64, Message)>>,
}

pub fn provide_notices() -> Notices {
    let notices = Notices {
        list: RwSignal::new(Vec::new()),
    };
    provide_context(notices);
    notices
}

pub fn use_notices() -> Notices {
    expect_context::<Notices>()
}

impl Notices {
    pub fn push(&self, level: Level, text: impl Into<String>) {
        let message = Message {
            level,
            text: text.into(),
        };
        self.list.update(|list| {
            let id = list.last().map_or(0, |(id, _)| id + 1);
            list.push((id, message));
        });
    }

    pub fn dismiss(&self, id: u64) {
        self.list
            .update(|list| list.retain(|(other, _)| *other != id));
    }

    /// Shows the messages the server kept for this session; reading them removes them there.
    pub async fn fetch_messages(self) {
        if let Ok(messages) = api::get::<Vec<Message>>(paths::MESSAGES).await {
            for message in messages {
                self.push(message.level, message.text);
            }
        }
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::Success => "success",
        Level::Info => "info",
        Level::Warning => "warning",
        Level::Error => "error",
    }
}

#[component]
pub fn NoticeList() -> impl IntoView {
    let notices = use_notices();
    view! {
        <section class="notices" aria-label="Notices" aria-live="polite">
            <For
                each=move || notices.list.get()
                key=|(id, _)| *id
                children=move |(id, message)| {
                    view! {
                        <div class=format!("notice notice-{}", level_name(message.level)) role="status">
                            <p>{message.text}</p>
                            <button type="button" class="dismiss" on:click=move |_| notices.dismiss(id)>
                                "Dismiss"
                            </button>
                        </div>
                    }
                }
            />
        </section>
    }
}
