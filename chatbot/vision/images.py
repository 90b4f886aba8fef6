"""Bytes uploaded by chat users to a clean RGB picture for the classifier, or an ``ImageError`` in Korean.

Uploads are untrusted: the byte size is checked before decoding, the pixel count from the header before the
pixels are decoded, only ordinary raster formats are opened, and whatever a decoder raises on a broken file
becomes an ``ImageError`` that the web API turns into a 4xx JSON error instead of a 500.
"""

from __future__ import annotations

import functools
import io
import logging
from dataclasses import dataclass

from PIL import Image, ImageOps

from chatbot.errors import InputError

logger = logging.getLogger(__name__)

MAX_IMAGE_BYTES = 10 * 1024 * 1024  # 10 MB
MAX_IMAGE_PIXELS = 40_000_000  # 40 megapixels: below Pillow's own bomb limit (~89 MP), so ours speaks first

# Pillow format name -> extension for storing the original. MPO is how Pillow names the JPEGs that phones
# write with an embedded second picture; they are still .jpg files. EPS (Ghostscript), PDF, fonts, scientific
# and legacy formats are left out on purpose: they are not chat pictures and widen the attack surface.
EXTENSIONS = {
    "PNG": ".png",
    "JPEG": ".jpg",
    "MPO": ".jpg",
    "GIF": ".gif",
    "WEBP": ".webp",
    "BMP": ".bmp",
    "TIFF": ".tiff",
    "AVIF": ".avif",
}

MESSAGES = {
    "empty_image": "이미지 파일이 비어 있어요. 다른 파일을 올려 주세요.",
    "image_too_large": "이미지가 너무 커요. 10MB 이하로 올려 주세요.",
    "image_too_many_pixels": "이미지 해상도가 너무 커요. 4천만 화소 이하로 올려 주세요.",
    "invalid_image": "이미지 파일이 아니거나 지원하지 않는 형식이에요. PNG, JPEG, GIF, WEBP 파일을 올려 주세요.",
    "truncated_image": "이미지 파일이 손상되었거나 잘려 있어요. 다른 파일을 올려 주세요.",
}
_STATUS = {"image_too_large": 413, "image_too_many_pixels": 413}

_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_WIDE_GREY_MODES = {"I", "F", "I;16", "I;16L", "I;16B", "I;16N"}
_BOMB = (Image.DecompressionBombError, Image.DecompressionBombWarning)  # the warning is raised under -W error


class ImageError(InputError):
    """An upload that cannot be used, with a stable ``code``, a Korean ``message`` and an HTTP ``status``."""


@dataclass(frozen=True)
class DecodedImage:
    """An upload decoded to RGB (orientation applied, first frame, transparency on white)."""

    image: Image.Image
    format: str
    extension: str
    width: int
    height: int
    frames: int


def _error(code: str) -> ImageError:
    return ImageError(code, MESSAGES[code], _STATUS.get(code, 400))


@functools.cache
def _allowed_formats() -> tuple[str, ...]:
    # Image.open raises KeyError for a name whose plugin this Pillow build lacks (AVIF is optional).
    Image.init()
    return tuple(name for name in EXTENSIONS if name in Image.OPEN)


