//! Where desired state comes from: decK-format YAML/JSON files (and, later, Git trees),
//! `${{ env }}` rendering, format-version conversion, nested and flat forms.

pub mod yaml;
