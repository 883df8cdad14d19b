//! How the open tabs of a site share one token, without storage.
//!
//! Tabs talk over a `BroadcastChannel` named [`CHANNEL`]. It works where cookies are blocked
//! (Web Storage and Web Locks are refused there, a channel is not), needs no script of its own to
//! serve and no change to a Content-Security-Policy, and keeps nothing once the last tab of the
//! site is gone, which is what makes the token end with the browser session as a session cookie
//! does. A `SharedWorker` could hold the token as well, but only from a script served by the site
//! itself (a `blob:` URL gives every tab a worker of its own), and Chrome on Android has none.
//!
//! Every tab holds the same [`TabState`]. A change carries a [`Stamp`], a Lamport clock with the
//! tab's id to break ties, and a tab adopts a state newer than its own: whatever order messages
//! arrive in, all tabs settle on the last change. A tab that opens asks the others and waits up
//! to [`ASK_WAIT`] for an answer before its first request.
//!
//! Starting a session, which only a write without a token does, is claimed across tabs: a tab
//! announces its claim, listens for [`SETTLE`] for a rival one, and the lower claim wins; the
//! others wait for the winner's release, by which time its new token has reached them.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use futures_channel::oneshot;
use futures_util::future::{self, Either};
use gloo_timers::future::TimeoutFuture;
use serde::{Deserialize, Serialize};
use wasm_bindgen::closure::Closure;
use wasm_bindgen::{JsCast, JsValue};

/// The channel the tabs of one origin share.
pub const CHANNEL: &str = "cookieless-session";

/// How long a tab that opens waits for the tabs already open to tell it their token.
pub const ASK_WAIT: Duration = Duration::from_millis(250);

/// How long a claim to start a session listens for a rival claim before it counts as won.
const SETTLE: Duration = Duration::from_millis(40);

/// How long a request without a token waits for another one, in this tab or another, to start
/// the session before it goes without; a claim older than this is taken as abandoned (its tab
/// crashed, or was frozen before it could say goodbye).
pub const START_WAIT: Duration = Duration::from_secs(10);

/// Whether the tabs of a site share one session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TabScope {
    /// Every open tab of the site holds the same token, as they would share a session cookie;
    /// it ends when the last of them closes.
    #[default]
    Shared,
    /// Each tab has a session of its own (two accounts side by side, for instance).
    PerTab,
}

impl TabScope {
    /// Reads a scope's name as written in a URL or configuration: `shared`, `per-tab`.
    ///
    /// ```
    /// use cookieless_client::TabScope;
    ///
    /// assert_eq!(TabScope::from_name("per-tab"), Some(TabScope::PerTab));
    /// assert_eq!(TabScope::from_name("every-tab"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        match name {
            "shared" => Some(TabScope::Shared),
            "per-tab" => Some(TabScope::PerTab),
            _ => None,
        }
    }

    /// How a person would say it.
    ///
    /// ```
    /// assert_eq!(cookieless_client::TabScope::Shared.label(), "shared by every tab");
    /// ```
    pub fn label(self) -> &'static str {
        match self {
            TabScope::Shared => "shared by every tab",
            TabScope::PerTab => "this tab only",
        }
    }
}

/// Orders the changes of the shared state: the later change has the greater stamp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub(crate) struct Stamp {
    /// Lamport time: one more than the greatest count this tab has seen.
    pub(crate) count: u64,
    /// The tab that made the change, so that two changes never tie.
    pub(crate) tab: u64,
}

impl Stamp {
    /// The stamp of a change made by this tab after everything it has seen.
    pub(crate) fn next_after(seen: Stamp) -> Stamp {
        Stamp {
            count: seen.count.saturating_add(1),
            tab: this_tab(),
        }
    }

    /// Whether any tab ever changed the state: a tab that only started knows nothing to tell.
    pub(crate) fn is_initial(self) -> bool {
        self.count == 0
    }
}

