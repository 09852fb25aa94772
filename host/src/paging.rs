//! Discovery that pages: `tools/list` on MCP and `GET /v1/skills` return
//! at most `server.page_size` skills at a time, in a stable order (by name),
//! with an opaque cursor for the rest.
//!
//! The cursor names the last skill of the page it ends, so paging stays
//! correct while skills are approved or revoked between pages: nothing is
//! returned twice, and a skill that exists through the whole listing is
//! returned once. A cursor is checked, never trusted: one that does not
//! decode is refused (`api.bad_request` / MCP `-32602`).

use base64::Engine as _;

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page<T> {
    /// The items of this page, in order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<String>,
}

/// A cursor that this host did not issue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid cursor: pass back the cursor a previous page returned, or none for the first page")]
pub(crate) struct BadCursor;

const PREFIX: &str = "after:";

fn encode(last: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{PREFIX}{last}"))
}

fn decode(cursor: &str) -> Result<String, BadCursor> {
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| BadCursor)?;
    let text = String::from_utf8(bytes).map_err(|_| BadCursor)?;
    text.strip_prefix(PREFIX)
        .map(str::to_string)
        .ok_or(BadCursor)
}

/// The page of `items` (sorted by `key`, ascending, keys unique) that
/// starts after `cursor`, at most `size` long (at least 1).
pub(crate) fn page<T>(
    items: Vec<T>,
    key: impl Fn(&T) -> &str,
    cursor: Option<&str>,
    size: usize,
) -> Result<Page<T>, BadCursor> {
    let after = cursor.map(decode).transpose()?;
    let size = size.max(1);
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|t| after.as_deref().is_none_or(|a| key(t) > a))
        .collect();
    let next = (rest.len() > size).then(|| encode(key(&rest[size - 1])));
    rest.truncate(size);
    Ok(Page { items: rest, next })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("skill-{i:04}")).collect()
    }

    fn all_pages(items: Vec<String>, size: usize) -> Vec<Vec<String>> {
        let mut pages = Vec::new();
        let mut cursor = None;
        loop {
            let p = page(items.clone(), |s| s, cursor.as_deref(), size).unwrap();
            pages.push(p.items);
            match p.next {
                Some(c) => cursor = Some(c),
                None => return pages,
            }
        }
    }

    #[test]
    fn every_item_once_in_order_whatever_the_page_size() {
        for (n, size) in [(0, 3), (1, 1), (7, 3), (9, 3), (1000, 100), (5, 0)] {
            let pages = all_pages(names(n), size);
            let flat: Vec<String> = pages.iter().flatten().cloned().collect();
            assert_eq!(flat, names(n), "n={n} size={size}");
            assert!(pages.iter().all(|p| p.len() <= size.max(1)));
            // Only the last page may be short, and no page but a lone
            // first one is empty.
            assert!(pages[..pages.len() - 1].iter().all(|p| p.len() == size.max(1)));
        }
    }

    #[test]
    fn changes_between_pages_never_repeat_an_item() {
        let items = names(10);
        let first = page(items.clone(), |s| s, None, 4).unwrap();
        // skill-0002 is revoked and skill-0003a approved before page two.
        let mut changed: Vec<String> = items
            .into_iter()
            .filter(|s| s != "skill-0002")
            .chain(["skill-0003a".to_string()])
            .collect();
        changed.sort();
        let second = page(changed, |s| s, first.next.as_deref(), 4).unwrap();
        // Nothing of page one again; the new skill sorts after the cursor,
        // so it is listed.
        assert_eq!(
            second.items,
            ["skill-0003a", "skill-0004", "skill-0005", "skill-0006"]
        );
    }

    #[test]
    fn cursors_this_host_did_not_issue_are_refused() {
        // Empty, not base64, "after" without its colon, another word, and
        // bytes that are not UTF-8.
        for bad in ["", "!!", "YWZ0ZXI", "bm90LWEtY3Vyc29y", "_w"] {
            assert_eq!(page(names(3), |s| s, Some(bad), 2), Err(BadCursor), "{bad:?}");
        }
    }
}
