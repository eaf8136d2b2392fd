//! Recognising one person arriving twice: exact email or phone, or a similar name at the
//! same company (by name or email domain), with swapped first and last names, typos and
//! names in any script. Blocking keeps it far from comparing every pair.

use crate::mail_domain::is_free_mail;
use crate::normalize::{company_key, fold_loose, phone_e164};
use crate::source::named_enum;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

named_enum!(
    /// Where a merge of two people stands.
    MergeStatus, "merge status" {
        /// Likely the same person: waiting for someone to apply or reject it.
        Suggested => "suggested",
        /// Carried out: the second person's leads are the first's.
        Merged => "merged",
        /// Two different people, said by someone: not suggested again.
        Rejected => "rejected",
        /// Merged, then undone: not merged again by itself.
        Undone => "undone",
    }
);

/// At or above: the same person, merged without asking.
pub const AUTO_MERGE: f64 = 0.95;
/// At or above (and below `AUTO_MERGE`): suggested to a person.
pub const SUGGEST: f64 = 0.80;

/// What matching needs to know of a person.
#[derive(Debug, Clone, Default)]
pub struct PersonKeys {
    pub id: i64,
    /// The folded first and last names, email, phone and company key, one after the other
    /// in one allocation (`ends` marks where each stops; an absent one is empty). A million
    /// people's keys are held at once, so nothing derived from them is kept either.
    text: Box<str>,
    ends: [u32; 5],
    /// Whether the email's domain is an organisation's (not a free-mail provider's).
    work_domain: bool,
}

impl PersonKeys {
    pub fn new(
        id: i64,
        first_name: Option<&str>,
        last_name: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
        company: Option<&str>,
    ) -> Self {
        let email = email
            .map(|e| e.trim().to_lowercase())
            .filter(|e| e.contains('@'));
        let work_domain = email
            .as_deref()
            .and_then(|e| e.rsplit_once('@'))
            .is_some_and(|(_, d)| !is_free_mail(d));
        let phone = phone.and_then(|p| {
            phone_e164(p, None).ok().or_else(|| {
                let digits: String = p.chars().filter(char::is_ascii_digit).collect();
                (digits.len() >= 8).then_some(digits)
            })
        });
        let parts = [
            fold_loose(first_name.unwrap_or_default()),
            fold_loose(last_name.unwrap_or_default()),
            email.unwrap_or_default(),
            phone.unwrap_or_default(),
            company.map(company_key).unwrap_or_default(),
        ];
        let mut text = String::with_capacity(parts.iter().map(String::len).sum());
        let mut ends = [0; 5];
        for (end, part) in ends.iter_mut().zip(&parts) {
            text.push_str(part);
            *end = u32::try_from(text.len()).unwrap_or(u32::MAX);
        }
        Self {
            id,
            text: text.into_boxed_str(),
            ends,
            work_domain,
        }
    }

    fn part(&self, n: usize) -> &str {
        let start = if n == 0 { 0 } else { self.ends[n - 1] as usize };
        self.text
            .get(start..self.ends[n] as usize)
            .unwrap_or_default()
    }

    fn first(&self) -> &str {
        self.part(0)
    }

    fn last(&self) -> &str {
        self.part(1)
    }

    fn email(&self) -> Option<&str> {
        Some(self.part(2)).filter(|e| !e.is_empty())
    }

    fn phone(&self) -> Option<&str> {
        Some(self.part(3)).filter(|p| !p.is_empty())
    }

    fn company(&self) -> Option<&str> {
        Some(self.part(4)).filter(|c| !c.is_empty())
    }

