"""sb3-contrib's recurrent rollout buffer with minibatches gathered by one index matrix.

sb3-contrib's `RecurrentRolloutBuffer._get_samples` builds every minibatch from numpy with one tensor per
sequence per field (`pad` runs ~10 times, once only to learn the longest sequence) and the learner then
gathers with boolean masks. Here the buffer is turned into torch tensors once per `train()` (with an
all-zero row at the end) and each minibatch is one `index_select` per table with an (n_seq, max_length)
index matrix whose padded places point at the zero row. The minibatches, their order and their contents
are those of sb3-contrib: the same `np.random.randint` draw picks the split, the same sequences are cut.
"""

from __future__ import annotations

from collections.abc import Generator
from typing import NamedTuple

import numpy as np
import torch as th
from sb3_contrib.common.recurrent.buffers import RecurrentRolloutBuffer
from sb3_contrib.common.recurrent.type_aliases import RecurrentRolloutBufferSamples, RNNStates

# Per-step scalars gathered together: rows of one (n_fields, n_transitions + 1) table.
_SCALARS = ("values", "log_probs", "advantages", "returns", "episode_starts")
_STATES = ("hidden_states_pi", "cell_states_pi", "hidden_states_vf", "cell_states_vf")


class Minibatch(NamedTuple):
    """A minibatch as sb3-contrib yields it, plus `valid`: the flat positions where `mask` is 1.

    `x[valid]` equals sb3-contrib's `x[mask > 1e-8]` element for element (same order), without
    recomputing the boolean mask's nonzero positions for every masked term of the loss.
    """

    samples: RecurrentRolloutBufferSamples
    valid: th.Tensor


class SequenceLayout(NamedTuple):
    """Where a minibatch's transitions go in the padded (n_seq, max_length) layout."""

    gather: np.ndarray  # (n_seq * max_length,) buffer rows; padding points at the zero row
    valid: np.ndarray  # (n_valid,) flat positions in the padded layout that hold a transition
    starts: np.ndarray  # (n_seq,) buffer rows that begin a sequence (their LSTM states start it)


def sequence_layout(batch_inds: np.ndarray, seq_start: np.ndarray, pad_row: int) -> SequenceLayout:
    """The padded layout of one minibatch, as sb3-contrib's `create_sequencers` + `pad` build it.

    `seq_start[i]` is true where transition `batch_inds[i]` starts an episode or comes from a new env;
    the minibatch's first transition always starts a sequence; a sequence runs to the next start.
    """
    size = len(batch_inds)
    flags = seq_start.astype(bool, copy=True)
    flags[0] = True
    first = np.flatnonzero(flags)
    lengths = np.diff(np.append(first, size))
    steps = np.arange(lengths.max())
    inside = steps[None, :] < lengths[:, None]
    positions = np.minimum(first[:, None] + steps[None, :], size - 1)
    gather = np.where(inside, batch_inds[positions], pad_row).reshape(-1)
    return SequenceLayout(gather, np.flatnonzero(inside.reshape(-1)), batch_inds[first])


class FastRecurrentRolloutBuffer(RecurrentRolloutBuffer):
    """`RecurrentRolloutBuffer` (Box observations) whose minibatches come from torch tables in one gather.

    `get()` yields what sb3-contrib's yields (same samples, same order, same RNG draw); `minibatches()`
    adds the valid positions for the learner.
    """

    def reset(self) -> None:
        super().reset()
        self._tables: dict[str, th.Tensor] | None = None

    def _prepare(self) -> None:
        """Flatten to (n_envs * n_steps, ...) as sb3-contrib does, then build the torch tables once."""
        if not self.generator_ready:
            # Same reshaping as RecurrentRolloutBuffer.get: env-major, keeping each env's time order.
            for name in _STATES:
                self.__dict__[name] = self.__dict__[name].swapaxes(1, 2)
            for name in ("observations", "actions", *_SCALARS, *_STATES):
                self.__dict__[name] = self.swap_and_flatten(self.__dict__[name])
            self.generator_ready = True
            self._tables = None
        if self._tables is None:
            def table(array: np.ndarray) -> th.Tensor:
                zero_row = np.zeros((1, *array.shape[1:]), dtype=array.dtype)
                return th.as_tensor(np.concatenate([array, zero_row]), device=self.device)

            scalars = np.concatenate([self.__dict__[name] for name in _SCALARS], axis=1)  # (N, 5)
            mask = np.ones((scalars.shape[0], 1), dtype=np.float32)
            self._tables = {
                "observations": table(self.observations),
                "actions": table(self.actions),
                # (6, N + 1): one gather along dim 1 gives each field as a contiguous row.
                "scalars": table(np.concatenate([scalars, mask], axis=1)).T.contiguous(),
                # (4, N, n_layers, hidden): hidden/cell states of actor and critic.
                "states": th.as_tensor(np.stack([self.__dict__[name] for name in _STATES]), device=self.device),
            }

    def minibatches(self, batch_size: int | None = None) -> Generator[Minibatch, None, None]:
        """sb3-contrib's minibatches (same split draw, same order), each with its valid positions."""
        assert self.full, "Rollout buffer must be full before sampling from it"
        self._prepare()
        assert self._tables is not None
        total = self.buffer_size * self.n_envs
        if batch_size is None:
            batch_size = total
        # sb3-contrib's shuffle: keep the sequence order but start at a random index (same RNG call).
        split_index = np.random.randint(total)
        indices = np.concatenate((np.arange(total)[split_index:], np.arange(total)[:split_index]))
        # A transition starts a sequence if it starts an episode or is its env's first step.
        seq_start = self.episode_starts[:, 0] != 0
        seq_start[:: self.buffer_size] = True
        for start_idx in range(0, total, batch_size):
            batch_inds = indices[start_idx : start_idx + batch_size]
            layout = sequence_layout(batch_inds, seq_start[batch_inds], pad_row=total)
            yield self._samples(layout)

    def get(self, batch_size: int | None = None) -> Generator[RecurrentRolloutBufferSamples, None, None]:  # type: ignore[override]
        for minibatch in self.minibatches(batch_size):
            yield minibatch.samples

    def _samples(self, layout: SequenceLayout) -> Minibatch:
        tables = self._tables
        assert tables is not None
        gather = th.as_tensor(layout.gather, device=self.device)
        padded = len(layout.gather)
        scalars = tables["scalars"].index_select(1, gather)
        # (4, n_seq, n_layers, hidden) -> per state (n_layers, n_seq, hidden), as sb3-contrib stores it
        states = tables["states"][:, th.as_tensor(layout.starts, device=self.device)].transpose(1, 2)
        h_pi, c_pi, h_vf, c_vf = (state.contiguous() for state in states)
        samples = RecurrentRolloutBufferSamples(
            observations=tables["observations"].index_select(0, gather).reshape((padded, *self.obs_shape)),
            actions=tables["actions"].index_select(0, gather),
            old_values=scalars[0],
            old_log_prob=scalars[1],
            advantages=scalars[2],
            returns=scalars[3],
            lstm_states=RNNStates((h_pi, c_pi), (h_vf, c_vf)),
            episode_starts=scalars[4],
            mask=scalars[5],
        )
        return Minibatch(samples, th.as_tensor(layout.valid, device=self.device))
