//! The lead list: filters, search, sort, keyset pages and a CSV of the filtered set; and the
//! lead card every list (inbox, board) shows.

use super::i18n::Catalog;
use super::{html, Chrome, PageResult, Signed, WebError};
use crate::export::CsvExport;
use crate::http::reads::Reads;
use crate::http::AppState;
use askama::Template;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::header;
use axum::response::IntoResponse;
use leadgate_core::access::{LeadScope, Permission};
use leadgate_core::Stage;
use leadgate_store::{LeadFilter, LeadSort, Owners, Rep, SlaClock, StoredLead, User};
use serde::Deserialize;

/// A lead as one row or card of a list.
pub struct Card {
    pub id: leadgate_core::id::LeadId,
    pub name: String,
    pub company: String,
    pub stage: &'static str,
    pub owner: String,
    pub score: String,
    /// The score as a number, for ordering cards on the page (0 when unscored).
    pub score_value: f64,
    pub grade: String,
    pub temperature: String,
    pub probability: String,
    pub junk: bool,
    pub created: String,
    /// The running SLA clock: text and whether it is overdue.
    pub sla: Option<(String, bool)>,
}

/// The name a person would call a lead by, in the order of the name's own culture: family
/// name first for names in Chinese, Japanese or Korean script (刘军, without a space) and for
/// people in Vietnam (Nguyễn Minh), given name first otherwise.
pub fn display_name(lead: &StoredLead) -> String {
    let l = &lead.lead;
    if let Some(name) = person_name(l) {
        name
    } else if let Some(email) = &l.email {
        email.as_str().to_owned()
    } else {
        format!("Lead #{}", lead.id)
    }
}

/// A lead's given and family names in their culture's order, if it has either.
fn person_name(l: &leadgate_core::Lead) -> Option<String> {
    let (given, family) = (
        l.first_name.as_ref().map(|t| t.as_str()),
        l.last_name.as_ref().map(|t| t.as_str()),
    );
    let cjk = [given, family]
        .into_iter()
        .flatten()
        .any(|part| part.chars().any(is_cjk));
    let vietnam = l.country.as_ref().is_some_and(|c| {
        matches!(
            c.as_str().trim(),
            "Vietnam" | "Viet Nam" | "VN" | "Việt Nam"
        )
    });
    let parts = if cjk || vietnam {
        [family, given]
    } else {
        [given, family]
    };
    let name = parts
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(if cjk { "" } else { " " });
    (!name.is_empty()).then_some(name)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x3040..=0x30FF | 0xAC00..=0xD7AF)
}

/// Minutes of working time as "2 h 05 min left", "overdue by 30 min", or, outside the
/// team's working hours, "paused until Mon 09:00, 1 h 00 min left" (in `zone`).
pub fn countdown(t: &Catalog, zone: chrono_tz::Tz, clock: &SlaClock) -> Option<(String, bool)> {
    let left = clock.minutes_left?;
    let span = |m: i64| {
        if m >= 60 * 24 {
            let (d, h) = (
                (m / (60 * 24)).to_string(),
                ((m % (60 * 24)) / 60).to_string(),
            );
            t.tf("sla.days_hours", &[("d", &d), ("h", &h)])
        } else if m >= 60 {
            let (h, m) = ((m / 60).to_string(), format!("{:02}", m % 60));
            t.tf("sla.hours_minutes", &[("h", &h), ("m", &m)])
        } else {
            t.tf("sla.minutes", &[("m", &m.to_string())])
        }
    };
    Some(if left < 0 {
        (t.tf("sla.overdue", &[("time", &span(-left))]), true)
    } else if let Some(until) = &clock.paused_until {
        let until = until
            .0
            .with_timezone(&zone)
            .format(t.t("format.weekday_time"));
        (
            t.tf(
                "sla.paused",
                &[("time", &span(left)), ("until", &until.to_string())],
            ),
            false,
        )
    } else {
        (t.tf("sla.left", &[("time", &span(left))]), false)
    })
}

