//! What an email's domain says: a free-mail provider (a person writing privately) or a
//! disposable-address service (a throw-away address).

use std::collections::HashSet;
use std::sync::LazyLock;

/// Major free-mail providers: a business lead rarely writes from these.
const FREE_MAIL: &[&str] = &[
    "gmail.com",
    "googlemail.com",
    "yahoo.com",
    "yahoo.co.uk",
    "yahoo.fr",
    "ymail.com",
    "outlook.com",
    "hotmail.com",
    "hotmail.co.uk",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "aol.com",
    "proton.me",
    "protonmail.com",
    "gmx.de",
    "gmx.net",
    "gmx.com",
    "web.de",
    "mail.ru",
    "yandex.ru",
    "yandex.com",
    "zoho.com",
    "qq.com",
    "163.com",
    "126.com",
    "sina.com",
    "sohu.com",
    "foxmail.com",
    "naver.com",
    "daum.net",
    "rediffmail.com",
    "libero.it",
    "orange.fr",
    "free.fr",
    "t-online.de",
    "bol.com.br",
    "uol.com.br",
];

pub fn is_free_mail(domain: &str) -> bool {
    FREE_MAIL.contains(&domain.to_ascii_lowercase().as_str())
}

/// The maintained list (see `scripts/refresh-disposable-domains.sh`), compiled in.
static DISPOSABLE: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    include_str!("../data/disposable_domains.txt")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .collect()
});

/// Whether the domain (or a parent of it) is a disposable-address service.
pub fn is_disposable(domain: &str) -> bool {
    let domain = domain.trim().trim_end_matches('.').to_ascii_lowercase();
    let mut rest = domain.as_str();
    loop {
        if DISPOSABLE.contains(rest) {
            return true;
        }
        match rest.split_once('.') {
            Some((_, parent)) if parent.contains('.') => rest = parent,
            _ => return false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_is_loaded_and_common_providers_are_not_on_it() {
        assert!(DISPOSABLE.len() > 10_000);
        for provider in [
            "gmail.com",
            "outlook.com",
            "qq.com",
            "163.com",
            "yahoo.com",
            "mail.ru",
        ] {
            assert!(!is_disposable(provider), "{provider}");
        }
    }
}
