//! Program runs of `concurrent` branches that interleave: each runs on a
//! host thread of its own, and one baton decides who moves — the scenario
//! runner (the kernel, other branches' statements) or one run. A run hands
//! the baton back at every interleaving point
//! ([`bpfemu_kernel::runctx::Switcher`]: the return of a helper or kfunc
//! call) and waits until the runner's seeded scheduler picks its branch
//! again, so exactly one thread runs at a time and the order depends only
//! on the seed: runs interleave with each other and with the other
//! branches' statements, deterministically.

use bpfemu_kernel::bpf::test_run_detached::{DetachedDone, DetachedRun};
use bpfemu_kernel::runctx::Switcher;
use crossbeam_channel::{Receiver, Sender, bounded};
use std::sync::Arc;
use std::thread::JoinHandle;

/// What a run tells the runner when it hands the baton back.
#[derive(Debug)]
pub enum Event {
    /// At an interleaving point; resumes on [`Worker::resume`].
    Paused,
    /// Returned (or failed).
    Done(Box<DetachedDone>),
}

/// The run's side of the baton.
#[derive(Debug)]
struct Baton {
    events: Sender<Event>,
    go: Receiver<()>,
}

impl Switcher for Baton {
    fn switch(&self) {
        // The runner is waiting for this event; if it is gone (a panic on
        // its side), the run simply goes on.
        if self.events.send(Event::Paused).is_ok() {
            let _ = self.go.recv();
        }
    }
}

/// A run in progress on its own thread.
#[derive(Debug)]
pub struct Worker {
    events: Receiver<Event>,
    go: Sender<()>,
    thread: Option<JoinHandle<()>>,
}

impl Worker {
    /// Starts `run` on a new thread and waits until it first hands the
    /// baton back.
    pub fn start(run: DetachedRun) -> (Worker, Event) {
        let (ev_tx, ev_rx) = bounded(1);
        let (go_tx, go_rx) = bounded(1);
        let baton = Arc::new(Baton { events: ev_tx.clone(), go: go_rx });
        let thread = std::thread::spawn(move || {
            let done = run.execute(Some(baton));
            let _ = ev_tx.send(Event::Done(Box::new(done)));
        });
        let mut w = Worker { events: ev_rx, go: go_tx, thread: Some(thread) };
        let ev = w.wait();
        (w, ev)
    }

    /// Lets the run go on until it hands the baton back.
    pub fn resume(&mut self) -> Event {
        let _ = self.go.send(());
        self.wait()
    }

    fn wait(&mut self) -> Event {
        match self.events.recv() {
            Ok(Event::Done(d)) => {
                self.join();
                Event::Done(d)
            }
            Ok(e) => e,
            Err(_) => {
                // The thread ended without a result: it panicked.
                self.join();
                unreachable!("a detached run's thread ended without its result")
            }
        }
    }

    fn join(&mut self) {
        if let Some(t) = self.thread.take()
            && let Err(p) = t.join()
        {
            std::panic::resume_unwind(p);
        }
    }
}
