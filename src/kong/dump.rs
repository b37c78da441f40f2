//! `dump` for Kong: the live state written as one decK file, every secret replaced by a
//! `${{ env "DECK_..." }}` placeholder unless the caller asks for the values.

use super::KongKind;
use super::deck::placeholder;
use super::deck::write::{DumpFormat, DumpOptions as DeckOptions, dump as write_deck};
use super::normalize::{live_body, schema_for};
use super::schema::{Schemas, strip_shorthands};
use crate::gateway::{DumpOptions, DumpOutput};
use crate::model::State;

/// Writes `state` as a decK file.
pub fn dump(schemas: &Schemas, mut state: State, opts: &DumpOptions) -> Result<DumpOutput, String> {
    // Kong echoes deprecated shorthands (`config.redis_host`) in what it returns; they are
    // copies of the real fields and would override them when the dump is read back.
    for e in &mut state.entities {
        let body = live_body(e);
        if let Some(kind) = KongKind::of(e.kind)
            && let Some(schema) = schema_for(schemas, kind, &body)
        {
            strip_shorthands(&schema.fields, &mut e.fields);
        }
    }
    let format = if opts.json { DumpFormat::Json } else { DumpFormat::Yaml };
    let placeholders = if opts.include_secrets {
        Vec::new()
    } else {
        let mut p = placeholder::mask_state(&mut state, schemas);
        p.extend(placeholder::mask_env_values(&mut state, &opts.env));
        p.sort_by(|a, b| a.variable.cmp(&b.variable));
        p.dedup_by(|a, b| a.variable == b.variable);
        p
    };
    let deck = DeckOptions { format, with_ids: opts.with_ids, select_tags: opts.select_tags.clone() };
    let mut text = write_deck(&state, &deck).map_err(|e| e.to_string())?;
    let mut notes = Vec::new();
    if !opts.include_secrets {
        text = placeholder::render(&text, format == DumpFormat::Yaml);
        if format == DumpFormat::Yaml {
            text.push_str(&placeholder::yaml_footer(&placeholders));
        } else if !placeholders.is_empty() {
            notes.push(
                "Sensitive values are written as ${{ env \"DECK_...\" }} placeholders. \
                 Set these variables before planning or applying the dump:"
                    .to_owned(),
            );
            for p in &placeholders {
                notes.push(format!("  {}  {} {} {}", p.variable, p.kind, p.entity, p.field));
            }
        }
    }
    Ok(DumpOutput { files: vec![(String::new(), text)], notes })
}
