"""Data: datasets held as whole uint8 arrays, a batching DataLoader, batch-wise augmentation.

>>> from convnp.data import get_dataset, DataLoader, transforms
>>> train = get_dataset("mnist-sample")                 # bundled, offline; 'mnist' downloads
>>> loader = DataLoader(train, batch_size=128, shuffle=True,
...                     transform=transforms.Normalize(train.mean, train.std))
>>> x, y = next(iter(loader))
>>> x.shape, x.dtype, y.dtype
((128, 1, 28, 28), dtype('float32'), dtype('int64'))
"""

from convnp.data import transforms
from convnp.data.cifar import RestrictedUnpickler, load_cifar10, load_cifar_batch
from convnp.data.dataset import ArrayDataset, DataLoader, Dataset, TensorDataset, channel_stats, stratified_split
from convnp.data.download import ChecksumError, DownloadError, default_data_dir, ensure_dataset, user_cache_dir
from convnp.data.imagefolder import load_image_folder
from convnp.data.mnist import load_mnist, read_idx, read_idx_images, read_idx_labels, write_idx
from convnp.data.registry import get_dataset, list_datasets, load_mnist_sample

__all__ = [
    "ArrayDataset",
    "ChecksumError",
    "DataLoader",
    "Dataset",
    "DownloadError",
    "RestrictedUnpickler",
    "TensorDataset",
    "channel_stats",
    "default_data_dir",
    "ensure_dataset",
    "get_dataset",
    "list_datasets",
    "load_cifar10",
    "load_cifar_batch",
    "load_image_folder",
    "load_mnist",
    "load_mnist_sample",
    "read_idx",
    "read_idx_images",
    "read_idx_labels",
    "stratified_split",
    "transforms",
    "user_cache_dir",
    "write_idx",
]
