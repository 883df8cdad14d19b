//! The notes page: the user's own notes, ten a page, to add, edit and delete.

use leptos::ev::SubmitEvent;
use leptos::prelude::*;
use leptos::task::spawn_local;

use super::notes_download::NotesDownload;
use super::notices::{use_notices, Notices};
use super::password_dialog::use_password_check;
use super::rest as api;
use crate::api::{paths, FieldErrors, Level, Note, NoteInput, Page};
use crate::call_error::CallError;
use crate::time::short_time;
use crate::validation::note_errors;

/// The page being shown, and a way to show it again after a change.
#[derive(Clone, Copy)]
struct NotesView {
    number: RwSignal<usize>,
    page: RwSignal<Option<Page<Note>>>,
    notices: Notices,
}

impl NotesView {
    fn reload(self) {
        let notices = self.notices;
        let number = self.number.get_untracked();
        spawn_local(async move {
            match api::get::<Page<Note>>(&format!("{}?page={number}", paths::NOTES)).await {
                Ok(page) => self.page.set(Some(page)),
                // A page that no longer exists (its last note deleted): show the one before.
                Err(error) if error.status() == Some(404) && number > 1 => {
                    self.number.set(number - 1);
                    self.reload();
                }
                Err(error) => notices.push(
                    Level::Error,
                    format!("The notes could not be loaded: {error}"),
                ),
            }
        });
    }
}

#[component]
pub fn NotesPage() -> impl IntoView {
    let view = NotesView {
        number: RwSignal::new(1),
        page: RwSignal::new(None),
        notices: use_notices(),
    };
    provide_context(view);
    view.reload();
    let turn = move |by: isize| {
        view.number
            .update(|number| *number = number.saturating_add_signed(by).max(1));
        view.reload();
    };
    view! {
        <h1>"Notes"</h1>
        <div class="columns">
            <div class="stack">
                <NewNoteForm />
                <NotesDownload />
            </div>
            <section class="card" aria-labelledby="notes-heading">
                <h2 id="notes-heading">"Your notes"</h2>
                {move || match view.page.get() {
                    None => view! { <p>"Loading…"</p> }.into_any(),
                    Some(page) if page.results.is_empty() => view! { <p>"No notes yet."</p> }.into_any(),
                    Some(page) => {
                        let pages = (page.count as usize).div_ceil(10).max(1);
                        view! {
                            <ul class="notes">
                                {page.results.into_iter().map(|note| view! { <NoteItem note=note /> }).collect_view()}
                            </ul>
                            <nav class="pager" aria-label="Pages of notes">
                                <button type="button" class="secondary" disabled=page.previous.is_none() on:click=move |_| turn(-1)>
                                    "Previous page"
                                </button>
                                <span>{format!("Page {} of {pages}", view.number.get_untracked())}</span>
                                <button type="button" class="secondary" disabled=page.next.is_none() on:click=move |_| turn(1)>
                                    "Next page"
                                </button>
                            </nav>
                        }.into_any()
                    }
                }}
            </section>
        </div>
    }
}

