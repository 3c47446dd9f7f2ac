//! Compiling an Avro schema into [`super::Codec`]'s flat program of nodes: named
//! types are resolved once, so encoding and decoding walk no names.

use std::collections::HashMap;

use apache_avro::schema::{InnerDecimalSchema, Name, NamespaceRef, RecordSchema, UuidSchema};
use apache_avro::Schema;

use super::Node;

pub(super) struct Compiler<'s> {
    pub(super) names: HashMap<Name, &'s Schema>,
    pub(super) named: HashMap<Name, usize>,
    pub(super) nodes: Vec<Node>,
}

/// The label Java's JSON grammar gives a union branch.
fn label(schema: &Schema, namespace: NamespaceRef<'_>) -> String {
    let full = |name: &Name| name.fully_qualified_name(namespace).fullname(None);
    match schema {
        Schema::Null => "null".into(),
        Schema::Boolean => "boolean".into(),
        Schema::Int | Schema::Date | Schema::TimeMillis => "int".into(),
        Schema::Long
        | Schema::TimeMicros
        | Schema::TimestampMillis
        | Schema::TimestampMicros
        | Schema::TimestampNanos
        | Schema::LocalTimestampMillis
        | Schema::LocalTimestampMicros
        | Schema::LocalTimestampNanos => "long".into(),
        Schema::Float => "float".into(),
        Schema::Double => "double".into(),
        Schema::Bytes | Schema::BigDecimal | Schema::Uuid(UuidSchema::Bytes) => "bytes".into(),
        Schema::String | Schema::Uuid(UuidSchema::String) => "string".into(),
        Schema::Decimal(d) => match &d.inner {
            InnerDecimalSchema::Bytes => "bytes".into(),
            InnerDecimalSchema::Fixed(f) => full(&f.name),
        },
        Schema::Uuid(UuidSchema::Fixed(f)) | Schema::Duration(f) | Schema::Fixed(f) => {
            full(&f.name)
        }
        Schema::Array(_) => "array".into(),
        Schema::Map(_) => "map".into(),
        Schema::Union(_) => "union".into(),
        Schema::Record(r) => full(&r.name),
        Schema::Enum(e) => full(&e.name),
        Schema::Ref { name } => full(name),
    }
}

impl<'s> Compiler<'s> {
    fn push(&mut self, node: Node) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    pub(super) fn compile(&mut self, schema: &'s Schema, namespace: NamespaceRef<'_>) -> usize {
        let node = match schema {
            Schema::Null => Node::Null,
            Schema::Boolean => Node::Boolean,
            Schema::Int | Schema::Date | Schema::TimeMillis => Node::Int,
            Schema::Long
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => Node::Long,
            Schema::Float => Node::Float,
            Schema::Double => Node::Double,
            Schema::Bytes | Schema::BigDecimal | Schema::Uuid(UuidSchema::Bytes) => Node::Bytes,
            Schema::String | Schema::Uuid(UuidSchema::String) => Node::String,
            Schema::Decimal(d) => match &d.inner {
                InnerDecimalSchema::Bytes => Node::Bytes,
                InnerDecimalSchema::Fixed(f) => Node::Fixed(f.size),
            },
            Schema::Uuid(UuidSchema::Fixed(f)) | Schema::Duration(f) | Schema::Fixed(f) => {
                Node::Fixed(f.size)
            }
            Schema::Enum(e) => Node::Enum(e.symbols.clone()),
            Schema::Array(a) => {
                let at = self.push(Node::Null);
                let items = self.compile(&a.items, namespace);
                self.nodes[at] = Node::Array(items);
                return at;
            }
            Schema::Map(m) => {
                let at = self.push(Node::Null);
                let values = self.compile(&m.types, namespace);
                self.nodes[at] = Node::Map(values);
                return at;
            }
            Schema::Union(u) => {
                let at = self.push(Node::Null);
                let variants = u
                    .variants()
                    .iter()
                    .map(|v| (label(v, namespace), self.compile(v, namespace)))
                    .collect();
                self.nodes[at] = Node::Union(variants);
                return at;
            }
            Schema::Record(r) => return self.record(r, namespace),
            Schema::Ref { name } => {
                let full = name.fully_qualified_name(namespace).into_owned();
                if let Some(&at) = self.named.get(&full) {
                    return at;
                }
                match self.names.get(&full).copied() {
                    Some(target) => return self.compile(target, full.namespace()),
                    None => Node::Fail(format!("unknown named type {}", full.fullname(None))),
                }
            }
        };
        self.push(node)
    }

    fn record(&mut self, r: &'s RecordSchema, namespace: NamespaceRef<'_>) -> usize {
        let full = r.name.fully_qualified_name(namespace).into_owned();
        if let Some(&at) = self.named.get(&full) {
            return at;
        }
        // Registered before its fields, so recursive references find it.
        let at = self.push(Node::Null);
        self.named.insert(full.clone(), at);
        let fields = r
            .fields
            .iter()
            .map(|f| (f.name.clone(), self.compile(&f.schema, full.namespace())))
            .collect();
        self.nodes[at] = Node::Record(fields);
        at
    }
}
