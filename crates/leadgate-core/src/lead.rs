//! The lead: a person's (and maybe a company's) interest in buying, with the details the
//! seeds list, a stage and an owner. Changes arrive as a validated `LeadPatch`.

use crate::source::json_kind;
use crate::stage::Stage;
use crate::validation::{FieldError, FieldErrors};
use crate::values::{Email, ExternalId, Phone, Text};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What is known about a lead. Person fields describe who; company fields their employer;
/// the rest describe what they want.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lead {
    pub external_id: Option<ExternalId>,
    pub stage: Stage,
    pub owner: Option<Text>,
    pub first_name: Option<Text>,
    pub last_name: Option<Text>,
    pub email: Option<Email>,
    pub phone: Option<Phone>,
    pub job_title: Option<Text>,
    pub country: Option<Text>,
    pub company: Option<Text>,
    pub industry: Option<Text>,
    /// Number of employees.
    pub company_size: Option<i64>,
    pub website: Option<Text>,
    pub product_need: Option<Text>,
    pub budget: Option<f64>,
    pub purchase_timeframe: Option<Text>,
    pub current_solution: Option<Text>,
    pub pains: Option<Text>,
    pub custom: Map<String, Value>,
}

impl Default for Lead {
    fn default() -> Self {
        Self {
            external_id: None,
            stage: Stage::Lead,
            owner: None,
            first_name: None,
            last_name: None,
            email: None,
            phone: None,
            job_title: None,
            country: None,
            company: None,
            industry: None,
            company_size: None,
            website: None,
            product_need: None,
            budget: None,
            purchase_timeframe: None,
            current_solution: None,
            pains: None,
            custom: Map::new(),
        }
    }
}

/// Every field a client may set, by its JSON name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LeadField {
    ExternalId,
    Stage,
    Owner,
    FirstName,
    LastName,
    Email,
    Phone,
    JobTitle,
    Country,
    Company,
    Industry,
    CompanySize,
    Website,
    ProductNeed,
    Budget,
    PurchaseTimeframe,
    CurrentSolution,
    Pains,
    Custom,
}

impl LeadField {
    pub const ALL: [LeadField; 19] = [
        LeadField::ExternalId,
        LeadField::Stage,
        LeadField::Owner,
        LeadField::FirstName,
        LeadField::LastName,
        LeadField::Email,
        LeadField::Phone,
        LeadField::JobTitle,
        LeadField::Country,
        LeadField::Company,
        LeadField::Industry,
        LeadField::CompanySize,
        LeadField::Website,
        LeadField::ProductNeed,
        LeadField::Budget,
        LeadField::PurchaseTimeframe,
        LeadField::CurrentSolution,
        LeadField::Pains,
        LeadField::Custom,
    ];

    /// Keys a stored lead shows but no client may set.
    pub const READ_ONLY: [&'static str; 8] = [
        "id",
        "created_at",
        "updated_at",
        "first_touch",
        "last_touch",
        "person_id",
        "company_id",
        "company_domain",
    ];

    pub fn name(self) -> &'static str {
        match self {
            LeadField::ExternalId => "external_id",
            LeadField::Stage => "stage",
            LeadField::Owner => "owner",
            LeadField::FirstName => "first_name",
            LeadField::LastName => "last_name",
            LeadField::Email => "email",
            LeadField::Phone => "phone",
            LeadField::JobTitle => "job_title",
            LeadField::Country => "country",
            LeadField::Company => "company",
            LeadField::Industry => "industry",
            LeadField::CompanySize => "company_size",
            LeadField::Website => "website",
            LeadField::ProductNeed => "product_need",
            LeadField::Budget => "budget",
            LeadField::PurchaseTimeframe => "purchase_timeframe",
            LeadField::CurrentSolution => "current_solution",
            LeadField::Pains => "pains",
            LeadField::Custom => "custom",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }

    /// Longest text a text field accepts, in characters.
    pub fn text_limit(self) -> usize {
        match self {
            LeadField::FirstName
            | LeadField::LastName
            | LeadField::Country
            | LeadField::Industry => 100,
            LeadField::Website => 500,
            LeadField::ProductNeed | LeadField::CurrentSolution => 2000,
            LeadField::Pains => 4000,
            _ => 200,
        }
    }
}

