//! Confluent-compatible Schema Registry.
//!
//! Not built yet: the Schema Registry issue fills this crate (formats,
//! compatibility checkers, the `_schemas`-backed state and its axum router).
//! Until then the broker's Schema Registry port answers every request with
//! HTTP 501 and a Confluent-style error body, never a claim of success.
