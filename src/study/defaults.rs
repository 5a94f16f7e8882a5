//! The default study, embedded in the binary: what `blindfold init` writes and `blindfold demo`
//! runs. These are the very files at the repository root, so the two can never drift apart.

use super::{SourceFile, Study, StudyError, parse};

/// (path relative to the study folder, content) of every file of the default study.
pub const FILES: &[(&str, &str)] = &[
    ("study.toml", include_str!("../../study.toml")),
    ("rubric.toml", include_str!("../../rubric.toml")),
    (
        "scaffolds/baseline.toml",
        include_str!("../../scaffolds/baseline.toml"),
    ),
    (
        "scaffolds/verification.toml",
        include_str!("../../scaffolds/verification.toml"),
    ),
    (
        "scaffolds/steerability.toml",
        include_str!("../../scaffolds/steerability.toml"),
    ),
    (
        "scaffolds/verification-steerability.toml",
        include_str!("../../scaffolds/verification-steerability.toml"),
    ),
    (
        "prompts/deployment.toml",
        include_str!("../../prompts/deployment.toml"),
    ),
    ("runs/README.md", include_str!("../../runs/README.md")),
];

pub fn sources() -> Vec<SourceFile> {
    FILES
        .iter()
        .filter(|(path, _)| path.ends_with(".toml"))
        .map(|(path, text)| SourceFile::new(*path, *text))
        .collect()
}

/// The parsed default study.
pub fn study() -> Result<Study, StudyError> {
    parse(&sources())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_study_is_valid_and_has_the_papers_shape() {
        let study = study().unwrap();
        assert_eq!(study.crossed_models.len(), 3);
        assert_eq!(study.scaffolds.len(), 4);
        assert_eq!(study.prompts.len(), 15);
        assert_eq!(study.repeats, 1);
        for dim in [
            "verification_support",
            "process_steerability",
            "uncertainty_disclosure",
            "helpfulness",
        ] {
            assert!(study.rubric.dimension(dim).is_some(), "{dim}");
        }
        assert_eq!(study.rubric.dimension("helpfulness").unwrap().min(), 1);
        assert_eq!(study.rubric.dimension("helpfulness").unwrap().max(), 5);
    }
}
