"""Where the RL Zoo hyperparameter files of sb3-qwr live, and how they combine with the Zoo's own files."""

import importlib
from pathlib import Path
from typing import Any

import rl_zoo3
import yaml

#: Algorithms whose shipped file is merged over the Zoo's file of the same name (it adds MuJoCo v5 entries for
#: SAC and PPO, MinAtar entries for PPO and DQN).
MERGED_ALGOS = ("sac", "ppo", "dqn")


def hyperparams_dir() -> Path:
    """
    The folder of the shipped hyperparameter files: the data package ``sb3_qwr.hyperparams`` (the repository's
    top-level ``hyperparams/`` folder, installed inside the package), or that folder itself when the
    repository is used without being installed.

    :return: Path of the folder holding ``qwr.yml``, ``sac.yml``, ``ppo.yml`` and ``dqn.yml``.
    """
    try:
        package = importlib.import_module("sb3_qwr.hyperparams")
    except ModuleNotFoundError:
        return Path(__file__).resolve().parents[2] / "hyperparams"
    assert package.__file__ is not None
    return Path(package.__file__).parent


def hyperparams_file(algo: str) -> Path:
    """
    Path of the shipped hyperparameter file of an algorithm.

    :param algo: Zoo name of the algorithm (``qwr``, ``sac``, ``ppo``).
    :return: Path of ``<algo>.yml``.
    """
    path = hyperparams_dir() / f"{algo}.yml"
    if not path.is_file():
        raise FileNotFoundError(f"sb3-qwr ships no hyperparameter file for {algo!r} (looked for {path}).")
    return path


def zoo_hyperparams_file(algo: str) -> Path:
    """
    Path of the RL Zoo's own hyperparameter file of an algorithm, found as ``ExperimentManager`` finds it.

    :param algo: Zoo name of the algorithm.
    :return: Path of the Zoo's ``hyperparams/<algo>.yml``.
    """
    zoo_dir = Path(rl_zoo3.__file__).parent
    root = zoo_dir if (zoo_dir / "hyperparams").is_dir() else zoo_dir.parent
    return root / "hyperparams" / f"{algo}.yml"


def load_hyperparams(path: str | Path) -> dict[str, dict[str, Any]]:
    """
    Read a Zoo hyperparameter file (one entry per env id, plus ``atari`` and ``default``).

    :param path: Path of the YAML file.
    :return: The entries by env id.
    """
    with open(path) as file:
        return yaml.safe_load(file)


def merged_hyperparams(algo: str) -> dict[str, dict[str, Any]]:
    """
    The Zoo's hyperparameters of ``algo`` with the shipped file's entries added: an entry of the shipped file
    replaces the Zoo's entry of the same env id, every other entry of the Zoo is kept.

    :param algo: Zoo name of the algorithm (one of ``MERGED_ALGOS``).
    :return: The merged entries by env id.
    """
    merged = load_hyperparams(zoo_hyperparams_file(algo))
    merged.update(load_hyperparams(hyperparams_file(algo)))
    return merged


def default_conf_file(algo: str) -> str | None:
    """
    The ``--conf-file`` that ``train`` uses for ``algo`` when none is given.

    :param algo: Zoo name of the algorithm.
    :return: The path of the shipped ``qwr.yml`` (``awr.yml``) for QWR (AWR), the module ``sb3_qwr.zoo.conf.<algo>`` (the Zoo's
        file merged with the shipped one) for SAC, PPO and DQN, ``None`` (the Zoo's own file) for other algorithms.
    """
    if algo in ("qwr", "awr"):
        return str(hyperparams_file(algo))
    if algo in MERGED_ALGOS:
        return f"sb3_qwr.zoo.conf.{algo}"
    return None
