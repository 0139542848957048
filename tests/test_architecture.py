"""The package's layers: which way the imports go (ARCHITECTURE.md), no cycle, no sibling subclassing."""

import ast
from pathlib import Path

import sb3_qwr
from sb3_qwr import AWR, QWR
from sb3_qwr.common.base_class import WeightedRegressionAlgorithm

PACKAGE = Path(sb3_qwr.__file__).resolve().parent

#: Layer of each top-level part of the package; a module may import only from its own layer or lower ones.
LAYERS = {"envs": 0, "common": 1, "resume": 1, "offline": 2, "qwr": 3, "awr": 3, "zoo": 4, "datasets": 4, "__main__": 4}
ALGORITHMS = 3


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every ``sb3_qwr`` module a file imports, at any depth (functions and ``TYPE_CHECKING`` blocks too)."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("sb3_qwr"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names if alias.name.startswith("sb3_qwr"))
    return names


def import_graph() -> dict[str, set[str]]:
    return {module_name(path): imported_modules(path) for path in PACKAGE.rglob("*.py")}


def part(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def test_imports_go_down_the_layers():
    for module, imports in import_graph().items():
        if part(module) not in LAYERS:
            continue  # sb3_qwr itself and _legacy sit on top
        for target in imports:
            assert part(target) in LAYERS, f"{module} imports {target}, which is above every layer"
            assert LAYERS[part(target)] <= LAYERS[part(module)], f"{module} imports {target} from a higher layer"
            if LAYERS[part(target)] == LAYERS[part(module)] == ALGORITHMS:
                assert part(target) == part(module), f"{module} imports its sibling algorithm {target}"
    offline_imports = {t for m, imports in import_graph().items() if part(m) == "offline" for t in imports}
    assert all(part(t) in ("offline", "envs", "common") for t in offline_imports), offline_imports
    resume_imports = {t for m, imports in import_graph().items() if part(m) == "resume" for t in imports}
    assert all(t in ("sb3_qwr.common.safe_pickle",) or part(t) == "resume" for t in resume_imports), resume_imports


def test_no_import_cycle():
    graph = import_graph()
    # A package's __init__ re-exports its modules; an edge to "sb3_qwr.x" from inside "sb3_qwr.x" is that.
    visiting, done = set(), set()

    def visit(module: str, stack: list[str]) -> None:
        if module in done:
            return
        assert module not in visiting, f"import cycle: {' -> '.join([*stack, module])}"
        visiting.add(module)
        for target in graph.get(module, ()):
            if not module.startswith(target + ".") and target in graph:
                visit(target, [*stack, module])
        visiting.discard(module)
        done.add(module)

    for module in graph:
        visit(module, [])


def test_algorithms_are_siblings():
    assert issubclass(QWR, WeightedRegressionAlgorithm) and issubclass(AWR, WeightedRegressionAlgorithm)
    assert not issubclass(AWR, QWR) and not issubclass(QWR, AWR)
    for path in PACKAGE.rglob("*.py"):
        assert "delattr(" not in path.read_text(), f"{path} deletes inherited attributes"


def test_package_version_matches_the_distribution():
    import importlib.metadata

    assert sb3_qwr.__version__ == importlib.metadata.version("sb3-qwr")


def test_every_package_is_installed():
    """A folder of modules without ``__init__.py`` imports from the source tree (a namespace package) but is left
    out of the wheel by ``find_packages``: ``pip install .`` then fails on import."""
    from setuptools import find_packages

    root = Path(sb3_qwr.__file__).resolve().parent
    folders = {p.parent for p in root.rglob("*.py") if "__pycache__" not in p.parts}
    packages = set(find_packages(str(root.parent), include=["sb3_qwr*"]))
    missing = sorted(
        str(f.relative_to(root.parent)) for f in folders if ".".join(f.relative_to(root.parent).parts) not in packages
    )
    assert not missing, f"folders without __init__.py (not installed by pip install .): {missing}"


#: The files that hold one update's computation (ARCHITECTURE.md, "One update, file by file").
UPDATE_FILES = {"common/base_class.py", "common/buffers.py", "common/policies.py", "common/functional.py", "qwr/qwr.py"}
#: The guards at the edges of a step and of a phase (the finite checks), which return or raise.
GUARD_FILES = {"common/checks.py"}


def trace_package_calls(run) -> tuple[set[str], set[tuple[str, ...]]]:
    """
    Run ``run()`` under a profiler: the package files whose Python code runs, and every call stack in which a
    package file is entered again below a different package file (a call back into a file it was called from).
    Frames outside the package (SB3, torch) are skipped: SB3 calling back into the hooks it dispatches to is
    the subclass contract, not a return trip.
    """
    import sys

    prefix = str(PACKAGE) + "/"
    files: set[str] = set()
    reentries: set[tuple[str, ...]] = set()

    def profile(frame, event, arg):
        if event != "call" or not frame.f_code.co_filename.startswith(prefix):
            return
        stack, current = [], frame
        while current is not None:
            name = current.f_code.co_filename
            if name.startswith(prefix) and (not stack or stack[-1] != name[len(prefix) :]):
                stack.append(name[len(prefix) :])
            current = current.f_back
        files.add(stack[0])
        if len(stack) != len(set(stack)):
            reentries.add((*reversed(stack), frame.f_code.co_name))

    sys.setprofile(profile)
    try:
        run()
    finally:
        sys.setprofile(None)
    return files, reentries


def test_one_update_crosses_five_files_and_never_comes_back():
    """The walk of ARCHITECTURE.md, measured: collecting and storing one step, then one training phase of one
    critic and one actor update, run code of five package files (and the finite guards of checks.py), and no
    file calls back into one that called it."""
    from stable_baselines3.common.type_aliases import TrainFreq, TrainFrequencyUnit

    model = QWR("MlpPolicy", "Pendulum-v1", n_critic_steps=1, n_actor_steps=1, batch_size=8, device="cpu", seed=0)
    model.learn(16)  # setup done, the buffer holds a few steps
    callback = model._init_callback(None)

    def collect_one_step():
        one_step = TrainFreq(1, TrainFrequencyUnit.STEP)
        model.collect_rollouts(model.env, callback, one_step, model.replay_buffer, learning_starts=0)

    collected, collect_reentries = trace_package_calls(collect_one_step)
    trained, train_reentries = trace_package_calls(lambda: model.train(1, 8))
    assert collected | trained == UPDATE_FILES | GUARD_FILES, sorted(collected | trained)
    assert not collect_reentries and not train_reentries, sorted(collect_reentries | train_reentries)
