"""The image models, their preparation of user pictures, the model directory and Grad-CAM."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from chatbot.vision.classifier import ImageClassifier, VisionModelNotFound, build_model
from chatbot.vision.lenet import LeNet, LeNetConfig
from chatbot.vision.resnet import ResNet18, ResNet18Config, SmallResNet, SmallResNetConfig
from chatbot.vision.transforms import Preprocess, eval_transform, model_input, prepare, train_transform
from tests.conftest import draw_digit

DIGITS = Preprocess(style="ink", image_size=16, channels=1, native_size=8, ink_fit=32, ink_canvas=32)


@pytest.mark.parametrize(("model", "size", "channels"), [
    (LeNet(LeNetConfig(num_classes=7, image_size=16, channels=(4, 8))), 16, 1),
    (LeNet(LeNetConfig(num_classes=7)), 32, 1),
    (SmallResNet(SmallResNetConfig(num_classes=7, widths=(4, 8), blocks_per_stage=1)), 24, 3),
    (ResNet18(ResNet18Config(num_classes=7)), 64, 3),
])
def test_models_give_one_logit_per_class_and_split_for_gradcam(model, size, channels):
    images = torch.randn(2, channels, size, size)
    logits = model.eval()(images)
    assert logits.shape == (2, 7)
    assert torch.allclose(model.classify(model.features(images)), logits)


def test_lenet_refuses_images_too_small_for_its_layers():
    with pytest.raises(ValueError, match="at least 12"):
        LeNet(LeNetConfig(image_size=8))


def test_resnet18_loads_torchvision_weights_and_freezes_the_backbone(tmp_path):
    import torchvision

    reference = torchvision.models.resnet18()
    torch.save(reference.state_dict(), tmp_path / "resnet18.pth")
    model = ResNet18(ResNet18Config(num_classes=3, freeze_features=True))
    model.load_backbone(tmp_path / "resnet18.pth")
    assert torch.equal(model.features[0].weight, reference.conv1.weight)
    assert torch.equal(model.features[7][1].conv2.weight, reference.layer4[1].conv2.weight)
    trainable = [name for name, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["head.2.weight", "head.2.bias"]
    model.train()
    assert not model.features.training and model.head.training  # frozen batch norm keeps its statistics


def test_resnet18_weights_errors_name_the_file(tmp_path):
    model = ResNet18(ResNet18Config(num_classes=3))
    with pytest.raises(FileNotFoundError, match="resnet18-f37072fd.pth"):
        model.load_backbone(tmp_path / "missing.pth")
    torch.save({"something.weight": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="not ResNet-18 weights"):
        model.load_backbone(tmp_path / "other.pth")
    (tmp_path / "text.pth").write_text("hello")
    with pytest.raises(ValueError, match="not a torch state dict"):
        model.load_backbone(tmp_path / "text.pth")


def test_ink_preparation_turns_a_pen_drawing_into_a_digits_style_picture():
    drawing = draw_digit(1)  # black on white, centred in a 280 square
    prepared = np.asarray(prepare(DIGITS, drawing), dtype=np.float32)
    assert prepared.shape == (8, 8)
    assert prepared.max() > 200 and prepared[:, 0].max() < prepared.max() / 4  # bright ink, dark margins
    assert prepared[0].max() > 100 and prepared[-1].max() > 100  # scaled to fill the height, as in the dataset
    # The same digit drawn white on black, small and off-centre, prepares to nearly the same picture.
    small = Image.new("RGB", (400, 300), "black")
    small.paste(draw_digit(1, size=90, stroke=6, background="black", ink="white"), (20, 190))
    assert np.abs(np.asarray(prepare(DIGITS, small), dtype=np.float32) - prepared).mean() < 25


def test_an_empty_picture_prepares_to_an_empty_input():
    assert np.asarray(prepare(DIGITS, Image.new("RGB", (50, 50), "white"))).max() == 0


def test_photo_style_leaves_pictures_alone_and_transforms_to_the_model_size():
    photo = Preprocess(style="photo", image_size=24, channels=3, mean=[0.5] * 3, std=[0.5] * 3, flip=True)
    picture = Image.new("RGB", (100, 60), (255, 0, 0))
    assert prepare(photo, picture) is picture
    assert model_input(photo, picture).shape == (1, 3, 24, 24)
    assert train_transform(photo)(picture).shape == (3, 24, 24)
    red = eval_transform(photo)(picture)
    assert red[0].mean() == pytest.approx(1.0) and red[1].mean() == pytest.approx(-1.0)


def test_preprocess_validates_its_fields():
    with pytest.raises(ValueError, match="style"):
        Preprocess(style="sketch")
    with pytest.raises(ValueError, match="channels"):
        Preprocess(channels=3)  # one mean and std per channel


def test_trained_digits_model_reads_drawn_digits(vision_model_dir):
    classifier = ImageClassifier.load(vision_model_dir)
    result = classifier.classify(draw_digit(0), top_k=3)
    assert len(result.labels) == 3 and result.heatmap is None
    assert result.labels[0][0] == "숫자 0" and result.classes[0] == "0"
    scores = [s for _, s in result.labels]
    assert scores == sorted(scores, reverse=True) and sum(result.scores) == pytest.approx(1.0, abs=1e-5)
    correct = sum(classifier.classify(draw_digit(d)).classes[0] == str(d) for d in (0, 2, 3, 5, 6, 8))
    assert correct >= 4


def test_gradcam_is_a_picture_the_size_asked_for(vision_model_dir):
    result = ImageClassifier.load(vision_model_dir).classify(draw_digit(3), explain=True)
    assert result.heatmap is not None and result.heatmap.size == (160, 160) and result.heatmap.mode == "RGB"
    pixels = np.asarray(result.heatmap)
    assert pixels.std() > 10  # not a flat picture


def test_labels_json_is_what_users_see_and_trainers_can_edit_it(vision_model_dir, tmp_path):
    copy = shutil.copytree(vision_model_dir, tmp_path / "copy")
    labels = json.loads((copy / "labels.json").read_text(encoding="utf-8"))
    assert labels["7"] == "숫자 7"
    labels["7"] = "칠"
    (copy / "labels.json").write_text(json.dumps(labels, ensure_ascii=False), encoding="utf-8")
    assert ImageClassifier.load(copy).labels["7"] == "칠"
    (copy / "labels.json").write_text("{not json", encoding="utf-8")
    assert ImageClassifier.load(copy).labels["7"] == "7"  # a broken edit falls back to class names


def test_a_missing_model_directory_names_the_training_command(tmp_path):
    with pytest.raises(VisionModelNotFound, match="train-vision --data digits"):
        ImageClassifier.load(tmp_path / "none")


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="unknown image model"):
        build_model("vgg", {})


def test_thin_pen_strokes_are_thickened_and_thick_ones_left_alone():
    from PIL import ImageDraw

    from chatbot.vision.transforms import stroke_width, thicken

    thin = Image.new("L", (32, 32))
    ImageDraw.Draw(thin).line([(16, 2), (16, 29)], fill=255, width=1)
    assert stroke_width(thin) == pytest.approx(2.0, abs=0.3)  # the estimate bottoms out at 2
    assert stroke_width(thicken(thin, 5)) >= 4
    thick = Image.new("L", (32, 32))
    ImageDraw.Draw(thick).line([(16, 2), (16, 29)], fill=255, width=6)
    assert stroke_width(thick) == pytest.approx(6, abs=1)
    assert np.array_equal(np.asarray(thicken(thick, 5)), np.asarray(thick))
    assert np.asarray(thicken(Image.new("L", (8, 8)), 5)).max() == 0  # nothing drawn, nothing grown


def test_classify_command_prints_labels_and_refuses_bad_files(vision_model_dir, tmp_path, capsys):
    from chatbot.cli import main

    draw_digit(0).save(tmp_path / "zero.png")
    assert main(["classify", "--model", str(vision_model_dir), str(tmp_path / "zero.png")]) == 0
    [result] = json.loads(capsys.readouterr().out)
    assert result["image"].endswith("zero.png") and result["labels"][0]["label"] == "숫자 0"
    assert len(result["labels"]) == 3
    (tmp_path / "notes.png").write_text("not a picture")
    assert main(["classify", "--model", str(vision_model_dir), str(tmp_path / "notes.png")]) == 2
    assert "지원하지 않는 형식" in capsys.readouterr().err
    assert main(["classify", "--model", str(tmp_path / "none"), str(tmp_path / "zero.png")]) == 2
    assert "train-vision" in capsys.readouterr().err
