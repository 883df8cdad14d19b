//! The account page: a new password, which logs out every other device.

use cookieless_client::use_session;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::auth::{summary, FieldErrorList};
use super::notices::use_notices;
use super::rest as api;
use crate::api::{paths, FieldErrors, PasswordChange, UserInfo};
use crate::call_error::CallError;
use crate::validation::password_errors;

#[component]
pub fn AccountPage() -> impl IntoView {
    view! {
        <h1>"Account"</h1>
        <ChangePasswordForm />
    }
}

#[component]
fn ChangePasswordForm() -> impl IntoView {
    let session = use_session();
    let notices = use_notices();
    let current = RwSignal::new(String::new());
    let new = RwSignal::new(String::new());
    let confirm = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let fields = RwSignal::new(FieldErrors::new());
    let pending = RwSignal::new(false);

    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let change = PasswordChange {
            current_password: current.get_untracked(),
            new_password: new.get_untracked(),
        };
        let errors = form_errors(&change, &confirm.get_untracked());
        if !errors.is_empty() {
            fields.set(errors);
            error.set(Some("Please correct the fields below.".into()));
            return;
        }
        pending.set(true);
        spawn_local(async move {
            // The answer rotates the token, which is not a session that ended by itself.
            let changed = session
                .rotating(api::post::<_, ()>(paths::PASSWORD, &change))
                .await;
            match changed {
                Ok(()) => {
                    for field in [current, new, confirm] {
                        field.set(String::new());
                    }
                    fields.set(FieldErrors::new());
                    error.set(None);
                    // The rotation began the login's time anew: learn its new end.
                    if let Ok(me) = api::get::<UserInfo>(paths::ME).await {
                        super::signed_in::remember(&session, me);
                    }
                    notices.fetch_messages().await;
                }
                Err(failure) => {
                    fields.set(field_errors(&failure));
                    error.set(Some(summary(&failure)));
                }
            }
            pending.set(false);
        });
    };

    view! {
        <section class="card auth" aria-labelledby="password-heading">
            <h2 id="password-heading">"Change your password"</h2>
            <p>"Every other device you are logged in on is logged out; this one stays logged in."</p>
            <form on:submit=submit novalidate>
                {move || error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                <label for="current-password">"Current password"</label>
                <input id="current-password" name="current_password" type="password"
                    autocomplete="current-password" aria-describedby="current-password-errors"
                    bind:value=current />
                <FieldErrorList id="current-password-errors" field="current_password" errors=fields />
                <label for="new-password">"New password"</label>
                <input id="new-password" name="new_password" type="password"
                    autocomplete="new-password" aria-describedby="new-password-errors"
                    bind:value=new />
                <FieldErrorList id="new-password-errors" field="new_password" errors=fields />
                <label for="confirm-password">"Confirm the new password"</label>
                <input id="confirm-password" name="confirm_password" type="password"
                    autocomplete="new-password" aria-describedby="confirm-password-errors"
                    bind:value=confirm />
                <FieldErrorList id="confirm-password-errors" field="confirm_password" errors=fields />
                <button type="submit" disabled=move || pending.get()>"Change password"</button>
            </form>
        </section>
    }
}

/// What can be told before asking the server: a current password given, a new one that meets the
/// rules, and the same new one twice.
fn form_errors(change: &PasswordChange, confirm: &str) -> FieldErrors {
    let mut errors = FieldErrors::new();
    if change.current_password.is_empty() {
        errors.insert(
            "current_password".into(),
            vec!["This field is required.".into()],
        );
    }
    let new = password_errors(&change.new_password);
    if !new.is_empty() {
        errors.insert("new_password".into(), new);
    }
    if confirm != change.new_password {
        errors.insert(
            "confirm_password".into(),
            vec!["The two new passwords differ.".into()],
        );
    }
    errors
}

fn field_errors(failure: &CallError) -> FieldErrors {
    ["current_password", "new_password"]
        .into_iter()
        .filter(|field| !failure.field(field).is_empty())
        .map(|field| (field.to_string(), failure.field(field).to_vec()))
        .collect()
}
