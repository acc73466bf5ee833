"""PLACEHOLDER: activation operations, being written."""

def relu(*args, **kwargs):
    raise NotImplementedError('relu')


def leaky_relu(*args, **kwargs):
    raise NotImplementedError('leaky_relu')


def prelu(*args, **kwargs):
    raise NotImplementedError('prelu')


def elu(*args, **kwargs):
    raise NotImplementedError('elu')


def gelu(*args, **kwargs):
    raise NotImplementedError('gelu')


def sigmoid(*args, **kwargs):
    raise NotImplementedError('sigmoid')


def tanh(*args, **kwargs):
    raise NotImplementedError('tanh')


def softmax(*args, **kwargs):
    raise NotImplementedError('softmax')


def log_softmax(*args, **kwargs):
    raise NotImplementedError('log_softmax')


