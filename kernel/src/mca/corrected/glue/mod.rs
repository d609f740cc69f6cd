//! Kernel side of corrected errors: the poller and CMCI interrupt (`poll`),
//! each CPU's storm tracker (`storm`), the collector subscriber (`cec`).

pub mod cec;
pub mod poll;
pub mod storm;