/// What every tab of the site agrees on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TabState {
    pub(crate) token: Option<String>,
    /// When the session dies unless used again, on this browser's clock (milliseconds since the
    /// Unix epoch, as `Date.now()` counts).
    pub(crate) expires: Option<f64>,
    pub(crate) stamp: Stamp,
    /// Who is logged in with this token, as the application said in one of the tabs; `None`
    /// while `user_known` is false (no tab has said yet).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<String>,
    #[serde(default)]
    pub(crate) user_known: bool,
    /// When the token last changed, by `Date.now()` of the tab that changed it: what orders two
    /// tokens that tabs brought back from before a reload, which no stamp orders.
    #[serde(default)]
    pub(crate) changed_at: f64,
}

impl TabState {
    /// Whether this state holds the token that the change `stamp` brought: news about that
    /// change (a deadline, who is logged in) concerns it.
    pub(crate) fn holds_change(&self, stamp: Stamp) -> bool {
        self.stamp == stamp && self.token.is_some()
    }
}

// Externally tagged (`{"state": {...}}`): an internal tag would make serde buffer every message,
// which weighs in the browser's module.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Message {
    /// A tab opened (or came back) and wants the token; it says what it holds, which the others
    /// take if it is newer (a tab reloaded with the token while they opened without).
    Ask { from: u64, state: TabState },
    /// A tab's state: an answer to `Ask`, or a change it made.
    State { from: u64, state: TabState },
    /// The answer to `Ask` of a tab that knows of no token either: it is there, that is all.
    Here { from: u64 },
    /// A new deadline for the token that the change `stamp` brought. It changes no token: a
    /// deadline read from an answer must never undo a login another tab made meanwhile.
    Deadline {
        from: u64,
        stamp: Stamp,
        expires: Option<f64>,
    },
    /// Who is logged in with the token that the change `stamp` brought, as the application
    /// learned it (a login's answer, say): the other tabs follow without asking the server.
    User {
        from: u64,
        stamp: Stamp,
        user: Option<String>,
    },
    /// A tab wants to start a session (`started`: it already is).
    Claim { from: u64, seq: u64, started: bool },
    /// A tab gave its claim up: its request ended, or it lost to a rival.
    Release { from: u64 },
    /// A tab is closing.
    Bye { from: u64 },
}

