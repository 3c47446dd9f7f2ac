//! The Schema Registry over HTTP (Confluent's REST API, with `reqwest`),
//! and keys and values in Confluent's wire format: JSON in, magic byte 0
//! and a 4-byte schema id out, and back, with the schema read from the
//! registry by id and compiled by the REST Proxy's codecs.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{json, Value};
use strata_rest_proxy::formats::SchemaCodec;
use strata_schema_registry::{wire, ParsedSchema, ResolvedReference, SchemaType};

use crate::args::ValueFormat;
use crate::error::{CliError, Result};

/// Confluent's media type for registry requests.
const CONTENT_TYPE: &str = "application/vnd.schemaregistry.v1+json";

/// A Schema Registry at a base URL.
#[derive(Clone)]
pub(crate) struct Registry {
    http: reqwest::Client,
    base: String,
    basic: Option<(String, Option<String>)>,
}

impl Registry {
    pub(crate) fn new(
        base: &str,
        user: Option<String>,
        password: Option<String>,
    ) -> Result<Registry> {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(|e| CliError::Connect(format!("HTTP client: {e}")))?;
        Ok(Registry {
            http,
            base: base.trim_end_matches('/').to_string(),
            basic: user.map(|u| (u, password)),
        })
    }

    /// Sends a request and returns the JSON body of a 2xx answer; any other
    /// status is an error carrying the registry's `error_code`.
    pub(crate) async fn request(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut request = self
            .http
            .request(method.clone(), &url)
            .header(reqwest::header::ACCEPT, CONTENT_TYPE);
        if let Some((user, password)) = &self.basic {
            request = request.basic_auth(user, password.as_ref());
        }
        if let Some(body) = body {
            request = request
                .header(reqwest::header::CONTENT_TYPE, CONTENT_TYPE)
                .body(body.to_string());
        }
        let context = || format!("{method} {url}");
        let response = request.send().await.map_err(|e| CliError::Io {
            context: context(),
            source: std::io::Error::other(e),
        })?;
        let status = response.status();
        let text = response.text().await.map_err(|e| CliError::Io {
            context: context(),
            source: std::io::Error::other(e),
        })?;
        let body: Value = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if !status.is_success() {
            return Err(CliError::Http {
                context: context(),
                status: status.as_u16(),
                error_code: body.get("error_code").and_then(Value::as_i64),
                message: body
                    .get("message")
                    .and_then(Value::as_str)
                    .map_or_else(|| body.to_string(), str::to_owned),
            });
        }
        Ok(body)
    }

    pub(crate) async fn get(&self, path: &str) -> Result<Value> {
        self.request(reqwest::Method::GET, path, None).await
    }

    /// The id and schema of a subject's version (`latest` or a number).
    async fn version(&self, subject: &str, version: &str) -> Result<Value> {
        self.get(&format!(
            "/subjects/{}/versions/{version}",
            segment(subject)
        ))
        .await
    }

    /// The schema with global id `id`, parsed with its references resolved.
    async fn parsed(&self, id: u32) -> Result<ParsedSchema> {
        let found = self.get(&format!("/schemas/ids/{id}")).await?;
        self.parse(&found, &format!("schema {id}")).await
    }

    /// Parses a registry answer holding `schema`, `schemaType`, `references`.
    async fn parse(&self, found: &Value, what: &str) -> Result<ParsedSchema> {
        let text = found["schema"].as_str().ok_or_else(|| {
            CliError::protocol(format!("{what}: the registry sent no schema text"))
        })?;
        let schema_type = schema_type_of(found)?;
        let mut resolved = Vec::new();
        self.resolve(found, &mut resolved, 0).await?;
        ParsedSchema::parse(schema_type, text, &resolved)
            .map_err(|e| CliError::protocol(format!("{what} does not parse: {e}")))
    }

