//! A push to many devices: the first device is the canary (when it fails, nobody else is touched),
//! then the rest with at most `concurrency` uploads at once. Every outcome is returned in the
//! order of `targets`.

use std::sync::{Arc, Mutex};

use super::push::{self, Image, PushOptions, PushOutcome, PushResult, Uploaded};

pub struct Target {
    pub name: String,
    pub address: String,
}

/// Called from worker threads: (device, bytes sent, total) while uploading, and each outcome.
pub trait Observer: Sync {
    fn progress(&self, device: &str, sent: u64, total: u64);
    fn done(&self, outcome: &PushOutcome);
}

pub fn push_all(
    targets: &[Target],
    image: &Image,
    opts: &PushOptions,
    concurrency: usize,
    canary: bool,
    observer: &dyn Observer,
) -> Vec<PushOutcome> {
    let mut outcomes: Vec<Option<PushOutcome>> = targets.iter().map(|_| None).collect();
    let mut rest: Vec<usize> = (0..targets.len()).collect();
    if canary && targets.len() > 1 {
        let first = rest.remove(0);
        let o = one(&targets[first], image, opts, observer);
        let failed = !o.result.is_success();
        outcomes[first] = Some(o);
        if failed {
            for i in rest {
                outcomes[i] = Some(skipped(&targets[i], &targets[first].name));
            }
            return outcomes.into_iter().flatten().collect();
        }
    }
    // `concurrency` bounds the uploads; a device restarting into its new app waits on its own thread,
    // so the next upload need not wait for that reboot.
    let queue = Arc::new(Mutex::new(rest.into_iter()));
    let results = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..concurrency.max(1) {
            let queue = queue.clone();
            let results = &results;
            s.spawn(move || loop {
                let next = queue.lock().unwrap().next();
                let Some(i) = next else { break };
                let t = &targets[i];
                let mut progress = |sent, total| observer.progress(&t.name, sent, total);
                match push::upload(&t.name, &t.address, image, opts, &mut progress) {
                    Uploaded::Done(o) => {
                        observer.done(&o);
                        results.lock().unwrap().push((i, o));
                    }
                    Uploaded::Switching(p) => {
                        s.spawn(move || {
                            let o = push::settle(p, image, opts);
                            observer.done(&o);
                            results.lock().unwrap().push((i, o));
                        });
                    }
                }
            });
        }
    });
    for (i, o) in results.into_inner().unwrap() {
        outcomes[i] = Some(o);
    }
    outcomes.into_iter().flatten().collect()
}

fn one(t: &Target, image: &Image, opts: &PushOptions, observer: &dyn Observer) -> PushOutcome {
    let mut progress = |sent, total| observer.progress(&t.name, sent, total);
    let o = push::push(&t.name, &t.address, image, opts, &mut progress);
    observer.done(&o);
    o
}

fn skipped(t: &Target, canary: &str) -> PushOutcome {
    PushOutcome {
        result: PushResult::Skipped,
        detail: format!("not attempted: the canary {canary} failed"),
        ..PushOutcome::new(&t.name)
    }
}
