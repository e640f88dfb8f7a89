//! The ring buffer and perf buffer family: consume records the way a user
//! process does (through `bpfemu_user`'s `RingBuffer` / `PerfBuffer` on
//! their own mappings), look at a ring's positions and wakeup count, open
//! per-CPU perf buffers, and inject an NMI at a preemption point hit
//! inside a program run.
//!
//! ```text
//! consume RB [max=N] [poll=yes]       => count=N [data=BYTES]
//! ringbuf_stat RB                     => cons=N prod=N avail=N size=N wakeups=N
//! reserve REC map=RB size=N [fill=BYTES] => pos=N
//! commit REC [flags=N] [discard=yes]  => wakeup=0|1
//! nmi PROG at=ringbuf_reserve_locked [ctx=BYTES] [times=N]
//! perf_open PB cpu=N [pages=N] [wakeup=N]
//! perf_consume PB [poll=yes]          => count=N lost=N [data=BYTES]
//! ```

use super::{Family, Kind, ObjKind, Planned, Spec};
use crate::run::{Outcome, Runner};
use crate::value::Val;
use bpfemu_kernel::Errno;
use bpfemu_kernel::sim::preempt::HookMode;
use bpfemu_user::perf_buffer::{PerfBuffer, PerfEvent};
use bpfemu_user::ringbuf::{RingBuffer, RingBufferOpts};
use bpfemu_vm::MemRegion;
use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use Kind as K;
use ObjKind as O;

/// The statements.
pub static FAMILY: Family = Family {
    name: "ringbuf",
    specs: &[
        Spec {
            name: "consume",
            pos: &[("ring buffer map", K::Name(O::Map))],
            keys: &[("max", K::Int, false), ("poll", K::Word, false)],
            fields: &[("count", K::Int), ("data", K::Bytes)],
            usage: "consume RB [max=N] [poll=yes]   (each record is printed; data is their concatenation)",
        },
        Spec {
            name: "ringbuf_stat",
            pos: &[("ring buffer map", K::Name(O::Map))],
            keys: &[],
            fields: &[
                ("cons", K::Int),
                ("prod", K::Int),
                ("avail", K::Int),
                ("size", K::Int),
                ("wakeups", K::Int),
            ],
            usage: "ringbuf_stat RB => cons=N prod=N avail=N size=N wakeups=N",
        },
        Spec {
            name: "reserve",
            pos: &[("record name", K::Text)],
            keys: &[("map", K::Name(O::Map), true), ("size", K::Int, true), ("fill", K::Bytes, false)],
            fields: &[("pos", K::Int)],
            usage: "reserve REC map=RB size=N [fill=BYTES]   (a producer in flight, e.g. a program on another CPU)",
        },
        Spec {
            name: "commit",
            pos: &[("record name", K::Text)],
            keys: &[("flags", K::Int, false), ("discard", K::Word, false)],
            fields: &[("wakeup", K::Int)],
            usage: "commit REC [flags=N] [discard=yes]   (bpf_ringbuf_submit / _discard of a reserved record)",
        },
        Spec {
            name: "nmi",
            pos: &[("program name", K::Name(O::Prog))],
            keys: &[("at", K::Text, true), ("ctx", K::Bytes, false), ("times", K::Int, false)],
            fields: &[],
            usage: "nmi PROG at=POINT [ctx=BYTES] [times=N]   (runs PROG in NMI context when a run hits POINT)",
        },
        Spec {
            name: "perf_open",
            pos: &[("perf event array map", K::Name(O::Map))],
            keys: &[("cpu", K::Int, true), ("pages", K::Int, false), ("wakeup", K::Int, false)],
            fields: &[],
            usage: "perf_open PB cpu=N [pages=N] [wakeup=N]   (perf_event_open + map update at key N)",
        },
        Spec {
            name: "perf_consume",
            pos: &[("perf event array map", K::Name(O::Map))],
            keys: &[("poll", K::Word, false)],
            fields: &[("count", K::Int), ("lost", K::Int), ("data", K::Bytes)],
            usage: "perf_consume PB [poll=yes] => count=N lost=N data=BYTES",
        },
    ],
};

fn int(v: impl Into<i128>) -> Val {
    Val::Int(v.into())
}

/// Hex of a record for the trace: the first 32 bytes, then `...`.
fn hex(b: &[u8]) -> String {
    let mut s: String = b.iter().take(32).map(|x| format!("{x:02x}")).collect();
    if b.len() > 32 {
        s.push_str("...");
    }
    s
}

