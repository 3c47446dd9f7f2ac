//! Protobuf (filled in below).
use crate::error::SchemaError;
use crate::schema::ResolvedReference;
pub mod compat;
/// A parsed Protobuf.
#[derive(Debug)]
pub struct ProtobufSchema {
    text: String,
}
impl ProtobufSchema {
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
