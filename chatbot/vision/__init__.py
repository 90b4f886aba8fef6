"""Image classification for the ``/image`` chat command: safe decoding, datasets, models, inference.

- ``images``: bytes from users to a clean RGB picture, or an ``ImageError`` with a Korean message;
- ``datasets``: scikit-learn digits, MNIST/Fashion-MNIST IDX files, CIFAR-10 batches, image folders;
- ``lenet``, ``resnet``: the models, one per file;
- ``classifier``: a trained model directory, ready to classify (top-k labels and Grad-CAM).
"""