pub fn card(c: &Chrome, lead: &StoredLead, clock: Option<&SlaClock>) -> Card {
    let snapshot = lead.snapshot.as_ref();
    Card {
        id: lead.id,
        name: display_name(lead),
        company: lead
            .lead
            .company
            .as_ref()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        stage: lead.lead.stage.as_str(),
        owner: lead
            .lead
            .owner
            .as_ref()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default(),
        score: snapshot.map(|s| c.t.num(s.score, 0)).unwrap_or_default(),
        score_value: snapshot.map_or(0.0, |s| s.score),
        grade: snapshot.map(|s| s.grade.clone()).unwrap_or_default(),
        temperature: snapshot.map(|s| s.temperature.clone()).unwrap_or_default(),
        probability: lead
            .prediction
            .as_ref()
            .map(|p| c.t.pct(p.probability))
            .unwrap_or_default(),
        junk: !lead.junk.is_empty(),
        created: c.day(&lead.created_at),
        sla: clock.and_then(|k| countdown(c.t, c.zone, k)),
    }
}

/// Narrows a filter to what the user may see.
pub fn scoped(user: &User, filter: LeadFilter) -> LeadFilter {
    filter.within(&user.scope())
}

#[derive(Debug, Default, Deserialize, Clone)]
pub struct ListQuery {
    #[serde(default)]
    pub stage: String,
    #[serde(default)]
    pub grade: String,
    #[serde(default)]
    pub channel: String,
    #[serde(default)]
    pub owner: String,
    /// "1": only the leads nobody owns yet (the queue managers assign from).
    #[serde(default)]
    pub unassigned: String,
    #[serde(default)]
    pub from: String,
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub junk: String,
    #[serde(default)]
    pub q: String,
    #[serde(default)]
    pub sort: String,
    #[serde(default)]
    pub cursor: String,
    /// The cursors of the pages before this one, comma-separated: the way back.
    #[serde(default)]
    pub trail: String,
}

fn some(raw: &str) -> Option<String> {
    let t = raw.trim();
    (!t.is_empty()).then(|| t.to_owned())
}

impl ListQuery {
    /// The store filter these parameters ask for; every bad one is named.
    pub fn filter(&self, user: &User, limit: u32) -> Result<LeadFilter, WebError> {
        let stage = some(&self.stage)
            .map(|s| s.parse::<Stage>())
            .transpose()
            .map_err(|e| WebError::Invalid(format!("stage: {e}")))?;
        let channel = some(&self.channel)
            .map(|s| s.parse())
            .transpose()
            .map_err(|e| WebError::Invalid(format!("channel: {e}")))?;
        let sort = some(&self.sort)
            .map(|s| s.parse::<LeadSort>())
            .transpose()
            .map_err(|e| WebError::Invalid(format!("sort: {e}")))?
            .unwrap_or_default();
        let created_to = super::date_param(&self.to, "to")?.map(|d| d + chrono::Duration::days(1));
        Ok(scoped(
            user,
            LeadFilter {
                stage,
                channel,
                owner: some(&self.owner).filter(|_| !self.unowned()),
                unowned: self.unowned(),
                created_from: super::date_param(&self.from, "from")?,
                created_to,
                q: some(&self.q),
                grade: some(&self.grade),
                junk: match self.junk.as_str() {
                    "only" => Some(true),
                    "all" => None,
                    _ => Some(false),
                },
                sort,
                limit,
                cursor: some(&self.cursor),
                ..LeadFilter::default()
            },
        ))
    }

    pub fn unowned(&self) -> bool {
        self.unassigned == "1"
    }

    /// The next page: after `next`, with this page's cursor on the trail back.
    pub fn next_page(&self, next: &str) -> String {
        let mut q = self.clone();
        q.trail = if self.trail.is_empty() {
            // The first page has no cursor: "-" stands for it on the trail.
            if self.cursor.is_empty() {
                "-".into()
            } else {
                self.cursor.clone()
            }
        } else {
            format!(
                "{},{}",
                self.trail,
                if self.cursor.is_empty() {
                    "-"
                } else {
                    &self.cursor
                }
            )
        };
        q.query(next)
    }

