//! Ids of stored records, each its own type, so that one is never taken for another (a
//! lead's id handed to a person's erasure).

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "sqlx", derive(sqlx::Type), sqlx(transparent))]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(pub i64);

        impl $name {
            /// The number as stored.
            pub fn get(self) -> i64 {
                self.0
            }
        }

        /// Reads an id as written on a command line or in a URL: a whole number.
        impl std::str::FromStr for $name {
            type Err = std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id!(
    /// A lead's id: what events, scores, clocks, tasks and moves belong to.
    LeadId
);

id!(
    /// A response clock's id: what its check and recycle jobs name.
    ClockId
);

id!(
    /// A follow-up task's id: what its reminder job and notifications name.
    TaskId
);

id!(
    /// A durable job's id.
    JobId
);

id!(
    /// A person's id: who the leads, consents and erasures belong to.
    PersonId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_reads_and_writes_as_its_number() {
        let id: PersonId = serde_json::from_str("42").unwrap();
        assert_eq!(id, PersonId(42));
        assert_eq!(serde_json::to_string(&id).unwrap(), "42");
        assert_eq!(id.to_string(), "42");
    }
}
