"""The core runs from plain Python, without Hydra (the README's example, smaller)."""


from myorl.config import (
    ConvergenceConfig,
    CurriculumConfig,
    EnvConfig,
    EvalConfig,
    PPOConfig,
    RunSettings,
    StageConfig,
)
from myorl.experiment import Experiment


def test_experiment_without_hydra(tmp_path):
    stages = [StageConfig(name="balance", env=EnvConfig("InvertedPendulum-v5"), max_timesteps=128,
                          eval=EvalConfig(freq=64, episodes=2), convergence=ConvergenceConfig(target=1000))]
    exp = Experiment(CurriculumConfig("mine", stages), PPOConfig(n_steps=64, batch_size=32), output_dir=tmp_path,
                     settings=RunSettings(progress=False))
    summary = exp.run()
    assert summary.curriculum == "mine" and summary.stages[0].status == "budget_exhausted"
    assert (tmp_path / "stages/00_balance/best_model.zip").is_file()
    assert "InvertedPendulum-v5" in (tmp_path / "experiment.yaml").read_text()
