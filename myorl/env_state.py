"""The state of envs and vec envs, read and written back, so a resumed stage continues every episode.

Gymnasium wrappers no longer forward attribute access and `EzPickle` pickles an env as its constructor
arguments (no state), so nothing else captures where an env is. `ResumableEnv`, the outermost wrapper of
every env `myorl.envs.make_env` builds, reads (`get_env_state`) and writes (`set_env_state`) the state of
its whole wrapper chain; a vec env reaches it through `env_method`, in its own process or in a worker.

Per layer, from the outside in:
- SB3's `Monitor`: the current episode's rewards, `needs_reset`, step and episode records, its clock;
- myorl's `MujocoInstability`: the warning count it compares against;
- Gymnasium's `TimeLimit` (elapsed steps), `OrderEnforcing` (has reset), `PassiveEnvChecker` (checked);
- the base env: its `np_random` (bit generator state and seed), its spaces' generators and, for a MuJoCo
  env (`model`/`data`), the full integration state (`mj_getState` with `mjSTATE_INTEGRATION`, MuJoCo's
  signature for exact reproduction) and the warning counters, which that state leaves out.

Any layer (wrapper or base env) may carry more through the protocol `get_resume_state() -> dict` /
`set_resume_state(dict)` (MyoSuite's Baoding subclass does: its goal, counter, task and the model fields
it changes). A wrapper that is none of these and has no such method is reported in `unsaved`: its state,
if it has any, is not restored.

`get_vec_env_state` / `set_vec_env_state` add the vec env's own layers: VecNormalize's running discounted
returns (its pickle drops them) and last raw observation and reward, VecFrameStack's stacked frames, and
the base vec env's pending reset seeds and options (an eval env that has not run yet still seeds its
first reset).
"""

from __future__ import annotations

import copy
import inspect
import time
from typing import Any

import gymnasium as gym
import mujoco
import numpy as np
from gymnasium.wrappers import OrderEnforcing, PassiveEnvChecker, TimeLimit
from stable_baselines3.common.monitor import Monitor
from stable_baselines3.common.vec_env import VecEnv, VecEnvWrapper, VecFrameStack, VecNormalize

from myorl.errors import MyorlError
from myorl.faults import MujocoInstability

GET, SET = "get_resume_state", "set_resume_state"  # the protocol's method names

# Wrappers whose whole state is these attributes.
_ATTRIBUTES: dict[type, tuple[str, ...]] = {
    TimeLimit: ("_elapsed_steps",),
    OrderEnforcing: ("_has_reset",),
    PassiveEnvChecker: ("checked_reset", "checked_step", "checked_render"),
    MujocoInstability: ("_warnings",),
}
# Wrappers known to hold no state of their own (by name: their packages are not imported here).
STATELESS = frozenset({"MjInstabilityTerminationWrapper"})

_INTEGRATION = mujoco.mjtState.mjSTATE_INTEGRATION


def _defines(layer: Any, name: str) -> bool:
    """Whether the layer's class itself has `name` (not an attribute forwarded from the env inside it)."""
    return callable(inspect.getattr_static(type(layer), name, None))


# --------------------------------------------------------------------------- random generators
def generator_state(rng: np.random.Generator | None) -> dict[str, Any] | None:
    return None if rng is None else dict(copy.deepcopy(rng.bit_generator.state))


def restored_generator(current: np.random.Generator | None, state: dict[str, Any] | None
                       ) -> np.random.Generator | None:
    """`current` with `state` set (kept as the same object), or a new generator when there is none."""
    if state is None:
        return None
    if current is None or type(current.bit_generator).__name__ != state["bit_generator"]:
        current = np.random.Generator(getattr(np.random, state["bit_generator"])())
    current.bit_generator.state = copy.deepcopy(state)
    return current


def space_state(space: gym.Space) -> dict[str, Any] | None:
    return generator_state(getattr(space, "_np_random", None))


def set_space_state(space: gym.Space, state: dict[str, Any] | None) -> None:
    space._np_random = restored_generator(getattr(space, "_np_random", None), state)


