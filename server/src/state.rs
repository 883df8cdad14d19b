use std::sync::Arc;
use std::time::Duration;

use cookieless::{ClientAddress, Clock};

use crate::config::TransportKind;
use crate::credential::CredentialKey;
use crate::login_throttle::LoginThrottle;
use crate::notes::NoteStore;
use crate::password::Hasher;
use crate::users::UserStore;

/// What handlers share: the application's own data, and what guards its logins.
#[derive(Clone)]
pub struct AppState {
    pub users: Arc<dyn UserStore>,
    pub notes: Arc<dyn NoteStore>,
    pub hasher: Hasher,
    pub login_throttle: Arc<LoginThrottle>,
    pub credentials: CredentialKey,
    /// Where a request's client address is read, as the session layer reads it.
    pub client_address: ClientAddress,
    /// How recent a proof of the password sensitive actions need.
    pub reauth_after: Duration,
    /// How the session token travels, as `--transport` said.
    pub transport: TransportKind,
    /// The session layer's clock.
    pub clock: Clock,
}
