"""Record a policy's episodes as an MP4, rendered offscreen, and hand it to the stage's W&B run.

Rendering is headless: `MUJOCO_GL=egl` (set here when unset, which only works if MuJoCo has not been
imported yet; `python -m myorl.evaluate` sets it first). Frames come from the env's own
`render()` (`render_mode="rgb_array"`), for Gymnasium MuJoCo and MyoSuite envs alike. MyoSuite's
default free camera looks at the whole room from afar and its shadows and reflections cost ~1.5 s a
frame in software rendering, so for MyoSuite the camera is moved close to the hand (the two balls
for Baoding) and shadows and reflections are switched off: ~0.1 s a frame.
"""

from __future__ import annotations

import os

os.environ.setdefault("MUJOCO_GL", "egl")

import json  # noqa: E402
import logging  # noqa: E402
from dataclasses import dataclass, replace  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
from stable_baselines3.common.vec_env import VecNormalize  # noqa: E402

from myorl.config import EnvConfig, NormalizeConfig  # noqa: E402
from myorl.envs import build_eval_env  # noqa: E402
from myorl.errors import MyorlError  # noqa: E402
from myorl.handover import carry_statistics  # noqa: E402
from myorl.metrics import Evaluation, evaluate  # noqa: E402

log = logging.getLogger(__name__)

MYOSUITE_SIZE = 480  # square frames: a multiple of 16, as H.264 wants


class Mp4Writer:
    """Streams frames to an H.264 MP4 (imageio's ffmpeg), so no episode is held in memory; the file
    appears under its name only when complete (a temporary file, then rename)."""

    def __init__(self, path: Path, fps: int | None = None):
        self.path, self.fps, self.frames = Path(path), fps, 0  # fps: set by the recorder from its env if None
        self.tmp = self.path.with_name(f".{self.path.stem}.tmp{self.path.suffix}")
        self._writer: Any = None

    def add(self, frame: np.ndarray) -> None:
        import imageio.v2 as imageio

        try:
            if self._writer is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._writer = imageio.get_writer(self.tmp, format="FFMPEG", fps=self.fps or 30, macro_block_size=16)
            self._writer.append_data(frame)
        except OSError as exc:
            raise MyorlError(f"could not write '{self.path}': {exc}") from None
        self.frames += 1

    def close(self, keep: bool = True) -> Path:
        if self._writer is not None:
            self._writer.close()
        if not keep or not self.frames:
            self.tmp.unlink(missing_ok=True)
            if keep:
                raise MyorlError("no frames were recorded")
            return self.path
        os.replace(self.tmp, self.path)
        return self.path


class FrameRecorder(gym.Wrapper):
    """Renders one frame at each reset and after each step of the first `episodes` episodes into `writer`.

    Sits inside the vector env, below its auto-reset, so every episode's last frame is its own.
    """

    def __init__(self, env: gym.Env, episodes: int, writer: Mp4Writer):
        super().__init__(env)
        self.writer, self.max_episodes = writer, episodes
        writer.fps = writer.fps or _fps(env.unwrapped)
        self.lengths: list[int] = []  # frames of each episode started, 0 past the last one recorded

    def reset(self, **kwargs: Any):
        out = self.env.reset(**kwargs)
        # past the last episode to film (the vector env's final auto-reset): nothing is rendered
        self.lengths.append(0)
        if len(self.lengths) <= self.max_episodes:
            self._add_frame()
        return out

    def step(self, action: Any):
        out = self.env.step(action)
        if self.lengths and self.lengths[-1]:
            self._add_frame()
        return out

    def _add_frame(self) -> None:
        self.writer.add(self._frame())
        self.lengths[-1] += 1

    def _frame(self) -> np.ndarray:
        frame: Any
        try:
            if len(self.lengths) == 1 and not self.lengths[0] and _is_myosuite(self.env):
                frame = _first_myosuite_frame(self.env.unwrapped)
            else:
                frame = self.env.render()
        except Exception as exc:  # EGL / GL failures come as many types
            raise MyorlError(f"offscreen rendering failed ({type(exc).__name__}: {exc}); set MUJOCO_GL=egl "
                             "before Python starts (needs libEGL: apt-get install libegl1)") from None
        if not isinstance(frame, np.ndarray):
            raise MyorlError(f"env '{self.env.spec.id if self.env.spec else self.env}' returned no rgb_array "
                             "frame from render(); it cannot be recorded")
        return frame