    /// The name's letters without spaces, first name first or (`reversed`) last.
    fn tight(&self, reversed: bool) -> impl Iterator<Item = char> + '_ {
        let (x, y) = if reversed {
            (self.last(), self.first())
        } else {
            (self.first(), self.last())
        };
        x.chars().chain(y.chars()).filter(|c| *c != ' ')
    }

    /// "first last" (or, `reversed`, "last first"), `spaced` or not.
    fn joined(&self, reversed: bool, spaced: bool) -> String {
        let joined = if reversed {
            format!("{} {}", self.last(), self.first())
        } else {
            format!("{} {}", self.first(), self.last())
        };
        let joined = joined.trim();
        if spaced {
            joined.to_owned()
        } else {
            joined.replace(' ', "")
        }
    }

    /// The email's domain, unless it is a free-mail provider's.
    fn domain(&self) -> Option<&str> {
        let email = self.email().filter(|_| self.work_domain)?;
        email.rsplit_once('@').map(|(_, d)| d)
    }

    fn has_name(&self) -> bool {
        !self.first().is_empty() || !self.last().is_empty()
    }

    /// Both a first and a last name: a name alone can say "the same person" only then.
    fn has_full_name(&self) -> bool {
        !self.first().is_empty() && !self.last().is_empty()
    }

    /// The organisations this person is known at (`c:` company key, `d:` email domain).
    fn orgs(&self) -> impl Iterator<Item = String> + '_ {
        [
            self.company().map(|c| format!("c:{c}")),
            self.domain().map(|d| format!("d:{d}")),
        ]
        .into_iter()
        .flatten()
    }

    /// The name with its parts in one order, so swapped names count as one.
    fn name_key(&self) -> String {
        let (x, y) = if self.first() <= self.last() {
            (self.first(), self.last())
        } else {
            (self.last(), self.first())
        };
        format!("{x} {y}")
    }

    /// Keys of the blocks this person is compared within, hashed, each with the
    /// organisation it is a block of (to split it by name when it is too large).
    fn blocks(&self) -> Vec<(u64, Option<char>)> {
        let mut keys = Vec::new();
        if let Some(e) = self.email() {
            keys.push((hashed(&format!("e:{e}")), None));
        }
        if let Some(p) = self.phone() {
            keys.push((hashed(&format!("p:{p}")), None));
        }
        // Within an organisation, by the initial of either name (names may be swapped).
        for org in self.orgs() {
            for name in [self.first(), self.last()] {
                if let Some(initial) = name.chars().find(|c| c.is_alphanumeric()) {
                    keys.push((hashed(&format!("{org}|{initial}")), org.chars().next()));
                }
            }
        }
        keys
    }

    /// The finer keys an organisation's block (`kind` `c` company, `d` email domain) is
    /// split by when it is too large: the whole of either name part (a typo in the other
    /// part, or swapped parts, still meet).
    fn finer_blocks(&self, kind: char) -> Vec<u64> {
        let org = if kind == 'c' {
            self.company()
        } else {
            self.domain()
        };
        let org = format!("{kind}:{}", org.unwrap_or_default());
        [self.first(), self.last()]
            .into_iter()
            .filter(|part| !part.is_empty())
            .map(|part| hashed(&format!("{org}|={part}")))
            .collect()
    }
}

/// A key as a number: a million people's block keys are not held as text. Two keys that
/// hash alike only put more people in one block, who are still told apart by their fields.
fn hashed(key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    key.hash(&mut hasher);
    hasher.finish()
}

/// The most people one block may hold: larger ones (a company's switchboard phone, a name
/// thousands share at one company) are split by whole name parts, and skipped when still
/// too large, so matching stays near-linear in the people however the file is made.
pub const MAX_BLOCK: usize = 200;
/// The most matches kept for one person: past it, their remaining pairs are not compared.
pub const MAX_MATCHES_PER_PERSON: usize = 8;
/// More people than this with one name at one organisation are namesakes (a common name
/// at a large company, or a generated list): the name there says nothing of who is who.
pub const MAX_NAMESAKES: usize = 3;

/// Why two records are thought to be one person.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Match {
    pub a: i64,
    pub b: i64,
    /// 0 to 1.
    pub score: f64,
    pub reasons: Vec<String>,
}

