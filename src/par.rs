//! par: work spread over the machine's cores with results kept in order. Rendering is pure
//! and clients are independent, so a zone's clients render on every core while the caller
//! still sees the files one at a time, in the order one thread would have made them.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, mpsc};

/// Threads to render on: the cores the process may use, at most 4 (past that the consumer
/// of the results, one thread, is the limit).
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
}

/// Runs `work` on every job, on up to `threads()` threads, and hands the results to `sink`
/// in job order, on the calling thread. The first error of `sink` stops the work and is
/// returned. At most a few results wait in memory beyond the one `sink` is waiting for.
pub fn ordered<J, R, E>(
    jobs: &[J],
    work: impl Fn(&J) -> R + Sync,
    mut sink: impl FnMut(R) -> Result<(), E>,
) -> Result<(), E>
where
    J: Sync,
    R: Send,
{
    let threads = threads().min(jobs.len());
    if threads <= 1 {
        return jobs.iter().try_for_each(|j| sink(work(j)));
    }
    let next = AtomicUsize::new(0);
    // Jobs handed to `sink` so far: a worker does not start a job more than `ahead` past it,
    // so a slow job cannot make the others pile up their results in memory.
    let done = (Mutex::new(0usize), Condvar::new());
    let stop = AtomicBool::new(false);
    let ahead = threads * 2;
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::sync_channel::<(usize, R)>(ahead);
        for _ in 0..threads {
            let tx = tx.clone();
            let (next, done, stop, work) = (&next, &done, &stop, &work);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= jobs.len() {
                        break;
                    }
                    {
                        let (count, moved) = done;
                        let mut count = count.lock().unwrap_or_else(|e| e.into_inner());
                        while i >= *count + ahead && !stop.load(Ordering::Relaxed) {
                            count = moved.wait(count).unwrap_or_else(|e| e.into_inner());
                        }
                    }
                    if stop.load(Ordering::Relaxed) || tx.send((i, work(&jobs[i]))).is_err() {
                        return;
                    }
                }
            });
        }
        drop(tx);
        let mut waiting = BTreeMap::new();
        let mut want = 0;
        let result = (|| {
            for (i, r) in &rx {
                waiting.insert(i, r);
                while let Some(r) = waiting.remove(&want) {
                    sink(r)?;
                    want += 1;
                    let (count, moved) = &done;
                    *count.lock().unwrap_or_else(|e| e.into_inner()) = want;
                    moved.notify_all();
                }
            }
            Ok(())
        })();
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
            let (count, moved) = &done;
            let _guard = count.lock().unwrap_or_else(|e| e.into_inner());
            moved.notify_all();
        }
        // Dropping the receiver makes every pending send fail, so the workers end.
        drop(rx);
        result
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_arrive_in_job_order_whatever_order_they_finish_in() {
        let jobs: Vec<u64> = (0..200).collect();
        let mut seen = Vec::new();
        ordered(
            &jobs,
            |&j| {
                // Early jobs take longest, so later ones finish first.
                std::thread::sleep(std::time::Duration::from_micros((200 - j) * 20));
                j * 2
            },
            |r| {
                seen.push(r);
                Ok::<(), ()>(())
            },
        )
        .expect("no error");
        assert_eq!(seen, jobs.iter().map(|j| j * 2).collect::<Vec<_>>());
    }

    #[test]
    fn an_error_of_the_sink_stops_the_work_and_is_returned() {
        let jobs: Vec<u32> = (0..10_000).collect();
        let started = AtomicUsize::new(0);
        let mut taken = 0;
        let result = ordered(
            &jobs,
            |&j| {
                started.fetch_add(1, Ordering::Relaxed);
                j
            },
            |j| {
                taken += 1;
                if j == 10 { Err(j) } else { Ok(()) }
            },
        );
        assert_eq!(result, Err(10));
        assert_eq!(taken, 11);
        assert!(started.load(Ordering::Relaxed) < 100, "the work stopped");
    }
}
