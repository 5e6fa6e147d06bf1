"""Faults on purpose, from outside a run: kill `python -m myorl.run` at a chosen kind of moment, resume it with
`resume=true` until it is done, and check what it left on disk.

Used by tests/test_faults.py (one kill of each kind) and bench/faults.py (the campaign). Kinds of kill:

  random            kill -9 of the main process at a random moment of the launch (after the run has begun:
                    experiment.yaml exists)
  checkpoint_write  kill -9 while a checkpoint is being written (its hidden `.tmp-*` folder exists)
  between_stages    kill -9 after the first stage's `stage.json`, before the second stage's first checkpoint
  evaluation        kill -9 during an evaluation (the evaluation env marks its resets, `helpers.faulty_envs`)
  worker            kill -9 of one vec env worker process (found through /proc), not of the main process

Moments are found by polling the run dir (every ~1 ms) and /proc; nothing in myorl is patched.
"""

from __future__ import annotations

import json
import math
import os
import pickle
import random
import signal
import time
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

import numpy as np
import yaml

from helpers import processes
from helpers.configs import ROOT, TINY_ALGO, write_curriculum

KINDS = ("random", "checkpoint_write", "between_stages", "evaluation", "worker")
STAGES = ("first", "second")
FINISHED = ("converged", "budget_exhausted", "stalled")
POLL_S = 0.001
BARREN_RUNS = 3  # the campaign gives up after this many runs in a row without a kill
SPAN = 0.7  # random moments are drawn within this share of a launch's expected training time


# ----------------------------------------------------------------------------- the run under test
@dataclass
class Setup:
    """A two-stage run on InvertedPendulum, small enough to be killed many times, and where its files go."""

    root: Path
    budgets: tuple[int, int] = (6144, 8192)
    eval_freq: int = 1536  # not a multiple of checkpoint_freq: evaluations and checkpoints at other moments
    episodes: int = 3
    checkpoint_freq: int = 2048  # a multiple of the rollout, so checkpoints fall on rollout boundaries
    n_envs: int = 2  # > 1: the training envs step in worker processes (vec_env=auto), evaluation in the main one
    vec_env: str = "auto"
    n_steps: int = 64
    normalize: bool = True
    eval_step_s: float = 0.002  # each evaluation step sleeps this long: an evaluation lasts long enough to catch
    extra: tuple[str, ...] = ()  # more overrides
    env_kwargs: dict[str, Any] = field(default_factory=dict)  # more kwargs of the test env (crash_at, ...)

    def __post_init__(self) -> None:
        self.root = Path(self.root)
        self.markers = self.root / "markers"
        self.markers.mkdir(parents=True, exist_ok=True)
        kwargs = {"eval_marker": str(self.markers), "eval_step_s": self.eval_step_s, **self.env_kwargs}
        stages = [{"name": name, "env": {"id": "helpers.faulty_envs:Faulty-v0", "kwargs": kwargs},
                   "max_timesteps": budget, "eval": {"freq": self.eval_freq, "episodes": self.episodes}}
                  for name, budget in zip(STAGES, self.budgets)]
        self.conf = write_curriculum(self.root, "faults", stages)

    @property
    def rollout(self) -> int:
        return self.n_steps * self.n_envs

    @property
    def dirnames(self) -> list[str]:
        return [f"{i:02d}_{name}" for i, name in enumerate(STAGES)]

    def planned_timesteps(self) -> dict[str, int]:
        """Each stage's budget rounded up to whole rollouts (PPO collects whole rollouts)."""
        return {name: math.ceil(b / self.rollout) * self.rollout for name, b in zip(STAGES, self.budgets)}

    def args(self, run: Path, resume: bool) -> list[str]:
        algo = [a.replace("algo.n_steps=64", f"algo.n_steps={self.n_steps}") for a in TINY_ALGO]
        return ["--config-dir", str(self.conf), "+curriculum=faults", *algo, "progress=false", "tracking=none",
                f"n_envs={self.n_envs}", f"vec_env={self.vec_env}", f"checkpoint.freq={self.checkpoint_freq}",
                *([f"normalize.obs={self.normalize}", f"normalize.reward={self.normalize}"]),
                *self.extra, f"hydra.run.dir={run}", *(["resume=true"] if resume else [])]

    def command(self, run: Path, resume: bool) -> str:
        import shlex

        return shlex.join(["python", "-m", "myorl.run", *self.args(run, resume)])


