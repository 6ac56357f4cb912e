//! Pure state machines: no I/O, no clock of their own (time comes in as an argument).

pub mod reliable;
pub mod replay;
