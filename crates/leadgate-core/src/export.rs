//! Writing leads out as spreadsheet cells that a spreadsheet will not run as formulas.

/// A cell safe to open in Excel, LibreOffice or Google Sheets: text that starts like a
/// formula (`=`, `+`, `-`, `@`, tab or carriage return) gets a leading apostrophe, as OWASP
/// advises for CSV injection. Numbers such as `-3.5` stay numbers.
pub fn safe_cell(value: &str) -> std::borrow::Cow<'_, str> {
    let risky = value
        .chars()
        .next()
        .is_some_and(|c| matches!(c, '=' | '+' | '-' | '@' | '\t' | '\r'));
    if risky && value.parse::<f64>().is_err() {
        std::borrow::Cow::Owned(format!("'{value}"))
    } else {
        std::borrow::Cow::Borrowed(value)
    }
}

#[cfg(test)]
mod tests {
    use super::safe_cell;
    use proptest::prelude::*;

    #[test]
    fn formulas_are_defused_and_numbers_kept() {
        assert_eq!(
            safe_cell("=HYPERLINK(\"http://x\")"),
            "'=HYPERLINK(\"http://x\")"
        );
        assert_eq!(safe_cell("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(safe_cell("+1 555 0100"), "'+1 555 0100");
        assert_eq!(safe_cell("\tcmd"), "'\tcmd");
        assert_eq!(safe_cell("-3.5"), "-3.5");
        assert_eq!(safe_cell("Nguyễn"), "Nguyễn");
        assert_eq!(safe_cell(""), "");
    }

    proptest! {
        #[test]
        fn no_safe_cell_starts_a_formula(value in "\\PC{0,20}") {
            let cell = safe_cell(&value);
            let first = cell.chars().next();
            prop_assert!(
                !matches!(first, Some('=' | '+' | '-' | '@' | '\t' | '\r')) || cell.parse::<f64>().is_ok()
            );
        }
    }
}
