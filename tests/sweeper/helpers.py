"""Run the plain Hydra apps under `apps/` as a user would: `python apps/APP.py -m hydra/sweeper=optuna ...`."""

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import optuna
import yaml

APPS = Path(__file__).resolve().parent / "apps"


@dataclass
class Sweep:
    proc: subprocess.CompletedProcess
    dir: Path

    @property
    def out(self) -> str:
        return self.proc.stdout + self.proc.stderr

    @property
    def ok(self) -> bool:
        return self.proc.returncode == 0

    def results(self) -> dict:
        return yaml.safe_load((self.dir / "optimization_results.yaml").read_text())

    def study(self, name: str, storage: str | None = None) -> optuna.Study:
        return optuna.load_study(study_name=name, storage=storage or f"sqlite:///{self.dir}/optuna.db")

    def overrides(self, job: int) -> list[str]:
        return yaml.safe_load((self.dir / str(job) / ".hydra" / "overrides.yaml").read_text())

    def error_line(self) -> str:
        """What Hydra printed for the error: stderr's lines without Optuna's log lines and Hydra's hint."""
        lines = [line for line in self.proc.stderr.splitlines() if line.strip() and not line.startswith("[")
                 and "HYDRA_FULL_ERROR" not in line]
        return "\n".join(lines)


def sweep(app: str, tmp_path: Path, *args: str, name: str = "sweep", plots: bool = False,
          timeout: float = 300) -> Sweep:
    """`python apps/APP.py -m hydra/sweeper=optuna ARGS` in `tmp_path`, its sweep dir `tmp_path/NAME`."""
    sweep_dir = tmp_path / name
    cmd = [sys.executable, str(APPS / f"{app}.py"), "-m", "hydra/sweeper=optuna", f"hydra.sweep.dir={sweep_dir}",
           f"hydra.sweeper.plots={str(plots).lower()}", *args]
    proc = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=timeout)
    return Sweep(proc, sweep_dir)


def popen(app: str, tmp_path: Path, *args: str, name: str = "sweep") -> subprocess.Popen:
    """The same sweep, started in the background."""
    cmd = [sys.executable, str(APPS / f"{app}.py"), "-m", "hydra/sweeper=optuna", f"hydra.sweep.dir={tmp_path / name}",
           "hydra.sweeper.plots=false", *args]
    return subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
