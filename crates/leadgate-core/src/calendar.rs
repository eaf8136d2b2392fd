//! Business-hours calendars: a team's working hours per weekday in its time zone, with
//! holidays, and deadline arithmetic over them (the SLA math).

use crate::source::json_kind;
use crate::validation::{FieldError, FieldErrors};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

const DAYS: [(&str, Weekday); 7] = [
    ("mon", Weekday::Mon),
    ("tue", Weekday::Tue),
    ("wed", Weekday::Wed),
    ("thu", Weekday::Thu),
    ("fri", Weekday::Fri),
    ("sat", Weekday::Sat),
    ("sun", Weekday::Sun),
];

/// How far ahead deadline arithmetic looks for working time before giving up (a calendar
/// whose holidays cover years).
const HORIZON_DAYS: i64 = 3 * 366;

/// When a team works: hours per weekday in its time zone, minus holidays.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BusinessCalendar {
    #[serde(serialize_with = "tz_name")]
    pub timezone: Tz,
    /// Working intervals per weekday (Monday first), sorted, not overlapping.
    #[serde(serialize_with = "hours_map")]
    pub hours: [Vec<(NaiveTime, NaiveTime)>; 7],
    pub holidays: BTreeSet<NaiveDate>,
}

fn tz_name<S: serde::Serializer>(tz: &Tz, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(tz.name())
}

fn hours_map<S: serde::Serializer>(
    hours: &[Vec<(NaiveTime, NaiveTime)>; 7],
    s: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeMap;
    let mut map = s.serialize_map(Some(7))?;
    for ((name, _), intervals) in DAYS.iter().zip(hours) {
        let text: Vec<String> = intervals
            .iter()
            .map(|(a, b)| format!("{}-{}", a.format("%H:%M"), clock(*b)))
            .collect();
        map.serialize_entry(name, &text)?;
    }
    map.end()
}

impl BusinessCalendar {
    /// Every hour of every day in UTC: plain elapsed time.
    pub fn always() -> Self {
        let whole_day = vec![(NaiveTime::MIN, end_of_day())];
        BusinessCalendar {
            timezone: Tz::UTC,
            hours: std::array::from_fn(|_| whole_day.clone()),
            holidays: BTreeSet::new(),
        }
    }