class Launch:
    """One `python -m myorl.run` process of a run, watched from outside."""

    def __init__(self, setup: Setup, run: Path, resume: bool, log: Path):
        self.setup, self.run, self.resume, self.log = setup, run, resume, log
        self.proc: Popen[str] = processes.start("myorl.run", setup.args(run, resume), cwd=ROOT, output=log)
        self.started = time.monotonic()
        self.family: list[int] = []  # its child processes when last looked up (`look_up_family`)
        self.looked_up = 0.0

    @property
    def pid(self) -> int:
        return self.proc.pid

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def wait_for(self, condition: Callable[[], bool], timeout: float = 600, poll_s: float = POLL_S) -> bool:
        """True once `condition()` holds while the process lives; False when it ended first (or timed out)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if condition():
                return True
            if self.proc.poll() is not None:
                return condition()
            self.look_up_family()
            time.sleep(poll_s)
        return False

    def sleep(self, seconds: float) -> bool:
        """Sleep while the process lives; False when it ended first."""
        end = time.monotonic() + seconds
        return self.wait_for(lambda: time.monotonic() >= end, timeout=seconds + 1, poll_s=0.01)

    def look_up_family(self, every_s: float = 0.5) -> None:
        """Note the process's children (forkserver, vec env workers) if not done within `every_s`: a kill
        must not wait for a scan of /proc, and orphans can no longer be found through their parent."""
        if time.monotonic() - self.looked_up >= every_s:
            self.family, self.looked_up = descendants(self.pid), time.monotonic()

    def kill(self) -> None:
        """kill -9 of the main process at once; its vec env workers notice and exit (they are stopped if they
        do not)."""
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        reap(self.family)

    def finish(self, timeout: float = 900) -> int:
        """Wait for the process to end by itself; its exit code."""
        try:
            return self.proc.wait(timeout=timeout)
        except Exception:
            self.kill()
            return -9

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


# ----------------------------------------------------------------------------- processes, from /proc
def _parents() -> dict[int, int]:
    """pid -> parent pid of every process."""
    found = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            found[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    return found


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def descendants(pid: int) -> list[int]:
    parents = _parents()
    found, frontier = [], [pid]
    while frontier:
        children = [p for p, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def worker_pids(pid: int) -> list[int]:
    """The vec env worker processes of the run whose main process is `pid`: children of its multiprocessing
    forkserver (forkserver start method, SB3's and myorl's default), or its spawned children."""
    parents = _parents()
    children = [p for p, parent in parents.items() if parent == pid]
    servers = [c for c in children if "forkserver" in _cmdline(c)]
    spawned = [c for c in children if "multiprocessing.spawn" in _cmdline(c)]
    return sorted([p for p, parent in parents.items() if parent in servers] + spawned)


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def reap(pids: list[int], wait_s: float = 10.0) -> None:
    """Give processes we started (a killed run's workers, forkserver) `wait_s` to exit, then SIGKILL them."""
    deadline = time.monotonic() + wait_s
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    for p in pids:
        if alive(p):
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass


# ----------------------------------------------------------------------------- the run dir, read from outside
def record(run: Path, dirname: str) -> dict[str, Any] | None:
    try:
        return json.loads((run / "stages" / dirname / "stage.json").read_text())
    except (OSError, ValueError):
        return None


def finished(run: Path, dirname: str) -> bool:
    rec = record(run, dirname)
    return rec is not None and rec.get("status") in FINISHED


def checkpoints(run: Path, dirname: str) -> list[int]:
    """Complete checkpoints of a stage (hidden, half-written ones excluded), by timesteps."""
    root = run / "stages" / dirname / "checkpoints"
    try:
        return sorted(int(e.name) for e in os.scandir(root) if e.name.isdigit())
    except FileNotFoundError:
        return []


def partial_checkpoints(run: Path, dirname: str) -> list[str]:
    root = run / "stages" / dirname / "checkpoints"
    try:
        return [e.name for e in os.scandir(root) if e.name.startswith(".tmp-")]
    except FileNotFoundError:
        return []


def logged_steps(run: Path, dirname: str) -> int:
    """The largest step SB3's logger wrote to the stage's TensorBoard files (flushed at every rollout's end)."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    best = 0
    for path in (run / "tensorboard" / dirname).glob("events.out.tfevents.*"):
        try:
            for event in EventFileLoader(str(path)).Load():
                if event.HasField("summary"):
                    best = max(best, int(event.step))
        except Exception:  # a record cut by the kill: the ones before it count
            continue
    return best


def current_stage(setup: Setup, run: Path) -> str | None:
    """The stage a resume goes on with (the first that has not finished), None when all have."""
    return next((d for d in setup.dirnames if not finished(run, d)), None)


# ----------------------------------------------------------------------------- kills
@dataclass
class Kill:
    kind: str
    run: str
    launch: int  # 1: the first launch of the run; >1: a resume
    at_s: float  # seconds into the launch
    stage: str | None  # the stage under way at the kill (None: all had finished)
    done_steps: int  # that stage's steps logged before the kill (a lower bound: the last partial rollout is not)
    resume_from: int  # the checkpoint a resume goes on from (0: the stage starts again)
    lost: int  # done_steps - resume_from
    verified: bool  # the moment was what the kind says (see `detail`)
    detail: str


@dataclass
class Timing:
    """How long a launch takes, from an uninterrupted reference run (defaults: rough, for tests)."""

    begun_s: float = 10.0  # launch -> experiment.yaml written
    total_s: float = 60.0  # launch -> exit
    between_s: float = 8.0  # first stage's stage.json -> second stage's first checkpoint


def feasible(kind: str, setup: Setup, run: Path) -> bool:
    """Can a launch of `run` still meet a moment of this kind?"""
    if kind == "between_stages":
        return not finished(run, setup.dirnames[0])
    return current_stage(setup, run) is not None


def horizon(setup: Setup, run: Path, timing: Timing) -> float:
    """Roughly how long the run has left to train, in seconds of a launch after it has begun."""
    total = sum(setup.planned_timesteps().values())
    done = 0
    for dirname in setup.dirnames:
        rec = record(run, dirname)
        done += rec["timesteps"] if rec and rec.get("status") in FINISHED else max([0, *checkpoints(run, dirname)])
    return max(1.0, (timing.total_s - timing.begun_s) * (total - done) / total)


def random_wait(launch: Launch, rng: random.Random, timing: Timing) -> float | None:
    """Seconds to wait for a random moment of the launch: from its start when it resumes a run, from the moment
    the run has begun (experiment.yaml written) when it starts one; None when the launch ended first."""
    # Drawn within the first SPAN of what is left: the reference run's timing is rough (the machine's load
    # changes), and a moment drawn after the launch's end would place no kill at all.
    if launch.resume:
        return rng.uniform(0, timing.begun_s + SPAN * horizon(launch.setup, launch.run, timing))
    if not launch.wait_for((launch.run / "experiment.yaml").exists, poll_s=0.01):
        return None
    return rng.uniform(0, SPAN * horizon(launch.setup, launch.run, timing))


def kill_at(kind: str, launch: Launch, rng: random.Random, timing: Timing) -> Kill | None:
    """Wait for a moment of `kind` in `launch` and kill there; None when the launch ended first."""
    setup, run = launch.setup, launch.run
    detail, verified = "", True
    if kind == "random":
        wait = random_wait(launch, rng, timing)
        if wait is None or not launch.sleep(wait):
            return None
        launch.kill()
        detail = f"{launch.elapsed():.2f}s into the launch"
    elif kind == "checkpoint_write":
        skip, seen = rng.randrange(3), set()
        dirs = [run / "stages" / d / "checkpoints" for d in setup.dirnames]

        def partial() -> set[str]:
            found = set()
            for root in dirs:
                try:
                    found.update(f"{root}/{e.name}" for e in os.scandir(root) if e.name.startswith(".tmp-"))
                except FileNotFoundError:
                    pass
            return found
        stale = partial()  # left by an earlier kill (the resume removes them): not this launch's writes

        def writing() -> bool:
            seen.update(partial() - stale)
            return len(seen) > skip
        if not launch.wait_for(writing):
            return None
        launch.kill()
        left = [name for d in setup.dirnames for name in partial_checkpoints(run, d)
                if str(run / "stages" / d / "checkpoints" / name) not in stale]
        verified = bool(left)
        detail = f"inside checkpoint write #{skip + 1} of the launch; left half-written: {', '.join(left) or 'none'}"
    elif kind == "between_stages":
        first, second = setup.dirnames
        # finished, not only recorded: a stage.json of a failed launch (a killed worker) is there already
        if not launch.wait_for(lambda: finished(run, first), poll_s=0.005):
            return None
        wait = rng.uniform(0, 0.8 * timing.between_s)
        end = time.monotonic() + wait
        if not launch.wait_for(lambda: time.monotonic() >= end or bool(checkpoints(run, second))
                               or bool(partial_checkpoints(run, second)), poll_s=0.002):
            return None
        verified = finished(run, first) and not checkpoints(run, second) and not partial_checkpoints(run, second)
        launch.kill()
        detail = (f"{wait:.2f}s after '{first}' ended; second stage had "
                  f"{logged_steps(run, second)} logged steps and no checkpoint" if verified
                  else f"{wait:.2f}s after '{first}' ended, but the second stage had a checkpoint already")
    elif kind == "evaluation":
        skip = rng.randrange(3)
        per_eval = setup.episodes + 1  # resets of one evaluation
        marker = setup.markers / f"evals-{launch.pid}"

        def lines() -> int:
            try:
                return marker.read_text().count("\n")
            except FileNotFoundError:
                return 0
        if not launch.wait_for(lambda: marker.exists() and lines() > skip * per_eval):
            return None
        launch.kill()
        n = lines()
        verified = n % per_eval != 0
        detail = f"in evaluation #{skip + 1} of the launch, after {n - skip * per_eval} of its {per_eval} resets"
    elif kind == "worker":
        wait = random_wait(launch, rng, timing)
        if wait is None or not launch.sleep(wait) \
                or not launch.wait_for(lambda: bool(worker_pids(launch.pid)), poll_s=0.01):
            return None
        workers = worker_pids(launch.pid)
        victim = rng.choice(workers)
        os.kill(victim, signal.SIGKILL)
        code = launch.finish(timeout=300)
        stage = current_stage(setup, run)
        rec = record(run, stage) if stage else None
        reason = (rec or {}).get("reason") or ""
        said = next((line for line in launch.output().splitlines() if line.startswith("myorl: ")), "")
        verified = code != 0 and f"pid {victim}," in said and "SIGKILL" in said  # this launch's error, this worker
        detail = (f"worker pid {victim} of {workers} killed {launch.elapsed():.2f}s into the launch; main exited "
                  f"{code}: {said[len('myorl: '):]}; stage.json of '{stage}': {(rec or {}).get('status')}, "
                  f"{reason.splitlines()[0] if reason else ''}")
    else:
        raise ValueError(f"unknown kind {kind!r}; one of {KINDS}")
    stage = current_stage(setup, run)
    done = logged_steps(run, stage) if stage else 0
    start = max([0, *checkpoints(run, stage)]) if stage else 0
    return Kill(kind=kind, run=run.name, launch=0, at_s=round(launch.elapsed(), 2), stage=stage, done_steps=done,
                resume_from=start, lost=max(0, done - start), verified=verified, detail=detail)


# ----------------------------------------------------------------------------- what a run left
def check_files(run: Path) -> tuple[list[str], list[str], int]:
    """(partial files, corrupt files with the reason, files checked) anywhere in the run dir.

    Partial: a temporary file or folder of an atomic write (`.<name>.<random>.tmp`, `.tmp-*`). Corrupt: a
    file that does not load as its kind: JSON, YAML (experiment.yaml with its end line), model zip (every
    member's CRC, SB3's members), VecNormalize pickle, npz (every array), TensorBoard events (every record).
    """
    from stable_baselines3.common.vec_env import VecNormalize
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    partial, corrupt, checked = [], [], 0
    for path in sorted(run.rglob("*")):
        rel = str(path.relative_to(run))
        if path.name.startswith(".tmp-") or (path.name.startswith(".") and path.name.endswith(".tmp")):
            partial.append(rel)
            continue
        if not path.is_file() or path.name == ".lock":
            continue
        checked += 1
        try:
            if path.suffix == ".json":
                json.loads(path.read_text())
            elif path.suffix == ".yaml":
                text = path.read_text()
                yaml.safe_load(text)
                if path.name == "experiment.yaml" and not text.rstrip().endswith("# end of experiment.yaml"):
                    raise ValueError("no end line")
            elif path.suffix == ".zip":
                with zipfile.ZipFile(path) as archive:
                    bad = archive.testzip()
                    if bad or not {"data", "policy.pth"} <= set(archive.namelist()):
                        raise ValueError(f"bad member {bad}")
            elif path.suffix == ".pkl":
                with open(path, "rb") as f:
                    loaded = pickle.load(f)  # continuation.pkl: a checkpoint's env states and random streams
                if path.name.endswith("vecnormalize.pkl") and not isinstance(loaded, VecNormalize):
                    raise ValueError("not VecNormalize")
            elif path.suffix == ".npz":
                with np.load(path, allow_pickle=True) as data:
                    for key in data.files:
                        data[key]
            elif path.name.startswith("events.out.tfevents"):
                list(EventFileLoader(str(path)).Load())
            else:
                path.read_bytes()
        except Exception as exc:
            corrupt.append(f"{rel} ({type(exc).__name__}: {exc})")
    return partial, corrupt, checked


def check_run(setup: Setup, run: Path, expected: dict[str, dict[str, Any]]) -> list[str]:
    """What is wrong with a finished run: stage records against the uninterrupted run's, summary, files."""
    problems = []
    for dirname, name in zip(setup.dirnames, STAGES):
        rec = record(run, dirname)
        want = expected[name]
        if rec is None:
            problems.append(f"{dirname}: no stage.json")
        elif (rec["status"], rec["timesteps"]) != (want["status"], want["timesteps"]):
            problems.append(f"{dirname}: {rec['status']} after {rec['timesteps']} steps, the uninterrupted run: "
                            f"{want['status']} after {want['timesteps']}")
    try:
        names = [s["name"] for s in json.loads((run / "summary.json").read_text())["stages"]]
        if names != list(STAGES):
            problems.append(f"summary.json lists {names}, not each stage once")
    except (OSError, ValueError, KeyError) as exc:
        problems.append(f"summary.json unreadable ({exc})")
    partial, corrupt, _ = check_files(run)
    problems += [f"partial file left: {p}" for p in partial] + [f"corrupt file: {c}" for c in corrupt]
    return problems


# ----------------------------------------------------------------------------- the campaign
@dataclass
class Reference:
    """The uninterrupted run: what each stage records, and how long the moments take."""

    expected: dict[str, dict[str, Any]]
    timing: Timing
    wall_s: float


def reference(setup: Setup, run: Path, log: Path) -> Reference:
    launch = Launch(setup, run, resume=False, log=log)
    first, second = setup.dirnames
    marks: dict[str, float] = {}
    while launch.proc.poll() is None:
        now = launch.elapsed()
        if "begun" not in marks and (run / "experiment.yaml").exists():
            marks["begun"] = now
        if "first_end" not in marks and record(run, first) is not None:
            marks["first_end"] = now
        if "second_ckpt" not in marks and checkpoints(run, second):
            marks["second_ckpt"] = now
        time.sleep(0.01)
    wall = launch.elapsed()
    if launch.proc.returncode != 0:
        raise RuntimeError(f"the reference run failed:\n{launch.output()[-3000:]}")
    expected = {}
    for dirname, name in zip(setup.dirnames, STAGES):
        rec = record(run, dirname) or {}
        expected[name] = {"status": rec.get("status"), "timesteps": rec.get("timesteps")}
    timing = Timing(begun_s=marks.get("begun", 10.0), total_s=wall,
                    between_s=marks.get("second_ckpt", wall) - marks.get("first_end", 0.0))
    return Reference(expected, timing, wall)


@dataclass
class RunResult:
    run: str
    launches: int
    kills: list[Kill]
    final_code: int
    problems: list[str]
    timesteps: dict[str, int | None]


def fault_run(setup: Setup, run: Path, queue: list[str], rng: random.Random, timing: Timing,
              expected: dict[str, dict[str, Any]], max_kills: int, logs: Path,
              say: Callable[[str], None] = lambda _: None, deadline: float = math.inf) -> RunResult:
    """One run: launch, kill at the next feasible kind of the queue (taken from it), resume with `resume=true`,
    ... until `max_kills` kills, none is feasible or `deadline` (monotonic) passed; then resume until done
    and check the run."""
    kills: list[Kill] = []
    launches, code = 0, -1
    while True:
        launches += 1
        placing = len(kills) < max_kills and time.monotonic() < deadline
        kind = next((k for k in queue if feasible(k, setup, run)), None) if placing else None
        launch = Launch(setup, run, resume=launches > 1, log=logs / f"{run.name}-{launches}.log")
        if kind is None:
            code = launch.finish()
            say(f"{run.name} launch {launches}: ran to the end, exit {code}")
            break
        kill = kill_at(kind, launch, rng, timing)
        if kill is None:  # the launch ended before such a moment came: it finished the run (or failed)
            code = launch.finish()
            say(f"{run.name} launch {launches}: no '{kind}' moment came; exit {code}")
            break
        queue.remove(kind)
        kill.launch = launches
        kills.append(kill)
        say(f"{run.name} launch {launches}: {kind} at {kill.at_s}s, stage {kill.stage}, lost {kill.lost} steps, "
            f"{'verified' if kill.verified else 'NOT verified'}: {kill.detail}")
    problems = [] if code == 0 else [f"last launch exited {code}: {launch.output()[-600:]}"]
    problems += check_run(setup, run, expected)
    timesteps = {name: (record(run, d) or {}).get("timesteps") for d, name in zip(setup.dirnames, STAGES)}
    return RunResult(run.name, launches, kills, code, problems, timesteps)


def campaign(setup: Setup, counts: dict[str, int], seed: int, kills_per_run: int,
             say: Callable[[str], None] = print, deadline: float = math.inf,
             progress: Callable[[dict[str, Any]], None] = lambda _: None) -> dict[str, Any]:
    """A reference run, then runs killed `sum(counts)` times in all (each kind as often as `counts` says, in a
    random order), each resumed until done and checked; no kill is placed after `deadline` (monotonic).
    Returns every figure, as JSON-ready data; `progress` gets the same after each run."""
    rng = random.Random(seed)
    logs = setup.root / "logs"
    logs.mkdir(exist_ok=True)
    say("reference run (uninterrupted) ...")
    ref = reference(setup, setup.root / "reference", logs / "reference.log")
    say(f"reference: {ref.expected}, {ref.wall_s:.1f}s, timing {ref.timing}")
    ref_problems = check_run(setup, setup.root / "reference", ref.expected)
    queue = [kind for kind, n in counts.items() for _ in range(n)]
    rng.shuffle(queue)
    results: list[RunResult] = []
    started = time.monotonic()

    def data() -> dict[str, Any]:
        kills = [k for r in results for k in r.kills]
        return {"reference": {"expected": ref.expected, "wall_s": round(ref.wall_s, 1),
                              "timing": asdict(ref.timing), "problems": ref_problems},
                "runs": [asdict(r) for r in results], "kills": [asdict(k) for k in kills],
                "unplaced": list(queue), "campaign_s": round(time.monotonic() - started, 1)}
    barren = 0  # runs in a row that placed no kill (their moment came after the launch had ended)
    while queue and time.monotonic() < deadline:
        run = setup.root / f"run{len(results):02d}"
        results.append(fault_run(setup, run, queue, rng, ref.timing, ref.expected, kills_per_run, logs, say,
                                 deadline))
        progress(data())
        barren = 0 if results[-1].kills else barren + 1
        if barren == BARREN_RUNS:
            say(f"no kill of {sorted(set(queue))} could be placed in {barren} runs in a row; stopping")
            break
        if not results[-1].kills:
            rng.shuffle(queue)  # another kind first next time
    return data()
