"""chatbot.vision.images: untrusted upload bytes to a clean RGB picture, or an ImageError in Korean."""

import io
import random
import struct
import warnings
import zlib
from array import array
from dataclasses import FrozenInstanceError

import pytest
from PIL import Image, ImageDraw, ImageFile, features

from chatbot.vision import images
from chatbot.vision.images import (
    MAX_IMAGE_BYTES,
    MAX_IMAGE_PIXELS,
    DecodedImage,
    ImageError,
    load_image,
    thumbnail_png,
    to_png,
)

RED, GREEN, BLUE, WHITE, BLACK = (255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 255), (0, 0, 0)


def encode(image: Image.Image, fmt: str, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def assert_close(actual, expected, tolerance=0):
    close = len(actual) == len(expected) and all(abs(a - e) <= tolerance for a, e in zip(actual, expected, strict=True))
    assert close, f"{actual} is not within {tolerance} of {expected}"


def rejected(data, code: str) -> ImageError:
    with pytest.raises(ImageError) as info:
        load_image(data)
    assert info.value.code == code, info.value.code
    return info.value


def png_claiming(width: int, height: int) -> bytes:
    """A tiny valid PNG whose header claims ``width`` x ``height`` (a decompression bomb's calling card)."""
    data = bytearray(encode(Image.new("1", (1, 1)), "PNG"))
    data[16:24] = struct.pack(">II", width, height)  # IHDR data starts after signature, length and type
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # CRC over the chunk type and data
    return bytes(data)


def noise(size=(48, 32), seed=0) -> Image.Image:
    rng = random.Random(seed)
    return Image.frombytes("RGB", size, bytes(rng.randrange(256) for _ in range(size[0] * size[1] * 3)))


# ---- the error type and the input boundary ----


def test_image_error_carries_code_korean_message_and_status():
    error = ImageError("invalid_image", "이미지 파일이 아니에요.")
    assert isinstance(error, ValueError)
    assert (error.code, error.message, error.status) == ("invalid_image", "이미지 파일이 아니에요.", 400)
    assert str(error) == error.message
    assert ImageError("image_too_large", "너무 커요.", 413).status == 413


@pytest.mark.parametrize("data", ["a string", None, 42, [137, 80, 78, 71], io.BytesIO(b"\x89PNG")])
def test_non_bytes_is_a_type_error(data):
    with pytest.raises(TypeError, match="bytes"):
        load_image(data)


@pytest.mark.parametrize("data", [b"", bytearray(), memoryview(b"")])
def test_empty_upload(data):
    error = rejected(data, "empty_image")
    assert error.status == 400 and "비어" in error.message


@pytest.mark.parametrize("wrap", [bytes, bytearray, memoryview])
def test_bytes_like_inputs_are_decoded(wrap):
    decoded = load_image(wrap(encode(Image.new("RGB", (5, 4), GREEN), "PNG")))
    assert (decoded.width, decoded.height, decoded.image.getpixel((0, 0))) == (5, 4, GREEN)


def test_too_many_bytes_is_refused_before_any_decoding(monkeypatch):
    opened = []
    monkeypatch.setattr(images.Image, "open", lambda *args, **kwargs: opened.append(args))
    error = rejected(b"\x89PNG\r\n\x1a\n" + bytes(MAX_IMAGE_BYTES), "image_too_large")
    assert error.status == 413 and "10MB" in error.message
    # A memoryview of 4-byte items is measured in bytes, not items.
    rejected(memoryview(array("I", bytes(MAX_IMAGE_BYTES // 4 * 4 + 4))), "image_too_large")
    assert opened == []


def test_byte_limit_boundary(monkeypatch):
    data = encode(Image.new("RGB", (3, 3), BLUE), "PNG")
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", len(data))
    assert load_image(data).image.getpixel((1, 1)) == BLUE
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", len(data) - 1)
    rejected(data, "image_too_large")


# ---- what is and is not an image ----


@pytest.mark.parametrize(
    "data",
    [
        "안녕하세요, 사진이 아니라 글이에요.".encode(),
        bytes(random.Random(1).randrange(256) for _ in range(4096)),
        b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n",
        b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><rect width="10" height="10"/></svg>',
        b"PK\x03\x04" + bytes(100),
        b"\x89PNG\r\n\x1a\n",  # a signature and nothing else
        b"GIF89a",
    ],
)
def test_not_an_image(data):
    error = rejected(data, "invalid_image")
    assert error.status == 400 and "PNG, JPEG" in error.message


@pytest.mark.parametrize("fmt", ["EPS", "PPM", "ICO", "TGA", "PCX", "SGI", "QOI", "DDS", "JPEG2000", "SPIDER"])
def test_formats_pillow_reads_but_we_refuse(fmt):
    data = encode(Image.new("RGB", (16, 16), RED), fmt)
    assert Image.open(io.BytesIO(data)).format == fmt  # Pillow alone would have decoded it (EPS via Ghostscript)
    rejected(data, "invalid_image")


ACCEPTED = [
    ("PNG", {}, ".png", 0),
    ("JPEG", {"quality": 95}, ".jpg", 6),
    ("GIF", {}, ".gif", 0),
    ("WEBP", {"lossless": True}, ".webp", 0),
    ("BMP", {}, ".bmp", 0),
    ("TIFF", {}, ".tiff", 0),
    pytest.param(
        "AVIF", {"quality": 95}, ".avif", 8, marks=pytest.mark.skipif(not features.check("avif"), reason="no AVIF")
    ),
]


@pytest.mark.parametrize("fmt, params, extension, tolerance", ACCEPTED)
def test_accepted_formats(fmt, params, extension, tolerance):
    decoded = load_image(encode(Image.new("RGB", (12, 7), RED), fmt, **params))
    assert isinstance(decoded, DecodedImage)
    assert (decoded.format, decoded.extension, decoded.frames) == (fmt, extension, 1)
    assert (decoded.image.mode, decoded.image.size, decoded.width, decoded.height) == ("RGB", (12, 7), 12, 7)
    assert_close(decoded.image.getpixel((6, 3)), RED, tolerance)


def test_phone_jpeg_with_a_second_picture_is_mpo_stored_as_jpg():
    data = encode(Image.new("RGB", (8, 8), RED), "MPO", save_all=True, append_images=[Image.new("RGB", (8, 8), BLUE)])
    decoded = load_image(data)
    assert (decoded.format, decoded.extension, decoded.frames) == ("MPO", ".jpg", 2)
    assert type(decoded.image) is Image.Image  # detached from the multi-frame file and its bytes
    assert_close(decoded.image.getpixel((4, 4)), RED, 6)


def test_decoded_image_is_frozen():
    decoded = load_image(encode(Image.new("RGB", (2, 2)), "PNG"))
    with pytest.raises(FrozenInstanceError):
        decoded.width = 3


# ---- damaged files: only ImageError may escape ----


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_file_cut_in_half(fmt):
    data = encode(noise(), fmt)
    error = rejected(data[: len(data) // 2], "truncated_image")
    assert error.status == 400 and "손상" in error.message
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "GIF", "WEBP", "BMP", "TIFF"])
def test_every_cut_and_corruption_gives_an_image_error_or_an_image(fmt):
    data = encode(noise((24, 16)), fmt)
    rng = random.Random(fmt)
    cuts = [data[:n] for n in range(1, len(data), max(1, len(data) // 150))]
    corrupted = []
    for _ in range(150):
        mangled = bytearray(data)
        for _ in range(rng.randint(1, 8)):
            mangled[rng.randrange(len(mangled))] = rng.randrange(256)
        corrupted.append(bytes(mangled))
    codes = set()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Pillow warns about some broken files before failing on them
        for sample in cuts + corrupted:
            try:
                decoded = load_image(sample)
            except ImageError as e:
                codes.add(e.code)
            else:
                assert decoded.image.mode == "RGB"
    assert codes and codes <= {"invalid_image", "truncated_image", "image_too_many_pixels"}  # a mangled size


@pytest.mark.parametrize(
    "exception",
    [
        OSError("broken data stream"),
        SyntaxError("bad"),
        ValueError("x"),
        struct.error("y"),
        EOFError(),
        IndexError(),
        ZeroDivisionError(),
        KeyError("z"),
        TypeError("w"),
    ],
)
def test_any_decoder_exception_becomes_an_image_error(monkeypatch, exception):
    def broken_load(self):
        raise exception

    monkeypatch.setattr(ImageFile.ImageFile, "load", broken_load)
    rejected(encode(Image.new("RGB", (4, 4)), "PNG"), "truncated_image")


def test_a_header_a_plugin_chokes_on_is_invalid(monkeypatch):
    def broken_open(*args, **kwargs):
        raise struct.error("unpack requires a buffer of 4 bytes")

    monkeypatch.setattr(images.Image, "open", broken_open)
    rejected(encode(Image.new("RGB", (4, 4)), "PNG"), "invalid_image")


# ---- decompression bombs ----


@pytest.fixture(scope="module")
def bomb_png() -> bytes:
    return encode(Image.new("1", (8000, 6000)), "PNG")  # 48 megapixels in a few kilobytes


def test_too_many_pixels_is_refused_from_the_header(monkeypatch, bomb_png):
    assert len(bomb_png) < 20_000 and 8000 * 6000 > MAX_IMAGE_PIXELS
    loaded = []
    monkeypatch.setattr(ImageFile.ImageFile, "load", lambda self: loaded.append(self))
    error = rejected(bomb_png, "image_too_many_pixels")
    assert error.status == 413 and "화소" in error.message
    assert loaded == []  # refused before a single pixel was decoded


def test_pixel_limit_boundary(monkeypatch):
    monkeypatch.setattr(images, "MAX_IMAGE_PIXELS", 100)
    assert load_image(encode(Image.new("RGB", (10, 10)), "PNG")).width == 10
    rejected(encode(Image.new("RGB", (11, 10)), "PNG"), "image_too_many_pixels")


def test_pillow_bomb_warning_becomes_our_error():
    data = png_claiming(10_000, 10_000)  # over Pillow's warning limit, under its error limit
    assert Image.MAX_IMAGE_PIXELS < 10_000 * 10_000 < 2 * Image.MAX_IMAGE_PIXELS
    with pytest.warns(Image.DecompressionBombWarning):
        rejected(data, "image_too_many_pixels")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # as under `python -W error`: the warning is raised inside Image.open
        assert rejected(data, "image_too_many_pixels").status == 413


def test_pillow_bomb_error_becomes_our_error():
    assert rejected(png_claiming(20_000, 20_000), "image_too_many_pixels").status == 413


# ---- frames ----


@pytest.mark.parametrize("fmt, params", [("GIF", {}), ("PNG", {}), ("WEBP", {"lossless": True})])
def test_animation_gives_its_first_frame_and_counts_frames(fmt, params):
    frames = [Image.new("RGB", (10, 8), colour) for colour in (GREEN, RED, BLUE)]
    data = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=100, loop=0, **params)
    decoded = load_image(data)
    assert (decoded.format, decoded.frames, decoded.image.size) == (fmt, 3, (10, 8))
    assert decoded.image.getpixel((5, 4)) == GREEN


# ---- modes ----


def digit_canvas(mode: str, ink, clear) -> Image.Image:
    canvas = Image.new(mode, (20, 20), clear)
    ImageDraw.Draw(canvas).rectangle((8, 2, 11, 17), fill=ink)  # a "1"
    return canvas


@pytest.mark.parametrize(
    "mode, ink, clear",
    [("RGBA", (0, 0, 0, 255), (0, 0, 0, 0)), ("LA", (0, 255), (0, 0)), ("RGBA", (0, 0, 0, 255), (255, 0, 0, 0))],
)
def test_transparent_canvas_goes_on_white(mode, ink, clear):
    decoded = load_image(encode(digit_canvas(mode, ink, clear), "PNG"))
    assert decoded.image.mode == "RGB"
    assert decoded.image.getpixel((9, 10)) == BLACK
    assert decoded.image.getpixel((2, 2)) == WHITE


def test_half_transparent_red_is_pink_on_white():
    decoded = load_image(encode(Image.new("RGBA", (4, 4), (255, 0, 0, 128)), "PNG"))
    assert_close(decoded.image.getpixel((1, 1)), (255, 127, 127), 1)


@pytest.mark.parametrize("fmt", ["PNG", "GIF"])
def test_palette_with_transparent_index_goes_on_white(fmt):
    canvas = digit_canvas("P", 1, 0)
    canvas.putpalette([9, 9, 9, 0, 0, 0] + [0] * 762)  # index 0 is transparent (and dark grey underneath)
    decoded = load_image(encode(canvas, fmt, transparency=0))
    assert (decoded.image.getpixel((9, 10)), decoded.image.getpixel((2, 2))) == (BLACK, WHITE)


def test_rgb_with_a_transparent_colour_key_goes_on_white():
    decoded = load_image(encode(digit_canvas("RGB", BLACK, RED), "PNG", transparency=RED))
    assert (decoded.image.getpixel((9, 10)), decoded.image.getpixel((2, 2))) == (BLACK, WHITE)


@pytest.mark.parametrize(
    "mode, value, fmt, expected",
    [
        ("L", 100, "PNG", 100),
        ("1", 1, "PNG", 255),
        ("I;16", 32896, "PNG", 128),  # 128 * 257: scaled from 0..65535, not clipped to 255
        ("I;16", 65535, "PNG", 255),
        ("I;16B", 32896, "TIFF", 128),
        ("I", 40000, "TIFF", 156),  # 32-bit integers holding 16-bit data
        ("I", 200, "TIFF", 200),  # 32-bit integers holding 8-bit data
        ("F", 0.5, "TIFF", 128),  # floats in 0..1
        ("F", 200.0, "TIFF", 200),  # floats in 0..255
    ],
)
def test_greyscale_keeps_its_brightness(mode, value, fmt, expected):
    image = Image.new(mode, (6, 4), value)
    if mode == "1":
        image.putpixel((0, 0), 0)
    decoded = load_image(encode(image, fmt))
    assert decoded.image.mode == "RGB"
    assert decoded.image.getpixel((3, 2)) == (expected,) * 3
    if mode == "1":
        assert decoded.image.getpixel((0, 0)) == BLACK


def test_float_greyscale_out_of_any_usual_range_is_stretched():
    image = Image.new("F", (4, 1), -50.0)
    image.putpixel((3, 0), 70_000.0)
    decoded = load_image(encode(image, "TIFF"))
    assert (decoded.image.getpixel((0, 0)), decoded.image.getpixel((3, 0))) == (BLACK, WHITE)


@pytest.mark.parametrize(
    "image, fmt, expected, tolerance",
    [
        (Image.new("CMYK", (8, 8), (0, 255, 255, 0)), "JPEG", RED, 6),  # red in ink
        (Image.new("CMYK", (8, 8), (255, 0, 255, 0)), "TIFF", GREEN, 0),
        (Image.new("YCbCr", (8, 8), (76, 85, 255)), "TIFF", RED, 2),  # red in luma and chroma
        (Image.new("RGB", (8, 8), BLUE).convert("P"), "BMP", BLUE, 0),
    ],
    ids=["CMYK-JPEG", "CMYK-TIFF", "YCbCr-TIFF", "P-BMP"],
)
def test_other_colour_spaces_become_rgb(image, fmt, expected, tolerance):
    data = encode(image, fmt)
    assert Image.open(io.BytesIO(data)).mode == image.mode  # the upload really is in that colour space
    decoded = load_image(data)
    assert (decoded.image.mode, decoded.image.size) == ("RGB", (8, 8))
    assert_close(decoded.image.getpixel((4, 4)), expected, tolerance)


# ---- EXIF orientation ----


@pytest.mark.parametrize(
    "fmt, orientation, red_at, blue_at",
    [
        ("JPEG", 6, (10, 5), (10, 35)),  # rotate 90° clockwise: the left half ends on top
        ("JPEG", 8, (10, 35), (10, 5)),  # rotate 90° counter-clockwise: the left half ends at the bottom
        ("PNG", 6, (10, 5), (10, 35)),
        ("TIFF", 8, (10, 35), (10, 5)),  # Pillow 13 rotates TIFFs itself while loading: not twice, then
    ],
)
def test_exif_orientation_is_applied(fmt, orientation, red_at, blue_at):
    stored = Image.new("RGB", (40, 20), BLUE)
    stored.paste(RED, (0, 0, 20, 20))
    exif = Image.Exif()
    exif[0x0112] = orientation
    # Pillow's TIFF writer ignores `exif`: there the orientation is an ordinary tag of the image.
    data = encode(stored, fmt, tiffinfo={0x0112: orientation}) if fmt == "TIFF" else encode(stored, fmt, exif=exif)
    assert Image.open(io.BytesIO(data)).getexif()[0x0112] == orientation
    decoded = load_image(data)
    assert (decoded.width, decoded.height, decoded.image.size) == (20, 40, (20, 40))
    assert_close(decoded.image.getpixel(red_at), RED, 8)
    assert_close(decoded.image.getpixel(blue_at), BLUE, 8)


def test_corrupt_exif_does_not_cost_the_picture(monkeypatch):
    exif = b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08\x00\x05\x01\x12"  # claims 5 entries, holds 2 bytes
    data = encode(Image.new("RGB", (6, 6), RED), "JPEG", exif=exif)
    with pytest.warns(UserWarning, match="Corrupt EXIF"):
        assert_close(load_image(data).image.getpixel((3, 3)), RED, 6)

    def exif_fails(image, **kwargs):
        raise SyntaxError("not a TIFF IFD")

    monkeypatch.setattr(images.ImageOps, "exif_transpose", exif_fails)
    with pytest.warns(UserWarning, match="Corrupt EXIF"):
        assert_close(load_image(data).image.getpixel((3, 3)), RED, 6)


# ---- PNG output ----


def test_to_png_round_trips_exactly():
    image = noise((9, 7))
    decoded = load_image(to_png(image))
    assert (decoded.format, decoded.extension) == ("PNG", ".png")
    assert decoded.image.tobytes() == image.tobytes()


@pytest.mark.parametrize(
    "size, max_side, expected",
    [
        ((600, 300), 256, (256, 128)),
        ((30, 300), 256, (26, 256)),
        ((100, 50), 256, (100, 50)),  # smaller than max_side: left as it is
        ((400, 1), 100, (100, 1)),  # never rounded down to zero pixels
    ],
)
def test_thumbnail_keeps_aspect_and_never_enlarges(size, max_side, expected):
    image = Image.new("RGB", size, GREEN)
    decoded = load_image(thumbnail_png(image, max_side=max_side))
    assert (decoded.format, decoded.image.size) == ("PNG", expected)
    assert_close(decoded.image.getpixel((0, 0)), GREEN, 1)
    assert image.size == size  # the original is left alone


def test_thumbnail_default_side_and_bad_side():
    assert load_image(thumbnail_png(Image.new("RGB", (1000, 500)))).image.size == (256, 128)
    with pytest.raises(ValueError, match="max_side"):
        thumbnail_png(Image.new("RGB", (10, 10)), max_side=0)
