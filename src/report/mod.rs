//! The report: tables, figures and text that state what the ratings show and at which level of
//! evidence. Renderers are pure (data in, bytes out); `commands` writes the files.

pub mod svg;