/// The largest `custom` object, serialised, so one lead cannot swallow the store.
pub const CUSTOM_MAX_BYTES: usize = 16 * 1024;
/// Longest key of `custom`, in characters.
pub const CUSTOM_KEY_MAX: usize = 100;
/// Employees a company may have.
pub const COMPANY_SIZE: std::ops::RangeInclusive<i64> = 1..=10_000_000;
/// The largest budget, an amount no lead reaches but that keeps sums finite.
pub const BUDGET_MAX: f64 = 1e15;

/// One validated assignment.
#[derive(Debug, Clone, PartialEq)]
enum Setting {
    Text(LeadField, Option<Text>),
    ExternalId(Option<ExternalId>),
    Stage(Stage),
    Email(Option<Email>),
    Phone(Option<Phone>),
    CompanySize(Option<i64>),
    Budget(Option<f64>),
    /// Merged key by key; a null value removes the key.
    Custom(Map<String, Value>),
}

/// A field whose value a patch changed, with its JSON value before and after.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub old: Value,
    pub new: Value,
}

/// Whether a patch creates a lead, edits one, or carries history from another system: the
/// stage is set only on creation (prospect or lead) or on import (any stage, as recorded there).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchMode {
    Create,
    Update,
    Import,
}

/// A validated set of changes to a lead.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LeadPatch {
    settings: Vec<Setting>,
}

impl LeadPatch {
    /// Validates a flat JSON object of lead fields, reporting every bad field at once.
    pub fn parse(input: &Map<String, Value>, mode: PatchMode) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut settings = Vec::new();
        for (key, value) in input {
            let Some(field) = LeadField::from_name(key) else {
                let reason = if LeadField::READ_ONLY.contains(&key.as_str()) {
                    "is read-only".to_owned()
                } else {
                    "is not a lead field (put your own fields under \"custom\")".to_owned()
                };
                errors.push(FieldError::new(key.clone(), reason));
                continue;
            };
            match parse_setting(field, value, mode) {
                Ok(setting) => settings.push(setting),
                Err(reason) => errors.push(FieldError::new(key.clone(), reason)),
            }
        }
        errors.into_result(Self { settings })
    }

    pub fn is_empty(&self) -> bool {
        self.settings.is_empty()
    }

    /// Whether the patch sets `field` (to a value or to nothing).
    pub fn touches(&self, field: LeadField) -> bool {
        self.settings.iter().any(|s| s.field() == field)
    }

    /// The owner the patch names: `Some(None)` clears it, `None` leaves it alone.
    pub fn owner(&self) -> Option<Option<&str>> {
        self.settings.iter().find_map(|s| match s {
            Setting::Text(LeadField::Owner, owner) => Some(owner.as_ref().map(Text::as_str)),
            _ => None,
        })
    }

    /// What a submission nobody vouches for (an anonymous web form) may do to a lead that
    /// is already known: fill the fields it lacks. The patch that fills them, and the values
    /// that differ from what the lead holds (by field name; custom keys under `custom`),
    /// which are kept for a person to accept instead of written over what people entered.
    pub fn filling(&self, lead: &Lead) -> (LeadPatch, Map<String, Value>) {
        let mut fills = Vec::new();
        let mut held = Map::new();
        for setting in &self.settings {
            let field = setting.field();
            if let Setting::Custom(map) = setting {
                let mut fill = Map::new();
                let mut differing = Map::new();
                for (key, value) in map {
                    match lead.custom.get(key) {
                        None if !value.is_null() => {
                            fill.insert(key.clone(), value.clone());
                        }
                        Some(known) if known != value => {
                            differing.insert(key.clone(), value.clone());
                        }
                        _ => {}
                    }
                }
                if !fill.is_empty() {
                    fills.push(Setting::Custom(fill));
                }
                if !differing.is_empty() {
                    held.insert(field.name().to_owned(), Value::Object(differing));
                }
                continue;
            }
            let mut probe = lead.clone();
            let one = LeadPatch {
                settings: vec![setting.clone()],
            };
            if one.apply(&mut probe).is_err() {
                continue;
            }
            let (known, offered) = (lead.get(field), probe.get(field));
            if known == offered {
                continue;
            }
            if known.is_null() {
                fills.push(setting.clone());
            } else {
                held.insert(field.name().to_owned(), offered);
            }
        }
        (LeadPatch { settings: fills }, held)
    }

    pub fn email(&self) -> Option<&Email> {
        self.settings.iter().find_map(|s| match s {
            Setting::Email(e) => e.as_ref(),
            _ => None,
        })
    }

    pub fn external_id(&self) -> Option<&ExternalId> {
        self.settings.iter().find_map(|s| match s {
            Setting::ExternalId(e) => e.as_ref(),
            _ => None,
        })
    }

    /// Applies the patch, tidies the fields it set (phones in E.164, country names, see
    /// [`Lead::tidy`]) and returns what actually changed (setting a field to its current
    /// value is not a change). An owner change is reported too; callers record it as an
    /// assignment rather than an edit.
    pub fn apply(&self, lead: &mut Lead) -> Result<Vec<FieldChange>, FieldError> {
        let before = lead.clone();
        for setting in &self.settings {
            match setting.clone() {
                Setting::Text(f, v) => *lead.text_slot(f) = v,
                Setting::ExternalId(v) => lead.external_id = v,
                Setting::Stage(v) => lead.stage = v,
                Setting::Email(v) => lead.email = v,
                Setting::Phone(v) => lead.phone = v,
                Setting::CompanySize(v) => lead.company_size = v,
                Setting::Budget(v) => lead.budget = v,
                Setting::Custom(map) => {
                    for (k, v) in map {
                        if v.is_null() {
                            lead.custom.remove(&k);
                        } else {
                            lead.custom.insert(k, v);
                        }
                    }
                    let size = Value::Object(lead.custom.clone()).to_string().len();
                    if size > CUSTOM_MAX_BYTES {
                        return Err(FieldError::new(
                            "custom",
                            format!(
                                "would be {size} bytes; at most {CUSTOM_MAX_BYTES} are allowed"
                            ),
                        ));
                    }
                }
            }
        }
        lead.tidy(|field| self.touches(field));
        let mut changes: Vec<FieldChange> = Vec::new();
        for setting in &self.settings {
            let field = setting.field();
            let (old, new) = (before.get(field), lead.get(field));
            if old != new && !changes.iter().any(|c| c.field == field.name()) {
                changes.push(FieldChange {
                    field: field.name(),
                    old,
                    new,
                });
            }
        }
        Ok(changes)
    }
}

