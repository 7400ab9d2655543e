"""MNIST: ``load_data()`` placeholder until the dataset module lands."""

def load_data(path: str = "mnist.npz"):
    raise NotImplementedError