/// How alike two names are, 0 to 1 (Jaro-Winkler). The same letters in any order or spacing
/// (names swapped, 王伟 written with or without a space) are 1. With both names given on both
/// sides, each must be alike on its own (the better of the two orders): a colleague whose
/// full name is merely close is not the same person. A name given in one field only is
/// compared whole.
pub fn name_similarity(a: &PersonKeys, b: &PersonKeys) -> f64 {
    let jw = strsim::jaro_winkler;
    if a.tight(false).next().is_some()
        && (a.tight(false).eq(b.tight(false))
            || a.tight(false).eq(b.tight(true))
            || a.tight(true).eq(b.tight(false)))
    {
        return 1.0;
    }
    if [a.first(), a.last(), b.first(), b.last()]
        .iter()
        .all(|s| !s.is_empty())
    {
        let straight = jw(a.first(), b.first()).min(jw(a.last(), b.last()));
        let swapped = jw(a.first(), b.last()).min(jw(a.last(), b.first()));
        return straight.max(swapped);
    }
    let (full, tight) = (a.joined(false, true), a.joined(false, false));
    [
        (&full, b.joined(false, true)),
        (&full, b.joined(true, true)),
        (&tight, b.joined(false, false)),
        (&tight, b.joined(true, false)),
    ]
    .iter()
    .map(|(x, y)| jw(x, y))
    .fold(0.0, f64::max)
}

/// Scores a pair; `None` when they are not the same person by any rule.
pub fn compare(a: &PersonKeys, b: &PersonKeys) -> Option<Match> {
    compare_among(a, b, false)
}

/// `compare`, told whether the pair's name is one many people share at their organisation
/// (then the name there is no evidence).
fn compare_among(a: &PersonKeys, b: &PersonKeys, namesakes: bool) -> Option<Match> {
    let mut reasons = Vec::new();
    let names = (a.has_name() && b.has_name()).then(|| name_similarity(a, b));
    let same_org = matches!((a.company(), b.company()), (Some(x), Some(y)) if x == y)
        || matches!((a.domain(), b.domain()), (Some(x), Some(y)) if x == y);
    let other_org = matches!((a.company(), b.company()), (Some(x), Some(y)) if x != y);
    let mut score: f64 = 0.0;
    if a.email().is_some() && a.email() == b.email() {
        reasons.push("same email".to_owned());
        score = 1.0;
    }
    if a.phone().is_some() && a.phone() == b.phone() {
        reasons.push("same phone".to_owned());
        let with_name = names.is_some_and(|n| n >= 0.85);
        score = score.max(if with_name { 0.97 } else { 0.85 });
    }
    if let Some(n) = names.filter(|_| !namesakes) {
        if same_org && !other_org && n >= 0.88 {
            reasons.push(format!("name {:.0}% alike at the same company", n * 100.0));
            // An identical full name at one company is one person; a near one, or a name
            // given in one part only (a first name), likely: a person decides.
            let by_name = 0.80 + (n - 0.88) * 1.2;
            score = score.max(by_name.min(0.94));
            if n >= 0.999 && a.has_full_name() && b.has_full_name() {
                score = score.max(0.97);
            }
        }
    }
    (score >= SUGGEST).then(|| Match {
        a: a.id.min(b.id),
        b: a.id.max(b.id),
        score: (score * 1000.0).round() / 1000.0,
        reasons,
    })
}

/// What matching found, and what it left uncompared to stay bounded.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Matching {
    /// Each likely pair once, ordered by ids.
    pub matches: Vec<Match>,
    /// Blocks larger than `MAX_BLOCK` even when split by whole name parts: their people
    /// were compared through their other blocks only.
    pub blocks_skipped: usize,
    /// People who reached `MAX_MATCHES_PER_PERSON`: their remaining pairs were not compared.
    pub people_capped: usize,
}

/// Every likely pair among `people`.
pub fn find_matches(people: &[PersonKeys]) -> Matching {
    matches_where(people, |_, _| true)
}

/// The likely pairs among `people` that include one of the `arrived` ids: people just
/// captured, matched against those already known (pairs of known people are not compared).
pub fn find_matches_of(people: &[PersonKeys], arrived: &HashSet<i64>) -> Matching {
    matches_where(people, |a, b| arrived.contains(&a) || arrived.contains(&b))
}

