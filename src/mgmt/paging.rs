//! Paging of lists. Ditto's document declares no query parameters, only the response's
//! `meta` (`page`, `size`, `totalPages`); here `page` is 1-based (default 1) and `size` is the
//! page size asked (default 100, at most 1000). Items are ordered by name. `meta.size` is the
//! number of items returned, `meta.totalPages` is ceil(total / size), 0 for an empty list.

use super::error::ApiError;
use super::model::{ListMeta, ListResponse};

/// Page size when none is asked.
pub const DEFAULT_SIZE: u32 = 100;
/// Largest page size.
pub const MAX_SIZE: u32 = 1000;

/// Which page, of what size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Paging {
    /// 1-based page.
    pub page: u32,
    /// Page size.
    pub size: u32,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            page: 1,
            size: DEFAULT_SIZE,
        }
    }
}

/// `page` and `size` from a query string (other parameters are ignored); 400 for a value that
/// is not a whole number in range.
pub fn parse(query: Option<&str>) -> Result<Paging, ApiError> {
    let mut p = Paging::default();
    for pair in query
        .unwrap_or_default()
        .split('&')
        .filter(|s| !s.is_empty())
    {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let number = |max: u32| -> Result<u32, ApiError> {
            v.parse::<u32>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| {
                    ApiError::bad_request(format!(
                        "InvalidParameter: {k} must be a whole number from 1 to {max}, not {v:?}"
                    ))
                })
        };
        match k {
            "page" => p.page = number(u32::MAX)?,
            "size" => p.size = number(MAX_SIZE)?,
            _ => {}
        }
    }
    Ok(p)
}

/// The page of `items` (already in order) that `paging` asks for.
pub fn page<T>(items: Vec<T>, paging: Paging) -> ListResponse<T> {
    let total = items.len() as u64;
    let size = u64::from(paging.size.max(1));
    let total_pages = total.div_ceil(size);
    let skip = (u64::from(paging.page) - 1).saturating_mul(size);
    let data: Vec<T> = items
        .into_iter()
        .skip(usize::try_from(skip).unwrap_or(usize::MAX))
        .take(size as usize)
        .collect();
    ListResponse {
        meta: ListMeta {
            page: paging.page,
            size: data.len() as u32,
            total_pages: u32::try_from(total_pages).unwrap_or(u32::MAX),
        },
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn defaults_and_parameters() {
        assert_eq!(parse(None).unwrap(), Paging { page: 1, size: 100 });
        assert_eq!(parse(Some("")).unwrap(), Paging::default());
        assert_eq!(
            parse(Some("page=3&size=7&x=y")).unwrap(),
            Paging { page: 3, size: 7 }
        );
        assert_eq!(parse(Some("size=1000")).unwrap().size, 1000);
        for bad in [
            "page=0",
            "size=0",
            "size=1001",
            "page=-1",
            "page=a",
            "size=",
            "page",
        ] {
            let e = parse(Some(bad)).unwrap_err();
            assert_eq!(e.status, 400, "{bad}");
            assert!(e.message.starts_with("InvalidParameter"), "{bad}");
        }
    }

    #[test]
    fn the_documents_examples() {
        // listApps' example: two apps on one page.
        let r = page(vec!["minimal", "my-app"], Paging::default());
        assert_eq!(
            r.meta,
            ListMeta {
                page: 1,
                size: 2,
                total_pages: 1
            }
        );
        let empty = page(Vec::<u8>::new(), Paging::default());
        assert_eq!(
            empty.meta,
            ListMeta {
                page: 1,
                size: 0,
                total_pages: 0
            }
        );
        let beyond = page(vec![1, 2, 3], Paging { page: 5, size: 2 });
        assert_eq!(
            beyond.meta,
            ListMeta {
                page: 5,
                size: 0,
                total_pages: 2
            }
        );
        assert!(beyond.data.is_empty());
    }

    proptest! {
        /// Walking the pages gives every item once, in order, and every page but the last is
        /// full.
        #[test]
        fn pages_partition_the_list(n in 0usize..300, size in 1u32..50) {
            let items: Vec<usize> = (0..n).collect();
            let first = page(items.clone(), Paging { page: 1, size });
            let pages = first.meta.total_pages;
            prop_assert_eq!(pages as usize, n.div_ceil(size as usize));
            let mut seen = vec![];
            for p in 1..=pages.max(1) {
                let r = page(items.clone(), Paging { page: p, size });
                prop_assert_eq!(r.meta.size as usize, r.data.len());
                prop_assert_eq!(r.meta.total_pages, pages);
                if p < pages {
                    prop_assert_eq!(r.meta.size, size);
                }
                seen.extend(r.data);
            }
            prop_assert_eq!(seen, items);
        }
    }
}
