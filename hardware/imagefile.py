"""Frame files as inspection scopes and their capture software write them.

Capture software pads JPEGs to 32 or 64 KB blocks after the end marker, leaves
junk between segments and records the camera's orientation in EXIF. None of
that makes a file unusable: a file is whole when the decoder returns the whole
image. What does make it unusable, a file cut short (decoders silently fill
the rest with grey), an empty one, one that is not an image, one whose header
claims a size that would exhaust memory, is refused with the reason in plain
words.

Pillow identifies the file and reads its header without decoding (the pixel
limit is checked there, before any pixel is decoded), then decodes it, saying
when the data stops short. It lives here, not in ``grading``, because the
replay probe reads the same files and ``hardware`` may not import ``grading``;
``grading.image_io`` reads files through this module.
"""

from __future__ import annotations

import io
import warnings

import cv2
import numpy as np
from PIL import ExifTags, Image

MAX_PIXELS = 40_000_000  # far beyond any probe; refuses decompression bombs

# Our name for each format read, by Pillow's (a JPEG with several pictures opens as MPO).
_FORMATS = {
    "PNG": "PNG",
    "JPEG": "JPEG",
    "MPO": "JPEG",
    "TIFF": "TIFF",
    "BMP": "BMP",
    "DIB": "BMP",
    "WEBP": "WebP",
    "GIF": "GIF",
    "PPM": "PNM",
}
READ_FORMATS = ("PNG", "JPEG", "TIFF", "BMP", "WebP", "GIF", "PNM")
# The only Pillow parsers that ever see a file's bytes: fewer formats, fewer parsers to trust.
_PILLOW_PLUGINS = ("PNG", "JPEG", "TIFF", "BMP", "WEBP", "GIF", "PPM")
_UNKNOWN = (
    "not a readable image (unknown format or corrupt data; "
    f"{', '.join(READ_FORMATS)} files are read)"
)
_ORIENTATION = ExifTags.Base.Orientation
_SIXTEEN_BIT_GREY = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})


class ImageFileError(ValueError):
    """A frame file that cannot be used, with the reason in one plain line."""


def decode_frame_file(data: bytes, max_pixels: int = MAX_PIXELS) -> np.ndarray:
    """The picture in an image file's bytes, read by content, upright as its EXIF says.

    In grey (rows x columns), the form every frame takes here (probes deliver grey and
    the grader works on brightness), with the file's depth: uint8, uint16, int32 or
    float32. Alpha is dropped. ImageFileError saying what is wrong otherwise.
    """
    if not data:
        raise ImageFileError("empty file")
    # Pillow warns of large images and odd files; this module refuses or reads them itself,
    # and a warning must not reach the operator's terminal.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module=r"PIL(\.|$)")
        try:
            im = Image.open(io.BytesIO(data), formats=_PILLOW_PLUGINS)
        except Image.DecompressionBombError:
            raise ImageFileError(_too_large(None, max_pixels)) from None
        except Exception:  # any failure of a parser on these bytes: not a file we can read
            raise ImageFileError(_UNKNOWN) from None
        with im:
            kind = _FORMATS.get(im.format or "")
            if kind is None:
                raise ImageFileError(_UNKNOWN)
            w, h = im.size
            if w < 1 or h < 1:
                raise ImageFileError(f"not a readable image (its {kind} header claims {w}x{h} px)")
            if w * h > max_pixels:  # from the header: nothing has been decoded yet
                raise ImageFileError(_too_large((w, h), max_pixels))
            wide = _sixteen_bit_colour(im, kind)  # from the header: decoding forgets it
            scan_at = im.fp.tell() if im.format == "JPEG" else None  # where coded pixels start
            if im.format in ("JPEG", "MPO") and im.mode == "RGB":
                im.draft("L", None)  # libjpeg hands out the luma it stores: no colour planes
            _load_whole(im, kind, max_pixels)
            if scan_at is not None and data.find(b"\xff\xd9", scan_at) < 0:
                # Pillow stops once every row is out, without looking for the end marker: a
                # JPEG cut short and then padded with zeros (a pre-allocated file whose
                # writing stopped) decodes in full, its last rows made up from the zeros.
                # Coded data cannot hold this marker; padding after it does not matter.
                raise ImageFileError(_truncated(kind))
            pixels = _colour_from_opencv(data, (w, h), kind) if wide else _pixels(im)
            orientation = _orientation(im)
    return _upright(pixels, orientation)


