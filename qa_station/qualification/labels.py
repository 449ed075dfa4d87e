"""Reference sets: faces with a known verdict, in one documented file format.

A factory's own set is a folder of images of its physical reference
connectors (taken through the station's probe) plus ``labels.toml``:

```toml
format = "qa-station reference set"
version = 1
name = "Golden units, line 3"

[[faces]]
image = "golden-07-A-f03.png"          # in the folder (a sub-folder is fine)
connector = "mpo12"
rules = "iec-61300-3-35-ed2/sm-apc"    # a built-in table, or a TOML file in the folder
verdict = "fail"                       # pass, fail, or error (must not be judged)
note = "7 um particle in zone B"       # optional
defects = [{ kind = "defect", zone = "B", size_um = 7.1, x_um = 31.0, y_um = -4.0 }]
```

A top-level ``focus_check = false`` says the images were not taken through
this station's probe (rendered, or from another bench), so the focus
threshold of its calibration does not apply to them; the grader's own blur
limit still does.

``defects`` (optional) are the reference measurements: kind ``defect`` or
``scratch`` (size = width), the zone, the size in um and, optionally, where
it is from the fibre's centre (x right, y down, um); they give the size
error. The built-in set is the same format in the package, with a
``[faces.render]`` table (how the renderer draws the face) instead of an
image: its frames are rendered, deterministically, when it is used.

Everything wrong with a file is refused before anything is graded, with the
file, the face and the key at fault; nothing is recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from datafiles import finite, shown, toml_document
from grading.geometry import CONNECTORS
from grading.rules import RuleFileError, builtin_names, load_rules

FORMAT = "qa-station reference set"
VERSION = 1
LABELS_FILE = "labels.toml"
VERDICTS = ("pass", "fail", "error")
DEFECT_KINDS = ("defect", "scratch")
FEATURE_KINDS = ("particle", "pit", "chip", "residue", "scratch")
MAX_FACES = 2000
MAX_SIZE_UM = 1000.0


class ReferenceSetError(ValueError):
    """A reference set that cannot be used, with the file, face and key at fault."""


@dataclass(frozen=True)
class TruthDefect:
    """A reference measurement of one defect or scratch on a face."""

    kind: str  # "defect" or "scratch"
    zone: str
    size_um: float
    at_um: tuple[float, float] | None = None  # from the fibre centre (x right, y down)

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"kind": self.kind, "zone": self.zone, "size_um": self.size_um}
        if self.at_um is not None:
            d["x_um"], d["y_um"] = self.at_um
        return d


@dataclass(frozen=True)
class RenderedFeature:
    """A feature of a built-in face, placed from the fibre's centre."""

    kind: str  # particle, pit, chip, residue, scratch
    at_um: tuple[float, float]
    size_um: float
    contrast: float
    length_um: float = 0.0
    angle_deg: float = 0.0
    seed: int = 0


@dataclass(frozen=True)
class Recipe:
    """How a built-in face is drawn (``builtin.render_face``)."""

    look: str
    fibre: str  # sm, mm, mm62
    target: int  # the fibre of the connector in view, 1-based
    offset_um: tuple[float, float]  # where the probe looks, from that fibre's centre
    um_per_px: float
    size_px: tuple[int, int]
    blur_um: float
    noise: float
    noise_seed: int
    texture_seed: int
    features: tuple[RenderedFeature, ...]
    frame_sha256: str  # the frame as the set was made (a renderer that draws otherwise shows)


@dataclass(frozen=True)
class Face:
    id: str
    connector: str
    rules: str  # a built-in table's name, or the path of a table in the set's folder
    verdict: str  # the truth: pass, fail, error
    defects: tuple[TruthDefect, ...] = ()
    note: str = ""
    image: Path | None = None
    recipe: Recipe | None = None
    limit: str = ""  # which limit of the table the face is near (built-in set)

    @property
    def tip(self) -> str:
        from qa_station.config import tip_for

        return tip_for(self.connector)


@dataclass(frozen=True)
class ReferenceSet:
    name: str
    source: str  # "built-in" or the folder it was read from
    labels_sha256: str
    faces: tuple[Face, ...]
    # Whether the frames were taken through this station's probe, so that its focus
    # threshold applies (false for rendered faces: their looks differ in grain).
    focus_check: bool = True

    @property
    def builtin(self) -> bool:
        return self.source == "built-in"


