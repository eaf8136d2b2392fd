//! What the domain knows of a stored conversion model (the model itself is `leadgate-ml`'s):
//! where it stands among a product's models.

use crate::source::named_enum;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

named_enum!(
    /// A stored model's standing. Any of them can be activated.
    ModelStatus, "model status" {
        /// The one that predicts the product's leads.
        Active => "active",
        /// Trained, but did worse than the active one on the same leads.
        Challenger => "challenger",
        /// A newer one took over.
        Retired => "retired",
    }
);
