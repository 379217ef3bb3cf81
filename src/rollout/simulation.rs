//! A model of the store under the operator's decisions, to prove them safe and live.
//!
//! The world holds a StatefulSet (replicas, pod template, whether its controller has caught
//! up), its pods and the BigPeer's topology status. The operator's move is one reconcile:
//! `plan::plan` on what it sees, then what `reconcile` does with the plan (apply the
//! StatefulSet; replace a pod unless the apply left the StatefulSet pending; write status).
//! The world's moves are those of the StatefulSet controller and the kubelet, in any order:
//! take up the spec, create a missing pod (in ordinal order), start removing a pod above the
//! count (in any order: the operator may not rely on `OrderedReady`), finish removing a pod,
//! make a pod ready. No pod fails on its own, so every pod that is down is down because of
//! the operator.
//!
//! Safety, checked in every state:
//! - at most one store pod that holds data is down (missing, unready or terminating);
//! - the replication factor in force (`status.topology.current`) never exceeds the pods that
//!   hold data and are kept, so every copy has a pod, and the minimum replication factor
//!   (never above the replication factor) is met by durable copies.
//!
//! Liveness: from every reachable state the target is reachable (no deadlock, no trap), and
//! schedules that run the world eagerly, slowly or in reverse order reach it within a bound.

use std::collections::{BTreeSet, HashMap, VecDeque};

use proptest::prelude::*;

use super::plan::{StoreFacts, plan};
use super::pods::PodView;
use super::store::StoreStep;
use crate::api::{Topology, TopologyStatus};

/// A store spec that the API accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Shape {
    replicas: i32,
    partitions: i32,
    rf: i32,
    min: i32,
}

impl Shape {
    fn topology(self) -> Topology {
        Topology {
            partitions: self.partitions,
            replication_factor: self.rf,
            minimum_replication_factor: self.min,
        }
    }
}

/// Every shape the API accepts with replicas 1–`max` and the given partition counts.
fn shapes(max: i32, partitions: &[i32]) -> Vec<Shape> {
    let mut out = vec![];
    for replicas in 1..=max {
        for rf in 1..=replicas {
            for min in 1..=rf {
                for &partitions in partitions {
                    out.push(Shape {
                        replicas,
                        partitions,
                        rf,
                        min,
                    });
                }
            }
        }
    }
    out
}

/// The configuration a pod template carries (what makes a pod up to date).
type Rev = (i32, i32, i32);

