"""File formats: each sub-package moves named numpy arrays and JSON to and from one file format.

Formats never import models, layers or the trainer; every byte goes through ``saving.storage``.
"""