impl Setting {
    fn field(&self) -> LeadField {
        match self {
            Setting::Text(f, _) => *f,
            Setting::ExternalId(_) => LeadField::ExternalId,
            Setting::Stage(_) => LeadField::Stage,
            Setting::Email(_) => LeadField::Email,
            Setting::Phone(_) => LeadField::Phone,
            Setting::CompanySize(_) => LeadField::CompanySize,
            Setting::Budget(_) => LeadField::Budget,
            Setting::Custom(_) => LeadField::Custom,
        }
    }
}

fn parse_setting(field: LeadField, value: &Value, mode: PatchMode) -> Result<Setting, String> {
    let text = |value: &Value| -> Result<Option<String>, String> {
        match value {
            Value::Null => Ok(None),
            Value::String(s) if s.trim().is_empty() => Ok(None),
            Value::String(s) => Ok(Some(s.clone())),
            other => Err(format!("must be a string, not {}", json_kind(other))),
        }
    };
    let map_invalid = |e: crate::values::InvalidValue| e.0;
    Ok(match field {
        LeadField::Stage => {
            if mode == PatchMode::Update {
                return Err("is changed through the lifecycle, not by editing the lead".into());
            }
            let raw = text(value)?.ok_or("must not be empty")?;
            let stage: Stage = raw
                .parse()
                .map_err(|e: crate::stage::UnknownStage| e.to_string())?;
            if mode == PatchMode::Create && !stage.is_entry() {
                return Err(format!(
                    "a new lead starts as prospect or lead, not {stage}; later stages are reached by qualification"
                ));
            }
            Setting::Stage(stage)
        }
        LeadField::ExternalId => Setting::ExternalId(
            text(value)?
                .map(|s| ExternalId::parse(&s))
                .transpose()
                .map_err(map_invalid)?,
        ),
        LeadField::Email => Setting::Email(
            text(value)?
                .map(|s| Email::parse(&s))
                .transpose()
                .map_err(map_invalid)?,
        ),
        LeadField::Phone => Setting::Phone(
            text(value)?
                .map(|s| Phone::parse(&s))
                .transpose()
                .map_err(map_invalid)?,
        ),
        LeadField::CompanySize => Setting::CompanySize(match value {
            Value::Null => None,
            // 120.0 is a whole number to JSON (and to the API's description) too.
            Value::Number(n) => match n.as_i64().or_else(|| {
                n.as_f64()
                    .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                    .map(|f| f as i64)
            }) {
                Some(n) if COMPANY_SIZE.contains(&n) => Some(n),
                _ => {
                    return Err(format!(
                        "must be a whole number of employees from {} to {}",
                        COMPANY_SIZE.start(),
                        COMPANY_SIZE.end()
                    ))
                }
            },
            other => {
                return Err(format!(
                    "must be a number of employees, not {}",
                    json_kind(other)
                ))
            }
        }),
        LeadField::Budget => Setting::Budget(match value {
            Value::Null => None,
            Value::Number(n) => match n.as_f64() {
                Some(b) if b.is_finite() && (0.0..=BUDGET_MAX).contains(&b) => Some(b),
                _ => return Err(format!("must be an amount from 0 to {BUDGET_MAX:e}")),
            },
            other => return Err(format!("must be a number, not {}", json_kind(other))),
        }),
        LeadField::Custom => match value {
            Value::Object(map) => {
                if let Err(e) = crate::validation::refuse_nul(value, "custom") {
                    return Err(format!("{} ({})", e.reason, e.field));
                }
                if let Some(key) = map
                    .keys()
                    .find(|k| k.is_empty() || k.chars().count() > CUSTOM_KEY_MAX)
                {
                    return Err(format!(
                        "has a key of {} characters; keys have 1 to {CUSTOM_KEY_MAX}",
                        key.chars().count()
                    ));
                }
                Setting::Custom(map.clone())
            }
            other => return Err(format!("must be an object, not {}", json_kind(other))),
        },
        text_field => Setting::Text(
            text_field,
            text(value)?
                .map(|s| Text::parse(&s, text_field.text_limit()))
                .transpose()
                .map_err(map_invalid)?,
        ),
    })
}

