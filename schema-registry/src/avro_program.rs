//! An Avro schema compiled once into a flat program of nodes: named types
//! and recursive references are resolved to node indexes, so whatever walks
//! a datum afterwards (the broker-side validator, the REST Proxy's JSON
//! codec) looks up no names.
//!
//! One compiler serves both walkers, so they agree on what each logical type
//! is on the wire and on which schemas no datum can match.

use std::collections::HashMap;

use apache_avro::schema::{
    InnerDecimalSchema, Name, NamespaceRef, RecordSchema, ResolvedSchema, UuidSchema,
};
use apache_avro::Schema;

/// One step of a compiled schema. Child nodes are indexes into
/// [`AvroProgram::nodes`]; names are kept for walkers that print JSON.
#[derive(Debug)]
pub enum AvroNode {
    Null,
    Boolean,
    /// `int`, `date`, `time-millis`.
    Int,
    /// `long` and the other long-based logical types.
    Long,
    Float,
    Double,
    /// `bytes`, `decimal` on bytes.
    Bytes,
    String,
    /// `fixed`, `decimal` on fixed, `duration`, `uuid` on fixed(16).
    Fixed(usize),
    /// The symbols, in order.
    Enum(Box<[String]>),
    Array(usize),
    Map(usize),
    /// Each branch with the label Java's JSON grammar gives it.
    Union(Box<[(String, usize)]>),
    /// Each field with its name, in schema order.
    Record(Box<[(String, usize)]>),
    /// apache-avro's `big-decimal`: bytes holding a length-prefixed
    /// big-endian integer and a long scale.
    BigDecimal,
    /// `uuid` on a string.
    UuidString,
    /// `uuid` on bytes: exactly 16 bytes.
    UuidBytes,
    /// A schema apache-avro can never decode a value of (a `duration` that
    /// is not fixed(12), a `uuid` fixed of another size, an unknown name):
    /// every datum is refused, with this reason.
    Fail(String),
}

/// A compiled Avro schema: its nodes and the root's index.
#[derive(Debug)]
pub struct AvroProgram {
    pub nodes: Vec<AvroNode>,
    pub root: usize,
}

impl AvroProgram {
    /// Compiles `schema`, whose named types may come from `references`; the
    /// error is apache-avro's reason when the names do not resolve.
    pub fn compile(schema: &Schema, references: &[Schema]) -> Result<AvroProgram, String> {
        let mut schemata: Vec<&Schema> = references.iter().collect();
        schemata.push(schema);
        let names = ResolvedSchema::new_with_schemata(schemata)
            .map_err(|e| e.to_string())?
            .get_names()
            .clone();
        let mut compiler = Compiler {
            names: &names,
            named: HashMap::new(),
            nodes: Vec::new(),
        };
        let root = compiler.compile(schema, None);
        Ok(AvroProgram {
            nodes: compiler.nodes,
            root,
        })
    }

    /// A program every datum fails, for a schema that cannot be compiled.
    pub fn failing(why: String) -> AvroProgram {
        AvroProgram {
            nodes: vec![AvroNode::Fail(why)],
            root: 0,
        }
    }
}

struct Compiler<'n, 's> {
    names: &'n HashMap<Name, &'s Schema>,
    named: HashMap<Name, usize>,
    nodes: Vec<AvroNode>,
}

impl Compiler<'_, '_> {
    fn push(&mut self, node: AvroNode) -> usize {
        self.nodes.push(node);
        self.nodes.len() - 1
    }

    /// Reserves a slot before compiling children, so a parent precedes them.
    fn parent(&mut self, children: impl FnOnce(&mut Self) -> AvroNode) -> usize {
        let at = self.push(AvroNode::Null);
        self.nodes[at] = children(self);
        at
    }

