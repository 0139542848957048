"""
What QWR and AWR share: the math (``functional``), the sampling distributions, the replay buffers that store
them, the actor and the policy base, and ``WeightedRegressionAlgorithm`` (``base_class``), the base both
algorithms subclass. See ARCHITECTURE.md.
"""
