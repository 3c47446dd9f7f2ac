//! JSON Schema (filled in below).
use crate::error::SchemaError;
use crate::schema::ResolvedReference;
pub mod compat;
/// A parsed JSON Schema.
#[derive(Debug)]
pub struct JsonSchema {
    text: String,
}
impl JsonSchema {
    /// Parses.
    pub fn parse(text: &str, _r: &[ResolvedReference]) -> Result<Self, SchemaError> {
        Ok(Self {
            text: text.to_owned(),
        })
    }
    /// Text.
    pub fn text(&self) -> &str {
        &self.text
    }
    /// Canonical.
    pub fn canonical(&self) -> &str {
        &self.text
    }
    /// Normalized.
    pub fn normalized(&self) -> String {
        self.text.clone()
    }
}