    /// Reads `{"timezone": "Asia/Ho_Chi_Minh", "hours": {"mon": ["08:30-12:00",
    /// "13:00-17:30"], ...}, "holidays": ["2026-02-17"]}`; fields are named `prefix.x` in
    /// errors. Days left out are days off; "24:00" ends a day.
    pub fn parse(value: &Value, prefix: &str) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let field = |name: &str| format!("{prefix}{name}");
        let Value::Object(map) = value else {
            return Err(FieldError::new(
                prefix.trim_end_matches('.'),
                format!("must be an object, not {}", json_kind(value)),
            )
            .into());
        };
        for key in map.keys() {
            if !["timezone", "hours", "holidays"].contains(&key.as_str()) {
                errors.push(FieldError::new(
                    field(key),
                    "is not a calendar field; use timezone, hours, holidays",
                ));
            }
        }
        let timezone = match map.get("timezone") {
            None | Some(Value::Null) => Some(Tz::UTC),
            Some(Value::String(s)) => {
                match s.trim().parse::<Tz>() {
                    Ok(tz) => Some(tz),
                    Err(_) => {
                        errors.push(FieldError::new(
                        field("timezone"),
                        format!("'{s}' is not an IANA time zone such as Europe/Berlin or Asia/Tehran"),
                    ));
                        None
                    }
                }
            }
            Some(other) => {
                errors.push(FieldError::new(
                    field("timezone"),
                    format!("must be a string, not {}", json_kind(other)),
                ));
                None
            }
        };
        let mut hours: [Vec<(NaiveTime, NaiveTime)>; 7] = Default::default();
        match map.get("hours") {
            Some(Value::Object(days)) => {
                read_hours(days, &field("hours"), &mut hours, &mut errors);
                if hours.iter().all(Vec::is_empty) && errors.is_empty() {
                    errors.push(FieldError::new(
                        field("hours"),
                        "has no working hours at all",
                    ));
                }
            }
            None | Some(Value::Null) => {
                errors.push(FieldError::new(
                    field("hours"),
                    "is required, as in {\"mon\": [\"09:00-17:00\"], ...}",
                ));
            }
            Some(other) => errors.push(FieldError::new(
                field("hours"),
                format!("must be an object of weekdays, not {}", json_kind(other)),
            )),
        }
        let mut holidays = BTreeSet::new();
        match map.get("holidays") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, item) in items.iter().enumerate() {
                    match item
                        .as_str()
                        .and_then(|s| NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok())
                    {
                        Some(date) => {
                            holidays.insert(date);
                        }
                        None => errors.push(FieldError::new(
                            format!("{}[{i}]", field("holidays")),
                            format!("{item} is not a date such as 2026-12-25"),
                        )),
                    }
                }
            }
            Some(other) => errors.push(FieldError::new(
                field("holidays"),
                format!("must be a list of dates, not {}", json_kind(other)),
            )),
        }
        let timezone = errors.into_result(timezone)?;
        Ok(BusinessCalendar {
            timezone: timezone.unwrap_or(Tz::UTC),
            hours,
            holidays,
        })
    }

    fn working_intervals(&self, date: NaiveDate) -> &[(NaiveTime, NaiveTime)] {
        if self.holidays.contains(&date) {
            return &[];
        }
        &self.hours[date.weekday().num_days_from_monday() as usize]
    }

    /// A local date and time as an instant; in a gap (clocks moved forward) the first
    /// instant after it, in an overlap the earlier one.
    fn instant(&self, date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = if time == end_of_day() {
            date.succ_opt().unwrap_or(date).and_time(NaiveTime::MIN)
        } else {
            date.and_time(time)
        };
        match self.timezone.from_local_datetime(&local) {
            chrono::LocalResult::Single(t) => t.with_timezone(&Utc),
            chrono::LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
            chrono::LocalResult::None => {
                // DST gaps are at most a few hours long.
                let later = local + Duration::hours(3);
                self.timezone
                    .from_local_datetime(&later)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc) - Duration::hours(3))
                    .unwrap_or_else(|| Utc.from_utc_datetime(&local))
            }
        }
    }

    /// The working periods as instants, from the local day holding `from` onwards.
    fn periods_from(
        &self,
        from: DateTime<Utc>,
    ) -> impl Iterator<Item = (DateTime<Utc>, DateTime<Utc>)> + '_ {
        let first = from.with_timezone(&self.timezone).date_naive() - Duration::days(1);
        (0..HORIZON_DAYS).flat_map(move |offset| {
            let date = first + Duration::days(offset);
            self.working_intervals(date)
                .iter()
                .map(move |(a, b)| (self.instant(date, *a), self.instant(date, *b)))
        })
    }

    /// The instant when `work` of working time has passed after `start`. None when the
    /// calendar has no such time within three years.
    pub fn add(&self, start: DateTime<Utc>, work: Duration) -> Option<DateTime<Utc>> {
        let mut left = work;
        for (a, b) in self.periods_from(start) {
            if b <= start {
                continue;
            }
            let from = a.max(start);
            let available = b - from;
            if left <= available {
                return Some(from + left);
            }
            left -= available;
        }
        None
    }

    /// The close of the `days`-th working day after the day of `start` (a start on a day
    /// off counts from the next working day): "within two business days".
    pub fn add_working_days(&self, start: DateTime<Utc>, days: u32) -> Option<DateTime<Utc>> {
        let mut date = start.with_timezone(&self.timezone).date_naive();
        let mut counted = 0;
        for _ in 0..HORIZON_DAYS {
            date = date.succ_opt()?;
            if !self.working_intervals(date).is_empty() {
                counted += 1;
                if counted >= days.max(1) {
                    let (_, close) = self.working_intervals(date).last()?;
                    return Some(self.instant(date, *close));
                }
            }
        }
        None
    }

    /// When working time next runs at or after `at` (`at` itself in working hours): when a
    /// clock stopped for the night or the weekend starts again. None when the calendar has
    /// no working time within three years.
    pub fn resumes_at(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.add(at, Duration::zero())
    }

    /// Whether `at` falls in working hours.
    pub fn is_open(&self, at: DateTime<Utc>) -> bool {
        self.between(at, at + Duration::seconds(1)) > Duration::zero()
    }

    /// Working time between two instants (zero when `to` is not after `from`).
    pub fn between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if to <= from {
            return total;
        }
        for (a, b) in self.periods_from(from) {
            if a >= to {
                break;
            }
            let (a, b) = (a.max(from), b.min(to));
            if b > a {
                total += b - a;
            }
        }
        total
    }
}

/// A closing time as written: the end of the day is 24:00.
fn clock(t: NaiveTime) -> String {
    if t == end_of_day() {
        "24:00".into()
    } else {
        t.format("%H:%M").to_string()
    }
}

