"""Slurm preemption and time limits: checkpoint at a rollout boundary, then submitit's requeue.

Submitit's checkpointing protocol: in a job, submitit handles the preemption / time-limit signal (USR2, or
`$SUBMITIT_PREEMPT_SIGNAL`; Slurm sends it `signal_delay_s` before the time limit, and at a preemption where
the cluster sets `preempt_send_user_signal`) by calling the submitted callable's `checkpoint`, saving the
submission it returns in place of the job's and requeueing the job (`scontrol requeue`; the local executor
restarts it), then exiting.

`myorl.run` defers that handler: the signal first asks the stage to stop at its next rollout boundary (`myorl.
signals`); once the checkpoint there is written, `requeue` calls submitit's handler. With `hydra/launcher=slurm`
(or `slurm_local`) the requeued submission is the same job with `resume=true`
(`hydra_plugins.myorl_submitit_launcher`): it goes on in the same run dir, each stage in its own W&B run.
"""

from __future__ import annotations

import os
import signal

PREEMPT_SIGNAL_ENV = "SUBMITIT_PREEMPT_SIGNAL"  # submitit's own variable (default USR2)


def preemption_signal() -> int | None:
    """The signal submitit requeues on, inside a submitit job (`SUBMITIT_EXECUTOR` is set); else None."""
    if not os.environ.get("SUBMITIT_EXECUTOR"):
        return None
    return int(getattr(signal, "SIG" + os.environ.get(PREEMPT_SIGNAL_ENV, "USR2")))


def requeue(signum: int) -> None:
    """Run submitit's handler of `signum` now (it checkpoints, requeues and exits); nothing if there is none."""
    handler = signal.getsignal(signum)
    if callable(handler):
        handler(signum, None)