# --------------------------------------------------------------------------- MuJoCo
_SMALL_ARRAY = 65_536  # bytes: model arrays below this are tracked (meshes, textures and BVHs are not)
_STRUCTS = ("opt", "stat")


def _field_names(model: mujoco.MjModel) -> list[str]:
    """The model numbers an env may change at run time: every array under 64 KB (sizes, masses, site
    positions, colours and whatever MuJoCo derives from them, such as inertias, `*_invweight0`,
    `tendon_length0`) and the fields of `opt` and `stat` (as `opt.timestep`)."""
    names = []
    for name in dir(model):
        value = getattr(model, name, None) if not name.startswith("_") else None
        if isinstance(value, np.ndarray) and value.nbytes < _SMALL_ARRAY and value.flags.writeable:
            names.append(name)
    for struct in _STRUCTS:
        part = getattr(model, struct)
        names += [f"{struct}.{name}" for name in dir(part)
                  if not name.startswith("_") and isinstance(getattr(part, name), int | float | np.ndarray)]
    return names


def _model_fields(model: mujoco.MjModel, names: list[str]) -> dict[str, Any]:
    """name -> value; arrays are the model's own memory (views)."""
    fields: dict[str, Any] = {}
    for name in names:
        struct, _, attribute = name.rpartition(".")
        fields[name] = getattr(getattr(model, struct) if struct else model, attribute)
    return fields


class ModelChanges:
    """What an env changed in its MuJoCo model since construction, element by element.

    MyoSuite's Baoding moves its target sites every step and, with P2's ranges, changes the balls' masses,
    sizes and friction at each reset and recompiles what MuJoCo derives from them; the derived values
    depend on the history of resets, not only on the current masses, so they are copied, never recomputed.
    The construction-time values (~170 KB for the hand model) are kept to diff against.
    """

    def __init__(self, model: mujoco.MjModel):
        self.names = _field_names(model)
        self.initial = {name: copy.deepcopy(value) for name, value in _model_fields(model, self.names).items()}

    def read(self, model: mujoco.MjModel) -> dict[str, tuple[np.ndarray, np.ndarray] | Any]:
        """{field: (flat indices, values)} for arrays, {field: value} for scalars; only what differs."""
        changes: dict[str, Any] = {}
        for name, now in _model_fields(model, self.names).items():
            before = self.initial[name]
            if isinstance(now, np.ndarray):
                where = np.flatnonzero(~((now == before) | (np.isnan(now) & np.isnan(before)))
                                       if now.dtype.kind == "f" else now != before)
                if where.size:
                    changes[name] = (where, now.reshape(-1)[where].copy())
            elif now != before:
                changes[name] = now
        return changes

    def write(self, model: mujoco.MjModel, changes: dict[str, Any]) -> None:
        """Put the model back to its construction-time values, then apply `changes`."""
        fields = _model_fields(model, self.names)
        if not set(changes) <= set(fields):
            raise MyorlError("the checkpoint's MuJoCo model has other fields than this one: another model "
                             "(env kwargs or MuJoCo version) than the checkpoint's")
        for name, initial in self.initial.items():
            target = fields[name]
            if isinstance(target, np.ndarray):
                target[...] = initial
                if name in changes:
                    np.put(target, *changes[name])
            else:
                struct, attribute = name.split(".")
                setattr(getattr(model, struct), attribute, changes.get(name, initial))


def mujoco_state(env: Any, changes: ModelChanges | None) -> dict[str, Any] | None:
    """The integration state, warning counters and model changes of a MuJoCo env (`model`, `data`)."""
    model, data = getattr(env, "model", None), getattr(env, "data", None)
    if not isinstance(model, mujoco.MjModel) or not isinstance(data, mujoco.MjData):
        return None
    state = np.empty(mujoco.mj_stateSize(model, _INTEGRATION))
    mujoco.mj_getState(model, data, state, _INTEGRATION)
    return {"integration": state, "warning_number": data.warning.number.copy(),
            "warning_lastinfo": data.warning.lastinfo.copy(),
            "model": changes.read(model) if changes is not None else None}