fn end_of_day() -> NaiveTime {
    NaiveTime::from_hms_nano_opt(23, 59, 59, 1_999_999_999).unwrap_or(NaiveTime::MIN)
}

fn read_hours(
    days: &Map<String, Value>,
    field: &str,
    hours: &mut [Vec<(NaiveTime, NaiveTime)>; 7],
    errors: &mut FieldErrors,
) {
    for (key, value) in days {
        let name = format!("{field}.{key}");
        let Some(index) = DAYS.iter().position(|(d, _)| d.eq_ignore_ascii_case(key)) else {
            errors.push(FieldError::new(
                name,
                "is not a weekday; use mon, tue, wed, thu, fri, sat, sun",
            ));
            continue;
        };
        let Value::Array(items) = value else {
            errors.push(FieldError::new(
                name,
                "must be a list of intervals such as [\"09:00-12:00\", \"13:00-17:00\"]",
            ));
            continue;
        };
        let mut intervals = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match item.as_str().and_then(parse_interval) {
                Some(interval) => intervals.push(interval),
                None => errors.push(FieldError::new(
                    format!("{name}[{i}]"),
                    format!("{item} is not an interval HH:MM-HH:MM with the start before the end"),
                )),
            }
        }
        intervals.sort();
        for pair in intervals.windows(2) {
            if pair[1].0 < pair[0].1 {
                errors.push(FieldError::new(
                    name.clone(),
                    format!(
                        "{}-{} overlaps {}-{}",
                        pair[0].0.format("%H:%M"),
                        pair[0].1.format("%H:%M"),
                        pair[1].0.format("%H:%M"),
                        pair[1].1.format("%H:%M")
                    ),
                ));
            }
        }
        hours[index] = intervals;
    }
}

