//! KIP-848 subscription regexes, compiled once per distinct pattern.
//!
//! Every heartbeat of a regex-subscribed group matches the group's
//! patterns against the cluster's topics under the groups lock; compiling
//! them there each time cost more than the match. Patterns are few (one per
//! distinct client subscription), so a bounded process-wide cache keeps
//! each compiled (or its error) for reuse.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;
use regex::Regex;

/// More distinct patterns than this and the cache starts over, so that a
/// client cycling through patterns cannot grow it without bound.
const MAX_PATTERNS: usize = 1024;

type Compiled = Result<Arc<Regex>, regex::Error>;

static CACHE: LazyLock<Mutex<HashMap<String, Compiled>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));

/// The pattern as Kafka matches it: against the whole topic name.
pub(super) fn compiled(pattern: &str) -> Compiled {
    let mut cache = CACHE.lock();
    if let Some(hit) = cache.get(pattern) {
        return hit.clone();
    }
    if cache.len() >= MAX_PATTERNS {
        cache.clear();
    }
    let compiled = Regex::new(&format!("^(?:{pattern})$")).map(Arc::new);
    cache.insert(pattern.to_string(), compiled.clone());
    compiled
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pattern_compiles_once_and_matches_whole_names() {
        let first = compiled("orders-.*").unwrap();
        let again = compiled("orders-.*").unwrap();
        assert!(Arc::ptr_eq(&first, &again));
        assert!(first.is_match("orders-eu"));
        assert!(!first.is_match("old-orders-eu"));
        assert!(compiled("(unclosed").is_err());
    }
}
