//! Compiled schemas kept by registry id and by inline text, so that a
//! produce that names its schema in every request does not parse it every
//! time. An entry by id is used only while the registry still holds the
//! same text and references under that id.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use parking_lot::Mutex;
use strata_schema_registry::http::SchemaRegistry;
use strata_schema_registry::records::SchemaReference;
use strata_schema_registry::registry::RegistryError;
use strata_schema_registry::{ParsedSchema, SchemaType};

use super::Compiled;
use crate::error::RestError;

/// What a compiled schema was compiled from, to tell a cached entry still
/// stands for the registry's schema of that id.
#[derive(PartialEq, Eq)]
struct Source {
    schema_type: SchemaType,
    text: String,
    references: Vec<SchemaReference>,
}

/// Compiled schemas by id and by inline text. Bounded: emptied when full.
#[derive(Default)]
struct Cache {
    by_id: HashMap<u32, (Source, Arc<Compiled>)>,
    by_text: HashMap<(SchemaType, String), Arc<Compiled>>,
}

const CACHE_ENTRIES: usize = 1024;

static CACHE: LazyLock<Mutex<Cache>> = LazyLock::new(Mutex::default);

/// The compiled schema of a text given without references (42205 when it
/// does not parse).
pub(super) fn compile_text(
    schema_type: SchemaType,
    text: &str,
) -> Result<Arc<Compiled>, RestError> {
    let key = (schema_type, text.to_owned());
    if let Some(found) = CACHE.lock().by_text.get(&key) {
        return Ok(found.clone());
    }
    let compiled = ParsedSchema::parse(schema_type, text, &[])
        .map_err(|e| e.to_string())
        .and_then(|parsed| Compiled::compile(&parsed))
        .map_err(RestError::invalid_schema)?;
    let compiled = Arc::new(compiled);
    let mut cache = CACHE.lock();
    if cache.by_text.len() >= CACHE_ENTRIES {
        cache.by_text.clear();
    }
    cache.by_text.insert(key, compiled.clone());
    Ok(compiled)
}

/// Why a schema could not be had from the registry: the registry's error,
/// or a schema that does not compile.
pub(super) enum Unavailable {
    Registry(RegistryError),
    Invalid(String),
}

impl std::fmt::Display for Unavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Unavailable::Registry(e) => {
                write!(f, "{e}; error code: {}", e.status_and_code().1)
            }
            Unavailable::Invalid(e) => write!(f, "{e}"),
        }
    }
}

/// The compiled schema registered under `id`.
pub(super) fn compiled_by_id(
    registry: &SchemaRegistry,
    id: u32,
) -> Result<Arc<Compiled>, Unavailable> {
    let (source, resolved) = {
        let state = registry.read();
        let schema = state.schema(id).map_err(Unavailable::Registry)?;
        if let Some((source, compiled)) = CACHE.lock().by_id.get(&id) {
            if source.schema_type == schema.schema_type
                && source.text == schema.text
                && source.references == schema.references
            {
                return Ok(compiled.clone());
            }
        }
        let resolved = state
            .resolve(&schema.references)
            .map_err(Unavailable::Registry)?;
        let source = Source {
            schema_type: schema.schema_type,
            text: schema.text.clone(),
            references: schema.references.clone(),
        };
        (source, resolved)
    };
    let compiled = ParsedSchema::parse(source.schema_type, &source.text, &resolved)
        .map_err(|e| e.to_string())
        .and_then(|parsed| Compiled::compile(&parsed))
        .map_err(Unavailable::Invalid)?;
    let compiled = Arc::new(compiled);
    let mut cache = CACHE.lock();
    if cache.by_id.len() >= CACHE_ENTRIES {
        cache.by_id.clear();
    }
    cache.by_id.insert(id, (source, compiled.clone()));
    Ok(compiled)
}