/// Blocks of at most `MAX_BLOCK` people (by index), and how many were skipped.
fn bounded_blocks(people: &[PersonKeys]) -> (Vec<Vec<usize>>, usize) {
    // (key, person, organisation) sorted by key: each run of one key is a block.
    let mut entries: Vec<(u64, u32, Option<char>)> = Vec::new();
    for (i, p) in people.iter().enumerate() {
        for (key, org) in p.blocks() {
            entries.push((key, i as u32, org));
        }
    }
    entries.sort_unstable();
    entries.dedup_by_key(|(key, i, _)| (*key, *i)); // one person reaching a block twice
    let mut kept = Vec::new();
    let mut skipped = 0;
    let mut finer: Vec<(u64, u32)> = Vec::new();
    for block in entries.chunk_by(|x, y| x.0 == y.0) {
        if block.len() < 2 {
            continue; // one person: nothing to compare (most email and phone blocks)
        }
        if block.len() <= MAX_BLOCK {
            kept.push(block.iter().map(|(_, i, _)| *i as usize).collect());
        } else if block.iter().any(|(_, _, org)| org.is_some()) {
            for (_, i, org) in block {
                let Some(kind) = org else { continue };
                for key in people[*i as usize].finer_blocks(*kind) {
                    finer.push((key, *i));
                }
            }
        } else {
            skipped += 1;
        }
    }
    drop(entries);
    finer.sort_unstable();
    finer.dedup(); // the same person may reach one finer block from both initials
    for block in finer.chunk_by(|x, y| x.0 == y.0) {
        if block.len() < 2 {
            continue;
        }
        if block.len() <= MAX_BLOCK {
            kept.push(block.iter().map(|(_, i)| *i as usize).collect());
        } else {
            skipped += 1;
        }
    }
    // A fixed order, so the same people give the same matches (and the same caps).
    kept.sort_unstable();
    (kept, skipped)
}

fn matches_where(people: &[PersonKeys], wanted: impl Fn(i64, i64) -> bool) -> Matching {
    let (blocks, blocks_skipped) = bounded_blocks(people);
    // Each person's blocks, by index: a pair is compared in the first block both are in,
    // so no set of compared pairs has to be kept.
    let mut member_of: Vec<Vec<u32>> = vec![Vec::new(); people.len()];
    for (b, members) in blocks.iter().enumerate() {
        for &i in members {
            member_of[i].push(b as u32);
        }
    }
    let first_shared = |i: usize, j: usize| -> Option<u32> {
        let (x, y) = (&member_of[i], &member_of[j]);
        let (mut p, mut q) = (0, 0);
        while p < x.len() && q < y.len() {
            match x[p].cmp(&y[q]) {
                std::cmp::Ordering::Equal => return Some(x[p]),
                std::cmp::Ordering::Less => p += 1,
                std::cmp::Ordering::Greater => q += 1,
            }
        }
        None
    };
    // Whose name is shared by a crowd at one of their organisations.
    let names: Vec<u64> = people.iter().map(|p| hashed(&p.name_key())).collect();
    let mut namesakes: HashMap<(u64, u64), usize> = HashMap::new();
    for (p, name) in people.iter().zip(&names).filter(|(p, _)| p.has_name()) {
        for org in p.orgs() {
            *namesakes.entry((hashed(&org), *name)).or_default() += 1;
        }
    }
    let crowded: Vec<bool> = people
        .iter()
        .zip(&names)
        .map(|(p, name)| {
            p.orgs().any(|org| {
                namesakes
                    .get(&(hashed(&org), *name))
                    .is_some_and(|n| *n > MAX_NAMESAKES)
            })
        })
        .collect();
    drop(namesakes);
    let common_name = |i: usize, j: usize| names[i] == names[j] && (crowded[i] || crowded[j]);
    let mut found = vec![0usize; people.len()];
    let mut matches = Vec::new();
    for (b, members) in blocks.iter().enumerate() {
        for (x, &i) in members.iter().enumerate() {
            for &j in &members[x + 1..] {
                if found[i] >= MAX_MATCHES_PER_PERSON || found[j] >= MAX_MATCHES_PER_PERSON {
                    continue;
                }
                if !wanted(people[i].id, people[j].id) || first_shared(i, j) != Some(b as u32) {
                    continue;
                }
                if let Some(m) = compare_among(&people[i], &people[j], common_name(i, j)) {
                    found[i] += 1;
                    found[j] += 1;
                    matches.push(m);
                }
            }
        }
    }
    matches.sort_by_key(|m| (m.a, m.b));
    Matching {
        matches,
        blocks_skipped,
        people_capped: found
            .iter()
            .filter(|n| **n >= MAX_MATCHES_PER_PERSON)
            .count(),
    }
}

