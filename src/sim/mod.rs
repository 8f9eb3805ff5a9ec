//! The simulated world: a virtual clock and network that drive the same decision core as the daemon,
//! for `simulate-timing` and deterministic tests.