def _is_myosuite(env: gym.Env) -> bool:
    return type(env.unwrapped).__module__.startswith("myosuite")


def _first_myosuite_frame(env: Any) -> np.ndarray:
    """MyoSuite builds its renderer on the first `render(**kwargs)`: a close camera, no shadows."""
    model, data = env.model, env.data
    model.light_castshadow[:] = 0
    model.mat_reflectance[:] = 0
    model.vis.quality.offsamples = 0
    names = {model.body(i).name for i in range(model.nbody)}
    if {"ball1", "ball2"} <= names:  # Baoding: look down at the balls in the palm
        lookat = (data.xpos[model.body("ball1").id] + data.xpos[model.body("ball2").id]) / 2
        camera = {"lookat": lookat, "distance": 0.3, "azimuth": 90.0, "elevation": -50.0}
    else:
        camera = {"lookat": np.array(model.stat.center), "distance": 1.5 * float(model.stat.extent)}
    return env.render(width=MYOSUITE_SIZE, height=MYOSUITE_SIZE, camera_id=-1, default_cam_config=camera)


@dataclass
class Video:
    path: Path
    frames: int
    episode_lengths: tuple[int, ...]
    evaluation: Evaluation


def write_video(policy: Any, env: EnvConfig, path: Path, *, episodes: int, seed: int, deterministic: bool = True,
                normalize: NormalizeConfig | None = None, normalize_stats: VecNormalize | None = None,
                frame_stack: int | None = None) -> Video:
    """Play `episodes` episodes with `policy` on the evaluation env of seed `seed` and write them as one MP4.

    The env is built as `myorl.envs.build_eval_env` builds it, so these are the evaluation's first
    episodes. One frame per reset and per step: an episode of n steps gives n + 1 frames.
    """
    render_env = replace(env, kwargs={**dict(env.kwargs), "render_mode": "rgb_array"})
    writer = Mp4Writer(Path(path))

    def wrap(inner: gym.Env) -> gym.Env:
        return FrameRecorder(inner, episodes, writer)

    venv = build_eval_env(render_env, seed=seed, normalize=normalize or NormalizeConfig(), frame_stack=frame_stack,
                          wrapper=wrap)
    if normalize_stats is not None:
        carry_statistics(normalize_stats, venv)
    done = False
    try:
        evaluation = evaluate(policy, venv, episodes, deterministic)
        done = True
    finally:
        venv.close()
        writer.close(keep=done)
    return Video(writer.path, writer.frames, evaluation.episode_lengths, evaluation)


def _fps(env: Any) -> int:
    """Real time: one frame per env step."""
    dt = getattr(env, "dt", None)
    if dt:
        return max(1, round(1.0 / float(dt)))
    return int(env.metadata.get("render_fps") or 30)


def write_mp4(path: Path, frames: list[np.ndarray], fps: int) -> Path:
    """Frames already in memory as an MP4."""
    writer = Mp4Writer(Path(path), fps)
    for frame in frames:
        writer.add(frame)
    return writer.close()


def count_frames(path: Path) -> int:
    """Frames in a video file (decodes it)."""
    import imageio.v3 as iio

    return sum(1 for _ in iio.imiter(path, plugin="FFMPEG"))


def log_to_tracking(tracking_file: Path, video: Path) -> str | None:
    """Log `video` to the W&B run a stage's `tracking.json` names; the run id, or None.

    No such file (tracking was off): nothing happens. A W&B failure is logged, not raised: the video
    is on disk either way.
    """
    path = Path(tracking_file)
    try:
        info = json.loads(path.read_text()) if path.is_file() else {}
    except (OSError, ValueError):
        info = {}
    if not info.get("id"):
        return None
    try:
        import wandb

        run = wandb.init(id=info["id"], project=info.get("project"), entity=info.get("entity"),
                         dir=info.get("dir"), mode=info.get("mode", "offline"), resume="allow",
                         settings=wandb.Settings(silent=True))
        try:
            run.log({"video": wandb.Video(str(video), format="mp4")})
        finally:
            run.finish()
    except Exception as exc:  # tracking must never cost the user the evaluation
        log.warning("could not log the video to W&B run %s: %s: %s", info["id"], type(exc).__name__, exc)
        return None
    return str(info["id"])
