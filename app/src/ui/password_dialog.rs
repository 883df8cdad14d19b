//! The password, asked again before a sensitive action: a small dialog, then the action once
//! more, so that the user never starts over.

use std::future::Future;

use futures_channel::oneshot;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::rest as api;
use crate::api::{paths, PasswordConfirmation};
use crate::call_error::CallError;

/// The way to ask for the password again, from anywhere in the app.
#[derive(Clone, Copy)]
pub struct PasswordCheck {
    open: RwSignal<bool>,
    /// Who waits for the answer: `true` once the password is confirmed.
    answer: StoredValue<Option<oneshot::Sender<bool>>>,
}

pub fn provide_password_check() -> PasswordCheck {
    let check = PasswordCheck {
        open: RwSignal::new(false),
        answer: StoredValue::new(None),
    };
    provide_context(check);
    check
}

pub fn use_password_check() -> PasswordCheck {
    expect_context::<PasswordCheck>()
}

impl PasswordCheck {
    /// Runs `action`; if the server wants the password entered again first, asks for it and,
    /// once confirmed, runs `action` once more. `None` when the user cancelled the dialog: there
    /// is nothing to report. A second refusal is an answer like any other, for the caller to show.
    pub async fn confirmed<T, Action, Call>(self, action: Action) -> Option<Result<T, CallError>>
    where
        Action: Fn() -> Call,
        Call: Future<Output = Result<T, CallError>>,
    {
        match action().await {
            Err(refusal) if refusal.needs_reauthentication() => {
                if self.ask().await {
                    Some(action().await)
                } else {
                    None
                }
            }
            answer => Some(answer),
        }
    }

    async fn ask(self) -> bool {
        let (sender, receiver) = oneshot::channel();
        // A question still open is answered "no" by the drop of its sender.
        self.answer.set_value(Some(sender));
        self.open.set(true);
        receiver.await.unwrap_or(false)
    }

    fn finish(self, confirmed: bool) {
        self.open.set(false);
        if let Some(Some(sender)) = self.answer.try_update_value(Option::take) {
            let _ = sender.send(confirmed);
        }
    }
}

/// The dialog itself: modal, so that the browser moves focus into it and Escape closes it.
#[component]
pub fn PasswordDialog() -> impl IntoView {
    let check = use_password_check();
    let session = cookieless_client::use_session();
    let dialog = NodeRef::<leptos::html::Dialog>::new();
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let pending = RwSignal::new(false);
    // In the page only while open, so that its fields are nobody else's labels; shown modal as
    // soon as it is there.
    Effect::new(move |_| {
        if let Some(dialog) = dialog.get() {
            if !dialog.open() {
                let _ = dialog.show_modal();
            }
        }
    });
    let reset = move || {
        password.set(String::new());
        error.set(None);
    };
    // The question was asked for the session held then: another login or a logout (in this tab
    // or another) answers it "no", so that nobody's password confirms somebody else's action.
    Effect::new(move |asked_under: Option<Option<String>>| {
        let token = session.token.get();
        if asked_under.is_some_and(|asked_under| asked_under != token) && check.open.get_untracked()
        {
            reset();
            check.finish(false);
        }
        token
    });
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        if pending.get_untracked() {
            return;
        }
        pending.set(true);
        let confirmation = PasswordConfirmation {
            password: password.get_untracked(),
        };
        spawn_local(async move {
            let asked_under = session.token.get_untracked();
            match api::post::<_, ()>(paths::CONFIRM, &confirmation).await {
                // Unless the session changed meanwhile, which answered the question already.
                Ok(())
                    if check.open.get_untracked()
                        && session.token.get_untracked() == asked_under =>
                {
                    reset();
                    check.finish(true);
                }
                Ok(()) => {}
                Err(failure) => {
                    let message = failure.field("password").first().cloned();
                    error.set(Some(message.unwrap_or_else(|| failure.to_string())));
                }
            }
            pending.set(false);
        });
    };
    // Escape, the Cancel button, or a close by the app: whoever waits hears "no", unless the
    // password was confirmed first.
    let closed = move |_| {
        if check.open.get_untracked() {
            reset();
            check.finish(false);
        }
    };
    move || {
        check.open.get().then(|| view! {
        <dialog node_ref=dialog class="card password-dialog" aria-labelledby="password-dialog-heading"
            on:close=closed>
            <form on:submit=submit>
                <h2 id="password-dialog-heading">"Confirm your password"</h2>
                <p>"To keep your account safe, enter your password again to continue."</p>
                {move || error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                <label for="confirm-password">"Password"</label>
                <input id="confirm-password" name="password" type="password"
                    autocomplete="current-password" autofocus bind:value=password />
                <div class="actions">
                    <button type="submit" disabled=move || pending.get()>"Confirm"</button>
                    <button type="button" class="secondary" on:click=move |_| {
                        reset();
                        check.finish(false);
                    }>"Cancel"</button>
                </div>
            </form>
        </dialog>
        })
    }
}
