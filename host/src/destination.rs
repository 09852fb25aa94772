//! Where a skill may send a request: destinations (`scheme://host[:port]`)
//! and address ranges. A leaf module: egress, secrets, the registry and the
//! config all read these values, and it reads none of them. The destination
//! grammar lives in [`skillhost_policy::destination`], the one parser used
//! everywhere a destination is read or shown; the owner's review of one is
//! here.

pub use skillhost_policy::destination::*;

mod review;
pub use review::{DestinationReview, review};

mod cidr;
pub use cidr::Cidr;