def load_folder(folder: Path | str) -> ReferenceSet:
    """A factory's reference set: ``FOLDER/labels.toml`` and the images it names."""
    root = Path(folder)
    try:
        if not root.is_dir():
            raise ReferenceSetError(
                f"reference set {shown(str(root))}: "
                + ("not a folder" if root.exists() else "no such folder")
            )
        labels = root / LABELS_FILE
        data = labels.read_bytes()
    except FileNotFoundError:
        raise ReferenceSetError(
            f"reference set {shown(str(root))}: no {LABELS_FILE} in the folder (see the "
            "format in README: a [[faces]] table per image)"
        ) from None
    except OSError as exc:
        raise ReferenceSetError(
            f"reference set {shown(str(root))}: cannot be read ({exc.strerror or exc})"
        ) from None
    return parse_labels(data, root / LABELS_FILE, source=str(root))


def parse_labels(data: bytes, origin: Path, source: str) -> ReferenceSet:
    """Parse and check a labels file; ``source`` "built-in" allows render recipes."""
    where = shown(str(origin))
    try:
        doc = toml_document(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise ReferenceSetError(f"labels file {where}: not UTF-8 text") from None
    except ValueError as exc:
        raise ReferenceSetError(f"labels file {where}: not valid TOML ({exc})") from None
    v = _Check(where)
    v.keys(doc, "", {"format", "version", "faces"}, {"name", "description", "focus_check"})
    if doc["format"] != FORMAT:
        v.fail("format", f"{FORMAT!r}; found {doc['format']!r}")
    if doc["version"] != VERSION or isinstance(doc["version"], bool):
        v.fail("version", f"{VERSION} (this station's labels format); found {doc['version']!r}")
    name = v.text(doc, "name", "", default=origin.parent.name or "reference set")
    focus_check = doc.get("focus_check", True)
    if not isinstance(focus_check, bool):
        v.fail("focus_check", f"true or false; found {focus_check!r}")
    faces_raw = doc["faces"]
    if not isinstance(faces_raw, list) or not faces_raw:
        v.fail("faces", "a non-empty array of [[faces]] tables")
    if len(faces_raw) > MAX_FACES:
        v.fail("faces", f"at most {MAX_FACES} faces; found {len(faces_raw)}")
    folder = origin.parent
    builtin = source == "built-in"
    faces = []
    seen: dict[str, int] = {}
    for i, raw in enumerate(faces_raw):
        face = _face(v, raw, f"faces[{i}]", folder, builtin)
        if face.id in seen:
            v.fail(
                f"faces[{i}].id", f"an id not used before (faces[{seen[face.id]}] has {face.id!r})"
            )
        seen[face.id] = i
        faces.append(face)
    return ReferenceSet(
        name=name,
        source=source,
        labels_sha256=hashlib.sha256(data).hexdigest(),
        faces=tuple(faces),
        focus_check=focus_check,
    )


def _face(v: _Check, raw: Any, at: str, folder: Path, builtin: bool) -> Face:
    optional = {"note", "defects", "limit"} | ({"render"} if builtin else {"image", "id"})
    required = {"connector", "rules", "verdict"} | ({"id"} if builtin else {"image"})
    v.keys(raw, at, required, optional)
    conn = raw["connector"]
    if conn not in CONNECTORS:
        v.fail(f"{at}.connector", f"one of {', '.join(CONNECTORS)}; found {conn!r}")
    verdict = raw["verdict"]
    if verdict not in VERDICTS:
        v.fail(f"{at}.verdict", f"pass, fail or error (must not be judged); found {verdict!r}")
    rules = _rules(v, raw["rules"], f"{at}.rules", folder)
    image = recipe = None
    if builtin:
        if "render" not in raw:
            v.fail(f"{at}.render", "a render table (the built-in set draws its faces)")
        recipe = _recipe(v, raw["render"], f"{at}.render")
        default_id = None
    else:
        image = _image(v, raw["image"], f"{at}.image", folder)
        default_id = str(raw["image"])
    defects = raw.get("defects", [])
    if not isinstance(defects, list):
        v.fail(f"{at}.defects", "an array of { kind, zone, size_um } tables")
    return Face(
        id=v.text(raw, "id", at, default=default_id),
        connector=conn,
        rules=rules,
        verdict=verdict,
        defects=tuple(_defect(v, d, f"{at}.defects[{j}]") for j, d in enumerate(defects)),
        note=v.text(raw, "note", at, default=""),
        image=image,
        recipe=recipe,
        limit=v.text(raw, "limit", at, default=""),
    )


def _rules(v: _Check, value: Any, at: str, folder: Path) -> str:
    if not isinstance(value, str) or not value.strip():
        v.fail(at, "a built-in rule set's name or a TOML file in the set's folder")
    if value in builtin_names():
        return value
    path = _within(v, value, at, folder)
    try:
        load_rules(path)
    except RuleFileError as exc:
        v.fail(at, f"a rule table that loads ({exc})")
    return str(path)


def _image(v: _Check, value: Any, at: str, folder: Path) -> Path:
    if not isinstance(value, str) or not value.strip():
        v.fail(at, "the name of an image file in the set's folder")
    path = _within(v, value, at, folder)
    if not path.is_file():
        v.fail(at, f"an image file in the set's folder; {value!r} is not there")
    return path


def _within(v: _Check, value: str, at: str, folder: Path) -> Path:
    """A file named in the labels, kept inside the set's folder."""
    rel = Path(value)
    if rel.is_absolute() or ".." in rel.parts or not value.isprintable():
        v.fail(at, f"a file name inside the set's folder; found {value!r}")
    return folder / rel


def _defect(v: _Check, raw: Any, at: str) -> TruthDefect:
    v.keys(raw, at, {"kind", "zone", "size_um"}, {"x_um", "y_um"})
    if raw["kind"] not in DEFECT_KINDS:
        v.fail(f"{at}.kind", f"defect or scratch; found {raw['kind']!r}")
    if ("x_um" in raw) != ("y_um" in raw):
        v.fail(at, "both x_um and y_um, or neither")
    at_um = None
    if "x_um" in raw:
        at_um = (
            v.number(raw, "x_um", at, lo=-MAX_SIZE_UM),
            v.number(raw, "y_um", at, lo=-MAX_SIZE_UM),
        )
    return TruthDefect(
        kind=raw["kind"],
        zone=v.text(raw, "zone", at),
        size_um=v.number(raw, "size_um", at, lo=0.0, positive=True),
        at_um=at_um,
    )


def _recipe(v: _Check, raw: Any, at: str) -> Recipe:
    v.keys(
        raw,
        at,
        {
            "look",
            "fibre",
            "target",
            "offset_um",
            "um_per_px",
            "size_px",
            "blur_um",
            "noise",
            "noise_seed",
            "texture_seed",
            "features",
            "frame_sha256",
        },
        set(),
    )
    feats = raw["features"]
    if not isinstance(feats, list):
        v.fail(f"{at}.features", "an array of feature tables")
    return Recipe(
        look=v.text(raw, "look", at),
        fibre=v.text(raw, "fibre", at),
        target=v.integer(raw, "target", at, lo=1),
        offset_um=v.pair(raw, "offset_um", at),
        um_per_px=v.number(raw, "um_per_px", at, lo=0.0, positive=True),
        size_px=_whole_pair(v.pair(raw, "size_px", at)),
        blur_um=v.number(raw, "blur_um", at, lo=0.0),
        noise=v.number(raw, "noise", at, lo=0.0),
        noise_seed=v.integer(raw, "noise_seed", at, lo=0),
        texture_seed=v.integer(raw, "texture_seed", at, lo=0),
        features=tuple(_feature(v, f, f"{at}.features[{j}]") for j, f in enumerate(feats)),
        frame_sha256=v.text(raw, "frame_sha256", at),
    )


def _whole_pair(pair: tuple[float, float]) -> tuple[int, int]:
    return int(pair[0]), int(pair[1])


def _feature(v: _Check, raw: Any, at: str) -> RenderedFeature:
    v.keys(
        raw,
        at,
        {"kind", "x_um", "y_um", "size_um", "contrast"},
        {"length_um", "angle_deg", "seed"},
    )
    if raw["kind"] not in FEATURE_KINDS:
        v.fail(f"{at}.kind", f"one of {', '.join(FEATURE_KINDS)}; found {raw['kind']!r}")
    return RenderedFeature(
        kind=raw["kind"],
        at_um=(
            v.number(raw, "x_um", at, lo=-MAX_SIZE_UM),
            v.number(raw, "y_um", at, lo=-MAX_SIZE_UM),
        ),
        size_um=v.number(raw, "size_um", at, lo=0.0, positive=True),
        contrast=v.number(raw, "contrast", at, lo=-1.0),
        length_um=v.number(raw, "length_um", at, lo=0.0, default=0.0),
        angle_deg=v.number(raw, "angle_deg", at, lo=-360.0, default=0.0),
        seed=v.integer(raw, "seed", at, lo=0, default=0),
    )


class _Check:
    """The one-line errors of a labels file: the file, the key, what was expected."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, key: str, expected: str) -> NoReturn:
        raise ReferenceSetError(f"labels file {self.origin}: {shown(key)}: expected {expected}")

    def keys(self, table: Any, at: str, required: set[str], optional: set[str]) -> None:
        if not isinstance(table, dict):
            self.fail(at or "(top level)", "a table")
        for k in table:
            if k not in required | optional:
                allowed = ", ".join(sorted(required | optional))
                self.fail(_join(at, k), f"one of {allowed}; unknown key")
        for k in sorted(required):
            if k not in table:
                self.fail(_join(at, k), "this key; it is missing")

    def text(self, table: Mapping[str, Any], key: str, at: str, default: str | None = None) -> str:
        if key not in table and default is not None:
            return default
        value = table.get(key)
        if not isinstance(value, str) or not value.strip() or not value.isprintable():
            self.fail(_join(at, key), f"a non-empty string on one line; found {value!r}")
        return value

    def number(
        self,
        table: Mapping[str, Any],
        key: str,
        at: str,
        lo: float,
        positive: bool = False,
        default: float | None = None,
    ) -> float:
        if key not in table and default is not None:
            return default
        value = table.get(key)
        if (
            not isinstance(value, int | float)
            or isinstance(value, bool)
            or not finite(value)
            or not lo <= value <= MAX_SIZE_UM
            or (positive and not value > 0)
        ):
            bound = "> 0" if positive else f">= {lo:g}"
            self.fail(_join(at, key), f"a finite number {bound}; found {value!r}")
        return float(value)

    def integer(
        self, table: Mapping[str, Any], key: str, at: str, lo: int, default: int | None = None
    ) -> int:
        if key not in table and default is not None:
            return default
        value = table.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value < 2**63:
            self.fail(_join(at, key), f"an integer >= {lo}; found {value!r}")
        return value

    def pair(self, table: Mapping[str, Any], key: str, at: str) -> tuple[float, float]:
        value = table.get(key)
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value)
            or not all(finite(x) for x in value)
        ):
            self.fail(_join(at, key), f"two numbers [x, y]; found {value!r}")
        return float(value[0]), float(value[1])


def _join(at: str, key: str) -> str:
    return f"{at}.{key}" if at else key


def render_labels(
    name: str,
    faces: list[Face] | tuple[Face, ...],
    images: dict[str, str] | None = None,
    header: tuple[str, ...] = (),
    description: str = "",
    focus_check: bool = True,
) -> str:
    """A labels file for ``faces``: each with its image (``images``: face id -> file name)
    or, without one, its render recipe. ``parse_labels`` reads it back."""
    lines = [f"# {h}" for h in header] + ([""] if header else [])
    lines += [
        f"format = {_toml_str(FORMAT)}",
        f"version = {VERSION}",
        f"name = {_toml_str(name)}",
    ]
    if description:
        lines.append(f"description = {_toml_str(description)}")
    if not focus_check:
        lines.append("focus_check = false  # not frames through this station's probe")
    for face in faces:
        lines += ["", "[[faces]]", f"id = {_toml_str(face.id)}"]
        if images is not None:
            lines.append(f"image = {_toml_str(images[face.id])}")
        lines += [
            f"connector = {_toml_str(face.connector)}",
            f"rules = {_toml_str(face.rules)}",
            f"verdict = {_toml_str(face.verdict)}",
        ]
        if face.limit:
            lines.append(f"limit = {_toml_str(face.limit)}")
        if face.note:
            lines.append(f"note = {_toml_str(face.note)}")
        if face.defects:
            lines.append("defects = [")
            for d in face.defects:
                where = f", x_um = {d.at_um[0]!r}, y_um = {d.at_um[1]!r}" if d.at_um else ""
                lines.append(
                    f"    {{ kind = {_toml_str(d.kind)}, zone = {_toml_str(d.zone)}, "
                    f"size_um = {d.size_um!r}{where} }},"
                )
            lines.append("]")
        if images is None and face.recipe is not None:
            lines += _recipe_lines(face.recipe)
    return "\n".join(lines) + "\n"


def _toml_str(value: str) -> str:
    """A TOML basic string (quoted and escaped) for a labels file."""
    import tomlkit

    return tomlkit.string(value).as_string()


def _recipe_lines(r: Recipe) -> list[str]:
    lines = [
        "[faces.render]",
        f"look = {_toml_str(r.look)}",
        f"fibre = {_toml_str(r.fibre)}",
        f"target = {r.target}",
        f"offset_um = [{r.offset_um[0]!r}, {r.offset_um[1]!r}]",
        f"um_per_px = {r.um_per_px!r}",
        f"size_px = [{r.size_px[0]}, {r.size_px[1]}]",
        f"blur_um = {r.blur_um!r}",
        f"noise = {r.noise!r}",
        f"noise_seed = {r.noise_seed}",
        f"texture_seed = {r.texture_seed}",
        f"frame_sha256 = {_toml_str(r.frame_sha256)}",
        "features = [",
    ]
    for f in r.features:
        extra = ""
        if f.kind == "scratch":
            extra = f", length_um = {f.length_um!r}, angle_deg = {f.angle_deg!r}"
        lines.append(
            f"    {{ kind = {_toml_str(f.kind)}, x_um = {f.at_um[0]!r}, y_um = {f.at_um[1]!r}, "
            f"size_um = {f.size_um!r}, contrast = {f.contrast!r}{extra}, seed = {f.seed} }},"
        )
    lines.append("]")
    return lines
