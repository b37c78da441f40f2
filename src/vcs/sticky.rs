//! The sticky comment: one comment per environment on a pull request, edited in place on
//! every push, instead of a new comment per run (Atlantis users' "comment spam",
//! `gitops-anchors.md` §2 and §4 item 8; tfcmt's `-patch`).
//!
//! Every page gateform posts starts with a hidden marker naming the environment and the
//! page: `<!-- gateform:plan env=prod page=1 -->`. On the next push the comments are listed,
//! the marked ones of that environment are matched to the new pages by number and:
//!
//! * a page whose body changed is edited in place, an unchanged one is left alone (no API
//!   call, no notification);
//! * a page that is new is posted; pages beyond the new plan's last are deleted;
//! * pages must read in order in the thread: from the first page that is missing (or out of
//!   order) on, the old pages are deleted and the rest posted anew;
//! * a second comment with the same marker (two jobs that raced) is deleted.

use super::VcsError;
use super::client::{Client, Comment};

/// The hidden marker that starts page `page` (1-based) of environment `key`'s comment.
pub fn marker(key: &str, page: usize) -> String {
    format!("<!-- gateform:plan env={} page={page} -->", encode(key))
}

/// `key` with everything but `A-Z a-z 0-9 . _ -` percent-encoded, so that a marker never
/// holds a space, a quote or the end of an HTML comment.
fn encode(key: &str) -> String {
    let mut out = String::new();
    for b in key.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_') || (b == b'-' && !out.ends_with('-')) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The page number of a comment of environment `key`, when it is one of ours.
pub fn page_of(body: &str, key: &str) -> Option<usize> {
    let rest = body.trim_start().strip_prefix("<!-- gateform:plan ")?;
    let attrs = &rest[..rest.find("-->")?];
    let mut env = None;
    let mut page = None;
    for pair in attrs.split_whitespace() {
        match pair.split_once('=') {
            Some(("env", v)) => env = Some(v),
            Some(("page", v)) => page = v.parse().ok(),
            _ => {}
        }
    }
    (env == Some(encode(key).as_str())).then_some(page).flatten().filter(|&p| p >= 1)
}

/// One call to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Post page `page` (0-based index into the new pages).
    Create(usize),
    /// Replace comment `id`'s body with page `page`.
    Update(u64, usize),
    /// Leave comment `id` as it is (its body is page `page` already).
    Keep(u64, usize),
    /// Delete comment `id`.
    Delete(u64),
}

/// The calls that turn the `existing` comments into `pages` for environment `key`, in the
/// order to make them (edits and posts in page order, then deletes).
pub fn reconcile(existing: &[Comment], key: &str, pages: &[String]) -> Vec<Op> {
    // Ours, by page number: the first of each number; the others raced and go.
    let mut ours: Vec<(usize, &Comment)> = Vec::new();
    let mut deletes = Vec::new();
    for c in existing {
        let Some(page) = page_of(&c.body, key) else { continue };
        if ours.iter().any(|(p, _)| *p == page) {
            deletes.push(c.id);
        } else {
            ours.push((page, c));
        }
    }
    // The prefix of pages 1, 2, ... that exist, in thread order, is edited in place.
    let mut kept = 0;
    let mut last_id = 0;
    while let Some((_, c)) = ours.iter().find(|(p, _)| *p == kept + 1) {
        if kept >= pages.len() || c.id < last_id {
            break;
        }
        last_id = c.id;
        kept += 1;
    }
    let mut ops = Vec::new();
    for (i, page) in pages.iter().enumerate() {
        match ours.iter().find(|(p, _)| *p == i + 1) {
            Some((_, c)) if i < kept && c.body == *page => ops.push(Op::Keep(c.id, i)),
            Some((_, c)) if i < kept => ops.push(Op::Update(c.id, i)),
            _ => ops.push(Op::Create(i)),
        }
    }
    let mut stale: Vec<u64> = ours.iter().filter(|(p, _)| *p > kept).map(|(_, c)| c.id).collect();
    stale.sort_unstable();
    deletes.extend(stale);
    ops.extend(deletes.into_iter().map(Op::Delete));
    ops
}