    /// Fetches the schemas `found` references (and theirs, depth first).
    async fn resolve(
        &self,
        found: &Value,
        out: &mut Vec<ResolvedReference>,
        depth: usize,
    ) -> Result<()> {
        if depth > 32 {
            return Err(CliError::protocol("schema references nest deeper than 32"));
        }
        let Some(references) = found.get("references").and_then(Value::as_array) else {
            return Ok(());
        };
        for r in references {
            let (Some(name), Some(subject), Some(version)) = (
                r["name"].as_str(),
                r["subject"].as_str(),
                r["version"].as_i64(),
            ) else {
                return Err(CliError::protocol(format!("a bad schema reference {r}")));
            };
            if out.iter().any(|o| o.name == name) {
                continue;
            }
            let referenced = self.version(subject, &version.to_string()).await?;
            Box::pin(self.resolve(&referenced, out, depth + 1)).await?;
            out.push(ResolvedReference {
                name: name.to_string(),
                schema: referenced["schema"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        Ok(())
    }
}

/// A path segment with the characters that would change the path escaped.
pub(crate) fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// `schemaType` of a registry answer (absent: AVRO).
fn schema_type_of(found: &Value) -> Result<SchemaType> {
    found
        .get("schemaType")
        .and_then(Value::as_str)
        .unwrap_or("AVRO")
        .parse()
        .map_err(|e| CliError::protocol(format!("schema type: {e}")))
}

/// The schema type a format is written with (`None` for plain strings).
fn schema_type(format: ValueFormat) -> Option<SchemaType> {
    match format {
        ValueFormat::String => None,
        ValueFormat::Avro => Some(SchemaType::Avro),
        ValueFormat::JsonSchema => Some(SchemaType::Json),
        ValueFormat::Protobuf => Some(SchemaType::Protobuf),
    }
}

/// Turns keys or values of one format into bytes and back.
pub(crate) struct Serde {
    format: ValueFormat,
    registry: Option<Registry>,
    /// The schema values are written with.
    writer: Option<(u32, Arc<SchemaCodec>)>,
    /// Schemas read by id.
    readers: HashMap<u32, Arc<SchemaCodec>>,
}

impl Serde {
    /// For reading `format`; schema formats need a registry.
    pub(crate) fn reader(format: ValueFormat, registry: Option<&str>) -> Result<Serde> {
        let registry = match (schema_type(format), registry) {
            (None, _) => None,
            (Some(_), Some(url)) => Some(Registry::new(url, None, None)?),
            (Some(_), None) => {
                return Err(CliError::usage(format!("{format:?} needs --registry URL")))
            }
        };
        Ok(Serde {
            format,
            registry,
            writer: None,
            readers: HashMap::new(),
        })
    }

    /// For writing `format` with schema `id`, or else the latest version of
    /// `subject`, as Confluent's serializers with `use.latest.version`.
    pub(crate) async fn writer(
        format: ValueFormat,
        registry: Option<&str>,
        subject: &str,
        id: Option<u32>,
    ) -> Result<Serde> {
        let mut serde = Self::reader(format, registry)?;
        let (Some(expected), Some(reg)) = (schema_type(format), serde.registry.clone()) else {
            return Ok(serde);
        };
        let (id, parsed) = match id {
            Some(id) => (id, reg.parsed(id).await?),
            None => {
                let latest = reg.version(subject, "latest").await?;
                let id = latest["id"]
                    .as_u64()
                    .and_then(|i| u32::try_from(i).ok())
                    .ok_or_else(|| CliError::protocol("the registry sent no schema id"))?;
                (id, reg.parse(&latest, &format!("subject {subject}")).await?)
            }
        };
        let codec = compile(&parsed, id)?;
        if codec.schema_type() != expected {
            return Err(CliError::usage(format!(
                "schema {id} is a {} schema, not {expected}",
                codec.schema_type()
            )));
        }
        serde.writer = Some((id, codec));
        Ok(serde)
    }

    /// Bytes for one key or value given as text (JSON for schema formats).
    pub(crate) fn encode(&self, text: &str) -> Result<Bytes> {
        let Some((id, codec)) = &self.writer else {
            return Ok(Bytes::copy_from_slice(text.as_bytes()));
        };
        let value: Value = serde_json::from_str(text)
            .map_err(|e| CliError::usage(format!("{text:?} is not JSON: {e}")))?;
        codec
            .encode(*id, &value)
            .map(Bytes::from)
            .map_err(|e| CliError::usage(format!("{text} does not match schema {id}: {e}")))
    }

    /// JSON for one key or value read: a string for plain bytes (base64 in
    /// `{"base64": ...}` when they are not UTF-8), the decoded value for
    /// schema formats.
    pub(crate) async fn decode(&mut self, bytes: Option<&[u8]>) -> Result<Value> {
        let Some(bytes) = bytes else {
            return Ok(Value::Null);
        };
        let Some(registry) = &self.registry else {
            return Ok(plain(bytes));
        };
        let (id, payload) = wire::split_header(bytes).map_err(|e| {
            CliError::protocol(format!("not in the {:?} wire format: {e}", self.format))
        })?;
        let codec = match self.readers.get(&id) {
            Some(codec) => codec.clone(),
            None => {
                let codec = compile(&registry.parsed(id).await?, id)?;
                self.readers.insert(id, codec.clone());
                codec
            }
        };
        codec
            .decode(payload)
            .map_err(|e| CliError::protocol(format!("cannot decode with schema {id}: {e}")))
    }
}

fn compile(parsed: &ParsedSchema, id: u32) -> Result<Arc<SchemaCodec>> {
    SchemaCodec::compile(parsed)
        .map(Arc::new)
        .map_err(|e| CliError::protocol(format!("schema {id} does not compile: {e}")))
}

/// Plain bytes as JSON: their text, or base64 when they are not UTF-8.
pub(crate) fn plain(bytes: &[u8]) -> Value {
    use base64::Engine;
    match std::str::from_utf8(bytes) {
        Ok(text) => Value::String(text.to_string()),
        Err(_) => json!({"base64": base64::engine::general_purpose::STANDARD.encode(bytes)}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serde_with(schema: &str) -> Serde {
        let parsed = ParsedSchema::parse(SchemaType::Avro, schema, &[]).unwrap();
        let codec = compile(&parsed, 7).unwrap();
        let mut readers = HashMap::new();
        readers.insert(7, codec.clone());
        Serde {
            format: ValueFormat::Avro,
            registry: Some(Registry::new("http://127.0.0.1:9", None, None).unwrap()),
            writer: Some((7, codec)),
            readers,
        }
    }

    #[tokio::test]
    async fn avro_through_the_wire_format() {
        let mut serde = serde_with(
            r#"{"type":"record","name":"User","fields":[{"name":"name","type":"string"},{"name":"age","type":"int"},{"name":"email","type":["null","string"]}]}"#,
        );
        let bytes = serde
            .encode(r#"{"name":"ann","age":30,"email":{"string":"a@x"}}"#)
            .unwrap();
        // Magic byte, id 7 big-endian, then Avro binary: "ann" is length 3 (zigzag 6).
        assert_eq!(&bytes[..5], &[0, 0, 0, 0, 7]);
        assert_eq!(&bytes[5..9], &[6, b'a', b'n', b'n']);
        assert_eq!(bytes[9], 60, "30 zigzag-encoded");
        let back = serde.decode(Some(&bytes)).await.unwrap();
        assert_eq!(
            back,
            json!({"name":"ann","age":30,"email":{"string":"a@x"}})
        );
        assert!(serde.encode(r#"{"name":"ann"}"#).is_err());
        assert!(serde.decode(Some(b"plain")).await.is_err());
    }

    #[test]
    fn plain_bytes_and_segments() {
        assert_eq!(plain(b"hi"), json!("hi"));
        assert_eq!(plain(&[0xff, 0x00]), json!({"base64": "/wA="}));
        assert_eq!(segment("a/b c"), "a%2Fb%20c");
    }
}
