//! What makes two registrations one schema ([`Identity`]), and the caches
//! that keep reads and repeated registrations from parsing: the canonical
//! form of every stored text, and rendered answers by id.

use std::sync::Arc;

use axum::body::Bytes;

use super::{NewSchema, Registry, Result, Schema};
use crate::records::{Metadata, RuleSet, SchemaReference};
use crate::{ParsedSchema, SchemaType};

/// What makes two registrations one schema with one id (see the module doc).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct Identity {
    schema_type: SchemaType,
    canonical: Arc<str>,
    references: Vec<SchemaReference>,
    metadata: Option<Metadata>,
    rule_set: Option<RuleSet>,
}

/// A schema text as submitted, for the canonical-form cache.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct TextKey {
    schema_type: SchemaType,
    text: String,
    references: Vec<SchemaReference>,
}

/// A submitted schema parsed, and the text a new version would store.
pub(super) type NewParse = (ParsedSchema, String);

/// A canonical form and how many stored schemas have the text it is for.
#[derive(Debug, Clone)]
pub(super) struct KnownText {
    canonical: Arc<str>,
    uses: usize,
}

/// A reference to `-1` (latest) resolves differently over time, so texts
/// with one are not cached.
pub(super) fn cacheable(references: &[SchemaReference]) -> bool {
    references.iter().all(|r| r.version != -1)
}

impl Registry {
    /// Adds a schema read from the log under its id. A schema whose stored
    /// text no longer parses (a reference gone) keeps its text as identity.
    pub(super) fn insert_schema(&mut self, schema: Schema) {
        let text_key = TextKey {
            schema_type: schema.schema_type,
            text: schema.text.clone(),
            references: schema.references.clone(),
        };
        let canonical = match self.known_texts.get_mut(&text_key) {
            Some(known) => {
                known.uses += 1;
                known.canonical.clone()
            }
            None => match self.parse(schema.schema_type, &schema.text, &schema.references) {
                Ok(parsed) => {
                    let canonical: Arc<str> = Arc::from(parsed.canonical());
                    if cacheable(&schema.references) {
                        let known = KnownText {
                            canonical: canonical.clone(),
                            uses: 1,
                        };
                        self.known_texts.insert(text_key, known);
                    }
                    canonical
                }
                Err(_) => Arc::from(schema.text.as_str()),
            },
        };
        let identity = Identity {
            schema_type: schema.schema_type,
            canonical,
            references: schema.references.clone(),
            metadata: schema.metadata.clone(),
            rule_set: schema.rule_set.clone(),
        };
        self.by_identity.insert(identity, schema.id);
        self.schemas.insert(schema.id, schema);
    }

    pub(super) fn forget_if_unused(&mut self, id: u32) {
        let used = self
            .subjects
            .values()
            .any(|vs| vs.values().any(|v| v.id == id));
        if used {
            return;
        }
        let Some(s) = self.schemas.remove(&id) else {
            return;
        };
        self.by_identity.retain(|_, v| *v != s.id);
        let text_key = TextKey {
            schema_type: s.schema_type,
            text: s.text,
            references: s.references,
        };
        if let Some(known) = self.known_texts.get_mut(&text_key) {
            known.uses -= 1;
            if known.uses == 0 {
                self.known_texts.remove(&text_key);
            }
        }
    }

    /// The answer `render` makes for schema `id`, rendered once per state:
    /// every applied record drops what was rendered before.
    pub fn cached_json(&self, id: u32, render: impl FnOnce(&Schema) -> Bytes) -> Result<Bytes> {
        if let Some(bytes) = self
            .rendered
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&id)
        {
            return Ok(bytes.clone());
        }
        let bytes = render(self.schema(id)?);
        self.rendered
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(id, bytes.clone());
        Ok(bytes)
    }

    /// The highest schema id ever read (`fetchMaxId`).
    pub fn max_id(&self) -> u32 {
        self.max_id
    }

    /// Parses `new` (normalized with `normalize`); the text is what a new
    /// version would store: the schema's own text, which for a Protobuf
    /// schema sent as a base64 `FileDescriptorProto` is its `.proto` text,
    /// as Confluent stores it (Avro and JSON keep the text as sent).
    pub(super) fn parse_new(&self, new: &NewSchema) -> Result<(ParsedSchema, String)> {
        let parsed = self.parse(new.schema_type, &new.text, &new.references)?;
        if new.normalize {
            let text = parsed.normalized();
            let parsed = self.parse(new.schema_type, &text, &new.references)?;
            return Ok((parsed, text));
        }
        let text = parsed.text().to_owned();
        Ok((parsed, text))
    }

    /// The canonical form of `new`: from the stored texts when the registry
    /// holds this exact text (no parse), otherwise by parsing, which also
    /// returns the parse for the caller to reuse.
    pub(super) fn canonical_of(&self, new: &NewSchema) -> Result<(Arc<str>, Option<NewParse>)> {
        let key = TextKey {
            schema_type: new.schema_type,
            text: new.text.clone(),
            references: new.references.clone(),
        };
        if let Some(known) = self.known_texts.get(&key) {
            return Ok((known.canonical.clone(), None));
        }
        let (parsed, text) = self.parse_new(new)?;
        Ok((Arc::from(parsed.canonical()), Some((parsed, text))))
    }

    pub(super) fn identity(
        new: &NewSchema,
        canonical: Arc<str>,
        metadata: Option<Metadata>,
        rule_set: Option<RuleSet>,
    ) -> Identity {
        Identity {
            schema_type: new.schema_type,
            canonical,
            references: new.references.clone(),
            metadata,
            rule_set,
        }
    }
}