def _too_large(size: tuple[int, int] | None, max_pixels: int) -> str:
    claimed = f"{size[0]}x{size[1]} px" if size else "its header claims far too many pixels"
    return f"image too large ({claimed}); at most {max_pixels} pixels"


def _truncated(kind: str) -> str:
    return f"truncated {kind} file (the data stops before the end of the image)"


def _load_whole(im: Image.Image, kind: str, max_pixels: int) -> None:
    """Decode every pixel, or say why not. Pillow raises when the data stops before the
    image is complete (as long as ImageFile.LOAD_TRUNCATED_IMAGES is left False), where
    decoders used directly fill the rest with grey."""
    try:
        im.load()
    except Image.DecompressionBombError:
        raise ImageFileError(_too_large(None, max_pixels)) from None
    except OSError as exc:
        if "truncated" in str(exc).lower():
            raise ImageFileError(_truncated(kind)) from None
        raise ImageFileError(f"not a readable image (corrupt {kind} data)") from None
    except Exception:  # a decoder's own complaint about damaged data
        raise ImageFileError(f"not a readable image (corrupt {kind} data)") from None


def _pixels(im: Image.Image) -> np.ndarray:
    """The decoded picture in grey, keeping the file's depth; colour is weighed as
    OpenCV's BGR2GRAY does (0.299 R + 0.587 G + 0.114 B)."""
    mode = im.mode
    if mode in _SIXTEEN_BIT_GREY:
        return np.array(im).astype(np.uint16, copy=False)  # native byte order
    if mode == "I" and im.format in ("PNG", "PPM"):  # 16-bit grey held as 32-bit integers
        return np.array(im).astype(np.uint16)
    if mode in ("L", "I", "F"):
        return np.array(im)
    if mode in ("1", "LA", "La"):
        return np.array(im.convert("L"))
    if mode in ("RGBA", "RGBa", "RGBX"):
        return cv2.cvtColor(np.asarray(im), cv2.COLOR_RGBA2GRAY)
    rgb = im if mode == "RGB" else im.convert("RGB")  # palette, CMYK, YCbCr...
    return cv2.cvtColor(np.asarray(rgb), cv2.COLOR_RGB2GRAY)


def _sixteen_bit_colour(im: Image.Image, kind: str) -> bool:
    """A colour file with 16 bits a channel, which Pillow decodes to 8 (a 16-bit sensor's
    extra levels matter to faint defects)."""
    if im.mode not in ("RGB", "RGBA"):
        return False
    if kind == "TIFF":
        bits = im.tag_v2.get(258, 8)  # BitsPerSample, one per channel
        return max(bits if isinstance(bits, tuple) else (bits,)) > 8
    args = im.tile[0][3] if im.tile else None  # how the decoder reads the raw samples
    if kind == "PNG":
        return isinstance(args, str) and ";16" in args
    if kind == "PNM":  # ("RGB", maxval) when maxval is not 255
        return isinstance(args, tuple) and isinstance(args[-1], int) and args[-1] > 255
    return False


def _colour_from_opencv(data: bytes, size: tuple[int, int], kind: str) -> np.ndarray:
    """16-bit colour through OpenCV, which keeps the depth; Pillow has already decoded the
    whole file, so it is known to be complete."""
    try:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    except cv2.error:
        img = None
    if img is None or img.ndim != 3 or img.shape[1::-1] != size:
        raise ImageFileError(f"not a readable image (corrupt {kind} data)")
    return cv2.cvtColor(img, cv2.COLOR_BGRA2GRAY if img.shape[2] == 4 else cv2.COLOR_BGR2GRAY)


def _orientation(im: Image.Image) -> int:
    """The EXIF orientation (1 to 8; 1 when absent or unreadable)."""
    try:
        value = im.getexif().get(_ORIENTATION, 1)
    except Exception:  # damaged EXIF says nothing reliable about the orientation
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _upright(img: np.ndarray, orientation: int) -> np.ndarray:
    """The stored pixels turned as EXIF orientation ``orientation`` says they are viewed."""
    if orientation == 1:
        return img
    turned = {
        2: lambda a: a[:, ::-1],  # mirrored left-right
        3: lambda a: a[::-1, ::-1],  # upside down
        4: lambda a: a[::-1],  # mirrored top-bottom
        5: lambda a: a.swapaxes(0, 1),  # transposed
        6: lambda a: np.rot90(a, -1),  # stored lying on its left side: turn clockwise
        7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # transposed across the other diagonal
        8: lambda a: np.rot90(a, 1),  # stored lying on its right side: turn anticlockwise
    }[orientation](img)
    return np.ascontiguousarray(turned)
