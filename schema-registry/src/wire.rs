//! stub
use crate::{ParsedSchema, PayloadError};
/// stub
pub fn validate_payload(_s: &ParsedSchema, _b: &[u8]) -> Result<(), PayloadError> {
    Ok(())
}