/// Groups auto-merge pairs into clusters (union-find); each cluster is kept as its lowest
/// id. Returns (kept, merged) pairs.
pub fn merge_plan(matches: &[Match]) -> Vec<(i64, i64)> {
    let mut parent: HashMap<i64, i64> = HashMap::new();
    fn root(parent: &mut HashMap<i64, i64>, x: i64) -> i64 {
        let p = *parent.get(&x).unwrap_or(&x);
        if p == x {
            return x;
        }
        let r = root(parent, p);
        parent.insert(x, r);
        r
    }
    for m in matches.iter().filter(|m| m.score >= AUTO_MERGE) {
        let (ra, rb) = (root(&mut parent, m.a), root(&mut parent, m.b));
        if ra != rb {
            parent.insert(ra.max(rb), ra.min(rb));
        }
    }
    let ids: Vec<i64> = parent.keys().copied().collect();
    let mut plan: Vec<(i64, i64)> = ids
        .into_iter()
        .filter_map(|id| {
            let r = root(&mut parent, id);
            (r != id).then_some((r, id))
        })
        .collect();
    plan.sort_unstable();
    plan
}

/// How well the matches at or above `threshold` find the known pairs.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Accuracy {
    pub pairs: usize,
    pub precision: f64,
    pub recall: f64,
}

pub fn accuracy(matches: &[Match], truth: &HashSet<(i64, i64)>, threshold: f64) -> Accuracy {
    let found: HashSet<(i64, i64)> = matches
        .iter()
        .filter(|m| m.score >= threshold)
        .map(|m| (m.a, m.b))
        .collect();
    let hits = found.intersection(truth).count() as f64;
    Accuracy {
        pairs: found.len(),
        precision: hits / found.len().max(1) as f64,
        recall: hits / truth.len().max(1) as f64,
    }
}

/// One generated person as typed (empty where unknown), for matching here and for writing
/// out to other tools.
#[derive(Debug, Clone, Serialize)]
pub struct PersonRecord {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub company: String,
}

impl PersonRecord {
    pub fn keys(&self) -> PersonKeys {
        let known = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        PersonKeys::new(
            self.id,
            Some(&self.first_name),
            Some(&self.last_name),
            known(&self.email).as_deref(),
            None,
            known(&self.company).as_deref(),
        )
    }
}

fn record(id: i64, first: &str, last: &str, email: &str, company: &str) -> PersonRecord {
    PersonRecord {
        id,
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        email: email.to_owned(),
        company: company.to_owned(),
    }
}