impl Lead {
    /// The texts that name this lead's person: names, email, phone, external id, and the
    /// company's name and website when the company is theirs alone. An erasure looks for
    /// them in free text that may quote them.
    pub fn identifying_texts(&self, own_company: bool) -> Vec<String> {
        let company = [&self.company, &self.website].map(|t| t.as_ref().filter(|_| own_company));
        [self.first_name.as_ref(), self.last_name.as_ref()]
            .into_iter()
            .chain(company)
            .flatten()
            .map(|t| t.as_str().to_owned())
            .chain(self.email.as_ref().map(|e| e.as_str().to_owned()))
            .chain(self.phone.as_ref().map(|p| p.as_str().to_owned()))
            .chain(self.external_id.as_ref().map(|x| x.as_str().to_owned()))
            .collect()
    }

    /// The JSON value of one field, as the API shows it.
    pub fn get(&self, field: LeadField) -> Value {
        fn opt<T: Serialize>(v: &Option<T>) -> Value {
            serde_json::to_value(v).unwrap_or(Value::Null)
        }
        match field {
            LeadField::ExternalId => opt(&self.external_id),
            LeadField::Stage => Value::String(self.stage.as_str().to_owned()),
            LeadField::Email => opt(&self.email),
            LeadField::Phone => opt(&self.phone),
            LeadField::CompanySize => opt(&self.company_size),
            LeadField::Budget => opt(&self.budget),
            LeadField::Custom => Value::Object(self.custom.clone()),
            LeadField::Owner => opt(&self.owner),
            text_field => opt(self.text(text_field)),
        }
    }

