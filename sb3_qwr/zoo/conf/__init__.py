"""
Hyperparameter modules for the RL Zoo's ``-conf/--conf-file`` (a module that defines ``hyperparams``).

``sb3_qwr.zoo.conf.sac`` and ``sb3_qwr.zoo.conf.ppo`` hold the Zoo's own ``sac.yml``/``ppo.yml`` with the MuJoCo
v5 entries of sb3-qwr's ``hyperparams/sac.yml``/``ppo.yml`` added; ``python -m sb3_qwr.zoo train`` uses them
when ``--algo sac``/``--algo ppo`` is given without a ``--conf-file``.
"""
