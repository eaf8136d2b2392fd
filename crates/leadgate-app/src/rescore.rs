//! Scoring stored leads: one lead's score now, the passes that rescore a product after a
//! policy change or the leads whose events arrived since, and a candidate policy's backtest.
//! Core scores; the store reads leads and events and writes scores.

use crate::qualify::moves_by_score;
use crate::Result;
use chrono::{DateTime, Utc};
use leadgate_core::backtest::{Backtest, BacktestReport, History};
use leadgate_core::id::LeadId;
use leadgate_core::lifecycle::{self, Mover, Standing};
use leadgate_core::policy::Policy;
use leadgate_core::scoring::{self, Marks, Score};
use leadgate_core::Stage;
use leadgate_store::{
    facts, to_micros, ActivePolicy, OwnedEvent, RescoreRun, Store, StoredLead, Tx,
};
use std::collections::BTreeMap;

/// A lead's current score under the policy in force.
#[derive(Debug, Clone)]
pub struct LeadScore {
    pub lead_id: LeadId,
    pub product: String,
    pub policy_version: i64,
    pub score: Score,
}

/// What a rescoring pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RescoreSummary {
    pub scored: usize,
    pub became_mql: usize,
    pub left_mql: usize,
}

fn marks(lead: &StoredLead) -> Marks<'_> {
    Marks {
        confirmed: &lead.bant_confirmed,
        junk: &lead.junk,
    }
}

/// A lead's score from its events under a policy, without the explanation: for moves and
/// passes over many leads.
pub(crate) fn score_under(
    lead: &StoredLead,
    events: &[OwnedEvent],
    active: &ActivePolicy,
    now: DateTime<Utc>,
) -> Score {
    scoring::score_quick(&lead.lead, &facts(events), marks(lead), &active.policy, now)
}

/// A lead's score as `score_under` makes it, and where it stands for the policy's own
/// moves: its stage, who moved it there, and when (read from the same events: what a
/// recycled lead's cool-down counts from).
pub(crate) fn standing_under(
    lead: &StoredLead,
    events: &[OwnedEvent],
    active: &ActivePolicy,
    now: DateTime<Utc>,
) -> (Score, Standing) {
    let facts = facts(events);
    let score = scoring::score_quick(&lead.lead, &facts, marks(lead), &active.policy, now);
    let standing = Standing {
        stage: lead.lead.stage,
        entered_by: if lead.stage_by_policy {
            Mover::Policy
        } else {
            Mover::Person
        },
        entered_at: lifecycle::entered_at(&facts, lead.lead.stage),
    };
    (score, standing)
}

/// The lead's score now, explained, computed from its events under its product's policy.
/// Reads only.
pub async fn score_lead(store: &Store, id: LeadId, now: DateTime<Utc>) -> Result<LeadScore> {
    let lead = store.lead(id).await?;
    let product = lead.lead.product_line();
    let active = store.active_policy(&product).await?;
    let mut tx = store.begin_read().await?;
    let events = tx.events_of(&[id]).await?.remove(&id).unwrap_or_default();
    drop(tx);
    let score = scoring::score(
        &lead.lead,
        &facts(&events),
        marks(&lead),
        &active.policy,
        now,
    );
    Ok(LeadScore {
        lead_id: id,
        product,
        policy_version: active.version,
        score,
    })
}

/// Leads scored in one transaction of a pass.
const PAGE: i64 = 500;

/// A lead scored in a pass, with where it stands for the policy's moves.
struct Scored {
    lead: StoredLead,
    score: Score,
    standing: Standing,
}

impl Scored {
    fn under(
        lead: StoredLead,
        events: &[OwnedEvent],
        active: &ActivePolicy,
        now: DateTime<Utc>,
    ) -> Self {
        let (score, standing) = standing_under(&lead, events, active, now);
        Scored {
            lead,
            score,
            standing,
        }
    }
}

