//! placeholder until the log lands
