"""`hydra/launcher=slurm` (and `slurm_local`): hydra-submitit-launcher's launchers whose requeued jobs resume.

Submitit's checkpointing protocol requeues a job with the submission its callable's `checkpoint` returns;
hydra-submitit-launcher returns the same job, which for myorl would start its run again in a dir that already
holds it. These launchers return it with `resume=true` (`launcher.py`). The app decides when to requeue (myorl:
at a rollout boundary, `myorl.integrations.slurm`). Nothing here imports myorl.
"""
