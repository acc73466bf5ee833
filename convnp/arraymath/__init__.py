"""Array math below autograd: window arithmetic, im2col/col2im, broadcasting rules, randomness.

Plain NumPy in, plain NumPy out; nothing here knows about tensors or gradients.
"""
