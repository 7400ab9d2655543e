"""``keras.applications``: Keras's image models with Keras's layer names and weight files.

Example:
    >>> import savepoint as keras
    >>> m = keras.applications.ResNet50(weights=None, include_top=False, input_shape=(32, 32, 3))
    >>> m.name
    'resnet50'
"""

from types import SimpleNamespace

from savepoint.applications import densenet as _densenet, imagenet_utils
from savepoint.applications import mobilenet as _mobilenet, resnet as _resnet, vgg as _vgg
from savepoint.applications.densenet import DenseNet121, DenseNet169, DenseNet201
from savepoint.applications.mobilenet import MobileNet, MobileNetV2
from savepoint.applications import inception_v3 as _inception_v3, xception as _xception
from savepoint.applications.inception_v3 import InceptionV3
from savepoint.applications import efficientnet as _efficientnet
from savepoint.applications import convnext as _convnext
from savepoint.applications.convnext import ConvNeXtTiny
from savepoint.applications import mobilenet_v3 as _mobilenet_v3
from savepoint.applications.mobilenet_v3 import MobileNetV3Large, MobileNetV3Small
from savepoint.applications.efficientnet import (EfficientNetB0, EfficientNetB1, EfficientNetB2,
                                                 EfficientNetB3, EfficientNetB4, EfficientNetB5,
                                                 EfficientNetB6, EfficientNetB7)
from savepoint.applications.xception import Xception
from savepoint.applications.resnet import (ResNet50, ResNet50V2, ResNet101, ResNet101V2,
                                           ResNet152, ResNet152V2)
from savepoint.applications.vgg import VGG16, VGG19

# Keras's per-family modules (``keras.applications.resnet50.preprocess_input`` ...).
vgg16 = SimpleNamespace(VGG16=VGG16, preprocess_input=_vgg.preprocess_input,
                        decode_predictions=_vgg.decode_predictions)
vgg19 = SimpleNamespace(VGG19=VGG19, preprocess_input=_vgg.preprocess_input,
                        decode_predictions=_vgg.decode_predictions)
resnet = SimpleNamespace(ResNet50=ResNet50, ResNet101=ResNet101, ResNet152=ResNet152,
                         preprocess_input=_resnet.preprocess_input,
                         decode_predictions=_resnet.decode_predictions)
resnet50 = resnet
resnet_v2 = SimpleNamespace(ResNet50V2=ResNet50V2, ResNet101V2=ResNet101V2,
                            ResNet152V2=ResNet152V2,
                            preprocess_input=_resnet.preprocess_input_v2,
                            decode_predictions=_resnet.decode_predictions)
mobilenet = SimpleNamespace(MobileNet=MobileNet, preprocess_input=_mobilenet.preprocess_input,
                            decode_predictions=_mobilenet.decode_predictions)
mobilenet_v2 = SimpleNamespace(MobileNetV2=MobileNetV2,
                               preprocess_input=_mobilenet.preprocess_input,
                               decode_predictions=_mobilenet.decode_predictions)
densenet = SimpleNamespace(DenseNet121=DenseNet121, DenseNet169=DenseNet169,
                           DenseNet201=DenseNet201, preprocess_input=_densenet.preprocess_input,
                           decode_predictions=_densenet.decode_predictions)
xception = SimpleNamespace(Xception=Xception, preprocess_input=_xception.preprocess_input,
                           decode_predictions=_xception.decode_predictions)
inception_v3 = SimpleNamespace(InceptionV3=InceptionV3,
                               preprocess_input=_inception_v3.preprocess_input,
                               decode_predictions=_inception_v3.decode_predictions)
efficientnet = SimpleNamespace(
    EfficientNetB0=EfficientNetB0, EfficientNetB1=EfficientNetB1, EfficientNetB2=EfficientNetB2,
    EfficientNetB3=EfficientNetB3, EfficientNetB4=EfficientNetB4, EfficientNetB5=EfficientNetB5,
    EfficientNetB6=EfficientNetB6, EfficientNetB7=EfficientNetB7,
    preprocess_input=_efficientnet.preprocess_input,
    decode_predictions=_efficientnet.decode_predictions)
convnext = SimpleNamespace(ConvNeXtTiny=ConvNeXtTiny, LayerScale=_convnext.LayerScale,
                           StochasticDepth=_convnext.StochasticDepth,
                           preprocess_input=_convnext.preprocess_input,
                           decode_predictions=_convnext.decode_predictions)
mobilenet_v3 = SimpleNamespace(MobileNetV3Small=MobileNetV3Small,
                               MobileNetV3Large=MobileNetV3Large,
                               preprocess_input=_mobilenet_v3.preprocess_input,
                               decode_predictions=_mobilenet_v3.decode_predictions)

__all__ = ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "ResNet50V2", "ResNet101V2",
           "ResNet152V2", "imagenet_utils", "vgg16", "vgg19", "resnet", "resnet50", "resnet_v2",
           "MobileNet", "MobileNetV2", "DenseNet121", "DenseNet169", "DenseNet201",
           "mobilenet", "mobilenet_v2", "densenet", "Xception", "InceptionV3", "xception",
           "inception_v3", "efficientnet", "ConvNeXtTiny", "convnext",
           "MobileNetV3Small", "MobileNetV3Large", "mobilenet_v3"]
__all__ += [f"EfficientNetB{i}" for i in range(8)]
