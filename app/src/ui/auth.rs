//! Logging in and registering: one form, two purposes.

use cookieless_client::use_session;
use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use super::notices::use_notices;
use super::rest as api;
use super::Redirect;
use crate::api::{paths, Credentials, FieldErrors, UserInfo};
use crate::call_error::{CallError, Refusal};
use crate::return_to::{login_then, register_then, return_path};
use crate::validation::registration_errors;

#[component]
pub fn LoginPage() -> impl IntoView {
    view! { <CredentialsForm purpose=Purpose::LogIn /> }
}

#[component]
pub fn RegisterPage() -> impl IntoView {
    view! { <CredentialsForm purpose=Purpose::Register /> }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Purpose {
    LogIn,
    Register,
}

impl Purpose {
    fn title(self) -> &'static str {
        match self {
            Purpose::LogIn => "Log in",
            Purpose::Register => "Create an account",
        }
    }

    fn action(self) -> &'static str {
        match self {
            Purpose::LogIn => "Log in",
            Purpose::Register => "Register",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Purpose::LogIn => paths::LOGIN,
            Purpose::Register => paths::REGISTER,
        }
    }
}

#[component]
fn CredentialsForm(purpose: Purpose) -> impl IntoView {
    let session = use_session();
    let notices = use_notices();
    let redirect = Redirect::use_redirect();
    let query = use_query_map();
    let username = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let fields = RwSignal::new(FieldErrors::new());
    let pending = RwSignal::new(false);

    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let credentials = Credentials {
            username: username.get_untracked(),
            password: password.get_untracked(),
        };
        if purpose == Purpose::Register {
            let errors = registration_errors(&credentials);
            if !errors.is_empty() {
                fields.set(errors);
                error.set(Some("Please correct the fields below.".into()));
                return;
            }
        }
        pending.set(true);
        // Whoever was logged in is not any more; the rotation to come is not a lost session.
        session.logged_out();
        spawn_local(async move {
            match api::post::<_, UserInfo>(purpose.path(), &credentials).await {
                Ok(user) => {
                    super::signed_in::remember(&session, user);
                    notices.fetch_messages().await;
                    let next = query.get_untracked().get("next");
                    let next = next.as_deref().and_then(return_path).unwrap_or("/");
                    redirect.go(next);
                }
                Err(failure) => {
                    fields.set(field_errors(&failure));
                    error.set(Some(summary(&failure)));
                }
            }
            pending.set(false);
        });
    };

    // The other page goes on to the same page as this one would.
    let next = move || {
        let next = query.get().get("next");
        next.as_deref()
            .and_then(return_path)
            .unwrap_or("/")
            .to_string()
    };
    let (password_autocomplete, other_page) = match purpose {
        Purpose::LogIn => (
            "current-password",
            view! { "No account yet? " <A href=move || register_then(&next())>"Create an account"</A> }
                .into_any(),
        ),
        Purpose::Register => (
            "new-password",
            view! { "Have an account? " <A href=move || login_then(&next())>"Log in instead"</A> }
                .into_any(),
        ),
    };
    view! {
        <section class="card auth" aria-labelledby="auth-heading">
            <h1 id="auth-heading">{purpose.title()}</h1>
            <form on:submit=submit novalidate>
                {move || error.get().map(|message| view! { <p class="error" role="alert">{message}</p> })}
                <label for="username">"Username"</label>
                <input id="username" name="username" type="text" autocomplete="username"
                    aria-describedby="username-errors" bind:value=username />
                <FieldErrorList id="username-errors" field="username" errors=fields />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete=password_autocomplete
                    aria-describedby="password-errors" bind:value=password />
                <FieldErrorList id="password-errors" field="password" errors=fields />
                <button type="submit" disabled=move || pending.get()>{purpose.action()}</button>
            </form>
            <p class="switch">{other_page}</p>
        </section>
    }
}

#[component]
pub(super) fn FieldErrorList(
    id: &'static str,
    field: &'static str,
    errors: RwSignal<FieldErrors>,
) -> impl IntoView {
    view! {
        <ul id=id class="field-errors">
            {move || {
                errors.get().get(field).cloned().unwrap_or_default()
                    .into_iter()
                    .map(|message| view! { <li>{message}</li> })
                    .collect_view()
            }}
        </ul>
    }
}

fn field_errors(failure: &CallError) -> FieldErrors {
    ["username", "password"]
        .into_iter()
        .filter(|field| !failure.field(field).is_empty())
        .map(|field| (field.to_string(), failure.field(field).to_vec()))
        .collect()
}

/// What the form says above its fields when the server refused it.
pub(super) fn summary(failure: &CallError) -> String {
    match failure {
        CallError::Refused(Refusal {
            detail: Some(detail),
            ..
        }) => detail.clone(),
        CallError::Refused(_) => "Please correct the fields below.".to_string(),
        CallError::Failed(error) => error.to_string(),
    }
}
