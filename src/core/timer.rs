//! A small timer table indexed by an enum (quinn-proto's `connection/timer.rs` shape): each state
//! machine keeps its deadlines here and the next deadline is their minimum.

use super::Instant;

/// Deadlines of one state machine; `T` is its timer enum, `N` the number of its variants.
#[derive(Debug, Clone)]
pub(crate) struct Timers<T, const N: usize> {
    deadlines_at: [Option<Instant>; N],
    _kind: std::marker::PhantomData<T>,
}

impl<T: Copy + Into<usize>, const N: usize> Timers<T, N> {
    pub(crate) fn new() -> Self {
        Self {
            deadlines_at: [None; N],
            _kind: std::marker::PhantomData,
        }
    }

    pub(crate) fn set(&mut self, timer: T, at: Instant) {
        self.deadlines_at[timer.into()] = Some(at);
    }

    pub(crate) fn stop(&mut self, timer: T) {
        self.deadlines_at[timer.into()] = None;
    }

    pub(crate) fn stop_all(&mut self) {
        self.deadlines_at = [None; N];
    }

    pub(crate) fn get(&self, timer: T) -> Option<Instant> {
        self.deadlines_at[timer.into()]
    }

    /// True (and the timer stopped) when `timer` is due at `now`.
    pub(crate) fn take_expired(&mut self, timer: T, now: Instant) -> bool {
        match self.get(timer) {
            Some(at) if at <= now => {
                self.stop(timer);
                true
            }
            _ => false,
        }
    }

    /// The earliest deadline of the table.
    pub(crate) fn next(&self) -> Option<Instant> {
        self.deadlines_at.iter().flatten().copied().min()
    }

    /// The earliest deadline of the table but `timer`'s.
    pub(crate) fn next_except(&self, timer: T) -> Option<Instant> {
        let skip: usize = timer.into();
        self.deadlines_at
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != skip)
            .filter_map(|(_, at)| *at)
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy)]
    enum T {
        A,
        B,
    }
    impl From<T> for usize {
        fn from(t: T) -> usize {
            t as usize
        }
    }

    #[test]
    fn next_is_the_minimum_and_expiry_stops_the_timer() {
        let mut t: Timers<T, 2> = Timers::new();
        assert_eq!(t.next(), None);
        t.set(T::A, Instant::from_millis(30));
        t.set(T::B, Instant::from_millis(20));
        assert_eq!(t.next(), Some(Instant::from_millis(20)));
        assert!(!t.take_expired(T::B, Instant::from_millis(19)));
        assert!(t.take_expired(T::B, Instant::from_millis(20)));
        assert_eq!(t.next(), Some(Instant::from_millis(30)));
        t.set(T::B, Instant::from_millis(10));
        assert_eq!(t.next_except(T::B), Some(Instant::from_millis(30)));
        assert_eq!(t.next_except(T::A), Some(Instant::from_millis(10)));
    }
}
