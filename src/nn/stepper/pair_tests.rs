//! The pair's books, its back-off and a partner that stalls.

use super::*;

#[test]
fn recent_values_give_their_median() {
    let mut r = Recent::default();
    assert_eq!(r.median(), None);
    r.push(3.0);
    assert_eq!(r.median(), Some(3.0));
    r.push(1.0);
    assert_eq!(r.median(), Some(3.0)); // of two, the larger
    r.push(2.0);
    assert_eq!(r.median(), Some(2.0));
    r.push(100.0); // replaces the oldest (3): 1, 2, 100
    assert_eq!(r.median(), Some(2.0));
}

#[test]
fn stalls_back_off_for_longer_when_they_follow_each_other() {
    // no partner thread and no layers: the back-off's bookkeeping alone
    let mut pair = Pair::<f64>::new(Vec::new(), Cell::Rnn, Nonlinearity::Tanh, 1, (2, 1, 1), (1, 1), false);
    assert!(!pair.in_backoff());
    pair.stalled();
    assert_eq!(pair.backoff, BACKOFF.0);
    // within the back-off every step runs alone, the clock read every SOLO_CHECK steps
    assert!((0..3 * SOLO_CHECK).all(|_| pair.in_backoff()));
    // a stall soon after the last doubles the back-off, up to its longest
    pair.stalled();
    assert_eq!(pair.backoff, BACKOFF.0 * 2);
    for _ in 0..10 {
        pair.stalled();
    }
    assert_eq!(pair.backoff, BACKOFF.1);
    // a back-off that has run out ends at the next reading of the clock
    pair.solo_until = Some(Instant::now() - Duration::from_millis(1));
    let alone = (0..SOLO_CHECK).filter(|_| pair.in_backoff()).count();
    assert_eq!(alone, SOLO_CHECK as usize - 1);
    assert!(!pair.in_backoff() && pair.solo_until.is_none());
    // a stall long after the last starts again from the shortest
    pair.last_stall = Some(Instant::now() - Duration::from_secs(3));
    pair.stalled();
    assert_eq!(pair.backoff, BACKOFF.0);
}

/// A partner that claims every half offered and then takes 2 ms over it (as when its core
/// is taken): the caller waits, counts a stall and runs on alone, and every output stays
/// the whole sequence's.
#[test]
fn a_partner_that_stalls_sends_the_steps_to_one_thread_and_the_values_stay_exact() {
    use ndarray::{Array3, Axis, s};
    use std::sync::Barrier;

    use crate::{Init, Model, ModelConfig, RnnConfig};

    let steps = 50;
    let rnn = RnnConfig::new(32, 128).with_cell(Cell::Gru);
    let model = Model::<f64>::new(ModelConfig { rnn, output_size: Some(2) }, Init::PyTorch, 4).unwrap();
    let x = Array3::from_shape_fn((steps, 1, 32), |(t, _, i)| ((t * 5 + i) as f64 * 0.7).sin());
    let (y, _, _) = model.forward_states(x.view(), None, None).unwrap();
    let mut st = super::super::Stepper::build(&model, 1, 2, false).unwrap();
    let pair = st.pair.as_mut().expect("two halves make a pair");
    let shared = Arc::clone(&pair.shared);
    let ready = Arc::new(Barrier::new(2));
    let go = Arc::clone(&ready);
    pair.partner = Some(std::thread::spawn(move || {
        go.wait();
        let mut seen = 0;
        while let Some(word) = shared.next_offer(seen) {
            seen = word >> 1;
            if word & 1 == 0
                && shared.claim.0.compare_exchange(word, word | 1, Ordering::AcqRel, Ordering::Acquire).is_ok()
            {
                std::thread::sleep(Duration::from_millis(2));
                // SAFETY: the compare-and-swap set the step's taken bit: the half is this
                // thread's until `done`.
                unsafe { shared.run_half() };
                shared.done.0.store(seen, Ordering::Release);
            }
        }
    }));
    ready.wait();
    // the sequence over and over (the stepper reset between) until the partner has claimed
    // a half: the scheduler may keep it off a CPU for a while (the pool's worker spins too)
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut t, mut stepped, mut stalled_at) = (0, 0, None);
    while stalled_at.is_none_or(|at| stepped <= at + 10) {
        assert!(Instant::now() < deadline, "the partner claimed no half in 10 s");
        if t == steps {
            st.reset();
            t = 0;
        }
        let y_t = st.step(x.index_axis(Axis(0), t)).unwrap().to_owned();
        let diff = (&y_t - &y.slice(s![t, .., ..])).mapv(f64::abs).fold(0.0, |a: f64, &b| a.max(b));
        assert!(diff < 1e-12, "step {t}: {diff}");
        let pair = st.pair.as_ref().unwrap();
        if stalled_at.is_none() && pair.last_stall.is_some() {
            stalled_at = Some(stepped);
            // alone from here: nothing more is offered during the back-off
            assert!(pair.solo_until.is_some() && pair.backoff == BACKOFF.0);
        }
        t += 1;
        stepped += 1;
    }
    // one stall: the back-off (30 ms, far longer than ten steps) kept the ten steps after it
    // on this thread (an offer would have stalled again and doubled the back-off)
    assert_eq!(st.pair.as_ref().unwrap().backoff, BACKOFF.0, "stalled at step {stalled_at:?}");
}

/// Runs one block of the books (its layer steps as `paired` says), returns how it ran.
fn block(books: &mut Books) -> bool {
    let way = books.paired();
    books.done(way);
    for _ in 1..BLOCK {
        assert_eq!(books.paired(), way, "a block runs one way");
        books.done(way);
    }
    way
}

#[test]
fn the_books_run_the_faster_way_and_probe_the_other() {
    let mut books = Books::default();
    // paired until one thread is timed, the last two blocks of every PROBE_EVERY the other way
    let ways: Vec<bool> = (0..PROBE_EVERY).map(|_| block(&mut books)).collect();
    let n = PROBE_EVERY as usize;
    assert!(ways[..n - 2].iter().all(|&w| w) && ways[n - 2..].iter().all(|&w| !w), "{ways:?}");
    // the first of the two probe blocks warms up and is not booked; the second is
    assert_eq!(books.solo.len, 1);
    // one thread faster: it runs, and pairing becomes the probe
    books.paired = Recent::default();
    books.solo = Recent::default();
    for _ in 0..3 {
        books.paired.push(2e-6);
        books.solo.push(1e-6);
    }
    let ways: Vec<bool> = (0..PROBE_EVERY).map(|_| block(&mut books)).collect();
    assert!(ways[..n - 2].iter().all(|&w| !w) && ways[n - 2..].iter().all(|&w| w), "{ways:?}");
    // a block whose way changed in the middle (a back-off) is not booked
    let before = (books.solo.next, books.paired.next);
    let way = books.paired();
    books.done(!way);
    for _ in 1..BLOCK {
        books.paired();
        books.done(way);
    }
    assert_eq!((books.solo.next, books.paired.next), before);
    // and the next one is
    block(&mut books);
    assert_ne!((books.solo.next, books.paired.next), before);
}