def set_mujoco_state(env: Any, state: dict[str, Any], changes: ModelChanges | None) -> None:
    model, data = env.model, env.data
    size = mujoco.mj_stateSize(model, _INTEGRATION)
    if state["integration"].shape != (size,):
        raise MyorlError(f"the checkpoint's MuJoCo state has {state['integration'].shape[0]} numbers, this "
                         f"model's {size}: another model (env kwargs or MuJoCo version) than the checkpoint's")
    if changes is not None and state["model"] is not None:
        changes.write(model, state["model"])
    mujoco.mj_setState(model, data, state["integration"], _INTEGRATION)
    mujoco.mj_forward(model, data)  # derived quantities (positions, contacts) for anyone who reads them now
    data.warning.number[:] = state["warning_number"]
    data.warning.lastinfo[:] = state["warning_lastinfo"]


# --------------------------------------------------------------------------- layers
def _monitor_state(monitor: Monitor) -> dict[str, Any]:
    return {"rewards": list(monitor.rewards), "needs_reset": monitor.needs_reset,
            "total_steps": monitor.total_steps, "current_reset_info": copy.deepcopy(monitor.current_reset_info),
            "episode_returns": np.asarray(monitor.episode_returns, dtype=np.float64),
            "episode_lengths": np.asarray(monitor.episode_lengths, dtype=np.int64),
            "episode_times": np.asarray(monitor.episode_times, dtype=np.float64),
            "clock": time.time() - monitor.t_start}


def _set_monitor_state(monitor: Monitor, state: dict[str, Any]) -> None:
    monitor.rewards = list(state["rewards"])
    monitor.needs_reset = state["needs_reset"]
    monitor.total_steps = state["total_steps"]
    monitor.current_reset_info = copy.deepcopy(state["current_reset_info"])
    monitor.episode_returns = state["episode_returns"].tolist()
    monitor.episode_lengths = state["episode_lengths"].tolist()
    monitor.episode_times = state["episode_times"].tolist()
    monitor.t_start = time.time() - state["clock"]  # episode times go on from where they were


def _base_state(env: gym.Env, changes: ModelChanges | None) -> dict[str, Any]:
    return {"np_random": generator_state(getattr(env, "_np_random", None)),
            "np_random_seed": getattr(env, "_np_random_seed", None),
            "action_space": space_state(env.action_space), "observation_space": space_state(env.observation_space),
            "mujoco": mujoco_state(env, changes)}


def _set_base_state(env: gym.Env, state: dict[str, Any], changes: ModelChanges | None) -> None:
    env._np_random = restored_generator(getattr(env, "_np_random", None), state["np_random"])
    env._np_random_seed = state["np_random_seed"]
    set_space_state(env.action_space, state["action_space"])
    set_space_state(env.observation_space, state["observation_space"])
    if state["mujoco"] is not None:
        set_mujoco_state(env, state["mujoco"], changes)


def _layer_state(layer: gym.Env, changes: ModelChanges | None) -> tuple[dict[str, Any] | None, bool]:
    """(state, saved): the layer's own state; `saved` is False for a wrapper myorl does not know."""
    own = getattr(layer, GET)() if _defines(layer, GET) else None
    if not isinstance(layer, gym.Wrapper):
        return {**_base_state(layer, changes), "own": own}, True
    if _defines(layer, GET):
        return {"own": own}, True
    if isinstance(layer, Monitor):
        return {"monitor": _monitor_state(layer)}, True
    for cls, names in _ATTRIBUTES.items():
        if type(layer) is cls:
            return {"attributes": {name: copy.deepcopy(getattr(layer, name)) for name in names}}, True
    return None, type(layer).__name__ in STATELESS


def _set_layer_state(layer: gym.Env, state: dict[str, Any] | None, changes: ModelChanges | None) -> None:
    """The protocol's part first (e.g. model fields), then the generic one (e.g. MuJoCo's data)."""
    if state is None:
        return
    if state.get("own") is not None:
        getattr(layer, SET)(state["own"])
    if not isinstance(layer, gym.Wrapper):
        _set_base_state(layer, state, changes)
    elif "monitor" in state:
        _set_monitor_state(layer, state["monitor"])  # type: ignore[arg-type]
    for name, value in state.get("attributes", {}).items():
        setattr(layer, name, copy.deepcopy(value))


