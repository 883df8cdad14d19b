use std::sync::Arc;

use crate::users::UserStore;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub users: Arc<dyn UserStore>,
}