/// What the token holder lends the channel: its state, and a way to take another tab's.
#[derive(Clone, Copy)]
pub(crate) struct Hooks {
    pub(crate) current: fn() -> TabState,
    pub(crate) adopt: fn(TabState),
    pub(crate) adopt_deadline: fn(Stamp, Option<f64>),
    pub(crate) adopt_user: fn(Stamp, Option<String>),
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ClaimOrder {
    seq: u64,
    tab: u64,
}

struct Link {
    channel: web_sys::BroadcastChannel,
    hooks: Hooks,
    /// Other tabs heard from and not gone since.
    peers: BTreeSet<u64>,
    /// Other tabs' claims to start a session, whether each has started, and when it was heard.
    claims: BTreeMap<u64, Claimed>,
    /// This tab's claim, and whether it has started.
    mine: Option<(u64, bool)>,
    next_seq: u64,
    /// Whoever waits for a claim to end or a state to arrive.
    waiting: Vec<oneshot::Sender<()>>,
    /// Whoever waits for another tab's state.
    answers: Vec<oneshot::Sender<()>>,
    _on_message: Closure<dyn Fn(web_sys::MessageEvent)>,
    _on_pagehide: Closure<dyn Fn()>,
    _on_pageshow: Closure<dyn Fn(web_sys::PageTransitionEvent)>,
}

#[derive(Clone, Copy)]
struct Claimed {
    seq: u64,
    started: bool,
    /// When it was heard, by `Date.now()`.
    at: f64,
}

thread_local! {
    static LINK: RefCell<Option<Link>> = const { RefCell::new(None) };
    static THIS_TAB: u64 = random_id();
}

fn random_id() -> u64 {
    // 53 random bits, as many as a JavaScript number holds exactly.
    (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64
}

/// This tab's id among the site's open tabs.
pub(crate) fn this_tab() -> u64 {
    THIS_TAB.with(|id| *id)
}

/// Joins the site's other tabs. Returns whether this browser has the channel; without it, the
/// tab keeps a session of its own.
pub(crate) fn open(hooks: Hooks) -> bool {
    if is_open() {
        LINK.with(|link| {
            if let Some(link) = link.borrow_mut().as_mut() {
                link.hooks = hooks;
            }
        });
        return true;
    }
    let Ok(channel) = web_sys::BroadcastChannel::new(CHANNEL) else {
        return false;
    };
    let on_message =
        Closure::<dyn Fn(web_sys::MessageEvent)>::new(|event: web_sys::MessageEvent| {
            if let Some(text) = event.data().as_string() {
                if let Ok(message) = serde_json::from_str::<Message>(&text) {
                    receive(message);
                }
            }
        });
    channel.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let on_pagehide = Closure::<dyn Fn()>::new(|| post(&Message::Bye { from: this_tab() }));
    // A page restored from the back/forward cache missed every change since it was hidden.
    let on_pageshow = Closure::<dyn Fn(web_sys::PageTransitionEvent)>::new(
        |event: web_sys::PageTransitionEvent| {
            if event.persisted() {
                ask_again();
            }
        },
    );
    if let Some(window) = web_sys::window() {
        let _ = window
            .add_event_listener_with_callback("pagehide", on_pagehide.as_ref().unchecked_ref());
        let _ = window
            .add_event_listener_with_callback("pageshow", on_pageshow.as_ref().unchecked_ref());
    }
    LINK.with(|link| {
        *link.borrow_mut() = Some(Link {
            channel,
            hooks,
            peers: BTreeSet::new(),
            claims: BTreeMap::new(),
            mine: None,
            next_seq: 1,
            waiting: Vec::new(),
            answers: Vec::new(),
            _on_message: on_message,
            _on_pagehide: on_pagehide,
            _on_pageshow: on_pageshow,
        });
    });
    true
}

/// Leaves the other tabs: this tab keeps a session of its own from now on.
pub(crate) fn close() {
    let link = LINK.with(|link| link.borrow_mut().take());
    if let Some(link) = link {
        post_on(&link.channel, &Message::Bye { from: this_tab() });
        link.channel.set_onmessage(None);
        link.channel.close();
        if let Some(window) = web_sys::window() {
            let _ = window.remove_event_listener_with_callback(
                "pagehide",
                link._on_pagehide.as_ref().unchecked_ref(),
            );
            let _ = window.remove_event_listener_with_callback(
                "pageshow",
                link._on_pageshow.as_ref().unchecked_ref(),
            );
        }
    }
}

pub(crate) fn is_open() -> bool {
    LINK.with(|link| link.borrow().is_some())
}

/// Tells the other tabs of a change this tab made.
pub(crate) fn announce(state: &TabState) {
    post(&Message::State {
        from: this_tab(),
        state: state.clone(),
    });
}

/// Tells the other tabs of a new deadline for the token they hold too.
pub(crate) fn announce_deadline(stamp: Stamp, expires: Option<f64>) {
    post(&Message::Deadline {
        from: this_tab(),
        stamp,
        expires,
    });
}

/// Tells the other tabs who is logged in with the token they hold too.
pub(crate) fn announce_user(stamp: Stamp, user: Option<String>) {
    post(&Message::User {
        from: this_tab(),
        stamp,
        user,
    });
}

/// Asks the tabs already open for their state, and waits until one tells it (the holder has
/// adopted it by then, if newer) or [`ASK_WAIT`] has passed. Tabs that know of nothing (no
/// change, no token kept from before a reload) answer that they are there, which ends no
/// wait.
pub(crate) async fn ask() {
    let Some(answer) = with_link(|link| {
        let (sender, receiver) = oneshot::channel();
        link.answers.push(sender);
        receiver
    }) else {
        return;
    };
    ask_again();
    wait_for(answer, millis(ASK_WAIT)).await;
}

/// Asks the other tabs for their state without waiting: a tab that may have missed a change (a
/// request refused for a retired token, a page back from the cache) hears it again.
pub(crate) fn ask_again() {
    let Some(hooks) = with_link(|link| link.hooks) else {
        return;
    };
    post(&Message::Ask {
        from: this_tab(),
        state: (hooks.current)(),
    });
}

/// The right to start the session, held across tabs until dropped.
pub(crate) struct StartClaim {
    posted: bool,
}

impl Drop for StartClaim {
    fn drop(&mut self) {
        if self.posted {
            let was_mine = with_link(|link| link.mine.take().is_some()).unwrap_or(false);
            if was_mine {
                post(&Message::Release { from: this_tab() });
            }
        }
    }
}

/// Waits until no other tab is starting a session, and claims the right to start it; gives up
/// waiting after `wait` milliseconds, and goes on without a claim. A claim stands only if no
/// rival claim was heard within [`SETTLE`]; rivals are ordered by their sequence, then by tab.
/// `needed` is asked again whenever another tab's news arrives: once it says no (a token came),
/// the wait ends without a claim.
pub(crate) async fn claim_start(wait: u32, needed: impl Fn() -> bool) -> StartClaim {
    let no_claim = || StartClaim { posted: false };
    if !is_open() {
        return no_claim();
    }
    let until = js_sys::Date::now() + f64::from(wait);
    loop {
        while with_link(|link| link.others_claiming()).unwrap_or(false) {
            if !needed() {
                return no_claim();
            }
            let left = until - js_sys::Date::now();
            if left <= 0.0 || !wait_for(subscribe_news(), left as u32).await {
                return no_claim();
            }
        }
        if !needed() {
            return no_claim();
        }
        let Some((seq, alone)) = with_link(|link| {
            let seq = link.next_seq;
            link.next_seq = link.next_seq.saturating_add(1);
            link.mine = Some((seq, false));
            (seq, link.peers.is_empty())
        }) else {
            return no_claim();
        };
        post(&Message::Claim {
            from: this_tab(),
            seq,
            started: false,
        });
        // A tab that heard from no other tab has no rival to hear from: every tab asks when it
        // opens, before it may claim, and every tab answers.
        if !alone {
            TimeoutFuture::new(millis(SETTLE)).await;
        }
        let ours = ClaimOrder {
            seq,
            tab: this_tab(),
        };
        let won = with_link(|link| {
            let beaten = link.claims.iter().any(|(&tab, claim)| {
                claim.started
                    || ClaimOrder {
                        seq: claim.seq,
                        tab,
                    } < ours
            });
            if beaten {
                link.mine = None;
            } else {
                link.mine = Some((seq, true));
            }
            !beaten
        })
        .unwrap_or(false);
        if won {
            post(&Message::Claim {
                from: this_tab(),
                seq,
                started: true,
            });
            return StartClaim { posted: true };
        }
        post(&Message::Release { from: this_tab() });
    }
}

fn receive(message: Message) {
    let from = match &message {
        Message::Ask { from, .. }
        | Message::State { from, .. }
        | Message::Here { from }
        | Message::Deadline { from, .. }
        | Message::User { from, .. }
        | Message::Claim { from, .. }
        | Message::Release { from }
        | Message::Bye { from } => *from,
    };
    if from == this_tab() {
        return;
    }
    let Some(hooks) = with_link(|link| {
        if !matches!(message, Message::Bye { .. }) {
            link.peers.insert(from);
        }
        link.hooks
    }) else {
        return;
    };
    match message {
        Message::Ask { state, .. } => {
            (hooks.adopt)(state);
            let state = (hooks.current)();
            if state.stamp.is_initial() && state.token.is_none() {
                post(&Message::Here { from: this_tab() });
            } else {
                announce(&state);
            }
            // A tab starting a session tells the newcomer, so that it waits rather than claims.
            if let Some(Some((seq, true))) = with_link(|link| link.mine) {
                post(&Message::Claim {
                    from: this_tab(),
                    seq,
                    started: true,
                });
            }
        }
        Message::State { state, .. } => {
            // Adopted before anyone waiting wakes, so that they find the new token held.
            (hooks.adopt)(state);
            let answers = with_link(|link| std::mem::take(&mut link.answers)).unwrap_or_default();
            for answer in answers {
                let _ = answer.send(());
            }
            wake_all();
        }
        Message::Deadline { stamp, expires, .. } => (hooks.adopt_deadline)(stamp, expires),
        Message::User { stamp, user, .. } => (hooks.adopt_user)(stamp, user),
        Message::Claim { seq, started, .. } => {
            let answer = with_link(|link| {
                link.next_seq = link.next_seq.max(seq.saturating_add(1));
                let at = js_sys::Date::now();
                link.claims.insert(from, Claimed { seq, started, at });
                match link.mine {
                    Some((mine, true)) => Some(mine),
                    _ => None,
                }
            });
            // Already starting: the rival must hear it before its claim settles.
            if let Some(Some(mine)) = answer {
                post(&Message::Claim {
                    from: this_tab(),
                    seq: mine,
                    started: true,
                });
            }
        }
        Message::Here { .. } => {}
        Message::Release { .. } => {
            with_link(|link| link.claims.remove(&from));
            wake_all();
        }
        Message::Bye { .. } => {
            with_link(|link| {
                link.claims.remove(&from);
                link.peers.remove(&from);
            });
            wake_all();
        }
    }
}

impl Link {
    /// Whether another tab is claiming the start, forgetting claims too old to be alive.
    fn others_claiming(&mut self) -> bool {
        let oldest = js_sys::Date::now() - START_WAIT.as_millis() as f64;
        self.claims.retain(|_, claim| claim.at >= oldest);
        !self.claims.is_empty()
    }
}

fn with_link<R>(f: impl FnOnce(&mut Link) -> R) -> Option<R> {
    LINK.with(|link| link.borrow_mut().as_mut().map(f))
}

fn post(message: &Message) {
    LINK.with(|link| {
        if let Some(link) = link.borrow().as_ref() {
            post_on(&link.channel, message);
        }
    });
}

fn post_on(channel: &web_sys::BroadcastChannel, message: &Message) {
    if let Ok(text) = serde_json::to_string(message) {
        // A closed channel refuses; the tab then simply goes on alone.
        let _ = channel.post_message(&JsValue::from_str(&text));
    }
}

/// A receiver that fires at the next state, release or departure another tab sends.
fn subscribe_news() -> oneshot::Receiver<()> {
    let (sender, receiver) = oneshot::channel();
    with_link(|link| link.waiting.push(sender));
    receiver
}

fn wake_all() {
    let waiting = with_link(|link| std::mem::take(&mut link.waiting)).unwrap_or_default();
    for sender in waiting {
        let _ = sender.send(());
    }
}

/// Waits for `news`, for at most `wait` milliseconds; returns whether it came.
async fn wait_for(news: oneshot::Receiver<()>, wait: u32) -> bool {
    match future::select(news, TimeoutFuture::new(wait)).await {
        Either::Left((arrived, _)) => arrived.is_ok(),
        Either::Right(_) => false,
    }
}

fn millis(duration: Duration) -> u32 {
    duration.as_millis().try_into().unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_from_their_names() {
        assert_eq!(TabScope::from_name("shared"), Some(TabScope::Shared));
        assert_eq!(TabScope::from_name("per-tab"), Some(TabScope::PerTab));
        assert_eq!(TabScope::from_name("PerTab"), None);
        assert_eq!(TabScope::default(), TabScope::Shared);
    }

    #[test]
    fn a_later_change_wins_whichever_tab_made_it() {
        let early = Stamp { count: 3, tab: 99 };
        let late = Stamp { count: 4, tab: 1 };
        assert!(late > early);
        let rival = Stamp { count: 4, tab: 2 };
        assert!(rival > late, "a tie is broken by the tab");
        assert!(Stamp::default().is_initial());
    }

    #[test]
    fn messages_read_back_as_written() {
        let state = TabState {
            token: Some("abc".into()),
            expires: Some(1.5e12),
            stamp: Stamp { count: 2, tab: 7 },
            user: Some("ada".into()),
            user_known: true,
            changed_at: 1.5e12,
        };
        let text = serde_json::to_string(&Message::State { from: 7, state }).unwrap();
        assert!(text.starts_with(r#"{"state":{"from":7,"#), "{text}");
        let Message::State { from, state } = serde_json::from_str(&text).unwrap() else {
            panic!("not a state: {text}");
        };
        assert_eq!((from, state.token.as_deref()), (7, Some("abc")));
        assert_eq!(
            (state.user.as_deref(), state.user_known),
            (Some("ada"), true)
        );
        assert!(serde_json::from_str::<Message>(r#"{"unknown":{"from":1}}"#).is_err());
    }
}
