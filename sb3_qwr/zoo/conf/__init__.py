"""
Hyperparameter modules for the RL Zoo's ``-conf/--conf-file`` (a module that defines ``hyperparams``).

``sb3_qwr.zoo.conf.sac``, ``.ppo`` and ``.dqn`` hold the Zoo's own ``sac.yml``/``ppo.yml``/``dqn.yml`` with the
entries of sb3-qwr's files of the same names added (MuJoCo v5 for SAC and PPO, MinAtar for PPO and DQN);
``python -m sb3_qwr.zoo train`` uses them when ``--algo sac|ppo|dqn`` is given without a ``--conf-file``.
"""