    fn text(&self, field: LeadField) -> &Option<Text> {
        match field {
            LeadField::Owner => &self.owner,
            LeadField::FirstName => &self.first_name,
            LeadField::LastName => &self.last_name,
            LeadField::JobTitle => &self.job_title,
            LeadField::Country => &self.country,
            LeadField::Company => &self.company,
            LeadField::Industry => &self.industry,
            LeadField::Website => &self.website,
            LeadField::ProductNeed => &self.product_need,
            LeadField::PurchaseTimeframe => &self.purchase_timeframe,
            LeadField::CurrentSolution => &self.current_solution,
            _ => &self.pains,
        }
    }

    fn text_slot(&mut self, field: LeadField) -> &mut Option<Text> {
        match field {
            LeadField::Owner => &mut self.owner,
            LeadField::FirstName => &mut self.first_name,
            LeadField::LastName => &mut self.last_name,
            LeadField::JobTitle => &mut self.job_title,
            LeadField::Country => &mut self.country,
            LeadField::Company => &mut self.company,
            LeadField::Industry => &mut self.industry,
            LeadField::Website => &mut self.website,
            LeadField::ProductNeed => &mut self.product_need,
            LeadField::PurchaseTimeframe => &mut self.purchase_timeframe,
            LeadField::CurrentSolution => &mut self.current_solution,
            _ => &mut self.pains,
        }
    }

    /// A text-like field's value, borrowed (None for numbers, custom, and missing values).
    pub fn text_value(&self, field: LeadField) -> Option<&str> {
        match field {
            LeadField::ExternalId => self.external_id.as_ref().map(ExternalId::as_str),
            LeadField::Stage => Some(self.stage.as_str()),
            LeadField::Email => self.email.as_ref().map(Email::as_str),
            LeadField::Phone => self.phone.as_ref().map(Phone::as_str),
            LeadField::CompanySize | LeadField::Budget | LeadField::Custom => None,
            text => self.text(text).as_ref().map(Text::as_str),
        }
    }

    /// A number field's value (company_size, budget).
    pub fn number_value(&self, field: LeadField) -> Option<f64> {
        match field {
            LeadField::CompanySize => self.company_size.map(|n| n as f64),
            LeadField::Budget => self.budget,
            _ => None,
        }
    }