/// Whether an expectation names `field` (the concatenated data is long:
/// it is reported only when asked for; the records are printed anyway).
fn wants(p: &Planned, field: &str) -> bool {
    p.expect.as_ref().is_some_and(|alts| {
        alts.iter().any(|a| matches!(a, super::Alt::Fields(f) if f.iter().any(|(k, _)| k == field)))
    })
}

fn yes(p: &Planned, key: &str) -> bool {
    matches!(p.text(key), Some("yes" | "true" | "1"))
}

/// Runs a statement of this family.
pub fn exec(r: &mut Runner, p: &Planned) -> Option<Outcome> {
    Some(match p.spec.name {
        "consume" => consume(r, p),
        "ringbuf_stat" => stat(r, p),
        "nmi" => nmi(r, p),
        "reserve" => reserve(r, p),
        "commit" => commit(r, p),
        "perf_open" => perf_open(r, p),
        "perf_consume" => perf_consume(r, p),
        _ => return None,
    })
}

/// A `RingBuffer` kept between statements (for `poll=yes`: epoll's ready
/// list lives in it) and the records its callback collected.
pub struct Poller {
    rb: RingBuffer<'static>,
    sink: Rc<RefCell<Vec<Vec<u8>>>>,
}

impl std::fmt::Debug for Poller {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.rb.fmt(f)
    }
}

fn poller(r: &mut Runner, name: &str) -> Result<(), Errno> {
    let fd = r.fd(name)?;
    if r.rb_pollers.contains_key(name) {
        return Ok(());
    }
    let sink = Rc::new(RefCell::new(Vec::new()));
    let s = sink.clone();
    let rb = RingBuffer::new(
        &mut r.k,
        fd,
        Box::new(move |d: &[u8]| {
            s.borrow_mut().push(d.to_vec());
            0
        }),
        RingBufferOpts { sim: true },
    )?;
    r.rb_pollers.insert(name.to_string(), Poller { rb, sink });
    Ok(())
}

fn consume(r: &mut Runner, p: &Planned) -> Outcome {
    let name = p.name(0).to_string();
    let (n, records) = if yes(p, "poll") {
        poller(r, &name)?;
        let pl = r.rb_pollers.get_mut(&name).expect("poller");
        let n = pl.rb.poll(0);
        (n, std::mem::take(&mut *pl.sink.borrow_mut()))
    } else {
        let fd = r.fd(&name)?;
        let records = RefCell::new(Vec::<Vec<u8>>::new());
        let mut rb = RingBuffer::new(
            &mut r.k,
            fd,
            Box::new(|s: &[u8]| {
                records.borrow_mut().push(s.to_vec());
                0
            }),
            RingBufferOpts { sim: true },
        )?;
        let n = if let Some(max) = p.int("max") { rb.consume_n(max as u64) } else { rb.consume() };
        drop(rb);
        (n, records.into_inner())
    };
    if n < 0 {
        return Err(Errno::from_raw(-n as i32).unwrap_or(Errno::EINVAL));
    }
    for (i, rec) in records.iter().enumerate() {
        r.note(format!("record {i}: {} ({} bytes)", hex(rec), rec.len()));
    }
    let mut out = vec![("count".into(), int(n))];
    if wants(p, "data") {
        out.push(("data".into(), Val::Bytes(records.concat())));
    }
    Ok(out)
}

fn stat(r: &mut Runner, p: &Planned) -> Outcome {
    let fd = r.fd(p.name(0))?;
    let obj = r.k.fd_obj(fd)?;
    let map = obj.map()?;
    let rb = map.ops.as_ringbuf().ok_or(Errno::EINVAL)?;
    Ok(vec![
        ("cons".into(), int(rb.consumer_pos())),
        ("prod".into(), int(rb.producer_pos())),
        ("avail".into(), int(rb.avail_data())),
        ("size".into(), int(rb.size())),
        ("wakeups".into(), int(rb.wakeups())),
    ])
}

fn reserve(r: &mut Runner, p: &Planned) -> Outcome {
    let name = p.name(0).to_string();
    if r.rb_records.contains_key(&name) {
        return Err(Errno::EEXIST);
    }
    let fd = r.fd(p.text("map").unwrap_or(""))?;
    let map = r.k.fd_obj(fd)?.map()?.clone();
    let rb = map.ops.as_ringbuf().ok_or(Errno::EINVAL)?;
    let size = u64::try_from(p.int("size").unwrap_or(0)).map_err(|_| Errno::EINVAL)?;
    let fill = p.bytes("fill").map(|b| r.resolve(b)).transpose()?.unwrap_or_default();
    if fill.len() as u64 > size {
        return Err(Errno::EINVAL);
    }
    let pos = rb.producer_pos();
    // A producer in task context: waits for the lock; NULL → EAGAIN.
    let sample = rb.reserve(size, false, || {}).map_err(|_| Errno::EAGAIN)?;
    rb.write_payload(sample, &fill);
    r.rb_records.insert(name, (map.clone(), sample));
    Ok(vec![("pos".into(), int(pos))])
}

