"""Pooling layers: Max/Average pooling 1D/2D/3D and their global forms."""

from savepoint.layers.pooling.average_pooling import (AveragePooling1D, AveragePooling2D,
                                                      AveragePooling3D, AvgPool1D, AvgPool2D,
                                                      AvgPool3D)
from savepoint.layers.pooling.global_pooling import (GlobalAveragePooling1D,
                                                     GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D, GlobalAvgPool1D,
                                                     GlobalAvgPool2D, GlobalAvgPool3D,
                                                     GlobalMaxPool1D, GlobalMaxPool2D,
                                                     GlobalMaxPool3D, GlobalMaxPooling1D,
                                                     GlobalMaxPooling2D, GlobalMaxPooling3D)
from savepoint.layers.pooling.max_pooling import (MaxPool1D, MaxPool2D, MaxPool3D, MaxPooling1D,
                                                  MaxPooling2D, MaxPooling3D)

__all__ = ["AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D", "AvgPool2D",
           "AvgPool3D", "GlobalAveragePooling1D", "GlobalAveragePooling2D",
           "GlobalAveragePooling3D", "GlobalAvgPool1D", "GlobalAvgPool2D", "GlobalAvgPool3D",
           "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalMaxPooling1D",
           "GlobalMaxPooling2D", "GlobalMaxPooling3D", "MaxPool1D", "MaxPool2D", "MaxPool3D",
           "MaxPooling1D", "MaxPooling2D", "MaxPooling3D"]
