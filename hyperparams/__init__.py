"""
RL Zoo hyperparameter files of sb3-qwr (``qwr.yml``, ``sac.yml``, ``ppo.yml``, ``dqn.yml``).

This folder lives at the top of the repository and is installed as the data package ``sb3_qwr.hyperparams``
(see ``setup.py``), so that ``python -m sb3_qwr.zoo train`` finds the files in editable and regular installs.
"""
