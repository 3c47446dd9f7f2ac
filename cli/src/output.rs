//! What a command prints: aligned columns for people, or one JSON
//! document for scripts (`-o json`). Commands build both from the same data.

use comfy_table::presets::NOTHING;
use comfy_table::{CellAlignment, ContentArrangement};
use serde_json::Value;

use crate::args::OutputFormat;

/// Rows under named columns.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct Table {
    pub(crate) title: Option<String>,
    pub(crate) headers: Vec<&'static str>,
    pub(crate) rows: Vec<Vec<String>>,
}

impl Table {
    pub(crate) fn new(headers: Vec<&'static str>) -> Table {
        Table {
            title: None,
            headers,
            rows: Vec::new(),
        }
    }

    pub(crate) fn titled(mut self, title: impl Into<String>) -> Table {
        self.title = Some(title.into());
        self
    }

    pub(crate) fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// The table as aligned columns (numbers right-aligned), no borders.
    pub(crate) fn render(&self) -> String {
        let mut table = comfy_table::Table::new();
        table
            .load_preset(NOTHING)
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(self.headers.iter().copied());
        for row in &self.rows {
            table.add_row(row.iter().cloned());
        }
        for (i, column) in table.column_iter_mut().enumerate() {
            let numeric = !self.rows.is_empty()
                && self.rows.iter().all(|r| {
                    r.get(i)
                        .is_some_and(|c| c == "-" || c.parse::<f64>().is_ok())
                });
            if numeric {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        let lines: Vec<String> = table
            .to_string()
            .lines()
            .map(|l| l.strip_prefix(' ').unwrap_or(l).trim_end().to_string())
            .collect();
        let mut out = String::new();
        if let Some(title) = &self.title {
            out.push_str(title);
            out.push('\n');
        }
        out.push_str(&lines.join("\n"));
        out
    }
}

/// A command's result in both shapes.
#[derive(Debug, Default)]
pub(crate) struct Report {
    pub(crate) json: Value,
    pub(crate) tables: Vec<Table>,
    /// Lines printed before the tables in table mode.
    pub(crate) lines: Vec<String>,
}

impl Report {
    pub(crate) fn table(json: Value, table: Table) -> Report {
        Report {
            json,
            tables: vec![table],
            lines: Vec::new(),
        }
    }

    /// A one-line message (`created topic t`) with the JSON that says the same.
    pub(crate) fn message(json: Value, line: String) -> Report {
        Report {
            json,
            tables: Vec::new(),
            lines: vec![line],
        }
    }

    pub(crate) fn render(&self, format: OutputFormat) -> String {
        match format {
            OutputFormat::Json => {
                serde_json::to_string_pretty(&self.json).expect("JSON values serialize")
            }
            OutputFormat::Table => {
                let mut parts: Vec<String> = self.lines.clone();
                parts.extend(self.tables.iter().map(Table::render));
                parts.join("\n\n")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_and_numbers_go_right() {
        let mut table = Table::new(vec!["TOPIC", "PARTITION", "LAG"]);
        table.row(vec!["orders".into(), "0".into(), "5".into()]);
        table.row(vec!["a".into(), "10".into(), "-".into()]);
        let text = table.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("TOPIC"));
        assert!(lines[1].starts_with("orders"));
        // Every line has its columns at the same places.
        let lag_end = lines[0].len();
        assert_eq!(lines[1].len(), lag_end);
        assert_eq!(lines[2].len(), lag_end);
        assert!(lines[1].ends_with('5') && lines[2].ends_with('-'));
        assert!(lines[2].contains(" 10 "));
    }

    #[test]
    fn json_mode_prints_the_json() {
        let report = Report::message(serde_json::json!({"deleted": ["t"]}), "deleted t".into());
        assert_eq!(report.render(OutputFormat::Table), "deleted t");
        let json: Value = serde_json::from_str(&report.render(OutputFormat::Json)).unwrap();
        assert_eq!(json["deleted"][0], "t");
    }
}
