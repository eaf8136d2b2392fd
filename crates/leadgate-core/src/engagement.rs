//! What a sent email tells back: its links and their tracked form, the open pixel, the
//! one-click unsubscribe address, and which opens a machine made rather than a person.

use regex::Regex;
use std::ops::Range;
use std::sync::LazyLock;

/// A web address in a plain-text body (up to whitespace or a bracket that closes it).
static LINK: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"https?://[^\s<>"']+"#).expect("a valid pattern"));

/// The web addresses of a plain-text body, in order; the closing punctuation of a sentence
/// is not part of one. Link `n` of an email is always the same address, so a click
/// address names it by number and no other address can be sent through it.
pub fn links(body: &str) -> Vec<Range<usize>> {
    LINK.find_iter(body)
        .map(|m| {
            let trimmed = m
                .as_str()
                .trim_end_matches(['.', ',', ';', ':', '!', '?', ')', ']', '}']);
            m.start()..m.start() + trimmed.len()
        })
        .filter(|r| !r.is_empty())
        .collect()
}

/// Link `n` of a body, if it has one.
pub fn link(body: &str, n: usize) -> Option<&str> {
    links(body).get(n).map(|r| &body[r.clone()])
}

/// The addresses of one email on the server the recipient can reach.
#[derive(Debug, Clone)]
pub struct Tracking<'a> {
    /// The server's public address, e.g. `https://leads.example.com`.
    pub base: &'a str,
    /// The email's own unguessable token (its Message-ID).
    pub token: &'a str,
}

impl Tracking<'_> {
    fn at(&self, rest: &str) -> String {
        format!(
            "{}/e/{}/{rest}",
            self.base.trim_end_matches('/'),
            self.token
        )
    }

    pub fn unsubscribe_url(&self) -> String {
        self.at("unsubscribe")
    }

    pub fn open_url(&self) -> String {
        self.at("open.gif")
    }

    pub fn click_url(&self, n: usize) -> String {
        self.at(&format!("link/{n}"))
    }

    /// The body with each link through its click address.
    pub fn text(&self, body: &str) -> String {
        let mut out = String::with_capacity(body.len());
        let mut last = 0;
        for (n, range) in links(body).into_iter().enumerate() {
            out.push_str(&body[last..range.start]);
            out.push_str(&self.click_url(n));
            last = range.end;
        }
        out.push_str(&body[last..]);
        out
    }

    /// The body as HTML: the text escaped, line breaks kept, each link a tracked anchor
    /// showing its own address, and the open pixel at the end.
    pub fn html(&self, body: &str) -> String {
        let mut out =
            String::from("<!DOCTYPE html><html><body><div style=\"white-space:pre-wrap\">");
        let mut last = 0;
        for (n, range) in links(body).into_iter().enumerate() {
            out.push_str(&escape(&body[last..range.start]));
            out.push_str(&format!(
                "<a href=\"{}\">{}</a>",
                escape(&self.click_url(n)),
                escape(&body[range.clone()])
            ));
            last = range.end;
        }
        out.push_str(&escape(&body[last..]));
        out.push_str(&format!(
            "</div><img src=\"{}\" width=\"1\" height=\"1\" alt=\"\"></body></html>",
            escape(&self.open_url())
        ));
        out
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// User agents of mail privacy proxies and scanners that fetch every image of a message
/// whether anyone reads it or not.
const PREFETCHERS: [&str; 6] = [
    "googleimageproxy",
    "yahoomailproxy",
    "ymailproxy",
    "barracuda",
    "mimecast",
    "proofpoint",
];

/// Seconds after sending within which an open is a machine's: Apple's Mail Privacy
/// Protection and security gateways fetch images on delivery, with a browser's user agent.
pub const PREFETCH_SECONDS: i64 = 60;

/// Whether an open was a machine's prefetch, not a person reading: a known proxy's user
/// agent, no user agent at all, or a fetch within `PREFETCH_SECONDS` of sending.
pub fn machine_open(user_agent: Option<&str>, seconds_after_sending: Option<i64>) -> bool {
    let agent = user_agent.unwrap_or_default().to_ascii_lowercase();
    agent.trim().is_empty()
        || PREFETCHERS.iter().any(|p| agent.contains(p))
        || seconds_after_sending.is_some_and(|s| s < PREFETCH_SECONDS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BODY: &str = "Hi Ana,\nthe price list: https://acme.example/prices?x=1&y=2.\n\
        (Book a demo at https://acme.example/demo) or write to sales@acme.example.";

    #[test]
    fn links_end_before_a_sentence_does() {
        let found: Vec<&str> = links(BODY).into_iter().map(|r| &BODY[r]).collect();
        assert_eq!(
            found,
            [
                "https://acme.example/prices?x=1&y=2",
                "https://acme.example/demo"
            ]
        );
        assert_eq!(link(BODY, 1), Some("https://acme.example/demo"));
        assert_eq!(link(BODY, 2), None);
    }

    #[test]
    fn a_tracked_body_sends_each_link_through_its_number() {
        let t = Tracking {
            base: "https://leads.example/",
            token: "7.abc@leadgate",
        };
        let text = t.text(BODY);
        assert!(text.contains("list: https://leads.example/e/7.abc@leadgate/link/0."));
        assert!(text.contains("(Book a demo at https://leads.example/e/7.abc@leadgate/link/1)"));
        let html = t.html("Tom & <Jerry> https://a.example/?q=\"x\"");
        assert!(html.contains("Tom &amp; &lt;Jerry&gt;"), "{html}");
        assert!(html.contains(
            "<a href=\"https://leads.example/e/7.abc@leadgate/link/0\">https://a.example/?q=</a>"
        ), "{html}");
        assert!(html.contains("<img src=\"https://leads.example/e/7.abc@leadgate/open.gif\""));
        assert_eq!(
            t.unsubscribe_url(),
            "https://leads.example/e/7.abc@leadgate/unsubscribe"
        );
    }

    #[test]
    fn machines_open_on_delivery_or_say_who_they_are() {
        let browser = Some("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7)");
        assert!(!machine_open(browser, Some(3600)));
        assert!(machine_open(browser, Some(2)), "fetched on delivery");
        assert!(machine_open(
            Some("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"),
            Some(86_400)
        ));
        assert!(machine_open(None, Some(86_400)));
        assert!(!machine_open(browser, None));
    }

    proptest! {
        /// Whatever the text, the tracked body differs from it only at its links, and each
        /// number leads back to the link it replaced.
        #[test]
        fn tracking_replaces_only_links(body in "(\\PC|https?://[a-z./?=&]{1,20}| ){0,40}") {
            let t = Tracking { base: "https://l.example", token: "t" };
            let text = t.text(&body);
            let ranges = links(&body);
            let mut expected = String::new();
            let mut last = 0;
            for (n, r) in ranges.iter().enumerate() {
                expected.push_str(&body[last..r.start]);
                expected.push_str(&t.click_url(n));
                prop_assert_eq!(link(&body, n), Some(&body[r.clone()]));
                last = r.end;
            }
            expected.push_str(&body[last..]);
            prop_assert_eq!(text, expected);
        }
    }
}