def load_image(data: bytes) -> DecodedImage:
    """Decode uploaded bytes to an RGB ``DecodedImage``, or raise ``ImageError`` saying what to fix."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"load_image expects bytes, not {type(data).__name__}")
    size = data.nbytes if isinstance(data, memoryview) else len(data)
    if size == 0:
        raise _error("empty_image")
    if size > MAX_IMAGE_BYTES:
        logger.info("image rejected: %d bytes > %d", size, MAX_IMAGE_BYTES)
        raise _error("image_too_large")
    if isinstance(data, memoryview):
        data = data.tobytes()  # BytesIO needs a contiguous buffer; the size is already known to be bounded

    try:
        im = Image.open(io.BytesIO(data), formats=_allowed_formats())
    except _BOMB as e:
        raise _rejected("image_too_many_pixels", e) from e
    except Exception as e:  # UnidentifiedImageError, or a plugin's own error on a mangled header
        raise _rejected("invalid_image", e) from e
    if im.width * im.height > MAX_IMAGE_PIXELS:
        logger.info("image rejected: %s %dx%d > %d pixels", im.format, im.width, im.height, MAX_IMAGE_PIXELS)
        raise _error("image_too_many_pixels")

    fmt = im.format or "?"
    try:
        frames = getattr(im, "n_frames", 1)  # Pillow walks the frames to count them, then seeks back to the first
        im.load()
        _apply_orientation(im)
        picture = _to_rgb(im)
        if picture is im and frames > 1:
            picture = im.copy()  # detach from the file so later frames and the upload bytes can be freed
    except _BOMB as e:  # Pillow checks frame sizes again while seeking through GIFs
        raise _rejected("image_too_many_pixels", e) from e
    except Exception as e:  # decoders raise OSError, SyntaxError, EOFError, struct.error, ... on damaged files
        raise _rejected("truncated_image", e) from e
    logger.debug("image decoded: %s %dx%d, %d frame(s)", fmt, picture.width, picture.height, frames)
    return DecodedImage(picture, fmt, EXTENSIONS.get(fmt, ""), picture.width, picture.height, frames)


def _rejected(code: str, cause: BaseException) -> ImageError:
    logger.info("image rejected (%s): %s: %s", code, type(cause).__name__, cause)
    return _error(code)


def _apply_orientation(im: Image.Image) -> None:
    try:
        ImageOps.exif_transpose(im, in_place=True)
    except Exception as e:  # a broken EXIF block should not cost the user a picture whose pixels decoded fine
        logger.info("EXIF orientation ignored: %s: %s", type(e).__name__, e)


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB version of ``im``: transparency over white, wide greyscale scaled to 0..255; ``im`` itself if RGB."""
    if im.mode == "RGB" and "transparency" not in im.info:
        return im
    if im.mode in _WIDE_GREY_MODES:
        return _scale_grey(im).convert("RGB")
    if im.mode in _ALPHA_MODES or "transparency" in im.info:
        rgba = im.convert("RGBA")  # also applies a palette's or a colour key's transparency
        # White, not black: digits and sketches are drawn dark on a transparent canvas.
        canvas = Image.new("RGB", im.size, (255, 255, 255))
        canvas.paste(rgba, mask=rgba.getchannel("A"))
        return canvas
    return im.convert("RGB")  # L, 1, P, CMYK, YCbCr, LAB, ...


def _scale_grey(im: Image.Image) -> Image.Image:
    """Map 16-bit, 32-bit or float greyscale to 0..255 instead of letting ``convert`` clip it."""
    if im.mode.startswith("I;16"):
        im, low, high = im.convert("I"), 0.0, 65535.0  # the bit depth, not the content, fixes the range
    else:
        low, high = im.getextrema()  # type: ignore[assignment]  # one band here; Pillow types it for any number
        # The smallest usual range that holds the values: 0..1 floats, 8-bit or 16-bit data stored wider;
        # failing those, stretch the actual range, as there is no convention left to honour.
        tops = (1.0, 255.0, 65535.0) if im.mode == "F" else (255.0, 65535.0)
        top = next((t for t in tops if low >= 0 and high <= t), None)
        if top is not None:
            low, high = 0.0, top
    scale = 255.0 / (high - low) if high > low else 0.0
    return im.point(lambda v: v * scale - low * scale + 0.5)  # + 0.5: the conversions below truncate


def to_png(image: Image.Image) -> bytes:
    """PNG bytes of ``image``."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def thumbnail_png(image: Image.Image, max_side: int = 256) -> bytes:
    """PNG bytes of ``image`` shrunk to fit ``max_side`` on its longest side, aspect kept, never enlarged."""
    if max_side < 1:
        raise ValueError(f"max_side must be at least 1, got {max_side}")
    longest = max(image.width, image.height)
    if longest > max_side:
        ratio = max_side / longest
        size = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
        # reducing_gap shrinks by whole factors first: much faster on photos, same look at thumbnail size.
        image = image.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return to_png(image)