fn rev(t: &Topology) -> Rev {
    (
        t.partitions,
        t.replication_factor,
        t.minimum_replication_factor,
    )
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct Pod {
    ordinal: u32,
    rev: Rev,
    ready: bool,
    terminating: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Move {
    Reconcile,
    StsSync,
    Create(u32),
    Terminate(u32),
    Gone(u32),
    Ready(u32),
}

#[derive(Clone, Debug)]
struct World {
    spec: Shape,
    sts_replicas: i32,
    template: Rev,
    caught_up: bool,
    update_revision: Rev,
    pods: Vec<Pod>,
    status: TopologyStatus,
    /// Ordinals whose volume holds copies: ready at least once, not scaled away.
    data: BTreeSet<u32>,
}

impl World {
    /// A settled store on `shape`.
    fn settled(shape: Shape) -> World {
        let t = shape.topology();
        let n = u32::try_from(shape.replicas).unwrap();
        World {
            spec: shape,
            sts_replicas: shape.replicas,
            template: rev(&t),
            caught_up: true,
            update_revision: rev(&t),
            pods: (0..n)
                .map(|ordinal| Pod {
                    ordinal,
                    rev: rev(&t),
                    ready: true,
                    terminating: false,
                })
                .collect(),
            status: TopologyStatus {
                current: t,
                transition: None,
            },
            data: (0..n).collect(),
        }
    }

    fn key(&self) -> String {
        format!(
            "{:?}|{}|{:?}|{}|{:?}|{:?}|{:?}|{:?}",
            self.spec,
            self.sts_replicas,
            self.template,
            self.caught_up,
            self.update_revision,
            self.pods,
            self.status,
            self.data
        )
    }

    fn pod(&self, o: u32) -> Option<&Pod> {
        self.pods.iter().find(|p| p.ordinal == o)
    }

    fn count(&self) -> u32 {
        u32::try_from(self.sts_replicas).unwrap()
    }

    /// The world's moves that can happen now, and the operator's reconcile.
    fn moves(&self) -> Vec<Move> {
        let mut m = vec![Move::Reconcile];
        if !self.caught_up {
            m.push(Move::StsSync);
        } else {
            // OrderedReady creation: the lowest missing pod, once all below it are ready.
            if let Some(o) = (0..self.count()).find(|o| self.pod(*o).is_none())
                && self
                    .pods
                    .iter()
                    .filter(|p| p.ordinal < o)
                    .all(|p| p.ready && !p.terminating)
            {
                m.push(Move::Create(o));
            }
            for p in &self.pods {
                if p.ordinal >= self.count() && !p.terminating {
                    m.push(Move::Terminate(p.ordinal));
                }
            }
        }
        for p in &self.pods {
            if p.terminating {
                m.push(Move::Gone(p.ordinal));
            } else if !p.ready {
                m.push(Move::Ready(p.ordinal));
            }
        }
        m
    }

    fn views(&self) -> Vec<PodView> {
        self.pods
            .iter()
            .map(|p| PodView {
                name: format!("bp-store-{}", p.ordinal),
                ordinal: Some(p.ordinal),
                updated: p.rev == self.update_revision,
                ready: p.ready,
                terminating: p.terminating,
                stuck: None,
            })
            .collect()
    }

    fn reconcile(&mut self) {
        let wanted = self.spec.topology();
        let views = self.views();
        let plan = plan(&StoreFacts {
            spec_replicas: self.spec.replicas,
            wanted: &wanted,
            sts_replicas: Some(self.sts_replicas),
            sts_caught_up: self.caught_up,
            pods: &views,
            previous: Some(&self.status),
            now: "t",
        });
        // Apply: the replicas decided, the template from the spec's topology.
        let (replicas, template) = (plan.scale.replicas(), rev(&wanted));
        let changed = replicas != self.sts_replicas || template != self.template;
        if changed {
            self.sts_replicas = replicas;
            self.template = template;
            self.caught_up = false;
        }
        // `Plan::wait_for`: a StatefulSet pending after the apply turns a step into a wait.
        if let (false, Some(StoreStep::Replace(name))) = (changed, &plan.step) {
            let p = self
                .pods
                .iter_mut()
                .find(|p| &format!("bp-store-{}", p.ordinal) == name)
                .expect("replaces a pod that exists");
            p.terminating = true;
        }
        self.status = plan.topology;
    }

    fn play(&mut self, m: Move) {
        match m {
            Move::Reconcile => self.reconcile(),
            Move::StsSync => {
                self.caught_up = true;
                self.update_revision = self.template;
            }
            Move::Create(o) => {
                self.pods.push(Pod {
                    ordinal: o,
                    rev: self.update_revision,
                    ready: false,
                    terminating: false,
                });
                self.pods.sort_by_key(|p| p.ordinal);
            }
            Move::Terminate(o) => {
                self.pods
                    .iter_mut()
                    .find(|p| p.ordinal == o)
                    .unwrap()
                    .terminating = true;
            }
            Move::Gone(o) => {
                self.pods.retain(|p| p.ordinal != o);
                if o >= self.count() {
                    self.data.remove(&o);
                }
            }
            Move::Ready(o) => {
                self.pods.iter_mut().find(|p| p.ordinal == o).unwrap().ready = true;
                self.data.insert(o);
            }
        }
    }

    /// The safety rules; an error says which one broke.
    fn check(&self) -> Result<(), String> {
        let down: Vec<u32> = self
            .data
            .iter()
            .copied()
            .filter(|o| self.pod(*o).is_none_or(|p| !p.ready || p.terminating))
            .collect();
        if down.len() > 1 {
            return Err(format!("two store pods with data are down: {down:?}"));
        }
        let kept = self.data.iter().filter(|o| **o < self.count()).count();
        let current = &self.status.current;
        let rf = usize::try_from(current.replication_factor).unwrap();
        if rf > kept {
            return Err(format!(
                "replication factor {rf} in force with {kept} pods holding data"
            ));
        }
        if current.minimum_replication_factor > current.replication_factor {
            return Err("minimum replication factor above the replication factor".into());
        }
        Ok(())
    }

    fn converged(&self) -> bool {
        let t = self.spec.topology();
        self.status.current == t
            && self.status.transition.is_none()
            && self.sts_replicas == self.spec.replicas
            && self.caught_up
            && self.pods.len() == usize::try_from(self.spec.replicas).unwrap()
            && self
                .pods
                .iter()
                .all(|p| p.ready && !p.terminating && p.rev == rev(&t) && p.ordinal < self.count())
    }
}

/// How the world is scheduled in a deterministic run.
#[derive(Clone, Copy, Debug)]
enum Schedule {
    /// After each reconcile, the world runs until nothing more can happen.
    Eager,
    /// After each reconcile, one world move: the first possible one.
    Slow,
    /// After each reconcile, one world move: the last possible one.
    Reverse,
    /// Two reconciles between world moves (a busy operator).
    Busy,
}

const SCHEDULES: [Schedule; 4] = [
    Schedule::Eager,
    Schedule::Slow,
    Schedule::Reverse,
    Schedule::Busy,
];

/// Run a world to convergence under a schedule; Err on a broken rule or a run that does
/// not end within `bound` operator steps.
fn run(mut w: World, schedule: Schedule, bound: usize) -> Result<World, String> {
    for step in 0..bound {
        w.play(Move::Reconcile);
        w.check()
            .map_err(|e| format!("after reconcile {step}: {e}\n{w:#?}"))?;
        if matches!(schedule, Schedule::Busy) {
            w.play(Move::Reconcile);
            w.check()
                .map_err(|e| format!("after reconcile {step}: {e}\n{w:#?}"))?;
        }
        if w.converged() {
            // A settled store is a fixed point of the operator.
            let before = w.key();
            w.play(Move::Reconcile);
            if w.key() != before {
                return Err(format!("a converged store still changes: {w:#?}"));
            }
            return Ok(w);
        }
        loop {
            let world: Vec<Move> = w
                .moves()
                .into_iter()
                .filter(|m| *m != Move::Reconcile)
                .collect();
            let next = match schedule {
                Schedule::Reverse => world.last(),
                _ => world.first(),
            };
            let Some(&m) = next else { break };
            w.play(m);
            w.check()
                .map_err(|e| format!("after {m:?} in step {step}: {e}\n{w:#?}"))?;
            if !matches!(schedule, Schedule::Eager) {
                break;
            }
        }
    }
    Err(format!("not converged after {bound} steps: {w:#?}"))
}

/// Explore every interleaving of operator and world moves from `start`: every reachable
/// state is safe and can still reach the target. Returns the number of states.
fn explore(start: World) -> Result<usize, String> {
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut states: Vec<World> = vec![];
    let mut edges: Vec<Vec<usize>> = vec![];
    let mut queue = VecDeque::new();
    index.insert(start.key(), 0);
    states.push(start);
    edges.push(vec![]);
    queue.push_back(0);
    while let Some(i) = queue.pop_front() {
        let w = states[i].clone();
        w.check().map_err(|e| format!("{e}\n{w:#?}"))?;
        for m in w.moves() {
            let mut n = w.clone();
            n.play(m);
            let k = n.key();
            let j = match index.get(&k) {
                Some(j) => *j,
                None => {
                    let j = states.len();
                    index.insert(k, j);
                    states.push(n);
                    edges.push(vec![]);
                    queue.push_back(j);
                    j
                }
            };
            edges[i].push(j);
        }
    }
    // Backwards from the converged states: every state must reach one.
    let mut back: Vec<Vec<usize>> = vec![vec![]; states.len()];
    for (i, out) in edges.iter().enumerate() {
        for &j in out {
            back[j].push(i);
        }
    }
    let mut reach = vec![false; states.len()];
    let mut queue: VecDeque<usize> = (0..states.len())
        .filter(|i| states[*i].converged())
        .collect();
    for &i in &queue {
        reach[i] = true;
    }
    while let Some(j) = queue.pop_front() {
        for &i in &back[j] {
            if !reach[i] {
                reach[i] = true;
                queue.push_back(i);
            }
        }
    }
    if let Some(i) = reach.iter().position(|r| !r) {
        return Err(format!(
            "a reachable state can never reach the target: {:#?}",
            states[i]
        ));
    }
    Ok(states.len())
}

/// The scenario: 3 replicas with replication factor 2 shrunk to 1 and 1 at once.
#[test]
fn shrinking_replicas_and_replication_factor_together_finishes() {
    let from = Shape {
        replicas: 3,
        partitions: 16,
        rf: 2,
        min: 1,
    };
    let to = Shape {
        replicas: 1,
        rf: 1,
        ..from
    };
    for schedule in SCHEDULES {
        let mut w = World::settled(from);
        w.spec = to;
        let end = run(w, schedule, 200).unwrap_or_else(|e| panic!("{schedule:?}: {e}"));
        assert_eq!(end.status.current, to.topology());
    }
    explore({
        let mut w = World::settled(from);
        w.spec = to;
        w
    })
    .unwrap();
}

/// Every pair (before, after) of shapes the API accepts, replicas 1–5, two partition counts:
/// every schedule converges within a bound, never breaking a safety rule.
#[test]
fn every_pair_of_topologies_converges_safely_under_every_schedule() {
    let all = shapes(5, &[12, 16]);
    assert_eq!(all.len(), 70);
    for &from in &all {
        for &to in &all {
            for schedule in SCHEDULES {
                let mut w = World::settled(from);
                w.spec = to;
                if let Err(e) = run(w, schedule, 400) {
                    panic!("{from:?} -> {to:?} under {schedule:?}: {e}");
                }
            }
        }
    }
}

/// Every pair with replicas 1–5: every interleaving of operator and world is safe, and no
/// reachable state is a trap.
#[test]
fn every_interleaving_is_safe_and_can_finish() {
    let all = shapes(5, &[12, 16]);
    let mut states = 0;
    for &from in &all {
        for &to in &all {
            let mut w = World::settled(from);
            w.spec = to;
            states += explore(w).unwrap_or_else(|e| panic!("{from:?} -> {to:?}: {e}"));
        }
    }
    assert!(states > all.len() * all.len());
    eprintln!(
        "{states} states explored over {} pairs",
        all.len() * all.len()
    );
}

fn shape() -> impl Strategy<Value = Shape> {
    (1..=5i32, prop::bool::ANY)
        .prop_flat_map(|(replicas, p)| (Just(replicas), Just(p), 1..=replicas))
        .prop_flat_map(|(replicas, p, rf)| (Just(replicas), Just(p), Just(rf), 1..=rf))
        .prop_map(|(replicas, p, rf, min)| Shape {
            replicas,
            partitions: if p { 16 } else { 12 },
            rf,
            min,
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Random sequences of spec changes, each applied after a random number of random moves
    /// (so often in the middle of a transition or a scale-down), then a fair run to the end.
    #[test]
    fn random_changes_mid_flight_stay_safe_and_finish(
        start in shape(),
        changes in prop::collection::vec((shape(), prop::collection::vec(any::<prop::sample::Index>(), 0..30)), 1..5),
    ) {
        let mut w = World::settled(start);
        for (spec, moves) in changes {
            w.spec = spec;
            for pick in moves {
                let m = w.moves();
                let chosen = *pick.get(&m);
                w.play(chosen);
                prop_assert!(w.check().is_ok(), "{:?} after {chosen:?}: {w:#?}", w.check());
            }
        }
        let end = run(w, Schedule::Slow, 400);
        prop_assert!(end.is_ok(), "{}", end.unwrap_err());
    }
}
