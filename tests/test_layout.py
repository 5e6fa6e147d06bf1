"""The core does not know its plug-ins: no core module imports from integrations/, baoding/ or tools/."""

import ast
from pathlib import Path

import myorl

PACKAGE = Path(myorl.__file__).parent
PLUG_INS = ("myorl.integrations", "myorl.baoding", "myorl.tools")
ENTRY_POINTS = {"run.py", "evaluate.py", "compare.py", "distill.py", "trials.py"}  # they wire plug-ins in; that is their job


def imported_modules(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def core_modules() -> list[Path]:
    return [p for p in sorted(PACKAGE.rglob("*.py"))
            if p.relative_to(PACKAGE).parts[0] not in {"integrations", "baoding", "tools"}
            and p.name not in ENTRY_POINTS]


def test_core_modules_import_no_plug_in():
    modules = core_modules()
    assert {"experiment.py", "stage.py", "config.py", "rundir.py"} <= {p.name for p in modules}
    offenders = {p.name: sorted(m for m in imported_modules(p) if m.startswith(PLUG_INS)) for p in modules}
    assert {name: mods for name, mods in offenders.items() if mods} == {}


def test_the_check_sees_an_offender(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from myorl.integrations.wandb import make_tracker\n")
    assert imported_modules(bad) == {"myorl.integrations.wandb"}