    /// The page before this one, if there is one.
    pub fn previous_page(&self) -> Option<String> {
        if self.trail.is_empty() {
            return None;
        }
        let mut q = self.clone();
        let (rest, last) = match self.trail.rsplit_once(',') {
            Some((rest, last)) => (rest.to_owned(), last.to_owned()),
            None => (String::new(), self.trail.clone()),
        };
        q.trail = rest;
        Some(q.query(if last == "-" { "" } else { &last }))
    }

    /// These filters sorted by `field`: descending first, ascending when already so.
    pub fn sorted_by(&self, field: &str) -> String {
        let mut q = self.clone();
        q.sort = if self.sort == format!("-{field}") {
            field.to_owned()
        } else {
            format!("-{field}")
        };
        q.trail = String::new();
        q.query("")
    }

    /// "↓" or "↑" beside the column the list is sorted by.
    pub fn sort_mark(&self, field: &str) -> &'static str {
        let sort = if self.sort.is_empty() {
            "-created_at"
        } else {
            self.sort.as_str()
        };
        if sort == format!("-{field}") {
            "↓"
        } else if sort == field {
            "↑"
        } else {
            ""
        }
    }

    /// The query string of these filters with another cursor (for the CSV and page links).
    pub fn with_cursor(&self, cursor: &str) -> String {
        let mut q = self.clone();
        q.trail = String::new();
        q.query(cursor)
    }

    fn query(&self, cursor: &str) -> String {
        let mut q = self.clone();
        q.cursor = cursor.to_owned();
        serde_urlencoded::to_string([
            ("stage", &q.stage),
            ("grade", &q.grade),
            ("channel", &q.channel),
            ("owner", &q.owner),
            ("unassigned", &q.unassigned),
            ("from", &q.from),
            ("to", &q.to),
            ("junk", &q.junk),
            ("q", &q.q),
            ("sort", &q.sort),
            ("cursor", &q.cursor),
            ("trail", &q.trail),
        ])
        .unwrap_or_default()
    }
}

#[derive(Template)]
#[template(path = "leads.html")]
struct ListPage {
    c: Chrome,
    q: ListQuery,
    cards: Vec<Card>,
    next: Option<String>,
    previous: Option<String>,
    csv: String,
    stages: Vec<&'static str>,
    channels: Vec<&'static str>,
    /// Reps the user may give the listed leads to (none: no bulk assign).
    assignees: Vec<Rep>,
    /// How many leads the "All" view holds for this user, and the "Unassigned" one.
    all_count: String,
    unassigned_count: String,
    /// Whether the user may act on ticked leads at all (assign, move or tag).
    bulk: bool,
    /// This list again, for the bulk action to come back to.
    here: String,
    /// The user's saved lists.
    views: Vec<leadgate_store::SavedView>,
    /// This list's filters, as a saved list keeps them.
    filters: String,
}