fn parse_interval(text: &str) -> Option<(NaiveTime, NaiveTime)> {
    let (a, b) = text.trim().split_once('-')?;
    let a = NaiveTime::parse_from_str(a.trim(), "%H:%M").ok()?;
    let b = match b.trim() {
        "24:00" => end_of_day(),
        b => NaiveTime::parse_from_str(b, "%H:%M").ok()?,
    };
    (a < b).then_some((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn utc(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// Ho Chi Minh City office: Mon-Fri 08:30-12:00 and 13:00-17:30, Sat 08:30-12:00,
    /// closed for Tết.
    fn saigon() -> BusinessCalendar {
        BusinessCalendar::parse(
            &json!({"timezone": "Asia/Ho_Chi_Minh",
                    "hours": {"mon": ["08:30-12:00", "13:00-17:30"], "tue": ["08:30-12:00", "13:00-17:30"],
                              "wed": ["08:30-12:00", "13:00-17:30"], "thu": ["08:30-12:00", "13:00-17:30"],
                              "fri": ["08:30-12:00", "13:00-17:30"], "sat": ["08:30-12:00"]},
                    "holidays": ["2026-02-16", "2026-02-17", "2026-02-18"]}),
            "",
        )
        .unwrap()
    }

    fn berlin() -> BusinessCalendar {
        let day = json!(["09:00-17:00"]);
        BusinessCalendar::parse(
            &json!({"timezone": "Europe/Berlin",
                    "hours": {"mon": day, "tue": day, "wed": day, "thu": day, "fri": day}}),
            "",
        )
        .unwrap()
    }

    #[test]
    fn a_clock_stopped_for_the_weekend_resumes_on_monday_morning() {
        let cal = berlin();
        // Sunday 6 Dec 2026, 14:00 in Berlin (13:00Z): Monday 09:00 (08:00Z).
        assert_eq!(
            cal.resumes_at(utc("2026-12-06T13:00:00Z")),
            Some(utc("2026-12-07T08:00:00Z"))
        );
        // Friday after closing, too; in working hours it runs now.
        assert_eq!(
            cal.resumes_at(utc("2026-12-04T17:30:00Z")),
            Some(utc("2026-12-07T08:00:00Z"))
        );
        let open = utc("2026-12-07T10:15:00Z");
        assert_eq!(cal.resumes_at(open), Some(open));
        // Saigon's lunch break: back at 13:00 (06:00Z).
        assert_eq!(
            saigon().resumes_at(utc("2026-05-08T05:10:00Z")),
            Some(utc("2026-05-08T06:00:00Z"))
        );
    }

    #[test]
    fn an_hour_of_work_skips_lunch_nights_and_holidays() {
        let cal = saigon();
        // Friday 11:30 local (04:30Z): half an hour before lunch, half an hour after.
        assert_eq!(
            cal.add(utc("2026-05-08T04:30:00Z"), Duration::hours(1)),
            Some(utc("2026-05-08T06:30:00Z"))
        );
        // Friday 17:00 local: half an hour left, then Saturday morning.
        assert_eq!(
            cal.add(utc("2026-05-08T10:00:00Z"), Duration::hours(1)),
            Some(utc("2026-05-09T02:00:00Z"))
        );
        // Saturday 11:30 local: Sunday is off, so Monday 09:00 local.
        assert_eq!(
            cal.add(utc("2026-05-09T04:30:00Z"), Duration::hours(1)),
            Some(utc("2026-05-11T02:00:00Z"))
        );
        // A lead arriving on the eve of Tết waits for Thursday.
        assert_eq!(
            cal.add(utc("2026-02-14T06:00:00Z"), Duration::minutes(30)),
            Some(utc("2026-02-19T02:00:00Z"))
        );
        assert!(cal.is_open(utc("2026-05-08T04:30:00Z")));
        assert!(!cal.is_open(utc("2026-05-08T05:30:00Z")), "lunch");
        assert!(!cal.is_open(utc("2026-02-17T03:00:00Z")), "Tết");
        // In the evening the clock has not started.
        assert_eq!(
            cal.between(utc("2026-05-08T12:00:00Z"), utc("2026-05-08T20:00:00Z")),
            Duration::zero()
        );
    }

    #[test]
    fn working_days_end_at_closing_time_and_clocks_change_correctly() {
        let cal = berlin();
        // Thursday afternoon + 2 working days: Monday 17:00 Berlin.
        assert_eq!(
            cal.add_working_days(utc("2026-05-07T13:00:00Z"), 2),
            Some(utc("2026-05-11T15:00:00Z"))
        );
        // Across the spring change (29 March 2026): Friday 16:00 CET + 2h = Monday 10:00 CEST.
        assert_eq!(
            cal.add(utc("2026-03-27T15:00:00Z"), Duration::hours(2)),
            Some(utc("2026-03-30T08:00:00Z"))
        );
        assert_eq!(
            cal.between(utc("2026-03-27T15:00:00Z"), utc("2026-03-30T08:00:00Z")),
            Duration::hours(2)
        );
        let always = BusinessCalendar::always();
        assert_eq!(
            always.add(utc("2026-05-09T22:00:00Z"), Duration::hours(4)),
            Some(utc("2026-05-10T02:00:00Z"))
        );
    }

    #[test]
    fn bad_calendars_name_each_mistake() {
        let errors = BusinessCalendar::parse(
            &json!({"timezone": "Mars/Olympus", "colour": "red",
                    "hours": {"mon": ["09:00-13:00", "12:00-17:00"], "funday": [], "tue": ["17:00-09:00", 5]},
                    "holidays": ["25/12/2026"]}),
            "calendar.",
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.0.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "calendar.colour",
                "calendar.timezone",
                "calendar.hours.funday",
                "calendar.hours.mon",
                "calendar.hours.tue[0]",
                "calendar.hours.tue[1]",
                "calendar.holidays[0]"
            ]
        );
        assert!(errors.0[3]
            .reason
            .contains("09:00-13:00 overlaps 12:00-17:00"));
        let empty = BusinessCalendar::parse(&json!({"hours": {"mon": []}}), "").unwrap_err();
        assert!(empty.0[0].reason.contains("no working hours"));
        let full =
            BusinessCalendar::parse(&json!({"hours": {"sun": ["00:00-24:00"]}}), "").unwrap();
        assert_eq!(
            full.between(utc("2026-05-10T00:00:00Z"), utc("2026-05-11T00:00:00Z")),
            Duration::hours(24)
        );
    }

    proptest! {
        /// Adding working time and measuring it back agree; a later start never gives an
        /// earlier deadline.
        #[test]
        fn add_and_between_agree(start in 1_767_225_600i64..1_830_297_600, minutes in 0i64..20_000, later in 0i64..100_000) {
            for cal in [saigon(), berlin()] {
                let start = DateTime::from_timestamp(start, 0).unwrap();
                let work = Duration::minutes(minutes);
                let deadline = cal.add(start, work).unwrap();
                prop_assert!(deadline >= start);
                prop_assert_eq!(cal.between(start, deadline), work);
                let deadline2 = cal.add(start + Duration::seconds(later), work).unwrap();
                prop_assert!(deadline2 >= deadline);
            }
        }
    }
}
