"""A plain Hydra app that declares the trial link (an `optuna` section, as myorl's primary config does).

It reports x * step at steps 1..3 to its trial and stops when the pruner says so: the sweeper's job-side
protocol exercised without myorl. Its objective, to maximise by default, is 3 * x.
"""

import hydra
import optuna
from hydra.utils import instantiate
from omegaconf import DictConfig


def attach(link: DictConfig) -> optuna.trial.Trial:
    storage = optuna.storages.get_storage(link.storage)
    pruner = instantiate(dict(link.pruner)) if link.pruner else optuna.pruners.NopPruner()
    study = optuna.load_study(study_name=link.study_name, storage=storage, pruner=pruner)
    trial_id = storage.get_trial_id_from_study_id_trial_number(storage.get_study_id_from_name(link.study_name),
                                                               link.trial)
    return optuna.trial.Trial(study, trial_id)


@hydra.main(config_path="conf", config_name="linked", version_base="1.3")
def main(cfg: DictConfig) -> float:
    trial = attach(cfg.optuna) if cfg.optuna.storage else None
    for step in (1, 2, 3):
        if trial is not None:
            if cfg.optuna.report:
                trial.report(cfg.x * step, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at step {step}")
    return 3 * cfg.x


if __name__ == "__main__":
    main()
