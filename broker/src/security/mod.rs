//! Broker-side security set-up.

pub(crate) mod bootstrap;
