"""
Package layout that setup.cfg cannot express: the RL Zoo hyperparameter files live at the top of the repository
(``hyperparams/*.yml``, where the Zoo keeps its own) and are installed inside the package as the data package
``sb3_qwr.hyperparams``, in regular and editable installs alike. Metadata is in pyproject.toml, package data in
setup.cfg.
"""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["sb3_qwr*"]), "sb3_qwr.hyperparams"],
    package_dir={"sb3_qwr.hyperparams": "hyperparams"},
)
