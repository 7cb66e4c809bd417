//! Neural networks: device selection now; musicnn and the emotion model as they land.

pub mod device;