#[component]
fn NewNoteForm() -> impl IntoView {
    let view = expect_context::<NotesView>();
    let notices = use_notices();
    let draft = NoteDraft::new(String::new(), String::new());
    let submit = move |event: SubmitEvent| {
        event.prevent_default();
        let Some(input) = draft.input() else {
            return;
        };
        spawn_local(async move {
            match api::post::<_, Note>(paths::NOTES, &input).await {
                Ok(_) => {
                    draft.clear();
                    view.number.set(1);
                    view.reload();
                }
                Err(error) => draft.report(error, notices),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="new-note-heading">
            <h2 id="new-note-heading">"New note"</h2>
            <form on:submit=submit novalidate>
                <NoteFields id="new-note" draft=draft />
                <button type="submit">"Add note"</button>
            </form>
        </section>
    }
}

#[component]
fn NoteItem(note: Note) -> impl IntoView {
    let view = expect_context::<NotesView>();
    let notices = use_notices();
    let editing = RwSignal::new(false);
    let draft = NoteDraft::new(note.title.clone(), note.body.clone());
    let path = format!("{}/{}", paths::NOTES, note.id);
    let (save_path, delete_path) = (path.clone(), path);
    let save = move |event: SubmitEvent| {
        event.prevent_default();
        let Some(input) = draft.input() else {
            return;
        };
        let path = save_path.clone();
        spawn_local(async move {
            match api::put::<_, Note>(&path, &input).await {
                Ok(_) => view.reload(),
                Err(error) => draft.report(error, notices),
            }
        });
    };
    let password_check = use_password_check();
    let delete = move |_| {
        let path = delete_path.clone();
        spawn_local(async move {
            let deleted = password_check.confirmed(|| api::delete::<()>(&path)).await;
            match deleted {
                Some(Ok(())) => notices.push(Level::Info, "The note is deleted."),
                None => {}
                Some(Err(error)) => notices.push(
                    Level::Error,
                    format!("The note could not be deleted: {error}"),
                ),
            }
            view.reload();
        });
    };
    let id = format!("note-{}", note.id);
    let heading = note.title.clone();
    let item_label = note.title.clone();
    view! {
        <li class="note" aria-label=item_label>
            <Show
                when=move || editing.get()
                fallback=move || view! {
                    <h3>{heading.clone()}</h3>
                    <p class="note-body">{note.body.clone()}</p>
                    <p class="note-times">"Last changed " <time datetime=note.updated.clone()>{short_time(&note.updated)}</time></p>
                    <div class="actions">
                        <button type="button" class="secondary" on:click=move |_| editing.set(true)>"Edit"</button>
                        <button type="button" class="secondary" on:click=delete.clone()>"Delete"</button>
                    </div>
                }
            >
                <form on:submit=save.clone() novalidate>
                    <NoteFields id=id.clone() draft=draft />
                    <div class="actions">
                        <button type="submit">"Save"</button>
                        <button type="button" class="secondary" on:click=move |_| editing.set(false)>"Cancel"</button>
                    </div>
                </form>
            </Show>
        </li>
    }
}

/// What a note form holds while the user types, and what is wrong with it.
#[derive(Clone, Copy)]
struct NoteDraft {
    title: RwSignal<String>,
    body: RwSignal<String>,
    fields: RwSignal<FieldErrors>,
}

impl NoteDraft {
    fn new(title: String, body: String) -> Self {
        NoteDraft {
            title: RwSignal::new(title),
            body: RwSignal::new(body),
            fields: RwSignal::new(FieldErrors::new()),
        }
    }

    /// What to send, or `None` once the form shows why it cannot be sent.
    fn input(&self) -> Option<NoteInput> {
        let input = NoteInput {
            title: self.title.get_untracked(),
            body: self.body.get_untracked(),
        };
        let errors = note_errors(&input);
        if errors.is_empty() {
            Some(input)
        } else {
            self.fields.set(errors);
            None
        }
    }

    fn clear(&self) {
        self.title.set(String::new());
        self.body.set(String::new());
        self.fields.set(FieldErrors::new());
    }

    /// Shows the server's refusal next to the fields it names, or as a notice.
    fn report(&self, error: CallError, notices: Notices) {
        let by_field: FieldErrors = ["title", "body"]
            .into_iter()
            .filter(|field| !error.field(field).is_empty())
            .map(|field| (field.to_string(), error.field(field).to_vec()))
            .collect();
        if by_field.is_empty() {
            notices.push(
                Level::Error,
                format!("The note could not be saved: {error}"),
            );
        }
        self.fields.set(by_field);
    }
}

#[component]
fn NoteFields(#[prop(into)] id: String, draft: NoteDraft) -> impl IntoView {
    let NoteDraft {
        title,
        body,
        fields,
    } = draft;
    let messages = move |field: &'static str| {
        move || {
            fields
                .get()
                .get(field)
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|message| view! { <li>{message}</li> })
                .collect_view()
        }
    };
    let (title_id, body_id) = (format!("{id}-title"), format!("{id}-body"));
    view! {
        <label for=title_id.clone()>"Title"</label>
        <input id=title_id.clone() type="text" maxlength="200" bind:value=title />
        <ul class="field-errors">{messages("title")}</ul>
        <label for=body_id.clone()>"Body"</label>
        <textarea id=body_id rows="4" bind:value=body></textarea>
        <ul class="field-errors">{messages("body")}</ul>
    }
}