pub async fn page(
    Reads(reads): Reads,
    signed: Signed,
    Query(q): Query<ListQuery>,
    Query(flash): Query<super::Flash>,
) -> PageResult {
    let c = Chrome::new(&signed, "leads").with_flash(&flash);
    let filter = q.filter(&signed.user, 50)?;
    let page = reads.list_leads(&filter).await?;
    let cards = page.leads.iter().map(|l| card(&c, l, None)).collect();
    let assignees = super::assign::assignees(&reads, &signed.user).await?;
    let role = signed.user.role;
    // The views' counts, made as far as the board's columns are.
    let cap = super::board::COUNT_CAP;
    let scope = signed.user.scope();
    let all_count = match &scope {
        LeadScope::All => Some(Owners::Any),
        LeadScope::Team(team) | LeadScope::TeamAndUnowned(team) => Some(Owners::Team(team)),
        LeadScope::Nothing => None,
    };
    let all_count = match all_count {
        Some(owners) => c.count(reads.view_count(owners, cap).await?, cap),
        None => c.t.int(0),
    };
    let unassigned_count = if assignees.is_empty() {
        String::new()
    } else {
        c.count(reads.view_count(Owners::Nobody, cap).await?, cap)
    };
    html(ListPage {
        all_count,
        unassigned_count,
        bulk: [
            Permission::ManageTeams,
            Permission::WorkLeads,
            Permission::CaptureLeads,
        ]
        .into_iter()
        .any(|p| role.allows(p)),
        views: reads.saved_views(signed.user.id).await?,
        filters: q.with_cursor(""),
        assignees,
        here: format!("/leads?{}", q.query(&q.cursor)),
        cards,
        next: page.next_cursor.map(|cur| q.next_page(&cur)),
        previous: q.previous_page(),
        csv: q.with_cursor(""),
        stages: Stage::ALL.iter().map(|s| s.as_str()).collect(),
        channels: leadgate_core::Channel::ALL
            .iter()
            .map(|s| s.as_str())
            .collect(),
        q,
        c,
    })
}

/// The filtered leads as CSV, streamed a page at a time.
pub async fn csv(Reads(reads): Reads, signed: Signed, Query(q): Query<ListQuery>) -> PageResult {
    let mut filter = q.filter(&signed.user, 500)?;
    filter.cursor = None;
    let export = CsvExport::new(reads, filter);
    // A page that fails ends the download, cut short (the state becomes None).
    let stream = futures_util::stream::unfold(Some(export), |export| async move {
        let mut export = export?;
        match export.next_chunk().await {
            Ok(Some(chunk)) => Some((Ok::<_, std::io::Error>(chunk), Some(export))),
            Ok(None) => None,
            Err(e) => Some((Err(std::io::Error::other(e.to_string())), None)),
        }
    });
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"leads.csv\"",
            ),
        ],
        Body::from_stream(stream),
    )
        .into_response())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::i18n::catalog;
    use leadgate_core::id::{ClockId, LeadId};
    use leadgate_core::sla::ClockState;
    use leadgate_store::Ts;

    fn clock(minutes_left: i64, paused_until: Option<&str>) -> SlaClock {
        let at = |s: &str| Ts(s.parse().unwrap());
        SlaClock {
            id: ClockId(1),
            lead_id: LeadId(1),
            rule: "MQL accepted or rejected".into(),
            stage: "mql".into(),
            until: "left_stage".into(),
            owner: Some("li.na".into()),
            team: Some("north".into()),
            started_at: at("2026-12-04T16:00:00Z"),
            due_at: at("2026-12-07T09:00:00Z"),
            met_at: None,
            breached_at: None,
            state: ClockState::Running,
            minutes_left: Some(minutes_left),
            paused_until: paused_until.map(at),
        }
    }

    fn named(first: &str, last: &str, country: &str) -> String {
        let text = |t: &str| Some(leadgate_core::values::Text::parse(t, 200).unwrap());
        let lead = leadgate_core::Lead {
            first_name: text(first),
            last_name: text(last),
            country: text(country),
            ..Default::default()
        };
        person_name(&lead).unwrap()
    }

    #[test]
    fn pages_go_forward_and_back_by_their_trail() {
        let first = ListQuery {
            stage: "mql".into(),
            ..ListQuery::default()
        };
        assert_eq!(first.previous_page(), None);
        let parse = |q: &str| serde_urlencoded::from_str::<ListQuery>(q).unwrap();
        let second = parse(&first.next_page("c2"));
        assert_eq!((second.cursor.as_str(), second.trail.as_str()), ("c2", "-"));
        let third = parse(&second.next_page("c3"));
        assert_eq!(
            (third.cursor.as_str(), third.trail.as_str()),
            ("c3", "-,c2")
        );
        let back = parse(&third.previous_page().unwrap());
        assert_eq!((back.cursor.as_str(), back.trail.as_str()), ("c2", "-"));
        let home = parse(&back.previous_page().unwrap());
        assert_eq!(
            (
                home.cursor.as_str(),
                home.trail.as_str(),
                home.stage.as_str()
            ),
            ("", "", "mql")
        );
        // Sorting starts again from the first page, descending, then ascending.
        let by_score = parse(&third.sorted_by("score"));
        assert_eq!(
            (
                by_score.sort.as_str(),
                by_score.cursor.as_str(),
                by_score.trail.as_str()
            ),
            ("-score", "", "")
        );
        assert_eq!(parse(&by_score.sorted_by("score")).sort, "score");
        assert_eq!(by_score.sort_mark("score"), "↓");
        assert_eq!(first.sort_mark("created_at"), "↓");
    }

    #[test]
    fn names_keep_the_order_of_their_culture() {
        assert_eq!(named("军", "刘", "China"), "刘军");
        assert_eq!(named("さくら", "山田", "Japan"), "山田さくら");
        assert_eq!(named("민준", "김", "South Korea"), "김민준");
        assert_eq!(named("Minh", "Nguyễn", "Vietnam"), "Nguyễn Minh");
        assert_eq!(named("Hải Yến", "Nguyễn", "Vietnam"), "Nguyễn Hải Yến");
        assert_eq!(named("Anna", "Schmidt", "Germany"), "Anna Schmidt");
        assert_eq!(named("Wei", "Zhang", "United States"), "Wei Zhang");
    }

    #[test]
    fn a_clock_off_hours_says_until_when_it_is_paused() {
        let berlin = chrono_tz::Europe::Berlin;
        let paused = clock(60, Some("2026-12-07T08:00:00Z"));
        assert_eq!(
            countdown(catalog("en"), berlin, &paused),
            Some(("paused until Mon 09:00, 1 h 00 min left".into(), false))
        );
        assert_eq!(
            countdown(catalog("zh-CN"), berlin, &paused),
            Some(("暂停至 12月07日 09:00，剩余 1 小时 00 分钟".into(), false))
        );
        assert_eq!(
            countdown(catalog("en"), berlin, &clock(60, None)),
            Some(("1 h 00 min left".into(), false))
        );
        assert_eq!(
            countdown(catalog("en"), berlin, &clock(-30, None)),
            Some(("overdue by 30 min".into(), true))
        );
    }
}