/// Stores a page's scores under `active`, and moves leads whose MQL status changed (when
/// the policy moves MQLs automatically). Returns how many became MQL and how many left.
async fn store_page(
    tx: &mut Tx,
    page: &[Scored],
    active: &ActivePolicy,
    now: DateTime<Utc>,
) -> Result<(usize, usize)> {
    let scored: Vec<(&StoredLead, &Score, i64)> = page
        .iter()
        .map(|s| (&s.lead, &s.score, active.version))
        .collect();
    tx.save_scores(&scored, now, Some(false)).await?;
    let judged: Vec<(&StoredLead, &Standing, &Score)> = page
        .iter()
        .map(|s| (&s.lead, &s.standing, &s.score))
        .collect();
    let moved = moves_by_score(tx, &judged, active, now).await?;
    let became = moved.iter().filter(|(_, to)| *to == Stage::Mql).count();
    Ok((became, moved.len() - became))
}

/// Scores the next page of a rescoring pass: of pass `id`, or of the oldest pass not
/// finished. Returns the pass as it stands after; `None` when there is none to work on.
pub async fn rescore_page(
    store: &Store,
    id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Option<RescoreRun>> {
    let now = to_micros(now);
    let mut tx = store.begin().await?;
    let Some(run) = tx.open_rescore(id).await? else {
        return Ok(None);
    };
    if run.finished_at().is_some() {
        return Ok(Some(run));
    }
    let active = store.active_policy(&run.product).await?;
    let mut page = Vec::new();
    let rest = (run.after_lead, LeadId(i64::MAX));
    tx.hold_leads_of_product(&run.product, rest, PAGE).await?;
    tx.each_lead_of_product(&run.product, rest, PAGE, |lead, events| {
        page.push(Scored::under(lead, &events, &active, now));
    })
    .await?;
    let moved = store_page(&mut tx, &page, &active, now).await?;
    // A short page is the last: the pass ends with it, in its transaction.
    let finished = (page.len() < PAGE as usize).then_some(now);
    let last = page.last().map_or(run.after_lead, |s| s.lead.id);
    let run = tx
        .advance_rescore(run.id, last, (page.len(), moved.0, moved.1), finished)
        .await?;
    tx.commit().await?;
    // Routing a page's new MQLs least-loaded reads the changes since the last fold.
    store.fold_open_leads().await?;
    Ok(Some(run))
}

/// Drives a pass to its end here (another server may score some of its pages meanwhile);
/// `progress` hears how many leads were done after each page.
pub async fn finish(
    store: &Store,
    run: &RescoreRun,
    now: DateTime<Utc>,
    mut progress: impl FnMut(usize),
) -> Result<RescoreSummary> {
    let mut done = run.done;
    let mut last = run.clone();
    while last.finished_at().is_none() {
        let Some(now_run) = rescore_page(store, Some(run.id), now).await? else {
            break;
        };
        progress(usize::try_from(now_run.done - done).unwrap_or(0));
        done = now_run.done;
        last = now_run;
    }
    Ok(RescoreSummary {
        scored: usize::try_from(last.done).unwrap_or(0),
        became_mql: usize::try_from(last.became_mql).unwrap_or(0),
        left_mql: usize::try_from(last.left_mql).unwrap_or(0),
    })
}

/// Rescores every lead of a product under the policy in force, here and now.
pub async fn rescore(
    store: &Store,
    product: &str,
    now: DateTime<Utc>,
    progress: impl FnMut(usize),
) -> Result<RescoreSummary> {
    let run = store.start_rescore(product, now).await?;
    finish(store, &run, now, progress).await
}

/// Rescores up to `limit` leads whose events arrived since they were last scored, and moves
/// those whose MQL status changed. Returns how many were rescored (0: none due).
pub async fn rescore_due(store: &Store, limit: i64, now: DateTime<Utc>) -> Result<usize> {
    let now = to_micros(now);
    let mut tx = store.begin().await?;
    let leads = tx.due_leads(limit).await?;
    let count = leads.len();
    if count == 0 {
        return Ok(0);
    }
    let mut by_product: BTreeMap<String, Vec<StoredLead>> = BTreeMap::new();
    for lead in leads {
        by_product
            .entry(lead.lead.product_line())
            .or_default()
            .push(lead);
    }
    // Each lead is scored and saved, which clears its flag.
    for (product, leads) in by_product {
        let active = store.active_policy(&product).await?;
        let ids: Vec<LeadId> = leads.iter().map(|l| l.id).collect();
        let mut events = tx.events_of(&ids).await?;
        let page: Vec<Scored> = leads
            .into_iter()
            .map(|lead| {
                let own = events.remove(&lead.id).unwrap_or_default();
                Scored::under(lead, &own, &active, now)
            })
            .collect();
        store_page(&mut tx, &page, &active, now).await?;
    }
    tx.commit().await?;
    Ok(count)
}

/// Ranges of a product's leads a backtest reads at once, each on its own connection: most
/// of a backtest's time is the database's work, and one connection works on one core.
const BACKTEST_RANGES: i64 = 2;

/// One backtest at a time in this process: each holds `BACKTEST_RANGES` of SQLite's read
/// connections for its length (a minute at a million leads), and two at once would leave
/// the dashboard's reads waiting. A second one waits for its turn.
static BACKTEST_TURN: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(1);

/// Replays every lead of the candidate's product under it and under the policy in force.
/// `capacity_per_week` asks for the threshold that fits sales capacity. The leads are read
/// in consecutive id ranges at once, each range in its own read transaction (started
/// together, so a lead stored meanwhile may be counted in one range and not another).
pub async fn backtest(
    store: &Store,
    candidate: &Policy,
    capacity_per_week: Option<f64>,
    now: DateTime<Utc>,
    progress: impl FnMut(usize) + Send,
) -> Result<BacktestReport> {
    // Never closed, so the turn always comes.
    let _turn = BACKTEST_TURN.acquire().await.ok();
    let active = store.active_policy(&candidate.product).await?;
    let span = store
        .begin_read()
        .await?
        .lead_span_of_product(&candidate.product)
        .await?;
    let mut whole = Backtest::new(&active.policy, candidate, now);
    let Some((first, last)) = span else {
        return Ok(whole.report(capacity_per_week));
    };
    // Consecutive ranges (after, through] covering first..=last.
    let width = (last.0 - first.0) / BACKTEST_RANGES + 1;
    let ranges = (0..BACKTEST_RANGES).map(|i| {
        let after = first.0 - 1 + i * width;
        (LeadId(after), LeadId((after + width).min(last.0)))
    });
    let progress = std::sync::Mutex::new(progress);
    let parts = futures_util::future::try_join_all(
        ranges.map(|range| backtest_range(store, &active.policy, candidate, range, now, &progress)),
    )
    .await?;
    for part in parts {
        whole.merge(part);
    }
    Ok(whole.report(capacity_per_week))
}

/// One range of a backtest, read as a stream in pages of a thousand.
async fn backtest_range<'p>(
    store: &Store,
    current: &'p Policy,
    candidate: &'p Policy,
    (mut after, through): (LeadId, LeadId),
    now: DateTime<Utc>,
    progress: &std::sync::Mutex<impl FnMut(usize)>,
) -> Result<Backtest<'p>> {
    let mut backtest = Backtest::new(current, candidate, now);
    let mut tx = store.begin_read().await?;
    loop {
        let count = tx
            .each_lead_of_product(
                &candidate.product,
                (after, through),
                1000,
                |lead, events| {
                    after = lead.id;
                    backtest.add(&History {
                        lead: &lead.lead,
                        events: &facts(&events),
                        confirmed: &lead.bant_confirmed,
                        junk: &lead.junk,
                        channel: lead.first_touch.channel,
                        source_class: lead.first_touch.source_class,
                        created_at: lead.created_at,
                    });
                },
            )
            .await?;
        if count == 0 {
            return Ok(backtest);
        }
        if let Ok(mut progress) = progress.lock() {
            progress(count);
        }
    }
}
