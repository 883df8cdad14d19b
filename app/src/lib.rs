//! What the demo's browser client and its server share: the JSON API's types and its input rules,
//! so that both sides agree on them by construction.

pub mod api;
pub mod validation;
