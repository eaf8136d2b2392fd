//! A website's tracker: the sites it may collect from, what its script sends (the page views
//! of one anonymous visitor), how each view is cleaned before it is kept, and which visitors
//! are robots.

use crate::validation::{FieldError, FieldErrors};
use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Most page views one post of the script carries (it sends one or two).
pub const MAX_VIEWS_PER_POST: usize = 50;
/// Largest post the collect endpoint reads.
pub const MAX_POST_BYTES: usize = 64 * 1024;
/// Longest page address kept (after its query is dropped).
const MAX_URL: usize = 2000;
/// Longest page title kept.
const MAX_TITLE: usize = 300;
/// Longest time on one page that counts: a tab left open overnight is not reading.
pub const MAX_SECONDS_ON_PAGE: u32 = 4 * 3600;
/// How far back a view's time may lie (the script sends a page when it is left; a laptop
/// closed on a page sends it when opened again).
const MAX_AGE_HOURS: i64 = 48;
/// How far a browser's clock may run ahead of ours.
const MAX_AHEAD_MINUTES: i64 = 10;
/// A visitor viewing more pages than this within one minute is a robot, whatever its user
/// agent says: people read.
pub const MAX_VIEWS_PER_MINUTE: usize = 30;
/// The query parameters a page address keeps: the campaign's. Anything else in a query may
/// be personal (an email in a link, a reset token) and is dropped before it is stored.
pub const UTM_KEYS: [&str; 5] = [
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
];
/// The query parameter a click from a Leadgate email adds to a link to a tracked site: the
/// email's token, by which the visitor is known as its recipient.
pub const EMAIL_PARAM: &str = "lg_e";

/// Whether a site's visitors are recorded before they agree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ConsentMode {
    /// Nothing is recorded (nor an id kept in the browser) until the site calls
    /// `leadgate.consent(true)`.
    #[default]
    Required,
    /// Recorded unless the site calls `leadgate.consent(false)`: where the law allows
    /// first-party analytics without asking.
    Implied,
}

impl ConsentMode {
    pub fn as_str(self) -> &'static str {
        match self {
            ConsentMode::Required => "required",
            ConsentMode::Implied => "implied",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "required" => Ok(ConsentMode::Required),
            "implied" => Ok(ConsentMode::Implied),
            other => Err(format!(
                "'{other}' is not a consent mode (required or implied)"
            )),
        }
    }
}

/// A tracker as a person defines it: its name, the sites that may use it, the consent mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(deny_unknown_fields)]
pub struct TrackerDefinition {
    #[cfg_attr(feature = "openapi", schema(min_length = 1, max_length = 200))]
    pub name: String,
    /// The sites' origins (`https://www.example.com`): only pages there are recorded.
    #[cfg_attr(feature = "openapi", schema(min_items = 1, max_items = 50))]
    pub sites: Vec<String>,
    #[serde(default)]
    pub consent: ConsentMode,
}

impl TrackerDefinition {
    /// The definition with each site in its one form (scheme, host, port), or every mistake
    /// by field.
    pub fn checked(&self) -> Result<TrackerDefinition, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = self.name.trim();
        if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
            errors.push(FieldError::new(
                "name",
                "must be 1 to 200 characters without control characters",
            ));
        }
        if self.sites.is_empty() || self.sites.len() > 50 {
            errors.push(FieldError::new("sites", "must list 1 to 50 sites"));
        }
        let mut sites = Vec::new();
        for (i, site) in self.sites.iter().enumerate() {
            match site_origin(site) {
                Ok(origin) if !sites.contains(&origin) => sites.push(origin),
                Ok(_) => {}
                Err(reason) => errors.push(FieldError::new(format!("sites[{i}]"), reason)),
            }
        }
        errors.into_result(TrackerDefinition {
            name: name.to_owned(),
            sites,
            consent: self.consent,
        })
    }

    /// Whether a request's `Origin` is one of the tracker's sites.
    pub fn allows(&self, origin: &str) -> bool {
        site_origin(origin).is_ok_and(|o| self.sites.contains(&o))
    }

    /// The snippet a site pastes into every page: the script, loaded without blocking.
    pub fn snippet(&self, server: &str, key: &str) -> String {
        let consent = match self.consent {
            ConsentMode::Required => "",
            ConsentMode::Implied => " data-consent=\"implied\"",
        };
        format!(
            "<script async src=\"{}/t.js\" data-tracker=\"{}\"{consent}></script>",
            crate::form::escape(server.trim_end_matches('/')),
            crate::form::escape(key)
        )
    }
}

