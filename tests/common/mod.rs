//! Helpers shared by the integration tests (each test binary uses the parts it needs).
#![allow(dead_code)]

pub mod capture;
pub mod gap;
pub mod lab;
pub mod pair;
