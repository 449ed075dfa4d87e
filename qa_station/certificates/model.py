"""From an assembly's record to the plain model that ``reports`` draws.

``reports`` never reads the store, so the application fills its frozen
dataclasses here: the rule set as the certificate may name it, the scale and
its calibration, the images as loaders, the inspections, cleanings and
deviations, and the checks that only an accepted assembly gets a certificate.
Nothing is drawn, signed or written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

from grading.projection import projected
from grading.rules import RuleFileError, load_rules, shipped_sha256
from qa_station.certificates.errors import CertificateError, NotAccepted
from qa_station.certificates.files import certificate_id
from qa_station.config import StationConfig, tip_for
from qa_station.record import AssemblyRecord, EndRecord, RecordError, load_record
from qa_station.store import Store
from qa_station.store.checkpoints import Checkpoint
from reports.model import (
    AssemblyReport,
    Certificate,
    DeviationInfo,
    EndSection,
    EscalationInfo,
    FibreAgain,
    InspectionInfo,
    RulesInfo,
)


def _rules_info(rules: str, recorded_sha: str | None) -> RulesInfo:
    """The rule set as the certificate names it. Only a built-in table whose recorded hash is
    its shipped one carries the standard's name and title; anything else is a house table.
    (Its zones are not read here: the result carries the zones it was graded with.)"""
    shipped = shipped_sha256(rules)
    if shipped is not None and recorded_sha not in (None, shipped):
        return RulesInfo(
            name="house table (not as shipped)",
            sha256=recorded_sha,
            note="graded against a table whose file is not the one shipped under that name: "
            "not a published standard's table",
        )
    try:
        rs = load_rules(rules)
    except RuleFileError:
        return RulesInfo(
            name=rules if shipped else _house_name(rules),
            sha256=recorded_sha,
            note="the rule file is not available on this station now",
        )
    if recorded_sha and rs.sha256 != recorded_sha:
        return RulesInfo(
            name=rules if shipped else _house_name(rules),
            sha256=recorded_sha,
            note="the rule file has changed since this end was graded: the recorded hash "
            "above is the one that applied",
        )
    if shipped is None:  # the factory's own table: its words are not a standard's
        return RulesInfo(
            _house_name(rules),
            recorded_sha or rs.sha256,
            note="the factory's own rule table, not a published standard's",
        )
    return RulesInfo(rules, recorded_sha or rs.sha256, rs.title, rs.version)


def _house_name(rules: str) -> str:
    return f"house table {Path(rules).name}"


SCALE_WORDS = {
    "given": "from the station's calibration",
    "pitch": "measured from the 250 µm fibre pitch",
    "cladding": "measured from the 125 µm cladding",
}


def _calibration(e: EndRecord, config: StationConfig | None) -> str:
    final = e.final
    if final is None or final.um_per_px is None:
        return ""
    how = SCALE_WORDS.get(final.result.scale_source or "", "")
    words = f"{final.um_per_px:.4g} µm/px" + (f" ({how})" if how else "")
    tip = tip_for(e.connector)
    words += f", probe {final.probe_id}, tip {tip}"
    cal = config.calibration(final.probe_id, tip) if config else None
    if cal and cal.date and abs(cal.um_per_px - final.um_per_px) < 1e-9:
        words += f", calibrated {cal.date}"
    return words


def _images(store: Store, shas: dict[int, str]) -> dict[int, Callable[[], Any]]:
    return {n: partial(store.images.read_bytes, sha) for n, sha in shas.items()}


def _earlier(
    store: Store, e: EndRecord, per_fibre: int = 3, fibres: int = 6
) -> tuple[FibreAgain, ...]:
    """The fibres that failed the final inspection, as the inspections before it saw them."""
    final = e.final
    if final is None:
        return ()
    failing = [f.index for f in final.result.fibers if f.verdict != "pass"][:fibres]
    before = [i for i in e.inspections if i.id != final.id and i.at_us <= final.at_us]
    out: list[FibreAgain] = []
    for n in failing:
        seen = [i for i in before if n in i.fibre_images][-per_fibre:]
        for i in seen:
            f = next((x for x in i.result.fibers if x.index == n), None)
            if f is None:
                continue
            sha = i.fibre_images[n]
            out.append(
                FibreAgain(
                    inspection_id=i.id,
                    at_us=i.at_us,
                    fibre=i.fibre_in_image(f),
                    image=partial(store.images.read_bytes, sha),
                    um_per_px=i.um_per_px,
                    after_cleanings=sum(1 for c in e.cleanings if c.at_us < i.at_us),
                    zones=i.result.zones,
                )
            )
    return tuple(out)


def end_section(
    store: Store, e: EndRecord, config: StationConfig | None, history_images: bool = False
) -> EndSection:
    final = e.final
    rules = _rules_info(e.rules, final.rules_sha256 if final else None)
    inspections = tuple(
        projected(
            InspectionInfo,
            i,
            end=e.label,
            failed_fibres=tuple(f.index for f in i.result.fibers if f.verdict != "pass"),
            failures=tuple(
                x for f in i.result.fibers for x in (f.failures or ((f.error,) if f.error else ()))
            )[:4],
        )
        for i in e.inspections
    )
    escalations = tuple(
        EscalationInfo(
            at_us=int(x.get("at_us", 0)),
            end=e.label,
            cause=str(x.get("cause", "")),
            advice=str(x.get("advice", "")),
            blocking=bool(x.get("blocking")),
            cycles=int(x.get("cycles", 0) or 0),
        )
        for x in e.escalations
    )
    conn = e.connection
    return EndSection(
        label=e.label,
        connector=e.connector,
        fiber=e.fiber,
        gender=e.gender,
        rules=rules,
        result=final.result_in_images() if final else None,  # overlays land on stored crops
        inspection_id=final.id if final else None,
        inspected_at_us=final.at_us if final else None,
        inspected_by=final.operator if final else None,
        um_per_px=final.um_per_px if final else None,
        probe_id=final.probe_id if final else None,
        calibration=_calibration(e, config),
        fibre_images=_images(store, final.fibre_images) if final else {},
        overview=partial(store.images.read_bytes, final.overview_sha256)
        if final and final.overview_sha256
        else None,
        overview_fibres=final.overview_fibres if final else None,
        inspections=inspections,
        cleanings=e.cleanings,  # the record's entries are the report's CleaningInfo
        escalations=escalations,
        connection=conn.mode if conn else None,
        connected_at_us=conn.at_us if conn else None,
        connected_by=conn.operator if conn else None,
        deviation=bool(conn and conn.deviation),
        earlier=_earlier(store, e) if history_images else (),
    )


def assembly_report(
    store: Store, rec: AssemblyRecord, config: StationConfig | None, history_images: bool = False
) -> AssemblyReport:
    deviations = tuple(
        DeviationInfo(
            at_us=int(d.get("at_us", 0)),
            end=d.get("end"),
            action=str(d.get("action", "")),
            reason=str(d.get("reason", "")),
            supervisor=str(d.get("supervisor", "")),
            overriding=str(d.get("overriding", "") or ""),
        )
        for d in rec.deviations
    )
    return projected(  # the rest (serial, product, status, who and when, hash) as recorded
        AssemblyReport,
        rec,
        ends=tuple(end_section(store, e, config, history_images) for e in rec.ends),
        deviations=deviations,
        polarity=rec.product.get("polarity"),
    )


def read_record(store: Store, serial: str) -> AssemblyRecord:
    try:
        return load_record(store, serial)
    except RecordError as exc:
        raise CertificateError(str(exc)) from None


def build_certificate(
    store: Store,
    serial: str,
    config: StationConfig | None = None,
    issued_us: int | None = None,
    local_tz: dt.tzinfo | None = None,
    checkpoint: Checkpoint | None = None,
) -> Certificate:
    """The certificate model of an accepted assembly (nothing is written)."""
    rec = read_record(store, serial)
    if rec.status == "rejected":
        raise NotAccepted(
            f"assembly {serial} was rejected ({rec.reason or 'no reason recorded'}): it gets no "
            f"acceptance certificate; its rejection report: qa-station report rejection {serial}"
        )
    if rec.status != "accepted":
        open_ends = [e.label for e in rec.ends if not e.connection]
        raise NotAccepted(
            f"assembly {serial} is not accepted yet (ends not released: "
            f"{', '.join(open_ends) or 'none'}): a certificate is issued only when every end "
            "is connected or capped"
        )
    at = issued_us if issued_us is not None else now_us(store)
    return Certificate(
        certificate_id=certificate_id(rec.serial, rec.record_hash, at),
        issued_us=at,
        station=store.station_id,
        assembly=assembly_report(store, rec, config),
        local_tz=local_tz,
        checkpoint=checkpoint.to_dict() if checkpoint else None,
    )


def now_us(store: Store) -> int:
    return round(store.clock() * 1_000_000)
