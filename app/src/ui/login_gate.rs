//! Pages for the logged-in: opened by anybody else, they say what to do instead of failing.

use cookieless_client::use_session;
use leptos::prelude::*;
use leptos_router::components::A;

use crate::return_to::{login_then, register_then};

/// Whether the app knows by now who is logged in: until then, a page for the logged-in shows
/// neither itself nor the way to log in.
#[derive(Clone, Copy)]
pub struct UserCheck {
    pub known: RwSignal<bool>,
}

pub fn provide_user_check() -> UserCheck {
    let check = UserCheck {
        known: RwSignal::new(false),
    };
    provide_context(check);
    check
}

/// Shows `children` to a logged-in user, and anybody else a way to log in that comes back here.
#[component]
pub fn RequireLogin(
    /// What the page shows, as in "Log in to see your notes".
    to_see: &'static str,
    /// The page's own path.
    here: &'static str,
    children: ChildrenFn,
) -> impl IntoView {
    let session = use_session();
    let check = expect_context::<UserCheck>();
    move || {
        if session.user.get().is_some() {
            children().into_any()
        } else if !check.known.get() {
            view! { <p class="loading" aria-live="polite">"Loading…"</p> }.into_any()
        } else {
            view! {
                <section class="card login-gate" aria-labelledby="login-gate-heading">
                    <h1 id="login-gate-heading">{format!("Log in to see {to_see}")}</h1>
                    <p>
                        <A href=login_then(here)>"Log in"</A>
                        " or "
                        <A href=register_then(here)>"create an account"</A>
                        {format!(", and you will come back to {to_see}.")}
                    </p>
                </section>
            }
            .into_any()
        }
    }
}