/// A seeded population with known duplicate pairs, for measuring precision and recall: typos,
/// swapped names, other emails of one person, and namesakes at other companies (not
/// duplicates).
pub fn population(n: usize, seed: u64) -> (Vec<PersonRecord>, HashSet<(i64, i64)>) {
    const FIRST: [&str; 16] = [
        "Ana", "Minh Anh", "Wei", "Ali", "Sara", "Thao", "Lukas", "Maria", "Jun", "Fatemeh",
        "John", "Hung", "Priya", "Omar", "Elena", "Kenji",
    ];
    const LAST: [&str; 16] = [
        "Silva",
        "Nguyen",
        "Wang",
        "Rezaei",
        "Muller",
        "Tran",
        "Smith",
        "Garcia",
        "Li",
        "Kim",
        "Mohammadi",
        "Le",
        "Patel",
        "Haddad",
        "Rossi",
        "Sato",
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut people = Vec::new();
    let mut truth = HashSet::new();
    let mut id = 0;
    for i in 0..n {
        let first = FIRST[rng.gen_range(0..16)];
        let last = format!(
            "{}{}",
            LAST[rng.gen_range(0..16)],
            ["", "son", "ez", "ova", "i", "ke"][i % 6]
        );
        let company = format!("Company {}", i / 3);
        id += 1;
        let original = id;
        people.push(record(
            id,
            first,
            &last,
            &format!("p{i}@company{}.com", i / 3),
            &company,
        ));
        let kind = rng.gen_range(0..10);
        let dup = match kind {
            0 => Some(record(
                id + 1,
                first,
                &last,
                &format!("p{i}@gmail.com"),
                &company,
            )),
            1 => Some(record(id + 1, &last, first, "", &company)),
            2 => {
                let mut chars: Vec<char> = last.chars().collect();
                if chars.len() >= 4 {
                    let at = rng.gen_range(1..chars.len() - 2);
                    chars.swap(at, at + 1);
                } else {
                    chars.push('h');
                }
                let typo: String = chars.into_iter().collect();
                Some(record(id + 1, first, &typo, "", &company))
            }
            3 => Some(record(
                id + 1,
                "",
                "",
                &format!("P{i}@Company{}.com", i / 3),
                "",
            )),
            // A namesake elsewhere: not a duplicate.
            4 => {
                people.push(record(id + 1, first, &last, "", &format!("Other {i}")));
                id += 1;
                None
            }
            _ => None,
        };
        if let Some(dup) = dup {
            id += 1;
            truth.insert((original, dup.id));
            people.push(dup);
        }
    }
    (people, truth)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(id: i64, first: &str, last: &str, email: &str, company: &str) -> PersonKeys {
        record(id, first, last, email, company).keys()
    }

    #[test]
    fn each_kind_of_duplicate_is_recognised() {
        let base = person(
            1,
            "Minh Anh",
            "Nguyễn",
            "minh@saigonexpress.vn",
            "Saigon Express JSC",
        );
        // Another email, same name and company: the same person.
        let other_email = person(
            2,
            "Minh Anh",
            "Nguyen",
            "minh.anh@gmail.com",
            "Công ty TNHH Saigon Express",
        );
        assert!(compare(&base, &other_email).unwrap().score >= AUTO_MERGE);
        // Swapped names.
        let swapped = person(3, "Nguyễn", "Minh Anh", "", "Saigon Express");
        assert!(compare(&base, &swapped).unwrap().score >= AUTO_MERGE);
        // A typo: suggested, not merged.
        let typo = person(4, "Minh Anh", "Nguyen", "", "Saigon Express");
        let typo2 = person(5, "Mihn Anh", "Nguyen", "", "Saigon Express");
        let m = compare(&typo, &typo2).unwrap();
        assert!((SUGGEST..AUTO_MERGE).contains(&m.score), "{m:?}");
        // The same email in another case: always the same person.
        let case = person(6, "", "", "MINH@saigonexpress.vn", "");
        assert_eq!(compare(&base, &case).unwrap().score, 1.0);
        // The same name at another company is someone else.
        let namesake = person(7, "Minh Anh", "Nguyễn", "minh@vinasoft.vn", "Vinasoft");
        assert!(compare(&base, &namesake).is_none());
        // Chinese names with and without a space; Persian letter variants.
        let wei = person(8, "伟", "王", "", "天河机械有限公司");
        let wei2 = person(9, "王伟", "", "", "天河机械");
        assert!(compare(&wei, &wei2).unwrap().score >= SUGGEST);
        let ali = person(10, "علي", "رضايي", "", "پارسیان");
        let ali2 = person(11, "علی", "رضایی", "", "شرکت پارسیان");
        assert!(compare(&ali, &ali2).unwrap().score >= AUTO_MERGE);
    }

    #[test]
    fn a_first_name_alone_is_never_an_automatic_merge() {
        let ana = person(1, "Ana", "", "ana@acme.io", "Acme");
        let ana2 = person(2, "Ana", "", "a.x@acme.io", "Acme");
        let m = compare(&ana, &ana2).unwrap();
        assert!(m.score < AUTO_MERGE, "{m:?}");
    }

    /// A hostile file: thousands of people sharing 256 names at five companies. Matching
    /// keeps each person's matches bounded, merges no namesakes, and still finds a real
    /// duplicate (a typo) hidden among them.
    #[test]
    fn crowds_of_namesakes_at_one_company_stay_bounded_and_unmerged() {
        const FIRST: [&str; 16] = [
            "Ana", "Bao", "Chen", "Dara", "Eli", "Farid", "Gia", "Hana", "Ivo", "Jana", "Kai",
            "Lam", "Mai", "Nika", "Omid", "Pia",
        ];
        const LAST: [&str; 16] = [
            "Silva", "Tran", "Wang", "Rezaei", "Muller", "Kim", "Smith", "Garcia", "Le", "Patel",
            "Haddad", "Rossi", "Sato", "Novak", "Khan", "Berg",
        ];
        let n = 20_000;
        let mut people: Vec<PersonKeys> = (0..n)
            .map(|i| {
                let company = i % 5;
                person(
                    i as i64 + 1,
                    FIRST[(i / 5) % 16],
                    LAST[(i / 80) % 16],
                    &format!("p{i}@company{company}.com"),
                    &format!("Company {company}"),
                )
            })
            .collect();
        // One real duplicate with a unique name, typed twice with a typo.
        people.push(person(900_001, "Zsofia", "Kowalczyk", "", "Company 1"));
        people.push(person(900_002, "Zsofia", "Kowalcyzk", "", "Company 1"));
        let found = find_matches(&people);
        assert!(
            found.matches.len() <= people.len() * MAX_MATCHES_PER_PERSON / 2,
            "{} matches",
            found.matches.len()
        );
        assert!(
            found.matches.iter().all(|m| m.score < AUTO_MERGE),
            "no namesake is merged"
        );
        assert!(found
            .matches
            .iter()
            .any(|m| (m.a, m.b) == (900_001, 900_002)));
        assert!(found.blocks_skipped > 0, "{found:?}");
    }

    #[test]
    fn merge_plans_keep_the_oldest_of_each_cluster() {
        let m = |a, b, score| Match {
            a,
            b,
            score,
            reasons: vec![],
        };
        let plan = merge_plan(&[m(3, 7, 0.97), m(7, 9, 1.0), m(2, 4, 0.9)]);
        assert_eq!(plan, [(3, 7), (3, 9)]);
    }

    #[test]
    fn precision_and_recall_on_a_generated_set() {
        let (people, truth) = population(3000, 11);
        let people: Vec<PersonKeys> = people.iter().map(PersonRecord::keys).collect();
        let matches = find_matches(&people).matches;
        let measure = |threshold: f64| {
            let a = accuracy(&matches, &truth, threshold);
            (a.precision, a.recall)
        };
        let (auto_precision, auto_recall) = measure(AUTO_MERGE);
        let (suggest_precision, suggest_recall) = measure(SUGGEST);
        println!("auto: precision {auto_precision:.3} recall {auto_recall:.3}; suggest: precision {suggest_precision:.3} recall {suggest_recall:.3}");
        assert!(
            auto_precision >= 0.99,
            "auto merges must almost never be wrong: {auto_precision}"
        );
        assert!(suggest_precision >= 0.9, "{suggest_precision}");
        assert!(suggest_recall >= 0.95, "{suggest_recall}");
        assert!(auto_recall >= 0.6, "{auto_recall}");
    }
}
