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
pub fn incompatibilities(
    _r: &super::ProtobufSchema,
    _w: &super::ProtobufSchema,
) -> Vec<Incompatibility> {
    Vec::new()
}