def layers(env: gym.Env) -> list[gym.Env]:
    """The wrappers from the outside in, then the base env."""
    found = [env]
    while isinstance(found[-1], gym.Wrapper):
        found.append(found[-1].env)
    return found


class ResumableEnv(gym.Wrapper):
    """Reads and writes the state of every layer inside it (see the module docstring)."""

    def __init__(self, env: gym.Env):
        super().__init__(env)
        model = getattr(env.unwrapped, "model", None)
        self._model_changes = ModelChanges(model) if isinstance(model, mujoco.MjModel) else None

    def get_env_state(self) -> dict[str, Any]:
        names, states, unsaved = [], [], []
        for layer in layers(self.env):
            state, saved = _layer_state(layer, self._model_changes)
            names.append(type(layer).__name__)
            states.append(state)
            if not saved:
                unsaved.append(type(layer).__name__)
        return {"layers": names, "states": states, "unsaved": unsaved}

    def set_env_state(self, state: dict[str, Any]) -> None:
        chain = layers(self.env)
        names = [type(layer).__name__ for layer in chain]
        if names != state["layers"]:
            raise MyorlError(f"the checkpoint's env has the wrappers {state['layers']}, this one {names}: "
                             "another env than the checkpoint's")
        for layer, layer_state in zip(chain, state["states"], strict=True):
            _set_layer_state(layer, layer_state, self._model_changes)


# --------------------------------------------------------------------------- vec envs
def _vec_layer_state(venv: VecEnvWrapper) -> dict[str, Any] | None:
    if isinstance(venv, VecNormalize):
        return {"returns": copy.deepcopy(venv.returns), "old_obs": copy.deepcopy(getattr(venv, "old_obs", None)),
                "old_reward": copy.deepcopy(getattr(venv, "old_reward", None))}
    if isinstance(venv, VecFrameStack):
        return {"stacked_obs": copy.deepcopy(venv.stacked_obs)}
    return None


def _set_vec_layer_state(venv: VecEnv, state: dict[str, Any] | None) -> None:
    if state is None:
        return
    for name, value in state.items():
        if value is not None:
            setattr(venv, name, copy.deepcopy(value))


def vec_layers(venv: VecEnv) -> list[VecEnv]:
    found = [venv]
    while isinstance(found[-1], VecEnvWrapper):
        found.append(found[-1].venv)
    return found


def get_vec_env_state(venv: VecEnv) -> dict[str, Any]:
    """The state of a vec env: its wrappers', its pending reset seeds and options, and every env's."""
    chain = vec_layers(venv)
    base = chain[-1]
    return {"layers": [type(v).__name__ for v in chain],
            "states": [_vec_layer_state(v) for v in chain[:-1] if isinstance(v, VecEnvWrapper)],
            "seeds": list(base._seeds), "options": copy.deepcopy(base._options),
            "envs": venv.env_method("get_env_state")}


def set_vec_env_state(venv: VecEnv, state: dict[str, Any]) -> list[str]:
    """Write back what `get_vec_env_state` read; returns the wrappers whose state was not saved."""
    chain = vec_layers(venv)
    names = [type(v).__name__ for v in chain]
    if names != state["layers"] or len(state["envs"]) != venv.num_envs:
        raise MyorlError(f"the checkpoint's vec env is {state['layers']} with {len(state['envs'])} envs, this one "
                         f"{names} with {venv.num_envs}: another vec env or n_envs than the checkpoint's")
    for layer, layer_state in zip(chain[:-1], state["states"], strict=True):
        _set_vec_layer_state(layer, layer_state)
    base = chain[-1]
    base._seeds = list(state["seeds"])
    base._options = copy.deepcopy(state["options"])
    for index, env_state in enumerate(state["envs"]):
        venv.env_method("set_env_state", env_state, indices=[index])
    return sorted({name for env_state in state["envs"] for name in env_state["unsaved"]})