/// A site's origin in its one form (`https://shop.example.com`, a port only when not the
/// scheme's own), from an origin or any address on the site.
pub fn site_origin(raw: &str) -> Result<String, String> {
    let url = url::Url::parse(raw.trim()).map_err(|e| format!("is not a site address: {e}"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("must start with http:// or https://".into());
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("has no host".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not hold a user name or password".into());
    }
    Ok(url.origin().ascii_serialization())
}

/// Whether a tracker key is well formed: `t_` and 16 to 40 letters and digits (keys are
/// made by the server; anything else names no tracker).
pub fn is_tracker_key(key: &str) -> bool {
    key.strip_prefix("t_").is_some_and(|rest| {
        (16..=40).contains(&rest.len()) && rest.bytes().all(|b| b.is_ascii_alphanumeric())
    })
}

/// The id a browser keeps for its visitor, or a view's id: 16 to 64 letters, digits, `-`
/// and `_` (the script makes 22 random ones).
pub fn is_browser_id(id: &str) -> bool {
    (16..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// One post of the script, as it arrives.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Post {
    tracker: String,
    visitor: String,
    #[serde(default)]
    email: Option<String>,
    views: Vec<ViewPost>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ViewPost {
    id: String,
    url: String,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    referrer: Option<String>,
    /// When the page was shown, Unix milliseconds.
    at: i64,
    #[serde(default)]
    seconds: Option<f64>,
    #[serde(default)]
    visit: Option<u32>,
}

/// What one post of the script says, checked: which tracker and visitor, the token of the
/// Leadgate email the visitor arrived from, and the page views.
#[derive(Debug, Clone, PartialEq)]
pub struct Collected {
    pub tracker: String,
    pub visitor: String,
    pub email: Option<String>,
    pub views: Vec<PageView>,
}

/// One page view as kept: the address without its query (but for the campaign tags), the
/// path, title, referring site, when it was shown, how long it was read, and the visit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PageView {
    /// The view's id from the browser: a view sent twice is kept once.
    pub id: String,
    pub url: String,
    pub page: String,
    pub title: Option<String>,
    /// The referring page's origin, only when it is another site.
    pub referrer: Option<String>,
    pub utm: Map<String, Value>,
    pub viewed_at: DateTime<Utc>,
    pub seconds: u32,
    /// The visit's number for this visitor (a new one after 30 minutes idle).
    pub visit: u32,
}

impl Collected {
    /// Reads a post sent from `origin`: every view must be a page of that origin. `now`
    /// bounds the views' times.
    pub fn parse(body: &[u8], origin: &str, now: DateTime<Utc>) -> Result<Collected, FieldErrors> {
        let origin = site_origin(origin).map_err(|reason| FieldError::new("Origin", reason))?;
        let mut de = serde_json::Deserializer::from_slice(body);
        let post: Post = serde_path_to_error::deserialize(&mut de).map_err(|e| {
            let path = e.path().to_string();
            let field = if path == "." { String::new() } else { path };
            FieldError::new(field, e.inner().to_string())
        })?;
        let mut errors = FieldErrors::default();
        if !is_tracker_key(&post.tracker) {
            errors.push(FieldError::new("tracker", "is not a tracker key"));
        }
        if !is_browser_id(&post.visitor) {
            errors.push(FieldError::new(
                "visitor",
                "must be 16 to 64 letters, digits, - or _",
            ));
        }
        let email = post.email.filter(|e| !e.is_empty());
        if email
            .as_ref()
            .is_some_and(|e| e.len() > 200 || e.chars().any(char::is_control))
        {
            errors.push(FieldError::new("email", "is not an email's token"));
        }
        if post.views.is_empty() || post.views.len() > MAX_VIEWS_PER_POST {
            errors.push(FieldError::new(
                "views",
                format!("must hold 1 to {MAX_VIEWS_PER_POST} page views"),
            ));
        }
        let mut views = Vec::with_capacity(post.views.len());
        for (i, view) in post.views.into_iter().enumerate() {
            match PageView::read(view, &origin, now) {
                Ok(view) => views.push(view),
                Err((field, reason)) => {
                    errors.push(FieldError::new(format!("views[{i}].{field}"), reason))
                }
            }
        }
        errors.into_result(Collected {
            tracker: post.tracker,
            visitor: post.visitor,
            email,
            views,
        })
    }
}

/// Text as kept: control characters out, trimmed, at most `max` characters; none if empty.
fn clean(text: &str, max: usize) -> Option<String> {
    let kept: String = text.chars().filter(|c| !c.is_control()).take(max).collect();
    let kept = kept.trim();
    (!kept.is_empty()).then(|| kept.to_owned())
}

impl PageView {
    fn read(
        post: ViewPost,
        origin: &str,
        now: DateTime<Utc>,
    ) -> Result<PageView, (&'static str, String)> {
        if !is_browser_id(&post.id) {
            return Err(("id", "must be 16 to 64 letters, digits, - or _".into()));
        }
        let mut url = url::Url::parse(&post.url).map_err(|e| ("url", e.to_string()))?;
        if url.origin().ascii_serialization() != origin {
            return Err(("url", format!("is not a page of {origin}")));
        }
        let mut utm = Map::new();
        for (key, value) in url.query_pairs() {
            if UTM_KEYS.contains(&key.as_ref()) && !utm.contains_key(key.as_ref()) {
                if let Some(value) = clean(&value, 200) {
                    utm.insert(key.into_owned(), Value::String(value));
                }
            }
        }
        url.set_fragment(None);
        if utm.is_empty() {
            url.set_query(None);
        } else {
            let query: String = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(utm.iter().filter_map(|(k, v)| Some((k, v.as_str()?))))
                .finish();
            url.set_query(Some(&query));
        }
        let url_text: String = url.as_str().to_owned();
        if url_text.len() > MAX_URL {
            return Err(("url", format!("is over {MAX_URL} bytes without its query")));
        }
        let viewed_at = Utc
            .timestamp_millis_opt(post.at)
            .single()
            .filter(|t| {
                *t >= now - Duration::hours(MAX_AGE_HOURS)
                    && *t <= now + Duration::minutes(MAX_AHEAD_MINUTES)
            })
            .ok_or((
                "at",
                format!("must be a time (Unix milliseconds) within the last {MAX_AGE_HOURS} hours"),
            ))?;
        let seconds = match post.seconds {
            None => 0,
            Some(s) if s.is_finite() && s >= 0.0 => {
                (s.round() as u64).min(u64::from(MAX_SECONDS_ON_PAGE)) as u32
            }
            Some(_) => return Err(("seconds", "must be a number of seconds, 0 or more".into())),
        };
        // Only another site's origin: a path on the same site says nothing the views don't,
        // and a full address may carry a query with anything in it.
        let referrer = post
            .referrer
            .as_deref()
            .and_then(|r| url::Url::parse(r).ok())
            .filter(|r| matches!(r.scheme(), "http" | "https"))
            .map(|r| r.origin().ascii_serialization())
            .filter(|r| r != origin);
        Ok(PageView {
            id: post.id,
            page: clean(url.path(), MAX_URL).unwrap_or_else(|| "/".into()),
            url: url_text,
            title: post.title.as_deref().and_then(|t| clean(t, MAX_TITLE)),
            referrer,
            utm,
            viewed_at,
            seconds,
            visit: post.visit.unwrap_or(1).max(1),
        })
    }

    /// The `page_viewed` event's payload (what behaviour rules read: `page`, `visit`,
    /// `seconds`, the campaign tags).
    pub fn payload(&self) -> Value {
        let mut payload = json!({
            "page": self.page,
            "url": self.url,
            "seconds": self.seconds,
            "visit": self.visit,
            "tracked": true,
        });
        if let Some(map) = payload.as_object_mut() {
            if let Some(title) = &self.title {
                map.insert("title".into(), json!(title));
            }
            if let Some(referrer) = &self.referrer {
                map.insert("referrer".into(), json!(referrer));
            }
            map.extend(self.utm.clone());
        }
        payload
    }

    /// The event's idempotency key: a view posted again (the script retries) or stitched
    /// twice becomes one event.
    pub fn event_key(&self, visitor: &str) -> String {
        format!("page-view:{visitor}:{}", self.id)
    }
}

/// A link of a Leadgate email as its click sends the recipient on: to a page of a tracked
/// site it carries the email's token (`lg_e`), which the site's tracker hands back, so the
/// visitor is known as the recipient. Links elsewhere are left as written: the token is
/// no other site's business.
pub fn link_from_email(target: &str, token: &str, tracked_sites: &[String]) -> String {
    let Ok(mut url) = url::Url::parse(target) else {
        return target.to_owned();
    };
    if !tracked_sites.contains(&url.origin().ascii_serialization()) {
        return target.to_owned();
    }
    url.query_pairs_mut().append_pair(EMAIL_PARAM, token);
    url.into()
}

/// Whether a user agent is a robot's: crawlers, link previews, monitors, scripts, and
/// headless browsers. No user agent at all is a robot too.
pub fn robot_agent(user_agent: Option<&str>) -> bool {
    const MARKS: [&str; 22] = [
        "bot",
        "crawl",
        "spider",
        "slurp",
        "headless",
        "lighthouse",
        "pagespeed",
        "phantomjs",
        "puppeteer",
        "playwright",
        "selenium",
        "preview",
        "facebookexternalhit",
        "embedly",
        "monitor",
        "pingdom",
        "curl/",
        "wget/",
        "python-",
        "go-http-client",
        "java/",
        "okhttp",
    ];
    let Some(agent) = user_agent.map(str::trim).filter(|a| !a.is_empty()) else {
        return true;
    };
    let agent = agent.to_ascii_lowercase();
    !agent.starts_with("mozilla/") || MARKS.iter().any(|mark| agent.contains(mark))
}

/// Whether views at these times (any order) came faster than a person reads: more than
/// `MAX_VIEWS_PER_MINUTE` within some minute.
pub fn too_fast(times: &mut [DateTime<Utc>]) -> bool {
    times.sort_unstable();
    times.len() > MAX_VIEWS_PER_MINUTE
        && times
            .windows(MAX_VIEWS_PER_MINUTE + 1)
            .any(|w| w[MAX_VIEWS_PER_MINUTE] - w[0] < Duration::minutes(1))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        "2026-12-01T12:00:00Z".parse().unwrap()
    }

    fn post(view: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "tracker": "t_abcdefghij0123456789", "visitor": "V1sitor-0123456789_ab",
            "views": [view]
        }))
        .unwrap()
    }

    fn view(url: &str) -> Value {
        json!({"id": "view-000000000000001", "url": url, "title": "Pricing\u{0} | Acme",
               "referrer": "https://www.google.com/search?q=acme+pricing", "at": now().timestamp_millis() - 60_000,
               "seconds": 42.4, "visit": 2})
    }

    #[test]
    fn sites_take_one_form_and_origins_are_matched() {
        let def = TrackerDefinition {
            name: " Site ".into(),
            sites: vec![
                "https://WWW.Example.com/".into(),
                "https://www.example.com:443/pricing".into(),
                "http://localhost:8080".into(),
            ],
            consent: ConsentMode::Required,
        }
        .checked()
        .unwrap();
        assert_eq!(def.name, "Site");
        assert_eq!(
            def.sites,
            ["https://www.example.com", "http://localhost:8080"]
        );
        assert!(def.allows("https://www.example.com"));
        assert!(def.allows("http://localhost:8080"));
        assert!(!def.allows("http://www.example.com"));
        assert!(!def.allows("https://www.example.com.evil.test"));
        assert!(!def.allows("null"));
        let bad = TrackerDefinition {
            name: "".into(),
            sites: vec![
                "ftp://x.example".into(),
                "https://u:p@x.example".into(),
                "nonsense".into(),
            ],
            consent: ConsentMode::Implied,
        }
        .checked()
        .unwrap_err()
        .to_string();
        for field in ["name", "sites[0]", "sites[1]", "sites[2]"] {
            assert!(bad.contains(field), "{field}: {bad}");
        }
    }

    #[test]
    fn a_view_keeps_no_query_but_the_campaign_and_no_referrer_path() {
        let c = Collected::parse(
            &post(view("https://www.example.com/pricing?email=ann%40x.example&utm_source=news&token=s3cret#plans")),
            "https://www.example.com",
            now(),
        )
        .unwrap();
        let v = &c.views[0];
        assert_eq!(v.url, "https://www.example.com/pricing?utm_source=news");
        assert_eq!(v.page, "/pricing");
        assert_eq!(v.title.as_deref(), Some("Pricing | Acme"));
        assert_eq!(v.referrer.as_deref(), Some("https://www.google.com"));
        assert_eq!(v.seconds, 42);
        assert_eq!(v.visit, 2);
        assert_eq!(v.payload()["utm_source"], "news");
        assert!(!v.payload().to_string().contains("s3cret"));
    }

    #[test]
    fn control_bytes_never_reach_what_is_stored() {
        let mut hostile =
            view("https://www.example.com/pri\u{0}cing\r\n?utm_source=a\u{0}b&utm_medium=%00x");
        hostile["title"] = json!("\u{0}Pricing\r\nSet-Cookie: x\t");
        hostile["referrer"] = json!("https://evil\u{0}.example/");
        let c = Collected::parse(&post(hostile), "https://www.example.com", now()).unwrap();
        let payload = c.views[0].payload().to_string();
        let stored = serde_json::to_string(&c.views[0]).unwrap();
        for text in [&payload, &stored] {
            assert!(
                !text.contains("\\u0000") && !text.contains("\\r") && !text.contains("\\n"),
                "{text}"
            );
        }
        assert_eq!(c.views[0].title.as_deref(), Some("PricingSet-Cookie: x"));
    }

    #[test]
    fn a_view_of_another_site_or_time_is_refused_by_field() {
        let refused = |body: Vec<u8>| {
            Collected::parse(&body, "https://www.example.com", now())
                .unwrap_err()
                .to_string()
        };
        assert!(refused(post(view("https://evil.example/pricing"))).contains("views[0].url"));
        let mut old = view("https://www.example.com/");
        old["at"] = json!(0);
        assert!(refused(post(old)).contains("views[0].at"));
        let mut negative = view("https://www.example.com/");
        negative["seconds"] = json!(-1);
        assert!(refused(post(negative)).contains("views[0].seconds"));
        let body = serde_json::to_vec(&json!({"tracker": "nope", "visitor": "short", "views": []}))
            .unwrap();
        let e = refused(body);
        for field in ["tracker", "visitor", "views"] {
            assert!(e.contains(field), "{field}: {e}");
        }
        assert!(refused(b"{\"tracker\": 1".to_vec()).contains("tracker"));
        assert!(refused(serde_json::to_vec(&json!({"tracker": "t_abcdefghij0123456789", "visitor": "V1sitor-0123456789_ab", "views": [], "extra": 1})).unwrap()).contains("extra"));
        assert!(Collected::parse(&post(view("https://www.example.com/")), "null", now()).is_err());
    }

    #[test]
    fn only_links_to_tracked_sites_carry_the_email_token() {
        let sites = vec!["https://www.example.com".to_owned()];
        assert_eq!(
            link_from_email(
                "https://www.example.com/pricing?a=1#x",
                "7.k@leadgate",
                &sites
            ),
            "https://www.example.com/pricing?a=1&lg_e=7.k%40leadgate#x"
        );
        assert_eq!(
            link_from_email("https://other.example/?a=1", "7.k@leadgate", &sites),
            "https://other.example/?a=1"
        );
        assert_eq!(link_from_email("not a url", "t", &sites), "not a url");
    }

    #[test]
    fn robots_by_agent_and_by_pace() {
        assert!(robot_agent(None));
        assert!(robot_agent(Some(
            "Googlebot/2.1 (+http://www.google.com/bot.html)"
        )));
        assert!(robot_agent(Some("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0 Safari/537.36")));
        assert!(robot_agent(Some("curl/8.5.0")));
        assert!(!robot_agent(Some("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1")));
        let start = now();
        let mut people: Vec<_> = (0..40).map(|i| start + Duration::seconds(i * 20)).collect();
        assert!(!too_fast(&mut people));
        let mut robot: Vec<_> = (0..31).map(|i| start + Duration::seconds(i)).collect();
        assert!(too_fast(&mut robot));
    }

    #[test]
    fn the_snippet_escapes_and_states_implied_consent() {
        let def = TrackerDefinition {
            name: "x".into(),
            sites: vec!["https://a.example".into()],
            consent: ConsentMode::Implied,
        };
        let s = def.snippet("https://leads.example/\"><x", "t_abc");
        assert!(
            s.contains("https://leads.example/&quot;&gt;&lt;x/t.js"),
            "{s}"
        );
        assert!(s.contains("data-consent=\"implied\""));
        assert!(is_tracker_key("t_abcdefghij0123456789"));
        assert!(!is_tracker_key("t_abc"));
    }

    proptest! {
        #[test]
        fn any_post_is_read_or_refused_without_panic(body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let _ = Collected::parse(&body, "https://www.example.com", now());
        }

        #[test]
        fn a_kept_view_is_always_a_page_of_the_site_without_foreign_query(
            path in "[a-z/]{0,20}", key in "[a-z_]{1,12}", value in "[ -~]{0,20}", at in -200_000_000i64..10_000_000
        ) {
            let url = format!("https://www.example.com/{path}?{}", url::form_urlencoded::Serializer::new(String::new()).append_pair(&key, &value).finish());
            let mut v = view(&url);
            v["at"] = json!(now().timestamp_millis() + at);
            if let Ok(c) = Collected::parse(&post(v), "https://www.example.com", now()) {
                let kept = &c.views[0];
                prop_assert!(kept.url.starts_with("https://www.example.com/"));
                let parsed = url::Url::parse(&kept.url).unwrap();
                prop_assert!(parsed.query_pairs().all(|(k, _)| UTM_KEYS.contains(&k.as_ref())));
                prop_assert!(kept.viewed_at <= now() + Duration::minutes(MAX_AHEAD_MINUTES));
            }
        }
    }
}
