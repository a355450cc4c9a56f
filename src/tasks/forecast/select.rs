//! What the choice of the transformation records: every candidate's validation scores
//! ([`super::ensemble::select`] trains and chooses).

use serde::{Deserialize, Serialize};

use super::{Scores, Transformation};

/// A transformation tried and how its networks (the mean of their forecasts) scored on the
/// validation split.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The transformation.
    pub transform: Transformation,
    /// Its networks' rolling-origin scores on the validation split.
    pub validation: Scores,
    /// Persistence's on the same origins.
    pub persistence: Scores,
}