/// What [`sync`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Synced {
    /// Comments posted.
    pub created: usize,
    /// Comments edited.
    pub updated: usize,
    /// Comments left as they were.
    pub unchanged: usize,
    /// Comments deleted.
    pub deleted: usize,
    /// The id of page 1.
    pub first: Option<u64>,
}

/// Makes the pull request's comments of environment `key` read `pages` (each already
/// starting with its [`marker`]).
pub async fn sync(client: &Client, key: &str, pages: &[String]) -> Result<Synced, VcsError> {
    let existing = client.list().await?;
    let mut done = Synced::default();
    for op in reconcile(&existing, key, pages) {
        match op {
            Op::Create(i) => {
                let id = client.create(&pages[i]).await?;
                done.created += 1;
                if i == 0 {
                    done.first = Some(id);
                }
            }
            Op::Update(id, i) | Op::Keep(id, i) => {
                if matches!(op, Op::Update(..)) {
                    client.update(id, &pages[i]).await?;
                    done.updated += 1;
                } else {
                    done.unchanged += 1;
                }
                if i == 0 {
                    done.first = Some(id);
                }
            }
            Op::Delete(id) => {
                client.delete(id).await?;
                done.deleted += 1;
            }
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn page(key: &str, n: usize, text: &str) -> String {
        format!("{}\n{text}", marker(key, n))
    }

    fn comment(id: u64, body: String) -> Comment {
        Comment { id, body }
    }

    #[test]
    fn markers_name_the_environment_and_page() {
        assert_eq!(marker("prod", 2), "<!-- gateform:plan env=prod page=2 -->");
        assert_eq!(page_of(&page("prod", 2, "x"), "prod"), Some(2));
        assert_eq!(page_of(&page("prod", 2, "x"), "staging"), None);
        assert_eq!(page_of("hello <!-- gateform:plan env=prod page=1 -->", "prod"), None, "only at the start");
        let odd = "a b\"-->--x";
        assert!(!marker(odd, 1)[4..marker(odd, 1).len() - 3].contains("--"), "{}", marker(odd, 1));
        assert_eq!(page_of(&page(odd, 1, ""), odd), Some(1));
    }

    #[test]
    fn first_push_creates_then_edits_in_place() {
        let pages = vec![page("prod", 1, "plan A")];
        assert_eq!(reconcile(&[comment(5, "LGTM".into())], "prod", &pages), [Op::Create(0)]);
        let existing = [comment(5, "LGTM".into()), comment(9, page("prod", 1, "plan A"))];
        assert_eq!(reconcile(&existing, "prod", &pages), [Op::Keep(9, 0)]);
        let pages = vec![page("prod", 1, "plan B")];
        assert_eq!(reconcile(&existing, "prod", &pages), [Op::Update(9, 0)]);
        // Another environment's comment is not ours.
        let other = [comment(9, page("staging", 1, "plan A"))];
        assert_eq!(reconcile(&other, "prod", &pages), [Op::Create(0)]);
    }

    #[test]
    fn pages_come_and_go() {
        let one = [comment(9, page("prod", 1, "a"))];
        let three: Vec<String> = (1..=3).map(|n| page("prod", n, "b")).collect();
        assert_eq!(reconcile(&one, "prod", &three), [Op::Update(9, 0), Op::Create(1), Op::Create(2)]);
        let existing = [comment(9, three[0].clone()), comment(10, three[1].clone()), comment(12, three[2].clone())];
        let small = vec![page("prod", 1, "c")];
        assert_eq!(reconcile(&existing, "prod", &small), [Op::Update(9, 0), Op::Delete(10), Op::Delete(12)]);
    }

    #[test]
    fn gaps_and_races_are_repaired() {
        let pages: Vec<String> = (1..=3).map(|n| page("prod", n, "x")).collect();
        // Page 2 was deleted by hand: page 1 stays, 2 and 3 are posted anew after it.
        let gap = [comment(9, pages[0].clone()), comment(12, pages[2].clone())];
        assert_eq!(reconcile(&gap, "prod", &pages), [Op::Keep(9, 0), Op::Create(1), Op::Create(2), Op::Delete(12)]);
        // Two jobs raced: the second page 1 goes.
        let raced = [comment(9, pages[0].clone()), comment(11, pages[0].clone())];
        let one = &pages[..1];
        assert_eq!(reconcile(&raced, "prod", one), [Op::Keep(9, 0), Op::Delete(11)]);
    }
}
