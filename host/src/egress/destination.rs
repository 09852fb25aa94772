//! Destinations (`scheme://host[:port]`): the grammar lives in
//! [`skillhost_policy::destination`], the one parser used everywhere a
//! destination is read or shown; the owner's review of one is here.

pub use skillhost_policy::destination::*;

mod review;
pub use review::{DestinationReview, review};
