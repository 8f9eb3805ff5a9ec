//! Simulator tests: the stories and split brain on the real core, in virtual time.

mod ipv6;
mod matrix;
mod split_brain;
mod stories;