fn commit(r: &mut Runner, p: &Planned) -> Outcome {
    let (map, sample) = r.rb_records.remove(p.name(0)).ok_or(Errno::ENOENT)?;
    let rb = map.ops.as_ringbuf().ok_or(Errno::EINVAL)?;
    let hdr = rb.record_of(sample).ok_or(Errno::EINVAL)?;
    let flags = u64::try_from(p.int("flags").unwrap_or(0)).map_err(|_| Errno::EINVAL)?;
    let woke = rb.commit(hdr, flags, yes(p, "discard"));
    Ok(vec![("wakeup".into(), int(u8::from(woke)))])
}

fn nmi(r: &mut Runner, p: &Planned) -> Outcome {
    let fd = r.fd(p.name(0))?;
    let prog = r.k.fd_obj(fd)?.prog()?.clone();
    let ctx = p.bytes("ctx").map(|b| r.resolve(b)).transpose()?.unwrap_or_default();
    let fast = prog.verified && !r.k.paranoid();
    let point = p.text("at").unwrap_or_default().to_string();
    let mode = match p.int("times") {
        Some(n) => HookMode::Times(u32::try_from(n).map_err(|_| Errno::EINVAL)?),
        None => HookMode::Once,
    };
    let name = p.name(0).to_string();
    let at = point.clone();
    let action = Arc::new(move || {
        let mut buf = ctx.clone();
        let addr = if buf.is_empty() { 0 } else { buf.as_mut_ptr().expose_provenance() as u64 };
        let regions =
            if buf.is_empty() { Vec::new() } else { vec![MemRegion::from_mut_slice("ctx", &mut buf)] };
        match bpfemu_kernel::bpf::run::run_nested(&prog, &[addr], &regions, fast, true) {
            Ok(r0) => format!("NMI at {at}: {name} ran, r0={}", r0 as i32),
            Err(Some(e)) => format!("NMI at {at}: {name} failed: {e}"),
            Err(None) => format!("NMI at {at}: no run to interrupt"),
        }
    });
    r.k.run_points.register(&point, mode, action);
    Ok(Vec::new())
}

fn perf_open(r: &mut Runner, p: &Planned) -> Outcome {
    let fd = r.fd(p.name(0))?;
    let cpu = u32::try_from(p.int("cpu").unwrap_or(0)).map_err(|_| Errno::EINVAL)?;
    let pages = u32::try_from(p.int("pages").unwrap_or(1)).map_err(|_| Errno::EINVAL)?;
    let wakeup = u32::try_from(p.int("wakeup").unwrap_or(1)).map_err(|_| Errno::EINVAL)?;
    r.k.perf_event_open_bpf_output(fd, cpu, pages, wakeup)?;
    Ok(Vec::new())
}

fn perf_consume(r: &mut Runner, p: &Planned) -> Outcome {
    let fd = r.fd(p.name(0))?;
    let events = RefCell::new(Vec::<PerfEvent>::new());
    let mut pb = PerfBuffer::open_existing(&mut r.k, fd, Box::new(|ev| events.borrow_mut().push(ev)), true)?;
    let n = if yes(p, "poll") { pb.poll(0) } else { pb.consume() };
    drop(pb);
    if n < 0 {
        return Err(Errno::from_raw(-n as i32).unwrap_or(Errno::EINVAL));
    }
    let mut data = Vec::new();
    let (mut count, mut lost) = (0u64, 0u64);
    for ev in events.into_inner() {
        match ev {
            PerfEvent::Sample { cpu, data: d } => {
                r.note(format!("cpu {cpu} sample: {} ({} bytes)", hex(&d), d.len()));
                count += 1;
                data.extend_from_slice(&d);
            }
            PerfEvent::Lost { cpu, lost: n } => {
                r.note(format!("cpu {cpu} lost {n} samples"));
                lost += n;
            }
        }
    }
    let mut out = vec![("count".into(), int(count)), ("lost".into(), int(lost))];
    if wants(p, "data") {
        out.push(("data".into(), Val::Bytes(data)));
    }
    Ok(out)
}
