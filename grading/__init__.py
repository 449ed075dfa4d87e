"""IEC 61300-3-35 end-face grading: pure image analysis, no Qt and no devices.

``grade(image, connector=..., rules=..., um_per_px=None)`` returns an
``EndFaceResult``; ``.to_dict()`` is the JSON object of DESIGN.md section 5.
"""

from grading.grade import GradingUsageError, grade
from grading.image_io import ImageError
from grading.results import ERROR, FAIL, PASS, Defect, EndFaceResult, FiberResult
from grading.rules import RuleFileError, RuleSet, builtin_names, load_rules

__all__ = [
    "ERROR",
    "FAIL",
    "PASS",
    "Defect",
    "EndFaceResult",
    "FiberResult",
    "GradingUsageError",
    "ImageError",
    "RuleFileError",
    "RuleSet",
    "builtin_names",
    "grade",
    "load_rules",
]