    /// The product line the lead is for (`custom.product`, lower-cased), which picks the
    /// policy that scores it; "default" when unset.
    pub fn product_line(&self) -> String {
        self.custom
            .get("product")
            .and_then(Value::as_str)
            .map(|s| s.trim().to_lowercase())
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| "default".to_owned())
    }

    pub const PERSON_FIELDS: [LeadField; 6] = [
        LeadField::FirstName,
        LeadField::LastName,
        LeadField::Email,
        LeadField::Phone,
        LeadField::JobTitle,
        LeadField::Country,
    ];
    pub const COMPANY_FIELDS: [LeadField; 4] = [
        LeadField::Company,
        LeadField::Industry,
        LeadField::CompanySize,
        LeadField::Website,
    ];

    /// Copies `fields` from `other`: used when a lead joins a person or company already known.
    pub fn copy_fields(&mut self, other: &Lead, fields: &[LeadField]) {
        for field in fields {
            match field {
                LeadField::Email => self.email = other.email.clone(),
                LeadField::Phone => self.phone = other.phone.clone(),
                LeadField::CompanySize => self.company_size = other.company_size,
                LeadField::Budget => self.budget = other.budget,
                LeadField::ExternalId => self.external_id = other.external_id.clone(),
                LeadField::Stage => self.stage = other.stage,
                LeadField::Custom => self.custom = other.custom.clone(),
                text => *self.text_slot(*text) = other.text(*text).clone(),
            }
        }
    }

    /// Name, email and company folded without case or diacritics (`normalize::fold_loose`):
    /// what text search matches against, so "nguyen" finds "Nguyễn" and "علي" finds "علی".
    /// Writes the fields `touched` in their one stored form, as typed values are kept in the
    /// capture's event: a country name or code in any language becomes the country's English
    /// name ("DE", "Deutschland", "德国" -> "Germany"); a phone becomes E.164, read in the
    /// lead's country when it has no country code ("030 1234567" in Germany ->
    /// "+49301234567"). What is not recognised stays as typed (and may be flagged junk).
    pub fn tidy(&mut self, touched: impl Fn(LeadField) -> bool) {
        if !(touched(LeadField::Country) || touched(LeadField::Phone)) {
            return;
        }
        let country = self
            .country
            .as_ref()
            .and_then(|c| crate::normalize::country(c.as_str()));
        if touched(LeadField::Country) {
            if let Some(known) = &country {
                if let Ok(name) = Text::parse(known.name, LeadField::Country.text_limit()) {
                    self.country = Some(name);
                }
            }
        }
        let region = country.as_ref().map(|c| c.code.as_str());
        let e164 = self.phone.as_ref().and_then(|phone| {
            crate::normalize::phone_e164(phone.as_str(), region)
                .ok()
                .and_then(|n| Phone::parse(&n).ok())
        });
        if let Some(e164) = e164 {
            self.phone = Some(e164);
        }
    }

    /// The company's web domain: the website's host, else the email's domain when it is a
    /// company's own (not a free or disposable mail provider).
    pub fn company_domain(&self) -> Option<String> {
        if let Some(domain) = self
            .website
            .as_ref()
            .and_then(|w| crate::normalize::website_domain(w.as_str()))
        {
            return Some(domain);
        }
        let domain = self.email.as_ref()?.domain();
        let own =
            !crate::mail_domain::is_free_mail(domain) && !crate::mail_domain::is_disposable(domain);
        own.then(|| crate::normalize::domain_ascii(domain).ok())
            .flatten()
    }

    pub fn search_text(&self) -> String {
        let joined = [
            self.first_name.as_ref().map(Text::as_str),
            self.last_name.as_ref().map(Text::as_str),
            self.email.as_ref().map(Email::as_str),
            self.company.as_ref().map(Text::as_str),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        crate::normalize::fold_loose(&joined)
    }

    /// Every field as flat JSON, the shape the API returns.
    pub fn to_json_fields(&self) -> Map<String, Value> {
        LeadField::ALL
            .into_iter()
            .map(|f| (f.name().to_owned(), self.get(f)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn obj(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    #[test]
    fn a_patch_sets_fields_and_reports_changes() {
        let patch = LeadPatch::parse(
            &obj(json!({"first_name": "Ana", "email": "ana@Acme.io", "company_size": 120, "budget": 25000.5})),
            PatchMode::Create,
        )
        .unwrap();
        let mut lead = Lead::default();
        let changes = patch.apply(&mut lead).unwrap();
        assert_eq!(lead.email.as_ref().unwrap().as_str(), "ana@acme.io");
        assert_eq!(lead.company_size, Some(120));
        assert_eq!(changes.len(), 4);
        let email = changes.iter().find(|c| c.field == "email").unwrap();
        assert_eq!(email.old, Value::Null);
        assert_eq!(email.new, json!("ana@acme.io"));
        // The same patch again changes nothing.
        assert!(patch.apply(&mut lead).unwrap().is_empty());
    }

    #[test]
    fn a_lead_names_its_person_and_its_company_only_when_the_company_is_theirs() {
        let patch = LeadPatch::parse(
            &obj(
                json!({"first_name": "Ana", "last_name": "Lima", "email": "ana@acme.io",
                        "phone": "+4930999123456", "external_id": "crm-7", "company": "Acme",
                        "website": "acme.io", "job_title": "CTO", "pains": "slow"}),
            ),
            PatchMode::Create,
        )
        .unwrap();
        let mut lead = Lead::default();
        patch.apply(&mut lead).unwrap();
        let named = ["Ana", "Lima", "ana@acme.io", "+4930999123456", "crm-7"];
        assert_eq!(lead.identifying_texts(false), named);
        let with_company = lead.identifying_texts(true);
        assert_eq!(with_company.len(), named.len() + 2);
        assert!(
            with_company.contains(&"Acme".to_owned()),
            "{with_company:?}"
        );
    }

    #[test]
    fn every_bad_field_is_reported_with_its_reason() {
        let errors = LeadPatch::parse(
            &obj(json!({
                "email": "not-an-email",
                "stage": "customer",
                "company_size": -3,
                "first_name": 7,
                "id": 5,
                "favourite_colour": "blue",
                "last_name": "x".repeat(101),
            })),
            PatchMode::Create,
        )
        .unwrap_err();
        let mut fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        fields.sort();
        assert_eq!(
            fields,
            [
                "company_size",
                "email",
                "favourite_colour",
                "first_name",
                "id",
                "last_name",
                "stage"
            ]
        );
        let reason = |f: &str| {
            errors
                .0
                .iter()
                .find(|e| e.field == f)
                .unwrap()
                .reason
                .clone()
        };
        assert!(reason("stage").contains("prospect or lead"));
        assert!(reason("id").contains("read-only"));
        assert!(reason("last_name").contains("at most 100"));
    }

    #[test]
    fn imports_carry_any_stage() {
        let patch =
            LeadPatch::parse(&obj(json!({"stage": "customer"})), PatchMode::Import).unwrap();
        let mut lead = Lead::default();
        patch.apply(&mut lead).unwrap();
        assert_eq!(lead.stage, Stage::Customer);
    }

    #[test]
    fn stage_cannot_be_edited_after_creation() {
        let errors =
            LeadPatch::parse(&obj(json!({"stage": "lead"})), PatchMode::Update).unwrap_err();
        assert_eq!(errors.0[0].field, "stage");
    }

    #[test]
    fn phones_and_countries_are_stored_in_one_form() {
        let capture = |input: Value| {
            let mut lead = Lead::default();
            let changes = LeadPatch::parse(&obj(input), PatchMode::Create)
                .unwrap()
                .apply(&mut lead)
                .unwrap();
            (lead, changes)
        };
        // The lead's country is the region of a number without a country code.
        let (lead, changes) = capture(json!({"phone": "030 1234567", "country": "Deutschland"}));
        assert_eq!(lead.phone.as_ref().map(Phone::as_str), Some("+49301234567"));
        assert_eq!(lead.country.as_ref().map(Text::as_str), Some("Germany"));
        assert!(changes
            .iter()
            .any(|c| c.field == "phone" && c.new == json!("+49301234567")));
        let (lead, _) = capture(json!({"phone": "+84 28 3822 1111", "country": "越南"}));
        assert_eq!(
            lead.phone.as_ref().map(Phone::as_str),
            Some("+842838221111")
        );
        assert_eq!(lead.country.as_ref().map(Text::as_str), Some("Vietnam"));
        // Not recognised: kept as typed.
        let (lead, _) = capture(json!({"phone": "030 1234567", "country": "Asia/Pacific Region"}));
        assert_eq!(lead.phone.as_ref().map(Phone::as_str), Some("030 1234567"));
        assert_eq!(
            lead.country.as_ref().map(Text::as_str),
            Some("Asia/Pacific Region")
        );
        // Setting the country later rewrites the number typed without one...
        let mut later = lead.clone();
        let changes = LeadPatch::parse(&obj(json!({"country": "DE"})), PatchMode::Update)
            .unwrap()
            .apply(&mut later)
            .unwrap();
        assert_eq!(
            later.phone.as_ref().map(Phone::as_str),
            Some("+49301234567")
        );
        assert_eq!(changes.len(), 1, "{changes:?}");
        // ...and typing the stored number another way is no change.
        let same = LeadPatch::parse(&obj(json!({"phone": "030 12 34 567"})), PatchMode::Update)
            .unwrap()
            .apply(&mut later)
            .unwrap();
        assert!(same.is_empty(), "{same:?}");
    }

    #[test]
    fn company_domain_from_website_else_company_email() {
        let lead = |input: Value| {
            let mut lead = Lead::default();
            LeadPatch::parse(&obj(input), PatchMode::Create)
                .unwrap()
                .apply(&mut lead)
                .unwrap();
            lead
        };
        let with_site =
            lead(json!({"email": "ana@mail.acme.com", "website": "https://www.acme.com/"}));
        assert_eq!(with_site.company_domain().as_deref(), Some("acme.com"));
        let from_email = lead(json!({"email": "ana@Acme.COM"}));
        assert_eq!(from_email.company_domain().as_deref(), Some("acme.com"));
        let free_mail = lead(json!({"email": "ana@gmail.com"}));
        assert_eq!(free_mail.company_domain(), None);
        assert_eq!(lead(json!({"first_name": "Ana"})).company_domain(), None);
    }

    #[test]
    fn null_or_blank_clears_and_custom_merges() {
        let mut lead = Lead::default();
        LeadPatch::parse(
            &obj(json!({"phone": "+1 555 0100 200", "custom": {"a": 1, "b": 2}})),
            PatchMode::Create,
        )
        .unwrap()
        .apply(&mut lead)
        .unwrap();
        let changes = LeadPatch::parse(
            &obj(json!({"phone": "", "custom": {"a": null, "c": 3}})),
            PatchMode::Update,
        )
        .unwrap()
        .apply(&mut lead)
        .unwrap();
        assert_eq!(lead.phone, None);
        assert_eq!(Value::Object(lead.custom.clone()), json!({"b": 2, "c": 3}));
        assert_eq!(changes.len(), 2);
    }

    #[test]
    fn custom_has_a_size_limit() {
        let big = "x".repeat(CUSTOM_MAX_BYTES);
        let patch =
            LeadPatch::parse(&obj(json!({"custom": {"notes": big}})), PatchMode::Create).unwrap();
        let err = patch.apply(&mut Lead::default()).unwrap_err();
        assert_eq!(err.field, "custom");
    }

    #[test]
    fn a_nul_in_custom_keys_or_values_is_refused() {
        for custom in [
            json!({"note": "a\u{0}b"}),
            json!({"k\u{0}": "v"}),
            json!({"list": ["\u{0}"]}),
        ] {
            let errors =
                LeadPatch::parse(&obj(json!({"custom": custom})), PatchMode::Create).unwrap_err();
            assert_eq!(errors.0[0].field, "custom");
            assert!(errors.0[0].reason.contains("NUL"), "{errors}");
        }
    }

    #[test]
    fn an_anonymous_submission_fills_what_is_empty_and_holds_what_differs() {
        let mut lead = Lead::default();
        LeadPatch::parse(
            &obj(
                json!({"email": "ana@acme.io", "first_name": "Ana", "company": "Acme",
                        "custom": {"plan": "pro"}}),
            ),
            PatchMode::Create,
        )
        .unwrap()
        .apply(&mut lead)
        .unwrap();
        let offered = LeadPatch::parse(
            &obj(
                json!({"email": "ana@acme.io", "first_name": "Mallory", "company": "Acme",
                        "product_need": "a CRM", "owner": "someone",
                        "custom": {"plan": "free", "city": "Hanoi"}}),
            ),
            PatchMode::Create,
        )
        .unwrap();
        let (fill, held) = offered.filling(&lead);
        let changes = fill.apply(&mut lead).unwrap();
        let changed: Vec<&str> = changes.iter().map(|c| c.field).collect();
        assert_eq!(changed, ["custom", "owner", "product_need"]);
        assert_eq!(lead.first_name.as_ref().unwrap().as_str(), "Ana");
        assert_eq!(lead.custom["plan"], "pro");
        assert_eq!(lead.custom["city"], "Hanoi");
        assert_eq!(
            Value::Object(held),
            json!({"first_name": "Mallory", "custom": {"plan": "free"}})
        );
        assert_eq!(offered.owner(), Some(Some("someone")));
        assert_eq!(fill.owner(), Some(Some("someone")));
    }

    proptest! {
        #[test]
        fn applying_a_patch_twice_changes_nothing_the_second_time(
            first in proptest::option::of("[A-Za-z ]{0,30}"),
            size in proptest::option::of(1i64..100_000),
            city in proptest::option::of("\\PC{0,20}"),
        ) {
            let mut input = Map::new();
            input.insert("first_name".into(), first.map(Value::String).unwrap_or(Value::Null));
            input.insert("company_size".into(), size.map(Value::from).unwrap_or(Value::Null));
            input.insert("custom".into(), json!({"city": city}));
            let patch = LeadPatch::parse(&input, PatchMode::Create).unwrap();
            let mut lead = Lead::default();
            patch.apply(&mut lead).unwrap();
            let snapshot = lead.clone();
            prop_assert!(patch.apply(&mut lead).unwrap().is_empty());
            prop_assert_eq!(lead, snapshot);
        }

        #[test]
        fn parsing_arbitrary_json_never_panics(key in "[a-z_]{1,15}", value in any::<String>()) {
            let mut input = Map::new();
            input.insert(key, Value::String(value));
            let _ = LeadPatch::parse(&input, PatchMode::Create);
        }
    }
}
