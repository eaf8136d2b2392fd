//! Leads written out as CSV, page by page, with cells a spreadsheet will not run as formulas.

use leadgate_core::export::safe_cell;
use leadgate_core::LeadField;
use leadgate_store::{LeadFilter, LeadSort, Store, StoredLead};
use std::io::Write;

/// The columns of an export: the lead's fields, its source, its stored score, its times.
pub const EXPORT_COLUMNS: [&str; 31] = [
    "id",
    "external_id",
    "stage",
    "owner",
    "first_name",
    "last_name",
    "email",
    "phone",
    "job_title",
    "country",
    "company",
    "industry",
    "company_size",
    "website",
    "company_domain",
    "product_need",
    "budget",
    "purchase_timeframe",
    "current_solution",
    "pains",
    "channel",
    "source_class",
    "campaign",
    "utm_source",
    "score",
    "grade",
    "temperature",
    "created_at",
    "updated_at",
    "person_id",
    "custom",
];

/// Why an export stopped.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error(transparent)]
    Store(#[from] leadgate_store::StoreError),
    #[error("cannot write the export: {0}")]
    Csv(#[from] csv::Error),
    #[error("cannot write the export: {0}")]
    Io(#[from] std::io::Error),
}

/// An export in progress: the CSV file of the leads a filter selects, made a page at a time
/// so that memory stays flat and an HTTP response can stream it.
pub struct CsvExport {
    store: Store,
    filter: LeadFilter,
    started: bool,
    finished: bool,
    /// Leads written so far.
    pub count: u64,
}

impl CsvExport {
    pub fn new(store: Store, mut filter: LeadFilter) -> Self {
        filter.sort = LeadSort {
            field: leadgate_store::SortField::Id,
            descending: false,
        };
        filter.limit = 1000;
        filter.cursor = None;
        Self {
            store,
            filter,
            started: false,
            finished: false,
            count: 0,
        }
    }

    /// The next part of the file (the header first, then a page of leads); `None` at the end.
    pub async fn next_chunk(&mut self) -> Result<Option<Vec<u8>>, ExportError> {
        if self.finished {
            return Ok(None);
        }
        let mut writer = csv::Writer::from_writer(Vec::new());
        if !self.started {
            self.started = true;
            writer.write_record(EXPORT_COLUMNS)?;
        }
        let page = self.store.list_leads(&self.filter).await?;
        for stored in &page.leads {
            writer.write_record(record(stored))?;
            self.count += 1;
        }
        match page.next_cursor {
            Some(cursor) => self.filter.cursor = Some(cursor),
            None => self.finished = true,
        }
        writer
            .into_inner()
            .map(Some)
            .map_err(|e| ExportError::Io(e.into_error()))
    }
}

/// One lead as a row of `EXPORT_COLUMNS`, each cell safe from spreadsheet formulas.
fn record(stored: &StoredLead) -> Vec<String> {
    let lead = &stored.lead;
    let text = |f: LeadField| lead.text_value(f).unwrap_or_default().to_owned();
    let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let snapshot = stored.snapshot.as_ref();
    let record: [String; EXPORT_COLUMNS.len()] = [
        stored.id.to_string(),
        text(LeadField::ExternalId),
        text(LeadField::Stage),
        text(LeadField::Owner),
        text(LeadField::FirstName),
        text(LeadField::LastName),
        text(LeadField::Email),
        text(LeadField::Phone),
        text(LeadField::JobTitle),
        text(LeadField::Country),
        text(LeadField::Company),
        text(LeadField::Industry),
        number(lead.number_value(LeadField::CompanySize)),
        text(LeadField::Website),
        lead.company_domain().unwrap_or_default(),
        text(LeadField::ProductNeed),
        number(lead.budget),
        text(LeadField::PurchaseTimeframe),
        text(LeadField::CurrentSolution),
        text(LeadField::Pains),
        stored.first_touch.channel.as_str().to_owned(),
        stored.first_touch.source_class.as_str().to_owned(),
        stored
            .first_touch
            .campaign
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        stored
            .first_touch
            .utm_source
            .as_ref()
            .map(|c| c.as_str().to_owned())
            .unwrap_or_default(),
        number(snapshot.map(|s| s.score)),
        snapshot.map(|s| s.grade.clone()).unwrap_or_default(),
        snapshot.map(|s| s.temperature.clone()).unwrap_or_default(),
        stored.created_at.to_rfc3339(),
        stored.updated_at.to_rfc3339(),
        stored.person_id.to_string(),
        if lead.custom.is_empty() {
            String::new()
        } else {
            serde_json::Value::Object(lead.custom.clone()).to_string()
        },
    ];
    record
        .iter()
        .map(|cell| safe_cell(cell).into_owned())
        .collect()
}

/// Chosen leads (the ticked ones of a list) as a whole CSV file.
pub fn csv_of(leads: &[StoredLead]) -> Result<Vec<u8>, ExportError> {
    let mut writer = csv::Writer::from_writer(Vec::new());
    writer.write_record(EXPORT_COLUMNS)?;
    for stored in leads {
        writer.write_record(record(stored))?;
    }
    writer
        .into_inner()
        .map_err(|e| ExportError::Io(e.into_error()))
}

/// Writes every lead the filter selects to `out`. Returns how many were written.
pub async fn write_csv<W: Write>(
    store: &Store,
    filter: LeadFilter,
    mut out: W,
) -> Result<u64, ExportError> {
    let mut export = CsvExport::new(store.clone(), filter);
    while let Some(chunk) = export.next_chunk().await? {
        out.write_all(&chunk)?;
    }
    out.flush()?;
    Ok(export.count)
}
