"""Side-by-side benchmarks of convnp against PyTorch on the CPU (run: python -m benchmarks)."""