    fn compile(&mut self, schema: &Schema, namespace: NamespaceRef<'_>) -> usize {
        let node = match schema {
            Schema::Null => AvroNode::Null,
            Schema::Boolean => AvroNode::Boolean,
            Schema::Int | Schema::Date | Schema::TimeMillis => AvroNode::Int,
            Schema::Long
            | Schema::TimeMicros
            | Schema::TimestampMillis
            | Schema::TimestampMicros
            | Schema::TimestampNanos
            | Schema::LocalTimestampMillis
            | Schema::LocalTimestampMicros
            | Schema::LocalTimestampNanos => AvroNode::Long,
            Schema::Float => AvroNode::Float,
            Schema::Double => AvroNode::Double,
            Schema::Bytes => AvroNode::Bytes,
            Schema::String => AvroNode::String,
            Schema::Fixed(f) => AvroNode::Fixed(f.size),
            Schema::Enum(e) => AvroNode::Enum(e.symbols.clone().into()),
            Schema::Decimal(d) => match &d.inner {
                InnerDecimalSchema::Fixed(f) => AvroNode::Fixed(f.size),
                InnerDecimalSchema::Bytes => AvroNode::Bytes,
            },
            Schema::BigDecimal => AvroNode::BigDecimal,
            Schema::Uuid(UuidSchema::String) => AvroNode::UuidString,
            Schema::Uuid(UuidSchema::Bytes) => AvroNode::UuidBytes,
            Schema::Uuid(UuidSchema::Fixed(f)) if f.size == 16 => AvroNode::Fixed(16),
            Schema::Uuid(UuidSchema::Fixed(f)) => {
                AvroNode::Fail(format!("a uuid fixed must have size 16, not {}", f.size))
            }
            Schema::Duration(f) if f.size == 12 => AvroNode::Fixed(12),
            Schema::Duration(f) => AvroNode::Fail(format!(
                "a duration fixed must have size 12, not {}",
                f.size
            )),
            Schema::Array(a) => {
                return self.parent(|c| AvroNode::Array(c.compile(&a.items, namespace)))
            }
            Schema::Map(m) => {
                return self.parent(|c| AvroNode::Map(c.compile(&m.types, namespace)))
            }
            Schema::Union(u) => {
                return self.parent(|c| {
                    let branches = u
                        .variants()
                        .iter()
                        .map(|v| (label(v, namespace), c.compile(v, namespace)))
                        .collect();
                    AvroNode::Union(branches)
                })
            }
            Schema::Record(r) => return self.record(r, namespace),
            Schema::Ref { name } => {
                let full = name.fully_qualified_name(namespace).into_owned();
                if let Some(&at) = self.named.get(&full) {
                    return at;
                }
                match self.names.get(&full).copied() {
                    Some(target) => return self.compile(target, full.namespace()),
                    None => AvroNode::Fail(format!("unknown named type {}", full.fullname(None))),
                }
            }
        };
        self.push(node)
    }

    fn record(&mut self, r: &RecordSchema, namespace: NamespaceRef<'_>) -> usize {
        let full = r.name.fully_qualified_name(namespace).into_owned();
        if let Some(&at) = self.named.get(&full) {
            return at;
        }
        // Registered before its fields, so recursive references find it.
        let at = self.push(AvroNode::Null);
        self.named.insert(full.clone(), at);
        let fields = r
            .fields
            .iter()
            .map(|f| (f.name.clone(), self.compile(&f.schema, full.namespace())))
            .collect();
        self.nodes[at] = AvroNode::Record(fields);
        at
    }
}

/// The label Java's JSON grammar gives a union branch: its full name for
/// named types, else its type name (a logical type goes by its underlying
/// type).
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

#[cfg(test)]
mod tests {
    use super::*;

    fn program(text: &str) -> AvroProgram {
        AvroProgram::compile(&Schema::parse_str(text).unwrap(), &[]).unwrap()
    }

    #[test]
    fn a_recursive_record_points_back_at_itself() {
        let p = program(
            r#"{"type":"record","name":"List","namespace":"n","fields":[
                {"name":"value","type":"int"},
                {"name":"next","type":["null","List"]}]}"#,
        );
        let AvroNode::Record(fields) = &p.nodes[p.root] else {
            panic!("{:?}", p.nodes[p.root])
        };
        assert_eq!(fields[0].0, "value");
        let AvroNode::Union(branches) = &p.nodes[fields[1].1] else {
            panic!("{:?}", p.nodes[fields[1].1])
        };
        assert_eq!(branches[0].0, "null");
        assert_eq!(branches[1], ("n.List".to_string(), p.root));
    }

    #[test]
    fn logical_types_compile_to_their_wire_form() {
        let p = program(
            r#"{"type":"record","name":"R","fields":[
                {"name":"d","type":{"type":"int","logicalType":"date"}},
                {"name":"u","type":{"type":"string","logicalType":"uuid"}},
                {"name":"m","type":{"type":"bytes","logicalType":"decimal","precision":4,"scale":2}},
                {"name":"e","type":{"type":"enum","name":"E","symbols":["A","B"]}}]}"#,
        );
        let AvroNode::Record(fields) = &p.nodes[p.root] else {
            panic!()
        };
        let kinds: Vec<&AvroNode> = fields.iter().map(|(_, n)| &p.nodes[*n]).collect();
        assert!(matches!(kinds[0], AvroNode::Int));
        assert!(matches!(kinds[1], AvroNode::UuidString));
        assert!(matches!(kinds[2], AvroNode::Bytes));
        assert!(matches!(kinds[3], AvroNode::Enum(s) if s.len() == 2 && s[1] == "B"));
    }

    #[test]
    fn an_unresolvable_name_is_an_error() {
        let schema = Schema::parse_str(r#"{"type":"array","items":"int"}"#).unwrap();
        assert!(AvroProgram::compile(&schema, &[]).is_ok());
        let missing = Schema::Ref {
            name: Name::new("nowhere.Missing").unwrap(),
        };
        let p = AvroProgram::compile(&missing, &[]);
        // apache-avro either refuses the name table or leaves the name
        // unknown; either way no datum can pass.
        if let Ok(p) = p {
            assert!(matches!(&p.nodes[p.root], AvroNode::Fail(_)));
        }
    }
}
