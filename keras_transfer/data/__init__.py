"""Text classification data: loading, checks, labels, splits, bundled sets, augmentation."""

from keras_transfer.data.loading import *  # noqa: F403
from keras_transfer.data.loading import BUNDLED  # noqa: F401
