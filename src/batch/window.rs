//! Windows: N operations in flight, results as they complete (the fio pattern).
//! [`Batch::window`](super::Batch::window) takes the operations from an iterator;
//! [`Batch::stream`](super::Batch::stream) makes them, each with a buffer from a set of N
//! that it recycles, so streaming a file of any size takes N buffers.

use std::collections::VecDeque;
use std::io;

use super::core::Core;
use super::{Batch, Handle, ScopeBuf};
use crate::driver::{Driver, with_driver};

/// Takes the first of `in_flight` to be ready, waiting for completions as needed.
fn next_ready<'scope, T, X>(
    core: &'scope Core,
    in_flight: &mut VecDeque<(usize, Handle<'scope, T>, X)>,
) -> Option<(usize, io::Result<T>, X)> {
    if in_flight.is_empty() {
        return None;
    }
    core.start_pending();
    let mut refilled = true;
    loop {
        let indices = in_flight.iter().map(|(_, h, _)| h.index);
        if let Some(pos) = core.first_ready(indices, std::mem::take(&mut refilled)) {
            let (position, handle, extra) = in_flight.remove(pos).expect("found above");
            let index = handle.index;
            let res = handle.wait();
            // Its place in the scope can take the next operation.
            core.recyclable(index);
            return Some((position, res, extra));
        }
        with_driver(Driver::wait_one);
    }
}

/// The iterator of [`Batch::window`](super::Batch::window): `(position, result)` in
/// completion order.
pub struct Window<'scope, T, I> {
    pub(super) core: &'scope Core,
    pub(super) ops: I,
    pub(super) depth: usize,
    pub(super) in_flight: VecDeque<(usize, Handle<'scope, T>, ())>,
    pub(super) next_position: usize,
}

impl<'scope, T, I: Iterator<Item = Handle<'scope, T>>> Iterator for Window<'scope, T, I> {
    type Item = (usize, io::Result<T>);

    fn next(&mut self) -> Option<Self::Item> {
        while self.in_flight.len() < self.depth {
            let Some(handle) = self.ops.next() else { break };
            self.in_flight.push_back((self.next_position, handle, ()));
            self.next_position += 1;
        }
        next_ready(self.core, &mut self.in_flight).map(|(position, res, ())| (position, res))
    }
}

/// The iterator of [`Batch::stream`](super::Batch::stream): `(position, result, buffer)` in
/// completion order, where the buffer is the one the operation used. It is lent to the
/// caller until the next call of `next`, which gives it to a new operation.
pub struct Stream<'scope, 'env, F> {
    pub(super) scope: &'scope Batch<'scope, 'env>,
    pub(super) make: F,
    pub(super) depth: usize,
    pub(super) idle: Vec<ScopeBuf<'scope>>,
    pub(super) lent: Option<ScopeBuf<'scope>>,
    pub(super) in_flight: VecDeque<(usize, Handle<'scope, usize>, ScopeBuf<'scope>)>,
    pub(super) next_position: usize,
    pub(super) done: bool,
}

impl<'scope, 'env, F> Iterator for Stream<'scope, 'env, F>
where
    F: FnMut(&'scope Batch<'scope, 'env>, usize, ScopeBuf<'scope>) -> Option<Handle<'scope, usize>>,
{
    type Item = (usize, io::Result<usize>, ScopeBuf<'scope>);

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(buf) = self.lent.take() {
            self.idle.push(buf);
        }
        while !self.done && self.in_flight.len() < self.depth {
            let Some(buf) = self.idle.pop() else { break };
            match (self.make)(self.scope, self.next_position, buf) {
                Some(handle) => {
                    self.in_flight.push_back((self.next_position, handle, buf));
                    self.next_position += 1;
                }
                None => {
                    self.done = true;
                    self.idle.push(buf);
                }
            }
        }
        let item = next_ready(&self.scope.core, &mut self.in_flight)?;
        self.lent = Some(item.2);
        Some(item)
    }
}
