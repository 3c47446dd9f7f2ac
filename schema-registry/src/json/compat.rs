//! stub
/// stub
pub struct Incompatibility;
impl Incompatibility {
    /// stub
    pub fn describe(&self, _a: &str, _b: &str) -> String {
        String::new()
    }
}
/// stub
pub fn incompatibilities(_r: &super::JsonSchema, _w: &super::JsonSchema) -> Vec<Incompatibility> {
    Vec::new()
}