#[derive(Deserialize)]
pub struct ViewForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    filters: String,
}

/// Saves the list's filters under a name the person chooses (the same name replaces it).
pub async fn save_view(
    State(state): State<AppState>,
    signed: Signed,
    axum::Form(form): axum::Form<ViewForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    let q: ListQuery = serde_urlencoded::from_str(&form.filters)
        .map_err(|e| WebError::Invalid(format!("filters: {e}")))?;
    // Filters that would not list anything are refused now, not when the list is opened.
    if let Err(WebError::Invalid(m)) = q.filter(&signed.user, 1) {
        return Ok(super::back("/leads", Err(m)));
    }
    let filters = q.with_cursor("");
    match state
        .store
        .save_view(signed.user.id, &form.name, &filters)
        .await
    {
        Ok(_) => Ok(super::back(&format!("/leads?{filters}"), Ok("view_saved"))),
        Err(e) => match WebError::from(e) {
            WebError::Invalid(m) => Ok(super::back(&format!("/leads?{filters}"), Err(m))),
            other => Err(other),
        },
    }
}

/// Deletes one of the person's saved lists.
pub async fn delete_view(
    State(state): State<AppState>,
    signed: Signed,
    axum::extract::Path(raw): axum::extract::Path<String>,
    axum::Form(form): axum::Form<ViewForm>,
) -> PageResult {
    signed.check_csrf(&form.csrf)?;
    let id: i64 = raw
        .trim()
        .parse()
        .map_err(|_| WebError::NotFound(format!("you have no saved list '{raw}'")))?;
    state.store.delete_view(signed.user.id, id).await?;
    Ok(super::back("/leads", Ok("view_deleted")))
}
