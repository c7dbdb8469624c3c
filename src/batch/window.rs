//! [`Batch::window`](super::Batch::window): keeps N operations in flight and yields
//! results as they complete (the fio pattern).

use std::collections::VecDeque;
use std::io;

use super::Handle;
use super::core::Core;
use crate::driver::{Driver, with_driver};

/// The iterator of [`Batch::window`](super::Batch::window): `(position, result)` in
/// completion order.
pub struct Window<'scope, T, I> {
    pub(super) core: &'scope Core,
    pub(super) ops: I,
    pub(super) depth: usize,
    pub(super) in_flight: VecDeque<(usize, Handle<'scope, T>)>,
    pub(super) next_position: usize,
}

impl<'scope, T, I: Iterator<Item = Handle<'scope, T>>> Iterator for Window<'scope, T, I> {
    type Item = (usize, io::Result<T>);

    fn next(&mut self) -> Option<Self::Item> {
        while self.in_flight.len() < self.depth {
            let Some(handle) = self.ops.next() else { break };
            self.in_flight.push_back((self.next_position, handle));
            self.next_position += 1;
        }
        if self.in_flight.is_empty() {
            return None;
        }
        self.core.start_pending();
        let mut refilled = true;
        loop {
            let indices = self.in_flight.iter().map(|(_, h)| h.index);
            if let Some(pos) = self
                .core
                .first_ready(indices, std::mem::take(&mut refilled))
            {
                let (position, handle) = self.in_flight.remove(pos).expect("found above");
                return Some((position, handle.wait()));
            }
            with_driver(Driver::wait_one);
        }
    }
}
