"""
Features extractors beyond SB3's: :class:`MinAtarCNN`, the network of the MinAtar paper (Young and Tian 2019).
"""

import gymnasium as gym
import torch as th
from stable_baselines3.common.torch_layers import BaseFeaturesExtractor, NatureCNN
from torch import nn


class MinAtarCNN(BaseFeaturesExtractor):
    """
    MinAtar's network (Young and Tian 2019, Section 3): one convolution of 16 filters 3x3 with stride 1, ReLU,
    then a fully connected layer of ``features_dim`` (128) units with ReLU. The algorithm's head follows it.

    MinAtar observations are ``bool`` arrays of shape ``(10, 10, C)``, channels last. SB3 turns them into a float
    tensor of the same shape (they are not an image space for SB3: no division by 255, no transposition); this
    extractor permutes the batch to ``(B, C, H, W)``, which is a view in PyTorch's ``channels_last`` memory format,
    so no observation is copied or transposed in NumPy at any step.

    :param observation_space: A ``Box`` of shape ``(H, W, C)`` (``channels_last=True``) or ``(C, H, W)``.
    :param features_dim: Width of the fully connected layer (MinAtar: 128).
    :param channels_last: Whether the channels are the last axis of an observation (MinAtar's layout).
    """

    def __init__(self, observation_space: gym.Space, features_dim: int = 128, channels_last: bool = True) -> None:
        if not isinstance(observation_space, gym.spaces.Box) or len(observation_space.shape) != 3:
            raise ValueError(
                f"MinAtarCNN needs a Box observation space of rank 3 ((H, W, C) for MinAtar), got {observation_space}; "
                "use it with image-like observations such as MinAtar's, or another features_extractor_class"
            )
        shape = observation_space.shape
        height, width, channels = shape if channels_last else (shape[1], shape[2], shape[0])
        if height < 3 or width < 3:
            raise ValueError(
                f"MinAtarCNN's 3x3 convolution needs observations of at least 3x3, got shape {observation_space.shape} "
                f"with channels_last={channels_last}; check channels_last"
            )
        super().__init__(observation_space, features_dim)
        self.channels_last = channels_last
        self.cnn = nn.Sequential(nn.Conv2d(channels, 16, kernel_size=3, stride=1), nn.ReLU(), nn.Flatten())
        self.linear = nn.Sequential(nn.Linear(16 * (height - 2) * (width - 2), features_dim), nn.ReLU())

    def forward(self, observations: th.Tensor) -> th.Tensor:
        if self.channels_last:
            observations = observations.permute(0, 3, 1, 2)
        return self.linear(self.cnn(observations))


#: Convolutional features extractors: the policies give them no hidden layers after the extractor by default,
#: and the algorithms clip the gradient norm at the reference code's CNN value (0.5) instead of 50.
CONVOLUTIONAL_EXTRACTORS: tuple[type[BaseFeaturesExtractor], ...] = (NatureCNN, MinAtarCNN)


def is_convolutional(features_extractor_class: type[BaseFeaturesExtractor]) -> bool:
    """
    :param features_extractor_class: A features extractor class.
    :return: Whether it is one of :data:`CONVOLUTIONAL_EXTRACTORS` (or a subclass).
    """
    return issubclass(features_extractor_class, CONVOLUTIONAL_EXTRACTORS)
