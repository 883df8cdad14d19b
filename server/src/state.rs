use std::sync::Arc;

use crate::notes::NoteStore;
use crate::users::UserStore;

/// What handlers share: the application's own data.
#[derive(Clone)]
pub struct AppState {
    pub users: Arc<dyn UserStore>,
    pub notes: Arc<dyn NoteStore>,
}
