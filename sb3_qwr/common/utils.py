"""The observation helpers of 0.2, now in :mod:`sb3_qwr.common.buffers` beside the batches they shape."""

from sb3_qwr.common.buffers import concat_obs, flatten_obs, index_obs

__all__ = ["concat_obs", "flatten_obs", "index_obs"]
